"""Figures (matplotlib/seaborn): each function returns a Figure; save_figure writes it atomically.

Every figure is saved twice, as PNG (for the report and notebooks) and as SVG (vector, for papers);
legends sit outside the axes so they never cover data.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # headless machines fall back to Agg by themselves; notebooks keep inline

from genrecrnn.util.fileio import atomic_path

VECTOR_FORMAT = "svg"  # written beside every PNG
PLOT_SUFFIXES = (".png", ".svg", ".pdf")  # what `genrecrnn predict --plot` may write


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


def show(*figures: plt.Figure) -> None:
    """Display figures in a notebook now (in order with other output) and close them, so they are not drawn twice."""
    from IPython.display import display

    for fig in figures:
        display(fig)
        plt.close(fig)
