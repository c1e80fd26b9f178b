"""Checks of the metrics' inputs: probability rows, integer labels, genre names; each raises EvaluationError."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genrecrnn.util.errors import EvaluationError


def check_probs(probs: np.ndarray, n_genres: int | None = None) -> np.ndarray:
    """Return probs as float (n, k); raise if not 2-D, not finite, or rows do not sum to 1."""
    p = np.asarray(probs, dtype=float)
    if p.ndim != 2 or p.shape[0] == 0:
        raise EvaluationError(f"probs must be 2-D (n_examples, n_genres) with n > 0, got {p.shape}")
    if n_genres is not None and p.shape[1] != n_genres:
        raise EvaluationError(f"probs has {p.shape[1]} columns but there are {n_genres} genres")
    if not np.all(np.isfinite(p)):
        raise EvaluationError("probs contains NaN or inf")
    # Loose tolerance: float32 softmax rows drift by ~1e-6; logits would be far off.
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise EvaluationError("probs rows must sum to 1 (softmax output), not logits or scores")
    return p


def check_labels(labels: np.ndarray, n: int, n_genres: int, name: str) -> np.ndarray:
    """Return labels as int (n,); raise if wrong length, not integer, or outside [0, n_genres)."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise EvaluationError(f"{name} must have shape ({n},), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise EvaluationError(f"{name} must hold integer labels, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= n_genres):
        raise EvaluationError(f"{name} labels must lie in [0, {n_genres}), got {y.min()}..{y.max()}")
    return y.astype(np.int64)


def check_inputs(y_true: np.ndarray, probs: np.ndarray, n_genres: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (labels (n,), probs (n, k)) pair; k is taken from probs when n_genres is None."""
    p = check_probs(probs, n_genres)
    return check_labels(y_true, p.shape[0], p.shape[1], "y_true"), p


def one_hot(y: np.ndarray, n_genres: int) -> np.ndarray:
    """Labels (n,) -> indicator (n, n_genres); sklearn's label_binarize gives 1 column for 2."""
    return np.eye(n_genres, dtype=int)[y]


def check_genres(genres: Sequence[str]) -> list[str]:
    """Return genres as a list of >= 2 unique names."""
    names = [str(g) for g in genres]
    if len(names) < 2 or len(set(names)) != len(names):
        raise EvaluationError(f"genres must be >= 2 unique names, got {names}")
    return names
