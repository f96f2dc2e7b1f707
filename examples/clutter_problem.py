"""Minka's clutter problem: the posterior of a location by EP, variational Bayes and exact quadrature.

Run: python examples/clutter_problem.py
"""

import math

from genlab.bayes import ClutterModel, clutter_data

X, is_clutter = clutter_data(40, 2.0, clutter_weight=0.5, random_state=0)
print(f"40 observations of theta = 2, {int(is_clutter.sum())} of them clutter")
exact = ClutterModel(method="exact").fit(X)
for method in ("exact", "ep", "vb"):
    model = ClutterModel(method=method).fit(X)
    error = abs(model.posterior_mean_ - exact.posterior_mean_) / math.sqrt(exact.posterior_variance_)
    print(f"{method:5s}: mean {model.posterior_mean_:.4f}, sd {math.sqrt(model.posterior_variance_):.4f}, "
          f"log evidence {model.log_evidence_:.4f}, |mean error| / exact sd {error:.1e}")
