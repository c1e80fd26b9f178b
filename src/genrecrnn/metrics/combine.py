"""How probability rows are combined into one distribution per group: "mean" or "vote".

The one implementation behind a clip's genre from its frames (:func:`genrecrnn.metrics.scores.clip_probabilities`)
and a song's from its windows (:func:`genrecrnn.predict.windows.predict_file`). Numpy only, so the command
line can list the allowed values without importing the metrics or the model.
"""

from __future__ import annotations

import numpy as np

COMBINE_METHODS = ("mean", "vote")


def check_method(method: str) -> None:
    """Raise ValueError naming the allowed values unless `method` is one of COMBINE_METHODS."""
    if method not in COMBINE_METHODS:
        raise ValueError(f"combine={method!r}; allowed: {', '.join(COMBINE_METHODS)}")


def combine_probabilities(
    probs: np.ndarray, groups: np.ndarray, *, weights: np.ndarray | None = None, method: str = "mean"
) -> np.ndarray:
    """Rows probs (n, k) of groups (n,) coded 0..m-1 -> one distribution per group (m, k).

    ``"mean"``: each group's rows averaged with `weights` (n,) (default 1 each); ``"vote"``: each row
    gives its argmax `weight` votes and the result is each genre's share of the group's votes.
    """
    check_method(method)
    p = np.asarray(probs, dtype=np.float64)
    codes = np.asarray(groups)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=np.float64)
    if p.ndim != 2 or codes.shape != (len(p),) or w.shape != (len(p),) or len(p) == 0 or np.any(w <= 0):
        raise ValueError(f"need probs (n, k) with n group codes and n positive weights, got {p.shape}, {w.shape}")
    # "vote" turns each row into a one-hot of its argmax, so both methods are a weighted mean.
    rows = p if method == "mean" else np.eye(p.shape[1])[p.argmax(axis=1)]
    n_groups = int(codes.max()) + 1
    sums = np.zeros((n_groups, p.shape[1]))
    np.add.at(sums, codes, rows * w[:, None])
    return sums / np.bincount(codes, weights=w, minlength=n_groups)[:, None]


FUSION_WEIGHTS = np.linspace(0.0, 1.0, 11)  # the CRNN's share of the log-probability, 0 (baseline only) .. 1


def fuse(crnn: np.ndarray, baseline: np.ndarray, *, weight: float) -> np.ndarray:
    """Clip probabilities (n, k) of two models combined as a weighted geometric mean, renormalised per row."""
    logs = weight * np.log(np.maximum(crnn, 1e-9)) + (1 - weight) * np.log(np.maximum(baseline, 1e-9))
    fused = np.exp(logs - logs.max(axis=1, keepdims=True))
    return fused / fused.sum(axis=1, keepdims=True)


def fit_fusion_weight(crnn: np.ndarray, baseline: np.ndarray, labels: np.ndarray) -> float:
    """The FUSION_WEIGHTS value with the best accuracy of :func:`fuse` on these (validation) clips.

    Ties: the grid value nearest the middle of the best ones, so a flat plateau does not pick an end.
    """
    scores = np.array([np.mean(fuse(crnn, baseline, weight=w).argmax(axis=1) == labels) for w in FUSION_WEIGHTS])
    best = FUSION_WEIGHTS[scores == scores.max()]
    return float(FUSION_WEIGHTS[np.argmin(np.abs(FUSION_WEIGHTS - best.mean()))])
