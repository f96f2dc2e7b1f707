"""Distributed EM under torchrun (2 processes, gloo): equal to the single-process fit; collective errors."""

from __future__ import annotations

import copy
import itertools
import json
import os
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.distributed import shard_range
from genlab.errors import ParameterError

torch = pytest.importorskip("torch")

WORKER = Path(__file__).with_name("worker.py")
RTOL = 1e-10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def torchrun(spec: dict, tmp_path: Path, n_proc: int = 2, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the worker under ``torchrun --nproc-per-node n_proc``; returns the finished process."""
    spec = {**spec, "out": str(tmp_path)}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n_proc),
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), str(WORKER), str(spec_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def torchrun_cli(arguments: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``genlab ARGUMENTS`` in 2 processes under ``torchrun``; returns the finished process."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
        "--master-port", str(_free_port()), "-m", "genlab", *arguments,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def _assert_ran(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _rank_arrays(tmp_path: Path, n_proc: int = 2) -> list[dict[str, np.ndarray]]:
    return [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(n_proc)]


def _blobs(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [-5.0, 4.0, 3.0]])
    return np.vstack([c + rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3)) * 0.5 for c in centers])[
        rng.permutation(1200)
    ]


GMM_PARAMS = {"n_components": 3, "covariance_type": "full", "max_iter": 30, "tol": 0.0}
HMM_PARAMS = {"n_states": 3, "covariance_type": "diag", "n_iter": 15, "tol": 0.0, "init_params": ""}
HMM_START = {"startprob_": [1 / 3] * 3, "transmat_": np.full((3, 3), 1 / 3).tolist(),
             "means_": [[0.5, 0.0], [2.0, 1.0], [0.0, 2.0]], "covars_": np.ones((3, 2)).tolist()}  # fmt: skip


GMMHMM_PARAMS = {"n_states": 2, "n_mix": 2, "covariance_type": "diag", "n_iter": 10, "tol": 0.0, "init_params": ""}
GMMHMM_START = {"startprob_": [0.5, 0.5], "transmat_": [[0.8, 0.2], [0.2, 0.8]], "weights_": [[0.5, 0.5]] * 2,
                "means_": [[[0.0, 0.0], [3.0, 0.0]], [[0.0, 3.0], [1.0, 1.0]]],
                "covars_": np.ones((2, 2, 2)).tolist()}  # fmt: skip


def _hmm_data(tmp_path: Path) -> tuple[np.ndarray, list[int]]:
    truth = genlab.GaussianHMM(n_states=3, covariance_type="diag")
    truth.startprob_ = np.array([0.6, 0.3, 0.1])
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
    truth.means_ = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    truth.covars_ = np.ones((3, 2))
    rng = np.random.default_rng(1)
    lengths = [int(n) for n in rng.integers(50, 150, size=9)]
    X = np.concatenate([truth.sample(n, random_state=rng)[0] for n in lengths])
    np.save(tmp_path / "hmm.npy", X)
    return X, lengths


@pytest.fixture(scope="module")
def two_process_fits(tmp_path_factory) -> dict:
    """One torchrun launch (2 processes) running four fits: a Gaussian mixture and a Gaussian HMM, each with both
    shards full and with one rank's shard empty."""
    tmp_path = tmp_path_factory.mktemp("distributed")
    X = _blobs()
    np.save(tmp_path / "gmm.npy", X)
    init = {"weights": np.full(3, 1 / 3), "means": X[[0, 500, 1000]], "precisions": np.stack([np.eye(3)] * 3)}
    np.savez(tmp_path / "init.npz", **init)
    X_hmm, lengths = _hmm_data(tmp_path)
    jobs = []
    for empty_rank in (None, 1):
        jobs.append({"model": "gmm", "data": str(tmp_path / "gmm.npy"), "params": GMM_PARAMS,
                     "init": str(tmp_path / "init.npz"), "empty_rank": empty_rank,
                     "out": str(tmp_path / f"gmm-{empty_rank}")})  # fmt: skip
    for empty_rank in (None, 0):
        jobs.append({"model": "GaussianHMM", "data": str(tmp_path / "hmm.npy"), "lengths": lengths,
                     "params": HMM_PARAMS, "set": HMM_START, "emission": ["means_", "covars_"],
                     "empty_rank": empty_rank, "out": str(tmp_path / f"hmm-{empty_rank}")})  # fmt: skip
    jobs.append({"model": "GMMHMM", "data": str(tmp_path / "hmm.npy"), "lengths": lengths, "params": GMMHMM_PARAMS,
                 "set": GMMHMM_START, "emission": ["weights_", "means_", "covars_"], "empty_rank": None,
                 "out": str(tmp_path / "gmmhmm")})  # fmt: skip
    lines = _text_lines()
    (tmp_path / "text.txt").write_text("\n".join(lines))
    jobs.append({"model": "markov", "data": str(tmp_path / "text.txt"), "params": MARKOV_PARAMS,
                 "out": str(tmp_path / "markov")})  # fmt: skip
    jobs.append({"model": "lda", "data": str(tmp_path / "text.txt"), "params": LDA_PARAMS,
                 "out": str(tmp_path / "lda")})  # fmt: skip
    sentences = _toy_sentences()
    (tmp_path / "sentences.txt").write_text("\n".join(" ".join(words) for words in sentences))
    for empty_rank in (None, 0):
        jobs.append({"model": "pcfg", "data": str(tmp_path / "sentences.txt"), "params": PCFG_PARAMS,
                     "empty_rank": empty_rank, "out": str(tmp_path / f"pcfg-{empty_rank}")})  # fmt: skip
    frame = _bn_data()
    frame.to_csv(tmp_path / "bn.csv", index=False)
    for name, data, empty in (("bn-missing", "bn.csv", None), ("bn-missing-empty", "bn.csv", 0)):
        jobs.append({"model": "bn", "data": str(tmp_path / data), "params": BN_PARAMS, "empty_rank": empty,
                     "out": str(tmp_path / name)})  # fmt: skip
    complete = frame.dropna()
    complete.to_csv(tmp_path / "bn-complete.csv", index=False)
    jobs.append({"model": "bn", "data": str(tmp_path / "bn-complete.csv"), "params": BN_PARAMS,
                 "out": str(tmp_path / "bn-complete")})  # fmt: skip
    jobs.append({"model": "lm", "data": str(tmp_path / "text.txt"), "params": LM_PARAMS, "fit": LM_FIT,
                 "out": str(tmp_path / "lm")})  # fmt: skip
    # a distributed run stopped after 3 steps and resumed by both ranks from rank 0's checkpoint
    checkpoint = str(tmp_path / "lm.ckpt")
    for name, steps in (("lm-first", 3), ("lm-resume", LM_FIT["max_steps"])):
        fit = {**LM_FIT, "max_steps": steps, "checkpoint_path": checkpoint, "resume": True, "checkpoint_interval": 1}
        jobs.append({"model": "lm", "data": str(tmp_path / "text.txt"), "params": LM_PARAMS, "fit": fit,
                     "out": str(tmp_path / name)})  # fmt: skip
    # Bayesian GMM with the data-dependent prior defaults; the second with an empty rank 0 (rank 1 initialises)
    for name, covariance_type, empty_rank in (("bgm-full", "full", None), ("bgm-diag-empty", "diag", 0)):
        jobs.append({"model": "bgm", "data": str(tmp_path / "gmm.npy"), "empty_rank": empty_rank,
                     "params": {**BGM_PARAMS, "covariance_type": covariance_type},
                     "out": str(tmp_path / name)})  # fmt: skip
    jobs.append({"model": "VariationalGaussianHMM", "data": str(tmp_path / "hmm.npy"), "lengths": lengths,
                 "params": VGHMM_PARAMS, "emission": [*VGHMM_POSTERIORS, "means_prior_"],
                 "out": str(tmp_path / "vghmm")})  # fmt: skip
    symbols, symbol_lengths = _symbol_data(tmp_path)
    jobs.append({"model": "VariationalCategoricalHMM", "data": str(tmp_path / "symbols.npy"),
                 "lengths": symbol_lengths, "params": VCHMM_PARAMS, "emission": VCHMM_POSTERIORS,
                 "out": str(tmp_path / "vchmm")})  # fmt: skip
    for model, emission in (("CategoricalHMM", ["emissionprob_"]), ("HiddenMarkovModel", ["emissions_"])):
        jobs.append({"model": model, "data": str(tmp_path / "symbols.npy"), "lengths": symbol_lengths,
                     "params": SYMBOL_HMM_PARAMS[model], "emission": emission,
                     "out": str(tmp_path / model)})  # fmt: skip
        if model == "HiddenMarkovModel":  # MAP: the root's initial emissions give symbol 4 some probability
            jobs[-1]["dirichlet_prior"] = DIRICHLET_PRIOR
    counts, count_lengths = _count_data(tmp_path)
    jobs.append({"model": "MultinomialHMM", "data": str(tmp_path / "counts.npy"), "lengths": count_lengths,
                 "params": MULTINOMIAL_PARAMS, "emission": ["emissionprob_", "n_trials_"],
                 "out": str(tmp_path / "multinomial")})  # fmt: skip
    jobs.append({"model": "HiddenSemiMarkovModel", "data": str(tmp_path / "symbols.npy"), "lengths": symbol_lengths,
                 "params": HSMM_PARAMS, "emission": ["duration_probs_", "emissionprob_"],
                 "out": str(tmp_path / "hsmm")})  # fmt: skip
    jobs.append({"model": "HiddenSemiMarkovModel", "data": str(tmp_path / "hmm.npy"), "lengths": lengths,
                 "params": HSMM_GAUSSIAN_PARAMS, "emission": ["duration_lambdas_", "means_", "covars_"],
                 "empty_rank": 0, "out": str(tmp_path / "hsmm-gaussian-empty")})  # fmt: skip
    digits = (np.random.default_rng(3).random((64, 1, 4, 4)) * 4).astype(np.int64)
    np.save(tmp_path / "digits.npy", digits)
    for ema_decay in (0.99, 0.0):  # EMA buffers, and the codebook as a parameter
        jobs.append({"model": "vqvae", "data": str(tmp_path / "digits.npy"),
                     "params": {**VQ_PARAMS, "ema_decay": ema_decay}, "out": str(tmp_path / f"vq-{ema_decay}")})
    result = torchrun({"jobs": jobs}, tmp_path)
    _assert_ran(result)
    return {"dir": tmp_path, "X": X, "init": init, "X_hmm": X_hmm, "lengths": lengths, "lines": lines,
            "symbols": symbols, "symbol_lengths": symbol_lengths, "counts": counts,
            "count_lengths": count_lengths}  # fmt: skip


BGM_PARAMS = {"n_components": 4, "max_iter": 12, "tol": 0.0, "random_state": 0}
VGHMM_PARAMS = {"n_states": 3, "covariance_type": "diag", "n_iter": 8, "tol": 0.0, "random_state": 0}
VGHMM_POSTERIORS = ["startprob_posterior_", "transmat_posterior_", "means_posterior_", "beta_posterior_",
                    "dof_posterior_", "scale_posterior_"]  # fmt: skip
VCHMM_PARAMS = {"n_states": 3, "n_iter": 8, "tol": 0.0, "random_state": 0}
VCHMM_POSTERIORS = ["startprob_posterior_", "transmat_posterior_", "emissionprob_posterior_"]
SYMBOL_HMM_PARAMS = {
    "CategoricalHMM": {"n_states": 3, "n_iter": 8, "tol": 0.0, "random_state": 0},
    "HiddenMarkovModel": {"n_states": 3, "emission": "categorical", "n_iter": 8, "tol": 0.0, "random_state": 0},
}
DIRICHLET_PRIOR = [2.0] * 5
HSMM_PARAMS = {"n_states": 3, "emission": "categorical", "duration": "categorical", "max_duration": 8, "n_iter": 6,
               "tol": 0.0, "random_state": 0}  # fmt: skip
HSMM_GAUSSIAN_PARAMS = {"n_states": 3, "emission": "gaussian", "duration": "poisson", "max_duration": 12,
                        "n_iter": 5, "tol": 0.0, "random_state": 0}  # fmt: skip


def _symbol_data(tmp_path: Path) -> tuple[np.ndarray, list[int]]:
    """8 sequences of symbols 0..3 from a known HMM, and symbol 4 once in the last sequence only: rank 1's shard
    holds a symbol rank 0 (which initialises) never sees, so the ranks must agree on the number of symbols."""
    truth = genlab.CategoricalHMM(n_states=3)
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    truth.emissionprob_ = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4]])
    rng = np.random.default_rng(5)
    lengths = [int(n) for n in rng.integers(40, 90, size=8)]
    X = np.concatenate([truth.sample(n, random_state=rng)[0] for n in lengths]).astype(np.int64)
    X[-3, 0] = 4
    np.save(tmp_path / "symbols.npy", X)
    return X, lengths


