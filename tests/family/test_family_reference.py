"""The family of issue 12 against scipy / numpy on ordinary random input.

References (independent of histentropy, on float64 copies of the input):

* js_divergence: ``scipy.spatial.distance.jensenshannon(p, q, base, axis=...)**2``;
  js_distance: ``jensenshannon`` itself;
* hellinger_distance, total_variation, jeffreys_divergence (``rel_entr`` both
  ways), chi_square_divergence, renyi_entropy, renyi_divergence: the plain
  numpy expressions of the issue's definitions on normalised copies
  (alpha = 0, 1, inf by their limits).

Every dtype of the issue's list (float64, float32, int32, uint8, bool), C and
Fortran order, strided and read-only views, axis 0 / 1 / -1 / None, keepdims,
base None and 2. Tolerance: rtol 1e-12, atol 1e-12.

Also: `pseudocount` (for the family and for entropy, cross_entropy,
kl_divergence, decompose) equals the same function on (p + c, q + c), and
hypothesis properties (non-negativity, symmetry, ranges, scale invariance,
identities between the measures).
"""
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

import histentropy

RTOL = 1e-12
ATOL = 1e-12

DTYPES = [np.float64, np.float32, np.int32, np.uint8, np.bool_]
SHAPES = [(7,), (4, 6), (3, 4, 5)]


# ---------------------------------------------------------------------------
# numpy / scipy references
# ---------------------------------------------------------------------------

def _rowwise(measure, x, y, base):
    """The measure of normalised rows x, y (float64, along the last axis)."""
    func, alpha = measure.func, measure.alpha
    lb = 1.0 if base is None else math.log(base)
    with np.errstate(all="ignore"):
        if func == "js_divergence":
            return jensenshannon(x, y, axis=-1, base=base) ** 2
        if func == "js_distance":
            return jensenshannon(x, y, axis=-1, base=base)
        if func == "hellinger_distance":
            return np.sqrt(0.5 * np.sum((np.sqrt(x) - np.sqrt(y)) ** 2, axis=-1))
        if func == "total_variation":
            return 0.5 * np.sum(np.abs(x - y), axis=-1)
        if func == "jeffreys_divergence":
            t = scipy.special.rel_entr(x, y) + scipy.special.rel_entr(y, x)
            return np.sum(t, axis=-1) / lb
        if func == "chi_square_divergence":
            t = np.where(y > 0, (x - y) ** 2 / np.where(y > 0, y, 1.0),
                         np.where(x > 0, np.inf, 0.0))
            return np.sum(t, axis=-1)
        if func == "renyi_entropy":
            if alpha == 0:
                r = np.log(np.count_nonzero(x > 0, axis=-1))
            elif alpha == 1:
                r = -np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0),
                            axis=-1)
            elif math.isinf(alpha):
                r = -np.log(np.max(x, axis=-1))
            else:
                r = np.log(np.sum(np.where(x > 0, x ** alpha, 0.0), axis=-1)) / (1 - alpha)
            return r / lb
        if func == "renyi_divergence":
            s = x > 0
            if alpha == 0:
                r = -np.log(np.sum(np.where(s, y, 0.0), axis=-1))
            elif alpha == 1:
                r = np.sum(scipy.special.rel_entr(x, y), axis=-1)
            elif math.isinf(alpha):
                r = np.log(np.max(np.where(s, x / y, 0.0), axis=-1))
            else:
                t = np.where(s, x ** alpha * y ** (1 - alpha), 0.0)
                r = np.log(np.sum(t, axis=-1)) / (alpha - 1)
            return r / lb
        if func == "entropy":
            return scipy.stats.entropy(x, axis=-1, base=base)
        if func == "kl_divergence":
            return scipy.stats.entropy(x, y, axis=-1, base=base)
        if func == "cross_entropy":
            return (scipy.stats.entropy(x, axis=-1, base=base)
                    + scipy.stats.entropy(x, y, axis=-1, base=base))
    raise AssertionError(func)


