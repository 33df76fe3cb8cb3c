"""`histentropy.pairwise` on dense input: values, special values, `out`,
`workers` and memory.

The contract: entry [i, j] of ``pairwise(P, Q, metric=f)`` is the 1-D public
function ``histentropy.f(P[i], Q[j])`` to 1e-12 * max(1, |value|), float64,
never negative, for every metric and

* every dense input kind (tests/pairwise/conftest.py, `Kind`): dtypes
  float64, float32, int32, int64, uint8, uint64 (and float16, int8, int16,
  uint16, uint32 on ordinary rows), Fortran-ordered, strided, negatively
  strided, read-only and stride-0 (broadcast) arrays, P and Q of different
  dtypes, nested lists;
* every hard case of the conftest (near-identical rows at relative
  perturbations 1e-6 .. 1e-9, totals near or beyond overflow and underflow,
  1e-300 beside 1 in a row, disjoint / nested supports, the overflowing row
  [1e308, 1e308, 5e307], one-bin rows, counts of 2**53 + 1 and integer
  totals beyond int64 / uint64), with and without a pseudocount, with a base;
  tiny values (and, for float64 input, every value) are also checked against
  mpmath at 60 digits, near-identical rows to 1e-9 relative;
* ``pairwise(P)`` (Q = None): exactly symmetric for the symmetric metrics,
  an exactly zero diagonal (cross entropy: the row's entropy);
* ordinary random rows against scipy: ``cdist(P, Q, "jensenshannon")``,
  ``rel_entr``, ``scipy.stats.entropy``, Euclidean and city-block distances
  of sqrt(x) and x (Hellinger, total variation);
* special values: a row with no mass or holding NaN gives a row / column of
  NaN, support violations +inf exactly where the 1-D function gives it;
  m = 0, n = 0 and k = 0 shapes;
* ``out``: written into and returned (``result is out``), an ``np.memmap``
  in a temporary directory included;
* ``workers`` = 1, 2, -1, None give the same result to 1e-15 relative;
* memory: for m = n = 300, k = 2000 the peak of memory traced by tracemalloc
  during the call stays below the result plus 16 MB, where an (m, n, k)
  temporary would need 1.44 GB (the bound is m * n * 8 + 16 MB).

Random data come from generators with fixed seeds. HISTENTROPY_FUZZ_EXAMPLES
> 20 enlarges the hard cases and the random matrices, checks memory for every
metric, and runs that many random examples in `test_random_matrices`.
"""
import math

import numpy as np
import pytest

import histentropy

scipy_special = pytest.importorskip("scipy.special")
scipy_distance = pytest.importorskip("scipy.spatial.distance")
scipy_stats = pytest.importorskip("scipy.stats")


def _normalised(A):
    A = np.asarray(A, dtype=np.float64)
    return A / A.sum(axis=1, keepdims=True)


def _ordinary(rng, m, k, zeros=0.2):
    A = rng.random((m, k))
    A[rng.random((m, k)) < zeros] = 0.0
    A[:, 0] += 0.1  # every row has mass
    return A


# ---------------------------------------------------------------------------
# Hard cases, every dense input kind
# ---------------------------------------------------------------------------

def test_hard_cases(pw, pw_exact, dense_hard):
    """Every metric, P against Q and P against itself, against the 1-D
    function; tiny values against mpmath (float64 input: every value),
    near-identical rows to 1e-9 relative; pairwise(P) exactly symmetric with
    an exactly zero diagonal."""
    kind, case = dense_hard
    fails = pw.check_hard_case(kind, case, pw_exact, everything=(kind.name == "float64"))
    assert not fails, "\n".join(fails)


def test_hard_cases_with_pseudocount(pw, pw_exact, dense_hard_main):
    """pseudocount=0.5 against the 1-D function with it (the main kinds;
    every kind with HISTENTROPY_FUZZ_EXAMPLES > 20)."""
    kind, case = dense_hard_main
    fails = pw.check_hard_case(kind, case, pw_exact, pseudocount=0.5)
    assert not fails, "\n".join(fails)


