"""The saved model: a .keras file and its JSON sidecar, written together and loaded together.

The sidecar (``crnn.json`` beside ``crnn.keras``) holds what the network alone does not know: the
genre names in label order, the feature settings it was trained with, and the id of its weights,
so a model can be used without the pipeline's params.yaml and a sidecar left beside another
model's file is caught on loading.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from genrecrnn.errors import ModelError
from genrecrnn.features import FeatureConfig
from genrecrnn.fileio import atomic_write_json
from genrecrnn.model import input_shape, load_model, save_model


@dataclass
class Classifier:
    """A trained model with the genre names and feature settings it was trained with."""

    model: keras.Model
    genres: list[str]
    feature_config: FeatureConfig
    model_id: str


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
    model_path: Path | str, *, model: keras.Model, genres: list[str], feature_config: FeatureConfig
) -> Classifier:
    """Write the .keras model and its sidecar, each atomically; returns the Classifier they load as."""
    classifier = Classifier(model, list(genres), feature_config, weights_id(model))
    _check_fits(classifier, name=str(model_path))
    save_model(model, model_path)
    atomic_write_json(
        metadata_path(model_path),
        {"genres": classifier.genres, "features": asdict(feature_config), "model_id": classifier.model_id},
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
    classifier = Classifier(model, list(meta["genres"]), FeatureConfig(**meta["features"]), weights_id(model))
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
