"""A deterministic autoencoder of images whose samples come from a Gaussian mixture fitted to its codes.

The encoder maps an image to one code ``z = f(x)`` and the decoder gives a distribution over its pixel levels
``p(x | z)``; training minimises the reconstruction negative log-likelihood ``-log p(x | f(x))`` (nats per image).
Generation composes a classical and a neural model through the common contract: a genlab
:class:`~genlab.mixture.GaussianMixture` is fitted to the training codes, and samples are its draws decoded.

An autoencoder is not a density model of images: nothing ties the codes' mixture and the decoder into a
likelihood that training made meaningful, so :meth:`Autoencoder.log_prob` raises :class:`NoLikelihoodError`
rather than report a number that would look comparable to the other models' and is not. Use :class:`VAE` for a
bound on the likelihood.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genlab.base import check_is_fitted
from genlab.errors import GenlabError, ParameterError
from genlab.images._base import check_images, config_dict, seed_of
from genlab.images.vae import VAE, VAEModule, _generator, _LatentImageModel
from genlab.utils.validation import check_positive_int

__all__ = ["Autoencoder", "AutoencoderModule", "NoLikelihoodError"]


class NoLikelihoodError(GenlabError, NotImplementedError):
    """The model defines no likelihood of its data (an autoencoder): it cannot be scored."""


class AutoencoderModule(VAEModule):
    """The VAE's networks used deterministically: ``z`` is the encoder's mean; loss = ``-log p(x | z)`` per image."""

    def forward(self, levels: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, _ = self.encode(levels, classes)
        return z, -self.pixel_log_prob(self.decode(z, classes), levels).mean()


class Autoencoder(_LatentImageModel):
    """Deterministic autoencoder; :meth:`sample` decodes draws of a Gaussian mixture fitted to the codes.

    Parameters
    ----------
    latent_dim : int, default=16
    architecture : {"mlp", "conv"}, default="mlp"
    hidden : tuple of int, optional
        As for :class:`VAE`.
    likelihood : {"categorical", "bernoulli", "gaussian", "logistic"}, default="categorical"
        The decoder's distribution of pixel levels (the reconstruction loss).
    n_mixture_components : int, default=10
        Components of the :class:`~genlab.mixture.GaussianMixture` (full covariances) fitted to the codes.
    dropout : float, default=0.0
    device : str, default="auto"
    random_state : None, int or Generator

    Attributes
    ----------
    module_ : AutoencoderModule
    latent_mixture_ : dict
        The fitted mixture's state (``GaussianMixture._get_state()``); :attr:`latent_mixture` rebuilds it.
    Other attributes as :class:`VAE`.
    """

    def __init__(
        self,
        *,
        latent_dim: int = 16,
        architecture: str = "mlp",
        hidden: tuple[int, ...] | None = None,
        likelihood: str = "categorical",
        n_mixture_components: int = 10,
        dropout: float = 0.0,
        device: str = "auto",
        random_state: Any = None,
    ) -> None:
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden = hidden
        self.likelihood = likelihood
        self.n_mixture_components = n_mixture_components
        self.dropout = dropout
        self.device = device
        self.random_state = random_state

    def _build_module(self, config: dict[str, Any]) -> AutoencoderModule:
        from genlab.images.vae import VAEConfig

        config = dict(config)
        config["image_shape"] = tuple(config["image_shape"])
        config["hidden"] = tuple(config["hidden"])
        return AutoencoderModule(VAEConfig(**config))

    def _make_config(self, image_shape: tuple[int, int, int], n_levels: int) -> Any:
        # the VAE's checks and defaults, without the KL settings an autoencoder has no use for
        proxy = VAE(latent_dim=self.latent_dim, architecture=self.architecture, hidden=self.hidden,
                    likelihood=self.likelihood, dropout=self.dropout, kl_warmup_steps=0)
        return proxy._make_config(image_shape, n_levels, 0)

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        n_levels: int | None = None,
        max_steps: int | None = None,
        max_time: float | str | None = None,
        epochs: float | None = None,
        batch_size: int = 128,
        learning_rate: float = 2e-3,
        validation_fraction: float = 0.0,
        weight_decay: float = 0.0,
        **training: Any,
    ) -> Autoencoder:
        """Train on the reconstruction loss, then fit the codes' Gaussian mixture (arguments as :meth:`VAE.fit`)."""
        from genlab.mixture import GaussianMixture

        levels, n_levels = check_images(X, n_levels=n_levels)
        n_components = check_positive_int(self.n_mixture_components, "n_mixture_components")
        if n_components > levels.shape[0]:
            raise ParameterError(f"n_mixture_components={n_components} exceeds the {levels.shape[0]} training images.")
        config = self._make_config(levels.shape[1:], n_levels)
        seed = seed_of(self.random_state)
        torch.manual_seed(seed)
        module = AutoencoderModule(config)
        self.config_ = config_dict(config)
        self.n_levels_ = int(n_levels)
        self.image_shape_ = tuple(int(s) for s in levels.shape[1:])
        result = self._train(module, levels, None, seed=seed, validation_fraction=validation_fraction,
                             max_steps=max_steps, max_time=max_time, epochs=epochs, batch_size=batch_size,
                             learning_rate=learning_rate, weight_decay=weight_decay, **training)
        self._set_module(module, self.config_)
        self._record_training(result)
        codes = self.encode(levels)
        mixture = GaussianMixture(n_components, covariance_type="full", reg_covar=1e-4, random_state=seed)
        mixture.fit(codes)
        self.latent_mixture_ = mixture._get_state()
        self._mixture = mixture
        return self

    @property
    def latent_mixture(self) -> Any:
        """The fitted :class:`~genlab.mixture.GaussianMixture` of the codes."""
        from genlab.mixture import GaussianMixture

        mixture = getattr(self, "_mixture", None)
        if mixture is None:
            state = self.latent_mixture_
            mixture = GaussianMixture(**state["params"])
            mixture._set_state(state["fitted"])
            self._mixture = mixture
        return mixture

    @torch.no_grad()
    def encode(self, X: Any, y: Any = None) -> np.ndarray:
        """Codes of images ``X``: ndarray (N, latent_dim)."""
        levels, codes = self._tensors(X, None)
        z, _ = self.module_.encode(levels, codes)
        return z.double().cpu().numpy()

    def _code_means(self, X: Any, y: Any) -> np.ndarray:
        return self.encode(X)

    def log_prob(self, X: Any, y: Any = None) -> np.ndarray:
        """Not defined: an autoencoder is not a density model of images.

        Raises
        ------
        NoLikelihoodError
            Always. Its reconstruction loss ``-log p(x | f(x))`` is not a likelihood of ``x`` (the code is chosen
            from ``x`` itself), so any figure would overstate the model next to genuine likelihoods; fit a
            :class:`~genlab.images.vae.VAE` to compare likelihoods.
        """
        raise NoLikelihoodError(
            "an Autoencoder defines no likelihood of images (its reconstruction loss is not one), so it cannot be "
            "scored in nats or bits per dimension; fit a VAE (genlab.VAE) to compare likelihoods."
        )

    def reconstruction_loss(self, X: Any) -> np.ndarray:
        """``-log p(x | f(x))`` of each image in nats (N,): how well it is reconstructed; not a likelihood."""
        levels, codes = self._tensors(X, None)
        with torch.no_grad():
            z, _ = self.module_.encode(levels, codes)
            return (-self.module_.pixel_log_prob(self.module_.decode(z, codes), levels)).double().cpu().numpy()

    @torch.no_grad()
    def sample(self, n_samples: int = 1, *, random_state: Any = None, return_means: bool = False) -> Any:
        """Decode draws of the codes' Gaussian mixture; pixel levels drawn from the decoder.

        Returns
        -------
        levels : ndarray of int64, shape (n_samples, C, H, W)
        means : ndarray of float, shape (n_samples, C, H, W)
            The decoder means (only with ``return_means``).
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        check_is_fitted(self, "module_")
        seed = seed_of(random_state)
        z, _ = self.latent_mixture.sample(n_samples, random_state=np.random.default_rng([seed, 0]))
        gen = _generator(seed)
        params = self.module_.decode(self._latents(z), torch.zeros(n_samples, dtype=torch.int64,
                                                                    device=self._device()))
        levels = self.module_.sample_levels(params, gen).numpy().astype(np.int64)
        if return_means:
            return levels, self.module_.expected_levels(params).double().cpu().numpy()
        return levels
