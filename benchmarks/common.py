"""Helpers shared by the benchmark scripts: machine line, tables, fresh-process runs, peak memory."""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from genrecrnn.util import quiet

quiet.install()  # before anything imports tensorflow: its start-up lines stay off the output

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """One line naming the machine: processor, CPU count and load (other processes skew timings)."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average {load}"


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children, such as pool workers."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status (VmHWM, VmRSS, RssAnon...) in MB; None without /proc."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(f"{field}:")), None)


def peak_rss_mb() -> tuple[float, float]:
    """RSS high-water marks in MB: (this process, its largest finished child such as a pool worker).

    This process's figure is VmHWM, which starts afresh at exec; ru_maxrss (the fallback) would
    carry over the high-water mark of the process that spawned it.
    """
    kib = 1024.0  # ru_maxrss unit on Linux
    own = status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / kib
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kib


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in cells
    ]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def _fmt(value: Any) -> str:
    """Floats with three significant digits (at least one decimal), everything else as str."""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _call(queue: Any, fn: Callable[..., Any], args: tuple) -> None:
    queue.put(fn(*args))


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn(*args) in a newly spawned interpreter and return its (picklable, small) result.

    A fresh process makes peak-memory figures and first-call timings independent of what the
    benchmark did before (imports, caches, TensorFlow's thread pools).
    """
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.SimpleQueue()
    proc = ctx.Process(target=_call, args=(queue, fn, args))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed in its process (exit code {proc.exitcode})")
    return queue.get()