MULTINOMIAL_PARAMS = {"n_states": 2, "n_iter": 6, "tol": 0.0, "random_state": 0}


def _count_data(tmp_path: Path) -> tuple[np.ndarray, list[int]]:
    """6 sequences of count vectors over 3 categories: 10 trials per row in rank 0's shard, 12 in rank 1's."""
    rng = np.random.default_rng(7)
    lengths = [30] * 6
    probs = np.array([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]])
    rows = [rng.multinomial(10 if i < 3 else 12, probs[rng.integers(2)]) for i in range(6) for _ in range(30)]
    X = np.array(rows, dtype=np.int64)
    np.save(tmp_path / "counts.npy", X)
    return X, lengths


def _quietly(fit, *args):
    """A single-process reference fit: tol=0 runs every iteration, which warns that it did not converge."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genlab.errors.ConvergenceWarning)
        warnings.simplefilter("ignore", genlab.errors.DegenerateFitWarning)
        return fit(*args)


def _first_shard(X: np.ndarray, lengths: list[int]) -> tuple[np.ndarray, list[int]]:
    """Rank 0's shard of 2 (whole sequences): the data the distributed fit initialised from."""
    _, stop = shard_range(len(lengths), 0, 2)
    return X[: sum(lengths[:stop])], lengths[:stop]


