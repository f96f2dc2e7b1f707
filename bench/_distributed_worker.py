"""One rank of the distributed scaling benchmark (started by bench/distributed.py through torchrun).

``python -m torch.distributed.run --nproc-per-node P bench/_distributed_worker.py CASE JSON_OPTIONS``

Every rank builds the same data set from the seed (so that 1 and 2 processes fit the same data), keeps its shard,
waits at a barrier, fits with ``distributed=True`` and reports its wall-clock time; rank 0 prints one JSON line
with the slowest rank's time (the job's time), its own peak resident memory and the fitted model's figures.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

import numpy as np


def _gmm_data(n_samples: int, n_features: int, n_components: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around random centres, and the first point of each as the initial means."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    X = centres[labels] + rng.normal(size=(n_samples, n_features))
    first = np.array([np.flatnonzero(labels == k)[0] for k in range(n_components)])
    return X, X[first]


def _token_chunk(index: int, chunk_tokens: int, vocabulary: int, seed: int) -> np.ndarray:
    """Chunk ``index`` of the synthetic corpus: Zipf-distributed token ids (the same for any number of ranks)."""
    rng = np.random.default_rng([seed, index])
    weights = 1.0 / np.arange(1, vocabulary + 1)
    return rng.choice(vocabulary, size=chunk_tokens, p=weights / weights.sum())


def main() -> None:
    import torch.distributed as dist

    import genlab
    from genlab.distributed import get_process_group, shard_range

    case, options = sys.argv[1], json.loads(sys.argv[2])
    group = get_process_group()
    rank, world_size = group.rank, group.world_size
    result: dict[str, float] = {}
    if case == "gmm":
        X, means = _gmm_data(options["n_samples"], options["n_features"], options["n_components"], options["seed"])
        start, stop = shard_range(X.shape[0], rank, world_size)
        shard = np.ascontiguousarray(X[start:stop])
        del X
        # every initial parameter given: a data-dependent start would come from rank 0's shard alone
        K, D = options["n_components"], options["n_features"]
        model = genlab.GaussianMixture(
            K, covariance_type=options["covariance"], max_iter=options["iterations"], tol=0.0, means_init=means,
            weights_init=np.full(K, 1.0 / K), precisions_init=np.stack([np.eye(D)] * K),
        )  # fmt: skip
        dist.barrier()
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(shard, distributed=True)
        elapsed = time.perf_counter() - began
        result = {"per_iteration_s": elapsed / model.n_iter_, "quality": float(model.lower_bound_)}
    elif case == "ngram":
        n_chunks = options["n_tokens"] // options["chunk_tokens"]
        first, last = shard_range(n_chunks, rank, world_size)
        chunks = [_token_chunk(i, options["chunk_tokens"], options["vocabulary"], options["seed"])
                  for i in range(first, last)]  # fmt: skip
        tokens = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        lengths = np.full(len(chunks), options["chunk_tokens"])  # one sequence per chunk
        del chunks
        chain = genlab.MarkovChain(order=options["order"], smoothing="kneser-ney")
        dist.barrier()
        began = time.perf_counter()
        chain.fit(tokens, lengths if tokens.size else None, distributed=True)
        elapsed = time.perf_counter() - began
        # quality: the number of distinct highest-order n-grams (equal for any number of ranks: exact counting)
        result = {"per_iteration_s": elapsed, "quality": float(len(chain.ngrams_[-1]))}
    elif case == "ddp":
        from pydoc_data.topics import topics

        text = " ".join(topics[key] for key in sorted(topics))
        lm = genlab.LanguageModel(backbone="transformer", tokenizer="char", n_layer=4, n_head=4, n_embd=128,
                                  block_size=64, dropout=0.0, bias=False, random_state=options["seed"])  # fmt: skip
        per_rank = options["batch_size"] // world_size  # the same global batch for 1 and 2 processes
        losses: list[float] = []
        dist.barrier()
        began = time.perf_counter()
        lm.fit(text, batch_size=per_rank, max_steps=options["steps"], warmup_steps=10, eval_interval=10**6,
               callback=lambda step, loss: losses.append(loss), distributed=True)  # fmt: skip
        elapsed = time.perf_counter() - began
        result = {"per_iteration_s": elapsed / options["steps"], "quality": float(losses[-1])}
    else:
        raise SystemExit(f"unknown case {case!r}")
    result["elapsed_s"] = elapsed
    times = group.all_gather_object(elapsed)
    result["job_s"] = max(times)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
