"""MaskedLanguageModel.fill: the text outside the gaps is never changed, each gap gets the number of tokens asked for,
the seed fixes the output, greedy filling is deterministic, and a model of a strongly patterned text fills the
pattern; fill_log_prob is the bound restricted to the gap."""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.errors import UnknownTokenWarning  # noqa: E402

TEXT = "the cat sat on the mat. a dog ate the hat; the bat sat on a cap. " * 6
ALPHABET = sorted(set(TEXT))


def _fit(tokenizer: str, **kw):
    torch.set_num_threads(1)
    settings = {"objective": "diffusion", "tokenizer": tokenizer, "preset": None, "n_layer": 1, "n_head": 2,
                "n_embd": 16, "block_size": 64, "max_steps": 3, "batch_size": 4, "warmup_steps": 1,
                "random_state": 0, "device": "cpu"}
    settings.update(kw)
    return genlab.MaskedLanguageModel(**settings).fit(TEXT)


@pytest.fixture(scope="module")
def models():
    return {"char": _fit("char"), "byte": _fit("byte"), "bpe": _fit("bpe", vocab_size=300)}


def _outside_pattern(text: str) -> re.Pattern[str]:
    """A regex matching exactly the texts that keep everything outside the gaps of ``text`` as it is."""
    parts = re.split(r"_{4,}", text)
    return re.compile("(.*?)".join(re.escape(p) for p in parts), re.DOTALL)


def _random_gapped_text(rng: np.random.Generator, alphabet: list[str], n_gaps: int) -> str:
    pieces = []
    for _ in range(n_gaps):
        pieces.append("".join(rng.choice(alphabet, size=int(rng.integers(0, 9)))))
        pieces.append("_" * int(rng.integers(4, 7)))
    pieces.append("".join(rng.choice(alphabet, size=int(rng.integers(0, 9)))))
    return "".join(pieces)


@pytest.mark.parametrize("tokenizer", ["char", "byte", "bpe"])
def test_fill_never_changes_the_text_outside_the_gaps(models, tokenizer):
    m = models[tokenizer]
    rng = np.random.default_rng(0)
    alphabet = ALPHABET if tokenizer == "char" else [*ALPHABET, "é", "Z", "\n", "€"]
    methods = ["maskgit", "ancestral", "gibbs"]
    for i in range(12):
        text = _random_gapped_text(rng, alphabet, n_gaps=1 + i % 3)
        out = m.fill(text, method=methods[i % 3], temperature=1.0, random_state=i)
        match = _outside_pattern(text).fullmatch(out)
        assert match is not None, (text, out)
        assert "____" not in out or "____" in "".join(match.groups())  # every gap was replaced


def test_fill_keeps_long_context_and_unknown_characters(models):
    """Context far beyond the block the network reads is copied as it is, and characters the model does not know
    stay in the output (they are read as <unk>: one notice)."""
    m = models["char"]
    left, right = "the cat sat on the mat. " * 5, " a dog ate the hat; " * 5
    out = m.fill(left + "______" + right, random_state=0)
    assert out.startswith(left) and out.endswith(right) and len(out) == len(left) + 6 + len(right)
    with pytest.warns(UnknownTokenWarning):
        out = m.fill("QX the ____ sat Ω", random_state=0)
    assert out.startswith("QX the ") and out.endswith(" sat Ω") and len(out) == len("QX the ____ sat Ω")


def test_gap_length_sets_the_number_of_tokens(models):
    """Char tokens are characters, so each gap's fill has as many characters as tokens were asked for."""
    m = models["char"]
    text = "the ____ sat on ________ mat"
    pre, mid, post = "the ", " sat on ", " mat"

    def pieces(out: str, n1: int) -> tuple[str, str]:
        assert out.startswith(pre + out[len(pre) : len(pre) + n1] + mid) and out.endswith(post)
        return out[len(pre) : len(pre) + n1], out[len(pre) + n1 + len(mid) : len(out) - len(post)]

    a, b = pieces(m.fill(text, random_state=0), 4)  # None: as many tokens as underscores
    assert (len(a), len(b)) == (4, 8)
    a, b = pieces(m.fill(text, gap_length=3, random_state=0), 3)
    assert (len(a), len(b)) == (3, 3)
    a, b = pieces(m.fill(text, gap_length=[1, 11], random_state=0), 1)
    assert (len(a), len(b)) == (1, 11)
    a, b = pieces(m.fill(text, gap_length=np.array([2, 5]).tolist(), random_state=0), 2)
    assert (len(a), len(b)) == (2, 5)
    # a range: each gap's length drawn uniformly from it
    lengths = []
    for seed in range(150):
        out = m.fill("the ____ sat", gap_length=range(2, 6), random_state=seed)
        assert out.startswith("the ") and out.endswith(" sat")
        lengths.append(len(out) - len("the  sat"))
    counts = np.bincount(lengths, minlength=6)
    assert counts[:2].sum() == 0 and counts[2:].min() > 20  # 2 .. 5 only, each about 150 / 4 times
    from scipy.stats import chisquare

    assert chisquare(counts[2:]).pvalue > 1e-4


