"""The track-level split: stratified and seeded, by groups (e.g. artists), or read from a split file.

Whole tracks go to train/val/test, so frames of one clip never straddle two splits; files with
identical bytes are kept in one split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from genrecrnn.util.errors import DataError

SPLITS = ("train", "val", "test")


def stratified_split(
    manifest: pd.DataFrame,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    groups: str | None = None,
) -> pd.DataFrame:
    """Assign usable tracks to train/val/test, stratified by genre and seeded: columns track_id, genre, split.

    Files with identical bytes (same md5, e.g. GTZAN's repeated recordings) are kept together, so one
    recording never sits in two splits: with `groups` (a manifest column such as an artist) whole groups
    go to one split and two groups that share a recording count as one; without, a copy follows the
    first one (by track id) into its split.
    """
    usable = manifest[manifest["status"] == "ok"]
    counts = usable["genre"].value_counts()
    if (counts < 3).any():
        raise DataError(
            f"genre(s) {sorted(counts[counts < 3].index)} have fewer than 3 usable tracks; "
            "a train/val/test split needs at least one of each per genre: add files or remove the genre"
        )
    if groups:
        return _group_split(usable, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, groups=groups)
    rng = np.random.default_rng(seed)
    parts = []
    # Per genre: shuffle its tracks, then take test, val, train in turn; at least one of each.
    for genre in sorted(counts.index):
        ids = np.array(sorted(usable.loc[usable["genre"] == genre, "track_id"]))
        rng.shuffle(ids)
        n_test = max(1, round(len(ids) * test_fraction))
        n_val = max(1, min(round(len(ids) * val_fraction), len(ids) - n_test - 1))
        names = ["test"] * n_test + ["val"] * n_val + ["train"] * (len(ids) - n_test - n_val)
        parts.append(pd.DataFrame({"track_id": ids, "genre": genre, "split": names}))
    split = pd.concat(parts)
    first = duplicate_recordings(usable).set_index("track_id")["first"]
    if len(first):
        by_id = split.set_index("track_id")["split"]
        split["split"] = [by_id[first.get(t, t)] for t in split["track_id"]]
    return split_table(split)


def _group_split(
    usable: pd.DataFrame, *, val_fraction: float, test_fraction: float, seed: int, groups: str
) -> pd.DataFrame:
    """Seeded split, stratified by genre as far as groups allow, keeping each value of column `groups` in one split."""
    if groups not in usable.columns:
        raise DataError(f"grouping column {groups!r} not in the manifest; columns: {list(usable.columns)}")
    usable = usable.sort_values("track_id").reset_index(drop=True)
    keys = _with_duplicates_joined(usable, usable[groups].astype(str).to_numpy())
    if len(set(keys)) < 3:
        raise DataError(f"only {len(set(keys))} distinct {groups!r} value(s); a grouped split needs at least 3")
    # One fold of a StratifiedGroupKFold is the test part; a second pass on the rest gives val.
    test_idx = _group_fold(usable["genre"].to_numpy(), keys, fraction=test_fraction, seed=seed)
    rest = np.setdiff1d(np.arange(len(usable)), test_idx)
    val_idx = rest[
        _group_fold(
            usable["genre"].to_numpy()[rest], keys[rest], fraction=val_fraction / (1 - test_fraction), seed=seed
        )
    ]
    split = np.full(len(usable), "train", dtype=object)
    split[test_idx], split[val_idx] = "test", "val"
    return split_table(usable.assign(split=split))


def _with_duplicates_joined(usable: pd.DataFrame, keys: np.ndarray) -> np.ndarray:
    """Group keys (one per row of `usable`) with every two groups that share a recording (same md5) made one.

    A group file (artists, pieces) does not know that two of its groups hold the same bytes (GTZAN repeats
    recordings under other names); joining them keeps one recording out of two splits. Union-find over keys.
    """
    parent = {k: k for k in keys}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    key_of = dict(zip(usable["track_id"], keys))
    for _, members in duplicate_recordings(usable).groupby("md5")["track_id"]:
        first, *rest = sorted(root(key_of[t]) for t in members)
        for other in rest:
            parent[other] = first
    return np.array([root(k) for k in keys], dtype=object)


def _group_fold(labels: np.ndarray, keys: np.ndarray, *, fraction: float, seed: int) -> np.ndarray:
    """Indices of one fold of about `fraction` of the rows, whole groups only, stratified by label."""
    n_splits = min(max(2, round(1 / fraction)), len(set(keys)))
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return next(folds.split(np.zeros(len(labels)), labels, keys))[1]


def _match_files(names: pd.Series, manifest: pd.DataFrame) -> pd.Series:
    """Track id of each name (a file name such as blues.00012.wav, a stem, or a track id), NaN if none matches."""
    lookup = {Path(p).name: t for p, t in zip(manifest["path"], manifest["track_id"])}
    lookup.update({Path(p).stem: t for p, t in zip(manifest["path"], manifest["track_id"])})
    lookup.update({t: t for t in manifest["track_id"]})
    return names.map(lambda f: lookup.get(f, lookup.get(Path(f).name, lookup.get(Path(f).stem))))


def _read_table(path: Path | str, columns: tuple[str, str], what: str) -> pd.DataFrame:
    """A user CSV with (at least) `columns`, as strings; DataError naming the file and key otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found (data.{what}_file)")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not set(columns) <= set(table.columns):
        raise DataError(
            f"{path}: a {what} file needs the columns {','.join(columns)} (one row per file); got {list(table.columns)}"
        )
    return table


def read_split_file(path: Path | str, manifest: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Split from a CSV with columns file,split; returns (split table, names not found among usable files).

    `file` is matched against the manifest's file names (e.g. blues.00001.wav), stems or track ids, so
    a published split such as GTZAN's fault-filtered one (443 train / 197 val / 290 test) can be used
    as it is. Files named in the split but not usable in the data are returned as `missing`. A file
    listed twice (under any of its names) with two different splits is an error.
    """
    table = _read_table(path, ("file", "split"), "split")
    bad = sorted(set(table["split"]) - set(SPLITS))
    if bad:
        raise DataError(f"{path}: unknown split name(s) {bad}; use {', '.join(SPLITS)}")
    usable = manifest[manifest["status"] == "ok"]
    ids = _match_files(table["file"], usable)
    missing = sorted(table.loc[ids.isna(), "file"])
    chosen = table.assign(track_id=ids).dropna(subset=["track_id"])
    conflicts = chosen.groupby("track_id")["split"].nunique()
    if (conflicts > 1).any():
        rows = chosen[chosen["track_id"].isin(conflicts[conflicts > 1].index)]
        listed = "; ".join(f"{f} -> {s}" for f, s in zip(rows["file"][:10], rows["split"][:10]))
        raise DataError(
            f"{path}: {int((conflicts > 1).sum())} file(s) listed with two different splits ({listed}); "
            "list each file once"
        )
    merged = usable.merge(chosen.drop_duplicates("track_id")[["track_id", "split"]], on="track_id")
    return split_table(merged), missing


def add_groups(manifest: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """Manifest with a `group` column (e.g. artist) from a CSV of file,group; unlisted tracks form their own group.

    `file` is matched like the split file's (file name, stem or track id) against every file of the
    manifest; a row that matches no file is an error naming it, so a file keyed another way cannot
    silently leave every track in a group of its own. A file given two groups is an error too.
    """
    table = _read_table(path, ("file", "group"), "group")
    ids = _match_files(table["file"], manifest)
    if ids.isna().any():
        unmatched = list(table.loc[ids.isna(), "file"])
        raise DataError(
            f"{path}: {len(unmatched)} of {len(table)} group-file row(s) match no file of the data set, e.g. "
            f"{unmatched[:10]}; name files by file name (blues.00012.wav), stem or track id (blues/blues.00012)"
        )
    table = table.assign(track_id=ids)
    conflicts = table.groupby("track_id")["group"].nunique()
    if (conflicts > 1).any():
        raise DataError(f"{path}: file(s) given two different groups: {sorted(conflicts[conflicts > 1].index)[:10]}")
    group_of = dict(zip(table["track_id"], table["group"]))
    return manifest.assign(group=[group_of.get(t, f"track:{t}") for t in manifest["track_id"]])


def split_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted (track_id, genre, split) table after checking every split is non-empty."""
    table = frame[["track_id", "genre", "split"]].sort_values("track_id", ignore_index=True)
    empty = [s for s in SPLITS if not (table["split"] == s).any()]
    if empty:
        raise DataError(f"split(s) {empty} are empty; use more data or larger fractions")
    return table


def duplicate_recordings(manifest: pd.DataFrame) -> pd.DataFrame:
    """Usable files whose bytes equal another's (same md5): track_id, genre, md5, first (the lowest track id
    of its set), copies (files in the set); sorted by first, then track_id. Empty if there are none."""
    usable = manifest[(manifest["status"] == "ok") & (manifest["md5"] != "")]
    sizes = usable.groupby("md5")["track_id"].transform("size")
    dup = usable.loc[sizes > 1, ["track_id", "genre", "md5"]].copy()
    dup["first"] = dup.groupby("md5")["track_id"].transform("min")
    dup["copies"] = dup.groupby("md5")["track_id"].transform("size").astype(int)
    return dup.sort_values(["first", "track_id"], ignore_index=True)
