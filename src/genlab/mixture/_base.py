"""What Gaussian mixtures fitted by EM and by variational Bayes share: data handling, initialisation, scoring."""

from __future__ import annotations

import abc
import numbers
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

from genlab.base import GenerativeModel, Sample, check_is_fitted, check_vectors
from genlab.data.batches import ArrayChunks, as_batch_source, is_streaming_input
from genlab.distributions.gaussian import (
    COVARIANCE_TYPES,
    covariances_from_precisions_cholesky,
    gaussian_fit_bytes,
    gaussian_log_prob,
    gaussian_statistics,
    log_det_cholesky,
    log_prob_from_features,
    quadratic_features,
    quadratic_form_weights,
    statistics_from_features,
)
from genlab.errors import DataError, DegenerateFitWarning, ParameterError
from genlab.learn.em import fit_em
from genlab.utils.random import check_random_state, legacy_random_state
from genlab.utils.validation import (
    check_finite_fit,
    check_in,
    check_memory,
    check_positive_int,
    check_sample_weight,
    check_square_scale,
)

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")

#: Rows per E-step chunk for in-memory data: large enough for efficient BLAS calls, small enough that the
#: (chunk, K) responsibilities and (chunk, D) temporaries stay in cache and peak memory stays near the data's size.
_CHUNK_ROWS = 4096


def logsumexp_rows(a: np.ndarray) -> np.ndarray:
    """``log(sum(exp(a), axis=1))`` for a (N, K) array, stable for large and ``-inf`` entries."""
    peak = a.max(axis=1)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(under="ignore"):
        return np.log(np.exp(a - peak[:, np.newaxis]).sum(axis=1)) + peak


class MixtureSource:
    """A mixture's batch source: the data's ``(X, sample_weight)`` batches, and what initialisation reads.

    ``inner`` is the :class:`~genlab.data.batches.ArrayChunks` of in-memory data or the streaming source.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        return iter(self.inner)

    def first(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows initialisation draws from: all in-memory data, or a stream's first batch."""
        if isinstance(self.inner, ArrayChunks):
            return self.inner.X, self.inner.sample_weight
        return self.inner.first()


def _has_repeated_rows(X: np.ndarray) -> bool:
    """Whether two rows of ``X`` are equal: one sort of a projection, and an exact check only on a collision."""
    projection = X @ np.sqrt(np.arange(2, X.shape[1] + 2))  # square roots of distinct integers: independent
    if np.unique(projection).size == X.shape[0]:
        return False
    return np.unique(X, axis=0).shape[0] < X.shape[0]


