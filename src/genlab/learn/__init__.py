"""Learning algorithms written once against protocols (DESIGN.md section 3, layer 4)."""

from genlab.learn.em import fit_em, run_em
from genlab.learn.state import ConvergenceMonitor, EMProgress, FitState, restore_on_failure

__all__ = ["ConvergenceMonitor", "EMProgress", "FitState", "fit_em", "restore_on_failure", "run_em"]
