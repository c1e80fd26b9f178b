"""Training: AdamW + cross-entropy on augmented frames, epoch chosen on clip-level validation, seeded, resumable.

The batches come from `genrecrnn.features.batches.FrameBatches` (read from the memory-mapped feature store,
shuffled every epoch, each with an augmentation plan drawn from seeded generators); this module holds
`train_crnn`, `AugmentedTraining` (the model that applies those plans in its training graph), the
schedule and input statistics; the callbacks (clip-level validation, resumable early stopping) are in
:mod:`genrecrnn.model.callbacks`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from genrecrnn.config.outputs import CHECKPOINT_LOG
from genrecrnn.config.sections import AugmentParams, ModelParams, TrainParams
from genrecrnn.features.augment import apply_augmentation
from genrecrnn.features.batches import FrameBatches
from genrecrnn.features.store import FeatureStore
from genrecrnn.model.callbacks import ResumableEarlyStopping, ResumeBatches, ValClipScores
from genrecrnn.model.crnn import build_crnn
from genrecrnn.model.distribute import batch_dataset, fit_under_strategy, precision_policy, strategy_for
from genrecrnn.util.errors import DataError
from genrecrnn.util.fileio import atomic_write_text
from genrecrnn.util.threads import LOADER_THREADS, configure_tensorflow, reuse_freed_memory, single_threaded_blas

log = logging.getLogger(__name__)


def set_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TF ops deterministic (same run -> same numbers on CPU)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def input_statistics(
    frames: np.ndarray, rows: np.ndarray, *, per_band: bool = True, max_frames: int = 2000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (dB) per mel band (n_mels,) over a seeded sample of training frames.

    With `per_band` False both are one value over all bands, repeated to (n_mels,).
    """
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(rows, size=min(len(rows), max_frames), replace=False))
    values = np.asarray(frames[sample], dtype=np.float64)
    axes = (0, 1) if per_band else None
    mean, std = values.mean(axis=axes), values.std(axis=axes)
    n_mels = values.shape[2]
    return np.broadcast_to(mean, (n_mels,)).astype(np.float32), np.broadcast_to(std, (n_mels,)).astype(np.float32)


