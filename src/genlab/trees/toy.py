"""A small English-like probabilistic grammar with known probabilities: the ground truth of the PCFG's tests.

It is ambiguous (a prepositional phrase attaches to the noun phrase or to the verb phrase), has binary, unary
(``VP -> V``, ``NP -> Name``) and lexical rules, and non-uniform probabilities throughout. Its derivations are
finite: each ``NP`` expands to on average 0.5 further ``NP`` s through ``NP -> NP PP`` and ``PP -> P NP``, each
``VP`` to 0.3 further ``VP`` s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genlab.trees.pcfg import PCFG

__all__ = ["TOY_GRAMMAR", "toy_pcfg"]

#: The toy grammar in NLTK's text format.
TOY_GRAMMAR = """\
# A small English-like PCFG with prepositional-phrase attachment ambiguity.
S -> NP VP [1.0]
VP -> V NP [0.5] | VP PP [0.3] | V [0.2]
NP -> Det N [0.6] | NP PP [0.25] | Name [0.15]
PP -> P NP [1.0]
Det -> 'the' [0.7] | 'a' [0.3]
N -> 'dog' [0.4] | 'cat' [0.35] | 'telescope' [0.25]
V -> 'saw' [0.6] | 'chased' [0.4]
P -> 'with' [0.65] | 'near' [0.35]
Name -> 'Alice' [0.55] | 'Bob' [0.45]
"""


def toy_pcfg(**params: Any) -> PCFG:
    """The :data:`TOY_GRAMMAR` as a ready :class:`~genlab.trees.pcfg.PCFG` (``params``: its hyperparameters)."""
    from genlab.trees.pcfg import PCFG

    return PCFG.from_string(TOY_GRAMMAR, **params)
