"""Prediction speed: seconds of audio classified per wall second for a 10-minute file, decode included.

Measures x realtime (audio seconds / wall seconds) for
- candidate: genrecrnn.inference.predict_file(path, classifier), the `genrecrnn predict` path:
  streamed decode, one log-mel per 30 s window, frames of all windows batched through the model;
- reference: the obvious way: librosa.load(path, sr=22050), then per 30 s window
  librosa.feature.melspectrogram + power_to_db, frames, model.predict(frames) and their mean.
Both use the same loaded model and file, after one untimed warm-up each, interleaved `--repeats`
times; medians are reported, with the model load time (load_classifier) apart and the largest
difference between the two methods' song probabilities. The file is 20 generated 30 s clips of
the ten genres, written as 16-bit WAV. The model is the pipeline's models/crnn.keras if present,
else an untrained build_crnn saved with save_classifier (the speed is the same).

    python benchmarks/bench_prediction.py --minutes 10
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

# isort: split
import genrecrnn  # noqa: F401 - before keras: TensorFlow's start-up lines stay off stderr (genrecrnn.quiet)

# isort: split
import keras
import librosa
import numpy as np
import soundfile as sf

from common import ROOT, machine, peak_rss_mb, table
from genrecrnn.classifier import load_classifier, metadata_path, save_classifier
from genrecrnn.features import FeatureConfig, frame_spectrogram
from genrecrnn.inference import predict_file
from genrecrnn.model import MODEL_FILE, build_crnn
from genrecrnn.synth import GTZAN_GENRES, clip_seed, synth_clip

TARGET_REALTIME = 1000.0
WINDOW_SECONDS = 30.0


def write_long_file(path: Path, *, minutes: float, sr: int = 22050) -> float:
    """A WAV of consecutive 30 s synthetic clips cycling through the genres; returns its duration (s)."""
    n_clips = max(1, round(minutes * 60 / WINDOW_SECONDS))
    genres = [GTZAN_GENRES[i % len(GTZAN_GENRES)] for i in range(n_clips)]
    clips = [synth_clip(g, seed=clip_seed(0, g, i), seconds=WINDOW_SECONDS, sr=sr) for i, g in enumerate(genres)]
    sf.write(path, np.concatenate(clips), sr, subtype="PCM_16")
    return n_clips * WINDOW_SECONDS


def model_file(folder: Path) -> tuple[Path, str]:
    """The pipeline's trained model if it exists, else an untrained CRNN saved (with metadata) in `folder`."""
    trained = ROOT / "models" / MODEL_FILE
    if trained.is_file() and metadata_path(trained).is_file():
        return trained, f"trained ({trained.relative_to(ROOT)})"
    cfg = FeatureConfig()
    path = folder / MODEL_FILE
    model = build_crnn(time_steps=cfg.frame_columns, n_mels=cfg.n_mels, n_genres=len(GTZAN_GENRES))
    save_classifier(path, model=model, genres=list(GTZAN_GENRES), feature_config=cfg)
    return path, "untrained build_crnn"


def reference(path: Path, model: keras.Model, cfg: FeatureConfig) -> np.ndarray:
    """The obvious way: whole file in memory, melspectrogram and model.predict per 30 s window; song probabilities."""
    y, sr = librosa.load(path, sr=cfg.sample_rate)
    win = int(WINDOW_SECONDS * sr)
    probs = []
    for start in range(0, len(y) - cfg.min_samples + 1, win):
        mel = librosa.feature.melspectrogram(
            y=y[start : start + win], sr=sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels
        )
        frames = frame_spectrogram(librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0), cfg=cfg)
        probs.append(model.predict(frames, verbose=0).mean(axis=0))
    return np.mean(probs, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the test file (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timed runs of each method (default 3)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_pred_"))
    try:
        audio = work / "long.wav"
        seconds = write_long_file(audio, minutes=args.minutes)
        model_path, model_kind = model_file(work)
        t0 = time.perf_counter()
        classifier = load_classifier(model_path)
        load_s = time.perf_counter() - t0
        cfg = classifier.feature_config

        methods = {
            "reference": lambda: reference(audio, classifier.model, cfg),
            "candidate": lambda: np.array(list(predict_file(audio, classifier)["probabilities"].values())),
        }
        probs = {name: run() for name, run in methods.items()}  # warm-up: model.predict traces its graph once
        times: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(args.repeats):
            for name, run in methods.items():
                t0 = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(t) for name, t in times.items()}
    names = {
        "reference": "reference: librosa.load, melspectrogram + model.predict per window",
        "candidate": "candidate: predict_file (streamed, batched frames)",
    }
    rows = [[names[k], median[k], seconds / median[k], " ".join(f"{t:.2f}" for t in v)] for k, v in times.items()]
    print(
        f"\nprediction: {seconds:.0f} s file, {cfg.n_frames(int(seconds * cfg.sample_rate))} frames, model {model_kind}"
    )
    print(table(["method", "median s", "x realtime", "runs (s)"], rows))
    top = {k: classifier.genres[int(np.argmax(p))] for k, p in probs.items()}
    diff = float(np.abs(probs["candidate"] - probs["reference"]).max())
    print(f"\nmodel load (load_classifier, first in this process): {load_s:.2f} s")
    print(f"peak RSS of this process (both methods, file generation): {peak_rss_mb()[0]:.0f} MB")
    print(f"song probabilities: max |candidate - reference| = {diff:.1e}", end="; ")
    print(f"top genre: candidate {top['candidate']}, reference {top['reference']}")
    realtime = seconds / median["candidate"]
    print(
        f"\nsummary: candidate {realtime:.0f}x realtime (target >= {TARGET_REALTIME:g}x), "
        f"{median['reference'] / median['candidate']:.1f}x the reference; model load {load_s:.2f} s; {machine()}"
    )


if __name__ == "__main__":
    main()
