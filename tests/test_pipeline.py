"""End to end: the real DVC pipeline (papermill on every notebook) on a tiny configuration in a temp dir."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.slow

TINY = {
    "genres": ["blues", "classical", "metal"],
    "data": {"clips_per_genre": 4, "clip_seconds": 7},
    "model": {"filters": [4, 8, 8, 8, 8], "lstm_units": 8, "dense_units": 8},
    "train": {"epochs": 2, "patience": 1},
    "validate": {"n_boot": 20},
}


def dvc(project: Path, *args: str) -> str:
    """Run dvc in `project` with this interpreter's environment; return its output (fails loudly)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), *args], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the pipeline with tiny params, reproduced once."""
    root = tmp_path_factory.mktemp("project")
    for name in ("dvc.yaml", "notebooks", "src"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, root / name)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in TINY.items():
        params[key] = {**params[key], **value} if isinstance(value, dict) else value
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    dvc(root, "init", "-q")
    shutil.copy(ROOT / ".dvcignore", root / ".dvcignore")  # bytecode under src/genrecrnn is not a code dep
    dvc(root, "repro")
    return root


def test_pipeline_writes_every_result(project):
    results = project / "results"
    for name in ("01_preprocessing", "02_training", "03_validation", "04_prediction"):
        nb = json.loads((results / "notebooks" / f"{name}.ipynb").read_text())
        assert any(c.get("outputs") for c in nb["cells"]), f"{name} has no outputs"
    for fig in ("logmel_examples", "training_curves", "confusion_matrix"):
        assert (results / "figures" / f"{fig}.png").stat().st_size > 1000
    metrics = json.loads((results / "metrics.json").read_text())
    assert metrics["n_clips"] == 3  # one test clip per genre (round(4 * 0.2) = 1)
    assert metrics["n_frames"] == 6  # 7 s clips give two 3 s frames each
    # metrics.json agrees with the per-clip predictions the same stage wrote
    import pandas as pd

    clips = pd.read_csv(results / "predictions_test.csv")
    assert len(clips) == 3
    assert metrics["crnn"]["clip"]["accuracy"] == (clips["genre"] == clips["predicted"]).mean()
    assert metrics["crnn"]["clip"]["accuracy"] in (0, 1 / 3, 2 / 3, 1)
    assert metrics["crnn"]["frame"]["accuracy"] in (0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1)
    # ... and every number in it recomputes exactly from the frame and baseline probability files
    from genrecrnn.evaluation.scorecard import metrics_document, read_baselines, read_frames, score_tables

    scores, comparisons, _ = score_tables(
        read_frames(results), read_baselines(results), genres=TINY["genres"], n_boot=20, seed=42
    )
    ids = {k: metrics[k] for k in ("genrecrnn_version", "params_md5", "manifest_md5", "model_id")}
    again = metrics_document(scores, comparisons, identifiers=ids)
    assert {k: v for k, v in again.items() if k != "environment"} == {
        k: v for k, v in metrics.items() if k != "environment"
    }
    summary = pd.read_csv(results / "summary.csv", index_col="metric")
    assert summary.at["accuracy", "CRNN, clip"] == metrics["crnn"]["clip"]["accuracy"]
    assert set(metrics["crnn_vs_baseline"]) >= {"accuracy_diff", "mcnemar_p"}
    assert set(metrics["crnn_vs_rhythm_harmony"]) >= {"accuracy_diff", "mcnemar_p"}
    assert metrics["clip_aggregation"] == "mean" and metrics["manifest_md5"]
    assert (project / "models" / "crnn.keras").is_file() and (project / "models" / "crnn.json").is_file()
    prediction = json.loads((results / "prediction.json").read_text())
    assert prediction["results"][0]["genre"] in TINY["genres"]


def test_split_keeps_tracks_whole(project):
    import pandas as pd

    frames = pd.read_csv(project / "data" / "features" / "frames.csv")
    assert (frames.groupby("track_id")["split"].nunique() == 1).all()


def test_forced_rerun_gives_bit_identical_metrics_figures_and_report(project):
    results = project / "results"
    figures = sorted(f"figures/{path.name}" for path in (results / "figures").iterdir())
    kept = ["metrics.json", "history.csv", "report.html", *figures]
    first = {name: (results / name).read_bytes() for name in kept}
    dvc(project, "repro", "--force")
    assert [name for name in kept if (results / name).read_bytes() != first[name]] == []


def test_second_repro_does_nothing_and_one_param_reruns_only_its_stages(project):
    assert "Data and pipelines are up to date" in dvc(project, "repro")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["validate"]["n_boot"] = 30
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = dvc(project, "repro")
    assert "Running stage 'validate'" in out
    for stage in ("data", "preprocess", "train", "predict"):
        assert f"Running stage '{stage}'" not in out


def test_report_opens_with_the_findings_and_has_no_noise(project):
    import re

    page = (project / "results" / "report.html").read_text()
    body = page[page.index("<body") :]
    assert body.index('id="summary"') < body.index('id="methods"') < body.index(">Details<")
    summary = body[body.index('id="summary"') : body.index('id="methods"')]
    assert "clip accuracy" in summary and "McNemar exact p" in summary and "Clips per split and genre" in summary
    for bad in ("WARNING", "Traceback", "PosixPath", "absl", "InitializeLog", "oneDNN", "{'"):
        assert bad not in page, bad
    figures = re.findall(r"<figure.*?</figure>", page, flags=re.S)
    assert len(figures) == page.count("<img") >= 8
    assert all(re.search(r"<figcaption><b>Figure \d+\.</b> \w", f) for f in figures)
    for stem in ("embedding_map", "saliency", "per_genre_f1", "confusion_matrix"):
        assert (project / "results" / "figures" / f"{stem}.svg").is_file(), stem


def test_each_notebook_runs_top_to_bottom_without_papermill_on_its_defaults(project, tmp_path):
    """What `make lab` gives: the source notebooks run in notebooks/ with their own defaults, showing figures."""
    import nbclient
    import nbformat

    lab = tmp_path / "lab"
    shutil.copytree(project, lab, symlinks=True)  # a copy: the defaults retrain the model, the fixture stays as it is
    for name in ("01_preprocessing", "02_training", "03_validation", "04_prediction"):
        nb = nbformat.read(lab / "notebooks" / f"{name}.ipynb", as_version=4)
        nbclient.NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(lab / "notebooks")}}
        ).execute()
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{name} shows no figure"
        assert not [o for o in outputs if o.get("output_type") == "error"]
        stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
        assert "absl" not in stderr and "oneDNN" not in stderr, f"{name}: TensorFlow start-up lines in the notebook"
        reprs = [o for o in outputs if str(o.get("data", {}).get("text/plain", "")).startswith("PosixPath(")]
        assert not reprs, f"{name} echoes a path object"
