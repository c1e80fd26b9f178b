"""dvc.yaml: every stage's code deps cover the package modules its notebook or command imports, by construction;
its outs are the output contract (genrecrnn.config.outputs)."""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import nbformat
import pytest
import yaml

from genrecrnn.config import outputs
from genrecrnn.config.loading import as_dict, load_params
from genrecrnn.config.sections import Params
from genrecrnn.pipeline.dvcfile import declared_outs, outs_against_contract

from conftest import ROOT

PACKAGE = ROOT / "src" / "genrecrnn"


def _stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _interpolate(text: str, params: dict) -> str:
    """dvc.yaml's ${a.b} from params.yaml."""

    def value(match: re.Match) -> str:
        node = params
        for part in match.group(1).split("."):
            node = node[part]
        return str(node)

    return re.sub(r"\$\{([^}]+)\}", value, text)


def _package_imports(tree: ast.AST) -> set[str]:
    """Modules of genrecrnn a piece of code imports, anywhere in it (function bodies too): 'genrecrnn.x'."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "genrecrnn"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "genrecrnn":
            found.add(node.module)
            # `from genrecrnn import plots` imports a module; `from genrecrnn import __version__` a name
            found |= {f"{node.module}.{a.name}" for a in node.names if _module_file(f"{node.module}.{a.name}")}
    return found | ({"genrecrnn"} if found else set())  # importing a submodule runs the package's __init__


def _module_file(name: str) -> Path | None:
    parts = name.split(".")[1:]
    path = PACKAGE.joinpath(*parts)
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_closure(tree: ast.AST) -> set[Path]:
    """Files of the package that running `tree` can import, following imports module by module."""
    todo, seen = list(_package_imports(tree)), set()
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None or path in seen:
            continue
        seen.add(path)
        todo += _package_imports(ast.parse(path.read_text()))
    return seen


def _command_tree(cmd: str) -> ast.AST:
    """The code a stage's `genrecrnn ...` command runs: cli.py's module level and its cmd_<name> function."""
    sub = cmd.split()[1]
    cli = ast.parse((PACKAGE / "cli.py").read_text())
    top = [n for n in cli.body if isinstance(n, ast.Import | ast.ImportFrom)]
    func = next(n for n in cli.body if isinstance(n, ast.FunctionDef) and n.name == f"cmd_{sub}")
    return ast.Module(body=[*top, func], type_ignores=[])


def _notebook_tree(path: Path) -> ast.AST:
    nb = nbformat.read(path, as_version=4)
    return ast.parse("\n".join(c.source for c in nb.cells if c.cell_type == "code"))


def stage_closure(stage: dict, params: dict) -> set[Path]:
    """Package files a stage runs: its command's closure, plus its notebook's for `genrecrnn notebook NAME`."""
    cmd = stage["cmd"]
    files = import_closure(_command_tree(cmd))
    if cmd.split()[1] == "notebook":
        files |= import_closure(_notebook_tree(ROOT / "notebooks" / f"{cmd.split()[2]}.ipynb"))
    return files


def uncovered(stage: dict, params: dict) -> list[str]:
    deps = [ROOT / _interpolate(str(d), params) for d in stage.get("deps", [])]
    files = stage_closure(stage, params)
    return sorted(str(f.relative_to(ROOT)) for f in files if not any(f == d or d in f.parents for d in deps))


@pytest.mark.parametrize("name", list(_stages()), ids=str)
def test_stage_deps_cover_its_import_closure(name):
    params = as_dict(load_params(ROOT / "params.yaml"))
    stage = _stages()[name]
    assert stage_closure(stage, params), "the closure finder found no package module: it is broken"
    assert not uncovered(stage, params), f"stage {name} runs code that is not among its deps"


def test_notebook_stages_depend_on_their_notebook():
    for name, stage in _stages().items():
        parts = stage["cmd"].split()
        if parts[1] == "notebook":
            assert f"notebooks/{parts[2]}.ipynb" in stage["deps"], name


def test_a_hand_picked_list_that_misses_a_module_is_caught():
    """The old validate stage's list: predict.py imports features.py and audio.py, which it lacked."""
    params = as_dict(load_params(ROOT / "params.yaml"))
    stage = {**_stages()["validate"]}
    stage["deps"] = [d for d in stage["deps"] if d != "src/genrecrnn"] + [
        f"src/genrecrnn/{m}.py"
        for m in ("metrics/scores", "evaluation/scorecard", "evaluation/baseline", "report/plots", "predict/inference")
    ]
    missing = uncovered(stage, params)
    assert "src/genrecrnn/features/logmel.py" in missing and "src/genrecrnn/data/audio.py" in missing


def test_bytecode_is_not_a_code_dep():
    ignored = (ROOT / ".dvcignore").read_text().split()
    assert "__pycache__/" in ignored and "*.pyc" in ignored


