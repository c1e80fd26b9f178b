"""The callbacks train_crnn runs: each epoch scored on the val clips, restartable early stopping, resumed batches.

`ValClipScores` averages the val frames' probabilities per clip after every epoch and logs
val_clip_accuracy, val_clip_loss and their score; `ResumableEarlyStopping` keeps the best epoch's weights
on that score and carries its state through a checkpoint; `ResumeBatches` puts the batches where an
uninterrupted run has them.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from pathlib import Path

import keras
import numpy as np

from genrecrnn.features.batches import FrameBatches
from genrecrnn.metrics.scores import clip_probabilities
from genrecrnn.model.crnn import frame_predictor
from genrecrnn.util.fileio import atomic_dir, atomic_write_text

log = logging.getLogger(__name__)


class ResumeBatches(keras.callbacks.Callback):
    """Puts the training batches where an uninterrupted run has them at the epoch a resumed run starts from.

    BackupAndRestore (before it in the callback list) tells the epoch.
    """

    def __init__(self, batches: FrameBatches) -> None:
        super().__init__()
        self.batches = batches

    def on_train_begin(self, logs: dict | None = None) -> None:
        skipped = int(getattr(self.model, "_initial_epoch", None) or 0)
        # Keras may already have advanced the dataset's own counter; count from wherever it stands.
        self.batches.skip_epochs(skipped)
        # Keras shuffles the batch order of each epoch with Python's `random` (seeded by
        # set_determinism): draw the shuffles of the skipped epochs, so the next one is the same.
        for _ in range(skipped):
            random.shuffle(list(range(len(self.batches))))


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping whose state (best score and epoch, best weights, patience counter) survives a resume.

    After every epoch the state is written to `state_dir` (JSON plus the best weights as .npy files,
    loaded without pickle); on train begin, the state saved after the epoch before the one training
    resumes from is loaded. The last two epochs' states are kept, so a run killed between this
    callback's save and BackupAndRestore's still finds the state that matches the restored weights.
    """

    def __init__(self, state_dir: Path | str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state_dir = Path(state_dir) if state_dir is not None else None

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self._first_epoch = True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        # The first epoch's number says where BackupAndRestore resumed (it runs after this callback's
        # on_train_begin); load the state saved after the epoch before it.
        if not self._first_epoch:
            return
        self._first_epoch = False
        if self.state_dir is None or epoch == 0:
            return
        state_file = self.state_dir / f"state_{epoch - 1}.json"
        if not state_file.is_file():
            log.warning("no early-stopping state for epoch %d in %s: patience restarts", epoch, self.state_dir)
            return
        state = json.loads(state_file.read_text())
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        if state["best_weights"]:
            folder = self.state_dir / state["best_weights"]
            self.best_weights = [np.load(folder / f"{i}.npy", allow_pickle=False) for i in range(state["n_weights"])]
        log.info("resumed early stopping at epoch %d: best epoch %d, %d epoch(s) without improvement",
                 epoch + 1, self.best_epoch + 1, self.wait)  # fmt: skip

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        if self.state_dir is not None:
            self._save(epoch)

    def _save(self, epoch: int) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        weights = f"best_{self.best_epoch}" if self.best_weights is not None else ""
        if weights and not (self.state_dir / weights).is_dir():
            with atomic_dir(self.state_dir / weights) as tmp:
                for i, w in enumerate(self.best_weights):
                    np.save(tmp / f"{i}.npy", np.asarray(w), allow_pickle=False)
        state = {
            "epoch": epoch,
            "wait": self.wait,
            "best": None if self.best is None else float(self.best),
            "best_epoch": self.best_epoch,
            "best_weights": weights,
            "n_weights": len(self.best_weights or []),
        }
        atomic_write_text(self.state_dir / f"state_{epoch}.json", json.dumps(state))
        # Keep the last two states and the weights they name.
        kept = [f"state_{e}.json" for e in (epoch, epoch - 1)]
        states = [self.state_dir / k for k in kept if (self.state_dir / k).is_file()]
        named = {json.loads(k.read_text())["best_weights"] for k in states}
        for path in self.state_dir.iterdir():
            if path.name.startswith("state_") and path.name not in kept:
                path.unlink()
            elif path.name.startswith("best_") and path.is_dir() and path.name not in named:
                shutil.rmtree(path)


class ValClipScores(keras.callbacks.Callback):
    """Adds the val split's loss and accuracy per frame and per clip (frame probabilities averaged) to the logs.

    `val_clip_score` = clip accuracy - 0.01 x clip log loss: the accuracy decides, and among
    epochs within about one clip of each other the more confident one wins, so a small
    validation set does not pick an early, barely trained epoch on a tie.
    """

    def __init__(self, batches: FrameBatches, track_ids: np.ndarray) -> None:
        super().__init__()
        self.batches, self.track_ids = batches, np.asarray(track_ids)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        probs, labels = [], []
        # AugmentedTraining scores its classifier. Traced once: an eager call runs the LSTM step by step in Python.
        predict = frame_predictor(getattr(self.model, "classifier", self.model))
        for i in range(len(self.batches)):
            x, y = self.batches[i]
            probs.append(predict(x))
            labels.append(y.argmax(axis=1))
        p, y = np.concatenate(probs).astype(np.float64), np.concatenate(labels)
        clip_p, _, clip_y = clip_probabilities(p, self.track_ids, y, method="mean")
        scores = {
            "val_loss": _log_loss(y, p),
            "val_accuracy": float(np.mean(p.argmax(axis=1) == y)),
            "val_clip_loss": _log_loss(clip_y, clip_p),
            "val_clip_accuracy": float(np.mean(clip_p.argmax(axis=1) == clip_y)),
        }
        scores["val_clip_score"] = scores["val_clip_accuracy"] - 0.01 * scores["val_clip_loss"]
        if logs is not None:
            logs.update(scores)


def _log_loss(y: np.ndarray, probs: np.ndarray) -> float:
    """Mean cross-entropy (nats) of integer labels y (n,) under probs (n, k)."""
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0))))
