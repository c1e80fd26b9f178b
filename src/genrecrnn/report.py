"""results/report.html: the four executed notebooks' text, tables and figures in one page, without code."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from genrecrnn.errors import DataError
from genrecrnn.fileio import atomic_write_text


def merge_notebooks(paths: Sequence[Path]) -> nbformat.NotebookNode:
    """One notebook with the cells of `paths` in order; audio players dropped (the report stays small)."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise DataError(f"executed notebook(s) not found: {', '.join(missing)}; run the pipeline first (dvc repro)")
    merged = nbformat.v4.new_notebook()
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        merged.metadata = merged.metadata or copy.deepcopy(nb.metadata)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.get("outputs", []) if "<audio" not in str(o.get("data", {}))]
            merged.cells.append(cell)
    return merged


def build_report(paths: Sequence[Path], out: Path, *, title: str = "genrecrnn study report") -> Path:
    """Render the merged notebooks to a self-contained HTML file (code hidden), written atomically."""
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    html, _ = exporter.from_notebook_node(merge_notebooks(paths), resources={"metadata": {"name": title}})
    atomic_write_text(out, html)
    return out
