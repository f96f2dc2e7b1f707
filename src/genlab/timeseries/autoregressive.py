r"""Linear Gaussian autoregressive models of continuous series: AR(p) for one dimension, VAR(p) for D.

.. math:: x_t = c + \sum_{i=1}^{p} A_i x_{t-i} + e_t, \qquad e_t \sim \mathcal{N}(0, \Sigma)

Fitted by conditional least squares (``"ols"``), Yule-Walker (``"yule-walker"``) or exact maximum likelihood
(``"mle"``, including the stationary density of each series' first p values), or Bayesian with a conjugate
:class:`~genlab.timeseries.MatrixNormalInverseWishart` prior. Several series concatenated with ``lengths``
(hmmlearn's convention) are pooled into one model.

This module holds the estimator, which validates, dispatches and stores; the numerics are pure functions on arrays
in the private modules beside it: the pooled regression design and the model's recursion (``_regression``), the
Gaussian likelihoods (``_likelihood``), stationarity, the companion matrix and the reparameterisation used by the
exact MLE (``_stationary``), the estimators and order selection (``_estimators``), and validation
(``_validation``). The conjugate prior and its posterior are :mod:`genlab.timeseries.priors`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from genlab.base import GenerativeModel, check_is_fitted
from genlab.errors import ParameterError
from genlab.timeseries._estimators import fit_conjugate, fit_exact_mle, fit_ols, fit_yule_walker, order_criteria
from genlab.timeseries._likelihood import conditional_log_likelihood, exact_log_likelihood
from genlab.timeseries._regression import n_regressors, run_recursion, split_coefficients, stack_coefficients
from genlab.timeseries._stationary import (
    autocovariances,
    companion,
    is_stationary,
    psi_weights,
    spectral_radius,
    stationary_mean,
    stationary_start,
)
from genlab.timeseries._validation import (
    check_enough_steps,
    check_history,
    check_hyperparameters,
    check_prior,
    check_series,
    reject_y,
)
from genlab.timeseries.priors import MatrixNormalInverseWishart
from genlab.utils.random import check_random_state
from genlab.utils.validation import check_finite_fit, check_positive_int, check_square_scale

__all__ = ["Forecast", "LinearAutoRegressive", "PosteriorDraws"]


class Forecast(NamedTuple):
    """Point forecasts and marginal prediction intervals, each of shape (steps, D)."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


class PosteriorDraws(NamedTuple):
    """Parameter draws from the posterior: intercept (n, D), coef (n, p, D, D), noise_covariance (n, D, D)."""

    intercept: np.ndarray
    coef: np.ndarray
    noise_covariance: np.ndarray


