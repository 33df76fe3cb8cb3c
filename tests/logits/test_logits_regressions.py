"""Regression tests of the logits functions: labels beyond int64, empty
shapes, arguments beyond the float range, the base, float16 gradients.

References: scipy.special.log_softmax / softmax and mpmath (exact conversion
of the float inputs, 50 digits); result shapes against the dense
`histentropy.entropy`. Never the code under test.
"""
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from scipy.special import log_softmax, softmax

import histentropy
from histentropy import (
    _logits,
    _logits_api,
    cross_entropy_from_logits,
    entropy_from_logits,
    kl_divergence_from_logits,
)

INF = math.inf
L = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])


# ---------------------------------------------------------------------------
# 1. Labels are compared and range-checked in their own dtype
# ---------------------------------------------------------------------------

def test_uint64_label_equal_to_ignore_index_is_ignored():
    y = np.array([0, 2**64 - 1], np.uint64)
    ref = -log_softmax(L, axis=-1)[0, 0]
    got = cross_entropy_from_logits(L, y, ignore_index=2**64 - 1)
    np.testing.assert_allclose(got, [ref, 0.0], rtol=1e-14)
    assert got[1] == 0.0
    mean = cross_entropy_from_logits(L, y, ignore_index=2**64 - 1, reduction="mean")
    assert mean == pytest.approx(ref, rel=1e-14)
    loss, grad = cross_entropy_from_logits(L, y, ignore_index=2**64 - 1,
                                           return_grad=True)
    np.testing.assert_allclose(grad[0], softmax(L[0]) - np.eye(3)[0], rtol=1e-14)
    assert np.all(grad[1] == 0.0)


def test_uint64_label_beyond_int64_never_indexes():
    y = np.array([2**64 - 2**40], np.uint64)
    loss, grad = cross_entropy_from_logits(np.zeros((1, 3)), y,
                                           ignore_index=2**64 - 2**40,
                                           return_grad=True)
    assert loss.tolist() == [0.0] and grad.tolist() == [[0.0, 0.0, 0.0]]
    for label in (2**64 - 2**40, 2**63, 2**64 - 1):
        with pytest.raises(ValueError, match=f"target holds class index {label} "
                                             r"outside \[0, 3\)"):
            cross_entropy_from_logits(np.zeros((1, 3)), np.array([label], np.uint64))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16,
                                   np.int32, np.uint32, np.int64, np.uint64])
