"""Tests of the categorical, Bernoulli and Poisson leaf distributions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from genlab.distributions.discrete import (
    Bernoulli,
    BernoulliStatistics,
    Categorical,
    CategoricalStatistics,
    Poisson,
    PoissonStatistics,
)
from genlab.distributions.priors import Beta, Dirichlet, Gamma
from genlab.errors import DataError, DegenerateFitWarning, ParameterError

N_GOF = 20_000
GOF_MIN_PVALUE = 1e-4


def chi_square_pvalue(
    observed_keys: np.ndarray, support: np.ndarray, log_probs: np.ndarray
) -> float:
    """Chi-square goodness of fit of samples against the probabilities exp(log_probs) of support.

    ``observed_keys`` are the samples as rows (or scalars) comparable with the rows of ``support``.
    Support points whose expected count is below 5, and the probability mass outside ``support``,
    are pooled into one cell (merged into the last kept cell if the pool itself is below 5).
    """
    n = observed_keys.shape[0]
    keys = observed_keys.reshape(n, -1)
    support = support.reshape(support.shape[0], -1)
    _, inverse = np.unique(np.concatenate([support, keys]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    support_ids, sample_ids = inverse[: support.shape[0]], inverse[support.shape[0] :]
    assert np.unique(support_ids).size == support.shape[0], "support rows must be distinct"
    counts = np.bincount(sample_ids, minlength=inverse.max() + 1)[support_ids]
    expected = n * np.exp(log_probs)
    keep = expected >= 5
    observed_cells = list(counts[keep])
    expected_cells = list(expected[keep])
    pooled_observed = n - sum(observed_cells)
    pooled_expected = n - sum(expected_cells)
    if pooled_expected >= 5:
        observed_cells.append(pooled_observed)
        expected_cells.append(pooled_expected)
    else:
        observed_cells[-1] += pooled_observed
        expected_cells[-1] += pooled_expected
    assert len(observed_cells) >= 2
    return float(stats.chisquare(observed_cells, expected_cells).pvalue)


# --------------------------------------------------------------------------------------------------
# (a) samples agree with log_prob
# --------------------------------------------------------------------------------------------------


def test_categorical_samples_agree_with_log_prob():
    dist = Categorical([0.05, 0.3, 0.0, 0.45, 0.2])
    x = dist.sample(N_GOF, random_state=0)
    assert x.shape == (N_GOF,)
    assert x.dtype == np.int64
    assert not np.any(x == 2), "a zero-probability category was sampled"
    support = np.arange(dist.n_categories)
    pvalue = chi_square_pvalue(x, support, dist.log_prob(support))
    assert pvalue > GOF_MIN_PVALUE


def test_bernoulli_samples_agree_with_log_prob_jointly():
    dist = Bernoulli([0.2, 0.5, 0.9])
    x = dist.sample(N_GOF, random_state=1)
    assert x.shape == (N_GOF, 3)
    assert x.dtype == np.int64
    support = np.array(list(itertools.product([0, 1], repeat=3)))  # all 8 joint outcomes
    log_probs = dist.log_prob(support)
    np.testing.assert_allclose(np.exp(log_probs).sum(), 1.0, rtol=1e-12)
    assert chi_square_pvalue(x, support, log_probs) > GOF_MIN_PVALUE


def test_poisson_samples_agree_with_log_prob_jointly():
    rate = np.array([0.7, 4.0])
    dist = Poisson(rate)
    x = dist.sample(N_GOF, random_state=2)
    assert x.shape == (N_GOF, 2)
    assert x.dtype == np.int64
    high = stats.poisson.ppf(1 - 1e-6, rate).astype(int)  # the tail beyond is pooled
    support = np.array(list(itertools.product(range(high[0] + 1), range(high[1] + 1))))
    assert chi_square_pvalue(x, support, dist.log_prob(support)) > GOF_MIN_PVALUE


def test_poisson_one_feature_samples_agree_with_log_prob():
    dist = Poisson(12.5)
    x = dist.sample(N_GOF, random_state=3)
    high = int(stats.poisson.ppf(0.999, 12.5))
    support = np.arange(high + 1)
    assert chi_square_pvalue(x[:, 0], support, dist.log_prob(support)) > GOF_MIN_PVALUE


# --------------------------------------------------------------------------------------------------
# (b) statistics are additive, and integer weights equal repeated rows
# --------------------------------------------------------------------------------------------------

DISTRIBUTIONS = {
    "categorical": Categorical([0.1, 0.2, 0.3, 0.4]),
    "bernoulli": Bernoulli([0.1, 0.6, 0.95, 0.5]),
    "poisson": Poisson([0.3, 2.0, 9.0]),
}


@pytest.fixture(params=sorted(DISTRIBUTIONS))
def dist(request):
    return DISTRIBUTIONS[request.param]


def test_statistics_of_halves_sum_to_whole(dist):
    x = dist.sample(1001, random_state=4)
    weights = np.random.default_rng(5).uniform(0.0, 2.0, size=1001)
    for w, w1, w2 in [(None, None, None), (weights, weights[:400], weights[400:])]:
        whole = dist.statistics(x, w)
        halves = dist.statistics(x[:400], w1) + dist.statistics(x[400:], w2)
        assert halves.allclose(whole, rtol=1e-12)
        assert sum([dist.statistics(x[:400], w1), dist.statistics(x[400:], w2)]).allclose(
            whole, rtol=1e-12
        )


def test_integer_weights_equal_repeated_rows(dist):
    x = dist.sample(300, random_state=6)
    weights = np.random.default_rng(7).integers(0, 4, size=300)
    repeated = np.repeat(x, weights, axis=0)
    assert dist.statistics(x, weights).allclose(dist.statistics(repeated), rtol=1e-12)


def test_weights_change_statistics(dist):
    # Guards the test above against weights being ignored.
    x = dist.sample(300, random_state=8)
    weights = np.random.default_rng(9).integers(0, 4, size=300)
    assert not dist.statistics(x, weights).allclose(dist.statistics(x), rtol=1e-6)


def test_statistics_fields_are_arrays():
    cat = Categorical([0.5, 0.5]).statistics([0, 1, 1])
    assert isinstance(cat, CategoricalStatistics)
    np.testing.assert_array_equal(cat.counts, [1.0, 2.0])
    ber = Bernoulli([0.5, 0.5]).statistics([[0, 1], [1, 1]], weights=[1.0, 3.0])
    assert isinstance(ber, BernoulliStatistics)
    assert isinstance(ber.total_weight, np.ndarray)
    assert ber.total_weight.shape == ()
    np.testing.assert_allclose(ber.ones, [3.0, 4.0], rtol=1e-15)
    poi = Poisson([1.0, 1.0]).statistics([[0, 5], [2, 1]])
    assert isinstance(poi, PoissonStatistics)
    assert poi.total_weight.shape == ()
    np.testing.assert_allclose(poi.total, [2.0, 6.0], rtol=1e-15)


# --------------------------------------------------------------------------------------------------
# (c) maximum likelihood recovers the parameters
# --------------------------------------------------------------------------------------------------

N_FIT = 50_000


def test_categorical_mle_recovers_probs():
    probs = np.array([0.1, 0.25, 0.05, 0.6])
    x = Categorical(probs).sample(N_FIT, random_state=10)
    fitted = Categorical.fit(x)
    standard_error = np.sqrt(probs * (1 - probs) / N_FIT)
    assert np.all(np.abs(fitted.probs - probs) < 5 * standard_error)


def test_bernoulli_mle_recovers_probs():
    probs = np.array([0.02, 0.3, 0.5, 0.85])
    x = Bernoulli(probs).sample(N_FIT, random_state=11)
    fitted = Bernoulli.fit(x)
    standard_error = np.sqrt(probs * (1 - probs) / N_FIT)
    assert np.all(np.abs(fitted.probs - probs) < 5 * standard_error)


def test_poisson_mle_recovers_rate():
    rate = np.array([0.2, 3.0, 40.0])
    x = Poisson(rate).sample(N_FIT, random_state=12)
    fitted = Poisson.fit(x)
    standard_error = np.sqrt(rate / N_FIT)
    assert np.all(np.abs(fitted.rate - rate) < 5 * standard_error)


def test_mle_of_unseen_values_is_on_the_boundary():
    cat = Categorical.fit([0, 0, 2], n_categories=4)
    np.testing.assert_allclose(cat.probs, [2 / 3, 0, 1 / 3, 0], rtol=1e-15)
    assert np.isneginf(cat.log_prob([1, 3])).all()
    ber = Bernoulli.fit([[0, 1], [0, 1]])
    np.testing.assert_array_equal(ber.probs, [0.0, 1.0])
    np.testing.assert_array_equal(ber.log_prob([[0, 1], [1, 1], [0, 0]]), [0.0, -np.inf, -np.inf])
    poi = Poisson.fit([[0, 2], [0, 4]])
    np.testing.assert_array_equal(poi.rate, [0.0, 3.0])
    assert np.isneginf(poi.log_prob([[1, 3]])).all()
    assert np.isfinite(poi.log_prob([[0, 3]])).all()


# --------------------------------------------------------------------------------------------------
# (d) MAP under the conjugate prior, and the posterior update
# --------------------------------------------------------------------------------------------------


def test_categorical_map_and_dirichlet_posterior():
    x = Categorical([0.7, 0.2, 0.1, 0.0]).sample(50, random_state=13)
    alpha = np.array([2.0, 1.0, 3.5, 1.5])
    counts = np.array([np.sum(x == k) for k in range(4)], dtype=float)
    stats_ = Categorical([0.25] * 4).statistics(x)
    prior = Dirichlet(alpha)

    fitted = Categorical.from_statistics(stats_, prior=prior)
    expected = (counts + alpha - 1) / (counts.sum() + alpha.sum() - 4)
    np.testing.assert_allclose(fitted.probs, expected, rtol=1e-12)

    posterior = prior.posterior(stats_)
    assert isinstance(posterior, Dirichlet)
    np.testing.assert_allclose(posterior.concentration, alpha + counts, rtol=1e-15)
    np.testing.assert_allclose(fitted.probs, posterior.mode, rtol=1e-12)


def test_bernoulli_map_and_beta_posterior():
    x = Bernoulli([0.1, 0.5, 1.0]).sample(40, random_state=14)
    a, b = np.array([1.0, 2.0, 5.0]), np.array([3.0, 1.0, 1.5])
    n, ones = x.shape[0], x.sum(axis=0).astype(float)
    stats_ = Bernoulli([0.5] * 3).statistics(x)
    prior = Beta(a, b)

    fitted = Bernoulli.from_statistics(stats_, prior=prior)
    np.testing.assert_allclose(fitted.probs, (ones + a - 1) / (n + a + b - 2), rtol=1e-12)

    posterior = prior.posterior(stats_)
    assert isinstance(posterior, Beta)
    np.testing.assert_allclose(posterior.alpha, a + ones, rtol=1e-15)
    np.testing.assert_allclose(posterior.beta, b + n - ones, rtol=1e-15)
    np.testing.assert_allclose(fitted.probs, posterior.mode, rtol=1e-12)


def test_bernoulli_map_with_scalar_beta_prior():
    x = np.array([[1, 0], [1, 1], [1, 0]])
    fitted = Bernoulli.fit(x, prior=Beta(2.0, 2.0))
    np.testing.assert_allclose(fitted.probs, [(3 + 1) / (3 + 2), (1 + 1) / (3 + 2)], rtol=1e-12)


def test_poisson_map_and_gamma_posterior():
    x = Poisson([0.5, 6.0]).sample(30, random_state=15)
    shape, rate = np.array([1.0, 4.0]), np.array([0.5, 2.0])
    n, total = x.shape[0], x.sum(axis=0).astype(float)
    stats_ = Poisson([1.0, 1.0]).statistics(x)
    prior = Gamma(shape, rate)

    fitted = Poisson.from_statistics(stats_, prior=prior)
    np.testing.assert_allclose(fitted.rate, (total + shape - 1) / (n + rate), rtol=1e-12)

    posterior = prior.posterior(stats_)
    assert isinstance(posterior, Gamma)
    np.testing.assert_allclose(posterior.shape, shape + total, rtol=1e-15)
    np.testing.assert_allclose(posterior.rate, rate + n, rtol=1e-15)
    np.testing.assert_allclose(fitted.rate, posterior.mode, rtol=1e-12)


@pytest.mark.parametrize(
    ("cls", "stats_", "prior", "match"),
    [
        (Categorical, CategoricalStatistics(np.array([1.0, 2.0])), Dirichlet([0.5, 2.0]), ">= 1"),
        (
            Bernoulli,
            BernoulliStatistics(np.asarray(3.0), np.array([1.0])),
            Beta(0.5, 2.0),
            ">= 1",
        ),
        (
            Poisson,
            PoissonStatistics(np.asarray(3.0), np.array([1.0])),
            Gamma(0.5, 1.0),
            ">= 1",
        ),
        (Categorical, CategoricalStatistics(np.array([1.0, 2.0])), Dirichlet([2.0] * 3), "2"),
        (Categorical, CategoricalStatistics(np.array([1.0, 2.0])), Beta(2.0, 2.0), "Dirichlet"),
        (Poisson, PoissonStatistics(np.asarray(3.0), np.array([1.0])), Dirichlet([2.0]), "Gamma"),
    ],
)
def test_map_rejects_unusable_priors(cls, stats_, prior, match):
    with pytest.raises(ParameterError, match=match):
        cls.from_statistics(stats_, prior=prior)


def test_from_statistics_rejects_other_statistics():
    with pytest.raises(ParameterError, match="CategoricalStatistics"):
        Categorical.from_statistics(PoissonStatistics(np.asarray(1.0), np.array([1.0])))
    with pytest.raises(ParameterError, match="BernoulliStatistics"):
        Beta(1.0, 1.0).posterior(CategoricalStatistics(np.array([1.0])))


@pytest.mark.parametrize(
    ("cls", "stats_", "field", "expected"),
    [
        (Categorical, CategoricalStatistics(np.zeros(4)), "probs", np.full(4, 0.25)),
        (Bernoulli, BernoulliStatistics(np.asarray(0.0), np.zeros(2)), "probs", [0.5, 0.5]),
        (Poisson, PoissonStatistics(np.asarray(0.0), np.zeros(2)), "rate", [1.0, 1.0]),
    ],
)
def test_empty_statistics_warn_and_use_the_documented_default(cls, stats_, field, expected):
    with pytest.warns(DegenerateFitWarning, match="zero total weight"):
        fitted = cls.from_statistics(stats_)
    np.testing.assert_array_equal(getattr(fitted, field), expected)


def test_empty_statistics_with_informative_prior_do_not_warn():
    # The MAP exists without data when the prior has a proper mode; filterwarnings=error checks it.
    fitted = Categorical.from_statistics(
        CategoricalStatistics(np.zeros(3)), prior=Dirichlet([2, 3, 1])
    )
    np.testing.assert_allclose(fitted.probs, [1 / 3, 2 / 3, 0.0], rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# (e) Distribution.fit is from_statistics(statistics)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "template", "prior"),
    [
        (Categorical, Categorical([0.2, 0.3, 0.1, 0.4]), Dirichlet([1.5, 2.0, 1.0, 3.0])),
        (Bernoulli, Bernoulli([0.2, 0.9]), Beta([2.0, 1.0], 3.0)),
        (Poisson, Poisson([1.5, 0.1]), Gamma(2.0, [1.0, 0.5])),
    ],
)
def test_fit_equals_from_statistics(cls, template, prior):
    x = template.sample(500, random_state=16)
    weights = np.random.default_rng(17).uniform(0.0, 3.0, size=500)
    for w, p in [(None, None), (weights, None), (weights, prior)]:
        fitted = cls.fit(x, weights=w, prior=p)
        direct = cls.from_statistics(template.statistics(x, w), prior=p)
        assert type(fitted) is cls
        np.testing.assert_allclose(_params(fitted), _params(direct), rtol=1e-12)


def _params(dist):
    return dist.rate if isinstance(dist, Poisson) else dist.probs


def test_categorical_fit_infers_or_takes_n_categories():
    assert Categorical.fit([0, 3, 1]).n_categories == 4
    fitted = Categorical.fit([0, 1, 1], n_categories=5)
    np.testing.assert_allclose(fitted.probs, [1 / 3, 2 / 3, 0, 0, 0], rtol=1e-12)
    with pytest.raises(DataError, match="out of range"):
        Categorical.fit([0, 5], n_categories=3)


def test_fit_accepts_bool_and_one_dimensional_input():
    np.testing.assert_allclose(Bernoulli.fit([[True], [False]]).probs, [0.5], rtol=1e-15)
    np.testing.assert_allclose(Bernoulli.fit(np.array([1, 1, 0, 1])).probs, [0.75], rtol=1e-15)
    np.testing.assert_allclose(Poisson.fit(np.array([1, 2, 6])).rate, [3.0], rtol=1e-15)


def test_n_parameters():
    assert Categorical([0.5, 0.25, 0.25]).n_parameters == 2
    assert Bernoulli([0.5, 0.25, 0.25]).n_parameters == 3
    assert Poisson([1.0, 2.0]).n_parameters == 2
    assert Poisson(3.0).n_parameters == 1


# --------------------------------------------------------------------------------------------------
# (f) log_prob agrees with scipy.stats
# --------------------------------------------------------------------------------------------------


def test_categorical_log_prob_is_log_of_probs():
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    x = np.array([2, 0, 3, 3, 1, 0])
    with np.errstate(divide="ignore"):
        expected = np.log(probs[x])
    np.testing.assert_allclose(Categorical(probs).log_prob(x), expected, rtol=1e-15)


@pytest.mark.parametrize("probs", [[0.3, 0.5, 0.99], [0.0, 1.0, 0.4]])
def test_bernoulli_log_prob_matches_scipy(probs):
    x = np.array(list(itertools.product([0, 1], repeat=3)))
    expected = stats.bernoulli.logpmf(x, probs).sum(axis=1)
    actual = Bernoulli(probs).log_prob(x)
    assert not np.isnan(actual).any()
    np.testing.assert_allclose(actual, expected, rtol=1e-12)


@pytest.mark.parametrize("rate", [[0.5, 3.0, 70.0], [0.0, 1.0, 1e-3]])
def test_poisson_log_prob_matches_scipy(rate):
    x = np.array([[0, 0, 0], [1, 3, 70], [4, 0, 200], [0, 11, 1]])
    expected = stats.poisson.logpmf(x, rate).sum(axis=1)
    actual = Poisson(rate).log_prob(x)
    assert not np.isnan(actual).any()
    np.testing.assert_allclose(actual, expected, rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# (g) bad input raises the named error with a useful message
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "match"),
    [
        ([0, 1, 3], r"category code 3 at index 2 is out of range.*codes 0\.\.2"),
        ([0, -1], "category code -1 at index 1 is out of range"),
        ([0.0, np.nan], "NaN"),
        ([0.0, 1.5], "non-integer 1.5"),
        ([[0, 1], [1, 2]], "1-D"),
        (["a", "b"], "integer category codes"),
    ],
)
def test_categorical_bad_data(x, match):
    dist = Categorical([0.2, 0.3, 0.5])
    with pytest.raises(DataError, match=match):
        dist.log_prob(x)
    with pytest.raises(DataError, match=match):
        dist.statistics(x)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        ([[0, 1], [2, 0]], "only 0 / 1.*got 2 at row 1, column 0"),
        ([[0, 1, 1]], "3 features but the Bernoulli distribution has 2"),
        ([0, 1], "1-D"),
        ([[0, np.nan]], "NaN"),
        ([[0, 0.5]], "non-integer"),
    ],
)
def test_bernoulli_bad_data(x, match):
    dist = Bernoulli([0.2, 0.3])
    with pytest.raises(DataError, match=match):
        dist.log_prob(x)
    with pytest.raises(DataError, match=match):
        dist.statistics(x)


@pytest.mark.parametrize(
    ("x", "match"),
    [
        ([[0, 1], [-2, 0]], "negative count -2 at row 1, column 0"),
        ([[0, 1.25]], "non-integer 1.25"),
        ([[0, np.nan]], "NaN"),
        ([[0, np.inf]], "inf"),
        ([[1, 2, 3]], "3 features but the Poisson distribution has 2"),
        ([1, 2], "1-D"),
    ],
)
def test_poisson_bad_data(x, match):
    dist = Poisson([1.0, 2.0])
    with pytest.raises(DataError, match=match):
        dist.log_prob(x)
    with pytest.raises(DataError, match=match):
        dist.statistics(x)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Categorical([0.2, 0.3, 0.4]), "sum to 1"),
        (lambda: Categorical([1.2, -0.2]), r"\[0, 1\]"),
        (lambda: Categorical([[0.5, 0.5]]), "1-D"),
        (lambda: Categorical([]), "1-D"),
        (lambda: Categorical([0.5, np.nan]), "NaN"),
        (lambda: Bernoulli([0.5, 1.5]), r"\[0, 1\]"),
        (lambda: Poisson([1.0, -0.5]), r"rate must be >= 0.*-0.5"),
        (lambda: Poisson(np.inf), "NaN or inf"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_probs_within_tolerance_are_renormalised():
    dist = Categorical([0.2, 0.3, 0.5 + 5e-9])
    assert dist.probs.sum() == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([1.0, -1.0, 2.0], "negative"),
        ([1.0, 2.0], r"shape \(2,\); expected \(3,\)"),
        ([1.0, np.nan, 1.0], "NaN"),
    ],
)
def test_bad_weights(dist, weights, match):
    x = dist.sample(3, random_state=18)
    with pytest.raises(DataError, match=match):
        dist.statistics(x, weights)


def test_bad_sample_size():
    with pytest.raises(ParameterError, match="n must be an int"):
        Categorical([0.5, 0.5]).sample(-1)
    assert Poisson([1.0, 2.0]).sample(0, random_state=0).shape == (0, 2)


def test_sampling_is_reproducible_with_a_seed(dist):
    np.testing.assert_array_equal(dist.sample(50, random_state=3), dist.sample(50, random_state=3))


def test_parameters_are_read_only():
    dist = Categorical([0.5, 0.5])
    with pytest.raises(ValueError, match="read-only"):
        dist.probs[0] = 1.0


def test_repr_shows_parameters():
    assert repr(Categorical([0.25, 0.75])) == "Categorical(probs=[0.25, 0.75])"
    assert repr(Bernoulli(0.5)) == "Bernoulli(probs=[0.5])"
    assert repr(Poisson([2.0, 0.5])) == "Poisson(rate=[2, 0.5])"
