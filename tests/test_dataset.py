import numpy as np
import pandas as pd
import pytest

from genrecrnn.data.dataset import build_manifest, check_genres, find_gtzan_root, list_labelled_files
from genrecrnn.data.split import read_split_file, stratified_split
from genrecrnn.util.errors import DataError

from conftest import tone, write_wav

GENRES = ["blues", "jazz", "rock"]


def make_collection(root, genres=GENRES, per_genre=5, ext="wav", seconds=4.0):
    for gi, g in enumerate(genres):
        for i in range(per_genre):
            write_wav(root / g / f"{g}.{i:05d}.{ext}", tone(200 + 50 * gi + i, seconds), subtype="PCM_16")
    return root


def manifest_of(root, genres=GENRES, min_seconds=3.0):
    return build_manifest(list_labelled_files(root), genres=genres, min_seconds=min_seconds, progress=False)


def test_split_is_by_track_stratified_and_seeded(tmp_path):
    manifest = manifest_of(make_collection(tmp_path, per_genre=10))
    split = stratified_split(manifest, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert split["track_id"].is_unique and len(split) == 30
    counts = pd.crosstab(split["genre"], split["split"])
    assert (counts["test"] == 2).all() and (counts["val"] == 2).all() and (counts["train"] == 6).all()
    again = stratified_split(manifest, val_fraction=0.2, test_fraction=0.2, seed=1)
    other = stratified_split(manifest, val_fraction=0.2, test_fraction=0.2, seed=2)
    assert split.equals(again) and not split.equals(other)


def test_tiny_genres_still_get_one_track_in_every_split(tmp_path):
    split = stratified_split(
        manifest_of(make_collection(tmp_path, per_genre=3)), val_fraction=0.15, test_fraction=0.2, seed=0
    )
    assert (pd.crosstab(split["genre"], split["split"]) == 1).all().all()


def test_genre_with_too_few_tracks_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"\['blues', 'jazz', 'rock'\] have fewer than 3"):
        stratified_split(
            manifest_of(make_collection(tmp_path, per_genre=2)), val_fraction=0.2, test_fraction=0.2, seed=0
        )


def test_group_split_keeps_each_artist_in_one_split(tmp_path):
    manifest = manifest_of(make_collection(tmp_path, per_genre=12))
    manifest["artist"] = [f"a{i // 3}" for i in range(len(manifest))]
    split = stratified_split(manifest, val_fraction=0.2, test_fraction=0.2, seed=0, groups="artist")
    joined = split.merge(manifest[["track_id", "artist"]], on="track_id")
    assert (joined.groupby("artist")["split"].nunique() == 1).all()


def test_group_split_keeps_a_recording_repeated_in_two_groups_in_one_split():
    # 30 tracks of 3 genres, each its own artist; 5 recordings also appear under another artist's name.
    ids = [f"g{i % 3}/t{i:02d}" for i in range(30)]
    manifest = pd.DataFrame({"track_id": ids, "genre": [f"g{i % 3}" for i in range(30)], "status": "ok",
                             "md5": [f"m{i}" for i in range(30)], "artist": [f"a{i}" for i in range(30)]})  # fmt: skip
    for a, b in ((0, 3), (1, 4), (2, 5), (6, 9), (9, 12)):  # 9 chains 6 and 12 into one set
        manifest.loc[b, "md5"] = manifest.loc[a, "md5"]
    for seed in range(10):
        split = stratified_split(manifest, val_fraction=0.2, test_fraction=0.2, seed=seed, groups="artist")
        joined = split.merge(manifest[["track_id", "md5"]], on="track_id")
        assert (joined.groupby("md5")["split"].nunique() == 1).all(), seed


def test_broken_short_and_silent_files_are_marked_not_fatal(tmp_path, broken_files):
    root = make_collection(tmp_path / "c")
    (root / "jazz" / "jazz.00054.wav").write_bytes(broken_files["truncated"].read_bytes())
    (root / "rock" / "rock.00099.wav").write_bytes(b"")
    write_wav(root / "blues" / "blues.00098.wav", tone(300, 1.0))
    write_wav(root / "blues" / "blues.00099.wav", np.zeros(22050 * 4, np.float32))
    manifest = manifest_of(root).set_index("track_id")
    assert (manifest["status"] == "ok").sum() == 15
    assert "cannot decode" in manifest.at["jazz/jazz.00054", "reason"]
    assert "empty file" in manifest.at["rock/rock.00099", "reason"]
    assert "shorter than data.min_seconds" in manifest.at["blues/blues.00098", "reason"]
    assert "silence" in manifest.at["blues/blues.00099", "reason"]
    assert manifest.at["blues/blues.00000", "md5"] and manifest.at["blues/blues.00000", "sample_rate"] == 22050