def numpy_reference(measure, p, q=None, axis=-1, base=None, keepdims=False):
    """The reference along `axis` (None: the flattened input), float64."""
    p = np.asarray(p).astype(np.float64)
    if q is not None:
        q = np.asarray(q).astype(np.float64)
        shape = np.broadcast_shapes(p.shape, q.shape)
        p, q = np.broadcast_to(p, shape), np.broadcast_to(q, shape)
    ndim = p.ndim
    if axis is None:
        p = p.reshape(-1)
        q = None if q is None else q.reshape(-1)
        ax = 0
    else:
        ax = axis
    p = np.moveaxis(p, ax, -1)
    q = p if q is None else np.moveaxis(q, ax, -1)
    with np.errstate(all="ignore"):
        x = p / p.sum(axis=-1, keepdims=True)
        y = q / q.sum(axis=-1, keepdims=True)
    r = np.asarray(_rowwise(measure, x, y, base), dtype=np.float64)
    if keepdims:
        r = r.reshape((1,) * ndim) if axis is None else np.expand_dims(r, ax)
    return r


def assert_matches(got, want, rtol=RTOL, atol=ATOL, what=""):
    assert np.asarray(got).dtype == np.float64, what
    assert np.shape(got) == np.shape(want), (what, np.shape(got), np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=str(what))


