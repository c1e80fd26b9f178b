"""Data sources, the manifest and the track-level split.

Four sources, chosen by params.yaml `data.source`:
- synthetic: the built-in seeded genre set (genrecrnn.synth), written in GTZAN layout;
- gtzan: a local GTZAN copy, original (`genres/<g>/<g>.NNNNN.au`) or common
  (`genres_original/<g>/<g>.NNNNN.wav`) layout, found from the given root;
- folder: any `<root>/<label>/<file>` collection of wav/au/flac/ogg/mp3;
- fma: a local Free Music Archive copy (`genrecrnn.fma`), subset `data.fma_subset`, with its official split.

The manifest records every file found (path, genre, duration, rate, channels, md5, status,
reason); files that cannot be used are kept in it with the reason and left out of the split.
The split assigns whole tracks to train/val/test, so frames of one clip never straddle two.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold
from tqdm.auto import tqdm

from genrecrnn.audio import AUDIO_EXTENSIONS, audio_info, load_audio
from genrecrnn.errors import AudioError, DataError
from genrecrnn.fileio import atomic_write_text
from genrecrnn.fma import list_fma_files

MANIFEST_FILE = "manifest.csv"
SPLIT_FILE = "split.csv"
GENRES_FILE = "genres.json"
SPLITS = ("train", "val", "test")
MANIFEST_COLUMNS = [
    "track_id",
    "path",
    "genre",
    "label",
    "duration",
    "sample_rate",
    "channels",
    "md5",
    "status",
    "reason",
]


def find_gtzan_root(root: Path | str) -> Path:
    """The folder holding GTZAN's genre folders: root/genres_original, root/genres, one level deeper, or root."""
    root = _existing_dir(root)
    candidates = (
        root / "genres_original",
        root / "genres",
        *sorted(root.glob("*/genres_original")),
        *sorted(root.glob("*/genres")),
        root,
    )
    for candidate in candidates:
        if candidate.is_dir() and _label_dirs(candidate, recursive=False):
            return candidate
    raise DataError(
        f"{root}: no GTZAN genre folders found (looked for <genre>/<genre>.NNNNN.au|wav in {root}, "
        f"{root}/genres and {root}/genres_original); point data.root at the GTZAN copy"
    )


def list_labelled_files(root: Path | str) -> pd.DataFrame:
    """Every audio file under `root/<label>/` (recursively): columns path, genre, track_id; sorted by path."""
    root = _existing_dir(root)
    rows = [
        {"path": str(f), "genre": label, "track_id": f.relative_to(root).with_suffix("").as_posix()}
        for label in _label_dirs(root)
        for f in sorted((root / label).rglob("*"))
        if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS
    ]
    if not rows:
        raise DataError(
            f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in <label>/ subfolders; "
            "lay the collection out as <root>/<genre>/<file>"
        )
    found = pd.DataFrame(rows).sort_values("path", ignore_index=True)
    if found["genre"].nunique() < 2:
        raise DataError(f"{root}: only one label ({found['genre'].iloc[0]}) found; a classifier needs at least two")
    return found


def check_genres(found: Sequence[str], genres: Sequence[str], *, root: Path | str) -> None:
    """DataError if the labels found on disk differ from params.yaml `genres`, naming the difference."""
    found_set, want = set(found), set(genres)
    if found_set != want:
        raise DataError(
            f"{root}: labels on disk do not match params.yaml genres. "
            f"Only on disk: {sorted(found_set - want) or 'none'}; "
            f"only in params: {sorted(want - found_set) or 'none'}. "
            f"Set genres to the sorted folder names: {sorted(found_set)}"
        )


