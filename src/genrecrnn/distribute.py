"""Training past one device: tf.distribute strategies and the tf.data input that feeds them.

`train.distribute` picks the strategy: `none` (the default: Keras's default strategy, the
FrameBatches PyDataset, unchanged), `mirrored` (every local GPU, or every logical CPU device when
there is no GPU) or `multi_worker` (MultiWorkerMirroredStrategy; each machine runs the same command
with its own TF_CONFIG). The global batch (`train.batch_size`) is split across all replicas.

The input is a tf.data pipeline over the sharded feature store: a parallel, deterministic
interleave over batch numbers, each element one batch read from the memory-mapped shards (and
augmented) by `FrameBatches`, then prefetch. The batches are the ones the `none` path trains on,
so one replica trains on the same data in the same order as `none`.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import tensorflow as tf

from genrecrnn.config import DISTRIBUTE as STRATEGIES
from genrecrnn.errors import ConfigError

log = logging.getLogger(__name__)


def strategy_for(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy for train.distribute `name` (none | mirrored | multi_worker)."""
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        # Collective ops over gRPC between the workers named in TF_CONFIG.
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"train.distribute={name!r}; allowed: {', '.join(STRATEGIES)}")


def batch_dataset(batches: keras.utils.PyDataset, *, parallel: int = 4) -> tf.data.Dataset:
    """tf.data pipeline of `batches` (a FrameBatches): batch i read by a parallel interleave, in order, prefetched.

    Elements are (frames float32 (batch, time, mels), one-hot labels float32 (batch, genres)); the
    last, smaller batch is kept. Several batches are read at once from the shards (numpy releases
    the GIL), `deterministic=True` keeps them in batch order.
    """
    x0, y0 = batches[0]
    x_spec = tf.TensorSpec((None, *x0.shape[1:]), tf.float32)
    y_spec = tf.TensorSpec((None, *y0.shape[1:]), tf.float32)

    def read(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = batches[int(i)]
        return np.asarray(x, np.float32), np.asarray(y, np.float32)

    def one_batch(i: tf.Tensor) -> tf.data.Dataset:
        x, y = tf.numpy_function(read, [i], (tf.float32, tf.float32), stateful=False)
        x.set_shape(x_spec.shape)
        y.set_shape(y_spec.shape)
        return tf.data.Dataset.from_tensors((x, y))

    dataset = tf.data.Dataset.range(len(batches)).interleave(
        one_batch, cycle_length=parallel, block_length=1, num_parallel_calls=parallel, deterministic=True
    )
    options = tf.data.Options()
    # Each element is already a global batch: multi-worker input is split by element, then rebatched per replica.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


class NextEpoch(keras.callbacks.Callback):
    """Redraws the FrameBatches shuffle after every epoch, as Keras does for a PyDataset (not for tf.data)."""

    def __init__(self, batches: keras.utils.PyDataset) -> None:
        super().__init__()
        self.batches = batches

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.batches.on_epoch_end()


def precision_policy(mixed_float16: bool) -> str:
    """The Keras dtype policy name for train.mixed_float16: float16 compute with float32 weights, or float32."""
    return "mixed_float16" if mixed_float16 else "float32"
