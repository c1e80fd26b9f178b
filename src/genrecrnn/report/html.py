"""The report's HTML: figure captions, the summary screen and the methods sections (details: report.details).

Presentation only: every function takes what it shows (metrics, tables, notebooks) and returns HTML or
notebook cells; `genrecrnn.report.page` reads the pipeline's files and writes the page. Figures are embedded
(base64), so the report stays one file: line art as its SVG copy, sharp at any size; spectrogram grids as
JPEG, a fifth of their PNG's bytes.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import mistune
import nbformat
import pandas as pd

from genrecrnn.config.outputs import NOTEBOOKS, SPLIT_FILE
from genrecrnn.config.sections import DataParams
from genrecrnn.report.details import table_html

_markdown = mistune.create_markdown(plugins=["table"])


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the report: its file stem under results/figures/, the section it belongs to, its caption."""

    stem: str
    section: str
    caption: str
    embed: str = "svg"  # "svg" (the vector copy beside the PNG) or "jpeg" (the PNG re-encoded: images, not line art)


# Order = numbering. Sections: "summary" or a stage name of STAGES. Stems: config.outputs.FIGURES, each captioned.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "confusion_matrix",
        "summary",
        "Confusion matrix of the CRNN on the test clips: rows are the true genre, columns the predicted one, "
        "colour the share of the row. Look at the off-diagonal cells: the genres it mixes up.",
    ),
    FigureSpec(
        "per_genre_f1",
        "summary",
        "F1 per genre on the test clips (n = test clips of the genre), the CRNN's bars beside each baseline's. "
        "Where the CRNN's bar is not above the rhythm/harmony baseline's, it learned no more for that genre than "
        "clip statistics of rhythm and harmony give.",
    ),
    FigureSpec(
        "logmel_examples",
        "preprocess",
        "Log-mel spectrogram of one training clip per genre (one colour scale for all). "
        "This is the input the CRNN sees; compare where each genre puts its energy over time and frequency.",
        embed="jpeg",
    ),
    FigureSpec(
        "training_curves",
        "train",
        "Loss and accuracy per epoch on the augmented training frames, the validation frames and the "
        "validation clips; the dashed line is the epoch that was kept. A gap between training and validation "
        "that widens over the epochs means the network memorises its training clips.",
    ),
    FigureSpec(
        "embedding_map",
        "validate",
        "The test clips in two dimensions (PCA): left, the CRNN's penultimate-layer embedding; right, the "
        "baseline's MFCC statistics; colour is the true genre. Tight, separate clusters on the left that "
        "overlap on the right show what the CRNN learned beyond the baseline's features.",
    ),
    FigureSpec(
        "saliency",
        "validate",
        "Saliency per mel band: for each genre, the mean magnitude of the gradient of its probability with respect "
        "to each band's level, over the genre's test frames and their time steps, divided by its mean over bands "
        "(1, dotted, is a band of average weight; grey, the mean of all genres). Peaks are the bands whose level "
        "moves the genre's score most.",
    ),
    FigureSpec(
        "pr_curves",
        "validate",
        "Precision-recall curve of each genre (one against the rest, clip level), one panel each with its average "
        "precision (AP); the micro average of all genres in grey. Curves that stay near the top right are genres "
        "found without false alarms.",
    ),
    FigureSpec(
        "roc_curves",
        "validate",
        "ROC curve of each genre (clip level), one panel each with its area under the curve (AUC); the micro "
        "average in grey, chance on the dashed diagonal. The closer a curve hugs the top left corner, the better "
        "that genre is ranked.",
    ),
)

# One methods section per stage, with its title; a notebook stage's executed notebook (outputs.NOTEBOOKS) opens
# with the Markdown cell that describes it.
STAGES: tuple[tuple[str, str], ...] = (
    ("data", "Data"),
    ("preprocess", "Preprocessing"),
    ("train", "Training"),
    ("validate", "Validation"),
    ("predict", "Prediction"),
)

# (label, metrics.json key under <model>.clip, key of its CI or None)
HEADLINE_ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("clip accuracy", "accuracy", "accuracy"),
    ("macro F1", "f1_macro", "f1_macro"),
    ("mAP (macro, probabilities)", "map", None),
    ("ROC AUC (one-vs-rest, macro)", "roc_auc_ovr_macro", None),
)

