"""Learning algorithms written once against protocols (DESIGN.md section 3, layer 4)."""

from genlab.learn.em import ConvergenceMonitor, EMProgress, FitState, fit_em, restore_on_failure, run_em

__all__ = ["ConvergenceMonitor", "EMProgress", "FitState", "fit_em", "restore_on_failure", "run_em"]
