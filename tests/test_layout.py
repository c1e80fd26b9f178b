"""The package's folders are its layers: each imports only from its own layer and those below, never upward,
and every module is short, with one job its docstring names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "src" / "genrecrnn"
# Lowest first. A module may import from its own subpackage and from the ones before it; cli.py sits on top.
LAYERS = ("util", "config", "metrics", "data", "features", "model", "predict", "evaluation", "report", "pipeline")
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    """Dotted name ("genrecrnn.data.audio") -> file, for every module and package of genrecrnn."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The genrecrnn modules a file imports anywhere (function bodies too); `from pkg import module` counts."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "genrecrnn"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "genrecrnn":
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
    return found


def _layer(module: str) -> int:
    """Index of the module's subpackage in LAYERS; the package root and cli.py lie above every layer."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def upward_imports(modules: dict[str, Path]) -> list[str]:
    bad = []
    for name, path in modules.items():
        for target in _imports(path, modules):
            if target != "genrecrnn" and _layer(target) > _layer(name):
                bad.append(f"{name} imports {target}")
    return sorted(bad)


def test_every_subpackage_is_a_layer():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS)
    assert {p.name for p in PACKAGE.glob("*.py")} == {"__init__.py", "cli.py"}


def test_no_module_imports_a_higher_layer():
    assert upward_imports(_modules()) == []


def test_the_layer_check_catches_an_upward_import(tmp_path):
    (tmp_path / "low.py").write_text("from genrecrnn.report.plots import save_figure\n")
    modules = {**_modules(), "genrecrnn.util.low": tmp_path / "low.py"}
    assert upward_imports(modules) == ["genrecrnn.util.low imports genrecrnn.report.plots"]


def test_the_module_graph_has_no_cycle():
    modules = _modules()
    graph = {
        name: {t for t in _imports(path, modules) if t in modules and t != "genrecrnn"}
        for name, path in modules.items()
    }
    done: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        assert name not in stack, " -> ".join((*stack, name))
        if name not in done:
            for target in graph[name]:
                visit(target, (*stack, name))
            done.add(name)

    for name in graph:
        visit(name, ())


@pytest.mark.parametrize("name", sorted(_modules()))
def test_each_module_is_short_and_says_its_job(name):
    path = _modules()[name]
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring, f"{name} has no module docstring"
    if path.name == "__init__.py" and name != "genrecrnn":
        assert "\n" not in docstring and path.read_text().strip().count("\n") == 0, f"{name}: one docstring line only"
    assert len(path.read_text().splitlines()) < MAX_LINES, f"{name} has {MAX_LINES} lines or more: split it"


def _summary(path: Path) -> str:
    """The first line of a module's docstring, without its final full stop."""
    return ast.get_docstring(ast.parse(path.read_text())).splitlines()[0].rstrip(".")


def layout_tree() -> str:
    """src/genrecrnn/ as the README's Layout section shows it: each subpackage and module with its docstring's
    first line, layers lowest first, cli.py last. Print it with `python tests/test_layout.py`."""
    lines = ["src/genrecrnn/"]
    for layer in LAYERS:
        folder = PACKAGE / layer
        lines.append(f"  {layer + '/':<22}{_summary(folder / '__init__.py')}")
        for path in sorted(folder.glob("*.py")):
            if path.name != "__init__.py":
                lines.append(f"    {path.name:<20}{_summary(path)}")
    lines.append(f"  {'cli.py':<22}{_summary(PACKAGE / 'cli.py')}")
    return "\n".join(lines)


def test_the_readme_layout_is_the_module_docstrings():
    tree = layout_tree()
    assert tree in (ROOT / "README.md").read_text(), f"regenerate README's Layout section:\n{tree}"


if __name__ == "__main__":
    print(layout_tree())