MARKOV_PARAMS = {"order": 3, "smoothing": "kneser-ney"}
PCFG_PARAMS = {"random_state": 1, "max_iter": 12, "tol": 0.0}


def _toy_sentences() -> list[list[str]]:
    from genlab.trees.toy import toy_pcfg

    return toy_pcfg().sample(300, random_state=0)
BN_PARAMS = {"edges": [["asia", "tub"], ["smoke", "lung"], ["smoke", "bronc"], ["lung", "either"],
                       ["tub", "either"], ["either", "xray"], ["bronc", "dysp"], ["either", "dysp"]],
             "max_iter": 8, "tol": 0.0, "random_state": 0}  # fmt: skip


def _bn_data():
    """1,500 rows sampled from asia, 20% of the values missing at random."""
    from genlab.bayesnet import networks

    frame = networks.asia().sample(1500, random_state=3)
    mask = np.random.default_rng(4).random(frame.shape) < 0.2
    return frame.mask(mask)


LM_PARAMS = {"backbone": "gru", "tokenizer": "byte", "preset": "tiny", "block_size": 16, "dropout": 0.0,
             "random_state": 0}  # fmt: skip
LM_FIT = {"batch_size": 4, "max_steps": 6, "warmup_steps": 2, "learning_rate": 3e-3, "eval_interval": 1000}
# epochs of 64 images in global batches of 2 x 8: restarts after steps 4, 8 and 12
VQ_PARAMS = {"n_codes": 16, "code_dim": 2, "hidden": 4, "n_residual": 0, "max_steps": 12, "batch_size": 8,
             "random_state": 0, "prior_params": {"n_filters": 4, "n_layers": 1, "n_hidden": 4, "max_steps": 2}}
