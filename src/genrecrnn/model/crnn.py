"""The CRNN: five conv blocks (Conv2D, max-pool, batch norm, ReLU), one LSTM over time, two Dense.

Input is one log-mel frame of shape (time steps, mel bands). The conv blocks shrink time and
frequency; what is left of the frequency axis and the channels is flattened per time step and
read by the LSTM, whose last state feeds a Dense layer and the softmax over genres.
"""

from __future__ import annotations

import threading
import weakref
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
from keras import layers

from genrecrnn.config.outputs import MODEL_FILE
from genrecrnn.config.sections import ModelParams
from genrecrnn.features.logmel import KEY_PROFILES
from genrecrnn.util.errors import ModelError
from genrecrnn.util.fileio import atomic_path

# The first block pools the mel axis by 4: the later convolutions then run on a quarter of the
# bands, which halves the cost of a training step (benchmarks/bench_training.py) while the time
# axis, whose rhythm patterns the LSTM reads, keeps its resolution longer.
_MEL_POOLS = (4, 2, 2, 2, 2)
_TIME_POOLS = (2, 2, 2, 2, 1)
_SEED_WIDTHS = ModelParams()  # the seed study's filters, LSTM and dense units, dropout


def pool_sizes(time_steps: int, n_mels: int) -> list[tuple[int, int]]:
    """(time, mel) max-pool size of each of the five blocks, never shrinking an axis below 1."""
    sizes, t, m = [], time_steps, n_mels
    for pt, pm in zip(_TIME_POOLS, _MEL_POOLS):
        pt, pm = min(pt, t), min(pm, m)
        sizes.append((pt, pm))
        t, m = t // pt, m // pm
    return sizes


@keras.saving.register_keras_serializable(package="genrecrnn")
class ScaleDescriptor(layers.Layer):
    """Key-invariant description of a pitch-class profile (batch, time, 12) -> (batch, 18); no weights.

    The profile is averaged over time and normalised to sum 1, then described twice, both unchanged by
    any transposition (a rotation of the 12 classes): rotated so the best-fitting major or minor key
    (Pearson correlation with the Krumhansl-Kessler profiles) starts it (12 values), and the magnitudes
    of its discrete Fourier coefficients 1..6 (6 values: which intervals the scale is built from).
    """

    def build(self, input_shape: tuple) -> None:
        templates = KEY_PROFILES - KEY_PROFILES.mean(axis=1, keepdims=True)
        templates /= np.linalg.norm(templates, axis=1, keepdims=True)
        # column 12 * mode + k: the template of key k (tonic k semitones above C) in that mode
        rotations = np.stack([np.roll(t, k) for t in templates for k in range(12)], axis=1)
        angles = 2 * np.pi * np.outer(np.arange(12), np.arange(1, 7)) / 12
        self._keys = keras.ops.convert_to_tensor(rotations.astype(np.float32))
        self._cos = keras.ops.convert_to_tensor(np.cos(angles).astype(np.float32))
        self._sin = keras.ops.convert_to_tensor(np.sin(angles).astype(np.float32))
        self._classes = keras.ops.convert_to_tensor(np.arange(12, dtype=np.int32))

    def call(self, x):  # noqa: ANN001, ANN201 (backend tensors)
        ops = keras.ops
        p = ops.mean(x, axis=1)
        p = p / (ops.sum(p, axis=-1, keepdims=True) + 1e-6)
        centred = p - ops.mean(p, axis=-1, keepdims=True)
        tonic = ops.mod(ops.cast(ops.argmax(ops.matmul(centred, self._keys), axis=-1), "int32"), 12)
        aligned = ops.take_along_axis(p, ops.mod(self._classes[None, :] + tonic[:, None], 12), axis=1)
        re, im = ops.matmul(p, self._cos), ops.matmul(p, self._sin)
        return ops.concatenate([aligned, ops.sqrt(re * re + im * im + 1e-12)], axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], 18)


