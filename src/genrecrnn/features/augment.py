"""Training-time augmentation of log-mel frames: random draws in numpy, applied in TensorFlow's graph.

The batch loader (`batches.FrameBatches`) reads a batch's stored frames and draws every random value
of its augmentation with a seeded ``np.random.Generator``: a *plan*, a dict of small per-sample
arrays. `apply_augmentation` turns the plan into augmented frames (n, time, bands) in dB with
TensorFlow ops; the training model runs it inside its training step
(`genrecrnn.model.train.AugmentedTraining`), so the work runs on TensorFlow's own thread pool
instead of in loader threads that compete with it for the cores (issue 20). Nothing here runs at
inference. The parts, each switched off by a zero in `config.AugmentParams` (the `train.augment`
section), in the order they apply:

- random crop and tempo jitter: the frame is read at a random offset inside the clip (from its
  stored frame and the next one) and resampled along time by a random rate;
- key shift: the mel axis is resampled so every band moves by a whole number of semitones;
- gain and spectral tilt: a random dB offset and a random linear slope across the bands;
- SpecAugment time and frequency masks, filled with the per-band training mean;
- mixup: pairs of frames and their one-hot labels mixed with a Beta(alpha, alpha) weight.

The per-part functions (`key_shift`, `gain_and_tilt`, `spec_masks`, `mixup`, `read_positions`)
draw and apply one part eagerly, numpy in and out (the tests check each part through them).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import librosa
import numpy as np
import tensorflow as tf

from genrecrnn.config.sections import AugmentParams

Plan = dict[str, np.ndarray]
OCTAVE = 12  # pitch classes per chroma group


def crop_positions(
    rng: np.random.Generator, span: np.ndarray, *, columns: int, crop: bool, stretch: float
) -> np.ndarray:
    """Fractional read positions (n, columns) into strips of `span` (n,) valid columns each.

    Each sample reads `columns` points spaced by a rate drawn from [1 - stretch, 1 + stretch]
    (rate > 1 plays faster), starting at a uniform offset within its strip if `crop`, else at 0.
    The rate is lowered where the strip is too short for it, so no position passes the strip's end.
    """
    n = len(span)
    rate = rng.uniform(1 - stretch, 1 + stretch, n) if stretch > 0 else np.ones(n)
    rate = np.minimum(rate, (span - 1) / max(columns - 1, 1))
    room = span - 1 - rate * (columns - 1)
    offset = rng.uniform(0, 1, n) * np.maximum(room, 0) if crop else np.zeros(n)
    return offset[:, None] + rate[:, None] * np.arange(columns)[None, :]


def read_plan(positions: np.ndarray) -> Plan:
    """Plan entries that read strips at fractional time positions (n, T): the column below and its weight."""
    low = np.floor(positions)
    return {"read_low": low.astype(np.int32), "read_weight": (positions - low).astype(np.float32)}


@functools.lru_cache(maxsize=16)
def shift_taps(
    semitones: int, *, n_mels: int, sr: int, chroma_bands: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, weight), each (n_mels,): output band m = (1 - weight) * band low + weight * band high.

    Moves a mel spectrum up by `semitones` (edge bands repeat): output band m reads the input at the
    frequency its centre has `semitones` lower, located on the mel axis (where band centres are evenly
    spaced) and interpolated between the two nearest bands. With `chroma_bands` pitch classes after the
    mel bands (one or more groups of 12), output class c reads class c - semitones within its group (a
    rotation; the taps then have n_mels + chroma_bands entries).
    """
    centres = librosa.mel_frequencies(n_mels=n_mels + 2, fmax=sr / 2)[1:-1]
    source = librosa.hz_to_mel(centres * 2.0 ** (-semitones / 12))
    position = np.interp(source, librosa.hz_to_mel(centres), np.arange(n_mels))
    low = np.floor(position).astype(np.int64)
    high, weight = np.minimum(low + 1, n_mels - 1), (position - low).astype(np.float32)
    if not chroma_bands:
        return low, high, weight
    band = np.arange(chroma_bands)  # every group of 12 pitch classes (frame chroma, clip profile) rotates on its own
    rotated = n_mels + band - band % OCTAVE + (band % OCTAVE - semitones) % OCTAVE
    zero = np.zeros(chroma_bands, np.float32)
    return np.concatenate([low, rotated]), np.concatenate([high, rotated]), np.concatenate([weight, zero])


