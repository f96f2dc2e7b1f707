"""The compact storage of a stack of Gaussian covariances by ``covariance_type`` (hmmlearn's layout).

=============  ======================
type           compact shape
=============  ======================
``spherical``  (K,)
``diag``       (K, D)
``full``       (K, D, D)
``tied``       (D, D)
=============  ======================
"""

from __future__ import annotations

import numpy as np

__all__ = ["compact_shape", "full_covariances"]


def compact_shape(covariance_type: str, n_states: int, n_features: int) -> tuple[int, ...]:
    """The shape of the compact covariance array of K states over D features."""
    return {
        "spherical": (n_states,),
        "diag": (n_states, n_features),
        "full": (n_states, n_features, n_features),
        "tied": (n_features, n_features),
    }[covariance_type]


def full_covariances(compact: np.ndarray, covariance_type: str, n_states: int, n_features: int) -> np.ndarray:
    """Covariance matrices (K, D, D) from the compact storage of ``covariance_type`` (hmmlearn's ``fill_covars``)."""
    if covariance_type == "full":
        return np.array(compact, dtype=np.float64)
    if covariance_type == "tied":
        return np.tile(compact, (n_states, 1, 1))
    eye = np.eye(n_features)[np.newaxis]
    if covariance_type == "diag":
        return eye * compact[:, np.newaxis, :]
    return eye * compact[:, np.newaxis, np.newaxis]
