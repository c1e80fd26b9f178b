"""The validation stage's outputs: the CRNN and the baseline are compared on the same clips, matched by track_id."""

import json

import numpy as np
import pandas as pd
import pytest

from genrecrnn.evaluation.scorecard import (
    align_with_baseline,
    baseline_table,
    clip_table,
    compare_with_baseline,
    frame_table,
    metrics_document,
    read_baselines,
    read_frames,
    score_tables,
    write_validation,
)
from genrecrnn.metrics.significance import describe_comparison, paired_comparison
from genrecrnn.util.errors import EvaluationError

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
    assert m == paired_comparison(labels, crnn, base, n_boot=300, seed=1)
    # CRNN right where the baseline is wrong: t7, t2, t5; the reverse: t4
    assert (m["mcnemar_b"], m["mcnemar_c"]) == (3.0, 1.0)
    assert m["accuracy_diff"] == pytest.approx(6 / 8 - 4 / 8)


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


# The headline numbers of metrics.json: a refactor that drops or renames one fails here.
HEADLINE_KEYS = {
    "crnn.clip": [
        "accuracy", "accuracy_ci_low", "accuracy_ci_high", "f1_macro", "f1_macro_ci_low", "f1_macro_ci_high",
        "roc_auc_ovr_macro", "map", "mrr", "map_at_10", "map_seed_style", "roc_auc_seed_style",
    ],
    "crnn.frame": ["accuracy", "f1_macro", "roc_auc_ovr_macro", "map"],
    "baseline.clip": ["accuracy", "accuracy_ci_low", "accuracy_ci_high", "f1_macro", "roc_auc_ovr_macro", "map"],
    "rhythm_harmony.clip": ["accuracy", "accuracy_ci_low", "accuracy_ci_high", "f1_macro", "roc_auc_ovr_macro", "map"],
    "crnn_vs_baseline": [
        "accuracy_diff", "accuracy_diff_ci_low", "accuracy_diff_ci_high", "bootstrap_p",
        "mcnemar_b", "mcnemar_c", "mcnemar_p", "n",
    ],
    "crnn_vs_rhythm_harmony": [
        "accuracy_diff", "accuracy_diff_ci_low", "accuracy_diff_ci_high", "bootstrap_p",
        "mcnemar_b", "mcnemar_c", "mcnemar_p", "n",
    ],
}  # fmt: skip


def _tables(clips) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """(CRNN frame table: two frames per fixture clip, {MFCC baseline wrong on t7, rhythm/harmony wrong on t1, t2, t3}),
    as notebook 03 makes them."""
    table, probs = _baseline(clips, wrong={"t7"})
    rh_table, rh_probs = _baseline(clips, wrong={"t1", "t2", "t3"})
    index = clips.loc[clips.index.repeat(2), ["track_id", "label"]].assign(frame_index=np.tile([0, 1], len(clips)))
    frame_probs = clips.loc[clips.index.repeat(2), [f"p_{g}" for g in GENRES]].to_numpy()
    # Uneven probabilities (same argmax) so the exact floats matter: a rounded file would not recompute them.
    frame_probs = frame_probs + np.random.default_rng(0).uniform(0, 0.05, frame_probs.shape)
    frame_probs = (frame_probs / frame_probs.sum(axis=1, keepdims=True)).astype(np.float32)
    baselines = {
        "baseline": baseline_table(table, probs, genres=GENRES),
        "rhythm_harmony": baseline_table(rh_table, rh_probs, genres=GENRES),
    }
    return frame_table(index, frame_probs, genres=GENRES), baselines


def _validation_run(clips, tmp_path):
    """score_tables + write_validation on the fixture's clips as notebook 03 calls them; metrics.json read back."""
    frames, baselines = _tables(clips)
    metrics, comparisons, scored = score_tables(frames, baselines, genres=GENRES, n_boot=50, seed=0)
    document = write_validation(
        tmp_path, metrics=metrics, comparisons=comparisons, clips=scored, frames=frames, baselines=baselines,
        genres=GENRES, identifiers={"model_id": "m"},
    )  # fmt: skip
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == document
    return written