def test_hard_cases_with_base(pw, pw_exact, first_hard, hard_base):
    """The log-based metrics with a base (2, 1.5; also 10 with
    HISTENTROPY_FUZZ_EXAMPLES > 20), each hard case in one kind (its dtype:
    float64, else int64, ...), against the 1-D function with it (and mpmath
    where tiny)."""
    kind, case = first_hard
    base = hard_base
    fails = pw.check_hard_case(kind, case, pw_exact, base=base, metrics=pw.LOG_BASED)
    assert not fails, "\n".join(fails)


@pytest.mark.parametrize("pseudocount", [1e-3, 3.0, 1e-300])
@pytest.mark.parametrize("metric", ["kl_divergence", "js_distance", "hellinger_distance",
                                    "chi_square_divergence"])
def test_pseudocounts(pw, pw_exact, metric, pseudocount):
    """Other pseudocounts (as counts, added before normalising): the 1-D
    function with the same pseudocount; everything finite for c >= 1e-3 (a
    row with no mass gets mass from it)."""
    kind = pw.kind("float64")
    P, Q = pw.SPECIAL_P.astype(float), pw.SPECIAL_Q.astype(float)
    for label, got, want in (
            ("(P, Q)", histentropy.pairwise(P, Q, metric=metric, pseudocount=pseudocount),
             pw.reference_matrix(metric, P, Q, pseudocount=pseudocount)),
            ("(P, P)", histentropy.pairwise(P, metric=metric, pseudocount=pseudocount),
             pw.reference_matrix(metric, P, None, pseudocount=pseudocount))):
        pw.assert_matches(got, want, what=f"{metric} pseudocount={pseudocount} {label}")
        if pseudocount >= 1e-3:
            assert np.isfinite(got).all(), (label, got)
    # and a hard case, against mpmath where tiny
    fails = pw.check_hard_case(kind, pw.case("near-identical-1e-7-shared-zeros"), pw_exact,
                               pseudocount=pseudocount, metrics=(metric,))
    assert not fails, "\n".join(fails)


# ---------------------------------------------------------------------------
# Ordinary rows: the 1-D functions and scipy
# ---------------------------------------------------------------------------

def _scipy_matrix(metric, P, Q):
    """The metric of normalised rows from scipy (and NumPy) only."""
    X, Y = _normalised(P), _normalised(Q)

    def rel(A, B):
        return scipy_special.rel_entr(A[:, None, :], B[None, :, :]).sum(axis=-1)

    if metric == "kl_divergence":
        return rel(X, Y)
    if metric == "cross_entropy":
        h = scipy_stats.entropy(X, axis=1)
        return h[:, None] + rel(X, Y)
    if metric == "js_distance":
        return scipy_distance.cdist(X, Y, "jensenshannon")
    if metric == "js_divergence":
        return scipy_distance.cdist(X, Y, "jensenshannon") ** 2
    if metric == "hellinger_distance":
        return scipy_distance.cdist(np.sqrt(X), np.sqrt(Y), "euclidean") / math.sqrt(2)
    if metric == "total_variation":
        return scipy_distance.cdist(X, Y, "cityblock") / 2
    if metric == "jeffreys_divergence":
        return rel(X, Y) + rel(Y, X).T
    if metric == "chi_square_divergence":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (X[:, None, :] - Y[None, :, :]) ** 2 / Y[None, :, :]
        t[np.broadcast_to((X[:, None, :] == 0) & (Y[None, :, :] == 0), t.shape)] = 0.0
        return t.sum(axis=-1)
    raise AssertionError(metric)


@pytest.mark.parametrize("shape", [(7, 5, 30), (1, 9, 3), (12, 1, 64), (20, 16, 257)])
def test_ordinary_rows_against_1d_and_scipy(pw, rng, metric, shape):
    """Random rows with zeros (P) against positive rows (Q): the 1-D function
    to 1e-12, scipy to 1e-10 (cdist "jensenshannon", rel_entr, entropy,
    Euclidean distance of square roots, city-block distance)."""
    m, n, k = shape
    P = _ordinary(rng, m, k)
    Q = _ordinary(rng, n, k, zeros=0.0)  # q > 0 everywhere: all finite
    got = histentropy.pairwise(P, Q, metric=metric)
    assert type(got) is np.ndarray and got.dtype == np.float64 and got.shape == (m, n)
    pw.assert_matches(got, pw.reference_matrix(metric, P, Q), what=f"{metric} vs 1-D")
    want = _scipy_matrix(metric, P, Q)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13, err_msg=f"{metric} vs scipy")
    # P against itself (zeros in P: infinities where the 1-D function has them)
    got = histentropy.pairwise(P, metric=metric)
    pw.assert_matches(got, pw.reference_matrix(metric, P), what=f"{metric} (P, P) vs 1-D")


