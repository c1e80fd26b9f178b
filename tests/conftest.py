"""Small audio and models the tests make themselves (no downloaded data, no ../shared)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genrecrnn.features import FeatureConfig

ROOT = Path(__file__).resolve().parents[1]
SR = 22050


def tone(freq: float, seconds: float, *, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    """A sine tone at `freq` Hz, float32."""
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, y: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> Path:
    """Write `y` ((n,) or (n, channels)) to `path`, making parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, subtype=subtype)
    return path


def save_tiny_classifier(
    path: Path, *, cfg: FeatureConfig, genres: list[str], filters: tuple = (4,) * 5, units: int = 4, **stats
):
    """An untrained small CRNN for `cfg`'s frames, saved with its metadata sidecar at `path`; returns the Classifier.

    `stats`: build_crnn's input_mean / input_std. Keras is imported here, not when the tests are collected.
    """
    from genrecrnn.classifier import save_classifier
    from genrecrnn.config import ModelParams
    from genrecrnn.model import build_crnn

    widths = ModelParams(filters=filters, lstm_units=units, dense_units=units)
    model = build_crnn(time_steps=cfg.frame_columns, n_mels=cfg.n_mels, n_genres=len(genres), params=widths, **stats)
    return save_classifier(path, model=model, genres=genres, feature_config=cfg)


@pytest.fixture
def small_cfg() -> FeatureConfig:
    """A cheap feature setting: 1 s frames of 32 mel bands."""
    return FeatureConfig(
        sample_rate=SR, n_fft=1024, hop_length=512, n_mels=32, frame_seconds=1.0, frame_hop_seconds=1.0
    )


@pytest.fixture
def broken_files(tmp_path: Path) -> dict[str, Path]:
    """Files that must be rejected with a clear message: empty, text, truncated header, NaN samples."""
    files = {"empty": tmp_path / "empty.wav", "text_wav": tmp_path / "notes.wav", "text_mp3": tmp_path / "notes.mp3"}
    files["empty"].write_bytes(b"")
    files["text_wav"].write_text("this is not audio\n" * 20)
    files["text_mp3"].write_text("this is not audio either\n" * 20)
    good = write_wav(tmp_path / "good.wav", tone(440, 1.0))
    files["truncated"] = tmp_path / "truncated.wav"
    files["truncated"].write_bytes(good.read_bytes()[:30])
    y = tone(440, 1.0)
    y[100] = np.nan
    files["nan"] = write_wav(tmp_path / "nan.wav", y, subtype="FLOAT")
    return files


def two_tone_tracks(root: Path) -> pd.DataFrame:
    """Two genres, low tones and high tones: 6 clips of 3 s each, split 4/1/1 per genre; a track table."""
    rows = []
    for label, (genre, base) in enumerate((("low", 150.0), ("high", 2500.0))):
        for i in range(6):
            path = write_wav(root / "audio" / genre / f"{i}.wav", tone(base * (1 + 0.05 * i), 3.0))
            split = "test" if i == 0 else "val" if i == 1 else "train"
            rows.append({"track_id": f"{genre}/{i}", "path": str(path), "genre": genre, "label": label, "split": split})
    return pd.DataFrame(rows)
