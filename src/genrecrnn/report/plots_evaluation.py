"""Figures of the test split, clip level: confusion, PR and ROC curves, F1 per genre, embedding maps, saliency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline
import numpy as np
import pandas as pd
import seaborn as sns

from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.metrics.curves import curve_area
from genrecrnn.report.plots import legend_outside

SCOPE = "clip level, test split"  # what the validation figures are computed on; said in their titles


# Column names of the curve tables -> axis titles, and (x, y) -> the score a panel's title gives.
AXIS_TITLES = {"recall": "Recall", "precision": "Precision", "fpr": "False positive rate", "tpr": "True positive rate"}


CURVE_SCORES = {("recall", "precision"): "AP", ("fpr", "tpr"): "AUC"}


CURVE_COLOUR = "tab:blue"  # one colour for every panel's own curve: grey is the reference, tab10 has a grey too


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
        grad = grad[:, : cfg.n_mels]  # the mel bands; pitch-class bands (chroma, clip profile) have no Hz
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
            rasterized=True,
        )
        ax.set_title(genre)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.colorbar(img, ax=axes, shrink=0.8, label="effect on the genre's probability (scaled)")
    return fig
