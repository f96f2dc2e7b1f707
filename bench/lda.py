"""Topic-model benchmark: ``genlab.LDA`` vs scikit-learn's and gensim's LDA.

Two cases (``--case``): ``online`` compares online variational Bayes with scikit-learn's and gensim's online LDA
(speed and held-out perplexity); ``planted`` compares batch variational Bayes with scikit-learn's batch LDA on
recovering planted topics over many seeds (see "Planted topics" below).

**Online.**
All three fit latent Dirichlet allocation by online variational Bayes (Hoffman, Blei & Bach 2010) on the same
training documents with the same settings: K topics, ``alpha = eta = 1/K``, mini-batches of 128 documents,
learning decay 0.7 and offset 10 (gensim's ``decay`` / ``offset``; its step counts documents / chunksize plus the
pass, a slightly different schedule), at most 100 fixed-point iterations per document with a mean-change tolerance
of 1e-3 (gensim's ``iterations`` / ``gamma_threshold``), and ``--passes`` passes over the data. gensim runs its
single-process ``LdaModel`` (not ``LdaMulticore``) with its default float32 arithmetic; everything runs on one
thread (``--threads 1`` is the default of this benchmark).

Quality, by one routine for all three (:func:`genlab.topics.document_log_likelihood`): held-out perplexity per
token, ``exp(-sum_d bound_d / tokens)``, where ``bound_d`` is the variational lower bound on ``log p(w_d | alpha,
beta)`` computed from each library's normalised topic-term matrix and ``alpha = 1/K``; on the synthetic corpus also
topic recovery (each true topic's cosine similarity with its Hungarian match among the fitted topics).

Corpora:

* ``synthetic``: drawn from a known LDA model (:func:`genlab.topics.make_lda_corpus`): K = 20 topics ~ Dir(0.01)
  over V = 5,000 terms, 10,000 training + 1,000 held-out documents of 100 tokens, topic proportions ~ Dir(0.1)
  (``--quick``: 2,000 + 200 documents).
* ``shakespeare``: Tiny Shakespeare (``/work/shared/data/tinyshakespeare``) split into speeches (blocks between
  blank lines, the speaker's name line dropped), tokenised by genlab's default tokenizer with English stop words
  removed and terms in fewer than 5 speeches dropped; a random 90% / 10% split. Where the shared folder is absent,
  the CPython documentation topics (``pydoc_data.topics``) split into paragraphs instead.

Throughput: documents per second per pass = training documents x passes / median fit time.

**Planted topics.** A corpus drawn from a known LDA model (:func:`genlab.topics.make_lda_corpus`): K = 10 topics
``beta_k ~ Dir(0.05)`` over V = 2,000 terms, 2,500 training + 250 held-out documents of 60 tokens, topic
proportions ``theta_d ~ Dir(0.1)`` (corpus seed ``--seed``). Short documents that mostly hold one or two topics,
and peaked topics that share their frequent terms rarely: variational Bayes from a near-uniform start (every
pseudo-count ~ Gamma(100, 1/100), scikit-learn's start) then often ends with two planted topics merged into one
fitted topic and another split, which a better start avoids. Each library fits batch variational Bayes with K =
10, ``alpha = eta = 1/K``, the same per-document fixed point (at most 100 iterations, mean-change tolerance
1e-3), for model seeds ``--seed`` ... ``--seed + --recovery-seeds - 1``: genlab at most 100 iterations, stopping
when the bound per token changes by less than 1e-4; scikit-learn 100 iterations (its batch learner runs them all:
``evaluate_every=-1``, its default, turns its perplexity test off). A planted topic is recovered when its cosine
similarity with its Hungarian match among the fitted topics exceeds 0.95; a seed counts when every planted topic
is. genlab is run in several variants (rows): its default start (``init="kmeans"``), scikit-learn's random start
(``init="random"``), and random starts with ``n_init=5`` restarts (the best bound kept). Times are per fit
(median / min over the seeds); the held-out figure is the common routine's perplexity, mean over the seeds.
"""

from __future__ import annotations

