"""The validation stage's outputs: metrics.json, per-genre and confusion tables, clip predictions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genrecrnn import __version__
from genrecrnn.dataset import manifest_checksum, read_dataset_index
from genrecrnn.evaluation import clip_probabilities, per_genre_table
from genrecrnn.fileio import atomic_write_json, atomic_write_text

CLIP_AGGREGATION = "mean"


def run_identifiers(root: Path, *, paths: dict, model_id: str) -> dict[str, str]:
    """Strings that trace a number to its run: package version, params hash, data checksum, model id."""
    from genrecrnn.config import load_params

    params = load_params(root / "params.yaml")
    manifest, _, _ = read_dataset_index(root / paths["dataset"])
    return {
        "genrecrnn_version": __version__,
        "params_md5": hashlib.md5(json.dumps(params, sort_keys=True).encode()).hexdigest(),
        "manifest_md5": manifest_checksum(manifest),
        "model_id": model_id,
    }


def clip_table(frames: pd.DataFrame, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """One row per clip: track_id, genre, label, predicted genre and label, and the mean probability of each genre."""
    clip_probs, ids, labels = clip_probabilities(probs, frames["track_id"].to_numpy(), frames["label"].to_numpy(),
                                                 method=CLIP_AGGREGATION)
    table = pd.DataFrame({"track_id": ids, "label": labels})
    table["genre"] = [genres[i] for i in labels]
    table["predicted_label"] = clip_probs.argmax(axis=1)
    table["predicted"] = [genres[i] for i in table["predicted_label"]]
    return pd.concat([table, pd.DataFrame(clip_probs, columns=[f"p_{g}" for g in genres])], axis=1)


def write_validation(results: Path, *, metrics: dict, frames: pd.DataFrame, probs: np.ndarray,
                     genres: Sequence[str], identifiers: dict[str, str]) -> pd.DataFrame:
    """Write metrics.json, per_genre.csv, confusion.csv and predictions_test.csv (all clip level); return the clip table."""
    clips = clip_table(frames, probs, genres=genres)
    clip_probs = clips[[f"p_{g}" for g in genres]].to_numpy()
    per_genre = per_genre_table(clips["label"].to_numpy(), clip_probs, genres=genres)
    atomic_write_text(results / "per_genre.csv", per_genre.reset_index().to_csv(index=False))
    # DVC's confusion template counts (actual, predicted) rows.
    atomic_write_text(results / "confusion.csv",
                      clips[["genre", "predicted"]].set_axis(["actual", "predicted"], axis=1).to_csv(index=False))
    atomic_write_text(results / "predictions_test.csv", clips.round(6).to_csv(index=False))
    atomic_write_json(results / "metrics.json", {**metrics, "clip_aggregation": CLIP_AGGREGATION, **identifiers})
    return clips
