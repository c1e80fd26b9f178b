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
    from genrecrnn.features import FeatureConfig
    from genrecrnn.inference import predict_file

    classifier = save_tiny_classifier(tmp_path / "m.keras", cfg=FeatureConfig(n_mels=32), genres=["x", "y"])
    silent = predict_file(write_wav(tmp_path / "silence.wav", np.zeros(22050 * 31, np.float32)), classifier)
    assert np.isfinite(list(silent["probabilities"].values())).all()
    # 12 minutes at 8 kHz: streamed in blocks, 24 windows of 30 s.
    long = write_wav(tmp_path / "long.wav", np.tile(tone(440, 60, sr=8000), 12), sr=8000)
    assert len(predict_file(long, classifier)["windows"]) == 24
