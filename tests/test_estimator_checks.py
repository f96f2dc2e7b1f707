"""scikit-learn's own estimator checks on genlab's vector-data estimators, run as a new user would run them.

The vector-data estimators are the models whose ``fit`` takes an array (n_samples, n_features) of numbers and follow
scikit-learn's estimator API: the mixtures (``GaussianMixture``, ``BayesianGaussianMixture``), the generative
classifiers (``NaiveBayes``, ``GenerativeClassifier`` with its default Gaussian class model) and the Bayesian
classifiers (``BayesianProbitRegression``, ``BayesianLogisticRegression``, ``GaussianProcessClassifier``, binary
classifiers that declare ``classifier_tags.multi_class = False``). ``ClutterModel`` is left out: its observations
are scalars (Minka's one-dimensional clutter problem), and the checks feed several features to nearly every call.

Every check passes; a check that could not apply to a generative model would be listed in
:data:`EXPECTED_FAILED_CHECKS` with its reason (scikit-learn's expected-failure mechanism), never skipped silently.
The Gaussian process is checked with fixed kernel hyperparameters (``optimize=False``): its API is the same, and
maximising the evidence on every check's data would take minutes.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import is_classifier
from sklearn.utils.estimator_checks import parametrize_with_checks

import genlab
from genlab.bayes import BayesianLogisticRegression, BayesianProbitRegression, GaussianProcessClassifier
from genlab.errors import DataError, GenlabError

ESTIMATORS = [
    genlab.GaussianMixture(n_components=2),
    genlab.GaussianMixture(n_components=2, covariance_type="diag", init_params="k-means++"),
    genlab.BayesianGaussianMixture(n_components=2),
    genlab.NaiveBayes(),
    genlab.GenerativeClassifier(),
    BayesianProbitRegression(),
    BayesianLogisticRegression(method="laplace"),
    GaussianProcessClassifier(optimize=False),
]

#: check name -> reason, per estimator class: what scikit-learn's expected-failure mechanism is given. Empty: every
#: check applies and passes.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def _expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


# The checks fit toy data (repeated rows, a handful of samples, few iterations): the documented degenerate-fit and
# convergence warnings are the estimators doing their job there, not failures.
@pytest.mark.filterwarnings("ignore::genlab.errors.DegenerateFitWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_errors_the_checks_provoke_are_genlab_errors(estimator):
    # scikit-learn's checks only need a ValueError; genlab's callers catch GenlabError (the CLI prints it as one
    # line), so each bad input must raise a genlab error that is also the built-in type scikit-learn expects
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.repeat([0, 1], 15)
    labelled = is_classifier(estimator)

    def fit(data):
        return estimator.fit(data, y) if labelled else estimator.fit(data)

    cases = [
        (sparse.csr_array(X), "sparse"),
        (X.astype(complex), "Complex data not supported"),
        (X[:, 0], "Reshape your data"),
        (X[:, :0], r"0 feature\(s\)"),
        (np.where(X > 2.0, np.nan, X), "NaN"),
    ]
    for data, match in cases:
        with pytest.raises(DataError, match=match):
            fit(data)
    objects = X.astype(object)
    objects[0, 0] = {"not": "a number"}
    with pytest.raises(GenlabError, match="must be numeric") as caught:
        fit(objects)
    assert isinstance(caught.value, TypeError)
    fitted = fit(X)
    method = getattr(fitted, "predict_proba", None) or fitted.predict
    with pytest.raises(DataError, match=f"X has 2 features, but {type(estimator).__name__} is expecting 3 features"):
        method(X[:, :2])