LDA_PARAMS = {"n_topics": 5, "method": "batch", "max_iter": 8, "tol": 0.0, "min_df": 2, "max_df": 0.5,
              "learn_priors": True, "random_state": 0}  # fmt: skip


def _text_lines() -> list[str]:
    """Built-in text: the CPython documentation topics, one paragraph per line."""
    from pydoc_data.topics import topics

    text = " ".join(topics[key] for key in sorted(topics)[:40])
    return [line for line in (part.strip() for part in text.split("\n")) if line][:800]


@pytest.mark.parametrize("empty_rank", [None, 1])
def test_gaussian_mixture_two_processes_equal_one(two_process_fits, empty_rank):
    fits = two_process_fits
    init = fits["init"]
    single = genlab.GaussianMixture(**GMM_PARAMS, weights_init=init["weights"], means_init=init["means"],
                                    precisions_init=init["precisions"])  # fmt: skip
    with pytest.warns(genlab.errors.ConvergenceWarning):
        single.fit(fits["X"])
    out = fits["dir"] / f"gmm-{empty_rank}"
    ranks = _rank_arrays(out)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name])  # every rank holds the same parameters
        np.testing.assert_allclose(ranks[0][name], getattr(single, name), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.lower_bounds_, rtol=RTOL)
    saved = genlab.load(out / "model.genlab")  # rank 0 wrote the model
    np.testing.assert_array_equal(saved.means_, ranks[0]["means_"])


@pytest.mark.parametrize("empty_rank", [None, 0])
def test_gaussian_hmm_two_processes_equal_one(two_process_fits, empty_rank):
    fits = two_process_fits
    single = genlab.GaussianHMM(**HMM_PARAMS)
    for name, value in HMM_START.items():
        setattr(single, name, np.asarray(value))
    with pytest.warns(genlab.errors.ConvergenceWarning):
        single.fit(fits["X_hmm"], fits["lengths"])
    out = fits["dir"] / f"hmm-{empty_rank}"
    ranks = _rank_arrays(out)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name])
        np.testing.assert_allclose(ranks[0][name], getattr(single, name), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.monitor_.history, rtol=RTOL)
    saved = genlab.load(out / "model.genlab")
    np.testing.assert_array_equal(saved.transmat_, ranks[0]["transmat_"])


def test_gmm_hmm_two_processes_equal_one(two_process_fits):
    fits = two_process_fits
    single = genlab.GMMHMM(**GMMHMM_PARAMS)
    for name, value in GMMHMM_START.items():
        setattr(single, name, np.asarray(value))
    with pytest.warns(genlab.errors.ConvergenceWarning):
        single.fit(fits["X_hmm"], fits["lengths"])
    ranks = _rank_arrays(fits["dir"] / "gmmhmm")
    for name in ("startprob_", "transmat_", "weights_", "means_", "covars_"):
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name])
        np.testing.assert_allclose(ranks[0][name], getattr(single, name), rtol=RTOL, atol=1e-12)


def test_markov_chain_counting_two_processes_equals_one(two_process_fits):
    fits = two_process_fits
    single = genlab.MarkovChain(**MARKOV_PARAMS).fit(fits["lines"])
    out = fits["dir"] / "markov"
    distributed = genlab.load(out / "model.genlab")
    assert distributed.vocabulary_.tokens == single.vocabulary_.tokens  # same ids as counting in one process
    expected = single.log_prob(fits["lines"][:50])
    np.testing.assert_array_equal(distributed.log_prob(fits["lines"][:50]), expected)
    for rank in _rank_arrays(out):  # every rank fitted the same model
        np.testing.assert_array_equal(rank["log_prob"], expected)


@pytest.mark.parametrize("empty_rank", [None, 0])
def test_pcfg_inside_outside_two_processes_equal_one(two_process_fits, empty_rank):
    """Expected rule counts are summed over the ranks: the distributed EM is the single-process EM, from the same
    random start (drawn by the rank that holds data and broadcast)."""
    from genlab.trees.toy import TOY_GRAMMAR

    single = genlab.PCFG.from_string(TOY_GRAMMAR, randomize=True, **PCFG_PARAMS)
    with pytest.warns(genlab.errors.ConvergenceWarning):
        single.fit(_toy_sentences())
    ranks = _rank_arrays(two_process_fits["dir"] / f"pcfg-{empty_rank}")
    np.testing.assert_array_equal(ranks[0]["probabilities_"], ranks[1]["probabilities_"])
    np.testing.assert_allclose(ranks[0]["probabilities_"], single.probabilities_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.monitor_.history, rtol=1e-9)


def test_lda_batch_vb_two_processes_equals_one(two_process_fits):
    fits = two_process_fits
    single = genlab.LDA(**LDA_PARAMS)
    with pytest.warns(genlab.errors.ConvergenceWarning):
        single.fit(fits["lines"])
    out = fits["dir"] / "lda"
    distributed = genlab.load(out / "model.genlab")
    assert distributed.vocabulary_.tokens == single.vocabulary_.tokens  # one vocabulary, min_df / max_df global
    ranks = _rank_arrays(out)
    for name in ("components_", "doc_topic_prior_"):
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name])
        np.testing.assert_allclose(ranks[0][name], getattr(single, name), rtol=RTOL)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.lower_bounds_, rtol=RTOL)


