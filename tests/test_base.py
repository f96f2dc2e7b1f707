"""The model contract: registry, fitted checks, random states, light import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import genlab
from genlab import metrics
from genlab.base import get_model_class, registered_models
from genlab.errors import GenlabError, ModelFileError, ParameterError
from genlab.utils import check_random_state, legacy_random_state


def test_registry_holds_genlab_models_only():
    models = registered_models()
    assert models["GaussianMixture"] is genlab.GaussianMixture
    assert "GenerativeModel" not in models  # abstract
    assert all(cls.__module__.startswith("genlab.") for cls in models.values())
    with pytest.raises(ModelFileError, match="not a genlab model"):
        get_model_class("Pipeline")


def test_import_does_not_load_torch():
    code = "import sys, genlab; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_random_state_forms():
    assert isinstance(check_random_state(None), np.random.Generator)
    gen = np.random.default_rng(0)
    assert check_random_state(gen) is gen
    assert check_random_state(3).integers(1 << 30) == np.random.default_rng(3).integers(1 << 30)
    assert isinstance(check_random_state(np.random.RandomState(0)), np.random.Generator)
    assert legacy_random_state(5).randint(1 << 30) == np.random.RandomState(5).randint(1 << 30)
    for bad in (-1, "seed", 1.5, True):
        with pytest.raises(ParameterError, match="random_state"):
            check_random_state(bad)


def test_errors_are_genlab_errors():
    from genlab import errors

    for name in ("DataError", "NotFittedError", "ModelFileError", "ParameterError"):
        assert issubclass(getattr(errors, name), GenlabError)
    assert issubclass(errors.ConvergenceWarning, UserWarning)


def test_metrics_units():
    assert metrics.bits_per_unit(-np.log(2)) == pytest.approx(1.0)
    assert metrics.perplexity(-np.log(50.0)) == pytest.approx(50.0)

    class Uniform:
        def log_prob(self, X):
            return np.full(len(X), -np.log(4.0) * X.shape[1])  # uniform on [0, 4)^D

    assert metrics.bits_per_dimension(Uniform(), np.zeros((10, 3))) == pytest.approx(2.0)
