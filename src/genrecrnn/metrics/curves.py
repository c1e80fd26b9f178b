"""Precision-recall and ROC curves per genre (and micro-averaged) as long tables, and the area under one curve."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    auc,
    precision_recall_curve,
    roc_curve,
)

from genrecrnn.metrics.checks import check_genres, check_inputs, one_hot


def _curves(y_true, probs, genres, curve, columns) -> pd.DataFrame:
    """Long table of one sklearn curve per present genre plus "micro"; missing thresholds -> NaN."""
    names = check_genres(genres)
    y, p = check_inputs(y_true, probs, len(names))
    onehot = one_hot(y, len(names))
    targets = [(g, onehot[:, j], p[:, j]) for j, g in enumerate(names) if onehot[:, j].any()]
    targets.append(("micro", onehot.ravel(), p.ravel()))
    parts = []
    for name, truth, score in targets:
        a, b, thresholds = curve(truth, score)
        # PR's end point has no threshold and ROC's start is +inf: NaN keeps CSV/JSON plain.
        thr = np.full(len(a), np.nan)
        thr[: len(thresholds)] = np.where(np.isfinite(thresholds), thresholds, np.nan)
        parts.append(pd.DataFrame({"genre": name, columns[0]: a, columns[1]: b, "threshold": thr}))
    return pd.concat(parts, ignore_index=True)


def pr_curves(y_true: np.ndarray, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """Long table genre ("micro" too; absent genres skipped), precision, recall, threshold."""
    return _curves(y_true, probs, genres, precision_recall_curve, ("precision", "recall"))


def roc_curves(y_true: np.ndarray, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """Long table genre ("micro" too; absent genres skipped), fpr, tpr, threshold."""
    return _curves(y_true, probs, genres, roc_curve, ("fpr", "tpr"))


def curve_area(x: np.ndarray, y: np.ndarray, *, step: bool) -> float:
    """Area under one curve of pr_curves/roc_curves (x, y as drawn): `step` gives AP, else the trapezoid (ROC AUC).

    AP is sklearn's sum of (R_n - R_(n-1)) * P_n, each recall step weighted by the precision at its
    higher-recall end; recomputed from the drawn points it matches average_precision_score.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2:
        return float("nan")
    if not step:
        return float(auc(x, y))
    if x[0] > x[-1]:  # precision_recall_curve lists recall decreasing
        x, y = x[::-1], y[::-1]
    return float(np.sum(np.diff(x) * y[1:]))