def test_default_metric_is_kl_divergence(pw, rng):
    P, Q = _ordinary(rng, 4, 6), _ordinary(rng, 3, 6, zeros=0.0)
    pw.assert_matches(histentropy.pairwise(P, Q), pw.reference_matrix("kl_divergence", P, Q))


@pytest.mark.parametrize("base", [2, 10, math.e, 1.0001, 1e300])
def test_base_ordinary(pw, rng, log_metric, base):
    """base: the 1-D function with the same base; for JS also scipy's
    jensenshannon (in nats) divided by log(base) (its square root for the
    distance)."""
    P, Q = _ordinary(rng, 6, 20), _ordinary(rng, 5, 20, zeros=0.0)
    got = histentropy.pairwise(P, Q, metric=log_metric, base=base)
    pw.assert_matches(got, pw.reference_matrix(log_metric, P, Q, base=base),
                      what=f"{log_metric} base={base}")
    nats = _scipy_matrix(log_metric, P, Q)
    scale = math.sqrt(math.log(base)) if log_metric == "js_distance" else math.log(base)
    np.testing.assert_allclose(got, nats / scale, rtol=1e-10, atol=1e-13)
    got = histentropy.pairwise(P, metric=log_metric, base=base)
    pw.assert_matches(got, pw.reference_matrix(log_metric, P, base=base),
                      what=f"{log_metric} (P, P) base={base}")


