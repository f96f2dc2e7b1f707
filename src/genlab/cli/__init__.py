"""The ``genlab`` command line: fit, score, sample, inspect models and run the demo (DESIGN.md sections 6-7).

Every user mistake prints exactly one line ``error: <message>`` on stderr and exits with status 2. Each model
family's ``genlab fit FAMILY`` command lives in its own module and registers itself on import.
"""

from genlab.cli import (  # noqa: F401 - importing registers the commands
    audio,
    bayesnet,
    classify,
    commands,
    compare,
    gmm,
    hmm,
    images,
    lm,
    seq2seq,
    sequence,
    topics,
    trees,
    vision,
)
from genlab.cli._app import app, fit_app, main

__all__ = ["app", "fit_app", "main"]