def build_crnn(
    *,
    time_steps: int,
    n_mels: int,
    n_genres: int,
    params: ModelParams = _SEED_WIDTHS,
    input_mean: float | np.ndarray = 0.0,
    input_std: float | np.ndarray = 1.0,
    profile_bands: int = 0,
) -> keras.Model:
    """The seed's CRNN for frames of shape (time_steps, n_mels), softmax over `n_genres`; widths from `params`.

    input_mean and input_std (dB; one value or one per band, shape (n_mels,)) standardise the
    log-mel input inside the model, so a saved model carries its own normalisation and prediction
    cannot forget it. The last `profile_bands` (0 or 12) bands are the clip's pitch-class profile
    (features.clip_profile): they bypass the convolutions, and their ScaleDescriptor joins the LSTM's
    output before the Dense layer.
    """
    if n_genres < 2 or time_steps < 1 or n_mels <= profile_bands:
        raise ModelError(f"need n_genres >= 2 and a non-empty input, got {n_genres=}, {time_steps=}, {n_mels=}")
    if profile_bands not in (0, 12):
        raise ModelError(f"profile_bands must be 0 or 12 (pitch classes), got {profile_bands}")
    inputs = keras.Input(shape=(time_steps, n_mels), name="logmel")
    spectral = n_mels - profile_bands
    mean = np.broadcast_to(np.asarray(input_mean, dtype=np.float32), (n_mels,))[:spectral]
    std = np.maximum(np.broadcast_to(np.asarray(input_std, dtype=np.float32), (n_mels,)), 1e-3)[:spectral]
    x = inputs[:, :, :spectral] if profile_bands else inputs
    x = layers.Normalization(axis=-1, mean=mean, variance=std**2, name="standardise")(x)
    x = layers.Reshape((time_steps, spectral, 1), name="add_channel")(x)
    for i, (n_filters, pool) in enumerate(zip(params.filters, pool_sizes(time_steps, spectral)), start=1):
        x = layers.Conv2D(n_filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        # Pooling before batch norm: Keras 3's (unfused) batch norm then runs on a map 4-8x smaller,
        # which makes a training step about twice as fast (benchmarks/bench_training.py).
        x = layers.MaxPooling2D(pool, name=f"pool{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
    t, m, c = x.shape[1], x.shape[2], x.shape[3]
    x = layers.Reshape((t, m * c), name="to_sequence")(x)
    x = layers.LSTM(params.lstm_units, name="lstm")(x)
    if profile_bands:
        scale = ScaleDescriptor(name="scale", dtype="float32")(inputs[:, :, spectral:])  # float32 under mixed_float16
        scale = layers.BatchNormalization(name="scale_norm")(scale)  # to the LSTM output's range, whatever the set
        x = layers.Concatenate(name="with_scale")([x, scale])
    x = layers.Dense(params.dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(params.dropout, name="dropout")(x)
    # float32 even under mixed_float16: a float16 softmax rounds small probabilities to 0.
    outputs = layers.Dense(n_genres, activation="softmax", dtype="float32", name="genre")(x)
    return keras.Model(inputs, outputs, name="crnn")


def load_model(path: Path | str) -> keras.Model:
    """Load a saved .keras model in safe mode; ModelError saying how to make one if it is missing or broken."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; train one with `dvc repro` (stage train) or pass --model")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):  # Keras itself calls such a file "not found"
        raise ModelError(
            f"{path}: not a readable Keras model file (a .keras model is a zip archive); retrain with `dvc repro` "
            f"(stage train) or pass --model a {MODEL_FILE} written by the train stage"
        )
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as err:  # Keras raises many types for a corrupt or foreign file
        raise ModelError(
            f"{path}: cannot load as a Keras model ({type(err).__name__}: {str(err)[:200]}); "
            "retrain it with `dvc repro` or pass a .keras file saved by genrecrnn"
        ) from err


def save_model(model: keras.Model, path: Path | str) -> None:
    """Save `model` as .keras atomically (a crash leaves no half file); with its sidecar: classifier.save_classifier."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def input_shape(model: keras.Model) -> tuple[int, int]:
    """(time steps, mel bands) a model expects per frame."""
    shape = model.input_shape
    return int(shape[1]), int(shape[2])


def predict_frames(model: keras.Model, frames: np.ndarray, *, batch_size: int = 128) -> np.ndarray:
    """Genre probabilities for a stack of frames (n, time, mels) -> (n, n_genres), in batches (frame_predictor)."""
    predict = frame_predictor(model)
    batches = [predict(frames[i : i + batch_size]) for i in range(0, len(frames), batch_size)]
    return np.concatenate(batches) if batches else np.empty((0, model.output_shape[-1]), np.float32)


_PREDICTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PREDICTORS_LOCK = threading.Lock()


def frame_predictor(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """model(frames, training=False) as one graph for any batch size: (n, time, mels) float32 -> (n, n_genres).

    Traced once per model (cached) with the batch dimension left open, so batches of any size reuse
    one graph. Called eagerly, Keras runs the LSTM step by step in Python: about 40 ms per call,
    six times the model's own work for a 10-frame batch; the graph gives the same numbers (checked
    in test_model) at a constant cost per frame. Safe to call from several threads at once.
    """
    import tensorflow as tf  # the Keras backend; imported here so the module loads without tracing anything

    with _PREDICTORS_LOCK:
        if model not in _PREDICTORS:
            spec = tf.TensorSpec((None, *input_shape(model)), tf.float32)
            owner = weakref.ref(model)  # the cache must not keep its own key alive
            _PREDICTORS[model] = tf.function(lambda x: owner()(x, training=False), input_signature=[spec])
        graph = _PREDICTORS[model]

    def predict(frames: np.ndarray) -> np.ndarray:
        if frames.shape[1:] != input_shape(model):
            raise ModelError(
                f"frames of shape {frames.shape[1:]} do not fit the model's input {input_shape(model)}; "
                "the feature settings differ from the ones it was trained with"
            )
        return graph(np.asarray(frames, dtype=np.float32)).numpy()

    return predict
