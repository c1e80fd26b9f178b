"""Elementary functions (float64) whose bits do not depend on the CPU.

numpy dispatches `exp`, `log`, `log10`, `tanh` and the float32 `sin`/`cos`/`power` to different SIMD
code on AVX-512, AVX2 and older x86-64 CPUs (`np.show_runtime()` lists what it found); results differ
in the last bit, so a synthetic data set or a feature store written on one machine would not match
another's bytes. The functions here use only +, -, *, /, rint, frexp and ldexp, which IEEE 754 rounds
exactly the same on every CPU: range reduction and a fixed polynomial (Horner order), as in fdlibm.
Accuracy is within 2 ulp of the correctly rounded result on the ranges the package uses
(tests/test_portable.py compares them with numpy).
"""

from __future__ import annotations

import numpy as np

_LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that n * _LN2_HI is exact for |n| < 2**20 (fdlibm)
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.44269504088896338700e00
_LN10 = 2.30258509299404568402
_PIO2_1 = 1.57079632673412561417e00  # pi/2 in three 33-bit parts: q * part is exact for |q| < 2**20 (fdlibm)
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624879595063154e-21
_TWO_OVER_PI = 6.36619772367581382433e-01
_EXP_MAX, _EXP_MIN = 709.782712893384, -745.1332191019412  # beyond: inf and 0, as numpy
_EXP_TERMS = [1.0 / np.prod(np.arange(1.0, k + 1)) for k in range(14)]  # 1/k!, k = 0..13
_SIN_TERMS = [(-1.0) ** k / np.prod(np.arange(1.0, 2 * k + 2)) for k in range(9)]  # r^(2k+1) coefficients
_COS_TERMS = [(-1.0) ** k / np.prod(np.arange(1.0, 2 * k + 1)) for k in range(10)]  # r^(2k) coefficients


def _horner(coefficients: list[float], x: np.ndarray) -> np.ndarray:
    """sum(c_k * x**k) evaluated from the highest power down (a fixed order: same bits everywhere)."""
    result = np.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result *= x  # in place: the same two roundings as result * x + c, without temporaries
        result += c
    return result


def exp(x: np.ndarray | float) -> np.ndarray:
    """e**x, float64; inf above 709.78 and 0 below -745.13, nan for nan."""
    x = np.asarray(x, dtype=np.float64)
    clipped = np.clip(np.nan_to_num(x, nan=0.0), -745.0, 709.0)
    n = np.rint(clipped * _LOG2E)
    r = (clipped - n * _LN2_HI) - n * _LN2_LO  # |r| <= ln2/2: Taylor to r**13 is exact to 1e-18
    with np.errstate(under="ignore"):  # results below 2.2e-308 are subnormal or 0, as numpy's
        out = np.ldexp(_horner(_EXP_TERMS, r), n.astype(np.int64))
    if not np.all((x >= _EXP_MIN) & (x <= _EXP_MAX)):  # rare: only then pay for the special cases
        out = np.where(x > _EXP_MAX, np.inf, np.where(x < _EXP_MIN, 0.0, out))
        out = np.where(np.isnan(x), np.nan, out)
    return out


def log(x: np.ndarray | float) -> np.ndarray:
    """Natural logarithm, float64; -inf at 0, nan below 0."""
    x = np.asarray(x, dtype=np.float64)
    m, e = np.frexp(np.where((x > 0) & np.isfinite(x), x, 1.0))  # x = m * 2**e, m in [0.5, 1)
    low = m < np.sqrt(0.5)
    m, e = np.where(low, 2 * m, m), np.where(low, e - 1, e).astype(np.float64)  # m in [0.707, 1.414)
    s = (m - 1) / (m + 1)  # log m = 2 atanh s, |s| <= 0.172: the series to s**23 is exact to 1e-18
    s2 = s * s
    log_m = 2 * s * _horner([1.0 / (2 * k + 1) for k in range(12)], s2)
    out = e * _LN2_HI + (log_m + e * _LN2_LO)
    out = np.where(x == 0, -np.inf, np.where(x < 0, np.nan, out))
    return np.where(np.isinf(x) & (x > 0), np.inf, np.where(np.isnan(x), np.nan, out))


def log10(x: np.ndarray | float) -> np.ndarray:
    """Base-10 logarithm, float64: log(x) / ln 10."""
    return log(x) / _LN10


def tanh(x: np.ndarray | float) -> np.ndarray:
    """Hyperbolic tangent, float64, from one exp: sign(x) (1 - e) / (1 + e) with e = exp(-2|x|)."""
    x = np.asarray(x, dtype=np.float64)
    e = exp(-2 * np.abs(x))
    return np.sign(x) * (1 - e) / (1 + e)


def _quadrant_sin(x: np.ndarray, shift: int) -> np.ndarray:
    """sin(x + shift * pi/2), float64: reduce to |r| <= pi/4 and pick sin or cos of r by quadrant."""
    q = np.rint(x * _TWO_OVER_PI)
    r = ((x - q * _PIO2_1) - q * _PIO2_2) - q * _PIO2_3
    r2 = r * r
    sin_r, cos_r = r * _horner(_SIN_TERMS, r2), _horner(_COS_TERMS, r2)
    quadrant = (q.astype(np.int64) + shift) % 4
    return np.where(quadrant % 2 == 0, sin_r, cos_r) * np.where(quadrant >= 2, -1.0, 1.0)


def sin(x: np.ndarray | float) -> np.ndarray:
    """Sine of x in radians, float64; accurate for |x| < 2**20 * pi/2 (about 1.6e6)."""
    return _quadrant_sin(np.asarray(x, dtype=np.float64), 0)


def cos(x: np.ndarray | float) -> np.ndarray:
    """Cosine of x in radians, float64; accurate for |x| < 2**20 * pi/2 (about 1.6e6)."""
    return _quadrant_sin(np.asarray(x, dtype=np.float64), 1)
