"""Figures (matplotlib/seaborn): each function returns a Figure; save_figure writes it atomically.

Every figure is saved twice, as PNG (for the report and notebooks) and as SVG (vector, for papers);
legends sit outside the axes so they never cover data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline
import numpy as np
import pandas as pd
import seaborn as sns

from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.metrics.scores import curve_area
from genrecrnn.util.fileio import atomic_path

VECTOR_FORMAT = "svg"  # written beside every PNG
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")  # what `genrecrnn predict --plot` may write


def figure_files(path: Path | str) -> list[Path]:
    """The files save_figure writes for `path`: `path` (PNG without a suffix) and, beside a PNG, its SVG."""
    path = Path(path)
    return [path, *([path.with_suffix(f".{VECTOR_FORMAT}")] if _format(path) == "png" else [])]


def _format(path: Path) -> str:
    """The image format a figure file is written in: its suffix, PNG without one."""
    return path.suffix.lstrip(".").lower() or "png"


SCOPE = "clip level, test split"  # what the validation figures are computed on; said in their titles
# Column names of the curve tables -> axis titles, and (x, y) -> the score a panel's title gives.
AXIS_TITLES = {"recall": "Recall", "precision": "Precision", "fpr": "False positive rate", "tpr": "True positive rate"}
CURVE_SCORES = {("recall", "precision"): "AP", ("fpr", "tpr"): "AUC"}
CURVE_COLOUR = "tab:blue"  # one colour for every panel's own curve: grey is the reference, tab10 has a grey too


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


def confusion_heatmap(
    cm: pd.DataFrame, *, model: str = "CRNN", scope: str = SCOPE, title: str | None = None
) -> plt.Figure:
    """Heat map of a confusion matrix (rows true, columns predicted); row-normalised colours, counts annotated.

    The title names `model` and `scope` unless `title` replaces it."""
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
    ax.set(xlabel="predicted genre", ylabel="true genre", title=title or f"Confusion matrix: {model} ({scope})")
    return fig


def panel_grid(
    n: int, *, ncols: int, size: float, xlabel: str, ylabel: str, extra_height: float = 0.0
) -> tuple[plt.Figure, list[plt.Axes]]:
    """`n` panels of `size` inches, `ncols` a row, shared axes; unused cells removed, each column's last labelled."""
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols + 0.6, size * nrows + extra_height),
        squeeze=False,
        sharex=True,
        sharey=True,
        constrained_layout=True,
    )
    for ax in grid.flat[n:]:
        ax.remove()
    for ax in grid[-2, n % ncols :] if n % ncols and nrows > 1 else []:
        ax.xaxis.set_tick_params(labelbottom=True)  # the cell below was removed: this panel is the column's last
    # Axis titles on the panels, not fig.supxlabel: a legend below the figure would sit on top of that.
    for i, ax in enumerate(grid.flat[:n]):
        if i + ncols >= n:
            ax.set_xlabel(xlabel)
        if i % ncols == 0:
            ax.set_ylabel(ylabel)
    return fig, list(grid.flat[:n])


