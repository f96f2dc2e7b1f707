"""Which public names of genlab lack a docstring (the documentation site's API reference is built from them).

A name is public when no part of its dotted path starts with an underscore: every module of the package, the
classes and functions each module defines (its ``__all__`` where it has one), and the methods and properties those
classes define. Each needs a docstring; a method may inherit its base's (numpydoc's rule for overrides). Beyond
that, the names a user meets first, ``genlab.<Name>`` for every name in ``genlab.__all__``, must document their
arguments: a class whose constructor takes arguments, and each of its public methods that takes any, has a numpydoc
``Parameters`` section.

Run ``python tools/docs/docstring_coverage.py`` (exit status 1 and one line per gap when anything is missing), or
``--package genlab.hmm`` to look at one subpackage.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Iterator

import genlab


def public_modules(prefix: str = "genlab") -> Iterator[object]:
    """Import and yield every public module of genlab whose name starts with ``prefix``."""
    root = importlib.import_module("genlab")
    names = ["genlab", *(info.name for info in pkgutil.walk_packages(root.__path__, "genlab."))]
    for name in sorted(names):
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if name != prefix and not name.startswith(prefix + "."):
            continue
        yield importlib.import_module(name)


def _has_doc(obj: object) -> bool:
    doc = inspect.getdoc(obj)
    return bool(doc and doc.strip())


def _own_doc(obj: object) -> bool:
    doc = getattr(obj, "__doc__", None)
    return bool(doc and doc.strip())


def _defined_names(module: object) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    return [name for name in names if not name.startswith("_")]


def _function_of(attribute: object) -> object | None:
    """The plain function behind a class attribute (method, static / class method, property getter)."""
    if isinstance(attribute, property):
        return attribute.fget
    function = getattr(attribute, "__func__", attribute)
    return function if inspect.isfunction(function) else None


def _takes_arguments(function: object) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return any(name not in ("self", "cls") for name in parameters)


def missing_docstrings(prefix: str = "genlab") -> list[str]:
    """Every public module, class, function, method and property under ``prefix`` without a docstring."""
    gaps: list[str] = []
    for module in public_modules(prefix):
        module_name = module.__name__
        if not _own_doc(module):
            gaps.append(f"{module_name}: module has no docstring")
        for name in _defined_names(module):
            obj = getattr(module, name, None)
            if getattr(obj, "__module__", None) != module_name:
                continue  # re-exported: checked where it is defined
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not _own_doc(obj):
                gaps.append(f"{module_name}.{name}: {'class' if inspect.isclass(obj) else 'function'} has no docstring")
            if not inspect.isclass(obj):
                continue
            for attribute_name in dir(obj):
                if attribute_name.startswith("_"):
                    continue
                # a public class's methods include those of its private bases (genlab.mixture._base ...)
                owner = next((cls for cls in obj.__mro__ if attribute_name in vars(cls)), None)
                if owner is None or not owner.__module__.startswith("genlab"):
                    continue  # scikit-learn's get_params, torch's Module.train ...: documented where they live
                attribute = vars(owner)[attribute_name]
                if _function_of(attribute) is None or _has_doc(getattr(obj, attribute_name)):
                    continue
                kind = "property" if isinstance(attribute, property) else "method"
                gap = f"{owner.__module__}.{owner.__qualname__}.{attribute_name}: {kind} has no docstring"
                if gap not in gaps:
                    gaps.append(gap)
    return gaps


def missing_parameter_sections() -> list[str]:
    """The top-level names (``genlab.__all__``) whose arguments are not documented in a ``Parameters`` section."""
    gaps: list[str] = []
    for name in genlab.__all__:
        obj = getattr(genlab, name)
        if inspect.isfunction(obj):
            if _takes_arguments(obj) and "Parameters" not in (inspect.getdoc(obj) or ""):
                gaps.append(f"genlab.{name}: arguments not documented (no Parameters section)")
            continue
        if not inspect.isclass(obj):
            continue
        if obj.__init__ is not object.__init__ and _takes_arguments(obj.__init__):
            if "Parameters" not in (inspect.getdoc(obj) or ""):
                gaps.append(f"genlab.{name}: constructor arguments not documented (no Parameters section)")
        for attribute_name in dir(obj):
            if attribute_name.startswith("_"):
                continue
            attribute = inspect.getattr_static(obj, attribute_name)
            if isinstance(attribute, property):
                continue
            function = _function_of(attribute)
            if function is None or not _takes_arguments(function):
                continue
            if "Parameters" not in (inspect.getdoc(getattr(obj, attribute_name)) or ""):
                owner = next(cls for cls in obj.__mro__ if attribute_name in vars(cls))
                where = f"{owner.__module__}.{owner.__qualname__}.{attribute_name}"
                gap = f"{where}: arguments not documented (no Parameters section)"
                if gap not in gaps:  # an inherited method is reported once, where it is defined
                    gaps.append(gap)
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="genlab", help="look only at this package (default: all of genlab)")
    args = parser.parse_args(argv)
    gaps = missing_docstrings(args.package)
    if args.package == "genlab":
        gaps += missing_parameter_sections()
    else:
        gaps += [gap for gap in missing_parameter_sections() if _belongs_to(gap, args.package)]
    for gap in gaps:
        print(gap)
    print(f"{len(gaps)} public name(s) without the documentation they need", file=sys.stderr)
    return 1 if gaps else 0


def _belongs_to(gap: str, package: str) -> bool:
    """Whether a gap is about a name defined in ``package``."""
    dotted = gap.split(":", 1)[0]
    if dotted.count(".") == 1:  # genlab.<Name>: where the name is defined
        dotted = getattr(getattr(genlab, dotted.split(".")[1], None), "__module__", "")
    return dotted == package or dotted.startswith(package + ".")


if __name__ == "__main__":
    raise SystemExit(main())