@pytest.mark.parametrize("layout, ext", [("genres", "au"), ("genres_original", "wav"), ("Data/genres_original", "wav")])
def test_gtzan_layouts_are_found(tmp_path, layout, ext):
    make_collection(tmp_path / layout, per_genre=3, ext=ext)
    root = find_gtzan_root(tmp_path)
    assert root == tmp_path / layout
    files = list_labelled_files(root)
    assert sorted(files["genre"].unique()) == GENRES and files["path"].str.endswith(f".{ext}").all()


def test_folder_errors_name_the_path(tmp_path):
    with pytest.raises(DataError, match="data folder not found"):
        list_labelled_files(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no audio files"):
        list_labelled_files(tmp_path / "empty")
    make_collection(tmp_path / "one", genres=["rock"], per_genre=2)
    with pytest.raises(DataError, match="only one label"):
        list_labelled_files(tmp_path / "one")


def test_genre_list_must_match_the_folders(tmp_path):
    with pytest.raises(DataError, match=r"Only on disk: \['jazz'\]; only in params: \['pop'\]"):
        check_genres(["blues", "jazz"], ["blues", "pop"], root=tmp_path)


def test_split_file_uses_file_names_and_reports_missing(tmp_path):
    manifest = manifest_of(make_collection(tmp_path, per_genre=3))
    split_csv = tmp_path / "split.csv"
    rows = [(f"{g}.{i:05d}.wav", s) for g in GENRES for i, s in enumerate(["train", "val", "test"])]
    pd.DataFrame(rows + [("jazz.00054.wav", "train")], columns=["file", "split"]).to_csv(split_csv, index=False)
    split, missing = read_split_file(split_csv, manifest)
    assert missing == ["jazz.00054.wav"]
    assert split.set_index("track_id").at["rock/rock.00002", "split"] == "test"
    assert len(split) == 9


def test_folder_of_mp3_ogg_flac_au_at_mixed_rates_is_usable(tmp_path):
    import soundfile as sf

    from genrecrnn.features.logmel import FeatureConfig, file_frames

    formats = [
        ("mp3", "MP3", None, 44100),
        ("ogg", "OGG", None, 48000),
        ("flac", "FLAC", "PCM_16", 16000),
        ("au", "AU", "PCM_16", 22050),
    ]
    for gi, genre in enumerate(GENRES):
        for ext, fmt, subtype, sr in formats:
            y = tone(220 + 110 * gi, 4.0, sr=sr)
            stereo = np.stack([y, y], axis=1) if ext in ("ogg", "mp3") else y
            path = tmp_path / genre / f"{genre}_{ext}.{ext}"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, stereo, sr, format=fmt, subtype=subtype)
    manifest = manifest_of(tmp_path)
    assert len(manifest) == 12 and (manifest["status"] == "ok").all(), manifest["reason"].tolist()
    assert set(manifest["sample_rate"]) == {44100, 48000, 16000, 22050} and set(manifest["channels"]) == {1, 2}
    for path in manifest["path"]:
        assert file_frames(path, cfg=FeatureConfig()).shape == (1, 129, 128)


def test_group_file_keeps_each_artist_in_one_split_and_stays_stratified(tmp_path):
    from genrecrnn.data.split import add_groups

    manifest = manifest_of(make_collection(tmp_path / "c", per_genre=20))
    rows = [(f"{g}.{i:05d}.wav", f"{g}-artist{i // 2}") for g in GENRES for i in range(20)]
    pd.DataFrame(rows, columns=["file", "group"]).to_csv(tmp_path / "artists.csv", index=False)
    grouped = add_groups(manifest, tmp_path / "artists.csv")
    split = stratified_split(grouped, val_fraction=0.2, test_fraction=0.2, seed=0, groups="group")
    joined = split.merge(grouped[["track_id", "group"]], on="track_id")
    assert (joined.groupby("group")["split"].nunique() == 1).all()
    counts = pd.crosstab(split["genre"], split["split"])
    assert (counts > 0).all().all()  # every genre in every split
    assert split["split"].value_counts()["test"] == pytest.approx(12, abs=4)


