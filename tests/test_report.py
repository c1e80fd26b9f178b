"""The report opens with the findings, captions every figure and carries no warnings, tracebacks or reprs."""

import json
import re

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest

from genrecrnn.config.sections import DataParams
from genrecrnn.report import plots
from genrecrnn.report.html import FIGURES
from genrecrnn.report.page import build_report, headline_summary
from genrecrnn.util.errors import DataError

GENRES = ["blues", "jazz"]
METRICS = {
    "crnn": {
        "clip": {
            "accuracy": 0.75, "accuracy_ci_low": 0.41, "accuracy_ci_high": 0.93, "f1_macro": 0.73,
            "f1_macro_ci_low": 0.4, "f1_macro_ci_high": 0.95, "map": 0.81, "roc_auc_ovr_macro": 0.875,
        },
        "frame": {"accuracy": 0.7, "f1_macro": 0.69, "roc_auc_ovr_macro": 0.8, "map": 0.78},
    },
    "baseline": {
        "clip": {"accuracy": 0.5, "accuracy_ci_low": 0.2, "accuracy_ci_high": 0.8, "f1_macro": 0.5, "map": 0.6,
                 "roc_auc_ovr_macro": 0.625},
    },
    "crnn_vs_baseline": {
        "accuracy_diff": 0.25, "accuracy_diff_ci_low": -0.125, "accuracy_diff_ci_high": 0.625, "bootstrap_p": 0.4,
        "mcnemar_b": 3.0, "mcnemar_c": 1.0, "mcnemar_p": 0.625, "n": 8.0,
    },
    "n_clips": 8.0,
    "n_frames": 16.0,
}  # fmt: skip
# What executed notebooks hold that must not reach the report.
NOISE = {
    "stderr": "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "repr": "PosixPath('/tmp/x/results/figures/a.png')",
    "dict": "{'genrecrnn_version': '0.1.0', 'params_md5': 'abc'}\n",
    "keras": "Epoch 1/30\n100/100 - 15s - 147ms/step - accuracy: 0.1737 - loss: 2.2266\n",
    "series": "split\ntest     6\ntrain    4\nName: frames, dtype: int64",
    # index 0, 1: row numbers; pandas writes 0.8 beside 0.625 and the learning rates in exponent form
    # a metric column also holds a count (1000.0) and a value missing at this level (NaN)
    "numbered": pd.DataFrame(
        {"genre": ["blues", "jazz", "all"], "f1": [0.8, 0.625, 1000.0], "lr": [4.95e-4, 1e-3, float("nan")]}
    ).to_html(),
}


