"""Multiframe log-mel spectrograms: one function for training and for prediction.

A clip's log-mel spectrogram is computed once (one STFT per clip, librosa conventions: centred
windows, Slaney mel filters, power_to_db with ref=1, amin=1e-10, top_db=80) and then cut into
fixed-length frames of `frame_seconds` every `frame_hop_seconds`: in this package a "frame" is always
one such CRNN input (time steps, bands), never an STFT window or an audio sample. Cutting the spectrogram rather
than the audio costs one STFT per clip instead of one per frame, and it is the definition used
everywhere in the package: preprocessing, prediction and the benchmarks' reference.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path

import librosa
import numpy as np
import scipy.fft
from pydantic import model_validator
from scipy import sparse

from genrecrnn.config.loading import parse_section
from genrecrnn.config.sections import FeaturesParams, PositiveInt, section
from genrecrnn.data.audio import load_audio
from genrecrnn.util import portable
from genrecrnn.util.errors import AudioError


@section
class FeatureConfig(FeaturesParams):
    """The `features` section plus the shared sample rate (Hz): everything that defines a frame."""

    sample_rate: PositiveInt = 22050

    @model_validator(mode="after")
    def _whole_frames(self) -> FeatureConfig:
        if self.frame_columns < 2:
            raise ValueError(f"frame_seconds={self.frame_seconds} gives fewer than 2 spectrogram columns")
        return self

    @property
    def frame_columns(self) -> int:
        """Spectrogram columns (time steps) per frame: round(frame_seconds * sr / hop_length)."""
        return int(round(self.frame_seconds * self.sample_rate / self.hop_length))

    @property
    def hop_columns(self) -> int:
        """Columns between the starts of consecutive frames: round(frame_hop_seconds * sr / hop)."""
        return max(1, int(round(self.frame_hop_seconds * self.sample_rate / self.hop_length)))

    @property
    def min_samples(self) -> int:
        """Fewest samples that still give one whole frame: (frame_columns - 1) * hop_length."""
        return (self.frame_columns - 1) * self.hop_length

    @property
    def n_bands(self) -> int:
        """Bands per spectrogram column: the mel bands, then CHROMA_BANDS pitch classes if `chroma`, then
        CHROMA_BANDS more (the clip's mean chroma) if `clip_profile`."""
        return self.n_mels + CHROMA_BANDS * (int(self.chroma) + int(self.clip_profile))

    @property
    def profile_bands(self) -> int:
        """Trailing bands holding the clip's pitch-class profile (CHROMA_BANDS if `clip_profile`, else 0)."""
        return CHROMA_BANDS if self.clip_profile else 0

    @property
    def frame_shape(self) -> tuple[int, int]:
        """Shape of one frame: (time steps, bands): mel bands [+ chroma]."""
        return (self.frame_columns, self.n_bands)

    def describe(self) -> str:
        """One line for a reader: bands, FFT and hop (samples) at the rate (Hz), frame length and hop (s), shape."""
        return (
            f"log-mel: {self.n_mels} bands{' + 12 chroma bands' if self.chroma else ''}"
            f"{' + 12 clip pitch-class profile bands' if self.clip_profile else ''}, "
            f"FFT {self.n_fft} and hop {self.hop_length} samples "
            f"at {self.sample_rate} Hz; "
            f"frames of {self.frame_seconds:g} s every {self.frame_hop_seconds:g} s, shape {self.frame_shape} "
            "(time steps, mel bands)"
        )

    def n_frames(self, n_samples: int) -> int:
        """Frames cut from a signal of `n_samples`: 1 + (1 + n//hop - frame_columns) // hop_columns, or 0."""
        columns = 1 + n_samples // self.hop_length
        if columns < self.frame_columns:
            return 0
        return 1 + (columns - self.frame_columns) // self.hop_columns


# Spectrogram columns per block in logmel: with n_fft=2048 a block's windowed frames and spectrum
# take about 1 MB, which fits in a core's L2 cache (about 1.5x faster than whole-clip arrays).
_BLOCK_COLUMNS = 64
CHROMA_BANDS = 12  # pitch classes C, C#, ..., B appended after the mel bands (features.chroma, clip_profile)
# Krumhansl-Kessler key profiles (rows: C major, C minor): the best-correlating rotation estimates a clip's
# key, which makes a pitch-class profile key-invariant (the CRNN's ScaleDescriptor, the rhythm/harmony baseline).
KEY_PROFILES = np.array(
    [
        [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88],
        [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17],
    ]
)


@functools.lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> sparse.csr_array:
    """Slaney-normalised mel filter bank, shape (n_mels, 1 + n_fft // 2), float32, cached per setting.

    Stored sparse: each filter is a triangle over a few FFT bins (about 2 non-zeros per bin in
    all), so the product with a power spectrogram costs a hundredth of a dense matrix product.
    """
    return sparse.csr_array(librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32))