def test_scipy_jensenshannon_cdist_directly(rng):
    """The issue's reference for ordinary input, spelled out."""
    P, Q = rng.random((25, 40)), rng.random((30, 40))
    got = histentropy.pairwise(P, Q, metric="js_distance")
    np.testing.assert_allclose(got, scipy_distance.cdist(P, Q, "jensenshannon"),
                               rtol=1e-12, atol=1e-14)
    got2 = histentropy.pairwise(P, Q, metric="js_distance", base=2)
    np.testing.assert_allclose(got2, scipy_distance.cdist(P, Q, "jensenshannon")
                               / math.sqrt(math.log(2)), rtol=1e-12, atol=1e-14)
    kl = histentropy.pairwise(P, Q)
    want = np.array([[scipy_special.rel_entr(p / p.sum(), q / q.sum()).sum() for q in Q]
                     for p in P])
    np.testing.assert_allclose(kl, want, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------
# Special values and shapes, every dense input kind
# ---------------------------------------------------------------------------

def test_special_values(pw, dense_kind):
    fails = [f for metric in pw.METRICS for f in pw.check_special_values(dense_kind, metric)]
    assert not fails, "\n".join(fails)


def test_shapes(pw, dense_kind):
    fails = [f for metric in pw.METRICS for f in pw.check_shapes(dense_kind, metric)]
    assert not fails, "\n".join(fails)


def test_support_violations_exactly(pw):
    """p > 0 = q: +inf for KL, cross entropy, chi-square and Jeffreys (either
    way round); q > 0 = p: +inf for Jeffreys only; JS / Hellinger / TV
    finite, and at the top of their ranges for disjoint supports."""
    P = np.array([[1.0, 1.0, 0.0]])
    Q = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    r = {m: histentropy.pairwise(P, Q, metric=m)[0] for m in pw.METRICS}
    for m in ("kl_divergence", "cross_entropy", "chi_square_divergence",
              "jeffreys_divergence"):
        assert r[m][0] == np.inf, (m, r[m])  # p > 0 = q
        assert r[m][2] == np.inf, (m, r[m])  # disjoint
    assert np.isfinite(r["kl_divergence"][1]) and np.isfinite(r["chi_square_divergence"][1])
    assert r["jeffreys_divergence"][1] == np.inf  # q > 0 = p
    for m in ("js_divergence", "js_distance", "hellinger_distance", "total_variation"):
        assert np.isfinite(r[m]).all(), (m, r[m])
    assert r["js_divergence"][2] == pytest.approx(math.log(2), rel=1e-15)
    assert r["js_distance"][2] == pytest.approx(math.sqrt(math.log(2)), rel=1e-15)
    assert r["hellinger_distance"][2] == pytest.approx(1.0, rel=1e-15)
    assert r["total_variation"][2] == pytest.approx(1.0, rel=1e-15)
    # the other direction, against the 1-D functions
    for m in pw.METRICS:
        pw.assert_matches(histentropy.pairwise(Q, P, metric=m),
                          pw.reference_matrix(m, Q, P), what=f"{m} (Q, P)")


def test_issue_overflow_row(pw, pw_exact):
    """[1e308, 1e308, 5e307] against [1e308, 5e307, 1e308]: totals overflow,
    results are finite and exact (KL = 0.1386... nats)."""
    p = np.array([1e308, 1e308, 5e307])
    q = np.array([1e308, 5e307, 1e308])
    P = np.array([p, q])
    for metric in pw.METRICS:
        got = histentropy.pairwise(P, P[::-1], metric=metric)
        assert np.isfinite(got).all(), (metric, got)
        pw.assert_matches(got, pw.reference_matrix(metric, P, P[::-1]), what=metric)
        miss = pw_exact.check(got[0, 0], pw_exact.value(metric, p, q))
        assert miss is None, (metric, miss)
    assert histentropy.pairwise(p[None], q[None])[0, 0] == pytest.approx(
        histentropy.kl_divergence(p, q), rel=1e-12)
    assert 0.1386 < histentropy.pairwise(p[None], q[None])[0, 0] < 0.1387


# ---------------------------------------------------------------------------
# Symmetry and the diagonal of pairwise(P)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_self_is_exactly_symmetric_with_zero_diagonal(pw, rng, metric, dtype):
    m, k = (300, 200) if pw.FULL else (48, 32)
    P = _ordinary(rng, m, k, zeros=0.3)
    P[m // 3:m // 3 + 5] = P[m // 3] * (1 + 1e-9 * rng.uniform(-1, 1, (5, k)))  # near-identical
    if dtype == "int64":
        P = np.round(P * 1e6).astype(np.int64)
    else:
        P = P.astype(dtype)
    P[5] = P[4] * 4  # proportional rows (exactly)
    got = histentropy.pairwise(P, metric=metric)
    if metric in pw.SYMMETRIC:
        assert np.array_equal(got, got.T), np.argwhere(got != got.T)[:5]
    d = np.diagonal(got)
    if metric == "cross_entropy":
        np.testing.assert_allclose(d, [histentropy.entropy(p) for p in P], rtol=1e-12,
                                   atol=1e-12)
    else:
        assert (d == 0.0).all(), d[d != 0.0]
    pw.assert_matches(got, pw.reference_broadcast(metric, P), what=f"{metric} {dtype}")
    if metric != "cross_entropy":  # proportional rows: zero to rounding
        assert abs(got[4, 5]) <= 1e-15 and abs(got[5, 4]) <= 1e-15, (got[4, 5], got[5, 4])


# ---------------------------------------------------------------------------
# Other dtypes and layouts
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "int8", "int16", "uint16", "uint32"])
def test_more_dtypes(pw, rng, dtype):
    P = rng.integers(0, 100, size=(5, 12)).astype(dtype)
    Q = rng.integers(0, 100, size=(4, 12)).astype(dtype)
    P[1] = 0
    P[2, :6] = 0
    for metric in pw.METRICS:
        _more_dtypes(pw, metric, dtype, P, Q)


def _more_dtypes(pw, metric, dtype, P, Q):
    pw.assert_matches(histentropy.pairwise(P, Q, metric=metric),
                      pw.reference_matrix(metric, P, Q), what=f"{metric} {dtype}")
    pw.assert_matches(histentropy.pairwise(P, metric=metric),
                      pw.reference_matrix(metric, P), what=f"{metric} {dtype} (P, P)")
    Qf = Q.astype(np.float64) * 0.37
    pw.assert_matches(histentropy.pairwise(P, Qf, metric=metric),
                      pw.reference_matrix(metric, P, Qf), what=f"{metric} {dtype}/float64")


