"""`histentropy.pairwise` on scipy.sparse input.

The contract is the dense one (test_pairwise_dense.py): entry [i, j] is the
1-D function of the pair of rows to 1e-12 * max(1, |value|), for

* every sparse input kind (tests/pairwise/conftest.py): csr / csc / coo
  matrices and arrays, float64, float32, int64, uint8, uint64 values,
  non-canonical rows (explicit stored zeros, unsorted indices, duplicates
  that sum to the value), sparse against sparse, sparse against dense and
  dense against sparse, of different dtypes;
* every hard case of the conftest, with and without a pseudocount (every
  bin then holds mass, the unstored ones too) and with a base; tiny values
  against mpmath, near-identical rows to 1e-9 relative;
* ``pairwise(P)`` exactly symmetric, with an exactly zero diagonal;
* the other sparse formats (lil, dok, bsr, dia) and ordinary random
  matrices against the 1-D function on ``X.toarray()`` rows and scipy;
* special values (rows with nothing stored or only stored zeros give NaN,
  a stored NaN gives NaN, stored support violations +inf), shapes m = 0,
  n = 0, k = 0;
* ``out`` (an ``np.memmap`` too), ``workers`` = 1, 2, -1 agreeing to 1e-15,
  the input matrices left untouched (non-canonical ones stay non-canonical);
* memory: m = n = 300, k = 2000 at 5 % density, traced peak below the
  result plus 16 MB (an (m, n, k) temporary is 1.44 GB).

The 1-D reference is called on the dense rows ``X.toarray()[i]`` in the
kind's dtype: the sparse paths must agree with it.
"""
import math

import numpy as np
import pytest

import histentropy

sp = pytest.importorskip("scipy.sparse")
scipy_distance = pytest.importorskip("scipy.spatial.distance")


def _sparse_random(rng, m, k, density, dtype=np.float64):
    A = rng.random((m, k)) * (rng.random((m, k)) < density)
    A[:, 0] += 0.1  # every row has mass
    if np.dtype(dtype).kind in "iu":
        A = np.round(A * 200)
    return A.astype(dtype)


# ---------------------------------------------------------------------------
# Hard cases, every sparse input kind
# ---------------------------------------------------------------------------

def test_hard_cases(pw, pw_exact, sparse_hard):
    """As for dense input (test_pairwise_dense.py::test_hard_cases)."""
    kind, case = sparse_hard
    fails = pw.check_hard_case(kind, case, pw_exact)
    assert not fails, "\n".join(fails)


def test_hard_cases_with_pseudocount(pw, pw_exact, sparse_hard_main):
    """pseudocount=0.5: the unstored bins hold mass too (the main sparse
    kinds; every kind with HISTENTROPY_FUZZ_EXAMPLES > 20)."""
    kind, case = sparse_hard_main
    fails = pw.check_hard_case(kind, case, pw_exact, pseudocount=0.5)
    assert not fails, "\n".join(fails)


@pytest.mark.parametrize("pseudocount", [1e-3, 3.0])
def test_pseudocount_on_mostly_empty_rows(pw, rng, metric, pseudocount):
    """Rows storing a few of many bins: with a pseudocount every bin counts
    (finite results everywhere), sparse against sparse and against dense."""
    k = 300
    P = _sparse_random(rng, 6, k, 0.02)
    Q = _sparse_random(rng, 5, k, 0.02)
    P[2] = 0.0  # a row storing nothing: the pseudocount alone
    kw = {"pseudocount": pseudocount}
    want = pw.reference_matrix(metric, P, Q, **kw)
    want_self = pw.reference_matrix(metric, P, None, **kw)
    for a, b, label in ((sp.csr_array(P), sp.csr_array(Q), "csr/csr"),
                        (sp.csr_matrix(P), Q, "csr/dense"),
                        (P, sp.csc_array(Q), "dense/csc"),
                        (sp.coo_array(P), sp.csr_matrix(Q), "coo/csr")):
        got = histentropy.pairwise(a, b, metric=metric, **kw)
        pw.assert_matches(got, want, what=f"{metric} {label} c={pseudocount}")
        assert np.isfinite(got).all(), (label, got)
    got = histentropy.pairwise(sp.csr_array(P), metric=metric, **kw)
    pw.assert_matches(got, want_self, what=f"{metric} self c={pseudocount}")
    if metric in pw.SYMMETRIC:
        assert np.array_equal(got, got.T)