def test_labels_are_not_wrapped_before_the_checks(dtype):
    info = np.iinfo(dtype)
    for big in {int(info.max), int(info.min)} - {0}:
        y = np.array([1, big], dtype)
        with pytest.raises(ValueError, match=f"target holds class index {big}"):
            cross_entropy_from_logits(L, y)
        got = cross_entropy_from_logits(L, y, ignore_index=big)
        np.testing.assert_allclose(got, [-log_softmax(L[0])[1], 0.0], rtol=1e-14)
        # Equal to ignore_index only after a wrap to int64 or to the dtype:
        # neither ignored nor used as an index.
        for alias in (big - 2**64, big + 2**64, big - 2**info.bits, big + 2**info.bits):
            with pytest.raises(ValueError, match="target holds class index"):
                cross_entropy_from_logits(L, y, ignore_index=alias)
    # A label of the dtype's maximum is not an ignore_index out of its range.
    with pytest.raises(ValueError, match="target holds class index"):
        cross_entropy_from_logits(L, np.array([1, int(info.max)], dtype),
                                  ignore_index=int(info.max) + 1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_flags_any_label_and_reads_nothing_with_it(dtype, weighted):
    # The driver, called past the Python checks, with labels no check let
    # through: each row gets NaN (loss and gradient) and TARGET_RANGE.
    k = 5
    x = np.zeros((1, 6, k), dtype)
    labels = np.array([[-1, k, -(2**40), 2**62, -(2**63), 2**63 - 1]], np.int64)
    w = np.linspace(1.0, 2.0, k) if weighted else None
    v_total = float(np.sum(w)) if weighted else float(k)
    for eps in (0.0, 0.1):
        grad = np.zeros((1, 6, k), dtype)
        loss, flags = _logits.cross_entropy_hard(
            x, labels, w, v_total, eps, True, -7, True, grad, 1.0, 1)
        assert flags & _logits.TARGET_RANGE
        assert np.isnan(loss).all() and np.isnan(grad).all()
    # Mixed with valid rows, which keep their values.
    good = np.array([[0, -1, 4, k]], np.int64)
    grad = np.zeros((1, 4, k), dtype)
    loss, flags = _logits.cross_entropy_hard(
        np.zeros((1, 4, k), dtype), good, w, v_total, 0.0, True, -1, True, grad,
        1.0, 1)
    assert flags == _logits.TARGET_RANGE
    assert loss[0, 1] == 0.0 and np.all(grad[0, 1] == 0.0)  # ignored
    assert np.isnan(loss[0, 3]) and np.isnan(grad[0, 3]).all()
    vy = w[[0, 4]] if weighted else np.ones(2)
    np.testing.assert_allclose(loss[0, [0, 2]], vy * math.log(k), rtol=1e-6)


def test_target_range_flag_raises_naming_target():
    with pytest.raises(ValueError, match="^target holds a class index outside"):
        _logits_api._raise_for_flags(_logits.TARGET_RANGE, "logits")


# ---------------------------------------------------------------------------
# 2. Empty shapes: the shapes of the dense functions
# ---------------------------------------------------------------------------

EMPTY_SHAPES = [(2, 3, 0, 4), (2, 3, 4, 0), (0, 3, 4, 5), (2, 0, 3, 0, 5),
                (0, 0, 0, 0), (2, 3, 0), (2, 0), (0,)]


def _axes(ndim):
    return [None, *range(-ndim, ndim)]


@pytest.mark.parametrize("shape", EMPTY_SHAPES)
def test_empty_shapes_entropy_and_kl(shape):
    x = np.zeros(shape)
    for axis in _axes(len(shape)):
        for keepdims in (False, True):
            want = np.shape(histentropy.entropy(x, axis=axis, keepdims=keepdims))
            h = entropy_from_logits(x, axis=axis, keepdims=keepdims)
            kl = kl_divergence_from_logits(x, x, axis=axis, keepdims=keepdims)
            for got in (h, kl):
                assert np.shape(got) == want, (axis, keepdims)
                # An axis without classes holds no distribution: NaN.
                assert np.isnan(got).all()
    # Broadcast pairs of more than 3 dimensions.
    if len(shape) >= 2:
        other = np.zeros((1,) * len(shape[:-1]) + shape[-1:])
        got = kl_divergence_from_logits(x, other)
        assert got.shape == np.shape(histentropy.entropy(x))


@pytest.mark.parametrize("shape", [s for s in EMPTY_SHAPES if len(s) >= 2])
def test_empty_shapes_cross_entropy(shape):
    x = np.zeros(shape)
    for axis in range(-len(shape), len(shape)):
        sample_shape = np.shape(histentropy.entropy(x, axis=axis))
        k = shape[axis]
        n = math.prod(sample_shape)
        targets = [np.zeros(shape)]  # soft labels
        hard = np.full(sample_shape, -1, np.int64)  # every sample ignored
        for target, opts in ((targets[0], {}), (hard, {"ignore_index": -1})):
            if k:
                opts = dict(opts, weight=np.ones(k), label_smoothing=0.1)
            none, grad = cross_entropy_from_logits(x, target, axis=axis,
                                                   return_grad=True, **opts)
            assert none.shape == sample_shape and grad.shape == shape
            for reduction in ("sum", "mean"):
                got = cross_entropy_from_logits(x, target, axis=axis,
                                                reduction=reduction, **opts)
                assert np.ndim(got) == 0
                if n == 0:
                    assert (got == 0.0) if reduction == "sum" else np.isnan(got)


# ---------------------------------------------------------------------------
# 3. Arguments beyond the float range
# ---------------------------------------------------------------------------

def test_label_smoothing_beyond_float_range_is_value_error():
    for s in (10**400, -(10**400), Fraction(10**400), Fraction(-(10**400), 3)):
        with pytest.raises(ValueError, match=r"^label_smoothing must be a number"):
            cross_entropy_from_logits(L, [0, 1], label_smoothing=s)
    # Tiny exact fractions round to valid floats.
    got = cross_entropy_from_logits(L, [0, 1], label_smoothing=Fraction(1, 10**400))
    np.testing.assert_allclose(got, -log_softmax(L, axis=-1)[[0, 1], [0, 1]],
                               rtol=1e-14)


def _mp_loss(row, weight, target):
    """-sum_c w_c t_c log softmax(row)_c, exactly (t a distribution)."""
    vals = [mpmath.mpf(float(v)) for v in row]
    m = max(vals)
    log_sum = mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in vals))
    return -mpmath.fsum(mpmath.mpf(float(w)) * t * ((v - m) - log_sum)
                        for v, w, t in zip(vals, weight, target) if t != 0)


def _mp_grad(row, weight, target):
    """p T - w t, T = sum w t, exactly."""
    vals = [mpmath.mpf(float(v)) for v in row]
    m = max(vals)
    e = [mpmath.exp(v - m) for v in vals]
    s = mpmath.fsum(e)
    w = [mpmath.mpf(float(c)) for c in weight]
    total = mpmath.fsum(a * b for a, b in zip(w, target))
    return [ei / s * total - wi * ti for ei, wi, ti in zip(e, w, target)]


