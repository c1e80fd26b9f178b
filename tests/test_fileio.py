import json

import numpy as np
import pandas as pd
import pytest

import genrecrnn.features.store as store
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.features.store import open_feature_store, write_feature_store
from genrecrnn.util.fileio import atomic_path, atomic_write_json

from conftest import tone, write_wav


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_json(target, {"accuracy": 0.8})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"accura')  # killed half-way
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"accuracy": 0.8}
    assert list(tmp_path.iterdir()) == [target]  # no temporary left behind


def test_json_never_holds_nan(tmp_path):
    atomic_write_json(tmp_path / "m.json", {"auc": float("nan"), "v": [np.float32(0.5), float("inf")]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"auc": None, "v": [0.5, None]}


def tracks(tmp_path, n=4):
    rows = [
        {
            "track_id": f"g/{i}",
            "path": str(write_wav(tmp_path / "a" / f"{i}.wav", tone(300 + 100 * i, 2.5))),
            "genre": "g",
            "label": 0,
            "split": "train",
        }
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def test_interrupted_feature_extraction_leaves_the_old_store_and_a_rerun_completes(tmp_path, monkeypatch):
    cfg = FeatureConfig(n_mels=16, frame_seconds=1.0, frame_hop_seconds=1.0)
    table = tracks(tmp_path)
    write_feature_store(tmp_path / "features", table.iloc[:2], cfg=cfg, workers=1, progress=False)
    before = np.array(open_feature_store(tmp_path / "features").frames)

    real, calls = store.file_frames, []

    def dying_worker(path, *, cfg):
        calls.append(path)
        if len(calls) == 3:
            raise MemoryError("killed mid-write")
        return real(path, cfg=cfg)

    monkeypatch.setattr(store, "file_frames", dying_worker)
    with pytest.raises(MemoryError):  # after two one-clip shards were written
        write_feature_store(tmp_path / "features", table, cfg=cfg, workers=1, shard_clips=1, progress=False)
    kept = open_feature_store(tmp_path / "features")
    np.testing.assert_array_equal(np.array(kept.frames), before)
    assert kept.index["track_id"].nunique() == 2

    monkeypatch.setattr(store, "file_frames", real)
    write_feature_store(tmp_path / "features", table, cfg=cfg, workers=1, progress=False)
    assert open_feature_store(tmp_path / "features").index["track_id"].nunique() == 4


def test_bad_file_is_listed_and_skipped_not_fatal(tmp_path, broken_files):
    cfg = FeatureConfig(n_mels=16, frame_seconds=1.0, frame_hop_seconds=1.0)
    table = tracks(tmp_path, n=2)
    bad = {"track_id": "g/bad", "path": str(broken_files["truncated"]), "genre": "g", "label": 0, "split": "train"}
    table = pd.concat([table, pd.DataFrame([bad])], ignore_index=True)
    write_feature_store(tmp_path / "f", table, cfg=cfg, workers=2, progress=False)
    store = open_feature_store(tmp_path / "f")
    assert list(store.failures["track_id"]) == ["g/bad"] and "cannot decode" in store.failures["reason"].iloc[0]
    assert store.frames.shape == (4, cfg.frame_columns, 16)  # two 2.5 s clips, two 1 s frames each