def shift_matrix(semitones: int, *, n_mels: int, sr: int) -> np.ndarray:
    """shift_taps as an (n_mels, n_mels) linear map, out = x @ matrix.T (for tests and plots)."""
    low, high, weight = shift_taps(semitones, n_mels=n_mels, sr=sr)
    matrix = np.zeros((n_mels, n_mels), dtype=np.float32)
    np.add.at(matrix, (np.arange(n_mels), low), 1 - weight)
    np.add.at(matrix, (np.arange(n_mels), high), weight)
    return matrix


def draw_key_shift(
    rng: np.random.Generator, n: int, *, max_semitones: int, n_mels: int, sr: int, chroma_bands: int = 0
) -> Plan:
    """Plan entries shifting each of n frames by a whole number of semitones in [-max, max]: per-frame taps (n, bands).

    The `chroma_bands` pitch-class bands after the mel bands rotate by the same number of semitones.
    """
    shifts = rng.integers(-max_semitones, max_semitones + 1, n)
    values = np.unique(shifts)  # at most 2 * max + 1 distinct shifts: their taps are cached
    taps = [shift_taps(int(s), n_mels=n_mels, sr=sr, chroma_bands=chroma_bands) for s in values]
    which = np.searchsorted(values, shifts)
    low, high, weight = (np.stack([t[k] for t in taps])[which] for k in range(3))
    return {"shift_low": low.astype(np.int32), "shift_high": high.astype(np.int32), "shift_weight": weight}


def draw_gain_and_tilt(
    rng: np.random.Generator, n: int, *, gain_db: float, tilt_db: float, n_mels: int, chroma_bands: int = 0
) -> Plan:
    """Plan entry adding a random level (+-gain_db) and linear tilt (+-tilt_db, lowest to highest band) per frame, dB.

    The last `chroma_bands` bands (pitch classes, 0..1 per column, not dB) get 0.
    """
    gain = rng.uniform(-gain_db, gain_db, n)
    tilt = rng.uniform(-tilt_db, tilt_db, n)
    ramp = np.linspace(-0.5, 0.5, n_mels)
    offset = np.zeros((n, n_mels + chroma_bands), np.float32)
    offset[:, :n_mels] = gain[:, None] + tilt[:, None] * ramp[None, :]
    return {"offset": offset}


def _mask(rng: np.random.Generator, n: int, length: int, *, count: int, widest: int) -> np.ndarray:
    """Boolean (n, length): the union of `count` random runs of 0..widest cells per row."""
    mask = np.zeros((n, length), dtype=bool)
    cells = np.arange(length)[None, :]
    for _ in range(count):
        width = rng.integers(0, min(widest, length) + 1, n)[:, None]
        start = (rng.uniform(0, 1, n)[:, None] * (length - width + 1)).astype(np.int64)
        mask |= (cells >= start) & (cells < start + width)
    return mask


def draw_masks(
    rng: np.random.Generator, n: int, *, time: int, bands: int, time_masks: int, time_width: int,
    freq_masks: int, freq_width: int,
) -> Plan:  # fmt: skip
    """SpecAugment plan entries: which columns (n, time) and which bands (n, bands) of each frame are blanked."""
    return {
        "time_mask": _mask(rng, n, time, count=time_masks, widest=time_width),
        "freq_mask": _mask(rng, n, bands, count=freq_masks, widest=freq_width),
    }


