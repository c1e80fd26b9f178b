"""Training-time augmentation of log-mel frames, vectorised over a batch with numpy.

Every function takes a seeded ``np.random.Generator`` and a batch ``x`` of shape (n, time, mels)
in dB, and returns new arrays (inputs are never modified, so a memory-mapped store stays
read-only). Nothing here runs at inference: only the training batches of `batches.FrameBatches`
call `augment_batch`. The parts, each switched off by a zero in `config.AugmentParams`
(the `train.augment` section):

- random crop and tempo jitter: the frame is read at a random offset inside the clip (from its
  stored frame and the next one) and resampled along time by a random rate;
- key shift: the mel axis is resampled so every band moves by a whole number of semitones;
- gain and spectral tilt: a random dB offset and a random linear slope across the bands;
- SpecAugment time and frequency masks, filled with the per-band training mean;
- mixup: pairs of frames and their one-hot labels mixed with a Beta(alpha, alpha) weight.

Loops run over the handful of mask or shift values, never over samples.
"""

from __future__ import annotations

import functools

import librosa
import numpy as np

from genrecrnn.config.sections import AugmentParams


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


def read_positions(strips: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of strips (n, S, mels) at fractional time positions (n, T) -> (n, T, mels)."""
    n, span, n_mels = strips.shape
    low = np.floor(positions).astype(np.int64)
    weight = (positions - low).astype(strips.dtype)[:, :, None]
    high = np.minimum(low + 1, span - 1)
    # Gathering whole mel rows from the flattened strips is several times faster than take_along_axis.
    rows = strips.reshape(n * span, n_mels)
    offset = (np.arange(n) * span)[:, None]
    a, b = rows[low + offset], rows[high + offset]
    b -= a
    b *= weight
    b += a
    return b


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
    octave = 12  # every group of 12 pitch classes (frame chroma, clip profile) rotates on its own
    band = np.arange(chroma_bands)
    rotated = n_mels + band - band % octave + (band % octave - semitones) % octave
    zero = np.zeros(chroma_bands, np.float32)
    return np.concatenate([low, rotated]), np.concatenate([high, rotated]), np.concatenate([weight, zero])


def shift_matrix(semitones: int, *, n_mels: int, sr: int) -> np.ndarray:
    """shift_taps as an (n_mels, n_mels) linear map, out = x @ matrix.T (for tests and plots)."""
    low, high, weight = shift_taps(semitones, n_mels=n_mels, sr=sr)
    matrix = np.zeros((n_mels, n_mels), dtype=np.float32)
    np.add.at(matrix, (np.arange(n_mels), low), 1 - weight)
    np.add.at(matrix, (np.arange(n_mels), high), weight)
    return matrix


def key_shift(
    rng: np.random.Generator, x: np.ndarray, *, max_semitones: int, sr: int, chroma_bands: int = 0
) -> np.ndarray:
    """Shift each frame of x (n, time, bands) by a whole number of semitones in [-max, max].

    The last `chroma_bands` bands (pitch classes) are rotated by the same number of semitones.

    Two gathers along the mel axis and a blend, never a matrix product: numpy's matmul would start
    OpenBLAS threads inside the loader threads, which fight TensorFlow's for the cores (50x slower
    under load, issue 20); the taps give the same map as shift_matrix.
    """
    shifts = rng.integers(-max_semitones, max_semitones + 1, len(x))
    out = np.empty_like(x)
    for s in np.unique(shifts):  # at most 2 * max + 1 groups; gathering whole mel rows per group is fast
        pick = np.flatnonzero(shifts == s)
        low, high, weight = shift_taps(int(s), n_mels=x.shape[2] - chroma_bands, sr=sr, chroma_bands=chroma_bands)
        group = x[pick]
        a, b = group[:, :, low], group[:, :, high]
        b -= a
        b *= weight
        b += a
        out[pick] = b
    return out


def gain_and_tilt(
    rng: np.random.Generator, x: np.ndarray, *, gain_db: float, tilt_db: float, chroma_bands: int = 0
) -> np.ndarray:
    """Add a random level (+-gain_db) and a random linear tilt (+-tilt_db, lowest to highest band) per frame.

    The last `chroma_bands` bands (pitch classes, 0..1 per column, not dB) are left as they are.
    """
    n, _, bands = x.shape
    n_mels = bands - chroma_bands
    gain = rng.uniform(-gain_db, gain_db, n)
    tilt = rng.uniform(-tilt_db, tilt_db, n)
    ramp = np.linspace(-0.5, 0.5, n_mels)
    out = x.copy()
    out[:, :, :n_mels] += (gain[:, None, None] + tilt[:, None, None] * ramp[None, None, :]).astype(x.dtype)
    return out


def _mask(rng: np.random.Generator, n: int, length: int, *, count: int, widest: int) -> np.ndarray:
    """Boolean (n, length): the union of `count` random runs of 0..widest cells per row."""
    mask = np.zeros((n, length), dtype=bool)
    cells = np.arange(length)[None, :]
    for _ in range(count):
        width = rng.integers(0, min(widest, length) + 1, n)[:, None]
        start = (rng.uniform(0, 1, n)[:, None] * (length - width + 1)).astype(np.int64)
        mask |= (cells >= start) & (cells < start + width)
    return mask


def spec_masks(
    rng: np.random.Generator,
    x: np.ndarray,
    *,
    fill: np.ndarray,
    time_masks: int,
    time_width: int,
    freq_masks: int,
    freq_width: int,
) -> np.ndarray:
    """SpecAugment: blank random time spans (columns) and mel-band spans of x (n, time, mels) with fill (mels,)."""
    n, t, m = x.shape
    in_time = _mask(rng, n, t, count=time_masks, widest=time_width)[:, :, None]
    in_freq = _mask(rng, n, m, count=freq_masks, widest=freq_width)[:, None, :]
    return np.where(in_time | in_freq, fill.astype(x.dtype)[None, None, :], x)


def mixup(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, *, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Mix each frame and its one-hot label y (n, k) with a random partner: weight lam ~ Beta(alpha, alpha)."""
    lam = rng.beta(alpha, alpha, len(x))
    lam = np.maximum(lam, 1 - lam).astype(x.dtype)  # the frame keeps the larger share, so it stays mostly itself
    partner = rng.permutation(len(x))
    mixed_x = x[partner] - x  # x + (1 - lam) (x_partner - x), computed in place in float32
    mixed_x *= (1 - lam)[:, None, None]
    mixed_x += x
    mixed_y = lam[:, None] * y + (1 - lam[:, None]) * y[partner]
    return mixed_x, mixed_y.astype(y.dtype)


