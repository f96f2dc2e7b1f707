"""BayesianGaussianMixture: agreement with scikit-learn, monotone ELBO, streaming, pruning, weights, bad input."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from scipy import optimize
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

import genlab
from genlab.base import Sample
from genlab.errors import ConvergenceWarning, DataError, NotFittedError, ParameterError
from genlab.mixture.bayesian_mixture import BayesianGaussianMixture
from helpers import assert_monotone, three_blobs

sk_mixture = pytest.importorskip("sklearn.mixture", reason="scikit-learn's mixture module is needed as the reference")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
TRUE_CENTERS = np.array([[0.0, 0.0], [6.0, 6.0], [-6.0, 5.0]])


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    """Run BLAS on one thread: these fits are made of tiny (D, D) solves, for which OpenBLAS's worker threads only
    add overhead (on a loaded machine, a 2x2 triangular solve can take milliseconds instead of microseconds)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def fitted_attributes(model) -> dict:
    return {name: value for name, value in vars(model).items() if name.endswith("_") and not name.startswith("_")}


def continuation(start: BayesianGaussianMixture, **params) -> BayesianGaussianMixture:
    """A fresh model holding a copy of ``start``'s fitted state, set to continue from it (``warm_start=True``)."""
    model = clone(start).set_params(warm_start=True, **params)
    for name, value in fitted_attributes(start).items():
        setattr(model, name, copy.deepcopy(value))
    return model


def explicit_priors(X: np.ndarray, covariance_type: str) -> dict:
    """The data-dependent prior defaults, spelt out (so that a stream's first batch does not change them)."""
    covariance = np.cov(X.T)
    return {
        "mean_prior": X.mean(axis=0),
        "covariance_prior": {
            "full": covariance,
            "tied": covariance,
            "diag": np.diag(covariance),
            "spherical": float(np.diag(covariance).mean()),
        }[covariance_type],
    }


