"""Tests of entropy, KL divergence and cross entropy from logits (issue 5).

References: scipy.special.log_softmax for ordinary input, mpmath (exact
conversion of the float inputs, 50 digits) for hard cases, central finite
differences for the gradient. Never the code under test.
"""
import math

import mpmath
import numpy as np
import pytest
from numpy.exceptions import AxisError
from scipy.special import log_softmax, softmax

import histentropy
from histentropy import (
    cross_entropy_from_logits,
    entropy_from_logits,
    kl_divergence_from_logits,
)

INF = math.inf
# Row lengths around the SIMD width (8, 16) and the kernel's block (1024).
LENGTHS = [1, 2, 7, 8, 9, 15, 16, 17, 100, 1023, 1024, 1025, 2500]


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------
# Independent references
# ---------------------------------------------------------------------------

def ref_log_softmax(x, axis=-1):
    return log_softmax(np.asarray(x, dtype=np.float64), axis=axis)


def ref_entropy(x, axis=-1):
    ls = ref_log_softmax(x, axis)
    p = np.exp(ls)
    return -np.sum(np.where(p > 0, p * ls, 0.0), axis=axis)


def ref_kl(a, b, axis=-1):
    la, lb = ref_log_softmax(a, axis), ref_log_softmax(b, axis)
    p = np.exp(la)
    return np.sum(np.where(p > 0, p * (la - lb), 0.0), axis=axis)


def ref_cross_entropy(x, target_dist, weight=None):
    """-sum_c w_c t_c log p_c along the last axis (t a distribution)."""
    ls = ref_log_softmax(x)
    w = np.ones(x.shape[-1]) if weight is None else np.asarray(weight, float)
    return -np.sum(np.where(target_dist > 0, w * target_dist * ls, 0.0), axis=-1)


def one_hot(y, k):
    return np.eye(k)[y]


mpmath.mp.dps = 50


def mp_log_softmax(row):
    vals = [mpmath.mpf(float(v)) if v != -INF else None for v in row]
    finite = [v for v in vals if v is not None]
    m = max(finite)
    # Relative to the maximum: -1e300 + log(77) would lose log(77).
    log_sum = mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in finite))
    return [None if v is None else (v - m) - log_sum for v in vals]


def mp_entropy(row):
    ls = mp_log_softmax(row)
    return float(-mpmath.fsum(mpmath.exp(v) * v for v in ls if v is not None))


def mp_cross_entropy_hard(row, y):
    ls = mp_log_softmax(row)
    return INF if ls[y] is None else float(-ls[y])


def mp_kl(a, b):
    la, lb = mp_log_softmax(a), mp_log_softmax(b)
    total = mpmath.mpf(0)
    for u, v in zip(la, lb):
        if u is None:
            continue
        if v is None:
            return INF
        total += mpmath.exp(u) * (u - v)
    return float(total)


