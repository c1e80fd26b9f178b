"""The Free Music Archive (FMA) as a data source: its metadata table, subsets and official split.

Layout under `data.root` (as the FMA archives unpack):
- `fma_metadata/tracks.csv`: one row per track, with a two-row column header (`album`/`artist`/`set`/
  `track` over the field name) and a third header row naming the index (`track_id`);
- `fma_<subset>/NNN/NNNNNN.mp3`: the audio, NNN being the first three digits of the six-digit id.

The subsets are nested (small in medium in large) and `set.subset` holds the smallest one a track
belongs to. The label is `track.genre_top`; the split is the official artist-filtered `set.split`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from genrecrnn.config.sections import FMA_SUBSETS as SUBSETS
from genrecrnn.util.errors import DataError

log = logging.getLogger(__name__)

TRACKS_FILE = Path("fma_metadata") / "tracks.csv"
# FMA's split names -> the study's.
SPLIT_NAMES = {"training": "train", "validation": "val", "test": "test"}
_COLUMNS = [("set", "subset"), ("set", "split"), ("track", "genre_top")]


def read_tracks(path: Path | str) -> pd.DataFrame:
    """FMA's tracks.csv as a table indexed by integer track id, with two-level columns (e.g. ("set", "split"))."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: FMA metadata not found; set data.root to the folder holding fma_metadata/ "
            "(unpacked from fma_metadata.zip) and fma_<subset>/"
        )
    try:
        tracks = pd.read_csv(path, index_col=0, header=[0, 1], low_memory=False)
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: not FMA's tracks.csv (expected a two-row column header): {err}") from err
    missing = [".".join(c) for c in _COLUMNS if c not in tracks.columns]
    if missing:
        raise DataError(f"{path}: column(s) {missing} missing; is this FMA's fma_metadata/tracks.csv?")
    return tracks


def audio_path(root: Path | str, subset: str, track_id: int) -> Path:
    """Where FMA keeps a track's audio: root/fma_<subset>/NNN/NNNNNN.mp3 (id zero-padded to six digits)."""
    name = f"{int(track_id):06d}"
    return Path(root) / f"fma_{subset}" / name[:3] / f"{name}.mp3"


def list_fma_files(root: Path | str, subset: str) -> pd.DataFrame:
    """Tracks of one FMA subset with a top genre: columns path, genre, track_id (six digits), split; sorted by id.

    Tracks without `genre_top` (only in medium/large) have no label and are left out with a log line.
    Files are not opened here: missing or broken ones are reported by the manifest like any bad file.
    """
    if subset not in SUBSETS:
        raise DataError(f"data.fma_subset={subset!r}; allowed: {', '.join(SUBSETS)}")
    root = Path(root).expanduser()
    tracks = read_tracks(root / TRACKS_FILE)
    levels = SUBSETS[: SUBSETS.index(subset) + 1]  # nested subsets: medium includes small
    chosen = tracks[tracks[("set", "subset")].isin(levels)]
    unknown = sorted(set(chosen[("set", "split")].dropna()) - set(SPLIT_NAMES))
    if unknown:
        raise DataError(f"{root / TRACKS_FILE}: unknown set.split value(s) {unknown}; expected {list(SPLIT_NAMES)}")
    genre = chosen[("track", "genre_top")]
    if genre.isna().any():
        log.warning("FMA %s: %d track(s) without track.genre_top left out (no label)", subset, int(genre.isna().sum()))
    chosen = chosen[genre.notna()].sort_index()
    if chosen.empty:
        raise DataError(f"{root / TRACKS_FILE}: no track with a top genre in subset {subset!r}")
    return pd.DataFrame(
        {
            "path": [str(audio_path(root, subset, t)) for t in chosen.index],
            "genre": chosen[("track", "genre_top")].astype(str).to_numpy(),
            "track_id": [f"{int(t):06d}" for t in chosen.index],
            "split": chosen[("set", "split")].map(SPLIT_NAMES).to_numpy(),
        }
    )