@functools.lru_cache(maxsize=8)
def _chroma_basis(sr: int, n_fft: int) -> sparse.csr_array:
    """librosa's chroma filter bank (CHROMA_BANDS, 1 + n_fft // 2), C first, float32, sparse like the mel bank."""
    weights = librosa.filters.chroma(sr=sr, n_fft=n_fft, n_chroma=CHROMA_BANDS).astype(np.float32)
    weights[np.abs(weights) < 1e-4 * np.abs(weights).max()] = 0.0  # the Gaussian tails: no weight worth a product
    return sparse.csr_array(weights)


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    """Periodic Hann window of `n_fft` samples as a float32 column (n_fft, 1), as librosa.stft uses it."""
    return librosa.filters.get_window("hann", n_fft, fftbins=True).astype(np.float32)[:, None]


def warm_caches(cfg: FeatureConfig) -> None:
    """Build the window and filter banks `cfg` needs (mel, and chroma when cfg.chroma) into their caches, so
    forked workers inherit them built."""
    _window(cfg.n_fft)
    _mel_basis(cfg.sample_rate, cfg.n_fft, cfg.n_mels)
    if cfg.chroma or cfg.clip_profile:
        _chroma_basis(cfg.sample_rate, cfg.n_fft)


def logmel(y: np.ndarray, *, cfg: FeatureConfig) -> np.ndarray:
    """Log-mel spectrogram (dB) of mono `y` at cfg.sample_rate: shape (cfg.n_bands, 1 + len(y)//hop_length).

    With ``cfg.chroma`` the n_mels dB bands are followed by CHROMA_BANDS pitch-class bands of the same
    power spectrum (librosa's chroma filters, each column divided by its largest class, 0..1): the
    mel bands are ~26 Hz apart below 1 kHz, wider than a semitone, so they cannot carry harmony. With
    ``cfg.clip_profile`` CHROMA_BANDS more bands follow, each column holding the mean of those pitch-class
    columns over the whole signal: the clip's scale, which a 3 s frame holds only a few notes of.

    Equal to librosa.power_to_db(librosa.feature.melspectrogram(y, ...), ref=1, amin=1e-10,
    top_db=80) within 1e-3 dB (float32 round-off, largest in bands ~70 dB below their frame's
    peak), without librosa's per-call overhead: the STFT windows are strided views of the zero-padded
    signal (centred, pad_mode="constant"), windowed and transformed _BLOCK_COLUMNS at a
    time so each block stays in the CPU cache; the FFT runs down the columns of the (n_fft,
    block) array, which pocketfft vectorises across columns; the mel filters are a sparse
    product; the dB conversion uses `portable.log10`, so the bits do not depend on the CPU.
    """
    if y.ndim != 1:
        raise AudioError(f"expected a mono signal of shape (n,), got shape {y.shape}")
    if len(y) == 0:
        raise AudioError("empty signal: no samples to analyse")
    padded = np.pad(np.asarray(y, dtype=np.float32), cfg.n_fft // 2)
    windows = np.lib.stride_tricks.sliding_window_view(padded, cfg.n_fft)[:: cfg.hop_length].T  # (n_fft, columns)
    basis, window = _mel_basis(cfg.sample_rate, cfg.n_fft, cfg.n_mels), _window(cfg.n_fft)
    mel = np.empty((cfg.n_mels, windows.shape[1]), dtype=np.float32)
    pitch = cfg.chroma or cfg.clip_profile
    chroma = np.empty((CHROMA_BANDS if pitch else 0, windows.shape[1]), dtype=np.float32)
    for start in range(0, windows.shape[1], _BLOCK_COLUMNS):
        block = slice(start, start + _BLOCK_COLUMNS)
        spectrum = scipy.fft.rfft(windows[:, block] * window, axis=0)  # (1 + n_fft // 2, columns)
        # re**2 + im**2 rather than abs()**2: numpy's complex abs (hypot) is CPU-dispatched, these products are not
        power = np.square(spectrum.real)
        power += np.square(spectrum.imag)
        mel[:, block] = basis @ power
        if pitch:
            chroma[:, block] = _chroma_basis(cfg.sample_rate, cfg.n_fft) @ power
    np.maximum(mel, 1e-10, out=mel)  # amin
    # portable.log10, not np.log10: numpy's float32 log10 differs in the last bit between AVX-512 and AVX2
    mel[:] = 10.0 * portable.log10(mel)  # ref=1.0 subtracts 10 * log10(1) = 0
    np.maximum(mel, mel.max() - 80.0, out=mel)  # top_db
    if not pitch:
        return mel
    chroma /= np.maximum(chroma.max(axis=0, keepdims=True), 1e-10)  # silence stays 0, as librosa's chroma
    bands = [mel, chroma] if cfg.chroma else [mel]
    if cfg.clip_profile:
        profile = chroma.mean(axis=1, dtype=np.float64).astype(np.float32)
        bands.append(np.repeat(profile[:, None], chroma.shape[1], axis=1))
    return np.concatenate(bands)


def frame_spectrogram(spec: np.ndarray, *, cfg: FeatureConfig) -> np.ndarray:
    """Cut a (bands, columns) spectrogram into frames, shape (n_frames, frame_columns, bands)."""
    n = 1 + (spec.shape[1] - cfg.frame_columns) // cfg.hop_columns if spec.shape[1] >= cfg.frame_columns else 0
    if n == 0:
        return np.empty((0, *cfg.frame_shape), dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(spec, cfg.frame_columns, axis=1)[:, :: cfg.hop_columns][:, :n]
    # (mels, frames, time) -> (frames, time, mels): time-major so the LSTM runs over axis 1.
    return np.ascontiguousarray(windows.transpose(1, 2, 0))


def shifted_frames(frames: np.ndarray, *, offset: int) -> np.ndarray:
    """Frames cut `offset` columns later from one clip's consecutive frames (n, time, bands): (n - 1, time, bands).

    Only for non-overlapping frames (frame_hop_seconds = frame_seconds), whose rows join into the clip's
    spectrogram; test-time averaging over shifted windows reads these beside the grid's frames.
    """
    n, columns, bands = frames.shape
    if not 0 < offset < columns:
        raise ValueError(f"offset must be 1..{columns - 1} columns, got {offset}")
    joined = frames.reshape(n * columns, bands)
    if n < 2:
        return frames[:0]
    return np.stack([joined[offset + k * columns : offset + (k + 1) * columns] for k in range(n - 1)])


def clip_frames(y: np.ndarray, *, cfg: FeatureConfig, name: str = "signal") -> np.ndarray:
    """Multiframe log-mel of a mono clip: (n_frames, frame_columns, n_mels); AudioError if shorter than a frame."""
    if len(y) < cfg.min_samples:
        raise AudioError(
            f"{name}: {len(y) / cfg.sample_rate:.2f} s is shorter than one {cfg.frame_seconds:g} s frame; "
            "use a longer clip or lower features.frame_seconds"
        )
    return frame_spectrogram(logmel(y, cfg=cfg), cfg=cfg)


def file_frames(path: Path | str, *, cfg: FeatureConfig) -> np.ndarray:
    """Decode `path` (any rate/channels) and return its multiframe log-mel, as clip_frames."""
    return clip_frames(load_audio(path, sr=cfg.sample_rate), cfg=cfg, name=str(path))


def reference_frames(y: np.ndarray, *, cfg: FeatureConfig) -> np.ndarray:
    """The obvious way, for tests and benchmarks: librosa.feature.melspectrogram on the whole clip, framed."""
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels
    )
    return frame_spectrogram(librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0), cfg=cfg)


def feature_config(features: FeaturesParams, sample_rate: int) -> FeatureConfig:
    """FeatureConfig from the `features` section of params.yaml and the shared sample rate (Hz)."""
    return parse_section(FeatureConfig, {**asdict(features), "sample_rate": sample_rate}, name="features")
