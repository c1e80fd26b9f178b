"""Small audio and models the tests make themselves (no downloaded data, no ../shared)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genrecrnn.features.logmel import FeatureConfig

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
    path: Path,
    *,
    cfg: FeatureConfig,
    genres: list[str],
    filters: tuple = (4,) * 5,
    units: int = 4,
    data: dict | None = None,
    **stats,
):
    """An untrained small CRNN for `cfg`'s frames, saved with its metadata sidecar at `path`; returns the Classifier.

    `data`: the params.yaml data section it claims to be trained on; `stats`: build_crnn's input_mean / input_std.
    Keras is imported here, not when the tests are collected.
    """
    from genrecrnn.config.sections import ModelParams
    from genrecrnn.model.classifier import save_classifier
    from genrecrnn.model.crnn import build_crnn

    widths = ModelParams(filters=filters, lstm_units=units, dense_units=units)
    model = build_crnn(time_steps=cfg.frame_columns, n_mels=cfg.n_mels, n_genres=len(genres), params=widths, **stats)
    return save_classifier(path, model=model, genres=genres, feature_config=cfg, data=data)


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


def cpu_levels() -> dict[str, dict[str, str]]:
    """Environments that make numpy (and OpenBLAS) on this machine act as older CPUs: label -> extra env vars.

    "found" is this CPU as numpy sees it; each further entry disables numpy's dispatch targets from one level
    up (on x86-64 with numpy 2.4: X86_V3 = AVX2, X86_V4 = AVX-512, ...), so an AVX-512 machine imitates an
    AVX2-only one and an AVX2 machine imitates an SSE4.2-only one. OpenBLAS is pinned to a matching core type.
    """
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

    found = [target for target in __cpu_dispatch__ if __cpu_features__.get(target)]
    levels = {"found": {}}
    for k, target in enumerate(found):
        env = {"NPY_DISABLE_CPU_FEATURES": " ".join(__cpu_dispatch__[__cpu_dispatch__.index(target) :])}
        core = {"X86_V3": "Nehalem", "X86_V4": "Haswell"}.get(target)
        if core:
            env["OPENBLAS_CORETYPE"] = core
        below = found[k - 1] if k else (__cpu_baseline__[-1] if __cpu_baseline__ else "baseline")
        levels[f"as {below} ({target} and up disabled)"] = env
    return levels


def run_under_cpu_levels(code: str, *, cwd: Path | None = None) -> dict[str, str]:
    """stdout of `python -c code` under each of cpu_levels(), stripped: label -> output."""
    import subprocess
    import sys

    outputs = {}
    for label, extra in cpu_levels().items():
        env = {k: v for k, v in os.environ.items() if k not in ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env | extra, cwd=cwd, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{label}: {done.stderr[-2000:]}"
        outputs[label] = done.stdout.strip()
    return outputs
