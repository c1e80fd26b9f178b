"""Training batches: (frames, one-hot labels) read by row from the memory-mapped feature store, seeded.

Frames are read batch by batch (an index-shuffling PyDataset), so the feature set is never copied
into memory; batches are shuffled every epoch, and with augmentation each batch comes with its
augmentation plan, drawn from generators seeded by (seed, epoch, batch) (`genrecrnn.features.augment`):
the training model applies it in its graph.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pandas as pd

from genrecrnn.config.sections import AugmentParams
from genrecrnn.features.augment import (
    Plan,
    apply_augmentation,
    crop_positions,
    draw_augmentation,
    mix_labels,
    read_plan,
)
from genrecrnn.features.logmel import FeatureConfig
from genrecrnn.features.store import FeatureStore


def steps_per_epoch(n_frames: int, *, batch_size: int) -> int:
    """Batches (optimizer steps) in one epoch over `n_frames` frames: the last batch may be short."""
    return math.ceil(n_frames / batch_size)


class FrameBatches(keras.utils.PyDataset):
    """Batches of (frames, one-hot labels) read from a memory-mapped array by row index.

    With `shuffle`, the order is redrawn every epoch. With `augment`, a batch is (plan, labels): the
    stored frames with the clip's next stored frame's columns (`next_rows`, for random crops and
    tempo jitter) and every random draw of the augmentation (`genrecrnn.features.augment`), labels
    already mixed; `apply_augmentation(plan, fill)` makes the frames, in the training model's graph
    (`genrecrnn.model.train.AugmentedTraining`) or eagerly (`augmented`). All randomness comes from
    generators seeded by (seed, epoch, batch), so a batch does not depend on the order batches
    are asked for.
    """

    def __init__(
        self,
        frames: np.ndarray,
        rows: np.ndarray,
        labels: np.ndarray,
        *,
        n_classes: int,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        augment: AugmentParams | None = None,
        next_rows: np.ndarray | None = None,
        feature_config: FeatureConfig | None = None,
        fill: np.ndarray | None = None,
        workers: int = 1,
    ) -> None:
        # Worker threads read (and draw plans for) the next batches while the model trains on this one;
        # per-batch seeds keep the batches independent of thread timing.
        super().__init__(workers=workers, use_multiprocessing=False)
        if len(rows) != len(labels):
            raise ValueError(f"{len(rows)} rows but {len(labels)} labels")
        if augment is not None and augment.reads_next_frame and next_rows is None:
            raise ValueError("random crops and tempo jitter need next_rows (use FrameBatches.of_split)")
        if augment is not None and feature_config is None:
            raise ValueError("augmentation needs the feature_config the frames were cut with (FrameBatches.of_split)")
        self.frames, self.batch_size, self.shuffle, self.seed = frames, batch_size, shuffle, seed
        self.rows, self.labels = np.asarray(rows), np.asarray(labels, dtype=np.int64)
        self.onehot = np.eye(n_classes, dtype=np.float32)
        self.augment, self.next_rows = augment, next_rows
        # The framing the frames were cut with: frame hop, sample rate and columns per second for augmentation.
        self.feature_config = feature_config
        hop = feature_config.hop_columns if feature_config is not None else 0
        # A strip is the frame plus the columns the next frame adds; gappy framings (hop > frame) add none.
        self.extra = hop if hop <= frames.shape[1] else 0
        self.fill = fill if fill is not None else np.zeros(frames.shape[2], np.float32)
        self.epoch = 0
        self.order = self._order()

    @classmethod
    def of_split(cls, store: FeatureStore, split: pd.DataFrame, **kwargs) -> FrameBatches:
        """Batches over the rows of one split of a feature store (its frame-index rows and labels)."""
        index = store.index
        follows = (index["track_id"].shift(-1) == index["track_id"]) & (
            index["frame_index"].shift(-1) == index["frame_index"] + 1
        )
        return cls(
            store.frames,
            split["row"].to_numpy(),
            split["label"].to_numpy(),
            next_rows=np.where(follows, index["row"] + 1, index["row"]).astype(np.int64),
            feature_config=store.config,
            **kwargs,
        )

    def __len__(self) -> int:
        return steps_per_epoch(len(self.rows), batch_size=self.batch_size)

    def batch_positions(self, i: int) -> np.ndarray:
        """Positions (into `rows` and `labels`) of batch `i` of this epoch, in the order its frames are read."""
        pick = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        # Reading rows in file order keeps memmap access sequential; the batch's membership is random.
        return pick[np.argsort(self.rows[pick])]

    def __getitem__(self, i: int) -> tuple[np.ndarray | Plan, np.ndarray]:
        pick = self.batch_positions(i)
        rows, y = self.rows[pick], self.onehot[self.labels[pick]]
        if self.augment is None:
            return np.asarray(self.frames[rows]), y
        rng = np.random.default_rng([self.seed, self.epoch, i])
        plan = self._read(rows, rng) if self.augment.reads_next_frame else {"frames": np.asarray(self.frames[rows])}
        _, time, bands = plan["frames"].shape
        cfg = self.feature_config
        plan |= draw_augmentation(
            rng, len(rows), time=time, bands=bands, cfg=self.augment, sr=cfg.sample_rate,
            columns_per_second=cfg.sample_rate / cfg.hop_length, chroma_bands=cfg.n_bands - cfg.n_mels,
        )  # fmt: skip
        return plan, mix_labels(y, plan)

    def augmented(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch i as the model trains on it: (augmented frames (n, time, bands) in dB, labels), applied eagerly."""
        x, y = self[i]
        return (np.asarray(apply_augmentation(x, self.fill)), y) if self.augment is not None else (x, y)

    def _read(self, rows: np.ndarray, rng: np.random.Generator) -> Plan:
        """Plan entries reading each row's strip (frame + the next frame's new columns) at a random offset and tempo."""
        first = np.asarray(self.frames[rows])
        columns = first.shape[1]
        nxt = self.next_rows[rows]  # non-decreasing, as rows are sorted: still a sequential read
        extra = np.asarray(self.frames[nxt])[:, columns - self.extra :]
        span = np.where(nxt != rows, columns + self.extra, columns)  # a clip's last frame has no next
        positions = crop_positions(rng, span, columns=columns, crop=self.augment.crop, stretch=self.augment.stretch)
        return {"frames": first, "next": extra, **read_plan(positions)}

    def _order(self) -> np.ndarray:
        """This epoch's sample order: a seeded permutation if shuffling, else file order."""
        n = len(self.rows)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle else np.arange(n)

    def on_epoch_end(self) -> None:
        self.skip_epochs(1)

    def skip_epochs(self, n: int) -> None:
        """Advance by n epochs (a resumed run): the shuffles and augmentations an uninterrupted run would use."""
        if n:
            self.epoch += n
            self.order = self._order()
