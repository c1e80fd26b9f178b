"""Tests for genrecrnn.metrics.scores: every metric against a value worked out by hand."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import (
    average_precision_score,
    label_ranking_average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from genrecrnn.metrics.curves import pr_curves, roc_curves
from genrecrnn.metrics.scores import (
    classification_metrics,
    clip_probabilities,
    evaluate,
    map_at_k,
    mean_reciprocal_rank,
    per_genre_table,
)
from genrecrnn.metrics.significance import bootstrap_ci
from genrecrnn.metrics.tables import confusion, most_confused_pairs
from genrecrnn.util.errors import EvaluationError, GenreCRNNError
from genrecrnn.util.fileio import json_safe

GENRES3 = ["blues", "jazz", "rock"]


def probs_for(y_pred: list[int], k: int) -> np.ndarray:
    """Rows (n, k): 0.6 on the predicted genre, the rest spread evenly, so argmax = y_pred."""
    p = np.full((len(y_pred), k), 0.4 / (k - 1))
    p[np.arange(len(y_pred)), y_pred] = 0.6
    return p


# Six examples worked by hand (rows true, columns predicted):
#            blues jazz rock
#   blues      2     1    0
#   jazz       0     1    1
#   rock       0     0    1
Y6 = np.array([0, 0, 0, 1, 1, 2])
PRED6 = np.array([0, 0, 1, 1, 2, 2])


# ---------------------------------------------------------------- clip aggregation


def test_clip_mean_averages_frames_in_first_seen_order():
    ids = ["b", "a", "c", "a", "b", "c"]
    probs = np.array(
        [
            [0.1, 0.1, 0.8],  # b
            [0.6, 0.3, 0.1],  # a
            [0.9, 0.05, 0.05],  # c
            [0.2, 0.7, 0.1],  # a
            [0.3, 0.3, 0.4],  # b
            [0.5, 0.4, 0.1],  # c
        ]
    )
    y = np.array([2, 1, 0, 1, 2, 0])
    clip_p, clip_ids, clip_y = clip_probabilities(probs, ids, y)
    # b: ([.1,.1,.8] + [.3,.3,.4]) / 2 = [.2,.2,.6]; a: [.4,.5,.1]; c: [.7,.225,.075]
    assert list(clip_ids) == ["b", "a", "c"]
    assert_allclose(clip_p, [[0.2, 0.2, 0.6], [0.4, 0.5, 0.1], [0.7, 0.225, 0.075]])
    assert list(clip_p.argmax(axis=1)) == [2, 1, 0]
    assert list(clip_y) == [2, 1, 0]


def test_clip_vote_differs_from_mean():
    probs = np.array([[0.4, 0.6, 0.0], [0.4, 0.6, 0.0], [1.0, 0.0, 0.0]])
    ids = [7, 7, 7]
    mean, _, none = clip_probabilities(probs, ids)
    vote, _, _ = clip_probabilities(probs, ids, method="vote")
    # mean = [(.4+.4+1)/3, (.6+.6)/3, 0] = [.6, .4, 0] -> genre 0;
    # vote: frame argmaxes 1, 1, 0 -> [1/3, 2/3, 0] -> genre 1
    assert_allclose(mean, [[0.6, 0.4, 0.0]])
    assert_allclose(vote, [[1 / 3, 2 / 3, 0.0]])
    assert none is None


def test_clip_mixed_labels_raise():
    with pytest.raises(ValueError, match="different labels"):
        clip_probabilities(probs_for([0, 1], 3), ["t1", "t1"], np.array([0, 1]))


def test_clip_bad_method_raises():
    with pytest.raises(ValueError, match="mean"):
        clip_probabilities(probs_for([0], 3), ["t1"], method="median")


# ---------------------------------------------------------------- ranking metrics


def test_mrr_ranks_1_2_4():
    row = [0.4, 0.3, 0.15, 0.1, 0.05]  # genre ranks 1..5 in index order
    probs = np.array([row, row, row])
    y = np.array([0, 1, 3])  # true genre at ranks 1, 2, 4
    assert mean_reciprocal_rank(y, probs) == pytest.approx((1 + 1 / 2 + 1 / 4) / 3)


def test_mrr_tie_follows_argmax():
    # [.5, .5]: argmax is genre 0, so genre 1 is rank 2 -> 1/2
    assert mean_reciprocal_rank(np.array([1]), np.array([[0.5, 0.5]])) == pytest.approx(0.5)


def test_map_at_k_is_the_retrieval_reading_per_genre():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1], [0.51, 0.49], [0.6, 0.4], [0.2, 0.8]])  # clip 2 (genre 1) called genre 0
    # genre 0 ranks clips by p0: c0+ c2- c1+ c3- -> AP@10 = (1/1 + 2/3) / 2 = 5/6
    # genre 1 ranks clips by p1: c3+ c1- c2+ c0- -> (1/1 + 2/3) / 2 = 5/6
    assert map_at_k(y, probs, k=10) == pytest.approx(5 / 6)
    assert map_at_k(y, probs, k=1) == pytest.approx(1.0)  # each genre's top clip is its own
    assert mean_reciprocal_rank(y, probs) == pytest.approx((1 + 1 + 1 / 2 + 1) / 4)
    # The two readings differ either way: every clip called genre 0 (accuracy 1/2, MRR 3/4) while each
    # genre's own clips still rank first on its column: retrieval MAP@10 is 1.
    many = np.r_[np.zeros(12, int), np.ones(12, int)]
    p0 = np.linspace(0.99, 0.6, 24)
    every_clip_genre_0 = np.column_stack([p0, 1 - p0])
    assert map_at_k(many, every_clip_genre_0, k=10) == 1.0
    assert mean_reciprocal_rank(many, every_clip_genre_0) == pytest.approx(0.75)


def test_map_at_k_bad_k_raises():
    with pytest.raises(ValueError, match="k must"):
        map_at_k(np.array([0]), np.array([[0.5, 0.5]]), k=0)


def _ap_at_k_brute(truth: np.ndarray, score: np.ndarray, k: int) -> float:
    """AP@k of one genre by counting, ties broken by example order."""
    order = sorted(range(len(score)), key=lambda i: (-score[i], i))[:k]
    hits, total = 0, 0.0
    for rank, i in enumerate(order, start=1):
        if truth[i]:
            hits += 1
            total += hits / rank
    return total / min(int(truth.sum()), k)


def _random_case(rng: np.random.Generator, n_genres: int) -> tuple[np.ndarray, np.ndarray]:
    """Unbalanced labels (one genre may be absent) and probabilities rounded to 1 decimal, so ties are common."""
    n = int(rng.integers(5, 60))
    weights = rng.dirichlet(np.full(n_genres, 0.5))
    y = rng.choice(n_genres, size=n, p=weights)
    raw = np.round(rng.dirichlet(np.ones(n_genres), size=n), 1) + 1e-3
    return y, raw / raw.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(25))
def test_metrics_match_sklearn_on_random_unbalanced_data_with_ties(seed):
    from sklearn.metrics import balanced_accuracy_score, f1_score

    rng = np.random.default_rng(seed)
    n_genres = int(rng.integers(2, 7))
    y, probs = _random_case(rng, n_genres)
    genres = [f"g{j}" for j in range(n_genres)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about absent genres; our rule is checked below
        m = classification_metrics(y, probs, genres=genres)
    present = np.unique(y)
    onehot = np.eye(n_genres)[y]
    pred = probs.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(np.mean(pred == y))
    assert m["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(y[np.isin(y, present)], pred) if set(pred) <= set(present) else m["recall_macro"]
    )
    assert m["f1_macro"] == pytest.approx(f1_score(y, pred, labels=present, average="macro", zero_division=0))
    assert m["map"] == pytest.approx(np.mean([average_precision_score(onehot[:, j], probs[:, j]) for j in present]))
    aucs = [roc_auc_score(onehot[:, j], probs[:, j]) for j in present if 0 < onehot[:, j].sum() < len(y)]
    assert m["roc_auc_ovr_macro"] == pytest.approx(np.mean(aucs)) if aucs else np.isnan(m["roc_auc_ovr_macro"])
    assert m["roc_auc_micro"] == pytest.approx(roc_auc_score(onehot.ravel(), probs.ravel()))
    assert m["ap_micro"] == pytest.approx(average_precision_score(onehot.ravel(), probs.ravel()))
    # MRR is sklearn's LRAP once ties are broken by genre index (a tiny decreasing offset per column)
    untied = probs - 1e-9 * np.arange(n_genres)
    assert m["mrr"] == pytest.approx(label_ranking_average_precision_score(onehot, untied))
    assert m["mrr"] >= m["accuracy"] - 1e-12
    assert m["map_at_10"] == pytest.approx(np.mean([_ap_at_k_brute(onehot[:, j], probs[:, j], 10) for j in present]))
    hard = np.eye(n_genres)[pred]
    assert m["map_seed_style"] == pytest.approx(
        np.mean([average_precision_score(onehot[:, j], hard[:, j]) for j in present])
    )
    hard_aucs = [roc_auc_score(onehot[:, j], hard[:, j]) for j in present if 0 < onehot[:, j].sum() < len(y)]
    if hard_aucs:
        assert m["roc_auc_seed_style"] == pytest.approx(np.mean(hard_aucs))


def test_seed_style_scores_use_argmax_labels_not_probabilities():
    # Same argmax, different confidence: probability-based AUC changes, seed-style does not.
    y = np.array([0, 0, 1, 1])
    sure = np.array([[0.9, 0.1], [0.6, 0.4], [0.45, 0.55], [0.1, 0.9]])
    unsure = np.array([[0.6, 0.4], [0.9, 0.1], [0.1, 0.9], [0.45, 0.55]])
    a, b = (classification_metrics(y, p, genres=["a", "b"]) for p in (sure, unsure))
    assert a["roc_auc_seed_style"] == b["roc_auc_seed_style"] == 1.0
    assert a["map_seed_style"] == b["map_seed_style"] == 1.0
    wrong = np.array([[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [0.1, 0.9]])  # one genre-a clip called b
    c = classification_metrics(y, wrong, genres=["a", "b"])
    # genre a: hard scores 1,0,0,0 vs truth 1,1,0,0 -> AUC (1 + 0.5)/2 = 0.75; genre b the same mirrored
    assert c["roc_auc_seed_style"] == pytest.approx(0.75)
    # AP of hard scores: a: P=1 at recall 1/2 -> 1/2 * 1 + 1/2 * (2/4) = 0.75; b: 2/3 precision at recall 1 ...
    assert c["map_seed_style"] == pytest.approx(
        (average_precision_score([1, 1, 0, 0], [1, 0, 0, 0]) + average_precision_score([0, 0, 1, 1], [0, 1, 1, 1])) / 2
    )


# ---------------------------------------------------------------- classification metrics


def test_classification_metrics_six_examples():
    m = classification_metrics(Y6, probs_for(PRED6, 3), genres=GENRES3, prefix="clip_")
    # accuracy: 4 of 6 on the diagonal
    assert m["clip_accuracy"] == pytest.approx(4 / 6)
    # recall: blues 2/3, jazz 1/2, rock 1/1 -> balanced accuracy = mean = 13/18
    assert m["clip_recall_blues"] == pytest.approx(2 / 3)
    assert m["clip_recall_jazz"] == pytest.approx(1 / 2)
    assert m["clip_recall_rock"] == pytest.approx(1.0)
    assert m["clip_balanced_accuracy"] == pytest.approx(13 / 18)
    assert m["clip_recall_macro"] == pytest.approx(13 / 18)
    # precision (column): blues 2/2, jazz 1/2, rock 1/2 -> macro 2/3
    assert m["clip_precision_jazz"] == pytest.approx(0.5)
    assert m["clip_precision_macro"] == pytest.approx(2 / 3)
    # F1 = 2PR/(P+R): blues 2*1*(2/3)/(5/3) = 4/5, jazz 1/2, rock 2*(1/2)/(3/2) = 2/3
    assert m["clip_f1_blues"] == pytest.approx(4 / 5)
    assert m["clip_f1_rock"] == pytest.approx(2 / 3)
    assert m["clip_f1_macro"] == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
    assert m["clip_n"] == 6.0
    assert all(type(v) is float for v in m.values())
    expected = {"accuracy", "roc_auc_ovr_macro", "roc_auc_micro", "map", "ap_micro", "mrr", "map_at_10"}
    assert {f"clip_{key}" for key in expected} <= set(m)
    assert {f"clip_{s}_{g}" for s in ("ap", "auc") for g in GENRES3} <= set(m)


# Two genres, five examples; genre-1 scores p1, genre-0 scores 1 - p1:
#   y  = 0    0    0    1     1
#   p1 = 0.1  0.4  0.7  0.35  0.8
Y_RANK = np.array([0, 0, 0, 1, 1])
P1 = np.array([0.1, 0.4, 0.7, 0.35, 0.8])
PROBS_RANK = np.column_stack([1 - P1, P1])


def test_auc_hand_counted_pairs_and_ap():
    m = classification_metrics(Y_RANK, PROBS_RANK, genres=["a", "b"])
    # AUC(b) = share of (pos, neg) pairs ordered right: 0.35 beats 0.1 (1), 0.8 beats all 3 -> 4/6;
    # genre a is the same ranking mirrored, so also 4/6
    assert m["auc_b"] == pytest.approx(4 / 6)
    assert m["auc_a"] == pytest.approx(4 / 6)
    assert m["roc_auc_ovr_macro"] == pytest.approx(4 / 6)
    # AP(b): ranking 0.8+ 0.7- 0.4- 0.35+ 0.1- -> (P@1 + P@4) / 2 = (1 + 2/4) / 2 = 3/4
    assert m["ap_b"] == pytest.approx(3 / 4)
    # AP(a): scores .9+ .65- .6+ .3+ .2- -> (1/1 + 2/3 + 3/4) / 3 = 29/36; map = (27/36 + 29/36)/2
    assert m["ap_a"] == pytest.approx(29 / 36)
    assert m["map"] == pytest.approx(7 / 9)
    # micro AUC over all 10 cells: positives {.9,.6,.3,.35,.8}, negatives {.1,.4,.7,.65,.2};
    # pos > neg pairs: 5 + 3 + 2 + 2 + 5 = 17 of 25
    assert m["roc_auc_micro"] == pytest.approx(17 / 25)


def test_auc_perfect_and_reversed():
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.2, 0.8, 0.9])
    perfect = classification_metrics(y, np.column_stack([1 - p1, p1]), genres=["a", "b"])
    reverse = classification_metrics(y, np.column_stack([p1, 1 - p1]), genres=["a", "b"])
    assert perfect["auc_b"] == 1.0 and perfect["roc_auc_micro"] == 1.0
    assert perfect["ap_b"] == 1.0 and perfect["map"] == 1.0
    assert reverse["auc_b"] == 0.0 and reverse["roc_auc_ovr_macro"] == 0.0


def test_absent_genre_is_nan_and_left_out_of_macro():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 1, 2])  # one jazz clip predicted as rock, a genre with no true example
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sklearn warnings either
        m = classification_metrics(y, probs_for(pred, 3), genres=GENRES3)
    for stat in ("auc", "ap", "precision", "recall", "f1"):
        assert np.isnan(m[f"{stat}_rock"])
    # F1 blues 1, jazz 2*1*(1/2)/(3/2) = 2/3 -> macro over present genres (1 + 2/3)/2 = 5/6, not /3
    assert m["f1_macro"] == pytest.approx(5 / 6)
    assert m["balanced_accuracy"] == pytest.approx((1 + 1 / 2) / 2)
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["roc_auc_ovr_macro"] == pytest.approx(np.mean([m["auc_blues"], m["auc_jazz"]]))
    assert not np.isnan(m["roc_auc_micro"])


def test_per_genre_table_matches_macro():
    table = per_genre_table(Y6, probs_for(PRED6, 3), genres=GENRES3)
    assert list(table.index) == GENRES3
    assert list(table.columns) == ["precision", "recall", "f1", "support", "ap", "auc"]
    assert list(table["support"]) == [3, 2, 1]
    m = classification_metrics(Y6, probs_for(PRED6, 3), genres=GENRES3)
    assert table["f1"].mean() == pytest.approx(m["f1_macro"])
    assert table["precision"].mean() == pytest.approx(m["precision_macro"])


def test_to_json_safe():
    d = {
        "a": float("nan"),
        "b": 1.5,
        "c": np.float64(np.inf),
        "d": np.int64(3),
        "e": {"f": -np.inf},
    }
    safe = json_safe(d)
    assert safe == {"a": None, "b": 1.5, "c": None, "d": 3, "e": {"f": None}}
    json.dumps(safe, allow_nan=False)


# ---------------------------------------------------------------- confusion


def test_confusion_counts_and_normalised():
    cm = confusion(Y6, PRED6, genres=GENRES3)
    assert cm.to_numpy().tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert list(cm.index) == GENRES3 and list(cm.columns) == GENRES3
    rows = confusion(Y6, PRED6, genres=GENRES3, normalize=True)
    assert_allclose(rows.to_numpy(), [[2 / 3, 1 / 3, 0], [0, 1 / 2, 1 / 2], [0, 0, 1]])


def test_confusion_keeps_absent_genres():
    cm = confusion(np.array([0, 0]), np.array([0, 1]), genres=GENRES3, normalize=True)
    assert cm.shape == (3, 3)
    assert_allclose(cm.loc["rock"], [0, 0, 0])  # no rock clips: row of zeros, not NaN


def test_most_confused_pairs_order():
    names = ["a", "b", "c"]
    cm = pd.DataFrame([[5, 3, 0], [1, 4, 2], [0, 2, 6]], index=names, columns=names)
    pairs = most_confused_pairs(cm, top=3)
    # a->b 3 (3/8); then a tie at 2: b->c is 2/7 of b, c->b 2/8 of c, so b->c first; b->a 1 cut
    assert pairs[["true", "predicted"]].values.tolist() == [["a", "b"], ["b", "c"], ["c", "b"]]
    assert list(pairs["count"]) == [3, 2, 2]
    assert_allclose(pairs["fraction_of_true"], [3 / 8, 2 / 7, 2 / 8])
    assert len(most_confused_pairs(cm, top=10)) == 4  # zero cells are not confusions


# ---------------------------------------------------------------- curves


def test_roc_curves_long_table():
    curves = roc_curves(Y_RANK, PROBS_RANK, genres=["a", "b"])
    assert list(curves.columns) == ["genre", "fpr", "tpr", "threshold"]
    assert set(curves["genre"]) == {"a", "b", "micro"}
    assert not np.isinf(curves["threshold"]).any()
    b = curves[curves["genre"] == "b"]
    assert np.trapezoid(b["tpr"], b["fpr"]) == pytest.approx(4 / 6)  # same as the hand AUC


def test_pr_curves_long_table_skips_absent_genre():
    curves = pr_curves(np.array([0, 0, 1, 1]), probs_for([0, 1, 1, 2], 3), genres=GENRES3)
    assert list(curves.columns) == ["genre", "precision", "recall", "threshold"]
    assert set(curves["genre"]) == {"blues", "jazz", "micro"}
    last = curves[curves["genre"] == "jazz"].iloc[-1]
    assert (last["precision"], last["recall"]) == (1.0, 0.0) and np.isnan(last["threshold"])


# ---------------------------------------------------------------- evaluate


def test_evaluate_frame_and_clip_level():
    frames = {
        # clip: (label, frame probs) -- frame argmax right 2/3, 2/3, 3/3, 0/3
        "A": (0, [[0.6, 0.2, 0.2], [0.6, 0.2, 0.2], [0.1, 0.8, 0.1]]),  # mean [.43,.40,.17] ok
        "B": (1, [[0.5, 0.4, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1]]),  # mean [.23,.67,.10] ok
        "C": (2, [[0.1, 0.1, 0.8]] * 3),  # ok
        "D": (2, [[0.7, 0.1, 0.2]] * 3),  # wrong at both levels
    }
    ids = [c for c, (_, rows) in frames.items() for _ in rows]
    y = np.array([label for label, rows in frames.values() for _ in rows])
    probs = np.array([r for _, rows in frames.values() for r in rows])
    m = evaluate(y, probs, ids, genres=GENRES3, n_boot=100)
    # frame accuracy (2 + 2 + 3 + 0) / 12; clip accuracy 3 / 4
    assert m["frame_accuracy"] == pytest.approx(7 / 12)
    assert m["clip_accuracy"] == pytest.approx(3 / 4)
    assert (m["n_frames"], m["n_clips"]) == (12.0, 4.0)
    assert "frame_map_at_10" not in m and "clip_map_at_10" in m  # MAP@10 over frames (hundreds a genre) says nothing
    # Wilson for 3 of 4: centre (0.75 + z^2/8) / (1 + z^2/4) = 0.6009
    assert (m["clip_accuracy_ci_low"], m["clip_accuracy_ci_high"]) == pytest.approx((0.3006, 0.9544), abs=1e-4)
    assert m["clip_f1_macro_ci_low"] < m["clip_f1_macro"] <= m["clip_f1_macro_ci_high"]
    assert all(type(v) is float for v in m.values())
    json.dumps(json_safe(m), allow_nan=False)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("y", "probs", "genres", "match"),
    [
        (np.array([0, 1]), np.array([0.5, 0.5]), ["a", "b"], "2-D"),
        (np.array([0, 1]), probs_for([0, 1], 3), ["a", "b"], "3 columns"),
        (np.array([0, 1, 1]), probs_for([0, 1], 2), ["a", "b"], "shape"),
        (np.array([0, 2]), probs_for([0, 1], 2), ["a", "b"], r"\[0, 2\)"),
        (np.array([0, -1]), probs_for([0, 1], 2), ["a", "b"], r"\[0, 2\)"),
        (np.array([0.0, 1.0]), probs_for([0, 1], 2), ["a", "b"], "integer"),
        (np.array([0, 1]), np.array([[2.0, 1.0], [0.5, 0.5]]), ["a", "b"], "sum to 1"),
        (np.array([0, 1]), np.array([[np.nan, 1.0], [0.5, 0.5]]), ["a", "b"], "NaN"),
        (np.array([0, 1]), probs_for([0, 1], 2), ["a", "a"], "unique"),
    ],
)
def test_bad_inputs_raise(y, probs, genres, match):
    with pytest.raises(ValueError, match=match):
        classification_metrics(y, probs, genres=genres)


def test_bad_lengths_elsewhere_raise():
    with pytest.raises(ValueError, match="track_ids"):
        clip_probabilities(probs_for([0, 1], 2), ["t1"])
    with pytest.raises(ValueError, match="y_pred"):
        confusion(np.array([0, 1]), np.array([0]), genres=["a", "b"])
    with pytest.raises(ValueError, match="1-D"):
        bootstrap_ci(np.array([0, 1]), np.array([0]))


def test_errors_are_package_errors():
    assert issubclass(EvaluationError, GenreCRNNError)
    assert issubclass(EvaluationError, ValueError)


def test_describe_errors_lists_every_confusion_worked_out_by_hand():
    from genrecrnn.metrics.tables import describe_errors

    actual = ["rock", "rock", "pop", "pop", "metal", "jazz", "jazz", "metal"]
    predicted = ["rock", "metal", "rock", "classical", "rock", "jazz", "jazz", "rock"]
    assert describe_errors(actual, predicted) == (
        "5 error(s) in 8 clips: metal taken for rock (2), pop taken for classical (1), pop taken for rock (1), "
        "rock taken for metal (1)"
    )
    assert describe_errors(["a", "b"], ["a", "b"]) == "no errors in 2 clips"


@pytest.mark.parametrize("seed", [0, 1])
def test_curve_area_of_the_drawn_points_is_sklearns_ap_and_auc(seed):
    from genrecrnn.metrics.curves import curve_area

    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 40)
    score = np.round(rng.random(40) + 0.3 * truth, 1)  # rounded: tied scores, as in real curves
    precision, recall, _ = precision_recall_curve(truth, score)
    fpr, tpr, _ = roc_curve(truth, score)
    assert curve_area(recall, precision, step=True) == pytest.approx(average_precision_score(truth, score))
    assert curve_area(fpr, tpr, step=False) == pytest.approx(roc_auc_score(truth, score))
    assert np.isnan(curve_area([1.0], [0.5], step=True))
