"""Training: Adam + cross-entropy, early stopping on validation loss, seeded, resumable.

Frames are read from the memory-mapped feature store batch by batch (an index-shuffling
PyDataset), so the feature set is never copied into memory; batches are shuffled every epoch
with a seeded generator.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from genrecrnn.errors import DataError
from genrecrnn.features import FeatureStore
from genrecrnn.fileio import atomic_write_text
from genrecrnn.model import build_crnn, save_model

log = logging.getLogger(__name__)
HISTORY_FILE = "history.csv"


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TF ops deterministic (same run -> same numbers on CPU)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class FrameBatches(keras.utils.PyDataset):
    """Batches of (frames, labels) read from a memory-mapped array by row index, reshuffled each epoch."""

    def __init__(
        self,
        frames: np.ndarray,
        rows: np.ndarray,
        labels: np.ndarray,
        *,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if len(rows) != len(labels):
            raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
        self.frames, self.batch_size, self.shuffle = frames, batch_size, shuffle
        self.rows, self.labels = np.asarray(rows), np.asarray(labels, dtype=np.int32)
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.rows))
        self.on_epoch_end()

    @classmethod
    def of_split(cls, store: FeatureStore, split: pd.DataFrame, **kwargs) -> FrameBatches:
        """Batches over the rows of one split of a feature store (its frame-index rows and labels)."""
        return cls(store.frames, split["row"].to_numpy(), split["label"].to_numpy(), **kwargs)

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        pick = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        # Reading rows in file order keeps memmap access sequential; the batch's membership is random.
        pick = pick[np.argsort(self.rows[pick])]
        return np.asarray(self.frames[self.rows[pick]]), self.labels[pick]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)


def input_statistics(
    frames: np.ndarray, rows: np.ndarray, *, max_frames: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard deviation (dB) over a seeded sample of at most `max_frames` training frames."""
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(rows, size=min(len(rows), max_frames), replace=False))
    values = np.asarray(frames[sample], dtype=np.float64)
    return float(values.mean()), float(values.std())


def run_id(*parts: object) -> str:
    """Short stable hash of the settings that define a training run (names its checkpoint folder)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def train_crnn(
    store: FeatureStore,
    *,
    n_genres: int,
    model_params: dict,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
    model_path: Path | str,
    checkpoint_root: Path | str | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 2,
) -> pd.DataFrame:
    """Train the CRNN on the store's train split, early-stopped on its val split; save it; return the history.

    If `checkpoint_root` is given, the state is backed up there after every epoch (keyed by a hash
    of all settings) and a rerun with the same settings resumes from the last finished epoch.
    """
    train, val = store.split("train"), store.split("val")
    if train.empty or val.empty:
        raise DataError("the feature store has no train or no val frames; check the split (data stage)")
    set_determinism(seed)
    mean, std = input_statistics(store.frames, train["row"].to_numpy(), seed=seed)
    frames, n_mels = store.config.frame_shape
    model = build_crnn(
        frames=frames,
        n_mels=n_mels,
        n_genres=n_genres,
        input_mean=mean,
        input_std=std,
        **model_params,
    )
    # Sparse categorical cross-entropy is categorical cross-entropy with integer labels.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    train_batches = FrameBatches.of_split(store, train, batch_size=batch_size, shuffle=True, seed=seed)
    val_batches = FrameBatches.of_split(store, val, batch_size=batch_size, shuffle=False)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        *(callbacks or []),
    ]
    backup = None
    if checkpoint_root is not None:
        key = run_id(
            model_params,
            epochs,
            batch_size,
            learning_rate,
            patience,
            seed,
            store.config,
            len(store.index),
        )
        backup = Path(checkpoint_root) / key
        log.info("checkpoints in %s (a rerun with the same settings resumes there)", backup)
        callbacks = [
            keras.callbacks.BackupAndRestore(str(backup / "state")),
            keras.callbacks.CSVLogger(str(backup / HISTORY_FILE), append=True),
            *callbacks,
        ]
        backup.mkdir(parents=True, exist_ok=True)
    result = model.fit(
        train_batches,
        validation_data=val_batches,
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    history = pd.DataFrame(result.history)
    history.insert(0, "epoch", result.epoch)
    if backup is not None and (backup / HISTORY_FILE).is_file():
        # After a resume, the CSV log holds the epochs run before the interruption as well.
        logged = pd.read_csv(backup / HISTORY_FILE).drop_duplicates("epoch", keep="last")
        history = logged[["epoch", *[c for c in history.columns if c != "epoch"]]].reset_index(drop=True)
    save_model(model, model_path)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    return history


def save_history(history: pd.DataFrame, path: Path | str) -> None:
    """Write the per-epoch history as CSV, atomically."""
    atomic_write_text(path, history.to_csv(index=False))
