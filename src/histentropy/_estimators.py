"""Bias-corrected entropy estimators for histograms of counts (layer 3):
``entropy(p, estimator=...)``.

N is a histogram's total count, m the number of its bins with a non-zero
count, K its number of bins, n_i its counts:

* "miller_madow": the plug-in entropy + (m - 1) / (2N);
* "grassberger" (Grassberger 2003): log N - (1/N) sum n_i G(n_i),
  G(n) = psi(n) + (1/2) (-1)^n (psi((n + 1)/2) - psi(n/2));
* "chao_shen": coverage C = 1 - f1/N (f1: bins holding one count; f1 = N is
  taken as N - 1), p_a = C n_i / N, H = -sum p_a log p_a / (1 - (1 - p_a)^N);
* "james_stein" (Hausser and Strimmer): shrinkage of n_i / N towards 1/K
  with lambda = (1 - sum p_i^2) / ((N - 1) sum (1/K - p_i)^2) clipped to
  [0, 1], then -sum s_i log s_i over s_i = lambda/K + (1 - lambda) p_i.

Miller-Madow's plug-in entropy comes from the entropy kernels; the rest is
vectorised NumPy over the non-zero counts (psi by its recurrence and
asymptotic series), every sum one of non-negative terms or a few of them.
"""
import numpy as np

ESTIMATORS = ("plugin", "miller_madow", "grassberger", "chao_shen", "james_stein")


def check_estimator(estimator):
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {', '.join(map(repr, ESTIMATORS))}; got {estimator!r}"
        )
    return estimator


def check_counts(values, rows, n_rows, nan_policy, estimator):
    """Errors for weights that are not counts; the histograms holding a NaN
    that propagates (True)."""
    nan = np.isnan(values)
    with np.errstate(invalid="ignore"):
        if np.isinf(values).any():
            raise ValueError("p must hold finite weights; got an infinite value")
        if (values < 0).any():
            raise ValueError("p must hold non-negative weights; got a negative value")
        if nan.any() and nan_policy == "raise":
            raise ValueError("p contains NaN and nan_policy='raise'")
        if (values[~nan] != np.floor(values[~nan])).any():
            raise ValueError(
                f"estimator={estimator!r} needs integer-valued counts; got a "
                "non-integer weight"
            )
    if nan_policy == "propagate":
        return np.bincount(rows[nan], minlength=n_rows) > 0
    return np.zeros(n_rows, dtype=bool)


def digamma(x):
    """psi(x) for x > 0 (float64 array): the recurrence psi(x) = psi(x + 1) -
    1/x up to x >= 10, then the asymptotic series (error < 1e-16 there)."""
    x = np.array(x, dtype=np.float64)
    shift = np.zeros_like(x)
    small = x < 10.0
    while small.any():
        shift -= np.where(small, 1.0 / np.where(small, x, 1.0), 0.0)
        x = np.where(small, x + 1.0, x)
        small = x < 10.0
    inv2 = 1.0 / (x * x)
    series = inv2 * (-1.0 / 12 + inv2 * (1.0 / 120 + inv2 * (-1.0 / 252 + inv2 * (
        1.0 / 240 + inv2 * (-1.0 / 132 + inv2 * (691.0 / 32760 - inv2 / 12))))))
    return shift + np.log(x) - 0.5 / x + series


def _grassberger_g(n):
    """G(n) of Grassberger (2003) for integer counts n >= 1."""
    sign = np.where(np.fmod(n, 2.0) == 0, 1.0, -1.0)
    return digamma(n) + 0.5 * sign * (digamma((n + 1.0) / 2.0) - digamma(n / 2.0))


def _sums(values, rows, n_rows):
    """Per-row sums of per-value quantities (rows: each value's row)."""
    return np.bincount(rows, weights=values, minlength=n_rows)


def estimate(estimator, counts, rows, n_rows, bins, plugin):
    """The estimator of every histogram from its non-zero counts.

    counts: float64 integer-valued counts > 0 of all histograms, rows: the
    histogram of each, n_rows histograms of `bins` bins each (an array, one
    per histogram); plugin() -> their plug-in entropies in nats (from the
    entropy kernels; Miller-Madow). Returns nats; NaN for a histogram
    without counts.
    """
    N = _sums(counts, rows, n_rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(N > 0, _estimate(estimator, counts, rows, n_rows, bins, plugin, N),
                        np.nan)


def _estimate(estimator, counts, rows, n_rows, bins, plugin, N):
    if estimator == "miller_madow":
        m = np.bincount(rows, minlength=n_rows)
        return plugin() + (m - 1) / (2.0 * N)
    if estimator == "grassberger":
        top = counts.max(initial=0.0)
        if top <= 1 << 16:  # G of each count from a table of G(1..top)
            g = _grassberger_g(np.arange(1.0, top + 1.0))[counts.astype(np.int64) - 1]
        else:
            g = _grassberger_g(counts)
        return np.log(N) - _sums(counts * g, rows, n_rows) / N
    if estimator == "chao_shen":
        f1 = np.bincount(rows, weights=(counts == 1).astype(np.float64),
                         minlength=n_rows)
        f1 = np.where(f1 == N, N - 1.0, f1)
        coverage = 1.0 - f1 / N
        pa = coverage[rows] * counts / N[rows]
        # 1 - (1 - pa)^N without cancellation
        seen = -np.expm1(N[rows] * np.log1p(-pa))
        return _sums(-pa * np.log(pa) / seen, rows, n_rows)
    # james_stein
    p = counts / N[rows]
    target = 1.0 / bins
    squares = _sums(p * p, rows, n_rows)
    # sum over all K bins of (1/K - p)^2: the stored bins, plus 1/K^2 for
    # each of the others
    stored = np.bincount(rows, minlength=n_rows)
    spread = (_sums((target[rows] - p) ** 2, rows, n_rows)
              + (bins - stored) * target * target)
    shrink = np.where(spread == 0, 1.0, (1.0 - squares) / ((N - 1.0) * spread))
    shrink = np.clip(np.nan_to_num(shrink, nan=1.0, posinf=1.0), 0.0, 1.0)
    shrunk = shrink[rows] * target[rows] + (1.0 - shrink[rows]) * p
    # the bins without counts each hold shrink/K after shrinking
    empty = shrink * target
    rest = np.where((bins > stored) & (empty > 0),
                    -(bins - stored) * empty * np.log(np.where(empty > 0, empty, 1.0)),
                    0.0)
    return _sums(-shrunk * np.log(shrunk), rows, n_rows) + rest
