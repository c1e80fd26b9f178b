"""The feature store: log-mel frames in fixed-size shards plus one frame index, written by parallel workers.

Layout of a store folder:
- `shard-NNNNN.npy`: the frames of `shard_clips` consecutive clips (float32, (frames, time, mels)),
  memory-mapped when read; a shard whose clips all failed is not written;
- `shards.csv`: shard file, first global row, frames in it (the shard index);
- `frames.csv`: one row per frame (row, track_id, genre, label, split, frame_index); `row` is the
  frame's global position: shards in order, clips in track-table order within a shard;
- `failures.csv`: clips that could not be decoded, with the reason; `meta.json`: settings and shape.

Each shard is computed and written by one worker task (`write_shard`), so workers write in parallel
and nothing needs one big file; the parent only collects the small per-shard frame counts. The
engine is Dask distributed (`genrecrnn.util.engine`): a local cluster by default, or an existing
scheduler. Format by measurement (benchmarks/bench_store.py): .npy shards read by np.load(mmap_mode="r")
serve the random batches training asks for; TFRecord shards can only be scanned in order.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from genrecrnn.features.logmel import FeatureConfig, file_frames, warm_caches
from genrecrnn.util.errors import AudioError, DataError
from genrecrnn.util.fileio import replace_dir

SHARD_PATTERN = "shard-{:05d}.npy"
SHARDS_FILE = "shards.csv"
FRAMES_FILE = "frames.csv"
META_FILE = "meta.json"
FAILURES_FILE = "failures.csv"
FORMAT = "npy-shards-1"


class ShardedFrames:
    """Frames of several memory-mapped shards addressed by global row, like one (n, time, mels) array.

    Indexing by an int, a slice or an array of rows returns an in-memory array; rows may come
    in any order and from any shards (a batch reads each shard it touches once).
    """

    def __init__(self, shards: list[np.ndarray], frame_shape: tuple[int, int], dtype: str = "float32") -> None:
        self.shards = shards
        self.starts = np.cumsum([0, *(len(s) for s in shards)])
        self.shape = (int(self.starts[-1]), *frame_shape)
        self.dtype = np.dtype(dtype)
        self.ndim = 3

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, int | np.integer):
            row = int(key) + (len(self) if key < 0 else 0)
            shard = int(np.searchsorted(self.starts, row, side="right")) - 1
            if not 0 <= row < len(self):
                raise IndexError(f"row {key} out of range for {len(self)} frames")
            return np.asarray(self.shards[shard][row - self.starts[shard]])
        rows = np.arange(len(self))[key] if isinstance(key, slice) else np.asarray(key)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = np.where(rows < 0, rows + len(self), rows).astype(np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"rows out of range for {len(self)} frames")
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        which = np.searchsorted(self.starts, rows, side="right") - 1
        if np.all(which[1:] >= which[:-1]):  # sorted rows (as FrameBatches reads): one slice per shard
            cuts = [0, *(np.flatnonzero(np.diff(which)) + 1), len(rows)]
            for a, b in zip(cuts[:-1], cuts[1:]):
                shard = which[a]
                out[a:b] = self.shards[shard][rows[a:b] - self.starts[shard]]
            return out
        for shard in np.unique(which):
            pick = which == shard
            out[pick] = self.shards[shard][rows[pick] - self.starts[shard]]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[np.arange(len(self))]
        return whole if dtype is None else whole.astype(dtype)


@dataclass
class FeatureStore:
    """A feature folder opened read-only: sharded, memory-mapped frames plus their index and settings."""

    frames: ShardedFrames | np.ndarray
    index: pd.DataFrame
    config: FeatureConfig
    failures: pd.DataFrame
    shards: pd.DataFrame | None = None

    def split(self, name: str) -> pd.DataFrame:
        """Index rows of one split ("train", "val" or "test")."""
        return self.index[self.index["split"] == name]


def write_shard(folder: str, shard: int, jobs: list[tuple[str, str]], cfg: FeatureConfig) -> dict:
    """Worker task: frames of `jobs` (track_id, path) into folder/shard-NNNNN.npy; returns counts and failures.

    Returns {"shard", "file" ("" if every clip failed), "counts": [(track_id, frames)], "failures":
    [(track_id, path, reason)]}. The file is written under a temporary name and renamed.
    """
    frames, counts, failures = [], [], []
    for track_id, path in jobs:
        try:
            clip = file_frames(path, cfg=cfg)
        except AudioError as err:
            failures.append((track_id, path, str(err)))
            continue
        frames.append(clip)
        counts.append((track_id, len(clip)))
    name = ""
    if frames:
        name = SHARD_PATTERN.format(shard)
        tmp = Path(folder) / f".{name}.tmp"
        with open(tmp, "wb") as sink:
            np.save(sink, np.concatenate(frames), allow_pickle=False)
        os.replace(tmp, Path(folder) / name)
    return {"shard": shard, "file": name, "counts": counts, "failures": failures}


def write_feature_store(
    out_dir: Path | str,
    tracks: pd.DataFrame,
    *,
    cfg: FeatureConfig,
    workers: int | None = None,
    scheduler: str = "",
    shard_clips: int = 32,
    client=None,
    progress: bool = True,
) -> pd.DataFrame:
    """Compute features for `tracks` (columns track_id, path, genre, label, split) into sharded `out_dir`.

    Clips are cut into shards of `shard_clips` in table order; each shard is one task on the Dask
    cluster (`client` if given, else `scheduler`'s address, else a local cluster of `workers`
    processes, default one per core; `workers=1` without a scheduler runs in this process). The
    folder is built under a temporary name (beside `out_dir`, so workers of a remote cluster must
    see the same file system) and swapped in at the end, so an interrupted run leaves the previous
    store intact. Files that fail to decode are listed in failures.csv and skipped. Returns the frame index.
    """
    from genrecrnn.util.engine import map_tasks  # Dask is imported only when a store is written

    out_dir = Path(out_dir).resolve()
    missing = {"track_id", "path", "genre", "label", "split"} - set(tracks.columns)
    if missing:
        raise DataError(f"track table lacks column(s) {sorted(missing)}")
    if shard_clips < 1:
        raise DataError(f"shard_clips must be positive, got {shard_clips}")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # left by an interrupted run
    tmp.mkdir(parents=True)
    pairs = list(zip(tracks["track_id"].astype(str), tracks["path"].astype(str), strict=True))
    tasks = [(str(tmp), k, pairs[s : s + shard_clips], cfg) for k, s in enumerate(range(0, len(pairs), shard_clips))]
    warm_caches(cfg)  # before any fork, so in-process work and forked workers find them built
    done = map_tasks(write_shard, tasks, workers=workers, scheduler=scheduler, client=client)
    results = sorted(
        tqdm(done, total=len(tasks), disable=not progress, desc="log-mel shards"), key=lambda r: r["shard"]
    )
    index, shards = _frame_index(results, tracks)
    index.to_csv(tmp / FRAMES_FILE, index=False)
    shards.to_csv(tmp / SHARDS_FILE, index=False)
    failures = [f for r in results for f in r["failures"]]
    pd.DataFrame(failures, columns=["track_id", "path", "reason"]).to_csv(tmp / FAILURES_FILE, index=False)
    meta = {"format": FORMAT, "config": asdict(cfg), "shape": [len(index), *cfg.frame_shape], "dtype": "float32"}
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
    replace_dir(tmp, out_dir)
    return index


def _frame_index(results: list[dict], tracks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(frame index, shard index) from the workers' per-shard counts, shards in order."""
    info = tracks.assign(track_id=tracks["track_id"].astype(str)).set_index("track_id")
    ids, frame_index, shard_rows, start = [], [], [], 0
    for result in results:
        n = 0
        for track_id, count in result["counts"]:
            ids.extend([track_id] * count)
            frame_index.extend(range(count))
            n += count
        if result["file"]:
            shard_rows.append({"file": result["file"], "first_row": start, "frames": n})
        start += n
    picked = info.loc[ids] if ids else info.iloc[:0]
    index = pd.DataFrame(
        {
            "row": np.arange(len(ids)),
            "track_id": ids,
            "genre": picked["genre"].to_numpy(),
            "label": picked["label"].to_numpy().astype(int),
            "split": picked["split"].to_numpy(),
            "frame_index": frame_index,
        }
    )
    return index, pd.DataFrame(shard_rows, columns=["file", "first_row", "frames"])


def open_feature_store(path: Path | str) -> FeatureStore:
    """Open a folder written by write_feature_store; every shard stays on disk (np.load mmap_mode="r")."""
    path = Path(path)
    if not (path / META_FILE).is_file():
        raise DataError(f"{path}: no feature store here (missing {META_FILE}); run the preprocessing stage (dvc repro)")
    meta = json.loads((path / META_FILE).read_text())
    if meta.get("format") != FORMAT:
        raise DataError(f"{path}: feature store of an older format; rerun the preprocessing stage (dvc repro)")
    shards = pd.read_csv(path / SHARDS_FILE)
    arrays = [np.load(path / f, mmap_mode="r", allow_pickle=False) for f in shards["file"]]
    frames = ShardedFrames(arrays, tuple(meta["shape"][1:]), meta["dtype"])
    if len(frames) != meta["shape"][0]:
        raise DataError(
            f"{path}: shards hold {len(frames)} frames, meta.json says {meta['shape'][0]}; rerun preprocessing"
        )
    index = pd.read_csv(path / FRAMES_FILE, dtype={"track_id": str})
    failures = pd.read_csv(path / FAILURES_FILE, dtype=str)
    return FeatureStore(frames, index, FeatureConfig(**meta["config"]), failures, shards)
