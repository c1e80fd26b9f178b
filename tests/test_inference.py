import json
import tracemalloc

import jsonschema
import numpy as np
import pytest

from genrecrnn.cli import main
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.model.classifier import load_classifier
from genrecrnn.predict import windows
from genrecrnn.predict.inference import PREDICTION_SCHEMA, PredictionRun
from genrecrnn.predict.windows import BATCH_FRAMES, iter_windows, predict_file
from genrecrnn.util.errors import AudioError, ModelError

from conftest import SR, save_tiny_classifier, tone, write_wav

GENRES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """An untrained but deterministic small CRNN with its metadata sidecar."""
    cfg = FeatureConfig(n_mels=32, frame_seconds=3.0)
    path = tmp_path_factory.mktemp("model") / "crnn.keras"
    save_tiny_classifier(
        path, cfg=cfg, genres=GENRES, filters=(4, 4, 8, 8, 8), units=8, input_mean=-40.0, input_std=15.0
    )
    return path


def music(seconds, sr=SR):
    """A signal whose spectrum changes over time, so windows differ."""
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * (200 + 20 * t) * t) * (1 + np.sin(t))).astype(np.float32) / 2


def test_95_s_stereo_44k_gives_four_windows_weighted_by_their_frames(tmp_path, model_path):
    y = music(95, sr=44100)
    path = write_wav(tmp_path / "song.wav", np.stack([y, 0.5 * y], axis=1), sr=44100)
    result = predict_file(path, load_classifier(model_path))
    # Windows start at 0, 30, 60 s (full) and 90 s (5 s left: at least one 3 s frame, not yet covered).
    assert [w["start"] for w in result["windows"]] == [0, 30, 60, 90]
    assert result["windows"][-1]["seconds"] == pytest.approx(5, abs=0.01)
    assert [w["frames"] for w in result["windows"]] == [10, 10, 10, 1]
    windows = np.array([w["probabilities"] for w in result["windows"]])
    weighted = np.array([10, 10, 10, 1]) @ windows / 31  # the 5 s tail holds one 3 s frame of 31
    np.testing.assert_allclose(list(result["probabilities"].values()), weighted, rtol=1e-6)
    assert result["genre"] == GENRES[int(weighted.argmax())]


def test_vote_lets_each_frame_vote_as_in_evaluation(tmp_path, model_path, monkeypatch):
    from genrecrnn.metrics.scores import clip_probabilities
    from genrecrnn.model.crnn import frame_predictor

    seen = []  # every frame probability the model gave, in order

    def recording(model):
        predict = frame_predictor(model)
        return lambda frames: seen.append(predict(frames)) or seen[-1]

    monkeypatch.setattr(windows, "frame_predictor", recording)
    path = write_wav(tmp_path / "song.wav", music(65))
    result = predict_file(path, load_classifier(model_path), combine="vote")
    assert [w["frames"] for w in result["windows"]] == [10, 10, 1]
    frames = np.concatenate(seen)
    expected, _, _ = clip_probabilities(frames, np.zeros(21, int), np.zeros(21, int), method="vote")
    np.testing.assert_allclose(list(result["probabilities"].values()), expected[0])
    assert expected[0].sum() == pytest.approx(1) and set(np.round(expected[0] * 21, 6)) <= set(range(22))


def test_rate_and_channels_barely_change_the_answer(tmp_path, model_path):
    mono = write_wav(tmp_path / "mono.wav", music(32), subtype="FLOAT")
    y44 = music(32, sr=44100)
    stereo = write_wav(tmp_path / "stereo.wav", np.stack([y44, y44], axis=1), sr=44100, subtype="FLOAT")
    classifier = load_classifier(model_path)
    a = np.array(list(predict_file(mono, classifier)["probabilities"].values()))
    b = np.array(list(predict_file(stereo, classifier)["probabilities"].values()))
    np.testing.assert_allclose(a, b, atol=0.02)


def test_short_song_is_noted_and_too_short_rejected(tmp_path, model_path):
    classifier = load_classifier(model_path)
    result = predict_file(write_wav(tmp_path / "ten.wav", music(10)), classifier)
    assert len(result["windows"]) == 1 and "shorter than one 30 s window" in result["note"]
    with pytest.raises(AudioError, match="shorter than one 3 s frame"):
        predict_file(write_wav(tmp_path / "two.wav", music(2)), classifier)


def test_overlapping_windows_do_not_repeat_a_covered_tail(tmp_path):
    cfg = FeatureConfig()
    path = write_wav(tmp_path / "x.wav", music(60))
    starts = [s for s, _ in iter_windows(path, cfg=cfg, window_seconds=30, window_hop_seconds=15)]
    assert starts == [0, 15, 30]
    with pytest.raises(ValueError, match="window_hop_seconds"):
        list(iter_windows(path, cfg=cfg, window_seconds=30, window_hop_seconds=45))


