"""The masked model reads both sides of a position (gradient check; the causal Transformer reads the left only), and
its pseudo-log-likelihoods are the sums of conditionals computed here from the network."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402

TEXT = "the cat sat on the mat. a dog ate the hat; the bat sat on a cap. " * 6


def _masked(objective: str = "diffusion", tokenizer: str = "char"):
    """A briefly trained tiny model, its weights then spread at random (a freshly initialised network barely reads
    its context; the identities tested hold for any weights)."""
    torch.set_num_threads(1)
    m = genlab.MaskedLanguageModel(objective=objective, tokenizer=tokenizer, preset=None, n_layer=2, n_head=2,
                                   n_embd=16, block_size=16, vocab_size=280 if tokenizer == "bpe" else None,
                                   max_steps=4, batch_size=4, warmup_steps=1, random_state=0, device="cpu").fit(TEXT)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in m.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)
    return m


@pytest.fixture(scope="module")
def diffusion():
    return _masked("diffusion")


@pytest.fixture(scope="module")
def bert():
    return _masked("bert")


def _embedding_gradients(module, tokens: torch.Tensor, position: int, run) -> np.ndarray:
    """|d logit(position, token 1) / d input embedding| summed over the embedding, per position: (T,)."""
    captured = {}

    def hook(_module, _inputs, output):
        output.retain_grad()
        captured["x"] = output

    handle = module.wte.register_forward_hook(hook)
    try:
        logits = run(tokens)
        logits[0, position, 1].backward()
    finally:
        handle.remove()
    return captured["x"].grad[0].abs().sum(dim=-1).numpy()


@pytest.mark.parametrize("objective", ["diffusion", "bert"])
@pytest.mark.parametrize("positions", ["rotary", "learned"])
def test_prediction_at_a_mask_depends_on_both_sides(objective, positions):
    m = genlab.MaskedLanguageModel(objective=objective, tokenizer="char", preset=None, n_layer=2, n_head=2,
                                   n_embd=16, block_size=16, positions=positions, max_steps=3, batch_size=4,
                                   warmup_steps=1, random_state=0, device="cpu").fit(TEXT)
    V = m.config_["vocab_size"]
    ids = [V + 1, *m.tokenizer_.encode("the cat sat on t")[:15]]  # <bos> + 15 tokens
    p = 7
    ids[p] = V  # <mask>
    grads = _embedding_gradients(m.module_, torch.tensor([ids]), p, m.module_.logits)
    assert np.all(grads[:p] > 0) and np.all(grads[p + 1 :] > 0)  # every token, left and right of the mask
    assert grads[p] > 0


def test_the_causal_model_reads_the_left_only():
    """The control: the autoregressive Transformer's prediction at p has zero gradient for every token after p."""
    torch.set_num_threads(1)
    ar = genlab.LanguageModel(backbone="transformer", preset="tiny", n_embd=16, n_head=2, block_size=16, max_steps=3,
                              batch_size=4, warmup_steps=1, random_state=0, device="cpu").fit(TEXT)
    ids = torch.tensor([ar.tokenizer_.encode("the cat sat on t")[:16]])
    p = 7
    grads = _embedding_gradients(ar.module_, ids, p, lambda x: ar.module_(x)[0])
    assert np.all(grads[: p + 1] > 0)
    assert np.all(grads[p + 1 :] == 0)


