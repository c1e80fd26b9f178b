"""Tests for genrecrnn.metrics.significance: intervals and paired tests against values worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genrecrnn.metrics.significance import (
    _f1_macro_present,
    bootstrap_ci,
    describe_comparison,
    mcnemar_test,
    paired_bootstrap,
    paired_comparison,
    wilson_interval,
)
from genrecrnn.util.errors import EvaluationError
from genrecrnn.util.fileio import json_safe

# ---------------------------------------------------------------- bootstrap


def _hits(k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n labels of which the first k are predicted right."""
    y = np.arange(n) % 3
    return y, np.where(np.arange(n) < k, y, (y + 1) % 3)


def _seventy_percent(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n labels with 70 % predicted right (the first 7 of every 10)."""
    y = np.arange(n) % 3
    pred = np.where(np.arange(n) % 10 < 7, y, (y + 1) % 3)
    return y, pred


def test_accuracy_interval_is_wilson():
    # Wilson 95% for 85/100 (z = 1.959964): centre (0.85 + z^2/200) / (1 + z^2/100) = 0.83706, half-width 0.06989
    low, high = bootstrap_ci(*_hits(85, 100))
    assert (low, high) == pytest.approx((0.76716, 0.90694), abs=1e-5)
    assert wilson_interval(85, 100) == (low, high)


def test_perfect_accuracy_on_ten_clips_is_not_certain():
    # The percentile bootstrap gave (1.0, 1.0) here: ten right out of ten does not prove accuracy 1.
    low, high = bootstrap_ci(*_hits(10, 10))
    assert high == 1.0 and low == pytest.approx(0.7225, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)


def test_wilson_covers_the_true_accuracy_about_95_percent_of_the_time_at_the_low_end():
    # At n = 20 and true accuracy 0.95 the percentile bootstrap covers far less often than 95%.
    rng = np.random.default_rng(0)
    truth, n = 0.95, 20
    hits = rng.binomial(n, truth, size=2000)
    covered = np.mean([wilson_interval(int(k), n)[0] <= truth <= wilson_interval(int(k), n)[1] for k in hits])
    assert covered >= 0.92
    percentile = []
    for k in hits[:300]:
        y, pred = _hits(int(k), n)
        idx = rng.integers(0, n, size=(300, n))
        stats = (y[idx] == pred[idx]).mean(axis=1)
        lo, hi = np.quantile(stats, [0.025, 0.975])
        percentile.append(lo <= truth <= hi)
    assert np.mean(percentile) < covered - 0.05


def test_f1_interval_is_bca_deterministic_and_contains_the_estimate():
    from scipy.stats import bootstrap

    y, pred = _seventy_percent(100)
    ci = bootstrap_ci(y, pred, metric="f1_macro", n_boot=300, seed=1)
    assert ci == bootstrap_ci(y, pred, metric="f1_macro", n_boot=300, seed=1)
    assert ci != bootstrap_ci(y, pred, metric="f1_macro", n_boot=300, seed=2)
    expected = bootstrap(
        (y, pred), _f1_macro_present, paired=True, vectorized=False, n_resamples=300, method="BCa",
        rng=np.random.default_rng(1),
    ).confidence_interval  # fmt: skip
    assert ci == pytest.approx(tuple(expected))
    estimate = _f1_macro_present(y, pred)
    assert ci[0] < estimate < ci[1]


def test_bootstrap_narrows_with_more_examples():
    small = bootstrap_ci(*_seventy_percent(50), metric="f1_macro", n_boot=300)
    large = bootstrap_ci(*_seventy_percent(2000), metric="f1_macro", n_boot=300)
    # the width goes as 1/sqrt(n): 40x the examples should give roughly 1/6 of the width
    assert large[1] - large[0] < (small[1] - small[0]) / 3


def test_bootstrap_perfect_predictions():
    y = np.array([0, 1, 2, 0, 1])
    # A perfect F1 on 5 clips is not certain either: no zero-width interval, the Wilson one of 5 of 5 instead.
    assert bootstrap_ci(y, y, metric="f1_macro", n_boot=50) == wilson_interval(5, 5) == bootstrap_ci(y, y)
    assert bootstrap_ci(y, y)[1] == 1.0 and bootstrap_ci(y, y)[0] < 0.6  # Wilson, 5 of 5
    assert bootstrap_ci(y, (y + 1) % 3, metric="f1_macro", n_boot=50) == wilson_interval(0, 5)  # all wrong


def test_bootstrap_bad_metric_raises():
    with pytest.raises(ValueError, match="accuracy"):
        bootstrap_ci(np.array([0]), np.array([0]), metric="auc")


# ---------------------------------------------------------------- paired comparison


def _paired(both_right: int, only_a: int, only_b: int, both_wrong: int) -> tuple[np.ndarray, ...]:
    """Labels and two predictions with these counts of (a, b) right/wrong, in that block order."""
    n = both_right + only_a + only_b + both_wrong
    y = np.arange(n) % 3
    wrong = (y + 1) % 3
    a_right = np.repeat([True, True, False, False], [both_right, only_a, only_b, both_wrong])
    b_right = np.repeat([True, False, True, False], [both_right, only_a, only_b, both_wrong])
    return y, np.where(a_right, y, wrong), np.where(b_right, y, wrong)


def test_mcnemar_hand_worked():
    # b = 8, c = 2: p = 2 * sum_{k=0..2} C(10, k) / 2^10 = 2 * (1 + 10 + 45) / 1024
    y, a, b = _paired(5, 8, 2, 3)
    result = mcnemar_test(y, a, b)
    assert (result.b, result.c) == (8, 2)
    assert result.p_value == pytest.approx(0.109375, abs=1e-12)
    swapped = mcnemar_test(y, b, a)
    assert (swapped.b, swapped.c, swapped.p_value) == (2, 8, result.p_value)


def test_mcnemar_without_discordant_pairs_is_one():
    y, a, b = _paired(4, 0, 0, 3)
    result = mcnemar_test(y, a, b)
    assert (result.b, result.c, result.p_value) == (0, 0, 1.0)
    with pytest.raises(AttributeError):
        result.b = 1  # frozen


def test_paired_bootstrap_difference_is_the_accuracy_difference():
    y, a, b = _paired(20, 12, 4, 6)
    result = paired_bootstrap(y, a, b, n_boot=500, seed=3)
    assert result.diff == pytest.approx(np.mean(a == y) - np.mean(b == y)) == pytest.approx(8 / 42)
    assert result.ci_low <= result.diff <= result.ci_high
    assert result == paired_bootstrap(y, a, b, n_boot=500, seed=3)
    assert result != paired_bootstrap(y, a, b, n_boot=500, seed=4)
    flipped = paired_bootstrap(y, b, a, n_boot=500, seed=3)
    assert flipped.diff == -result.diff and flipped.p_value == result.p_value
    assert flipped.ci_low == pytest.approx(-result.ci_high) and flipped.ci_high == pytest.approx(-result.ci_low)


def test_paired_bootstrap_p_small_for_dominance_and_one_for_identical():
    y, a, b = _paired(30, 30, 0, 0)  # a is right on every clip b gets wrong, never the reverse
    dominant = paired_bootstrap(y, a, b, n_boot=999, seed=0)
    assert dominant.p_value == pytest.approx(2 / 1000)  # no resample reaches diff <= 0
    assert dominant.ci_low > 0
    assert mcnemar_test(y, a, b).p_value == pytest.approx(2 * 0.5**30)
    same = paired_bootstrap(y, a, a, n_boot=200, seed=0)
    assert (same.diff, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_paired_comparison_flat_float_dict():
    y, a, b = _paired(5, 8, 2, 3)
    m = paired_comparison(y, a, b, n_boot=200, seed=0, prefix="x_")
    assert set(m) == {
        "x_accuracy_diff",
        "x_accuracy_diff_ci_low",
        "x_accuracy_diff_ci_high",
        "x_bootstrap_p",
        "x_mcnemar_b",
        "x_mcnemar_c",
        "x_mcnemar_p",
        "x_n",
    }
    assert all(type(v) is float for v in m.values())
    assert (m["x_mcnemar_b"], m["x_mcnemar_c"], m["x_n"]) == (8.0, 2.0, 18.0)
    assert m["x_accuracy_diff"] == pytest.approx(6 / 18)
    json.dumps(json_safe(m), allow_nan=False)


@pytest.mark.parametrize(
    ("y", "a", "b", "match"),
    [
        (np.array([0, 1]), np.array([0, 1]), np.array([0]), "equal non-empty"),
        (np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=int), "equal non-empty"),
        (np.array([[0, 1]]), np.array([[0, 1]]), np.array([[0, 1]]), "1-D"),
        (np.array([0, 1]), np.array([0.0, 1.0]), np.array([0, 1]), "pred_a must hold integer"),
    ],
)
def test_paired_bad_inputs_raise(y, a, b, match):
    with pytest.raises(EvaluationError, match=match):
        paired_comparison(y, a, b, n_boot=10, seed=0)


def test_paired_bootstrap_bad_settings_raise():
    y, a, b = _paired(2, 1, 1, 0)
    with pytest.raises(EvaluationError, match="n_boot"):
        paired_bootstrap(y, a, b, n_boot=0, seed=0)


WIN = {
    "accuracy_diff": 0.12,
    "accuracy_diff_ci_low": 0.05,
    "accuracy_diff_ci_high": 0.19,
    "bootstrap_p": 0.002,
    "mcnemar_b": 15.0,
    "mcnemar_c": 3.0,
    "mcnemar_p": 0.00754,
    "n": 100.0,
}


def test_describe_comparison_win():
    text = describe_comparison(
        {f"p_{k}": v for k, v in WIN.items()}, prefix="p_", name_a="CRNN", name_b="baseline", unit="test clips"
    )
    assert text == (
        "CRNN − baseline accuracy on the same 100 test clips: **+0.120** (95% CI +0.050 to +0.190); "
        "McNemar exact p = 0.00754 (CRNN right and baseline wrong on 15 test clips, the reverse on 3); "
        "paired bootstrap p = 0.002. **The CRNN beats the baseline** (McNemar p < 0.05)."
    )


def test_describe_comparison_not_significant_loss_and_borderline():
    y, a, b = _paired(5, 8, 2, 3)  # McNemar p = 0.109
    m = paired_comparison(y, a, b, n_boot=500, seed=0)
    text = describe_comparison(m, name_a="CRNN", name_b="baseline")
    assert "McNemar exact p = 0.109 (CRNN right and baseline wrong on 8 examples, the reverse on 2)" in text
    assert "**No significant difference** between the CRNN and the baseline (McNemar p ≥ 0.05)." in text
    loss = {**WIN, "accuracy_diff": -0.12, "mcnemar_b": 3.0, "mcnemar_c": 15.0, "mcnemar_p": 0.0004}
    text = describe_comparison(loss, name_a="CRNN", name_b="baseline")
    assert "**-0.120**" in text and "McNemar exact p < 0.001" in text
    assert text.endswith("**The baseline beats the CRNN** (McNemar p < 0.05).")
    borderline = describe_comparison({**WIN, "mcnemar_p": 0.06}, name_a="CRNN", name_b="baseline")
    assert "**No significant difference**" in borderline
    assert borderline.endswith("The paired bootstrap alone would call it significant: a borderline case.")


def test_a_bootstrap_p_at_its_floor_is_written_as_a_bound():
    y, a, b = _paired(20, 30, 0, 0)  # a right on 30 clips where b is wrong, never the reverse
    m = paired_comparison(y, a, b, n_boot=999, seed=0)
    assert m["bootstrap_p"] == 2 / 1000  # no resample reaches a difference <= 0
    text = describe_comparison(m, name_a="CRNN", name_b="baseline", n_boot=999)
    assert "paired bootstrap p ≤ 0.002 (the smallest p 999 resamples can give)" in text
    above = describe_comparison({**m, "bootstrap_p": 0.03}, name_a="CRNN", name_b="baseline", n_boot=999)
    assert "paired bootstrap p = 0.03." in above


def test_describe_comparison_missing_keys_raise():
    with pytest.raises(EvaluationError, match="crnn_vs_baseline_mcnemar_p"):
        describe_comparison(WIN, prefix="crnn_vs_baseline_", name_a="a", name_b="b")