def test_cli_folder_json_and_bad_files(tmp_path, model_path, broken_files, capsys):
    album = tmp_path / "album"
    write_wav(album / "one.wav", music(40))
    write_wav(album / "disc2" / "two.flac", music(31))
    (album / "zero.mp3").write_bytes(b"")
    out_json = tmp_path / "out.json"
    code = main(
        [
            "predict",
            str(album),
            str(broken_files["text_mp3"]),
            str(tmp_path / "missing.wav"),
            "--model",
            str(model_path),
            "--top-k",
            "2",
            "--json",
            str(out_json),
        ]
    )
    assert code == 1  # some files failed, the rest were classified
    err = capsys.readouterr().err
    assert "zero.mp3: empty file" in err and "notes.mp3: cannot decode" in err and "missing.wav: file not found" in err
    report = json.loads(out_json.read_text())
    jsonschema.validate(report, PREDICTION_SCHEMA)
    assert {"genrecrnn_version", "model_id", "features", "genres", "results", "failures", "window_seconds"} <= set(
        report
    )
    assert [r["path"].split("/")[-1] for r in report["results"]] == ["two.flac", "one.wav"]
    for r in report["results"]:
        assert len(r["top"]) == 2 and r["top"][0]["probability"] >= r["top"][1]["probability"]
        assert sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-5)
        assert all(len(w["probabilities"]) == 3 for w in r["windows"])
    assert len(report["failures"]) == 3


def test_cli_good_file_exits_zero_and_prints_a_table(tmp_path, model_path, capsys):
    path = write_wav(tmp_path / "ok.wav", music(31))
    assert main(["predict", str(path), "--model", str(model_path), "--timeline"]) == 0
    out = capsys.readouterr().out
    assert "ok.wav" in out and "%" in out and "0.0s" in out


def test_missing_model_says_dvc_repro(tmp_path, capsys):
    path = write_wav(tmp_path / "ok.wav", tone(440, 4))
    assert main(["predict", str(path), "--model", str(tmp_path / "none.keras")]) == 1
    assert "dvc repro" in capsys.readouterr().err
    with pytest.raises(ModelError):
        load_classifier(tmp_path / "none.keras")


def test_run_collects_results_and_failures_and_reports_what_is_done(tmp_path, model_path):
    good = write_wav(tmp_path / "songs" / "good.wav", music(31))
    (tmp_path / "songs" / "bad.wav").write_bytes(b"")
    run = PredictionRun([tmp_path / "songs"], load_classifier(model_path), progress=False)
    assert run.files == [tmp_path / "songs" / "bad.wav", good]
    first = next(iter(run))
    assert first[1] is None and "empty file" in first[2]
    assert run.report()["complete"] is False  # an interrupted run says so
    assert [p for p, _, _ in run] == [good]  # iterating again goes on where it stopped
    report = run.report(top_k=1, relative_to=tmp_path)
    jsonschema.validate(report, PREDICTION_SCHEMA)
    assert report["complete"] and report["results"][0]["path"] == "songs/good.wav"
    assert len(report["results"][0]["top"]) == 1 and report["failures"][0]["path"].endswith("bad.wav")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioError, match="no audio files found"):
        PredictionRun([tmp_path / "empty"], run.classifier)


def test_overlapped_and_serial_paths_give_the_same_predictions(tmp_path, model_path):
    y = music(95, sr=44100)
    path = write_wav(tmp_path / "song.flac", np.stack([y, 0.3 * y], axis=1), sr=44100)
    classifier = load_classifier(model_path)
    assert predict_file(path, classifier, overlap=True) == predict_file(path, classifier, overlap=False)
    cfg = classifier.feature_config
    kw = {"cfg": cfg, "window_seconds": 30, "window_hop_seconds": 10}
    for (s1, w1), (s2, w2) in zip(iter_windows(path, overlap=True, **kw), iter_windows(path, **kw), strict=True):
        assert s1 == s2 and np.array_equal(w1, w2)


def test_folder_in_two_workers_keeps_order_results_and_failures(tmp_path, model_path):
    songs = tmp_path / "songs"
    for i in range(5):
        write_wav(songs / f"{i}.wav", music(31 + 7 * i))
    (songs / "2b.wav").write_bytes(b"")
    classifier = load_classifier(model_path)
    runs = [PredictionRun([songs], classifier, progress=False, workers=w) for w in (1, 2)]
    outputs = [[(p, r, e) for p, r, e in run] for run in runs]
    assert outputs[0] == outputs[1]
    assert [p.name for p, _, _ in outputs[1]] == ["0.wav", "1.wav", "2.wav", "2b.wav", "3.wav", "4.wav"]
    assert runs[1].report() == runs[0].report() and len(runs[1].failures) == 1
    with pytest.raises(ValueError, match="workers"):
        PredictionRun([songs], classifier, workers=0)


def test_an_hour_streams_with_memory_flat_in_file_length(tmp_path, monkeypatch):
    """A 1-hour file (2 kHz, so the test is quick) peaks at the memory of a 5-minute one, model batches included."""
    cfg = FeatureConfig(sample_rate=2000, n_fft=128, hop_length=64, n_mels=16, frame_seconds=3.0)
    classifier = save_tiny_classifier(tmp_path / "m.keras", cfg=cfg, genres=GENRES)
    batches = []
    traced = windows.frame_predictor

    def recording_predictor(model):
        predict = traced(model)
        return lambda frames: batches.append(len(frames)) or predict(frames)

    monkeypatch.setattr(windows, "frame_predictor", recording_predictor)
    peaks = {}
    for minutes in (5, 60):
        path = write_wav(tmp_path / f"{minutes}.wav", music(minutes * 60, sr=2000), sr=2000)
        predict_file(path, classifier)  # warm: one-off allocations (filters, the traced graph) are not growth
        batches.clear()
        tracemalloc.start()
        result = predict_file(path, classifier)
        peaks[minutes] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(result["windows"]) == minutes * 2 and max(batches) == BATCH_FRAMES
    decoded = 3600 * 2000 * 4  # the hour as float32: 28.8 MB
    # The hour may hold a little more than 5 minutes (its per-window results), never its audio or frames.
    assert peaks[60] - peaks[5] < 0.5e6 and peaks[60] < decoded / 10, peaks
