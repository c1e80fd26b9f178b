"""The validation stage's outputs: the CRNN and the baseline are compared on the same clips, matched by track_id."""

import json

import numpy as np
import pandas as pd
import pytest

from genrecrnn.errors import EvaluationError
from genrecrnn.evaluation import paired_comparison
from genrecrnn.validation import align_with_baseline, clip_table, compare_with_baseline, write_validation

GENRES = ["a", "b", "c"]


def _onehot(labels) -> np.ndarray:
    """Probability rows (n, 3) with 0.8 on each label."""
    probs = np.full((len(labels), 3), 0.1)
    probs[np.arange(len(labels)), labels] = 0.8
    return probs


@pytest.fixture
def clips() -> pd.DataFrame:
    """CRNN clip table of 8 clips in first-seen (not sorted) order, two frames each; right on 6."""
    ids = ["t7", "t2", "t5", "t0", "t3", "t6", "t1", "t4"]
    labels = [0, 1, 2, 0, 1, 2, 0, 1]
    predicted = [0, 1, 2, 0, 1, 2, 1, 0]
    frames = pd.DataFrame({"track_id": np.repeat(ids, 2), "label": np.repeat(labels, 2)})
    return clip_table(frames, _onehot(np.repeat(predicted, 2)), genres=GENRES)


def _baseline(clips: pd.DataFrame, wrong: set[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Baseline table sorted by track_id (as baseline_probabilities gives it), wrong on the `wrong` clips."""
    table = clips[["track_id", "label"]].sort_values("track_id").reset_index(drop=True)
    pred = [(y + 1) % 3 if t in wrong else y for t, y in zip(table["track_id"], table["label"])]
    return table, _onehot(pred)


def test_alignment_follows_track_id_not_row_order(clips):
    table, probs = _baseline(clips, wrong={"t7", "t2", "t5", "t1"})
    labels, crnn, base = align_with_baseline(clips, table, probs)
    assert list(labels) == [0, 1, 2, 0, 1, 2, 0, 1]
    assert list(crnn) == [0, 1, 2, 0, 1, 2, 1, 0]
    assert list(base == labels) == [False, False, False, True, True, True, False, True]
    shuffled = np.random.default_rng(0).permutation(len(table))
    m = compare_with_baseline(clips, table, probs, n_boot=300, seed=1)
    assert m == compare_with_baseline(clips, table.iloc[shuffled], probs[shuffled], n_boot=300, seed=1)
    assert m == paired_comparison(labels, crnn, base, n_boot=300, seed=1, prefix="crnn_vs_baseline_")
    # CRNN right where the baseline is wrong: t7, t2, t5; the reverse: t4
    assert (m["crnn_vs_baseline_mcnemar_b"], m["crnn_vs_baseline_mcnemar_c"]) == (3.0, 1.0)
    assert m["crnn_vs_baseline_accuracy_diff"] == pytest.approx(6 / 8 - 4 / 8)


def test_different_clip_sets_raise(clips):
    table, probs = _baseline(clips, wrong=set())
    with pytest.raises(EvaluationError, match=r"different clips: 1 only in the CRNN's \(e.g. \['t0'\]\)"):
        align_with_baseline(clips, table.iloc[1:], probs[1:])
    extra = pd.concat([table, pd.DataFrame({"track_id": ["t9"], "label": [0]})], ignore_index=True)
    with pytest.raises(EvaluationError, match=r"1 only in the baseline's \(e.g. \['t9'\]\)"):
        align_with_baseline(clips, extra, np.vstack([probs, _onehot([0])]))


def test_repeated_clips_labels_and_shapes_raise(clips):
    table, probs = _baseline(clips, wrong=set())
    with pytest.raises(EvaluationError, match="more than once"):
        align_with_baseline(clips, pd.concat([table, table.iloc[:1]]), np.vstack([probs, probs[:1]]))
    relabelled = table.assign(label=np.where(table["track_id"] == "t3", 0, table["label"]))
    with pytest.raises(EvaluationError, match=r"true genre of \['t3'\]"):
        align_with_baseline(clips, relabelled, probs)
    with pytest.raises(EvaluationError, match="baseline_probs"):
        align_with_baseline(clips, table, probs[:-1])


def test_write_validation_puts_the_comparison_in_metrics_json(clips, tmp_path):
    table, probs = _baseline(clips, wrong={"t7"})
    metrics = {"clip_accuracy": 0.75} | compare_with_baseline(clips, table, probs, n_boot=50, seed=0)
    write_validation(tmp_path, metrics=metrics, clips=clips, genres=GENRES, identifiers={"model_id": "m"})
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["crnn_vs_baseline_mcnemar_b"] == 1.0 and written["crnn_vs_baseline_n"] == 8.0
    assert written["clip_aggregation"] == "mean" and written["model_id"] == "m"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "confusion.csv",
        "metrics.json",
        "per_genre.csv",
        "predictions_test.csv",
    ]
