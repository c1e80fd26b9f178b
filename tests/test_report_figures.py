"""What-the-CRNN-learned figures: embeddings, PCA maps, saliency (known answers on tiny models) and their drawings."""

import keras
import numpy as np
import pandas as pd
import pytest
from matplotlib.legend import Legend

from genrecrnn.config.sections import ModelParams
from genrecrnn.evaluation import explain
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.metrics.curves import pr_curves, roc_curves
from genrecrnn.metrics.scores import per_genre_table
from genrecrnn.model.crnn import build_crnn
from genrecrnn.report import plots, plots_evaluation, plots_prediction, plots_training
from genrecrnn.util.errors import ModelError


def band_model(time: int, mels: int, band: int) -> keras.Model:
    """Two genres; genre 0's logit is the summed level of `band`, genre 1's its negative (a known saliency)."""
    inputs = keras.Input(shape=(time, mels))
    x = keras.layers.Flatten()(inputs)
    out = keras.layers.Dense(2, activation="softmax", name="genre")(x)
    model = keras.Model(inputs, out)
    w = np.zeros((time * mels, 2), np.float32)
    w.reshape(time, mels, 2)[:, band, 0], w.reshape(time, mels, 2)[:, band, 1] = 0.01, -0.01
    model.get_layer("genre").set_weights([w, np.zeros(2, np.float32)])
    return model


def test_saliency_of_a_band_detector_is_positive_on_its_band_only():
    model = band_model(6, 8, band=3)
    frames = np.random.default_rng(0).normal(size=(5, 6, 8)).astype(np.float32)
    grad = explain.input_gradients(model, frames, genre=0).mean(axis=0)
    assert (grad[:, 3] > 0).all()
    np.testing.assert_allclose(np.delete(grad, 3, axis=1), 0, atol=1e-7)
    np.testing.assert_allclose(
        explain.input_gradients(model, frames, genre=1), -explain.input_gradients(model, frames, genre=0), atol=1e-7
    )


class Store:
    """The parts of a FeatureStore the explain functions read."""

    def __init__(self, frames, index, config):
        self.frames, self.index, self.config = frames, index, config

    def split(self, name):
        return self.index[self.index["split"] == name]


def test_genre_saliency_averages_each_genres_frames_and_leaves_absent_genres_zero():
    cfg = FeatureConfig(
        sample_rate=8000, n_fft=256, hop_length=128, n_mels=8, frame_seconds=0.08, frame_hop_seconds=0.08
    )
    t, m = cfg.frame_shape
    frames = np.random.default_rng(1).normal(size=(4, t, m)).astype(np.float32)
    index = pd.DataFrame({"row": range(4), "track_id": ["a", "a", "b", "c"], "label": [0, 0, 0, 0], "split": "test"})
    saliency = explain.genre_saliency(
        band_model(t, m, band=2), Store(frames, index, cfg), "test", n_genres=3, smooth=(0, 0)
    )
    assert saliency.shape == (3, t, m)
    assert (saliency[0][:, 2] > 0).all() and not saliency[1:].any()


def test_clip_embeddings_are_the_mean_penultimate_output_of_each_clips_frames():
    widths = ModelParams(filters=(2, 2, 2, 2, 2), lstm_units=4, dense_units=5)
    model = build_crnn(time_steps=8, n_mels=16, n_genres=3, params=widths)
    frames = np.random.default_rng(2).normal(size=(5, 8, 16)).astype(np.float32)
    index = pd.DataFrame(
        {"row": range(5), "track_id": ["b", "a", "b", "a", "c"], "label": [1, 0, 1, 0, 2], "split": "test"}
    )
    cfg = FeatureConfig(n_mels=16)
    clips, emb = explain.split_embeddings(model, Store(frames, index, cfg), "test", batch_size=2)
    per_frame = np.asarray(explain.embedding_model(model)(frames))
    assert list(clips["track_id"]) == ["a", "b", "c"] and list(clips["label"]) == [0, 1, 2]
    np.testing.assert_allclose(
        emb, [per_frame[[1, 3]].mean(0), per_frame[[0, 2]].mean(0), per_frame[4]], rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ModelError, match="no layer 'nope'"):
        explain.embedding_model(model, layer="nope")


def test_pca_map_finds_the_direction_of_largest_spread_and_is_sign_stable():
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(0, 10, 50), rng.normal(0, 1, 50), rng.normal(0, 0.1, 50)])
    points, ratio = explain.pca_map(x, standardise=False)
    assert points.shape == (50, 2) and ratio[0] > 0.9
    np.testing.assert_allclose(np.abs(np.corrcoef(points[:, 0], x[:, 0])[0, 1]), 1, atol=1e-3)
    again, _ = explain.pca_map(x[::-1], standardise=False)
    np.testing.assert_allclose(again[::-1], points, atol=1e-9)
    _, scaled = explain.pca_map(x, standardise=True)
    assert scaled[0] < 0.5  # three independent unit-variance columns share the variance
    with pytest.raises(ValueError, match="at least two rows"):
        explain.pca_map(x[:1], standardise=False)


