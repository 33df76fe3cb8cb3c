"""Batches of tables, axes, keepdims, workers, and dense against sparse.

* A dense batch gives, per table, exactly the single-table call on that
  table (every function, in bits, every normalisation), also when the batch
  holds a table without mass, a NaN table, a table whose totals are beyond
  the double range, a near-independent, a tiny, a permutation or a constant
  table (no table changes the others' results); the result is a float64
  array of the batch shape.
* ``axes`` in any positions of 3-D and 4-D arrays, negative and reversed
  (reversed: the transposed table), e.g. axes=(0, 2) on a (5, 3, 4) array
  gives shape (3,); ``keepdims`` keeps the two table axes as length 1 (a
  single 2-D table, dense or sparse, gives a (1, 1) array).
* Empty batches (shape (0, m, n)) give empty results; tables with no cells
  ((m, 0), (0, n)) give NaN.
* The issue's example: 1e4 tables of 16 x 16 in one call (also against
  scikit-learn's mutual_info_score on a sample of them).
* workers=1, 2 and -1 give equal results (bit for bit) on a batch large
  enough to be split across threads, and on a sparse table.
* Near-independent tables in a batch: I(X; Y) within 1e-9 relative of the
  exact value, never negative.
* Dense and sparse (csr, csc, coo, matrix and array) give the same answers on
  the same table to 1e-12 * max(1, |v|).
"""
import itertools

import numpy as np
import pytest

import histentropy


def _variants(jt):
    """(function, keywords) for every result to compare."""
    out = [(f, {}) for f in jt.FUNCTIONS] + [(f, {"base": 2}) for f in jt.FUNCTIONS]
    out += [("mutual_information", {"normalized": m}) for m in jt.NORMALIZATIONS]
    return out


