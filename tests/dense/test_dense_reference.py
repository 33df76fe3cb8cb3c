"""histentropy against scipy.stats.entropy on ordinary random input.

scipy is the reference for ordinary cases: every dtype, shapes up to 3-D,
every axis (negative ones and None), keepdims, broadcasting of p and q, every
base. scipy computes in the input's floating dtype (float16/float32 stay
float16/float32 there), so the reference is always given the input converted
to float64 first (exactly); histentropy must return float64 whatever the
input. scipy defaults to axis=0: the axis is always passed explicitly.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

import histentropy
from histentropy import Decomposition

RTOL = 1e-12
ATOL = 1e-13

DTYPES = [
    np.bool_,
    np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64,
]

SHAPES = [(7,), (4, 6), (3, 4, 5)]
BASES = [None, 2, 10, math.e]


def random_weights(rng, shape, dtype, zeros=True):
    """Random non-negative weights of `dtype` (with some zero bins)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        a = rng.random(shape) < 0.7
    elif dtype.kind in "iu":
        hi = min(np.iinfo(dtype).max, 10**6)
        a = rng.integers(0, hi, size=shape, endpoint=True).astype(dtype)
    else:
        a = (rng.random(shape) * rng.choice([1e-3, 1.0, 1e3], size=shape)).astype(dtype)
    if zeros and dtype.kind != "b":
        a[rng.random(shape) < 0.15] = 0
    if not zeros:
        # Every line along every axis keeps some mass (a checkerboard of
        # non-zero bins): a q slice without mass makes the whole pair NaN,
        # including decompose's entropy, which scipy's H(p) does not mirror.
        checker = np.indices(np.shape(a)).sum(axis=0) % 2 == 0
        a[checker & (a == 0)] = 1
    return a


def scipy_reference(p, q=None, axis=-1, base=None, keepdims=False):
    """(entropy, kl, cross) with scipy, on float64 copies, along `axis`."""
    p = np.asarray(p).astype(np.float64)
    if q is not None:
        q = np.asarray(q).astype(np.float64)
        shape = np.broadcast_shapes(p.shape, q.shape)
        p = np.broadcast_to(p, shape)
        q = np.broadcast_to(q, shape)
    if axis is None:
        ndim = p.ndim
        p = p.reshape(-1)
        q = None if q is None else q.reshape(-1)
        ax = 0
    else:
        ax = axis
    with np.errstate(all="ignore"):
        h = scipy.stats.entropy(p, base=base, axis=ax)
        kl = None if q is None else scipy.stats.entropy(p, q, base=base, axis=ax)
    h = np.asarray(h, dtype=np.float64)
    kl = None if kl is None else np.asarray(kl, dtype=np.float64)
    cross = None if kl is None else h + kl
    if keepdims:
        if axis is None:
            shape = (1,) * ndim
            h = h.reshape(shape)
            kl = None if kl is None else kl.reshape(shape)
            cross = None if cross is None else cross.reshape(shape)
        else:
            h = np.expand_dims(h, ax)
            kl = None if kl is None else np.expand_dims(kl, ax)
            cross = None if cross is None else np.expand_dims(cross, ax)
    return h, kl, cross


def assert_matches(got, expected):
    assert np.asarray(got).dtype == np.float64
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


def axes_of(ndim):
    return [None] + list(range(-ndim, ndim))


def expected_type_and_shape(result, shape, axis, keepdims):
    if axis is None:
        exp_shape = (1,) * len(shape) if keepdims else ()
    else:
        ax = axis % len(shape)
        exp_shape = (shape[:ax] + (1,) + shape[ax + 1:] if keepdims
                     else shape[:ax] + shape[ax + 1:])
    if exp_shape == ():
        assert type(result) is np.float64, type(result)
    else:
        assert isinstance(result, np.ndarray), type(result)
        assert result.dtype == np.float64
        assert result.shape == exp_shape


# ---------------------------------------------------------------------------
# entropy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_entropy_every_dtype_shape_axis(rng, dtype, shape):
    p = random_weights(rng, shape, dtype)
    for axis in axes_of(len(shape)):
        for keepdims in (False, True):
            got = histentropy.entropy(p, axis=axis, keepdims=keepdims)
            expected_type_and_shape(got, shape, axis, keepdims)
            h, _, _ = scipy_reference(p, axis=axis, keepdims=keepdims)
            assert_matches(got, h)


