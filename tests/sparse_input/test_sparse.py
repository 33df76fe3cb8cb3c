"""scipy.sparse input (issue 4): every function against the dense functions on
``X.toarray()`` and against scipy, for every format, index dtype and data
dtype, with the special cases (explicit zeros, unsorted indices, duplicates,
NaN/negative/inf) and a (10**5, 10**9) matrix that could never be densified.

References: scipy.stats.entropy (independent), the dense functions of
histentropy on the densified matrix (the contract of issue 4: equal to 1e-12
relative), and the mpmath references of conftest for the hard cases.
"""
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats

import histentropy

RTOL = 1e-12
FORMATS = ("csr", "csc", "coo", "bsr", "dia", "lil", "dok")
# (scipy.sparse has no float16)
DATA_DTYPES = (np.float64, np.float32, np.longdouble, np.int8,
               np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
               np.uint64, np.bool_)
FUNCTIONS = ("kl_divergence", "cross_entropy", "decompose")
AXES = (1, 0, None, -1, -2)


def assert_same(got, want, rtol=RTOL):
    """Equal shapes, NaN and inf in the same places, finite values to rtol."""
    if isinstance(want, histentropy.Decomposition):
        assert isinstance(got, histentropy.Decomposition)
        for g, w in zip(got, want):
            assert_same(g, w, rtol)
        return
    assert np.shape(got) == np.shape(want)
    assert np.asarray(got).dtype == np.float64
    if np.ndim(want) == 0:
        assert type(got) is type(want) or isinstance(got, np.floating)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-300)


def _matrix(shape, density, rng, dtype=np.float64, scale=10.0):
    """A random CSR array with integer-valued data (exact in every dtype)."""
    X = sp.random_array(shape, density=density, format="csr", rng=rng,
                        data_sampler=lambda size: np.floor(rng.random(size) * scale) + 1)
    return X.astype(dtype)


def _as_format(X, fmt, kind="array"):
    Y = X.asformat(fmt)
    if kind == "matrix":
        Y = sp.csr_matrix(Y).asformat(fmt)
    return Y


def _snapshot(X):
    """Everything of X a call could modify."""
    if X.format in ("csr", "csc", "bsr"):
        return (X.format, X.data.copy(), X.indices.copy(), X.indptr.copy(),
                X.shape)
    if X.format == "coo":
        return (X.format, X.data.copy(), X.coords[0].copy(), X.coords[1].copy())
    return (X.format, X.toarray())


def _same_snapshot(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x, y)


def _call(name, p, q=None, **kw):
    f = getattr(histentropy, name)
    return f(p, **kw) if q is None else f(p, q, **kw)


