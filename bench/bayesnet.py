"""Bayesian-network benchmark: ``genlab.BayesianNetwork`` vs pgmpy on the alarm and child networks.

Both sides read the same BIF file (pgmpy's tables rescaled row by row to sum to one, as genlab does on reading) and
work on the same data and queries. Cases per network:

* ``query, k evidence`` (k = 0, 3, 10): 20 single-variable posterior queries with k observed variables (evidence
  drawn from a forward sample, so it is possible), genlab ``query`` (variable elimination with a plan compiled per
  (query, evidence variables) pair and cached: the warm-up run compiles them) vs pgmpy ``VariableElimination.query``;
  time per query in the table. Quality: the largest absolute difference between the two answers.
* ``all marginals, 3 evidence``: every posterior marginal given 3 observed variables; genlab ``marginals``
  (one junction-tree calibration) vs pgmpy ``BeliefPropagation`` (build, calibrate, query every variable); pgmpy
  only on the networks of ``--bp-networks`` (child by default: on alarm its junction tree exhausts memory).
* ``sample 100,000``: genlab ``sample`` vs pgmpy ``BayesianModelSampling.forward_sample``. Quality: mean
  log-likelihood per row of the drawn rows under the network (both should be about minus its entropy).
* ``MLE fit 100,000``: CPTs of the true structure from 100,000 sampled rows; genlab ``fit`` vs pgmpy
  ``DiscreteBayesianNetwork.fit`` with ``DiscreteMLE``. Quality: largest absolute difference of a CPT entry.
* ``hill climb 10,000`` on asia (built in) and the network: genlab ``hill_climb`` (BIC, tabu) vs pgmpy
  ``HillClimbSearch`` (``bic-d``). Quality: structural Hamming distance to the true DAG (genlab; pgmpy in the
  extra column).

``--quick``: 10 queries per case, 20,000 rows for sampling and fitting, 5,000 for structure learning.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import BenchmarkReport, BenchmarkUnavailable, Comparison, Extra, measure

NAME = "bayesnet"
SUMMARY = "Bayesian networks: genlab.BayesianNetwork vs pgmpy (queries, all marginals, sampling, MLE, hill climbing)"
NETWORKS = ("alarm", "child")
BIF_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "bif"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of this benchmark."""
    parser.add_argument("--networks", nargs="+", choices=NETWORKS, default=list(NETWORKS), metavar="NET")
    parser.add_argument("--bif-dir", type=Path, default=BIF_DIR, help="folder with alarm.bif and child.bif")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bp-networks", nargs="*", choices=NETWORKS, default=["child"], metavar="NET",
                        help="networks on which to run pgmpy's BeliefPropagation (default: child; on alarm it "
                        "exhausts memory)")


def _pgmpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pgmpy
            from pgmpy.estimators import HillClimbSearch
            from pgmpy.inference import BeliefPropagation, VariableElimination
            from pgmpy.models import DiscreteBayesianNetwork
            from pgmpy.parameter_estimator import DiscreteMLE
            from pgmpy.readwrite import BIFReader
            from pgmpy.sampling import BayesianModelSampling
        except ImportError as exc:
            raise BenchmarkUnavailable(f"pgmpy is not installed ({exc}); pip install pgmpy") from None
    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    return {
        "version": pgmpy.__version__, "BIFReader": BIFReader, "VE": VariableElimination, "BP": BeliefPropagation,
        "Sampling": BayesianModelSampling, "DBN": DiscreteBayesianNetwork, "MLE": DiscreteMLE,
        "HC": HillClimbSearch,
    }


def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def _cases(bn, k: int, n: int, rng: np.random.Generator) -> list[tuple[str, dict[str, str]]]:
    out = []
    for _ in range(n):
        order = list(bn.variables_)
        rng.shuffle(order)
        row = bn.sample(1, random_state=int(rng.integers(1 << 30))).iloc[0]
        out.append((order[k], {v: str(row[v]) for v in order[:k]}))
    return out


