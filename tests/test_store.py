"""The sharded feature store: fixed-size shards, their index, reading by global row, Dask workers."""

import numpy as np
import pandas as pd
import pytest

from genrecrnn.features.logmel import FeatureConfig, file_frames
from genrecrnn.features.store import SHARDS_FILE, ShardedFrames, open_feature_store, write_feature_store
from genrecrnn.util.errors import DataError

from conftest import tone, write_wav

CFG = FeatureConfig(n_fft=512, hop_length=256, n_mels=16, frame_seconds=0.5, frame_hop_seconds=0.5)


def clip_table(tmp_path, n=7):
    """n short clips of different lengths (1..3 frames each) and splits."""
    rows = []
    for i in range(n):
        path = write_wav(tmp_path / "audio" / f"{i}.wav", tone(300 + 40 * i, 0.6 + 0.5 * (i % 3)))
        rows.append({"track_id": f"t{i}", "path": str(path), "genre": "g", "label": i % 2, "split": "train"})
    return pd.DataFrame(rows)


def test_sharded_frames_index_like_one_array():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(n, 3, 2)).astype(np.float32) for n in (4, 1, 5)]
    whole, frames = np.concatenate(parts), ShardedFrames(parts, (3, 2))
    assert frames.shape == whole.shape and len(frames) == 10
    for key in (0, 4, 9, -1, slice(2, 8), slice(None, None, 3), [9, 0, 4, 4], np.array([5, 3]), whole[:, 0, 0] > 0):
        np.testing.assert_array_equal(frames[key], whole[key])
    np.testing.assert_array_equal(np.asarray(frames), whole)
    with pytest.raises(IndexError):
        frames[np.array([10])]


def test_store_is_cut_into_fixed_size_shards_in_track_order(tmp_path):
    table = clip_table(tmp_path)
    index = write_feature_store(tmp_path / "f", table, cfg=CFG, workers=1, shard_clips=3, progress=False)
    store = open_feature_store(tmp_path / "f")
    shards = pd.read_csv(tmp_path / "f" / SHARDS_FILE)
    assert list(shards["file"]) == ["shard-00000.npy", "shard-00001.npy", "shard-00002.npy"]
    assert list(shards["first_row"]) == [0, *np.cumsum(shards["frames"])[:-1]]
    expected = np.concatenate([file_frames(p, cfg=CFG) for p in table["path"]])
    np.testing.assert_array_equal(np.asarray(store.frames), expected)
    assert list(index["track_id"].unique()) == list(table["track_id"])
    assert store.index.equals(index) and (index["row"] == np.arange(len(index))).all()
    assert isinstance(np.load(tmp_path / "f" / "shard-00000.npy", mmap_mode="r"), np.memmap)


def test_dask_workers_write_the_same_store_as_one_process(tmp_path, broken_files):
    table = clip_table(tmp_path)
    bad = {"track_id": "t-bad", "path": str(broken_files["truncated"]), "genre": "g", "label": 0, "split": "train"}
    table = pd.concat([table.iloc[:2], pd.DataFrame([bad]), table.iloc[2:]], ignore_index=True)
    write_feature_store(tmp_path / "one", table, cfg=CFG, workers=1, shard_clips=2, progress=False)
    write_feature_store(tmp_path / "two", table, cfg=CFG, workers=2, shard_clips=2, progress=False)
    one, two = open_feature_store(tmp_path / "one"), open_feature_store(tmp_path / "two")
    assert np.asarray(one.frames).tobytes() == np.asarray(two.frames).tobytes()
    assert one.index.equals(two.index) and one.shards.equals(two.shards)
    assert list(two.failures["track_id"]) == ["t-bad"] and "cannot decode" in two.failures["reason"].iloc[0]


def test_a_shard_whose_clips_all_fail_is_not_written(tmp_path, broken_files):
    table = clip_table(tmp_path, n=2)
    bad = [{"track_id": f"b{i}", "path": str(broken_files["empty"]), "genre": "g", "label": 0, "split": "train"}
           for i in range(2)]  # fmt: skip
    table = pd.concat([pd.DataFrame(bad), table], ignore_index=True)
    write_feature_store(tmp_path / "f", table, cfg=CFG, workers=1, shard_clips=2, progress=False)
    store = open_feature_store(tmp_path / "f")
    assert list(store.shards["file"]) == ["shard-00001.npy"] and len(store.failures) == 2
    np.testing.assert_array_equal(store.frames[0], file_frames(table["path"].iloc[2], cfg=CFG)[0])


def test_a_store_of_the_old_single_file_format_asks_for_a_rerun(tmp_path):
    write_feature_store(tmp_path / "f", clip_table(tmp_path, n=1), cfg=CFG, workers=1, progress=False)
    meta = tmp_path / "f" / "meta.json"
    meta.write_text(meta.read_text().replace('"format": "npy-shards-1",', ""))
    with pytest.raises(DataError, match="older format; rerun the preprocessing stage"):
        open_feature_store(tmp_path / "f")