def _is_param(dotted: str) -> bool:
    """Whether `dotted` ("train.augment.mixup", "paths", "seed") names a field of the typed Params."""
    kind: object = Params
    for part in dotted.split("."):
        hints = typing.get_type_hints(kind) if dataclasses.is_dataclass(kind) else {}
        if part not in hints:
            return False
        kind = hints[part]
    return True


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_params_lists_name_typed_params(name):
    listed = _stages()[name].get("params", [])
    assert listed and all(_is_param(key) for key in listed), f"stage {name} lists a key params.yaml cannot have"


@pytest.mark.parametrize("name", [n for n, s in sorted(_stages().items()) if "notebook" in s["cmd"]])
def test_a_notebook_stage_lists_every_parameter_its_notebook_declares(name):
    import papermill

    stage = _stages()[name]
    notebook = next(ROOT / d for d in stage["deps"] if str(d).endswith(".ipynb"))
    listed = stage["params"]
    for declared in papermill.inspect_notebook(str(notebook)):
        assert any(key == declared or key.startswith(declared + ".") for key in listed), (
            f"{notebook.name} declares {declared!r} but stage {name} does not list it: editing it would not rerun"
        )


def test_the_checks_catch_a_stray_key():
    assert _is_param("train.augment.mixup") and _is_param("paths") and _is_param("seed")
    assert not _is_param("train.mixup") and not _is_param("seed.x")


# A <script> or <link> that loads from the network: http(s)://... or protocol-relative //...
REMOTE_TAG = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)


def _image_plots(params: dict) -> list[str]:
    """The top-level `plots:` of dvc.yaml, paths interpolated from params.yaml."""
    entries = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    return [_interpolate(entry if isinstance(entry, str) else next(iter(entry)), params) for entry in entries]


def test_every_plot_is_an_uncached_png_out_of_a_stage():
    params = as_dict(load_params(ROOT / "params.yaml"))
    outs = {
        _interpolate(next(iter(out)), params): out[next(iter(out))]
        for stage in _stages().values()
        for out in stage.get("outs", [])
        if isinstance(out, dict)
    }
    plots = _image_plots(params)
    assert plots and all(p.endswith(".png") for p in plots), "Vega plots need a CDN: declare the PNG figures"
    for path in plots:
        assert outs.get(path) == {"cache": False}, f"{path} is not a stage out with cache: false"


def test_the_remote_tag_check_catches_a_cdn_page():
    page = '<script src="https://cdn.example/vega@5"></script><link href=//x.org/a.css><img src="static/a.png">'
    assert len(REMOTE_TAG.findall(page)) == 2 and not REMOTE_TAG.findall('<script src="static/vega.js"></script>')


def test_dvc_plots_show_renders_offline(tmp_path):
    params = as_dict(load_params(ROOT / "params.yaml"))
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    plots = _image_plots(params)
    for path in plots:  # placeholder images: DVC copies the bytes, it does not decode them
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"\x89PNG\r\n\x1a\n")
    dvc = [str(Path(sys.executable).with_name("dvc"))]
    for cmd in (["git", "init", "-q"], [*dvc, "init", "-q"], [*dvc, "plots", "show", "-o", "out"]):
        done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stderr[-2000:]}"
    page = (tmp_path / "out" / "index.html").read_text()
    assert not REMOTE_TAG.findall(page), "the plots page loads from the network: blank offline"
    for path in plots:
        assert re.search(rf"<img[^>]*src=\"static/[^\"]*{re.escape(Path(path).name)}\"", page), f"{path} not drawn"


def test_stage_outs_are_the_output_contract():
    assert outs_against_contract(ROOT / "dvc.yaml") == []


def test_the_contract_names_every_figure_the_report_captions_and_every_baseline():
    from genrecrnn.evaluation.baseline import BASELINES
    from genrecrnn.model.classifier import metadata_path
    from genrecrnn.report.html import FIGURES

    assert {spec.stem for spec in FIGURES} == set(outputs.FIGURES)  # no caption of a figure no stage draws
    assert set(outputs.BASELINE_FILES) == set(BASELINES)
    assert metadata_path(outputs.MODEL_FILE).name == outputs.MODEL_SIDECAR
    for name, stage in _stages().items():  # each notebook stage runs the notebook the contract names
        parts = stage["cmd"].split()
        assert (parts[2] if parts[1] == "notebook" else None) == outputs.NOTEBOOKS.get(name), name


def test_the_contract_check_catches_a_stray_out(tmp_path):
    stage = {**_stages()["validate"]}
    stage["outs"] = [*stage["outs"], {"${paths.results}/old_table.csv": {"cache": False}}]
    assert "old_table.csv" in declared_outs(stage)["results"] - set(outputs.stage_outputs("validate")["results"])
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    dvc["stages"]["validate"] = stage
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(dvc))
    assert [line for line in outs_against_contract(tmp_path / "dvc.yaml") if "old_table.csv" in line]
