"""Metrics for the genre classifier at frame level (one 3 s frame) and clip level (frames averaged).

Inputs are plain arrays: ``y_true`` int labels (n,), ``probs`` float (n, k) with rows summing to
1, ``genres`` the k names in label order (label i is ``genres[i]``), ``track_ids`` (n,) for clips.

Absent-genre rule: a genre with no true example in ``y_true`` has no defined recall, AUC or AP, so
all its per-genre scores are NaN and every macro mean is taken over the genres with support > 0.
Predictions *of* such a genre still count as errors (they lower accuracy and the true genre's
recall). AUC is also NaN for a genre that is every example (no negatives). Results may hold NaN;
write them with :func:`genrecrnn.util.fileio.atomic_write_json` (NaN becomes null).

Ranking metrics, and which reading of the seed study's numbers each one is:

- ``mrr``: mean over examples of 1 / rank of the true genre among the genres ranked by probability
  (ties broken by genre index, so rank 1 is the argmax). sklearn's
  ``label_ranking_average_precision_score`` for one true label; never below accuracy. This is what
  earlier versions called MAP@10 (with 10 genres the @10 cut never bites).
- ``map_at_10``: the retrieval reading. For each genre, rank the examples by that genre's
  probability (ties broken by example order), take AP over the top 10
  (``1/min(n_relevant, 10) * sum_{i<=10} P@i * rel_i``), and average over the genres present.
- ``map`` and ``roc_auc_ovr_macro``: per-genre AP and ROC AUC of the probabilities, macro means.
- ``map_seed_style`` and ``roc_auc_seed_style``: the same two computed from hard one-hot argmax
  predictions instead of probabilities. The seed's mAP 0.72 and AUC 0.929 beside accuracy 0.854 fit
  this reading, so these are the ones to set beside the seed's mAP and AUC; its MAP@10 0.779, below
  its accuracy, cannot be an ``mrr`` and is closest to ``map_at_10``.

Clip accuracy and macro F1 come with their confidence intervals from :mod:`genrecrnn.metrics.significance`,
which also compares two classifiers on the same clips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from genrecrnn.metrics.combine import combine_probabilities
from genrecrnn.metrics.significance import BOOTSTRAP_METRICS, bootstrap_ci
from genrecrnn.util.errors import EvaluationError

# ---------------------------------------------------------------- validation


def _check_probs(probs: np.ndarray, n_genres: int | None = None) -> np.ndarray:
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


def _check_labels(labels: np.ndarray, n: int, n_genres: int, name: str) -> np.ndarray:
    """Return labels as int (n,); raise if wrong length, not integer, or outside [0, n_genres)."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise EvaluationError(f"{name} must have shape ({n},), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise EvaluationError(f"{name} must hold integer labels, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= n_genres):
        raise EvaluationError(f"{name} labels must lie in [0, {n_genres}), got {y.min()}..{y.max()}")
    return y.astype(np.int64)


def _check(y_true: np.ndarray, probs: np.ndarray, n_genres: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (labels (n,), probs (n, k)) pair; k is taken from probs when n_genres is None."""
    p = _check_probs(probs, n_genres)
    return _check_labels(y_true, p.shape[0], p.shape[1], "y_true"), p


def _onehot(y: np.ndarray, n_genres: int) -> np.ndarray:
    """Labels (n,) -> indicator (n, n_genres); sklearn's label_binarize gives 1 column for 2."""
    return np.eye(n_genres, dtype=int)[y]


def _check_genres(genres: Sequence[str]) -> list[str]:
    """Return genres as a list of >= 2 unique names."""
    names = [str(g) for g in genres]
    if len(names) < 2 or len(set(names)) != len(names):
        raise EvaluationError(f"genres must be >= 2 unique names, got {names}")
    return names


# ---------------------------------------------------------------- aggregation


def clip_probabilities(
    probs: np.ndarray,
    track_ids: Sequence,
    y_true: np.ndarray | None = None,
    *,
    method: str = "mean",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Frame probs (n, k) -> clip probs (m, k), clip ids (m,) in first-seen order, labels (m,)|None.

    ``method="mean"`` averages the frame probabilities; ``"vote"`` gives the fraction of a clip's
    frames whose argmax is each genre (:func:`genrecrnn.metrics.combine.combine_probabilities`). Raises if
    one clip's frames carry different labels.
    """
    p = _check_probs(probs)
    ids = np.asarray(track_ids)
    if ids.shape != (p.shape[0],):
        raise EvaluationError(f"track_ids must have shape ({p.shape[0]},), got {ids.shape}")
    codes, clip_ids = pd.factorize(ids, sort=False)  # order of first appearance
    if np.any(codes < 0):
        raise EvaluationError("track_ids contains missing values (None/NaN)")
    clip_probs = combine_probabilities(p, codes, method=method)
    if y_true is None:
        return clip_probs, np.asarray(clip_ids), None
    y = _check_labels(y_true, p.shape[0], p.shape[1], "y_true")
    per_clip = pd.Series(y).groupby(codes)
    mixed = per_clip.nunique() > 1
    if mixed.any():
        bad = [clip_ids[i] for i in mixed[mixed].index[:5]]
        raise EvaluationError(f"frames of one clip carry different labels, e.g. track_ids {bad}")
    return clip_probs, np.asarray(clip_ids), per_clip.first().to_numpy()


# ---------------------------------------------------------------- scalar metrics


def mean_reciprocal_rank(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean over examples of 1 / (rank of the true genre): y_true (n,), probs (n, n_genres).

    Each example's genres are ranked by probability, ties broken by genre index (so rank 1 is
    exactly ``argmax``). This is sklearn's label ranking average precision for one true label per
    example, with that tie rule; it is at least the accuracy.
    """
    y, p = _check(y_true, probs)
    order = np.argsort(-p, axis=1, kind="stable")
    rank = 1 + np.argmax(order == y[:, None], axis=1)
    return float(np.mean(1.0 / rank))


def map_at_k(y_true: np.ndarray, probs: np.ndarray, *, k: int = 10) -> float:
    """Retrieval mean average precision at k over genres: y_true (n,), probs (n, n_genres).

    For each genre present in y_true, the examples are ranked by that genre's probability (ties
    broken by example order) and ``AP@k = 1/min(n_rel, k) * sum_{i=1..k} P@i * rel_i``, where
    ``rel_i`` is 1 if the example at rank i is of the genre and ``P@i`` the precision of the top i.
    The result is the mean over the present genres.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise EvaluationError(f"k must be a positive integer, got {k!r}")
    y, p = _check(y_true, probs)
    scores = []
    for j in np.unique(y):
        order = np.argsort(-p[:, j], kind="stable")[:k]
        rel = (y[order] == j).astype(float)
        precision_at = np.cumsum(rel) / np.arange(1, len(rel) + 1)
        scores.append(float(np.sum(precision_at * rel)) / min(int(np.sum(y == j)), k))
    return float(np.mean(scores))


def seed_style_scores(y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """mAP and macro ROC AUC of one-hot argmax predictions (n, k) instead of probabilities: the seed's reading.

    Keys ``map_seed_style`` and ``roc_auc_seed_style``; absent genres are skipped as for ``map``.
    """
    y, p = _check(y_true, probs)
    truth, hard = _onehot(y, p.shape[1]), _onehot(p.argmax(axis=1), p.shape[1])
    present = [j for j in range(p.shape[1]) if truth[:, j].any()]
    aps = [average_precision_score(truth[:, j], hard[:, j]) for j in present]
    aucs = [roc_auc_score(truth[:, j], hard[:, j]) for j in present if not truth[:, j].all()]
    return {
        "map_seed_style": float(np.mean(aps)),
        "roc_auc_seed_style": float(np.mean(aucs)) if aucs else math.nan,
    }


def per_genre_table(y_true: np.ndarray, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """One row per genre: precision, recall, f1, support (int), ap, auc; NaN for absent genres."""
    names = _check_genres(genres)
    y, p = _check(y_true, probs, len(names))
    labels = np.arange(len(names))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, p.argmax(axis=1), labels=labels, zero_division=0
    )
    onehot = _onehot(y, len(names))
    ap = np.full(len(names), np.nan)
    auc = np.full(len(names), np.nan)
    for j in labels:
        if support[j] > 0:
            ap[j] = average_precision_score(onehot[:, j], p[:, j])
        if 0 < support[j] < len(y):  # AUC needs positives and negatives
            auc[j] = roc_auc_score(onehot[:, j], p[:, j])
    table = pd.DataFrame(
        {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
            "ap": ap,
            "auc": auc,
        },
        index=pd.Index(names, name="genre"),
    )
    table.loc[support == 0, ["precision", "recall", "f1"]] = np.nan
    return table


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, *, genres: Sequence[str], prefix: str = ""
) -> dict[str, float]:
    """Flat dict of float metrics, keys prefixed; macro means skip absent genres (module doc)."""
    table = per_genre_table(y_true, probs, genres=genres)
    y, p = _check(y_true, probs, len(table))
    y_pred = p.argmax(axis=1)
    present = np.flatnonzero(table["support"].to_numpy() > 0)
    macro_p, macro_r, macro_f1, _ = precision_recall_fscore_support(
        y, y_pred, labels=present, average="macro", zero_division=0
    )
    onehot = _onehot(y, len(table))
    out = {
        "accuracy": accuracy_score(y, y_pred),
        # Balanced accuracy is macro recall; sklearn's own warns when an absent genre is predicted.
        "balanced_accuracy": macro_r,
        "f1_macro": macro_f1,
        "precision_macro": macro_p,
        "recall_macro": macro_r,
        "roc_auc_ovr_macro": _nanmean(table["auc"]),
        "roc_auc_micro": roc_auc_score(onehot.ravel(), p.ravel()),
        "map": _nanmean(table["ap"]),
        "ap_micro": average_precision_score(onehot.ravel(), p.ravel()),
        "mrr": mean_reciprocal_rank(y, p),
        "map_at_10": map_at_k(y, p, k=10),
        **seed_style_scores(y, p),
        "n": len(y),
    }
    for genre, row in table.iterrows():
        for col in ("precision", "recall", "f1", "ap", "auc"):
            out[f"{col}_{genre}"] = row[col]
    return {f"{prefix}{key}": float(value) for key, value in out.items()}


def _nanmean(values: pd.Series) -> float:
    """Mean of the non-NaN values, NaN if there are none (without numpy's empty-slice warning)."""
    return float(values.mean()) if values.notna().any() else math.nan


# ---------------------------------------------------------------- tables


def confusion(
    y_true: np.ndarray, y_pred: np.ndarray, *, genres: Sequence[str], normalize: bool = False
) -> pd.DataFrame:
    """(k, k) counts, or fractions of each true genre's row (absent rows 0), labelled by genre."""
    names = _check_genres(genres)
    y = _check_labels(y_true, np.size(y_true), len(names), "y_true")
    yp = _check_labels(y_pred, len(y), len(names), "y_pred")
    cm = confusion_matrix(y, yp, labels=np.arange(len(names)), normalize="true" if normalize else None)
    return pd.DataFrame(cm, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def most_confused_pairs(cm: pd.DataFrame, *, top: int = 5) -> pd.DataFrame:
    """Top off-diagonal cells with count > 0: columns true, predicted, count, fraction_of_true."""
    if cm.shape[0] != cm.shape[1] or list(cm.index) != list(cm.columns):
        raise EvaluationError("cm must be square with the same genres as index and columns")
    counts = cm.to_numpy()
    rows, cols = np.nonzero(~np.eye(len(cm), dtype=bool) & (counts > 0))
    row_totals = counts.sum(axis=1)
    pairs = pd.DataFrame(
        {
            "true": cm.index[rows],
            "predicted": cm.columns[cols],
            "count": counts[rows, cols],
            "fraction_of_true": counts[rows, cols] / row_totals[rows],
        }
    )
    # Ties on count go to the larger share of the true genre, then by name, so the order is stable.
    pairs = pairs.sort_values(["count", "fraction_of_true", "true", "predicted"], ascending=[False, False, True, True])
    return pairs.head(top).reset_index(drop=True)


def describe_errors(actual: Sequence[str], predicted: Sequence[str]) -> str:
    """Every error of a clip table as one sentence: "3 errors in 100 clips: country taken for blues (2), ..."."""
    pairs = pd.DataFrame({"true": list(actual), "predicted": list(predicted)})
    wrong = pairs[pairs["true"] != pairs["predicted"]]
    if wrong.empty:
        return f"no errors in {len(pairs)} clips"
    counts = wrong.value_counts(["true", "predicted"]).reset_index(name="count")
    counts = counts.sort_values(["count", "true", "predicted"], ascending=[False, True, True])
    listed = ", ".join(f"{t} taken for {p} ({n})" for t, p, n in counts.itertuples(index=False))
    return f"{len(wrong)} error(s) in {len(pairs)} clips: {listed}"


def _curves(y_true, probs, genres, curve, columns) -> pd.DataFrame:
    """Long table of one sklearn curve per present genre plus "micro"; missing thresholds -> NaN."""
    names = _check_genres(genres)
    y, p = _check(y_true, probs, len(names))
    onehot = _onehot(y, len(names))
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


def evaluate(
    y_true_frames: np.ndarray,
    probs_frames: np.ndarray,
    track_ids: Sequence,
    *,
    genres: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    method: str = "mean",
) -> dict[str, float]:
    """Flat float dict: frame_* and clip_* metrics, clip accuracy (Wilson) / F1 (BCa) CIs, n_frames, n_clips.

    ``method`` is the clip aggregation (see :func:`clip_probabilities`); it is a string, so it is
    not in the dict: record it next to the metrics (params.yaml) instead.
    """
    out = classification_metrics(y_true_frames, probs_frames, genres=genres, prefix="frame_")
    # MAP@10 ranks 10 items per genre: over frames (hundreds per genre) it says nothing, and read 1.000.
    del out["frame_map_at_10"]
    clip_probs, _, clip_y = clip_probabilities(probs_frames, track_ids, y_true_frames, method=method)
    out |= classification_metrics(clip_y, clip_probs, genres=genres, prefix="clip_")
    clip_pred = clip_probs.argmax(axis=1)
    for metric in BOOTSTRAP_METRICS:
        low, high = bootstrap_ci(clip_y, clip_pred, metric=metric, n_boot=n_boot, seed=seed)
        out[f"clip_{metric}_ci_low"], out[f"clip_{metric}_ci_high"] = low, high
    out["n_frames"] = out["frame_n"]
    out["n_clips"] = float(len(clip_probs))
    return out
