"""Prediction at the decoder's limit: speed, memory flat in file length, folders, resampler quality, decoders.

All audio is generated here: 44.1 kHz stereo tone + noise written by soundfile (FLAC and WAV PCM_16,
MP3 through libsndfile's encoder). Sections, each medians of `--repeats` runs, methods interleaved:
- speed: x realtime of one 60-minute FLAC in a warm process (model loaded and traced; the marginal
  speed, start-up apart) for `today` (the serial path before issue 14, kept below as `today_predict`),
  `serial` (predict_file(overlap=False)) and `overlapped` (predict_file, the `genrecrnn predict` path);
- memory: peak RSS (VmHWM) of a fresh process that loads the model and classifies one file of 5, 20
  and 60 minutes (today's path at 5 and 60 minutes for comparison);
- folder: 20 files of 3 minutes one at a time (today's path; the new path with workers=1) against
  PredictionRun with 2 workers;
- resampler: soxr's qualities, speed (44.1 -> 22.05 kHz, streamed in 10 s chunks) and the largest
  change of a clip's probabilities against HQ on 20 generated 30 s clips at 44.1 kHz;
- decoders: libsndfile decode speed (float32 blocks of 10 s) of a 10-minute FLAC, WAV and MP3.
The model is --model, else the pipeline's models/crnn.keras if present, else an untrained CRNN.

    python benchmarks/bench_prediction.py                 # about 6 minutes on 2 cores
    python benchmarks/bench_prediction.py --quick         # short files, one repeat: a smoke run
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from common import ROOT, in_fresh_process, machine, status_mb, table  # first: installs genrecrnn.util.quiet's hook
from genrecrnn.config.outputs import MODEL_FILE
from genrecrnn.data.audio import audio_info
from genrecrnn.data.synth import GTZAN_GENRES, clip_seed, synth_clip
from genrecrnn.features.logmel import FeatureConfig, clip_frames
from genrecrnn.model.classifier import Classifier, load_classifier, metadata_path, save_classifier
from genrecrnn.model.crnn import build_crnn, frame_predictor, predict_frames
from genrecrnn.predict.inference import PredictionRun
from genrecrnn.predict.windows import predict_file

FILE_SR = 44100
TARGET_REALTIME = 800.0
TARGET_RSS_MB = 100.0
TARGET_FOLDER = 1.6
PROB_TOLERANCE = 0.01  # largest change of a clip probability against soxr HQ that a faster setting may make
QUALITIES = ("VHQ", "HQ", "MQ", "LQ", "QQ")


def write_tone_noise(path: Path, *, minutes: float, seed: int = 0, fmt: str | None = None) -> float:
    """44.1 kHz stereo 440/444 Hz tone plus noise, written 30 s at a time (PCM_16, or MP3); duration in s."""
    rng = np.random.default_rng(seed)
    n, block = int(minutes * 60 * FILE_SR), 30 * FILE_SR
    subtype = "MPEG_LAYER_III" if fmt == "MP3" else "PCM_16"
    with sf.SoundFile(path, "w", FILE_SR, 2, subtype=subtype, format=fmt) as f:
        for start in range(0, n, block):
            t = (np.arange(start, min(n, start + block)) / FILE_SR)[:, None]
            y = 0.3 * np.sin(2 * np.pi * 440 * t * np.array([1.0, 1.01])) + 0.05 * rng.standard_normal((len(t), 2))
            f.write(y.astype(np.float32))
    return n / FILE_SR


# --- today's serial path (before issue 14), frozen here as the reference -------------------------


def _today_stream(path: Path, sr: int) -> Iterator[np.ndarray]:
    """stream_audio before issue 14: 60 s blocks, mean over channels, a finite mask of the whole block."""
    info = audio_info(path)
    block = int(60.0 * info.sample_rate)
    resampler = None if info.sample_rate == sr else soxr.ResampleStream(info.sample_rate, sr, 1, dtype="float32")
    with sf.SoundFile(str(path)) as f:
        for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):
            assert np.isfinite(data).all()
            mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
            if resampler is not None:  # the file's last block flushes the resampler
                mono = resampler.resample_chunk(mono, last=f.tell() >= f.frames)
            if len(mono):
                yield mono


def today_predict(path: Path, classifier: Classifier, window_seconds: float = 30.0) -> np.ndarray:
    """predict_file before issue 14 (serial; eager model calls on batches of up to 256 frames): song probabilities."""
    cfg = classifier.feature_config
    win = int(round(window_seconds * cfg.sample_rate))
    counts, window_probs, pending = [], [], []

    def flush() -> None:
        if pending:
            probs = predict_frames(classifier.model, np.concatenate(pending), batch_size=256)
            bounds = np.cumsum([0, *[len(p) for p in pending]])
            window_probs.extend(probs[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:]))
            pending.clear()

    def windows() -> Iterator[np.ndarray]:
        buffer, start, covered = np.empty(0, np.float32), 0, 0
        for block in _today_stream(path, cfg.sample_rate):
            buffer = np.concatenate([buffer, block])
            while len(buffer) >= win:
                yield buffer[:win]
                covered, buffer, start = start + win, buffer[win:], start + win
        if len(buffer) >= cfg.min_samples and start + len(buffer) > covered:
            yield buffer

    for y in windows():
        pending.append(clip_frames(y, cfg=cfg))
        counts.append(len(pending[-1]))
        if sum(len(p) for p in pending) >= 256:
            flush()
    flush()
    return np.array(counts) @ np.stack(window_probs) / sum(counts)


def new_predict(path: Path, classifier: Classifier, *, overlap: bool = True) -> np.ndarray:
    """predict_file's song probabilities as an array."""
    return np.array(list(predict_file(path, classifier, overlap=overlap)["probabilities"].values()))


