"""Figures (matplotlib/seaborn): each function returns a Figure; save_figure writes it atomically.

Every figure is saved twice, as PNG (for the report and notebooks) and as SVG (vector, for papers);
legends sit outside the axes so they never cover data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline
import numpy as np
import pandas as pd
import seaborn as sns

from genrecrnn.features import FeatureConfig
from genrecrnn.fileio import atomic_path

VECTOR_FORMAT = "svg"  # written beside every PNG
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")  # what `genrecrnn predict --plot` may write


def figure_files(path: Path | str) -> list[Path]:
    """The files save_figure writes for `path`: `path` (PNG without a suffix) and, beside a PNG, its SVG."""
    path = Path(path)
    return [path, *([path.with_suffix(f".{VECTOR_FORMAT}")] if _format(path) == "png" else [])]


def _format(path: Path) -> str:
    """The image format a figure file is written in: its suffix, PNG without one."""
    return path.suffix.lstrip(".").lower() or "png"


def save_figure(fig: plt.Figure, path: Path | str, *, dpi: int = 120) -> Path:
    """Write `fig` to `path` (PNG, or the suffix's format) and, beside a PNG, as SVG; atomically; returns `path`."""
    path = Path(path)
    for target in figure_files(path):
        kind = _format(target)
        # No time stamp and fixed element ids (not random ones) in the SVG: reruns give the same bytes.
        metadata = {"Date": None} if kind == "svg" else {}
        with atomic_path(target) as tmp, plt.rc_context({"svg.hashsalt": "genrecrnn"}):
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=kind, metadata=metadata)
    return path


def save_and_show(fig: plt.Figure, path: Path | str) -> None:
    """Save `fig` (PNG + SVG, see save_figure) and display it once in a notebook; returns nothing to echo."""
    save_figure(fig, path)
    show(fig)


def legend_outside(ax: plt.Axes, **kwargs) -> None:
    """A legend to the right of `ax`, outside the data area, so no curve or point is hidden."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False, **kwargs)


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
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize="small", frameon=False)
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
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
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
    legend_outside(ax, fontsize=8)
    return fig


def probability_bars(probabilities: dict[str, float], *, title: str) -> plt.Figure:
    """Horizontal bar chart of one song's genre probabilities, highest on top."""
    items = sorted(probabilities.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(5, 0.3 * len(items) + 1), constrained_layout=True)
    ax.barh([g for g, _ in items], [p for _, p in items], color=sns.color_palette("viridis", len(items)))
    ax.set(xlim=(0, 1), xlabel="probability", title=title)
    return fig


def timeline(
    windows: list[dict], genres: Sequence[str], *, title: str, ax: plt.Axes | None = None, legend: bool = True
) -> plt.Figure:
    """Genre probability over time as a stacked area: each window's distribution from its start to the next start.

    ``windows`` are :func:`genrecrnn.inference.predict_file`'s (start s, seconds, probabilities); the x axis is
    in seconds, or minutes for songs over five minutes, so an hour-long file stays readable.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3), constrained_layout=True)
    starts = np.array([w["start"] for w in windows], dtype=float)
    ends = np.append(starts[1:], starts[-1] + windows[-1]["seconds"])
    probs = np.array([w["probabilities"] for w in windows], dtype=float)  # (windows, genres)
    scale, unit = (60.0, "min") if ends[-1] > 300 else (1.0, "s")
    x = np.column_stack([starts, ends]).ravel() / scale  # each window drawn flat over its own span
    colours = sns.color_palette("tab10" if len(genres) <= 10 else "husl", len(genres))
    ax.stackplot(x, np.repeat(probs, 2, axis=0).T, labels=genres, colors=colours, linewidth=0)
    ax.set(xlim=(x[0], x[-1]), ylim=(0, 1), xlabel=f"time ({unit})", ylabel="genre probability", title=title)
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax.figure


def song_timelines(results: list[dict], genres: Sequence[str]) -> plt.Figure:
    """One :func:`timeline` panel per classified file (predict_file results), one shared legend outside."""
    fig, axes = plt.subplots(
        len(results), 1, figsize=(9, 2.4 * len(results) + 0.6), squeeze=False, constrained_layout=True
    )
    for i, (ax, result) in enumerate(zip(axes[:, 0], results)):
        timeline(
            result["windows"], genres, title=f"{Path(result['path']).name}: {result['genre']}", ax=ax, legend=i == 0
        )
    return fig


def per_genre_f1(per_genre: pd.DataFrame, *, title: str = "F1 per genre (clip level, test split)") -> plt.Figure:
    """Horizontal bars of each genre's F1 from per_genre.csv (genre, f1, support), lowest at the bottom."""
    table = per_genre.sort_values("f1")
    fig, ax = plt.subplots(figsize=(6, 0.32 * len(table) + 1.2), constrained_layout=True)
    ax.barh(table["genre"], table["f1"], color=sns.color_palette("crest", len(table)))
    for y, (f1, n) in enumerate(zip(table["f1"], table["support"])):
        ax.text(min(f1, 1.0) + 0.01, y, f"{f1:.2f} (n={int(n)})", va="center", fontsize=8)
    ax.set(xlim=(0, 1.2), xticks=np.linspace(0, 1, 6), xlabel="F1", title=title)
    return fig


