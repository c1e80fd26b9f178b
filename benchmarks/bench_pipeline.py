"""Pipeline wall time: the default `dvc repro` from a clean state, stage by stage.

Copies dvc.yaml, params.yaml, notebooks/ and src/ into a temporary folder, runs `git init` and
`dvc init` there, then times `dvc repro -s <stage>` for each stage in pipeline order (data,
preprocess, train, validate, predict, report) with the project's .venv/bin first on PATH (the
stages call the installed `genrecrnn` command). There is no reference to compare with: the
figures are the pipeline's own. `--tiny` overrides params.yaml for a quick check (5 clips of
10 s per genre, one training epoch, 20 bootstrap resamples).

    python benchmarks/bench_pipeline.py --tiny
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from common import ROOT, machine, table

STAGES = ("data", "preprocess", "train", "validate", "predict", "report")
TINY = {"data": {"clips_per_genre": 5, "clip_seconds": 10}, "train": {"epochs": 1}, "validate": {"n_boot": 20}}


def clean_copy(dest: Path, *, tiny: bool) -> None:
    """The project's pipeline definition and sources in `dest`, optionally with the tiny overrides."""
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("notebooks", "src"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    if tiny:
        params = yaml.safe_load((dest / "params.yaml").read_text())
        for section, values in TINY.items():
            params[section].update(values)
        (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    """Run `cmd` in `cwd`, appending its output to `log`; wall seconds; exits naming the log if it fails."""
    t0 = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise SystemExit(f"`{' '.join(cmd)}` failed (exit {done.returncode}); see {log}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="small data, one epoch: a quick check of the script")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project (its path is printed)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    log = work.parent / f"{work.name}.log"
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        clean_copy(work, tiny=args.tiny)
        run(["git", "init", "-q"], work, env, log)
        run(["dvc", "init", "-q"], work, env, log)
        times = [(stage, run(["dvc", "repro", "-s", stage], work, env, log)) for stage in STAGES]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    total = sum(t for _, t in times)
    print(f"\npipeline: dvc repro -s <stage> from a clean copy{' (--tiny params)' if args.tiny else ''}; log {log}")
    print(table(["stage", "wall s", "share"], [[s, t, f"{t / total:.0%}"] for s, t in times] + [["total", total, ""]]))
    if args.keep:
        print(f"project kept in {work}")
    print(f"\nsummary: {'tiny' if args.tiny else 'default'} pipeline {total:.0f} s from a clean state; {machine()}")


if __name__ == "__main__":
    main()
