"""The network of :class:`~genlab.forecasting.NeuralAutoRegressive`: inputs, causal backbones, likelihood heads.

One window holds ``n_lead = max(lags)`` values before the unrolled range (what the largest lag reaches back to),
then the ``context_length`` values the network is unrolled over without being scored (they set the window's
scale and warm the backbone up), then the ``prediction_length`` values it predicts. The input of the step that
predicts the value at position t is, for every lag l, the scaled value at t - l and whether it was observed, then
the step's calendar features and covariates, then the log of the window's scale and its location over its scale.
Every backbone is causal: the output at a step sees only the inputs of that step and earlier ones, so it predicts
the value at that step from values strictly before it.

A window's scale comes from its context values only (those before the predicted range), as DeepAR's mean scaling
does: ``"mean"`` divides by the mean absolute observed context value (the count likelihood then keeps raw integer
targets and multiplies its mean by the scale), ``"standard"`` subtracts the context mean and divides by the context
standard deviation, ``"none"`` leaves the values as they are. A context with no observed value takes the fitted
default (the training data's own statistic).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ForecastConfig", "ForecastNetwork", "scale_of_context"]

#: The smallest scale (a context of zeros would divide by zero; GluonTS's mean scaler uses the same floor).
MIN_SCALE = 1e-10
#: The largest scaled value the backbone sees.
_INPUT_LIMIT = 1e4
#: The low-rank Gaussian's smallest standard deviation in scaled units (GluonTS uses the same): below it, the
#: capacitance matrix of a large low-rank factor over a tiny diagonal is not positive definite in float32.
_LOW_RANK_MIN_SPREAD = 1e-3


@dataclasses.dataclass
class ForecastConfig:
    """What fixes the network's shape (stored as the fitted model's ``config_``)."""

    n_targets: int = 1  # D, the variables of the series
    lags: tuple[int, ...] = (1,)  # the lagged values every step sees (1: the previous value)
    context_length: int = 16  # unrolled, unscored steps before the predicted range; they set the scale
    prediction_length: int = 16  # predicted steps of a training window (and of one block of scoring / sampling)
    n_time_features: int = 0  # calendar features of each step (from a time index)
    n_covariates: int = 0  # known covariates of each step
    backbone: str = "lstm"
    likelihood: str = "gaussian"
    scaling: str = "mean"
    hidden_size: int = 40
    n_layers: int = 2
    dropout: float = 0.1
    kernel_size: int = 2  # causal CNN: taps per layer (dilations 1, 2, 4, ... per layer)
    n_heads: int = 4  # transformer
    n_components: int = 3  # mixture
    rank: int = 0  # multivariate Gaussian: rank of the covariance's low-rank part
    default_loc: list[float] = dataclasses.field(default_factory=lambda: [0.0])  # scale of an empty context
    default_scale: list[float] = dataclasses.field(default_factory=lambda: [1.0])

    @property
    def n_lead(self) -> int:
        """Values before the context that the longest lag reads: ``max(lags)``."""
        return max(self.lags)

    @property
    def window(self) -> int:
        """Values of one window: lead, context and prediction."""
        return self.n_lead + self.context_length + self.prediction_length

    @property
    def n_inputs(self) -> int:
        """Inputs per unrolled step: each lag's values and observed flags, the features, and the window's log scale and
        location.
        """
        # lags and their flags, features, then the window's log scale and its location in scaled units
        return 2 * self.n_targets * len(self.lags) + self.n_time_features + self.n_covariates + 2 * self.n_targets


def scale_of_context(values: torch.Tensor, observed: torch.Tensor, scaling: str, default_loc: torch.Tensor,
                     default_scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Location and scale of each window from its observed context values.

    Parameters
    ----------
    values, observed : Tensor of shape (B, C, D)
        The context values (unobserved ones are 0) and 1 where observed.
    scaling : {"mean", "standard", "none"}
    default_loc, default_scale : Tensor of shape (D,)
        For a context without an observed value.

    Returns
    -------
    loc, scale : Tensor of shape (B, 1, D)
    """
    B, _, D = values.shape
    if scaling == "none":
        return values.new_zeros(B, 1, D), values.new_ones(B, 1, D)
    count = observed.sum(dim=1, keepdim=True)
    empty = count == 0
    count = count.clamp(min=1)
    if scaling == "mean":
        scale = (values.abs() * observed).sum(dim=1, keepdim=True) / count
        # a context of zeros (intermittent counts) has no scale of its own: it takes the training data's, as
        # GluonTS's mean scaler does, instead of dividing the next value by the floor
        scale = torch.where(empty | (scale == 0), default_scale.view(1, 1, D), scale).clamp(min=MIN_SCALE)
        return values.new_zeros(B, 1, D), scale
    # the moments of values divided by the context's largest magnitude: squares of values near 1e20 overflow float32
    reference = (values.abs() * observed).amax(dim=1, keepdim=True).clamp(min=MIN_SCALE)
    relative = values / reference
    loc = (relative * observed).sum(dim=1, keepdim=True) / count
    variance = (((relative - loc) * observed) ** 2).sum(dim=1, keepdim=True) / count
    loc, variance = loc * reference, variance.sqrt() * reference  # variance now holds the standard deviation
    # one observed value has no spread: the default scale then sets the unit
    scale = torch.where(count > 1, variance, default_scale.view(1, 1, D))
    scale = torch.where(scale > MIN_SCALE * default_scale.view(1, 1, D), scale, default_scale.view(1, 1, D))
    loc = torch.where(empty, default_loc.view(1, 1, D), loc)
    scale = torch.where(empty, default_scale.view(1, 1, D), scale)
    return loc, scale


