"""Audio decoding: any libsndfile format (wav, flac, ogg, mp3, au), downmixed and resampled.

soundfile decodes (no ffmpeg needed) and soxr resamples only when the rate differs, which is
several times faster than librosa.load's default path and gives the same signal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from genrecrnn.util.errors import AudioError
from genrecrnn.util.quiet import DECODER_NOISE, stderr_noise_filtered

AUDIO_EXTENSIONS = (".wav", ".au", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
_UNRECOGNISED_FORMAT = 1  # libsndfile's SF_ERR_UNRECOGNISED_FORMAT
_HOW_TO_FIX = "re-encode it as WAV or FLAC (e.g. with sox or audacity) or remove it"


@dataclass(frozen=True)
class AudioInfo:
    """What the file header says: duration (seconds), sample rate (Hz), channels, samples per channel."""

    duration: float
    sample_rate: int
    channels: int
    samples: int  # per channel (soundfile calls them frames; in this package a frame is a CRNN input)


def audio_info(path: Path | str) -> AudioInfo:
    """Read the header of `path`; AudioError naming the file if it is missing, empty or not audio."""
    path = _existing_file(path)
    with _open(path) as info:
        if info.frames <= 0 or info.samplerate <= 0:
            raise AudioError(f"{path}: holds no audio samples; {_HOW_TO_FIX}")
        return AudioInfo(info.frames / info.samplerate, int(info.samplerate), int(info.channels), int(info.frames))


def load_audio(path: Path | str, *, sr: int) -> np.ndarray:
    """Decode `path` to a float32 mono signal at `sr` Hz, shape (n,); AudioError on any bad input."""
    path = _existing_file(path)
    with _open(path) as f:
        try:
            data, file_sr = f.read(dtype="float32", always_2d=True), f.samplerate
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
            raise AudioError(f"{path}: cannot decode ({_short(err)}); {_HOW_TO_FIX}") from err
    return _to_mono_rate(data, file_sr, sr, path)


def stream_audio(path: Path | str, *, sr: int, block_seconds: float = 60.0) -> Iterator[np.ndarray]:
    """Yield consecutive float32 mono blocks at `sr` Hz of about `block_seconds` each (bounded memory)."""
    info = audio_info(path)
    block = max(1, int(block_seconds * info.sample_rate))
    resampler = None if info.sample_rate == sr else soxr.ResampleStream(info.sample_rate, sr, 1, dtype="float32")
    try:
        with _open(Path(path)) as f:
            while True:
                data = f.read(block, dtype="float32", always_2d=True)
                last = len(data) < block
                mono = _checked_mono(data, path)
                if resampler is not None:
                    mono = resampler.resample_chunk(mono, last=last)
                if len(mono):
                    yield mono
                if last:
                    return
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{path}: cannot decode ({_short(err)}); {_HOW_TO_FIX}") from err


def _open(path: Path) -> sf.SoundFile:
    """An existing file opened for decoding, the decoder's notes on bad bytes kept off stderr; else AudioError."""
    try:
        with stderr_noise_filtered(DECODER_NOISE):
            return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        # libsndfile's mp3 reader answers bytes that are not MPEG with "File does not exist or is not a
        # regular file", untrue of a file _existing_file has found: the format is what it does not know.
        unknown = getattr(err, "code", None) == _UNRECOGNISED_FORMAT or "does not exist" in str(err)
        reason = ": not a recognised audio format" if unknown else f" ({_short(err)})"
        raise AudioError(f"{path}: cannot decode{reason}; {_HOW_TO_FIX}") from err


def _existing_file(path: Path | str) -> Path:
    """`path` as a Path after checking it is a non-empty regular file."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: file not found; check the path")
    if not path.is_file():
        raise AudioError(f"{path}: not a regular file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes); {_HOW_TO_FIX}")
    return path


def _checked_mono(data: np.ndarray, path: Path) -> np.ndarray:
    """Average the channels of a (n, channels) block, rejecting NaN/inf samples."""
    # Averaging keeps the level of a mono file copied to both channels unchanged. For stereo,
    # (left + right) * 0.5 is bit for bit what data.mean(axis=1) gives (a sum of two, halved exactly)
    # at a fifth of its cost: mean reduces along the short axis, one row at a time.
    if data.shape[1] == 2:
        mono = np.add(data[:, 0], data[:, 1])
        mono *= np.float32(0.5)
    else:
        mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    # A NaN or inf in any channel reaches the mix; min and max see it in two passes without a mask array.
    if len(mono) and not (np.isfinite(mono.min()) and np.isfinite(mono.max())):
        raise AudioError(f"{path}: contains NaN or infinite samples; {_HOW_TO_FIX}")
    return mono


def _to_mono_rate(data: np.ndarray, file_sr: int, sr: int, path: Path) -> np.ndarray:
    """Downmix to mono and resample from `file_sr` to `sr` Hz."""
    if data.shape[0] == 0:
        raise AudioError(f"{path}: holds no audio samples; {_HOW_TO_FIX}")
    mono = _checked_mono(data, path)
    if file_sr != sr:
        mono = soxr.resample(mono, file_sr, sr).astype(np.float32, copy=False)
    return np.ascontiguousarray(mono)


def _short(err: Exception) -> str:
    """First line of an exception message, for error messages that stay readable."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
