"""Generative vs discriminative learning curves (Ng & Jordan 2001) on the breast-cancer table; writes a plot.

Run: python examples/learning_curves.py   (the same experiment, recorded: python -m bench ep)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, which holds bench/

from bench.ep import PLOT_PATH, run_curves

report = run_curves(draws=5)
for comparison in report.comparisons:
    print(f"{comparison.case:12s} naive Bayes {comparison.genlab.quality:.3f}   "
          f"logistic regression {comparison.peer.quality:.3f}   {comparison.extras[0].label} "
          f"{comparison.extras[0].value}")
print(f"plot: {PLOT_PATH}")