# ---------------------------------------------------------------------------
# Ordinary input against scipy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("k", LENGTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_entropy_matches_scipy(k, dtype):
    x = (rng(k).standard_normal((5, k)) * 3).astype(dtype)
    got = entropy_from_logits(x)
    assert got.dtype == np.float64 and got.shape == (5,)
    np.testing.assert_allclose(got, ref_entropy(x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("k", LENGTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kl_matches_scipy(k, dtype):
    g = rng(k + 1)
    a = (g.standard_normal((4, k)) * 2).astype(dtype)
    b = (g.standard_normal((4, k)) * 2).astype(dtype)
    got = kl_divergence_from_logits(a, b)
    np.testing.assert_allclose(got, ref_kl(a, b), rtol=1e-12, atol=1e-14)
    assert np.all(got >= 0)


@pytest.mark.parametrize("k", LENGTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_hard_matches_scipy(k, dtype):
    g = rng(k + 2)
    x = (g.standard_normal((6, k)) * 4).astype(dtype)
    y = g.integers(0, k, 6)
    got = cross_entropy_from_logits(x, y)
    ref = -ref_log_softmax(x)[np.arange(6), y]
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)


def test_rows_with_many_new_maxima():
    # Ascending rows move the running maximum in every block; shuffled and
    # descending rows exercise the other merge direction.
    x = np.linspace(-30.0, 30.0, 5000)
    g = rng(3)
    rows = np.stack([x, x[::-1], g.permutation(x)])
    np.testing.assert_allclose(entropy_from_logits(rows), ref_entropy(rows),
                               rtol=1e-13)
    y = np.array([0, 17, 4999])
    np.testing.assert_allclose(cross_entropy_from_logits(rows, y),
                               -ref_log_softmax(rows)[np.arange(3), y], rtol=1e-13)
    np.testing.assert_allclose(kl_divergence_from_logits(rows, rows[::-1]),
                               ref_kl(rows, rows[::-1]), rtol=1e-12)


LAYOUTS = ["contiguous", "strided", "fortran", "readonly", "byteswapped",
           "negative"]


def make_layout(x, layout):
    if layout == "strided":
        big = np.zeros((x.shape[0], 2 * x.shape[1]), dtype=x.dtype)
        big[:, ::2] = x
        return big[:, ::2]
    if layout == "fortran":
        return np.asfortranarray(x)
    if layout == "readonly":
        y = x.copy()
        y.flags.writeable = False
        return y
    if layout == "byteswapped":
        return x.astype(x.dtype.newbyteorder())
    if layout == "negative":
        return x[:, ::-1].copy()[:, ::-1]
    return np.ascontiguousarray(x)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts(layout, dtype):
    g = rng(4)
    base = (g.standard_normal((7, 1500)) * 3).astype(dtype)
    other = (g.standard_normal((7, 1500)) * 3).astype(dtype)
    x = make_layout(base, layout)
    before = x.copy()
    y = g.integers(0, 1500, 7)
    np.testing.assert_allclose(entropy_from_logits(x), ref_entropy(base), rtol=1e-13)
    np.testing.assert_allclose(kl_divergence_from_logits(x, other),
                               ref_kl(base, other), rtol=1e-12)
    np.testing.assert_allclose(cross_entropy_from_logits(x, y),
                               -ref_log_softmax(base)[np.arange(7), y], rtol=1e-13)
    np.testing.assert_array_equal(x, before)  # input not modified


def test_axis_keepdims_and_none():
    g = rng(5)
    x = g.standard_normal((3, 4, 5, 6))
    for axis in range(-4, 4):
        np.testing.assert_allclose(entropy_from_logits(x, axis=axis),
                                   ref_entropy(x, axis=axis), rtol=1e-13)
        got = entropy_from_logits(x, axis=axis, keepdims=True)
        assert got.shape == tuple(1 if i == axis % 4 else n
                                  for i, n in enumerate(x.shape))
    q = g.standard_normal((3, 4, 5, 6))
    np.testing.assert_allclose(kl_divergence_from_logits(x, q, axis=1),
                               ref_kl(x, q, axis=1), rtol=1e-12)
    flat = entropy_from_logits(x, axis=None)
    assert np.ndim(flat) == 0
    np.testing.assert_allclose(flat, ref_entropy(x.ravel()), rtol=1e-13)
    assert entropy_from_logits(x, axis=None, keepdims=True).shape == (1, 1, 1, 1)
    np.testing.assert_allclose(kl_divergence_from_logits(x, q, axis=None),
                               ref_kl(x.ravel(), q.ravel()), rtol=1e-12)


def test_kl_broadcasts():
    g = rng(6)
    a = g.standard_normal((5, 1, 8))
    b = g.standard_normal((3, 8))
    got = kl_divergence_from_logits(a, b)
    assert got.shape == (5, 3)
    np.testing.assert_allclose(got, ref_kl(*np.broadcast_arrays(a, b)), rtol=1e-12)


def test_cross_entropy_axis_and_shapes():
    g = rng(7)
    x = g.standard_normal((4, 10, 3))  # classes on axis 1
    y = g.integers(0, 10, (4, 3))
    got = cross_entropy_from_logits(x, y, axis=1)
    ls = ref_log_softmax(x, axis=1)
    ref = -np.take_along_axis(ls, y[:, None, :], axis=1)[:, 0, :]
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    # 1-D logits with a scalar label give a scalar.
    one = cross_entropy_from_logits(x[0, :, 0], y[0, 0])
    assert np.ndim(one) == 0
    np.testing.assert_allclose(one, ref[0, 0], rtol=1e-13)
    # Higher rank (copy path above 3-D) with soft labels.
    x5 = g.standard_normal((2, 3, 2, 2, 5))
    t5 = g.random((2, 3, 2, 2, 5))
    got5 = cross_entropy_from_logits(x5, t5, axis=2)
    t_norm = t5 / t5.sum(axis=2, keepdims=True)
    ref5 = -np.sum(t_norm * ref_log_softmax(x5, axis=2), axis=2)
    np.testing.assert_allclose(got5, ref5, rtol=1e-13)


# ---------------------------------------------------------------------------
# Options of the loss: reductions, weights, smoothing, ignore_index, soft
# ---------------------------------------------------------------------------

def test_weight_smoothing_ignore_reductions():
    g = rng(8)
    n, k = 40, 13
    x = g.standard_normal((n, k)) * 2
    y = g.integers(0, k, n)
    y[::7] = -100
    w = g.random(k) + 0.1
    s = 0.2
    kept = y != -100
    t = (1 - s) * one_hot(np.where(kept, y, 0), k) + s / k
    per = np.where(kept, ref_cross_entropy(x, t, w), 0.0)
    # PyTorch: loss_n = -sum_c w_c t_c log p_c; mean divides by sum w[y_n].
    none = cross_entropy_from_logits(x, y, weight=w, label_smoothing=s,
                                     ignore_index=-100)
    np.testing.assert_allclose(none, per, rtol=1e-13, atol=1e-15)
    total = cross_entropy_from_logits(x, y, weight=w, label_smoothing=s,
                                      ignore_index=-100, reduction="sum")
    np.testing.assert_allclose(total, per.sum(), rtol=1e-13)
    mean = cross_entropy_from_logits(x, y, weight=w, label_smoothing=s,
                                     ignore_index=-100, reduction="mean")
    np.testing.assert_allclose(mean, per.sum() / w[y[kept]].sum(), rtol=1e-13)
    unweighted = cross_entropy_from_logits(x, y, ignore_index=-100,
                                           reduction="mean")
    ref = -ref_log_softmax(x)[kept.nonzero()[0], y[kept]]
    np.testing.assert_allclose(unweighted, ref.mean(), rtol=1e-13)
    assert isinstance(mean, np.float64)


def test_ignore_index_inside_class_range_and_all_ignored():
    x = rng(9).standard_normal((4, 3))
    y = np.array([0, 1, 2, 1])
    got = cross_entropy_from_logits(x, y, ignore_index=1)
    assert got[1] == 0 and got[3] == 0
    ref = -ref_log_softmax(x)[[0, 2], [0, 2]]
    np.testing.assert_allclose(got[[0, 2]], ref, rtol=1e-13)
    everything = cross_entropy_from_logits(x, np.full(4, 1), ignore_index=1,
                                           reduction="mean")
    assert np.isnan(everything)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_soft_labels(dtype):
    g = rng(10)
    x = g.standard_normal((9, 11)) * 3
    t = (g.random((9, 11)) * 5).astype(dtype)
    t[0, :5] = 0
    w = g.random(11)
    for s in (0.0, 0.3):
        t64 = t.astype(np.float64)
        dist = (1 - s) * t64 / t64.sum(-1, keepdims=True) + s / 11
        got = cross_entropy_from_logits(x, t, label_smoothing=s, weight=w)
        np.testing.assert_allclose(got, ref_cross_entropy(x, dist, w), rtol=1e-13)
        mean = cross_entropy_from_logits(x, t, label_smoothing=s, reduction="mean")
        np.testing.assert_allclose(mean, ref_cross_entropy(x, dist).mean(),
                                   rtol=1e-13)


def test_soft_one_hot_equals_hard():
    g = rng(11)
    x = g.standard_normal((6, 2000)).astype(np.float32)
    y = g.integers(0, 2000, 6)
    for s in (0.0, 0.1):
        hard = cross_entropy_from_logits(x, y, label_smoothing=s)
        soft = cross_entropy_from_logits(x, one_hot(y, 2000), label_smoothing=s)
        np.testing.assert_allclose(hard, soft, rtol=1e-13)


def test_base():
    x = rng(12).standard_normal((3, 5))
    y = np.array([0, 1, 4])
    np.testing.assert_allclose(entropy_from_logits(x, base=2),
                               ref_entropy(x) / math.log(2), rtol=1e-13)
    np.testing.assert_allclose(cross_entropy_from_logits(x, y, base=10),
                               -ref_log_softmax(x)[np.arange(3), y] / math.log(10),
                               rtol=1e-13)
    np.testing.assert_allclose(kl_divergence_from_logits(x, x[::-1], base=2),
                               ref_kl(x, x[::-1]) / math.log(2), rtol=1e-12)


def test_identity_cross_entropy_is_entropy_plus_kl():
    # cross_entropy_from_logits(l, softmax(m)) == H(m) + KL(m || l)
    g = rng(13)
    for k in (3, 64, 1500):
        m = g.standard_normal((5, k)) * 3
        l = g.standard_normal((5, k)) * 3
        lhs = cross_entropy_from_logits(l, softmax(m, axis=-1))
        rhs = entropy_from_logits(m) + kl_divergence_from_logits(m, l)
        np.testing.assert_allclose(lhs, rhs, rtol=1e-13)


# ---------------------------------------------------------------------------
# Hard cases against mpmath
# ---------------------------------------------------------------------------

HARD_ROWS = {
    "spread 1e4": [0.0, -1e4, 5e3, -3e3, 1e4, 9999.5, -0.5],
    "all equal": [3.25] * 1000,
    "single finite among -inf": [-INF] * 40 + [7.5] + [-INF] * 1200,
    "huge": [1e300, -1e300, 1e300 * (1 - 2**-50), 0.0],
    "near deterministic": [0.0, -40.0, -45.0, -700.0],
    "ties and a runner-up": [2.0, 2.0, 2.0 - 2**-40, -INF, 1.0],
    "tiny differences": [1.0 + i * 2**-52 for i in range(50)],
    "extreme": [1.7e308, -1.7e308, 1e308, 0.0, -INF],
    "all -1e300": [-1e300] * 77,
}


@pytest.mark.parametrize("name", list(HARD_ROWS))
def test_hard_entropy(name):
    row = HARD_ROWS[name]
    got = entropy_from_logits(np.array(row))
    ref = mp_entropy(row)
    assert got >= 0
    assert got == pytest.approx(ref, rel=1e-13, abs=1e-300)


@pytest.mark.parametrize("name", list(HARD_ROWS))
def test_hard_cross_entropy(name):
    row = np.array(HARD_ROWS[name])
    for y in range(0, len(row), max(1, len(row) // 5)):
        got = cross_entropy_from_logits(row, y)
        ref = mp_cross_entropy_hard(row, y)
        assert got >= 0
        assert got == pytest.approx(ref, rel=1e-13, abs=1e-300)


@pytest.mark.parametrize("name", list(HARD_ROWS))
def test_hard_kl(name):
    row = np.array(HARD_ROWS[name])
    other = row[::-1].copy()
    got = kl_divergence_from_logits(row, other)
    ref = mp_kl(row, other)
    assert got >= 0
    # C has terms of both signs: absolute error a few ulp of the terms.
    scale = max(1.0, float(np.max(np.abs(row[np.isfinite(row)]))))
    assert got == pytest.approx(ref, rel=1e-12, abs=1e-14 * scale)


def test_near_deterministic_keeps_digits():
    # log(1 + 1e-30) rounds to 0 in a naive log-sum-exp; the loss is 1e-30.
    row = np.array([0.0, -69.0776])
    got = cross_entropy_from_logits(row, 0)
    assert got == pytest.approx(mp_cross_entropy_hard(row, 0), rel=1e-14)
    assert 0 < got < 1e-29
    h = entropy_from_logits(row)
    assert h == pytest.approx(mp_entropy(row), rel=1e-14)


def test_float16_input():
    g = rng(14)
    x16 = (g.standard_normal((3, 50)) * 4).astype(np.float16)
    y = np.array([0, 7, 49])
    got = cross_entropy_from_logits(x16, y)
    for i in range(3):
        assert got[i] == pytest.approx(mp_cross_entropy_hard(x16[i], y[i]), rel=1e-13)
    h = entropy_from_logits(x16)
    for i in range(3):
        assert h[i] == pytest.approx(mp_entropy(x16[i]), rel=1e-13)
    loss, grad = cross_entropy_from_logits(x16, y, return_grad=True)
    assert grad.dtype == np.float16


def test_single_finite_logit_is_exact():
    row = np.full(3000, -INF)
    row[1234] = -5.0
    assert entropy_from_logits(row) == 0.0
    assert cross_entropy_from_logits(row, 1234) == 0.0
    assert cross_entropy_from_logits(row, 0) == INF
    assert kl_divergence_from_logits(row, row) == 0.0


def test_minus_inf_pairs():
    a = np.array([0.0, -INF, 1.0, -INF])
    b = np.array([0.5, -INF, -1.0, 2.0])
    # -inf in both contributes 0, -inf only in p contributes 0.
    assert kl_divergence_from_logits(a, b) == pytest.approx(mp_kl(a, b), rel=1e-14)
    # p > 0 where q = 0: +inf.
    assert kl_divergence_from_logits(b, a) == INF
    # Soft target with zero weight on a -inf logit: 0, not NaN.
    t = np.array([1.0, 0.0, 1.0, 0.0])
    got = cross_entropy_from_logits(a, t)
    ref = ref_cross_entropy(np.array([0.0, -1e308, 1.0, -1e308]), t / 2)
    assert got == pytest.approx(ref, rel=1e-14)
    # Mass on a -inf logit (soft target or smoothing): +inf.
    assert cross_entropy_from_logits(a, np.ones(4)) == INF
    assert cross_entropy_from_logits(a, 0, label_smoothing=0.1) == INF


def test_no_finite_logit_gives_nan():
    x = np.full((2, 5), -INF)
    x[1, 2] = 0.0
    h = entropy_from_logits(x)
    assert np.isnan(h[0]) and h[1] == 0.0
    assert np.isnan(kl_divergence_from_logits(x[0], x[1]))
    assert np.isnan(cross_entropy_from_logits(x[0], 1))
    assert np.isnan(entropy_from_logits(np.empty((3, 0)))).all()
    assert np.isnan(cross_entropy_from_logits(np.ones(3), np.zeros(3)))


# ---------------------------------------------------------------------------
# Gradient
# ---------------------------------------------------------------------------

def finite_difference(f, x, h=1e-6):
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


GRAD_CASES = {
    "hard": dict(),
    "weighted smoothed ignored": dict(weight=[0.5, 2.0, 1.0, 0.0, 3.0],
                                      label_smoothing=0.15, ignore_index=1),
    "soft": dict(soft=True),
    "soft weighted smoothed": dict(soft=True, weight=[0.5, 2.0, 1.0, 0.2, 3.0],
                                   label_smoothing=0.3),
}


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_gradient_finite_difference(case, reduction):
    opts = dict(GRAD_CASES[case])
    g = rng(15)
    x = g.standard_normal((4, 5)) * 2
    target = g.random((4, 5)) if opts.pop("soft", False) else np.array([0, 1, 4, 3])
    opts["base"] = 2

    def total(z):
        out = cross_entropy_from_logits(z, target, reduction=reduction, **opts)
        return float(np.sum(out))

    loss, grad = cross_entropy_from_logits(x, target, reduction=reduction,
                                           return_grad=True, **opts)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(np.sum(loss), total(x), rtol=1e-15)
    np.testing.assert_allclose(grad, finite_difference(total, x), rtol=1e-6,
                               atol=1e-8)


@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_is_softmax_minus_one_hot(dtype, strided):
    g = rng(16)
    x = (g.standard_normal((3, 2100)) * 3).astype(dtype)
    y = np.array([5, 2099, 1024])
    if strided:
        xt = np.ascontiguousarray(x.T)  # classes on axis 0, strided rows
        loss, grad = cross_entropy_from_logits(xt, y, axis=0, return_grad=True,
                                               reduction="mean")
        assert grad.shape == xt.shape
        grad = grad.T
    else:
        loss, grad = cross_entropy_from_logits(x, y, return_grad=True,
                                               reduction="mean")
    assert grad.dtype == dtype
    ref = (softmax(x.astype(np.float64), axis=-1) - one_hot(y, 2100)) / 3
    # Each element is formed in float64 and rounded once to the dtype.
    tol = 6e-8 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(grad, ref, rtol=tol, atol=1e-30)


def test_gradient_ignored_rows_are_zero():
    x = rng(17).standard_normal((3, 4))
    _, grad = cross_entropy_from_logits(x, [0, -1, 2], ignore_index=-1,
                                        return_grad=True)
    assert np.all(grad[1] == 0)
    assert np.all(grad[0] != 0)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_posinf_logits_raise(dtype):
    for bad, what in ((np.nan, "NaN"), (INF, r"\+inf")):
        for k in (5, 3000):
            x = np.zeros((2, k), dtype=dtype)
            x[1, k // 2] = bad
            with pytest.raises(ValueError, match=f"logits must not contain {what}"):
                entropy_from_logits(x)
            with pytest.raises(ValueError, match=f"logits must not contain {what}"):
                cross_entropy_from_logits(x, [0, 1])
            with pytest.raises(ValueError, match=f"logits must not contain {what}"):
                cross_entropy_from_logits(x, np.ones_like(x))
            with pytest.raises(ValueError, match=f"logits_p must not contain {what}"):
                kl_divergence_from_logits(x, np.zeros_like(x))
            with pytest.raises(ValueError, match=f"logits_q must not contain {what}"):
                kl_divergence_from_logits(np.zeros_like(x), x)
    # NaN hidden in a row of -inf (a block without a finite maximum).
    x = np.full(10, -INF, dtype=dtype)
    x[3] = np.nan
    with pytest.raises(ValueError, match="logits must not contain NaN"):
        entropy_from_logits(x)


def test_bad_logits_type():
    for bad in (np.array([1 + 2j, 0j]), np.array([True, False]),
                np.array(["a", "b"]), np.array([None, 1.0], dtype=object)):
        with pytest.raises(TypeError, match="logits must be a real floating-point"):
            entropy_from_logits(bad)
    with pytest.raises(TypeError, match="logits_q must be a real floating-point"):
        kl_divergence_from_logits([0.0], [1j])


def test_integer_logits_are_converted():
    np.testing.assert_allclose(entropy_from_logits([1, 2, 3]),
                               ref_entropy([1.0, 2.0, 3.0]), rtol=1e-14)


def test_class_index_out_of_range():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"class index 4 outside \[0, 4\)"):
        cross_entropy_from_logits(x, [0, 4, 1])
    with pytest.raises(ValueError, match=r"class index -1 outside \[0, 4\) or "
                                         r"ignore_index=-100"):
        cross_entropy_from_logits(x, [0, -1, 1], ignore_index=-100)
    with pytest.raises(ValueError, match="class index 7"):
        cross_entropy_from_logits(x, np.array([0, 7, 1], dtype=np.uint8),
                                  ignore_index=-100)


def test_bad_target():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"class indices must have shape \(3,\)"):
        cross_entropy_from_logits(x, [0, 1])
    with pytest.raises(ValueError, match="soft labels must have the shape of logits"):
        cross_entropy_from_logits(x, np.ones((3, 5)))
    with pytest.raises(ValueError, match="class indices must be integers"):
        cross_entropy_from_logits(x, [0.0, 1.0, 2.0])
    with pytest.raises(TypeError, match="target must hold integer class indices"):
        cross_entropy_from_logits(x, np.array(["a", "b", "c"]))
    for bad, what in ((-1.0, "negative"), (np.nan, "NaN"), (INF, "infinite")):
        t = np.ones((3, 4))
        t[2, 1] = bad
        with pytest.raises(ValueError, match=f"non-negative finite weights; got .*{what}"):
            cross_entropy_from_logits(x, t)
    with pytest.raises(ValueError, match="ignore_index applies to integer class"):
        cross_entropy_from_logits(x, np.ones((3, 4)), ignore_index=0)


def test_bad_options():
    x = np.zeros((3, 4))
    y = [0, 1, 2]
    with pytest.raises(ValueError, match="reduction must be one of"):
        cross_entropy_from_logits(x, y, reduction="avg")
    for s in (-0.1, 1.0, True, "0.1", np.nan):
        with pytest.raises(ValueError, match=r"label_smoothing must be a number in \[0, 1\)"):
            cross_entropy_from_logits(x, y, label_smoothing=s)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        cross_entropy_from_logits(x, y, weight=[1.0, 2.0])
    for w in ([1.0, -1.0, 1.0, 1.0], [1.0, np.nan, 1.0, 1.0], [INF, 1, 1, 1]):
        with pytest.raises(ValueError, match="weight must hold non-negative finite"):
            cross_entropy_from_logits(x, y, weight=w)
    with pytest.raises(TypeError, match="weight must hold real class weights"):
        cross_entropy_from_logits(x, y, weight=np.ones(4) * 1j)
    with pytest.raises(TypeError, match="ignore_index must be None or an integer"):
        cross_entropy_from_logits(x, y, ignore_index=1.5)
    with pytest.raises(TypeError, match="return_grad must be True or False"):
        cross_entropy_from_logits(x, y, return_grad="yes")
    with pytest.raises(TypeError, match="axis must be an integer"):
        cross_entropy_from_logits(x, y, axis=None)
    with pytest.raises(AxisError):
        cross_entropy_from_logits(x, y, axis=2)
    with pytest.raises(AxisError):
        entropy_from_logits(x, axis=-3)
    with pytest.raises(TypeError, match="axis must be an integer or None"):
        entropy_from_logits(x, axis=1.0)
    for base in (1, 0, -2, INF, "e"):
        with pytest.raises(ValueError, match="base must be None or a positive"):
            entropy_from_logits(x, base=base)


def test_kl_shape_errors():
    with pytest.raises(ValueError, match="broadcastable shapes"):
        kl_divergence_from_logits(np.zeros((2, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="same length along axis 1"):
        kl_divergence_from_logits(np.zeros((2, 3)), np.zeros((2, 1)))


def test_public_names():
    for name in ("entropy_from_logits", "kl_divergence_from_logits",
                 "cross_entropy_from_logits"):
        assert name in histentropy.__all__


def test_workers_do_not_change_results():
    g = rng(18)
    x = (g.standard_normal((37, 3, 1100)) * 3).astype(np.float32)
    y = g.integers(0, 1100, (37, 3))
    t = g.random((37, 3, 1100))
    for workers in (2, -1):
        np.testing.assert_array_equal(entropy_from_logits(x, workers=workers),
                                      entropy_from_logits(x, workers=1))
        np.testing.assert_array_equal(
            kl_divergence_from_logits(x, x[::-1], workers=workers),
            kl_divergence_from_logits(x, x[::-1], workers=1))
        for target in (y, t):
            one = cross_entropy_from_logits(x, target, return_grad=True,
                                            label_smoothing=0.1, workers=1)
            many = cross_entropy_from_logits(x, target, return_grad=True,
                                             label_smoothing=0.1, workers=workers)
            np.testing.assert_array_equal(one[0], many[0])
            np.testing.assert_array_equal(one[1], many[1])
    with pytest.raises(ValueError, match="workers must be None, -1 or a positive"):
        entropy_from_logits(x, workers=0)
    with pytest.raises(TypeError, match="workers must be None or an integer"):
        cross_entropy_from_logits(x, y, workers=1.5)


from hypothesis import given, settings, strategies as st  # noqa: E402

_logit = st.one_of(st.floats(-60.0, 60.0), st.just(-INF))


@settings(max_examples=150, deadline=None)
@given(a=st.lists(_logit, min_size=1, max_size=40),
       data=st.data())
def test_properties(a, data):
    a = np.array(a)
    b = np.array(data.draw(st.lists(_logit, min_size=len(a), max_size=len(a))))
    if not np.isfinite(a).any() or not np.isfinite(b).any():
        return
    k = len(a)
    h = entropy_from_logits(a)
    assert 0.0 <= h <= math.log(k) * (1 + 1e-15)
    kl = kl_divergence_from_logits(a, b)
    assert kl >= 0.0
    ce = cross_entropy_from_logits(b, softmax(np.where(np.isfinite(a), a, -1e308)))
    assert ce >= 0.0
    if np.isfinite(kl):
        assert ce == pytest.approx(h + kl, rel=1e-12, abs=1e-12)
    else:
        assert ce == INF


def test_empty_inputs():
    assert entropy_from_logits(np.empty((0, 5))).shape == (0,)
    assert cross_entropy_from_logits(np.empty((0, 5)), np.empty(0, int)).shape == (0,)
    assert np.isnan(cross_entropy_from_logits(np.empty((0, 5)), np.empty(0, int),
                                              reduction="mean"))
    assert cross_entropy_from_logits(np.empty((0, 5)), np.empty(0, int),
                                     reduction="sum") == 0.0
    loss, grad = cross_entropy_from_logits(np.empty((2, 0)), [-1, -1],
                                           ignore_index=-1, return_grad=True)
    assert list(loss) == [0.0, 0.0] and grad.shape == (2, 0)
    assert kl_divergence_from_logits(np.empty((0, 3)), np.empty((0, 3))).shape == (0,)


_PATH_SCRIPT = """
import numpy as np
from scipy.special import log_softmax
import histentropy
from histentropy import _logits
g = np.random.default_rng(19)
out = {"path": _logits.simd_path()}
for k in (3, 9, 1500):
    for dtype in (np.float32, np.float64):
        x = (g.standard_normal((4, k)) * 5).astype(dtype)
        x[0, 1] = -np.inf
        b = g.standard_normal((4, k))
        y = np.arange(4) % k
        ls = log_softmax(x.astype(float), axis=-1)
        lb = log_softmax(b, axis=-1)
        p = np.exp(ls)
        errs = [
            histentropy.entropy_from_logits(x) + np.sum(np.where(p > 0, p * ls, 0), -1),
            histentropy.cross_entropy_from_logits(x, y) + ls[np.arange(4), y],
            histentropy.kl_divergence_from_logits(x.astype(float), b)
            - np.sum(np.where(p > 0, p * (ls - lb), 0), -1),
        ]
        out[f"{k} {np.dtype(dtype).name}"] = max(float(np.max(np.abs(e))) for e in errs)
        grad = histentropy.cross_entropy_from_logits(x, y, return_grad=True)[1]
        # relative to the float32 rounding of the exact gradient
        scale = np.finfo(dtype).eps
        out[f"{k} {np.dtype(dtype).name} grad"] = float(
            np.max(np.abs(grad - (p - np.eye(k)[y]))) / scale)
print(repr(out))
"""


# Paths slowest first, as dispatch.h names them; "sse42" is an accepted alias.
_PATHS = ("generic", "sse4.2", "avx2", "avx512")


@pytest.mark.parametrize("cpu", ["avx512", "avx2", "sse4.2", "sse42", "generic"])
def test_every_instruction_set_path(cpu):
    # The path is chosen once per process: run each in a fresh interpreter.
    import ast
    import os
    import subprocess
    import sys
    env = dict(os.environ, HISTENTROPY_CPU=cpu)
    res = subprocess.run([sys.executable, "-c", _PATH_SCRIPT], env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = ast.literal_eval(res.stdout.strip().splitlines()[-1])
    path = out.pop("path")
    requested = "sse4.2" if cpu == "sse42" else cpu
    # The requested path, or a slower one where the CPU lacks it.
    assert path in _PATHS[:_PATHS.index(requested) + 1], (cpu, path)
    for case, err in out.items():
        tol = 4.0 if "grad" in case else 1e-12  # grad: in eps of its dtype
        assert err < tol, (case, err)


def test_no_temporaries_the_size_of_the_input():
    import tracemalloc
    g = rng(20)
    x = g.standard_normal((2000, 600)).astype(np.float32)
    b = g.standard_normal((2000, 600)).astype(np.float32)
    t = g.random((2000, 600))
    y = g.integers(0, 600, 2000)
    w = g.random(600)
    calls = [
        lambda: entropy_from_logits(x),
        lambda: entropy_from_logits(x.T, axis=0),
        lambda: kl_divergence_from_logits(x, b),
        lambda: cross_entropy_from_logits(x, y, weight=w, label_smoothing=0.1,
                                          reduction="mean"),
        lambda: cross_entropy_from_logits(x, t, reduction="sum"),
    ]
    for call in calls:
        call()  # warm up (imports, caches)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < x.nbytes / 20, peak
