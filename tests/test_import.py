"""``import genlab`` is light and every public name still imports as before (issue 17: 2.3 s through scikit-learn).

The heavy libraries load when a name that needs them is first used (PEP 562 module ``__getattr__``). Which modules
an import pulls in is checked in a fresh interpreter (``sys.modules``); the time it takes is measured in
``bench/import_time.py``, never asserted here.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import pkgutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn.exceptions

import genlab
import genlab.errors

SRC = Path(__file__).resolve().parents[1] / "src"

#: Libraries that ``import genlab`` must not import (each costs from a tenth of a second to several seconds).
HEAVY = ("sklearn", "scipy", "numba", "torch", "pandas", "matplotlib")


def run_fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter with genlab's sources first on the path; its stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard only
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def heavy_modules_after(statement: str) -> list[str]:
    """The libraries of :data:`HEAVY` that running ``statement`` in a fresh interpreter imports."""
    code = "\n".join(
        [
            "import json, sys",
            textwrap.dedent(statement).strip(),
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))",
        ]
    )
    return json.loads(run_fresh(code).splitlines()[-1])


def test_import_genlab_imports_none_of_the_heavy_libraries():
    assert heavy_modules_after("import genlab") == []


def test_import_genlab_errors_does_not_import_sklearn():
    assert heavy_modules_after("import genlab.errors; from genlab.errors import DataError, GenlabError") == []


def test_every_public_name_imports_from_the_package_in_a_fresh_interpreter():
    """``from genlab import *`` and ``genlab.<name>`` for every public name; the torch-based image models are left
    to the next test (importing PyTorch in a fresh interpreter takes seconds)."""
    out = run_fresh(
        """
        import json, genlab
        from genlab.images import MODEL_MODULES
        names = {}
        for name in genlab.__all__:
            if name not in MODEL_MODULES:
                value = getattr(genlab, name)
                names[name] = getattr(value, "__module__", None) or getattr(value, "__name__", "")
        star = {}
        exec("from genlab import *", star)
        missing = [name for name in genlab.__all__ if name not in star]
        print(json.dumps({"names": names, "missing": missing, "dir": dir(genlab)}))
        """
    )
    found = json.loads(out)
    assert found["missing"] == []
    assert set(genlab.__all__) <= set(found["dir"])
    for name, module in found["names"].items():
        if name != "__version__":
            assert module.startswith("genlab"), (name, module)


def test_the_image_models_are_the_classes_of_their_modules():
    pytest.importorskip("torch")
    from genlab.images import MODEL_MODULES

    for name, module in MODEL_MODULES.items():
        assert getattr(genlab, name) is getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("GaussianMixture", "genlab.mixture"),
        ("GaussianHMM", "genlab.hmm"),
        ("BayesianNetwork", "genlab.bayesnet"),
        ("LanguageModel", "genlab.neural"),
        ("load", "genlab.io"),
        ("GenerativeModel", "genlab.base"),
    ],
)
def test_a_public_name_is_the_object_its_subpackage_defines(name, module):
    assert getattr(genlab, name) is getattr(importlib.import_module(module), name)
    assert name in dir(genlab)


def test_subpackages_are_reachable_as_attributes_after_a_plain_import():
    out = run_fresh(
        """
        import genlab
        print(sorted(genlab.data.kinds.DATA_KINDS)[0], genlab.utils.files.atomic_write.__name__)
        """
    )
    assert out.split() == ["audio", "atomic_write"]
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        genlab.no_such_name  # noqa: B018


def test_a_saved_model_loads_in_a_fresh_interpreter_that_only_imported_genlab(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 2))
    path = tmp_path / "gmm.genlab"
    genlab.GaussianMixture(2, random_state=0).fit(X).save(path)
    out = run_fresh(f"import genlab; print(type(genlab.load({str(path)!r})).__name__)")
    assert out.strip() == "GaussianMixture"


def test_model_packages_and_image_models_give_every_model_class():
    """genlab.load finds a class by importing ``MODEL_PACKAGES`` (and one image model): every model class of every
    genlab module must live in one of them."""
    pytest.importorskip("torch")
    from genlab.base import MODEL_PACKAGES, registered_models
    from genlab.images import MODEL_MODULES

    for info in pkgutil.walk_packages(genlab.__path__, "genlab."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name, cls in registered_models().items():
        assert name in MODEL_MODULES or cls.__module__.startswith(tuple(f"{p}." for p in MODEL_PACKAGES)), (
            f"{name} is defined in {cls.__module__}, outside MODEL_PACKAGES"
        )
    assert {"GaussianMixture", "MarkovChain", "LanguageModel", "BayesianNetwork", "TextHMM"} <= set(registered_models())


# -- NotFittedError and ConvergenceWarning keep scikit-learn's classes as bases, created on first use ---------------
def test_not_fitted_error_is_caught_as_sklearns():
    error_class = genlab.errors.NotFittedError
    assert issubclass(error_class, sklearn.exceptions.NotFittedError)
    assert issubclass(error_class, genlab.errors.GenlabError)
    assert genlab.errors.NotFittedError is error_class  # one class object, not a new one per access
    from genlab.errors import NotFittedError

    assert NotFittedError is error_class
    with pytest.raises(sklearn.exceptions.NotFittedError):
        genlab.GaussianMixture(2).log_prob(np.zeros((3, 2)))
    try:
        genlab.GaussianMixture(2).sample(3)
    except sklearn.exceptions.NotFittedError as caught:
        assert isinstance(caught, error_class) and isinstance(caught, genlab.errors.GenlabError)
    else:  # pragma: no cover - the model is not fitted
        pytest.fail("an unfitted model sampled")
    copy = pickle.loads(pickle.dumps(error_class("not fitted")))
    assert type(copy) is error_class and str(copy) == "not fitted"


def test_convergence_warning_is_filtered_as_sklearns():
    warning_class = genlab.errors.ConvergenceWarning
    assert issubclass(warning_class, sklearn.exceptions.ConvergenceWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        warnings.warn("did not converge", warning_class, stacklevel=1)  # silenced by scikit-learn's filter


def test_the_sklearn_based_classes_are_the_same_in_a_fresh_interpreter():
    out = run_fresh(
        """
        import sys
        import genlab.errors as errors
        before = "sklearn" in sys.modules
        first = errors.NotFittedError
        from genlab.errors import NotFittedError
        from sklearn.exceptions import NotFittedError as Theirs
        try:
            raise NotFittedError("x")
        except Theirs as exc:
            caught = type(exc) is first
        print(before, "sklearn" in sys.modules, NotFittedError is first, caught)
        """
    )
    assert out.split() == ["False", "True", "True", "True"]


def test_unknown_attribute_of_errors_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchError"):
        genlab.errors.NoSuchError  # noqa: B018


def test_genlab_help_imports_no_heavy_library():
    found = heavy_modules_after(
        """
        from genlab.cli import app
        try:
            app(["--help"])
        except SystemExit:
            pass
        """
    )
    assert found == []
