"""results/report.html: the findings first, then the methods (one section per stage), then the notebooks' details.

This module reads the pipeline's own files (metrics.json, the data set index, the figures under
results/figures/, the executed notebooks) and writes the page; `genrecrnn.report.html` turns them into
HTML. The summary comes from those files, not from notebook output, so it is the same whatever a
notebook prints. Every figure has a numbered caption (report.html.FIGURES); the details section is
the executed notebooks' text and tables. One self-contained HTML file.
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Sequence
from pathlib import Path

import nbformat
import pandas as pd
from nbconvert import HTMLExporter

from genrecrnn.config.outputs import CONFUSION_FILE, FIGURE_DIR, METRICS_FILE, REPORT_FILE
from genrecrnn.config.sections import DataParams
from genrecrnn.evaluation.baseline import BASELINES
from genrecrnn.evaluation.scorecard import comparison_key
from genrecrnn.metrics.tables import describe_errors
from genrecrnn.report.details import details_cells, html_cell
from genrecrnn.report.html import methods_html, numbered_figures, summary_html
from genrecrnn.util.errors import DataError
from genrecrnn.util.fileio import atomic_write_text


def dataset_overview(dataset: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clips per genre and split with totals, files left out with their reason) from the data stage's index."""
    from genrecrnn.data.index import read_dataset_index, tracks_with_split

    manifest, split, genres = read_dataset_index(dataset)
    tracks = tracks_with_split(manifest, split)
    counts = pd.crosstab(tracks["genre"], tracks["split"], margins=True, margins_name="total")
    order = [s for s in ("train", "val", "test") if s in counts.columns] + ["total"]
    counts = counts.reindex(index=[*[g for g in genres if g in counts.index], "total"], columns=order, fill_value=0)
    counts = counts.T  # splits as rows: four short rows whatever the number of genres
    counts.index.name = counts.columns.name = None
    left_out = manifest.loc[manifest["status"] != "ok", ["path", "reason"]].reset_index(drop=True)
    return counts, left_out


def read_notebooks(paths: Sequence[Path]) -> dict[str, nbformat.NotebookNode]:
    """Executed notebooks by stem; DataError naming the missing ones."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise DataError(f"executed notebook(s) not found: {', '.join(missing)}; run the pipeline first (dvc repro)")
    return {Path(p).stem: nbformat.read(str(p), as_version=4) for p in paths}


def build_report(
    notebook_paths: Sequence[Path],
    out: Path,
    *,
    results: Path,
    dataset: Path,
    data: DataParams,
    n_boot: int | None = None,
    title: str = "genrecrnn study report",
) -> Path:
    """Write the report (summary, methods, details) to `out` as one self-contained HTML file, atomically.

    `n_boot`: the validate stage's bootstrap resamples (a bootstrap p at its floor is then written as a bound)."""
    metrics_file = results / METRICS_FILE
    if not metrics_file.is_file():
        raise DataError(f"{metrics_file}: not found; run the pipeline first (dvc repro)")
    metrics = json.loads(metrics_file.read_text())
    notebooks = read_notebooks(notebook_paths)
    figures = numbered_figures(results / FIGURE_DIR)
    merged = nbformat.v4.new_notebook()
    # Language and kernel only: the executed notebooks' widget state (progress bars, with random
    # ids and timings) would be embedded in the page and change it every run.
    first = next(iter(notebooks.values())).metadata if notebooks else {}
    merged.metadata = {k: copy.deepcopy(first[k]) for k in ("kernelspec", "language_info") if k in first}
    counts, left_out = dataset_overview(dataset)
    summary = summary_html(metrics=metrics, counts=counts, left_out=left_out, data=data, figures=figures, n_boot=n_boot)
    # Cells made here get fixed ids (nbformat draws random ones), so a rerun writes the same page.
    merged.cells.append(html_cell(summary, cell_id="summary"))
    merged.cells.append(html_cell(methods_html(notebooks, figures, data), cell_id="methods"))
    details = "# Details\nThe executed notebooks' text and tables, in order."
    merged.cells.append(nbformat.v4.new_markdown_cell(details, id="details"))
    for stem, nb in notebooks.items():
        merged.cells.append(nbformat.v4.new_markdown_cell(f"## {stem}", id=f"{stem}-title"))
        merged.cells.extend(details_cells(nb, stem=stem))
    # nbconvert's "basic" template: the cells' HTML only. The default "lab" page loads require.js,
    # MathJax and mermaid from a CDN, so offline it would wait on the network; the page frame is ours.
    exporter = HTMLExporter(
        template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": title}})
    atomic_write_text(out, PAGE.format(title=html.escape(title), body=body))
    return out


# The report's frame: everything inline (no external script, stylesheet or font), readable without a network.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1280px; margin: 1em auto; padding: 0 1em; line-height: 1.4;
       color: #222; }}
table {{ border-collapse: collapse; margin: 0.4em 0 0.8em 0; font-size: 0.92em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
th.text, td.text {{ text-align: left; }}  /* names and words; numbers stay right-aligned */
pre {{ background: #f6f6f6; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }}
img {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def headline_summary(results: Path, *, root: Path | None = None) -> str:
    """A few lines for the terminal: CRNN and baselines' clip accuracy with CIs, the paired tests, the report's path."""
    metrics_file = results / METRICS_FILE
    if not metrics_file.is_file():
        raise DataError(f"{metrics_file}: not found; run the pipeline first (make repro)")
    m = json.loads(metrics_file.read_text())
    report = results / REPORT_FILE
    shown = report.relative_to(root) if root is not None and report.is_relative_to(root) else report
    confusion = pd.read_csv(results / CONFUSION_FILE) if (results / CONFUSION_FILE).is_file() else None
    errors = [] if confusion is None else [f"CRNN: {describe_errors(confusion['actual'], confusion['predicted'])}"]
    lines = []
    for model, name in (("crnn", "CRNN"), *BASELINES.items()):
        if model in m:  # a metrics.json written before a baseline existed lacks it
            c = m[model]["clip"]
            lines.append(
                f"{name + ':':<25} clip accuracy {c['accuracy']:.3f} (95% CI {c['accuracy_ci_low']:.3f}–"
                f"{c['accuracy_ci_high']:.3f}), macro F1 {c['f1_macro']:.3f}, mAP {c['map']:.3f}"
            )
    for model, name in BASELINES.items():
        if (key := comparison_key(model)) in m:
            d = m[key]
            lines.append(
                f"CRNN − {name} {d['accuracy_diff']:+.3f} (95% CI {d['accuracy_diff_ci_low']:+.3f} to "
                f"{d['accuracy_diff_ci_high']:+.3f}), McNemar p {d['mcnemar_p']:.2g} on {int(d['n'])} test clips"
            )
    return "\n".join([*lines, *errors, f"report: {shown}"])