def build_manifest(
    files: pd.DataFrame, *, genres: Sequence[str], min_seconds: float, progress: bool = True
) -> pd.DataFrame:
    """Inspect each file (header, full decode, checksum) and mark it ok or with the reason it is unusable."""
    label_of = {g: i for i, g in enumerate(genres)}
    rows = [
        _inspect(path, min_seconds=min_seconds)
        for path in tqdm(files["path"], disable=not progress, desc="checking audio")
    ]
    manifest = pd.concat([files.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    manifest["label"] = manifest["genre"].map(label_of).astype(int)
    return manifest[MANIFEST_COLUMNS]


def _inspect(path: str, *, min_seconds: float) -> dict:
    """Manifest fields of one file; status 'ok' or 'excluded' with the reason."""
    row = {
        "duration": np.nan,
        "sample_rate": 0,
        "channels": 0,
        "md5": "",
        "status": "excluded",
        "reason": "",
    }
    try:
        info = audio_info(path)
        row.update(duration=round(info.duration, 4), sample_rate=info.sample_rate, channels=info.channels)
        row["md5"] = hashlib.md5(Path(path).read_bytes()).hexdigest()
        # Decode fully: a valid header can still front a truncated or corrupt body.
        y = load_audio(path, sr=info.sample_rate)
    except AudioError as err:
        row["reason"] = str(err)
        return row
    if info.duration < min_seconds:
        row["reason"] = f"{path}: {info.duration:.2f} s is shorter than data.min_seconds={min_seconds:g} s"
    elif not np.any(y):
        row["reason"] = f"{path}: digital silence throughout; nothing to classify"
    else:
        row.update(status="ok", reason="")
    return row


def stratified_split(
    manifest: pd.DataFrame,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    groups: str | None = None,
) -> pd.DataFrame:
    """Assign usable tracks to train/val/test, stratified by genre and seeded: columns track_id, genre, split.

    With `groups` (a manifest column such as an artist), whole groups go to one split. Without,
    files with identical bytes (same md5, e.g. GTZAN's repeated recordings) are kept together: a
    copy follows the first one (by track id) into its split, so one recording never sits in two.
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
    return _split_table(split)


def duplicate_recordings(manifest: pd.DataFrame) -> pd.DataFrame:
    """Usable files whose bytes equal another's (same md5): track_id, genre, md5, first (the lowest track id
    of its set), copies (files in the set); sorted by first, then track_id. Empty if there are none."""
    usable = manifest[(manifest["status"] == "ok") & (manifest["md5"] != "")]
    sizes = usable.groupby("md5")["track_id"].transform("size")
    dup = usable.loc[sizes > 1, ["track_id", "genre", "md5"]].copy()
    dup["first"] = dup.groupby("md5")["track_id"].transform("min")
    dup["copies"] = dup.groupby("md5")["track_id"].transform("size").astype(int)
    return dup.sort_values(["first", "track_id"], ignore_index=True)


def _group_split(
    usable: pd.DataFrame, *, val_fraction: float, test_fraction: float, seed: int, groups: str
) -> pd.DataFrame:
    """Seeded split, stratified by genre as far as groups allow, keeping each value of column `groups` in one split."""
    if groups not in usable.columns:
        raise DataError(f"grouping column {groups!r} not in the manifest; columns: {list(usable.columns)}")
    usable = usable.sort_values("track_id").reset_index(drop=True)
    keys = usable[groups].astype(str).to_numpy()
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
    return _split_table(usable.assign(split=split))


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
    return _split_table(merged), missing


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


def _split_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted (track_id, genre, split) table after checking every split is non-empty."""
    table = frame[["track_id", "genre", "split"]].sort_values("track_id", ignore_index=True)
    empty = [s for s in SPLITS if not (table["split"] == s).any()]
    if empty:
        raise DataError(f"split(s) {empty} are empty; use more data or larger fractions")
    return table


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


def manifest_checksum(manifest: pd.DataFrame) -> str:
    """md5 over (track_id, md5, status) rows: one id for the exact data a run used."""
    text = "\n".join(f"{t},{m},{s}" for t, m, s in zip(manifest["track_id"], manifest["md5"], manifest["status"]))
    return hashlib.md5(text.encode()).hexdigest()


def _existing_dir(root: Path | str) -> Path:
    """`root` as a Path after checking it is a folder."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"{root}: data folder not found; set data.root in params.yaml to an existing folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; data.root must name the folder holding <genre>/ subfolders")
    return root


def _label_dirs(root: Path, *, recursive: bool = True) -> list[str]:
    """Names of the sub-folders of `root` that contain audio files (directly, or at any depth), sorted."""
    return sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir()
        and not d.name.startswith(".")
        and any(f.suffix.lower() in AUDIO_EXTENSIONS for f in (d.rglob("*") if recursive else d.iterdir()))
    )


def prepare_dataset(
    *,
    source: str,
    root: Path | str,
    out_dir: Path | str,
    genres: Sequence[str],
    sample_rate: int,
    clips_per_genre: int,
    clip_seconds: float,
    difficulty: float,
    timbre: str,
    seed: int,
    split_file: str,
    group_file: str,
    val_fraction: float,
    test_fraction: float,
    min_seconds: float,
    fma_subset: str = "small",
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The data stage: find or generate the clips, write manifest, split and genres; return (manifest, split, missing).

    For source "synthetic" the clips are generated into `out_dir/audio` (`clips_per_genre`, `clip_seconds`,
    `difficulty` and `timbre` apply to it only); for "gtzan" and "folder" they are read where they are
    (`root`); "fma" uses subset `fma_subset` and FMA's official split unless a split or group file is
    given. `missing` lists split-file names not found.
    """
    from genrecrnn.synth import generate_dataset  # only the synthetic source needs it

    out_dir = Path(out_dir)
    if source == "synthetic":
        audio = out_dir / "audio"
        generate_dataset(
            audio,
            genres=genres,
            clips_per_genre=clips_per_genre,
            seconds=clip_seconds,
            sr=sample_rate,
            difficulty=difficulty,
            timbre=timbre,
            seed=seed,
            progress=progress,
        )
        files = list_labelled_files(audio)
    elif source == "gtzan":
        files = list_labelled_files(find_gtzan_root(root))
    elif source == "fma":
        files = list_fma_files(root, fma_subset)
    else:
        files = list_labelled_files(root)
    check_genres(files["genre"].unique(), genres, root=root if source != "synthetic" else out_dir)
    official = files.pop("split") if source == "fma" else None
    manifest = build_manifest(files, genres=genres, min_seconds=min_seconds, progress=progress)
    if split_file and group_file:
        raise DataError(
            f"data.split_file ({split_file}) and data.group_file ({group_file}) are both set: a split file fixes "
            "every file's split, so the group file would be ignored; clear one of them"
        )
    missing: list[str] = []
    if split_file:
        split, missing = read_split_file(split_file, manifest)
    elif official is not None and not group_file:
        usable = manifest.assign(split=official.to_numpy())
        split = _split_table(usable[(usable["status"] == "ok") & usable["split"].notna()])
    else:
        groups = None
        if group_file:
            manifest, groups = add_groups(manifest, group_file), "group"
        split = stratified_split(
            manifest, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, groups=groups
        )
    write_dataset_index(out_dir, manifest, split, genres)
    return manifest, split, missing


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