# --- measurements ----------------------------------------------------------------------------------


def model_file(folder: Path, given: Path | None) -> tuple[Path, str]:
    """--model, else the pipeline's trained model if it exists, else an untrained CRNN saved in `folder`."""
    trained = given or ROOT / "models" / MODEL_FILE
    if trained.is_file() and metadata_path(trained).is_file():
        return trained, f"trained ({trained})"
    cfg = FeatureConfig()
    path = folder / MODEL_FILE
    model = build_crnn(time_steps=cfg.frame_columns, n_mels=cfg.n_mels, n_genres=len(GTZAN_GENRES))
    save_classifier(path, model=model, genres=list(GTZAN_GENRES), feature_config=cfg)
    return path, "untrained build_crnn"


def timed(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall seconds of each method, `repeats` rounds with the methods interleaved."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, run in methods.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return times


def peak_rss_of_run(model_path: str, audio: str, today: bool) -> float:
    """In a fresh process: load the model, classify `audio` once; VmHWM in MB."""
    classifier = load_classifier(model_path)
    today_predict(Path(audio), classifier) if today else new_predict(Path(audio), classifier)
    return status_mb("VmHWM") or float("nan")


def resampler_effect(classifier: Classifier, n_clips: int, repeats: int) -> list[list]:
    """Rows (quality, x realtime resampling, max |clip probability - HQ's|) over generated 44.1 kHz clips."""
    cfg = classifier.feature_config
    predict = frame_predictor(classifier.model)
    clips = [
        synth_clip(g, seed=clip_seed(1, g, i), seconds=30.0, sr=FILE_SR)
        for i, g in enumerate(GTZAN_GENRES[i % len(GTZAN_GENRES)] for i in range(n_clips))
    ]
    probs = {
        q: np.stack(
            [
                predict(clip_frames(soxr.resample(c, FILE_SR, cfg.sample_rate, quality=q), cfg=cfg)).mean(0)
                for c in clips
            ]
        )
        for q in QUALITIES
    }
    minute = np.concatenate(clips[: max(1, min(2, n_clips))] * 2)  # 60 s of music at 44.1 kHz

    def stream(q: str) -> None:
        r = soxr.ResampleStream(FILE_SR, cfg.sample_rate, 1, dtype="float32", quality=q)
        for s in range(0, len(minute), 10 * FILE_SR):
            r.resample_chunk(minute[s : s + 10 * FILE_SR], last=s + 10 * FILE_SR >= len(minute))

    times = timed({q: (lambda q=q: stream(q)) for q in QUALITIES}, max(repeats, 5))
    seconds = len(minute) / FILE_SR
    return [[q, seconds / statistics.median(times[q]), float(np.abs(probs[q] - probs["HQ"]).max())] for q in QUALITIES]


def decode_speed(files: dict[str, Path], repeats: int) -> list[list]:
    """Rows (format, x realtime) of reading each file to float32 in 10 s blocks."""

    def read(path: Path) -> None:
        with sf.SoundFile(path) as f:
            while len(f.read(10 * FILE_SR, dtype="float32", always_2d=True)) == 10 * FILE_SR:
                pass

    times = timed({k: (lambda p=p: read(p)) for k, p in files.items()}, repeats)
    return [[k, sf.info(str(files[k])).duration / statistics.median(t)] for k, t in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timed runs of each method (default 3)")
    parser.add_argument("--model", type=Path, default=None, help="a .keras model with its sidecar")
    parser.add_argument("--quick", action="store_true", help="short files and one repeat: checks the script runs")
    args = parser.parse_args()
    scale, repeats = (1 / 30, 1) if args.quick else (1.0, args.repeats)
    long_min, memory_mins, folder_files, folder_min, decode_min = (
        60 * scale,
        (5 * scale, 20 * scale, 60 * scale),
        20,
        3 * scale,
        10 * scale,
    )
    if args.quick:
        folder_files = 4
    work = Path(tempfile.mkdtemp(prefix="bench_pred_"))
    try:
        model_path, model_kind = model_file(work, args.model)
        classifier = load_classifier(model_path)
        long = work / "long.flac"
        seconds = write_tone_noise(long, minutes=long_min)
        short = work / "short.flac"
        write_tone_noise(short, minutes=1)
        for warm in (today_predict, new_predict):  # first calls build filters and trace the graph
            warm(short, classifier)
        probs = {
            "today": today_predict(long, classifier),
            "serial": new_predict(long, classifier, overlap=False),
            "overlapped": new_predict(long, classifier),
        }
        speed = timed(
            {
                "today": lambda: today_predict(long, classifier),
                "serial": lambda: new_predict(long, classifier, overlap=False),
                "overlapped": lambda: new_predict(long, classifier),
            },
            repeats,
        )

        memory = []
        for minutes in memory_mins:
            path = long if minutes == long_min else work / f"m{minutes:g}.flac"
            if not path.exists():
                write_tone_noise(path, minutes=minutes)
            for today in (False, True) if minutes != memory_mins[1] else (False,):
                memory.append((minutes, today, in_fresh_process(peak_rss_of_run, str(model_path), str(path), today)))

        album = work / "album"
        album.mkdir()
        for i in range(folder_files):
            write_tone_noise(album / f"{i:02d}.flac", minutes=folder_min, seed=i + 1)
        folder_seconds = folder_files * folder_min * 60
        songs = sorted(album.iterdir())
        folder = timed(
            {
                "today": lambda: [today_predict(p, classifier) for p in songs],
                "workers1": lambda: list(PredictionRun([album], classifier, progress=False, workers=1)),
                "workers2": lambda: list(PredictionRun([album], classifier, progress=False, workers=2)),
            },
            repeats,
        )

        resampling = resampler_effect(classifier, 2 if args.quick else 20, repeats)
        decoders = {"FLAC": work / "d.flac", "WAV": work / "d.wav", "MP3": work / "d.mp3"}
        for kind, path in decoders.items():
            write_tone_noise(path, minutes=decode_min, fmt=kind if kind == "MP3" else None)
        decoding = decode_speed(decoders, max(repeats, 3))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in speed.items()}
    names = {
        "today": "today's serial path (before issue 14)",
        "serial": "predict_file(overlap=False)",
        "overlapped": "predict_file (decoding in a thread)",
    }
    print(f"\nspeed: one {seconds / 60:.0f}-minute 44.1 kHz stereo FLAC, warm process; model {model_kind}")
    rows = [[names[k], med[k], seconds / med[k], " ".join(f"{t:.2f}" for t in v)] for k, v in speed.items()]
    print(table(["method", "median s", "x realtime", "runs (s)"], rows))
    print(
        f"song probabilities: max |overlapped - serial| = {np.abs(probs['overlapped'] - probs['serial']).max():.1e}, "
        f"max |overlapped - today| = {np.abs(probs['overlapped'] - probs['today']).max():.1e}"
    )

    print("\nmemory: peak RSS of a fresh process (load the model, classify one file)")
    print(table(["path", "minutes", "peak RSS MB"], [["today" if t else "new", m, r] for m, t, r in memory]))
    new_rss = {m: r for m, t, r in memory if not t}

    fmed = {k: statistics.median(v) for k, v in folder.items()}
    print(f"\nfolder: {folder_files} files of {folder_min:g} minutes ({folder_seconds / 60:.0f} minutes of audio)")
    fnames = {
        "today": "one at a time, today's serial path",
        "workers1": "one at a time, overlapped (workers=1)",
        "workers2": "PredictionRun, 2 workers",
    }
    rows = [[fnames[k], fmed[k], folder_seconds / fmed[k], " ".join(f"{t:.2f}" for t in v)] for k, v in folder.items()]
    print(table(["method", "median s", "x realtime", "runs (s)"], rows))

    print(f"\nresampler: soxr 44.1 -> {classifier.feature_config.sample_rate / 1000:g} kHz; tolerance {PROB_TOLERANCE}")
    print(table(["quality", "x realtime (resampling alone)", "max |clip prob - HQ|"], resampling))
    print("\ndecoders: libsndfile, float32 blocks of 10 s, 44.1 kHz stereo")
    print(table(["format", "x realtime"], decoding))

    realtime = seconds / med["overlapped"]
    rss_gap = new_rss[memory_mins[2]] - new_rss[memory_mins[0]]
    print(f"\nsummary: overlapped {realtime:.0f}x realtime (target >= {TARGET_REALTIME:g}x), ", end="")
    print(f"{med['today'] / med['overlapped']:.2f}x today's serial path; ", end="")
    print(f"peak RSS 60 min - 5 min = {rss_gap:+.0f} MB (target <= {TARGET_RSS_MB:g}); ", end="")
    print(f"folder in 2 workers {fmed['today'] / fmed['workers2']:.2f}x today's one at a time, ", end="")
    print(f"{fmed['workers1'] / fmed['workers2']:.2f}x the overlapped one at a time (target >= {TARGET_FOLDER:g}x)")
    print(machine())


if __name__ == "__main__":
    main()
