"""Naive Bayes with mixed feature types: a classifier that can also generate rows of a chosen class.

Run: python examples/naive_bayes.py
"""

import numpy as np

from genlab.classify import NaiveBayes

rng = np.random.default_rng(0)
n = 2000
y = rng.choice(["churned", "stayed"], size=n, p=[0.3, 0.7])
churn = y == "churned"
X = np.column_stack([
    rng.normal(np.where(churn, 20.0, 45.0), 8.0),      # monthly spend: Gaussian
    rng.integers(0, 3, n) * ~churn + 2 * churn,         # plan code 0/1/2: categorical
    rng.poisson(np.where(churn, 4.0, 1.0)),             # support calls: Poisson
])
model = NaiveBayes(features=["gaussian", "categorical", "poisson"]).fit(X[:1500], y[:1500])
print(f"test accuracy {model.score(X[1500:], y[1500:]):.3f}; "
      f"mean log p(x) {model.score(X[1500:]):.3f} nats per row")
rows, labels = model.sample(5, y="churned", random_state=0)
print("five generated 'churned' customers (spend, plan, calls):")
print(np.round(rows, 1))