def draw_mixup(rng: np.random.Generator, n: int, *, alpha: float) -> Plan:
    """Mixup plan entries: each frame's partner (n,) and its own weight lam ~ Beta(alpha, alpha) (n,)."""
    lam = rng.beta(alpha, alpha, n)
    lam = np.maximum(lam, 1 - lam).astype(np.float32)  # the frame keeps the larger share, so it stays mostly itself
    return {"partner": rng.permutation(n).astype(np.int32), "lam": lam}


def mix_labels(y: np.ndarray, plan: Mapping[str, np.ndarray]) -> np.ndarray:
    """One-hot labels y (n, k) mixed as the plan mixes their frames (unchanged without mixup)."""
    if "partner" not in plan:
        return y
    lam = plan["lam"][:, None]
    return (lam * y + (1 - lam) * y[plan["partner"]]).astype(y.dtype)


def draw_augmentation(
    rng: np.random.Generator, n: int, *, time: int, bands: int, cfg: AugmentParams, sr: int,
    columns_per_second: float, chroma_bands: int = 0,
) -> Plan:  # fmt: skip
    """The plan of key shift, gain/tilt, masks and mixup for n frames (time, bands), drawn in that order.

    Random crop and tempo jitter are drawn earlier, when the frames are read (`crop_positions`).
    """
    plan: Plan = {}
    n_mels = bands - chroma_bands
    if cfg.key_shift:
        plan |= draw_key_shift(rng, n, max_semitones=cfg.key_shift, n_mels=n_mels, sr=sr, chroma_bands=chroma_bands)
    if cfg.gain_db or cfg.tilt_db:
        plan |= draw_gain_and_tilt(
            rng, n, gain_db=cfg.gain_db, tilt_db=cfg.tilt_db, n_mels=n_mels, chroma_bands=chroma_bands
        )
    if cfg.time_masks or cfg.freq_masks:
        plan |= draw_masks(
            rng, n, time=time, bands=bands, time_masks=cfg.time_masks,
            time_width=int(round(cfg.time_mask_seconds * columns_per_second)),
            freq_masks=cfg.freq_masks, freq_width=cfg.freq_mask_bands,
        )  # fmt: skip
    if cfg.mixup:
        plan |= draw_mixup(rng, n, alpha=cfg.mixup)
    return plan


