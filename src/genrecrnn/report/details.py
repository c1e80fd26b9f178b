"""The report's details: each executed notebook's cells filtered and tidied for the page.

Kept: markdown, tables and printed findings; left out: stderr, figures (the report numbers its own),
widgets, bare reprs and Keras's per-epoch lines; empty sections are dropped, numbers get one format per
column and headings sit under the notebook's own.
"""

from __future__ import annotations

import copy
import re

import nbformat
import pandas as pd


def table_html(frame: pd.DataFrame, *, index: bool = True) -> str:
    """A plain HTML table of `frame` (no pandas styling classes)."""
    return frame.to_html(index=index, border=0, escape=True, na_rep="")


# Keras's per-epoch lines in notebook 02 ("Epoch 3/30", "100/100 - 15s - 147ms/step - loss: ..."): the
# training curves figure carries their numbers, and their timings would change the page every run.
_KERAS_EPOCH_LINE = re.compile(r"Epoch \d+/\d+|\d+/\d+ - \d+m?s - .*")


def _drop_epoch_lines(output: nbformat.NotebookNode) -> None:
    """Remove Keras's per-epoch lines from a stream output, in place."""
    if output.get("output_type") == "stream":
        lines = str(output.get("text", "")).splitlines(keepends=True)
        output["text"] = "".join(line for line in lines if not _KERAS_EPOCH_LINE.fullmatch(line.rstrip("\n")))


def _keep_output(output: nbformat.NotebookNode) -> bool:
    """False for what the details section leaves out: stderr, figures, audio players, widgets, bare reprs."""
    if output.get("output_type") == "stream":  # stderr: warnings; a printed dict: a repr, not a finding
        text = str(output.get("text", ""))
        return output.get("name") != "stderr" and bool(text.strip()) and not text.startswith("{'")
    if output.get("output_type") == "error":
        return True  # a failed cell must show (the stage would have failed, so this is defensive)
    data = output.get("data", {})
    if any(key.startswith("image/") for key in data) or "application/vnd.jupyter.widget-view+json" in data:
        return False
    if "<audio" in str(data.get("text/html", "")):
        return False
    plain = str(data.get("text/plain", ""))
    return not (set(data) == {"text/plain"} and plain.startswith(("PosixPath(", "<Figure", "{'")))


_HEADING = re.compile(r"(#{1,6})\s")


_SERIES_FOOTER = re.compile(r"(?:Name: (?P<name>.*), )?dtype: \w+")


_DATAFRAME = re.compile(r"<table[^>]*class=\"dataframe\".*?</table>", flags=re.S)


def _heading_level(markdown: str, *, whole: bool = False) -> int | None:
    """Level of the heading `markdown` opens with (None if it does not); `whole`: None unless every line is one."""
    lines = [line for line in markdown.splitlines() if line.strip()]
    levels = [m.end(1) if (m := _HEADING.match(line)) else None for line in lines]
    if not levels or levels[0] is None or (whole and None in levels):
        return None
    return levels[0]


def _without_empty_sections(items: list, level_of) -> list:
    """`items` less each heading followed by nothing or by a heading of the same or a higher level (its content gone).

    ``level_of(item)`` is the heading level an item opens with, or None for content. Walked from the end, so
    a section left holding only an emptied subsection goes too.
    """
    kept, following = [], 0  # the end of the list closes every section: level 0
    for item in reversed(items):
        level = level_of(item)
        if level is not None and following is not None and following <= level:
            continue
        kept.append(item)
        following = level
    return kept[::-1]


def _output_heading_level(output: nbformat.NotebookNode) -> int | None:
    """Heading level of an output that is a Markdown heading only (``display(Markdown("### song.wav: rock"))``)."""
    data = output.get("data", {})
    return _heading_level(str(data["text/markdown"]), whole=True) if "text/markdown" in data else None


def _series_html(text: str) -> str | None:
    """A printed pandas Series (`test 1000` rows, `Name: frames, dtype: int64` last) as an HTML table; else None."""
    lines = text.rstrip("\n").splitlines()
    footer = _SERIES_FOOTER.fullmatch(lines[-1]) if lines else None
    if footer is None:
        return None
    body = lines[:-1]
    index_name = body.pop(0) if body and len(body[0].split()) == 1 else None
    rows = [line.rsplit(None, 1) for line in body]
    if not rows or any(len(row) != 2 for row in rows):
        return None
    column = footer["name"] or "value"
    table = pd.DataFrame({column: [v for _, v in rows]}, index=pd.Index([k.strip() for k, _ in rows], name=index_name))
    return table_html(table)


def _drop_range_index(table: str) -> str:
    """A pandas HTML table without its index column when that index is only the row numbers 0..n-1."""
    head, sep, body = table.partition("<tbody>")
    numbers = re.findall(r"<tr>\s*<th>(\d+)</th>", body)
    if not sep or head.count("<tr") != 1 or numbers != [str(i) for i in range(body.count("<tr"))] or not numbers:
        return table
    head = re.sub(r"(<tr[^>]*>\s*)<th></th>\s*", r"\1", head, count=1)
    return head + sep + re.sub(r"(<tr>\s*)<th>\d+</th>\s*", r"\1", body)