def _network_report(name: str, path: Path, args: argparse.Namespace, pg: dict[str, Any]) -> BenchmarkReport:
    from genlab.bayesnet import BayesianNetwork, structural_hamming_distance
    from genlab.bayesnet.structure import hill_climb

    quick = args.quick
    repeats = args.repeats
    n_queries = 10 if quick else 20
    n_rows = 20_000 if quick else 100_000
    bn = BayesianNetwork.from_bif(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pg["BIFReader"](str(path)).get_model()
        for cpd in model.get_cpds():
            cpd.normalize(inplace=True)
    rng = np.random.default_rng(args.seed)
    report = BenchmarkReport(
        benchmark=f"{NAME}-{name}", title=f"Bayesian network {name}: genlab vs pgmpy {pg['version']}",
        genlab_label="genlab", peer_label="pgmpy", quality_name="see case",
        parameters={"network": name, "queries per case": str(n_queries), "rows": str(n_rows), "seed": str(args.seed),
                    "repeats": str(repeats)},
    )

    # -- single-marginal queries --------------------------------------------------------------------------------
    ve = pg["VE"](model)
    for k in (0, 3, 10):
        cases = _cases(bn, k, n_queries, rng)
        g_meas, g_res = measure("genlab", lambda cases=cases: [bn.query(q, e).values for q, e in cases],
                                repeats=repeats)
        p_meas, p_res = measure("pgmpy", _quiet(lambda cases=cases: [
            ve.query([q], evidence=e, show_progress=False) for q, e in cases]), repeats=repeats)
        diff = 0.0
        for (q, _), ours, theirs in zip(cases, g_res, p_res, strict=True):
            expected = [theirs.values[theirs.state_names[q].index(s)] for s in bn.state_names_[q]]
            diff = max(diff, float(np.abs(ours - expected).max()))
        g_meas = _per(g_meas, n_queries, diff)
        p_meas = _per(p_meas, n_queries, diff)
        report.comparisons.append(Comparison(f"query, {k} evidence (per query)", g_meas, p_meas,
                                             extras=[Extra("max |diff|", f"{diff:.2e}", diff > 1e-9)]))

    # -- all marginals ------------------------------------------------------------------------------------------
    _, ev = _cases(bn, 3, 1, rng)[0]
    free = [v for v in bn.variables_ if v not in ev]

    def pgmpy_all():
        bp = pg["BP"](model)
        bp.calibrate()
        return {v: bp.query([v], evidence=ev, show_progress=False) for v in free}

    g_meas, g_res = measure("genlab", lambda: bn.marginals(ev), repeats=repeats)
    if name in args.bp_networks:
        p_meas, p_res = measure("pgmpy", _quiet(pgmpy_all), repeats=max(1, min(repeats, 2)))
        diff = max(float(np.abs(g_res[v].values - np.array(
            [p_res[v].values[p_res[v].state_names[v].index(s)] for s in bn.state_names_[v]])).max()) for v in free)
        extras = [Extra("max |diff|", f"{diff:.2e}", diff > 1e-9)]
        p_meas = _with_quality(p_meas, diff)
    else:
        p_meas, diff, extras = None, float("nan"), []
        report.notes.append(
            f"all marginals: pgmpy BeliefPropagation not run on {name} (not in --bp-networks): on alarm it tries to "
            "allocate a 1.42 GiB table for one clique and had passed 14 GB of resident memory when stopped on this "
            "machine; genlab's largest junction-tree clique here has "
            f"{bn.junction_tree().largest:.0f} entries.")
    g_meas = _with_quality(g_meas, diff)
    report.comparisons.append(Comparison("all marginals, 3 evidence", g_meas, p_meas, extras=extras))

    # -- sampling -------------------------------------------------------------------------------------------------
    sampler = pg["Sampling"](model)
    g_meas, g_res = measure("genlab", lambda: bn.sample(n_rows, random_state=1), repeats=repeats,
                            quality=lambda frame: bn.score(frame))
    p_meas, p_res = measure("pgmpy", _quiet(lambda: sampler.forward_sample(size=n_rows, seed=1, show_progress=False)),
                            repeats=repeats, quality=lambda frame: bn.score(frame[bn.variables_].astype(str)))
    report.comparisons.append(Comparison(f"sample {n_rows:,} (quality: mean log-lik / row)", g_meas, p_meas))

    # -- MLE ------------------------------------------------------------------------------------------------------
    data = bn.sample(n_rows, random_state=2)
    plain = data.astype(str)

    def genlab_fit():
        return BayesianNetwork(bn.edge_list, nodes=bn.variables_, states=bn.state_names_).fit(data)

    def pgmpy_fit():
        m = pg["DBN"](bn.edge_list)
        m.add_nodes_from(bn.variables_)
        fitted = m.fit(plain, estimator=pg["MLE"]())
        return fitted if fitted is not None else m

    g_meas, g_fit = measure("genlab", genlab_fit, repeats=repeats)
    p_meas, p_fit = measure("pgmpy", _quiet(pgmpy_fit), repeats=repeats)
    diff = 0.0
    for v in bn.variables_:
        cpd = p_fit.get_cpds(v)
        cpd = cpd.copy()
        order = [v, *bn.parents_[v]]
        values = cpd.get_values().reshape([cpd.cardinality[cpd.variables.index(x)] for x in cpd.variables])
        values = np.moveaxis(values, [cpd.variables.index(x) for x in order], range(len(order)))
        values = np.moveaxis(values, 0, -1)
        for axis, x in enumerate(bn.parents_[v] + [v]):  # align state orders
            perm = [cpd.state_names[x].index(s) for s in bn.state_names_[x]]
            values = np.take(values, perm, axis=axis)
        diff = max(diff, float(np.abs(values - g_fit.cpts_[v]).max()))
    report.comparisons.append(Comparison(f"MLE fit {n_rows:,}", _with_quality(g_meas, diff),
                                         _with_quality(p_meas, diff),
                                         extras=[Extra("max |CPT diff|", f"{diff:.2e}", diff > 1e-9)]))

    # -- structure learning ---------------------------------------------------------------------------------------
    from genlab.bayesnet import networks

    n_struct = 5_000 if quick else 10_000
    for label, truth in (("asia", networks.asia()), (name, bn)):
        frame = truth.sample(n_struct, random_state=3)
        plain = frame.astype(str)

        def genlab_hc(frame=frame):
            return hill_climb(frame, score="bic", random_state=0)

        def pgmpy_hc(plain=plain):
            dag = pg["HC"](plain).estimate(scoring_method="bic-d", show_progress=False)
            return list(dag.edges())

        struct_repeats = max(1, min(repeats, 2))
        g_meas, g_edges = measure("genlab", genlab_hc, repeats=struct_repeats,
                                  quality=lambda e, t=truth: structural_hamming_distance(t.edge_list, e))
        p_meas, p_edges = measure("pgmpy", _quiet(pgmpy_hc), repeats=struct_repeats,
                                  quality=lambda e, t=truth: structural_hamming_distance(t.edge_list, e))
        sk_g = structural_hamming_distance(truth.edge_list, g_edges, skeleton=True)
        sk_p = structural_hamming_distance(truth.edge_list, p_edges, skeleton=True)
        report.comparisons.append(Comparison(
            f"hill climb {label} {n_struct:,} (quality: SHD)", g_meas, p_meas,
            extras=[Extra("skeleton SHD genlab / pgmpy", f"{sk_g} / {sk_p}")]))
    report.notes.append(
        f"query rows: time per query ({n_queries} random queries per run; genlab's plans compiled in the untimed "
        "warm-up). "
        "Quality columns: query / marginals / MLE: max |genlab - pgmpy|; sampling: mean log-likelihood per row under "
        "the true network; hill climbing: structural Hamming distance to the true DAG (BIC; pgmpy 'bic-d').")
    return report


def _per(m, n: int, quality: float):
    from dataclasses import replace

    return replace(m, median_s=m.median_s / n, min_s=m.min_s / n, times_s=tuple(t / n for t in m.times_s),
                   quality=quality)


def _with_quality(m, quality: float):
    from dataclasses import replace

    return replace(m, quality=quality)


def run(args: argparse.Namespace) -> list[BenchmarkReport]:
    """One report per network."""
    pg = _pgmpy()
    reports = []
    for name in dict.fromkeys(args.networks):
        path = args.bif_dir / f"{name}.bif"
        if not path.exists():
            raise BenchmarkUnavailable(f"{path} is absent; pass --bif-dir with alarm.bif and child.bif")
        reports.append(_network_report(name, path, args, pg))
    return reports


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.bayesnet``: the same as ``python -m bench bayesnet`` before it is listed in BENCHMARKS."""
    import sys

    import bench
    from bench.__main__ import main as bench_main

    bench.BENCHMARKS.setdefault(NAME, "bench.bayesnet")
    return bench_main([NAME, *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())
