"""The segmented pass over sparse rows (sparse_simd.h) and `_sparse.check_rows`.

Sparse rows are computed in one pass on the AVX-512 path; rows that pass
cannot settle (more than 512 stored values, bad weights, totals out of
range, near-zero results, ratios out of the normal range) go to the row
kernel. These tests mix every kind of row in one matrix, so that a row's
lanes, totals or fallback leak into its neighbours would show.

References are independent of histentropy: scipy.stats.entropy on each dense
row (converted to float64, and scaled by an exact power of two when its
values are near the ends of the double range), a plain numpy cross entropy,
the mpmath references of conftest for the near-zero results, and a
pure-Python check_rows. Only rows without mass (empty, all stored zeros, an
empty reference row, which makes the whole decomposition NaN) and the row
holding a NaN are compared with histentropy's dense functions on that row,
whose result for those is the contract.

Run also with HISTENTROPY_CPU=avx2 and HISTENTROPY_CPU=generic (no segmented
pass: every row through the row kernel): the results must be the same.
"""
import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats

import histentropy
from histentropy import _sparse

RTOL = 1e-12
N_COLS = 3000
LENGTHS = (0, 1, 7, 8, 9, 15, 16, 17, 100, 511, 512, 513, 2000)
INDEX_DTYPES = (np.int32, np.int64)
DATA_DTYPES = (np.float64, np.float32, np.int64, np.int32)
ORDERS = ("shuffled", "ascending", "descending", "interleaved")


# ---------------------------------------------------------------------------
# Building matrices
# ---------------------------------------------------------------------------

def _csr(data, indices, indptr, shape, index_dtype):
    """A CSR array with exactly these arrays (scipy would downcast int64)."""
    X = sp.csr_array((np.asarray(data), np.asarray(indices, dtype=np.int64),
                      np.asarray(indptr, dtype=np.int64)), shape=shape)
    X.indices = np.ascontiguousarray(indices, dtype=index_dtype)
    X.indptr = np.ascontiguousarray(indptr, dtype=index_dtype)
    assert X.indices.dtype == index_dtype and X.indptr.dtype == index_dtype
    return X