class _CausalConvolutions(nn.Module):
    """Dilated causal 1-D convolutions with residual connections (dilations 1, 2, 4, ...)."""

    def __init__(self, n_inputs: int, hidden: int, n_layers: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.project = nn.Conv1d(n_inputs, hidden, 1)
        self.layers = nn.ModuleList(nn.Conv1d(hidden, 2 * hidden, kernel_size, dilation=2**i) for i in range(n_layers))
        self.kernel_size = kernel_size
        self.dropout = nn.Dropout(dropout)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        h = self.project(inputs.transpose(1, 2))  # (B, H, L)
        for i, layer in enumerate(self.layers):
            pad = (self.kernel_size - 1) * 2**i  # left padding only: causal
            gate, value = layer(F.pad(h, (pad, 0))).chunk(2, dim=1)
            h = h + self.dropout(torch.sigmoid(gate) * torch.tanh(value))
        return h.transpose(1, 2)


class _CausalTransformer(nn.Module):
    """A decoder-only Transformer over the steps (sinusoidal positions, a causal mask, pre-norm)."""

    def __init__(self, n_inputs: int, hidden: int, n_layers: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        if hidden % n_heads:
            raise ValueError(f"hidden_size {hidden} must be a multiple of n_heads {n_heads}")
        self.project = nn.Linear(n_inputs, hidden)
        layer = nn.TransformerEncoderLayer(hidden, n_heads, 4 * hidden, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.hidden = hidden

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        L = inputs.shape[1]
        position = torch.arange(L, device=inputs.device, dtype=inputs.dtype)[:, None]
        frequency = torch.exp(torch.arange(0, self.hidden, 2, device=inputs.device, dtype=inputs.dtype)
                              * (-math.log(10000.0) / self.hidden))
        encoding = torch.zeros(L, self.hidden, device=inputs.device, dtype=inputs.dtype)
        encoding[:, 0::2] = torch.sin(position * frequency)
        encoding[:, 1::2] = torch.cos(position * frequency[: self.hidden // 2])
        mask = nn.Transformer.generate_square_subsequent_mask(L, device=inputs.device, dtype=inputs.dtype)
        return self.norm(self.encoder(self.project(inputs) + encoding, mask=mask, is_causal=True))


class ForecastNetwork(nn.Module):
    """Windows in, the likelihood of each step's value out.

    ``forward(x, y)`` takes the packed windows ``x`` of shape (B, window, 2 D + F + K) - the values (0 where not
    observed), the observed flags, then the features of each step (zeros over the lead) - and the weights ``y`` of
    shape (B, context_length + prediction_length) of each unrolled step in the loss (1 for a predicted, observed
    value, else 0). It returns the per-step log-likelihoods (B, C + P) in nats and the mean negative
    log-likelihood of the weighted steps.
    """

    #: The training loop skips a step whose gradient is not finite (a spike far beyond its window's scale).
    skip_nonfinite_steps = True

    def __init__(self, config: ForecastConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        D = c.n_targets
        self.register_buffer("default_loc", torch.tensor(c.default_loc, dtype=torch.float32).reshape(D))
        self.register_buffer("default_scale", torch.tensor(c.default_scale, dtype=torch.float32).reshape(D))
        self.register_buffer("lag_index", torch.tensor(c.lags, dtype=torch.long))
        if c.backbone in ("lstm", "gru", "rnn"):
            recurrent = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[c.backbone]
            self.backbone: nn.Module = recurrent(c.n_inputs, c.hidden_size, c.n_layers, batch_first=True,
                                                dropout=c.dropout if c.n_layers > 1 else 0.0)
        elif c.backbone == "cnn":
            self.backbone = _CausalConvolutions(c.n_inputs, c.hidden_size, c.n_layers, c.kernel_size, c.dropout)
        else:
            self.backbone = _CausalTransformer(c.n_inputs, c.hidden_size, c.n_layers, c.n_heads, c.dropout)
        self.head = nn.Linear(c.hidden_size, self._n_parameters())

    # -- parameters of the likelihood -----------------------------------------------------------------------------
    def _n_parameters(self) -> int:
        c, D = self.config, self.config.n_targets
        if c.likelihood == "gaussian":
            return 2 * D + D * c.rank
        if c.likelihood == "student-t":
            return 3 * D
        if c.likelihood == "negative-binomial":
            return 2 * D
        return c.n_components * (1 + 2 * D)

    def distribution(self, raw: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> Any:
        """The distribution of each step's *scaled* value ``(y - loc) / scale`` (raw counts for the negative
        binomial, whose mean is multiplied by the scale): batch shape (B, L), event shape (D,)."""
        c, D = self.config, self.config.n_targets
        dist = torch.distributions
        if c.likelihood == "gaussian":
            mean, spread = raw[..., :D], F.softplus(raw[..., D : 2 * D]) + 1e-6
            if c.rank == 0:
                return dist.Independent(dist.Normal(mean, spread), 1)
            # float64, and a factor bounded at 100 scale units: a spike drives the raw factor so large that the
            # capacitance I + W^T D^-1 W loses positive definiteness in float32
            factor = raw[..., 2 * D :].reshape(*raw.shape[:-1], D, c.rank).clamp(-100.0, 100.0)
            return dist.LowRankMultivariateNormal(mean.double(), factor.double(),
                                                  ((spread + _LOW_RANK_MIN_SPREAD) ** 2).double())
        if c.likelihood == "student-t":
            mean, spread = raw[..., :D], F.softplus(raw[..., D : 2 * D]) + 1e-6
            degrees = 2.0 + F.softplus(raw[..., 2 * D :])  # > 2: a finite variance
            return dist.Independent(dist.StudentT(degrees, mean, spread), 1)
        if c.likelihood == "negative-binomial":
            # Salinas et al. (2017), section 3.3: the mean is scaled by the window's scale nu, the dispersion
            # alpha (variance = mu + alpha mu^2) by 1 / sqrt(nu); total_count = 1 / alpha, odds = alpha mu
            mean = F.softplus(raw[..., :D]) * scale + 1e-6
            alpha = (F.softplus(raw[..., D:]) + 1e-6) / scale.sqrt()
            return dist.Independent(dist.NegativeBinomial(total_count=1.0 / alpha, logits=torch.log(alpha * mean)), 1)
        K = c.n_components
        weights = raw[..., :K]
        means = raw[..., K : K + K * D].reshape(*raw.shape[:-1], K, D)
        spreads = F.softplus(raw[..., K + K * D :].reshape(*raw.shape[:-1], K, D)) + 1e-6
        components = dist.Independent(dist.Normal(means, spreads), 1)
        return dist.MixtureSameFamily(dist.Categorical(logits=weights), components)

    @property
    def counts(self) -> bool:
        """Whether the likelihood is for counts (``likelihood="negative-binomial"``)."""
        return self.config.likelihood == "negative-binomial"

    # -- the forward pass -----------------------------------------------------------------------------------------
    def unpack(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Split packed windows (..., 2 D + F + K) into values (..., D), observed flags (..., D), features (F + K)."""
        D = self.config.n_targets
        return x[..., :D], x[..., D : 2 * D], x[..., 2 * D :]

    def scales(self, values: torch.Tensor, observed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Location and scale (B, 1, D) of each window, from its context values."""
        c = self.config
        context = slice(c.n_lead, c.n_lead + c.context_length)
        return scale_of_context(values[:, context], observed[:, context], c.scaling, self.default_loc,
                                self.default_scale)

    def hidden(self, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """The backbone's output (B, L, hidden) of the L = window - n_lead unrolled steps of ``x``."""
        c = self.config
        values, observed, features = self.unpack(x)
        B, W, D = values.shape
        L = W - c.n_lead
        # the inputs are clamped (a spike 1e30 times its window's scale would overflow the backbone); the
        # likelihood still scores the raw value
        scaled = ((values - loc) / scale * observed).clamp(-_INPUT_LIMIT, _INPUT_LIMIT)
        steps = torch.arange(c.n_lead, W, device=x.device)
        positions = steps[:, None] - self.lag_index[None, :]  # (L, n_lags): the value each lag reads
        lagged = scaled[:, positions]  # (B, L, n_lags, D)
        flags = observed[:, positions]
        # the window's scale and location relative to the training data's (0 for a typical window): without the
        # location, standard scaling hides the series' level from the network; raw, they would grow with the level
        log_scale = torch.log(scale / self.default_scale).expand(B, L, D)
        level = ((loc - self.default_loc) / self.default_scale).expand(B, L, D)
        inputs = torch.cat([lagged.reshape(B, L, -1), flags.reshape(B, L, -1), features[:, c.n_lead :], log_scale,
                            level], dim=-1)
        if isinstance(self.backbone, (nn.LSTM, nn.GRU, nn.RNN)):
            out, _ = self.backbone(inputs)
            return out
        return self.backbone(inputs)

    def step_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Log-likelihood in nats (B, L) of each unrolled step's value (0 where it is not observed)."""
        c = self.config
        values, observed, _ = self.unpack(x)
        loc, scale = self.scales(values, observed)
        raw = self.head(self.hidden(x, loc, scale))
        targets, seen = values[:, c.n_lead :], observed[:, c.n_lead :]
        if not self.training:  # scoring: the likelihood in float64 (a far outlier's z^2 overflows float32)
            raw, loc, scale, targets, seen = (t.double() for t in (raw, loc, scale, targets, seen))
        step_observed = seen.amin(dim=-1)  # a D-dimensional step counts when all its variables are observed
        distribution = self.distribution(raw, loc, scale)
        if self.counts:
            log_probs = distribution.log_prob(targets * seen)
        else:
            # the density of y is that of (y - loc) / scale over the scale's Jacobian
            z = (targets - loc) / scale * seen
            log_probs = distribution.log_prob(z.to(distribution.mean.dtype)) - torch.log(scale).sum(dim=-1)
        return log_probs.to(step_observed.dtype) * step_observed

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_probs = self.step_log_probs(x)
        weight = y.to(log_probs.dtype)
        return log_probs, -(log_probs * weight).sum() / weight.sum().clamp(min=1.0)

    def sample_step(self, x: torch.Tensor, position: int, loc: torch.Tensor, scale: torch.Tensor,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """A draw (B, D) of the value at window ``position`` (>= n_lead) given the values before it in ``x``."""
        c = self.config
        raw = self.head(self.hidden(x[:, : position + 1], loc, scale)[:, position - c.n_lead])
        distribution = self.distribution(raw, loc[:, 0], scale[:, 0])
        draw = _draw(distribution, generator)
        if self.counts:
            return draw
        return loc[:, 0] + scale[:, 0] * draw


def _draw(distribution: Any, generator: torch.Generator | None) -> torch.Tensor:
    """One draw of ``distribution`` from ``generator`` (torch's samplers use the global generator; this one makes
    the draws a function of the forecast's own seed)."""
    dist = torch.distributions
    if generator is None:
        return distribution.sample()
    if isinstance(distribution, dist.Independent):
        return _draw(distribution.base_dist, generator)
    if isinstance(distribution, dist.Normal):
        noise = torch.randn(distribution.loc.shape, generator=generator, device=distribution.loc.device)
        return distribution.loc + distribution.scale * noise
    if isinstance(distribution, dist.LowRankMultivariateNormal):
        shape = distribution.loc.shape
        rank = distribution.cov_factor.shape[-1]
        w = torch.randn(*shape[:-1], rank, generator=generator, device=distribution.loc.device,
                        dtype=distribution.loc.dtype)
        e = torch.randn(shape, generator=generator, device=distribution.loc.device, dtype=distribution.loc.dtype)
        return (distribution.loc + (distribution.cov_factor @ w[..., None])[..., 0]
                + distribution.cov_diag.sqrt() * e)
    if isinstance(distribution, dist.StudentT):
        # t = z / sqrt(chi2_nu / nu), chi2_nu = 2 Gamma(nu / 2, 1)
        z = torch.randn(distribution.loc.shape, generator=generator, device=distribution.loc.device)
        chi2 = 2.0 * torch._standard_gamma(distribution.df / 2.0, generator=generator)  # type: ignore[attr-defined]
        return distribution.loc + distribution.scale * z * torch.rsqrt(chi2 / distribution.df)
    if isinstance(distribution, dist.NegativeBinomial):
        # a Poisson of a Gamma(total_count, odds) rate: the negative binomial's mixture form
        rate = torch._standard_gamma(distribution.total_count, generator=generator)  # type: ignore[attr-defined]
        return torch.poisson(rate * torch.exp(distribution.logits), generator=generator)
    if isinstance(distribution, dist.MixtureSameFamily):
        logits = distribution.mixture_distribution.logits
        component = torch.multinomial(torch.softmax(logits.reshape(-1, logits.shape[-1]), dim=-1), 1,
                                      generator=generator).reshape(logits.shape[:-1])
        base = distribution.component_distribution.base_dist
        index = component[..., None, None].expand(*component.shape, 1, base.loc.shape[-1])
        loc = base.loc.gather(-2, index).squeeze(-2)
        spread = base.scale.gather(-2, index).squeeze(-2)
        noise = torch.randn(loc.shape, generator=generator, device=loc.device)
        return loc + spread * noise
    raise TypeError(f"no sampler for {type(distribution).__name__}")