def test_ddp_language_model_two_processes_equal_one_with_the_doubled_batch(two_process_fits):
    """2 processes x batch 4 under DistributedDataParallel train like 1 process with batch 8: same loss curve and
    weights (the gradients are averaged across the ranks; each rank takes its half of the same global batch)."""
    fits = two_process_fits
    text = (fits["dir"] / "text.txt").read_text()
    losses: list[float] = []
    single = genlab.LanguageModel(**LM_PARAMS, **{**LM_FIT, "batch_size": 2 * LM_FIT["batch_size"]})
    single.fit(text, callback=lambda step, loss: losses.append(loss))
    ranks = _rank_arrays(fits["dir"] / "lm")
    assert len(losses) == LM_FIT["max_steps"]
    np.testing.assert_allclose(ranks[0]["losses"], losses, rtol=1e-5)
    np.testing.assert_array_equal(ranks[0]["losses"], ranks[1]["losses"])
    parameters = [p.detach().numpy() for p in single.module_.parameters()]
    for i, expected in enumerate(parameters):
        np.testing.assert_array_equal(ranks[0][f"w{i}"], ranks[1][f"w{i}"])  # the ranks hold the same weights
        np.testing.assert_allclose(ranks[0][f"w{i}"], expected, rtol=1e-4, atol=1e-6)
    saved = genlab.load(fits["dir"] / "lm" / "model.genlab")  # rank 0 wrote the model
    assert saved.bits_per_character(text[:500]) == pytest.approx(single.bits_per_character(text[:500]), rel=1e-4)


@pytest.mark.parametrize("ema_decay", [0.99, 0.0])
def test_vqvae_ranks_keep_one_codebook(two_process_fits, ema_decay):
    """Under DistributedDataParallel the quantiser's counts and sums are summed over the ranks and the entries placed
    by initialisation and dead-code restarts are rank 0's: every rank ends with the same codebook, EMA statistics,
    epoch counters and weights (without the sums, each rank's codebook drifts from its own half of the batch)."""
    ranks = _rank_arrays(two_process_fits["dir"] / f"vq-{ema_decay}")
    names = [name for name in ranks[0] if name.startswith("s_")]
    assert "s_quantizer.codebook" in names
    for name in names:
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name], err_msg=name)
    assert ranks[0]["s_quantizer.epochs"] == 3  # an epoch counts the global batches' images
    assert ranks[0]["s_quantizer.restarted"] > 0  # restarts happened, and stayed in step
    np.testing.assert_array_equal(ranks[0]["log_prob"], ranks[1]["log_prob"])


@pytest.mark.parametrize("name", ["bn-missing", "bn-missing-empty", "bn-complete"])
def test_bayesian_network_two_processes_equal_one(two_process_fits, name):
    import pandas as pd

    from genlab.bayesnet import BayesianNetwork

    fits = two_process_fits
    frame = pd.read_csv(fits["dir"] / ("bn-complete.csv" if name == "bn-complete" else "bn.csv"), dtype=str)
    single = BayesianNetwork(**BN_PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genlab.errors.ConvergenceWarning)
        single.fit(frame)
    ranks = _rank_arrays(fits["dir"] / name)
    for v in single.variables_:
        np.testing.assert_array_equal(ranks[0][f"cpt_{v}"], ranks[1][f"cpt_{v}"])
        np.testing.assert_allclose(ranks[0][f"cpt_{v}"], single.cpts_[v], rtol=RTOL, atol=1e-13)
    assert json.loads(str(ranks[0]["states"])) == single.state_names_


def test_ddp_resume_from_rank_zero_checkpoint_equals_the_uninterrupted_run(two_process_fits):
    fits = two_process_fits
    uninterrupted = _rank_arrays(fits["dir"] / "lm")
    resumed = _rank_arrays(fits["dir"] / "lm-resume")
    first = _rank_arrays(fits["dir"] / "lm-first")
    # the resumed run reported steps 4..6; with the first part's steps 1..3 they are the uninterrupted curve
    np.testing.assert_array_equal(np.concatenate([first[0]["losses"], resumed[0]["losses"]]),
                                  uninterrupted[0]["losses"])  # fmt: skip
    for rank in (0, 1):
        for key in uninterrupted[0]:
            if key.startswith("w"):
                np.testing.assert_array_equal(resumed[rank][key], uninterrupted[0][key])


def test_mismatched_dimensions_fail_on_every_rank(tmp_path):
    X = _blobs()
    np.save(tmp_path / "X.npy", X)
    spec = {"model": "gmm", "data": str(tmp_path / "X.npy"), "params": {"n_components": 3, "max_iter": 5},
            "fail_rank": 1, "fail": "dimensions"}  # fmt: skip
    result = torchrun(spec, tmp_path, timeout=90)
    assert result.returncode != 0
    assert "the ranks disagree on the number of features (rank 0: 3, rank 1: 4)" in result.stderr


def test_a_rank_that_dies_makes_the_job_fail_fast(tmp_path):
    _, lengths = _hmm_data(tmp_path)
    spec = {"model": "GaussianHMM", "data": str(tmp_path / "hmm.npy"), "lengths": lengths,
            "params": {"n_states": 3, "n_iter": 5}, "emission": ["means_", "covars_"], "fail_rank": 1,
            "fail": "exit"}  # fmt: skip
    result = torchrun(spec, tmp_path, timeout=90)  # a hang would raise TimeoutExpired
    assert result.returncode != 0
    assert "exitcode" in result.stderr or "failed" in result.stderr.lower()