def test_every_metrics_json_number_recomputes_from_the_written_probability_files(clips, tmp_path):
    written = _validation_run(clips, tmp_path)
    frames, baselines = read_frames(tmp_path), read_baselines(tmp_path)
    metrics, comparisons, _ = score_tables(frames, baselines, genres=GENRES, n_boot=50, seed=0)
    again = metrics_document(metrics, comparisons, identifiers={"model_id": "m"})
    assert again == written  # every leaf, exactly: CIs, mAP, MRR, McNemar b and c of both comparisons, counts
    # and each baseline's file holds what its clip metrics say
    for name, right in (("baseline", 7 / 8), ("rhythm_harmony", 5 / 8)):
        table = baselines[name]
        assert written[name]["clip"]["accuracy"] == (table["genre"] == table["predicted"]).mean() == right


def _leaves(doc, prefix=""):
    for key, value in doc.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_metrics_json_is_nested_headline_numbers_only(clips, tmp_path):
    written = _validation_run(clips, tmp_path)
    expected = {f"{group}.{key}" for group, keys in HEADLINE_KEYS.items() for key in keys}
    expected |= {"n_clips", "n_frames", "clip_aggregation", "model_id", "environment"}
    leaves = dict(_leaves(written))
    assert set(leaves) == expected
    assert len(leaves) <= 50  # `dvc metrics show` prints one column per leaf
    numbers = {k: v for k, v in leaves.items() if k not in ("clip_aggregation", "model_id", "environment")}
    assert "numpy_simd" in written["environment"] and "; numpy " in written["environment"]
    assert all(isinstance(v, float) for v in numbers.values())
    assert written["crnn"]["clip"]["accuracy"] == pytest.approx(6 / 8)
    assert written["baseline"]["clip"]["accuracy"] == pytest.approx(7 / 8)
    comparison = written["crnn_vs_baseline"]  # CRNN right and baseline wrong on t7; the reverse on t1, t4
    assert (comparison["mcnemar_b"], comparison["mcnemar_c"], comparison["n"]) == (1.0, 2.0, 8.0)
    # rhythm/harmony wrong on t1, t2, t3: CRNN right where it is wrong on t2, t3; both wrong on t1; the reverse on t4
    rh = written["crnn_vs_rhythm_harmony"]
    assert (rh["mcnemar_b"], rh["mcnemar_c"], rh["n"]) == (2.0, 1.0, 8.0)
    assert written["rhythm_harmony"]["clip"]["accuracy"] == pytest.approx(5 / 8)
    assert written["clip_aggregation"] == "mean" and written["model_id"] == "m"
    # The paired comparison keeps working from the nested document, as notebook 03 uses it.
    sentence = describe_comparison(written["crnn_vs_baseline"], name_a="CRNN", name_b="baseline", unit="clips")
    assert "CRNN − baseline accuracy on the same 8 clips: **-0.125**" in sentence
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "confusion.csv",
        "metrics.json",
        "per_genre.csv",
        "predictions_test.csv",
        "predictions_test_baseline.csv",
        "predictions_test_frames.csv",
        "predictions_test_rhythm_harmony.csv",
        "summary.csv",
    ]


def test_summary_csv_holds_every_metric_of_each_model(clips, tmp_path):
    import pandas as pd

    _validation_run(clips, tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv", index_col="metric")
    assert list(summary.columns) == [
        "CRNN, frame",
        "CRNN, clip",
        "MFCC baseline, clip",
        "rhythm/harmony baseline, clip",
    ]
    assert {"precision_macro", "roc_auc_micro", "ap_micro", "mrr", "map_at_10", "map_seed_style"} <= set(summary.index)
    assert summary.at["accuracy", "CRNN, clip"] == pytest.approx(6 / 8)
    assert summary.at["n", "CRNN, frame"] == 16
    assert np.isnan(summary.at["map_at_10", "CRNN, frame"]) and summary.at["map_at_10", "CRNN, clip"] > 0