def random_weights(rng, shape, dtype, zeros=0.15):
    """Random weights of `dtype` with some zero bins; every line along every
    axis keeps some mass (a checkerboard of non-zero bins)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        a = rng.random(shape) < 0.7
    elif dtype.kind in "iu":
        hi = min(np.iinfo(dtype).max, 10**6)
        a = rng.integers(0, hi, size=shape, endpoint=True).astype(dtype)
    else:
        a = (rng.random(shape) * rng.choice([1e-3, 1.0, 1e3], size=shape)).astype(dtype)
    a[rng.random(shape) < zeros] = 0
    checker = np.indices(np.shape(a)).sum(axis=0) % 2 == 0
    a[checker & (a == 0)] = 1
    return a


def axes_of(ndim):
    return [None] + list(range(-ndim, ndim))


def expected_shape(shape, axis, keepdims):
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    ax = axis % len(shape)
    return shape[:ax] + (1,) + shape[ax + 1:] if keepdims else shape[:ax] + shape[ax + 1:]


def _call(measure, p, q, **kw):
    return measure(p, q if measure.pair else None, **kw)


# ---------------------------------------------------------------------------
# The public names
# ---------------------------------------------------------------------------

def test_population_stability_index_is_jeffreys():
    assert histentropy.population_stability_index is histentropy.jeffreys_divergence


# ---------------------------------------------------------------------------
# Every dtype, shape, axis, keepdims, base
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_shape_axis(rng, measure, dtype, shape):
    p = random_weights(rng, shape, dtype)
    q = random_weights(rng, shape, dtype, zeros=0.03)
    bases = [None, 2] if measure.has_base else [None]
    for axis in axes_of(len(shape)):
        for keepdims in (False, True):
            for base in bases:
                kw = dict(axis=axis, keepdims=keepdims)
                if base is not None:
                    kw["base"] = base
                got = _call(measure, p, q, **kw)
                exp_shape = expected_shape(shape, axis, keepdims)
                if exp_shape == ():
                    assert type(got) is np.float64, type(got)
                else:
                    assert isinstance(got, np.ndarray) and got.shape == exp_shape
                want = numpy_reference(measure, p, q if measure.pair else None,
                                       axis=axis, base=base, keepdims=keepdims)
                assert_matches(got, want, what=(measure, dtype, axis, keepdims, base))


def test_default_axis_is_last(rng, measure):
    p = random_weights(rng, (4, 5, 6), np.float64)
    q = random_weights(rng, (4, 5, 6), np.float64, zeros=0.0)
    got = _call(measure, p, q)
    assert got.shape == (4, 5)
    assert_matches(got, numpy_reference(measure, p, q if measure.pair else None, axis=-1))


def test_list_input(measure):
    p = [[1, 2, 3, 0], [4, 0, 1, 1]]
    q = [[2, 2, 1, 1], [1, 1, 1, 1]]
    assert_matches(_call(measure, p, q),
                   numpy_reference(measure, p, q if measure.pair else None))


def _layouts(a):
    """(name, view) holding the same values as the C-contiguous `a`."""
    ro = a.copy()
    ro.setflags(write=False)
    big = np.zeros((a.shape[0] * 2, a.shape[1] * 3), dtype=a.dtype)
    big[::2, ::3] = a
    rev = np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    out = [("C", a), ("F", np.asfortranarray(a)), ("strided", big[::2, ::3]),
           ("read-only", ro), ("reversed", rev)]
    for name, view in out:
        np.testing.assert_array_equal(view, a, err_msg=name)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8],
                         ids=lambda d: np.dtype(d).name)
def test_layouts(rng, measure, dtype):
    p = random_weights(rng, (5, 9), dtype)
    q = random_weights(rng, (5, 9), dtype, zeros=0.03)
    q_layouts = dict(_layouts(q))
    for axis in (-1, 0, None):
        want = numpy_reference(measure, p, q if measure.pair else None, axis=axis)
        for name, view in _layouts(p):
            for q_name in ("C", name):
                got = _call(measure, view, q_layouts[q_name], axis=axis)
                assert_matches(got, want, what=(measure, name, q_name, axis))


@pytest.mark.parametrize("p_shape, q_shape, axis", [
    ((5, 1, 7), (4, 7), -1),
    ((6, 1), (6, 5), 0),
    ((7,), (3, 7), -1),
    ((3, 7), (7,), None),
], ids=str)
def test_broadcasting(rng, pair_measure, p_shape, q_shape, axis):
    p = random_weights(rng, p_shape, np.float64)
    q = random_weights(rng, q_shape, np.float64, zeros=0.0)
    for keepdims in (False, True):
        got = pair_measure(p, q, axis=axis, keepdims=keepdims)
        assert_matches(got, numpy_reference(pair_measure, p, q, axis=axis,
                                            keepdims=keepdims), what=keepdims)


def test_mixed_dtypes(rng, pair_measure):
    for pd, qd in ((np.int32, np.float64), (np.uint8, np.float32), (np.bool_, np.int32),
                   (np.float32, np.float64)):
        p = random_weights(rng, (4, 8), pd)
        q = random_weights(rng, (4, 8), qd, zeros=0.0)
        assert_matches(pair_measure(p, q), numpy_reference(pair_measure, p, q),
                       what=(pd, qd))


@pytest.mark.parametrize("alpha", [0, 1, 2, np.float64(0.5), np.float32(2.0), np.int64(3),
                                   float("inf"), np.inf, 1e300])
def test_renyi_alpha_types(rng, alpha):
    p = random_weights(rng, (3, 8), np.float64)
    q = random_weights(rng, (3, 8), np.float64, zeros=0.0)
    a = float(alpha)
    for func, args in (("renyi_entropy", (p,)), ("renyi_divergence", (p, q))):
        got = getattr(histentropy, func)(*args, alpha)
        x = p / p.sum(-1, keepdims=True)
        y = q / q.sum(-1, keepdims=True)
        with np.errstate(all="ignore"):
            if func == "renyi_entropy":
                want = {0.0: np.log(np.count_nonzero(x, axis=-1)),
                        1.0: scipy.stats.entropy(x, axis=-1),
                        math.inf: -np.log(x.max(-1))}.get(a)
                if want is None:
                    if a > 1e100:  # H_alpha -> H_inf as alpha -> inf
                        want = -np.log(x.max(-1))
                    else:
                        want = np.log(np.sum(x ** a, -1)) / (1 - a)
            else:
                s = x > 0
                want = {0.0: -np.log(np.sum(np.where(s, y, 0.0), -1)),
                        1.0: scipy.stats.entropy(x, y, axis=-1),
                        math.inf: np.log(np.max(np.where(s, x / y, 0.0), -1))}.get(a)
                if want is None:
                    if a > 1e100:
                        want = np.log(np.max(np.where(s, x / y, 0.0), -1))
                    else:
                        want = np.log(np.sum(np.where(s, x ** a * y ** (1 - a), 0.0),
                                             -1)) / (a - 1)
        assert_matches(got, want, what=(func, alpha))


# ---------------------------------------------------------------------------
# pseudocount
# ---------------------------------------------------------------------------

def _pseudocount_measures(family):
    return family.MEASURES + family.CORE + [family.Measure("decompose")]


def _as_tuple(r):
    if isinstance(r, histentropy.Decomposition):
        return tuple(np.asarray(v) for v in r)
    return (np.asarray(r),)


@pytest.mark.parametrize("c", [0.5, 1e-3, 3.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8, np.bool_],
                         ids=lambda d: np.dtype(d).name)
def test_pseudocount_is_adding_c_to_every_bin(rng, family, dtype, c):
    p = random_weights(rng, (6, 9), dtype, zeros=0.4)
    q = random_weights(rng, (6, 9), dtype, zeros=0.4)
    p[2] = 0  # a row without mass: p + c is uniform
    q[4] = 0
    p64 = p.astype(np.float64)
    q64 = q.astype(np.float64)
    for m in _pseudocount_measures(family):
        for axis in (-1, 0, None):
            for base in ([None, 2] if m.has_base else [None]):
                kw = dict(axis=axis) if base is None else dict(axis=axis, base=base)
                got = _as_tuple(_call(m, p, q, pseudocount=c, **kw))
                want = _as_tuple(_call(m, p64 + c, q64 + c, **kw))
                for g, w in zip(got, want):
                    assert_matches(g, w, rtol=1e-12, atol=1e-14,
                                   what=(m, dtype, c, axis, base))
                    assert np.isfinite(g).all(), (m, g)
                # and the independent reference on (p + c, q + c)
                if m.func != "decompose":
                    ref = numpy_reference(m, p64 + c, (q64 + c) if m.pair else None,
                                          axis=axis, base=base)
                    assert_matches(got[0], ref, what=(m, dtype, c, axis, base, "numpy"))


def test_pseudocount_zero_is_the_default(rng, family):
    """pseudocount=0 in any spelling is the default (to a few ulp: a numpy
    scalar 0 may take another, equally accurate, code path)."""
    p = random_weights(rng, (4, 7), np.float64, zeros=0.3)
    q = random_weights(rng, (4, 7), np.float64, zeros=0.1)
    for m in _pseudocount_measures(family):
        for c in (0, 0.0, np.float32(0), np.int64(0), np.float64(0)):
            got = _as_tuple(_call(m, p, q, pseudocount=c))
            for g, w in zip(got, _as_tuple(_call(m, p, q))):
                np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-300,
                                           err_msg=f"{m} pseudocount={c!r}")


def test_pseudocount_broadcast_reference(rng, family):
    """q broadcast against p's rows gets the pseudocount once per bin."""
    p = random_weights(rng, (5, 8), np.int32, zeros=0.4)
    q = random_weights(rng, (8,), np.int32, zeros=0.4)
    for m in family.PAIR_MEASURES + family.CORE[1:]:
        got = m(p, q, pseudocount=0.5)
        want = m(p + 0.5, q + 0.5)
        assert_matches(got, want, what=m)