_CSS = """
<style>
/* Tables and images are styled by the page frame (report.PAGE); these rules are the summary's own. */
.gc-summary { font-family: system-ui, sans-serif; max-width: 1280px; margin: 0 auto; line-height: 1.4; }
.gc-summary h1 { margin-bottom: 0.2em; }
.gc-row { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
.gc-row > div { flex: 1 1 480px; min-width: 0; }
#dataset table { font-size: 0.78em; }
#dataset td, #dataset th { padding: 2px 5px; }
.gc-summary figure { margin: 0.6em 0; }
#summary figure img { width: 100%; } /* SVG: drawn at the column's width, cell counts stay legible */
#methods figure img { max-width: min(100%, 820px); }
.gc-summary h1 { font-size: 1.6em; } .gc-summary h2 { font-size: 1.25em; margin: 0.5em 0 0.3em 0; }
.gc-summary h3 { font-size: 1.05em; margin: 0.4em 0 0.2em 0; }
.gc-summary figcaption { font-size: 0.9em; color: #333; }
.gc-note { font-size: 0.85em; color: #555; }
</style>
"""


JPEG_QUALITY = 80  # spectrogram grids: no visible loss at this quality, a fifth of the PNG's bytes
# An SVG copy this large draws an image as thousands of vector cells (a spectrogram saved without
# rasterized=True): its PNG as JPEG is a fraction of the bytes and looks the same.
SVG_MAX_BYTES = 300_000


def _jpeg(png: Path) -> bytes:
    """The PNG at `png` re-encoded as JPEG (transparency flattened onto white)."""
    from PIL import Image

    with Image.open(png) as image:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        out = io.BytesIO()
        flat.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _img(png: Path, *, embed: str = "svg") -> str:
    """An <img> with the figure saved at `png` embedded as base64: its SVG copy, the PNG as JPEG, or the PNG itself.

    The PNG is the fallback when the SVG copy is missing (a figure saved before save_figure wrote one); an SVG
    over SVG_MAX_BYTES is embedded as JPEG."""
    svg = png.with_suffix(".svg")
    if embed == "svg" and svg.is_file() and svg.stat().st_size <= SVG_MAX_BYTES:
        mime, data = "image/svg+xml", svg.read_bytes()
    elif embed == "jpeg" or svg.is_file():
        mime, data = "image/jpeg", _jpeg(png)
    else:
        mime, data = "image/png", png.read_bytes()
    return f'<img src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}" alt="{html.escape(png.stem)}">'


def figure_html(spec: FigureSpec, number: int, figures: Path) -> str:
    """A <figure> with the embedded figure and its numbered caption."""
    return (
        f'<figure id="fig-{spec.stem}">{_img(figures / f"{spec.stem}.png", embed=spec.embed)}'
        f"<figcaption><b>Figure {number}.</b> {html.escape(spec.caption)}</figcaption></figure>"
    )


def numbered_figures(figures: Path) -> dict[str, list[str]]:
    """Section -> <figure> blocks of the FIGURES that exist under `figures`, numbered in FIGURES order."""
    out: dict[str, list[str]] = {}
    present = [spec for spec in FIGURES if (figures / f"{spec.stem}.png").is_file()]
    for number, spec in enumerate(present, start=1):
        out.setdefault(spec.section, []).append(figure_html(spec, number, figures))
    return out


def _with_ci(value: float, low: float | None, high: float | None) -> str:
    """'0.930 (0.863–0.966)', or the value alone when no CI was computed."""
    return f"{value:.3f}" if low is None else f"{value:.3f} ({low:.3f}–{high:.3f})"


def headlinetable_html(metrics: dict) -> pd.DataFrame:
    """Rows HEADLINE_ROWS, columns CRNN and each baseline metrics.json holds: value with its 95% CI where the
    validation stage computed one."""
    from genrecrnn.evaluation.baseline import BASELINES

    table = {}
    for model, name in (("crnn", "CRNN"), *BASELINES.items()):
        if model not in metrics:  # a metrics.json written before this baseline existed
            continue
        clip = metrics[model]["clip"]
        column = []
        for _, key, ci in HEADLINE_ROWS:
            low, high = (clip.get(f"{ci}_ci_low"), clip.get(f"{ci}_ci_high")) if ci else (None, None)
            column.append(_with_ci(clip[key], low, high))
        table[name] = column
    return pd.DataFrame(table, index=pd.Index([label for label, _, _ in HEADLINE_ROWS]))


