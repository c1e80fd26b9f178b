"""Preprocessing engines on the same shard tasks: Dask distributed vs a plain process pool (and Ray, if importable).

Every engine runs genrecrnn.features.store.write_shard on the same shards (the pipeline's shard size) of the same
30 s clips, in interleaved rounds; each round starts every engine afresh and warms it with one task
round before timing (write-back of earlier runs flushed first), and start-up is reported apart.
- scaling: Dask with 2 workers vs Dask with 1 worker (target >= 1.8x), beside the plain pool's 2 vs 1
  (what a second core gives on this machine);
- overhead: Dask with 2 workers vs multiprocessing.Pool(2) (target <= 10% slower); Ray likewise if installed;
- memory: peak RSS of the whole process tree (parent + scheduler + workers, sampled every 20 ms) of
  write_feature_store with 2 workers, 1,000 vs 10,000 short synthetic clips, each in a fresh process.

Run under the shared CPU lock with nothing else running: python benchmarks/bench_engine.py
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import soundfile as sf

from common import in_fresh_process, machine, table
from genrecrnn.config.sections import PreprocessParams
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.features.store import write_feature_store, write_shard

SMALL = FeatureConfig(n_fft=512, hop_length=256, n_mels=32, frame_seconds=0.5, frame_hop_seconds=0.5)


def noise_clips(folder: Path, n: int, seconds: float, *, distinct: int | None = None) -> pd.DataFrame:
    """A track table of n clips; `distinct` files (default n) of seeded noise are reused in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    distinct = distinct or n
    paths = []
    for i in range(distinct):
        path = folder / f"{i:05d}.wav"
        if not path.is_file():
            sf.write(path, (0.1 * rng.standard_normal(int(seconds * 22050))).astype(np.float32), 22050)
        paths.append(str(path))
    return pd.DataFrame(
        {
            "track_id": [f"t{i:05d}" for i in range(n)],
            "path": [paths[i % distinct] for i in range(n)],
            "genre": "g",
            "label": 0,
            "split": "train",
        }
    )


def shard_tasks(tracks: pd.DataFrame, out: Path, shard_clips: int, cfg: FeatureConfig) -> list[tuple]:
    """write_shard arguments for every shard of `tracks`."""
    pairs = list(zip(tracks["track_id"], tracks["path"]))
    out.mkdir(parents=True, exist_ok=True)
    return [(str(out), k, pairs[s : s + shard_clips], cfg) for k, s in enumerate(range(0, len(pairs), shard_clips))]


class DaskEngine:
    def __init__(self, workers: int) -> None:
        from distributed import Client

        from genrecrnn.util.engine import local_cluster

        self.context = local_cluster(workers)  # the package's local cluster, as the pipeline starts it
        self.cluster = self.context.__enter__()
        self.client = Client(self.cluster)

    def run(self, tasks: list[tuple]) -> list:
        return self.client.gather(self.client.map(write_shard, *zip(*tasks), pure=False))

    def close(self) -> None:
        self.client.close()
        self.context.__exit__(None, None, None)


class PoolEngine:
    def __init__(self, workers: int) -> None:
        self.pool = multiprocessing.get_context("fork").Pool(workers)

    def run(self, tasks: list[tuple]) -> list:
        return self.pool.starmap(write_shard, tasks, chunksize=1)

    def close(self) -> None:
        self.pool.close()
        self.pool.join()


class RayEngine:
    def __init__(self, workers: int) -> None:
        import ray

        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        self.ray, self.remote = ray, ray.remote(num_cpus=1)(write_shard)

    def run(self, tasks: list[tuple]) -> list:
        return self.ray.get([self.remote.remote(*t) for t in tasks])

    def close(self) -> None:
        self.ray.shutdown()


