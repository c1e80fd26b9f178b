"""Training speed: wall time of one CRNN epoch on GTZAN-size features (default 7000 frames of 129 x 128).

Measures seconds per epoch for
- candidate: the project's pipeline: genrecrnn.batches.FrameBatches reading batches from an
  np.memmap, genrecrnn.model.build_crnn (blocks conv -> pool -> batch norm -> ReLU, mel pooling
  (4, 2, 2, 2, 2)) compiled with Adam, cross-entropy and op determinism (`--lever augment` adds
  train_crnn's batch augmentation from params.yaml);
- reference: the plain way: the seed's five conv / five pool / LSTM / two dense CRNN built the
  obvious way (plain_crnn: conv -> batch norm -> ReLU -> pool, mel pooling (2, 2, 2, 4, 4)), fed
  with model.fit(X, y, batch_size=32, shuffle=True) from one in-memory array read from the file.
Features are random dB values written with np.memmap, labels random (so validation accuracy is
not measured here). Each variant runs in a fresh process, variants interleaved `--repeats`
times; epoch 1 (which includes graph tracing) is reported apart from the later, steady epochs,
whose median is the s/epoch figure. Also: time from start (data opened, model built) to the end of
the first batch, peak RSS and peak anonymous RSS (memory-mapped file pages excluded).
`--frames` runs fewer frames; s/epoch is then also scaled to 7000 frames (linear in steps).

    python benchmarks/bench_training.py --frames 2000 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from common import in_fresh_process, machine, peak_rss_mb, status_mb, table

GTZAN_FRAMES = 7000  # about 700 training clips x 10 frames of 3 s
FRAME_SHAPE = (129, 128)
N_GENRES = 10
BATCH_SIZE = 32
PLAIN_MEL_POOLS = (2, 2, 2, 4, 4)
TARGET_RATIO = 2.0
LEVERS = {  # possible changes to train.py/model.py, measured as extra candidate variants
    "threads1": "tf.config.threading intra_op=1, inter_op=1",
    "nodeterminism": "no tf.config.experimental.enable_op_determinism()",
    "augment": "train.augment of params.yaml on every batch (2 loader threads, as train_crnn)",
}


def write_features(folder: Path, n: int, *, seed: int = 0, chunk: int = 500) -> None:
    """Random log-mel-like frames (dB, float32, written through a memmap) in frames.npy, random labels in labels.npy."""
    rng = np.random.default_rng(seed)
    frames = np.lib.format.open_memmap(folder / "frames.npy", mode="w+", dtype=np.float32, shape=(n, *FRAME_SHAPE))
    for i in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - i), *FRAME_SHAPE), dtype=np.float32)
        frames[i : i + chunk] = block * 12.0 - 45.0
    frames.flush()
    np.save(folder / "labels.npy", rng.integers(0, N_GENRES, n))


def plain_crnn(keras, *, mean: float, std: float):
    """The reference: the seed's CRNN built the obvious way, each block conv -> batch norm -> ReLU -> pool,
    with the mel axis pooled late (2, 2, 2, 4, 4); same filters, LSTM and dense sizes as build_crnn's defaults."""
    from keras import layers

    inputs = keras.Input(shape=FRAME_SHAPE)
    x = layers.Reshape((*FRAME_SHAPE, 1))(inputs)
    x = layers.Normalization(mean=mean, variance=std**2)(x)
    for n_filters, pool in zip((16, 32, 64, 64, 64), zip((2, 2, 2, 2, 1), PLAIN_MEL_POOLS)):
        x = layers.Conv2D(n_filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D(pool)(x)
    x = layers.Reshape((x.shape[1], x.shape[2] * x.shape[3]))(x)
    x = layers.LSTM(64)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, layers.Dense(N_GENRES, activation="softmax")(x))