def legend_outside_axes(fig):
    """True when every legend's box lies outside every axes' data area of `fig`."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [c for c in [*fig.legends, *[ax.get_legend() for ax in fig.axes]] if isinstance(c, Legend)]
    assert legends
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            if box.overlaps(ax.get_window_extent(renderer)):
                return False
    return True


def test_figures_keep_their_legends_off_the_data():
    genres = ["a", "b", "c"]
    table = pd.DataFrame({"genre": ["a", "a", "micro", "micro"], "recall": [0, 1, 0, 1], "precision": [1, 0.5, 1, 0.6]})
    history = pd.DataFrame(
        {
            "epoch": [0, 1],
            "loss": [1, 0.5],
            "accuracy": [0.5, 0.7],
            "val_loss": [1.1, 0.9],
            "val_accuracy": [0.4, 0.6],
            "selected": [False, True],
        }
    )
    points = np.random.default_rng(4).normal(size=(6, 2))
    maps = {"one": (points, [0.5, 0.2]), "two": (points, [0.4, 0.3])}
    windows = [{"start": 30.0 * i, "seconds": 30.0, "probabilities": [0.2, 0.3, 0.5]} for i in range(3)]
    for fig in (
        plots_evaluation.curves(table, x="recall", y="precision", steps=True, title="pr"),
        plots_training.training_curves(history),
        plots_evaluation.embedding_maps(maps, np.array([0, 1, 2, 0, 1, 2]), genres),
        plots_prediction.song_timelines([{"path": "x/song.wav", "genre": "c", "windows": windows}], genres),
    ):
        assert legend_outside_axes(fig)


def test_long_song_timeline_reads_in_minutes_and_covers_the_whole_song():
    windows = [{"start": 30.0 * i, "seconds": 30.0, "probabilities": [0.9, 0.1]} for i in range(120)]
    windows[-1]["seconds"] = 12.0  # a short tail window
    ax = plots_prediction.timeline(windows, ["a", "b"], title="an hour").axes[0]
    assert ax.get_xlabel() == "time (min)" and ax.get_xlim() == pytest.approx((0, (119 * 30 + 12) / 60))


def test_saliency_grid_draws_one_panel_per_genre_with_the_mel_axis_in_hz():
    cfg = FeatureConfig(n_mels=16)
    fig = plots_evaluation.saliency_grid(
        np.random.default_rng(5).normal(size=(3, 20, 16)), ["a", "b", "c"], cfg=cfg, ncols=2
    )
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["a", "b", "c"] and panels[0].get_ylabel() == "Hz"


def test_every_saved_figure_has_a_vector_copy(tmp_path):
    fig = plots_evaluation.per_genre_f1(pd.DataFrame({"genre": ["a", "b"], "f1": [0.5, 1.0], "support": [3, 4]}))
    plots.save_figure(fig, tmp_path / "f1.png")
    svg = (tmp_path / "f1.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<dc:date>" not in svg  # no time stamp: a rerun does not change the file for that reason alone


def test_a_rerun_writes_the_same_svg_bytes(tmp_path):
    scores = pd.DataFrame({"genre": ["a", "b"], "f1": [0.5, 1.0], "support": [3, 4]})
    for name in ("one", "two"):  # as two runs of a stage: the figure drawn afresh and saved once
        plots.save_figure(plots_evaluation.per_genre_f1(scores), tmp_path / f"{name}.png")
    one, two = (tmp_path / "one.svg").read_bytes(), (tmp_path / "two.svg").read_bytes()
    assert b"clip-path" in one and one == two  # element ids are not drawn at random


def test_band_saliency_of_a_band_detector_peaks_at_its_band():
    cfg = FeatureConfig(
        sample_rate=8000, n_fft=256, hop_length=128, n_mels=8, frame_seconds=0.08, frame_hop_seconds=0.08
    )
    t, m = cfg.frame_shape
    frames = np.random.default_rng(6).normal(size=(6, t, m)).astype(np.float32)
    index = pd.DataFrame({"row": range(6), "track_id": list("aabbcc"), "label": [0, 0, 1, 1, 0, 1], "split": "test"})
    profiles = explain.band_saliency(band_model(t, m, band=5), Store(frames, index, cfg), "test", n_genres=3)
    assert profiles.shape == (3, m) and not profiles[2].any()  # genre 2 has no frames
    for genre in (0, 1):  # both scores move only with band 5 (one up, one down: the same magnitude)
        assert profiles[genre].argmax() == 5 and profiles[genre][5] > 0
        np.testing.assert_allclose(np.delete(profiles[genre], 5), 0, atol=1e-9)


def test_saliency_grid_draws_band_profiles_against_frequency_in_hz():
    cfg = FeatureConfig(n_mels=16)
    profiles = np.ones((3, 16))
    profiles[1, 4] = 9.0
    fig = plots_evaluation.saliency_grid(profiles, ["a", "b", "c"], cfg=cfg, ncols=2)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["a", "b", "c"] and panels[0].get_xscale() == "log"
    hz, relative = panels[1].lines[1].get_data()  # the genre's own line (the grey mean is drawn first)
    assert relative.argmax() == 4 and relative.mean() == pytest.approx(1.0)  # scaled to its own mean over bands
    assert hz[0] > 0 and np.all(np.diff(hz) > 0) and hz[-1] < cfg.sample_rate / 2
    assert "Hz" in panels[-1].get_xlabel() and "CRNN" in fig.get_suptitle()


def test_curves_are_one_panel_per_genre_with_its_score_and_readable_axes():
    rng = np.random.default_rng(7)
    labels = np.repeat([0, 1, 2], 8)
    probs = rng.dirichlet(np.ones(3), size=len(labels))
    probs[np.arange(len(labels)), labels] += 0.5
    probs /= probs.sum(axis=1, keepdims=True)
    genres = ["a", "b", "c"]
    table = per_genre_table(labels, probs, genres=genres)
    for curve, x, y, score, column in (
        (pr_curves, "recall", "precision", "AP", "ap"),
        (roc_curves, "fpr", "tpr", "AUC", "auc"),
    ):
        fig = plots_evaluation.curves(curve(labels, probs, genres=genres), x=x, y=y, title="t", model="Net")
        panels = [ax for ax in fig.axes if ax.get_title()]
        assert [ax.get_title() for ax in panels] == [f"{g} ({score} {table.at[g, column]:.2f})" for g in genres]
        assert fig.get_suptitle() == "t (Net, clip level, test split)"
        assert {ax.get_xlabel() for ax in panels} == {plots_evaluation.AXIS_TITLES[x]}
        assert panels[0].get_ylabel() == plots_evaluation.AXIS_TITLES[y]
        assert [line.get_label() for line in panels[0].lines][:2] == ["a", "micro"]  # micro: the grey reference


def test_training_curves_count_epochs_from_one():
    history = pd.DataFrame({"epoch": range(12), "loss": np.linspace(2, 1, 12), "accuracy": np.linspace(0.1, 0.9, 12)})
    for ax in plots_training.training_curves(history).axes:
        assert ax.lines[0].get_xdata()[0] == 1 and ax.get_xlim()[0] > 0  # history.csv's epoch 0 is epoch 1
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks[0] == 1 and max(ticks) <= 12


def test_per_genre_f1_sets_baseline_bars_beside_the_crnns_and_names_the_models():
    crnn = pd.DataFrame({"genre": ["a", "b"], "f1": [0.9, 0.5], "support": [3, 4]})
    base = pd.DataFrame({"f1": [0.4, 0.6], "support": [3, 4]}, index=pd.Index(["a", "b"], name="genre"))
    fig = plots_evaluation.per_genre_f1(crnn, baseline=base)
    ax = fig.axes[0]
    assert len(ax.patches) == 4 and "CRNN and MFCC baseline" in ax.get_title()
    widths = {(round(p.get_y() + p.get_height() / 2, 2), round(p.get_width(), 2)) for p in ax.patches}
    assert widths == {(0.2, 0.5), (-0.2, 0.6), (1.2, 0.9), (0.8, 0.4)}  # b below a; the CRNN's bar on top
    two = plots_evaluation.per_genre_f1(crnn, baseline={"MFCC": base, "chance": base.assign(f1=0.5)})
    assert len(two.axes[0].patches) == 6 and "CRNN, MFCC and chance" in two.axes[0].get_title()
    assert "CRNN" in plots_evaluation.per_genre_f1(crnn).axes[0].get_title()


def test_confusion_matrix_title_names_the_model():
    cm = pd.DataFrame([[2, 0], [1, 1]], index=["a", "b"], columns=["a", "b"])
    assert (
        plots_evaluation.confusion_heatmap(cm).axes[0].get_title() == "Confusion matrix: CRNN (clip level, test split)"
    )
    assert "baseline" in plots_evaluation.confusion_heatmap(cm, model="baseline").axes[0].get_title()