# ---------------------------------------------------------------------------
# Formats, axes, keepdims, base
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["array", "matrix"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_entropy_every_format_and_axis(fmt, kind, rng):
    X = _as_format(_matrix((30, 25), 0.3, rng), fmt, kind)
    D = X.toarray()
    before = _snapshot(X)
    for axis in AXES:
        for keepdims in (False, True):
            assert_same(histentropy.entropy(X, axis=axis, keepdims=keepdims),
                        histentropy.entropy(D, axis=axis, keepdims=keepdims))
    _same_snapshot(before, _snapshot(X))


def test_entropy_matches_scipy(rng):
    X = _matrix((40, 60), 0.2, rng)
    X = sp.csr_array(X + sp.eye_array(40, 60))  # no empty row or column
    D = X.toarray()
    np.testing.assert_allclose(histentropy.entropy(X), scipy.stats.entropy(D, axis=1),
                               rtol=RTOL)
    np.testing.assert_allclose(histentropy.entropy(X, axis=0, base=2),
                               scipy.stats.entropy(D, axis=0, base=2), rtol=RTOL)
    assert histentropy.entropy(X, axis=None) == pytest.approx(
        scipy.stats.entropy(D.ravel()), rel=RTOL)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("fmt_p,fmt_q", [("csr", "csr"), ("csc", "csc"),
                                         ("csr", "csc"), ("coo", "lil"),
                                         ("dok", "bsr"), ("dia", "csr")])
def test_sparse_pair_every_format_and_axis(name, fmt_p, fmt_q, rng):
    P = _matrix((20, 30), 0.3, rng)
    # q stores p's support (finite divergences) plus more, in some rows less.
    Q = sp.csr_array(P * 2 + _matrix((20, 30), 0.3, rng))
    Q = sp.csr_array(Q.toarray() * (np.arange(20) % 4 != 3)[:, None])
    p, q = _as_format(P, fmt_p), _as_format(Q, fmt_q)
    before = _snapshot(p), _snapshot(q)
    for axis in AXES:
        for keepdims in (False, True):
            got = _call(name, p, q, axis=axis, keepdims=keepdims, base=2)
            want = _call(name, P.toarray(), Q.toarray(), axis=axis,
                         keepdims=keepdims, base=2)
            assert_same(got, want)
    _same_snapshot(before[0], _snapshot(p))
    _same_snapshot(before[1], _snapshot(q))


def test_sparse_pair_matches_scipy(rng):
    P = _matrix((25, 40), 0.25, rng)
    Q = sp.csr_array(P + _matrix((25, 40), 0.5, rng) + sp.eye_array(25, 40))
    P = sp.csr_array(P + sp.eye_array(25, 40))
    Dp, Dq = P.toarray(), Q.toarray()
    np.testing.assert_allclose(histentropy.kl_divergence(P, Q),
                               scipy.stats.entropy(Dp, Dq, axis=1), rtol=RTOL)
    np.testing.assert_allclose(
        histentropy.cross_entropy(P, Q, axis=0),
        scipy.stats.entropy(Dp, axis=0) + scipy.stats.entropy(Dp, Dq, axis=0),
        rtol=1e-11)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_against_dense_reference(name, fmt, rng):
    P = _as_format(_matrix((30, 50), 0.2, rng), fmt)
    D = P.toarray()
    references = {
        1: [rng.random(50), rng.random((1, 50)), rng.random((30, 50)),
            np.r_[0.0, rng.random(49)]],
        0: [rng.random((30, 1)), rng.random((30, 50))],
        None: [rng.random(50), rng.random((30, 50)), rng.random((30, 1))],
    }
    for axis, qs in references.items():
        for q in qs:
            for keepdims in (False, True):
                assert_same(_call(name, P, q, axis=axis, keepdims=keepdims),
                            _call(name, D, q, axis=axis, keepdims=keepdims))
                # dense p against sparse q
                Pq = sp.csr_array(np.broadcast_to(q, D.shape) * (D > 0))
                assert_same(_call(name, q, Pq, axis=axis, keepdims=keepdims),
                            _call(name, q, Pq.toarray(), axis=axis,
                                  keepdims=keepdims))


def test_sparse_against_reference_matches_scipy(rng):
    P = sp.csr_array(_matrix((30, 50), 0.2, rng) + sp.eye_array(30, 50))
    q = rng.random(50) + 0.01
    np.testing.assert_allclose(
        histentropy.kl_divergence(P, q),
        scipy.stats.entropy(P.toarray(), np.broadcast_to(q, (30, 50)), axis=1),
        rtol=RTOL)


def test_reference_is_read_once_per_distinct_row(rng):
    """Broadcast reference rows (stride 0) give the same as a materialised copy."""
    P = _matrix((40, 30), 0.3, rng)
    q = rng.random(30)
    full = np.ascontiguousarray(np.broadcast_to(q, (40, 30)))
    assert_same(histentropy.decompose(P, q), histentropy.decompose(P, full))
    # Non-contiguous and negative strides.
    Q = rng.random((40, 60))[:, ::-2]
    assert_same(histentropy.decompose(P, Q), histentropy.decompose(P.toarray(), Q))


def test_one_dimensional_sparse(rng):
    x = sp.coo_array(np.array([0.0, 1.0, 0.0, 3.0, 2.0]))
    y = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    for axis in (0, -1, None):
        for keepdims in (False, True):
            assert_same(histentropy.entropy(x, axis=axis, keepdims=keepdims),
                        histentropy.entropy(x.toarray(), axis=axis,
                                            keepdims=keepdims))
            for name in FUNCTIONS:
                assert_same(_call(name, x, y, axis=axis, keepdims=keepdims),
                            _call(name, x.toarray(), y, axis=axis,
                                  keepdims=keepdims))
                assert_same(_call(name, y, x, axis=axis, keepdims=keepdims),
                            _call(name, y, x.toarray(), axis=axis,
                                  keepdims=keepdims))
    assert isinstance(histentropy.entropy(x), np.float64)


def test_broadcast_sparse_row(rng):
    """A sparse single row against a matrix is a reference row."""
    P = _matrix((10, 20), 0.4, rng)
    r = sp.csr_array(rng.random((1, 20)))
    for name in FUNCTIONS:
        assert_same(_call(name, P, r), _call(name, P.toarray(), r.toarray()))
        assert_same(_call(name, r, P), _call(name, r.toarray(), P.toarray()))


# ---------------------------------------------------------------------------
# Index and data dtypes, structure
# ---------------------------------------------------------------------------

def _with_index_dtype(X, dtype):
    X = sp.csr_array(X, copy=True)
    X.indices = X.indices.astype(dtype)
    X.indptr = X.indptr.astype(dtype)
    assert X.indices.dtype == dtype
    return X


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", DATA_DTYPES)
def test_data_and_index_dtypes(dtype, index_dtype, rng):
    scale = 2.0 if dtype is np.bool_ else 50.0  # sums fit in int8
    P = _with_index_dtype(_matrix((15, 20), 0.4, rng, scale=scale), index_dtype)
    Q = _with_index_dtype(sp.csr_array(P + _matrix((15, 20), 0.5, rng, scale=scale)),
                          index_dtype)
    P, Q = P.astype(dtype), Q.astype(dtype)
    Dp, Dq = P.toarray(), Q.toarray()
    q = (rng.random(20) * 50).astype(dtype)
    for axis in (1, 0, None):
        assert_same(histentropy.entropy(P, axis=axis), histentropy.entropy(Dp, axis=axis))
        assert_same(histentropy.decompose(P, Q, axis=axis),
                    histentropy.decompose(Dp, Dq, axis=axis))
    assert_same(histentropy.decompose(P, q), histentropy.decompose(Dp, q))
    assert_same(histentropy.decompose(Dq, P), histentropy.decompose(Dq, Dp))


def test_mixed_index_dtypes(rng):
    P = _with_index_dtype(_matrix((15, 20), 0.4, rng), np.int32)
    Q = _with_index_dtype(sp.csr_array(P + _matrix((15, 20), 0.5, rng)), np.int64)
    assert_same(histentropy.decompose(P, Q),
                histentropy.decompose(P.toarray(), Q.toarray()))
    assert P.indices.dtype == np.int32 and Q.indices.dtype == np.int64


def test_complex_data_is_rejected(rng):
    P = _matrix((4, 5), 0.5, rng).astype(np.complex128)
    with pytest.raises(TypeError, match="p must hold real weights"):
        histentropy.entropy(P)
    with pytest.raises(TypeError, match="q must hold real weights"):
        histentropy.kl_divergence(_matrix((4, 5), 0.5, rng), P)


def test_explicit_zeros(rng):
    X = sp.csr_array((np.array([0.0, 2.0, 0.0, 0.0, 1.0, 0.0]),
                      np.array([0, 2, 3, 1, 2, 0]), np.array([0, 3, 5, 6])),
                     shape=(3, 4))
    q = np.array([1.0, 2.0, 3.0, 4.0])
    assert X.nnz == 6
    assert_same(histentropy.entropy(X), histentropy.entropy(X.toarray()))
    assert np.isnan(histentropy.entropy(X)[2])  # only a stored zero: no mass
    for name in FUNCTIONS:
        assert_same(_call(name, X, q), _call(name, X.toarray(), q))
        assert_same(_call(name, q, X), _call(name, q, X.toarray()))
        assert_same(_call(name, X, X), _call(name, X.toarray(), X.toarray()))


def _non_canonical(dtype=np.float64, index_dtype=np.int32):
    """Unsorted indices and duplicates in a CSR (built with no check)."""
    data = np.array([3, 1, 2, 1, 4, 5, 1, 1, 2, 7], dtype=dtype)
    indices = np.array([4, 0, 4, 2, 1, 1, 3, 0, 0, 2], dtype=index_dtype)
    indptr = np.array([0, 5, 7, 7, 10], dtype=index_dtype)
    X = sp.csr_array((data, indices, indptr), shape=(4, 5))
    X.has_canonical_format = False
    X.has_sorted_indices = False
    return X


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8, np.uint64])
def test_unsorted_and_duplicates(dtype, index_dtype, rng):
    X = _non_canonical(dtype, index_dtype)
    before = _snapshot(X)
    D = X.toarray()
    assert D[0, 4] == 5 and D[3, 0] == 3  # duplicates summed by toarray
    q = rng.random(5)
    q_col = rng.random((4, 1))
    Q = sp.csr_array(D + 1.0)
    for axis in (1, 0, None):
        assert_same(histentropy.entropy(X, axis=axis), histentropy.entropy(D, axis=axis))
        assert_same(histentropy.entropy(X.tocsc(), axis=axis),
                    histentropy.entropy(D, axis=axis))
        for name in FUNCTIONS:
            assert_same(_call(name, X, Q, axis=axis), _call(name, D, Q.toarray(), axis=axis))
            assert_same(_call(name, Q, X, axis=axis), _call(name, Q.toarray(), D, axis=axis))
            r = q_col if axis == 0 else q
            assert_same(_call(name, r, X, axis=axis), _call(name, r, D, axis=axis))
            assert_same(_call(name, X, r, axis=axis), _call(name, D, r, axis=axis))
    assert_same(histentropy.decompose(X, q), histentropy.decompose(D, q))
    _same_snapshot(before, _snapshot(X))
    assert not X.has_canonical_format


