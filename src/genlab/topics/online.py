"""Online variational Bayes for LDA (Hoffman, Blei & Bach 2010), with scikit-learn's names and defaults.

After each mini-batch ``B`` of a corpus of ``D`` documents the topics move towards the batch's estimate:

    lambda <- (1 - rho_t) lambda + rho_t (eta + D / |B| counts_B),    rho_t = (learning_offset + t) ** -learning_decay

With ``learn_priors`` the hyperparameters take a step of the same size towards the batch's optimum (Hoffman et al.
2010, section 3.2). The state between mini-batches is the model's own fitted values (``components_``, the priors,
``n_batch_iter_``), so :meth:`genlab.LDA.partial_fit` can continue where the last call stopped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from genlab.distributions.priors import Dirichlet
from genlab.topics.dirichlet import minka_dirichlet_alpha, symmetric_dirichlet_eta
from genlab.topics.variational import e_step, exp_dirichlet_expectation_t

__all__ = ["OnlineState", "online_pass"]


class OnlineState(NamedTuple):
    """The parameters online variational Bayes updates.

    Attributes
    ----------
    components : ndarray of shape (K, V)
        Topic-term pseudo-counts ``lambda``.
    doc_topic_prior : ndarray of shape (K,)
    topic_word_prior : float
    n_batch_iter : int
        ``t`` of the next update (scikit-learn's count: the first update has t = 1).
    """

    components: np.ndarray
    doc_topic_prior: np.ndarray
    topic_word_prior: float
    n_batch_iter: int


def online_pass(
    state: OnlineState,
    X: sp.csr_matrix,
    total_docs: float,
    *,
    batch_size: int,
    learning_offset: float,
    learning_decay: float,
    learn_priors: bool,
    max_doc_update_iter: int,
    mean_change_tol: float,
) -> tuple[OnlineState, float]:
    """One pass over ``X`` in mini-batches of ``batch_size`` documents (module docstring).

    Returns
    -------
    state : OnlineState
        The parameters after the pass (``components`` is a new array; ``state``'s are not changed).
    document_bound : float
        The sum of the documents' evidence lower bounds, each under the topics of its mini-batch's step (the
        documents' part of the bound, without the topics' global term): a trace of the pass's progress.
    """
    components, alpha, eta, t = state
    components = components.copy()
    n_docs = X.shape[0]
    document_bound = 0.0
    for start in range(0, n_docs, batch_size):
        stop = min(start + batch_size, n_docs)
        weights_t, shift = exp_dirichlet_expectation_t(components)
        result = e_step(X, weights_t, shift, alpha, rows=(start, stop), max_iter=max_doc_update_iter,
                        tol=mean_change_tol)  # fmt: skip
        document_bound += float(result.doc_bound.sum())
        rho = (learning_offset + t) ** (-learning_decay)
        components *= 1.0 - rho
        components += rho * (eta + total_docs / (stop - start) * result.stats)
        if learn_priors:
            target = minka_dirichlet_alpha(alpha, result.elog_theta_sum / (stop - start))
            alpha = (1.0 - rho) * alpha + rho * target
            mean_elog = float(np.mean(Dirichlet(components).expected_log()))
            eta = (1.0 - rho) * eta + rho * symmetric_dirichlet_eta(mean_elog, components.shape[1])
        t += 1
    return OnlineState(components, alpha, float(eta), t), document_bound

