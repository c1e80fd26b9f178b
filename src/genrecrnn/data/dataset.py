"""The data stage: the sources, the manifest of every file found, and the split written (genrecrnn.data.split).

Four sources, chosen by params.yaml `data.source`:
- synthetic: the built-in seeded genre set (genrecrnn.data.synth), written in GTZAN layout;
- gtzan: a local GTZAN copy, original (`genres/<g>/<g>.NNNNN.au`) or common
  (`genres_original/<g>/<g>.NNNNN.wav`) layout, found from the given root;
- folder: any `<root>/<label>/<file>` collection of wav/au/flac/ogg/mp3;
- fma: a local Free Music Archive copy (`genrecrnn.data.fma`), subset `data.fma_subset`, with its official split.

The manifest records every file found (path, genre, duration, rate, channels, md5, status,
reason); files that cannot be used are kept in it with the reason and left out of the split.
The split assigns whole tracks to train/val/test, so frames of one clip never straddle two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from tqdm.auto import tqdm

from genrecrnn.config.sections import DataParams
from genrecrnn.data.audio import AUDIO_EXTENSIONS, audio_info, load_audio
from genrecrnn.data.fma import list_fma_files
from genrecrnn.data.index import write_dataset_index
from genrecrnn.data.split import add_groups, read_split_file, split_table, stratified_split
from genrecrnn.data.synth import GTZAN_GENRES, synth_set
from genrecrnn.util.errors import AudioError, DataError
from genrecrnn.util.fileio import atomic_path

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


def clip_path(root: Path, genre: str, index: int) -> Path:
    """GTZAN-style path of one clip: root/genre/genre.00007.wav."""
    return Path(root) / genre / f"{genre}.{index:05d}.wav"


def generate_dataset(
    root: Path,
    *,
    genres: Sequence[str] = GTZAN_GENRES,
    clips_per_genre: int,
    seconds: float = 30.0,
    sr: int = 22050,
    difficulty: float = 0.5,
    timbre: str = "shared",
    seed: int = 0,
    progress: bool = True,
) -> list[Path]:
    """Write the synthetic set (data.synth) as <root>/<genre>/<genre>.NNNNN.wav, mono PCM_16; paths in order."""
    clips = synth_set(
        genres, clips_per_genre=clips_per_genre, seed=seed, seconds=seconds, sr=sr, difficulty=difficulty, timbre=timbre
    )
    total = len(genres) * clips_per_genre
    return [
        _write_wav(clip_path(root, genre, index), signal, sr)
        for genre, index, signal in tqdm(clips, total=total, desc=f"synth -> {root}", unit="clip", disable=not progress)
    ]


def _write_wav(path: Path, signal: np.ndarray, sr: int) -> Path:
    """Write a PCM_16 WAV atomically, so an interrupted run leaves no half file."""
    with atomic_path(path) as tmp:
        sf.write(tmp, signal, sr, format="WAV", subtype="PCM_16")
    return path


def prepare_dataset(
    data: DataParams,
    *,
    out_dir: Path | str,
    genres: Sequence[str],
    sample_rate: int,
    seed: int,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The data stage: find or generate the clips, write manifest, split and genres; return (manifest, split, missing).

    For source "synthetic" the clips are generated into `out_dir/audio` at `sample_rate` Hz
    (`clips_per_genre`, `clip_seconds`, `difficulty` and `timbre` apply to it only); for "gtzan" and
    "folder" they are read where they are (`data.root`); "fma" uses subset `data.fma_subset` and FMA's
    official split unless a split or group file is given. `missing` lists split-file names not found.
    """
    source, root, split_file, group_file = data.source, data.root, data.split_file, data.group_file
    out_dir = Path(out_dir)
    if source == "synthetic":
        audio = out_dir / "audio"
        generate_dataset(
            audio,
            genres=genres,
            clips_per_genre=data.clips_per_genre,
            seconds=data.clip_seconds,
            sr=sample_rate,
            difficulty=data.difficulty,
            timbre=data.timbre,
            seed=seed,
            progress=progress,
        )
        files = list_labelled_files(audio)
    elif source == "gtzan":
        files = list_labelled_files(find_gtzan_root(root))
    elif source == "fma":
        files = list_fma_files(root, data.fma_subset)
    else:
        files = list_labelled_files(root)
    check_genres(files["genre"].unique(), genres, root=root if source != "synthetic" else out_dir)
    official = files.pop("split") if source == "fma" else None
    manifest = build_manifest(files, genres=genres, min_seconds=data.min_seconds, progress=progress)
    missing: list[str] = []
    if split_file:
        split, missing = read_split_file(split_file, manifest)
    elif official is not None and not group_file:
        usable = manifest.assign(split=official.to_numpy())
        split = split_table(usable[(usable["status"] == "ok") & usable["split"].notna()])
    else:
        groups = None
        if group_file:
            manifest, groups = add_groups(manifest, group_file), "group"
        split = stratified_split(
            manifest, val_fraction=data.val_fraction, test_fraction=data.test_fraction, seed=seed, groups=groups
        )
    write_dataset_index(out_dir, manifest, split, genres)
    return manifest, split, missing