def _blend(a: tf.Tensor, b: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """a + weight * (b - a), three rounding steps in the order numpy's in-place version took (same bits)."""
    return (b - a) * weight + a


def _read(strips: tf.Tensor, low: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """Strips (n, S, bands) read at columns low + weight (n, T), linearly interpolated -> (n, T, bands)."""
    low = tf.cast(low, tf.int32)
    high = tf.minimum(low + 1, tf.shape(strips)[1] - 1)
    a = tf.gather(strips, low, axis=1, batch_dims=1)
    b = tf.gather(strips, high, axis=1, batch_dims=1)
    return _blend(a, b, tf.cast(weight, tf.float32)[:, :, None])


def apply_augmentation(plan: Mapping[str, tf.Tensor], fill: np.ndarray | tf.Tensor) -> tf.Tensor:
    """Augmented frames (n, time, bands), float32 dB, from a plan; `fill` (bands,) is what masks write.

    The plan holds the stored frames ("frames", (n, time, bands)) and, for each part switched on,
    its draws: "next" (n, extra, bands), the columns the clip's next frame adds, with "read_low" and
    "read_weight" (n, time) for the crop; "shift_low", "shift_high", "shift_weight" (n, bands);
    "offset" (n, bands); "time_mask" (n, time) and "freq_mask" (n, bands); "partner" and "lam" (n,),
    the frame's own weight (the labels mix the same way: `mix_labels`).
    Runs eagerly or traced (the keys present decide the graph).
    """
    x = tf.convert_to_tensor(plan["frames"], tf.float32)
    if "read_low" in plan:
        x = _read(tf.concat([x, tf.cast(plan["next"], tf.float32)], axis=1), plan["read_low"], plan["read_weight"])
    if "shift_low" in plan:
        # Bands as rows: gathering whole rows is about 4x faster than gathering along the last axis.
        bands = tf.transpose(x, [0, 2, 1])
        a = tf.gather(bands, tf.cast(plan["shift_low"], tf.int32), axis=1, batch_dims=1)
        b = tf.gather(bands, tf.cast(plan["shift_high"], tf.int32), axis=1, batch_dims=1)
        x = tf.transpose(_blend(a, b, tf.cast(plan["shift_weight"], tf.float32)[:, :, None]), [0, 2, 1])
    if "offset" in plan:
        x = x + tf.cast(plan["offset"], tf.float32)[:, None, :]
    if "time_mask" in plan:
        blank = tf.logical_or(
            tf.cast(plan["time_mask"], tf.bool)[:, :, None], tf.cast(plan["freq_mask"], tf.bool)[:, None, :]
        )
        x = tf.where(blank, tf.cast(fill, tf.float32)[None, None, :], x)
    if "partner" in plan:
        share = 1.0 - tf.cast(plan["lam"], tf.float32)  # the partner's weight
        x = _blend(x, tf.gather(x, tf.cast(plan["partner"], tf.int32)), share[:, None, None])
    return x


def read_positions(strips: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of strips (n, S, bands) at fractional time positions (n, T) -> (n, T, bands)."""
    plan = read_plan(positions)
    return np.asarray(_read(tf.convert_to_tensor(strips, tf.float32), plan["read_low"], plan["read_weight"]))


def key_shift(
    rng: np.random.Generator, x: np.ndarray, *, max_semitones: int, sr: int, chroma_bands: int = 0
) -> np.ndarray:
    """Shift each frame of x (n, time, bands) by a whole number of semitones in [-max, max], eagerly.

    The last `chroma_bands` bands (pitch classes) are rotated by the same number of semitones. Two
    gathers along the band axis and a blend, never a matrix product; the taps give shift_matrix's map.
    """
    plan = draw_key_shift(rng, len(x), max_semitones=max_semitones, n_mels=x.shape[2] - chroma_bands, sr=sr,
                          chroma_bands=chroma_bands)  # fmt: skip
    return np.asarray(apply_augmentation({"frames": x, **plan}, np.zeros(0)))


def gain_and_tilt(
    rng: np.random.Generator, x: np.ndarray, *, gain_db: float, tilt_db: float, chroma_bands: int = 0
) -> np.ndarray:
    """Add a random level (+-gain_db) and a random linear tilt (+-tilt_db) per frame of x (n, time, bands), eagerly."""
    plan = draw_gain_and_tilt(
        rng, len(x), gain_db=gain_db, tilt_db=tilt_db, n_mels=x.shape[2] - chroma_bands, chroma_bands=chroma_bands
    )
    return np.asarray(apply_augmentation({"frames": x, **plan}, np.zeros(0)))


def spec_masks(
    rng: np.random.Generator, x: np.ndarray, *, fill: np.ndarray, time_masks: int, time_width: int,
    freq_masks: int, freq_width: int,
) -> np.ndarray:  # fmt: skip
    """SpecAugment, eagerly: random time spans (columns) and band spans of x (n, time, bands) set to fill (bands,)."""
    n, time, bands = x.shape
    plan = draw_masks(rng, n, time=time, bands=bands, time_masks=time_masks, time_width=time_width,
                      freq_masks=freq_masks, freq_width=freq_width)  # fmt: skip
    return np.asarray(apply_augmentation({"frames": x, **plan}, fill))


def mixup(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, *, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Mix each frame and its one-hot label y (n, k) with a random partner, weight lam ~ Beta(alpha, alpha), eagerly."""
    plan = draw_mixup(rng, len(x), alpha=alpha)
    return np.asarray(apply_augmentation({"frames": x, **plan}, np.zeros(0))), mix_labels(y, plan)
