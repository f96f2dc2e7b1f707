"""No public name of genlab without a docstring: the API reference pages are generated from them."""

from __future__ import annotations

import docstring_coverage


def test_every_public_module_class_function_and_method_has_a_docstring():
    gaps = docstring_coverage.missing_docstrings()
    assert not gaps, f"{len(gaps)} public name(s) without a docstring:\n" + "\n".join(gaps)


def test_the_top_level_names_document_their_arguments():
    gaps = docstring_coverage.missing_parameter_sections()
    assert not gaps, f"{len(gaps)} public name(s) without a Parameters section:\n" + "\n".join(gaps)


def test_the_check_finds_a_missing_docstring(monkeypatch):
    """The check can fail: a public method whose docstring is removed is reported by name."""
    import genlab.mixture._base as module

    method = module.BaseGaussianMixture.predict
    monkeypatch.setattr(method, "__doc__", None)
    gaps = docstring_coverage.missing_docstrings("genlab.mixture")
    assert any(gap.startswith("genlab.mixture._base.BaseGaussianMixture.predict:") for gap in gaps), gaps


def test_the_check_finds_a_name_defined_in_a_private_module_and_exported_publicly(monkeypatch):
    """genlab.distributions.Distribution lives in genlab.distributions._base: it is checked where it is public."""
    import genlab.distributions._base as module

    monkeypatch.setattr(module.Distribution, "__doc__", None)
    gaps = docstring_coverage.missing_docstrings("genlab.distributions")
    assert any(gap.startswith("genlab.distributions._base.Distribution: class has no docstring") for gap in gaps), gaps


def test_an_argument_left_out_of_the_parameters_section_is_reported():
    doc = (
        "Fit.\n\nParameters\n----------\nX : array\n    Data.\nweights, offsets : array\n    More.\n\n"
        "Returns\n-------\nint\n"
    )
    assert docstring_coverage.documented_parameters(doc) == {"X", "weights", "offsets"}

    def fit(self, X, weights, offsets, callback=None, **kwargs):
        pass

    fit.__doc__ = doc
    assert docstring_coverage._undocumented_arguments(fit, doc) == ["callback"]
