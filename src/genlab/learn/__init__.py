"""Learning algorithms written once against protocols (DESIGN.md section 3, layer 4)."""

from genlab.learn.em import ConvergenceMonitor, EMResult, run_em

__all__ = ["ConvergenceMonitor", "EMResult", "run_em"]
