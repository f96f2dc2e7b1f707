"""The diffusion bound of MaskedLanguageModel against brute force on a tiny network (V = 3, L = 3 or 4).

MDLM's continuous-time bound with the linear schedule (each token masked with probability ``t``, weight ``1 / t``):

    B(x) = integral_0^1 (1 / t) sum_M t^|M| (1 - t)^(L - |M|) loss(M) dt,   loss(M) = sum_{i in M} -log p(x_i | z_M)

and integral_0^1 t^(k - 1) (1 - t)^(L - k) dt = Beta(k, L - k + 1), so B(x) = sum_M Beta(|M|, L - |M| + 1) loss(M):
every mask subset is enumerated, ``loss(M)`` computed by calling the network here. A text longer than a block is
scored in windows (built here by the rule, not by the model's code): the first is ``<bos>`` + the first
``block_size - 1`` tokens; each later one reads the last ``block_size // 2`` ids before it as visible context (never
masked, never scored) and scores the next ``block_size - block_size // 2`` ids; the text's bound is the sum of its
windows' bounds, a later window's B computed as above over its scored positions with the context in every row.
The tests check that ``log_prob`` is that estimator (exactly, given the masks it drew), that its mean over many seeds
is -B(x), that a text's figure does not depend on the other texts, that its standard error follows the spread over
seeds, that the training loss over DiffusionBatches' distribution is B(x) / L, and that MDLM's original estimator
agrees.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.masked import corruption  # noqa: E402
from genlab.masked.corruption import DiffusionBatches  # noqa: E402
from genlab.masked.network import masked_loss  # noqa: E402


@pytest.fixture(scope="module")
def model():
    """A tiny char model over {a, b} (V = 3 with <unk>), block 5 = <bos> + 4 tokens; its weights are then spread
    at random so that predictions depend strongly on the context (the identities hold for any weights)."""
    torch.set_num_threads(1)
    m = genlab.MaskedLanguageModel(objective="diffusion", tokenizer="char", preset=None, n_layer=1, n_head=2,
                                   n_embd=16, block_size=5, max_steps=2, batch_size=4, warmup_steps=1,
                                   random_state=0, device="cpu")
    m.fit("abba" * 10 + "aab" * 5)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in m.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.7)
    m.module_.eval()
    return m


def _log_probs(m, ids: np.ndarray) -> np.ndarray:
    """(R, T) ids -> (R, T, V) float64 log-probabilities, straight from the network."""
    with torch.no_grad():
        logits = m.module_.logits(torch.as_tensor(np.asarray(ids, dtype=np.int64)))
    return torch.log_softmax(logits.double(), dim=-1).numpy()


def _block(m, text: str) -> np.ndarray:
    V = m.config_["vocab_size"]
    return np.array([V + 1, *m.tokenizer_.encode(text)], dtype=np.int64)  # <bos> = V + 1


def _windows(m, text: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The rule, written here: <bos> + tokens; window 1 = the first T ids (<bos> not scored); each later window =
    the T // 2 ids before it (visible) + the next T - T // 2 ids (scored). Returns (ids, scored positions)."""
    T = m.config_["block_size"]
    stream, context = _block(m, text), T // 2
    windows = [(stream[:T], np.arange(1, min(T, stream.size)))]
    start = T
    while start < stream.size:
        ids = stream[start - context : start - context + T]
        windows.append((ids, np.arange(context, ids.size)))
        start += T - context
    return windows


def _subset_losses(m, block: np.ndarray, scored=None) -> dict[tuple[int, ...], float]:
    """loss(M) for every non-empty subset M of the scored positions (default 1 .. L: 0 is <bos>); the other
    positions stay as they are in every row (a later window's visible context)."""
    mask = m.config_["vocab_size"]
    scored = range(1, block.size) if scored is None else [int(i) for i in scored]
    L = len(scored)
    subsets = [s for k in range(1, L + 1) for s in itertools.combinations(scored, k)]
    rows = np.repeat(block[None, :], len(subsets), axis=0)
    for r, s in enumerate(subsets):
        rows[r, list(s)] = mask
    lp = _log_probs(m, rows)
    return {s: -sum(lp[r, i, block[i]] for i in s) for r, s in enumerate(subsets)}


