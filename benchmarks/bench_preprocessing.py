"""Preprocessing speed: GTZAN-size audio files -> stored multiframe log-mel features.

Measures clips per second for
- reference: the obvious way, one process: per file librosa.load(path, sr=22050),
  librosa.feature.melspectrogram(n_fft=2048, hop_length=512, n_mels=128), power_to_db(ref=1,
  amin=1e-10, top_db=80), cut into frames with genrecrnn.features.logmel.frame_spectrogram, np.save;
- candidate: genrecrnn.features.store.write_feature_store(..., workers=2), the pipeline's preprocessing.
Both run on the same generated set (default 1000 x 30 s clips from genrecrnn.data.synth, generation
not timed; page cache warmed first), interleaved `--repeats` times; medians are reported, with
the ratio within each repeat (runs next to each other share the machine's load) and the CPU
time per clip (workers included; less sensitive to other processes than wall time). Also
printed: the largest absolute difference between the two feature sets (tolerance 1e-3 dB) and
the candidate's peak RSS at two set sizes, each in a fresh process, to show memory does not
grow with the number of clips.

    python benchmarks/bench_preprocessing.py --clips 200 --keep /tmp/gtzan-synth
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import pandas as pd

from common import cpu_seconds, in_fresh_process, machine, peak_rss_mb, table
from genrecrnn.data.dataset import clip_path, generate_dataset
from genrecrnn.data.synth import GTZAN_GENRES
from genrecrnn.features.logmel import FeatureConfig, frame_spectrogram
from genrecrnn.features.store import open_feature_store, write_feature_store

TOLERANCE_DB = 1e-3
TARGET_RATIO = 3.0


def synthetic_set(root: Path, clips: int) -> pd.DataFrame:
    """Generate (or reuse) `clips` 30 s clips under `root`; the track table write_feature_store takes."""
    per_genre = clips // len(GTZAN_GENRES)
    paths = [clip_path(root, g, i) for g in GTZAN_GENRES for i in range(per_genre)]
    if not all(p.is_file() for p in paths):
        generate_dataset(
            root, genres=GTZAN_GENRES, clips_per_genre=per_genre, seconds=30, sr=22050, seed=0, progress=False
        )
    genres = [p.parent.name for p in paths]
    return pd.DataFrame(
        {
            "track_id": [p.stem for p in paths],
            "path": [str(p) for p in paths],
            "genre": genres,
            "label": [GTZAN_GENRES.index(g) for g in genres],
            "split": "train",
        }
    )


def first_per_genre(tracks: pd.DataFrame, clips: int) -> pd.DataFrame:
    """The first clips/10 tracks of every genre."""
    return tracks.groupby("genre", sort=False).head(clips // len(GTZAN_GENRES))


def reference(tracks: pd.DataFrame, out_dir: Path, cfg: FeatureConfig) -> None:
    """The obvious way: a plain loop of librosa calls, one .npy of frames per clip."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for track_id, path in zip(tracks["track_id"], tracks["path"], strict=True):
        y, sr = librosa.load(path, sr=cfg.sample_rate)
        mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels)
        spec = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
        np.save(out_dir / f"{track_id}.npy", frame_spectrogram(spec, cfg=cfg))


def candidate(tracks: pd.DataFrame, out_dir: Path, cfg: FeatureConfig, workers: int) -> None:
    """The project's preprocessing."""
    write_feature_store(out_dir, tracks, cfg=cfg, workers=workers, progress=False)


def max_abs_diff(store_dir: Path, ref_dir: Path) -> tuple[float, int]:
    """Largest |candidate - reference| (dB) over all frames, and the number of frames compared."""
    store = open_feature_store(store_dir)
    worst, n = 0.0, 0
    for track_id, rows in store.index.groupby("track_id", sort=False)["row"]:
        ref = np.load(ref_dir / f"{track_id}.npy")
        got = store.frames[rows.to_numpy()]
        if got.shape != ref.shape:
            raise ValueError(f"{track_id}: candidate frames {got.shape} vs reference {ref.shape}")
        worst, n = max(worst, float(np.abs(got - ref).max())), n + len(ref)
    return worst, n


