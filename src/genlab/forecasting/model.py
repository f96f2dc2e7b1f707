r"""``NeuralAutoRegressive``: DeepAR-style probabilistic models of real-valued series (Salinas et al., 2017).

The model is a product of block densities. A series is cut, after its first ``context_length`` values, into blocks
of ``prediction_length`` values; the block starting at t has the density

.. math:: p(y_t, \dots, y_{t+P-1} \mid y_{t-C-l_{max}}, \dots, y_{t-1})
          = \prod_{s=t}^{t+P-1} p_\theta(y_s \mid h_s), \quad h_s = f_\theta(h_{s-1}, y_{s-l_1}, y_{s-l_2}, \dots)

where the backbone f (an RNN / GRU / LSTM, a causal CNN or a Transformer) is unrolled from a zero state over the
block's C context values and then its own values, every input scaled by the block's context scale (DeepAR's mean
scaling, or the context's mean and standard deviation), and :math:`p_\theta` is the likelihood (Gaussian, low-rank
multivariate Gaussian, Student-t, negative binomial, Gaussian mixture). Training draws windows of exactly this shape
and maximises the likelihood of their predicted values; scoring (:meth:`log_prob`) and sampling (:meth:`forecast`,
:meth:`simulate`, :meth:`sample`) use the same blocks, so the paths a forecast draws come from the density
:meth:`log_prob` scores (exactly so when the forecast starts on one of log_prob's block boundaries, the history's
length less ``context_length`` a multiple of ``prediction_length``; elsewhere the blocks are the same density
shifted in time). Values before a series' start are unobserved (padding the network is told of), so a block may have
a short or empty context: with ``conditional=False`` every value is scored, the first block from no context at all
(its scale is then the training data's), as ``genlab compare`` scores a held-out window.

NaN values are missing: they are not scored, and the network sees them as unobserved inputs.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from genlab.base import check_is_fitted
from genlab.data.sequences import check_lengths
from genlab.errors import DataError, ParameterError
from genlab.forecasting.result import DEFAULT_QUANTILES, ProbabilisticForecast, check_quantiles
from genlab.neural.estimator import NeuralEstimator, Prepared
from genlab.utils.validation import check_integer_hyperparameter as _check_int

__all__ = ["BACKBONES", "LIKELIHOODS", "SCALINGS", "NeuralAutoRegressive", "SeriesBatch"]

#: The option vocabularies (the network, the CLI and ``genlab compare`` take theirs from here).
BACKBONES = ("lstm", "gru", "rnn", "cnn", "transformer")
LIKELIHOODS = ("gaussian", "student-t", "negative-binomial", "mixture")
SCALINGS = ("mean", "standard", "none")
#: Windows per forward pass when scoring and paths per forward pass when sampling.
_SCORING_BATCH = 256
#: The largest magnitude accepted: the network computes in float32 (3.4e38), with room for the scale's sums.
_LARGEST_VALUE = 1e30
#: The largest count of the negative binomial: float64 holds every integer up to 2^53 exactly.
_LARGEST_COUNT = 2.0**53


class SeriesBatch:
    """Checked series, padded and laid out once for window gathering.

    Every series is stored with ``lead`` unobserved rows before it and ``tail`` after it, so that a window that
    reaches before a series' start or past its end reads padding. ``values`` hold 0 where a value is missing.

    Attributes
    ----------
    values, observed : ndarray of shape (N, D), float32
    features : ndarray of shape (N, F + K), float32
        Calendar features then covariates (0 in the padding).
    starts : ndarray of shape (n_series,)
        The row of ``values`` of each series' first value.
    lengths : ndarray of shape (n_series,)
    """

    def __init__(self, values: np.ndarray, lengths: np.ndarray, features: np.ndarray, lead: int, tail: int) -> None:
        D, n_features = values.shape[1], features.shape[1]
        n_rows = int(lengths.sum()) + len(lengths) * (lead + tail)
        self.values = np.zeros((n_rows, D), dtype=np.float32)
        self.observed = np.zeros((n_rows, D), dtype=np.float32)
        self.features = np.zeros((n_rows, n_features), dtype=np.float32)
        self.starts = np.empty(len(lengths), dtype=np.int64)
        self.lengths = lengths
        row, begin = 0, 0
        for i, length in enumerate(lengths):
            length = int(length)
            start = row + lead
            piece = values[begin : begin + length]
            seen = ~np.isnan(piece)
            self.values[start : start + length] = np.where(seen, piece, 0.0)
            self.observed[start : start + length] = seen
            self.features[start : start + length] = features[begin : begin + length]
            self.starts[i] = start
            row, begin = start + length + tail, begin + length

    def windows(self, rows: np.ndarray, width: int) -> np.ndarray:
        """Packed windows (len(rows), width, 2 D + F + K) beginning at the given rows."""
        index = rows[:, None] + np.arange(width)[None, :]
        return np.concatenate([self.values[index], self.observed[index], self.features[index]], axis=-1)

    def digest(self) -> str:
        """SHA-256 of the series and their features: a checkpoint records it and refuses to resume on other data."""
        digest = hashlib.sha256()
        for array in (self.values, self.observed, self.features, self.lengths):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


class _TrainingWindows:
    """Random training windows: step ``s``'s batch depends only on ``(seed, s, micro_step)``.

    A window's predicted range starts at any position t of a series from 0 to ``length - prediction_length``
    (so short contexts, down to none, are trained too), uniformly over all series' positions.
    """

    def __init__(self, batch: SeriesBatch, limits: np.ndarray, config: Any, batch_size: int, seed: int) -> None:
        self.data = batch
        self.config = config
        self.batch_size = batch_size
        self.seed = seed
        P, C, lead = config.prediction_length, config.context_length, config.n_lead
        # the first row of the window whose predicted range starts at t is start + t - C - lead
        ends = [max(int(limit) - P, 0) for limit in limits]
        self.rows = np.concatenate([np.arange(0, end + 1) + start - C - lead
                                    for start, end in zip(batch.starts, ends, strict=True)])
        # each window's predicted steps that lie inside the series' trained part (limits: the part's length)
        self.limits = np.concatenate([np.full(end + 1, start + int(limit))
                                      for start, end, limit in zip(batch.starts, ends, limits, strict=True)])
        self.width = config.window

    @property
    def n_examples(self) -> int:
        return max(1, len(self.rows) // max(self.config.prediction_length, 1))

    def _pack(self, chosen: np.ndarray) -> tuple[Any, Any]:
        import torch

        rows = self.rows[chosen]
        x = self.data.windows(rows, self.width)
        return torch.from_numpy(x), torch.from_numpy(_block_weights(x, rows, self.limits[chosen], self.config))

    def batch(self, step: int, micro_step: int = 0) -> tuple[Any, Any]:
        rng = np.random.default_rng([self.seed, step, micro_step])
        return self._pack(rng.integers(0, len(self.rows), size=self.batch_size))

    def digest(self) -> str:
        return hashlib.sha256(self.data.digest().encode() + self.limits.tobytes()).hexdigest()


class _ScoringBlocks:
    """The fixed blocks of held-out values (validation): every block of every series after its first ``begin``
    values, each conditioned on the values before it."""

    def __init__(self, batch: SeriesBatch, begins: np.ndarray, config: Any, batch_size: int) -> None:
        self.data, self.config, self.batch_size = batch, config, batch_size
        self.rows, self.series, self.limits = _block_rows(batch, begins, config)
        self.n_eval_batches = max(1, math.ceil(len(self.rows) / batch_size))

    def eval_batch(self, index: int) -> tuple[Any, Any]:
        import torch

        index %= self.n_eval_batches  # more evaluation batches than blocks: the blocks again, in order
        chosen = np.arange(len(self.rows))[index * self.batch_size : (index + 1) * self.batch_size]
        x = self.data.windows(self.rows[chosen], self.config.window)
        return torch.from_numpy(x), torch.from_numpy(_block_weights(x, self.rows[chosen], self.limits[chosen],
                                                                     self.config))

    def digest(self) -> str:
        return hashlib.sha256(self.data.digest().encode() + self.rows.tobytes()).hexdigest()


def _block_rows(batch: SeriesBatch, begins: np.ndarray, config: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First rows of the scoring windows of each series' blocks from position ``begins[i]`` on, the series of each
    window, and the row after each series' end."""
    P, C, lead = config.prediction_length, config.context_length, config.n_lead
    rows, series, limits = [], [], []
    for i, (start, length, begin) in enumerate(zip(batch.starts, batch.lengths, begins, strict=True)):
        blocks = np.arange(int(begin), int(length), P)
        rows.append(start + blocks - C - lead)
        series.append(np.full(len(blocks), i))
        limits.append(np.full(len(blocks), start + int(length)))
    return np.concatenate(rows), np.concatenate(series), np.concatenate(limits)


