"""Notebook sources: thin, output-free, parameterised with the keys params.yaml has; the runner is atomic."""

import ast
import dataclasses
import json
import os
import tempfile
from pathlib import Path

import nbformat
import papermill
import pytest

from genrecrnn.config.loading import as_dict, load_params
from genrecrnn.config.sections import Params
from genrecrnn.pipeline.notebooks import notebook_parameters, run_notebook
from genrecrnn.util.errors import ConfigError

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_four_numbered_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_preprocessing", "02_training", "03_validation", "04_prediction"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sources_are_thin_and_output_free(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    for c in code:
        tree = ast.parse(c.source)
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)], "logic belongs in src/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameter_defaults_are_literals_equal_to_params_yaml(path):
    params = load_params(ROOT / "params.yaml")
    values = as_dict(params)
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    declared = {}
    for node in tree.body:
        assert isinstance(node, ast.Assign), "the parameters cell holds assignments of literals only"
        declared[node.targets[0].id] = ast.literal_eval(node.value)
    assert declared and set(declared) <= set(values)
    for name, value in declared.items():
        assert value == values[name], f"{path.name}: default of {name} differs from params.yaml"
    assert notebook_parameters(path, params) == {k: values[k] for k in declared}


def test_failed_notebook_keeps_the_last_good_output(tmp_path, capfd):
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    params_cell = nbformat.v4.new_code_cell("seed = 1")
    params_cell.metadata["tags"] = ["parameters"]
    nb.cells = [params_cell, nbformat.v4.new_code_cell("assert seed == 1, 'boom'")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "notebooks" / "09_check.ipynb")
    params = Params(seed=1, genres=("a", "b"))  # results under the default paths.results
    good = run_notebook("09_check", params=params, root=tmp_path)
    # The kernel runs over local sockets: no unencrypted-TCP warning, no socket files left behind.
    assert "TCP" not in capfd.readouterr().err
    assert not list(Path(tempfile.gettempdir()).glob(f"genrecrnn-kernel-{os.getpid()}-*"))
    before = good.read_text()
    with pytest.raises(papermill.PapermillExecutionError):
        run_notebook("09_check", params=dataclasses.replace(params, seed=2), root=tmp_path)
    assert good.read_text() == before
    assert json.loads(good.read_text())["cells"][0]["source"]
    assert (good.parent / "09_check.failed.ipynb").is_file()
    with pytest.raises(ConfigError, match="no such notebook"):
        run_notebook("99_nothing", params=params, root=tmp_path)


def _code(path) -> ast.Module:
    """The notebook's code cells parsed as one module."""
    return ast.parse("\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"))


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def test_notebook_04_runs_the_predict_commands_code():
    import inspect

    from genrecrnn import cli
    from genrecrnn.pipeline import stages

    assert _calls(_code(ROOT / "notebooks" / "04_prediction.ipynb"), "received")
    assert all("PredictionRun(" in inspect.getsource(f) for f in (stages.predict, cli.cmd_predict))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_typed_sections_are_rebuilt_once_from_exactly_the_parameters_received(path):
    """One `received(name=name, ...)` call over the parameters cell's names: the run identity hashes them as given."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    declared = {node.targets[0].id for node in ast.parse(cell.source).body}
    (call,) = _calls(_code(path), "received")
    assert not call.args and {k.arg for k in call.keywords} == declared
    assert all(isinstance(k.value, ast.Name) and k.value.id == k.arg for k in call.keywords)


STAGE_OF = {
    "01_preprocessing": "preprocess",
    "02_training": "train",
    "03_validation": "validate",
    "04_prediction": "predict",
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_its_stage_in_one_call_and_indexes_no_parameter_dict(path):
    tree = _code(path)
    calls = [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and getattr(n.func.value, "id", "") == "stages"
    ]  # fmt: skip
    assert [c.func.attr for c in calls] == [STAGE_OF[path.stem]]
    cell = next(c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    names = {node.targets[0].id for node in ast.parse(cell.source).body}
    indexed = [
        n.value.id for n in ast.walk(tree) if isinstance(n, ast.Subscript) and getattr(n.value, "id", "") in names
    ]
    assert not indexed, f"indexes the papermill dict(s) {indexed}: use the typed sections of `received`"
    written = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in ("save_and_show", "save_figure")]
    assert not written and not _calls(tree, "atomic_write_json"), "a notebook writes no result file itself"
