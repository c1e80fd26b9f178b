"""Figures of one prediction: a song's genre probabilities, and their course over the song's windows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline
import numpy as np
import seaborn as sns


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

    ``windows`` are :func:`genrecrnn.predict.windows.predict_file`'s (start s, seconds, probabilities); the x axis is
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
