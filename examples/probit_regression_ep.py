"""Bayesian probit regression by EP, Laplace and variational Bayes, against the exact posterior on a grid.

Run: python examples/probit_regression_ep.py
"""

import numpy as np
from scipy.special import log_ndtr, logsumexp

from genlab.bayes import BayesianProbitRegression

rng = np.random.default_rng(0)
X = rng.normal(size=(12, 2))
y = (X @ np.array([1.5, -1.0]) + 0.5 * rng.normal(size=12) > 0).astype(int)

# the exact posterior of the two weights, by quadrature on a grid (prior N(0, I))
g = np.linspace(-8, 8, 401)
W = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
log_joint = log_ndtr(np.where(y > 0, 1, -1)[None, :] * (W @ X.T)).sum(axis=1) - 0.5 * (W * W).sum(axis=1)
exact_mean = np.exp(log_joint - logsumexp(log_joint)) @ W

print(f"exact posterior mean      {np.round(exact_mean, 4)}")
for method in ("ep", "laplace", "vi"):
    model = BayesianProbitRegression(method=method, prior_variance=1.0).fit(X, y)
    error = np.max(np.abs(model.posterior_mean_ - exact_mean) / np.abs(exact_mean))
    print(f"{method:8s} posterior mean  {np.round(model.posterior_mean_, 4)}  max rel. error {error:.1e}  "
          f"log evidence {model.log_evidence_:.4f}")
print("p(y = 1) at the first three points:", np.round(model.predict_proba(X[:3])[:, 1], 3))
