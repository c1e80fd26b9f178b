"""The saved model: a .keras file and its JSON sidecar, written together and loaded together.

The sidecar (``crnn.json`` beside ``crnn.keras``) holds what the network alone does not know: the
genre names in label order, the feature settings it was trained with, the id of its weights and
the data it was trained on (``data.source``, with the synthetic set's settings), so a model can be
used without the pipeline's params.yaml, a sidecar left beside another model's file is caught on
loading, and a model of synthetic genres says so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from genrecrnn.config.sections import DataParams
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.model.crnn import input_shape, load_model, save_model
from genrecrnn.util.errors import ModelError
from genrecrnn.util.fileio import atomic_write_json


@dataclass
class Classifier:
    """A trained model with the genre names and feature settings it was trained with."""

    model: keras.Model
    genres: list[str]
    feature_config: FeatureConfig
    model_id: str
    training_data: dict = field(default_factory=dict)  # training_data_of(params.data); {} in older sidecars


# The data.* keys a sidecar records of the synthetic set, besides data.source (dvc.yaml's train stage lists them).
SYNTHETIC_KEYS = ("difficulty", "timbre")
SYNTHETIC_NOTE = "this model was trained on the built-in synthetic genres, not real music; its genres are synthetic"


def training_data_of(data: DataParams) -> dict:
    """What a sidecar records of the training data: {"source": ...}, plus SYNTHETIC_KEYS for the synthetic set."""
    synthetic = {key: getattr(data, key) for key in SYNTHETIC_KEYS} if data.source == "synthetic" else {}
    return {"source": data.source, **synthetic}


def training_note(classifier: Classifier) -> str:
    """One sentence a user of the model must hear about its genres ("" when there is none)."""
    return SYNTHETIC_NOTE if classifier.training_data.get("source") == "synthetic" else ""


def metadata_path(model_path: Path | str) -> Path:
    """The JSON sidecar (genres, feature settings, weights id) saved beside a .keras model."""
    return Path(model_path).with_suffix(".json")


def weights_id(model: keras.Model) -> str:
    """Short hash of a model's weights: the same trained model gives the same id, whatever its file's timestamps."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()[:16]


def save_classifier(
    model_path: Path | str,
    *,
    model: keras.Model,
    genres: list[str],
    feature_config: FeatureConfig,
    data: DataParams | None = None,
) -> Classifier:
    """Write the .keras model and its sidecar, each atomically; returns the Classifier they load as.

    `data`: the params.yaml `data` section the model was trained on (recorded by training_data_of).
    """
    training_data = {} if data is None else training_data_of(data)
    classifier = Classifier(model, list(genres), feature_config, weights_id(model), training_data)
    _check_fits(classifier, name=str(model_path))
    save_model(model, model_path)
    atomic_write_json(
        metadata_path(model_path),
        {
            "genres": classifier.genres,
            "features": asdict(feature_config),
            "model_id": classifier.model_id,
            "training_data": training_data,
        },
    )
    return classifier


def load_classifier(model_path: Path | str) -> Classifier:
    """Load model + sidecar (safe mode); ModelError saying how to make one if either is missing or they disagree."""
    model_path = Path(model_path)
    model = load_model(model_path)
    meta_file = metadata_path(model_path)
    if not meta_file.is_file():
        raise ModelError(f"{meta_file}: model metadata not found beside {model_path}; retrain with `dvc repro`")
    meta = json.loads(meta_file.read_text())
    classifier = Classifier(
        model,
        list(meta["genres"]),
        FeatureConfig(**meta["features"]),
        weights_id(model),
        meta.get("training_data", {}),  # older sidecars have none
    )
    _check_fits(classifier, name=f"{model_path} and its metadata {meta_file}")
    # Sidecars written before the weights id was recorded have none to compare.
    if meta.get("model_id", classifier.model_id) != classifier.model_id:
        raise ModelError(
            f"{meta_file} describes another model (weights id {meta['model_id']}, {model_path} has "
            f"{classifier.model_id}); retrain with `dvc repro` or save both with save_classifier"
        )
    return classifier


def _check_fits(classifier: Classifier, *, name: str) -> None:
    """Raise ModelError unless the network's input and output fit the feature settings and genres."""
    model = classifier.model
    if input_shape(model) != classifier.feature_config.frame_shape or model.output_shape[-1] != len(classifier.genres):
        raise ModelError(
            f"{name}: model shape does not match the genres and feature settings; retrain with `dvc repro`"
        )