def executed_notebook(path, title):
    """A small executed notebook: intro Markdown, a table, a figure, a widget, stderr noise and bare reprs."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("seed = 1")
    params.metadata["tags"] = ["parameters"]
    table = nbformat.v4.new_code_cell("x")
    table.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=NOISE["stderr"]),
        nbformat.v4.new_output("stream", name="stdout", text=NOISE["dict"]),
        nbformat.v4.new_output("stream", name="stdout", text="kept epoch 2 of 3\n"),
        nbformat.v4.new_output("stream", name="stdout", text=NOISE["keras"]),
        nbformat.v4.new_output("execute_result", data={"text/html": "<table><tr><td>findings</td></tr></table>"}),
        nbformat.v4.new_output("execute_result", data={"text/plain": NOISE["repr"]}),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": "1"}, "text/plain": "  0%|   | 0/3"},
        ),
    ]
    series = nbformat.v4.new_code_cell("frames")
    series.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": NOISE["series"]}),
        nbformat.v4.new_output("execute_result", data={"text/html": NOISE["numbered"]}),
    ]

    def figure():
        cell = nbformat.v4.new_code_cell("plot()")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
        return cell

    song = nbformat.v4.new_code_cell("songs()")
    song.outputs = [  # a heading output titling a figure the report leaves out
        nbformat.v4.new_output("display_data", data={"text/markdown": "### song.wav: jazz"}),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="}),
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\nWhat this stage does."),
        params,
        table,
        series,
        # Sections whose only content is a figure: left empty once figures are left out.
        nbformat.v4.new_markdown_cell("## Figures\nFigures drawn below."),
        nbformat.v4.new_markdown_cell("### One figure"),
        figure(),
        nbformat.v4.new_markdown_cell("## Spectra"),
        figure(),
        song,
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"ab12": {}}, "version_major": 2}}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def results(tmp_path):
    """results/ with metrics.json, per_genre.csv, every figure of FIGURES and four executed notebooks; a data index."""
    results, dataset = tmp_path / "results", tmp_path / "dataset"
    (results / "notebooks").mkdir(parents=True)
    dataset.mkdir()
    (results / "metrics.json").write_text(json.dumps(METRICS))
    pd.DataFrame({"genre": GENRES, "f1": [0.8, 0.6], "support": [4, 4]}).to_csv(results / "per_genre.csv", index=False)
    for spec in FIGURES:
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([0, 1], [0, 1])
        plots.save_figure(fig, results / "figures" / f"{spec.stem}.png", dpi=30)
        plt.close(fig)
    tracks = [f"{g}/{g}.{i:05d}" for g in GENRES for i in range(6)]
    manifest = pd.DataFrame(
        {
            "track_id": tracks + ["jazz/broken"],
            "path": [f"audio/{t}.wav" for t in tracks] + ["audio/jazz/broken.wav"],
            "genre": [t.split("/")[0] for t in tracks] + ["jazz"],
            "md5": "x",
            "status": ["ok"] * len(tracks) + ["error"],
            "reason": [""] * len(tracks) + ["audio/jazz/broken.wav: cannot decode"],
        }
    )
    manifest.to_csv(dataset / "manifest.csv", index=False)
    split = ["train", "train", "val", "test", "test", "test"] * 2
    pd.DataFrame({"track_id": tracks, "split": split}).to_csv(dataset / "split.csv", index=False)
    (dataset / "genres.json").write_text(json.dumps(GENRES))
    notebooks = [
        executed_notebook(results / "notebooks" / f"0{i}_{name}.ipynb", name)
        for i, name in enumerate(("preprocessing", "training", "validation", "prediction"), start=1)
    ]
    return results, dataset, notebooks


def render(results):
    folder, dataset, notebooks = results
    data = DataParams(source="synthetic", clips_per_genre=7, clip_seconds=30, difficulty=0.5, timbre="shared")
    out = build_report(notebooks, folder / "report.html", results=folder, dataset=dataset, data=data)
    return out.read_text()


def test_report_opens_with_the_summary_headline_table_and_paired_test(results):
    page = render(results)
    body = page[page.index("<body") :]
    order = [body.index(marker) for marker in ('id="summary"', 'id="methods"', ">Details<")]
    assert order == sorted(order)
    summary = body[order[0] : order[1]]
    for text in ("clip accuracy", "macro F1", "mAP", "ROC AUC", "0.750 (0.410–0.930)", "0.500 (0.200–0.800)"):
        assert text in summary
    assert "McNemar exact p = 0.625" in summary and "No significant difference" in summary
    assert "1 file(s) left out" in summary and "cannot decode" in summary
    counts = re.search(r"<th>test</th>\s*<td>3</td>\s*<td>3</td>\s*<td>6</td>", summary)
    assert counts, "clips per split and genre"
    # the first screen's figures: the confusion matrix and the per-genre F1 chart
    assert summary.index('id="fig-confusion_matrix"') < summary.index('id="fig-per_genre_f1"')
    assert "findings" in body[order[2] :] and "kept epoch 2 of 3" in body  # notebook tables and text stay


def test_building_the_report_twice_writes_the_same_page(results):
    page = render(results)
    assert page == render(results)  # no random cell ids or time stamps: a rerun changes nothing
    assert "widget-state" not in page  # progress bars' widget state (random ids, timings) is left out


def test_report_has_no_warnings_reprs_or_widgets_and_every_figure_is_captioned(results):
    page = render(results)
    for bad in ("WARNING", "Traceback", "PosixPath", "absl", "InitializeLog", "genrecrnn_version': ", "0/3", "1/30"):
        assert bad not in page, bad
    figures = re.findall(r"<figure.*?</figure>", page, flags=re.S)
    assert len(figures) == len(FIGURES) == page.count("<img")
    numbers = [int(n) for n in re.findall(r"<figcaption><b>Figure (\d+)\.</b> \w", page)]
    assert numbers == list(range(1, len(FIGURES) + 1))
    assert 'src="http' not in page.split("<body", 1)[1]  # figures embedded: one self-contained file


def test_missing_figure_is_left_out_and_numbering_stays_consecutive(results):
    (results[0] / "figures" / "saliency.png").unlink()
    page = render(results)
    numbers = [int(n) for n in re.findall(r"<b>Figure (\d+)\.</b>", page)]
    assert numbers == list(range(1, len(FIGURES)))
    assert 'id="fig-saliency"' not in page


def test_report_without_metrics_names_the_file(results):
    (results[0] / "metrics.json").unlink()
    with pytest.raises(DataError, match="metrics.json: not found"):
        render(results)


def test_headline_summary_is_a_few_short_lines_ending_with_the_report(results, tmp_path):
    text = headline_summary(results[0], root=tmp_path)
    lines = text.splitlines()
    assert len(lines) == 4 and max(map(len, lines)) <= 100
    assert "clip accuracy 0.750 (95% CI 0.410–0.930)" in lines[0] and "McNemar p 0.62" in lines[2]
    assert lines[-1] == "report: results/report.html"
    (results[0] / "confusion.csv").write_text("actual,predicted\nrock,rock\npop,rock\nrock,rock\n")
    lines = headline_summary(results[0], root=tmp_path).splitlines()
    assert lines[3] == "CRNN: 1 error(s) in 3 clips: pop taken for rock (1)"  # from the stage's confusion.csv


def test_report_loads_nothing_from_the_network(results):
    page = render(results)
    external = re.findall(r"<(?:script|link|img|iframe)[^>]*?(?:src|href)\s*=\s*[\"']?(?:https?:)?//", page, flags=re.I)
    assert not external and "@import" not in page
    assert page.startswith("<!DOCTYPE html>") and "<title>" in page


def empty_headings(page: str) -> list[str]:
    """Headings followed by another heading of the same or a higher level, or by nothing: sections left empty."""
    body = page[page.index("<body") :]
    tokens = list(re.finditer(r"<(h[1-6]|p|table|pre|img|ul|ol|figure|blockquote)\b", body))
    out = []
    for this, after in zip(tokens, [*tokens[1:], None]):
        if this[1].startswith("h") and (after is None or (after[1].startswith("h") and after[1] <= this[1])):
            out.append(re.sub(r"<[^>]+>", "", body[this.start() : body.index("</h", this.start())]))
    return out


def test_report_details_have_no_empty_headings_reprs_or_row_number_columns(results):
    page = render(results)
    assert empty_headings(page) == []
    for gone in ("Figures drawn below", "One figure", "Spectra", "song.wav"):  # sections whose figure was left out
        assert gone not in page, gone
    assert "dtype:" not in page and "Name: frames" not in page
    series = re.search(r"<table.*?</table>", page[page.index("<th>frames</th>") - 300 :], flags=re.S)[0]
    assert "<th>split</th>" in series and re.search(r"<th>test</th>\s*<td>6</td>", series)  # the Series as a table
    numbered = re.search(r"<table[^>]*>(?:(?!</table>).)*>blues</td>.*?</table>", page, flags=re.S)[0]
    assert "<th>0</th>" not in numbered and "<th></th>" not in numbered  # no column of row numbers
    assert '<th class="text">genre</th>' in numbered and '<td class="text">blues</td>' in numbered  # text: left
    assert "<td>0.800</td>" in numbered and "<td>0.625</td>" in numbered  # one number format per column
    assert "<td>4.95e-04</td>" in numbered and "<td>1.00e-03</td>" in numbered
    assert "<td>1000</td>" in numbered and "<td>—</td>" in numbered  # a count without decimals, a dash for NaN
    assert "text-align: right" not in numbered  # pandas' header style would right-align the text column's name


def test_report_embeds_line_art_as_svg_and_spectrogram_grids_as_jpeg(results):
    page = render(results)
    images = {re.search(r'alt="([^"]*)"', tag)[1]: tag for tag in re.findall(r"<img[^>]*>", page)}
    assert "data:image/svg+xml;base64," in images["confusion_matrix"]
    assert "data:image/jpeg;base64," in images["logmel_examples"]
    (results[0] / "figures" / "per_genre_f1.svg").unlink()  # no vector copy: the PNG itself
    assert (
        "data:image/png;base64,"
        in re.search(r'<img[^>]*alt="per_genre_f1"[^>]*>|<img[^>]*?per_genre_f1"', render(results))[0]
    )
