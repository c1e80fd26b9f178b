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
    summary = pd.read_csv(results / "summary.csv", index_col="metric")
    assert summary.at["accuracy", "CRNN, clip"] == metrics["crnn"]["clip"]["accuracy"]
    assert set(metrics["crnn_vs_baseline"]) >= {"accuracy_diff", "mcnemar_p"}
    assert metrics["clip_aggregation"] == "mean" and metrics["manifest_md5"]
    assert (project / "models" / "crnn.keras").is_file() and (project / "models" / "crnn.json").is_file()
    prediction = json.loads((results / "prediction.json").read_text())
    assert prediction["results"][0]["genre"] in TINY["genres"]


def test_split_keeps_tracks_whole(project):
    import pandas as pd

    frames = pd.read_csv(project / "data" / "features" / "frames.csv")
    assert (frames.groupby("track_id")["split"].nunique() == 1).all()


def test_forced_rerun_gives_bit_identical_metrics(project):
    first = (project / "results" / "metrics.json").read_text()
    first_history = (project / "results" / "history.csv").read_text()
    dvc(project, "repro", "--force")
    assert (project / "results" / "history.csv").read_text() == first_history
    assert (project / "results" / "metrics.json").read_text() == first


def test_second_repro_does_nothing_and_one_param_reruns_only_its_stages(project):
    assert "Data and pipelines are up to date" in dvc(project, "repro")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["validate"]["n_boot"] = 30
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = dvc(project, "repro")
    assert "Running stage 'validate'" in out
    for stage in ("data", "preprocess", "train", "predict"):
        assert f"Running stage '{stage}'" not in out