import argparse
import functools
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from bench.harness import BenchmarkReport, Comparison, Extra, Measurement, measure, positive_int

NAME = "lda"
SUMMARY = "LDA: genlab.LDA vs sklearn LatentDirichletAllocation and gensim LdaModel (online; planted-topic recovery)"

N_TOPICS = 20
BATCH_SIZE = 128
DECAY, OFFSET = 0.7, 10.0
DOC_ITER, DOC_TOL = 100, 1e-3
SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare" / "input.txt"

#: The planted-topic corpus (module docstring): K, V, training / held-out documents, tokens per document, priors.
PLANTED = {"n_topics": 10, "n_terms": 2_000, "n_train": 2_500, "n_test": 250, "doc_length": 60,
           "doc_topic_prior": 0.1, "topic_word_prior": 0.05}  # fmt: skip
PLANTED_ITER, PLANTED_TOL, RECOVERED_COSINE = 100, 1e-4, 0.95
#: genlab's variants in the planted case: row label -> LDA keyword arguments.
PLANTED_VARIANTS = {
    "kmeans start (default)": {},
    "random start": {"init": "random"},
    "random start, n_init=5": {"init": "random", "n_init": 5},
}


def synthetic_corpus(quick: bool, seed: int) -> dict[str, Any]:
    from genlab.topics import make_lda_corpus

    n_train = 2_000 if quick else 10_000
    n_test = n_train // 10
    X, topic_word, _ = make_lda_corpus(n_train + n_test, 100, N_TOPICS, 5_000, doc_topic_prior=0.1,
                                       topic_word_prior=0.01, random_state=seed)  # fmt: skip
    return {"name": "synthetic", "train": X[:n_train], "test": X[n_train:], "truth": topic_word,
            "describe": f"K=20 V=5,000 Dir(0.1)/Dir(0.01) LDA, {n_train:,} + {n_test:,} docs of 100 tokens"}


def real_corpus(seed: int) -> dict[str, Any]:
    from genlab.topics import document_term_matrix

    if SHAKESPEARE.exists():
        text = SHAKESPEARE.read_text(encoding="utf-8")
        blocks = [b.split("\n", 1) for b in text.split("\n\n") if b.strip()]
        docs = [b[1] if len(b) > 1 else "" for b in blocks]
        name, source = "shakespeare", "Tiny Shakespeare speeches"
    else:
        from pydoc_data.topics import topics

        docs = [p for text in topics.values() for p in text.split("\n\n") if p.strip()]
        name, source = "pydoc", "CPython documentation (pydoc_data.topics) paragraphs"
    dtm = document_term_matrix(docs, grow=True, stop_words="english", min_df=5)
    X = dtm.X[np.asarray(dtm.X.sum(axis=1)).ravel() > 0]
    order = np.random.default_rng(seed).permutation(X.shape[0])
    n_test = X.shape[0] // 10
    test, train = X[order[:n_test]], X[order[n_test:]]
    train.sort_indices()
    test.sort_indices()
    return {"name": name, "train": train, "test": test, "truth": None,
            "describe": f"{source}: {train.shape[0]:,} + {test.shape[0]:,} docs, V={X.shape[1]:,} "
                        f"(stop words and terms in < 5 docs dropped), {int(train.sum()):,} training tokens"}


def heldout_perplexity(topic_word: np.ndarray, X: Any) -> float:
    """The common routine: exp(-bound / tokens) under normalised topics and alpha = 1/K."""
    from genlab.topics import document_log_likelihood

    topic_word = np.asarray(topic_word, dtype=np.float64)
    topic_word = topic_word / topic_word.sum(axis=1, keepdims=True)
    bound = document_log_likelihood(X, topic_word, 1.0 / topic_word.shape[0], mean_change_tol=DOC_TOL,
                                    max_doc_update_iter=DOC_ITER)  # fmt: skip
    return float(np.exp(-bound.sum() / X.sum()))