def _brute_force_bound(losses: dict[tuple[int, ...], float], L: int) -> float:
    """sum_M Beta(|M|, L - |M| + 1) loss(M): the continuous-time integral, done exactly."""
    return sum(math.gamma(len(s)) * math.gamma(L - len(s) + 1) / math.gamma(L + 1) * v for s, v in losses.items())


def _level_moments(losses: dict[tuple[int, ...], float], L: int) -> tuple[float, float]:
    """Mean and variance of log_prob's estimate with every level once (n_levels=None): sum over k of
    loss(M_k) / k, M_k a uniformly drawn subset of size k, the k independent."""
    mean = var = 0.0
    for k in range(1, L + 1):
        values = np.array([v / k for s, v in losses.items() if len(s) == k])
        mean += values.mean()
        var += values.var()
    return mean, var


@pytest.mark.parametrize("text", ["abb", "abab", "bbba", "abbaba"])
def test_log_prob_averages_to_the_brute_force_bound(model, text):
    """"abbaba" is two windows: <bos> a b b a, then b a (visible) + b a (scored); its bound is the sum of the
    windows' brute-force bounds, the second given its context."""
    exact = mean = var = 0.0
    for ids, scored in _windows(model, text):
        losses = _subset_losses(model, ids, scored)
        exact += _brute_force_bound(losses, scored.size)
        window_mean, window_var = _level_moments(losses, scored.size)
        mean, var = mean + window_mean, var + window_var
    assert len(_windows(model, text)) == (2 if len(text) > 4 else 1)
    # the estimator's expectation is the integral (the Beta weights are 1 / (k C(L, k)))
    assert mean == pytest.approx(exact, rel=1e-12)
    n = 2000
    # a text's masks are fixed by (seed, text): the draws are over seeds, one call each
    draws = -np.array([model.log_prob([text], random_state=seed)[0] for seed in range(n)])
    assert abs(draws.mean() - exact) < 5 * math.sqrt(var / n) + 1e-6
    # and its spread is the one computed from the enumeration (the draws are the subsets, uniformly)
    assert draws.var() == pytest.approx(var, rel=0.15)


def test_beta_weights_are_the_continuous_time_integral(model):
    """The Beta-function sum equals the t-integral of the expected weighted loss, by quadrature."""
    from scipy.integrate import quad

    block = _block(model, "abab")
    L = 4
    losses = _subset_losses(model, block)

    def integrand(t: float) -> float:
        return sum(t ** (len(s) - 1) * (1 - t) ** (L - len(s)) * v for s, v in losses.items())  # (1/t) t^|M| ...

    value, _ = quad(integrand, 0.0, 1.0, epsabs=1e-12, epsrel=1e-12)
    assert value == pytest.approx(_brute_force_bound(losses, L), rel=1e-9)


