"""Bayesian estimation beyond conjugacy: probit / logistic regression, GP classification and the clutter problem.

Built on the expectation-propagation engine of :mod:`genlab.inference`; Laplace and variational Bayes are offered
beside EP for comparison.
"""

from genlab.bayes.clutter import ClutterModel, clutter_data
from genlab.bayes.gp import GaussianProcessClassifier
from genlab.bayes.kernels import kernel_matrix
from genlab.bayes.regression import BayesianLogisticRegression, BayesianProbitRegression

__all__ = [
    "BayesianLogisticRegression",
    "BayesianProbitRegression",
    "ClutterModel",
    "GaussianProcessClassifier",
    "clutter_data",
    "kernel_matrix",
]
