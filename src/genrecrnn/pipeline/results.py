"""What each stage returns: the files it wrote and the tables its notebook explores (genrecrnn.pipeline.stages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DataResult:
    """The data stage's index: manifest (one row per file found), split (usable files), split-file names not found."""

    manifest: pd.DataFrame
    split: pd.DataFrame
    missing: list[str]
    folder: Path


@dataclass(frozen=True)
class PreprocessResult:
    """What preprocess wrote (the frame index of the feature store) and the data set it read, for exploring."""

    identity: dict[str, str]
    cfg: Any  # genrecrnn.features.logmel.FeatureConfig
    manifest: pd.DataFrame
    split: pd.DataFrame
    genres: list[str]
    tracks: pd.DataFrame  # usable files with their split
    index: pd.DataFrame  # one row per stored frame
    examples: dict[str, np.ndarray]  # genre -> audio (sample_rate Hz) of its first training clip
    figures: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult:
    """The trained model's files, its per-epoch history and the epoch kept (1-based), for exploring."""

    identity: dict[str, str]
    genres: list[str]
    frames_per_split: pd.DataFrame
    history: pd.DataFrame  # one row per epoch run, epoch counted from 0 (Keras), as history.csv
    kept_epoch: int  # 1-based
    steps_per_epoch: int
    seed: int  # training's seed (train.seed, else the top-level seed)
    model_path: Path
    history_path: Path
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def kept(self) -> pd.Series:
        """The history row of the kept epoch."""
        return self.history.loc[self.history["selected"]].iloc[0]


@dataclass(frozen=True)
class ValidateResult:
    """The validate stage's numbers on the test split and the files it wrote, for exploring."""

    identity: dict[str, str]
    genres: list[str]
    n_frames: int
    headline: dict  # the metrics.json document
    summary: pd.DataFrame  # every metric of each model and level (summary.csv)
    clips: pd.DataFrame  # the CRNN's clip table
    confusion: pd.DataFrame  # clip-level confusion matrix, true genre x predicted genre
    per_genre: pd.DataFrame  # the CRNN's per-genre metrics (per_genre.csv)
    baseline_per_genre: dict[str, pd.DataFrame]  # baseline label -> its per-genre metrics
    figures: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class PredictResult:
    """The files classified (PredictionRun: results, failures), the model's genres and the JSON written."""

    identity: dict[str, str]
    run: Any  # genrecrnn.predict.inference.PredictionRun, run to the end
    genres: list[str]
    table: pd.DataFrame  # one row per classified file
    written: Path
