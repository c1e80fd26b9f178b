"""Genre of any audio file: windows of the training clip length, frames as in training, combined.

A song is cut into windows of `window_seconds` (default 30 s, the GTZAN clip length) every
`window_hop_seconds`; each window is cut into frames by the same feature function as training;
a window's probabilities are the mean over its frames and the song's are the mean over its
windows weighted by their frame counts (so the mean over all frames; with combine="vote", each
window votes for its top genre with as many votes as it has frames), so a short tail window
weighs as little as the audio it holds. A trailing
part shorter than a window is kept as its own window when it holds at least one frame and adds
audio no earlier window covered; a song shorter than one frame is rejected. Audio is streamed,
so memory stays bounded for hour-long files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from genrecrnn import __version__
from genrecrnn.audio import AUDIO_EXTENSIONS, audio_info, stream_audio
from genrecrnn.errors import AudioError, ModelError
from genrecrnn.features import FeatureConfig, clip_frames
from genrecrnn.fileio import atomic_write_json
from genrecrnn.model import MODEL_FILE, input_shape, load_model, predict_frames

COMBINE_METHODS = ("mean", "vote")
_PROBS = {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}}
_WINDOW = {
    "type": "object",
    "required": ["start", "seconds", "frames", "probabilities"],
    "properties": {
        "start": {"type": "number"},
        "seconds": {"type": "number"},
        "frames": {"type": "integer", "minimum": 1},
        "probabilities": {"type": "array", "items": {"type": "number"}},
    },
}
# The documented shape of `genrecrnn predict --json` (JSON Schema); a test validates real output against it.
PREDICTION_SCHEMA = {
    "type": "object",
    "required": [
        "genrecrnn_version",
        "model_id",
        "genres",
        "features",
        "window_seconds",
        "window_hop_seconds",
        "combine",
        "complete",
        "results",
        "failures",
    ],
    "properties": {
        "genres": {"type": "array", "items": {"type": "string"}},
        "features": {"type": "object"},
        "complete": {"type": "boolean"},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "duration", "genre", "probabilities", "top", "windows", "note", "combine"],
                "properties": {
                    "path": {"type": "string"},
                    "duration": {"type": "number"},
                    "genre": {"type": "string"},
                    "probabilities": _PROBS,
                    "note": {"type": "string"},
                    "top": {"type": "array", "items": {"type": "object", "required": ["genre", "probability"]}},
                    "windows": {"type": "array", "minItems": 1, "items": _WINDOW},
                },
            },
        },
        "failures": {"type": "array", "items": {"type": "object", "required": ["path", "error"]}},
    },
}


@dataclass
class Classifier:
    """A trained model with the genre names and feature settings it was trained with."""

    model: keras.Model
    genres: list[str]
    features: FeatureConfig
    model_id: str


def metadata_path(model_path: Path | str) -> Path:
    """The JSON sidecar (genres, feature settings) saved beside a .keras model."""
    return Path(model_path).with_suffix(".json")


def save_metadata(model_path: Path | str, *, genres: list[str], features: FeatureConfig) -> None:
    """Write the sidecar that lets a model be used without the pipeline's params.yaml."""
    atomic_write_json(metadata_path(model_path), {"genres": list(genres), "features": asdict(features)})


def weights_id(model: keras.Model) -> str:
    """Short hash of a model's weights: the same trained model gives the same id, whatever its file's timestamps."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()[:16]


def load_classifier(model_path: Path | str) -> Classifier:
    """Load model + sidecar (safe mode); ModelError saying how to make one if either is missing or they disagree."""
    model_path = Path(model_path)
    model = load_model(model_path)
    meta_file = metadata_path(model_path)
    if not meta_file.is_file():
        raise ModelError(f"{meta_file}: model metadata not found beside {model_path}; retrain with `dvc repro`")
    meta = json.loads(meta_file.read_text())
    classifier = Classifier(model, list(meta["genres"]), FeatureConfig(**meta["features"]), weights_id(model))
    if input_shape(model) != classifier.features.frame_shape or model.output_shape[-1] != len(classifier.genres):
        raise ModelError(f"{model_path}: model shape does not match its metadata {meta_file}; retrain with `dvc repro`")
    return classifier


def iter_windows(
    path: Path | str, *, cfg: FeatureConfig, window_seconds: float, window_hop_seconds: float
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (start in seconds, mono signal) windows of `path`, streaming; see the module docstring for the rule."""
    win, hop = int(round(window_seconds * cfg.sample_rate)), int(round(window_hop_seconds * cfg.sample_rate))
    if win < cfg.min_samples or not 0 < hop <= win:
        raise ValueError(
            f"window_seconds={window_seconds:g} must hold one {cfg.frame_seconds:g} s frame and "
            f"window_hop_seconds={window_hop_seconds:g} must be in (0, window_seconds]"
        )
    buffer, start, covered = np.empty(0, np.float32), 0, 0
    for block in stream_audio(path, sr=cfg.sample_rate):
        buffer = np.concatenate([buffer, block])
        while len(buffer) >= win:
            yield start / cfg.sample_rate, buffer[:win]
            covered, buffer, start = start + win, buffer[hop:], start + hop
    if len(buffer) >= cfg.min_samples and start + len(buffer) > covered:
        yield start / cfg.sample_rate, buffer