def initialisation_points(
    X: np.ndarray, sample_weight: np.ndarray | None, n_components: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The points an initialisation draws from, so that integer weights and repeated rows start alike.

    k-means on a row of weight 3 and k-means on three copies of it differ (the copies shift the random draws and
    the row order), so when rows carry weights other than 1 or repeat, initialisation runs on the distinct rows in
    sorted order with their total weight; rows of weight 0 never take part. Data without weights and without
    repeated rows (the common case) is used as it is, which keeps scikit-learn's initialisation for the same seed.

    Returns
    -------
    points : ndarray of shape (n_points, D)
    point_weight : ndarray of shape (n_points,) or None (every point weighs 1)
    assign : ndarray of int of shape (n_samples,), or None when the points are the rows of ``X`` themselves
        The point each row of ``X`` is; -1 for rows of weight 0.
    """
    kept = None if sample_weight is None or np.all(sample_weight > 0) else np.flatnonzero(sample_weight > 0)
    rows = X if kept is None else X[kept]
    weights = None if sample_weight is None else (sample_weight if kept is None else sample_weight[kept])
    unit = weights is None or bool(np.all(weights == 1.0))
    if unit and not _has_repeated_rows(rows):
        if kept is None:
            return X, None, None
        assign = np.full(X.shape[0], -1, dtype=np.int64)
        assign[kept] = np.arange(kept.size)
        return rows, None, assign
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    if distinct.shape[0] < n_components:
        # fewer distinct points than components: a degenerate fit, initialised on the rows as given
        return X, sample_weight, None
    inverse = inverse.reshape(-1)
    assign = np.full(X.shape[0], -1, dtype=np.int64)
    assign[np.arange(X.shape[0]) if kept is None else kept] = inverse
    return distinct, np.bincount(inverse, weights=weights, minlength=distinct.shape[0]), assign


class BaseGaussianMixture(GenerativeModel, abc.ABC):
    """Shared machinery of :class:`~genlab.GaussianMixture` and :class:`~genlab.BayesianGaussianMixture`.

    Subclasses implement the EM protocol's M-step, objective and parameter snapshot (see
    :mod:`genlab.learn.em`), plus ``_estimate_log_weights`` and ``_component_log_prob``.
    """

    data_kind: ClassVar[str] = "vectors"

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # -- validation ------------------------------------------------------------------------------------------------
    def _check_common_parameters(self) -> None:
        check_positive_int(self.n_components, "n_components")
        check_in(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_in(self.init_params, "init_params", INIT_PARAMS)
        check_positive_int(self.max_iter, "max_iter", minimum=0)
        check_positive_int(self.n_init, "n_init")
        for name in ("tol", "reg_covar"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
                raise ParameterError(f"{name} must be a finite number >= 0; got {value!r}.")

    def _check_parameters(self, n_features: int) -> None:
        """Check hyperparameters that depend on the number of features (subclasses extend)."""

    def _validate_batch(self, X: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray | None]:
        X = check_vectors(self, X, reset=False, name="batch")
        check_square_scale(X, name="batch", model=type(self).__name__)
        return X, check_sample_weight(sample_weight, X.shape[0])

    def _check_fit_size(self, n_rows: int, n_features: int) -> None:
        """Refuse, before anything is allocated, a fit whose covariances and E-step features cannot fit in memory.

        "full" / "tied" covariances hold D x D matrices and the E-step D (D + 1) / 2 products per row: 2 rows of
        200,000 features (a transposed array, most likely) would ask for hundreds of GiB.
        """
        K, kind = self.n_components, self.covariance_type
        need = gaussian_fit_bytes(min(n_rows, _CHUNK_ROWS), n_features, K, kind)
        check_memory(
            need,
            what=f"{K} component(s) with {kind!r} covariances over {n_features} features",
            remedy=(
                "check that each row of X is one sample (transpose it if the samples are columns), or use "
                "covariance_type='diag' or 'spherical', or reduce the features (e.g. PCA) or n_components."
            ),
            error=DataError,
        )
    def _continues(self) -> bool:
        """Whether this fit continues the previous one (``warm_start`` on a fitted model)."""
        return bool(self.warm_start) and hasattr(self, "monitor_")

    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None, *, callback: Any = None, distributed: bool = False
    ) -> BaseGaussianMixture:
        """Estimate the parameters by EM (the best of ``n_init`` restarts).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a source of batches
            In-memory data, or for a streaming fit a list of arrays / ``(X, sample_weight)`` pairs, a
            :class:`genlab.data.NpyChunks`, or a function returning a fresh iterator of batches. A streaming fit
            initialises from the first batch and equals the full-batch fit from the same initial parameters.
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each sample (an integer weight counts as that many copies).
        callback : callable, optional
            Called after every EM iteration with a :class:`genlab.learn.EMProgress`; returning ``True`` stops.
        distributed : bool, default False
            ``X`` is this process's shard of the data in a ``torch.distributed`` job launched by ``torchrun``
            (:mod:`genlab.distributed`): the lowest rank holding data initialises (k-means on its shard, or the
            given ``means_init`` ...), the statistics are summed across processes every iteration, and every rank
            ends with the same parameters. A shard may be empty (an array of shape (0, n_features)).

        Returns
        -------
        self
        """
        self._check_common_parameters()
        fit_em(
            self, X, sample_weight=sample_weight, n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
            random_state=legacy_random_state(self.random_state), warm_start=self.warm_start, verbose=self.verbose,
            verbose_interval=self.verbose_interval, distributed=distributed, callback=callback,
        )  # fmt: skip
        check_finite_fit(self._fitted_values(), model=type(self).__name__)
        self._warn_degenerate_components()
        return self

    def _fitted_values(self) -> dict[str, Any]:
        """The fitted parameters and objective that must be finite when a fit returns (subclasses extend).

        ``lower_bound_`` is ``-inf`` after ``max_iter=0`` (no iteration ran: scikit-learn's convention); only NaN
        or ``+inf`` there is an error.
        """
        values = {name: getattr(self, name) for name in ("weights_", "means_", "covariances_", "precisions_cholesky_")}
        if self.lower_bound_ != -np.inf:
            values["lower_bound_"] = self.lower_bound_
        return values

    # -- EM protocol: data ----------------------------------------------------------------------------------------
    def _em_source(self, X: Any, fit: Any, sample_weight: Any = None) -> tuple[Any, int]:
        """A batch source and the number of features; validates in-memory data once."""
        if not self._continues():
            self.__dict__.pop("n_features_in_", None)  # a fresh fit takes the data's width
        if is_streaming_input(X):
            source = as_batch_source(X, validate=self._validate_batch, sample_weight=sample_weight)
            first, _ = source.first()
            self._check_fit_size(first.shape[0], first.shape[1])
            return MixtureSource(source), first.shape[1]
        X = check_vectors(self, X, reset=not self._continues())
        check_square_scale(X, model=type(self).__name__)
        self._check_fit_size(X.shape[0], X.shape[1])
        if X.shape[0] < self.n_components:
            raise DataError(
                f"X has {X.shape[0]} samples but n_components={self.n_components}; each component needs at least "
                "one sample: lower n_components or supply more data."
            )
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if sample_weight is not None and np.count_nonzero(sample_weight) < self.n_components:
            raise DataError(
                f"only {np.count_nonzero(sample_weight)} samples have a positive sample_weight but "
                f"n_components={self.n_components}; lower n_components."
            )
        return MixtureSource(ArrayChunks(X, _CHUNK_ROWS, sample_weight)), X.shape[1]

    def _em_data_defaults(self, source: Any, fit: Any) -> None:
        """Check the hyperparameters that depend on the number of features (subclasses resolve priors here)."""
        self._check_parameters(self.n_features_in_)

    def _warn_degenerate_components(self) -> None:
        """Warn about components that ended empty or collapsed onto the ``reg_covar`` floor."""
        total = float(np.sum(self.weights_))
        empty = np.flatnonzero(self.weights_ < 1e-10 * total)
        if empty.size:
            warnings.warn(
                f"component(s) {empty.tolist()} ended with no data (weight < 1e-10); they keep their last "
                "parameters. Lower n_components or change the initialisation.",
                DegenerateFitWarning,
                stacklevel=4,
            )
        self._warn_collapsed_components("remove duplicates, lower n_components or raise reg_covar")

    def _warn_collapsed_components(self, remedy: str) -> None:
        """Warn about components whose covariance sits on the ``reg_covar`` floor in some direction."""
        if self.reg_covar <= 0:
            return
        collapsed = np.flatnonzero(self._smallest_variances() <= 1.001 * self.reg_covar)
        if collapsed.size:
            warnings.warn(
                f"component(s) {collapsed.tolist()} collapsed onto duplicate points or a lower-dimensional set: "
                f"their covariance is the reg_covar floor ({self.reg_covar:g}) in some direction; {remedy}.",
                DegenerateFitWarning,
                stacklevel=4,
            )

    def _smallest_variances(self) -> np.ndarray:
        covariances = self.covariances_
        if self.covariance_type == "full":
            return np.array([np.linalg.eigvalsh(c)[0] for c in covariances])
        if self.covariance_type == "tied":
            return np.full(self.n_components, np.linalg.eigvalsh(covariances)[0])
        if self.covariance_type == "diag":
            return covariances.min(axis=1)
        return covariances

    # -- initialisation --------------------------------------------------------------------------------------------
    def _initial_responsibilities(
        self, X: np.ndarray, sample_weight: np.ndarray | None, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Responsibilities (N, K) to start from, drawn exactly as scikit-learn draws them for the same seed."""
        n_samples = X.shape[0]
        if n_samples < self.n_components:
            raise DataError(
                f"the first batch has {n_samples} rows but n_components={self.n_components}; initialisation needs "
                "at least one row per component (use larger batches or give means_init)."
            )
        points, point_weight, assign = initialisation_points(X, sample_weight, self.n_components)
        n_points = points.shape[0]
        point_resp = np.zeros((n_points, self.n_components))
        if self.init_params == "kmeans":
            labels = (
                KMeans(n_clusters=self.n_components, n_init=1, random_state=random_state)
                .fit(points, sample_weight=point_weight)
                .labels_
            )
            point_resp[np.arange(n_points), labels] = 1.0
        elif self.init_params == "random":
            point_resp = random_state.uniform(size=(n_points, self.n_components))
            point_resp /= point_resp.sum(axis=1)[:, np.newaxis]
        elif self.init_params == "random_from_data":
            # scikit-learn's uniform draw over the rows; over distinct points, in proportion to their weight
            p = None if point_weight is None else point_weight / point_weight.sum()
            indices = random_state.choice(n_points, size=self.n_components, replace=False, p=p)
            point_resp[indices, np.arange(self.n_components)] = 1.0
        else:  # k-means++
            _, indices = kmeans_plusplus(
                points, self.n_components, random_state=random_state, sample_weight=point_weight
            )
            point_resp[indices, np.arange(self.n_components)] = 1.0
        if assign is None:
            resp = point_resp
        else:
            resp = np.where((assign >= 0)[:, np.newaxis], point_resp[np.maximum(assign, 0)], 0.0)
        if sample_weight is not None:
            resp *= sample_weight[:, np.newaxis]
        return resp

    def _initial_statistics(self, source: MixtureSource, random_state: np.random.RandomState) -> Any:
        """Statistics of the initial responsibilities: of all in-memory data, or of a stream's first batch."""
        X, sample_weight = source.first()
        resp = self._initial_responsibilities(X, sample_weight, random_state)
        center = np.average(X, axis=0, weights=sample_weight)
        return gaussian_statistics(X, resp, self.covariance_type, center=center), X.shape[0]

    # -- scoring ---------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def _estimate_log_weights(self) -> np.ndarray:
        """Log mixing weights (K,) used in the E-step."""

    def _component_log_prob_offset(self) -> np.ndarray | float:
        """Added to every ``log N(x | mean_k, cov_k)``: 0 here; variational models turn it into an expectation."""
        return 0.0

    def _component_log_prob(self, X: np.ndarray) -> np.ndarray:
        """``log p(x | component k)`` (or its expectation for variational models); shape (N, K)."""
        log_prob = gaussian_log_prob(X, self.means_, self.precisions_cholesky_, self.covariance_type)
        return log_prob + self._component_log_prob_offset()

    def _weighted_log_prob(self, X: np.ndarray) -> np.ndarray:
        return self._component_log_prob(X) + self._estimate_log_weights()

    def _check_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "means_")
        return check_vectors(self, X, reset=False)

    def _stats_center(self) -> np.ndarray:
        # The current mixture mean: fixed during one pass, so every batch's moments share it.
        return (self.weights_ / self.weights_.sum()) @ self.means_

    def _em_e_step(self, X: np.ndarray, sample_weight: np.ndarray | None) -> tuple[Any, float, float]:
        # Densities and moments come from the same quadratic features of the centred batch: two GEMMs with K
        # columns per batch (see genlab.distributions.gaussian.quadratic_features).
        center = self._stats_center()
        features = quadratic_features(X - center, self.covariance_type)
        weighted = self._weighted_log_prob_from_features(features, center)
        log_norm = logsumexp_rows(weighted)
        weighted -= log_norm[:, np.newaxis]  # now log responsibilities
        per_sample = self._e_step_value(log_norm, weighted)
        with np.errstate(under="ignore"):
            resp = np.exp(weighted, out=weighted)
        if sample_weight is None:
            value, weight = float(per_sample.sum()), float(X.shape[0])
        else:
            resp *= sample_weight[:, np.newaxis]
            value, weight = float(sample_weight @ per_sample), float(sample_weight.sum())
        stats = statistics_from_features(features, resp, self.covariance_type, center)
        return stats, value, weight

    def _em_pass_term(self) -> float:
        """Added once per E-step pass to the objective by the EM driver, at the parameters of that pass (0 here; a
        MAP fit's log prior)."""
        return 0.0

    def _e_step_value(self, log_norm: np.ndarray, log_resp: np.ndarray) -> np.ndarray:
        """The per-sample quantity the E-step sums for the objective: here the log-likelihood ``log p(x_n)``."""
        return log_norm

    def _weighted_log_prob_from_features(self, features: np.ndarray, center: np.ndarray) -> np.ndarray:
        """``log w_k + log p(x | k)`` (N, K) from quadratic features of data shifted by ``center``."""
        shifted_means = self.means_ - center
        weights, constant = quadratic_form_weights(shifted_means, self.precisions_cholesky_, self.covariance_type)
        log_det = log_det_cholesky(self.precisions_cholesky_, self.covariance_type, self.n_features_in_)
        log_prob = log_prob_from_features(features, weights, constant, log_det, self.n_features_in_)
        log_prob += self._estimate_log_weights() + self._component_log_prob_offset()
        return log_prob

    def _em_initialize(self, source: Any, fit: Any) -> None:
        stats, _ = self._initial_statistics(source, fit.restart_random_state())
        self._set_from_initial_statistics(stats)

    @abc.abstractmethod
    def _set_from_initial_statistics(self, stats: Any) -> None:
        """Set all parameters from the statistics of the initial responsibilities."""

    def _set_covariances_from_precisions(self) -> None:
        self.covariances_ = covariances_from_precisions_cholesky(self.precisions_cholesky_, self.covariance_type)

    def _set_precisions(self) -> None:
        chol = self.precisions_cholesky_
        if self.covariance_type == "full":
            self.precisions_ = np.einsum("kij,klj->kil", chol, chol)
        elif self.covariance_type == "tied":
            self.precisions_ = chol @ chol.T
        else:
            self.precisions_ = chol**2

    def log_prob(self, X: Any) -> np.ndarray:
        """Log-likelihood of each sample in nats, ``log sum_k w_k p(x | k)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        ndarray of shape (n_samples,)
            The log density of each sample under the mixture, in nats.
        """
        X = self._check_X(X)
        return np.concatenate(
            [logsumexp_rows(self._weighted_log_prob(X[i : i + _CHUNK_ROWS])) for i in range(0, len(X), _CHUNK_ROWS)]
        )

    def score_samples(self, X: Any) -> np.ndarray:
        """Same as :meth:`log_prob` (scikit-learn's name).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        ndarray of shape (n_samples,)
            The log density of each sample, in nats.
        """
        return self.log_prob(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per sample in nats (scikit-learn's ``score``; higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.
        y : None
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        float
            The mean of :meth:`log_prob` over the samples, in nats per sample.
        """
        return float(np.mean(self.log_prob(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of each component for each sample (the responsibilities).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            Each row sums to 1.
        """
        X = self._check_X(X)
        weighted = self._weighted_log_prob(X)
        return np.exp(weighted - logsumexp_rows(weighted)[:, np.newaxis])

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        ndarray of shape (n_samples,)
            The index of the component with the highest posterior probability, in ``0 .. n_components - 1``.
        """
        X = self._check_X(X)
        return np.argmax(self._weighted_log_prob(X), axis=1)

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the most probable component of each training sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.
        y : None
            Ignored; present for scikit-learn compatibility.
        sample_weight : array-like of shape (n_samples,), optional
            A non-negative weight per sample, passed to :meth:`fit` (default 1 each).

        Returns
        -------
        ndarray of shape (n_samples,)
            The component index of each training sample, as :meth:`predict` gives it after the fit.
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def sample(self, n_samples: int = 1, *, random_state: Any = None) -> Sample:
        """Draw samples and the components they came from (``X, labels = model.sample(n)``).

        Parameters
        ----------
        n_samples : int
        random_state : None, int or Generator, optional
            Defaults to a fresh generator (not the fit's ``random_state``), so repeated calls differ unless seeded.

        Returns
        -------
        Sample
            ``data``: ndarray of shape (n_samples, n_features); ``latent``: ndarray of shape (n_samples,), the
            component of each sample, drawn i.i.d. from the mixing weights (in draw order).
        """
        check_is_fitted(self, "means_")
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        weights = self.weights_ / self.weights_.sum()
        labels = rng.choice(self.n_components, size=n_samples, p=weights)
        noise = rng.standard_normal((n_samples, self.n_features_in_))
        covariances = self.covariances_
        X = np.empty((n_samples, self.n_features_in_))
        for k in range(self.n_components):
            rows = labels == k
            if not rows.any():
                continue
            if self.covariance_type in ("full", "tied"):
                covariance = covariances[k] if self.covariance_type == "full" else covariances
                factor = np.linalg.cholesky(covariance)
                X[rows] = self.means_[k] + noise[rows] @ factor.T
            else:
                scale = np.sqrt(covariances[k])
                X[rows] = self.means_[k] + noise[rows] * scale
        return Sample(X, labels)

