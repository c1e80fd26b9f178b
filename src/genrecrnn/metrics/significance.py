"""Uncertainty of a score and the paired comparison of two classifiers on the same examples.

Intervals: accuracy's is Wilson's score interval (closed form); macro F1's a BCa bootstrap over
examples (``scipy.stats.bootstrap``), both at level 1 - alpha.

Paired comparison: two classifiers' predictions ``pred_a``, ``pred_b`` (n,) of the same n examples
are compared on those examples (McNemar's exact test and a paired bootstrap of the accuracy
difference a - b), not by setting two separate confidence intervals side by side;
:func:`describe_comparison` states the verdict in one sentence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, bootstrap, norm
from sklearn.metrics import accuracy_score, f1_score

from genrecrnn.util.errors import EvaluationError

BOOTSTRAP_METRICS = ("accuracy", "f1_macro")
PAIRED_KEYS = (
    "accuracy_diff",
    "accuracy_diff_ci_low",
    "accuracy_diff_ci_high",
    "bootstrap_p",
    "mcnemar_b",
    "mcnemar_c",
    "mcnemar_p",
    "n",
)


def _f1_macro_present(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro F1 over the genres present in y_true (the module's absent-genre rule)."""
    return f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0)


_BOOTSTRAP_FUNCS = {"accuracy": accuracy_score, "f1_macro": _f1_macro_present}