def test_pseudocount_makes_zero_bins_finite():
    p = np.array([1, 0])
    q = np.array([0, 1])
    # without: p > 0 = q and q > 0 = p
    assert histentropy.jeffreys_divergence(p, q) == math.inf
    assert histentropy.chi_square_divergence(p, q) == math.inf
    assert histentropy.kl_divergence(p, q) == math.inf
    assert histentropy.renyi_divergence(p, q, 2.0) == math.inf
    # with pseudocount 1: x = (2/3, 1/3), y = (1/3, 2/3)
    log2 = math.log(2)
    assert histentropy.kl_divergence(p, q, pseudocount=1) == pytest.approx(log2 / 3, rel=1e-14)
    assert histentropy.jeffreys_divergence(p, q, pseudocount=1) == pytest.approx(
        2 * log2 / 3, rel=1e-14)
    assert histentropy.population_stability_index(p, q, pseudocount=1.0) == pytest.approx(
        2 * log2 / 3, rel=1e-14)
    assert histentropy.chi_square_divergence(p, q, pseudocount=1) == pytest.approx(
        0.5, rel=1e-14)
    assert histentropy.renyi_divergence(p, q, 2.0, pseudocount=1) == pytest.approx(
        math.log(1.5), rel=1e-14)
    assert histentropy.renyi_divergence(p, q, math.inf, pseudocount=1) == pytest.approx(
        log2, rel=1e-14)
    assert histentropy.cross_entropy(p, q, pseudocount=1) == pytest.approx(
        -(2 / 3) * math.log(1 / 3) - (1 / 3) * math.log(2 / 3), rel=1e-14)
    assert histentropy.total_variation(p, q, pseudocount=1) == pytest.approx(1 / 3, rel=1e-14)
    assert histentropy.entropy([0, 0, 0, 5], pseudocount=1) == pytest.approx(
        scipy.stats.entropy([1, 1, 1, 6]), rel=1e-14)
    assert histentropy.renyi_entropy([0, 0, 0, 5], 0, pseudocount=1) == pytest.approx(
        math.log(4), rel=1e-14)
    dec = histentropy.decompose(p, q, pseudocount=1)
    assert dec.kl_divergence == pytest.approx(log2 / 3, rel=1e-14)
    assert dec.entropy == pytest.approx(scipy.stats.entropy([2, 1]), rel=1e-14)