def curves(
    table: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    diagonal: bool = False,
    steps: bool = False,
    labels: Sequence[str] | None = None,
    model: str = "CRNN",
    scope: str = SCOPE,
    ncols: int = 5,
) -> plt.Figure:
    """Small multiples of a long curve table (genre, x, y): one panel per genre, the micro average grey in each.

    Panel titles give the genre's AP (recall/precision) or AUC (fpr/tpr) computed from the drawn points; the
    figure's title names `model` and `scope`; `steps` for precision-recall, `diagonal` for ROC's chance line.
    """
    genres = [g for g in (labels or table["genre"].unique()) if g != "micro"] or ["micro"]
    micro = table[table["genre"] == "micro"]
    score = CURVE_SCORES.get((x, y))
    drawstyle = "steps-post" if steps else "default"
    fig, axes = panel_grid(
        len(genres), ncols=ncols, size=2.2, xlabel=AXIS_TITLES.get(x, x), ylabel=AXIS_TITLES.get(y, y), extra_height=0.8
    )

    def named(name: str, part: pd.DataFrame) -> str:
        """'blues (AP 0.93)', or the name alone for axes without a known score."""
        return f"{name} ({score} {curve_area(part[x], part[y], step=score == 'AP'):.2f})" if score else name

    for ax, genre in zip(axes, genres):
        part = table[table["genre"] == genre]
        ax.plot(part[x], part[y], color=CURVE_COLOUR, lw=1.6, label=genre, drawstyle=drawstyle, zorder=3)
        if genre != "micro" and len(micro):
            ax.plot(micro[x], micro[y], color="0.65", lw=1.0, label="micro", drawstyle=drawstyle, zorder=2)
        if diagonal:
            ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, zorder=1)
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xticks=[0, 0.5, 1], yticks=[0, 0.5, 1])
        ax.set_title(named(genre, part), fontsize=9)
        ax.set_box_aspect(1)
    fig.suptitle(f"{title} ({model}, {scope})")
    handles = [plt.Line2D([], [], color=CURVE_COLOUR, lw=1.6, label="the panel's genre against the rest")]
    if len(micro):
        handles.append(plt.Line2D([], [], color="0.65", lw=1.0, label=named("micro average of all genres", micro)))
    if diagonal:
        handles.append(plt.Line2D([], [], ls="--", color="grey", lw=0.8, label="chance"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize="small", frameon=False)
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

    ``windows`` are :func:`genrecrnn.predict.inference.predict_file`'s (start s, seconds, probabilities); the x axis is
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


def _by_genre(table: pd.DataFrame) -> pd.DataFrame:
    """A per-genre table indexed by genre, whether genre is a column (per_genre.csv) or the index (per_genre_table)."""
    return table.set_index("genre") if "genre" in table.columns else table


def per_genre_f1(
    per_genre: pd.DataFrame,
    *,
    title: str | None = None,
    baseline: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None,
    names: Sequence[str] = ("CRNN", "MFCC baseline"),
    scope: str = SCOPE,
) -> plt.Figure:
    """Horizontal bars of each genre's F1 (per_genre.csv: genre, f1, support), lowest CRNN F1 at the bottom.

    ``baseline``: one table like per_genre (named ``names[1]``) or a mapping name -> table; each genre's
    bars then sit side by side, ``names[0]`` (the model of ``per_genre``) on top. The title names them.
    """
    others = {} if baseline is None else dict(baseline) if isinstance(baseline, Mapping) else {names[1]: baseline}
    main = _by_genre(per_genre).sort_values("f1")
    tables = {names[0]: main, **{name: _by_genre(t).reindex(main.index) for name, t in others.items()}}
    rows, k = np.arange(len(main)), len(tables)
    height = 0.8 / k
    fig, ax = plt.subplots(figsize=(6.4, (0.32 + 0.16 * (k - 1)) * len(main) + 1.4), constrained_layout=True)
    colours = sns.color_palette("crest", len(main)) if k == 1 else sns.color_palette("colorblind", k)
    for i, (name, table) in enumerate(tables.items()):
        offset = (k - 1) / 2 * height - i * height  # the first model's bar on top within each genre
        ax.barh(rows + offset, table["f1"], height=height, color=colours if k == 1 else colours[i], label=name)
        for y, f1, n in zip(rows + offset, table["f1"], table["support"]):
            note = f"{f1:.2f}" + (f" (n={int(n)})" if i == 0 else "")
            ax.text(min(f1, 1.0) + 0.01, y, note, va="center", fontsize=8 if i == 0 else 7)
    ax.set_yticks(rows, main.index)
    ax.set(xlim=(0, 1.2), xticks=np.linspace(0, 1, 6), xlabel="F1")
    *first, last = tables
    ax.set_title(title or f"F1 per genre: {', '.join(first) + ' and ' if first else ''}{last} ({scope})")
    if k > 1:
        legend_outside(ax, fontsize=8)
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


def band_profiles(
    profiles: np.ndarray,
    genres: Sequence[str],
    *,
    cfg: FeatureConfig,
    ncols: int = 5,
    model: str = "CRNN",
    scope: str = "test frames of each genre",
) -> plt.Figure:
    """One panel per genre: its saliency per mel band against the band's centre frequency (Hz, log axis).

    ``profiles`` (genres, mel bands) is :func:`genrecrnn.evaluation.explain.band_saliency`'s; each is divided by its
    own mean over bands, so 1 (dotted) is a band of average weight and genres share one scale; the grey
    line is the mean of all genres' profiles, so a genre's own bands stand out against it.
    """
    from genrecrnn.evaluation.baseline import mel_band_centres

    profiles = np.asarray(profiles)[:, : cfg.n_mels]  # the mel bands; chroma bands (features.chroma) have no Hz
    hz = mel_band_centres(profiles.shape[1], sr=cfg.sample_rate)
    means = profiles.mean(axis=1, keepdims=True)
    relative = np.divide(profiles, means, out=np.zeros_like(profiles, dtype=float), where=means > 0)
    fig, axes = panel_grid(
        len(genres), ncols=ncols, size=2.4, xlabel="band centre (Hz)", ylabel="relative saliency", extra_height=0.9
    )
    for ax, genre, profile in zip(axes, genres, relative):
        ax.plot(hz, relative.mean(axis=0), color="0.65", lw=1.0, zorder=2)
        ax.plot(hz, profile, color=CURVE_COLOUR, lw=1.5, zorder=3)
        ax.axhline(1.0, color="grey", ls=":", lw=0.8, zorder=1)
        ax.set_xscale("log")
        ax.set_title(genre, fontsize=9)
    fig.suptitle(f"Saliency per mel band: mean |gradient| over bands = 1 ({model}, {scope})")
    handles = [
        plt.Line2D([], [], color=CURVE_COLOUR, lw=1.5, label="the panel's genre"),
        plt.Line2D([], [], color="0.65", lw=1.0, label="mean of all genres"),
        plt.Line2D([], [], color="grey", ls=":", lw=0.8, label="a band of average weight"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize="small", frameon=False)
    return fig


def saliency_grid(saliency: np.ndarray, genres: Sequence[str], *, cfg: FeatureConfig, ncols: int = 5) -> plt.Figure:
    """Per genre, the (time, mel) map of how the genre's probability changes with the input's level (dB).

    ``saliency`` (genres, time steps, mel bands) is :func:`genrecrnn.evaluation.explain.genre_saliency`'s; each map is
    scaled to its own largest magnitude; red raises the genre's score, blue lowers it; mel axis in Hz.
    A (genres, mel bands) array, explain.band_saliency's, is drawn by :func:`band_profiles`.
    """
    import librosa.display

    if np.ndim(saliency) == 2:
        return band_profiles(np.asarray(saliency), genres, cfg=cfg, ncols=ncols)

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
            grad.T[: cfg.n_mels] / top,
            sr=cfg.sample_rate,
            hop_length=cfg.hop_length,
            x_axis="s",
            y_axis="mel",
            ax=ax,
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            rasterized=True,
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