def test_distributed_outside_torchrun_says_how_to_launch(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ParameterError, match=r"not part of a distributed job .*torchrun --nproc-per-node 2"):
        genlab.GaussianMixture(n_components=2).fit(_blobs(), distributed=True)


def test_shard_ranges_cover_the_items_once():
    for n_items in (0, 1, 7, 100):
        for world_size in (1, 2, 3, 8):
            ranges = [shard_range(n_items, r, world_size) for r in range(world_size)]
            assert ranges[0][0] == 0 and ranges[-1][1] == n_items
            assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
            sizes = [stop - start for start, stop in ranges]
            assert max(sizes) - min(sizes) <= 1
    with pytest.raises(ParameterError):
        shard_range(10, 2, 2)


def test_cli_fit_distributed_writes_one_model_equal_to_the_single_process_fit(tmp_path):
    X, lengths = _hmm_data(tmp_path)
    data = tmp_path / "hmm.csv"
    np.savetxt(data, X, delimiter=",")
    arguments = ["fit", "hmm", str(data), "--states", "3", "--lengths", ",".join(map(str, lengths)), "--n-iter",
                 "20", "--tol", "0"]  # fmt: skip
    result = torchrun_cli([*arguments, "--out", str(tmp_path / "two.genlab"), "--distributed"])
    _assert_ran(result)
    assert result.stdout.count("saved to") == 1  # only rank 0 writes and prints
    two = genlab.load(tmp_path / "two.genlab")
    printed = float(result.stdout.split("log-likelihood")[1].split()[0])  # a total over both shards
    assert printed == pytest.approx(two.score(X, lengths), rel=1e-5)
    # rank 0 initialised from its shard (the first 5 of the 9 sequences); one process from that start agrees
    start = genlab.GaussianHMM(n_states=3, n_iter=0, random_state=0).fit(X[: sum(lengths[:5])], lengths[:5])
    single = genlab.GaussianHMM(n_states=3, n_iter=20, tol=0.0, init_params="")
    for name in ("startprob_", "transmat_", "means_"):
        setattr(single, name, getattr(start, name))
    single.covars_ = start._covars_  # the compact (K, D) storage: covars_ reads back as full matrices, as hmmlearn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genlab.errors.ConvergenceWarning)
        single.fit(X, lengths)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(two, name), getattr(single, name), rtol=RTOL, atol=1e-12)


def test_cli_distributed_outside_torchrun_is_one_error_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from genlab.cli import app

    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "x.csv"
    np.savetxt(data, _blobs()[:100], delimiter=",")
    result = CliRunner().invoke(app, ["fit", "gmm", str(data), "-k", "2", "--out", str(tmp_path / "m.genlab"),
                                      "--distributed"])  # fmt: skip
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: distributed=True but this process is not part of")
    assert "torchrun --nproc-per-node" in lines[0]
    assert not (tmp_path / "m.genlab").exists()


def test_cli_fit_lm_distributed_trains_like_one_process_with_the_doubled_batch(tmp_path):
    text = " ".join(_text_lines()[:200])
    data = tmp_path / "input.txt"
    data.write_text(text)
    common = ["fit", "lm", str(data), "--backbone", "gru", "--preset", "tiny", "--tokenizer", "byte", "--block-size",
              "16", "--max-steps", "4", "--no-progress", "--val-fraction", "0.1"]  # fmt: skip
    result = torchrun_cli([*common, "--batch-size", "3", "--out", str(tmp_path / "two.genlab"), "--distributed"],
                          timeout=180)
    _assert_ran(result)
    assert result.stdout.count("saved to") == 1  # rank 0 only
    from typer.testing import CliRunner

    from genlab.cli import app

    single = CliRunner().invoke(app, [*common, "--batch-size", "6", "--out", str(tmp_path / "one.genlab")])
    assert single.exit_code == 0, single.output
    two, one = genlab.load(tmp_path / "two.genlab"), genlab.load(tmp_path / "one.genlab")
    for a, b in zip(two.module_.parameters(), one.module_.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-6)
    assert two.training_["tokens"] == one.training_["tokens"]  # the global batch's tokens


def test_cli_fit_bn_distributed_equals_one_process(tmp_path):
    from typer.testing import CliRunner

    from genlab.bayesnet import networks
    from genlab.cli import app

    data = tmp_path / "rows.csv"
    _bn_data().to_csv(data, index=False)
    structure = tmp_path / "asia.bif"
    networks.asia().to_bif(structure)
    common = ["fit", "bn", str(data), "--structure", str(structure)]
    result = torchrun_cli([*common, "--out", str(tmp_path / "two.genlab"), "--distributed"])
    _assert_ran(result)
    assert result.stdout.count("saved to") == 1
    single = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "one.genlab")])
    assert single.exit_code == 0, single.output
    two, one = genlab.load(tmp_path / "two.genlab"), genlab.load(tmp_path / "one.genlab")
    for v in one.variables_:
        np.testing.assert_allclose(two.cpts_[v], one.cpts_[v], rtol=RTOL, atol=1e-13)
    printed = [line for line in result.stdout.splitlines() if line.startswith("log-likelihood")]
    assert printed == [line for line in single.stdout.splitlines() if line.startswith("log-likelihood")]


