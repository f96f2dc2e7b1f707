"""Sample-level audio baselines: exact code probabilities, the start of a recording, order selection, shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genlab.audio import mu_law_decode, mu_law_edges, mu_law_encode
from genlab.audio.baselines import (
    DequantisedAutoRegressive,
    MarkovCodes,
    RecurrentCodes,
    bits_per_sample,
    log_interval_mass,
    select_markov_order,
)
from genlab.errors import DataError, NotFittedError, ParameterError

scipy_special = pytest.importorskip("scipy.special")


def _ar1(n, seed, coef=0.95, scale=0.02):
    """An AR(1)-like waveform: each sample mostly the one before it."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, scale, n)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = coef * x[t - 1] + noise[t]
    return np.clip(x, -1.0, 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def recordings():
    return [_ar1(3000, seed) for seed in range(4)], [_ar1(1500, 10 + seed) for seed in range(2)]


@pytest.fixture(scope="module")
def ar_model(recordings):
    return DequantisedAutoRegressive(order=2).fit(recordings[0])


# -- dequantised AR ---------------------------------------------------------------------------------------------------
def test_code_probabilities_sum_to_one(ar_model):
    # means anywhere: silence, mid-scale, beyond full scale; the outermost codes take the tails
    log_p = ar_model.code_log_probs(np.array([0.0, 0.013, -0.4, 0.97, 1.5, -3.0]))
    assert log_p.shape == (6, 256) and np.isfinite(log_p).all()
    np.testing.assert_allclose(scipy_special.logsumexp(log_p, axis=1), 0.0, atol=1e-12)


def test_a_step_equals_the_integral_of_the_gaussian(ar_model):
    from scipy.integrate import quad

    mean, sd = 0.0123, ar_model.std_
    edges = mu_law_edges(256)
    log_p = ar_model.code_log_probs([mean])[0]
    density = lambda x: math.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
    centre = int(mu_law_encode(mean))
    for code in (centre - 3, centre, centre + 1, centre + 7):
        integral, _ = quad(density, edges[code], edges[code + 1], epsabs=0, epsrel=1e-12)
        np.testing.assert_allclose(log_p[code], math.log(integral), rtol=1e-9)
    # the end codes hold everything beyond full scale (means near either end, so that the tails hold mass)
    ends = ((edges[255] - sd, 255, (edges[255], np.inf)), (edges[1] + sd / 2, 0, (-np.inf, edges[1])))
    for mean, code, interval in ends:
        density = lambda x, m=mean: math.exp(-0.5 * ((x - m) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
        integral, _ = quad(density, *interval, epsabs=0, epsrel=1e-12)
        np.testing.assert_allclose(ar_model.code_log_probs([mean])[0, code], math.log(integral), rtol=1e-9)


def test_log_prob_uses_the_decoded_past_with_silence_before(ar_model, recordings):
    wave = recordings[1][0][:40]
    codes = mu_law_encode(wave)
    past = mu_law_decode(codes).astype(np.float64)
    a, c, sd = ar_model.model_.coef_[:, 0, 0], ar_model.model_.intercept_[0], ar_model.std_
    edges = mu_law_edges(256).copy()
    edges[0], edges[-1] = -np.inf, np.inf
    expected = 0.0
    for t, code in enumerate(codes):
        before = [past[t - 1 - i] if t - 1 - i >= 0 else 0.0 for i in range(len(a))]  # zeros before the start
        mean = c + float(np.dot(a, before))
        mass = scipy_special.ndtr((edges[code + 1] - mean) / sd) - scipy_special.ndtr((edges[code] - mean) / sd)
        expected += math.log(mass)
    np.testing.assert_allclose(ar_model.log_prob([wave])[0], expected, rtol=1e-10)


def test_interval_mass_is_stable_in_both_tails():
    lower = np.array([-1.0, 0.2, -np.inf, 3.0, 38.0, -45.0, 0.0])
    upper = np.array([1.0, 0.2001, -30.0, np.inf, 38.5, -44.0, 1e-9])
    got = log_interval_mass(lower, upper)
    assert np.isfinite(got).all() and (got <= 0).all()
    # where the direct difference keeps its digits, it agrees
    direct = np.log(scipy_special.ndtr(upper[:2]) - scipy_special.ndtr(lower[:2]))
    np.testing.assert_allclose(got[:2], direct, rtol=1e-10)
    np.testing.assert_allclose(got[2], scipy_special.log_ndtr(-30.0), rtol=1e-12)
    np.testing.assert_allclose(got[3], scipy_special.log_ndtr(-3.0), rtol=1e-12)  # upper tail by symmetry
    # deep in the upper tail the direct form is log(0); the mass is ~ pdf(38) * (1 - exp(-38 * 0.5)) / 38
    assert got[4] == pytest.approx(-0.5 * 38.0**2 - math.log(38.0 * math.sqrt(2 * math.pi)), rel=1e-3)
    # a tiny interval at the median: its width times the density there
    assert got[6] == pytest.approx(math.log(1e-9 / math.sqrt(2 * math.pi)), rel=1e-6)


def test_ar_samples_follow_the_fitted_process(ar_model):
    from genlab.timeseries import LinearAutoRegressive

    clips = ar_model.sample(3000, n_clips=4, random_state=0)
    assert clips.shape == (4, 3000) and clips.dtype == np.float32
    refit = LinearAutoRegressive(order=2).fit(np.concatenate(clips), lengths=[3000] * 4)
    np.testing.assert_allclose(refit.coef_.sum(), ar_model.model_.coef_.sum(), atol=0.05)
    np.testing.assert_array_equal(ar_model.sample(50, random_state=3), ar_model.sample(50, random_state=3))


def test_auto_order_refits_on_its_own_padding(recordings):
    model = DequantisedAutoRegressive(order="auto", max_order=5).fit(recordings[0])
    assert 1 <= model.model_.order_ <= 5 and model.criterion_values_.shape == (6,)
    fixed = DequantisedAutoRegressive(order=model.model_.order_).fit(recordings[0])
    np.testing.assert_allclose(model.log_prob(recordings[1]), fixed.log_prob(recordings[1]), rtol=1e-12)


# -- Markov chain on the codes ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def markov(recordings):
    return MarkovCodes(order=2, smoothing="witten-bell").fit(recordings[0])


@pytest.mark.parametrize("order", [0, 2])
def test_markov_steps_are_the_chain_renormalised_over_the_codes(order, recordings):
    markov = MarkovCodes(order=order, smoothing="witten-bell").fit(recordings[0])
    wave = recordings[1][0][:30]
    codes = mu_law_encode(wave)
    chain = markov.model_
    vocabulary = chain.vocabulary_
    seen = {int(t) for t in vocabulary.tokens}
    unseen = 256 - len(seen)
    expected = 0.0
    for t, code in enumerate(codes):
        context = [int(c) for c in codes[max(0, t - order) : t]]
        log_p = chain.next_token_log_probs(context, bos=t < order)  # over <unk>, <s>, </s>, the seen codes
        p_end = math.exp(log_p[vocabulary.id("</s>")])
        p_unk = math.exp(log_p[0])
        if int(code) in seen:
            step = log_p[vocabulary.id(int(code))]
        else:
            step = log_p[0] - math.log(unseen)
        expected += step - math.log(1.0 - p_end - (p_unk if unseen == 0 else 0.0))
    np.testing.assert_allclose(markov.log_prob([wave])[0], expected, rtol=1e-10)
    # the recordings are scored together: each one as if alone, whatever comes before it
    whole = markov.log_prob([recordings[1][1], wave, recordings[1][0]])
    alone = [markov.log_prob([w])[0] for w in (recordings[1][1], wave, recordings[1][0])]
    np.testing.assert_allclose(whole, alone, rtol=1e-12)
    # the distinct histories are looked up in blocks: the blocks' seams change nothing
    markov._STEPS_PER_BLOCK = 7
    np.testing.assert_array_equal(markov.log_prob([recordings[1][1], wave, recordings[1][0]]), whole)


def test_markov_step_probabilities_sum_to_one_over_the_codes(markov, recordings):
    # log p(c | history) = log_prob(history + [c]) - log_prob(history), for every code c, seen or not
    history = mu_law_decode(mu_law_encode(recordings[1][1][:5]))
    base = markov.log_prob([history])[0]
    extended = [np.append(history, mu_law_decode(np.array([c]))) for c in range(256)]
    steps = markov.log_prob(extended) - base
    assert markov._n_unseen > 0  # the unseen codes share the chain's <unk> probability
    np.testing.assert_allclose(scipy_special.logsumexp(steps), 0.0, atol=1e-10)


def test_order_selection_finds_the_dependence(recordings):
    order, scores = select_markov_order(recordings[0], recordings[1], orders=(0, 1, 2))
    assert order >= 1 and set(scores) == {0, 1, 2}
    assert scores[order] == max(scores.values()) and scores[1] > scores[0] + 0.5  # nats per sample
    fitted = MarkovCodes(order=1).fit(recordings[0])
    np.testing.assert_allclose(scores[1], fitted.score(recordings[1]), rtol=1e-12)


def test_markov_samples(markov):
    drawn = markov.sample_codes(200, n_clips=2, random_state=0)
    assert drawn.shape == (2, 200) and drawn.dtype == np.int64
    assert set(np.unique(drawn).tolist()) <= {int(t) for t in markov.model_.vocabulary_.tokens}
    np.testing.assert_array_equal(drawn, markov.sample_codes(200, n_clips=2, random_state=0))


# -- the shared interface ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recurrent(recordings):
    pytest.importorskip("torch")
    return RecurrentCodes("gru", preset=None, n_layer=1, n_hidden=16, n_embd=8, block_size=32, max_steps=5,
                          batch_size=4, warmup_steps=1, device="cpu", random_state=0).fit(recordings[0])


@pytest.fixture(params=["ar", "markov", "recurrent"])
def baseline(request, ar_model, markov):
    if request.param == "recurrent":
        return request.getfixturevalue("recurrent")
    return {"ar": ar_model, "markov": markov}[request.param]


def test_every_sample_is_scored(baseline, recordings):
    held = recordings[1]
    assert baseline.n_units(held) == sum(w.size for w in held) == 3000
    log_p = baseline.log_prob(held)
    assert log_p.shape == (2,) and np.isfinite(log_p).all()
    np.testing.assert_allclose(baseline.score(held), log_p.sum() / 3000, rtol=1e-12)
    np.testing.assert_allclose(bits_per_sample(baseline, held), -log_p.sum() / 3000 / math.log(2), rtol=1e-12)
    # one recording may be given alone; labels are accepted and ignored
    np.testing.assert_allclose(baseline.log_prob(held[0]), log_p[:1], rtol=1e-12)
    np.testing.assert_allclose(baseline.log_prob(held, ["a", "b"]), log_p, rtol=1e-12)


def test_sample_shapes(baseline):
    one = baseline.sample(64, random_state=0)
    many = baseline.sample(64, n_clips=3, random_state=0)
    assert one.shape == (64,) and many.shape == (3, 64)
    assert one.dtype == many.dtype == np.float32 and np.abs(many).max() <= 1.0
    codes = baseline.sample_codes(10, n_clips=2, random_state=1)
    assert codes.shape == (2, 10) and codes.dtype == np.int64 and codes.min() >= 0 and codes.max() <= 255


def test_bad_input(ar_model):
    wave = np.zeros(10, dtype=np.float32)
    with pytest.raises(DataError, match=r"waveforms\[1\] is empty"):
        ar_model.log_prob([wave, np.zeros(0, dtype=np.float32)])
    with pytest.raises(DataError, match=r"waveforms\[0\] holds int16 samples"):
        ar_model.score([np.zeros(5, dtype=np.int16)])
    with pytest.raises(DataError, match=r"waveforms\[1\] holds NaN or infinite samples at position 2"):
        ar_model.log_prob([wave, np.array([0.0, 0.1, np.nan])])
    with pytest.raises(DataError, match=r"waveforms\[0\] must be 1-D .* got shape \(2, 5\)"):
        ar_model.log_prob([np.zeros((2, 5))])
    with pytest.raises(DataError, match="waveforms must be a waveform"):
        ar_model.fit("recording.wav")
    with pytest.raises(NotFittedError, match="MarkovCodes is not fitted"):
        MarkovCodes().log_prob([wave])
    with pytest.raises(ParameterError, match="n_samples must be an integer >= 1"):
        ar_model.sample(0)
    with pytest.raises(ParameterError, match="min_std must be a finite number > 0"):
        DequantisedAutoRegressive(min_std=0.0).fit([wave])
    with pytest.raises(ParameterError, match="n_codes must be an integer"):
        MarkovCodes(n_codes=1).fit([wave])
    with pytest.raises(ParameterError, match="RecurrentCodes sets tokenizer itself"):
        RecurrentCodes(tokenizer="char").fit([wave])
    with pytest.raises(ParameterError, match="backbone must be one of lstm, gru, rnn"):
        RecurrentCodes("transformer").fit([wave])


def test_a_failed_refit_leaves_the_model_as_it_was(recordings):
    model = MarkovCodes(order=1).fit(recordings[0])
    before = model.log_prob(recordings[1])
    with pytest.raises(DataError, match=r"waveforms\[0\] is empty"):
        model.fit([np.zeros(0, dtype=np.float32)])
    model.order = 7  # a changed hyperparameter acts at the next fit, not on the fitted model
    np.testing.assert_array_equal(model.log_prob(recordings[1]), before)
    auto = DequantisedAutoRegressive(order="auto", max_order=2).fit(recordings[0])
    auto.order = 1
    assert not hasattr(auto.fit(recordings[0]), "criterion_values_")  # nothing stale from the "auto" fit


def test_markov_codes_keep_quiet_about_the_unigram_discounts_only(monkeypatch):
    import warnings

    import genlab.sequence
    from genlab.errors import DegenerateFitWarning

    one = ("modified Kneser-Ney discounts could not be estimated from the counts-of-counts of the 1-grams (n1=0, "
           "n2=0, n3=0, n4=1): too little or artificial data.")
    two = ("modified Kneser-Ney discounts could not be estimated from the counts-of-counts of the 1-grams (n1=0, "
           "n2=0, n3=0, n4=1); the 2-grams (n1=3, n2=0, n3=0, n4=0): too little or artificial data.")
    fit = genlab.sequence.MarkovChain.fit
    waves = [0.5 * np.sin(np.arange(400) / 7.0).astype(np.float32)]
    for message, escapes in ((one, False), (two, True)):
        def noisy_fit(self, *args, _message=message, **kwargs):
            warnings.warn(_message, DegenerateFitWarning, stacklevel=2)
            return fit(self, *args, **kwargs)

        monkeypatch.setattr(genlab.sequence.MarkovChain, "fit", noisy_fit)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            MarkovCodes(order=1).fit(waves)
        # (the real chain may add its own note about the 2-grams of this short artificial clip: that one stays)
        assert (message in [str(w.message) for w in caught if w.category is DegenerateFitWarning]) is escapes