def describe_source(data: DataParams) -> str:
    """One sentence naming the data set's source from params.yaml's data section."""
    if data.source == "synthetic":
        return (
            f"Synthetic audio made by the data stage: {data.clips_per_genre} clips of {data.clip_seconds:g} s "
            f"per genre, difficulty {data.difficulty:g}, timbre {data.timbre}."
        )
    return f"{data.source} collection in {data.root or '(root not set)'}."


def summary_html(
    *,
    metrics: dict,
    counts: pd.DataFrame,
    left_out: pd.DataFrame,
    data: DataParams,
    figures: dict[str, list[str]],
    n_boot: int | None = None,
) -> str:
    """The first screen: data set (`counts` of clips per split and genre, files `left_out`), headline table with
    the paired test, confusion matrix and per-genre F1."""
    from genrecrnn.evaluation.baseline import BASELINES
    from genrecrnn.evaluation.scorecard import comparison_key
    from genrecrnn.metrics.significance import describe_comparison

    sentences = [
        describe_comparison(metrics[key], name_a="CRNN", name_b=name, unit="test clips", n_boot=n_boot)
        for model, name in BASELINES.items()
        if (key := comparison_key(model)) in metrics
    ]
    comparisons = "".join(f"<li>{_markdown(sentence)}</li>" for sentence in sentences)
    left = (
        f"<p>{len(left_out)} file(s) left out:</p>" + table_html(left_out.head(20), index=False)
        if len(left_out)
        else "<p>No file was left out.</p>"
    )
    n_genres = counts.shape[1] - 1
    return f"""{_CSS}<div class="gc-summary" id="summary">
<h1>genrecrnn: summary</h1>
<p>The CRNN against two classical baselines on the same {int(metrics["n_clips"])} test clips
({int(metrics["n_frames"])} frames); chance is {1 / max(n_genres, 1):.2f}. The MFCC baseline (MFCC statistics +
logistic regression) hears timbre only; the rhythm/harmony baseline (MFCC statistics plus key-invariant chroma,
onset strength, tempo and beat-relative onset autocorrelation; logistic regression or RBF SVM chosen on the
validation clips) also hears what genres differ by.</p>
<div class="gc-row"><div>
<h2>Results</h2>
{table_html(headlinetable_html(metrics))}
<p class="gc-note">In brackets: 95% CI (Wilson's interval for accuracy, a BCa bootstrap over clips for macro F1);
no CI is computed for mAP and ROC AUC or for the baselines' F1.</p>
<h3>Paired tests, CRNN against each baseline</h3>
<ul>{comparisons}</ul>
</div><div id="dataset">
<h2>Data set</h2>
<p>{html.escape(describe_source(data))}</p>
<p>Clips per split and genre:</p>
{table_html(counts)}
{left}
</div></div>
<div class="gc-row">{"".join(f"<div>{f}</div>" for f in figures.get("summary", []))}</div>
</div>"""


def _first_markdown(nb: nbformat.NotebookNode) -> str:
    """Source of a notebook's first Markdown cell (its description of the stage)."""
    return next((c.source for c in nb.cells if c.cell_type == "markdown"), "")


def methods_html(notebooks: dict[str, nbformat.NotebookNode], figures: dict[str, list[str]], data: DataParams) -> str:
    """One section per stage: the notebook's description, then the stage's figures with their captions."""
    parts = ['<div class="gc-summary" id="methods"><h1>Methods</h1>']
    for stage, title in STAGES:
        name = NOTEBOOKS.get(stage)
        parts.append(f'<h2 id="stage-{stage}">{title} (stage <code>{stage}</code>)</h2>')
        if name is None:
            parts.append(
                f"<p>{html.escape(describe_source(data))} The split is fixed by track before any frame is cut "
                f"(written to {SPLIT_FILE}), so frames of one clip never sit in two splits.</p>"
            )
        else:
            text = _first_markdown(notebooks[name])
            # The notebook's own title becomes this section's: drop its first heading line.
            body = "\n".join(line for i, line in enumerate(text.splitlines()) if not (i == 0 and line.startswith("#")))
            parts.append(_markdown(body))
        parts.extend(figures.get(stage, []))
    parts.append("</div>")
    return "\n".join(parts)
