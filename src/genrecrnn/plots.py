"""Figures (matplotlib/seaborn): each function returns a Figure; save_figure writes it atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline
import numpy as np
import pandas as pd
import seaborn as sns

from genrecrnn.features import FeatureConfig
from genrecrnn.fileio import atomic_path


def save_figure(fig: plt.Figure, path: Path | str, *, dpi: int = 120) -> Path:
    """Write `fig` as PNG (or the suffix's format) atomically and return the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=Path(path).suffix.lstrip(".") or "png")
    return Path(path)


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
    top = max(float(s.max()) for s in spectrograms.values())  # one colour scale for every genre
    for ax, (genre, spec) in zip(axes.flat, spectrograms.items()):
        img = librosa.display.specshow(
            spec,
            sr=cfg.sample_rate,
            hop_length=cfg.hop_length,
            x_axis="s",
            y_axis="mel",
            ax=ax,
            vmin=top - 80,
            vmax=top,
        )
        ax.set_title(genre)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(img, ax=axes, format="%+.0f dB", shrink=0.8)
    return fig


def training_curves(history: pd.DataFrame) -> plt.Figure:
    """Loss and accuracy per epoch: training frames, validation frames and validation clips; the kept epoch marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), constrained_layout=True)
    epoch = history["epoch"] + 1
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(epoch, history[metric], marker="o", label="train (augmented frames)")
        for column, label in ((f"val_{metric}", "validation frames"), (f"val_clip_{metric}", "validation clips")):
            if column in history:
                ax.plot(epoch, history[column], marker="o", label=label)
        if "selected" in history and history["selected"].any():
            ax.axvline(epoch[history["selected"].astype(bool)].iloc[0], color="grey", ls="--", label="kept epoch")
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch")
        ax.legend(fontsize="small")
    return fig


def confusion_heatmap(cm: pd.DataFrame, *, title: str = "Confusion matrix (clip level)") -> plt.Figure:
    """Heat map of a confusion matrix (rows true, columns predicted); row-normalised colours, counts annotated."""
    counts = cm.to_numpy()
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(cm), 0.6 * len(cm)), constrained_layout=True)
    sns.heatmap(
        share,
        annot=counts,
        fmt="d",
        cmap="Blues",
        vmin=0,
        vmax=1,
        cbar_kws={"label": "share of true genre"},
        xticklabels=cm.columns,
        yticklabels=cm.index,
        ax=ax,
    )
    ax.set(xlabel="predicted genre", ylabel="true genre", title=title)
    return fig


def curves(
    table: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    diagonal: bool = False,
    steps: bool = False,
    labels: Sequence[str] | None = None,
) -> plt.Figure:
    """Per-genre curves from a long table (genre, x, y), the micro curve bold; `steps` for precision-recall."""
    fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    for genre in labels or table["genre"].unique():
        part = table[table["genre"] == genre]
        bold = genre == "micro"
        ax.plot(
            part[x],
            part[y],
            lw=2.5 if bold else 1.2,
            color="black" if bold else None,
            label=genre,
            drawstyle="steps-post" if steps else "default",
        )
    if diagonal:
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set(xlabel=x, ylabel=y, title=title, xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=7, ncol=2)
    return fig


def probability_bars(probabilities: dict[str, float], *, title: str) -> plt.Figure:
    """Horizontal bar chart of one song's genre probabilities, highest on top."""
    items = sorted(probabilities.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(5, 0.3 * len(items) + 1), constrained_layout=True)
    ax.barh([g for g, _ in items], [p for _, p in items], color=sns.color_palette("viridis", len(items)))
    ax.set(xlim=(0, 1), xlabel="probability", title=title)
    return fig


def timeline(windows: list[dict], genres: Sequence[str], *, title: str) -> plt.Figure:
    """Heat map of genre probability (rows) per window (columns, labelled by start time)."""
    matrix = np.array([w["probabilities"] for w in windows]).T
    fig, ax = plt.subplots(figsize=(max(4, 0.45 * len(windows) + 2), 0.35 * len(genres) + 1), constrained_layout=True)
    sns.heatmap(
        matrix,
        vmin=0,
        vmax=1,
        cmap="magma",
        yticklabels=genres,
        xticklabels=[f"{w['start']:.0f}s" for w in windows],
        ax=ax,
        cbar_kws={"label": "probability"},
    )
    ax.set(xlabel="window start", title=title)
    return fig


def show(*figures: plt.Figure) -> None:
    """Display figures in a notebook now (in order with other output) and close them, so they are not drawn twice."""
    from IPython.display import display

    for fig in figures:
        display(fig)
        plt.close(fig)