def test_cli_fit_markov_distributed_equals_one_process(tmp_path):
    from typer.testing import CliRunner

    from genlab.cli import app

    data = tmp_path / "sentences.txt"
    data.write_text("\n".join(_text_lines()[:300]))
    common = ["fit", "markov", str(data), "--unit", "word", "--order", "2"]
    result = torchrun_cli([*common, "--out", str(tmp_path / "two.genlab"), "--distributed"])
    _assert_ran(result)
    single = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "one.genlab")])
    assert single.exit_code == 0, single.output
    two, one = genlab.load(tmp_path / "two.genlab"), genlab.load(tmp_path / "one.genlab")
    assert two.vocabulary_.tokens == one.vocabulary_.tokens
    probe = [line.split() for line in _text_lines()[300:340]]
    from genlab.sequence.vocabulary import UnknownTokenWarning

    with pytest.warns(UnknownTokenWarning):  # the probe holds words the 300 training lines never use (as <unk>)
        two_scores = two.log_prob(probe)
    with pytest.warns(UnknownTokenWarning):
        one_scores = one.log_prob(probe)
    np.testing.assert_array_equal(two_scores, one_scores)
    refused = CliRunner().invoke(app, ["fit", "markov", str(data), "--out", str(tmp_path / "x.genlab"),
                                       "--distributed"])  # fmt: skip
    assert refused.exit_code == 2 and "use --unit word" in refused.stderr


@pytest.mark.parametrize(("name", "covariance_type", "root_rows"), [("bgm-full", "full", slice(0, 600)),
                                                                   ("bgm-diag-empty", "diag", slice(None))])
def test_bayesian_gaussian_mixture_two_processes_equal_one(two_process_fits, name, covariance_type, root_rows):
    """The prior defaults are the moments of all the shards together; the fit from the root's initialisation
    equals one process on the concatenated data from that initialisation."""
    fits = two_process_fits
    X = fits["X"]
    params = {**BGM_PARAMS, "covariance_type": covariance_type}
    ranks = _rank_arrays(fits["dir"] / name)
    defaults = _quietly(genlab.BayesianGaussianMixture(**{**params, "max_iter": 0}).fit, X)  # whole-data priors
    for prior in ("mean_prior_", "covariance_prior_"):
        np.testing.assert_array_equal(ranks[0][prior], ranks[1][prior])
        np.testing.assert_allclose(ranks[0][prior], getattr(defaults, prior), rtol=RTOL)
    # the root (rank 0, or rank 1 when rank 0's shard is empty) initialised on its rows with those priors
    single = genlab.BayesianGaussianMixture(**{**params, "max_iter": 0}, mean_prior=defaults.mean_prior_,
                                            covariance_prior=defaults.covariance_prior_)  # fmt: skip
    _quietly(single.fit, X[root_rows])
    single.set_params(warm_start=True, max_iter=params["max_iter"], mean_prior=None, covariance_prior=None)
    _quietly(single.fit, X)  # continues from that start on all the data, priors from all the data
    for attribute in ("weights_", "means_", "covariances_", "mean_precision_", "degrees_of_freedom_"):
        np.testing.assert_array_equal(ranks[0][attribute], ranks[1][attribute])
        np.testing.assert_allclose(ranks[0][attribute], getattr(single, attribute), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.lower_bounds_, rtol=RTOL)


def _continue_from(cls, params: dict, start, names: list[str], X: np.ndarray, lengths: list[int]):
    """One process fitting all the data from the parameters ``start`` holds (init_params="": no initialisation)."""
    single = cls(**{**params, "init_params": ""})
    for attribute in names:
        setattr(single, attribute, copy.deepcopy(getattr(start, attribute)))
    return _quietly(single.fit, X, lengths)


def test_variational_gaussian_hmm_two_processes_equal_one(two_process_fits):
    fits = two_process_fits
    X, lengths = fits["X_hmm"], fits["lengths"]
    ranks = _rank_arrays(fits["dir"] / "vghmm")
    # the default means_prior is the mean of all the data, not of the root's shard
    np.testing.assert_allclose(ranks[1]["means_prior_"], np.tile(X.mean(axis=0), (3, 1)), rtol=RTOL)
    start = genlab.VariationalGaussianHMM(**{**VGHMM_PARAMS, "n_iter": 0}, means_prior=X.mean(axis=0))
    _quietly(start.fit, *_first_shard(X, lengths))  # rank 0's initial posteriors
    single = _continue_from(genlab.VariationalGaussianHMM, VGHMM_PARAMS, start, VGHMM_POSTERIORS, X, lengths)
    for attribute in [*VGHMM_POSTERIORS, "means_prior_"]:
        np.testing.assert_array_equal(ranks[0][attribute], ranks[1][attribute])
        np.testing.assert_allclose(ranks[0][attribute], getattr(single, attribute), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.monitor_.history, rtol=RTOL)