# ---------------------------------------------------------------------------
# Properties (hypothesis)
# ---------------------------------------------------------------------------

WEIGHT = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-300, max_value=1e6),
    st.integers(0, 1000).map(float),
)


@st.composite
def histogram_pairs(draw, min_n=1, max_n=20):
    n = draw(st.integers(min_n, max_n))
    p = np.array(draw(st.lists(WEIGHT, min_size=n, max_size=n)))
    q = np.array(draw(st.lists(WEIGHT, min_size=n, max_size=n)))
    p[draw(st.integers(0, n - 1))] += 1.0  # some mass
    q[draw(st.integers(0, n - 1))] += 1.0
    return p, q


def _all(family):
    return family.MEASURES


@given(histogram_pairs())
def test_property_non_negative_and_not_nan(family, pq):
    p, q = pq
    for m in _all(family):
        for a, b in ((p, q), (q, p)):
            got = _call(m, a, b)
            assert got >= 0.0, (m, a, b, got)  # False for NaN too


@given(histogram_pairs())
def test_property_symmetry(family, pq):
    p, q = pq
    for m in family.PAIR_MEASURES:
        if not m.symmetric:
            continue
        a, b = m(p, q), m(q, p)
        if math.isinf(a) or math.isinf(b):
            assert a == b, (m, a, b)
        else:
            assert abs(a - b) <= 1e-12 * max(abs(a), abs(b)) + 1e-13, (m, p, q, a, b)


