"""Feature-store format and tf.data input speed (random frames of 129 x 128, GTZAN-size by default).

1. Format: frames/s of one epoch of training reads, in batches of 32 drawn at random (rows sorted
   within the batch, as FrameBatches reads them), from
   - npy shards (the store: np.load(mmap_mode="r") per shard of 320 frames, genrecrnn.features.store.ShardedFrames);
   - one flat float32 memmap (the store before sharding);
   - TFRecord shards (one serialised frame per record, tf.data interleave over shards + parse +
     shuffle buffer + batch): TFRecord has no random access, so it is scanned in full each epoch.
   Files are read once before timing (page cache warm for all).
2. Input wait: train_crnn's tf.data path (distribute != none): the model trains on batches from
   genrecrnn.model.distribute.batch_dataset (FrameBatches with params.yaml's augmentation, interleave +
   prefetch); the time each step waits for its batch is summed against the step time (target <= 5%).

    python benchmarks/bench_store.py --frames 3200
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from common import machine, table

FRAME_SHAPE = (129, 128)
SHARD_FRAMES = 320  # 32 clips x 10 frames, the default store's shards
BATCH = 32


def write_formats(folder: Path, n: int, seed: int = 0) -> None:
    """The same random frames as npy shards, one flat .f32 file and TFRecord shards."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    flat = np.memmap(folder / "flat.f32", dtype=np.float32, mode="w+", shape=(n, *FRAME_SHAPE))
    for k, start in enumerate(range(0, n, SHARD_FRAMES)):
        block = (rng.standard_normal((min(SHARD_FRAMES, n - start), *FRAME_SHAPE), dtype=np.float32) * 12) - 45
        np.save(folder / f"shard-{k:05d}.npy", block)
        flat[start : start + len(block)] = block
        with tf.io.TFRecordWriter(str(folder / f"shard-{k:05d}.tfrecord")) as writer:
            for row, frame in enumerate(block):
                feature = {
                    "frame": tf.train.Feature(bytes_list=tf.train.BytesList(value=[frame.tobytes()])),
                    "row": tf.train.Feature(int64_list=tf.train.Int64List(value=[start + row])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    flat.flush()
    for f in folder.iterdir():
        f.read_bytes()  # warm the page cache


def read_epoch_arrays(frames, n: int, seed: int) -> float:
    """Seconds to read every frame once in random batches of 32 (sorted rows per batch)."""
    order = np.random.default_rng(seed).permutation(n)
    t0 = time.perf_counter()
    total = 0.0
    for i in range(0, n, BATCH):
        rows = np.sort(order[i : i + BATCH])
        total += float(np.asarray(frames[rows])[:, 0, 0].sum())
    return time.perf_counter() - t0


def read_epoch_tfrecord(folder: Path, seed: int) -> float:
    """Seconds to read every frame once through tf.data from the TFRecord shards, shuffled and batched."""
    import tensorflow as tf

    spec = {"frame": tf.io.FixedLenFeature([], tf.string), "row": tf.io.FixedLenFeature([], tf.int64)}

    def parse(record):
        example = tf.io.parse_single_example(record, spec)
        return tf.reshape(tf.io.decode_raw(example["frame"], tf.float32), FRAME_SHAPE)

    files = sorted(str(f) for f in folder.glob("*.tfrecord"))
    dataset = (
        tf.data.Dataset.from_tensor_slices(files)
        .shuffle(len(files), seed=seed)
        .interleave(tf.data.TFRecordDataset, cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE)
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        .shuffle(2048, seed=seed)
        .batch(BATCH)
        .prefetch(tf.data.AUTOTUNE)
    )
    t0 = time.perf_counter()
    for batch in dataset:
        float(batch[:, 0, 0].numpy().sum())
    return time.perf_counter() - t0


def input_wait(n: int, steps: int) -> tuple[float, float]:
    """(share of step time spent waiting for input, median step s) of the tf.data training path."""
    import keras
    import pandas as pd

    from genrecrnn.config.loading import load_params
    from genrecrnn.features.batches import FrameBatches
    from genrecrnn.features.logmel import FeatureConfig
    from genrecrnn.features.store import FeatureStore, ShardedFrames
    from genrecrnn.model.crnn import build_crnn
    from genrecrnn.model.distribute import batch_dataset

    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    rng = np.random.default_rng(0)
    frames = ShardedFrames(
        [
            rng.standard_normal((SHARD_FRAMES, *FRAME_SHAPE), dtype=np.float32) * 12 - 45
            for _ in range(n // SHARD_FRAMES)
        ],
        FRAME_SHAPE,
    )
    clip = np.arange(len(frames)) // 10
    rows = np.arange(len(frames))
    index = pd.DataFrame({"row": rows, "track_id": clip.astype(str), "genre": "g", "label": clip % 10,
                          "split": "train", "frame_index": rows % 10})  # fmt: skip
    store = FeatureStore(frames, index, FeatureConfig(), pd.DataFrame())
    batches = FrameBatches.of_split(store, index, n_classes=10, batch_size=BATCH, shuffle=True, seed=0,
                                    augment=params.train.augment, workers=2)  # fmt: skip
    model = build_crnn(time_steps=FRAME_SHAPE[0], n_mels=FRAME_SHAPE[1], n_genres=10, params=params.model,
                       input_mean=np.zeros(128, np.float32), input_std=np.ones(128, np.float32))  # fmt: skip
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss=keras.losses.CategoricalCrossentropy())
    iterator = iter(batch_dataset(batches, epochs=2 + steps // len(batches)))
    x, y = next(iterator)
    model.train_on_batch(x, y)  # tracing
    waits, totals = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        x, y = next(iterator)
        t1 = time.perf_counter()
        model.train_on_batch(x, y)
        t2 = time.perf_counter()
        waits.append(t1 - t0)
        totals.append(t2 - t0)
    return sum(waits) / sum(totals), statistics.median(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=7040, help="frames (multiple of 320; default 7040)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60, help="training steps for the input-wait figure")
    args = parser.parse_args()
    from genrecrnn.features.store import ShardedFrames

    n = args.frames
    work = Path(tempfile.mkdtemp(prefix="bench_store_"))
    try:
        write_formats(work, n)
        shards = ShardedFrames([np.load(f, mmap_mode="r") for f in sorted(work.glob("shard-*.npy"))], FRAME_SHAPE)
        flat = np.memmap(work / "flat.f32", dtype=np.float32, mode="r", shape=(n, *FRAME_SHAPE))
        times: dict[str, list[float]] = {"npy shards (memmap)": [], "one flat memmap": [], "TFRecord shards": []}
        for r in range(args.repeats):
            times["npy shards (memmap)"].append(read_epoch_arrays(shards, n, r))
            times["one flat memmap"].append(read_epoch_arrays(flat, n, r))
            times["TFRecord shards"].append(read_epoch_tfrecord(work, r))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [[k, statistics.median(v), n / statistics.median(v)] for k, v in times.items()]
    print(f"format: one epoch of random batches of {BATCH} over {n} frames {FRAME_SHAPE}, medians of {args.repeats}")
    print(table(["format", "s/epoch", "frames/s"], rows))
    wait, step = input_wait(min(n, 3200), args.steps)
    speed = {k: n / statistics.median(v) for k, v in times.items()}
    print(
        f"\nsummary: npy shards {speed['npy shards (memmap)']:.0f} frames/s, flat memmap "
        f"{speed['one flat memmap']:.0f}, TFRecord {speed['TFRecord shards']:.0f}; tf.data input wait "
        f"{100 * wait:.1f}% of step time (median step {1e3 * step:.0f} ms; target <= 5%); {machine()}"
    )


if __name__ == "__main__":
    main()