def time_engines(tracks: pd.DataFrame, work: Path, engines: dict, repeats: int, shard_clips: int) -> dict:
    """Per engine: (median start-up s, [run s...]), in interleaved rounds so drift in machine load hits all alike.

    Every round starts each engine afresh, warms it with one task round (workers import the package
    and build the filter banks), times one run over `tracks` and closes it.
    """
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in engines}
    warm = shard_tasks(tracks.iloc[: 4 * shard_clips], work / "warm", shard_clips, FeatureConfig())
    for r in range(repeats):
        for name, make in engines.items():
            t0 = time.perf_counter()
            engine = make()
            out[name][0].append(time.perf_counter() - t0)
            engine.run(warm)
            tasks = shard_tasks(tracks, work / f"{name}-{r}", shard_clips, FeatureConfig())
            os.sync()  # the kernel's write-back of the previous run's shards would land in this one
            t0 = time.perf_counter()
            engine.run(tasks)
            out[name][1].append(time.perf_counter() - t0)
            engine.close()
            shutil.rmtree(work / f"{name}-{r}")
            print(f"  round {r + 1} {name}: start {out[name][0][-1]:.2f} s, run {out[name][1][-1]:.2f} s", flush=True)
    return {name: (statistics.median(starts), runs) for name, (starts, runs) in out.items()}


def tree_peak_probe(tracks: pd.DataFrame, out_dir: str, shard_clips: int) -> tuple[float, float]:
    """In a fresh process: (seconds, peak MB of the summed RSS of this process and all its descendants)."""
    me, peak, stop = psutil.Process(), [0.0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            procs = [me, *me.children(recursive=True)]
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], total / 2**20)
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    write_feature_store(out_dir, tracks, cfg=SMALL, workers=2, shard_clips=shard_clips, progress=False)
    seconds = time.perf_counter() - t0
    stop.set()
    thread.join()
    return seconds, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=960, help="30 s clips for the throughput runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--shard-clips", type=int, default=PreprocessParams().shard_clips, help="clips per task (default: pipeline)"
    )
    parser.add_argument("--memory-clips", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--no-ray", action="store_true", help="skip Ray even if it is importable")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_engine_"))
    try:
        tracks = noise_clips(work / "audio", args.clips, 30.0)
        engines = {
            "dask-1": lambda: DaskEngine(1),
            "dask-2": lambda: DaskEngine(2),
            "pool-1": lambda: PoolEngine(1),
            "pool-2": lambda: PoolEngine(2),
        }
        try:
            import ray  # noqa: F401

            if not args.no_ray:
                engines["ray-2"] = lambda: RayEngine(2)
        except ImportError:
            print("Ray not importable: its row is left out")
        print(f"throughput: {args.clips} clips x 30 s, shards of {args.shard_clips}, {args.repeats} runs each")
        timed = time_engines(tracks, work, engines, args.repeats, args.shard_clips)
        short = noise_clips(work / "short", max(args.memory_clips), 1.0, distinct=100)
        memory = []
        for n in args.memory_clips:
            seconds, peak = in_fresh_process(tree_peak_probe, short.iloc[:n], str(work / f"mem{n}"), 32)
            memory.append((n, seconds, peak))
            shutil.rmtree(work / f"mem{n}", ignore_errors=True)
            print(f"  memory {n} clips: {seconds:.1f} s, peak {peak:.0f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {k: statistics.median(v[1]) for k, v in timed.items()}
    rows = [[k, v[0], median[k], args.clips / median[k], " ".join(f"{t:.2f}" for t in v[1])] for k, v in timed.items()]
    print()
    print(table(["engine", "start s", "median run s", "clips/s", "runs (s)"], rows))
    print()
    print(table(["clips (1 s, shards of 32)", "seconds", "peak RSS of the process tree MB"], memory))
    scaling = median["dask-1"] / median["dask-2"]
    overhead = median["dask-2"] / median["pool-2"] - 1
    line = f"\nsummary: Dask 2 workers / 1 worker = {scaling:.2f}x (target >= 1.8x; the pool's 2 / 1: "
    line += f"{median['pool-1'] / median['pool-2']:.2f}x); Dask overhead vs process pool "
    line += f"{100 * overhead:+.1f}% (target <= 10%)"
    if "ray-2" in median:
        line += f"; Ray vs process pool {100 * (median['ray-2'] / median['pool-2'] - 1):+.1f}%"
    if len(memory) >= 2:
        (n0, _, m0), (n1, _, m1) = memory[0], memory[-1]
        line += f"; peak memory {m0:.0f} MB at {n0} clips, {m1:.0f} MB at {n1}"
    print(line + f"; {machine()}")


if __name__ == "__main__":
    main()