def combine_windows(window_probs: np.ndarray, frame_counts: np.ndarray, *, method: str = "mean") -> np.ndarray:
    """A song's genre distribution (k,) from its windows' (n, k) probabilities and frame counts (n,).

    ``"mean"``: the windows' probabilities averaged with their frame counts as weights (the mean over
    all the song's frames); ``"vote"``: each window gives its argmax as many votes as it has frames,
    and the result is each genre's share of the votes.
    """
    if method not in COMBINE_METHODS:
        raise ValueError(f"combine={method!r}; allowed: {', '.join(COMBINE_METHODS)}")
    probs = np.asarray(window_probs, dtype=np.float64)
    weights = np.asarray(frame_counts, dtype=np.float64)
    if probs.ndim != 2 or weights.shape != (len(probs),) or len(probs) == 0 or np.any(weights <= 0):
        raise ValueError(f"need window probs (n, k) and n positive frame counts, got {probs.shape}, {weights.shape}")
    if method == "vote":
        probs = np.eye(probs.shape[1])[probs.argmax(axis=1)]
    return weights @ probs / weights.sum()


def predict_file(
    path: Path | str,
    classifier: Classifier,
    *,
    window_seconds: float = 30.0,
    window_hop_seconds: float = 30.0,
    combine: str = "mean",
    batch_frames: int = 256,
) -> dict:
    """Classify one file: dict with the song's genre distribution, top genre and per-window distributions."""
    if combine not in COMBINE_METHODS:
        raise ValueError(f"combine={combine!r}; allowed: {', '.join(COMBINE_METHODS)}")
    cfg, info = classifier.features, audio_info(path)
    starts, lengths, counts, window_probs, pending = [], [], [], [], []

    def flush() -> None:
        if pending:
            probs = predict_frames(classifier.model, np.concatenate(pending), batch_size=batch_frames)
            counts = np.cumsum([0, *[len(p) for p in pending]])
            window_probs.extend(probs[a:b].mean(axis=0) for a, b in zip(counts[:-1], counts[1:]))
            pending.clear()

    for start, y in iter_windows(path, cfg=cfg, window_seconds=window_seconds, window_hop_seconds=window_hop_seconds):
        pending.append(clip_frames(y, cfg=cfg, name=str(path)))
        counts.append(len(pending[-1]))
        starts.append(start)
        lengths.append(len(y) / cfg.sample_rate)
        if sum(len(p) for p in pending) >= batch_frames:
            flush()
    flush()
    if not window_probs:
        raise AudioError(
            f"{path}: {info.duration:.2f} s is shorter than one {cfg.frame_seconds:g} s frame; nothing to classify"
        )
    windows = np.stack(window_probs)
    song = combine_windows(windows, np.array(counts), method=combine)
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


def run_metadata(classifier: Classifier, *, window_seconds: float, window_hop_seconds: float, combine: str) -> dict:
    """What a prediction file records about how it was made (model id, settings, version)."""
    return {
        "genrecrnn_version": __version__,
        "model_id": classifier.model_id,
        "genres": classifier.genres,
        "features": asdict(classifier.features),
        "window_seconds": window_seconds,
        "window_hop_seconds": window_hop_seconds,
        "combine": combine,
    }


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given plus audio files found recursively in given folders, sorted per folder."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            out.append(p)  # a missing or bad file is reported by predict_file with its reason
    return out


def _defaults() -> tuple[Path | None, float, float]:
    """Model path and window settings from the project's params.yaml, if run inside a project."""
    from genrecrnn.config import find_project_root, load_params
    from genrecrnn.errors import ConfigError

    try:
        root = find_project_root()
    except ConfigError:
        return None, 30.0, 30.0
    params = load_params(root / "params.yaml")
    predict = params["predict"]
    return root / params["paths"]["models"] / MODEL_FILE, predict["window_seconds"], predict["window_hop_seconds"]