@given(histogram_pairs())
def test_property_ranges(pq):
    p, q = pq
    log2 = math.log(2)
    for a, b in ((p, q), (q, p)):
        js = histentropy.js_divergence(a, b)
        assert 0.0 <= js <= log2 * (1 + 1e-15), js
        assert 0.0 <= histentropy.js_divergence(a, b, base=2) <= 1 + 1e-15
        assert 0.0 <= histentropy.js_distance(a, b) <= math.sqrt(log2) * (1 + 1e-15)
        assert 0.0 <= histentropy.js_distance(a, b, base=2) <= 1 + 1e-15
        h = histentropy.hellinger_distance(a, b)
        tv = histentropy.total_variation(a, b)
        assert 0.0 <= h <= 1 + 1e-15, h
        assert 0.0 <= tv <= 1 + 1e-15, tv
        # h^2 <= TV <= sqrt(2) h (Le Cam)
        assert h * h <= tv * (1 + 1e-12) + 1e-14, (h, tv)
        assert tv <= math.sqrt(2) * h * (1 + 1e-12) + 1e-14, (h, tv)
        # Renyi entropy lies in [0, log(support)] and decreases with alpha
        n_support = np.count_nonzero(a)
        hs = [histentropy.renyi_entropy(a, al) for al in (0, 0.5, 1, 2, 7.5, math.inf)]
        assert hs[0] == pytest.approx(math.log(n_support), rel=1e-15, abs=1e-300)
        for h_hi, h_lo in zip(hs, hs[1:]):
            assert h_lo <= h_hi * (1 + 1e-12) + 1e-14, hs
        assert hs[-1] >= 0.0
        # Renyi divergence increases with alpha
        ds = [histentropy.renyi_divergence(a, b, al) for al in (0, 0.3, 1, 2, 5, math.inf)]
        for d_lo, d_hi in zip(ds, ds[1:]):
            assert d_lo <= d_hi * (1 + 1e-12) + 1e-14, ds


@given(histogram_pairs(), st.integers(0, 30), st.integers(0, 30),
       st.sampled_from([1.0, 3.0, 0.1, 1e-3, 7.77]))
def test_property_scale_invariance(family, pq, i, j, c):
    """p and q scaled by positive constants: by powers of two (exact inputs:
    the same up to the contract) and by other constants (inputs rounded once:
    the same to ~1e-9 relative)."""
    p, q = pq
    a, b = 2.0**i, 2.0**-j if (q[q > 0].min() * 2.0**-j) > 1e-290 else 2.0**j
    for m in _all(family):
        base = _call(m, p, q)
        for sp, sq, rel in ((a, b, 1e-12), (c, c * 3.0, 1e-9)):
            got = _call(m, p * sp, q * sq)
            if math.isinf(base) or math.isnan(base):
                assert got == base or (math.isnan(got) and math.isnan(base)), (m, got, base)
            else:
                assert abs(got - base) <= rel * abs(base) + 2e-12 * max(1.0, abs(base)), (
                    m, p, q, sp, sq, got, base)


@given(histogram_pairs(min_n=2))
def test_property_identities(pq):
    """Identities between the measures: D_1 = KL, D_2 = log(1 + chi2),
    D_1/2 = -2 log(1 - h^2), Jeffreys = KL(p||q) + KL(q||p), js_distance^2 =
    js_divergence, H_1 = H, D_a(p || uniform) = log n - H_a(p)."""
    p, q = pq
    n = p.size
    def close(a, b, what):
        if math.isinf(a) or math.isinf(b):
            assert a == b, (what, a, b)
        else:
            assert abs(a - b) <= 1e-11 * max(1.0, abs(b)), (what, a, b, p, q)

    kl_pq = histentropy.kl_divergence(p, q)
    kl_qp = histentropy.kl_divergence(q, p)
    close(histentropy.renyi_divergence(p, q, 1), kl_pq, "D_1")
    close(histentropy.jeffreys_divergence(p, q), kl_pq + kl_qp, "jeffreys")
    chi2 = histentropy.chi_square_divergence(p, q)
    close(histentropy.renyi_divergence(p, q, 2), math.log1p(chi2), "D_2")
    h = histentropy.hellinger_distance(p, q)
    if h * h < 0.5:  # else 1 - h^2 = BC has lost its digits in h
        close(histentropy.renyi_divergence(p, q, 0.5), -2 * math.log1p(-h * h), "D_1/2")
    close(histentropy.js_distance(p, q) ** 2, histentropy.js_divergence(p, q), "js^2")
    close(histentropy.renyi_entropy(p, 1), histentropy.entropy(p), "H_1")
    u = np.ones(n)
    for al in (0.5, 2.0, 7.5, math.inf):
        close(histentropy.renyi_divergence(p, u, al),
              math.log(n) - histentropy.renyi_entropy(p, al), f"D_{al}(p||u)")