_CELL = re.compile(r"<(t[hd])([^>]*)>(.*?)</t[hd]>", flags=re.S)


_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", flags=re.I)
_MISSING = {"", "nan", "NaN", "None", "—"}  # what pandas writes for no value; shown as a dash


def _column_format(values: list[str]) -> str | None:
    """One format for a numeric column's cells (None for text or whole numbers, left as written): three decimals,
    or three significant digits in exponent form when a value is below 0.001."""
    written = [v for v in values if v not in _MISSING]
    if not written or not all(_NUMBER.fullmatch(v) for v in written) or all(v.lstrip("-").isdigit() for v in written):
        return None
    numbers = [float(v) for v in written]
    return ".2e" if any(0 < abs(x) < 1e-3 for x in numbers) else ".3f"


def _formatted(value: str, form: str) -> str:
    """`value` in the column's format; a count among fractions (a whole number of 10 or more) without decimals."""
    if value in _MISSING:
        return "—"
    number = float(value)
    return f"{number:.0f}" if form == ".3f" and number.is_integer() and abs(number) >= 10 else format(number, form)


def _tidy_numbers(table: str) -> str:
    """A pandas HTML table with one number format per column and text columns (and their headers) left-aligned."""
    head, sep, body = table.partition("<tbody>")
    rows = re.findall(r"<tr[^>]*>.*?</tr>", body, flags=re.S)
    cells = [_CELL.findall(row) for row in rows]
    if not sep or not cells or len({len(row) for row in cells}) != 1:
        return table
    columns = list(zip(*[[text.strip() for _, _, text in row] for row in cells]))
    kinds = [row[0] for row in cells[0]]
    formats = [_column_format(list(col)) if kind == "td" else None for col, kind in zip(columns, kinds)]
    text = [
        kind == "td" and not all(_NUMBER.fullmatch(v) for v in col if v not in _MISSING)
        for col, kind in zip(columns, kinds)
    ]

    def cell(tag: str, attrs: str, value: str, column: int) -> str:
        value = value.strip()
        if tag == "td" and formats[column]:
            value = _formatted(value, formats[column])
        klass = ' class="text"' if text[column] else ""
        return f"<{tag}{attrs}{klass}>{value}</{tag}>"

    new_rows = ["<tr>" + "".join(cell(*c, i) for i, c in enumerate(row)) + "</tr>" for row in cells]
    first = re.search(r"<tr[^>]*>.*?</tr>", head, flags=re.S)
    if first and len(header := _CELL.findall(first.group(0))) == len(kinds):
        row = "<tr>" + "".join(cell(tag, attrs, value, i) for i, (tag, attrs, value) in enumerate(header)) + "</tr>"
        head = head[: first.start()] + row + head[first.end() :]
    tail = body[body.rfind("</tr>") + len("</tr>") :] if rows else body
    return head + sep + "\n" + "\n".join(new_rows) + tail


def _tidy_output(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A kept output made readable: a printed Series as a table, row-number index columns dropped, one number
    format per column, text columns left-aligned."""
    data = output.get("data", {})
    if set(data) == {"text/plain"} and (table := _series_html(str(data["text/plain"]))) is not None:
        output["data"] = {"text/html": table}
    elif "text/html" in data:
        data["text/html"] = _DATAFRAME.sub(
            lambda m: _tidy_numbers(_drop_range_index(m.group(0))), str(data["text/html"])
        )
    return output


def details_cells(nb: nbformat.NotebookNode, *, stem: str) -> list[nbformat.NotebookNode]:
    """A notebook's cells for the details section: intro Markdown dropped, outputs filtered and tidied, sections
    whose figures were all left out dropped with their headings, ids made unique."""
    cells, skipped_intro = [], False
    for cell in nb.cells:
        cell = copy.deepcopy(cell)
        if "id" in cell:  # the four notebooks reuse ids such as cell-02; the merged one needs unique ids
            cell.id = f"{stem}-{cell.id}"
        if cell.cell_type == "markdown" and not skipped_intro:
            skipped_intro = True
            continue
        if cell.cell_type == "code":
            if "parameters" in cell.metadata.get("tags", []) or "injected-parameters" in cell.metadata.get("tags", []):
                continue
            for output in cell.get("outputs", []):
                _drop_epoch_lines(output)
            kept = [_tidy_output(o) for o in cell.get("outputs", []) if _keep_output(o)]
            cell.outputs = _without_empty_sections(kept, _output_heading_level)
            if not cell.outputs:
                continue
        cells.append(cell)
    # A Markdown cell opening with a heading starts a section; the notebook's end closes it.
    return _without_empty_sections(cells, lambda c: _heading_level(c.source) if c.cell_type == "markdown" else None)


def html_cell(text: str, *, cell_id: str) -> nbformat.NotebookNode:
    """A code cell whose only output is `text` as HTML (how package-built sections enter the exported page)."""
    cell = nbformat.v4.new_code_cell("", id=cell_id)
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": text})]
    return cell
