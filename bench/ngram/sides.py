"""The data and the three sides of the n-gram benchmark: Tiny Shakespeare and its split, genlab's MarkovChain,
NLTK's ``nltk.lm`` peers and KenLM reading genlab's ARPA files, each behind a few functions."""

from __future__ import annotations

import math
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import REPO_ROOT, BenchmarkUnavailable

#: Tiny Shakespeare, relative to the repository root (``../shared`` is not part of the project).
DATA_PATH = REPO_ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
TRAIN_FRACTION = 0.9

LN2 = math.log(2.0)

#: NLTK class used as the peer of each genlab smoothing (add-k: Laplace for k = 1, else Lidstone).
NLTK_CLASSES = {
    "none": "MLE",
    "add-k": "Laplace",
    "witten-bell": "WittenBellInterpolated",
    "kneser-ney": "KneserNeyInterpolated",
}


def load_text(path: Path) -> str:
    """The whole file as one string, characters exactly as stored (no newline translation)."""
    if not path.is_file():
        raise BenchmarkUnavailable(
            f"the Tiny Shakespeare text is not at {path} (it lives in ../shared/data/ next to the "
            "repository, which is not part of the project); give its location with --data PATH."
        )
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def split_text(text: str) -> tuple[str, str]:
    """The standard split: first 90% of the characters train, last 10% validation."""
    cut = int(len(text) * TRAIN_FRACTION)
    return text[:cut], text[cut:]


# --------------------------------------------------------------------------------------------------
# genlab


def load_genlab() -> tuple[type, type[Exception]]:
    """``genlab.MarkovChain`` and ``genlab.errors.DataError``; raise BenchmarkUnavailable when missing."""
    try:
        import genlab
        from genlab.errors import DataError
    except ImportError as exc:
        raise BenchmarkUnavailable(
            f"cannot import genlab ({exc}). Run from the repository root with PYTHONPATH=src (or after "
            "`pip install -e .`)."
        ) from exc
    cls = getattr(genlab, "MarkovChain", None)
    if cls is None:
        raise BenchmarkUnavailable("this genlab has no MarkovChain yet.")
    return cls, DataError


def genlab_order(cls: type, ngram_order: int) -> int:
    """genlab's ``order`` argument for an n-gram model of order N.

    ``MarkovChain(order=k)`` is a chain of Markov order k, an (k+1)-gram model (its ``ngram_order``
    property); an older genlab took the n-gram order itself and had no ``ngram_order``.
    """
    return ngram_order - 1 if hasattr(cls, "ngram_order") else ngram_order


def fit_genlab(cls: type, ngram_order: int, smoothing: str, k: float, train: str, caught: set[str]) -> Any:
    """Fit an n-gram model of order ``ngram_order`` on ``train``; warnings are silenced and their messages
    kept in ``caught``."""
    order = genlab_order(cls, ngram_order)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model = cls(order=order, smoothing=smoothing, k=k).fit(train)
    caught.update(f"{r.category.__name__}: {r.message}" for r in records)
    return model


def bits_per_char(model: Any, text: str, data_error: type[Exception]) -> float:
    """``-score(text) / ln 2``; ``inf`` where the model gives the text probability zero.

    With ``smoothing="none"`` a character never seen in training makes genlab raise DataError (probability
    zero); that is reported as ``inf``, like an unseen n-gram.
    """
    try:
        return -model.score(text) / LN2
    except data_error:
        return math.inf


def n_ngrams(model: Any) -> int:
    """Number of n-grams the fitted model stores, all orders together."""
    return int(sum(rows.shape[0] for rows in model.ngrams_))


# --------------------------------------------------------------------------------------------------
# NLTK


def nltk_model(smoothing: str, order: int, k: float) -> Any:
    """An unfitted ``nltk.lm`` model of the family matching a genlab smoothing."""
    from nltk import lm

    if smoothing == "add-k":
        return lm.Laplace(order) if k == 1.0 else lm.Lidstone(k, order)
    return getattr(lm, NLTK_CLASSES[smoothing])(order)


def fit_nltk(smoothing: str, order: int, k: float, chars: list[str]) -> Any:
    """Fit the NLTK peer on one sequence of characters: padded everygrams (the standard pipeline) + fit.

    NLTK pads with N-1 ``<s>`` and N-1 ``</s>``; at order 1 it pads nothing, so there a ``</s>`` is
    appended (genlab scores the end of every sequence, and so does the evaluation below).
    """
    from nltk.lm.preprocessing import padded_everygram_pipeline

    sentence = [*chars, "</s>"] if order == 1 else chars
    ngrams, vocabulary = padded_everygram_pipeline(order, [sentence])
    model = nltk_model(smoothing, order, k)
    model.fit(ngrams, vocabulary)
    return model


def nltk_bits_per_char(model: Any, order: int, chars: list[str]) -> float:
    """Held-out bits per character, counted as genlab counts them: every character and one ``</s>``.

    Each character is predicted from the N-1 before it, with NLTK's ``<s>`` padding before the first;
    ``logscore`` is log2 (``-inf`` for probability zero, giving ``inf``).
    """
    padded = ["<s>"] * (order - 1) + chars + ["</s>"]
    total = 0.0
    for i in range(order - 1, len(padded)):
        context = tuple(padded[i - order + 1 : i]) if order > 1 else None
        total += model.logscore(padded[i], context)
    return -total / (len(chars) + 1)


# --------------------------------------------------------------------------------------------------
# KenLM


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null within the block (KenLM prints its loading progress there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def load_kenlm(path: Path) -> tuple[Any, str | None]:
    """``(kenlm.Model(path), None)``, or ``(None, why)`` where KenLM cannot load the file."""
    import kenlm

    try:
        with quiet_stderr():
            return kenlm.Model(str(path)), None
    except OSError as exc:
        message = str(exc)
        limit = re.search(r"support up to (\d+)", message)
        if limit:
            return None, f"this KenLM build supports orders up to {limit.group(1)} (KENLM_MAX_ORDER)"
        if "at least a bigram" in message:
            return None, "KenLM loads models of order 2 and above only"
        return None, f"KenLM cannot load the file: {message.splitlines()[0][:200]}"


def kenlm_sentence(text: str) -> str:
    """The text as KenLM reads genlab's character ARPA files: escaped characters separated by spaces."""
    from genlab.sequence import escape_token

    return " ".join(escape_token(c) for c in text)


def kenlm_log10_total(model: Any, sentence: str) -> tuple[float, int]:
    """Total log10 probability (``<s>`` ... ``</s>``) summed in float64 from ``full_scores``, and the
    number of scored tokens. ``Model.score`` sums the same values in float32, which over 10^5 tokens loses
    about one unit in the total."""
    values = [score for score, _, _ in model.full_scores(sentence, bos=True, eos=True)]
    return math.fsum(values), len(values)


def peer_versions() -> dict[str, str]:
    """The installed versions of NLTK and KenLM ("not installed" for a missing one)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("nltk", "kenlm"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