def _same(a, b):
    """Equal to rounding: a batch runs the batched kernels, a single table
    the 1-D ones (which may differ in the last few ulp)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-14, atol=0.0, equal_nan=True)


def _batch(rng, jt, dtype):
    k = 8 if jt.FULL else 5
    B = np.stack([jt.random_table(rng, (k, k + 1), dtype) for _ in range(6)])
    return B


@pytest.mark.parametrize("dtype", ["int64", "float64", "float32"])
def test_batch_equals_single(jt, dtype):
    rng = np.random.default_rng(12)
    B = _batch(rng, jt, dtype)
    B[2] = 0  # no mass
    if dtype != "int64":
        B[3, 1, 2] = np.nan
    fails = []
    for f, kw in _variants(jt):
        got = jt.call(f, B, **kw)
        if not (isinstance(got, np.ndarray) and got.dtype == np.float64
                and got.shape == (B.shape[0],)):
            fails.append(f"{f}{kw}: result {got!r}, want float64 of shape ({B.shape[0]},)")
            continue
        single = np.array([jt.call(f, t, **kw) for t in B])
        if not _same(got, single):
            fails.append(f"{f}{kw}: batch {got!r} != single calls {single!r}")
        if not np.isnan(got[2]):
            fails.append(f"{f}{kw}: table without mass gave {got[2]!r}")
        if dtype != "int64" and not np.isnan(got[3]):
            fails.append(f"{f}{kw}: NaN table gave {got[3]!r}")
        others = np.delete(got, [2, 3])
        if np.any(np.isnan(others)) or np.any(others < 0):
            fails.append(f"{f}{kw}: {others!r} (NaN or negative)")
    jt.assert_no_fails(fails)


def test_batch_mixed_hard_tables(jt):
    """Hard tables of one shape in one batch: each as its single call."""
    rng = np.random.default_rng(4)
    k = 6
    tables = [
        jt.near_independent(rng, k, k),
        (rng.random((k, k)) + 0.5) * 1e308,       # totals beyond the double range
        rng.random((k, k)) * 1e-300,
        np.eye(k),
        np.full((k, k), 2.0),
        np.zeros((k, k)),
        jt.random_table(rng, (k, k), np.float64),
    ]
    B = np.stack(tables)
    fails = []
    for f, kw in _variants(jt):
        got = jt.call(f, B, **kw)
        single = np.array([jt.call(f, t, **kw) for t in B])
        if not _same(got, single):
            with np.errstate(invalid="ignore"):
                bad = np.flatnonzero(~((got == single) | (np.isnan(got) & np.isnan(single))))
            fails.append(f"{f}{kw}: batch != single calls at tables {bad.tolist()}: "
                         f"{got[bad].tolist()} vs {single[bad].tolist()}")
    jt.assert_no_fails(fails)


AXES_CASES = [
    # (shape, axes, result shape)
    ((5, 3, 4), (0, 2), (3,)),
    ((5, 3, 4), (2, 0), (3,)),
    ((5, 3, 4), (-3, -1), (3,)),
    ((5, 3, 4), (1, 2), (5,)),
    ((5, 3, 4), (2, 1), (5,)),
    ((5, 3, 4), (0, 1), (4,)),
    ((5, 3, 4), (1, 0), (4,)),
    ((4, 2, 3, 5), (0, 2), (2, 5)),
    ((4, 2, 3, 5), (3, 1), (4, 3)),
    ((4, 2, 3, 5), (-1, 0), (2, 3)),
    ((4, 2, 3, 5), (2, 3), (4, 2)),
    ((2, 3, 1, 4), (1, 3), (2, 1)),
]


@pytest.mark.parametrize("shape, axes, want_shape", AXES_CASES,
                         ids=[f"{s}-{a}" for s, a, _ in AXES_CASES])
@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_axes_positions(jt, shape, axes, want_shape, dtype):
    rng = np.random.default_rng(len(shape) * 10 + axes[0] * 3 + axes[1])
    J = jt.random_table(rng, shape, dtype, zeros=0.2)
    ax = tuple(a % len(shape) for a in axes)
    batch_axes = [d for d in range(len(shape)) if d not in ax]
    fails = []
    for f, kw in _variants(jt):
        got = jt.call(f, J, axes=axes, **kw)
        if not (isinstance(got, np.ndarray) and got.dtype == np.float64
                and got.shape == want_shape):
            fails.append(f"{f}{kw}: result {got!r}, want float64 of shape {want_shape}")
            continue
        for index in itertools.product(*(range(shape[d]) for d in batch_axes)):
            # the table: X along axes[0], Y along axes[1]
            t = np.moveaxis(J, ax, (0, 1))[(slice(None), slice(None)) + index]
            want = jt.call(f, np.ascontiguousarray(t), **kw)
            if not abs(got[index] - want) <= 1e-12 * max(1.0, abs(want)):
                fails.append(f"{f}{kw}{index}: {got[index]!r} != single call {want!r}")
        kept = jt.call(f, J, axes=axes, keepdims=True, **kw)
        want_kept = tuple(1 if d in ax else shape[d] for d in range(len(shape)))
        if not (isinstance(kept, np.ndarray) and kept.shape == want_kept
                and _same(kept.reshape(want_shape), got)):
            fails.append(f"{f}{kw} keepdims: {getattr(kept, 'shape', kept)!r}, "
                         f"want shape {want_kept}")
    jt.assert_no_fails(fails)


def test_keepdims_single_table(jt):
    sp = pytest.importorskip("scipy.sparse")
    x = np.array([[3, 1, 0], [0, 2, 5]])
    fails = []
    for obj, kw in ((x, {}), (x.T, {"axes": (1, 0)}), (sp.csr_array(x), {}),
                    (sp.csc_matrix(x.T), {"axes": (1, 0)}), (sp.coo_array(x), {})):
        for f, fkw in _variants(jt):
            plain = jt.call(f, obj, **kw, **fkw)
            kept = jt.call(f, obj, keepdims=True, **kw, **fkw)
            if not isinstance(plain, np.float64):
                fails.append(f"{type(obj).__name__} {f}{fkw}: {type(plain).__name__}, "
                             "not numpy.float64")
            if not (isinstance(kept, np.ndarray) and kept.shape == (1, 1)
                    and kept.dtype == np.float64 and kept[0, 0] == plain):
                fails.append(f"{type(obj).__name__} {f}{fkw} keepdims: {kept!r}, "
                             f"want [[{plain!r}]]")
    jt.assert_no_fails(fails)


@pytest.mark.parametrize("shape, want", [((0, 3, 3), (0,)), ((4, 0, 2, 3), (0, 2)),
                                         ((2, 3, 0), (0,))],
                         ids=["0x3x3", "4x0x2x3-axes(0,3)", "2x3x0-axes(1,0)"])
def test_empty_batch(jt, function, shape, want):
    """A batch of no tables gives an empty result of the batch shape."""
    axes = {(0, 3, 3): (-2, -1), (4, 0, 2, 3): (0, 3), (2, 3, 0): (1, 0)}[shape]
    got = jt.call(function, np.zeros(shape), axes=axes)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == want, got


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0), (2, 0, 3)])
def test_tables_without_cells(jt, function, shape):
    got = jt.call(function, np.zeros(shape))
    assert np.shape(got) == shape[:-2] and np.all(np.isnan(got)), got
    got = histentropy.mutual_information(np.zeros(shape), normalized="min")
    assert np.shape(got) == shape[:-2] and np.all(np.isnan(got)), got


def test_issue_example_1e4_tables(jt):
    rng = np.random.default_rng(10)
    n = 10_000
    B = rng.integers(0, 20, size=(n, 16, 16))
    sample = rng.choice(n, size=40 if not jt.FULL else 400, replace=False)
    fails = []
    for f in jt.FUNCTIONS:
        got = jt.call(f, B)
        if got.shape != (n,) or got.dtype != np.float64:
            fails.append(f"{f}: shape {got.shape}, dtype {got.dtype}")
            continue
        single = np.array([jt.call(f, B[i]) for i in sample])
        if not _same(got[sample], single):
            fails.append(f"{f}: batch differs from single calls")
        if np.any(got < 0) or np.any(np.isnan(got)):
            fails.append(f"{f}: negative or NaN results")
    metrics = pytest.importorskip("sklearn.metrics")
    mi = histentropy.mutual_information(B)
    for i in sample:
        want = metrics.mutual_info_score(None, None, contingency=B[i])
        if not abs(mi[i] - want) <= 1e-12 * max(1.0, abs(want)):
            fails.append(f"table {i}: {mi[i]!r}, sklearn {want!r}")
    jt.assert_no_fails(fails)


def test_workers_equal(jt):
    rng = np.random.default_rng(21)
    n = 20_000 if jt.FULL else 2_000   # 2000 x 256 cells: split across threads
    B = rng.random((n, 16, 16))
    B[rng.random(B.shape) < 0.2] = 0
    B[5] = jt.near_independent(rng, 16, 16)
    fails = []
    for f, kw in _variants(jt):
        one = jt.call(f, B, workers=1, **kw)
        for w in (2, -1):
            other = jt.call(f, B, workers=w, **kw)
            if not _same(one, other):
                bad = np.flatnonzero(~((one == other) | (np.isnan(one) & np.isnan(other))))
                fails.append(f"{f}{kw}: workers=1 and {w} differ at {bad[:5]}")
    sp = pytest.importorskip("scipy.sparse")
    S = sp.random(300, 200, density=0.05, random_state=3, format="csr")
    for f, kw in _variants(jt):
        one = jt.call(f, S, workers=1, **kw)
        if not _same(one, jt.call(f, S, workers=2, **kw)):
            fails.append(f"sparse {f}{kw}: workers=1 and 2 differ")
    jt.assert_no_fails(fails)


def test_batch_near_independent(jt, jexact):
    rng = np.random.default_rng(8)
    k = 12 if jt.FULL else 6
    tables = [jt.near_independent(rng, k, k + 1) for _ in range(5)]
    tables.append(jt.near_independent(rng, k, k + 1) * 1e300)
    tables.append(jt.near_independent(rng, k, k + 1) * 1e-300)
    B = np.stack(tables)
    got = histentropy.mutual_information(B)
    fails = []
    for i, t in enumerate(tables):
        want = jexact.value("mutual_information", t)
        miss = jexact.check(got[i], want, rel=jt.NEAR_INDEPENDENT_REL, relative=True)
        if miss or got[i] < 0:
            fails.append(f"table {i}: {miss or got[i]}")
    # the same batch with X and Y on other axes
    got2 = histentropy.mutual_information(np.moveaxis(B, 0, 2), axes=(0, 1))
    if not np.allclose(got2, got, rtol=1e-12, atol=0):
        fails.append(f"axes (0, 1) of the moved batch: {got2!r} != {got!r}")
    jt.assert_no_fails(fails)


def test_dense_and_sparse_agree(jt, sparse_kind):
    rng = np.random.default_rng(31)
    fails = []
    shapes = [(1, 1), (1, 7), (7, 1), (11, 6)] + ([(20, 13), (80, 90)] if jt.FULL else [])
    for shape in shapes:
        for dtype in ("int64", "float64") + (("float32", "uint8") if jt.FULL else ()):
            x = jt.random_table(rng, shape, dtype, zeros=0.5)
            obj, kw = sparse_kind.inputs(x)
            for f, fkw in _variants(jt):
                want = jt.call(f, x, **fkw)
                got = jt.call(f, obj, **kw, **fkw)
                if not (isinstance(got, np.float64)
                        and abs(got - want) <= 1e-12 * max(1.0, abs(want))):
                    fails.append(f"{sparse_kind!r} {shape} {dtype} {f}{fkw}: sparse {got!r}, "
                                 f"dense {want!r}")
    jt.assert_no_fails(fails)