def recovery(truth: np.ndarray, topic_word: np.ndarray) -> tuple[float, float]:
    from scipy.optimize import linear_sum_assignment

    a = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    b = np.asarray(topic_word, dtype=np.float64)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    similarity = a @ b.T
    rows, cols = linear_sum_assignment(-similarity)
    matched = similarity[rows, cols]
    return float(matched.min()), float(matched.mean())


def fit_genlab(X: Any, passes: int, seed: int) -> np.ndarray:
    from genlab.topics import LDA

    model = LDA(N_TOPICS, method="online", max_iter=passes, batch_size=BATCH_SIZE, learning_decay=DECAY,
                learning_offset=OFFSET, mean_change_tol=DOC_TOL, max_doc_update_iter=DOC_ITER,
                random_state=seed).fit(X)  # fmt: skip
    return model.topic_word_


def fit_sklearn(X: Any, passes: int, seed: int) -> np.ndarray:
    from sklearn.decomposition import LatentDirichletAllocation

    model = LatentDirichletAllocation(N_TOPICS, learning_method="online", max_iter=passes, batch_size=BATCH_SIZE,
                                      learning_decay=DECAY, learning_offset=OFFSET, mean_change_tol=DOC_TOL,
                                      max_doc_update_iter=DOC_ITER, random_state=seed).fit(X)  # fmt: skip
    return model.components_


def fit_gensim(bow: list[list[tuple[int, int]]], n_terms: int, passes: int, seed: int) -> np.ndarray:
    from gensim.models import LdaModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LdaModel(bow, num_topics=N_TOPICS, id2word={i: str(i) for i in range(n_terms)}, chunksize=BATCH_SIZE,
                         passes=passes, update_every=1, alpha=np.full(N_TOPICS, 1.0 / N_TOPICS), eta=1.0 / N_TOPICS,
                         decay=DECAY, offset=OFFSET, iterations=DOC_ITER, gamma_threshold=DOC_TOL, eval_every=None,
                         random_state=seed)  # fmt: skip
    return model.get_topics()


def planted_corpus(seed: int) -> dict[str, Any]:
    """The planted-topic corpus of the module docstring (training and held-out documents, the true topics)."""
    from genlab.topics import make_lda_corpus

    p = PLANTED
    X, topic_word, _ = make_lda_corpus(
        p["n_train"] + p["n_test"], p["doc_length"], p["n_topics"], p["n_terms"],
        doc_topic_prior=p["doc_topic_prior"], topic_word_prior=p["topic_word_prior"], random_state=seed,
    )  # fmt: skip
    return {"train": X[: p["n_train"]], "test": X[p["n_train"] :], "truth": topic_word}


def fit_genlab_batch(X: Any, seed: int, **options: Any) -> Any:
    from genlab.errors import ConvergenceWarning
    from genlab.topics import LDA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fit that needs all 100 iterations is still counted
        settings = {"max_iter": PLANTED_ITER, "tol": PLANTED_TOL, "mean_change_tol": DOC_TOL,
                    "max_doc_update_iter": DOC_ITER, **options}  # fmt: skip
        model = LDA(PLANTED["n_topics"], method="batch", random_state=seed, **settings)
        return model.fit(X)


def fit_sklearn_batch(X: Any, seed: int) -> Any:
    from sklearn.decomposition import LatentDirichletAllocation

    return LatentDirichletAllocation(PLANTED["n_topics"], learning_method="batch", max_iter=PLANTED_ITER,
                                     mean_change_tol=DOC_TOL, max_doc_update_iter=DOC_ITER,
                                     random_state=seed).fit(X)  # fmt: skip


def _seed_runs(fit: Any, topics: Any, seeds: list[int], corpus: dict[str, Any]) -> dict[str, Any]:
    """Fit once per seed: time, minimum matched cosine and held-out perplexity of each fit."""
    import time

    times, cosines, perplexities, iterations = [], [], [], []
    for seed in seeds:
        start = time.perf_counter()
        model = fit(seed)
        times.append(time.perf_counter() - start)
        cosines.append(recovery(corpus["truth"], topics(model))[0])
        perplexities.append(heldout_perplexity(topics(model), corpus["test"]))
        iterations.append(int(model.n_iter_))
    return {"times": times, "cosines": cosines, "perplexities": perplexities, "iterations": iterations}