def augment_batch(
    rng: np.random.Generator,
    x: np.ndarray,
    y: np.ndarray,
    *,
    cfg: AugmentParams,
    sr: int,
    columns_per_second: float,
    fill: np.ndarray,
    chroma_bands: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Key shift, gain/tilt, masks and mixup of frames x (n, time, bands) in dB with one-hot labels y (n, k).

    The last `chroma_bands` bands are pitch classes: key shift rotates them, gain and tilt leave them.

    Random crop and tempo jitter happen earlier, when the frames are read (`crop_positions`).
    """
    if cfg.key_shift:
        x = key_shift(rng, x, max_semitones=cfg.key_shift, sr=sr, chroma_bands=chroma_bands)
    if cfg.gain_db or cfg.tilt_db:
        x = gain_and_tilt(rng, x, gain_db=cfg.gain_db, tilt_db=cfg.tilt_db, chroma_bands=chroma_bands)
    if cfg.time_masks or cfg.freq_masks:
        x = spec_masks(
            rng,
            x,
            fill=fill,
            time_masks=cfg.time_masks,
            time_width=int(round(cfg.time_mask_seconds * columns_per_second)),
            freq_masks=cfg.freq_masks,
            freq_width=cfg.freq_mask_bands,
        )
    if cfg.mixup:
        x, y = mixup(rng, x, y, alpha=cfg.mixup)
    return x, y
