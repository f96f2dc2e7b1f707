"""Shared small data for the ``genlab compare`` tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_text() -> str:
    """About 12,000 characters of the CPython reference text (present on every machine)."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key] for key in sorted(topics))
    return text[:12000]


@pytest.fixture
def text_file(tmp_path: Path, small_text: str) -> Path:
    path = tmp_path / "text.txt"
    path.write_text(small_text, encoding="utf-8")
    return path
