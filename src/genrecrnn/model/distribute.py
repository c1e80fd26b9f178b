"""Training past one device: tf.distribute strategies and the tf.data input that feeds them.

`train.distribute` picks the strategy: `none` (the default: Keras's default strategy, the
FrameBatches PyDataset, unchanged), `mirrored` (every local GPU, or every logical CPU device when
there is no GPU) or `multi_worker` (MultiWorkerMirroredStrategy; each machine runs the same command
with its own TF_CONFIG). The global batch (`train.batch_size`) is split across all replicas.

The input is a tf.data pipeline over the sharded feature store: a parallel, deterministic
interleave over batch numbers, each element one batch read from the memory-mapped shards (with
its augmentation plan) by `FrameBatches`, then prefetch. The batches are the ones the `none` path trains on,
so one replica trains on the same data in the same order as `none`.
"""

from __future__ import annotations

import copy
import logging
import random
import threading

import keras
import numpy as np
import tensorflow as tf

from genrecrnn.config.sections import DISTRIBUTE as STRATEGIES
from genrecrnn.features.augment import apply_augmentation
from genrecrnn.util.errors import ConfigError

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


def batch_dataset(
    batches: keras.utils.PyDataset, *, epochs: int, first_epoch: int = 0, parallel: int = 4
) -> tf.data.Dataset:
    """tf.data pipeline of `epochs` epochs of `batches` (a FrameBatches): parallel interleave, prefetched.

    Elements are (frames float32 (batch, time, mels), one-hot labels float32 (batch, genres)), one
    global batch each, len(batches) per epoch (fit with steps_per_epoch=len(batches)); the last,
    smaller batch of an epoch is kept. Several batches are read at once from the shards (numpy
    releases the GIL); `deterministic=True` keeps them in step order. Each epoch's batch order is
    drawn here from Python's `random` exactly as Keras draws it for a PyDataset under
    fit(shuffle=True), and training epoch e gets the batches FrameBatches gives `first_epoch` + e
    epochs on, so one replica trains on the batches of `distribute: none`, in the same order. (A run
    resumed from a checkpoint restarts this sequence at its first epoch.) Augmentation plans are
    applied here, on whole global batches (mixup pairs frames across the batch, so a replica's share
    cannot apply them).
    """
    n = len(batches)
    orders = []
    for _ in range(epochs):
        indices = list(range(n))
        random.shuffle(indices)
        orders.append(indices)
    per_epoch: dict[int, keras.utils.PyDataset] = {}
    lock = threading.Lock()

    def epoch_batches(epoch: int) -> keras.utils.PyDataset:
        """The FrameBatches as they stand in `epoch` (a shallow copy advanced by `epoch` epochs)."""
        with lock:
            if epoch not in per_epoch:
                advanced = copy.copy(batches)
                advanced.skip_epochs(first_epoch + epoch)
                per_epoch[epoch] = advanced
                per_epoch.pop(epoch - 2, None)  # reads never lag more than an epoch behind
            return per_epoch[epoch]

    x0, y0 = batches[0]  # frames, or an augmentation plan (a dict of arrays): one spec per array
    flat = tf.nest.flatten(x0) + [y0]
    specs = [tf.TensorSpec((None, *np.shape(a)[1:]), tf.as_dtype(np.asarray(a).dtype)) for a in flat]

    def read(step: np.ndarray) -> list[np.ndarray]:
        epoch, position = divmod(int(step), n)
        x, y = epoch_batches(epoch)[orders[epoch][position]]
        return [np.asarray(a, s.dtype.as_numpy_dtype) for a, s in zip(tf.nest.flatten(x) + [y], specs)]

    def one_batch(step: tf.Tensor) -> tf.data.Dataset:
        arrays = tf.numpy_function(read, [step], [s.dtype for s in specs], stateful=False)
        for a, s in zip(arrays, specs):
            a.set_shape(s.shape)
        x = tf.nest.pack_sequence_as(x0, arrays[:-1])
        return tf.data.Dataset.from_tensors(
            (apply_augmentation(x, batches.fill) if isinstance(x, dict) else x, arrays[-1])
        )

    dataset = (
        tf.data.Dataset.range(epochs * n)
        .interleave(one_batch, cycle_length=parallel, block_length=1, num_parallel_calls=parallel, deterministic=True)
        .apply(tf.data.experimental.assert_cardinality(epochs * n))
    )
    options = tf.data.Options()
    # Each element is already a global batch: multi-worker input is split by element, then rebatched per replica.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


def fit_under_strategy(model: keras.Model, batch: tuple[np.ndarray, np.ndarray]) -> None:
    """Work around two Keras 3 bugs in `model.fit` under MultiWorkerMirroredStrategy (keras-team/keras#20585).

    1. fit averages a first distributed batch over the replicas for its symbolic build, which the
       strategy refuses in eager mode ("Attempt to convert a value (PerReplica...)"); only shapes
       matter there, so it builds from `batch`, one local batch, instead.
    2. fit then averages each step's logs with reduce("MEAN", axis=0), which fails on scalars
       ("Invalid reduction dimension 0"); train_step returns each log as a 1-element vector.
    Harmless under the other strategies (the first works for all of them, the second only for multi_worker).
    """
    original_build, original_step = model._maybe_symbolic_build, model.train_step

    def build(iterator=None, data_batch=None) -> None:
        original_build(data_batch=batch)

    def train_step(data):
        return {k: tf.reshape(v, [1]) for k, v in original_step(data).items()}

    model._maybe_symbolic_build = build
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        model.train_step = train_step


def precision_policy(mixed_float16: bool) -> str:
    """The Keras dtype policy name for train.mixed_float16: float16 compute with float32 weights, or float32."""
    return "mixed_float16" if mixed_float16 else "float32"
