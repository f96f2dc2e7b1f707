"""LDA by batch / online variational Bayes and collapsed Gibbs: recovery, monotone bound, agreement, persistence."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import genlab
from genlab.base import Sample
from genlab.errors import ConvergenceWarning, DataError, NotFittedError, ParameterError
from genlab.learn.em import FitState
from genlab.topics import LDA, document_log_likelihood
from genlab.topics import batch as batch_module
from helpers import assert_monotone

METHODS = ("batch", "online", "gibbs")
FIT_OPTIONS = {"batch": {"max_iter": 60}, "online": {"max_iter": 10, "batch_size": 50}, "gibbs": {"max_iter": 100}}


def fit(method, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # batch may stop at max_iter
        return LDA(4, method=method, **{"random_state": 0, **FIT_OPTIONS[method], **kwargs}).fit(X)


@pytest.mark.parametrize("method", METHODS)
def test_recovers_planted_topics(planted, cosines, method):
    X, topic_word, _ = planted
    model = fit(method, X)
    similarity = cosines(topic_word, model.topic_word_)
    assert similarity.min() > 0.95, similarity
    np.testing.assert_allclose(model.topic_word_.sum(axis=1), 1.0)
    assert model.components_.shape == (4, X.shape[1])


@pytest.mark.parametrize(("method", "init"), [("batch", "kmeans"), ("batch", "random"), ("online", None),
                                               ("gibbs", None)])  # fmt: skip
def test_same_seed_same_topics(planted, method, init):
    X, _, _ = planted
    a, b = fit(method, X, init=init), fit(method, X, init=init)
    np.testing.assert_array_equal(a.components_, b.components_)
    if init != "kmeans":  # k-means may find the same clusters from another seed (and then the same topics)
        c = fit(method, X, init=init, random_state=1)
        assert not np.array_equal(a.components_, c.components_)


@pytest.mark.parametrize("learn_priors", [False, True])
def test_batch_bound_never_decreases(make_planted, learn_priors):
    X, _, _ = make_planted(n_docs=300, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # run_em warns on any decrease
        model = LDA(6, method="batch", max_iter=40, tol=0.0, learn_priors=learn_priors, random_state=0)
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            model.fit(X)
    history = model.lower_bounds_
    assert history.size == 40
    assert_monotone(history, rtol=1e-12, what="the evidence lower bound per token")
    assert history[-1] > history[0]


def test_learned_priors_approach_the_truth(make_planted):
    X, _, _ = make_planted(n_docs=800, alpha=0.3, seed=4)
    model = LDA(4, method="batch", max_iter=100, learn_priors=True, random_state=0).fit(X)
    # the truth: alpha = 0.3 for every topic; Dirichlet(1) topics over 25 of 100 terms (no single eta matches,
    # but the learned one must be small: most terms never occur in a topic)
    np.testing.assert_allclose(model.doc_topic_prior_, 0.3, rtol=0.3)
    assert model.topic_word_prior_ < 0.1
    gibbs = LDA(4, method="gibbs", max_iter=150, learn_priors=True, random_state=0).fit(X)
    np.testing.assert_allclose(gibbs.doc_topic_prior_, 0.3, rtol=0.35)


def test_methods_reach_the_same_held_out_perplexity(make_planted):
    X, _, _ = make_planted(n_docs=700, seed=5)
    train, test = X[:600], X[600:]
    batch = fit("batch", train, max_iter=100)
    online = fit("online", train, max_iter=20)
    gibbs = fit("gibbs", train, max_iter=200)
    reference = batch.perplexity(test)
    # online VB: within 2% of batch VB's held-out perplexity (both by the variational bound)
    assert online.perplexity(test) == pytest.approx(reference, rel=0.02)
    # Gibbs: within 2% by the same estimator (the bound under its topics)
    assert gibbs.perplexity(test, estimator="bound") == pytest.approx(reference, rel=0.02)
    # and its own left-to-right estimate is at most the bound's perplexity and within 5% of it
    own = gibbs.perplexity(test)
    assert own <= gibbs.perplexity(test, estimator="bound") * (1 + 1e-9)
    assert own == pytest.approx(reference, rel=0.05)


def test_perplexity_is_one_definition_for_any_document_set(planted):
    X, _, _ = planted
    model = fit("online", X)
    a, b = X[:150], X[150:]
    tokens_a, tokens_b = X[:150].sum(), X[150:].sum()
    combined = np.exp((tokens_a * np.log(model.perplexity(a)) + tokens_b * np.log(model.perplexity(b)))
                      / (tokens_a + tokens_b))  # fmt: skip
    assert model.perplexity(X) == pytest.approx(combined, rel=1e-12)
    assert model.score(X) == pytest.approx(np.sum(model.log_prob(X)) / X.sum(), rel=1e-12)
    # the common routine gives the same figures from the topics and the prior alone
    np.testing.assert_allclose(document_log_likelihood(X, model.topic_word_, model.doc_topic_prior_),
                               model.log_prob(X), rtol=1e-12)  # fmt: skip


def _sklearn_with_init(init):
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.decomposition._lda import _dirichlet_expectation_2d

    class FromComponents(LatentDirichletAllocation):
        def _init_latent_vars(self, n_features, dtype=np.float64):
            super()._init_latent_vars(n_features, dtype)
            self.components_ = init.copy()
            self.exp_dirichlet_component_ = np.exp(_dirichlet_expectation_2d(self.components_))

    return FromComponents


def test_batch_agrees_with_scikit_learn(planted):
    """From the same initial topics and priors, one batch VB iteration gives scikit-learn's topics.

    Every later genlab iteration is the same update except that a document keeps its previous solution where that
    has the higher bound (to guarantee a monotone bound); the per-iteration update is checked against scikit-learn
    on the same topics through the EM hooks.
    """
    X, _, _ = planted
    init = np.random.default_rng(0).gamma(1.0, 1.0, (4, X.shape[1])) + 5.0 * np.repeat(np.eye(4), 25, axis=1)
    tight = {"mean_change_tol": 1e-13, "max_doc_update_iter": 20_000}
    peer = _sklearn_with_init(init)(4, learning_method="batch", max_iter=1, random_state=0, **tight).fit(X)
    with pytest.warns(ConvergenceWarning):
        ours = LDA(4, method="batch", max_iter=1, tol=0.0, components_init=init, **tight).fit(X)
    # a slowly converging document stops ~1e-8 from its limit on either side (both stop on a change < 1e-13)
    np.testing.assert_allclose(ours.components_, peer.components_, rtol=1e-7)

    for iteration in range(3):  # each further update, from scikit-learn's current topics
        current = peer.components_.copy()
        peer = _sklearn_with_init(current)(4, learning_method="batch", max_iter=1, random_state=0, **tight).fit(X)
        model = LDA(4, method="batch", max_iter=1, tol=0.0, components_init=current, **tight)
        with pytest.warns(ConvergenceWarning):
            model.fit(X)
        np.testing.assert_allclose(model.components_, peer.components_, rtol=1e-7, err_msg=f"update {iteration}")


def test_online_agrees_with_scikit_learn(planted):
    X, _, _ = planted
    init = np.random.default_rng(1).gamma(1.0, 1.0, (4, X.shape[1])) + 5.0 * np.repeat(np.eye(4), 25, axis=1)
    tight = {"mean_change_tol": 1e-13, "max_doc_update_iter": 20_000}
    options = {"batch_size": 64, "learning_decay": 0.7, "learning_offset": 10.0, "max_iter": 2, **tight}
    peer = _sklearn_with_init(init)(4, learning_method="online", random_state=0, **options).fit(X)
    ours = LDA(4, method="online", components_init=init, **options).fit(X)
    np.testing.assert_allclose(ours.components_, peer.components_, rtol=1e-7)
    assert ours.n_batch_iter_ == peer.n_batch_iter_


def test_partial_fit_equals_one_online_pass(planted):
    X, _, _ = planted
    full = LDA(4, method="online", max_iter=1, batch_size=100, random_state=0).fit(X)
    streamed = LDA(4, method="online", batch_size=100, total_samples=X.shape[0], random_state=0)
    for start in range(0, X.shape[0], 100):
        streamed.partial_fit(X[start : start + 100])
    np.testing.assert_allclose(streamed.components_, full.components_, rtol=1e-12)
    with pytest.raises(ParameterError, match="partial_fit needs method='online'"):
        LDA(4, method="batch").partial_fit(X)


def _corpus(model, X, fit_state=None):
    """The batch source of ``model``'s fit on ``X`` (vocabulary agreed, priors resolved), as the driver builds it."""
    fit_state = FitState() if fit_state is None else fit_state
    corpus, _ = model._em_source(X, fit_state)
    fit_state.defaults = model._em_data_defaults(corpus, fit_state)
    return corpus