def _seed_measurement(name: str, runs: dict[str, Any], peak_mib: float) -> Measurement:
    import statistics

    recovered = sum(c > RECOVERED_COSINE for c in runs["cosines"])
    return Measurement(name=name, median_s=statistics.median(runs["times"]), min_s=min(runs["times"]),
                       peak_mib=peak_mib, quality=float(recovered), times_s=tuple(runs["times"]))  # fmt: skip


def run_planted(args: argparse.Namespace) -> BenchmarkReport:
    """genlab's batch LDA (each variant) vs scikit-learn's on the planted corpus over ``--recovery-seeds`` seeds."""
    import sklearn

    from bench.harness import peak_memory_mib

    n_seeds = 3 if args.quick else args.recovery_seeds
    seeds = [args.seed + i for i in range(n_seeds)]
    corpus = planted_corpus(args.seed)
    train = corpus["train"]
    fit_genlab_batch(train[:200], 0, max_iter=2)  # compile outside the timing
    console = Console(stderr=True)
    console.print(f"[dim]lda planted: scikit-learn batch LDA, seeds {seeds}[/]")
    peer_runs = _seed_runs(lambda s: fit_sklearn_batch(train, s), lambda m: m.components_, seeds, corpus)
    peer_peak, _ = peak_memory_mib(lambda: fit_sklearn_batch(train, seeds[0]))
    peer = _seed_measurement("sklearn", peer_runs, peer_peak)
    p = PLANTED
    parameters = {
        "K": str(p["n_topics"]), "V": f"{p['n_terms']:,}", "docs": f"{p['n_train']:,} + {p['n_test']}",
        "tokens/doc": str(p["doc_length"]), "theta ~ Dir": str(p["doc_topic_prior"]),
        "beta ~ Dir": str(p["topic_word_prior"]), "alpha=eta": "1/K",
        "iterations": f"genlab <= {PLANTED_ITER} (tol {PLANTED_TOL}), sklearn {PLANTED_ITER}",
        "doc iterations": f"<= {DOC_ITER}, tol {DOC_TOL}", "corpus seed": str(args.seed),
        "model seeds": f"{seeds[0]}..{seeds[-1]}",
    }  # fmt: skip
    report = BenchmarkReport(
        benchmark="lda-planted",
        title=f"Batch LDA on planted topics: genlab vs scikit-learn {sklearn.__version__} LatentDirichletAllocation, "
        f"{n_seeds} seeds",
        genlab_label="genlab", peer_label="sklearn",
        quality_name=f"seeds recovering every planted topic (of {n_seeds})",
        parameters=parameters,
        notes=[
            f"a seed recovers the topics when every planted topic's cosine with its Hungarian match > "
            f"{RECOVERED_COSINE}; times are one fit per seed (median / min over the seeds), peak memory one more fit",
            "held-out perplexity: the common routine (variational bound under each fit's normalised topics and "
            "alpha = 1/K) on the 250 held-out documents, mean over the seeds; lower is better",
            "scikit-learn's batch learner runs every iteration (no convergence test unless evaluate_every > 0)",
        ],
    )
    truth_perplexity = heldout_perplexity(corpus["truth"], corpus["test"])
    for label, options in PLANTED_VARIANTS.items():
        console.print(f"[dim]lda planted: genlab {label}, seeds {seeds}[/]")
        runs = _seed_runs(lambda s, o=options: fit_genlab_batch(train, s, **o), lambda m: m.topic_word_, seeds,
                          corpus)  # fmt: skip
        peak, _ = peak_memory_mib(lambda o=options: fit_genlab_batch(train, seeds[0], **o))
        ours = _seed_measurement("genlab", runs, peak)
        extras = [
            Extra("genlab min cosine per seed", " ".join(f"{c:.2f}" for c in runs["cosines"])),
            Extra("sklearn min cosine per seed", " ".join(f"{c:.2f}" for c in peer_runs["cosines"])),
            Extra("mean held-out perplexity genlab / sklearn",
                  f"{np.mean(runs['perplexities']):.2f} / {np.mean(peer_runs['perplexities']):.2f}"),
            Extra("true-model perplexity", f"{truth_perplexity:.2f}"),
            Extra("genlab mean iterations", f"{np.mean(runs['iterations']):.1f}"),
        ]
        flags = []  # the other variants are there to show why the default start is what it is
        if not options and ours.quality < n_seeds:
            flags.append(f"genlab's default recovered the planted topics for {ours.quality:.0f} of {n_seeds} seeds")
        report.comparisons.append(Comparison(case=label, genlab=ours, peer=peer, extras=extras, flags=flags))
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--case", choices=("online", "planted", "all"), default="all",
                        help="online: online VB vs scikit-learn and gensim; planted: batch VB's recovery of planted "
                             "topics vs scikit-learn over --recovery-seeds seeds (default all)")  # fmt: skip
    parser.add_argument("--recovery-seeds", type=positive_int, default=10, metavar="N",
                        help="planted case: model seeds (default 10; --quick: 3)")  # fmt: skip
    parser.add_argument("--passes", type=positive_int, default=3, help="passes over the training data (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data split and of every model (default 0)")
    parser.add_argument("--corpus", choices=("synthetic", "real", "both"), default="both",
                        help="which corpora to run (default both)")  # fmt: skip
    parser.add_argument("--model-seeds", type=positive_int, default=5, metavar="N",
                        help="fit each library with N model seeds (seed, seed+1, ...) and compare the mean held-out "
                             "perplexity: one seed's difference is within seed-to-seed noise (default 5)")  # fmt: skip
    parser.set_defaults(threads=None)


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    """The chosen cases: the online reports (against scikit-learn and gensim) and the planted-topic report."""
    from bench import harness

    if args.threads is None:  # gensim's LdaModel is single-core: compare on one thread throughout
        args.threads = 1
        harness.set_thread_limit(1)
    reports = run_online(args) if args.case in ("online", "all") else []
    if args.case in ("planted", "all"):
        with harness.limit_threads(args.threads):
            reports.append(run_planted(args))
    return reports