WEIGHT_CASES = {
    "two 1e308": [1e308, 1e308],
    "1e308 and 1": [1e308, 1.0],
    "max and tiny": [np.finfo(float).max, 3e-300],
}


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("case", list(WEIGHT_CASES))
def test_huge_class_weights(case, smoothing, soft):
    w = np.array(WEIGHT_CASES[case])
    x = np.array([[2.0, -1.0], [0.5, 0.25], [-3.0, 4.0], [0.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    t0 = (np.array([[1.0, 3.0], [2.0, 0.0], [1.0, 1.0], [0.0, 5.0]]) if soft
          else np.eye(2)[y])
    target = t0 if soft else y
    with mpmath.workdps(50):
        s = mpmath.mpf(smoothing)
        dist = [[mpmath.mpf(float(a)) / mpmath.mpf(float(sum(r))) * (1 - s) + s / 2
                 for a in r] for r in t0]
        per = [_mp_loss(x[i], w, dist[i]) for i in range(4)]
        grads = [_mp_grad(x[i], w, dist[i]) for i in range(4)]
        total = mpmath.fsum(per)
        denom = mpmath.mpf(4) if soft else mpmath.fsum(mpmath.mpf(w[c]) for c in y)
        refs = {"none": [float(v) for v in per], "sum": float(total),
                "mean": float(total / denom)}
        grad_refs = {"none": [[float(g) for g in r] for r in grads],
                     "sum": [[float(g) for g in r] for r in grads],
                     "mean": [[float(g / denom) for g in r] for r in grads]}
    for reduction in ("none", "sum", "mean"):
        loss, grad = cross_entropy_from_logits(
            x, target, weight=w, label_smoothing=smoothing, reduction=reduction,
            return_grad=True)
        ref = np.array(refs[reduction])
        # inf exactly where the true value overflows.
        np.testing.assert_array_equal(np.isinf(loss), np.isinf(ref))
        np.testing.assert_allclose(np.where(np.isinf(ref), 0, loss),
                                   np.where(np.isinf(ref), 0, ref), rtol=1e-13)
        np.testing.assert_allclose(grad, grad_refs[reduction], rtol=1e-13,
                                   atol=1e-300)
    if case == "two 1e308":  # a finite mean of finite weights
        assert np.isfinite(refs["mean"])


def test_huge_weights_mean_over_many_samples():
    # sum_n w[y_n] overflows float64 though every weight is finite.
    g = np.random.default_rng(0)
    x = g.standard_normal((1000, 3))
    y = g.integers(0, 3, 1000)
    w = np.array([1e308, 5e307, 1.5e308])
    got = cross_entropy_from_logits(x, y, weight=w, reduction="mean")
    per = -log_softmax(x, axis=-1)[np.arange(1000), y]
    # The same weighted mean with the weights scaled by 2**-1000 (exactly).
    scaled = np.ldexp(w[y], -1000)
    ref = math.fsum(scaled * per) / math.fsum(scaled)
    assert got == pytest.approx(ref, rel=1e-13)


# ---------------------------------------------------------------------------
# 4. base: finite and > 1 only
# ---------------------------------------------------------------------------

BAD_BASES = [0.5, 1, 1.0, 0, -2, INF, math.nan, 2**2000, -(2**2000),
             Fraction(1, 2), np.float32(0.5), True, "e"]


@pytest.mark.parametrize("base", BAD_BASES, ids=repr)
def test_bad_base_is_value_error_naming_base(base):
    calls = (lambda: entropy_from_logits(L, base=base),
             lambda: kl_divergence_from_logits(L, L[::-1], base=base),
             lambda: cross_entropy_from_logits(L, [0, 1], base=base),
             lambda: cross_entropy_from_logits(L, np.ones_like(L), base=base,
                                               reduction="mean", return_grad=True))
    for call in calls:
        with pytest.raises(ValueError, match=r"^base must be "):
            call()


def test_base_just_above_one():
    base = 1 + 2**-40
    ls = log_softmax(L, axis=-1)
    p = np.exp(ls)
    unit = math.log1p(2**-40)
    h = entropy_from_logits(L, base=base)
    assert np.all(h > 0)
    np.testing.assert_allclose(h, -np.sum(p * ls, axis=-1) / unit, rtol=1e-12)
    np.testing.assert_allclose(cross_entropy_from_logits(L, [0, 1], base=base),
                               -ls[[0, 1], [0, 1]] / unit, rtol=1e-12)
    kl = kl_divergence_from_logits(L, L[::-1], base=base)
    ref = np.sum(p * (ls - ls[::-1]), axis=-1) / unit
    np.testing.assert_allclose(kl, ref, rtol=1e-12)


# ---------------------------------------------------------------------------
# 5. Gradient dtype of byte-swapped input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_gradient_of_byteswapped_logits_has_their_dtype(dtype):
    g = np.random.default_rng(1)
    x = (g.standard_normal((4, 7)) * 3).astype(dtype)
    y = np.array([0, 6, 3, 3])
    swapped = x.astype(x.dtype.newbyteorder())
    ref = (softmax(x.astype(np.float64), axis=-1) - np.eye(7)[y]) / 4
    for logits in (x, swapped):
        loss, grad = cross_entropy_from_logits(logits, y, reduction="mean",
                                               return_grad=True)
        assert grad.dtype == np.dtype(dtype)  # native byte order
        # Formed in float64, rounded once (float16: via float32).
        np.testing.assert_allclose(grad.astype(np.float64), ref,
                                   rtol=2 * np.finfo(dtype).eps, atol=1e-30)
        assert loss == pytest.approx(
            np.mean(-log_softmax(x.astype(np.float64), axis=-1)[np.arange(4), y]),
            rel=1e-13)