class _Spy:
    """Records every mask the estimator draws (wraps the real choose_positions)."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, maskable, counts, rng):
        chosen = self.real(maskable, counts, rng)
        self.calls.append((maskable.copy(), np.array(counts), chosen.copy()))
        return chosen


def _collapsed_strata_variance(per_row: np.ndarray, L: int) -> float:
    """The variance of L * mean(per_row) by collapsed strata, written here: strata paired in order (0, 1), (2, 3),
    ..., each pair adding (L / n)^2 (y_a - y_b)^2; an odd last stratum adds half the pairs' mean; one row of L > 1
    has none (NaN), one row of L = 1 is exact (0)."""
    n = per_row.size
    if n == 1:
        return 0.0 if L == 1 else math.nan
    pairs = [(per_row[a] - per_row[a + 1]) ** 2 for a in range(0, n - 1, 2)]
    return (L / n) ** 2 * (sum(pairs) + (np.mean(pairs) / 2 if n % 2 else 0.0))


def _estimate_from_masks(m, texts, calls):
    """Each text's estimate and variance, recomputed from the masks the spy recorded, the windows built by the rule
    here, and the network called here: -sum over windows of L * mean_j(loss(M_j) / |M_j|)."""
    windows = [(t, ids, scored) for t, text in enumerate(texts) for ids, scored in _windows(m, text)]
    assert len(calls) == len(windows)
    mask = m.config_["vocab_size"]
    estimate, variance = np.zeros(len(texts)), np.zeros(len(texts))
    for (t, ids, scored), (maskable, counts, chosen) in zip(windows, calls, strict=True):
        L = scored.size
        expected_maskable = np.zeros(ids.size, dtype=bool)
        expected_maskable[scored] = True
        assert np.array_equal(maskable, np.broadcast_to(expected_maskable, (counts.size, ids.size)))
        assert np.array_equal(chosen.sum(axis=1), counts)
        assert not chosen[:, ~expected_maskable].any()  # <bos> and a later window's context never masked
        rows = np.where(chosen, mask, ids[None, :])
        lp = _log_probs(m, rows)
        per_row = np.array([-lp[r, chosen[r], ids[chosen[r]]].sum() / counts[r] for r in range(counts.size)])
        estimate[t] -= L * per_row.mean()
        variance[t] += _collapsed_strata_variance(per_row, L)
    return estimate, variance


@pytest.mark.parametrize("n_levels", [None, 1, 2, 3, 9])
def test_log_prob_is_the_estimator_of_its_masks(model, monkeypatch, n_levels):
    """Given the masks it drew, log_prob is -sum over windows of L * mean_j(loss(M_j) / |M_j|), to rounding, in the
    windows of the rule (a later window's context visible in every row, never masked); the counts are every level
    once (n_levels None or >= L) or one per stratum of width L / n."""
    spy = _Spy(corruption.choose_positions)
    monkeypatch.setattr(corruption, "choose_positions", spy)
    # one window; one short window; two windows (4 scored, then 2 visible + 3 scored); three windows (the last:
    # 2 visible + 2 scored)
    texts = ["abab", "ab", "babbaab", "babbaabab"]
    assert [len(_windows(model, t)) for t in texts] == [1, 1, 2, 3]
    got = model.log_prob(texts, n_levels=n_levels, random_state=3)
    for maskable, counts, _ in spy.calls:
        L = int(maskable[0].sum())
        n = L if n_levels is None else min(n_levels, L)
        assert counts.shape == (n,)
        if n == L:
            assert sorted(counts.tolist()) == list(range(1, L + 1))
        else:  # stratified: row j's count lies in 1 + [j L / n, (j + 1) L / n)
            j = np.arange(n)
            assert np.all(counts >= 1 + np.floor(j * L / n)) and np.all(counts <= 1 + np.floor((j + 1) * L / n))
    expected, _ = _estimate_from_masks(model, texts, spy.calls)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)  # float32 network, other batch shapes


def test_a_long_text_is_the_sum_of_its_windows(model, monkeypatch):
    """A text of 12 tokens (block 5): windows <bos> + 4 tokens, then 2 visible + 3 scored, three times, then 2 visible
    + 2 scored; the bound is the sum of the per-window estimates. The context the network reads is the text's: the
    same masks on a text that differs only in a visible context token give another figure."""
    text = "abbabaabbbab"
    windows = _windows(model, text)
    assert [(ids.size, scored.size) for ids, scored in windows] == [(5, 4), (5, 3), (5, 3), (4, 2)]
    spy = _Spy(corruption.choose_positions)
    monkeypatch.setattr(corruption, "choose_positions", spy)
    got = model.log_prob(text, random_state=4)
    expected, _ = _estimate_from_masks(model, [text], spy.calls)
    assert got[0] == pytest.approx(expected[0], rel=1e-6, abs=1e-6)
    per_window = [spy.calls[w][2] for w in range(len(windows))]
    for chosen in per_window[1:]:
        assert not chosen[:, : model.config_["block_size"] // 2].any()  # the context: visible, never masked
        assert chosen[:, 2:].any()
    # the windows' inputs as the network got them: context = the T // 2 ids before the window, as they are
    seen = []
    real = type(model)._target_log_probs

    def record(self, inputs, targets):
        seen.append((inputs.copy(), targets.copy()))
        return real(self, inputs, targets)

    monkeypatch.setattr(type(model), "_target_log_probs", record)
    model.log_prob(text, random_state=4)
    rows = [(i, t) for inputs, targets in seen for i, t in zip(inputs, targets, strict=True)]
    mask = model.config_["vocab_size"]
    for ids, scored in windows:
        mine = [(i, t) for i, t in rows if i.size == ids.size and np.array_equal(np.where(i == mask, t, i), ids)]
        assert len(mine) >= scored.size  # every level once, for each window (equal windows may share rows)
        for i, t in mine:
            assert np.array_equal(np.flatnonzero(t >= 0), np.flatnonzero(i == mask))
            assert set(np.flatnonzero(t >= 0)) <= set(scored.tolist())


def test_bits_per_character_is_the_bound_per_character(model, monkeypatch):
    """The figure is -sum(log_prob) / (characters ln 2); its stderr is the collapsed-strata one of the masks drawn
    (non-zero with every level: which tokens are masked is random), recomputed here from the recorded masks."""
    texts = ["abab", "babbaab"]
    spy = _Spy(corruption.choose_positions)
    monkeypatch.setattr(corruption, "choose_positions", spy)
    fig = model.bits_per_character(texts, random_state=5)
    assert fig.kind == "upper bound" and fig.bound
    _, variance = _estimate_from_masks(model, texts, spy.calls)
    assert fig.stderr > 0
    assert fig.stderr == pytest.approx(math.sqrt(variance.sum()) / (11 * math.log(2)), rel=1e-5)
    lp = model.log_prob(texts, random_state=5)
    assert float(fig) == pytest.approx(-lp.sum() / (11 * math.log(2)), rel=1e-12)
    assert model.score(texts) == pytest.approx(model.log_prob(texts).sum() / 11, rel=1e-12)


def test_a_texts_figure_does_not_depend_on_the_other_texts(model):
    """A text's masks come from (seed, text): the same figure alone, after another text, or twice in one list; the
    seed still matters."""
    a = "babbaabab"
    # equal up to float rounding: other texts in the batch change the padded shapes, and so the order of the sums
    # (a machine under load ran with other thread counts and differed in the 9th digit); other masks would move the
    # figure by whole nats
    same = functools.partial(pytest.approx, rel=1e-7, abs=0.0)
    for n_levels in (None, 2):
        alone = model.log_prob([a], n_levels=n_levels)[0]
        assert model.log_prob(["b", a], n_levels=n_levels)[1] == same(alone)
        assert model.log_prob([a, "abba", a], n_levels=n_levels)[2] == same(alone)
        twice = model.log_prob([a, a], n_levels=n_levels)
        assert twice[0] == same(alone) and twice[1] == same(alone)
        assert model.log_prob([a], n_levels=n_levels, random_state=1)[0] != same(alone)
    assert float(model.bits_per_character([a, "ab"])) == same(float(model.bits_per_character(["ab", a])))


def test_stderr_follows_the_spread_over_seeds(model):
    """The figure is noisy (the levels drawn, and which tokens are masked), and its stderr is about the spread of the
    figure over seeds: with fewer levels than tokens, and with every level (the default)."""
    texts = ["babba"]  # one window of 5 scored tokens
    for n_levels in (2, 3, None):
        figures = [model.bits_per_character(texts, n_levels=n_levels, random_state=s) for s in range(300)]
        spread = float(np.std([float(f) for f in figures], ddof=1))
        rms = math.sqrt(np.mean([f.stderr**2 for f in figures]))
        assert spread > 0
        assert 0.8 * spread <= rms <= 1.5 * spread


def test_stderr_with_every_level_follows_the_spread_over_seeds_on_a_long_text(model):
    """The default n_levels on a text of three windows: a non-zero stderr, about the spread over seeds."""
    figures = [model.bits_per_character(["babbaabab"], random_state=s) for s in range(200)]
    spread = float(np.std([float(f) for f in figures], ddof=1))
    rms = math.sqrt(np.mean([f.stderr**2 for f in figures]))
    assert spread > 0 and all(f.stderr > 0 for f in figures)
    assert 0.8 * spread <= rms <= 1.5 * spread


def test_one_level_has_no_exact_stderr(model):
    """One random level per window is a noisy estimate with no error estimate: its stderr is NaN, not 0 (exact),
    for a text of one window or several; a text of one token has one level only, evaluated exactly."""
    for text in ("babba", "babbaabab", "ab"):
        figures = [model.bits_per_character([text], n_levels=1, random_state=s) for s in range(20)]
        assert np.std([float(f) for f in figures]) > 0
        assert all(math.isnan(f.stderr) for f in figures)
    assert model.bits_per_character(["a"], n_levels=1).stderr == 0.0


def test_training_loss_is_the_bound_over_the_batch_distribution(model):
    """(b) L * E[masked_loss] over DiffusionBatches' distribution is the brute-force bound: exactly, by enumerating
    counts (uniform on 1 .. L) and subsets (uniform given the count) through masked_loss; and DiffusionBatches
    draws that distribution (stratified counts, uniform subsets)."""
    block = _block(model, "abba")
    L = 4
    mask, bos = model.config_["vocab_size"], model.config_["vocab_size"] + 1
    exact = _brute_force_bound(_subset_losses(model, block), L)
    expected_loss = 0.0
    for k in range(1, L + 1):
        for s in itertools.combinations(range(1, L + 1), k):
            inputs = block.copy()
            inputs[list(s)] = mask
            targets = np.full(block.size, -1)
            targets[list(s)] = block[list(s)]
            with torch.no_grad():
                x = torch.as_tensor(inputs[None, :])
                loss = masked_loss(model.module_.logits(x), torch.as_tensor(targets[None, :]), "diffusion")
            expected_loss += float(loss) / L / math.comb(L, k)
    assert L * expected_loss == pytest.approx(exact, rel=1e-6)

    # the stream is exactly one window, so every window is `block`: only the corruption is random
    batches = DiffusionBatches(block, block_size=5, batch_size=8, seed=0, mask_id=mask, bos_id=bos)
    losses, subsets = [], {}
    for step in range(400):
        inputs, targets = batches.batch(step)
        masked = inputs.numpy() == mask
        assert np.array_equal(targets.numpy() >= 0, masked)
        assert np.array_equal(np.where(masked, targets.numpy(), inputs.numpy()), np.repeat(block[None], 8, axis=0))
        assert not masked[:, 0].any()  # <bos>
        counts = masked.sum(axis=1)
        # stratified: 8 rows over 4 levels, each level exactly twice
        assert sorted(counts.tolist()) == [1, 1, 2, 2, 3, 3, 4, 4]
        for row in masked:
            key = tuple(np.flatnonzero(row))
            subsets[key] = subsets.get(key, 0) + 1
        with torch.no_grad():
            losses.append(float(model.module_(inputs, targets)[1]))
    # given its size, each subset equally often (chi-square, 3 + 5 + 3 degrees of freedom, p ~ 1e-4 threshold)
    from scipy.stats import chisquare

    for k in (1, 2, 3):
        observed = [subsets.get(s, 0) for s in itertools.combinations(range(1, 5), k)]
        assert chisquare(observed).pvalue > 1e-4
    se = np.std(losses, ddof=1) / math.sqrt(len(losses))
    assert abs(L * np.mean(losses) - exact) < 5 * L * se


def test_mdlm_original_estimator_agrees(model):
    """MDLM's estimator - t ~ U(0, 1), each token masked with probability t, (1 / t) * loss - averaged over many
    draws gives the same bound (loss(M) read from the enumerated table)."""
    block = _block(model, "abab")
    L = 4
    losses = _subset_losses(model, block)
    exact = _brute_force_bound(losses, L)
    rng = np.random.default_rng(0)
    n = 400_000
    t = rng.random(n)
    masked = rng.random((n, L)) < t[:, None]
    table = np.zeros(2**L)
    for s, v in losses.items():
        table[sum(1 << (i - 1) for i in s)] = v
    codes = masked @ (1 << np.arange(L))
    values = table[codes] / t
    # the weight 1 / t has a heavy tail: the standard error is only a guide, hence a relative tolerance too
    se = values.std() / math.sqrt(n)
    assert abs(values.mean() - exact) < max(5 * se, 0.01 * exact)


def test_bert_batches_choose_15_percent_and_replace_80_10_10():
    """BERT's corruption: round(0.15 L) positions per row (never <bos>), all of them scored; of those 80% become
    <mask>, 10% a uniformly drawn token (the original itself with probability 1 / V) and 10% stay."""
    from genlab.masked.corruption import BertBatches

    V, mask, bos = 7, 7, 8
    rng = np.random.default_rng(0)
    stream = np.concatenate([[bos], rng.integers(0, V, 500), [bos], rng.integers(0, V, 500)])
    batches = BertBatches(stream, block_size=40, batch_size=16, seed=3, mask_id=mask, bos_id=bos, vocab_size=V)
    n_mask = n_random = n_kept = 0
    replaced = []
    for step in range(60):
        inputs, targets = (t.numpy() for t in batches.batch(step))
        windows = np.where(targets >= 0, targets, inputs)  # the originals
        chosen = targets >= 0
        n_maskable = (windows != bos).sum(axis=1)
        assert np.array_equal(chosen.sum(axis=1), np.maximum(1, np.round(0.15 * n_maskable)).astype(int))
        assert not (chosen & (windows == bos)).any()
        assert np.array_equal(inputs[~chosen], windows[~chosen])  # the rest as it was
        n_mask += int((inputs[chosen] == mask).sum())
        n_kept += int((inputs[chosen] == windows[chosen]).sum())
        swapped = chosen & (inputs != mask) & (inputs != windows)
        n_random += int(swapped.sum())
        replaced.extend(inputs[swapped].tolist())
        assert np.array_equal(batches.batch(step)[0].numpy(), inputs)  # a pure function of the step (resumable)
    n = n_mask + n_random + n_kept
    for observed, p in ((n_mask, 0.8), (n_random, 0.1 * (1 - 1 / V)), (n_kept, 0.1 + 0.1 / V)):
        assert abs(observed / n - p) < 5 * math.sqrt(p * (1 - p) / n)
    from scipy.stats import chisquare

    assert set(replaced) <= set(range(V))  # never <mask> or <bos>
    assert chisquare(np.bincount(replaced, minlength=V)).pvalue > 1e-4


def test_stratified_counts_pool_to_uniform_when_the_batch_is_not_a_multiple(model):
    """3 rows over L = 4 levels: each row's count lies in its own stratum (row 0 never masks 3 or 4 tokens), yet the
    rows together draw each count 1 .. L equally often, so the batch loss still estimates bound / L."""
    block = _block(model, "abba")
    mask, bos = model.config_["vocab_size"], model.config_["vocab_size"] + 1
    batches = DiffusionBatches(block, block_size=5, batch_size=3, seed=1, mask_id=mask, bos_id=bos)
    per_row = np.array([(batches.batch(step)[0].numpy() == mask).sum(axis=1) for step in range(1200)])  # (S, 3)
    # 1 + floor((b + u) 4 / 3): row 0 masks 1 or 2 tokens, row 1 2 or 3, row 2 3 or 4
    for b, allowed in enumerate(({1, 2}, {2, 3}, {3, 4})):
        assert set(per_row[:, b].tolist()) == allowed
    from scipy.stats import chisquare

    pooled = np.bincount(per_row.ravel(), minlength=5)[1:]
    assert chisquare(pooled).pvalue > 1e-4
