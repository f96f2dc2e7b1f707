"""What the VAE and the autoencoder share: the network's hyperparameters, class labels, decoding of codes,
reconstructions, interpolations, and samples that carry the codes they were decoded from."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch

from genlab.base import Sample, check_is_fitted
from genlab.errors import DataError, ParameterError
from genlab.images._base import ImageModel, check_labels, seed_of
from genlab.images.vae_module import ARCHITECTURES, LIKELIHOODS, VAEConfig
from genlab.utils.validation import check_positive_int

__all__ = ["ConditionalLatent", "LatentImageModel"]


class ConditionalLatent(NamedTuple):
    """The latent values of a class-conditional sample: the code ``z`` of each image and its class label."""

    codes: np.ndarray  # (n, latent_dim)
    labels: np.ndarray  # (n,), values of classes_


def _generator(random_state: Any) -> torch.Generator:
    return torch.Generator().manual_seed(seed_of(random_state))


class LatentImageModel(ImageModel):
    """Images decoded from a code ``z``: the VAEs and the autoencoder (hyperparameters ``latent_dim``,
    ``architecture``, ``hidden``, ``likelihood``, ``dropout`` and ``n_levels`` mean the same in each)."""

    conditional: ClassVar[bool] = False

    # -- configuration -------------------------------------------------------------------------------------------
    def _network_config(self, image_shape: tuple[int, int, int], n_levels: int, n_classes: int, *,
                        beta: float = 1.0, kl_warmup_steps: int = 0, free_bits: float = 0.0,
                        **decoder: Any) -> VAEConfig:
        """The :class:`~genlab.images.vae_module.VAEConfig` of this model's hyperparameters, each checked
        (``decoder``: the VAE's decoder settings, checked by the VAE)."""
        latent_dim = check_positive_int(self.latent_dim, "latent_dim")
        if self.architecture not in ARCHITECTURES:
            raise ParameterError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {self.architecture!r}.")
        if self.likelihood not in LIKELIHOODS:
            raise ParameterError(f"likelihood must be one of {', '.join(LIKELIHOODS)}; got {self.likelihood!r}.")
        if self.likelihood == "bernoulli" and n_levels != 2:
            raise DataError(f"likelihood='bernoulli' models binary images (2 levels); these have {n_levels} levels. "
                            "Binarise them (e.g. X > (n_levels - 1) / 2) or use likelihood='categorical', "
                            "'logistic' or 'gaussian'.")
        default = (256, 256) if self.architecture == "mlp" else (32, 64, 256)
        hidden = tuple(int(h) for h in (default if self.hidden is None else self.hidden))
        if not hidden or any(h < 1 for h in hidden) or (self.architecture == "conv" and len(hidden) < 2):
            raise ParameterError("hidden must be positive widths: at least one for 'mlp', conv channels then a dense "
                                 f"width (at least two numbers) for 'conv'; got {self.hidden!r}.")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ParameterError(f"dropout must be in [0, 1); got {self.dropout!r}.")
        return VAEConfig(image_shape=tuple(int(s) for s in image_shape), n_levels=int(n_levels),
                         latent_dim=latent_dim, architecture=self.architecture, hidden=hidden,
                         likelihood=self.likelihood, n_classes=int(n_classes), beta=float(beta),
                         kl_warmup_steps=int(kl_warmup_steps), free_bits=float(free_bits),
                         dropout=float(self.dropout), **decoder)

    # -- helpers -------------------------------------------------------------------------------------------------
    def _codes(self, y: Any, n: int) -> np.ndarray:
        """Class codes for ``n`` images: zeros when unconditional; ``y`` (one label or one per image) otherwise."""
        if not self.conditional:
            return np.zeros(n, dtype=np.int64)
        if y is None:
            raise DataError(f"this {type(self).__name__} needs class labels y; give one label or one per image.")
        labels = np.asarray(y)
        if labels.ndim == 0:
            labels = np.full(n, labels.item())
        return check_labels(labels, n, self.classes_)

    def _tensors(self, X: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        levels = self._check_fitted_images(X)
        codes = self._codes(y, levels.shape[0])
        device = self._device()
        return torch.from_numpy(levels).to(device), torch.from_numpy(codes).to(device)

    def _code_means(self, X: Any, y: Any) -> np.ndarray:
        """The code of each image that reconstructions and interpolations decode, (N, latent_dim)."""
        raise NotImplementedError

    def _latents(self, Z: Any) -> torch.Tensor:
        z = np.asarray(Z, dtype=np.float64)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.config_["latent_dim"] or not np.all(np.isfinite(z)):
            raise DataError(f"latent codes must be finite, of shape (N, {self.config_['latent_dim']}); got shape "
                            f"{z.shape}.")
        return torch.from_numpy(z.astype(np.float32)).to(self._device())

    # -- codes to pictures ---------------------------------------------------------------------------------------
    @torch.no_grad()
    def decode(self, Z: Any, y: Any = None) -> np.ndarray:
        """The decoder's mean picture of codes ``Z`` (N, latent_dim): expected levels, float (N, C, H, W).

        A VAE with ``decoder="pixelcnn"`` has no closed-form mean: its picture is the greedy raster decode (each value
        the most probable level given the code and the values before it), whole levels as floats.

        Parameters
        ----------
        Z : array-like of shape (N, latent_dim) or (latent_dim,)
            Latent codes (finite).
        y : label or array-like of shape (N,), optional
            Class labels, which a conditional model needs (one label for every image, or one per image); an
            unconditional model ignores them.

        Returns
        -------
        ndarray of shape (N, C, H, W)
            Expected pixel levels (float).
        """
        check_is_fitted(self, "module_")
        z = self._latents(Z)
        codes = torch.from_numpy(self._codes(y, z.shape[0])).to(z.device)
        return self.module_.expected_levels(self.module_.decode(z, codes)).double().cpu().numpy()

    def reconstruct(self, X: Any, y: Any = None) -> np.ndarray:
        """Decoder mean at each image's code (the posterior mean for a VAE): expected levels, float (N, C, H, W).

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Integer pixel levels ``0 .. n_levels_ - 1``, images of the fitted shape.
        y : label or array-like of shape (N,), optional
            Class labels, which a conditional model needs (one label for every image, or one per image); an
            unconditional model ignores them.
        """
        return self.decode(self._code_means(X, y), y)

    def interpolate(self, a: Any, b: Any, steps: int = 8, y: Any = None) -> np.ndarray:
        """Decoder means along the straight line between the codes of images ``a`` and ``b``.

        Parameters
        ----------
        a, b : array-like of shape (C, H, W) or (H, W)
            The two images (pixel levels).
        steps : int, default=8
            Pictures along the line, both ends included.
        y : label or array-like of shape (2,), optional
            A conditional model's class: one label for both images, or one per image (the line is decoded with the
            first); an unconditional model ignores it.

        Returns
        -------
        ndarray of shape (steps, C, H, W)
            Expected levels (float); the first is ``a``'s reconstruction, the last ``b``'s.
        """
        steps = check_positive_int(steps, "steps")
        pair = np.stack([np.asarray(a), np.asarray(b)])
        labels = None if y is None else np.asarray([y, y]) if np.ndim(y) == 0 else np.asarray(y)
        mean = self._code_means(pair, labels)
        t = np.linspace(0.0, 1.0, steps)[:, None]
        codes = (1 - t) * mean[0] + t * mean[1]
        ys = np.full(steps, labels[0]) if (self.conditional and labels is not None) else None
        return self.decode(codes, ys)

    @torch.no_grad()
    def _decoded_sample(self, z: torch.Tensor, codes: np.ndarray, gen: torch.Generator, return_means: bool) -> Any:
        """Pixel levels drawn from the decoder at codes ``z``: ``Sample(levels, latent)`` (module notes)."""
        params = self.module_.decode(z, torch.from_numpy(codes).to(z.device))
        levels = self.module_.sample_levels(params, gen).numpy().astype(np.int64)
        if return_means:
            warnings.warn(
                "sample(..., return_means=True) is deprecated and will stop working: sample() returns Sample(images, "
                "latent); the decoder means of those codes are model.decode(sample.latent) (a conditional model: "
                "model.decode(sample.latent.codes, sample.latent.labels)).",
                FutureWarning, stacklevel=3,
            )
            return levels, self.module_.expected_levels(params).double().cpu().numpy()
        latent = z.double().cpu().numpy()
        if self.conditional:
            return Sample(levels, ConditionalLatent(latent, np.asarray(self.classes_)[codes]))
        return Sample(levels, latent)


_LatentImageModel = LatentImageModel  # the name the autoencoder and older code import
