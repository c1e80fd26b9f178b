"""One file's genre: windows of the training clip length, frames as in training, fixed-size model batches, combined.

A song is cut into windows of `window_seconds` (default 30 s, the GTZAN clip length) every
`window_hop_seconds`; each window is cut into frames by the same feature function as training;
a window's probabilities are the mean over its frames and the song's are combined from all its
frames exactly as a clip's are in evaluation (combine="mean": the mean over all frames; "vote":
each frame votes for its top genre), so a short tail window weighs as little as the audio it holds. A trailing
part shorter than a window is kept as its own window when it holds at least one frame and adds
audio no earlier window covered; a song shorter than one frame is rejected.

Speed and memory: a background thread decodes, downmixes and resamples the next blocks while this
one computes log-mels and runs the model (:func:`genrecrnn.util.prefetch.prefetch`), so both cores work;
the model runs as one traced graph on batches of BATCH_FRAMES frames whatever the file's length,
and at most a few decoded blocks are alive at once, so memory is flat in file length.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from genrecrnn.data.audio import audio_info, stream_audio
from genrecrnn.features.logmel import FeatureConfig, clip_frames
from genrecrnn.metrics.combine import check_method, combine_probabilities
from genrecrnn.model.classifier import Classifier
from genrecrnn.model.crnn import frame_predictor
from genrecrnn.util.errors import AudioError
from genrecrnn.util.prefetch import prefetch

# Frames per model call. Every batch but a file's last has this size, so the model's working memory
# is the same for a 5-minute file as for an hour: batches of 256 frames, reached only by files of
# more than 25 windows, held 640 MB of activations against 90 MB here, and through the traced graph
# 32 frames cost about as much per frame as 256 (0.5 vs 0.45 ms).
BATCH_FRAMES = 32


# Seconds of audio per block read from the file (10 s of 44.1 kHz stereo float32 is 3.5 MB); blocks
# of 1-60 s decode equally fast.
BLOCK_SECONDS = 10.0


# Decoded blocks the background thread may hold ahead of the model.
PREFETCH_BLOCKS = 2


def iter_windows(
    path: Path | str,
    *,
    cfg: FeatureConfig,
    window_seconds: float,
    window_hop_seconds: float,
    overlap: bool = False,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (start in seconds, mono signal) windows of `path`, streaming; see the module docstring for the rule.

    With `overlap`, decoding runs ahead in a background thread; the windows are the same either way.
    """
    win, hop = int(round(window_seconds * cfg.sample_rate)), int(round(window_hop_seconds * cfg.sample_rate))
    if win < cfg.min_samples or not 0 < hop <= win:
        raise ValueError(
            f"window_seconds={window_seconds:g} must hold one {cfg.frame_seconds:g} s frame and "
            f"window_hop_seconds={window_hop_seconds:g} must be in (0, window_seconds]"
        )
    blocks = stream_audio(path, sr=cfg.sample_rate, block_seconds=BLOCK_SECONDS)
    buffer, start, covered = np.empty(0, np.float32), 0, 0
    for block in prefetch(blocks, depth=PREFETCH_BLOCKS) if overlap else blocks:
        buffer = np.concatenate([buffer, block])
        while len(buffer) >= win:
            yield start / cfg.sample_rate, buffer[:win]
            covered, buffer, start = start + win, buffer[hop:], start + hop
    if len(buffer) >= cfg.min_samples and start + len(buffer) > covered:
        yield start / cfg.sample_rate, buffer


def predict_file(
    path: Path | str,
    classifier: Classifier,
    *,
    window_seconds: float = 30.0,
    window_hop_seconds: float = 30.0,
    combine: str = "mean",
    batch_frames: int = BATCH_FRAMES,
    overlap: bool = True,
) -> dict:
    """Classify one file: dict with the song's genre distribution, top genre and per-window distributions.

    `overlap` decodes in a background thread (same result, bit for bit, as without: the same
    blocks, windows and batches are computed, only on another thread).
    """
    check_method(combine)
    cfg, info = classifier.feature_config, audio_info(path)
    predict = frame_predictor(classifier.model)
    starts, lengths, counts, frame_probs = [], [], [], []
    pending: list[np.ndarray] = []  # frames not yet run, fewer than batch_frames of them
    windows = iter_windows(
        path, cfg=cfg, window_seconds=window_seconds, window_hop_seconds=window_hop_seconds, overlap=overlap
    )
    for start, y in windows:
        frames = clip_frames(y, cfg=cfg, name=str(path))
        starts.append(start)
        lengths.append(len(y) / cfg.sample_rate)
        counts.append(len(frames))
        pending.append(frames)
        if sum(map(len, pending)) >= batch_frames:
            batch = np.concatenate(pending)
            full = len(batch) // batch_frames * batch_frames
            frame_probs.extend(predict(batch[i : i + batch_frames]) for i in range(0, full, batch_frames))
            pending = [batch[full:]]
    if sum(map(len, pending)):
        frame_probs.append(predict(np.concatenate(pending)))
    if not counts:
        raise AudioError(
            f"{path}: {info.duration:.2f} s is shorter than one {cfg.frame_seconds:g} s frame; nothing to classify"
        )
    probs, bounds = np.concatenate(frame_probs), np.cumsum([0, *counts])
    windows = np.stack([probs[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
    # One song from all its frames, as a clip's genre in evaluation: "mean" averages them, "vote" lets each vote.
    song = combine_probabilities(probs, np.zeros(len(probs), int), method=combine)[0]
    note = (
        ""
        if info.duration >= window_seconds
        else (f"shorter than one {window_seconds:g} s window: classified from its {info.duration:.1f} s")
    )
    return {
        "path": str(path),
        "duration": round(info.duration, 3),
        "combine": combine,
        "genre": classifier.genres[int(song.argmax())],
        "probabilities": {g: float(p) for g, p in zip(classifier.genres, song)},
        "windows": [
            {"start": round(s, 3), "seconds": round(n, 3), "frames": int(c), "probabilities": [float(p) for p in w]}
            for s, n, c, w in zip(starts, lengths, counts, windows)
        ],
        "note": note,
    }


def top_genres(result: dict, k: int) -> list[tuple[str, float]]:
    """The k most probable genres of a prediction, highest first."""
    return sorted(result["probabilities"].items(), key=lambda kv: -kv[1])[:k]
