"""Command line: `genrecrnn data | deps | notebook | report | summary | predict` (stages: data, notebook, report)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genrecrnn.config.outputs import MODEL_FILE, REPORT_FILE
from genrecrnn.metrics.combine import COMBINE_METHODS
from genrecrnn.util import quiet
from genrecrnn.util.errors import ConfigError, GenreCRNNError, ModelError, UsageError
from genrecrnn.util.quiet import VERBOSE_ENV

if TYPE_CHECKING:
    from genrecrnn.config.sections import PredictParams

log = logging.getLogger("genrecrnn")


def cmd_data(args: argparse.Namespace) -> int:
    """Data stage: generate or index the data set, write manifest, split and genre list."""
    from genrecrnn.config.loading import load_params
    from genrecrnn.pipeline import stages

    params = load_params(args.params)
    result = stages.data(params, root=Path(args.params).resolve().parent)
    manifest, split, missing = result.manifest, result.split, result.missing
    bad = manifest[manifest["status"] != "ok"]
    for _, row in bad.iterrows():
        log.warning("left out: %s", row["reason"])
    for name in missing:
        log.warning("split file names %s, which is not among the usable files", name)
    counts = split["split"].value_counts().to_dict()
    print(f"data: {len(manifest)} files, {len(bad)} left out; split {counts}; index in {params.paths.dataset}")
    return 0


def cmd_deps(args: argparse.Namespace) -> int:
    """Write params.yaml's data.split_file / data.group_file into dvc.yaml as deps of the data stage; with --check,
    write nothing and check them and every stage's outs against the output contract (1 if anything differs)."""
    from genrecrnn.config.loading import load_params
    from genrecrnn.pipeline.dvcfile import (
        DVC_FILE,
        check_user_files,
        outs_against_contract,
        user_files,
        write_user_files,
    )

    params = load_params(args.params)
    dvc_yaml = Path(args.params).resolve().parent / DVC_FILE
    if args.check:
        check_user_files(dvc_yaml, params.data)
        problems = outs_against_contract(dvc_yaml)
        for line in problems:
            print(f"{dvc_yaml}: {line}", file=sys.stderr)
        print(f"{dvc_yaml}: user-file deps and outs {'differ' if problems else 'agree with the output contract'}")
        return 1 if problems else 0
    files = user_files(params.data)
    changed = write_user_files(dvc_yaml, files)
    print(f"{dvc_yaml}: data stage user-file deps {files or 'none'} ({'updated' if changed else 'unchanged'})")
    return 0