@pytest.mark.parametrize("tokenizer", ["byte", "bpe"])
def test_gap_length_in_tokens_for_other_tokenizers(models, tokenizer, monkeypatch):
    """The window the sampler gets holds exactly the asked-for number of <mask> tokens per gap."""
    m = models[tokenizer]
    seen = []
    real = type(m)._decode_ids

    def spy(self, ids, *args, **kwargs):
        seen.append(ids.copy())
        return real(self, ids, *args, **kwargs)

    monkeypatch.setattr(type(m), "_decode_ids", spy)
    mask = m.config_["vocab_size"]
    for gap_length, expected in ((None, 4 + 6), (3, 6), ([2, 7], 9)):
        m.fill("the ____ sat on ______ mat", gap_length=gap_length, random_state=0)
        assert int((seen[-1] == mask).sum()) == expected


def test_same_seed_same_fill_and_greedy_is_deterministic(models):
    m = models["bpe"]
    text = "the ____ sat on the ____; a ______"
    kw = {"temperature": 1.0, "gap_length": range(1, 6)}
    assert m.fill(text, random_state=5, **kw) == m.fill(text, random_state=5, **kw)
    assert len({m.fill(text, random_state=s, **kw) for s in range(6)}) > 1
    greedy = {m.fill(text, temperature=0.0, choice_temperature=0.0, random_state=s) for s in range(5)}
    assert len(greedy) == 1


@pytest.fixture(scope="module")
def patterned():
    torch.set_num_threads(1)
    return genlab.MaskedLanguageModel(objective="diffusion", tokenizer="char", preset=None, n_layer=2, n_head=2,
                                      n_embd=32, block_size=16, max_steps=120, batch_size=16, warmup_steps=10,
                                      learning_rate=3e-3, random_state=0, device="cpu").fit("abc" * 200)


@pytest.mark.parametrize("method", ["maskgit", "ancestral", "gibbs"])
def test_a_patterned_text_is_filled_with_its_pattern(patterned, method):
    for text, expected in (("abcab____abcabc", "abcabcabcabcabc"),
                           ("________cabcabc", "abcabcabcabcabc"),  # the text starts with <bos>, then 'a'
                           ("abcabcabcabcabca____cab", "abcabcabcabcabcabcabcab"),  # the window is cut
                           ("abcabcabca____", "abcabcabcabcab"),
                           ("ab____abca____ca", "abcabcabcabcabca")):
        assert patterned.fill(text, method=method, temperature=0.0, random_state=0) == expected
        if method != "ancestral":  # confidence-ordered: sampling at a low temperature stays on the pattern too
            assert patterned.fill(text, method=method, temperature=0.3, random_state=1) == expected


def test_fill_log_prob_prefers_the_pattern(patterned):
    """The bound on log p(fill | context) is higher for the pattern's continuation than for others, and it is the
    estimator of log_prob's kind restricted to the gap (every level once by default: exactly L levels)."""
    good = patterned.fill_log_prob("abcab____abcabc", ["cabc"])
    bad = patterned.fill_log_prob("abcab____abcabc", ["abca"])
    assert good <= 0 and bad < good - 5
    # two gaps' fills count together; the value is a sum over the gap tokens only
    both = patterned.fill_log_prob("ab____abca____ca", ["cabc", "bcab"])
    assert both <= 0 and both > bad


def test_fill_log_prob_is_the_gap_bound_by_enumeration(patterned):
    """-sum_k (1 / k) E_{M in gap, |M| = k}[sum_{i in M} -log p(x_i | context, gap with M masked)], every subset M
    of the 4 gap tokens enumerated through the network: the mean of fill_log_prob over seeds (and over n_levels=2
    draws) is that figure."""
    import itertools
    import math

    m = patterned
    V = m.config_["vocab_size"]
    ids = np.array([V + 1, *m.tokenizer_.encode("abcababcaabcabc")])  # the window: <bos>, context, gap at 6 .. 9
    gap = [6, 7, 8, 9]
    exact, variance = 0.0, 0.0
    for k in range(1, 5):
        values = []
        for subset in itertools.combinations(gap, k):
            row = ids.copy()
            row[list(subset)] = V
            with torch.no_grad():
                lp = torch.log_softmax(m.module_.logits(torch.as_tensor(row[None])).double(), dim=-1)[0].numpy()
            values.append(-sum(lp[i, ids[i]] for i in subset) / k)
        exact -= np.mean(values)
        variance += np.var(values)
    draws = np.array([m.fill_log_prob("abcab____abcabc", ["abca"], random_state=s) for s in range(300)])
    assert abs(draws.mean() - exact) < 5 * math.sqrt(variance / draws.size) + 1e-6
    assert draws.var() == pytest.approx(variance, rel=0.3)
    fewer = np.array([m.fill_log_prob("abcab____abcabc", ["abca"], n_levels=2, random_state=s) for s in range(300)])
    assert abs(fewer.mean() - exact) < 5 * fewer.std() / math.sqrt(fewer.size) + 1e-6


def test_fill_ignores_underscores_shorter_than_a_gap(models):
    """Runs of fewer than four underscores are text, copied as they are (bytes: every character is known)."""
    m = models["byte"]
    out = m.fill("a_b__c___d ____ e", random_state=0)
    assert out.startswith("a_b__c___d ") and out.endswith(" e") and len(out) == len("a_b__c___d ____ e")
