"""MaskedLanguageModel's samplers: the cosine schedule, MaskGIT's confidence order, the ancestral sampler's exact
distribution on a tiny network (V = 2 drawable tokens, L = 3, by enumeration), the Jensen gap between the bound and
the any-order distribution, reproducibility for a seed, and save / load."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import genlab  # noqa: E402
from genlab.decoding.options import DecodingOptions  # noqa: E402
from genlab.masked.sampling import cosine_schedule, maskgit_decode  # noqa: E402


@pytest.fixture(scope="module")
def model():
    """A tiny char model over {a, b} (ids: 0 <unk>, 1, 2), block 4; its weights spread at random so that the
    conditionals depend strongly on the context (the identities hold for any weights)."""
    torch.set_num_threads(1)
    m = genlab.MaskedLanguageModel(objective="diffusion", tokenizer="char", preset=None, n_layer=1, n_head=2,
                                   n_embd=16, block_size=4, max_steps=2, batch_size=4, warmup_steps=1,
                                   random_state=0, device="cpu")
    m.fit("abba" * 10 + "aab" * 5)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in m.module_.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.3)  # p_AO then spreads over all 8 texts (2% .. 36%)
    m.module_.eval()
    return m


# -- the cosine schedule --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("N", [1, 2, 3, 5, 8, 16, 17, 64, 256])
@pytest.mark.parametrize("S", [1, 2, 3, 4, 7, 16, 64, 300])
def test_cosine_schedule(N, S):
    left = cosine_schedule(N, S)
    steps = min(S, N)
    assert len(left) == steps
    assert left[-1] == 0
    assert all(a > b for a, b in zip([N, *left], left, strict=False))  # strictly decreasing from N
    previous = N
    for s, value in enumerate(left, start=1):
        target = math.floor(N * math.cos(math.pi * s / (2 * steps)))
        # the constraints: at least one revealed now, at least one left for each later step
        low, high = steps - s, min(previous - 1, N - s)
        if s < steps and low <= target <= high:
            assert value == target
        else:
            assert value == min(max(target, low), high) or s == steps
        previous = value


def test_cosine_schedule_front_loads_little():
    """Few tokens first, many at the end (the cosine's shape): with 64 tokens in 8 steps the first step reveals
    64 - floor(64 cos(pi / 16)) = 2 and the last floor(64 cos(7 pi / 16)) = 12."""
    left = cosine_schedule(64, 8)
    assert left == [math.floor(64 * math.cos(math.pi * s / 16)) for s in range(1, 8)] + [0]
    assert 64 - left[0] == 2 and left[-2] == 12


# -- MaskGIT's order ------------------------------------------------------------------------------------------------
def test_maskgit_greedy_reveals_the_most_confident_positions():
    """A hand-written network: at position p the likeliest token is (p + revealed so far) % 3 with margin w[p], so
    confidence orders the positions by w and each token records the step that revealed it. With temperature 0 and
    choice_temperature 0 every step reveals the positions of largest w still masked, the schedule's number of them,
    and the result does not depend on the generator."""
    T, V, mask = 12, 3, 3
    w = np.array([0.3, 2.0, 1.1, 0.7, 3.0, 0.1, 1.7, 2.5, 0.9, 1.4, 0.5, 2.2])
    calls = []

    def predict(ids):
        calls.append(ids.copy())
        revealed = (ids != mask).sum(axis=1)  # (R,)
        logits = np.zeros((*ids.shape, V))
        for p in range(T):
            logits[np.arange(ids.shape[0]), p, (p + revealed) % V] = w[p]
        return logits

    ids = np.full((2, T), mask)
    options = DecodingOptions(temperature=0.0)
    out = maskgit_decode(predict, ids, mask, 5, options, np.random.default_rng(0), choice_temperature=0.0)
    again = maskgit_decode(predict, ids, mask, 5, options, np.random.default_rng(99), choice_temperature=0.0)
    assert np.array_equal(out, again)
    schedule = cosine_schedule(T, 5)
    assert len(calls) == 2 * len(schedule)
    order = np.argsort(-w)  # positions by confidence
    expected = np.full(T, -1)
    done = 0
    for s, left in enumerate(schedule):
        step_ids = calls[s]
        assert np.array_equal(np.flatnonzero(step_ids[0] != mask), np.sort(order[:done]))
        newly = order[done : T - left]
        expected[newly] = (newly + done) % V
        done = T - left
    assert np.array_equal(out, np.repeat(expected[None], 2, axis=0))


def test_maskgit_choice_temperature_changes_the_order():
    """Noise on the confidences (choice_temperature > 0) reveals other positions first for some seeds."""
    T, V, mask = 12, 3, 3
    w = np.linspace(0.1, 0.2, T)  # nearly equal confidences: the Gumbel noise decides
    firsts = set()
    for seed in range(10):
        seen = []

        def predict(ids, seen=seen):
            seen.append(ids.copy())
            logits = np.zeros((*ids.shape, V))
            logits[:, np.arange(T), np.arange(T) % V] = w
            return logits

        maskgit_decode(predict, np.full((1, T), mask), mask, 4, DecodingOptions(temperature=0.0),
                       np.random.default_rng(seed), choice_temperature=5.0)
        firsts.add(tuple(np.flatnonzero(seen[1][0] != mask)))
    assert len(firsts) > 1


# -- the ancestral sampler and the any-order distribution -----------------------------------------------------------
def _probs(model, ids: np.ndarray, banned_unk: bool) -> np.ndarray:
    """(R, T) ids -> (R, T, V) probabilities; with ``banned_unk``, <unk> (id 0) removed and the rest renormalised
    (what the samplers draw from at temperature 1)."""
    with torch.no_grad():
        logits = model.module_.logits(torch.as_tensor(np.asarray(ids, dtype=np.int64))).double()
    if banned_unk:
        logits[..., 0] = -math.inf
    return torch.softmax(logits, dim=-1).numpy()


def _any_order(model, x: tuple[int, ...], prefix: tuple[int, ...], banned_unk: bool) -> float:
    """p_AO(x) = mean over the L! orders of prod_i p(x_order(i) | prefix, the tokens revealed before it)."""
    mask = model.config_["vocab_size"]
    L, P = len(x), len(prefix)
    total = 0.0
    orders = list(itertools.permutations(range(L)))
    for order in orders:
        ids = np.array([*prefix, *([mask] * L)])
        p = 1.0
        for i in order:
            p *= _probs(model, ids[None], banned_unk)[0, P + i, x[i]]
            ids[P + i] = x[i]
        total += p
    return total / len(orders)


def _ancestral_exact(model, L: int, steps: int) -> dict[tuple[int, ...], float]:
    """The exact distribution of the ancestral sampler with ``steps`` equal time steps from a fully masked sequence
    of L tokens, by dynamic programming over the partly revealed states: going from t = s / S to (s - 1) / S each
    masked position is revealed with probability 1 / s, all revealed ones drawn from the same network call."""
    mask = model.config_["vocab_size"]
    states = {tuple([mask] * L): 1.0}
    cache: dict[tuple[int, ...], np.ndarray] = {}
    for s in range(steps, 0, -1):
        q = 1.0 / s
        nxt: dict[tuple[int, ...], float] = {}
        for state, weight in states.items():
            masked = [i for i in range(L) if state[i] == mask]
            if not masked:
                nxt[state] = nxt.get(state, 0.0) + weight
                continue
            if state not in cache:
                cache[state] = _probs(model, np.array([state]), banned_unk=True)[0]
            probs = cache[state]
            for r in range(len(masked) + 1):
                for reveal in itertools.combinations(masked, r):
                    p_set = q**r * (1 - q) ** (len(masked) - r)
                    if p_set == 0:
                        continue
                    for tokens in itertools.product((1, 2), repeat=r):
                        new = list(state)
                        p = p_set
                        for i, tok in zip(reveal, tokens, strict=True):
                            new[i] = tok
                            p *= probs[i, tok]
                        nxt[tuple(new)] = nxt.get(tuple(new), 0.0) + weight * p
        states = nxt
    return states


def _chi_square_pvalue(samples: list[str], probs: dict[str, float]) -> float:
    from scipy.stats import chisquare

    keys = sorted(probs)
    observed = np.array([samples.count(k) for k in keys])
    expected = np.array([probs[k] for k in keys]) * len(samples)
    assert observed.sum() == len(samples)  # nothing outside the support
    return chisquare(observed, expected).pvalue


def _as_text(model, ids) -> str:
    return model.tokenizer_.decode(list(ids))


def test_ancestral_sampler_draws_its_exact_distribution(model):
    """With 2 steps several tokens are revealed in parallel: the samples follow the enumerated process."""
    exact = {_as_text(model, k): v for k, v in _ancestral_exact(model, 3, 2).items()}
    assert sum(exact.values()) == pytest.approx(1.0, abs=1e-9)
    samples = model.sample(3000, length=3, steps=2, method="ancestral", random_state=0)
    assert _chi_square_pvalue(samples, exact) > 1e-4


def test_ancestral_sampler_with_many_steps_is_the_any_order_distribution(model):
    """With many steps one token is revealed at a time in a uniformly random order: the distribution is p_AO."""
    xs = list(itertools.product((1, 2), repeat=3))
    p_ao = {_as_text(model, x): _any_order(model, x, (), banned_unk=True) for x in xs}
    assert sum(p_ao.values()) == pytest.approx(1.0, abs=1e-9)
    # the process's own distribution tends to p_AO (reveals at the same step become rare)
    limit = {_as_text(model, k): v for k, v in _ancestral_exact(model, 3, 5000).items()}
    assert max(abs(limit[k] - p_ao[k]) for k in p_ao) < 1e-3
    # at 200 steps it is still so close to p_AO that 2,000 samples cannot tell them apart (noncentrality < 0.5)
    exact = {_as_text(model, k): v for k, v in _ancestral_exact(model, 3, 200).items()}
    assert 2000 * sum((exact[k] - p_ao[k]) ** 2 / p_ao[k] for k in p_ao) < 0.5
    samples = model.sample(2000, length=3, steps=200, method="ancestral", random_state=1)
    assert _chi_square_pvalue(samples, p_ao) > 1e-4
    # a different distribution is told apart by the same test (it is not vacuous): all-parallel decoding
    one_step = {_as_text(model, k): v for k, v in _ancestral_exact(model, 3, 1).items()}
    assert _chi_square_pvalue(samples, one_step) < 1e-4


def test_bound_is_below_the_any_order_likelihood(model):
    """Jensen: the bound is E_order[-log prod p] >= -log E_order[prod p] = -log p_AO(x), for every x (with <bos>
    before the text, as log_prob scores it, and the full softmax); the figure log_prob returns, averaged over its
    masks, is that bound."""
    V = model.config_["vocab_size"]
    xs = list(itertools.product((0, 1, 2), repeat=3))
    p_ao = {x: _any_order(model, x, (V + 1,), banned_unk=False) for x in xs}
    assert sum(p_ao.values()) == pytest.approx(1.0, abs=1e-9)  # p_AO is a distribution over all V^L texts
    for x in [x for x in xs if 0 not in x]:
        text = _as_text(model, x)
        exact_elbo = 0.0  # E over orders of sum_i log p(x_order(i) | revealed): the bound, enumerated
        orders = list(itertools.permutations(range(3)))
        for order in orders:
            ids = np.array([V + 1, V, V, V])
            for i in order:
                exact_elbo += math.log(_probs(model, ids[None], False)[0, 1 + i, x[i]]) / len(orders)
                ids[1 + i] = x[i]
        assert exact_elbo < math.log(p_ao[x])
        # a text's masks are fixed by (seed, text): the figure averaged over seeds, one call each
        draws = np.array([model.log_prob([text], random_state=seed)[0] for seed in range(400)])
        se = draws.std() / math.sqrt(draws.size)
        assert se > 0  # the seeds draw different masks
        assert abs(draws.mean() - exact_elbo) < 5 * se + 1e-6
        assert draws.mean() < math.log(p_ao[x]) + 5 * se


# -- reproducibility and save / load --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    text = "the cat sat on the mat. the dog sat on the log. " * 8
    return genlab.MaskedLanguageModel(objective="diffusion", tokenizer="char", preset=None, n_layer=1, n_head=2,
                                      n_embd=16, block_size=24, max_steps=10, batch_size=4, warmup_steps=1,
                                      random_state=0, device="cpu").fit(text)


@pytest.mark.parametrize("method", ["maskgit", "ancestral", "gibbs"])
def test_decoding_is_reproducible_for_a_seed(trained, method):
    kw = {"method": method, "steps": 6, "choice_temperature": 1.0}
    a = trained.sample(3, length=16, random_state=7, **kw)
    assert a == trained.sample(3, length=16, random_state=7, **kw)
    others = [trained.sample(3, length=16, random_state=s, **kw) for s in (8, 9)]
    assert any(o != a for o in others)  # the seed matters
    text = "the ____ sat on the ______"
    f = trained.fill(text, method=method, random_state=3, temperature=1.5)
    assert f == trained.fill(text, method=method, random_state=3, temperature=1.5)
    assert any(trained.fill(text, method=method, random_state=s, temperature=1.5) != f for s in (4, 5, 6))
    g = np.random.default_rng(11)
    first = trained.sample(2, length=8, method=method, random_state=g)
    assert first == trained.sample(2, length=8, method=method, random_state=np.random.default_rng(11))


@pytest.mark.parametrize(("objective", "tokenizer"), [("diffusion", "char"), ("bert", "char"), ("diffusion", "bpe")])
def test_save_load_is_exact(tmp_path, objective, tokenizer, trained):
    text = "the cat sat on the mat. the dog sat on the log. " * 8
    m = trained if (objective, tokenizer) == ("diffusion", "char") else genlab.MaskedLanguageModel(
        objective=objective, tokenizer=tokenizer, vocab_size=280 if tokenizer == "bpe" else None, preset=None,
        n_layer=1, n_head=2, n_embd=16, block_size=24, max_steps=5, batch_size=4, warmup_steps=1, random_state=0,
        device="cpu").fit(text)
    path = tmp_path / f"{objective}-{tokenizer}.genlab"
    m.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is type(m) and loaded.config_ == m.config_
    assert loaded.tokenizer_.encode(text[:40]) == m.tokenizer_.encode(text[:40])
    held_out = ["the dog sat on the cat.", "a mat on the log. the cat sat on the dog. the end."]  # 3 blocks
    np.testing.assert_array_equal(loaded.pseudo_log_likelihood(held_out), m.pseudo_log_likelihood(held_out))
    np.testing.assert_array_equal(loaded.pseudo_log_likelihood(held_out, word_level=True),
                                  m.pseudo_log_likelihood(held_out, word_level=True))
    if objective == "diffusion":
        np.testing.assert_array_equal(loaded.log_prob(held_out), m.log_prob(held_out))
        assert float(loaded.bits_per_character(held_out, n_levels=3)) == float(m.bits_per_character(held_out,
                                                                                                     n_levels=3))
        assert loaded.fill_log_prob("the ____ sat", ["dog"]) == m.fill_log_prob("the ____ sat", ["dog"])
    methods = ("maskgit", "ancestral", "gibbs") if m.objective == "diffusion" else ("maskgit", "gibbs")
    for method in methods:
        assert loaded.sample(2, length=12, steps=4, method=method, random_state=1) == \
            m.sample(2, length=12, steps=4, method=method, random_state=1)
        assert loaded.fill("the ____ sat on ____", method=method, temperature=1.0, random_state=2) == \
            m.fill("the ____ sat on ____", method=method, temperature=1.0, random_state=2)
