"""The data set's index files (manifest.csv, split.csv, genres.json): written, read back, joined, and checksummed.

Their names are in the output contract (:mod:`genrecrnn.config.outputs`); the data stage writes them
(:func:`genrecrnn.data.dataset.prepare_dataset`) and every later stage reads them from here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from genrecrnn.config.outputs import GENRES_FILE, MANIFEST_FILE, SPLIT_FILE
from genrecrnn.util.errors import DataError
from genrecrnn.util.fileio import atomic_write_text


def write_dataset_index(
    out_dir: Path | str, manifest: pd.DataFrame, split: pd.DataFrame, genres: Sequence[str]
) -> None:
    """Write manifest.csv, split.csv and genres.json into `out_dir`, each atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / MANIFEST_FILE, manifest.to_csv(index=False))
    atomic_write_text(out_dir / SPLIT_FILE, split.to_csv(index=False))
    atomic_write_text(out_dir / GENRES_FILE, json.dumps(list(genres), indent=2) + "\n")


def read_dataset_index(folder: Path | str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(manifest, split, genres) written by write_dataset_index."""
    folder = Path(folder)
    if not (folder / MANIFEST_FILE).is_file():
        raise DataError(f"{folder}: no {MANIFEST_FILE}; run the data stage first (dvc repro)")
    manifest = pd.read_csv(
        folder / MANIFEST_FILE,
        dtype={"track_id": str, "md5": str, "reason": str},
        keep_default_na=False,
    )
    split = pd.read_csv(folder / SPLIT_FILE, dtype={"track_id": str})
    genres = json.loads((folder / GENRES_FILE).read_text())
    return manifest, split, genres


def tracks_with_split(manifest: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """Usable manifest rows joined with their split: the input of feature extraction."""
    return manifest.merge(split[["track_id", "split"]], on="track_id", how="inner")


def audio_files(folder: Path | str, *, root: Path | str) -> dict[str, Path]:
    """track_id -> audio file of every usable clip of the data set in `folder`; relative paths are under `root`."""
    manifest, split, _ = read_dataset_index(folder)
    tracks = tracks_with_split(manifest, split)
    return {t: Path(root) / p for t, p in zip(tracks["track_id"], tracks["path"])}


def manifest_checksum(manifest: pd.DataFrame) -> str:
    """md5 over (track_id, md5, status) rows: one id for the exact data a run used."""
    text = "\n".join(f"{t},{m},{s}" for t, m, s in zip(manifest["track_id"], manifest["md5"], manifest["status"]))
    return hashlib.md5(text.encode()).hexdigest()


def one_per_genre(tracks: pd.DataFrame, genres: Sequence[str], *, split: str = "train") -> pd.DataFrame:
    """The first track (by id) of each genre in `split`, in genre order: examples to look at and listen to."""
    part = tracks[tracks["split"] == split].sort_values("track_id")
    firsts = part.groupby("genre", sort=False).head(1).set_index("genre")
    return firsts.reindex([g for g in genres if g in firsts.index]).reset_index()


def first_test_clip(folder: Path | str) -> str:
    """Path (as in the manifest) of the first test track: notebook 04's default input."""
    manifest, split, _ = read_dataset_index(folder)
    test = tracks_with_split(manifest, split).query("split == 'test'").sort_values("track_id")
    if test.empty:
        raise DataError(f"{folder}: the split has no test track")
    return str(test["path"].iloc[0])
