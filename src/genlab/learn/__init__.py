"""Learning algorithms written once against protocols (DESIGN.md section 3, layer 4)."""

from genlab.learn.checkpoint import em_checkpoint
from genlab.learn.em import fit_em, run_em
from genlab.learn.state import ConvergenceMonitor, EMProgress, FitInterrupted, FitState, restore_on_failure

__all__ = [
    "ConvergenceMonitor",
    "EMProgress",
    "FitInterrupted",
    "FitState",
    "em_checkpoint",
    "fit_em",
    "restore_on_failure",
    "run_em",
]