def run_online(args: argparse.Namespace) -> list[BenchmarkReport]:
    """Fit all three on each corpus; one report against scikit-learn and one against gensim.

    Without gensim the scikit-learn report alone is made (with a note); without either peer there is nothing to
    compare with.
    """
    import sklearn

    try:
        import gensim
    except ImportError:
        gensim = None

    from genlab.topics import LDA

    logging.getLogger("gensim").setLevel(logging.ERROR)
    console = Console(stderr=True)
    corpora = []
    if args.corpus in ("synthetic", "both"):
        corpora.append(synthetic_corpus(args.quick, args.seed))
    if args.corpus in ("real", "both"):
        corpora.append(real_corpus(args.seed))
    common = {"K": str(N_TOPICS), "passes": str(args.passes), "batch": str(BATCH_SIZE), "alpha=eta": "1/K",
              "decay": str(DECAY), "offset": str(OFFSET), "doc iterations": f"<= {DOC_ITER}, tol {DOC_TOL}",
              "repeats": str(args.repeats), "seed": str(args.seed)}  # fmt: skip
    peers = [("sklearn", f"scikit-learn {sklearn.__version__} LatentDirichletAllocation")]
    if gensim is not None:
        peers.append(("gensim", f"gensim {gensim.__version__} LdaModel (single process, float32)"))
    reports = {
        peer: BenchmarkReport(
            benchmark=f"lda-{peer}", title=f"Online LDA ({args.passes} passes): genlab vs {label}",
            genlab_label="genlab", peer_label=peer, quality_name="held-out perplexity (common routine)",
            parameters=dict(common),
            notes=[
                "times are one fit() each; peers have no warm-up (nothing to compile), genlab warms up on 200 docs",
                "quality: held-out perplexity per token from each library's normalised topic-term matrix and "
                "alpha = 1/K by one routine (variational bound, genlab.topics.document_log_likelihood); lower is "
                "better",
                "docs/s/pass = training documents x passes / median fit time",
                "the perplexity columns without 'mean' are the timed fits' (model seed = --seed); the compared "
                "figure is the mean over --model-seeds fits of each library with the same seeds",
            ],
        )
        for peer, label in peers
    }
    if gensim is None:
        reports["sklearn"].notes.append("gensim is not installed here (pip install gensim): its report is left out")
    for corpus in corpora:
        train, test = corpus["train"], corpus["test"]
        for report in reports.values():
            report.notes.append(f"{corpus['name']}: {corpus['describe']}")
        bow = [list(zip(row.indices.tolist(), row.data.astype(int).tolist(), strict=True)) for row in train]
        LDA(N_TOPICS, method="online", max_iter=1, random_state=0).fit(train[:200])  # compile outside the timing
        fits = {
            "genlab": functools.partial(fit_genlab, train, args.passes),
            "sklearn": functools.partial(fit_sklearn, train, args.passes),
            "gensim": functools.partial(fit_gensim, bow, train.shape[1], args.passes),
        }
        sides = ["genlab", *reports]
        runs = {}
        for side in sides:
            console.print(f"[dim]lda {corpus['name']}: {side}: {args.repeats} timed fits + 1 memory fit[/]")
            runs[side] = measure(side, functools.partial(fits[side], args.seed), repeats=args.repeats, warmup=False,
                                 quality=functools.partial(heldout_perplexity, X=test))  # fmt: skip
        # the quality figure compared: mean held-out perplexity over several model seeds (same seeds for all)
        seeds = [args.seed + i for i in range(args.model_seeds)]
        console.print(f"[dim]lda {corpus['name']}: held-out perplexity with model seeds {seeds}[/]")
        by_seed = {side: [heldout_perplexity(fits[side](s), test) for s in seeds] for side in sides}
        n_docs = train.shape[0] * args.passes
        for peer, report in reports.items():
            (g, g_topics), (p, p_topics) = runs["genlab"], runs[peer]
            g_mean, p_mean = float(np.mean(by_seed["genlab"])), float(np.mean(by_seed[peer]))
            extras = [
                Extra("genlab docs/s/pass", f"{n_docs / g.median_s:,.0f}"),
                Extra(f"{peer} docs/s/pass", f"{n_docs / p.median_s:,.0f}"),
                Extra(f"mean perplexity ratio genlab / peer over {len(seeds)} seeds", f"{g_mean / p_mean:.4f}",
                      g_mean > 1.01 * p_mean),
                Extra("mean (sd) perplexity genlab", f"{g_mean:.2f} ({np.std(by_seed['genlab']):.2f})"),
                Extra(f"mean (sd) perplexity {peer}", f"{p_mean:.2f} ({np.std(by_seed[peer]):.2f})"),
            ]
            if corpus["truth"] is not None:
                g_min, g_mean = recovery(corpus["truth"], g_topics)
                p_min, p_mean = recovery(corpus["truth"], p_topics)
                extras += [Extra("recovery genlab min / mean cos", f"{g_min:.3f} / {g_mean:.3f}"),
                           Extra(f"recovery {peer} min / mean cos", f"{p_min:.3f} / {p_mean:.3f}")]  # fmt: skip
                extras.append(Extra("true-model perplexity", f"{heldout_perplexity(corpus['truth'], test):.2f}"))
            flags = (["genlab's mean held-out perplexity is more than 1% worse than the peer's"] if extras[2].flagged
                     else [])  # fmt: skip
            report.comparisons.append(Comparison(case=corpus["name"], genlab=g, peer=p, extras=extras, flags=flags))
    return list(reports.values())


if __name__ == "__main__":  # python -m bench.lda [options]: until bench/__init__.py lists "lda"
    import sys

    import bench
    from bench.__main__ import main

    bench.BENCHMARKS.setdefault(NAME, "bench.lda")
    sys.exit(main([NAME, *sys.argv[1:]]))
