"""The API reference covers the public names: every name a public package exports, and every genlab name the
documentation's examples import, is documented on a reference page (docs/reference/*.md, ``::: path`` entries)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from examples import code_blocks

import genlab

ROOT = Path(__file__).resolve().parents[2]


def documented() -> set[str]:
    """The dotted paths the reference pages render (``::: genlab.hmm.gaussian.GaussianHMM``)."""
    paths: set[str] = set()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        paths.update(re.findall(r"^::: (\S+)", page.read_text(encoding="utf-8"), flags=re.MULTILINE))
    return paths


def _path(obj: object) -> str | None:
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return None
    if not getattr(obj, "__module__", "").startswith("genlab"):
        return None
    return f"{obj.__module__}.{obj.__qualname__}"


def _public_packages() -> list[str]:
    """genlab and its public subpackages (genlab.hmm, genlab.neural ...), the modules whose ``__all__`` users import
    from."""
    names = ["genlab"]
    for info in pkgutil.iter_modules(genlab.__path__, "genlab."):
        if info.ispkg and not info.name.rsplit(".", 1)[-1].startswith("_") and info.name != "genlab.cli":
            names.append(info.name)
    return names


def test_every_name_a_public_package_exports_is_in_the_api_reference():
    paths = documented()
    missing = []
    for package_name in _public_packages():
        package = importlib.import_module(package_name)
        for name in getattr(package, "__all__", []):
            path = _path(getattr(package, name, None))
            if path is not None and path not in paths:
                missing.append(f"{package_name}.{name} ({path})")
    assert not missing, "not in docs/reference/*.md:\n" + "\n".join(missing)


def test_every_genlab_name_the_examples_import_is_in_the_api_reference():
    paths = documented()
    missing = []
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        for block in code_blocks(page.read_text(encoding="utf-8")):
            if block.language != "python":
                continue
            imported = re.findall(r"^\s*from (genlab[\w.]*) import \(?([\w, \n]+)\)?", block.source, flags=re.MULTILINE)
            for module_name, names in imported:
                module = importlib.import_module(module_name)
                for name in (part.strip() for part in names.replace("\n", " ").split(",")):
                    path = _path(getattr(module, name, None)) if name else None
                    if path is not None and path not in paths:
                        missing.append(f"{page.relative_to(ROOT)}:{block.line}: {module_name}.{name} ({path})")
            for name in re.findall(r"\bgenlab\.([A-Z]\w*)\b", block.source):
                path = _path(getattr(genlab, name, None))
                if path is not None and path not in paths:
                    missing.append(f"{page.relative_to(ROOT)}:{block.line}: genlab.{name} ({path})")
    assert not missing, "examples use names the API reference lacks:\n" + "\n".join(sorted(set(missing)))
