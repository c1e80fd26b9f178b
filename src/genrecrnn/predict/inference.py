"""Files and folders classified for `genrecrnn predict` and notebook 04: the run, its report and its schema.

Folders run `workers` files at a time, each in a thread (decoding, FFTs and the model release the GIL);
each file is classified by :func:`genrecrnn.predict.windows.predict_file`. :class:`PredictionRun`'s
report is data (the PREDICTION_SCHEMA document); printing is the command line's (cli.py).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from genrecrnn.data.audio import AUDIO_EXTENSIONS
from genrecrnn.data.provenance import run_identity
from genrecrnn.metrics.combine import check_method
from genrecrnn.model.classifier import Classifier
from genrecrnn.predict.windows import predict_file, top_genres
from genrecrnn.util.errors import AudioError

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


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given plus audio files found recursively in given folders, sorted per folder."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS))
        else:
            out.append(p)  # a missing or bad file is reported by predict_file with its reason
    return out


class PredictionRun:
    """Files, and the audio files in folders, classified `workers` at a time: `genrecrnn predict` and notebook 04.

    Iterating classifies them, yielding (path, result or None, error message) in the order of
    :attr:`files` and collecting :attr:`results` and :attr:`failures`; a bad file never stops the rest.
    :meth:`report` is the PREDICTION_SCHEMA document of what is done so far.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        classifier: Classifier,
        *,
        window_seconds: float = 30.0,
        window_hop_seconds: float = 30.0,
        combine: str = "mean",
        progress: bool = True,
        workers: int = 2,
    ) -> None:
        check_method(combine)
        if workers < 1:
            raise ValueError(f"workers={workers} must be at least 1")
        self.files = expand_paths(paths)
        if not self.files:
            raise AudioError(f"no audio files found in {', '.join(map(str, paths))}")
        self.classifier, self.combine, self.progress, self.workers = classifier, combine, progress, workers
        self.window_seconds, self.window_hop_seconds = window_seconds, window_hop_seconds
        self.results: list[dict] = []
        self.failures: list[dict] = []

    def __iter__(self) -> Iterator[tuple[Path, dict | None, str]]:
        """Classify the files not yet done, yielding (path, result or None, error) for each, in order."""
        todo = iter(self.files[len(self.results) + len(self.failures) :])
        bar = tqdm(
            total=len(self.files) - len(self.results) - len(self.failures),
            disable=not self.progress or len(self.files) - len(self.results) - len(self.failures) < 2,
            desc="predicting",
            file=sys.stderr,
        )
        # Files are submitted `workers` ahead and collected in order, so output order is the files' order.
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="genrecrnn-predict")
        running: deque[tuple[Path, Future]] = deque()
        try:
            while True:
                while len(running) < self.workers and (path := next(todo, None)) is not None:
                    running.append((path, pool.submit(self._predict, path)))
                if not running:
                    return
                path, future = running.popleft()
                try:
                    result = future.result()
                except (AudioError, ValueError) as err:
                    self.failures.append({"path": str(path), "error": str(err)})
                    bar.update()
                    yield path, None, str(err)
                else:
                    self.results.append(result)
                    bar.update()
                    yield path, result, ""
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()

    def _predict(self, path: Path) -> dict:
        """predict_file with this run's settings."""
        return predict_file(
            path,
            self.classifier,
            window_seconds=self.window_seconds,
            window_hop_seconds=self.window_hop_seconds,
            combine=self.combine,
        )

    def report(self, *, top_k: int = 3, relative_to: Path | None = None) -> dict:
        """The PREDICTION_SCHEMA document: run identity and settings, per-file results with their top-k, failures.

        Paths inside `relative_to` are written relative to it (a pipeline output holds no machine paths).
        """
        results = [
            {**r, "top": [{"genre": g, "probability": p} for g, p in top_genres(r, top_k)]} for r in self.results
        ]
        if relative_to is not None:
            results = [{**r, "path": _relative(r["path"], relative_to)} for r in results]
        return {
            **run_identity(model_id=self.classifier.model_id),
            "genres": self.classifier.genres,
            "features": asdict(self.classifier.feature_config),
            "window_seconds": self.window_seconds,
            "window_hop_seconds": self.window_hop_seconds,
            "combine": self.combine,
            "complete": len(self.results) + len(self.failures) == len(self.files),
            "results": results,
            "failures": self.failures,
        }


def _relative(path: str, root: Path) -> str:
    """`path` relative to `root` if it lies inside it, else as given."""
    return str(Path(path).relative_to(root)) if Path(path).is_relative_to(root) else path
