"""Sparse input whose totals overflow gives the dense result on toarray().

Weights near the top of the double range make the total of a row (or of a
reference row) overflow; the kernels then rescale by a power of two. These
cases gave NaN for sparse rows where the dense functions were right. Every
combination is checked against the dense function on the densified input:
sparse against dense, dense against sparse, sparse against sparse, one row or
broadcast reference, per row and axis=None.

HISTENTROPY_FUZZ_EXAMPLES=N runs N random cases (default 300).
"""
import os

import numpy as np
import pytest

import histentropy

sparse = pytest.importorskip("scipy.sparse")

EXAMPLES = int(os.environ.get("HISTENTROPY_FUZZ_EXAMPLES", "300"))
BIG = [1e308, 1.5e308, 5e307, 1.7976931348623157e308]


def _assert_same(got, want):
    """Equal to 1e-12 relative; a divergence that is exactly 0 may come out of
    the dense vectorised second read as ~1e-64 (its reciprocal totals round),
    hence the absolute 1e-50."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert not np.isnan(got).any() or np.isnan(want).all()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-50)


@pytest.mark.parametrize("q", [
    [1e308, 1e308, 5e307],
    [1e308, 1.0, 1.0, 1.0, 1e308],        # big values in different lanes
    [1.0, 1e308, 1.0, 1e308, 1.0, 1e308, 1.0, 1e308, 1.0],
])
def test_issue_examples(q):
    q = np.array(q)
    p = np.arange(1.0, q.size + 1)
    P = sparse.csr_array(p[None])
    want = histentropy.decompose(p[None], q)
    got = histentropy.decompose(P, q)
    for g, w in zip(got, want):
        _assert_same(g, w)
    _assert_same(histentropy.kl_divergence(P, q), histentropy.kl_divergence(p[None], q))


def _random_case(rng):
    rows, cols = int(rng.integers(1, 5)), int(rng.integers(1, 12))
    p = rng.random((rows, cols)) * 10.0 ** rng.integers(-3, 4, (rows, cols))
    q = rng.random((rows, cols)) + 0.01
    for a in (p, q):
        if rng.random() < 0.6:
            a[rng.random(a.shape) < 0.5] = rng.choice(BIG)
        a[rng.random(a.shape) < 0.3] = 0.0
    p[:, 0] = np.where(p[:, 0] == 0.0, 1.0, p[:, 0])
    q[:, 0] = np.where(q[:, 0] == 0.0, 1.0, q[:, 0])
    return p, q


@pytest.mark.parametrize("seed", range(4))
def test_random_overflowing_rows_match_dense(seed):
    rng = np.random.default_rng(seed)
    for _ in range(max(1, EXAMPLES // 4)):
        p, q = _random_case(rng)
        P, Q = sparse.csr_array(p), sparse.csr_array(q)
        axis = [-1, None][int(rng.integers(2))]
        for function in (histentropy.kl_divergence, histentropy.cross_entropy):
            want = function(p, q, axis=axis)
            _assert_same(function(P, q, axis=axis), want)
            _assert_same(function(p, Q, axis=axis), want)
            _assert_same(function(P, Q, axis=axis), want)
            _assert_same(function(P, q[0], axis=-1), function(p, q[0], axis=-1))
        _assert_same(histentropy.entropy(P, axis=axis), histentropy.entropy(p, axis=axis))
        dec = histentropy.decompose(P, q, axis=axis)
        for g, w in zip(dec, histentropy.decompose(p, q, axis=axis)):
            _assert_same(g, w)


def test_nan_policy_raise_still_raises_with_overflowing_reference():
    P = sparse.csr_array([[1.0, np.nan, 3.0]])
    with pytest.raises(ValueError, match="NaN"):
        histentropy.kl_divergence(P, np.array([1e308, 1e308, 5e307]), nan_policy="raise")
