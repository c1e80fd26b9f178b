"""The parallel engine: Dask distributed, on a local cluster or an existing scheduler.

Chosen over Ray by measurement (benchmarks/bench_engine.py, figures in the README): for the same
shard tasks Dask's overhead against a plain process pool is small, it starts a local cluster in a
couple of seconds, and it attaches to an existing scheduler with one address (`dask scheduler`
plus `dask worker <address>` on each machine).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)


def map_tasks(
    fn: Callable[..., Any],
    tasks: list[tuple],
    *,
    workers: int | None = None,
    scheduler: str = "",
    client=None,
) -> Iterator[Any]:
    """Yield fn(*task) for every task, in completion order, computed by Dask workers.

    `client`: an open distributed.Client to use; else `scheduler` (e.g. "tcp://10.0.0.5:8786"): an
    existing cluster; else a local cluster of `workers` single-threaded processes (default: one per
    core). `workers=1` with neither runs the tasks here, one after another (no cluster to start).
    """
    if client is not None:
        yield from _run(client, fn, tasks)
        return
    if not scheduler and (workers == 1 or len(tasks) <= 1):
        for task in tasks:
            yield fn(*task)
        return
    from distributed import Client

    if scheduler:
        log.info("preprocessing on the Dask cluster at %s", scheduler)
        with Client(scheduler) as remote:
            yield from _run(remote, fn, tasks)
        return
    n = min(workers or os.cpu_count() or 1, len(tasks))
    log.info("preprocessing on a local Dask cluster of %d worker process(es)", n)
    with local_cluster(n) as cluster, Client(cluster) as local:
        yield from _run(local, fn, tasks)


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A distributed.LocalCluster of `workers` single-threaded worker processes, closed on exit.

    Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers (to hand memory back to the OS); setting it
    at all switches off glibc's adaptive mmap threshold, so every large numpy temporary becomes a
    fresh mmap with its page faults: 2.6x the CPU time per clip of log-mel work here
    (benchmarks/bench_engine.py). The workers run without it, like the processes of a plain pool,
    and without the statistical profiler and the 20 ms event-loop tick, which sample or wake each
    worker while its single task thread computes (about 7% of the wall time per task here).
    """
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set(
            {
                "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                "distributed.worker.profile.enabled": False,
                "distributed.admin.tick.interval": "1s",
            }
        ),
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        ) as cluster,
    ):
        yield cluster


def _run(client, fn: Callable[..., Any], tasks: list[tuple]) -> Iterator[Any]:
    """Submit every task to `client` and yield results as they complete (results are released once yielded)."""
    from distributed import as_completed

    if not tasks:
        return
    futures = client.map(fn, *zip(*tasks), pure=False)
    for future, result in as_completed(futures, with_results=True):
        future.release()
        yield result