def wilson_interval(successes: int, n: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score (1 - alpha) interval of the proportion successes / n; inside [0, 1], not empty at 0 or n."""
    if n < 1 or not 0 <= successes <= n or not 0 < alpha < 1:
        raise EvaluationError(f"need 0 <= successes <= n, n >= 1 and 0 < alpha < 1, got {successes}, {n}, {alpha}")
    z = float(norm.ppf(1 - alpha / 2))
    phat = successes / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n))
    # At 0 or n successes one end is exactly 0 or 1; rounding must not move it.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def bootstrap_ci(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    metric: str = "accuracy",
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """(1 - alpha) CI of metric over examples (n,): Wilson's for accuracy, else a seeded BCa bootstrap.

    The plain percentile bootstrap is too narrow for small test sets (it gives (1, 1) for a perfect
    score); BCa corrects its bias and skew. When every example is right (or every one wrong), every
    resample scores the same and BCa is undefined: the interval is then the accuracy's Wilson interval,
    the uncertainty a perfect (or null) score on n examples carries, rather than a zero-width one.
    """
    if metric not in _BOOTSTRAP_FUNCS:
        raise EvaluationError(f"metric must be one of {BOOTSTRAP_METRICS}, got {metric!r}")
    if n_boot < 1 or not 0 < alpha < 1:
        raise EvaluationError(f"need n_boot >= 1 and 0 < alpha < 1, got {n_boot}, {alpha}")
    y = np.asarray(y_true)
    yp = np.asarray(y_pred)
    if y.ndim != 1 or y.shape != yp.shape or len(y) == 0:
        raise EvaluationError(f"y_true and y_pred must be equal non-empty 1-D, got {y.shape}, {yp.shape}")
    if metric == "accuracy":
        return wilson_interval(int(np.sum(y == yp)), len(y), alpha=alpha)
    func = _BOOTSTRAP_FUNCS[metric]
    if np.all(y == yp) or not np.any(y == yp):  # every resample scores the same
        return wilson_interval(int(np.sum(y == yp)), len(y), alpha=alpha)
    result = bootstrap(
        (y, yp),
        func,
        paired=True,
        vectorized=False,
        n_resamples=n_boot,
        confidence_level=1 - alpha,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    if not (np.isfinite(low) and np.isfinite(high)):  # degenerate resamples: fall back to the percentiles
        low, high = np.quantile(result.bootstrap_distribution, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test: b clips a right and b wrong, c the reverse, two-sided p-value."""

    b: int
    c: int
    p_value: float


@dataclass(frozen=True)
class PairedBootstrapResult:
    """Accuracy difference a - b, its percentile CI and two-sided p-value from resampling examples."""

    diff: float
    ci_low: float
    ci_high: float
    p_value: float


def _check_paired(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (a correct, b correct) as bool (n,); raise unless three equal non-empty 1-D int arrays."""
    arrays = {"y_true": np.asarray(y_true), "pred_a": np.asarray(pred_a), "pred_b": np.asarray(pred_b)}
    shapes = {name: a.shape for name, a in arrays.items()}
    if len(set(shapes.values())) != 1 or arrays["y_true"].ndim != 1 or arrays["y_true"].size == 0:
        raise EvaluationError(f"y_true, pred_a and pred_b must be equal non-empty 1-D arrays, got shapes {shapes}")
    for name, a in arrays.items():
        if a.dtype.kind not in "iu":
            raise EvaluationError(f"{name} must hold integer labels, got dtype {a.dtype}")
    y = arrays["y_true"]
    return arrays["pred_a"] == y, arrays["pred_b"] == y


def mcnemar_test(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> McNemarResult:
    """Exact McNemar test of labels (n,) vs two predictions (n,): binomial test of b vs c; p = 1 if b + c = 0."""
    right_a, right_b = _check_paired(y_true, pred_a, pred_b)
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    # Under H0 (equal accuracy) each discordant example is a fair coin: b ~ Binomial(b + c, 1/2).
    p = binomtest(b, b + c, 0.5, alternative="two-sided").pvalue if b + c else 1.0
    return McNemarResult(b=b, c=c, p_value=float(p))


def paired_bootstrap(
    y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *, n_boot: int, seed: int, alpha: float = 0.05
) -> PairedBootstrapResult:
    """Accuracy a - b on labels (n,), its (1 - alpha) percentile CI and two-sided p from n_boot paired resamples.

    Each resample draws n examples with replacement and scores both predictions on those same
    examples. p = 2 * min(k_le + 1, k_ge + 1) / (n_boot + 1), capped at 1, where k_le (k_ge) counts
    resamples with difference <= 0 (>= 0); the +1 keeps a finite number of resamples from giving p = 0.
    """
    if n_boot < 1 or not 0 < alpha < 1:
        raise EvaluationError(f"need n_boot >= 1 and 0 < alpha < 1, got {n_boot}, {alpha}")
    right_a, right_b = _check_paired(y_true, pred_a, pred_b)
    per_example = right_a.astype(np.int8) - right_b.astype(np.int8)  # +1, 0 or -1 per example
    idx = np.random.default_rng(seed).integers(0, len(per_example), size=(n_boot, len(per_example)))
    diffs = per_example[idx].mean(axis=1)
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    tail = min(np.sum(diffs <= 0), np.sum(diffs >= 0))
    return PairedBootstrapResult(
        diff=float(per_example.mean()),
        ci_low=float(low),
        ci_high=float(high),
        p_value=float(min(1.0, 2 * (tail + 1) / (n_boot + 1))),
    )


def paired_comparison(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    alpha: float = 0.05,
    prefix: str = "",
) -> dict[str, float]:
    """Flat float dict with the PAIRED_KEYS, prefixed: accuracy_diff (a - b) and CI, bootstrap_p, mcnemar_b/c/p, n."""
    mcnemar = mcnemar_test(y_true, pred_a, pred_b)
    boot = paired_bootstrap(y_true, pred_a, pred_b, n_boot=n_boot, seed=seed, alpha=alpha)
    out = {
        "accuracy_diff": boot.diff,
        "accuracy_diff_ci_low": boot.ci_low,
        "accuracy_diff_ci_high": boot.ci_high,
        "bootstrap_p": boot.p_value,
        "mcnemar_b": mcnemar.b,
        "mcnemar_c": mcnemar.c,
        "mcnemar_p": mcnemar.p_value,
        "n": len(y_true),
    }
    return {f"{prefix}{key}": float(value) for key, value in out.items()}


def _format_p(p: float) -> str:
    """'= 0.0312' (3 significant digits) or '< 0.001'."""
    return "< 0.001" if p < 0.001 else f"= {p:.3g}"


def _format_bootstrap_p(p: float, n_boot: int | None) -> str:
    """_format_p, or '≤ 0.002 (the smallest p 1000 resamples can give)' when p is at its floor 2 / (n_boot + 1)."""
    if n_boot is not None and p <= 2 / (n_boot + 1) * (1 + 1e-9):
        return f"≤ {2 / (n_boot + 1):.2g} (the smallest p {n_boot} resamples can give)"
    return _format_p(p)


def describe_comparison(
    metrics: Mapping[str, float],
    *,
    name_a: str,
    name_b: str,
    prefix: str = "",
    unit: str = "examples",
    alpha: float = 0.05,
    n_boot: int | None = None,
) -> str:
    """One Markdown sentence on a :func:`paired_comparison` dict; the verdict is McNemar's p vs alpha.

    ``alpha`` must be the one the comparison was computed with: it names the CI level too. ``n_boot``, the
    resamples it used: a bootstrap p at its floor 2 / (n_boot + 1) (no resample on the other side of 0) is
    then written "≤" that floor, since more resamples would give a smaller p.
    """
    missing = [f"{prefix}{key}" for key in PAIRED_KEYS if f"{prefix}{key}" not in metrics]
    if missing:
        raise EvaluationError(f"metrics lacks the paired comparison's keys {missing}; see paired_comparison")
    m = {key: float(metrics[f"{prefix}{key}"]) for key in PAIRED_KEYS}
    b, c, p, boot_p = int(m["mcnemar_b"]), int(m["mcnemar_c"]), m["mcnemar_p"], m["bootstrap_p"]
    text = (
        f"{name_a} − {name_b} accuracy on the same {int(m['n'])} {unit}: **{m['accuracy_diff']:+.3f}** "
        f"({100 * (1 - alpha):.0f}% CI {m['accuracy_diff_ci_low']:+.3f} to {m['accuracy_diff_ci_high']:+.3f}); "
        f"McNemar exact p {_format_p(p)} ({name_a} right and {name_b} wrong on {b} {unit}, the reverse on {c}); "
        f"paired bootstrap p {_format_bootstrap_p(boot_p, n_boot)}. "
    )
    if p < alpha:
        winner, loser = (name_a, name_b) if b > c else (name_b, name_a)
        text += f"**The {winner} beats the {loser}** (McNemar p < {alpha:g})."
    else:
        text += f"**No significant difference** between the {name_a} and the {name_b} (McNemar p ≥ {alpha:g})."
    if (boot_p < alpha) != (p < alpha):
        verdict = "significant" if boot_p < alpha else "not significant"
        text += f" The paired bootstrap alone would call it {verdict}: a borderline case."
    return text