@pytest.mark.parametrize("metric", ["cross_entropy", "js_distance", "chi_square_divergence"])
def test_broadcast_and_column_views(pw, rng, metric):
    """Stride-0 rows (np.broadcast_to, read-only), a column slice, a
    transposed array, and nested lists."""
    q = rng.random(10) + 0.01
    Qb = np.broadcast_to(q, (4, 10))
    assert Qb.strides[0] == 0
    big = rng.random((6, 30))
    P = big[:, 5:15]
    Pt = np.ascontiguousarray(rng.random((10, 3))).T
    for a, b in ((P, Qb), (Qb, P), (Pt, Qb), (P.tolist(), Qb.tolist())):
        want = pw.reference_matrix(metric, np.asarray(a), np.asarray(b))
        pw.assert_matches(histentropy.pairwise(a, b, metric=metric), want, what=metric)
    pw.assert_matches(histentropy.pairwise(Qb, metric=metric),
                      pw.reference_matrix(metric, Qb), what=f"{metric} broadcast self")


def test_inputs_are_not_modified(pw, rng):
    P = _ordinary(rng, 5, 9)
    Q = np.round(_ordinary(rng, 4, 9) * 100).astype(np.int32)
    P0, Q0 = P.copy(), Q.copy()
    for metric in pw.METRICS:
        histentropy.pairwise(P, Q, metric=metric, pseudocount=0.5)
        histentropy.pairwise(P, metric=metric)
        assert np.array_equal(P, P0) and np.array_equal(Q, Q0), metric


# ---------------------------------------------------------------------------
# out
# ---------------------------------------------------------------------------

def test_out_is_written_and_returned(pw, rng, metric):
    P, Q = _ordinary(rng, 9, 16), _ordinary(rng, 7, 16)
    out = np.full((9, 7), -1.0)
    r = histentropy.pairwise(P, Q, metric=metric, out=out)
    assert r is out
    pw.assert_matches(out, pw.reference_matrix(metric, P, Q), what=metric)
    # Q = None: every entry (both triangles) is written
    out = np.full((9, 9), np.nan)
    r = histentropy.pairwise(P, metric=metric, out=out)
    assert r is out
    pw.assert_matches(out, pw.reference_matrix(metric, P), what=f"{metric} (P, P)")
    # with a base, the conversion happens in out too
    if metric in pw.LOG_BASED:
        out = np.full((9, 7), 7.0)
        assert histentropy.pairwise(P, Q, metric=metric, base=2, out=out) is out
        pw.assert_matches(out, pw.reference_matrix(metric, P, Q, base=2), what=metric)


@pytest.mark.parametrize("metric", ["kl_divergence", "js_distance", "total_variation"])
def test_out_memmap(pw, rng, tmp_path, metric):
    m, n, k = 40, 30, 25
    P, Q = _ordinary(rng, m, k), _ordinary(rng, n, k)
    path = tmp_path / f"{metric}.f64"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(m, n))
    r = histentropy.pairwise(P, Q, metric=metric, out=mm)
    assert r is mm
    mm.flush()
    del mm, r
    back = np.fromfile(path, dtype=np.float64).reshape(m, n)
    pw.assert_matches(back, pw.reference_matrix(metric, P, Q), what=f"{metric} memmap")
    path2 = tmp_path / f"{metric}-self.f64"
    mm = np.memmap(path2, dtype=np.float64, mode="w+", shape=(m, m))
    assert histentropy.pairwise(P, metric=metric, out=mm) is mm
    mm.flush()
    pw.assert_matches(np.array(mm), pw.reference_matrix(metric, P), what=f"{metric} memmap")


def test_out_empty(pw):
    for metric in pw.METRICS:
        out = np.empty((0, 3))
        assert histentropy.pairwise(np.ones((0, 4)), np.ones((3, 4)), metric=metric,
                                    out=out) is out
        out = np.empty((2, 0))
        assert histentropy.pairwise(np.ones((2, 4)), np.ones((0, 4)), metric=metric,
                                    out=out) is out


