"""Notebook 02's exploration: the learning-rate schedule per epoch and an augmented batch, computed and drawn."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from genrecrnn.config.sections import TrainParams
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.model.train import schedule_per_epoch
from genrecrnn.report import plots_training


def test_schedule_warms_up_then_decays_to_zero_at_the_last_epoch():
    table = schedule_per_epoch(TrainParams(epochs=5, warmup_epochs=1, learning_rate=0.01), steps_per_epoch=4)
    assert list(table["epoch"]) == [1, 2, 3, 4, 5]
    assert table["first_step"].iloc[0] == 0  # warm-up starts from 0
    np.testing.assert_allclose(table["first_step"].iloc[1], 0.01, rtol=1e-6)  # the peak after one warm-up epoch
    assert (np.diff(table["learning_rate"].iloc[1:]) < 0).all() and table["learning_rate"].iloc[-1] < 0.002


def test_schedule_follows_steps_as_training_does():
    table = schedule_per_epoch(TrainParams(epochs=10, steps=12, warmup_epochs=0), steps_per_epoch=4)
    assert len(table) == 3  # ceil(12 / 4) epochs
    np.testing.assert_allclose(table["first_step"].iloc[0], 0.001, rtol=1e-6)  # no warm-up: the peak first


def test_learning_rate_curve_draws_the_table_and_marks_kept_and_last_epoch():
    table = schedule_per_epoch(TrainParams(epochs=6), steps_per_epoch=2)
    fig = plots_training.learning_rate_curve(table, kept_epoch=3, epochs_run=4)
    ax = fig.axes[0]
    curve, *marks = ax.get_lines()
    np.testing.assert_allclose(curve.get_ydata(), table["learning_rate"])
    assert [m.get_xdata()[0] for m in marks] == [3, 4]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "learning rate"
    plt.close(fig)
    fig = plots_training.learning_rate_curve(table, kept_epoch=6, epochs_run=6)  # ran to the end: no early-stop mark
    assert len(fig.axes[0].get_lines()) == 2
    plt.close(fig)


@pytest.mark.parametrize("mixed", [False, True])
def test_augmented_batch_shows_each_frame_above_its_augmented_copy(mixed):
    cfg = FeatureConfig(n_mels=8, hop_length=512, sample_rate=22050, frame_seconds=0.5)
    rng = np.random.default_rng(0)
    original = rng.normal(size=(3, cfg.frame_columns, 8)).astype(np.float32) - 40
    augmented = original + 3
    labels = np.eye(3, dtype=np.float32)
    after = 0.75 * labels + 0.25 * labels[[1, 2, 0]] if mixed else labels
    fig = plots_training.augmented_batch(
        original, augmented, labels=labels, mixed_labels=after, genres=["a", "b", "c"], cfg=cfg
    )
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 6
    np.testing.assert_allclose(panels[0].images[0].get_array(), original[0].T)
    np.testing.assert_allclose(panels[3].images[0].get_array(), augmented[0].T)
    assert [ax.get_title() for ax in panels[:3]] == ["a", "b", "c"]
    assert panels[3].get_title() == ("a 0.75 + b 0.25" if mixed else "a")
    plt.close(fig)