def test_batch_statistics_add_up(planted, monkeypatch):
    X, _, _ = planted
    model = LDA(4, method="batch", random_state=0)
    monkeypatch.setattr(batch_module, "_CHUNK_DOCS", 150)
    halves = _corpus(model, X)
    monkeypatch.setattr(batch_module, "_CHUNK_DOCS", 8192)
    fit_state = FitState(random_state=0)
    whole = _corpus(model, X, fit_state)
    model._em_initialize(whole, fit_state)
    (batch_whole, _), = list(whole)
    stats_whole, value_whole, weight_whole = model._em_e_step(batch_whole, None)
    parts = [model._em_e_step(batch, None) for batch, _ in halves]
    assert len(parts) == 3
    assert sum(p[0] for p in parts).allclose(stats_whole, rtol=1e-12)
    assert sum(p[1] for p in parts) == pytest.approx(value_whole, rel=1e-12)
    assert sum(p[2] for p in parts) == weight_whole == X.sum()
    # and a fit through chunks of 150 documents is the fit through one chunk
    with pytest.warns(ConvergenceWarning):
        one = LDA(4, max_iter=5, tol=0.0, random_state=0).fit(X)
    monkeypatch.setattr(batch_module, "_CHUNK_DOCS", 150)
    with pytest.warns(ConvergenceWarning):
        chunked = LDA(4, max_iter=5, tol=0.0, random_state=0).fit(X)
    np.testing.assert_allclose(chunked.components_, one.components_, rtol=1e-10)
    np.testing.assert_allclose(chunked.lower_bounds_, one.lower_bounds_, rtol=1e-12)