def learning_rate_schedule(
    peak: float, *, epochs: int, warmup_epochs: int, steps_per_epoch: int
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up from 0 to `peak` over `warmup_epochs`, then cosine decay to 0 at the last epoch."""
    warmup = min(warmup_epochs, max(epochs - 1, 0)) * steps_per_epoch
    decay = max(epochs * steps_per_epoch - warmup, 1)
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(peak, decay)
    return keras.optimizers.schedules.CosineDecay(0.0, decay, warmup_target=peak, warmup_steps=warmup)


def run_length(train: TrainParams, steps_per_epoch: int) -> tuple[int, int, int]:
    """(epochs, warm-up epochs, patience in epochs) of a run with `steps_per_epoch` batches per epoch.

    With `train.steps` = 0 these are `train.epochs`, `warmup_epochs` and `patience`. Otherwise the run
    lasts ceil(steps / steps_per_epoch) epochs, and warm-up and patience keep their share of it
    (scaled by that count / `train.epochs`, rounded): a small data set then gets as many optimizer
    steps as a large one instead of as many passes, and a set of `steps / epochs` batches an epoch
    trains exactly as with `steps` = 0.
    """
    if train.steps == 0:
        return train.epochs, train.warmup_epochs, train.patience
    epochs = max(1, math.ceil(train.steps / max(steps_per_epoch, 1)))
    scale = epochs / train.epochs
    return epochs, round(train.warmup_epochs * scale), max(1, round(train.patience * scale)) if train.patience else 0


def schedule_per_epoch(train: TrainParams, *, steps_per_epoch: int) -> pd.DataFrame:
    """The learning rate of every planned epoch (1-based): `epoch`, `learning_rate` (mean over the epoch's steps)
    and `first_step` (at its first step), from the schedule train_crnn builds for `steps_per_epoch` batches."""
    epochs, warmup_epochs, _ = run_length(train, steps_per_epoch)
    schedule = learning_rate_schedule(
        train.learning_rate, epochs=epochs, warmup_epochs=warmup_epochs, steps_per_epoch=steps_per_epoch
    )
    rates = np.array([float(schedule(step)) for step in range(epochs * steps_per_epoch)]).reshape(epochs, -1)
    return pd.DataFrame(
        {"epoch": np.arange(1, epochs + 1), "learning_rate": rates.mean(axis=1), "first_step": rates[:, 0]}
    )


def augmentation_example(
    store: FeatureStore, *, train: TrainParams, seed: int, n_genres: int, count: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The first `count` frames of the first training batch as train_crnn feeds it (same seed, augmentation, fill):
    (stored frames, augmented frames) each (count, time, mels) in dB, (their one-hot labels, the labels after mixup)."""
    seed = seed if train.seed is None else train.seed
    rows = store.split("train")
    mean, _ = input_statistics(store.frames, rows["row"].to_numpy(), per_band=train.input_norm == "band", seed=seed)
    batches = FrameBatches.of_split(
        store, rows, n_classes=n_genres, batch_size=train.batch_size, shuffle=True, seed=seed,
        augment=_augment_of(train), fill=mean,
    )  # fmt: skip
    batches.skip_epochs(1)  # Keras's fit advances a PyDataset by one epoch before the first (see train_crnn)
    pick = batches.batch_positions(0)[:count]
    x, y = batches.augmented(0)
    original = np.asarray(store.frames[batches.rows[pick]])
    return original, x[:count], batches.onehot[batches.labels[pick]], y[:count]


class AugmentedTraining(keras.Model):
    """The classifier as `fit` trains it on augmented batches: a plan (a dict, see FrameBatches) is applied
    in the graph, then the classifier; plain frames (validation) go straight to the classifier.

    Augmenting inside the training step runs that work on TensorFlow's thread pool, between its ops,
    rather than in loader threads that take cores from it mid-step (issue 20). Holds no weights of
    its own: training it trains `classifier`, which is what gets saved.
    """

    def __init__(self, classifier: keras.Model, fill: np.ndarray) -> None:
        super().__init__(name="augmented_training")
        self.classifier = classifier
        self.fill = np.asarray(fill, np.float32)  # what SpecAugment masks write, per band (the training mean)
        self.built = classifier.built

    def call(self, inputs, training: bool = False):
        if isinstance(inputs, Mapping):
            inputs = apply_augmentation(inputs, self.fill)
        return self.classifier(inputs, training=training)


def training_model(classifier: keras.Model, batches: FrameBatches) -> keras.Model:
    """The model `fit` runs on `batches`: AugmentedTraining around the classifier if they carry plans, else itself."""
    return classifier if batches.augment is None else AugmentedTraining(classifier, batches.fill)


def _augment_of(train: TrainParams) -> AugmentParams | None:
    """train.augment at its strength, or None when every augmentation is off (the plain loader)."""
    augment = train.augment.at_strength()
    return None if augment == AugmentParams() else augment


def run_id(*parts: object) -> str:
    """Short stable hash of the settings that define a training run (names its checkpoint folder)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def train_crnn(
    store: FeatureStore,
    *,
    n_genres: int,
    model: ModelParams,
    train: TrainParams,
    seed: int,
    checkpoint_root: Path | str | None = None,
    data_id: str = "",
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 2,
) -> tuple[keras.Model, pd.DataFrame]:
    """Train the CRNN (`model` section) on the store's train split as `train` says, select the epoch on val.

    Returns (the CRNN with the kept epoch's weights, the per-epoch history); save it with
    :func:`genrecrnn.model.classifier.save_classifier` (it writes the genres and feature settings too).

    AdamW (decoupled `weight_decay`) with a warm-up + cosine learning-rate schedule peaking at
    `learning_rate`; training batches are augmented by `train.augment`; the input is standardised
    per mel band (`input_norm="band"`) or with one mean and std ("global"), from training frames.
    After every epoch the val clips are scored (`ValClipScores`) and the weights of the epoch with
    the best `val_clip_score` are kept; training stops after `patience` epochs without improvement.
    If `checkpoint_root` is given, the state is backed up there after every epoch, early-stopping
    state included (best weights, best score, patience counter), keyed by a hash of all settings, of
    the store's frame index (tracks and their split) and of `data_id` (the data manifest's
    checksum); a rerun with the same settings and data resumes from the last finished epoch and
    ends with the weights an uninterrupted run would. `train.distribute` ("none", "mirrored",
    "multi_worker"; see genrecrnn.model.distribute) trains under that tf.distribute strategy on a tf.data
    pipeline of the same batches, `batch_size` being the global batch split across replicas;
    `train.mixed_float16` computes in float16 with float32 weights (GPUs).
    """
    seed = seed if train.seed is None else train.seed  # data and split keep the top-level seed (data stage)
    augment = _augment_of(train)
    train_rows, val = store.split("train"), store.split("val")
    if train_rows.empty or val.empty:
        raise DataError("the feature store has no train or no val frames; check the split (data stage)")
    configure_tensorflow()  # before TensorFlow runs its first op (genrecrnn.util.threads)
    reuse_freed_memory()  # the loader's batch arrays stay mapped (genrecrnn.util.threads)
    set_determinism(seed)
    mean, std = input_statistics(
        store.frames, train_rows["row"].to_numpy(), per_band=train.input_norm == "band", seed=seed
    )
    time_steps, n_mels = store.config.frame_shape
    strategy = strategy_for(train.distribute)
    policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(precision_policy(train.mixed_float16))
    try:
        with strategy.scope():
            crnn = build_crnn(
                time_steps=time_steps, n_mels=n_mels, n_genres=n_genres, params=model, input_mean=mean, input_std=std,
                profile_bands=store.config.profile_bands,
            )  # fmt: skip
    finally:
        keras.mixed_precision.set_dtype_policy(policy)
    train_batches = FrameBatches.of_split(
        store, train_rows, n_classes=n_genres, batch_size=train.batch_size, shuffle=True, seed=seed,
        augment=augment, fill=mean, workers=LOADER_THREADS if augment is not None else 1,
    )  # fmt: skip
    val_batches = FrameBatches.of_split(store, val, n_classes=n_genres, batch_size=train.batch_size, shuffle=False)
    epochs, warmup_epochs, patience = run_length(train, len(train_batches))
    schedule = learning_rate_schedule(
        train.learning_rate, epochs=epochs, warmup_epochs=warmup_epochs, steps_per_epoch=len(train_batches)
    )
    # One-hot labels, so that mixup's soft labels and plain ones go through the same loss.
    with strategy.scope():
        # Under a strategy the tf.data input applies the plans (batch_dataset); fit then sees frames.
        fitted = training_model(crnn, train_batches) if train.distribute == "none" else crnn
        fitted.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=train.weight_decay),
            loss=keras.losses.CategoricalCrossentropy(),
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
    backup = None
    if checkpoint_root is not None:
        key = run_id(
            data_id,
            hashlib.md5(store.index.to_csv(index=False).encode()).hexdigest(),  # frames, tracks and their split
            model,
            train,
            seed,
            store.config,
            len(store.index),
        )
        backup = Path(checkpoint_root) / key
        log.info("checkpoints in %s (a rerun with the same settings and data resumes there)", backup)
        backup.mkdir(parents=True, exist_ok=True)
    early_stopping = ResumableEarlyStopping(
        None if backup is None else backup / "early_stopping",
        monitor="val_clip_score",
        mode="max",
        patience=patience,
        restore_best_weights=True,
    )
    # The validation scores must be in the logs before anything reads them; early stopping saves its
    # state before BackupAndRestore saves the weights (see ResumableEarlyStopping).
    callbacks = [
        ValClipScores(val_batches, val["track_id"].to_numpy()),
        *(
            []
            if backup is None
            else [
                early_stopping,
                keras.callbacks.BackupAndRestore(str(backup / "state")),
                ResumeBatches(train_batches),
                keras.callbacks.CSVLogger(str(backup / CHECKPOINT_LOG), append=True),
            ]
        ),
        *([early_stopping] if backup is None else []),
        *(callbacks or []),
    ]
    if train.distribute == "none":
        with single_threaded_blas():
            result = fitted.fit(train_batches, epochs=epochs, callbacks=callbacks, verbose=verbose)
    else:
        # Keras's fit advances a PyDataset by one epoch before the first (EpochIterator.reset calls
        # on_epoch_end), so `none` trains epoch e on the FrameBatches of epoch e + 1: so does tf.data.
        dataset = batch_dataset(train_batches, epochs=epochs, first_epoch=1)
        fit_under_strategy(fitted, val_batches[0])
        with single_threaded_blas():
            result = fitted.fit(
                dataset,
                epochs=epochs,
                steps_per_epoch=len(train_batches),
                shuffle=False,
                callbacks=callbacks,
                verbose=verbose,
            )
    history = pd.DataFrame(result.history)
    history.insert(0, "epoch", result.epoch)
    if backup is not None and (backup / CHECKPOINT_LOG).is_file():
        # After a resume, the CSV log holds the epochs run before the interruption as well.
        logged = pd.read_csv(backup / CHECKPOINT_LOG).drop_duplicates("epoch", keep="last")
        history = logged[["epoch", *[c for c in history.columns if c != "epoch"]]].reset_index(drop=True)
    history["selected"] = history["epoch"] == history.loc[history["val_clip_score"].idxmax(), "epoch"]
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    return crnn, history


def save_history(history: pd.DataFrame, path: Path | str) -> None:
    """Write the per-epoch history as CSV, atomically."""
    atomic_write_text(path, history.to_csv(index=False))
