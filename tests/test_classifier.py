import json

import numpy as np
import pytest

from genrecrnn.config.sections import DataParams, ModelParams
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.model.classifier import SYNTHETIC_NOTE, load_classifier, metadata_path, save_classifier, training_note
from genrecrnn.model.crnn import build_crnn, save_model
from genrecrnn.util.errors import ModelError

CFG = FeatureConfig(n_mels=16, frame_seconds=1.0, frame_hop_seconds=1.0)


def small_model(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    widths = ModelParams(filters=(2, 2, 2, 2, 2), lstm_units=2, dense_units=2)
    return build_crnn(time_steps=CFG.frame_columns, n_mels=CFG.n_mels, n_genres=2, params=widths)


def test_one_call_writes_model_and_sidecar_and_they_load_back(tmp_path):
    path = tmp_path / "models" / "crnn.keras"
    saved = save_classifier(path, model=small_model(), genres=["x", "y"], feature_config=CFG)
    assert sorted(p.name for p in path.parent.iterdir()) == ["crnn.json", "crnn.keras"]  # no temporary left
    meta = json.loads(metadata_path(path).read_text())
    assert meta["genres"] == ["x", "y"] and meta["model_id"] == saved.model_id
    loaded = load_classifier(path)
    assert (loaded.genres, loaded.feature_config, loaded.model_id) == (["x", "y"], CFG, saved.model_id)
    frames = np.random.default_rng(0).normal(-40, 10, (3, *CFG.frame_shape)).astype(np.float32)
    np.testing.assert_allclose(loaded.model(frames), saved.model(frames), rtol=1e-6)


def test_the_sidecar_records_the_training_data_and_older_ones_still_load(tmp_path):
    path = tmp_path / "crnn.keras"
    save_classifier(path, model=small_model(), genres=["x", "y"], feature_config=CFG, data=DataParams(difficulty=0.8))
    loaded = load_classifier(path)
    assert loaded.training_data == {"source": "synthetic", "difficulty": 0.8, "timbre": "shared"}
    assert training_note(loaded) == SYNTHETIC_NOTE
    save_classifier(path, model=small_model(), genres=["x", "y"], feature_config=CFG, data=DataParams(source="folder"))
    assert load_classifier(path).training_data == {"source": "folder"}
    meta = json.loads(metadata_path(path).read_text())
    del meta["training_data"]  # as written before the field existed
    metadata_path(path).write_text(json.dumps(meta))
    loaded = load_classifier(path)
    assert loaded.training_data == {} and training_note(loaded) == ""


def test_a_sidecar_beside_another_model_is_caught(tmp_path):
    path = tmp_path / "crnn.keras"
    save_classifier(path, model=small_model(0), genres=["x", "y"], feature_config=CFG)
    save_model(small_model(1), path)  # the .keras replaced without its sidecar
    with pytest.raises(ModelError, match="describes another model"):
        load_classifier(path)


def test_missing_sidecar_or_wrong_shape_says_retrain(tmp_path):
    path = tmp_path / "crnn.keras"
    save_model(small_model(), path)
    with pytest.raises(ModelError, match="metadata not found.*dvc repro"):
        load_classifier(path)
    with pytest.raises(ModelError, match="does not match"):
        save_classifier(path, model=small_model(), genres=["x", "y", "z"], feature_config=CFG)
