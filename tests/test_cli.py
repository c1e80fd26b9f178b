"""The command line answers bad input with one clear line and a non-zero exit."""

import numpy as np
import pytest
import yaml

from genrecrnn.cli import main

from conftest import ROOT, save_tiny_classifier, tone, write_wav


def params_file(tmp_path, **data):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["paths"]["dataset"] = str(tmp_path / "dataset")
    params["data"].update(data)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda t: {"source": "folder", "root": str(t / "nowhere")}, "nowhere: data folder not found"),
        (lambda t: (t / "empty").mkdir() or {"source": "folder", "root": str(t / "empty")}, "no audio files"),
        (lambda t: {"source": "gtzan", "root": str(t)}, "no GTZAN genre folders found"),
    ],
)
def test_data_stage_stops_with_the_path_named(tmp_path, capsys, setup, message):
    assert main(["data", "--params", str(params_file(tmp_path, **setup(tmp_path)))]) == 1
    assert message in capsys.readouterr().err


def test_data_stage_rejects_genres_that_do_not_match_the_folders(tmp_path, capsys):
    for genre in ("blues", "jazz"):
        for i in range(3):
            write_wav(tmp_path / "music" / genre / f"{i}.wav", tone(200 + 100 * i, 4))
    assert main(["data", "--params", str(params_file(tmp_path, source="folder", root=str(tmp_path / "music")))]) == 1
    assert "Set genres to the sorted folder names: ['blues', 'jazz']" in capsys.readouterr().err


