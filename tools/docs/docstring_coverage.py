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
    checked: set[int] = set()
    for module in public_modules(prefix):
        module_name = module.__name__
        if not _own_doc(module):
            gaps.append(f"{module_name}: module has no docstring")
        for name in _defined_names(module):
            obj = getattr(module, name, None)
            defined_in = getattr(obj, "__module__", None) or ""
            if defined_in != module_name:
                # re-exported: checked where it is defined, unless that module is private (then here, once)
                if not any(part.startswith("_") for part in defined_in.split(".")) or id(obj) in checked:
                    continue
            if id(obj) in checked:
                continue
            checked.add(id(obj))
            # Numba-compiled kernels (dispatchers carry the Python function as py_func) are public functions too
            if not (inspect.isclass(obj) or inspect.isfunction(obj) or hasattr(obj, "py_func")):
                continue
            if not _own_doc(obj):
                kind = "class" if inspect.isclass(obj) else "function"
                where = f"{obj.__module__}.{obj.__qualname__}"
                gaps.append(f"{where}: {kind} has no docstring (public as {module_name}.{name})")
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


def documented_parameters(doc: str) -> set[str]:
    """The argument names a numpydoc docstring documents in its ``Parameters`` / ``Other Parameters`` sections.

    Parameters
    ----------
    doc : str
        A cleaned docstring (``inspect.getdoc``).

    Returns
    -------
    set of str
        The names, ``*`` and ``**`` removed (``a, b : int`` documents both ``a`` and ``b``).
    """
    lines = doc.splitlines()
    names: set[str] = set()
    inside = False
    for index, line in enumerate(lines):
        underlined = index + 1 < len(lines) and lines[index + 1].strip() and set(lines[index + 1].strip()) == {"-"}
        if underlined and line.strip():  # a section heading
            inside = line.strip() in ("Parameters", "Other Parameters")
            continue
        if inside and line and not line[0].isspace() and not set(line.strip()) <= {"-"}:
            head = line.split(" : ", 1)[0] if " : " in line else line.strip()
            names.update(part.strip().lstrip("*") for part in head.replace("\\", "").split(",") if part.strip())
    return names


def _undocumented_arguments(function: object, doc: str) -> list[str]:
    """The named arguments of ``function`` that ``doc`` does not document (``*args`` / ``**kwargs`` aside)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    documented = documented_parameters(doc)
    return [p.name for p in parameters if p.name not in ("self", "cls") and p.kind not in variadic
            and p.name not in documented]


def missing_parameter_sections() -> list[str]:
    """The top-level names (``genlab.__all__``) whose arguments are not all documented in ``Parameters`` sections.

    Returns
    -------
    list of str
        One line per constructor, function or method, naming the arguments its docstring leaves out.
    """
    gaps: list[str] = []
    for name in genlab.__all__:
        obj = getattr(genlab, name)
        if inspect.isfunction(obj):
            missing = _undocumented_arguments(obj, inspect.getdoc(obj) or "")
            if missing:
                gaps.append(f"genlab.{name}: arguments not documented: {', '.join(missing)}")
            continue
        if not inspect.isclass(obj):
            continue
        if "__init__" in {key for cls in obj.__mro__[:-1] for key in vars(cls)} and obj.__init__ is not object.__init__:
            missing = _undocumented_arguments(obj.__init__, inspect.getdoc(obj) or "")
            if missing:
                gaps.append(f"genlab.{name}: constructor arguments not documented: {', '.join(missing)}")
        for attribute_name in dir(obj):
            if attribute_name.startswith("_"):
                continue
            attribute = inspect.getattr_static(obj, attribute_name)
            if isinstance(attribute, property):
                continue
            function = _function_of(attribute)
            if function is None or not _takes_arguments(function):
                continue
            missing = _undocumented_arguments(getattr(obj, attribute_name),
                                              inspect.getdoc(getattr(obj, attribute_name)) or "")
            if missing:
                owner = next(cls for cls in obj.__mro__ if attribute_name in vars(cls))
                where = f"{owner.__module__}.{owner.__qualname__}.{attribute_name}"
                gap = f"{where}: arguments not documented: {', '.join(missing)}"
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
