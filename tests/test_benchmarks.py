"""Smoke test of the benchmark scripts' building blocks (correctness only; no timing is asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, save_tiny_classifier


@pytest.fixture
def benchmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make benchmarks/ importable the way the scripts import their helpers (`from common import ...`)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))


def test_table_aligns_columns(benchmarks):
    from common import table

    lines = table(["method", "clips/s"], [["reference", 57.123], ["candidate", 250.0]]).splitlines()
    assert lines[0].startswith("method") and set(lines[1]) == {"-"}
    assert lines[2].endswith(" 57.1") and lines[3].endswith("  250")


def test_preprocessing_reference_and_candidate_agree(benchmarks, tmp_path):
    from bench_preprocessing import candidate, first_per_genre, max_abs_diff, reference, synthetic_set
    from genrecrnn.features.logmel import FeatureConfig

    cfg = FeatureConfig()
    tracks = first_per_genre(synthetic_set(tmp_path / "audio", 10), 10)
    assert len(tracks) == 10 and tracks["genre"].nunique() == 10
    reference(tracks, tmp_path / "reference", cfg)
    candidate(tracks, tmp_path / "store", cfg, workers=2)
    worst, n_frames = max_abs_diff(tmp_path / "store", tmp_path / "reference")
    assert n_frames == 10 * cfg.n_frames(30 * cfg.sample_rate)
    assert worst <= 1e-3


def test_training_features_have_the_frame_shape(benchmarks, tmp_path):
    from bench_training import FRAME_SHAPE, N_GENRES, write_features

    write_features(tmp_path, 7, chunk=3)
    frames, labels = np.load(tmp_path / "frames.npy", mmap_mode="r"), np.load(tmp_path / "labels.npy")
    assert frames.shape == (7, *FRAME_SHAPE) and np.isfinite(frames).all()
    assert labels.shape == (7,) and set(labels) <= set(range(N_GENRES))


def test_training_flops_are_the_multiply_adds_worked_out_by_hand(benchmarks):
    from bench_training import FRAME_SHAPE, training_flops_per_frame
    from genrecrnn.model.crnn import build_crnn

    model = build_crnn(time_steps=FRAME_SHAPE[0], n_mels=FRAME_SHAPE[1], n_genres=10)
    # output cells x filters x 3x3 taps x input channels; mel pooled 4, 2, 2, 2 and time 2, 2, 2, 2 before each
    conv = [129 * 128 * 16 * 9 * 1, 64 * 32 * 32 * 9 * 16, 32 * 16 * 64 * 9 * 32, 16 * 8 * 64 * 9 * 64]
    conv.append(8 * 4 * 64 * 9 * 64)
    lstm = 8 * 4 * 64 * (2 * 64 + 64)  # 8 steps, 4 gates, input 2 mel cells x 64 channels, 64 units
    dense = 64 * 64 + 64 * 10
    assert training_flops_per_frame(model) == 3 * 2 * (sum(conv) + lstm + dense) == 165_289_728


def test_fp32_peak_follows_the_isa_onednn_may_use(benchmarks, monkeypatch):
    from bench_training import cpu_flags, cpu_isa, fp32_peak

    if not {"avx2", "fma"} <= cpu_flags():
        pytest.skip("needs an x86-64 CPU with AVX2 and FMA")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    peak, how = fp32_peak()
    assert cpu_isa() == "AVX2" and "32 FLOP/cycle (AVX2" in how and peak > 0


def test_recipe_ablations_name_real_params(benchmarks):
    from bench_recipe import ABLATIONS, parse_override
    from genrecrnn.config.loading import load_params, with_overrides

    assert parse_override("train.augment.crop=false") == ("train.augment.crop", False)
    assert parse_override("model.filters=[8,16,32,32,32]") == ("model.filters", [8, 16, 32, 32, 32])
    assert parse_override("train.input_norm=global") == ("train.input_norm", "global")
    params = load_params(ROOT / "params.yaml")
    for name, overrides in ABLATIONS.items():
        changed = with_overrides(params, dict(parse_override(o) for o in overrides))  # validates every key
        assert (changed == params) == (name == "default"), name


def test_prediction_bench_files_and_todays_path_agree_with_predict_file(benchmarks, tmp_path):
    import soundfile as sf

    from bench_prediction import new_predict, today_predict, write_tone_noise
    from genrecrnn.features.logmel import FeatureConfig

    assert write_tone_noise(tmp_path / "a.flac", minutes=0.75) == 45.0
    info = sf.info(str(tmp_path / "a.flac"))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (44100, 2, "PCM_16", 45 * 44100)
    write_tone_noise(tmp_path / "a.mp3", minutes=0.1, fmt="MP3")
    assert sf.info(str(tmp_path / "a.mp3")).format == "MP3"
    cfg = FeatureConfig(n_mels=32, frame_seconds=3.0)
    classifier = save_tiny_classifier(tmp_path / "m.keras", cfg=cfg, genres=["a", "b", "c"])
    # The frozen pre-issue-14 path is the benchmark's reference: it must compute the same thing.
    np.testing.assert_allclose(
        new_predict(tmp_path / "a.flac", classifier), today_predict(tmp_path / "a.flac", classifier), atol=1e-6
    )


def test_engine_benchmark_runs_the_store_tasks_on_a_pool(benchmarks, tmp_path):
    from bench_engine import SMALL, PoolEngine, noise_clips, shard_tasks

    tracks = noise_clips(tmp_path / "audio", 5, 1.0, distinct=2)
    assert list(tracks["path"].str[-9:]) == ["00000.wav", "00001.wav"] * 2 + ["00000.wav"]
    tasks = shard_tasks(tracks, tmp_path / "out", 2, SMALL)
    engine = PoolEngine(2)
    try:
        results = engine.run(tasks)
    finally:
        engine.close()
    assert [r["shard"] for r in results] == [0, 1, 2] and sum(len(r["counts"]) for r in results) == 5


def test_store_benchmark_reads_every_frame_once(benchmarks):
    from bench_store import read_epoch_arrays
    from genrecrnn.features.store import ShardedFrames

    frames = ShardedFrames([np.zeros((5, 2, 3), np.float32), np.ones((4, 2, 3), np.float32)], (2, 3))
    assert read_epoch_arrays(frames, 9, seed=0) >= 0


def test_recipe_bench_prepares_its_data_with_the_stages(benchmarks, tmp_path):
    """bench_recipe's data and features are the data and preprocess stages' own outputs, cached by their settings."""
    from bench_recipe import prepare
    from genrecrnn.config.loading import load_params, with_overrides
    from genrecrnn.features.store import open_feature_store

    small = {"genres": ["blues", "metal"], "data.clips_per_genre": 3, "data.clip_seconds": 4, "preprocess.workers": 1}
    params = with_overrides(load_params(ROOT / "params.yaml"), small)
    folder = prepare(tmp_path, params)
    store = open_feature_store(folder / "features")
    assert set(store.index["track_id"]) and (folder / "dataset" / "manifest.csv").is_file()
    assert (folder / "results" / "figures" / "logmel_examples.png").is_file()  # what the preprocess stage draws
    assert prepare(tmp_path, params) == folder  # cached: the second call finds the store


def test_semitone_patch_puts_a4_in_its_band_and_shifts_by_whole_bands(benchmarks):
    from bench_recipe_patches import SEMITONE_FMIN_HZ, semitone_basis, whole_band_taps

    sr, n_fft, n_bands = 22050, 4096, 88
    basis = semitone_basis(sr, n_fft, n_bands).toarray()
    assert np.allclose(basis.sum(axis=1), 1.0)
    t = np.arange(n_fft) / sr
    power = np.abs(np.fft.rfft(np.sin(2 * np.pi * 440.0 * t) * np.hanning(n_fft))) ** 2
    a4 = round(12 * np.log2(440.0 / SEMITONE_FMIN_HZ))  # 33 semitones above C2
    bands = basis @ power
    assert bands.argmax() == a4
    source, _, weight = whole_band_taps(3, n_mels=n_bands, sr=sr)
    assert (weight == 0).all() and bands[source].argmax() == a4 + 3  # three semitones up: C5
