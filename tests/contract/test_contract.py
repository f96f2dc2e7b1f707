"""The contract every registered genlab model keeps (DESIGN.md section 1), checked over every class.

Each class has a tiny-data factory in ``factories.py``; a class registered without one fails
``test_every_registered_model_has_a_case``, so a new family cannot skip the suite.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from factories import NEURAL, Call, all_case_names, case_for
from sklearn.base import clone

import genlab
from genlab.base import Sample, registered_models
from genlab.data.kinds import DATA_KINDS
from genlab.errors import NotFittedError, ParameterError

_FITTED: dict[str, Any] = {}


def _needs_torch(name: str) -> None:
    if name in NEURAL:
        pytest.importorskip("torch", reason="the neural models need PyTorch (genlab[neural])")


def _registry() -> dict[str, type]:
    try:
        import genlab.images
        import genlab.trees

        for name in genlab.images.MODEL_MODULES:
            getattr(genlab, name)  # import the torch-based classes so they register
        for name in genlab.trees.MODEL_MODULES:  # (the neural tree model is not a top-level name)
            getattr(genlab.trees, name)
    except ImportError:  # pragma: no cover - without torch
        pass
    return registered_models()


def _call(method: Any, call: Call) -> Any:
    return method(*call.args, **call.kwargs)


def _fitted(name: str) -> Any:
    """A model of class ``name`` fitted on its case's data (fitted once per session)."""
    _needs_torch(name)
    if name not in _FITTED:
        case = case_for(name)
        _FITTED[name] = _call(case.make().fit, case.fit)
    return _FITTED[name]


def _equal(a: Any, b: Any) -> bool:
    """Structural equality for hyperparameters and sampled data (arrays, frames, nested containers)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=np.asarray(a).dtype.kind == "f")
    if isinstance(a, pd.DataFrame):
        return isinstance(b, pd.DataFrame) and a.equals(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if hasattr(a, "get_params") and hasattr(b, "get_params"):
        return type(a) is type(b) and _equal(a.get_params(deep=False), b.get_params(deep=False))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b) if type(a) is type(b) else repr(a) == repr(b)


names = pytest.mark.parametrize("name", all_case_names())


def test_every_registered_model_has_a_case():
    assert set(_registry()) == set(all_case_names())


@names
def test_declares_a_data_kind_and_a_score_unit(name):
    _needs_torch(name)
    cls = _registry()[name]
    assert cls.data_kind in DATA_KINDS, f"{name}.data_kind = {cls.data_kind!r}"
    assert isinstance(case_for(name).make().score_unit, str)


@names
def test_methods_before_fit_raise_not_fitted(name):
    _needs_torch(name)
    case = case_for(name)
    model = case.make()
    if not case.no_likelihood:
        with pytest.raises(NotFittedError, match="not fitted"):
            _call(model.log_prob, case.data)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.sample(case.n_sample, random_state=0, **case.sample_kwargs)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.save("never-written.genlab")


@names
def test_fit_returns_self(name):
    _needs_torch(name)
    case = case_for(name)
    model = case.make()
    assert _call(model.fit, case.fit) is model


@names
def test_score_is_the_total_log_prob_per_unit(name):
    _needs_torch(name)
    case = case_for(name)
    model = _fitted(name)
    if case.no_likelihood:
        pytest.skip(f"{name} has no likelihood")
    log_prob = np.asarray(_call(model.log_prob, case.data))
    assert log_prob.ndim == 1 and np.all(np.isfinite(log_prob))
    n_units = _call(model.n_units, case.data)
    assert _call(model.score, case.data) == pytest.approx(log_prob.sum() / n_units, rel=1e-9, abs=1e-12)


@names
def test_samples_are_reproducible_and_have_finite_log_prob(name):
    _needs_torch(name)
    case = case_for(name)
    model = _fitted(name)
    drawn = model.sample(case.n_sample, random_state=0, **case.sample_kwargs)
    again = model.sample(case.n_sample, random_state=0, **case.sample_kwargs)
    if case.latent:
        assert isinstance(drawn, Sample), f"{name}.sample should return Sample(data, latent); got {type(drawn)}"
        assert _equal(drawn.latent, again.latent)
        drawn, again = drawn.data, again.data
    assert _equal(drawn, again), "the same seed must give the same sample"
    if case.no_likelihood:
        return
    log_prob = np.asarray(_call(model.log_prob, case.sample_data(drawn)))
    assert log_prob.size >= 1 and np.all(np.isfinite(log_prob))


@names
def test_conditional_models_refuse_to_sample_without_their_condition(name):
    _needs_torch(name)
    case = case_for(name)
    if not case.sample_kwargs:
        pytest.skip(f"{name} samples without a condition")
    with pytest.raises(ParameterError, match="conditional"):
        _fitted(name).sample(case.n_sample, random_state=0)


@names
def test_save_load_round_trip_is_exact(name, tmp_path):
    _needs_torch(name)
    case = case_for(name)
    model = _fitted(name)
    path = tmp_path / "model.genlab"
    model.save(path)
    loaded = genlab.load(path)
    assert type(loaded) is type(model)
    assert _equal(loaded.get_params(deep=False), model.get_params(deep=False))
    if case.no_likelihood:
        assert _equal(loaded.sample(3, random_state=1, **case.sample_kwargs),
                      model.sample(3, random_state=1, **case.sample_kwargs))
        return
    np.testing.assert_array_equal(_call(loaded.log_prob, case.data), _call(model.log_prob, case.data))


@names
def test_get_params_and_clone_round_trip(name):
    _needs_torch(name)
    case = case_for(name)
    model = case.make()
    params = model.get_params(deep=False)
    twin = clone(model)
    assert type(twin) is type(model) and _equal(twin.get_params(deep=False), params)
    assert _equal(type(model)(**params).get_params(deep=False), params)
    fitted_clone = clone(_fitted(name))  # a clone carries hyperparameters only: it is not fitted
    with pytest.raises(NotFittedError):
        fitted_clone.sample(case.n_sample, random_state=0, **case.sample_kwargs)


@names
def test_bad_input_raises_the_documented_error_and_leaves_the_model_as_it_was(name):
    _needs_torch(name)
    case = case_for(name)
    assert case.bad, f"{name}'s case names no bad input"
    model = copy.deepcopy(_fitted(name))
    before = None if case.no_likelihood else np.asarray(_call(model.log_prob, case.data))
    for call, error, fragment in case.bad:
        with pytest.raises(error, match=fragment):
            _call(model.fit, call)
        if before is not None:
            np.testing.assert_array_equal(_call(model.log_prob, case.data), before)
