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
    average_precision_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from genrecrnn.metrics.checks import check_genres, check_inputs, check_labels, check_probs, one_hot
from genrecrnn.metrics.combine import combine_probabilities
from genrecrnn.metrics.significance import BOOTSTRAP_METRICS, bootstrap_ci
from genrecrnn.util.errors import EvaluationError

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
    p = check_probs(probs)
    ids = np.asarray(track_ids)
    if ids.shape != (p.shape[0],):
        raise EvaluationError(f"track_ids must have shape ({p.shape[0]},), got {ids.shape}")
    codes, clip_ids = pd.factorize(ids, sort=False)  # order of first appearance
    if np.any(codes < 0):
        raise EvaluationError("track_ids contains missing values (None/NaN)")
    clip_probs = combine_probabilities(p, codes, method=method)
    if y_true is None:
        return clip_probs, np.asarray(clip_ids), None
    y = check_labels(y_true, p.shape[0], p.shape[1], "y_true")
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
    y, p = check_inputs(y_true, probs)
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
    y, p = check_inputs(y_true, probs)
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
    y, p = check_inputs(y_true, probs)
    truth, hard = one_hot(y, p.shape[1]), one_hot(p.argmax(axis=1), p.shape[1])
    present = [j for j in range(p.shape[1]) if truth[:, j].any()]
    aps = [average_precision_score(truth[:, j], hard[:, j]) for j in present]
    aucs = [roc_auc_score(truth[:, j], hard[:, j]) for j in present if not truth[:, j].all()]
    return {
        "map_seed_style": float(np.mean(aps)),
        "roc_auc_seed_style": float(np.mean(aucs)) if aucs else math.nan,
    }


def per_genre_table(y_true: np.ndarray, probs: np.ndarray, *, genres: Sequence[str]) -> pd.DataFrame:
    """One row per genre: precision, recall, f1, support (int), ap, auc; NaN for absent genres."""
    names = check_genres(genres)
    y, p = check_inputs(y_true, probs, len(names))
    labels = np.arange(len(names))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, p.argmax(axis=1), labels=labels, zero_division=0
    )
    onehot = one_hot(y, len(names))
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
    y, p = check_inputs(y_true, probs, len(table))
    y_pred = p.argmax(axis=1)
    present = np.flatnonzero(table["support"].to_numpy() > 0)
    macro_p, macro_r, macro_f1, _ = precision_recall_fscore_support(
        y, y_pred, labels=present, average="macro", zero_division=0
    )
    onehot = one_hot(y, len(table))
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