# ---------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------

def test_workers_do_not_change_the_result(pw, rng, metric):
    m, n, k = (400, 300, 200) if pw.FULL else (100, 80, 48)
    P = _ordinary(rng, m, k, zeros=0.3)
    Q = _ordinary(rng, n, k, zeros=0.3)
    Q[:20] = P[:20] * (1 + 1e-8 * rng.uniform(-1, 1, (20, k)))  # near-identical pairs
    Q[20:25] = P[20:25] * 1e300
    P[30] = 0.0  # a row with no mass
    results = {w: histentropy.pairwise(P, Q, metric=metric, workers=w)
               for w in ((1, 2, -1, None, 3) if pw.FULL else (1, 2, None))}
    selfs = {w: histentropy.pairwise(P, metric=metric, workers=w) for w in (1, 2)}
    for group in (results, selfs):
        ref = group[1]
        for w, r in group.items():
            np.testing.assert_allclose(r, ref, rtol=1e-15, atol=0, equal_nan=True,
                                       err_msg=f"{metric} workers={w} vs workers=1")
    pw.assert_matches(results[2], pw.reference_broadcast(metric, P, Q), what=metric)


# ---------------------------------------------------------------------------
# Memory: no (m, n, k) temporary
# ---------------------------------------------------------------------------

DENSE_MAKE = """
import numpy as np

def make(rng, m, n, k, density):
    return rng.random((m, k)), rng.random((n, k))
"""


def _rebuild(source, *args):
    ns = {}
    exec(source, ns)  # noqa: S102 -- the test's own source, run in the child too
    return ns["make"](*args)


def test_memory_has_no_mnk_temporary(pw, memory_case, tmp_path):
    """m = n = 300, k = 2000 float64 (an (m, n, k) float64 temporary is
    1.44 GB): the peak traced by tracemalloc during the call, measured in a
    child process, is below the result (m * n * 8 = 0.72 MB) plus 16 MB; with
    out (an np.memmap) below 16 MB. Two (metric, Q is None) cases in the
    default run (KL against Q, JS distance of P against itself), every
    metric both ways with HISTENTROPY_FUZZ_EXAMPLES > 20."""
    metric, self_ = memory_case
    m = n = 300
    k = 2000
    seed = 20260517
    got = pw.measure_memory(DENSE_MAKE, metric, m, n, k, seed, self_=self_,
                            out_path=tmp_path / "out.npy")
    result, mnk = m * n * 8, m * n * k * 8
    bound = result + 16 * 2**20
    print(f"{metric} self={self_}: peak {got['peak'] / 2**20:.2f} MB, with out "
          f"{got['peak_out'] / 2**20:.2f} MB; result {result / 2**20:.2f} MB, (m, n, k) "
          f"float64 {mnk / 2**20:.0f} MB")
    assert got["shape"] == [m, n]
    assert got["peak"] < bound, (got["peak"], bound)
    assert got["peak_out"] < 16 * 2**20, got["peak_out"]
    assert bound < mnk / 50
    P, Q = _rebuild(DENSE_MAKE, np.random.default_rng(seed), m, n, k, 1.0)
    Qv = P if self_ else Q
    for i, j, value in got["spots"]:
        want = pw.one_d(metric, P[i], Qv[j])
        assert abs(value - want) <= 1e-12 * max(1.0, abs(want)), (i, j, value, want)
    out = np.load(tmp_path / "out.npy")
    for i, j, value in got["spots"]:
        assert out[i, j] == value


SELF_CHILD = """
import json
import numpy as np
import scipy.sparse as sp
import histentropy

results = {}
for metric in %r:
    for sparse in (False, True):
        for k in ((1100, 2000, 4096) if metric == "jeffreys_divergence" else (1100,)):
            for m in (3, 4, 5, 6, 7, 9, 13):
                P = np.random.default_rng(m * 10007 + k).random((m, k))
                print("calling pairwise(P, metric=%%r, workers=1) with P %%s (%%d, %%d), "
                      "np.random.default_rng(%%d).random((%%d, %%d))"
                      %% (metric, "csr_array" if sparse else "dense", m, k, m * 10007 + k, m, k),
                      flush=True)
                r = histentropy.pairwise(sp.csr_array(P) if sparse else P, metric=metric,
                                         workers=1)
                results["%%s-%%d-%%d-%%s" %% (metric, m, k, sparse)] = r.tolist()
print(json.dumps(results))
"""