@pytest.mark.parametrize("learn_priors", [False, True])
def test_objective_is_the_elbo_after_the_m_step(planted, learn_priors):
    """The objective equals the ELBO written out: the documents' part at their variational parameters with
    E[log beta] of the new topics, plus the topics' global term (the E[log beta] terms the objective leaves out
    cancel exactly because lambda = eta + counts)."""
    from scipy.special import gammaln, psi

    X, _, _ = planted
    with pytest.warns(ConvergenceWarning):
        model = LDA(4, max_iter=2, tol=0.0, learn_priors=learn_priors, random_state=0).fit(X)
    corpus = _corpus(LDA(4), X)
    stats, value, weight = model._em_e_step(next(iter(corpus))[0], None)
    model._em_m_step(stats)
    objective = model._em_objective(value, weight)
    lam, eta, V = model.components_, model.topic_word_prior_, X.shape[1]
    np.testing.assert_allclose(lam, eta + stats.topic_word, rtol=1e-15)
    elog = psi(lam) - psi(lam.sum(axis=1, keepdims=True))
    elbo = value + float(np.vdot(stats.topic_word, elog))  # the documents' part under the new topics
    # sum_k E_q[log p(beta_k | eta)] - E_q[log q(beta_k | lambda_k)]
    elbo += float(np.sum((eta - 1) * elog)) - 4 * (V * gammaln(eta) - gammaln(V * eta))
    elbo -= float(np.sum((lam - 1) * elog) - np.sum(gammaln(lam)) + np.sum(gammaln(lam.sum(axis=1))))
    assert objective == pytest.approx(elbo / weight, rel=1e-12)


def test_text_input_transform_and_empty_documents():
    sport = "goal match team player score goal match"
    food = "bread cheese wine bread soup cheese"
    docs = [sport, food] * 30 + [sport + " " + food]
    model = LDA(2, method="batch", max_iter=50, random_state=0).fit(docs)
    top = model.top_words(3)
    assert {frozenset(t) for t in top} == {frozenset(["goal", "match", "team"]) & frozenset(t) | frozenset(t)
                                             for t in top}  # fmt: skip
    assert {"goal", "bread"} <= {t[0] for t in top} | {t[1] for t in top}
    theta = model.transform([sport, food, "", "unknown words only"])
    np.testing.assert_allclose(theta.sum(axis=1), 1.0)
    assert theta[0].max() > 0.9 and theta[1].max() > 0.9 and np.argmax(theta[0]) != np.argmax(theta[1])
    prior_mean = model.doc_topic_prior_ / model.doc_topic_prior_.sum()
    np.testing.assert_allclose(theta[2], prior_mean)  # an empty document gets the prior
    np.testing.assert_allclose(theta[3], prior_mean)  # so does one of unseen words only
    np.testing.assert_array_equal(model.log_prob(["", "unknown words only"]), [0.0, 0.0])
    assert model.n_units(["goal goal unknown"]) == 2
    with pytest.raises(DataError, match="no tokens in the model's vocabulary"):
        model.score(["unknown"])