def _block_weights(x: np.ndarray, rows: np.ndarray, limits: np.ndarray, config: Any) -> np.ndarray:
    """Weights (B, C + P) of the unrolled steps of windows starting at ``rows``: 1 for a predicted value that is
    observed and before ``limits`` (its series' end, or the end of its trained part), else 0."""
    D, C, P, lead = config.n_targets, config.context_length, config.prediction_length, config.n_lead
    unrolled = rows[:, None] + lead + np.arange(C + P)[None, :]
    predicted = np.arange(C + P) >= C
    seen = x[:, lead:, D : 2 * D].min(axis=-1) > 0
    return (predicted[None, :] & (unrolled < limits[:, None]) & seen).astype(np.float32)


class NeuralAutoRegressive(NeuralEstimator):
    """DeepAR-style neural autoregressive model of real-valued series: a causal network whose output at each step
    parameterises the likelihood of the next value.

    Parameters
    ----------
    backbone : {"lstm", "gru", "rnn", "cnn", "transformer"}, default="lstm"
        The causal network unrolled over the steps.
    likelihood : {"gaussian", "student-t", "negative-binomial", "mixture"}, default="gaussian"
        The distribution of each value. ``"gaussian"`` is multivariate for D variables, with a covariance that is
        diagonal plus a rank-``rank`` part; ``"student-t"`` and ``"negative-binomial"`` take the variables as
        independent given the past; ``"mixture"`` is a mixture of ``n_components`` diagonal Gaussians.
        ``"negative-binomial"`` is for counts (non-negative integers) and needs ``scaling="mean"``.
    context_length : int, default=16
        Values the network is unrolled over before a block of predicted values: they set the block's scale.
        :meth:`log_prob` conditions each series on its first ``context_length`` values.
    prediction_length : int, optional
        Predicted values per training window and per block of scoring and sampling (default ``context_length``).
    lags : sequence of int, optional
        Which past values every step sees (1: the previous one). Default: 1 to min(7, context_length), and with a
        season length m also m - 1, m, m + 1, 2 m - 1, 2 m, 2 m + 1 (DeepAR's seasonal lags).
    season_length : int, optional
        Steps per season (12 for monthly data). Default: from the time index's frequency when one is given.
    scaling : {"mean", "standard", "none"}, default="mean"
        How a block's values are scaled from its context: by their mean absolute value (DeepAR's default; the
        negative binomial needs it), by their mean and standard deviation, or not at all. ``"standard"`` makes the
        model invariant to a series' level and unit; it is the better choice for a series whose level is far from
        zero next to its swings (an AR(1) with unit noise at level 300 scored 0.68 nats per step better than with
        mean scaling, at level 10,000 3.9 nats; CO2: CRPS 0.33 against 0.50), while mean scaling did better on
        the benchmark's Nile, El Nino and sunspot series (bench/RESULTS.md).
    hidden_size : int, default=40
        Width of the backbone: the recurrent state, the convolutions' channels, or the Transformer's model width.
    n_layers : int, default=2
        Layers of the backbone (the causal CNN's dilations double from layer to layer: 1, 2, 4, ...).
    dropout : float, default=0.1
        Dropout while training: between recurrent layers (when there are several), on each causal convolution
        layer's output, inside the Transformer's layers.
    kernel_size : int, default=2
        The causal CNN's taps per layer.
    n_heads : int, default=4
        The Transformer's attention heads (``hidden_size`` must be a multiple).
    n_components : int, default=3
        Components of the mixture likelihood.
    rank : int, optional
        Rank of the low-rank part of the multivariate Gaussian's covariance (default min(D, 4) for D > 1, 0 for one
        variable).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings, device and seed of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`), with these defaults here: 1,000 steps when no length
        is given, no warm-up, weight decay 1e-8, gradient norms clipped at 10, evaluation every 100 steps on the
        whole held-out part. ``batch_size`` counts training windows (a block of ``prediction_length`` predicted
        values and the up to ``context_length`` values before it); an epoch is as many windows as it takes to
        predict every training value about once; ``validation_fraction`` holds out the end of every series.

    Attributes
    ----------
    config_ : dict
        The network's configuration (lags, context and prediction lengths, default scale, ...).
    n_features_in_ : int
        D, the variables of the series.
    n_covariates_ : int
        K, the covariates given to :meth:`fit`.
    frequency_ : str or None
        The pandas frequency of the training time index.
    time_features_ : list of str
        The calendar features the network sees.
    season_length_ : int or None
    last_values_ : ndarray of shape (n_lead + context_length, D)
        The end of the last training series (NaN before its start): where :meth:`forecast` starts without a
        history.
    last_length_ : int
        How many of ``last_values_``'s rows lie inside the last training series (the rest are before its start).
    last_time_ : str or None
        The last training timestamp.

    Examples
    --------
    >>> import numpy as np, genlab
    >>> y = np.sin(np.arange(300) / 5) + np.random.default_rng(0).normal(scale=0.1, size=300)
    >>> m = genlab.NeuralAutoRegressive(context_length=16, max_steps=20, random_state=0).fit(y)
    >>> f = m.forecast(y, steps=8, n_paths=50, random_state=0)
    >>> f.mean.shape, f.quantiles.shape, f.paths.shape
    ((8,), (3, 8), (50, 8))
    """

    score_unit = "time step"
    data_kind = "series"
    # eval_batches None: every validation evaluation scores the whole held-out part (what patience selects on)
    _training_defaults: ClassVar[dict[str, Any]] = {"learning_rate": 1e-3, "weight_decay": 1e-8, "warmup_steps": 0,
                                                     "grad_clip": 10.0, "eval_interval": 100, "eval_batches": None}
    _default_max_steps = 1000

    def __init__(
        self,
        backbone: str = "lstm",
        likelihood: str = "gaussian",
        context_length: int = 16,
        prediction_length: int | None = None,
        lags: Any = None,
        season_length: int | None = None,
        scaling: str = "mean",
        hidden_size: int = 40,
        n_layers: int = 2,
        dropout: float = 0.1,
        kernel_size: int = 2,
        n_heads: int = 4,
        n_components: int = 3,
        rank: int | None = None,
    ) -> None:
        self.backbone = backbone
        self.likelihood = likelihood
        self.context_length = context_length
        self.prediction_length = prediction_length
        self.lags = lags
        self.season_length = season_length
        self.scaling = scaling
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.kernel_size = kernel_size
        self.n_heads = n_heads
        self.n_components = n_components
        self.rank = rank

    # -- hyperparameters ------------------------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        for name, allowed in (("backbone", BACKBONES), ("likelihood", LIKELIHOODS), ("scaling", SCALINGS)):
            if getattr(self, name) not in allowed:
                raise ParameterError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}.")
        if self.likelihood == "negative-binomial" and self.scaling != "mean":
            raise ParameterError(
                "likelihood='negative-binomial' needs scaling='mean': counts stay integers and the scale multiplies "
                f"the mean (got scaling={self.scaling!r})."
            )
        _check_int("context_length", self.context_length, 1)
        _check_int("prediction_length", self.prediction_length, 1, allow_none=True)
        _check_int("season_length", self.season_length, 1, allow_none=True)
        for name in ("hidden_size", "n_layers", "kernel_size", "n_heads", "n_components"):
            _check_int(name, getattr(self, name), 1)
        _check_int("rank", self.rank, 0, allow_none=True)
        if not (isinstance(self.dropout, numbers.Real) and 0.0 <= self.dropout < 1.0):
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        if self.backbone == "transformer" and self.hidden_size % self.n_heads:
            raise ParameterError(f"hidden_size ({self.hidden_size}) must be a multiple of n_heads ({self.n_heads}) "
                                 "for the transformer.")
        if self.lags is not None:
            lags = np.asarray(self.lags).reshape(-1)
            if lags.size == 0 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                                         for v in lags.tolist()):
                raise ParameterError(f"lags must be integers >= 1; got {self.lags!r}.")

    def _lags(self, season: int | None) -> tuple[int, ...]:
        if self.lags is not None:
            return tuple(sorted({int(v) for v in np.asarray(self.lags).reshape(-1).tolist()}))
        lags = set(range(1, min(7, self.context_length) + 1))
        if season is not None and season > 1:
            lags |= {lag for lag in (season - 1, season, season + 1, 2 * season - 1, 2 * season, 2 * season + 1)
                     if lag >= 1}
        return tuple(sorted(lags))

    # -- data ------------------------------------------------------------------------------------------------------
    def _series(self, X: Any, lengths: Any, covariates: Any, time_index: Any, *, what: str = "X",
                fitted: bool = True, covariates_name: str = "covariates",
                time_name: str = "time_index") -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Any]:
        """Checked values (T, D) float64 (NaN = missing), lengths, covariates (T, K) or None, time index or None;
        ``covariates_name`` / ``time_name``: the keywords that gave them (for messages)."""
        if time_index is None and hasattr(X, "index") and hasattr(X, "to_numpy"):
            import pandas as pd

            if isinstance(X.index, pd.DatetimeIndex):
                time_index = X.index  # a pandas series with dates: automatic calendar features
        if hasattr(X, "to_numpy"):
            X = X.to_numpy()
        if np.iscomplexobj(X):
            raise DataError(f"{what} holds complex numbers; give real values.")
        try:
            values = np.array(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{what} must be numbers (T,) or (T, D): {exc}.") from None
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise DataError(f"{what} must have shape (T,) or (T, D); got {values.shape}.")
        if values.shape[0] == 0 or values.shape[1] == 0:
            raise DataError(f"{what} is empty (shape {values.shape}); give at least one time step.")
        if fitted and values.shape[1] != self.n_features_in_:
            raise DataError(f"{what} has {values.shape[1]} variables; the model was fitted on {self.n_features_in_}.")
        infinite = np.isinf(values)
        if infinite.any():
            row = int(np.flatnonzero(infinite.any(axis=1))[0])
            raise DataError(f"{what} row {row} holds an infinite value; only finite numbers and NaN (missing) "
                            "are allowed.")
        huge = np.abs(np.nan_to_num(values)) > _LARGEST_VALUE
        if huge.any():
            row = int(np.flatnonzero(huge.any(axis=1))[0])
            raise DataError(f"{what} row {row} holds {values[row][huge[row]][0]:g}, beyond the float32 range the "
                            f"network computes in (|value| <= {_LARGEST_VALUE:g}); rescale the series.")
        missing = np.isnan(values)
        partial = missing.any(axis=1) & ~missing.all(axis=1)
        if values.shape[1] > 1 and partial.any():
            row = int(np.flatnonzero(partial)[0])
            raise DataError(
                f"{what} row {row} has NaN in some variables but not all; the multivariate likelihoods score a "
                "time step whole, so mark the whole row missing (NaN in every variable) or fill the value."
            )
        if self.likelihood == "negative-binomial":
            negative = ~missing & (values < 0)
            if negative.any():
                row = int(np.flatnonzero(negative.any(axis=1))[0])
                raise DataError(f"{what} row {row} holds a negative value; likelihood='negative-binomial' is for "
                                "counts (integers >= 0).")
            beyond = ~missing & (values > _LARGEST_COUNT)
            if beyond.any():
                row = int(np.flatnonzero(beyond.any(axis=1))[0])
                raise DataError(f"{what} row {row} holds the count {values[row][beyond[row]][0]:g}, beyond 2^53 (the "
                                "largest integer float64 holds exactly); likelihood='negative-binomial' needs counts "
                                "below it - rescale the series and use a continuous likelihood.")
            fractional = ~missing & (values != np.round(values))
            if fractional.any():
                row = int(np.flatnonzero(fractional.any(axis=1))[0])
                raise DataError(f"{what} row {row} holds a non-integer value; likelihood='negative-binomial' is "
                                "for counts (integers >= 0).")
        lengths = check_lengths(lengths, values.shape[0], what=what)
        ends = np.cumsum(lengths)
        for i, (end, length) in enumerate(zip(ends, lengths, strict=True)):
            if missing[end - length : end].all():
                raise DataError(f"{what}: series {i} has no observed value (all NaN).")
        cov = None
        expected = self.n_covariates_ if fitted else None
        if covariates is not None:
            cov = np.array(covariates, dtype=np.float64)
            if cov.ndim == 1:
                cov = cov[:, None]
            if cov.ndim != 2 or cov.shape[0] != values.shape[0]:
                raise DataError(f"{covariates_name} must have shape ({values.shape[0]}, K), a row per time step of "
                                f"{what}; "
                                f"got {cov.shape}.")
            if not np.isfinite(cov).all():
                row = int(np.flatnonzero(~np.isfinite(cov).all(axis=1))[0])
                raise DataError(f"{covariates_name} row {row} holds NaN or inf; covariates must be finite.")
            if expected is not None and cov.shape[1] != expected:
                raise DataError(f"{covariates_name} have {cov.shape[1]} columns; the model was fitted with "
                                f"{expected}.")
        elif expected:
            raise DataError(f"the model was fitted with {expected} covariates; give {covariates_name}= for {what}.")
        if time_index is not None:
            from genlab.forecasting.calendar import to_index

            time_index = to_index(time_index, values.shape[0], time_name)
        elif fitted and self.time_features_:
            raise DataError(f"the model uses calendar features ({', '.join(self.time_features_)}); give "
                            f"{time_name}= (or a pandas series with a DatetimeIndex) for {what}.")
        return values, lengths, cov, time_index

    def _features(self, lengths: np.ndarray, covariates: np.ndarray | None, time_index: Any,
                  names: tuple[str, ...], frequency: Any) -> tuple[np.ndarray, list[Any] | None]:
        """Per-row features (T, F + K) and each series' last timestamp (checking each series' frequency)."""
        from genlab.forecasting.calendar import calendar_features, frequency_of

        T = int(lengths.sum())
        parts = []
        last_times = None
        if time_index is not None and names:
            last_times = []
            begin = 0
            for i, length in enumerate(lengths):
                piece = time_index[begin : begin + int(length)]
                if len(piece) >= 3:
                    offset = frequency_of(piece, f"time_index of series {i}")
                    if offset != frequency:
                        raise DataError(f"series {i} has frequency {offset.freqstr}; the model's is "
                                        f"{frequency.freqstr}.")
                last_times.append(piece[-1])
                begin += int(length)
            parts.append(calendar_features(time_index, names))
        elif time_index is not None:
            last_times = [time_index[int(end) - 1] for end in np.cumsum(lengths)]
        if covariates is not None:
            parts.append(covariates.astype(np.float32))
        features = np.concatenate(parts, axis=1) if parts else np.zeros((T, 0), dtype=np.float32)
        return features.astype(np.float32), last_times

    # -- fitting ---------------------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, lengths: Any = None, covariates: Any = None, time_index: Any = None,
            validation_data: Any = None, resume: bool = False, callback: Callable[[int, float], None] | None = None,
            distributed: bool = False, **deprecated: Any) -> NeuralAutoRegressive:
        """Train on one series or several concatenated ones; return ``self``.

        Parameters
        ----------
        X : array-like of shape (T,) or (T, D), or a pandas Series / DataFrame
            Values in time order (NaN: missing). A pandas object with a ``DatetimeIndex`` gives the time index.
        y : None
            Unused (``fit(X, lengths)`` would otherwise read lengths as y: anything but None raises).
        lengths : array-like of int, optional
            Lengths of the concatenated series (hmmlearn's convention); one series when omitted. Each must have
            more than ``context_length`` values.
        covariates : array-like of shape (T, K), optional
            Known covariates of every time step (forecasts then need their future values).
        time_index : array-like of T timestamps, optional
            Evenly spaced timestamps of every row: calendar features for the network and the default season length.
        validation_data : array-like, or tuple (X_val, lengths_val), optional
            Held-out series scored in blocks every ``eval_interval`` steps (after each one's first
            ``context_length`` values). Without it, ``validation_fraction`` holds out the end of every series.
        resume, callback, distributed
            As :meth:`NeuralEstimator.fit <genlab.neural.estimator.NeuralEstimator.fit>`.
        """
        if y is not None:
            raise DataError("NeuralAutoRegressive.fit takes no y; give several series with lengths=...")
        return super().fit((X, lengths, covariates, time_index), None, validation_data=validation_data,
                           resume=resume, callback=callback, distributed=distributed, **deprecated)

    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        from genlab.forecasting.calendar import feature_names, frequency_of, season_length_of
        from genlab.forecasting.network import ForecastConfig

        self._check_parameters()
        X, lengths, covariates, time_index = X
        values, lengths, covariates, time_index = self._series(X, lengths, covariates, time_index, fitted=False)
        C = int(self.context_length)
        short = np.flatnonzero(lengths <= C)
        if short.size:
            raise DataError(f"series {int(short[0])} has {int(lengths[short[0]])} values, not more than "
                            f"context_length={C}: a series must be longer than the context to be trained on.")
        frequency, names, season = None, (), self.season_length
        if time_index is not None:
            first = time_index[: int(lengths[0])]
            frequency = frequency_of(first, "time_index of series 0")
            names = feature_names(frequency)
            if season is None:
                season = season_length_of(frequency)
        features, last_times = self._features(lengths, covariates, time_index, names, frequency)
        D = values.shape[1]
        lags = self._lags(season)
        observed = values[~np.isnan(values).any(axis=1)]
        scaling = str(self.scaling)
        if scaling == "mean":
            default_scale = np.abs(observed).mean(axis=0)
            default_loc, default_scale = np.zeros(D), np.where(default_scale > 0, default_scale, 1.0)
        elif scaling == "standard":
            default_loc = observed.mean(axis=0)
            default_scale = observed.std(axis=0) if len(observed) > 1 else np.ones(D)
            default_scale = np.where(default_scale > 0, default_scale, 1.0)
        else:
            default_loc, default_scale = np.zeros(D), np.ones(D)
        rank = self.rank if self.rank is not None else (min(D, 4) if D > 1 else 0)
        config = ForecastConfig(
            n_targets=D, lags=lags, context_length=C, prediction_length=int(self.prediction_length or C),
            n_time_features=len(names), n_covariates=0 if covariates is None else covariates.shape[1],
            backbone=self.backbone, likelihood=self.likelihood, scaling=scaling, hidden_size=self.hidden_size,
            n_layers=self.n_layers, dropout=float(self.dropout), kernel_size=self.kernel_size, n_heads=self.n_heads,
            n_components=self.n_components, rank=rank if self.likelihood == "gaussian" else 0,
            default_loc=[float(v) for v in default_loc], default_scale=[float(v) for v in default_scale],
        )
        lead, tail = config.n_lead + C, config.prediction_length
        batch = SeriesBatch(values, lengths, features, lead, tail)
        limits = lengths.copy()
        validation = None
        if validation_data is not None:
            parts = validation_data if isinstance(validation_data, tuple) else (validation_data, None)
            if len(parts) != 2:
                raise DataError("validation_data must be X_val or (X_val, lengths_val).")
            val_values, val_lengths, _, _ = self._series_like_training(parts[0], parts[1], config, len(names))
            short = np.flatnonzero(val_lengths <= C)
            if short.size:
                raise DataError(f"validation_data: series {int(short[0])} has {int(val_lengths[short[0]])} values, "
                                f"not more than context_length={C}: nothing is left to score.")
            val_batch = SeriesBatch(val_values, val_lengths, np.zeros((len(val_values), features.shape[1]),
                                                                      dtype=np.float32), lead, tail)
            validation = _ScoringBlocks(val_batch, np.full(len(val_lengths), C), config, batch_size)
        elif self.validation_fraction > 0:
            held = np.maximum(np.round(self.validation_fraction * lengths).astype(np.int64), 1)
            limits = lengths - held
            if (limits <= C).any():
                i = int(np.flatnonzero(limits <= C)[0])
                raise DataError(f"validation_fraction={self.validation_fraction} leaves series {i} "
                                f"{int(limits[i])} training values, not more than context_length={C}.")
            validation = _ScoringBlocks(batch, limits, config, batch_size)
        train = _TrainingWindows(batch, limits, config, batch_size, seed)
        ends = np.cumsum(lengths)
        last = values[ends[-1] - min(int(lengths[-1]), lead) : ends[-1]]
        last_values = np.full((lead, D), np.nan)
        last_values[lead - len(last) :] = last
        fitted = {
            "n_features_in_": D,
            "n_covariates_": config.n_covariates,
            "frequency_": None if frequency is None else frequency.freqstr,
            "time_features_": list(names),
            "season_length_": season,
            "last_values_": last_values,
            "last_length_": int(min(int(lengths[-1]), lead)),
            "last_time_": None if last_times is None else str(last_times[-1]),
        }
        return Prepared(config=config, train=train, validation=validation, fitted=fitted,
                        fingerprint={"lengths": lengths.tolist()})

    def _series_like_training(self, X: Any, lengths: Any, config: Any, n_time_features: int) -> Any:
        if n_time_features or config.n_covariates:
            raise DataError("validation_data is not supported with calendar features or covariates; use "
                            "validation_fraction (the end of every training series is held out).")
        saved = {name: getattr(self, name, None) for name in ("n_features_in_", "n_covariates_", "time_features_")}
        self.n_features_in_, self.n_covariates_, self.time_features_ = config.n_targets, 0, []
        try:
            return self._series(X, lengths, None, None, what="validation_data")
        finally:
            for name, value in saved.items():
                if value is None:
                    delattr(self, name)
                else:
                    setattr(self, name, value)

    def _build_module(self, config: dict[str, Any]) -> Any:
        from genlab.forecasting.network import ForecastConfig, ForecastNetwork

        config = dict(config)
        config["lags"] = tuple(config["lags"])
        return ForecastNetwork(ForecastConfig(**config))

    # -- the fitted network ----------------------------------------------------------------------------------------
    @property
    def _net_config(self) -> Any:
        return self.module_.config

    def _frequency(self) -> Any:
        import pandas as pd

        return None if self.frequency_ is None else pd.tseries.frequencies.to_offset(self.frequency_)

    def _scoring_batch(self, X: Any, lengths: Any, covariates: Any, time_index: Any) -> SeriesBatch:
        check_is_fitted(self, "module_")
        values, lengths, covariates, time_index = self._series(X, lengths, covariates, time_index)
        features, _ = self._features(lengths, covariates, time_index, tuple(self.time_features_), self._frequency())
        c = self._net_config
        return SeriesBatch(values, lengths, features, c.n_lead + c.context_length, c.prediction_length)

    def _begins(self, batch: SeriesBatch, conditional: bool) -> np.ndarray:
        C = self._net_config.context_length
        if not conditional:
            return np.zeros(len(batch.lengths), dtype=np.int64)
        short = np.flatnonzero(batch.lengths <= C)
        if short.size:
            raise DataError(
                f"series {int(short[0])} has {int(batch.lengths[short[0]])} values, not more than context_length={C}:"
                " nothing is left to score after the conditioning values (conditional=False scores every value)."
            )
        return np.full(len(batch.lengths), C, dtype=np.int64)

    def _block_log_probs(self, batch: SeriesBatch, begins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihood (nats) and scored steps of each series, block by block."""
        import torch

        c = self._net_config
        rows, series, limits = _block_rows(batch, begins, c)
        totals = np.zeros(len(batch.lengths))
        counts = np.zeros(len(batch.lengths), dtype=np.int64)
        device = self._device()
        with torch.no_grad():
            for begin in range(0, len(rows), _SCORING_BATCH):
                part = slice(begin, begin + _SCORING_BATCH)
                x = batch.windows(rows[part], c.window)
                weight = _block_weights(x, rows[part], limits[part], c)
                log_probs = self.module_.step_log_probs(torch.from_numpy(x).to(device)).double().cpu().numpy()
                np.add.at(totals, series[part], (log_probs * weight).sum(axis=1))
                np.add.at(counts, series[part], weight.sum(axis=1).astype(np.int64))
        return totals, counts

    def log_prob(self, X: Any, lengths: Any = None, *, covariates: Any = None, time_index: Any = None,
                 conditional: bool = True) -> np.ndarray:
        """Log-likelihood in nats of each series.

        Parameters
        ----------
        X : array-like of shape (T,) or (T, D)
        lengths : array-like of int, optional
        covariates, time_index : optional
            As in :meth:`fit` (needed when the model was fitted with them).
        conditional : bool, default=True
            True: conditional on each series' first ``context_length`` values (which are not scored), like
            :class:`~genlab.LinearAutoRegressive`'s conditional likelihood. False: every value is scored, the first
            block from an empty context.

        Returns
        -------
        ndarray of shape (n_series,)
            Missing (NaN) values are not scored.
        """
        batch = self._scoring_batch(X, lengths, covariates, time_index)
        return self._block_log_probs(batch, self._begins(batch, conditional))[0]

    def n_units(self, X: Any, lengths: Any = None, *, covariates: Any = None, time_index: Any = None,
                conditional: bool = True) -> int:
        """The number of scored (observed, predicted) time steps of ``X``.

        Parameters
        ----------
        X : array-like of shape (T,) or (T, D)
            One series, or several concatenated (``lengths``); NaN: missing.
        lengths : array-like of int, optional
            The length of each series in ``X``.
        covariates, time_index : optional
            As in :meth:`fit` (needed when the model was fitted with them).
        conditional : bool, default=True
            True: each series' first ``context_length`` values are context, not scored (as :meth:`log_prob`).

        Returns
        -------
        int
        """
        batch = self._scoring_batch(X, lengths, covariates, time_index)
        begins = self._begins(batch, conditional)
        counts = 0
        for start, length, begin in zip(batch.starts, batch.lengths, begins, strict=True):
            counts += int(batch.observed[start + begin : start + length].min(axis=1).sum())
        return counts

    def score(self, X: Any, y: Any = None, *, lengths: Any = None, covariates: Any = None, time_index: Any = None,
              conditional: bool = True) -> float:
        """Log-likelihood per scored time step in nats (a D-dimensional step is one unit).

        Parameters
        ----------
        X : array-like of shape (T,) or (T, D)
            One series, or several concatenated (``lengths``); NaN: missing.
        y : None
            Not taken (a DataError otherwise): give several series with ``lengths``.
        lengths : array-like of int, optional
            The length of each series in ``X``.
        covariates, time_index : optional
            As in :meth:`fit` (needed when the model was fitted with them).
        conditional : bool, default=True
            True: each series' first ``context_length`` values are context, not scored (as :meth:`log_prob`).

        Returns
        -------
        float
            Nats per scored time step.

        Raises
        ------
        DataError
            ``y`` given, or no observed value left to score.
        """
        if y is not None:
            raise DataError("score takes no y; give several series with lengths=...")
        batch = self._scoring_batch(X, lengths, covariates, time_index)
        totals, counts = self._block_log_probs(batch, self._begins(batch, conditional))
        if counts.sum() == 0:
            raise DataError("no observed value is left to score.")
        return float(totals.sum() / counts.sum())

    # -- sampling ----------------------------------------------------------------------------------------------
    def _history_rows(self, history: Any, lead: int) -> np.ndarray:
        """The last ``lead`` values of a history (T, D), NaN-padded on the left when shorter."""
        values = history
        out = np.full((lead, values.shape[1]), np.nan)
        take = min(lead, len(values))
        if take:
            out[lead - take :] = values[len(values) - take :]
        return out

    def _generate(self, start: np.ndarray, steps: int, n_paths: int, features: np.ndarray,
                  generator: Any) -> np.ndarray:
        """Paths (n_paths, steps, D) continuing ``start`` (lead, D) (NaN: unobserved), block by block; ``features``
        (lead + steps, F + K) of every row."""
        import torch

        c = self._net_config
        module, device = self.module_, self._device()
        lead, D, P = c.n_lead + c.context_length, c.n_targets, c.prediction_length
        total = lead + steps
        values = np.zeros((total, D), dtype=np.float32)
        observed = np.zeros((total, D), dtype=np.float32)
        seen = ~np.isnan(start)
        values[:lead] = np.where(seen, start, 0.0)
        observed[:lead] = seen
        buffer = torch.from_numpy(np.concatenate([values, observed, features.astype(np.float32)], axis=1))
        out = np.empty((n_paths, steps, D))
        with torch.no_grad():
            for begin in range(0, n_paths, _SCORING_BATCH):
                n = min(_SCORING_BATCH, n_paths - begin)
                paths = buffer[None].repeat(n, 1, 1).to(device)
                for block in range(0, steps, P):
                    window = paths[:, block : block + c.window]
                    loc, scale = module.scales(*module.unpack(window)[:2])
                    for j in range(min(P, steps - block)):
                        position = c.n_lead + c.context_length + j
                        draw = module.sample_step(window, position, loc, scale, generator)
                        window[:, position, :D] = draw.to(window.dtype)
                        window[:, position, D : 2 * D] = 1.0
                out[begin : begin + n] = paths[:, lead:, :D].double().cpu().numpy()
        return out

    def _future_features(self, steps: int, lead_features: np.ndarray, last_time: Any,
                         future_covariates: Any) -> tuple[np.ndarray, Any]:
        """Features of the ``lead`` history rows then the ``steps`` future rows, and the future timestamps."""
        from genlab.forecasting.calendar import calendar_features, extend_index

        parts = []
        index = None
        if self.time_features_ or last_time is not None:
            if last_time is None:
                raise DataError(f"the model uses calendar features ({', '.join(self.time_features_)}); give the "
                                "history's time_index.")
            if self.frequency_ is not None:
                index = extend_index(last_time, self._frequency(), steps)
                if self.time_features_:
                    parts.append(calendar_features(index, tuple(self.time_features_)))
        if self.n_covariates_:
            if future_covariates is None:
                raise DataError(f"the model was fitted with {self.n_covariates_} covariates; give "
                                f"future_covariates of shape ({steps}, {self.n_covariates_}).")
            future = np.array(future_covariates, dtype=np.float64)
            if future.ndim == 1:
                future = future[:, None]
            if future.shape != (steps, self.n_covariates_) or not np.isfinite(future).all():
                raise DataError(f"future_covariates must be finite numbers of shape ({steps}, {self.n_covariates_});"
                                f" got {future.shape}.")
            parts.append(future.astype(np.float32))
        elif future_covariates is not None:
            raise DataError("the model was fitted without covariates; future covariates apply only to a model fitted "
                            "with covariates=...")
        future_features = (np.concatenate(parts, axis=1) if parts
                           else np.zeros((steps, lead_features.shape[1]), dtype=np.float32))
        return np.concatenate([lead_features, future_features.astype(np.float32)], axis=0), index

    def _generator(self, random_state: Any) -> Any:
        import torch

        from genlab.neural.estimator import seed_of

        generator = torch.Generator(device=self._device())
        generator.manual_seed(seed_of(random_state))
        return generator

    def forecast(self, history: Any = None, steps: int = 1, *, n_paths: int = 200, quantiles: Any = DEFAULT_QUANTILES,
                 random_state: Any = None, covariates: Any = None, future_covariates: Any = None,
                 time_index: Any = None) -> ProbabilisticForecast:
        """Sample paths of the next ``steps`` values of a series, with their mean and quantiles.

        Parameters
        ----------
        history : array-like of shape (T,) or (T, D), or a pandas Series / DataFrame, optional
            The series to continue; at least ``context_length`` values (NaN: missing). Default: the end of the
            last training series.
        steps : int, default=1
        n_paths : int, default=200
        quantiles : sequence of float, default=(0.1, 0.5, 0.9)
        random_state : None, int or numpy Generator
            Seeds the paths (the same seed gives the same paths).
        covariates : array-like of shape (T, K), optional
            The history's covariates (when the model has covariates).
        future_covariates : array-like of shape (steps, K), optional
            The covariates of the forecast steps (when the model has covariates).
        time_index : array-like of T timestamps, optional
            The history's timestamps (when the model has calendar features).

        Returns
        -------
        ProbabilisticForecast
            ``paths`` (n_paths, steps), ``mean`` (steps,), ``quantiles`` (n_quantiles, steps) for one variable;
            a trailing axis of D for several. ``index``: the forecast's timestamps with a time index.
        """
        check_is_fitted(self, "module_")
        _check_int("steps", steps, 1)
        _check_int("n_paths", n_paths, 1)
        levels = check_quantiles(quantiles)
        univariate = self.n_features_in_ == 1
        if history is not None:
            univariate = univariate and (np.ndim(history) == 1 or getattr(history, "ndim", 2) == 1)
        paths, future_index = self._continue(history, steps, n_paths, random_state, covariates, future_covariates,
                                             time_index, "history")
        return ProbabilisticForecast(paths[..., 0] if univariate else paths, levels, index=future_index)

    def _continue(self, history: Any, steps: int, n_paths: int, random_state: Any, covariates: Any,
                  future_covariates: Any, time_index: Any, what: str) -> tuple[np.ndarray, Any]:
        """Paths (n_paths, steps, D) after a history (None: the end of the training data), and their timestamps."""
        c = self._net_config
        lead = c.n_lead + c.context_length
        if history is None:
            if self.n_covariates_:
                raise DataError("the model has covariates: give the history and its covariates.")
            start = np.asarray(self.last_values_, dtype=np.float64)
            last_time = self.last_time_
            lead_features = self._lead_calendar(lead, last_time)
            # rows before the last training series' start are padding, whose features are zeros in training
            lead_features[: lead - int(getattr(self, "last_length_", lead))] = 0.0
        else:
            names = {"covariates_name": "initial_covariates", "time_name": "initial_time_index"} if what == "initial" \
                else {}
            values, lengths, cov, index = self._series(history, None, covariates, time_index, what=what, **names)
            if len(values) < c.context_length:
                raise DataError(f"{what} has {len(values)} values, fewer than context_length={c.context_length}; "
                                "give at least a context's worth of values.")
            features, last_times = self._features(lengths, cov, index, tuple(self.time_features_),
                                                   self._frequency())
            start = self._history_rows(values, lead)
            lead_features = np.zeros((lead, features.shape[1]), dtype=np.float32)
            take = min(lead, len(values))
            lead_features[lead - take :] = features[len(values) - take :]
            last_time = None if last_times is None else last_times[-1]
        all_features, future_index = self._future_features(steps, lead_features, last_time, future_covariates)
        return self._generate(start, steps, n_paths, all_features, self._generator(random_state)), future_index

    def _lead_calendar(self, lead: int, last_time: Any) -> np.ndarray:
        """Calendar features of the ``lead`` rows ending at ``last_time`` (zeros without calendar features)."""
        from genlab.forecasting.calendar import calendar_features

        if not self.time_features_ or last_time is None:
            return np.zeros((lead, len(self.time_features_)), dtype=np.float32)
        import pandas as pd

        index = pd.date_range(end=pd.Timestamp(last_time), periods=lead, freq=self._frequency())
        return calendar_features(index, tuple(self.time_features_))

    def simulate(self, n_steps: int, *, initial: Any = None, n_paths: int = 1, covariates: Any = None,
                 initial_covariates: Any = None, initial_time_index: Any = None, start_time: Any = None,
                 random_state: Any = None) -> np.ndarray:
        """Simulate paths of the process.

        Parameters
        ----------
        n_steps : int
            Values per path.
        initial : array-like of shape (T, D) or (T,), optional
            Values preceding each path (not part of the output; at least ``context_length``), as
            :meth:`forecast`'s history. When omitted, paths start from an empty context, as :meth:`log_prob` with
            ``conditional=False`` scores a series from its first value.
        n_paths : int, default=1
        covariates : array-like of shape (n_steps, K), optional
            The paths' covariates (when the model has covariates).
        initial_covariates : array-like of shape (T, K), optional
            The covariates of ``initial`` (when the model has covariates).
        initial_time_index : array-like of T timestamps, optional
            The timestamps of ``initial`` (when the model has calendar features).
        start_time : timestamp, optional
            Without ``initial``: the time before the first simulated value (for calendar features; default: the
            last training timestamp).
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_paths, n_steps, D)
        """
        check_is_fitted(self, "module_")
        _check_int("n_steps", n_steps, 1)
        _check_int("n_paths", n_paths, 1)
        if initial is not None:
            if start_time is not None:
                raise ParameterError("give start_time only without initial (initial_time_index dates the initial "
                                     "values).")
            return self._continue(initial, n_steps, n_paths, random_state, initial_covariates, covariates,
                                  initial_time_index, "initial")[0]
        c = self._net_config
        lead = c.n_lead + c.context_length
        start = np.full((lead, self.n_features_in_), np.nan)
        # an empty context is padding, whose features are zeros (as before a series' start in training)
        lead_features = np.zeros((lead, self.n_covariates_ + len(self.time_features_)), dtype=np.float32)
        last_time = start_time if start_time is not None else self.last_time_
        features, _ = self._future_features(n_steps, lead_features, last_time, covariates)
        return self._generate(start, n_steps, n_paths, features, self._generator(random_state))

    def sample(self, n_steps: int = 1, *, n_series: int = 1, initial: Any = None, covariates: Any = None,
               random_state: Any = None) -> np.ndarray:
        """Draw ``n_series`` series of ``n_steps`` values, concatenated (genlab's series convention).

        Parameters
        ----------
        n_steps : int, default=1
            Values per series.
        n_series : int, default=1
        initial : array-like of shape (T, D) or (T,), optional
            Values preceding each series, as in :meth:`simulate`.
        covariates : array-like of shape (n_steps, K), optional
            The series' covariates (when the model has covariates).
        random_state : None, int or numpy Generator

        Returns
        -------
        ndarray of shape (n_series * n_steps, D)
            Score them with ``lengths=[n_steps] * n_series``.
        """
        paths = self.simulate(n_steps, initial=initial, n_paths=n_series, covariates=covariates,
                              random_state=random_state)
        return paths.reshape(-1, paths.shape[-1])