def embedding_maps(
    maps: dict[str, tuple[np.ndarray, Sequence[float]]], labels: np.ndarray, genres: Sequence[str]
) -> plt.Figure:
    """Side-by-side 2-D maps of the same clips, one panel per representation, points coloured by true genre.

    ``maps`` is name -> (points (clips, 2), explained variance ratio of the two axes); ``labels`` (clips,).
    """
    fig, axes = plt.subplots(1, len(maps), figsize=(5 * len(maps) + 1.6, 4.6), squeeze=False, constrained_layout=True)
    colours = sns.color_palette("tab10" if len(genres) <= 10 else "husl", len(genres))
    for ax, (name, (points, ratio)) in zip(axes[0], maps.items()):
        for i, genre in enumerate(genres):
            part = points[labels == i]
            ax.scatter(part[:, 0], part[:, 1], s=18, color=colours[i], label=genre, alpha=0.85, edgecolors="none")
        ax.set(title=name, xlabel=f"PC 1 ({ratio[0]:.0%} of variance)", ylabel=f"PC 2 ({ratio[1]:.0%})")
    legend_outside(axes[0, -1], fontsize=8, markerscale=1.5)
    return fig


def saliency_grid(saliency: np.ndarray, genres: Sequence[str], *, cfg: FeatureConfig, ncols: int = 5) -> plt.Figure:
    """Per genre, the (time, mel) map of how the genre's probability changes with the input's level (dB).

    ``saliency`` (genres, time steps, mel bands) is :func:`genrecrnn.explain.genre_saliency`'s; each map is
    scaled to its own largest magnitude; red raises the genre's score, blue lowers it; mel axis in Hz.
    """
    import librosa.display

    n = len(genres)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(
        nrows,
        min(ncols, n),
        figsize=(3.0 * min(ncols, n) + 1, 2.6 * nrows),
        squeeze=False,
        sharey=True,
        constrained_layout=True,
    )
    for ax, genre, grad in zip(axes.flat, genres, saliency):
        top = float(np.abs(grad).max()) or 1.0
        img = librosa.display.specshow(
            grad.T / top,
            sr=cfg.sample_rate,
            hop_length=cfg.hop_length,
            x_axis="s",
            y_axis="mel",
            ax=ax,
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
        )
        ax.set_title(genre)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(img, ax=axes, shrink=0.8, label="effect on the genre's probability (scaled)")
    return fig


def show(*figures: plt.Figure) -> None:
    """Display figures in a notebook now (in order with other output) and close them, so they are not drawn twice."""
    from IPython.display import display

    for fig in figures:
        display(fig)
        plt.close(fig)