def predict_paths(
    paths: list[Path],
    *,
    model_path: Path | None = None,
    top_k: int = 3,
    json_path: Path | None = None,
    timeline: bool = False,
    window_seconds: float | None = None,
    window_hop_seconds: float | None = None,
    combine: str = "mean",
    plot_path: Path | None = None,
    out=None,
) -> int:
    """The `genrecrnn predict` command: classify every file, print a table, write JSON (and plot); 1 if any failed."""
    import sys

    out = out or sys.stdout
    default_model, default_win, default_hop = _defaults()
    model_path = model_path or default_model
    if model_path is None:
        raise ModelError("no --model given and no genrecrnn project here; pass --model path/to/crnn.keras")
    if window_seconds is None:  # params.yaml's windows; a window given alone gets non-overlapping hops
        window_seconds, window_hop_seconds = default_win, window_hop_seconds or default_hop
    window_hop_seconds = window_hop_seconds or window_seconds
    classifier = load_classifier(model_path)
    files = expand_paths(paths)
    if not files:
        raise AudioError(f"no audio files found in {', '.join(map(str, paths))}")
    results, failures = [], []
    try:
        for path, result, error in predict_many(
            files, classifier, window_seconds=window_seconds, window_hop_seconds=window_hop_seconds, combine=combine
        ):
            if result is None:
                failures.append({"path": str(path), "error": error})
                print(f"error: {error}", file=sys.stderr)
            else:
                results.append(result)
                print(format_result(result, top_k=top_k, timeline=timeline, genres=classifier.genres), file=out)
    finally:
        # Even an interrupted run (Ctrl-C, a crash) keeps the files it finished.
        if json_path is not None:
            report = prediction_report(
                classifier,
                results,
                failures,
                top_k=top_k,
                window_seconds=window_seconds,
                window_hop_seconds=window_hop_seconds,
                combine=combine,
            )
            atomic_write_json(json_path, {**report, "complete": len(results) + len(failures) == len(files)})
    if plot_path is not None and results:
        from genrecrnn.plots import save_figure, song_timelines

        save_figure(song_timelines(results, classifier.genres), plot_path)
    return 1 if failures else 0


def predict_many(
    files: list[Path],
    classifier: Classifier,
    *,
    window_seconds: float,
    window_hop_seconds: float,
    combine: str = "mean",
    progress: bool = True,
) -> Iterator[tuple[Path, dict | None, str]]:
    """Classify files one by one, yielding (path, result or None, error message); a bad file never stops the rest."""
    import sys

    from tqdm.auto import tqdm

    for path in tqdm(files, disable=not progress or len(files) < 2, desc="predicting", file=sys.stderr):
        try:
            yield (
                path,
                predict_file(
                    path,
                    classifier,
                    window_seconds=window_seconds,
                    window_hop_seconds=window_hop_seconds,
                    combine=combine,
                ),
                "",
            )
        except (AudioError, ValueError) as err:
            yield path, None, str(err)


def prediction_report(
    classifier: Classifier,
    results: list[dict],
    failures: list[dict],
    *,
    top_k: int,
    window_seconds: float,
    window_hop_seconds: float,
    combine: str,
) -> dict:
    """The JSON document of PREDICTION_SCHEMA: run metadata, per-file results with their top-k, failures."""
    meta = run_metadata(
        classifier, window_seconds=window_seconds, window_hop_seconds=window_hop_seconds, combine=combine
    )
    tops = [[{"genre": g, "probability": p} for g, p in top_genres(r, top_k)] for r in results]
    return {**meta, "complete": True, "results": [{**r, "top": t} for r, t in zip(results, tops)], "failures": failures}


def format_result(result: dict, *, top_k: int, timeline: bool, genres: list[str]) -> str:
    """Human-readable lines for one file: top genres with probabilities, optionally the window timeline."""
    lines = [f"{result['path']}  ({result['duration']:.1f} s, {len(result['windows'])} window(s))"]
    lines += [f"  {g:<12} {p:6.1%}" for g, p in top_genres(result, top_k)]
    if result["note"]:
        lines.append(f"  note: {result['note']}")
    if timeline:
        for w in result["windows"]:
            best = int(np.argmax(w["probabilities"]))
            lines.append(f"  {w['start']:8.1f}s  {genres[best]:<12} {w['probabilities'][best]:6.1%}")
    return "\n".join(lines)


def predict_split(classifier: Classifier, store, split: str, *, batch_size: int = 256) -> tuple:
    """Probabilities for every stored frame of `split`: (frame index rows, probs (n, n_genres))."""
    frames = store.split(split).reset_index(drop=True)
    if store.config != classifier.features:
        raise ModelError(
            f"the feature store was made with {store.config}, the model expects {classifier.features}; "
            "rerun the pipeline (dvc repro)"
        )
    rows = frames["row"].to_numpy()
    probs = [
        predict_frames(classifier.model, np.asarray(store.frames[rows[i : i + batch_size]]), batch_size=batch_size)
        for i in range(0, len(rows), batch_size)
    ]
    return frames, np.concatenate(probs) if probs else np.empty((0, len(classifier.genres)), np.float32)
