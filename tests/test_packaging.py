"""The install is complete: every package the code imports is a declared dependency, not a lucky transitive one."""

import ast
import sys
from importlib.metadata import packages_distributions, requires

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT


def declared_distributions() -> set[str]:
    """pyproject.toml's dependencies, with what their extras pull in (dask[distributed] -> distributed)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for line in project["dependencies"]:
        req = Requirement(line)
        names.add(canonicalize_name(req.name))
        for extra in req.extras:
            for sub in map(Requirement, requires(req.name) or []):
                if sub.marker is not None and sub.marker.evaluate({"extra": extra}):
                    names.add(canonicalize_name(sub.name))
    return names


def imported_modules(folder) -> set[str]:
    """Top-level names of the absolute imports in every .py file under `folder`."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_package_the_code_imports_is_declared_in_pyproject():
    third_party = imported_modules(ROOT / "src" / "genrecrnn") - set(sys.stdlib_module_names) - {"genrecrnn"}
    assert {"numpy", "keras", "pydantic", "yaml"} <= third_party  # the scan sees the imports
    declared, distributions = declared_distributions(), packages_distributions()
    undeclared = {
        module: distributions.get(module, ["not installed"])
        for module in sorted(third_party)
        if not declared & {canonicalize_name(d) for d in distributions.get(module, [])}
    }
    assert undeclared == {}, "add these to [project] dependencies in pyproject.toml"
