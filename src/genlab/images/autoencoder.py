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
from genlab.images.latent import LatentImageModel, _generator
from genlab.images.vae_module import VAEModule, build_vae_module
from genlab.neural.estimator import Prepared, seed_of
from genlab.utils.validation import check_positive_int

__all__ = ["Autoencoder", "AutoencoderModule", "NoLikelihoodError"]


class NoLikelihoodError(GenlabError, NotImplementedError):
    """The model defines no likelihood of its data (an autoencoder): it cannot be scored."""


class AutoencoderModule(VAEModule):
    """The VAE's networks used deterministically: ``z`` is the encoder's mean; loss = ``-log p(x | z)`` per image."""

    def forward(self, levels: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, _ = self.encode(levels, classes)
        return z, -self.pixel_log_prob(self.decode(z, classes), levels).mean()


class Autoencoder(LatentImageModel):
    """Deterministic autoencoder; :meth:`sample` decodes draws of a Gaussian mixture fitted to the codes.

    Parameters
    ----------
    latent_dim : int, default=16
        Dimension of the code.
    architecture : {"mlp", "conv"}, default="mlp"
    hidden : tuple of int, optional
        The encoder and decoder networks, as for :class:`~genlab.images.vae.VAE`.
    likelihood : {"categorical", "bernoulli", "gaussian", "logistic"}, default="categorical"
        The decoder's distribution of pixel levels (the reconstruction loss).
    n_mixture_components : int, default=10
        Components of the :class:`~genlab.mixture.GaussianMixture` (full covariances) fitted to the codes.
    dropout : float, default=0.0
        Dropout after every hidden layer (training only).
    n_levels : int, optional
        Pixel levels (by default ``max + 1`` of the training images).
    max_steps, max_time, epochs, batch_size, grad_accum_steps, learning_rate, min_lr, warmup_steps, \
lr_decay_steps, weight_decay, grad_clip, eval_interval, eval_batches, patience, validation_fraction, \
checkpoint_path, checkpoint_interval, compile, n_threads, verbose, device, random_state
        The training settings, device and seed of every neural model
        (:class:`~genlab.neural.estimator.NeuralEstimator`), with the image models' defaults (as
        :class:`~genlab.images.vae.VAE`'s: 2,000 steps when no length is given, batch 128, learning rate 2e-3, no
        weight decay). The seed also starts the mixture's fit.

    Attributes
    ----------
    module_ : AutoencoderModule
    latent_mixture_ : dict
        The fitted mixture's state (``GaussianMixture._get_state()``); :attr:`latent_mixture` rebuilds it.
    Other attributes as :class:`~genlab.images.vae.VAE`.
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
        n_levels: int | None = None,
    ) -> None:
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden = hidden
        self.likelihood = likelihood
        self.n_mixture_components = n_mixture_components
        self.dropout = dropout
        self.n_levels = n_levels

    def _build_module(self, config: dict[str, Any]) -> AutoencoderModule:
        return build_vae_module(config, AutoencoderModule)  # type: ignore[return-value]

    def _make_config(self, image_shape: tuple[int, int, int], n_levels: int, n_classes: int) -> Any:
        return self._network_config(image_shape, n_levels, 0)  # the VAE's networks, without the KL settings

    # -- fitting: train on the reconstruction loss, then fit the codes' Gaussian mixture ------------------------
    def _prepare(self, X: Any, y: Any, validation_data: Any, *, seed: int, batch_size: int) -> Prepared:
        n_components = check_positive_int(self.n_mixture_components, "n_mixture_components")
        prepared = super()._prepare(X, None, validation_data, seed=seed, batch_size=batch_size)
        images = prepared.data[0]
        if n_components > images.shape[0]:
            raise ParameterError(f"n_mixture_components={n_components} exceeds the {images.shape[0]} training images.")
        prepared.data = (images, seed)
        return prepared

    @torch.no_grad()
    def _after_training(self, module: Any, prepared: Prepared) -> dict[str, Any]:
        from genlab.mixture import GaussianMixture

        images, seed = prepared.data
        device = next(module.parameters()).device
        levels = torch.from_numpy(images).to(device)
        codes, _ = module.encode(levels, torch.zeros(levels.shape[0], dtype=torch.int64, device=device))
        mixture = GaussianMixture(self.n_mixture_components, covariance_type="full", reg_covar=1e-4,
                                  random_state=seed)
        mixture.fit(codes.double().cpu().numpy())
        return {"latent_mixture_": mixture._get_state()}

    @property
    def latent_mixture(self) -> Any:
        """The fitted :class:`~genlab.mixture.GaussianMixture` of the codes."""
        from genlab.mixture import GaussianMixture

        check_is_fitted(self, "latent_mixture_")
        state = self.latent_mixture_
        mixture = GaussianMixture(**state["params"])
        mixture._set_state(state["fitted"])
        return mixture

    @torch.no_grad()
    def encode(self, X: Any, y: Any = None) -> np.ndarray:
        """Codes of images ``X``: ndarray (N, latent_dim).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : None
            Ignored (the autoencoder is unconditional).
        """
        levels, codes = self._tensors(X, None)
        z, _ = self.module_.encode(levels, codes)
        return z.double().cpu().numpy()

    def _code_means(self, X: Any, y: Any) -> np.ndarray:
        return self.encode(X)

    def log_prob(self, X: Any, y: Any = None) -> np.ndarray:
        """Not defined: an autoencoder is not a density model of images.

        Parameters
        ----------
        X : array-like
            Images (never scored).
        y : None
            Ignored.

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
        """``-log p(x | f(x))`` of each image in nats (N,): how well it is reconstructed; not a likelihood.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        """
        levels, codes = self._tensors(X, None)
        with torch.no_grad():
            z, _ = self.module_.encode(levels, codes)
            return (-self.module_.pixel_log_prob(self.module_.decode(z, codes), levels)).double().cpu().numpy()

    def sample(self, n_samples: int = 1, *, random_state: Any = None, return_means: bool = False) -> Any:
        """Decode draws of the codes' Gaussian mixture; pixel levels drawn from the decoder.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : None, int or Generator
            The same seed gives the same images.
        return_means : bool, default=False
            Deprecated (a FutureWarning): return ``(levels, decoder means)`` instead of a Sample; use
            ``model.decode(sample.latent)`` for the means.

        Returns
        -------
        Sample
            ``data``: int64 pixel levels (n_samples, C, H, W); ``latent``: the mixture's draws of the codes
            (n_samples, latent_dim), whose decoder means are ``model.decode(latent)``.
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        check_is_fitted(self, "module_")
        seed = seed_of(random_state)
        z, _ = self.latent_mixture.sample(n_samples, random_state=np.random.default_rng([seed, 0]))
        codes = np.zeros(n_samples, dtype=np.int64)
        return self._decoded_sample(self._latents(z), codes, _generator(seed), return_means)