def run_variant(variant: str, folder: str, epochs: int, seed: int = 0) -> dict:
    """In a fresh process: train `variant` for `epochs`; epoch times, first-batch time, peak memory."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from genrecrnn import model as model_module
    from genrecrnn.batches import FrameBatches
    from genrecrnn.train import input_statistics, set_determinism

    lever = variant.partition("+")[2]
    if lever == "threads1":
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)

    class Clock(keras.callbacks.Callback):
        """Epoch wall times, time to the end of the first batch, peak anonymous RSS (sampled per batch)."""

        def __init__(self, start: float) -> None:
            super().__init__()
            self.start, self.first_batch, self.epochs, self.anon = start, None, [], status_mb("RssAnon") or 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_start = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.first_batch is None:
                self.first_batch = time.perf_counter() - self.start
            self.anon = max(self.anon, status_mb("RssAnon") or 0.0)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.epochs.append(time.perf_counter() - self.epoch_start)

    start = time.perf_counter()
    frames = np.load(Path(folder) / "frames.npy", mmap_mode="r")
    labels = np.load(Path(folder) / "labels.npy")
    if variant.startswith("candidate"):
        (keras.utils.set_random_seed if lever == "nodeterminism" else set_determinism)(seed)
        rows = np.arange(len(frames))
        mean, std = input_statistics(frames, rows, seed=seed)
        model = model_module.build_crnn(
            time_steps=FRAME_SHAPE[0], n_mels=FRAME_SHAPE[1], n_genres=N_GENRES, input_mean=mean, input_std=std
        )
        augment = {}
        if lever == "augment":
            from genrecrnn.config import load_params

            clip_end = (rows + 1) % 10 == 0  # the random frames stand for clips of 10 frames of 3 s
            augment = {
                "augment": load_params(Path(__file__).parents[1] / "params.yaml").train.augment,
                "next_rows": np.where(clip_end, rows, rows + 1),
                "workers": 2,
            }
        batches = FrameBatches(
            frames, rows, labels, n_classes=N_GENRES, batch_size=BATCH_SIZE, shuffle=True, seed=seed, **augment
        )
        data = {"x": batches}
    else:
        keras.utils.set_random_seed(seed)
        x = np.array(frames)  # the whole set in memory
        model = plain_crnn(keras, mean=float(x.mean()), std=float(x.std()))
        data = {"x": x, "y": labels, "batch_size": BATCH_SIZE, "shuffle": True}
    one_hot = variant.startswith("candidate")  # FrameBatches yields one-hot labels (mixup needs them)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    clock = Clock(start)
    model.fit(**data, epochs=epochs, verbose=0, callbacks=[clock])
    return {"epochs": clock.epochs, "first_batch": clock.first_batch, "rss": peak_rss_mb()[0], "anon": clock.anon}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=GTZAN_FRAMES, help=f"training frames (default {GTZAN_FRAMES})")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run, the first one apart (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved fresh-process runs per variant")
    parser.add_argument(
        "--lever", action="append", default=[], choices=sorted(LEVERS), help="also time the candidate with this change"
    )
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be >= 2: the first epoch includes graph tracing")
    variants = ["candidate", "reference", *[f"candidate+{lever}" for lever in args.lever]]
    folder = Path(tempfile.mkdtemp(prefix="bench_train_"))
    try:
        write_features(folder, args.frames)
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        for _ in range(args.repeats):
            for v in variants:
                runs[v].append(in_fresh_process(run_variant, v, str(folder), args.epochs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    scale = GTZAN_FRAMES / args.frames
    steady = {v: statistics.median(t for r in rs for t in r["epochs"][1:]) for v, rs in runs.items()}
    names = {
        "candidate": "candidate: FrameBatches, pools (4,2,2,2,2)",
        "reference": "reference: fit(X), pools (2,2,2,4,4)",
    }
    rows = []
    for v, rs in runs.items():
        rows.append(
            [
                names.get(v, f"{v}: {LEVERS.get(v.partition('+')[2], '')}"),
                steady[v],
                steady[v] * scale,
                statistics.median(r["epochs"][0] for r in rs),
                statistics.median(r["first_batch"] for r in rs),
                max(r["rss"] for r in rs),
                max(r["anon"] for r in rs),
            ]
        )
    print(
        f"\ntraining: {args.frames} frames of {FRAME_SHAPE}, batch {BATCH_SIZE}, {args.epochs} epochs per run, "
        f"{args.repeats} fresh-process runs per variant (medians; steady = epochs 2..{args.epochs})"
    )
    header = ["variant", "s/epoch", f"s/epoch @{GTZAN_FRAMES}", "epoch 1 s", "first batch s", "RSS MB", "anon MB"]
    print(table(header, rows))
    for v in variants[2:]:
        print(f"lever {v}: {steady['candidate'] / steady[v]:.2f}x the candidate's speed")
        paired_lever = statistics.median(
            statistics.median(r["epochs"][1:]) / statistics.median(c["epochs"][1:])
            for r, c in zip(runs[v], runs["candidate"], strict=True)
        )
        share = steady[v] / steady["candidate"]
        print(f"  {v} takes {share:.2f}x the candidate's epoch time (paired {paired_lever:.2f}x)")
    ratio = steady["reference"] / steady["candidate"]
    # Runs next to each other in time share the machine's load: the ratio within each repeat is steadier.
    paired = statistics.median(
        statistics.median(r["epochs"][1:]) / statistics.median(c["epochs"][1:])
        for r, c in zip(runs["reference"], runs["candidate"], strict=True)
    )
    cand, ref = steady["candidate"] * scale, steady["reference"] * scale
    scaled = f" (scaled from {args.frames})" if scale != 1 else ""
    print(
        f"\nsummary: candidate {cand:.1f} s/epoch vs reference {ref:.1f} s/epoch at {GTZAN_FRAMES} frames{scaled} = "
        f"{ratio:.2f}x, paired per repeat {paired:.2f}x (target >= {TARGET_RATIO:g}x); "
        f"validation accuracy not measured (random data); {machine()}"
    )


if __name__ == "__main__":
    main()