def test_coo_duplicates(rng):
    X = sp.coo_array((np.array([1.0, 2.0, 3.0, 4.0]),
                      (np.array([0, 0, 1, 0]), np.array([1, 1, 0, 1]))), shape=(2, 3))
    before = _snapshot(X)
    assert_same(histentropy.entropy(X), histentropy.entropy(X.toarray()))
    assert_same(histentropy.entropy(X, axis=None), histentropy.entropy(X.toarray(), axis=None))
    _same_snapshot(before, _snapshot(X))


def test_caller_matrix_unmodified_and_not_copied_back(rng):
    X = _matrix((20, 30), 0.3, rng, dtype=np.float32)
    data_id, idx_id = id(X.data), id(X.indices)
    before = _snapshot(X)
    histentropy.decompose(X, X, axis=0)
    histentropy.entropy(X, axis=None)
    assert id(X.data) == data_id and id(X.indices) == idx_id
    _same_snapshot(before, _snapshot(X))


def test_read_only_arrays(rng):
    X = _matrix((10, 12), 0.5, rng)
    for a in (X.data, X.indices, X.indptr):
        a.flags.writeable = False
    q = rng.random(12)
    q.flags.writeable = False
    assert_same(histentropy.decompose(X, q), histentropy.decompose(X.toarray(), q))
    assert_same(histentropy.entropy(X), histentropy.entropy(X.toarray()))