@pytest.mark.parametrize("base", [2, 10])
def test_hard_cases_with_base(pw, pw_exact, log_metric, base):
    kind = pw.kind("csr_array")
    fails = []
    for name in ("near-identical-1e-9", "overflow-issue-row", "disjoint-supports",
                 "dynamic-range-small"):
        fails += pw.check_hard_case(kind, pw.case(name), pw_exact, base=base,
                                    metrics=(log_metric,))
    kind = pw.kind("csr_array-noncanonical-int64")
    fails += pw.check_hard_case(kind, pw.case("counts-near-identical-1e-9"), pw_exact,
                                base=base, metrics=(log_metric,))
    assert not fails, "\n".join(fails)


# ---------------------------------------------------------------------------
# Formats, ordinary matrices
# ---------------------------------------------------------------------------

FORMATS = ["csr_matrix", "csc_matrix", "coo_matrix", "lil_matrix", "dok_matrix",
           "bsr_matrix", "dia_matrix", "csr_array", "csc_array", "coo_array", "lil_array",
           "dok_array", "bsr_array", "dia_array"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format(pw, rng, fmt):
    P = _sparse_random(rng, 7, 40, 0.3)
    Q = _sparse_random(rng, 5, 40, 0.3)
    cls = getattr(sp, fmt)
    A, B = cls(P), cls(Q)
    for metric in pw.METRICS:
        pw.assert_matches(histentropy.pairwise(A, B, metric=metric),
                          pw.reference_matrix(metric, P, Q), what=f"{metric} {fmt}")
        pw.assert_matches(histentropy.pairwise(A, metric=metric),
                          pw.reference_matrix(metric, P), what=f"{metric} {fmt} self")
        pw.assert_matches(histentropy.pairwise(A, Q, metric=metric),
                          pw.reference_matrix(metric, P, Q), what=f"{metric} {fmt}/dense")


@pytest.mark.parametrize("density", [0.01, 0.2, 1.0])
def test_ordinary_against_1d_and_scipy(pw, rng, metric, density):
    m, n, k = (60, 50, 500) if pw.FULL else (20, 15, 120)
    P = _sparse_random(rng, m, k, density)
    Q = _sparse_random(rng, n, k, 1.0)  # q > 0 everywhere
    got = histentropy.pairwise(sp.csr_array(P), sp.csr_array(Q), metric=metric)
    pw.assert_matches(got, pw.reference_broadcast(metric, P, Q), what=metric)
    if metric == "js_distance":
        np.testing.assert_allclose(got, scipy_distance.cdist(P, Q, "jensenshannon"),
                                   rtol=1e-10, atol=1e-13)
    got = histentropy.pairwise(sp.csr_array(P), metric=metric)
    pw.assert_matches(got, pw.reference_broadcast(metric, P), what=f"{metric} self")
    if metric in pw.SYMMETRIC:
        assert np.array_equal(got, got.T)
    d = np.diagonal(got)
    if metric == "cross_entropy":
        np.testing.assert_allclose(d, [histentropy.entropy(p) for p in P], rtol=1e-12,
                                   atol=1e-12)
    else:
        assert (d == 0.0).all(), d


def test_sparse_against_dense_of_the_same_rows(pw, rng):
    """X against X.toarray() (either side), and X alone: against the 1-D
    function on the dense rows (never pairwise against pairwise)."""
    P = _sparse_random(rng, 30, 64, 0.1)
    X = sp.csr_array(P)
    for metric in pw.METRICS:
        _same_rows(pw, metric, P, X)


def _same_rows(pw, metric, P, X):
    want = pw.reference_broadcast(metric, P)
    pw.assert_matches(histentropy.pairwise(X, metric=metric), want, what=metric)
    pw.assert_matches(histentropy.pairwise(X, P, metric=metric), want, what=f"{metric} X/P")
    pw.assert_matches(histentropy.pairwise(P, X, metric=metric), want, what=f"{metric} P/X")


# ---------------------------------------------------------------------------
# Special values and shapes, every sparse input kind
# ---------------------------------------------------------------------------

def test_special_values(pw, sparse_kind):
    fails = [f for metric in pw.METRICS for f in pw.check_special_values(sparse_kind, metric)]
    assert not fails, "\n".join(fails)


def test_shapes(pw, sparse_kind):
    fails = [f for metric in pw.METRICS for f in pw.check_shapes(sparse_kind, metric)]
    assert not fails, "\n".join(fails)


@pytest.mark.parametrize("metric", ["cross_entropy", "kl_divergence", "js_divergence",
                                    "js_distance", "hellinger_distance", "total_variation",
                                    "jeffreys_divergence", "chi_square_divergence"])
def test_rows_of_stored_zeros_and_disjoint_stored_supports(pw, metric):
    """A row storing only zeros has no mass (NaN); rows whose stored
    supports are disjoint give +inf for KL, cross entropy, chi-square,
    Jeffreys, and the top of the range for the others."""
    data = np.array([0.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    indices = np.array([0, 3, 0, 1, 2, 3])
    indptr = np.array([0, 2, 4, 6])
    X = sp.csr_array((data, indices, indptr), shape=(3, 4))  # row 0: stored zeros
    dense = X.toarray()
    got = histentropy.pairwise(X, metric=metric)
    pw.assert_matches(got, pw.reference_matrix(metric, dense), what=metric)
    assert np.isnan(got[0]).all() and np.isnan(got[:, 0]).all()
    if metric in pw.INF_ON_SUPPORT_VIOLATION:
        assert got[1, 2] == np.inf and got[2, 1] == np.inf
    else:
        assert np.isfinite(got[1:, 1:]).all()
        top = {"js_divergence": math.log(2), "js_distance": math.sqrt(math.log(2)),
               "hellinger_distance": 1.0, "total_variation": 1.0}[metric]
        assert got[1, 2] == pytest.approx(top, rel=1e-15)
    # against dense rows storing everything
    got = histentropy.pairwise(X, dense[::-1].copy(), metric=metric)
    pw.assert_matches(got, pw.reference_matrix(metric, dense, dense[::-1]), what=metric)


def test_index_dtypes(pw, rng):
    """int64 index arrays as well as scipy's default int32."""
    P = _sparse_random(rng, 5, 30, 0.3)
    X = sp.csr_array(P)
    X64 = sp.csr_array((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)),
                       shape=X.shape)
    assert X64.indices.dtype == np.int64
    for metric in pw.METRICS:
        pw.assert_matches(histentropy.pairwise(X64, X, metric=metric),
                          pw.reference_matrix(metric, P, P), what=metric)


# ---------------------------------------------------------------------------
# Inputs untouched, out, workers
# ---------------------------------------------------------------------------

def test_inputs_are_not_modified(pw, rng):
    P = _sparse_random(rng, 6, 20, 0.4)
    X = pw.noncanonical(P, sp.csr_matrix, by_columns=False)
    Y = sp.csr_array(_sparse_random(rng, 4, 20, 0.4))
    before = [a.copy() for a in (X.data, X.indices, X.indptr, Y.data, Y.indices, Y.indptr)]
    for metric in pw.METRICS:
        histentropy.pairwise(X, Y, metric=metric)
        histentropy.pairwise(X, metric=metric, pseudocount=0.5)
        histentropy.pairwise(Y.toarray(), X, metric=metric)
    after = (X.data, X.indices, X.indptr, Y.data, Y.indices, Y.indptr)
    for b, a in zip(before, after):
        assert np.array_equal(a, b)
    assert not X.has_canonical_format


@pytest.mark.parametrize("metric", ["cross_entropy", "js_distance", "total_variation",
                                    "jeffreys_divergence"])
def test_out(pw, rng, tmp_path, metric):
    P = _sparse_random(rng, 12, 50, 0.2)
    Q = _sparse_random(rng, 9, 50, 0.2)
    out = np.full((12, 9), -3.0)
    r = histentropy.pairwise(sp.csr_array(P), sp.csc_matrix(Q), metric=metric, out=out)
    assert r is out
    pw.assert_matches(out, pw.reference_matrix(metric, P, Q), what=metric)
    out = np.full((12, 12), np.nan)
    assert histentropy.pairwise(sp.csr_array(P), metric=metric, out=out) is out
    pw.assert_matches(out, pw.reference_matrix(metric, P), what=f"{metric} self")
    mm = np.memmap(tmp_path / "out.f64", dtype=np.float64, mode="w+", shape=(12, 9))
    assert histentropy.pairwise(sp.csr_matrix(P), Q, metric=metric, out=mm) is mm
    mm.flush()
    back = np.fromfile(tmp_path / "out.f64", dtype=np.float64).reshape(12, 9)
    pw.assert_matches(back, pw.reference_matrix(metric, P, Q), what=f"{metric} memmap")


def test_workers_do_not_change_the_result(pw, rng, metric):
    m, n, k = (400, 300, 2000) if pw.FULL else (50, 40, 200)
    P = _sparse_random(rng, m, k, 0.05)
    Q = _sparse_random(rng, n, k, 0.05)
    Q[:10] = P[:10] * (1 + 1e-8 * rng.uniform(-1, 1, (10, k)))
    A, B = sp.csr_array(P), sp.csr_array(Q)
    for args, kw in (((A, B), {}), ((A,), {}), ((P, B), {}), ((A, B), {"pseudocount": 0.5})):
        ref = histentropy.pairwise(*args, metric=metric, workers=1, **kw)
        for w in ((2, -1, None) if pw.FULL else (2,)):
            r = histentropy.pairwise(*args, metric=metric, workers=w, **kw)
            np.testing.assert_allclose(r, ref, rtol=1e-15, atol=0, equal_nan=True,
                                       err_msg=f"{metric} workers={w} {kw}")
    pw.assert_matches(ref, pw.reference_broadcast(metric, P, Q, pseudocount=0.5),
                      what=f"{metric} pseudocount")


# ---------------------------------------------------------------------------
# Random matrices (HISTENTROPY_FUZZ_EXAMPLES of them)
# ---------------------------------------------------------------------------

def test_random_matrices(pw, rng):
    """The random rows of the dense fuzz test as csr / csc / coo, against
    sparse or dense rows, with non-canonical storage and pseudocounts; every
    entry against the 1-D function on the dense rows."""
    makers = [sp.csr_array, sp.csc_matrix, sp.coo_array, np.asarray,
              lambda x: pw.noncanonical(x, sp.csr_array, by_columns=False)]
    for example in range(pw.EXAMPLES):
        m, n = rng.integers(0, 7, size=2)
        k = int(rng.integers(1, 40))
        P = pw.random_rows(rng, m, k)
        Q = pw.random_rows(rng, n, k)
        if m and n and rng.random() < 0.5:
            Q[0] = P[-1] * (1 + 10.0 ** -rng.uniform(6, 9) * rng.uniform(-1, 1, k))
        metric = pw.METRICS[rng.integers(len(pw.METRICS))]
        kw = {"pseudocount": float(rng.choice([0.5, 1e-3]))} if rng.random() < 0.3 else {}
        fp, fq = rng.integers(len(makers), size=2)
        if fp == 3 and fq == 3:
            fp = 0
        A, B = makers[fp](P), makers[fq](Q)
        what = (f"example {example}: {metric} {kw} {type(A).__name__}/{type(B).__name__} "
                f"{m}x{n}x{k}")
        repro = f"\nP = np.array({P.tolist()!r})\nQ = np.array({Q.tolist()!r})"
        fails = pw.mismatches(histentropy.pairwise(A, B, metric=metric, **kw),
                              pw.reference_matrix(metric, P, Q, **kw), what=what)
        if fp != 3:
            fails += pw.mismatches(histentropy.pairwise(A, metric=metric, **kw),
                                   pw.reference_matrix(metric, P, None, **kw),
                                   what=what + " (P, P)")
        assert not fails, "\n".join(fails) + repro


# ---------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------

SPARSE_MAKE = """
import numpy as np
import scipy.sparse as sp

def make(rng, m, n, k, density, case=%r):
    P = sp.random_array((m, k), density=density, format="csr", rng=rng)
    Q = sp.random_array((n, k), density=density, format="csr", rng=rng)
    if case == "sparse-dense":
        Q = Q.toarray()
    if case == "dense-sparse":
        P = P.toarray()
    return P, Q
"""


def test_memory_has_no_mnk_temporary(pw, sparse_memory_case, tmp_path):
    """m = n = 300, k = 2000, 5 %% stored: the traced peak of the call (in a
    child process) is below the result plus 16 MB, where an (m, n, k)
    temporary is 1.44 GB; with out (an np.memmap) below 16 MB. sparse /
    sparse with a pseudocount (every bin holds mass) in the default run;
    without, sparse / self, sparse / dense, dense / sparse with
    HISTENTROPY_FUZZ_EXAMPLES > 20."""
    case = sparse_memory_case
    m = n = 300
    k = 2000
    seed = 424242
    source = SPARSE_MAKE % (case,)
    kw = {"pseudocount": 0.5} if case.endswith("pseudocount") else {}
    self_ = case == "sparse-self"
    got = pw.measure_memory(source, "kl_divergence", m, n, k, seed, self_=self_,
                            density=0.05, kw=kw, out_path=tmp_path / "out.npy")
    result, mnk = m * n * 8, m * n * k * 8
    bound = result + 16 * 2**20
    print(f"{case}: peak {got['peak'] / 2**20:.2f} MB, with out {got['peak_out'] / 2**20:.2f}"
          f" MB (bound {bound / 2**20:.2f} MB, (m, n, k) {mnk / 2**20:.0f} MB)")
    assert got["shape"] == [m, n]
    assert got["peak"] < bound, (got["peak"], bound)
    assert got["peak_out"] < 16 * 2**20, got["peak_out"]
    ns = {}
    exec(source, ns)  # noqa: S102 -- the same source as the child's
    P, Q = ns["make"](np.random.default_rng(seed), m, n, k, 0.05)
    Pd = P if isinstance(P, np.ndarray) else P.toarray()
    Qd = Pd if self_ else (Q if isinstance(Q, np.ndarray) else Q.toarray())
    for i, j, value in got["spots"]:
        want = pw.one_d("kl_divergence", Pd[i], Qd[j], **kw)
        assert value == want or abs(value - want) <= 1e-12 * max(1.0, abs(want)), \
            (i, j, value, want)
