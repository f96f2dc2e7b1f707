"""Generative vs discriminative learning curves (Ng & Jordan 2001) on the breast-cancer table; writes a plot.

Run: python examples/learning_curves.py [PLOT.png]   (default learning_curves.png in the current folder; the same
experiment, recorded with its plot in bench/: python -m bench ep)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, which holds bench/

from bench.ep import run_curves

plot_path = Path(sys.argv[1] if len(sys.argv) > 1 else "learning_curves.png")
report = run_curves(draws=5, plot_path=plot_path)
for comparison in report.comparisons:
    print(f"{comparison.case:12s} naive Bayes {comparison.genlab.quality:.3f}   "
          f"logistic regression {comparison.peer.quality:.3f}   {comparison.extras[0].label} "
          f"{comparison.extras[0].value}")
print(f"plot: {plot_path}")
