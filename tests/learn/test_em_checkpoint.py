"""EM checkpoints: a fit interrupted (Ctrl-C) at any point and resumed ends bit for bit like an uninterrupted one.

The interrupt is simulated deterministically: a callback raising KeyboardInterrupt after iteration k, or an M-step
raising it halfway through iteration k (the parameters half-updated, as a real Ctrl-C can leave them).
"""

from __future__ import annotations

import numpy as np
import pytest

import genlab
from genlab.errors import ModelFileError, NotFittedError, ParameterError
from genlab.learn import FitInterrupted, em_checkpoint, fit_em
from genlab.learn.checkpoint import read_em_checkpoint


def _overlapping_blobs(n=400, seed=0):
    """Four overlapping 2-D clusters: EM needs a few dozen iterations, so there is room to interrupt it."""
    gen = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [2.0, 0.5], [0.5, 2.2], [2.5, 2.5]])
    return np.vstack([c + gen.normal(scale=0.9, size=(n // 4, 2)) for c in centers])


def _interrupt_after(iteration, restart=0):
    """A callback that raises Ctrl-C once iteration ``iteration`` of restart ``restart`` has ended."""

    def callback(progress):
        if progress.restart == restart and progress.iteration == iteration:
            raise KeyboardInterrupt

    return callback


def _assert_same_fit(a, b, names):
    for name in names:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name  # bit for bit, not approximately
    assert np.array_equal(a.lower_bounds_, b.lower_bounds_)
    assert (a.n_iter_, a.converged_, a.monitor_.n_decreases) == (b.n_iter_, b.converged_, b.monitor_.n_decreases)


GMM_PARAMETERS = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def _gmm(**extra):
    return genlab.GaussianMixture(4, covariance_type="full", tol=1e-7, max_iter=500, random_state=0, **extra)


@pytest.mark.parametrize("n_init, restart, iteration", [(1, 0, 4), (3, 1, 3), (3, 2, 1)])
def test_interrupted_and_resumed_gaussian_mixture_equals_an_uninterrupted_fit(tmp_path, n_init, restart, iteration):
    X = _overlapping_blobs()
    reference = _gmm(n_init=n_init).fit(X)
    assert reference.n_iter_ > iteration  # the interrupt lands part-way
    path = tmp_path / "gmm.ckpt"
    model = _gmm(n_init=n_init)
    with pytest.raises(FitInterrupted) as caught, em_checkpoint(path, interval=2):
        model.fit(X, callback=_interrupt_after(iteration, restart))
    assert isinstance(caught.value, KeyboardInterrupt)
    assert caught.value.checkpoint == str(path) and f"after iteration {iteration}" in caught.value.where
    assert not hasattr(model, "means_")  # the estimator is left as it was: unfitted
    snapshot, _ = read_em_checkpoint(path)
    assert (snapshot.restart, snapshot.iteration) == (restart, iteration)  # written at the interrupt
    with em_checkpoint(path, resume=True):
        model.fit(X)
    _assert_same_fit(reference, model, GMM_PARAMETERS)


def test_an_interrupt_inside_an_m_step_keeps_the_last_completed_iteration(tmp_path, monkeypatch):
    X = _overlapping_blobs()
    reference = _gmm().fit(X)
    path = tmp_path / "gmm.ckpt"
    original = genlab.GaussianMixture._em_m_step
    calls = {"n": 0}

    def half_an_m_step(self, stats):
        calls["n"] += 1
        if calls["n"] == 6:
            self.weights_ = self.weights_ * 0.5  # half-updated parameters, as a real Ctrl-C can leave them
            raise KeyboardInterrupt
        original(self, stats)

    monkeypatch.setattr(genlab.GaussianMixture, "_em_m_step", half_an_m_step)
    with pytest.raises(FitInterrupted, match="interrupted after iteration 5"), em_checkpoint(path):
        _gmm().fit(X)
    monkeypatch.setattr(genlab.GaussianMixture, "_em_m_step", original)
    assert read_em_checkpoint(path)[0].iteration == 5  # the last iteration that ended
    resumed = _gmm()
    with em_checkpoint(path, resume=True):
        resumed.fit(X)
    _assert_same_fit(reference, resumed, GMM_PARAMETERS)


def test_fit_em_takes_the_checkpoint_path_directly_and_max_time_is_this_runs_time(tmp_path):
    X = _overlapping_blobs()
    reference = _gmm()
    fit_em(reference, X, max_iter=500, tol=1e-7, random_state=np.random.RandomState(0), name="GaussianMixture")
    path = tmp_path / "direct.ckpt"
    first = _gmm()
    fit_em(first, X, max_iter=500, tol=1e-7, random_state=np.random.RandomState(0), checkpoint_path=path,
           max_time=0.0)  # one iteration, then the time limit: written so that a resume continues it
    assert first.n_iter_ == 1 and first.monitor_.stopped_by == "max_time"
    assert read_em_checkpoint(path)[0].iteration == 1
    second = _gmm()
    # the earlier run's time is not counted: a generous limit for this run lets it finish
    fit_em(second, X, max_iter=500, tol=1e-7, random_state=np.random.RandomState(0), checkpoint_path=path,
           resume=True, max_time=600.0)
    _assert_same_fit(reference, second, GMM_PARAMETERS)


def test_hmm_resume_equals_an_uninterrupted_fit(tmp_path):
    source = genlab.GaussianHMM(3, covariance_type="full", random_state=0)
    source.startprob_ = np.array([0.6, 0.3, 0.1])
    source.transmat_ = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.15, 0.15, 0.7]])
    source.means_ = np.array([[0.0, 0.0], [1.5, 1.0], [-1.0, 1.5]])
    source.covars_ = np.tile(np.eye(2) * 0.8, (3, 1, 1))
    X, _ = source.sample(900, random_state=1)
    lengths = [300, 300, 300]

    def make():
        return genlab.GaussianHMM(3, covariance_type="full", n_iter=200, tol=1e-6, random_state=4, n_init=2)

    reference = make().fit(X, lengths=lengths)
    assert reference.n_iter_ > 3
    path = tmp_path / "hmm.ckpt"
    model = make()
    with pytest.raises(FitInterrupted), em_checkpoint(path, interval=100):
        model.fit(X, lengths=lengths, callback=_interrupt_after(3, restart=1))
    with em_checkpoint(path, resume=True):
        model.fit(X, lengths=lengths)
    _assert_same_fit(reference, model, ("startprob_", "transmat_", "means_", "covars_"))


def _has_source_state():
    from genlab.topics.batch import _Corpus

    return hasattr(_Corpus, "em_state")


@pytest.mark.skipif(not _has_source_state(), reason="LDA's batch source does not expose em_state / set_em_state yet")
def test_lda_resume_equals_an_uninterrupted_fit(tmp_path):
    gen = np.random.default_rng(0)  # documents drawn from an LDA model of 5 topics over 60 words
    words = np.array([f"w{i}" for i in range(60)])
    topics = gen.dirichlet(np.full(60, 0.1), size=5)
    documents = []
    for _ in range(120):
        z = gen.choice(5, size=40, p=gen.dirichlet(np.full(5, 0.5)))
        documents.append(" ".join(words[[gen.choice(60, p=topics[k]) for k in z]]))

    def make():
        return genlab.LDA(5, method="batch", max_iter=300, tol=1e-6, random_state=0, stop_words=None)

    reference = make().fit(documents)
    assert reference.n_iter_ > 12
    path = tmp_path / "lda.ckpt"
    model = make()
    with pytest.raises(FitInterrupted), em_checkpoint(path, interval=4):
        model.fit(documents, callback=_interrupt_after(11))
    with em_checkpoint(path, resume=True):
        model.fit(documents)
    _assert_same_fit(reference, model, ("components_", "doc_topic_prior_"))


def test_resume_refuses_another_fits_checkpoint(tmp_path):
    X = _overlapping_blobs()
    path = tmp_path / "gmm.ckpt"
    with pytest.raises(FitInterrupted), em_checkpoint(path):
        _gmm().fit(X, callback=_interrupt_after(3))
    with pytest.raises(ParameterError, match=r"different fit \(hyperparameters.n_components differs"), \
            em_checkpoint(path, resume=True):
        genlab.GaussianMixture(3, covariance_type="full", tol=1e-7, max_iter=500, random_state=0).fit(X)
    with pytest.raises(ParameterError, match=r"data.X differs"), em_checkpoint(path, resume=True):
        _gmm().fit(X + 1.0)
    model = _gmm()
    with pytest.raises(NotFittedError):
        model.score(X)  # nothing was set by the refused resumes
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="EM checkpoint"), em_checkpoint(bogus, resume=True):
        model.fit(X)
    with pytest.raises(ParameterError, match="resume=True needs a checkpoint_path"):
        fit_em(model, X, resume=True)


def test_only_the_first_fit_of_a_block_is_checkpointed(tmp_path):
    X = _overlapping_blobs()
    path = tmp_path / "once.ckpt"
    with em_checkpoint(path, interval=1):
        _gmm().fit(X)
        first = path.read_bytes()
        genlab.GaussianMixture(2, random_state=0).fit(X)
    assert path.read_bytes() == first
    assert read_em_checkpoint(path)[0].restart == 0


def test_the_hmm_convergence_warning_names_n_iter_and_the_mixture_max_iter():
    X = _overlapping_blobs()
    with pytest.warns(genlab.errors.ConvergenceWarning, match=r"in n_iter=2 iterations.*increase n_iter or tol"):
        genlab.GaussianHMM(2, n_iter=2, tol=0.0, random_state=0).fit(X)
    with pytest.warns(genlab.errors.ConvergenceWarning, match=r"in max_iter=2 iterations.*increase max_iter"):
        genlab.GaussianMixture(2, max_iter=2, tol=0.0, random_state=0).fit(X)
