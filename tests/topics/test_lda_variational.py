"""The variational E-step kernel, the left-to-right estimate and Minka's fixed points against independent references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import gammaln, logsumexp, psi

from genlab.topics.gibbs import left_to_right, minka_polya_alpha, minka_polya_eta, tokens_from_counts
from genlab.topics.lda import minka_dirichlet_alpha, symmetric_dirichlet_eta
from genlab.topics.variational import digamma, e_step, exp_dirichlet_expectation_t


def test_digamma_matches_scipy():
    x = np.concatenate([np.logspace(-6, 6, 500), np.linspace(0.01, 30, 500)])
    ours = np.array([digamma(v) for v in x])
    np.testing.assert_allclose(ours, psi(x), rtol=1e-14, atol=1e-14)


def test_exp_dirichlet_expectation_matches_scipy(rng):
    lam = rng.gamma(2.0, 1.0, size=(4, 30)) + 0.01
    weights_t, shift = exp_dirichlet_expectation_t(lam)
    expected = psi(lam) - psi(lam.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(np.log(weights_t.T) + shift, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(weights_t.max(axis=1), 1.0)


def _small_problem(rng, n_docs=40, n_terms=30, n_topics=4):
    counts = rng.poisson(0.7, size=(n_docs, n_terms)).astype(np.float64)
    counts[3] = 0  # an empty document
    X = sp.csr_matrix(counts)
    lam = rng.gamma(2.0, 1.0, size=(n_topics, n_terms)) + 0.05
    return X, lam


def test_e_step_matches_scikit_learn(rng):
    from sklearn.decomposition._lda import _update_doc_distribution

    X, lam = _small_problem(rng)
    alpha = 0.3
    weights_t, shift = exp_dirichlet_expectation_t(lam)
    ours = e_step(X, weights_t, shift, np.full(4, alpha), max_iter=10_000, tol=1e-13)
    exp_elog_beta = np.exp(psi(lam) - psi(lam.sum(axis=1, keepdims=True)))
    gamma, stats = _update_doc_distribution(X, exp_elog_beta, alpha, 10_000, 1e-13, True, None)
    # both stop when an iteration changes gamma by < 1e-13 on average; slow documents are then ~1e-8 from the limit
    np.testing.assert_allclose(ours.gamma, gamma, rtol=1e-6)
    np.testing.assert_allclose(ours.stats, stats * exp_elog_beta, rtol=1e-6, atol=1e-10)
    # the statistics are the expected counts: they add up to the corpus' tokens
    assert ours.stats.sum() == pytest.approx(X.sum(), rel=1e-12)


def _elbo_brute_force(counts, elog_beta, alpha, gamma):
    """The ELBO of one document at gamma with phi optimal for it, written out term by term."""
    elog_theta = psi(gamma) - psi(gamma.sum())
    log_phi = elog_theta[:, None] + elog_beta  # (K, V) unnormalised
    log_phi = log_phi - logsumexp(log_phi, axis=0)
    phi = np.exp(log_phi)
    words = np.flatnonzero(counts)
    n = counts[words]
    value = np.sum(n * (phi[:, words] * (elog_theta[:, None] + elog_beta[:, words] - log_phi[:, words])).sum(axis=0))
    value += gammaln(alpha.sum()) - gammaln(alpha).sum() + ((alpha - 1) * elog_theta).sum()
    value -= gammaln(gamma.sum()) - gammaln(gamma).sum() + ((gamma - 1) * elog_theta).sum()
    return value


def test_document_bound_is_the_elbo(rng):
    X, lam = _small_problem(rng)
    alpha = np.array([0.2, 0.5, 0.1, 0.3])
    weights_t, shift = exp_dirichlet_expectation_t(lam)
    result = e_step(X, weights_t, shift, alpha, max_iter=50, tol=1e-3)
    elog_beta = psi(lam) - psi(lam.sum(axis=1, keepdims=True))
    dense = X.toarray()
    for d in range(X.shape[0]):
        expected = _elbo_brute_force(dense[d], elog_beta, alpha, result.gamma[d])
        assert result.doc_bound[d] == pytest.approx(expected, rel=1e-10, abs=1e-10)
    assert result.doc_bound[3] == 0.0
    np.testing.assert_allclose(result.gamma[3], alpha)


def _exact_log_likelihood(tokens, topic_word, alpha):
    """log p(w | alpha, beta) by enumerating every topic assignment (Dirichlet-multinomial prior of z)."""
    n_topics = topic_word.shape[0]
    terms = []
    for z in itertools.product(range(n_topics), repeat=len(tokens)):
        counts = np.bincount(z, minlength=n_topics)
        log_pz = gammaln(alpha.sum()) - gammaln(alpha.sum() + len(tokens))
        log_pz += np.sum(gammaln(alpha + counts) - gammaln(alpha))
        terms.append(log_pz + np.sum(np.log(topic_word[list(z), tokens])))
    return logsumexp(terms)


def test_bound_and_left_to_right_against_enumeration():
    rng = np.random.default_rng(7)
    n_topics, n_terms = 3, 8
    topic_word = rng.dirichlet(np.full(n_terms, 0.5), size=n_topics)
    alpha = np.array([0.4, 0.8, 0.3])
    docs = [[0, 1, 1, 5, 7], [2, 2, 2, 3], [6]]
    X = sp.csr_matrix(np.array([np.bincount(doc, minlength=n_terms) for doc in docs], dtype=np.float64))
    exact = np.array([_exact_log_likelihood(np.array(doc), topic_word, alpha) for doc in docs])
    bound = e_step(X, np.ascontiguousarray(topic_word.T), np.zeros(n_terms), alpha, max_iter=1000, tol=1e-12,
                   want_stats=False).doc_bound  # fmt: skip
    assert np.all(bound <= exact + 1e-12)
    assert np.all(bound > exact - 1.0)  # a bound, and not a loose one
    token_ptr, words = tokens_from_counts(X.indptr, X.indices, X.data)
    estimate = left_to_right(token_ptr, words, topic_word, alpha, n_particles=3000, seed=0)
    # Wallach et al.'s estimate is consistent only up to a small upward bias (Buntine 2009): within 0.025 nats per
    # token of the exact value here, and above the variational bound
    lengths = np.array([len(doc) for doc in docs])
    assert np.all(np.abs(estimate - exact) <= 0.025 * lengths)
    assert np.all(estimate >= bound)
    again = left_to_right(token_ptr, words, topic_word, alpha, n_particles=3000, seed=0)
    np.testing.assert_array_equal(estimate, again)


def test_minka_dirichlet_fixed_point_recovers_alpha():
    rng = np.random.default_rng(0)
    true = np.array([0.2, 0.5, 1.5, 3.0])
    theta = rng.dirichlet(true, size=40_000)
    mean_log = np.log(theta).mean(axis=0)
    estimate = minka_dirichlet_alpha(np.ones(4), mean_log)
    np.testing.assert_allclose(estimate, true, rtol=0.05)
    # stationary point of the likelihood: psi(sum a) - psi(a_k) + mean_log_k = 0
    np.testing.assert_allclose(psi(estimate.sum()) - psi(estimate) + mean_log, 0.0, atol=1e-9)


def test_symmetric_eta_is_the_maximiser():
    rng = np.random.default_rng(1)
    beta = rng.dirichlet(np.full(50, 0.3), size=2000)
    mean_log = float(np.log(beta).mean())
    eta = symmetric_dirichlet_eta(mean_log, 50)
    assert eta == pytest.approx(0.3, rel=0.05)
    assert psi(50 * eta) - psi(eta) + mean_log == pytest.approx(0.0, abs=1e-9)


def test_minka_polya_fixed_points_are_stationary():
    rng = np.random.default_rng(2)
    true = np.array([0.3, 0.6, 1.2])
    n_dk = np.array([rng.multinomial(40, rng.dirichlet(true)) for _ in range(3000)])
    alpha = minka_polya_alpha(np.ones(3), n_dk, n_iter=5000)
    np.testing.assert_allclose(alpha, true, rtol=0.1)
    n_d = n_dk.sum(axis=1)
    gradient = (psi(alpha.sum()) - psi(n_d + alpha.sum())).sum() + (psi(n_dk + alpha) - psi(alpha)).sum(axis=0)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-5 * n_dk.shape[0])
    n_kw = np.array([rng.multinomial(500, rng.dirichlet(np.full(20, 0.4))) for _ in range(200)])
    eta = minka_polya_eta(1.0, n_kw, n_iter=5000)
    assert eta == pytest.approx(0.4, rel=0.1)


def test_collapsed_log_likelihood_is_the_polya_urn_product():
    """log p(w | z) with the topics integrated out equals the product of the urn's sequential predictions
    (n_kw + eta) / (n_k + V eta) over the tokens, in any order."""
    from genlab.topics.gibbs import collapsed_log_likelihood

    rng = np.random.default_rng(3)
    n_terms, n_topics, eta = 6, 3, 0.3
    words, topics = rng.integers(0, n_terms, 40), rng.integers(0, n_topics, 40)
    counts = np.zeros((n_terms, n_topics))
    expected = 0.0
    for w, k in zip(words, topics, strict=True):
        expected += np.log((counts[w, k] + eta) / (counts[:, k].sum() + n_terms * eta))
        counts[w, k] += 1
    assert collapsed_log_likelihood(counts.astype(np.int64), eta) == pytest.approx(expected, rel=1e-12)