def assert_same_posterior(ours, theirs, rtol=1e-5, atol=1e-8):
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=min(rtol, 1e-6))
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_", "mean_precision_",
                 "degrees_of_freedom_", "mean_prior_", "covariance_prior_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=rtol, atol=atol, err_msg=name)
    if ours.weight_concentration_prior_type == "dirichlet_process":
        for a, b in zip(ours.weight_concentration_, theirs.weight_concentration_, strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    else:
        np.testing.assert_allclose(ours.weight_concentration_, theirs.weight_concentration_, rtol=rtol, atol=atol)
    for name in ("weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-12), name


# --------------------------------------------------------------------------------------------------------------
# Agreement with scikit-learn
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_sklearn_for_the_same_seed(covariance_type, prior_type):
    X = three_blobs(n_per=50, seed=3, n_features=3)
    kwargs = dict(
        n_components=4,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        random_state=0,
        tol=1e-10,
        max_iter=2000,
    )
    theirs = sk_mixture.BayesianGaussianMixture(**kwargs).fit(X)
    ours = BayesianGaussianMixture(**kwargs).fit(X)
    assert theirs.converged_ and ours.converged_
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_posterior(ours, theirs)
    # scikit-learn's "tied" bounds are (1,) arrays; ours are floats
    np.testing.assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-6)


@pytest.mark.parametrize("init_params", ["k-means++", "random", "random_from_data"])
def test_matches_sklearn_with_given_priors_and_restarts(init_params):
    # With this seed the two restarts end at different optima; were they to reach the same one, which restart wins
    # (and so n_iter_) would be decided by the last bits of two equal bounds.
    X = three_blobs(n_per=40, seed=5)
    kwargs = dict(
        n_components=5,
        init_params=init_params,
        n_init=2,
        random_state=0,
        tol=1e-10,
        max_iter=2000,
        weight_concentration_prior=0.1,
        mean_precision_prior=0.5,
        mean_prior=[1.0, 2.0],
        degrees_of_freedom_prior=3.5,
        covariance_prior=[[2.0, 0.3], [0.3, 1.0]],
    )
    theirs = sk_mixture.BayesianGaussianMixture(**kwargs).fit(X)
    ours = BayesianGaussianMixture(**kwargs).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_posterior(ours, theirs)


# --------------------------------------------------------------------------------------------------------------
# The lower bound
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_lower_bound_never_decreases(covariance_type, prior_type):
    for seed in (0, 1, 2):
        gen = np.random.default_rng(seed)
        data_sets = [
            np.vstack([three_blobs(n_per=60, seed=seed), gen.normal(scale=4.0, size=(40, 2))]),  # overlapping
            gen.standard_t(df=3, size=(150, 3)) * [1.0, 3.0, 0.5] + 10.0,  # heavy tails, far from the origin
        ]
        for X in data_sets:
            for sample_weight in (None, gen.uniform(0.2, 3.0, len(X))):
                model = BayesianGaussianMixture(
                    n_components=6,
                    covariance_type=covariance_type,
                    weight_concentration_prior_type=prior_type,
                    init_params="random",
                    random_state=seed,
                    tol=1e-6,
                    max_iter=3000,
                ).fit(X, sample_weight=sample_weight)
                bounds = model.lower_bounds_
                assert len(bounds) == model.n_iter_ > 1
                assert_monotone(bounds, what="ELBO")
                assert model.lower_bound_ == bounds[-1]


def test_lower_bound_is_a_total_and_max_iter_warns():
    X = three_blobs(n_per=30, seed=1)
    kwargs = dict(n_components=5, max_iter=2, random_state=0)
    model = BayesianGaussianMixture(**kwargs)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model.fit(X)
    assert not model.converged_ and model.n_iter_ == 2 and len(model.lower_bounds_) == 2
    with pytest.warns(SklearnConvergenceWarning):
        theirs = sk_mixture.BayesianGaussianMixture(**kwargs).fit(X)
    np.testing.assert_allclose(model.lower_bounds_, theirs.lower_bounds_, rtol=1e-10)
    # a total over the samples: doubling every weight doubles the data terms, so the bound grows in magnitude
    doubled = BayesianGaussianMixture(**kwargs)
    with pytest.warns(ConvergenceWarning):
        doubled.fit(X, sample_weight=np.full(len(X), 2.0))
    assert abs(doubled.lower_bound_) > 1.5 * abs(model.lower_bound_)


# --------------------------------------------------------------------------------------------------------------
# Streaming and warm starts
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_streaming_over_ten_chunks_equals_full_batch(covariance_type, prior_type):
    """A stream initialises from its first batch, so a streaming fit and a full-batch fit start from different
    posteriors. To compare the iterations themselves, both continue (``warm_start``) from copies of one state: the
    posterior right after a full-batch initialisation (``max_iter=0``). The priors are given explicitly (as the
    full data's defaults), since a stream would otherwise take them from its first batch. The full-batch
    continuation also equals an ordinary fit from scratch, which shows the construction changes nothing."""
    X = three_blobs(n_per=60, seed=2, n_features=3)
    kwargs = dict(
        n_components=4,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        random_state=1,
        tol=1e-9,
        max_iter=2000,
        **explicit_priors(X, covariance_type),
    )
    start = BayesianGaussianMixture(**{**kwargs, "max_iter": 0}).fit(X)
    assert start.n_iter_ == 0 and start.lower_bound_ == -np.inf
    full = continuation(start, max_iter=2000).fit(X)
    chunks = np.array_split(X, 10)
    streamed = continuation(start, max_iter=2000).fit(chunks)
    from_function = continuation(start, max_iter=2000).fit(lambda: iter(chunks))
    scratch = BayesianGaussianMixture(**kwargs).fit(X)
    for other in (streamed, from_function, scratch):
        assert other.n_iter_ == full.n_iter_ and other.converged_
        np.testing.assert_allclose(other.lower_bounds_, full.lower_bounds_, rtol=1e-10)
        assert_same_posterior(other, full, rtol=1e-10, atol=1e-12)


def test_streaming_takes_prior_defaults_from_the_first_batch():
    X = three_blobs(n_per=50, seed=4)
    gen = np.random.default_rng(0)
    X = X[gen.permutation(len(X))]
    chunks = np.array_split(X, 5)
    weights = [gen.uniform(0.5, 2.0, len(chunk)) for chunk in chunks]
    model = BayesianGaussianMixture(n_components=3, covariance_type="diag", random_state=0, max_iter=500)
    model.fit(list(zip(chunks, weights, strict=True)))
    first, w = chunks[0], weights[0]
    mean = np.average(first, axis=0, weights=w)
    np.testing.assert_allclose(model.mean_prior_, mean, rtol=1e-12)
    np.testing.assert_allclose(
        model.covariance_prior_, (w @ (first - mean) ** 2) / (w.sum() - 1.0), rtol=1e-12
    )


def test_warm_start_continues_like_sklearn():
    X = three_blobs(n_per=40, seed=6)
    kwargs = dict(n_components=4, warm_start=True, max_iter=3, random_state=0)
    ours = BayesianGaussianMixture(**kwargs)
    theirs = sk_mixture.BayesianGaussianMixture(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)  # genlab's is a subclass
        for _ in range(4):
            ours.fit(X)
            theirs.fit(X)
            assert_same_posterior(ours, theirs, rtol=1e-9)


# --------------------------------------------------------------------------------------------------------------
# Superfluous components, sample weights, scoring
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dirichlet_process_switches_off_superfluous_components(covariance_type):
    # isotropic clusters of one size, so that every covariance type can describe each with one component
    gen = np.random.default_rng(0)
    X = np.vstack([center + 0.8 * gen.standard_normal((200, 2)) for center in TRUE_CENTERS])
    model = BayesianGaussianMixture(
        n_components=8,
        covariance_type=covariance_type,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=1e-2,
        random_state=0,
        max_iter=1000,
    ).fit(X)
    effective = np.flatnonzero(model.weights_ > 0.01)
    assert len(effective) <= 3
    assert len(effective) == 3  # ... and the three real clusters all stay
    distances = np.linalg.norm(model.means_[effective][:, np.newaxis] - TRUE_CENTERS[np.newaxis], axis=2)
    rows, cols = optimize.linear_sum_assignment(distances)
    assert distances[rows, cols].max() < 0.3, distances[rows, cols]
    np.testing.assert_allclose(model.weights_[effective].sum(), 1.0, atol=1e-2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_integer_sample_weight_equals_repeated_rows(covariance_type, init_params):
    """From the same seed: initialisation runs on the distinct rows with their total weight in both cases."""
    X = three_blobs(n_per=30, seed=8)
    counts = np.random.default_rng(1).integers(0, 4, len(X))
    kwargs = dict(n_components=4, covariance_type=covariance_type, random_state=0, tol=1e-9, max_iter=2000,
                  init_params=init_params)  # fmt: skip
    order = np.random.default_rng(2).permutation(len(X))  # row order does not matter either
    weighted = BayesianGaussianMixture(**kwargs).fit(X[order], sample_weight=counts[order])
    repeated = BayesianGaussianMixture(**kwargs).fit(np.repeat(X, counts, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)
    assert_same_posterior(weighted, repeated, rtol=1e-10, atol=1e-12)


def test_unit_sample_weight_changes_nothing():
    X = three_blobs(n_per=30, seed=9)
    kwargs = dict(n_components=3, random_state=2, tol=1e-8, max_iter=1000)
    plain = BayesianGaussianMixture(**kwargs).fit(X)
    weighted = BayesianGaussianMixture(**kwargs).fit(X, sample_weight=np.ones(len(X)))
    assert_same_posterior(weighted, plain, rtol=1e-12, atol=1e-14)


def test_predictions_samples_and_round_trip(tmp_path):
    X = three_blobs(n_per=60, seed=10)
    model = BayesianGaussianMixture(n_components=5, random_state=0, max_iter=500).fit(X)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))
    np.testing.assert_array_equal(model.fit_predict(X), model.predict(X))
    np.testing.assert_allclose(model.log_prob(X), model.score_samples(X), rtol=0)
    samples, labels = model.sample(500, random_state=0)
    assert isinstance(model.sample(1), Sample)
    assert samples.shape == (500, 2) and labels.shape == (500,)
    path = tmp_path / "bgmm.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert isinstance(loaded, BayesianGaussianMixture)
    assert isinstance(loaded.weight_concentration_, tuple)
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        BayesianGaussianMixture().predict(np.zeros((2, 2)))


# --------------------------------------------------------------------------------------------------------------
# Bad hyperparameters
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"weight_concentration_prior_type": "dirichlet"}, "weight_concentration_prior_type must be one of"),
        ({"weight_concentration_prior": 0.0}, "weight_concentration_prior must be None or a finite number > 0"),
        ({"weight_concentration_prior": -1.0}, "weight_concentration_prior must be"),
        ({"weight_concentration_prior": "big"}, "weight_concentration_prior must be"),
        ({"mean_precision_prior": -0.5}, "mean_precision_prior must be None or a finite number > 0"),
        ({"mean_precision_prior": np.inf}, "mean_precision_prior must be"),
        ({"degrees_of_freedom_prior": -2.0}, "degrees_of_freedom_prior must be None or a finite number > 0"),
        ({"degrees_of_freedom_prior": 0.5}, r"degrees_of_freedom_prior must be > n_features - 1 = 1"),
        ({"mean_prior": [0.0, 0.0, 0.0]}, r"mean_prior must have shape \(2,\)"),
        ({"mean_prior": [0.0, np.nan]}, "mean_prior contains NaN"),
        ({"covariance_prior": np.eye(3)}, r"covariance_prior for covariance_type='full' must have shape \(2, 2\)"),
        ({"covariance_prior": [[1.0, 0.5], [0.0, 1.0]]}, "must be symmetric"),
        ({"covariance_prior": [[1.0, 2.0], [2.0, 1.0]]}, "must be positive definite"),
        ({"covariance_type": "tied", "covariance_prior": 1.0}, r"'tied' must have shape \(2, 2\)"),
        ({"covariance_type": "diag", "covariance_prior": [1.0, -1.0]}, "'diag' must be positive"),
        ({"covariance_type": "diag", "covariance_prior": np.eye(2)}, r"'diag' must have shape \(2,\)"),
        ({"covariance_type": "spherical", "covariance_prior": -1.0}, "'spherical' must be a single positive number"),
        ({"covariance_type": "spherical", "covariance_prior": [1.0, 1.0]}, "'spherical' must be a single positive"),
        ({"covariance_type": "cholesky"}, "covariance_type must be one of"),
        ({"n_components": 0}, "n_components must be an int >= 1"),
    ],
)
def test_bad_hyperparameters_raise(params, match):
    X = three_blobs(n_per=10, seed=0)
    model = BayesianGaussianMixture(**{"n_components": 2, **params})
    with pytest.raises(ParameterError, match=match):
        model.fit(X)


def test_default_covariance_prior_needs_two_samples():
    with pytest.raises(DataError, match="give covariance_prior explicitly"):
        BayesianGaussianMixture().fit(np.array([[1.0, 2.0]]))
    model = BayesianGaussianMixture(covariance_prior=np.eye(2), max_iter=5).fit(np.array([[1.0, 2.0]]))
    assert model.converged_
