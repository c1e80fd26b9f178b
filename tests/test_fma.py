"""The FMA source on a tiny FMA layout the test builds: tracks.csv in FMA's header format plus short mp3/wav files."""

import pandas as pd
import pytest

from genrecrnn.config.sections import DataParams
from genrecrnn.data.dataset import prepare_dataset
from genrecrnn.data.fma import audio_path, list_fma_files, read_tracks
from genrecrnn.util.errors import DataError

from conftest import tone, write_wav

# FMA's tracks.csv columns, in its order (album 13, artist 17, set 2, track 20 fields).
FIELDS = {
    "album": "comments date_created date_released engineer favorites id information listens producer tags title "
    "tracks type",
    "artist": "active_year_begin active_year_end associated_labels bio comments date_created favorites id latitude "
    "location longitude members name related_projects tags website wikipedia_page",
    "set": "split subset",
    "track": "bit_rate comments composer date_created date_recorded duration favorites genre_top genres genres_all "
    "information interest language_code license listens lyricist number publisher tags title",
}
COLUMNS = [(top, field) for top, fields in FIELDS.items() for field in fields.split()]
# (track id, subset, split, genre_top, seconds); "" = no genre_top (FMA large has such tracks).
TRACKS = [
    (2, "small", "training", "Hip-Hop", 4.0),
    (5, "small", "training", "Hip-Hop", 4.0),
    (10, "small", "validation", "Hip-Hop", 4.0),
    (140, "small", "test", "Hip-Hop", 4.0),
    (141, "small", "training", "Folk", 4.0),
    (148, "small", "training", "Folk", 1.0),  # too short: reported, left out
    (1040, "small", "validation", "Folk", 4.0),
    (1482, "small", "test", "Folk", 4.0),
    (1483, "small", "training", "Folk", 4.0),  # broken mp3: reported, left out
    (3, "medium", "training", "Rock", 4.0),
    (4, "medium", "validation", "Rock", 4.0),
    (6, "medium", "test", "Rock", 4.0),
    (20, "large", "training", "", 4.0),
]


def write_tracks_csv(path, tracks=TRACKS):
    """A tracks.csv with FMA's exact header: the top level, the field names, then `track_id,,,...`."""
    lines = [
        "," + ",".join(top for top, _ in COLUMNS),
        "," + ",".join(field for _, field in COLUMNS),
        "track_id" + "," * len(COLUMNS),
    ]
    for track_id, subset, split, genre, _ in tracks:
        values = {("set", "split"): split, ("set", "subset"): subset, ("track", "genre_top"): genre}
        values |= {("track", "title"): f"Song {track_id}", ("artist", "name"): f'"Artist, {track_id % 3}"'}
        lines.append(f"{track_id}," + ",".join(values.get(c, "") for c in COLUMNS))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def fma_root(tmp_path):
    """fma_metadata/tracks.csv plus fma_medium/NNN/NNNNNN.mp3 for every track (real mp3s, one broken)."""
    root = tmp_path / "fma"
    write_tracks_csv(root / "fma_metadata" / "tracks.csv")
    for i, (track_id, _, _, _, seconds) in enumerate(TRACKS):
        for subset in ("small", "medium"):
            path = audio_path(root, subset, track_id)
            if track_id == 1483:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff" * 40)  # a header and nothing
            else:
                write_wav(path.with_suffix(".wav"), tone(220 + 30 * i, seconds))
                write_wav(path, tone(220 + 30 * i, seconds), subtype="MPEG_LAYER_III")
                path.with_suffix(".wav").unlink()
    return root


def test_tracks_csv_header_is_read_as_fma_does(fma_root):
    tracks = read_tracks(fma_root / "fma_metadata" / "tracks.csv")
    assert tracks.index.name == "track_id" and list(tracks.index[:3]) == [2, 5, 10]
    assert tracks.loc[140, ("set", "split")] == "test" and tracks.loc[141, ("track", "genre_top")] == "Folk"
    assert tracks.loc[5, ("artist", "name")] == "Artist, 2"  # quoted commas stay inside the field
    assert audio_path("r", "small", 2).as_posix() == "r/fma_small/000/000002.mp3"
    assert audio_path("r", "large", 155066).as_posix() == "r/fma_large/155/155066.mp3"


def test_subsets_are_nested_and_tracks_without_a_top_genre_are_left_out(fma_root):
    small = list_fma_files(fma_root, "small")
    assert list(small["track_id"]) == ["000002", "000005", "000010", "000140", "000141", "000148", "001040",
                                       "001482", "001483"]  # fmt: skip
    assert small["path"].iloc[0].endswith("fma_small/000/000002.mp3")
    medium = list_fma_files(fma_root, "medium")
    assert set(medium["genre"]) == {"Folk", "Hip-Hop", "Rock"} and len(medium) == 12
    assert len(list_fma_files(fma_root, "large")) == 12  # track 20 has no genre_top
    assert dict(zip(medium["track_id"], medium["split"]))["000004"] == "val"


def run_data_stage(root, out, genres, **data):
    """The data stage on the FMA layout at `root`; keyword arguments override the `data` section."""
    section = DataParams(**({"source": "fma", "root": str(root), "val_fraction": 0.2, "test_fraction": 0.2} | data))
    return prepare_dataset(section, out_dir=out, genres=genres, sample_rate=22050, seed=0, progress=False)


def test_data_stage_uses_the_official_split_and_reports_bad_files(fma_root, tmp_path):
    manifest, split, missing = run_data_stage(fma_root, tmp_path / "out", ["Folk", "Hip-Hop"])
    bad = manifest.set_index("track_id").query("status != 'ok'")["reason"]
    assert sorted(bad.index) == ["000148", "001483"]
    assert "shorter than data.min_seconds" in bad["000148"] and "001483.mp3: cannot decode" in bad["001483"]
    assert dict(zip(split["track_id"], split["split"])) == {
        "000002": "train", "000005": "train", "000010": "val", "000140": "test",
        "000141": "train", "001040": "val", "001482": "test",
    }  # fmt: skip
    assert missing == [] and (tmp_path / "out" / "split.csv").is_file()
    labels = manifest.set_index("track_id")["label"]
    assert labels["000002"] == 1 and labels["000141"] == 0  # label i = genres[i]


def test_medium_subset_reads_its_own_folder_and_genres_must_match(fma_root, tmp_path):
    manifest, split, _ = run_data_stage(fma_root, tmp_path / "m", ["Folk", "Hip-Hop", "Rock"], fma_subset="medium")
    assert manifest["path"].str.contains("fma_medium").all() and (split["genre"] == "Rock").sum() == 3
    with pytest.raises(DataError, match=r"Only on disk: \['Rock'\].*Set genres to the sorted folder names"):
        run_data_stage(fma_root, tmp_path / "x", ["Folk", "Hip-Hop"], fma_subset="medium")


def test_missing_metadata_or_wrong_table_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="FMA metadata not found; set data.root"):
        list_fma_files(tmp_path, "small")
    table = tmp_path / "fma_metadata" / "tracks.csv"
    table.parent.mkdir()
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(table, index=False)
    with pytest.raises(DataError, match=r"missing; is this FMA's fma_metadata/tracks.csv"):
        list_fma_files(tmp_path, "small")
