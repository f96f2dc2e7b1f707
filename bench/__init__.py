"""genlab's benchmarks: genlab against the established peer of each model family, side by side.

Run them from the repository root::

    python -m bench --list
    python -m bench gmm --quick --no-record

Each benchmark is a module of this package with ``NAME``, ``SUMMARY``, ``add_arguments(parser)`` and
``run(args)`` returning a :class:`bench.harness.BenchmarkReport` (or a list of them, one per peer,
each recorded as its own section), listed in :data:`BENCHMARKS`. See ``bench/README.md``.
"""

from __future__ import annotations

#: Benchmark name on the command line -> module that implements it.
BENCHMARKS: dict[str, str] = {
    "gmm": "bench.gmm",
    "ngram": "bench.ngram",
    "ar": "bench.ar",
    "hmm": "bench.hmm",
    "lda": "bench.lda",
    "ep": "bench.ep",
    "bayesnet": "bench.bayesnet",
    "lm": "bench.lm",
    "distributed": "bench.distributed",
    "images": "bench.images",
    "import_time": "bench.import_time",
    "contention": "bench.contention",
    "seq2seq": "bench.seq2seq",
    "vision": "bench.vision",
    "audio": "bench.audio",
    "forecasting": "bench.forecasting",
    "masked": "bench.masked",
    "trees": "bench.trees",
}

__all__ = ["BENCHMARKS"]
