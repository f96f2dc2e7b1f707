"""Fuzzing the command line of masked language models: ``--gap-length`` and drawing window after window.

``parse_gap_length`` must turn any text into a length >= 1, a non-empty range of lengths >= 1, or a usage error
(never another exception). ``draw_tokens`` is run on a stand-in model (no network: its decoder fills each masked
position with a token that numbers the window) for many lengths, block sizes, prompts and sample counts: every
window the decoder sees must fit the block, show the last ``min(drawn, block // 2)`` tokens unmasked, mask the rest,
and the result must be exactly the tokens the decoder put in those masked positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.cli.masked import draw_tokens, parse_gap_length

_MASK = 1000


class _StandIn:
    """What ``draw_tokens`` reads of a MaskedLanguageModel: the block size, the ids and the decoder."""

    def __init__(self, block_size: int) -> None:
        self.config_ = {"block_size": block_size}
        self._ids = (_MASK, _MASK, _MASK + 1)
        self.windows: list[np.ndarray] = []

    def _decode_ids(self, ids: np.ndarray, *args: Any) -> np.ndarray:
        self.windows.append(np.array(ids))
        rows = np.arange(ids.shape[0])[:, None]
        # window w, row r, position p: a token that says where it was decoded (distinct from the prompt's < 100)
        return np.where(ids == _MASK, 100 + 10 * len(self.windows) + rows + 0 * ids, ids)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789- x²٣\t"), max_size=8))
def test_gap_length_is_a_length_a_range_or_a_usage_error(text):
    try:
        value = parse_gap_length(text)
    except typer.BadParameter:
        return
    if isinstance(value, range):
        assert len(value) >= 1 and value.start >= 1 and value.step == 1
        low, high = (int(part) for part in text.split("-"))
        assert (value.start, value.stop - 1) == (low, high)
    else:
        assert isinstance(value, int) and value >= 1 and value == int(text)


@settings(max_examples=60, deadline=None)
@given(n_tokens=st.integers(1, 60), block=st.integers(2, 20), prompt=st.integers(0, 25), rows=st.integers(1, 3))
def test_windows_fit_the_block_and_keep_their_context(n_tokens, block, prompt, rows):
    model = _StandIn(block)
    prompt_ids = np.arange(prompt, dtype=np.int64)
    drawn = draw_tokens(model, n_tokens, rows, prompt_ids=prompt_ids, steps=None, method="maskgit", sweeps=1,
                        choice_temperature=1.0, options=None, rng=np.random.default_rng(0))
    assert drawn.shape == (rows, n_tokens)
    history = np.concatenate([np.repeat(prompt_ids[None, :], rows, axis=0), drawn], axis=1)  # (rows, P + n)
    at = prompt
    for w, window in enumerate(model.windows, start=1):
        assert window.shape[0] == rows and window.shape[1] <= block
        context = min(at, block // 2)
        new = window.shape[1] - context
        assert new >= 1 and np.all(window[:, context:] == _MASK)
        np.testing.assert_array_equal(window[:, :context], history[:, at - context : at])  # unmasked, unchanged
        np.testing.assert_array_equal(history[:, at : at + new], 100 + 10 * w + np.arange(rows)[:, None]
                                      + np.zeros((1, new), dtype=np.int64))
        # a window is as long as the block allows, short only at the end
        assert window.shape[1] == block or at + new == prompt + n_tokens
        at += new
    assert at == prompt + n_tokens
