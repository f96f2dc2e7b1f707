"""Corpora shared by the sequence tests: natural text that ships with CPython (no download)."""

from __future__ import annotations

import functools


@functools.cache
def _reference_lines() -> tuple[str, ...]:
    from pydoc_data import topics

    return tuple(line for text in topics.topics.values() for line in text.split("\n") if line.strip())


def prose() -> list[str]:
    """300 lines of Python's reference documentation (~15,000 characters): enough counts for modified
    Kneser-Ney to estimate valid discounts at character orders 1-4."""
    return list(_reference_lines()[:300])


def prose_words() -> list[list[str]]:
    """All ~8,700 non-blank lines of the same text split into words (~65,000 tokens)."""
    return [line.split() for line in _reference_lines()]