def test_empty_rows_columns_and_matrices():
    X = sp.csr_array((3, 4))
    assert np.isnan(histentropy.entropy(X)).all()
    assert np.isnan(histentropy.entropy(X, axis=None))
    assert histentropy.entropy(sp.csr_array((0, 4))).shape == (0,)
    assert histentropy.entropy(sp.csr_array((3, 0))).shape == (3,)
    assert histentropy.kl_divergence(sp.csr_array((0, 4)), np.ones(4)).shape == (0,)
    assert np.isnan(histentropy.kl_divergence(X, np.ones(4))).all()
    assert np.isnan(histentropy.kl_divergence(sp.csr_array(np.eye(3, 4)), np.zeros(4))).all()


def test_invalid_structure_is_rejected():
    X = sp.csr_array((np.ones(2), np.array([0, 9]), np.array([0, 1, 2])), shape=(2, 3))
    with pytest.raises(ValueError, match="p is not a valid sparse matrix"):
        histentropy.entropy(X)
    with pytest.raises(ValueError, match="q is not a valid sparse matrix"):
        histentropy.kl_divergence(np.ones((2, 3)), X)


def test_more_than_two_dimensions_is_rejected():
    X = sp.coo_array(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        histentropy.entropy(X)


def test_shape_errors(rng):
    P = _matrix((5, 6), 0.5, rng)
    with pytest.raises(ValueError, match="broadcastable"):
        histentropy.kl_divergence(P, np.ones(5))
    with pytest.raises(ValueError, match="broadcastable"):
        histentropy.kl_divergence(P, _matrix((5, 7), 0.5, rng))
    with pytest.raises(ValueError, match="same length along axis"):
        histentropy.kl_divergence(P, np.ones((5, 1)))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        histentropy.kl_divergence(P, np.ones((2, 5, 6)))
    with pytest.raises(np.exceptions.AxisError):
        histentropy.entropy(P, axis=2)
    with pytest.raises(ValueError, match="nan_policy"):
        histentropy.entropy(P, nan_policy="bad")
    with pytest.raises(ValueError, match="base"):
        histentropy.kl_divergence(P, P, base=1)


# ---------------------------------------------------------------------------
# NaN, negative and infinite values
# ---------------------------------------------------------------------------

def _with_value(X, k, value):
    X = sp.csr_array(X, copy=True)
    X.data[k] = value
    return X


@pytest.mark.parametrize("value,message", [(-1.0, "p must hold non-negative"),
                                           (np.inf, "p must hold finite"),
                                           (-np.inf, "p must hold")])
def test_bad_values_in_p(value, message, rng):
    P = _with_value(_matrix((6, 8), 0.5, rng), 3, value)
    for call in (lambda: histentropy.entropy(P), lambda: histentropy.entropy(P, axis=None),
                 lambda: histentropy.kl_divergence(P, np.ones(8)),
                 lambda: histentropy.kl_divergence(P, P.astype(bool)),
                 lambda: histentropy.decompose(P, np.ones((6, 8)), axis=0)):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("value,message", [(-1.0, "q must hold non-negative"),
                                           (np.inf, "q must hold finite")])
def test_bad_values_in_q(value, message, rng):
    P = _matrix((6, 8), 0.5, rng)
    Q = _with_value(_matrix((6, 8), 0.5, rng), 2, value)
    q = np.ones(8)
    q[5] = value  # also where p stores nothing: the whole reference is checked
    with pytest.raises(ValueError, match=message):
        histentropy.kl_divergence(P, Q)
    with pytest.raises(ValueError, match=message):
        histentropy.kl_divergence(P, q)
    with pytest.raises(ValueError, match=message):
        histentropy.kl_divergence(P.toarray(), Q)


@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
def test_nan(nan_policy, rng):
    P = _with_value(_matrix((8, 10), 0.5, rng), 4, np.nan)
    Q = _with_value(sp.csr_array(P + _matrix((8, 10), 0.5, rng)), 9, np.nan)
    Dp, Dq = P.toarray(), Q.toarray()
    for axis in (1, 0, None):
        q = rng.random((8, 1) if axis == 0 else 10)
        q[1] = q[-1] = np.nan
        kw = dict(axis=axis, nan_policy=nan_policy)
        got = histentropy.entropy(P, **kw)
        assert_same(got, histentropy.entropy(Dp, **kw))
        assert np.isnan(got).any() == (nan_policy == "propagate")
        for name in FUNCTIONS:
            assert_same(_call(name, P, Q, **kw), _call(name, Dp, Dq, **kw))
            assert_same(_call(name, Dq, P, **kw), _call(name, Dq, Dp, **kw))
        assert_same(histentropy.decompose(P, q, **kw), histentropy.decompose(Dp, q, **kw))
        assert_same(histentropy.decompose(Q, q, **kw), histentropy.decompose(Dq, q, **kw))


def test_nan_raise(rng):
    P = _with_value(_matrix((8, 10), 0.5, rng), 4, np.nan)
    with pytest.raises(ValueError, match="contains NaN"):
        histentropy.entropy(P, nan_policy="raise")
    with pytest.raises(ValueError, match="contains NaN"):
        histentropy.kl_divergence(_matrix((8, 10), 0.5, rng), P, nan_policy="raise")
    q = np.ones(10)
    q[0] = np.nan
    with pytest.raises(ValueError, match="contains NaN"):
        histentropy.kl_divergence(_matrix((8, 10), 0.5, rng), q, nan_policy="raise")


def test_structural_zero_in_q_gives_inf():
    P = sp.csr_array(np.array([[1.0, 2.0, 0.0], [1.0, 0.0, 0.0]]))
    Q = sp.csr_array(np.array([[1.0, 0.0, 5.0], [1.0, 0.0, 5.0]]))
    kl = histentropy.kl_divergence(P, Q)
    assert np.isinf(kl[0]) and kl[0] > 0 and np.isfinite(kl[1])
    assert_same(kl, histentropy.kl_divergence(P.toarray(), Q.toarray()))
    assert np.isinf(histentropy.kl_divergence(P, np.array([1.0, 0.0, 1.0]))[0])


# ---------------------------------------------------------------------------
# Hard numerics: the accurate second read, rescaling
# ---------------------------------------------------------------------------

def test_near_identical_rows(exact, rng):
    """KL of nearly identical histograms is tiny: the fast formula cancels and
    the accurate read (with the rest of the reference) must keep its digits."""
    k = 200
    q = rng.random(k) + 0.5
    p = q * (1 + 1e-9 * rng.standard_normal(k))
    p[::3] = 0.0  # p stores only part of the reference's support
    P = sp.csr_array(p[None, :])
    got = histentropy.kl_divergence(P, q)[0]
    exact.assert_close(got, exact.kl_divergence(p, q))
    Q = sp.csr_array(q[None, :])
    exact.assert_close(histentropy.kl_divergence(P, Q)[0], exact.kl_divergence(p, q))
    p2 = q * (1 + 1e-9 * rng.standard_normal(k))
    got = histentropy.kl_divergence(sp.csr_array(p2[None, :]), q)[0]
    exact.assert_close(got, exact.kl_divergence(p2, q))
    assert got < 1e-15


def test_near_deterministic_row(exact):
    p = np.array([1.0, 1e-13, 0.0, 2e-14])
    P = sp.csr_array(p[None, :])
    exact.assert_close(histentropy.entropy(P)[0], exact.entropy(p))
    q = np.array([1.0, 3e-13, 1e-12, 1e-14])
    exact.assert_close(histentropy.cross_entropy(P, q)[0], exact.cross_entropy(p, q))


@pytest.mark.parametrize("scale", [1e300, 1e-310])
def test_rescaled_totals(scale, exact, rng):
    p = rng.random(50) * scale
    p[::4] = 0.0
    q = rng.random(50) * scale
    P = sp.csr_array(p[None, :])
    exact.assert_close(histentropy.entropy(P)[0], exact.entropy(p))
    exact.assert_close(histentropy.kl_divergence(P, q)[0], exact.kl_divergence(p, q))
    exact.assert_close(histentropy.kl_divergence(P, sp.csr_array(q[None, :]))[0],
                       exact.kl_divergence(p, q))
    exact.assert_close(histentropy.kl_divergence(P, q, axis=None),
                       exact.kl_divergence(p, q))


def test_threads_give_the_same_results(rng):
    P = _matrix((2000, 300), 0.2, rng)
    Q = sp.csr_array(P + _matrix((2000, 300), 0.2, rng))
    q = rng.random(300)
    for workers in (1, 2):
        assert_same(histentropy.entropy(P, workers=workers), histentropy.entropy(P.toarray()))
        assert_same(histentropy.decompose(P, Q, workers=workers),
                    histentropy.decompose(P.toarray(), Q.toarray()))
        assert_same(histentropy.decompose(P, q, workers=workers),
                    histentropy.decompose(P.toarray(), q))


# ---------------------------------------------------------------------------
# Never densify: a matrix of 10**14 cells
# ---------------------------------------------------------------------------

def test_huge_matrix_rows():
    rows, cols, per_row = 10**5, 10**9, 10
    rng = np.random.default_rng(4)
    block = cols // per_row
    # One stored value per block of columns: sorted, distinct columns.
    c = rng.integers(0, block - 2, size=(rows, per_row)) + np.arange(per_row) * block
    p_vals = np.floor(rng.random((rows, per_row)) * 9) + 1
    P = sp.csr_array((p_vals.ravel(), c.ravel().astype(np.int32),
                      np.arange(0, rows * per_row + 1, per_row, dtype=np.int32)),
                     shape=(rows, cols))
    assert P.nnz == 10**6
    # q stores p's columns (with other values) and one more column right after
    # the first; in odd rows it misses p's last column (KL = +inf there).
    q_vals = np.floor(rng.random((rows, per_row + 1)) * 9) + 1
    q_cols = np.concatenate([c[:, :1], c[:, :1] + 1, c[:, 1:]], axis=1)
    q_vals[1::2, -1] = 0.0
    Q = sp.csr_array((q_vals.ravel().copy(), q_cols.ravel().astype(np.int32),
                      np.arange(0, rows * (per_row + 1) + 1, per_row + 1,
                                dtype=np.int32)), shape=(rows, cols))
    Q.eliminate_zeros()

    tracemalloc.start()
    try:
        h = histentropy.entropy(P)
        kl = histentropy.kl_divergence(P, Q)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # O(nnz + rows): the inputs hold ~10**7 bytes of values and indices.
    assert peak < 64 * 10**6

    np.testing.assert_allclose(h, scipy.stats.entropy(p_vals, axis=1), rtol=RTOL)
    p_full = np.concatenate([p_vals[:, :1], np.zeros((rows, 1)), p_vals[:, 1:]], axis=1)
    q_full = q_vals.copy()
    want = scipy.stats.entropy(p_full, q_full, axis=1)
    assert np.isinf(kl[1::2]).all() and np.isinf(want[1::2]).all()
    np.testing.assert_allclose(kl[::2], want[::2], rtol=RTOL)


# ---------------------------------------------------------------------------
# Lazy import
# ---------------------------------------------------------------------------

def test_scipy_is_not_imported_for_dense_or_labelled_input():
    code = (
        "import sys, histentropy\n"
        "histentropy.entropy([1, 2, 3])\n"
        "histentropy.kl_divergence({'a': 1, 'b': 2}, {'a': 2, 'b': 1})\n"
        "histentropy.decompose([1, 2], [2, 1])\n"
        "assert 'scipy' not in sys.modules, sorted(m for m in sys.modules if 'scipy' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_workers_are_checked(rng):
    P = _matrix((5, 6), 0.5, rng)
    with pytest.raises(ValueError, match="workers"):
        histentropy.entropy(P, workers=0)
    with pytest.raises(TypeError, match="workers"):
        histentropy.kl_divergence(P, P, workers=1.5)
    assert_same(histentropy.entropy(P, workers=-1), histentropy.entropy(P.toarray()))
