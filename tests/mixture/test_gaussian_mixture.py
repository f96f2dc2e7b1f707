"""GaussianMixture: agreement with scikit-learn, streaming, monotone EM, recovery, MAP, weights, bad input."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

import genlab
from genlab.base import Sample
from genlab.data import ArrayChunks
from genlab.distributions import NormalGamma, NormalInverseWishart
from genlab.distributions.gaussian import gaussian_parameters_from_statistics, gaussian_statistics
from genlab.errors import ConvergenceWarning, DataError, DegenerateFitWarning, NotFittedError, ParameterError
from helpers import assert_monotone, mirrored_group, three_blobs

sk_mixture = pytest.importorskip("sklearn.mixture", reason="scikit-learn's mixture module is needed as the reference")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def initial_parameters(X: np.ndarray, covariance_type: str, n_components: int = 3, seed: int = 1):
    """Deliberately poor but valid initial parameters, shared by both implementations."""
    gen = np.random.default_rng(seed)
    D = X.shape[1]
    weights = gen.dirichlet(np.full(n_components, 5.0))
    means = X[gen.choice(len(X), n_components, replace=False)] + gen.normal(scale=0.5, size=(n_components, D))
    base = np.linalg.inv(np.cov(X, rowvar=False))
    precisions = {
        "full": np.stack([base * s for s in gen.uniform(0.5, 2.0, n_components)]),
        "tied": base,
        "diag": np.tile(np.diag(base), (n_components, 1)) * gen.uniform(0.5, 2.0, (n_components, 1)),
        "spherical": np.full(n_components, np.diag(base).mean()) * gen.uniform(0.5, 2.0, n_components),
    }[covariance_type]
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def assert_same_fit(ours, theirs, rtol=1e-5):
    np.testing.assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-6)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=rtol, atol=1e-8)
    np.testing.assert_allclose(ours.precisions_cholesky_ @ np.swapaxes(ours.precisions_cholesky_, -1, -2)
                               if ours.covariance_type in ("full", "tied") else ours.precisions_cholesky_ ** 2,
                               theirs.precisions_, rtol=rtol, atol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_matches_sklearn_from_same_initial_parameters(covariance_type):
    X = three_blobs(n_per=150, n_features=3)
    init = initial_parameters(X, covariance_type)
    kwargs = dict(covariance_type=covariance_type, tol=1e-9, max_iter=1000, **init)
    theirs = sk_mixture.GaussianMixture(n_components=3, **kwargs).fit(X)
    ours = genlab.GaussianMixture(n_components=3, **kwargs).fit(X)
    assert theirs.converged_ and ours.converged_
    assert_same_fit(ours, theirs)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-6)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-6)
    assert ours.n_parameters == theirs._n_parameters()


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_same_seed_gives_sklearns_result(init_params):
    X = three_blobs(n_per=100, seed=4)
    # n_init=1: with several restarts that reach the same optimum, which one wins depends on the last bits of equal
    # lower bounds (and so does the component order); test_n_init_keeps_the_best_restart covers restarts
    kwargs = dict(init_params=init_params, random_state=3, n_init=1, tol=1e-10, max_iter=1000)
    theirs = sk_mixture.GaussianMixture(n_components=3, **kwargs).fit(X)
    ours = genlab.GaussianMixture(n_components=3, **kwargs).fit(X)
    if init_params != "random":
        # "random" starts every component near the data mean, a saddle that rounding differences leave at
        # slightly different iterations; the optimum reached is the same
        assert ours.n_iter_ == theirs.n_iter_
    assert_same_fit(ours, theirs)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_streaming_over_ten_chunks_equals_full_batch(covariance_type):
    X = three_blobs(n_per=100, seed=2)
    init = initial_parameters(X, covariance_type)
    kwargs = dict(n_components=3, covariance_type=covariance_type, tol=0.0, max_iter=30, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = genlab.GaussianMixture(**kwargs).fit(X)
        chunks = np.array_split(X, 10)
        streamed = genlab.GaussianMixture(**kwargs).fit(chunks)
        from_function = genlab.GaussianMixture(**kwargs).fit(lambda: iter(chunks))
    for other in (streamed, from_function):
        np.testing.assert_allclose(other.lower_bounds_, full.lower_bounds_, rtol=1e-10)
        np.testing.assert_allclose(other.means_, full.means_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(other.covariances_, full.covariances_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(other.weights_, full.weights_, rtol=1e-10)


def test_streaming_from_npy_file_with_weights(tmp_path):
    X = three_blobs(n_per=100, seed=5)
    w = np.random.default_rng(0).uniform(0.5, 1.5, len(X))
    init = initial_parameters(X, "full")
    kwargs = dict(n_components=3, tol=1e-10, max_iter=200, **init)
    full = genlab.GaussianMixture(**kwargs).fit(X, sample_weight=w)
    streamed = genlab.GaussianMixture(**kwargs).fit(ArrayChunks(X, 37, sample_weight=w))
    np.testing.assert_allclose(streamed.means_, full.means_, rtol=1e-10)
    path = tmp_path / "x.npy"
    np.save(path, X)
    from_disk = genlab.GaussianMixture(**kwargs).fit(genlab.data.NpyChunks(path, chunk_size=64))
    unweighted = genlab.GaussianMixture(**kwargs).fit(X)
    np.testing.assert_allclose(from_disk.covariances_, unweighted.covariances_, rtol=1e-10)


def test_one_shot_generator_is_refused():
    X = three_blobs(n_per=20)
    with pytest.raises(DataError, match="one-shot iterator"):
        genlab.GaussianMixture(n_components=2).fit(chunk for chunk in np.array_split(X, 3))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_em_objective_never_decreases(covariance_type, seed):
    gen = np.random.default_rng(seed)
    X = np.vstack([three_blobs(n_per=80, seed=seed), gen.normal(scale=4, size=(60, 2))])  # overlapping clusters
    w = gen.uniform(0.2, 3.0, len(X))
    for kwargs in ({}, {"sample_weight": w}):
        model = genlab.GaussianMixture(
            n_components=5, covariance_type=covariance_type, init_params="random", random_state=seed,
            tol=1e-10, max_iter=300,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, **kwargs)
        bounds = model.lower_bounds_
        assert len(bounds) > 5
        assert_monotone(bounds, what="EM log-likelihood")


def test_map_objective_never_decreases_and_prior_shrinks():
    X = three_blobs(n_per=60, seed=8, n_features=3)
    D = X.shape[1]
    prior = NormalInverseWishart(mean=X.mean(axis=0), kappa=5.0, dof=D + 2.0, scale=np.eye(D) * 3.0)
    model = genlab.GaussianMixture(
        n_components=3, component_prior=prior, weight_concentration_prior=2.0, random_state=0, tol=1e-10,
        max_iter=500,
    ).fit(X)
    assert_monotone(model.lower_bounds_, what="MAP-EM objective")
    mle = genlab.GaussianMixture(n_components=3, random_state=0, tol=1e-10, max_iter=500).fit(X)
    # the prior pulls every mean towards the prior mean
    order = optimize.linear_sum_assignment(-mle.means_ @ model.means_.T)[1]
    assert np.all(
        np.linalg.norm(model.means_[order] - prior.mean, axis=1) < np.linalg.norm(mle.means_ - prior.mean, axis=1)
    )
    for covariance_type in ("diag", "spherical"):
        ng = NormalGamma(mean=np.zeros(D), kappa=1.0, shape=2.0, rate=1.0)
        fitted = genlab.GaussianMixture(
            n_components=3, covariance_type=covariance_type, component_prior=ng, random_state=0, tol=1e-10,
            max_iter=500,
        ).fit(X)
        assert_monotone(fitted.lower_bounds_, what=f"MAP-EM objective ({covariance_type})")


def test_map_with_one_component_equals_gaussian_closed_form():
    X = three_blobs(n_per=30, seed=3, n_features=3)
    prior = NormalInverseWishart(mean=np.ones(3), kappa=2.0, dof=6.0, scale=np.eye(3))
    model = genlab.GaussianMixture(n_components=1, component_prior=prior, reg_covar=0.0, tol=1e-12).fit(X)
    reference = genlab.distributions.Gaussian.fit(X, prior=prior)
    np.testing.assert_allclose(model.means_[0], reference.mean, rtol=1e-10)
    np.testing.assert_allclose(model.covariances_[0], reference.covariance, rtol=1e-10)


def test_recovers_known_mixture_up_to_permutation():
    truth = genlab.GaussianMixture(n_components=3)
    truth.weights_ = np.array([0.5, 0.3, 0.2])
    truth.means_ = np.array([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]])
    truth.covariances_ = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.2]], [[0.8, 0.0], [0.0, 0.8]]])
    truth.precisions_cholesky_ = genlab.distributions.gaussian.precisions_cholesky_from_covariances(
        truth.covariances_, "full"
    )
    truth.n_features_in_ = 2
    sample = truth.sample(20_000, random_state=0)
    assert isinstance(sample, Sample)  # (data, latent) that unpacks like scikit-learn's (X, labels)
    X, labels = sample
    fitted = genlab.GaussianMixture(n_components=3, random_state=0, n_init=2).fit(X)
    cost = np.linalg.norm(truth.means_[:, None] - fitted.means_[None], axis=2)
    _, cols = optimize.linear_sum_assignment(cost)
    np.testing.assert_allclose(fitted.means_[cols], truth.means_, atol=0.05)
    np.testing.assert_allclose(fitted.weights_[cols], truth.weights_, atol=0.015)
    np.testing.assert_allclose(fitted.covariances_[cols], truth.covariances_, atol=0.06)
    # the sampled labels follow the weights
    assert stats.chisquare(np.bincount(labels, minlength=3), 20_000 * truth.weights_).pvalue > 1e-4


def test_samples_agree_with_log_prob_in_one_dimension():
    """Samples of a fitted 1-D mixture pass a KS test against the CDF integrated from exp(log_prob)."""
    gen = np.random.default_rng(0)
    X = np.concatenate([gen.normal(-3, 1, 400), gen.normal(2, 0.5, 600)])[:, None]
    model = genlab.GaussianMixture(n_components=2, random_state=0).fit(X)
    grid = np.linspace(-12, 10, 20_001)
    density = np.exp(model.log_prob(grid[:, None]))
    assert integrate.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-6)
    cdf_values = integrate.cumulative_trapezoid(density, grid, initial=0.0)
    samples, _ = model.sample(5000, random_state=1)
    pvalue = stats.kstest(samples[:, 0], lambda v: np.interp(v, grid, cdf_values)).pvalue
    assert pvalue > 1e-4


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_integer_sample_weight_equals_repeated_rows(covariance_type, init_params):
    """From the same seed, with no initial parameters given: the initialisation sees the distinct rows and their
    total weight either way, so the two fits are one fit."""
    X = three_blobs(n_per=40, seed=6)
    counts = np.random.default_rng(1).integers(0, 4, len(X))  # zeros included: those rows are removed
    kwargs = dict(n_components=3, covariance_type=covariance_type, init_params=init_params, random_state=0,
                  tol=1e-12, max_iter=500)  # fmt: skip
    order = np.random.default_rng(2).permutation(len(X))
    weighted = genlab.GaussianMixture(**kwargs).fit(X[order], sample_weight=counts[order])
    repeated = genlab.GaussianMixture(**kwargs).fit(np.repeat(X, counts, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-10, atol=1e-13)
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-12)


def test_unweighted_data_without_repeats_initialises_like_scikit_learn():
    # the distinct-rows initialisation applies only to weighted or repeated data: unit weights change nothing
    X = three_blobs(n_per=40, seed=11)
    plain = genlab.GaussianMixture(n_components=3, random_state=4, max_iter=0).fit(X)
    unit = genlab.GaussianMixture(n_components=3, random_state=4, max_iter=0).fit(X, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(plain.means_, unit.means_)
    sklearn_mixture = pytest.importorskip("sklearn.mixture")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        theirs = sklearn_mixture.GaussianMixture(n_components=3, random_state=4, max_iter=1).fit(X)
        ours = genlab.GaussianMixture(n_components=3, random_state=4, max_iter=1).fit(X)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-10)


def test_map_objective_is_the_log_posterior_of_the_e_step_parameters():
    # lower_bound_ = (sum log p(x | theta) + log p(theta)) / N at the parameters the last E-step used
    X = three_blobs(n_per=30, seed=12)
    prior = NormalInverseWishart(np.zeros(2), 0.5, 4.0, np.eye(2))
    model = genlab.GaussianMixture(n_components=3, component_prior=prior, weight_concentration_prior=2.0,
                                   random_state=0, max_iter=5, tol=0.0)  # fmt: skip
    with pytest.warns(ConvergenceWarning):
        model.fit(X)
    one_more = copy_with(model, warm_start=True, max_iter=1)
    before = one_more.get_params()
    with pytest.warns(ConvergenceWarning):
        one_more.fit(X)
    assert one_more.get_params() == before
    expected = (np.sum(model.log_prob(X)) + model._log_prior()) / len(X)
    assert one_more.lower_bound_ == pytest.approx(expected, rel=1e-12)
    assert_monotone(model.lower_bounds_, what="MAP-EM objective")


def copy_with(model, **params):
    other = copy.deepcopy(model)
    other.set_params(**params)
    return other


def test_distributed_fit_sums_statistics_like_a_second_process(monkeypatch):
    """Two ranks holding the same shard equal one process fitting the data twice over (the all-reduce path)."""
    X = three_blobs(n_per=50, seed=7)
    init = initial_parameters(X, "diag")
    kwargs = dict(n_components=3, covariance_type="diag", tol=1e-10, max_iter=300, **init)
    group = mirrored_group(monkeypatch)
    mirrored = genlab.GaussianMixture(**kwargs).fit(X, distributed=True)
    doubled = genlab.GaussianMixture(**kwargs).fit(np.vstack([X, X]))
    assert group.n_all_reduce == mirrored.n_iter_
    np.testing.assert_allclose(mirrored.means_, doubled.means_, rtol=1e-10)
    assert mirrored.lower_bound_ == pytest.approx(doubled.lower_bound_, rel=1e-12)


def test_warm_start_continues_from_previous_fit():
    X = three_blobs(n_per=60, seed=9)
    model = genlab.GaussianMixture(
        n_components=3, warm_start=True, max_iter=2, tol=0.0, random_state=0, init_params="random"
    )
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model.fit(X)
    first_means = model.means_.copy()
    with pytest.warns(ConvergenceWarning):
        model.fit(X)
    reference = genlab.GaussianMixture(n_components=3, max_iter=4, tol=0.0, random_state=0, init_params="random")
    with pytest.warns(ConvergenceWarning):
        reference.fit(X)
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-12)
    assert np.abs(first_means - model.means_).max() > 1e-3


def test_n_init_keeps_the_best_restart():
    X = three_blobs(n_per=50, seed=10)
    best = genlab.GaussianMixture(n_components=4, init_params="random", n_init=4, random_state=5).fit(X)
    shared = np.random.RandomState(5)
    bounds = []
    for _ in range(4):
        m = genlab.GaussianMixture(n_components=4, init_params="random", random_state=shared)
        bounds.append(m.fit(X).lower_bound_)
    assert best.lower_bound_ == pytest.approx(max(bounds), rel=1e-12)


def test_degenerate_duplicate_points_finish_without_nan_and_warn():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, -2.0]]), 30, axis=0)
    with pytest.warns(DegenerateFitWarning, match="collapsed"):
        model = genlab.GaussianMixture(n_components=3, random_state=0).fit(X)
    assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model.covariances_))
    assert np.all(np.isfinite(model.log_prob(X)))
    assert np.isfinite(model.lower_bound_)


def test_degenerate_without_floor_finishes_without_nan_and_warns():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, -2.0], [3.0, 3.0]]), 10, axis=0)
    for covariance_type in COVARIANCE_TYPES:
        with pytest.warns(DegenerateFitWarning):
            model = genlab.GaussianMixture(
                n_components=4, covariance_type=covariance_type, reg_covar=0.0, random_state=0, max_iter=50
            ).fit(X)
        assert np.all(np.isfinite(model.covariances_)) and np.isfinite(model.lower_bound_)
        assert np.all(np.isfinite(model.log_prob(X)))


def test_empty_component_keeps_parameters_and_warns():
    X = three_blobs(n_per=50, seed=11)
    far = np.array([[1000.0, 1000.0], [-1000.0, 1000.0]])
    init = {"means_init": np.vstack([X[:1], X[60:61], X[120:121], far]),
            "weights_init": np.full(5, 0.2), "precisions_init": np.tile(np.eye(2), (5, 1, 1))}
    with pytest.warns(DegenerateFitWarning, match="no data"):
        model = genlab.GaussianMixture(n_components=5, tol=1e-8, **init).fit(X)
    np.testing.assert_allclose(model.means_[3:], far)
    assert np.all(np.isfinite(model.log_prob(X)))


def test_sklearn_tools_clone_get_params_grid_search():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = genlab.GaussianMixture(n_components=2, covariance_type="diag", random_state=0)
    params = model.get_params()
    assert params["n_components"] == 2 and params["covariance_type"] == "diag"
    copy = clone(model)
    assert copy.get_params() == params and copy is not model
    X = three_blobs(n_per=60, seed=12)
    folds = KFold(n_splits=3, shuffle=True, random_state=0)
    search = GridSearchCV(genlab.GaussianMixture(random_state=0), {"n_components": [1, 2, 3, 4]}, cv=folds).fit(X)
    assert search.best_params_["n_components"] >= 3
    pipeline = make_pipeline(StandardScaler(), genlab.GaussianMixture(n_components=3, random_state=0)).fit(X)
    assert np.isfinite(pipeline.score(X))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_save_load_round_trip_is_exact(tmp_path, covariance_type):
    X = three_blobs(n_per=40, seed=13)
    model = genlab.GaussianMixture(n_components=3, covariance_type=covariance_type, random_state=0).fit(X)
    path = tmp_path / "model.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is genlab.GaussianMixture
    assert loaded.get_params() == model.get_params()
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    assert loaded.lower_bound_ == model.lower_bound_ and loaded.n_iter_ == model.n_iter_
    np.testing.assert_array_equal(loaded.log_prob(X), model.log_prob(X))
    np.testing.assert_array_equal(loaded.sample(10, random_state=0)[0], model.sample(10, random_state=0)[0])


def test_save_load_with_priors_and_initial_parameters(tmp_path):
    X = three_blobs(n_per=40, seed=14)
    prior = NormalInverseWishart(mean=np.zeros(2), kappa=1.0, dof=4.0, scale=np.eye(2))
    model = genlab.GaussianMixture(n_components=3, component_prior=prior, weight_concentration_prior=1.5,
                                   random_state=0, **initial_parameters(X, "full")).fit(X)
    model.save(tmp_path / "m.genlab")
    loaded = genlab.load(tmp_path / "m.genlab")
    np.testing.assert_array_equal(loaded.component_prior.scale, prior.scale)
    np.testing.assert_array_equal(loaded.means_init, model.means_init)
    np.testing.assert_array_equal(loaded.log_prob(X), model.log_prob(X))


def test_not_fitted():
    model = genlab.GaussianMixture(n_components=2)
    for call in (lambda: model.log_prob([[0.0]]), lambda: model.sample(3), lambda: model.predict([[0.0]])):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    with pytest.raises(SklearnNotFittedError):
        model.score([[0.0]])


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), {}, DataError, "NaN or inf"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), {}, DataError, "NaN or inf"),
        (np.arange(10.0), {}, DataError, "1-D"),
        (np.zeros((0, 2)), {}, DataError, "0 rows"),
        (np.zeros((2, 2)), {"n_components": 3}, DataError, "2 samples but n_components=3"),
        (np.random.default_rng(0).normal(size=(20, 2)), {"n_components": 0}, ParameterError, "n_components"),
        (np.random.default_rng(0).normal(size=(20, 2)), {"covariance_type": "banana"}, ParameterError, "full"),
        (np.random.default_rng(0).normal(size=(20, 2)), {"tol": -1.0}, ParameterError, "tol"),
        (np.random.default_rng(0).normal(size=(20, 2)), {"init_params": "zeros"}, ParameterError, "init_params"),
        (np.random.default_rng(0).normal(size=(20, 2)), {"means_init": np.zeros((2, 3))}, ParameterError,
         "means_init"),
        (np.random.default_rng(0).normal(size=(20, 2)), {"weights_init": [0.7, 0.7]}, ParameterError,
         "sum to 1"),
        (np.random.default_rng(0).normal(size=(20, 2)), {"precisions_init": -np.ones((2, 2, 2))}, ParameterError,
         "precisions_init"),
        ([["a", "b"], ["c", "d"]], {}, DataError, "numeric"),
    ],
)
def test_bad_fit_input(data, kwargs, error, match):
    params = {"n_components": 2, **kwargs}
    with pytest.raises(error, match=match):
        genlab.GaussianMixture(**params).fit(data)


def test_bad_sample_weight_and_score_input():
    X = three_blobs(n_per=20)
    with pytest.raises(DataError, match="negative"):
        genlab.GaussianMixture(n_components=2).fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(DataError, match="shape"):
        genlab.GaussianMixture(n_components=2).fit(X, sample_weight=np.ones(3))
    with pytest.raises(DataError, match="all zero"):
        genlab.GaussianMixture(n_components=2).fit(X, sample_weight=np.zeros(len(X)))
    model = genlab.GaussianMixture(n_components=2, random_state=0).fit(X)
    with pytest.raises(DataError, match="X has 3 features, but GaussianMixture is expecting 2 features"):
        model.score(np.zeros((4, 3)))
    with pytest.raises(DataError, match="NaN"):
        model.predict([[np.nan, 0.0]])
    with pytest.raises(ParameterError, match="n_samples"):
        model.sample(0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_prior_per_component(tmp_path, covariance_type):
    X = three_blobs(n_per=40, seed=13)
    K, D = 3, X.shape[1]
    centers = np.array([[-5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    if covariance_type in ("full", "tied"):
        prior = NormalInverseWishart(centers, np.array([1.0, 5.0, 20.0]), 4.0, np.eye(D))
    else:
        prior = NormalGamma(centers, np.array([1.0, 5.0, 20.0]), 2.0, 1.0)
    model = genlab.GaussianMixture(n_components=K, covariance_type=covariance_type, component_prior=prior,
                                   random_state=0, tol=1e-10, max_iter=300).fit(X)  # fmt: skip
    assert_monotone(model.lower_bounds_, what="MAP-EM objective")
    # at convergence the parameters are the MAP update of their own responsibilities, component by component
    resp = model.predict_proba(X)
    stats = gaussian_statistics(X, resp, covariance_type, center=X.mean(axis=0))
    means, covariances = gaussian_parameters_from_statistics(stats, model.reg_covar, prior=prior)
    np.testing.assert_allclose(model.means_, means, rtol=1e-5, atol=1e-4)  # EM stopped at tol, near the fixed point
    np.testing.assert_allclose(model.covariances_, covariances, rtol=1e-5, atol=1e-4)
    path = tmp_path / "map.genlab"
    model.save(path)
    loaded = genlab.load(path)
    np.testing.assert_array_equal(loaded.component_prior.kappa, prior.kappa)
    np.testing.assert_array_equal(loaded.log_prob(X), model.log_prob(X))
    with pytest.raises(ParameterError, match="a batch of n_components=3"):
        bad = NormalGamma(np.zeros((2, D)), 1.0, 2.0, 1.0) if covariance_type in ("diag", "spherical") else \
            NormalInverseWishart(np.zeros((2, D)), 1.0, 4.0, np.eye(D))  # fmt: skip
        genlab.GaussianMixture(n_components=K, covariance_type=covariance_type, component_prior=bad).fit(X)