@pytest.mark.parametrize("base", BASES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_entropy_bases(rng, shape, base):
    p = random_weights(rng, shape, np.float64)
    for axis in axes_of(len(shape)):
        got = histentropy.entropy(p, axis=axis, base=base)
        h, _, _ = scipy_reference(p, axis=axis, base=base)
        assert_matches(got, h)


def test_entropy_default_axis_is_last(rng):
    p = random_weights(rng, (4, 5, 6), np.float64)
    h, _, _ = scipy_reference(p, axis=-1)
    assert_matches(histentropy.entropy(p), h)
    # scipy's default is axis=0: not ours.
    assert histentropy.entropy(p).shape == (4, 5)


def test_entropy_of_list_input():
    assert_matches(histentropy.entropy([1, 2, 3, 4]),
                   scipy_reference(np.array([1.0, 2, 3, 4]))[0])
    got = histentropy.entropy([[1, 2], [3, 0]])
    assert_matches(got, scipy_reference(np.array([[1.0, 2], [3, 0]]))[0])


def test_entropy_1d_and_axis_none_return_float64_scalar(rng):
    p = random_weights(rng, (10,), np.int32)
    assert type(histentropy.entropy(p)) is np.float64
    assert type(histentropy.entropy(p, axis=0)) is np.float64
    assert type(histentropy.entropy(p.reshape(2, 5), axis=None)) is np.float64
    assert type(histentropy.entropy(p.reshape(2, 1, 5), axis=None)) is np.float64
    kept = histentropy.entropy(p, keepdims=True)
    assert isinstance(kept, np.ndarray) and kept.shape == (1,)
    kept = histentropy.entropy(p.reshape(2, 5), axis=None, keepdims=True)
    assert isinstance(kept, np.ndarray) and kept.shape == (1, 1)


def test_entropy_large_integers_match_float64_reference(rng):
    # int64 / uint64 beyond 2**53 are read as the nearest doubles, as scipy does.
    for dtype, hi in ((np.int64, 2**62), (np.uint64, 2**63)):
        p = rng.integers(0, hi, size=(3, 9), dtype=dtype)
        assert_matches(histentropy.entropy(p), scipy_reference(p)[0])


# ---------------------------------------------------------------------------
# pairs: kl_divergence, cross_entropy, decompose
# ---------------------------------------------------------------------------

def pair_results(p, q, **kw):
    kl = histentropy.kl_divergence(p, q, **kw)
    cross = histentropy.cross_entropy(p, q, **kw)
    dec = histentropy.decompose(p, q, **kw)
    return kl, cross, dec


def check_pair(p, q, axis=-1, base=None, keepdims=False, shape=None):
    kl, cross, dec = pair_results(p, q, axis=axis, base=base, keepdims=keepdims)
    h_ref, kl_ref, cross_ref = scipy_reference(p, q, axis=axis, base=base,
                                               keepdims=keepdims)
    if shape is not None:
        for r in (kl, cross, *dec):
            expected_type_and_shape(r, shape, axis, keepdims)
    assert_matches(kl, kl_ref)
    assert_matches(cross, cross_ref)
    assert isinstance(dec, Decomposition)
    assert_matches(dec.cross_entropy, cross_ref)
    assert_matches(dec.entropy, h_ref)
    assert_matches(dec.kl_divergence, kl_ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_pair_every_dtype_shape_axis(rng, dtype, shape):
    p = random_weights(rng, shape, dtype)
    # q mostly positive so that most KLs are finite; some q zeros give +inf.
    q = random_weights(rng, shape, dtype, zeros=False)
    if np.dtype(dtype).kind != "b":
        q[rng.random(shape) < 0.03] = 0
    for axis in axes_of(len(shape)):
        for keepdims in (False, True):
            check_pair(p, q, axis=axis, keepdims=keepdims, shape=shape)


@pytest.mark.parametrize("p_dtype, q_dtype", [
    (np.int64, np.float64),
    (np.uint8, np.float32),
    (np.int64, np.uint64),
    (np.bool_, np.float16),
    (np.uint32, np.int8),
    (np.float32, np.float64),
], ids=lambda d: np.dtype(d).name)
def test_pair_mixed_dtypes(rng, p_dtype, q_dtype):
    p = random_weights(rng, (5, 8), p_dtype)
    q = random_weights(rng, (5, 8), q_dtype, zeros=False)
    for axis in (-1, 0, None):
        check_pair(p, q, axis=axis, shape=(5, 8))


@pytest.mark.parametrize("base", BASES, ids=str)
def test_pair_bases(rng, base):
    p = random_weights(rng, (3, 4, 5), np.float64)
    q = random_weights(rng, (3, 4, 5), np.float64, zeros=False)
    for axis in axes_of(3):
        check_pair(p, q, axis=axis, base=base, shape=(3, 4, 5))


@pytest.mark.parametrize("p_shape, q_shape, axis", [
    ((5, 1, 7), (4, 7), -1),
    ((5, 1, 7), (4, 7), 2),
    ((4, 7), (5, 1, 7), -1),
    ((3, 1, 6), (1, 4, 6), -1),
    ((6, 1), (6, 5), 0),
    ((6, 1), (6, 5), -2),
    ((1, 6), (3, 6), 1),
    ((6,), (3, 6), -1),
    ((2, 1, 4), (1, 3, 1), None),
    ((4,), (3, 4), None),
], ids=str)
def test_pair_broadcasting(rng, p_shape, q_shape, axis):
    p = random_weights(rng, p_shape, np.float64)
    q = random_weights(rng, q_shape, np.float64, zeros=False)
    shape = np.broadcast_shapes(p_shape, q_shape)
    for keepdims in (False, True):
        check_pair(p, q, axis=axis, keepdims=keepdims, shape=shape)


def test_pair_broadcast_integer_and_float(rng):
    p = random_weights(rng, (5, 1, 7), np.int16)
    q = random_weights(rng, (4, 7), np.float32, zeros=False)
    check_pair(p, q, axis=-1, shape=(5, 4, 7))


def test_pair_1d_returns_float64_scalars(rng):
    p = random_weights(rng, (9,), np.float64)
    q = random_weights(rng, (9,), np.float64, zeros=False)
    kl, cross, dec = pair_results(p, q)
    for r in (kl, cross, *dec):
        assert type(r) is np.float64
    kl, cross, dec = pair_results(p.reshape(3, 3), q.reshape(3, 3), axis=None)
    for r in (kl, cross, *dec):
        assert type(r) is np.float64
    kl, cross, dec = pair_results(p, q, keepdims=True)
    for r in (kl, cross, *dec):
        assert isinstance(r, np.ndarray) and r.shape == (1,) and r.dtype == np.float64


def test_numpy_integer_axis(rng):
    p = random_weights(rng, (3, 4, 5), np.float64)
    q = random_weights(rng, (3, 4, 5), np.float64, zeros=False)
    for axis in (np.int64(1), np.int32(-3), np.uint8(2)):
        assert_matches(histentropy.entropy(p, axis=axis),
                       scipy_reference(p, axis=int(axis))[0])
        assert_matches(histentropy.kl_divergence(p, q, axis=axis),
                       scipy_reference(p, q, axis=int(axis))[1])


def test_decompose_named_tuple(rng):
    p = random_weights(rng, (6, 11), np.float64)
    q = random_weights(rng, (6, 11), np.float64, zeros=False)
    dec = histentropy.decompose(p, q)
    assert isinstance(dec, tuple) and isinstance(dec, Decomposition)
    assert Decomposition._fields == ("cross_entropy", "entropy", "kl_divergence")
    cross, h, kl = dec
    assert cross is dec.cross_entropy and h is dec.entropy and kl is dec.kl_divergence
    np.testing.assert_allclose(dec.cross_entropy, dec.entropy + dec.kl_divergence,
                               rtol=1e-12, atol=0)
    # The same numbers as the separate functions.
    np.testing.assert_allclose(dec.cross_entropy, histentropy.cross_entropy(p, q),
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(dec.entropy, histentropy.entropy(p), rtol=1e-12, atol=0)
    np.testing.assert_allclose(dec.kl_divergence, histentropy.kl_divergence(p, q),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8])
def test_cross_entropy_is_entropy_plus_kl(rng, dtype):
    p = random_weights(rng, (20, 13), dtype)
    q = random_weights(rng, (20, 13), dtype, zeros=False)
    for axis in (-1, 0, None):
        cross = histentropy.cross_entropy(p, q, axis=axis)
        h = histentropy.entropy(p, axis=axis)
        kl = histentropy.kl_divergence(p, q, axis=axis)
        finite = np.isfinite(cross)
        np.testing.assert_allclose(np.asarray(cross)[finite],
                                   (np.asarray(h) + np.asarray(kl))[finite],
                                   rtol=1e-12, atol=0)
        np.testing.assert_array_equal(~finite, ~np.isfinite(np.asarray(h) + kl))


def test_kl_of_identical_rows_is_zero(rng):
    p = random_weights(rng, (5, 30), np.float64)
    assert np.all(histentropy.kl_divergence(p, p) == 0.0)
    np.testing.assert_allclose(histentropy.cross_entropy(p, p),
                               histentropy.entropy(p), rtol=1e-15)


def test_keepdims_broadcasts_back(rng):
    # keepdims=True results broadcast against the input, as numpy reductions do.
    p = random_weights(rng, (3, 4, 5), np.float64)
    for axis in range(3):
        h = histentropy.entropy(p, axis=axis, keepdims=True)
        assert np.broadcast_shapes(h.shape, p.shape) == p.shape


def test_four_dimensional_input(rng):
    """Beyond the 3-D of the issue's test list: N-D input works the same way."""
    p = random_weights(rng, (2, 3, 4, 5), np.float64)
    q = random_weights(rng, (3, 1, 5), np.float32, zeros=False)
    for axis in axes_of(4):
        got = histentropy.entropy(p, axis=axis)
        expected_type_and_shape(got, p.shape, axis, False)
        assert_matches(got, scipy_reference(p, axis=axis)[0])
    check_pair(p, q, axis=-1, shape=(2, 3, 4, 5))
    check_pair(p, q, axis=-1, keepdims=True, shape=(2, 3, 4, 5))


def test_dense_path_needs_numpy_only():
    """numpy is the only runtime dependency: the dense functions never import scipy."""
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import histentropy\n"
        "p = np.arange(12.0).reshape(3, 4); q = p[::-1] + 1\n"
        "histentropy.entropy(p); histentropy.kl_divergence(p, q)\n"
        "histentropy.cross_entropy(p, q, base=2); histentropy.decompose(p, q, axis=None)\n"
        "histentropy.entropy(p.ravel())\n"
        "bad = [m for m in ('scipy', 'pandas', 'mpmath') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env_path = [p for p in sys.path if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(env_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
