"""Fuzzing the held-out rule of ``genlab compare`` on audio: any ``--heldout`` text over any file-name fields.

Recordings get drawn fields (an ``index`` of small integers, a ``speaker`` from a few names, sometimes a field
missing); the rule is drawn as text: ``auto``, ``random``, ``FIELD=VALUES`` with values and integer ranges, or
junk. The properties: the split either succeeds - the held-out recordings are exactly those the rule names
(computed here independently), at least one on each side, every recording on exactly one side - or fails with a
:class:`~genlab.errors.ParameterError` / :class:`~genlab.errors.DataError`; nothing else escapes.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from genlab.compare.data import _audio_heldout
from genlab.data.audio import AudioDataset
from genlab.errors import DataError, ParameterError

SPEAKERS = ["ann", "bob", "cy"]


@st.composite
def recordings(draw: st.DrawFn) -> AudioDataset:
    n = draw(st.integers(1, 12))
    with_index = draw(st.integers(0, 9)) > 0  # mostly every recording has an index
    fields = []
    for _ in range(n):
        f = {}
        if with_index or draw(st.booleans()):
            f["index"] = str(draw(st.integers(0, 9)))
        f["speaker"] = draw(st.sampled_from(SPEAKERS))
        fields.append(f)
    waves = [np.zeros(4, dtype=np.float32) for _ in range(n)]
    return AudioDataset(waves, 8000, [f"r{i}" for i in range(n)], None, [f["speaker"] for f in fields], fields)


value = st.one_of(st.integers(-2, 11).map(str), st.sampled_from(SPEAKERS),
                  st.tuples(st.integers(-2, 11), st.integers(-2, 11)).map(lambda ab: f"{ab[0]}-{ab[1]}"))
fielded = st.tuples(st.sampled_from(["index", "index", "speaker", "label", "take"]),
                    st.lists(value, min_size=1, max_size=4)).map(lambda fv: f"{fv[0]}={','.join(fv[1])}")
# weighted toward rules that can split (one_of draws its branches about equally often)
rule = st.one_of(fielded, fielded, fielded, st.sampled_from(["auto", "random", " auto ", "random"]),
                 st.sampled_from(["", "=", "index=", "=3", "index"]), st.text(max_size=12))


def _named(data: AudioDataset, field: str, items: list[str]) -> np.ndarray:
    """Which recordings ``field=items`` names: a value equal to an item, or an integer inside an item ``a-b``."""
    out = []
    for f in data.fields:
        v = f.get(field) if field != "speaker" else f["speaker"]
        hit = False
        for item in items:
            if v is None:
                break
            if v == item:
                hit = True
            bounds = re.fullmatch(r"(-?\d+)-(-?\d+)", item)
            if bounds and re.fullmatch(r"-?\d+", v):
                hit = hit or int(bounds.group(1)) <= int(v) <= int(bounds.group(2))
        out.append(hit)
    return np.array(out, dtype=bool)


@settings(max_examples=100, deadline=None)
@given(data=recordings(), text=rule, split=st.floats(0.05, 0.95), seed=st.integers(0, 3))
def test_heldout_rule_names_exactly_its_recordings_or_fails_cleanly(data: AudioDataset, text: str, split: float,
                                                                     seed: int):
    try:
        mask, words = _audio_heldout(data, text, split, seed)
    except (ParameterError, DataError):
        event("refused")
        return
    event("split")
    n = len(data.waveforms)
    assert mask.shape == (n,) and mask.dtype == bool
    assert 0 < int(mask.sum()) < n and isinstance(words, str) and words
    rule_text = text.strip() or "auto"
    if rule_text == "auto":
        indexed = all(f.get("index", "").isdigit() for f in data.fields)
        rule_text = "index=0-4" if indexed else "random"
    if rule_text == "random":
        assert int(mask.sum()) == min(max(round((1 - split) * n), 1), n - 1)
        again, _ = _audio_heldout(data, "random", split, seed)
        np.testing.assert_array_equal(mask, again)  # seeded: the same recordings every time
        return
    field, _, values = rule_text.partition("=")
    items = [v.strip() for v in values.split(",") if v.strip()]
    np.testing.assert_array_equal(mask, _named(data, field.strip(), items))