class LinearAutoRegressive(GenerativeModel):
    r"""Linear Gaussian autoregressive model: AR(p) of a univariate series, VAR(p) of a D-dimensional one.

    .. math:: x_t = c + \sum_{i=1}^{p} A_i x_{t-i} + e_t, \qquad e_t \sim \mathcal{N}(0, \Sigma)

    Parameters
    ----------
    order : int or "auto", default=1
        The number of lags p >= 0. ``"auto"`` chooses p in 0..``max_order`` by ``criterion``: every candidate is
        fitted by least squares on the same predicted steps (each series' values after its first ``max_order``),
        as statsmodels' ``ar_select_order`` / ``VAR.select_order`` do; the chosen order is then fitted with
        ``method`` on all the data.
    method : {"ols", "yule-walker", "mle"}, default="ols"
        ``"ols"``: conditional maximum likelihood (least squares of each value on its p predecessors, pooled over
        series; Sigma = residual covariance with divisor n, the number of predicted steps: statsmodels' AutoReg
        ``sigma2`` and VAR ``sigma_u_mle``).
        ``"yule-walker"``: from the biased (divisor N) sample autocovariances after subtracting the pooled mean
        (statsmodels' ``yule_walker(x, order=p, method="mle", demean=True)`` for one series; ``demean=False``
        with ``trend="n"``).
        ``"mle"``: exact maximum likelihood, including the stationary density of each series' first p values,
        for any D: L-BFGS-B from the OLS estimate (Yule-Walker if OLS is not stationary) over a
        stationarity-enforcing reparameterisation (Ansley & Kohn, 1986), so the fit is always stationary.
    trend : {"c", "n"}, default="c"
        ``"c"``: an intercept c; ``"n"``: none (c = 0).
    prior : MatrixNormalInverseWishart or mapping, optional
        Bayesian fit (``method="ols"`` only, integer ``order``): the conjugate Matrix-Normal-Inverse-Wishart prior
        on the regression coefficients B (k, D), rows ordered [c, A_1^T, ..., A_p^T] (k = p D + 1 with an
        intercept, p D without), and on Sigma; a mapping with keys ``mean``, ``precision``, ``dof``, ``scale`` is
        accepted in its place. The posterior is exact (conjugate) given each series' first p values; the fitted
        point estimate is the posterior mean: coefficients M_n, noise covariance Psi_n / (nu_n - D - 1).
    max_order : int, default=10
        The largest order tried when ``order="auto"``.
    criterion : {"aic", "bic"}, default="aic"
        The order-selection criterion for ``order="auto"``.
    max_iter : int, default=200
        Iterations of the exact-likelihood optimiser (``method="mle"``).
    tol : float, default=1e-10
        Relative tolerance on the exact negative log-likelihood (L-BFGS-B's ``ftol``).

    Attributes
    ----------
    intercept_ : ndarray of shape (D,)
        c (zeros for ``trend="n"``).
    coef_ : ndarray of shape (order_, D, D)
        ``coef_[i]`` multiplies x_{t-1-i}: ``x_t = intercept_ + sum_i coef_[i] @ x_{t-1-i} + e_t``.
    noise_covariance_ : ndarray of shape (D, D)
        Sigma.
    order_ : int
        p (the chosen one for ``order="auto"``).
    n_features_in_ : int
        D.
    last_observations_ : ndarray of shape (order_, D)
        The last p values of the last training series: where :meth:`forecast` starts by default.
    criterion_values_ : ndarray of shape (max_order + 1,)
        With ``order="auto"``: the criterion of each candidate order 0..max_order (lower is better).
    posterior_ : dict of str to ndarray or float
        With a prior: the posterior's ``mean`` (k, D), ``precision`` (k, k), ``dof`` and ``scale`` (D, D).

    Notes
    -----
    :meth:`log_prob` is the log-likelihood of each series *conditional on its first p values* (in nats);
    ``log_prob(..., conditional=False)`` adds their stationary density (the exact likelihood). :meth:`score` is
    the conditional log-likelihood per predicted time step (a D-dimensional step is one unit, not D). Data are an
    array (T, D), or (T,) for one dimension, with optional ``lengths`` of concatenated series; outputs are always
    2-D (T, D).

    Examples
    --------
    >>> import numpy as np
    >>> from genlab.timeseries import LinearAutoRegressive
    >>> truth = LinearAutoRegressive.from_parameters(coef=[[[0.6]], [[-0.2]]], noise_covariance=[[1.0]])
    >>> y = truth.sample(5000, random_state=0)
    >>> model = LinearAutoRegressive(order=2).fit(y)
    >>> np.round(model.coef_.ravel(), 1)
    array([ 0.6, -0.2])
    """

    score_unit: ClassVar[str] = "time step"
    data_kind: ClassVar[str] = "series"

    def __init__(
        self,
        order: int | str = 1,
        *,
        method: str = "ols",
        trend: str = "c",
        prior: MatrixNormalInverseWishart | Mapping[str, Any] | None = None,
        max_order: int = 10,
        criterion: str = "aic",
        max_iter: int = 200,
        tol: float = 1e-10,
    ) -> None:
        self.order = order
        self.method = method
        self.trend = trend
        self.prior = prior
        self.max_order = max_order
        self.criterion = criterion
        self.max_iter = max_iter
        self.tol = tol

    # -- fitting ----------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, lengths: Any = None) -> LinearAutoRegressive:
        """Fit to one series or several concatenated ones.

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
            Values in time order; several series concatenated.
        y : None
            Unused (scikit-learn's signature); anything else raises, so that ``fit(X, lengths)`` is not silently
            read as ``y``.
        lengths : array-like of int, optional
            Lengths of the concatenated series (summing to T); one series when omitted. Each series' first p
            values are conditioning values only (they are not predicted); the series are not linked.

        Returns
        -------
        self
            A fit that raises leaves the model as it was (fitted attributes are replaced only at the end).
        """
        reject_y(y)
        check_hyperparameters(
            order=self.order,
            method=self.method,
            trend=self.trend,
            criterion=self.criterion,
            max_order=self.max_order,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        auto = self.order == "auto"
        longest_order = self.max_order if auto else int(self.order)
        X, lengths = check_series(
            X,
            lengths,
            min_length=longest_order + 1,
            reason=(
                f"to try orders up to max_order={longest_order}"
                if auto
                else f"for order={longest_order} (its first {longest_order} values condition the rest)"
            ),
        )
        # the regressions form second moments (X^T X, the residual covariance): refuse values whose squares
        # overflow float64 instead of fitting an inf / NaN noise covariance (see check_square_scale)
        check_square_scale(X, model=type(self).__name__)
        D = X.shape[1]
        prior = check_prior(self.prior, order=self.order, method=self.method, trend=self.trend, n_features=D)
        fitted: dict[str, Any] = {}
        if auto:
            fitted["criterion_values_"] = order_criteria(X, lengths, self.max_order, self.trend, self.criterion)
            order = int(np.argmin(fitted["criterion_values_"]))
        else:
            order = int(self.order)
        if prior is None and self.method != "yule-walker":
            check_enough_steps(lengths, order, D, self.trend)
        if prior is not None:
            posterior, parameters = fit_conjugate(X, lengths, order, self.trend, prior)
            fitted["posterior_"] = posterior.as_dict()
        elif self.method == "ols":
            parameters = fit_ols(X, lengths, order, self.trend)
        elif self.method == "yule-walker":
            parameters = fit_yule_walker(X, lengths, order, self.trend)
        else:
            parameters = fit_exact_mle(X, lengths, order, self.trend, self.max_iter, self.tol)
        # the last check: a fit never ends with a NaN / inf parameter (the model is left as it was)
        check_finite_fit(
            {"intercept_": parameters.intercept, "coef_": parameters.coef,
             "noise_covariance_": parameters.noise_covariance}, model=type(self).__name__,
        )  # fmt: skip
        fitted.update(
            intercept_=parameters.intercept,
            coef_=parameters.coef,
            noise_covariance_=parameters.noise_covariance,
            order_=order,
            n_features_in_=D,
            last_observations_=X[X.shape[0] - order :].copy(),
        )
        for name in self._fitted_attribute_names():  # a refit with other options leaves no stale attributes
            delattr(self, name)
        for name, value in fitted.items():
            setattr(self, name, value)
        return self

    @classmethod
    def from_parameters(
        cls,
        coef: Any,
        noise_covariance: Any,
        intercept: Any = None,
        **hyperparameters: Any,
    ) -> LinearAutoRegressive:
        """A model with given parameters, as if fitted (for simulation from a known process).

        Parameters
        ----------
        coef : array-like of shape (p, D, D)
        noise_covariance : array-like of shape (D, D)
            Symmetric positive definite.
        intercept : array-like of shape (D,), optional
            Zeros by default (then ``trend="n"`` unless given in ``hyperparameters``).
        **hyperparameters
            Passed to the constructor (``order`` is set to p).
        """
        coef = np.array(coef, dtype=np.float64)
        if coef.ndim != 3 or coef.shape[1] != coef.shape[2] or coef.shape[1] == 0:
            raise ParameterError(f"coef must have shape (p, D, D); got {coef.shape}.")
        p, D = coef.shape[0], coef.shape[1]
        covariance = np.array(noise_covariance, dtype=np.float64)
        if covariance.shape != (D, D) or not np.isfinite(covariance).all() or not np.isfinite(coef).all():
            raise ParameterError(f"noise_covariance must be a finite ({D}, {D}) matrix; got {covariance.shape}.")
        try:
            np.linalg.cholesky(covariance)
        except np.linalg.LinAlgError:
            raise ParameterError("noise_covariance must be symmetric positive definite.") from None
        hyperparameters.setdefault("trend", "n" if intercept is None else "c")
        model = cls(order=p, **hyperparameters)
        model.intercept_ = np.zeros(D) if intercept is None else np.array(intercept, dtype=np.float64).reshape(D)
        model.coef_ = coef
        model.noise_covariance_ = 0.5 * (covariance + covariance.T)
        model.order_ = p
        model.n_features_in_ = D
        return model

    # -- stationarity -----------------------------------------------------------------------------------------
    def companion_matrix(self) -> np.ndarray:
        """The companion matrix F, shape (pD, pD), of the state [x_t; x_{t-1}; ...; x_{t-p+1}].

        Its first block row is [A_1 ... A_p]; below it an identity shifts the lags.
        """
        check_is_fitted(self, "coef_")
        return companion(self.coef_)

    def is_stationary(self) -> bool:
        """Whether every eigenvalue of the companion matrix is inside the unit circle (always True for p = 0)."""
        check_is_fitted(self, "coef_")
        return is_stationary(self.coef_)

    def _require_stationary(self, what: str) -> None:
        radius = spectral_radius(self.coef_)
        if not radius < 1.0:
            raise ParameterError(
                f"{what} needs a stationary model, but the companion matrix has an eigenvalue of modulus "
                f"{radius:.4g} >= 1."
            )

    def stationary_mean(self) -> np.ndarray:
        """mu = (I - sum_i A_i)^{-1} c, the mean of the stationary distribution; shape (D,)."""
        check_is_fitted(self, "coef_")
        self._require_stationary("the stationary mean")
        return stationary_mean(self.intercept_, self.coef_)

    def autocovariance(self, max_lag: int) -> np.ndarray:
        """Theoretical autocovariances ``Gamma_h = Cov(x_t, x_{t-h})`` for lags h = 0..max_lag.

        From the companion form's stationary covariance (``scipy.linalg.solve_discrete_lyapunov``).

        Parameters
        ----------
        max_lag : int
            The largest lag, >= 0.

        Returns
        -------
        ndarray of shape (max_lag + 1, D, D)

        Raises
        ------
        ParameterError
            The fitted model is not stationary (no autocovariance exists).
        """
        check_is_fitted(self, "coef_")
        max_lag = check_positive_int(max_lag, "max_lag", minimum=0)
        self._require_stationary("the autocovariance")
        return autocovariances(self.coef_, self.noise_covariance_, max_lag)

    # -- likelihood -------------------------------------------------------------------------------------------
    def _check_data(self, X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "coef_")
        p = self.order_
        return check_series(
            X,
            lengths,
            min_length=p + 1,
            n_features=self.n_features_in_,
            reason=f"by an order-{p} model (its first {p} values condition the rest)",
        )

    def log_prob(self, X: Any, lengths: Any = None, *, conditional: bool = True) -> np.ndarray:
        """Log-likelihood in nats of each series.

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
        lengths : array-like of int, optional
        conditional : bool, default=True
            True: the conditional log-likelihood ``log p(x_{p+1}, ..., x_T | x_1, ..., x_p)`` of each series given
            its first p values. False: the exact log-likelihood ``log p(x_1, ..., x_T)``, whose first p values
            have the stationary density (needs a stationary model).

        Returns
        -------
        ndarray of shape (n_series,)
        """
        X, lengths = self._check_data(X, lengths)
        if conditional:
            return conditional_log_likelihood(X, lengths, self.intercept_, self.coef_, self.noise_covariance_)
        self._require_stationary("the exact likelihood")
        return exact_log_likelihood(X, lengths, self.intercept_, self.coef_, self.noise_covariance_)

    def n_units(self, X: Any, lengths: Any = None) -> int:
        """The number of predicted time steps of ``X``: the series' lengths less p each.

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
            The series, concatenated along the rows when there are several.
        lengths : array-like of int of shape (n_series,), optional
            Lengths of the series in ``X`` (default: one series); each must exceed the order p.

        Returns
        -------
        int
        """
        X, lengths = self._check_data(X, lengths)
        return int(lengths.sum()) - self.order_ * lengths.size

    def score(self, X: Any, y: Any = None, *, lengths: Any = None) -> float:
        """Conditional log-likelihood per predicted time step, in nats (a D-dimensional step is one unit).

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
            The series, concatenated along the rows when there are several.
        y : None
            Must be ``None``: the model has no targets (present for scikit-learn compatibility).
        lengths : array-like of int of shape (n_series,), optional
            Lengths of the series in ``X`` (default: one series); each must exceed the order p.

        Returns
        -------
        float
            ``sum(log_prob(X, lengths)) / n_units(X, lengths)``, in nats per predicted step.
        """
        reject_y(y)
        return float(self.log_prob(X, lengths).sum() / self.n_units(X, lengths))

    @property
    def n_parameters(self) -> int:
        """Free parameters: p D^2 coefficients, D intercepts (trend "c") and D (D + 1) / 2 covariances."""
        check_is_fitted(self, "coef_")
        D = self.n_features_in_
        return n_regressors(self.order_, D, self.trend) * D + D * (D + 1) // 2

    def aic(self, X: Any, lengths: Any = None) -> float:
        """Akaike information criterion ``-2 log L + 2 k`` with the conditional log-likelihood (lower is better).

        ``log L`` is in nats and ``k`` is :attr:`n_parameters`.

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
            The series, concatenated along the rows when there are several.
        lengths : array-like of int of shape (n_series,), optional
            Lengths of the series in ``X`` (default: one series); each must exceed the order p.

        Returns
        -------
        float
        """
        return float(-2.0 * self.log_prob(X, lengths).sum() + 2.0 * self.n_parameters)

    def bic(self, X: Any, lengths: Any = None) -> float:
        """Bayesian information criterion ``-2 log L + k log n`` (lower is better).

        ``log L`` is the conditional log-likelihood in nats, ``k`` is :attr:`n_parameters` and ``n`` the number of
        predicted steps (:meth:`n_units`).

        Parameters
        ----------
        X : array-like of shape (T, D) or (T,)
            The series, concatenated along the rows when there are several.
        lengths : array-like of int of shape (n_series,), optional
            Lengths of the series in ``X`` (default: one series); each must exceed the order p.

        Returns
        -------
        float
        """
        n = self.n_units(X, lengths)
        return float(-2.0 * self.log_prob(X, lengths).sum() + self.n_parameters * np.log(n))

    # -- sampling and forecasting -----------------------------------------------------------------------------
    def simulate(
        self, n_steps: int, *, initial: Any = None, n_paths: int = 1, random_state: Any = None
    ) -> np.ndarray:
        """Simulate paths of the process.

        Parameters
        ----------
        n_steps : int
            Values per path.
        initial : array-like of shape (p, D), optional
            The p values preceding each path (time order); not part of the output. When omitted, the first p
            values are drawn from the stationary distribution, so every path is an exact draw from the stationary
            process with no burn-in needed (a non-stationary model then raises :class:`ParameterError`).
        n_paths : int, default=1
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_paths, n_steps, D)
        """
        check_is_fitted(self, "coef_")
        n_steps = check_positive_int(n_steps, "n_steps", minimum=0)
        n_paths = check_positive_int(n_paths, "n_paths", minimum=0)
        rng = check_random_state(random_state)
        p, D = self.order_, self.n_features_in_
        if initial is None:
            if p:
                self._require_stationary("simulating without initial values")
            start = stationary_start(self.intercept_, self.coef_, self.noise_covariance_, n_paths, rng)
            if n_steps <= p:
                return start[:, :n_steps].copy()
            return np.concatenate([start, self._run(start, n_steps - p, rng)], axis=1)
        history = check_history(initial, "initial", order=p, n_features=D, exact=True)
        return self._run(np.broadcast_to(history, (n_paths, p, D)), n_steps, rng)

    def _run(
        self,
        start: np.ndarray,
        n_steps: int,
        rng: np.random.Generator,
        draws: PosteriorDraws | None = None,
    ) -> np.ndarray:
        """Continue ``start`` (n, p, D) for ``n_steps`` with Gaussian innovations: with the fitted parameters, or
        with one parameter draw per path (``draws``); shape (n, n_steps, D)."""
        standard = rng.standard_normal((n_steps, start.shape[0], start.shape[2]))
        if draws is None:
            noise = standard @ np.linalg.cholesky(self.noise_covariance_).T  # (steps, n, D)
            return run_recursion(start, self.intercept_, stack_coefficients(self.coef_), noise)
        noise = np.einsum("nij,tnj->tni", np.linalg.cholesky(draws.noise_covariance), standard)
        return run_recursion(start, draws.intercept, stack_coefficients(draws.coef), noise)

    def sample(
        self, n_steps: int = 1, *, n_series: int = 1, initial: Any = None, random_state: Any = None
    ) -> np.ndarray:
        """Draw ``n_series`` series of ``n_steps`` values, concatenated: the form :meth:`fit` and :meth:`log_prob`
        take (genlab's series convention; the model has no latent values, so this is the data alone).

        Parameters
        ----------
        n_steps : int, default=1
        n_series : int, default=1
        initial : array-like of shape (p, D), optional
            As in :meth:`simulate` (stationary start when omitted).
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_series * n_steps, D)
            Fit or score them with ``lengths=[n_steps] * n_series`` (no ``lengths`` for one series).
        """
        paths = self.simulate(n_steps, initial=initial, n_paths=n_series, random_state=random_state)
        return paths.reshape(-1, paths.shape[-1])

    def forecast(self, steps: int, X_history: Any = None, *, alpha: float = 0.05) -> Forecast:
        """Point forecasts and prediction intervals for the next ``steps`` values.

        Parameters
        ----------
        steps : int
        X_history : array-like of shape (T, D) or (T,), optional
            The series to continue (its last p values are used); default: the end of the training data.
        alpha : float, default=0.05
            The intervals have coverage 1 - alpha per step and dimension.

        Returns
        -------
        Forecast
            ``(mean, lower, upper)``, each of shape (steps, D). The h-step forecast error covariance is
            ``sum_{j<h} Psi_j Sigma Psi_j^T`` with the MA(infinity) weights Psi_j: the intervals are exact for
            known parameters (they ignore parameter uncertainty; see :meth:`posterior_predictive` for that).
        """
        check_is_fitted(self, "coef_")
        steps = check_positive_int(steps, "steps")
        if not isinstance(alpha, numbers.Real) or not 0.0 < alpha < 1.0:
            raise ParameterError(f"alpha must be in (0, 1); got {alpha!r}.")
        history = self._history(X_history)
        D = self.n_features_in_
        # the conditional means: the recursion without innovations
        mean = run_recursion(history[None], self.intercept_, stack_coefficients(self.coef_), np.zeros((steps, 1, D)))[0]
        psi = psi_weights(self.coef_, steps)
        covariances = np.cumsum(psi @ self.noise_covariance_ @ np.swapaxes(psi, 1, 2), axis=0)
        half_width = scipy_stats.norm.ppf(1.0 - alpha / 2.0) * np.sqrt(np.diagonal(covariances, axis1=1, axis2=2))
        return Forecast(mean, mean - half_width, mean + half_width)

    def _history(self, X_history: Any) -> np.ndarray:
        if X_history is not None:
            return check_history(X_history, "X_history", order=self.order_, n_features=self.n_features_in_, exact=False)
        if not hasattr(self, "last_observations_"):
            raise ParameterError("this model was not fitted on data; pass X_history (the values to continue).")
        return self.last_observations_

    # -- Bayesian ---------------------------------------------------------------------------------------------
    def _posterior(self) -> MatrixNormalInverseWishart:
        check_is_fitted(self, "coef_")
        if not hasattr(self, "posterior_"):
            raise ParameterError(
                "this model was fitted without a prior, so it has no posterior; fit with "
                "prior=MatrixNormalInverseWishart(...)."
            )
        return MatrixNormalInverseWishart(**self.posterior_)

    def sample_posterior(self, n_draws: int, *, random_state: Any = None) -> PosteriorDraws:
        """Draw parameters from the Matrix-Normal-Inverse-Wishart posterior.

        Parameters
        ----------
        n_draws : int
            Number of parameter draws.
        random_state : None, int, numpy.random.Generator or numpy.random.RandomState, optional
            ``None`` draws fresh entropy.

        Returns
        -------
        PosteriorDraws
            ``intercept`` (n_draws, D) (zeros for ``trend="n"``), ``coef`` (n_draws, p, D, D) and
            ``noise_covariance`` (n_draws, D, D).

        Raises
        ------
        ParameterError
            The model was fitted without a prior, so it has no posterior.
        """
        coefficients, covariances = self._posterior().sample(n_draws, random_state=random_state)
        intercepts, coef = split_coefficients(coefficients, self.order_, self.trend)
        return PosteriorDraws(intercepts, coef, covariances)

    def posterior_predictive(
        self, steps: int, n_draws: int = 1000, *, X_history: Any = None, random_state: Any = None
    ) -> np.ndarray:
        """Future paths that integrate over parameter uncertainty: each path draws its own (c, A, Sigma) from the
        posterior, then simulates ``steps`` values continuing ``X_history``.

        Parameters
        ----------
        steps : int
        n_draws : int, default=1000
            Paths (one parameter draw each).
        X_history : array-like of shape (T, D) or (T,), optional
            Default: the end of the training data.
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_draws, steps, D)
        """
        self._posterior()  # fails early without a prior
        steps = check_positive_int(steps, "steps")
        n_draws = check_positive_int(n_draws, "n_draws")
        rng = check_random_state(random_state)
        history = self._history(X_history)
        draws = self.sample_posterior(n_draws, random_state=rng)
        start = np.broadcast_to(history, (n_draws, self.order_, self.n_features_in_))
        return self._run(start, steps, rng, draws)

    # -- persistence ------------------------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        if isinstance(self.prior, MatrixNormalInverseWishart):  # saved as plain arrays; rebuilt in _set_state
            state["params"]["prior"] = self.prior.as_dict()
        return state

    def _set_state(self, fitted: dict[str, Any]) -> None:
        super()._set_state(fitted)
        if isinstance(self.prior, Mapping):
            self.prior = MatrixNormalInverseWishart(**self.prior)