def peak_rss_probe(tracks: pd.DataFrame, out_dir: str, workers: int) -> tuple[float, float, float]:
    """In a fresh process: RSS after imports, then peak RSS of the parent and of any worker (MB)."""
    before, _ = peak_rss_mb()
    candidate(tracks, Path(out_dir), FeatureConfig(), workers)
    parent, worker = peak_rss_mb()
    return before, parent, worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=1000, help="clips of 30 s, a multiple of 10 (default 1000)")
    parser.add_argument("--keep", type=Path, help="folder caching the generated audio between runs")
    parser.add_argument("--workers", type=int, default=2, help="candidate worker processes (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each method (default 3)")
    parser.add_argument(
        "--memory-clips", type=int, nargs=2, default=(100, 400), help="set sizes for peak RSS (default 100 400)"
    )
    args = parser.parse_args()
    for n in (args.clips, *args.memory_clips):
        if n < len(GTZAN_GENRES) or n % len(GTZAN_GENRES):
            parser.error(f"clip counts must be positive multiples of {len(GTZAN_GENRES)}, got {n}")
    cfg = FeatureConfig()
    work = Path(tempfile.mkdtemp(prefix="bench_pre_"))
    try:
        audio = args.keep or work / "audio"
        t0 = time.perf_counter()
        all_tracks = synthetic_set(audio, max(args.clips, *args.memory_clips))
        print(f"audio: {len(all_tracks)} clips in {audio} ({time.perf_counter() - t0:.0f} s to generate or find)")
        tracks = first_per_genre(all_tracks, args.clips)
        for p in tracks["path"]:  # warm the page cache so neither method pays for the first read
            Path(p).read_bytes()

        methods = {
            "reference": lambda: reference(tracks, work / "reference", cfg),
            "candidate": lambda: candidate(tracks, work / "store", cfg, args.workers),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        cpu: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(args.repeats):
            for name, run in methods.items():
                t0, c0 = time.perf_counter(), cpu_seconds()
                run()
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(cpu_seconds() - c0)
        worst, n_frames = max_abs_diff(work / "store", work / "reference")

        memory = []
        for n in args.memory_clips:
            subset = first_per_genre(all_tracks, n)
            memory.append((n, *in_fresh_process(peak_rss_probe, subset, str(work / f"mem{n}"), args.workers)))
            shutil.rmtree(work / f"mem{n}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rate = {k: len(tracks) / statistics.median(v) for k, v in times.items()}
    ratio = rate["candidate"] / rate["reference"]
    # Runs next to each other in time share the machine's load: the ratio within each repeat is steadier.
    paired = statistics.median(r / c for r, c in zip(times["reference"], times["candidate"], strict=True))
    print(f"\npreprocessing: {len(tracks)} clips x 30 s -> frames {cfg.frame_shape}, medians of {args.repeats} runs")
    names = {
        "reference": "reference: librosa loop, 1 process",
        "candidate": f"candidate: write_feature_store, {args.workers} workers",
    }
    rows = [
        [
            names[k],
            statistics.median(v),
            rate[k],
            1e3 * statistics.median(cpu[k]) / len(tracks),
            " ".join(f"{t:.1f}" for t in v),
        ]
        for k, v in times.items()
    ]
    print(table(["method", "median s", "clips/s", "CPU ms/clip", "runs (s)"], rows))
    verdict = "ok" if worst <= TOLERANCE_DB else "EXCEEDS TOLERANCE"
    print(f"\nmax |candidate - reference| = {worst:.2e} dB over {n_frames} frames", end=" ")
    print(f"(tolerance {TOLERANCE_DB:g} dB): {verdict}")
    print("\ncandidate peak RSS (fresh process each; parent after imports, parent peak, largest worker peak)")
    print(table(["clips", "after imports MB", "parent peak MB", "worker peak MB"], memory))
    print(
        f"\nsummary: candidate {rate['candidate']:.0f} clips/s vs reference {rate['reference']:.0f} clips/s = "
        f"{ratio:.1f}x, paired per repeat {paired:.1f}x (target >= {TARGET_RATIO:g}x); max diff {worst:.1e} dB; "
        f"{machine()}"
    )


if __name__ == "__main__":
    main()
