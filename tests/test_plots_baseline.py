"""Figures are drawn and saved atomically; the baseline learns and fits its scaler on train clips only."""

import librosa
import numpy as np
import pandas as pd
import pytest

from genrecrnn.evaluation.baseline import clip_statistics, fit_baseline
from genrecrnn.evaluation.scorecard import clip_table
from genrecrnn.features.logmel import FeatureConfig, clip_frames
from genrecrnn.metrics.tables import confusion
from genrecrnn.report import plots, plots_evaluation, plots_prediction

from conftest import tone


def test_confusion_heatmap_annotates_counts_and_saves_png(tmp_path):
    cm = confusion(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), genres=["a", "b", "c"])
    fig = plots_evaluation.confusion_heatmap(cm)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == sorted(["1", "1", "0", "0", "1", "0", "0", "0", "1"])
    path = plots.save_figure(fig, tmp_path / "figures" / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["cm.png", "cm.svg"]  # vector copy, no temp file left


def test_curves_and_timeline_draw_one_line_per_genre():
    table = pd.DataFrame({"genre": ["a", "a", "micro", "micro"], "recall": [0, 1, 0, 1], "precision": [1, 0.5, 1, 0.6]})
    fig = plots_evaluation.curves(table, x="recall", y="precision", steps=True, title="pr")
    assert [line.get_label() for line in fig.axes[0].lines] == ["a", "micro"]
    windows = [
        {"start": 0.0, "seconds": 30.0, "probabilities": [0.2, 0.8]},
        {"start": 30.0, "seconds": 30.0, "probabilities": [0.6, 0.4]},
    ]
    ax = plots_prediction.timeline(windows, ["a", "b"], title="t").axes[0]
    assert len(ax.collections) == 2 and ax.get_xlim() == (0.0, 60.0)  # one stacked band per genre, 0-60 s


def test_clip_table_averages_frames_per_clip():
    frames = pd.DataFrame({"track_id": ["x", "x", "y"], "label": [0, 0, 1]})
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]])
    table = clip_table(frames, probs, genres=["a", "b"]).set_index("track_id")
    assert table.at["x", "p_a"] == 0.6 and table.at["x", "predicted"] == "a"  # (0.9 + 0.3) / 2
    assert table.at["y", "predicted"] == "b" and table.at["y", "genre"] == "b"


def test_baseline_separates_low_from_high_tones_and_scales_on_train_only():
    cfg = FeatureConfig(n_mels=32)
    rng = np.random.default_rng(0)

    def clip(freq):
        return clip_statistics(
            clip_frames(tone(freq, 3.5) + 0.01 * rng.standard_normal(77175).astype(np.float32), cfg=cfg),
            sr=cfg.sample_rate,
        )

    X = np.stack([clip(f) for f in (200, 220, 240, 3000, 3300, 3600)])
    y = np.array([0, 0, 0, 1, 1, 1])
    model = fit_baseline(X, y, seed=0)
    np.testing.assert_allclose(model[0].mean_, X.mean(axis=0))
    assert list(model.predict(np.stack([clip(230), clip(3200)]))) == [0, 1]


def test_mel_band_centres_are_where_librosa_filters_peak():
    from genrecrnn.evaluation.baseline import mel_band_centres

    sr, n_fft, n_mels = 22050, 2048, 32
    weights = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    peaks = librosa.fft_frequencies(sr=sr, n_fft=n_fft)[weights.argmax(axis=1)]
    bin_hz = sr / n_fft
    np.testing.assert_allclose(mel_band_centres(n_mels, sr=sr), peaks, atol=bin_hz)


def test_centroid_of_energy_in_one_band_is_that_band_centre():
    from genrecrnn.evaluation.baseline import N_MFCC, clip_statistics, mel_band_centres

    sr, n_mels, band = 22050, 32, 20
    spec = np.full((1, 10, n_mels), -100.0)  # one frame of 10 time steps, silence ...
    spec[:, :, band] = 0.0  # ... except one band at 0 dB
    stats = clip_statistics(spec, sr=sr)
    centroid_mean = stats[3 * N_MFCC]
    # power 1e-10 in the other bands moves the centroid by far less than 1 Hz
    assert centroid_mean == pytest.approx(mel_band_centres(n_mels, sr=sr)[band], abs=1.0)
