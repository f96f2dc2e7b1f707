"""A distributed-EM worker for the tests: ``torchrun --nproc-per-node N worker.py SPEC.json``.

SPEC holds one fit or a list of them (``{"jobs": [...]}``, run one after the other in the same process group, so the
tests pay for one launch). For each, every rank loads the data named in the spec, keeps its shard (contiguous rows,
or whole sequences for HMMs), fits with ``distributed=True``, and writes its fitted parameters to
``OUT/rank<r>.npz``; rank 0 also saves the model to ``OUT/model.genlab`` (only rank 0 writes the model, as a user's
script would).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import genlab
from genlab.distributed import get_process_group, shard_range


def _hmm_shard(X, lengths, rank, world_size):
    """Whole sequences: rank r takes sequences shard_range(n_sequences)."""
    lengths = np.asarray(lengths)
    start, stop = shard_range(len(lengths), rank, world_size)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return X[offsets[start] : offsets[stop]], lengths[start:stop]


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    for job in spec.get("jobs", [spec]):
        run_job(job)


def run_job(spec: dict) -> None:
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    group = get_process_group()
    rank, world_size = group.rank, group.world_size
    if spec["model"] == "markov":
        lines = Path(spec["data"]).read_text().splitlines()
        start, stop = shard_range(len(lines), rank, world_size)
        chain = genlab.MarkovChain(**spec["params"]).fit(lines[start:stop], distributed=True)
        if rank == 0:
            chain.save(out / "model.genlab")
        np.savez(out / f"rank{rank}.npz", log_prob=chain.log_prob(lines[:50]))
        return
    if spec["model"] == "lm":
        text = Path(spec["data"]).read_text()
        losses: list[float] = []
        settings = dict(spec["fit"])  # training settings are hyperparameters; resume is a fit argument
        resume = settings.pop("resume", False)
        lm = genlab.LanguageModel(**spec["params"], **settings)
        lm.fit(text, resume=resume, callback=lambda step, loss: losses.append(loss), distributed=True)
        if rank == 0:
            lm.save(out / "model.genlab")
        weights = {f"w{i}": p.detach().numpy().copy() for i, p in enumerate(lm.module_.parameters())}
        np.savez(out / f"rank{rank}.npz", losses=np.array(losses), **weights)
        return
    if spec["model"] == "vqvae":
        images = np.load(spec["data"])
        vq = genlab.VQVAE(**spec["params"]).fit(images, distributed=True)
        state = {f"s_{name}": value.detach().double().numpy().copy() for name, value in vq.module_.state_dict().items()}
        np.savez(out / f"rank{rank}.npz", log_prob=vq.log_prob(images[:20]), **state)
        return
    if spec["model"] == "bn":
        import pandas as pd

        from genlab.bayesnet import BayesianNetwork

        frame = pd.read_csv(spec["data"], dtype=str)
        empty = spec.get("empty_rank")
        readers = [r for r in range(world_size) if r != empty]  # the other ranks share the rows
        start, stop = shard_range(len(frame), readers.index(rank), len(readers)) if rank != empty else (0, 0)
        shard = frame.iloc[start:stop]
        net = BayesianNetwork(**spec["params"]).fit(shard, distributed=True)
        np.savez(out / f"rank{rank}.npz", **{f"cpt_{v}": net.cpts_[v] for v in net.variables_},
                 states=np.array(json.dumps(net.state_names_)))  # fmt: skip
        return
    if spec["model"] == "pcfg":  # inside-outside EM from a random start; a rank may hold no sentence
        from genlab.trees.toy import TOY_GRAMMAR

        sentences = [line.split() for line in Path(spec["data"]).read_text().splitlines()]
        empty = spec.get("empty_rank")
        readers = [r for r in range(world_size) if r != empty]  # the other ranks share the sentences
        start, stop = shard_range(len(sentences), readers.index(rank), len(readers)) if rank != empty else (0, 0)
        shard = sentences[start:stop]
        grammar = genlab.PCFG.from_string(TOY_GRAMMAR, randomize=True, **spec["params"]).fit(shard, distributed=True)
        np.savez(out / f"rank{rank}.npz", probabilities_=grammar.probabilities_,
                 lower_bounds_=np.asarray(grammar.monitor_.history))  # fmt: skip
        return
    if spec["model"] == "lda":
        documents = Path(spec["data"]).read_text().splitlines()
        start, stop = shard_range(len(documents), rank, world_size)
        lda = genlab.LDA(**spec["params"]).fit(documents[start:stop], distributed=True)
        if rank == 0:
            lda.save(out / "model.genlab")
        np.savez(out / f"rank{rank}.npz", components_=lda.components_, lower_bounds_=lda.lower_bounds_,
                 doc_topic_prior_=lda.doc_topic_prior_)  # fmt: skip
        return
    X = np.load(spec["data"])
    if spec.get("fail_rank") == rank and spec.get("fail") == "dimensions":
        X = np.hstack([X, X[:, :1]])  # this rank's shard has one more column than the others
    params = spec["params"]
    # with an empty rank, the other ranks share the data between them
    empty = spec.get("empty_rank")
    readers = [r for r in range(world_size) if r != empty]
    position, n_readers = (readers.index(rank), len(readers)) if rank in readers else (0, 1)
    if spec["model"] == "bgm":
        start, stop = shard_range(X.shape[0], position, n_readers)
        shard = X[start:stop] if rank != empty else X[:0]
        model = genlab.BayesianGaussianMixture(**params).fit(shard, distributed=True)
        arrays = {name: getattr(model, name) for name in ("weights_", "means_", "covariances_", "mean_precision_",
                                                          "degrees_of_freedom_", "mean_prior_", "covariance_prior_",
                                                          "lower_bounds_")}  # fmt: skip
    elif spec["model"] == "gmm":
        start, stop = shard_range(X.shape[0], position, n_readers)
        shard = X[start:stop] if rank != empty else X[:0]
        model = genlab.GaussianMixture(**params)
        if "init" in spec:
            init = np.load(spec["init"])
            model.set_params(weights_init=init["weights"], means_init=init["means"], precisions_init=init["precisions"])
        model.fit(shard, distributed=True)
        arrays = {"weights_": model.weights_, "means_": model.means_, "covariances_": model.covariances_,
                  "lower_bounds_": model.lower_bounds_}  # fmt: skip
    else:
        lengths = spec["lengths"]
        shard, shard_lengths = _hmm_shard(X, lengths, position, n_readers)
        if rank == empty:
            shard, shard_lengths = X[:0], np.zeros(0, dtype=np.int64)
        if "dirichlet_prior" in spec:  # a composed HMM's emission prior (an object, not JSON)
            from genlab.distributions import Dirichlet

            params = {**params, "emission_prior": Dirichlet(np.asarray(spec["dirichlet_prior"]))}
        model = getattr(genlab, spec["model"])(**params)
        for name, value in spec.get("set", {}).items():
            setattr(model, name, np.asarray(value))
        if spec.get("fail_rank") == rank and spec.get("fail") == "exit":
            import os

            os._exit(3)  # this rank dies before joining the first collective
        model.fit(shard, shard_lengths if shard.shape[0] else None, distributed=True)
        arrays = {name: getattr(model, name) for name in ("startprob_", "transmat_", *spec["emission"])
                  if name != "emissions_"}  # fmt: skip
        if arrays.get("n_trials_", 0) is None:  # a MultinomialHMM whose rows have different totals
            arrays["n_trials_"] = np.array(-1)
        if "emissions_" in spec["emission"]:  # distribution objects (a composed HMM): their parameters
            arrays["emissions_"] = np.stack([dist.probs for dist in model.emissions_])
        arrays["lower_bounds_"] = np.asarray(model.monitor_.history)
    np.savez(out / f"rank{rank}.npz", **arrays)
    if rank == 0:
        model.save(out / "model.genlab")


if __name__ == "__main__":
    main(sys.argv[1])