def test_self_with_rows_not_a_multiple_of_four(pw):
    """pairwise(P) with m = 3 .. 13 rows of 1100 bins (Jeffreys: also 2000
    and 4096), dense and csr_array, every metric: against the 1-D function.

    Run in a child process, so that a crash is one failed test: in the
    symmetric path (Q = None) the pairs of row i start at column j = i, not
    at a multiple of 4, while the vectorised sum reads 4 prepared rows of Q
    from j on; reading past the last prepared row (Jeffreys reads a second
    array per row) was seen to segfault (valgrind: an invalid read just
    after the block of Q's prepared rows)."""
    # Jeffreys first: its symmetric sum reads a second array of each Q row
    order = ("jeffreys_divergence",) + tuple(m for m in pw.METRICS if m != "jeffreys_divergence")
    got = pw.run_child(SELF_CHILD % (order,))
    fails = []
    for key, r in got.items():
        metric, m, k, sparse = key.split("-")
        m, k = int(m), int(k)
        P = np.random.default_rng(m * 10007 + k).random((m, k))
        r = np.array(r)
        fails += pw.mismatches(r, pw.reference_broadcast(metric, P),
                               what=f"{metric} m={m} k={k} sparse={sparse}")
    assert len(got) == 2 * 7 * (3 + 7), len(got)
    assert not fails, "\n".join(fails)


# ---------------------------------------------------------------------------
# Random matrices (HISTENTROPY_FUZZ_EXAMPLES of them)
# ---------------------------------------------------------------------------

def test_random_matrices(pw, pw_exact, rng):
    """Random shapes, scales, zeros, metrics, bases and pseudocounts; P and Q
    may share rows (near-identical ones too); every entry against the 1-D
    function, one random finite entry per example against mpmath."""
    for example in range(pw.EXAMPLES):
        m, n = rng.integers(0, 7, size=2)
        k = int(rng.integers(1, 40))
        P = pw.random_rows(rng, m, k)
        Q = pw.random_rows(rng, n, k)
        if m and n and rng.random() < 0.5:
            Q[0] = P[-1] * (1 + 10.0 ** -rng.uniform(6, 9) * rng.uniform(-1, 1, k))
        metric = pw.METRICS[rng.integers(len(pw.METRICS))]
        kw = {}
        if rng.random() < 0.3:
            kw["pseudocount"] = float(rng.choice([0.5, 1e-3, 2.0]))
        if metric in pw.LOG_BASED and rng.random() < 0.3:
            kw["base"] = float(rng.choice([2.0, 10.0]))
        dtype = rng.choice(["float64", "float32"]) if kw.get("pseudocount") else "float64"
        with np.errstate(over="ignore"):
            Pd, Qd = P.astype(dtype), Q.astype(dtype)
        if not (np.isfinite(Pd).all() and np.isfinite(Qd).all()):
            Pd, Qd = P, Q
        what = f"example {example}: {metric} {kw} {Pd.dtype} {m}x{n}x{k}"
        repro = (f"\nP = np.array({Pd.tolist()!r}, dtype=np.{Pd.dtype})"
                 f"\nQ = np.array({Qd.tolist()!r}, dtype=np.{Qd.dtype})")
        fails = []
        got = histentropy.pairwise(Pd, Qd, metric=metric, **kw)
        fails += pw.mismatches(got, pw.reference_matrix(metric, Pd, Qd, **kw), what=what)
        got_self = histentropy.pairwise(Pd, metric=metric, **kw)
        fails += pw.mismatches(got_self, pw.reference_matrix(metric, Pd, None, **kw),
                               what=what + " (P, P)")
        if m and n and not fails:
            i, j = rng.integers(m), rng.integers(n)
            miss = pw_exact.check(got[i, j], pw_exact.value(metric, Pd[i], Qd[j], **kw))
            if miss:
                fails.append(f"{what} [{i}, {j}] vs mpmath: {miss}")
        assert not fails, "\n".join(fails) + repro