def _write_csv(path, rows, columns):
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "key",
    [
        lambda g, i: f"{g}.{i:05d}.wav",
        lambda g, i: f"{g}.{i:05d}",
        lambda g, i: f"{g}.{i:05d}.au",
        lambda g, i: f"{g}/{g}.{i:05d}",
    ],
    ids=["name", "stem", "other extension", "track id"],
)
def test_group_file_matches_names_stems_and_track_ids(tmp_path, key):
    from genrecrnn.data.split import add_groups

    manifest = manifest_of(make_collection(tmp_path / "c", per_genre=4))
    rows = [(key(g, i), f"{g}-artist{i // 2}") for g in GENRES for i in range(4)]
    grouped = add_groups(manifest, _write_csv(tmp_path / "groups.csv", rows, ["file", "group"])).set_index("track_id")
    assert grouped.at["jazz/jazz.00003", "group"] == "jazz-artist1"
    assert not grouped["group"].str.startswith("track:").any()


def test_group_file_rows_that_match_no_file_are_an_error_naming_them(tmp_path):
    from genrecrnn.data.split import add_groups

    manifest = manifest_of(make_collection(tmp_path / "c", per_genre=3))
    rows = [("blues.00000.wav", "a"), ("Blues-00001.mp3", "a"), ("rock/rock.00009", "b")]
    with pytest.raises(
        DataError, match=r"2 of 3 group-file row\(s\) match no file.*'Blues-00001.mp3', 'rock/rock.00009'"
    ):
        add_groups(manifest, _write_csv(tmp_path / "groups.csv", rows, ["file", "group"]))
    rows = [("blues.00000.wav", "a"), ("blues/blues.00000", "b")]
    with pytest.raises(DataError, match=r"two different groups: \['blues/blues.00000'\]"):
        add_groups(manifest, _write_csv(tmp_path / "groups2.csv", rows, ["file", "group"]))


def test_split_file_listing_a_file_twice_with_different_splits_is_an_error(tmp_path):
    manifest = manifest_of(make_collection(tmp_path, per_genre=3))
    rows = [(f"{g}.{i:05d}.wav", s) for g in GENRES for i, s in enumerate(["train", "val", "test"])]
    same_twice = rows + [("blues.00000.wav", "train"), ("blues/blues.00000", "train")]
    split, _ = read_split_file(_write_csv(tmp_path / "ok.csv", same_twice, ["file", "split"]), manifest)
    assert len(split) == 9
    conflicting = rows + [("blues/blues.00000", "test")]  # the same file under its track id, another split
    with pytest.raises(DataError, match=r"1 file\(s\) listed with two different splits \(blues.00000.wav -> train"):
        read_split_file(_write_csv(tmp_path / "bad.csv", conflicting, ["file", "split"]), manifest)


def test_identical_recordings_always_land_in_one_split(tmp_path):
    from genrecrnn.data.split import duplicate_recordings

    root = make_collection(tmp_path, per_genre=10)
    for copy in ("blues.00100.wav", "blues.00101.wav"):  # two copies of blues.00003, byte for byte
        (root / "blues" / copy).write_bytes((root / "blues" / "blues.00003.wav").read_bytes())
    (root / "rock" / "rock.00100.wav").write_bytes((root / "rock" / "rock.00007.wav").read_bytes())
    manifest = manifest_of(root)
    dups = duplicate_recordings(manifest)
    copies = ["blues/blues.00003", "blues/blues.00100", "blues/blues.00101", "rock/rock.00007", "rock/rock.00100"]
    assert list(dups["track_id"]) == copies
    assert list(dups["copies"]) == [3, 3, 3, 2, 2]
    assert dups["first"].iloc[-1] == "rock/rock.00007"
    for seed in range(10):
        split = stratified_split(manifest, val_fraction=0.2, test_fraction=0.2, seed=seed).set_index("track_id")
        for first, part in dups.groupby("first"):
            assert split.loc[part["track_id"], "split"].nunique() == 1, (seed, first)
    assert duplicate_recordings(manifest_of(make_collection(tmp_path / "unique", per_genre=3))).empty
