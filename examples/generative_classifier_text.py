"""Telling Shakespeare from the Python documentation with one character Markov chain per class.

Uses /work/shared/data/tinyshakespeare when present (or a path given as the first argument), else two groups of
Python documentation topics that ship with CPython (pydoc_data), so it runs anywhere.

Run: python examples/generative_classifier_text.py [path/to/tinyshakespeare.txt]
"""

import pydoc_data.topics
import re
import sys
from pathlib import Path

import numpy as np

from genlab.classify import GenerativeClassifier
from genlab.sequence import MarkovChain

SHAKESPEARE = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/tinyshakespeare/input.txt")


def snippets(text, n, size=40):
    text = re.sub(r"\s+", " ", text)
    return [text[i * size:(i + 1) * size] for i in range(n)]


topics = pydoc_data.topics.topics
docs = " ".join(topics.values())
if SHAKESPEARE.exists():
    other, names = SHAKESPEARE.read_text(encoding="utf-8"), ("python docs", "shakespeare")
else:  # the grammar-heavy topics against the rest
    grammar = [k for k in topics if k in ("formatstrings", "lambda", "numbers", "strings", "integers", "floating")]
    other = " ".join(topics[k] for k in grammar)
    docs = " ".join(v for k, v in topics.items() if k not in grammar)
    names = ("python docs", "python grammar topics")

X = snippets(docs, 400) + snippets(other, 400)
y = np.array([names[0]] * 400 + [names[1]] * 400)
order = np.random.default_rng(0).permutation(800)
X, y = [X[i] for i in order], y[order]
clf = GenerativeClassifier(MarkovChain(order=2, smoothing="witten-bell")).fit(X[:500], y[:500])
print(f"held-out accuracy on 300 snippets of 40 characters: {clf.score(X[500:], y[500:]):.3f}")
for name in names:
    drawn, _ = clf.sample(1, y=name, random_state=1, length=120)
    print(f"a sample of class {name!r}: {drawn[0]!r}")