def test_sample_agrees_with_the_model(planted):
    X, _, _ = planted
    model = fit("online", X)
    drawn = model.sample(3000, 20, random_state=0)
    documents, latent = drawn  # a Sample (data, latent), unpacked like scikit-learn's X, labels
    assert isinstance(drawn, Sample) and documents is drawn.documents and latent.doc_topic is drawn.doc_topic
    assert [len(t) for t in latent.topics] == [20] * 3000
    refit = LDA(4, method="online", max_iter=1, random_state=0).fit(documents[:200])  # data in the form fit takes
    assert set(refit.vocabulary_.tokens) == {t for doc in documents[:200] for t in doc}
    assert np.all(np.isfinite(model.log_prob(documents[:50])))
    assert len(drawn.documents) == 3000 and all(len(d) == 20 for d in drawn.documents)
    np.testing.assert_allclose(drawn.doc_topic.sum(axis=1), 1.0)
    # marginal term frequencies: E[theta] @ topic_word
    counts = np.bincount([t for doc in drawn.documents for t in doc], minlength=X.shape[1]) / (3000 * 20)
    expected = (model.doc_topic_prior_ / model.doc_topic_prior_.sum()) @ model.topic_word_
    assert np.abs(counts - expected).max() < 0.004
    # each token's topic is consistent with its term (disjoint vocabularies: term // 25 is the planted topic)
    again = model.sample(3000, 20, random_state=0)
    assert again.documents == drawn.documents
    lengths = model.sample(3, [0, 5, 7], random_state=1)
    assert [len(d) for d in lengths.documents] == [0, 5, 7]


@pytest.mark.parametrize("method", METHODS)
def test_save_load_round_trip(tmp_path, planted, method):
    X, _, _ = planted
    docs = [[f"w{j}" for j in row.indices for _ in range(int(row[0, j]))] for row in X[:100]]
    model = fit(method, docs)
    path = tmp_path / "lda.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is LDA and loaded.get_params() == {**model.get_params()}
    np.testing.assert_array_equal(loaded.components_, model.components_)
    np.testing.assert_array_equal(loaded.doc_topic_prior_, model.doc_topic_prior_)
    assert loaded.vocabulary_ == model.vocabulary_
    np.testing.assert_array_equal(loaded.transform(docs), model.transform(docs))
    np.testing.assert_array_equal(loaded.log_prob(docs[:10]), model.log_prob(docs[:10]))


def test_bad_inputs(planted):
    X, _, _ = planted
    with pytest.raises(ParameterError, match="n_topics must be an int >= 1; got 0"):
        LDA(0).fit(X)
    with pytest.raises(ParameterError, match="method must be one of"):
        LDA(2, method="em").fit(X)
    with pytest.raises(DataError, match="the corpus is empty"):
        LDA(2).fit([])
    with pytest.raises(DataError, match="negative count"):
        LDA(2).fit(sp.csr_matrix(np.array([[1.0, -2.0]])))
    with pytest.raises(DataError, match="no tokens"):
        LDA(2).fit(sp.csr_matrix((3, 5)))
    with pytest.raises(DataError, match="integer term counts"):
        LDA(2, method="gibbs").fit(np.array([[0.5, 1.0]]))
    with pytest.raises(ParameterError, match="doc_topic_prior must be a number > 0"):
        LDA(2, doc_topic_prior=[1.0, 2.0, 3.0]).fit(X)
    with pytest.raises(ParameterError, match="components_init must be an array of shape"):
        LDA(2, components_init=np.ones((3, 3))).fit(X)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LDA(2).transform(X)
    model = fit("online", X)
    with pytest.raises(DataError, match="columns but the model's vocabulary has"):
        model.transform(X[:, :10])
    with pytest.raises(ParameterError, match="estimator must be one of"):
        model.log_prob(X, estimator="exact")