def _from_rows(rows, n_cols, index_dtype, dtype=np.float64):
    """CSR from a list of (columns, values) pairs, stored in the given order."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(c) for c, _ in rows])
    if rows and indptr[-1]:
        indices = np.concatenate([np.asarray(c, dtype=np.int64) for c, _ in rows])
        data = np.concatenate([np.asarray(v, dtype=np.float64) for _, v in rows])
    else:
        indices = np.zeros(0, dtype=np.int64)
        data = np.zeros(0)
    return _csr(data.astype(dtype), indices, indptr, (len(rows), n_cols), index_dtype)


def _values(rng, n, dtype):
    """n positive values, exactly representable in `dtype`."""
    if np.dtype(dtype).kind in "iu":
        return rng.integers(1, 1000, n).astype(np.float64)
    scale = 10.0 ** rng.uniform(-3, 3)
    v = (rng.random(n) + 0.01) * scale
    if rng.random() < 0.3:  # a wide spread within the row
        v *= 10.0 ** rng.uniform(-6, 0, n)
    return v.astype(dtype).astype(np.float64)


def _ordered_lengths(order, copies, rng):
    lengths = np.repeat(np.array(LENGTHS), copies)
    if order == "shuffled":
        return rng.permutation(lengths)
    if order == "ascending":
        return np.sort(lengths)
    if order == "descending":
        return np.sort(lengths)[::-1]
    s = np.sort(lengths)  # interleaved: shortest, longest, next shortest, ...
    out = np.empty_like(s)
    out[0::2] = s[: (len(s) + 1) // 2]
    out[1::2] = s[(len(s) + 1) // 2:][::-1]
    return out


def _sweep(rng, dtype, index_dtype, order="shuffled", copies=3):
    """(X, Y, q): rows of every length in LENGTHS; Y covers X's support
    (plus a few columns) so that KL(X || Y) is finite; q dense, positive."""
    lengths = _ordered_lengths(order, copies, rng)
    rows, yrows = [], []
    for n in lengths:
        cols = np.sort(rng.choice(N_COLS, size=int(n), replace=False))
        rows.append((cols, _values(rng, len(cols), dtype)))
        if n == 0 and rng.random() < 0.5:
            ycols = cols
        else:
            # q rows shorter and longer than 512 against p rows of every length
            k = int(rng.choice([0, 3, 30, 505, 1000]))
            extra = rng.choice(N_COLS, size=k, replace=False)
            ycols = np.union1d(cols, extra)
        yrows.append((ycols, _values(rng, len(ycols), dtype)))
    X = _from_rows(rows, N_COLS, index_dtype, dtype)
    Y = _from_rows(yrows, N_COLS, index_dtype, dtype)
    q = rng.random(N_COLS) + 0.01
    return X, Y, q


def _dense(X):
    return X.toarray().astype(np.float64)


def _snapshot(*arrays):
    out = []
    for a in arrays:
        if sp.issparse(a):
            out.append((a.data.copy(), a.indices.copy(), a.indptr.copy()))
        else:
            out.append((np.array(a, copy=True),))
    return out


def _assert_snapshot(before, *arrays):
    for snap, a in zip(before, arrays):
        now = (a.data, a.indices, a.indptr) if sp.issparse(a) else (a,)
        for x, y in zip(snap, now):
            assert x.dtype == y.dtype
            np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------------
# References (never histentropy, except on rows without mass)
# ---------------------------------------------------------------------------

def _scaled(row):
    """The row times an exact power of two that brings huge or tiny values
    near 1 (the measures do not depend on the scale)."""
    finite = row[np.isfinite(row)]
    m = finite.max() if finite.size else 0.0
    if m > 2.0 ** 900 or 0.0 < m < 2.0 ** -900:
        return np.ldexp(row, -int(np.frexp(m)[1]))
    return row


def _no_mass(row):
    return not np.any(row > 0)


def ref_entropy(D, dense_rows=(), nan_policy="propagate"):
    out = []
    for i, p in enumerate(D):
        if _no_mass(p) or i in dense_rows:
            out.append(float(histentropy.entropy(p, nan_policy=nan_policy)))
        else:
            out.append(float(scipy.stats.entropy(_scaled(p))))
    return np.array(out)


def ref_decompose_entropy(D, Q, dense_rows=(), nan_policy="propagate"):
    """The entropy field of decompose: H(p), but NaN where q has no mass (as
    for dense input, the whole decomposition is NaN then)."""
    out = ref_entropy(D, dense_rows, nan_policy)
    Q = np.broadcast_to(Q, D.shape)
    for i, (p, q) in enumerate(zip(D, Q)):
        if _no_mass(q):
            out[i] = float(histentropy.decompose(p, q, nan_policy=nan_policy).entropy)
    return out


def _per_row(D, Q, dense_rows, nan_policy, dense_function, exact):
    """exact(p, q) for each row pair, the dense function of histentropy where
    a row has no mass or is listed in dense_rows."""
    out = []
    Q = np.broadcast_to(Q, D.shape)
    for i, (p, q) in enumerate(zip(D, Q)):
        if _no_mass(p) or _no_mass(q) or i in dense_rows:
            out.append(float(dense_function(p, q, nan_policy=nan_policy)))
        else:
            out.append(exact(_scaled(p), _scaled(q)))
    return np.array(out)


def _scipy_kl(p, q):
    with np.errstate(divide="ignore"):
        return float(scipy.stats.entropy(p, q))


def _fsum_cross(p, q):
    x, y = p / p.sum(), q / q.sum()
    m = x > 0
    if np.any(y[m] == 0):
        return math.inf
    return -math.fsum(x[m] * np.log(y[m]))


def ref_kl(D, Q, dense_rows=(), nan_policy="propagate"):
    return _per_row(D, Q, dense_rows, nan_policy, histentropy.kl_divergence, _scipy_kl)


def ref_cross(D, Q, dense_rows=(), nan_policy="propagate"):
    return _per_row(D, Q, dense_rows, nan_policy, histentropy.cross_entropy, _fsum_cross)


def assert_rows(got, ref, what):
    """|got - ref| <= 1e-12 max(1, |ref|) per row; NaN for NaN, inf exactly."""
    got = np.asarray(got)
    assert got.dtype == np.float64, what
    assert got.shape == ref.shape, (what, got.shape, ref.shape)
    bad = []
    for i, (g, r) in enumerate(zip(got, ref)):
        if math.isnan(r):
            ok = math.isnan(g)
        elif math.isinf(r):
            ok = g == r
        else:
            ok = math.isfinite(g) and abs(g - r) <= RTOL * max(1.0, abs(r))
        if not ok:
            bad.append((i, float(g), float(r)))
    assert not bad, f"{what}: {len(bad)} row(s) differ, (row, got, expected): {bad[:8]}"


def _check_all(X, Y, q, Dp, Dy, label, dense_rows=(), nan_policy="propagate"):
    """Every function of X against dense q and CSR Y, per row, vs references."""
    kw = dict(axis=1, nan_policy=nan_policy)
    rk = dict(dense_rows=dense_rows, nan_policy=nan_policy)
    assert_rows(histentropy.entropy(X, **kw), ref_entropy(Dp, **rk), f"{label} entropy")
    for name, Q, Dq in (("dense q", q, q), ("CSR q", Y, Dy)):
        kl = ref_kl(Dp, Dq, **rk)
        assert_rows(histentropy.kl_divergence(X, Q, **kw), kl, f"{label} KL vs {name}")
        dec = histentropy.decompose(X, Q, **kw)
        assert_rows(dec.kl_divergence, kl, f"{label} decompose.kl_divergence vs {name}")
        assert_rows(dec.entropy, ref_decompose_entropy(Dp, Dq, **rk),
                    f"{label} decompose.entropy vs {name}")
        assert_rows(dec.cross_entropy, ref_cross(Dp, Dq, **rk),
                    f"{label} decompose.cross_entropy vs {name}")


def _seed_of(*parts):
    """A reproducible seed from the parameters (str hashes are salted)."""
    return sum((i + 1) * sum(str(p).encode()) for i, p in enumerate(parts)) % (2 ** 32)


# ---------------------------------------------------------------------------
# 1. Row-length sweep
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", DATA_DTYPES)
def test_row_length_sweep(dtype, index_dtype, order):
    rng = np.random.default_rng(_seed_of("sweep", np.dtype(dtype), np.dtype(index_dtype), order))
    X, Y, q = _sweep(rng, dtype, index_dtype, order)
    assert X.data.dtype == dtype and X.indices.dtype == index_dtype
    Dp, Dy = _dense(X), _dense(Y)
    label = f"{np.dtype(dtype)}/{np.dtype(index_dtype)}/{order}"
    _check_all(X, Y, q, Dp, Dy, label)
    if dtype is not np.float64:
        # float64 reference rows against non-float64 p (the common dtype is
        # float64: the segmented KL pass after conversion)
        Y64 = Y.astype(np.float64)
        kl = ref_kl(Dp, Dy)
        assert_rows(histentropy.kl_divergence(X, Y64, axis=1), kl, f"{label} KL vs CSR64")
        qd = (q * 100).astype(dtype)
        assert_rows(histentropy.kl_divergence(X, qd, axis=1),
                    ref_kl(Dp, qd.astype(np.float64)), f"{label} KL vs q {np.dtype(dtype)}")


def test_sweep_has_every_length():
    rng = np.random.default_rng(1)
    X, _, _ = _sweep(rng, np.float64, np.int32)
    assert sorted(set(np.diff(X.indptr).tolist())) == sorted(LENGTHS)


# ---------------------------------------------------------------------------
# 2. Special rows among ordinary rows
# ---------------------------------------------------------------------------

SPECIAL_COLS = 300


def _special_matrix(rng, index_dtype, shuffle):
    """(X, Y, q, names): special rows interleaved with ordinary rows; names[i]
    tells what row i is."""
    n = SPECIAL_COLS
    q = rng.random(n) + 0.1
    zero_cols = np.sort(rng.choice(n, size=5, replace=False))
    tiny_col = zero_cols[-1]  # a subnormal value of q that only one row uses
    zero_cols = zero_cols[:-1]
    q[zero_cols] = 0.0
    q[tiny_col] = 1e-310
    good = np.setdiff1d(np.arange(n), np.append(zero_cols, tiny_col))

    def some(k):
        return np.sort(rng.choice(good, size=k, replace=False))

    def ordinary():
        c = some(int(rng.integers(1, 200)))
        v = rng.random(len(c)) * 10 + 0.01
        yc = np.union1d(c, some(5))
        return (c, v), (yc, rng.random(len(yc)) + 0.01)

    specials = {}
    # p > 0 where the dense q is 0: KL vs q is +inf (vs Y finite)
    c = np.union1d(some(20), zero_cols[:1])
    specials["inf_dense"] = ((c, rng.random(len(c)) + 0.1), (c, rng.random(len(c)) + 0.1))
    # Y misses a column of p: KL vs Y is +inf (vs q finite)
    c = some(30)
    specials["inf_csr"] = ((c, rng.random(len(c)) + 0.1),
                           (np.delete(c, 13), rng.random(len(c) - 1) + 0.1))
    # the Y row is empty: no mass, NaN
    c = some(12)
    specials["q_empty"] = ((c, rng.random(len(c)) + 0.1), ([], []))
    # nearly deterministic: entropy ~1e-13 (the one-pass value is inaccurate)
    c = some(4)
    v = np.array([1e12, 1e-3, 1e-3, 1e-3])
    specials["deterministic"] = ((c, v), (c, rng.random(4) + 0.1))
    c = some(40)
    v = np.full(40, 1e-3)
    v[17] = 1e12
    specials["deterministic40"] = ((c, v), (c, rng.random(40) + 0.1))
    # nearly equal to q (and to its Y row): KL ~ 1e-10
    v = q[good] * (1 + 1.4e-5 * rng.standard_normal(len(good)))
    specials["near_q"] = ((good, v), (good, q[good].copy()))
    # explicit stored zeros, one where q is 0 (no inf), and zeros in Y where p is absent
    c = np.union1d(some(25), zero_cols[1:3])
    v = rng.random(len(c)) + 0.1
    v[np.isin(c, zero_cols)] = 0.0
    v[::5] = 0.0
    yc = np.union1d(c, some(6))
    yv = rng.random(len(yc)) + 0.1
    yv[~np.isin(yc, c[v > 0])] = 0.0
    specials["stored_zeros"] = ((c, v), (yc, yv))
    c = some(9)
    specials["only_zeros"] = ((c, np.zeros(9)), (c, rng.random(9) + 0.1))
    # totals below 2**-600 (subnormal values)
    c = some(20)
    specials["subnormal"] = ((c, 1e-310 * (1 + rng.random(20))), (c, rng.random(20) + 0.1))
    specials["subnormal_q"] = ((c, rng.random(20) + 0.1), (c, 1e-310 * (1 + rng.random(20))))
    # a subnormal ratio p/q next to ordinary ones
    c = some(16)
    v = rng.random(16) + 0.5
    v[5] = 1e-310
    specials["tiny_ratio"] = ((c, v), (c, rng.random(16) + 0.1))
    # a ratio p/q above the double range: q subnormal where p is ~1
    c = np.union1d(some(10), [tiny_col])
    yv = rng.random(len(c)) + 0.1
    yv[c == tiny_col] = 1e-310
    specials["huge_ratio"] = ((c, rng.random(len(c)) + 0.5), (c, yv))
    # totals just inside and just outside [2**-600, 2**600]
    for name, bound in (("low", 2.0 ** -600), ("high", 2.0 ** 600)):
        for f in (0.75, 1.25):
            c = some(12)
            v = rng.random(12) + 0.1
            v *= bound * f / v.sum()
            yv = rng.random(12) + 0.1
            specials[f"{name}_{f}"] = ((c, v), (c, yv * bound * (2.0 - f) / yv.sum()))
    # totals above 2**600 that overflow
    c = some(8)
    specials["huge"] = ((c, 5e307 * (1 + rng.random(8))), (c, 4e307 * (1 + rng.random(8))))
    # NaN (propagate: NaN in this row only; omit: as the dense function)
    c = some(33)
    v = rng.random(33) + 0.1
    v[7] = np.nan
    specials["nan"] = ((c, v), (c, rng.random(33) + 0.1))
    specials["empty"] = (([], []), (some(3), [1.0, 2.0, 3.0]))
    c = some(1)
    specials["single"] = ((c, [3.5]), (c, [0.25]))

    kinds = list(specials)
    if shuffle:
        kinds = list(rng.permutation(kinds))
    rows, yrows, names = [], [], []
    for kind in kinds:
        for _ in range(int(rng.integers(1, 3))):
            p, y = ordinary()
            rows.append(p)
            yrows.append(y)
            names.append("ordinary")
        rows.append(specials[kind][0])
        yrows.append(specials[kind][1])
        names.append(kind)
    p, y = ordinary()
    rows.append(p)
    yrows.append(y)
    names.append("ordinary")
    X = _from_rows(rows, n, index_dtype)
    Y = _from_rows(yrows, n, index_dtype)
    return X, Y, q, names


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_special_rows(index_dtype, nan_policy, shuffle, exact):
    rng = np.random.default_rng(_seed_of("special", np.dtype(index_dtype), shuffle))
    X, Y, q, names = _special_matrix(rng, index_dtype, shuffle)
    Dp, Dy = _dense(X), _dense(Y)
    row = {k: names.index(k) for k in names if k != "ordinary"}
    assert X.nnz > np.count_nonzero(np.nan_to_num(X.data, nan=1.0))  # stored zeros kept
    _check_all(X, Y, q, Dp, Dy, f"special/{nan_policy}", dense_rows={row["nan"]},
               nan_policy=nan_policy)

    kw = dict(axis=1, nan_policy=nan_policy)
    h = histentropy.entropy(X, **kw)
    kl_q = histentropy.kl_divergence(X, q, **kw)
    kl_y = histentropy.kl_divergence(X, Y, **kw)
    # the special values, explicitly
    assert kl_q[row["inf_dense"]] == np.inf and np.isfinite(kl_y[row["inf_dense"]])
    assert kl_y[row["inf_csr"]] == np.inf and np.isfinite(kl_q[row["inf_csr"]])
    assert np.isnan(kl_y[row["q_empty"]]) and np.isfinite(kl_q[row["q_empty"]])
    assert np.isfinite(kl_q[row["stored_zeros"]]) and np.isfinite(kl_y[row["stored_zeros"]])
    for k in ("only_zeros", "empty"):
        assert np.isnan(h[row[k]]) and np.isnan(kl_q[row[k]]) and np.isnan(kl_y[row[k]])
    for k in ("huge", "subnormal", "subnormal_q", "tiny_ratio", "huge_ratio", "low_0.75",
              "low_1.25", "high_0.75", "high_1.25"):
        assert np.isfinite(h[row[k]]) and np.isfinite(kl_y[row[k]]), k
    if nan_policy == "propagate":
        no_mass = [row["nan"], row["only_zeros"], row["empty"]]
        assert np.flatnonzero(np.isnan(h)).tolist() == sorted(no_mass)
        assert np.flatnonzero(np.isnan(kl_q)).tolist() == sorted(no_mass)
        assert np.flatnonzero(np.isnan(kl_y)).tolist() == sorted(no_mass + [row["q_empty"]])
    else:
        assert np.isfinite(h[row["nan"]]) and np.isfinite(kl_q[row["nan"]])

    # the ratio out of range, against mpmath
    p = Dp[row["huge_ratio"]]
    for got, ref in ((kl_q, q), (kl_y, Dy[row["huge_ratio"]])):
        want = exact.kl_divergence(p, ref)
        assert float(want) > 10
        exact.assert_close(got[row["huge_ratio"]], want, what="huge_ratio")

    # near-zero results, to relative accuracy against mpmath
    for k in ("deterministic", "deterministic40"):
        p = Dp[row[k]]
        want = exact.entropy(p[p != 0])
        assert 0 < float(want) < 1e-11
        exact.assert_close(h[row[k]], want, what=k)
        exact.assert_rel(h[row[k]], want, 1e-6, what=k)
    p = Dp[row["near_q"]]
    for got, ref in ((kl_q, q), (kl_y, Dy[row["near_q"]])):
        want = exact.kl_divergence(p, ref)
        assert 1e-12 < float(want) < 1e-9
        g = got[row["near_q"]]
        assert g >= 0
        exact.assert_close(g, want, what="near_q")
        exact.assert_rel(g, want, 1e-6, what="near_q")


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_nan_propagate_only_in_its_row(index_dtype):
    rng = np.random.default_rng(7)
    X, Y, q = _sweep(rng, np.float64, index_dtype, copies=2)
    lengths = np.diff(X.indptr)
    for r in (int(np.flatnonzero(lengths == 9)[0]), int(np.flatnonzero(lengths == 2000)[0])):
        Xn = X.copy()
        Xn.data[X.indptr[r] + 3] = np.nan
        clean = (histentropy.entropy(X, axis=1), histentropy.kl_divergence(X, q, axis=1),
                 histentropy.kl_divergence(X, Y, axis=1))
        dirty = (histentropy.entropy(Xn, axis=1), histentropy.kl_divergence(Xn, q, axis=1),
                 histentropy.kl_divergence(Xn, Y, axis=1))
        empty = set(np.flatnonzero(lengths == 0).tolist())
        for c, d in zip(clean, dirty):
            assert np.flatnonzero(np.isnan(d)).tolist() == sorted(empty | {r})
            others = np.arange(len(d)) != r
            np.testing.assert_array_equal(c[others], d[others])
        omit = histentropy.entropy(Xn, axis=1, nan_policy="omit")
        Dn = _dense(Xn)
        assert_rows(omit[[r]], np.array([float(histentropy.entropy(Dn[r], nan_policy="omit"))]),
                    "omit")
        assert math.isclose(omit[r], scipy.stats.entropy(np.nan_to_num(Dn[r])),
                            rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_overflowing_totals(index_dtype):
    """p = [1e308, 1e308, 5e307], q = [1e308, 5e307, 1e308]: KL = 0.2 log 2."""
    expected = 0.2 * math.log(2.0)  # 0.13862943611198905
    p_big = np.array([1e308, 1e308, 5e307])
    q_big = np.array([1e308, 5e307, 1e308])
    dense_kl = float(histentropy.kl_divergence(p_big, q_big))
    assert math.isclose(dense_kl, expected, rel_tol=1e-12)

    # CSR vs dense: three columns, overflow row among ordinary and empty rows
    P = np.array([[1.0, 2.0, 3.0], p_big, [0.0, 0.0, 0.0], [5e307, 0.0, 1e308],
                  [1e308, 1e308, 1e308], [0.5, 0.0, 0.25], p_big])
    S = sp.csr_array(P)
    X = _csr(S.data, S.indices, S.indptr, P.shape, index_dtype)
    kl = histentropy.kl_divergence(X, q_big, axis=1)
    assert np.isfinite(kl[1]) and np.isfinite(kl[6])
    assert math.isclose(kl[1], expected, rel_tol=1e-12)
    assert kl[1] == kl[6]
    assert_rows(kl, ref_kl(P, q_big), "CSR vs dense overflow")
    assert_rows(kl[[1]], np.array([dense_kl]), "CSR vs dense overflow vs dense histentropy")
    dec = histentropy.decompose(X, q_big, axis=1)
    assert_rows(dec.kl_divergence, ref_kl(P, q_big), "decompose overflow")
    assert_rows(dec.entropy, ref_entropy(P), "decompose entropy overflow")
    assert_rows(histentropy.entropy(X, axis=1), ref_entropy(P), "entropy overflow")

    # CSR vs CSR in a wide matrix: the overflow row among rows of every length
    rng = np.random.default_rng(_seed_of("overflow", np.dtype(index_dtype)))
    Xw, Yw, q = _sweep(rng, np.float64, index_dtype, copies=1)
    Dp, Dy = _dense(Xw), _dense(Yw)
    cols = np.sort(rng.choice(N_COLS, 3, replace=False))
    for at in (0, 5, Dp.shape[0]):
        Pw = np.insert(Dp, at, 0.0, axis=0)
        Qw = np.insert(Dy, at, 0.0, axis=0)
        Pw[at, cols] = p_big
        Qw[at, cols] = q_big
        S, T = sp.csr_array(Pw), sp.csr_array(Qw)
        Xo = _csr(S.data, S.indices, S.indptr, S.shape, index_dtype)
        Yo = _csr(T.data, T.indices, T.indptr, T.shape, index_dtype)
        kl = histentropy.kl_divergence(Xo, Yo, axis=1)
        assert np.isfinite(kl[at]) and math.isclose(kl[at], expected, rel_tol=1e-12)
        assert_rows(kl, ref_kl(Pw, Qw), f"CSR vs CSR overflow at row {at}")
        dec = histentropy.decompose(Xo, Yo, axis=1)
        assert_rows(dec.kl_divergence, ref_kl(Pw, Qw), "decompose CSR overflow")
        assert_rows(dec.entropy, ref_decompose_entropy(Pw, Qw), "decompose CSR overflow entropy")
        assert_rows(dec.cross_entropy, ref_cross(Pw, Qw), "decompose CSR overflow cross")


@pytest.mark.parametrize("length", [8, 600])
@pytest.mark.parametrize("value", [-1.0, -1e-300, np.inf, -np.inf])
def test_bad_values_raise(value, length):
    rng = np.random.default_rng(3)
    X, Y, q = _sweep(rng, np.float64, np.int32, copies=1)
    cols = np.sort(rng.choice(N_COLS, length, replace=False))
    clean = _from_rows([(cols, rng.random(length) + 0.1)] * 3, N_COLS, np.int32)
    bad = clean.copy()
    bad.data[bad.indptr[1] + length - 1] = value
    Xb = sp.csr_array(sp.vstack([X, bad, X]))
    Xg = sp.csr_array(sp.vstack([X, clean, X]))
    Yg = sp.csr_array(sp.vstack([Y, clean, Y]))
    assert (Xb.data == value).sum() == 1
    calls = {
        "entropy": lambda: histentropy.entropy(Xb, axis=1),
        "kl dense": lambda: histentropy.kl_divergence(Xb, q, axis=1),
        "kl csr": lambda: histentropy.kl_divergence(Xb, Yg, axis=1),
        "decompose dense": lambda: histentropy.decompose(Xb, q, axis=1),
        "decompose csr": lambda: histentropy.decompose(Xb, Yg, axis=1),
        "bad q csr": lambda: histentropy.kl_divergence(Xg, Xb, axis=1),
        "bad q decompose": lambda: histentropy.decompose(Xg, Xb, axis=1),
    }
    for what, call in calls.items():
        with pytest.raises(ValueError):
            call()
            pytest.fail(f"{what} did not raise")
    # the clean matrices are fine
    assert np.isfinite(histentropy.kl_divergence(Xg, Yg, axis=1)[len(LENGTHS):][:3]).all()


# ---------------------------------------------------------------------------
# 3. Independent of workers and of CSR axis=1 vs CSC axis=0
# ---------------------------------------------------------------------------

def _all_results(X, Y, q, axis, workers, nan_policy="propagate"):
    kw = dict(axis=axis, workers=workers, nan_policy=nan_policy)
    out = [histentropy.entropy(X, **kw), histentropy.kl_divergence(X, q, **kw),
           histentropy.kl_divergence(X, Y, **kw)]
    out += list(histentropy.decompose(X, q, **kw)) + list(histentropy.decompose(X, Y, **kw))
    return out


@pytest.mark.parametrize("case", ["sweep64", "sweep32", "sweep_int32", "sweep_int64", "special"])
def test_workers_and_layout_give_identical_results(case):
    rng = np.random.default_rng(_seed_of("workers", case))
    if case == "special":
        X, Y, q, _ = _special_matrix(rng, np.int64, True)
        X = sp.csr_array(sp.vstack([X] * 20))
        Y = sp.csr_array(sp.vstack([Y] * 20))
        X.indices = X.indices.astype(np.int64)
        X.indptr = X.indptr.astype(np.int64)
    else:
        dtype = {"sweep64": np.float64, "sweep32": np.float32, "sweep_int32": np.int32,
                 "sweep_int64": np.int64}[case]
        X, Y, q = _sweep(rng, dtype, np.int32, copies=25)
    assert X.nnz >= 1 << 16 or case == "special"
    base = _all_results(X, Y, q, 1, 1)
    if case != "special":  # many rows of every length: also against the references
        Dp = _dense(X)
        assert_rows(base[0], ref_entropy(Dp), f"{case} entropy")
        assert_rows(base[1], ref_kl(Dp, q), f"{case} KL vs dense q")
        assert_rows(base[2], ref_kl(Dp, _dense(Y)), f"{case} KL vs CSR")
    for workers in (2, None, -1):
        for a, b in zip(base, _all_results(X, Y, q, 1, workers)):
            np.testing.assert_array_equal(a, b, err_msg=f"workers={workers}")
    # the transpose as CSC (the same arrays), histograms along axis 0
    XT, YT = X.T, Y.T
    assert XT.format == "csc" and YT.format == "csc"
    for workers in (1, 2, None):
        for a, b in zip(base, _all_results(XT, YT, q[:, None], 0, workers)):
            np.testing.assert_array_equal(a, b, err_msg=f"CSC axis=0 workers={workers}")
    # and a CSC built from the dense transpose
    # (without the explicit zeros of the special rows, which move lanes: to 1e-12)
    XC = sp.csc_array(X.toarray().T)
    YC = sp.csc_array(Y.toarray().T)
    for a, b in zip(base, _all_results(XC, YC, q[:, None], 0, 2)):
        if case == "special":
            np.testing.assert_allclose(b, a, rtol=RTOL, atol=0, equal_nan=True)
        else:
            np.testing.assert_array_equal(a, b, err_msg="csc_array(X.T) axis=0")


# ---------------------------------------------------------------------------
# 4. check_rows
# ---------------------------------------------------------------------------

def ref_check_rows(indices, indptr, n_cols, n_data):
    indices = [int(v) for v in indices]
    indptr = [int(v) for v in indptr]
    if len(indptr) < 1:
        return 3
    top = min(n_data, len(indices))
    if any(v < 0 or v > top for v in indptr):
        return 3
    if any(b < a for a, b in zip(indptr, indptr[1:])):
        return 3
    if any(c < 0 or c >= n_cols for c in indices[indptr[0]:indptr[-1]]):
        return 2
    for lo, hi in zip(indptr, indptr[1:]):
        row = indices[lo:hi]
        if any(b <= a for a, b in zip(row, row[1:])):
            return 1
    return 0


def _check(indices, indptr, n_cols, n_data=None, index_dtype=np.int64):
    indices = np.ascontiguousarray(indices, dtype=index_dtype)
    indptr = np.ascontiguousarray(indptr, dtype=index_dtype)
    if n_data is None:
        n_data = len(indices)
    before = (indices.copy(), indptr.copy())
    got = _sparse.check_rows(indices, indptr, n_cols, n_data)
    np.testing.assert_array_equal(before[0], indices)
    np.testing.assert_array_equal(before[1], indptr)
    return got


def _structure(rows):
    indices = [c for r in rows for c in r]
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).tolist()
    return indices, indptr


# rows: empty at the start, in the middle (between a row start descent) and
# at the end; a row start below the previous row's last column across empty
# rows, equal to it across none, and equal to it across empty rows.
BASE_ROWS = [[], [1, 4, 9], [], [], [0, 2], [2, 3], [5], [], [], [5, 6], [0], []]
BASE_COLS = 10


def _mutated(kind):
    rows = [list(r) for r in BASE_ROWS]
    n_cols, n_data = BASE_COLS, None
    indices, indptr = _structure(rows)
    if kind == "duplicate":
        rows[1] = [1, 4, 4]
    elif kind == "swap":
        rows[1] = [4, 1, 9]
    elif kind == "swap_after_start":
        rows[4] = [2, 0]
    elif kind == "swap_last":
        rows[9] = [6, 5]
    elif kind == "duplicate_after_empty":
        rows[4] = [0, 0]
    elif kind == "negative":
        rows[5] = [-1, 3]
    elif kind == "too_large":
        rows[9] = [5, BASE_COLS]
    if kind not in ("decreasing_indptr", "indptr_too_large", "n_data_small",
                    "negative_indptr"):
        indices, indptr = _structure(rows)
    if kind == "decreasing_indptr":
        indptr[6] = indptr[5] - 1
    elif kind == "indptr_too_large":
        indptr[-1] = len(indices) + 1
    elif kind == "negative_indptr":
        indptr[0] = -1
    elif kind == "n_data_small":
        n_data = len(indices) - 1
    return indices, indptr, n_cols, n_data


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("kind,expected", [
    ("none", 0), ("duplicate", 1), ("swap", 1), ("swap_after_start", 1), ("swap_last", 1),
    ("duplicate_after_empty", 1), ("negative", 2), ("too_large", 2),
    ("decreasing_indptr", 3), ("indptr_too_large", 3), ("negative_indptr", 3),
    ("n_data_small", 3),
])
def test_check_rows_cases(kind, expected, index_dtype):
    indices, indptr, n_cols, n_data = _mutated(kind)
    assert ref_check_rows(indices, indptr, n_cols,
                          len(indices) if n_data is None else n_data) == expected
    assert _check(indices, indptr, n_cols, n_data, index_dtype) == expected


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_check_rows_edges(index_dtype):
    c = lambda *a, **k: _check(*a, index_dtype=index_dtype, **k)  # noqa: E731
    assert c([], [0], 5) == 0                      # no rows
    assert c([], [0, 0, 0], 5) == 0                # only empty rows
    assert c([3], [0, 0, 1, 1], 5) == 0
    assert c([4, 0], [0, 1, 1, 1, 2], 5) == 0      # descent at a start after empty rows
    assert c([4, 4], [0, 1, 1, 2], 5) == 0         # equal at a start after an empty row
    assert c([4, 4], [0, 2], 5) == 1
    assert c([4, 0, 0], [0, 1, 1, 3], 5) == 1      # start not a descent, the next is
    assert c([2, 1, 0], [0, 1, 2, 3], 5) == 0      # every value a row start
    assert c([2, 1, 0], [0, 1, 1, 1, 2, 2, 3, 3], 5) == 0
    # stored values not starting at 0, and junk after indptr[-1] (in range)
    assert c([7, 0, 1, 2, 9, 1], [1, 3, 4], 10) == 0
    assert c([7, 1, 0, 2], [1, 3, 4], 10) == 1
    assert c([7, 0, 1, 2], [1, 3, 4], 10, n_data=3) == 3
    assert c([0, 1, 2], [0, 3], 3) == 0
    assert c([0, 1, 3], [0, 3], 3) == 2


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_check_rows_every_position(index_dtype):
    """A descent, an index out of range, at every position of long rows; a
    descent at row boundaries at every position (vectorised scans)."""
    c = lambda *a, **k: _check(*a, index_dtype=index_dtype, **k)  # noqa: E731
    n = 70
    for pos in range(n):
        cols = np.arange(n) * 2
        # one long row
        for value, expected in ((cols[pos - 1] if pos else None, 1), (-1, 2), (2 * n, 2),
                                (-(2 ** 31) + 1, 2), (2 ** 31 - 1, 2)):
            if value is None:
                continue
            bad = cols.copy()
            bad[pos] = value
            want = ref_check_rows(bad, [0, n], 2 * n, n)
            assert want == expected
            assert c(bad, [0, n], 2 * n) == expected, (pos, value)
        # two rows split at pos, the second starting at a lower column (with
        # and without empty rows in between, and empty rows around)
        if 0 < pos:
            two = np.concatenate([cols[:pos], cols[pos:] - cols[pos] + (pos % 3)])
            for indptr in ([0, pos, n], [0, pos, pos, pos, n], [0, 0, pos, pos, n, n]):
                want = ref_check_rows(two, indptr, 2 * n, n)
                assert c(two, indptr, 2 * n) == want == 0, (pos, indptr)
            # and a real descent right after that row start
            if pos + 1 < n:
                three = two.copy()
                three[pos + 1] = three[pos]
                assert c(three, [0, pos, pos, n], 2 * n) == 1, pos
                # the real descent at pos, no row start there
                assert c(two, [0, max(pos - 1, 0), n], 2 * n) == (1 if pos > 1 else 0) \
                    == ref_check_rows(two, [0, max(pos - 1, 0), n], 2 * n, n)


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_check_rows_random(index_dtype):
    rng = np.random.default_rng(_seed_of("check_rows", np.dtype(index_dtype)))
    counts = {0: 0, 1: 0, 2: 0, 3: 0}
    for trial in range(1500):
        n_rows = int(rng.integers(0, 25))
        n_cols = int(rng.integers(1, 12)) if trial % 3 else int(rng.integers(1, 3000))
        p_empty = rng.choice([0.0, 0.3, 0.7])
        rows = []
        for _ in range(n_rows):
            if rng.random() < p_empty:
                rows.append([])
            else:
                k = int(rng.integers(1, min(n_cols, 40) + 1))
                rows.append(sorted(rng.choice(n_cols, size=k, replace=False).tolist()))
        indices, indptr = _structure(rows)
        n_data = len(indices)
        mutation = rng.integers(0, 10)
        nnz = len(indices)
        if mutation == 1 and nnz >= 2:            # swap two neighbours (maybe across rows)
            j = int(rng.integers(1, nnz))
            indices[j - 1], indices[j] = indices[j], indices[j - 1]
        elif mutation == 2 and nnz >= 2:          # copy the previous value
            j = int(rng.integers(1, nnz))
            indices[j] = indices[j - 1]
        elif mutation == 3 and nnz:               # out of range
            indices[int(rng.integers(0, nnz))] = int(rng.choice([-1, n_cols, n_cols + 7]))
        elif mutation == 4 and n_rows:            # indptr
            indptr[int(rng.integers(0, n_rows + 1))] += int(rng.choice([-1, 1]))
        elif mutation == 5:                       # n_data or junk after the stored values
            if rng.random() < 0.5:
                n_data = max(0, nnz - int(rng.integers(0, 3)))
            else:
                indices = indices + rng.integers(0, n_cols, 3).tolist()
                n_data = len(indices)
        elif mutation == 6 and nnz:               # shuffle one row
            r = int(rng.integers(0, n_rows))
            lo, hi = indptr[r], indptr[r + 1]
            indices[lo:hi] = rng.permutation(indices[lo:hi]).tolist()
        want = ref_check_rows(indices, indptr, n_cols, n_data)
        got = _check(indices, indptr, n_cols, n_data, index_dtype)
        assert got == want, (indices, indptr, n_cols, n_data)
        counts[want] += 1
    assert all(v > 20 for v in counts.values()), counts


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_check_rows_of_sweep_matrices(index_dtype):
    rng = np.random.default_rng(11)
    X, _, _ = _sweep(rng, np.float64, index_dtype)
    assert _check(X.indices, X.indptr, N_COLS, X.nnz, index_dtype) == 0
    lengths = np.diff(X.indptr)
    for n in (8, 9, 16, 17, 512, 513, 2000):
        r = int(np.flatnonzero(lengths == n)[0])
        lo = int(X.indptr[r])
        for j in (lo + 1, lo + n // 2, lo + n - 1):
            bad = X.indices.copy()
            bad[j - 1], bad[j] = bad[j], bad[j - 1]
            assert _check(bad, X.indptr, N_COLS, X.nnz, index_dtype) == 1, (n, j)
    # the matrix is handled as unsorted: the results equal the sorted ones
    bad = X.copy()
    r = int(np.flatnonzero(lengths == 100)[0])
    lo = int(X.indptr[r])
    bad.indices[lo], bad.indices[lo + 1] = bad.indices[lo + 1], bad.indices[lo]
    bad.data[lo], bad.data[lo + 1] = bad.data[lo + 1], bad.data[lo]
    bad.has_sorted_indices = False
    bad.has_canonical_format = False
    np.testing.assert_array_equal(histentropy.entropy(bad, axis=1),
                                  histentropy.entropy(X, axis=1))


# ---------------------------------------------------------------------------
# 5. Inputs are not modified
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_inputs_are_not_modified(dtype, index_dtype):
    rng = np.random.default_rng(_seed_of("unmodified", np.dtype(dtype), np.dtype(index_dtype)))
    X, Y, q = _sweep(rng, dtype, index_dtype, copies=1)
    # an unsorted row and a duplicate in Y (canonical copies must stay private)
    U = Y.copy()
    lengths = np.diff(U.indptr)
    r = int(np.flatnonzero(lengths > 20)[0])
    lo = int(U.indptr[r])
    U.indices[lo], U.indices[lo + 1] = U.indices[lo + 1], U.indices[lo]
    U.has_sorted_indices = False
    U.has_canonical_format = False
    Xn = X.copy()
    if Xn.data.dtype.kind == "f":
        Xn.data[5] = np.nan
    arrays = (X, Y, U, Xn, q)
    before = _snapshot(*arrays)
    for P in (X, Xn):
        for policy in ("propagate", "omit"):
            histentropy.entropy(P, axis=1, nan_policy=policy)
            for Q in (q, Y, U):
                histentropy.kl_divergence(P, Q, axis=1, nan_policy=policy)
                histentropy.decompose(P, Q, axis=1, nan_policy=policy)
            histentropy.kl_divergence(P.T, U.T, axis=0, nan_policy=policy, workers=2)
    histentropy.kl_divergence(X, q.reshape(1, -1), axis=1)
    _assert_snapshot(before, *arrays)
    assert not U.has_sorted_indices
