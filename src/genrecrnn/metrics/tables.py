"""Tables of a classifier's errors: the confusion matrix, its most confused pairs, and every error as one sentence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    confusion_matrix,
)

from genrecrnn.metrics.checks import check_genres, check_labels
from genrecrnn.util.errors import EvaluationError


def confusion(
    y_true: np.ndarray, y_pred: np.ndarray, *, genres: Sequence[str], normalize: bool = False
) -> pd.DataFrame:
    """(k, k) counts, or fractions of each true genre's row (absent rows 0), labelled by genre."""
    names = check_genres(genres)
    y = check_labels(y_true, np.size(y_true), len(names), "y_true")
    yp = check_labels(y_pred, len(y), len(names), "y_pred")
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
