"""Figures of the data and of training: log-mel examples, loss and accuracy curves, learning rate, augmented batch."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline
import numpy as np
import pandas as pd

from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.report.plots import legend_outside


def logmel_grid(spectrograms: dict[str, np.ndarray], *, cfg: FeatureConfig, ncols: int = 5) -> plt.Figure:
    """One log-mel spectrogram (n_mels, columns) per genre in a grid, time in seconds, mel in Hz."""
    import librosa.display

    n = len(spectrograms)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows,
        min(ncols, n),
        figsize=(3.2 * min(ncols, n), 2.6 * nrows),
        squeeze=False,
        sharey=True,
        constrained_layout=True,
    )
    top = max(float(s[: cfg.n_mels].max()) for s in spectrograms.values())  # one colour scale for every genre
    for ax, (genre, spec) in zip(axes.flat, spectrograms.items()):
        img = librosa.display.specshow(
            spec[: cfg.n_mels],  # the mel bands, without chroma bands (features.chroma)
            sr=cfg.sample_rate,
            hop_length=cfg.hop_length,
            x_axis="s",
            y_axis="mel",
            ax=ax,
            vmin=top - 80,
            vmax=top,
            rasterized=True,  # in the SVG copy one embedded image, not 100,000 vector cells per panel
        )
        ax.set_title(genre)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(img, ax=axes, format="%+.0f dB", shrink=0.8)
    return fig


def epoch_ticks(n: int, *, most: int = 10) -> list[int]:
    """At most about `most` tick positions for epochs 1..n: 1, then multiples of a round step, n if it fits."""
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000) if n / s <= most or s == 1000)
    return [1, *range(step, n + 1, step)] if step > 1 else list(range(1, n + 1))


def training_curves(history: pd.DataFrame) -> plt.Figure:
    """Loss and accuracy per epoch: training frames, validation frames and validation clips; the kept epoch marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), constrained_layout=True)
    epoch = history["epoch"] + 1  # history.csv counts from 0 (Keras); people, the log lines and the report from 1
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(epoch, history[metric], marker="o", label="train (augmented frames)")
        for column, label in ((f"val_{metric}", "validation frames"), (f"val_clip_{metric}", "validation clips")):
            if column in history:
                ax.plot(epoch, history[column], marker="o", label=label)
        if "selected" in history and history["selected"].any():
            ax.axvline(epoch[history["selected"].astype(bool)].iloc[0], color="grey", ls="--", label="kept epoch")
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch", xticks=epoch_ticks(len(history)))
        ax.set_xlim(0.5, len(history) + 0.5)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize="small", frameon=False)
    return fig


def learning_rate_curve(schedule: pd.DataFrame, *, kept_epoch: int, epochs_run: int) -> plt.Figure:
    """The learning rate per epoch (train.schedule_per_epoch's table; epochs 1-based), the kept epoch and, if
    training stopped early, the last epoch run marked."""
    fig, ax = plt.subplots(figsize=(6, 2.8), constrained_layout=True)
    ax.plot(schedule["epoch"], schedule["learning_rate"], marker="o", label="mean over the epoch's steps")
    ax.axvline(kept_epoch, color="grey", ls="--", label="kept epoch")
    if epochs_run < len(schedule):
        ax.axvline(epochs_run, color="tab:red", ls=":", label="last epoch run (early stop)")
    ax.set(xlabel="epoch", ylabel="learning rate", title="Learning-rate schedule", xticks=epoch_ticks(len(schedule)))
    ax.set_xlim(0.5, len(schedule) + 0.5)
    ax.set_ylim(bottom=0)
    legend_outside(ax, fontsize="small")
    return fig


def _label_text(onehot: np.ndarray, genres: Sequence[str]) -> str:
    """A (possibly mixed) label as "blues" or "blues 0.8 + rock 0.2", largest share first."""
    order = [i for i in np.argsort(-onehot) if onehot[i] > 0.005]
    if len(order) == 1:
        return genres[order[0]]
    return " + ".join(f"{genres[i]} {onehot[i]:.2f}" for i in order)


def augmented_batch(
    original: np.ndarray,
    augmented: np.ndarray,
    *,
    labels: np.ndarray,
    mixed_labels: np.ndarray,
    genres: Sequence[str],
    cfg: FeatureConfig,
) -> plt.Figure:
    """Stored frames (top row) above the same frames as training saw them (bottom row): (n, time, mels) log-mels in dB,
    time in s, mel band index up; titles give each frame's genre, and its label after mixup below."""
    n = len(original)
    fig, axes = plt.subplots(
        2, n, figsize=(2.6 * n, 5), squeeze=False, sharex=True, sharey=True, constrained_layout=True
    )
    low = min(float(original.min()), float(augmented.min()))
    high = max(float(original.max()), float(augmented.max()))
    seconds = original.shape[1] * cfg.hop_length / cfg.sample_rate
    for j in range(n):
        for row, (frames, title) in enumerate(
            ((original, _label_text(labels[j], genres)), (augmented, _label_text(mixed_labels[j], genres)))
        ):
            ax = axes[row, j]
            img = ax.imshow(
                frames[j].T, origin="lower", aspect="auto", vmin=low, vmax=high, cmap="magma",
                extent=(0, seconds, 0, frames.shape[2]),
            )  # fmt: skip
            ax.set_title(title, fontsize="small")
        axes[1, j].set_xlabel("time (s)")
    axes[0, 0].set_ylabel("stored frame\nmel band")
    axes[1, 0].set_ylabel("augmented\nmel band")
    fig.colorbar(img, ax=axes, label="dB", shrink=0.8)
    return fig