def test_variational_categorical_hmm_two_processes_equal_one(two_process_fits):
    """Symbol 4 is only in rank 1's shard: the ranks agree on 5 symbols (as one process on all the data)."""
    fits = two_process_fits
    X, lengths = fits["symbols"], fits["symbol_lengths"]
    ranks = _rank_arrays(fits["dir"] / "vchmm")
    assert ranks[1]["emissionprob_posterior_"].shape == (3, 5)
    start = genlab.VariationalCategoricalHMM(**{**VCHMM_PARAMS, "n_iter": 0}, n_features=5)
    _quietly(start.fit, *_first_shard(X, lengths))
    single = _continue_from(genlab.VariationalCategoricalHMM, VCHMM_PARAMS, start, VCHMM_POSTERIORS, X, lengths)
    for attribute in VCHMM_POSTERIORS:
        np.testing.assert_array_equal(ranks[0][attribute], ranks[1][attribute])
        np.testing.assert_allclose(ranks[0][attribute], getattr(single, attribute), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.monitor_.history, rtol=RTOL)
    saved = genlab.load(fits["dir"] / "vchmm" / "model.genlab")
    np.testing.assert_array_equal(saved.emissionprob_posterior_, ranks[0]["emissionprob_posterior_"])


@pytest.mark.parametrize("name", ["hsmm", "hsmm-gaussian-empty"])
def test_hidden_semi_markov_model_two_processes_equal_one(two_process_fits, name):
    fits = two_process_fits
    if name == "hsmm":  # categorical; symbol 4 only in rank 1's shard; rank 0 initialises
        params, names = HSMM_PARAMS, ["startprob_", "transmat_", "duration_probs_", "emissionprob_"]
        X, lengths = fits["symbols"], fits["symbol_lengths"]
        start = genlab.HiddenSemiMarkovModel(**{**params, "n_iter": 0}, n_features=5)
        _quietly(start.fit, *_first_shard(X, lengths))
    else:  # Gaussian; rank 0's shard is empty, rank 1 holds every sequence and initialises
        params, names = HSMM_GAUSSIAN_PARAMS, ["startprob_", "transmat_", "duration_lambdas_", "means_", "covars_"]
        X, lengths = fits["X_hmm"], fits["lengths"]
        start = _quietly(genlab.HiddenSemiMarkovModel(**{**params, "n_iter": 0}).fit, X, lengths)
    single = _continue_from(genlab.HiddenSemiMarkovModel, params, start, names, X, lengths)
    ranks = _rank_arrays(fits["dir"] / name)
    for attribute in names:
        np.testing.assert_array_equal(ranks[0][attribute], ranks[1][attribute])
        np.testing.assert_allclose(ranks[0][attribute], getattr(single, attribute), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.lower_bounds_, rtol=RTOL)
    saved = genlab.load(fits["dir"] / name / "model.genlab")
    np.testing.assert_array_equal(saved.transmat_, ranks[0]["transmat_"])


@pytest.mark.parametrize("model", ["CategoricalHMM", "HiddenMarkovModel"])
def test_categorical_hmms_agree_on_the_symbols_of_every_shard(two_process_fits, model):
    """Symbol 4 is only in rank 1's shard; rank 0 initialises: 5 symbols, as one process on all the data."""
    fits = two_process_fits
    X, lengths = fits["symbols"], fits["symbol_lengths"]
    params = SYMBOL_HMM_PARAMS[model]
    if model == "CategoricalHMM":
        start = genlab.CategoricalHMM(**{**params, "n_iter": 0}, n_features=5)
        names, read = ["startprob_", "transmat_", "emissionprob_"], (lambda m: m.emissionprob_)
    else:  # the same initialisation from a 5-category template
        from genlab.distributions import Categorical, Dirichlet

        params = {**params, "emission_prior": Dirichlet(np.array(DIRICHLET_PRIOR))}
        start = genlab.HiddenMarkovModel(**{**params, "n_iter": 0, "emission": Categorical(np.full(5, 0.2))})
        names, read = ["startprob_", "transmat_", "emissions_"], (lambda m: np.stack([d.probs for d in m.emissions_]))
    _quietly(start.fit, *_first_shard(X, lengths))
    single = _continue_from(getattr(genlab, model), params, start, names, X, lengths)
    ranks = _rank_arrays(fits["dir"] / model)
    emission = "emissionprob_" if model == "CategoricalHMM" else "emissions_"
    assert ranks[0][emission].shape == (3, 5)
    for name, expected in (("startprob_", single.startprob_), ("transmat_", single.transmat_),
                           (emission, read(single))):  # fmt: skip
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name])
        np.testing.assert_allclose(ranks[0][name], expected, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.monitor_.history, rtol=RTOL)


def test_multinomial_hmm_two_processes_equal_one(two_process_fits):
    """The initial emissions do not depend on the data, so one process from the same seed starts alike; the rows'
    totals differ between the shards (10 and 12 trials), so n_trials_ is None, as for one process."""
    fits = two_process_fits
    single = _quietly(genlab.MultinomialHMM(**MULTINOMIAL_PARAMS).fit, fits["counts"], fits["count_lengths"])
    assert single.n_trials_ is None
    ranks = _rank_arrays(fits["dir"] / "multinomial")
    for rank in ranks:
        assert rank["n_trials_"] == -1  # the worker's code for None
    for name in ("startprob_", "transmat_", "emissionprob_"):
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name])
        np.testing.assert_allclose(ranks[0][name], getattr(single, name), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(ranks[0]["lower_bounds_"], single.monitor_.history, rtol=RTOL)