def cmd_notebook(args: argparse.Namespace) -> int:
    """Run one numbered notebook with papermill, parameters from params.yaml, output atomically under results/."""
    from genrecrnn.config.loading import find_project_root, load_params
    from genrecrnn.pipeline.notebooks import run_notebook

    root = find_project_root()
    params = load_params(args.params or root / "params.yaml")
    out = run_notebook(args.name, params=params, root=root)
    print(f"executed notebook: {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Report stage: gather the executed notebooks into the report page (paths.results)."""
    from genrecrnn.config.loading import find_project_root, load_params
    from genrecrnn.pipeline import stages

    root = find_project_root()
    out = stages.report(load_params(root / "params.yaml"), root=root)
    print(f"report: {out.relative_to(root)}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """A few headline numbers of the last run and where its report is (what `make repro` ends with)."""
    from genrecrnn.config.loading import find_project_root, load_params
    from genrecrnn.report.page import headline_summary

    root = find_project_root()
    params = load_params(root / "params.yaml")
    print(headline_summary(root / params.paths.results, root=root))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify audio files or folders; print a table (and write JSON, a plot); non-zero exit if any file failed."""
    from genrecrnn.model.classifier import load_classifier, training_note
    from genrecrnn.predict.inference import PredictionRun
    from genrecrnn.util.fileio import atomic_write_json

    # Output paths first: a typo must not cost a whole folder's classification.
    if args.json is not None:
        _check_output(args.json, flag="--json", example="predictions.json")
    if args.plot is not None:
        from genrecrnn.report.plots import PLOT_SUFFIXES

        _check_output(args.plot, flag="--plot", example="timeline.png", suffixes=PLOT_SUFFIXES)
    default_model, defaults = _predict_defaults()
    model_path = args.model or default_model
    if model_path is None:
        raise ModelError(f"no --model given and no genrecrnn project here; pass --model path/to/{MODEL_FILE}")
    window_seconds, window_hop_seconds = args.window_seconds, args.hop_seconds
    if window_seconds is None:  # params.yaml's windows; a window given alone gets non-overlapping hops
        window_seconds, window_hop_seconds = defaults.window_seconds, window_hop_seconds or defaults.window_hop_seconds
    top_k = args.top_k or defaults.top_k
    classifier = load_classifier(model_path)
    if note := training_note(classifier):
        print(f"note: {note}", file=sys.stderr)
    run = PredictionRun(
        args.paths,
        classifier,
        window_seconds=window_seconds,
        window_hop_seconds=window_hop_seconds or window_seconds,
        combine=args.combine,
        progress=sys.stderr.isatty(),  # a bar in a log file or pipe is noise
        workers=args.workers,
    )
    written: list[Path] = []
    try:
        for _, result, error in run:
            if result is None:
                print(f"error: {error}", file=sys.stderr)
            else:
                print(format_result(result, top_k=top_k, timeline=args.timeline, genres=classifier.genres))
    finally:
        # Even an interrupted run (Ctrl-C, a crash) keeps the files it finished.
        if args.json is not None:
            atomic_write_json(args.json, run.report(top_k=top_k))
            written.append(args.json)
    if args.plot is not None and run.results:
        from genrecrnn.report.plots import figure_files, save_figure
        from genrecrnn.report.plots_prediction import song_timelines

        save_figure(song_timelines(run.results, classifier.genres), args.plot)
        written += figure_files(args.plot)
    if written:
        print(f"written: {', '.join(map(str, written))}")
    return 1 if run.failures else 0


def _check_output(path: Path, *, flag: str, example: str, suffixes: tuple[str, ...] = ()) -> None:
    """UsageError unless `path` names a file that can be written (with one of `suffixes`, if given)."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder, not a file name; e.g. {flag} {path / example}")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: folder {path.parent} does not exist; create it or give another path")
    if suffixes and path.suffix.lower() not in suffixes:
        kind = path.suffix or "a file without a suffix"
        raise UsageError(f"{flag} {path}: cannot write {kind}; use one of {', '.join(suffixes)}")


def _predict_defaults() -> tuple[Path | None, PredictParams]:
    """Model path and `predict` section (windows in s, top-k) of the project's params.yaml; outside one, defaults."""
    from genrecrnn.config.loading import find_project_root, load_params
    from genrecrnn.config.sections import PredictParams

    try:
        root = find_project_root()
    except ConfigError:
        return None, PredictParams()
    params = load_params(root / "params.yaml")
    return root / params.paths.models / MODEL_FILE, params.predict


def _at_least_one(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def format_result(result: dict, *, top_k: int, timeline: bool, genres: list[str]) -> str:
    """Human-readable lines for one file: top genres with probabilities, optionally the window timeline."""
    from genrecrnn.predict.windows import top_genres

    lines = [f"{result['path']}  ({result['duration']:.1f} s, {len(result['windows'])} window(s))"]
    lines += [f"  {g:<12} {p:6.1%}" for g, p in top_genres(result, top_k)]
    if result["note"]:
        lines.append(f"  note: {result['note']}")
    if timeline:
        for w in result["windows"]:
            best = int(np.argmax(w["probabilities"]))
            lines.append(f"  {w['start']:8.1f}s  {genres[best]:<12} {w['probabilities'][best]:6.1%}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its sub-commands."""
    parser = argparse.ArgumentParser(prog="genrecrnn", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more, TensorFlow's start-up lines included")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="generate or index the data set (DVC stage `data`)")
    data.add_argument("--params", default="params.yaml", help="parameter file (default: params.yaml)")
    data.set_defaults(func=cmd_data)
    deps = sub.add_parser("deps", help="write data.split_file/group_file into dvc.yaml's data stage deps")
    deps.add_argument("--params", default="params.yaml", help="parameter file beside dvc.yaml (default: params.yaml)")
    deps.add_argument("--check", action="store_true", help="write nothing; check the deps and outs (exit 1 if off)")
    deps.set_defaults(func=cmd_deps)
    nb = sub.add_parser("notebook", help="execute a numbered notebook with papermill (DVC stages)")
    nb.add_argument("name", help="notebook name, e.g. 01_preprocessing")
    nb.add_argument("--params", default=None, help="parameter file (default: the project's params.yaml)")
    nb.set_defaults(func=cmd_notebook)
    rep = sub.add_parser("report", help=f"gather the executed notebooks into results/{REPORT_FILE} (DVC stage)")
    rep.set_defaults(func=cmd_report)
    summ = sub.add_parser("summary", help="print the headline numbers of the last run and the report's path")
    summ.set_defaults(func=cmd_summary)
    pr = sub.add_parser("predict", help="predict the genre of audio files or folders")
    pr.add_argument("paths", nargs="+", type=Path, help="audio files or folders (searched recursively)")
    pr.add_argument("--model", type=Path, default=None, help="a .keras model (default: the pipeline's)")
    pr.add_argument("--top-k", type=_at_least_one, default=None, help="genres to show per file (default: params.yaml)")
    pr.add_argument("--json", type=Path, default=None, help="also write full results as JSON to this file")
    pr.add_argument("--timeline", action="store_true", help="show the top genre of every window")
    pr.add_argument("--window-seconds", type=float, default=None, help="window length (default: params.yaml)")
    pr.add_argument("--hop-seconds", type=float, default=None, help="window hop (default: params.yaml)")
    pr.add_argument(
        "--plot", type=Path, default=None, help="draw each file's genre probability over time (.png, .svg or .pdf)"
    )
    pr.add_argument("--combine", choices=COMBINE_METHODS, default="mean", help="how windows are combined")
    pr.add_argument("--workers", type=int, default=2, help="files classified at once, in threads (default 2)")
    pr.set_defaults(func=cmd_predict)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a sub-command; package errors, OSError and ValueError print one clear line and exit 1."""
    args = build_parser().parse_args(argv)
    if args.verbose:  # read when tensorflow is first imported (genrecrnn.util.quiet), which happens after this
        os.environ[VERBOSE_ENV] = "1"
    quiet.install()  # before any command imports tensorflow
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    if not args.verbose:  # papermill's INFO lines repeat what `genrecrnn notebook` prints itself
        logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except (GenreCRNNError, OSError, ValueError) as err:
        # The message names the file or setting; a traceback would bury it (-v logs it as well).
        log.debug("traceback", exc_info=True)
        print(f"error: {' '.join(str(err).split()) or type(err).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
