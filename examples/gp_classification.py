"""Gaussian-process classification with EP: the kernel hyperparameters maximise the EP evidence.

Run: python examples/gp_classification.py
"""

import numpy as np

from genlab.bayes import GaussianProcessClassifier

rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, size=(80, 2))
y = (np.sin(X[:, 0]) + 0.5 * X[:, 1] + 0.3 * rng.normal(size=80) > 0).astype(int)
X_test = rng.uniform(-3, 3, size=(500, 2))
y_test = (np.sin(X_test[:, 0]) + 0.5 * X_test[:, 1] > 0).astype(int)

fixed = GaussianProcessClassifier(kernel="rbf", lengthscale=1.0, variance=1.0, optimize=False).fit(X, y)
tuned = GaussianProcessClassifier(kernel="matern", nu=2.5, optimize=True).fit(X, y)
print(f"RBF (1, 1):     log evidence {fixed.log_marginal_likelihood_:.3f}, "
      f"test accuracy {fixed.score(X_test, y_test):.3f}")
print(f"Matern 5/2 fit: lengthscale {tuned.lengthscale_:.3f}, variance {tuned.variance_:.3f}, "
      f"log evidence {tuned.log_marginal_likelihood_:.3f}, test accuracy {tuned.score(X_test, y_test):.3f}")
print("p(y = 1) at (0, 0) and (2, 2):", np.round(tuned.predict_proba([[0.0, 0.0], [2.0, 2.0]])[:, 1], 3))