def test_data_stage_on_a_folder_with_a_broken_file_goes_on(tmp_path, capsys, caplog, broken_files):
    params = yaml.safe_load(params_file(tmp_path, source="folder", root=str(tmp_path / "music")).read_text())
    params["genres"] = ["blues", "jazz"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for genre in params["genres"]:
        for i in range(3):
            write_wav(tmp_path / "music" / genre / f"{i}.wav", tone(200 + 100 * i, 4))
    (tmp_path / "music" / "jazz" / "bad.wav").write_bytes(broken_files["truncated"].read_bytes())
    assert main(["data", "--params", str(tmp_path / "params.yaml")]) == 0
    assert "7 files, 1 left out" in capsys.readouterr().out
    assert "left out" in caplog.text and "bad.wav: cannot decode" in caplog.text


def test_unknown_params_key_is_named(tmp_path, capsys):
    path = params_file(tmp_path)
    params = yaml.safe_load(path.read_text())
    params["data"]["clip_second"] = 3
    path.write_text(yaml.safe_dump(params))
    assert main(["data", "--params", str(path)]) == 1
    assert "unknown key data.clip_second; allowed here: data.source" in capsys.readouterr().err


def test_silent_and_long_files_are_classified(tmp_path, capsys):
    from genrecrnn.features.logmel import FeatureConfig
    from genrecrnn.predict.windows import predict_file

    classifier = save_tiny_classifier(tmp_path / "m.keras", cfg=FeatureConfig(n_mels=32), genres=["x", "y"])
    silent = predict_file(write_wav(tmp_path / "silence.wav", np.zeros(22050 * 31, np.float32)), classifier)
    assert np.isfinite(list(silent["probabilities"].values())).all()
    # 12 minutes at 8 kHz: streamed in blocks, 24 windows of 30 s.
    long = write_wav(tmp_path / "long.wav", np.tile(tone(440, 60, sr=8000), 12), sr=8000)
    assert len(predict_file(long, classifier)["windows"]) == 24


@pytest.fixture(scope="module")
def predict_setup(tmp_path_factory):
    """A folder with a tiny model (m.keras), a 2 s song (a.wav), a text file named x.mp3 and one named bad.keras."""
    from genrecrnn.features.logmel import FeatureConfig

    folder = tmp_path_factory.mktemp("predict")
    cfg = FeatureConfig(n_mels=32, frame_seconds=1.0, frame_hop_seconds=1.0)
    save_tiny_classifier(folder / "m.keras", cfg=cfg, genres=["x", "y"], filters=(2,) * 5, units=2)
    write_wav(folder / "a.wav", tone(440, 2.0))
    (folder / "x.mp3").write_text("this is not audio either\n" * 20)
    (folder / "bad.keras").write_text("not a zip\n")
    (folder / "out").mkdir()
    return folder


def _write_fails(*args, **kwargs):
    raise PermissionError(13, "Permission denied", "locked.json")


@pytest.mark.parametrize(
    "args, message",
    [
        (["a.wav", "--json", "out"], "--json out: is a folder"),
        (["a.wav", "--json", "nowhere/p.json"], "folder nowhere does not exist"),
        (["a.wav", "--plot", "out/p.txt"], "cannot write .txt; use one of .png, .svg, .pdf"),
        (["x.mp3"], "x.mp3: cannot decode: not a recognised audio format"),
        (["a.wav", "--top-k", "0"], "--top-k: must be a whole number >= 1"),
        (["a.wav", "--top-k", "-2"], "--top-k: must be a whole number >= 1"),
        (["a.wav", "--model", "bad.keras"], "bad.keras: not a readable Keras model file"),
        (["a.wav", "--workers", "0"], "workers=0 must be at least 1"),  # a ValueError reaching main
        (["a.wav", "--json", "out/p.json", "write fails"], "Permission denied: 'locked.json'"),  # an OSError
    ],
    ids=["json-folder", "json-no-parent", "plot-suffix", "text-mp3", "top-k-0", "top-k-neg", "not-zip", "value", "os"],
)
def test_predict_misuse_is_one_error_line(predict_setup, capfd, monkeypatch, args, message):
    monkeypatch.chdir(predict_setup)  # relative paths, as a user types them; outside any project
    runs = "write fails" in args or "--workers" in args  # the error comes after (or with) classifying
    if "write fails" in args:
        args = [a for a in args if a != "write fails"]
        monkeypatch.setattr("genrecrnn.util.fileio.atomic_write_json", _write_fails)
    argv = ["predict", "--model", "m.keras", *args]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    out, err = capfd.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code in (1, 2) and "Traceback" not in err and "Note:" not in err, err
    if code == 2:
        assert lines[-1].startswith("genrecrnn predict: error:"), err
    else:
        assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert message in lines[-1]
    assert runs or not out, "checked before any file was classified"


@pytest.mark.parametrize("source", ["synthetic", "folder"])
def test_predict_notes_a_model_of_synthetic_genres(tmp_path, capfd, monkeypatch, small_cfg, source):
    from genrecrnn.config.sections import DataParams
    from genrecrnn.model.classifier import SYNTHETIC_NOTE

    monkeypatch.chdir(tmp_path)
    model = tmp_path / "m.keras"
    save_tiny_classifier(
        model, cfg=small_cfg, genres=["x", "y"], filters=(2,) * 5, units=2, data=DataParams(source=source)
    )
    for name in ("a.wav", "b.wav"):  # two files: a folder run, whose progress bar stays off a pipe
        write_wav(tmp_path / "songs" / name, tone(440, 2.0))
    assert main(["predict", "songs", "--model", str(model), "--json", "p.json"]) == 0
    out, err = capfd.readouterr()
    assert err.splitlines() == ([f"note: {SYNTHETIC_NOTE}"] if source == "synthetic" else [])
    assert out.splitlines()[-1] == "written: p.json"


def test_predict_defaults_come_from_the_project_params(monkeypatch, tmp_path):
    from genrecrnn.cli import _predict_defaults
    from genrecrnn.config.loading import load_params
    from genrecrnn.config.sections import PredictParams

    monkeypatch.chdir(ROOT)
    assert _predict_defaults() == (ROOT / "models" / "crnn.keras", load_params(ROOT / "params.yaml").predict)
    monkeypatch.chdir(tmp_path)
    assert _predict_defaults() == (None, PredictParams())
