"""Bayesian logistic regression on scikit-learn's breast-cancer table: evidence chooses the prior scale.

Run: python examples/logistic_regression_bayes.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from genlab.bayes import BayesianLogisticRegression

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X[:, :10])  # the ten 'mean' features: EP's logistic sites are quadrature
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

# the EP evidence log p(y | X, prior variance) compares prior scales without a validation set
for variance in (0.01, 1.0, 100.0):
    model = BayesianLogisticRegression(method="ep", prior_variance=variance, fit_intercept=True).fit(X_train, y_train)
    print(f"prior variance {variance:5}: log evidence {model.log_evidence_:9.3f}, "
          f"test accuracy {model.score(X_test, y_test):.4f}")