# -- pseudo-log-likelihood --------------------------------------------------------------------------------------------
def _log_probs(m, rows: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        logits = m.module_.logits(torch.as_tensor(rows))
    return torch.log_softmax(logits.double(), dim=-1).numpy()


def _windows(m, n_ids: int) -> list[tuple[int, int, int]]:
    """The scoring windows of a stream of ``n_ids`` ids (<bos> first), by the rule: (start, end, first scored) in
    stream positions. The first window is the first T ids (<bos> never scored); each later one reads the T // 2 ids
    before it as visible context and scores the next T - T // 2."""
    T = m.config_["block_size"]
    context = T // 2
    windows = [(0, min(T, n_ids), 1)]
    first = T
    while first < n_ids:
        windows.append((first - context, min(first - context + T, n_ids), first))
        first += T - context
    return windows


def _pll_by_hand(m, text: str, later: dict[int, list[int]] | None = None) -> float:
    """sum over the text's tokens of log p(x_i | the window with x_i masked (and those of ``later[i]`` inside the
    window masked too)), in the windows of :func:`_windows`, one network call per token."""
    V = m.config_["vocab_size"]
    stream = np.array([V + 1, *m.tokenizer_.encode(text)])
    total = 0.0
    scored = []
    for start, end, first in _windows(m, stream.size):
        window = stream[start:end]
        for i in range(first, end):
            scored.append(i)
            row = window.copy()
            row[i - start] = V
            for q in (later or {}).get(i, []):
                if q < end:  # a later token of the word past the window is not in it
                    row[q - start] = V
            total += _log_probs(m, row[None])[0, i - start, window[i - start]]
    assert scored == list(range(1, stream.size))  # every token scored once
    return total


@pytest.mark.parametrize("which", ["diffusion", "bert"])
def test_pll_is_the_sum_of_the_conditionals(which, request):
    m = request.getfixturevalue(which)
    # one window; five (16 ids, then 8 visible + 8 scored ids three times, then 8 visible + 1 scored)
    texts = ["the cat sat.", "a dog ate the hat; the bat sat on a cap."]
    assert [[end - first for _, end, first in _windows(m, 1 + len(t))] for t in texts] == [[12], [15, 8, 8, 8, 1]]
    got = m.pseudo_log_likelihood(texts)
    expected = [_pll_by_hand(m, t) for t in texts]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    fig = m.pseudo_bits_per_character(texts)
    assert fig.kind == "pseudo" and not fig.bound
    assert float(fig) == pytest.approx(-sum(expected) / (sum(map(len, texts)) * np.log(2)), rel=1e-6)


def test_word_level_pll_masks_the_later_tokens_of_the_word(diffusion):
    """"the cat sat." with characters: the words are "the", " ", "cat", " ", "sat." (whitespace is a word of its own
    and ends the one before), so scoring 't' also masks 'h' and 'e', 'h' masks 'e', and so on; a word's last token
    and the spaces are scored as in the token-level PLL. Positions count <bos> as 0."""
    m = diffusion
    text = "the cat sat."  # t h e _ c a t _ s a t .   (positions 1 .. 12)
    later = {1: [2, 3], 2: [3], 5: [6, 7], 6: [7], 9: [10, 11, 12], 10: [11, 12], 11: [12]}
    word = m.pseudo_log_likelihood(text, word_level=True)
    np.testing.assert_allclose(word, [_pll_by_hand(m, text, later)], rtol=1e-6)
    token = m.pseudo_log_likelihood(text)
    assert abs(word[0] - token[0]) > 1e-3  # masking more changes the figure


def test_word_level_pll_with_words_across_windows(diffusion):
    """A word cut by a window's end masks its later tokens inside the window only: block 16 ids, "the cat sat onto"
    = <bos> + 16 tokens, the first window ends after "ont", so scoring 'o' (13) masks 'n', 't' (14, 15) and not the
    last 'o' (16), which the second window scores with the 8 ids before it visible. A longer text: words cut at each
    window's end, and a word whose first tokens are the visible context of the next window."""
    m = diffusion
    text = "the cat sat onto"
    later = {1: [2, 3], 2: [3], 5: [6, 7], 6: [7], 9: [10, 11], 10: [11], 13: [14, 15, 16], 14: [15, 16], 15: [16]}
    np.testing.assert_allclose(m.pseudo_log_likelihood(text, word_level=True), [_pll_by_hand(m, text, later)],
                               rtol=1e-6)
    text = "the cat sat onto the doghat; a bat sat on the mat."  # 50 tokens: windows of 16, then 8 scored each
    later = _later_by_spans(m, text)
    assert 16 in later[13]  # "onto": its later tokens run past the first window
    word = m.pseudo_log_likelihood(text, word_level=True)
    np.testing.assert_allclose(word, [_pll_by_hand(m, text, later)], rtol=1e-6)
    assert abs(word[0] - m.pseudo_log_likelihood(text)[0]) > 1e-3


def _later_by_spans(m, text: str) -> dict[int, list[int]]:
    """The later tokens of each token's word, from the text's whitespace-separated spans: a token belongs to the
    span holding its last non-space character (a whitespace-only token to none). Positions count <bos> as 0."""
    import re

    pieces = [m.tokenizer_.decode([i]) for i in m.tokenizer_.encode(text)]
    assert "".join(pieces) == text
    spans = [match.span() for match in re.finditer(r"\S+", text)]
    word, at = [], 0
    for piece in pieces:
        at += len(piece)
        last = at - 1 - (len(piece) - len(piece.rstrip()))
        word.append(next((w for w, (a, b) in enumerate(spans) if a <= last < b), None) if piece.strip() else None)
    return {1 + p: [1 + q for q in range(p + 1, len(word)) if word[q] is not None and word[q] == word[p]]
            for p in range(len(word)) if word[p] is not None}


def test_word_level_pll_with_bpe_pieces():
    """BPE splits "cattle" into ' cat' + pieces: scoring ' cat' masks the rest of the word, "sat," and "hat." mask
    their punctuation; the words come from the text's spans, not from the model's rule."""
    m = _masked("diffusion", "bpe")
    text = "the cattle sat, hat."
    later = _later_by_spans(m, text)
    assert any(len(v) >= 2 for v in later.values())  # a word of three or more pieces
    np.testing.assert_allclose(m.pseudo_log_likelihood(text, word_level=True), [_pll_by_hand(m, text, later)],
                               rtol=1e-6)
    assert abs(m.pseudo_log_likelihood(text, word_level=True)[0] - m.pseudo_log_likelihood(text)[0]) > 1e-3
