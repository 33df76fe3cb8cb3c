"""Every input kind meets the same contract (issue 12, "Every input kind").

For each measure and each hard case (tests/family/conftest.py), with and
without a pseudocount, the result on

* scipy.sparse rows: csr_array and csr_matrix, sparse against sparse, sparse
  p against dense q, dense p against sparse q, a sparse row broadcast as the
  reference, CSC columns with axis=0;
* labelled input: dict, collections.Counter, pandas Series (aligned by label,
  a missing label is weight 0, labels in another order on each side)

equals the dense result on the same numbers to 1e-12 relative. The dense
result is itself checked against mpmath in test_family_accuracy.py; the
overflowing row of the issue is checked here against mpmath for every kind.

A (3, 10**9) CSR with a pseudocount costs O(nnz): the unstored bins count in
closed form. It runs in a child process whose address space is limited to
4 GB (a densified row would need 8 GB), and its results are checked against
the exact value over the stored columns plus k0 = 10**9 - |stored| bins of
(c, c).

Finally `workers` = 1, 2, -1 agree to 1e-13 relative (3000 x 300 rows, dense
and sparse, and a 300000-bin histogram).
"""
import json
import math
import os
import subprocess
import sys
import textwrap
from collections import Counter

import numpy as np
import pytest

import histentropy

sparse = pytest.importorskip("scipy.sparse")

RTOL = 1e-12
# A result that is 0 exactly (e.g. D_0 when q's mass is all on p's support)
# may come out as a rounding error (~1e-16) on one path and 0 on another; a
# tiny result that cancels (TV of near-deterministic histograms: |x0 - y0| ~
# 1e-12 from normalised bins rounded to 1e-16) may differ by ~1e-16 between
# summation orders. 1e-15 is 1000 times below the accuracy contract; results
# of the sparse and labelled paths are also checked against mpmath.
ATOL = 1e-15


def assert_same(got, want, what=""):
    """Same shape, NaN and +-inf in the same places, finite values to 1e-12
    relative (and 1e-15 absolute)."""
    assert np.shape(got) == np.shape(want), (what, np.shape(got), np.shape(want))
    assert np.asarray(got).dtype == np.float64, what
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True,
                               err_msg=str(what))


def _call(measure, p, q, **kw):
    return measure(p, q if measure.pair else None, **kw)


# ---------------------------------------------------------------------------
# scipy.sparse
# ---------------------------------------------------------------------------

def _check_exact(fam, measure, case, got_pq, got_qp, what):
    """The contract against mpmath for the (p, q) and (q, p) results (also
    1e-9 relative on near-identical cases)."""
    for got, a_is_p in ((got_pq, True), (got_qp, False)):
        if got is None:
            continue
        a, b = (case.p, case.q) if a_is_p else (case.q, case.p)
        if measure.symmetric:
            a, b = case.p, case.q
        want = fam.value(measure, a, b if measure.pair else None, mult=case.mult)
        fam.assert_close(np.float64(got), want, what=f"{measure} {what} of {case}")
        if case.near_identical and measure.pair and measure.alpha != 0:
            fam.assert_rel(np.float64(got), want, 1e-9, what=f"{measure} {what} of {case}")


def _sparse_results(measure, DP, DQ, q, kw):
    """The measure of the rows of DP against those of DQ on every sparse
    pairing ({what: result}); a sparse matrix against one reference row
    (dense and sparse) is checked here against the dense result."""
    results = {}
    for kind in (sparse.csr_array, sparse.csr_matrix):
        P, Q = kind(DP), kind(DQ)
        assert P.dtype == DP.dtype
        name = kind.__name__
        results[name, "sparse-sparse"] = _call(measure, P, Q, **kw)
        if measure.pair:
            results[name, "sparse-dense"] = measure(P, DQ, **kw)
            results[name, "dense-sparse"] = measure(DP, Q, **kw)
            ref_want = measure(DP, q, **kw)
            assert_same(measure(P, q, **kw), ref_want, what=(name, "sparse-vs-row"))
            assert_same(measure(P, kind(q[None, :]), **kw), ref_want,
                        what=(name, "sparse-vs-sparse-row"))
    # columns, axis=0
    Pc, Qc = sparse.csc_array(DP.T), sparse.csc_array(DQ.T)
    results["csc", "axis=0"] = _call(measure, Pc, Qc, axis=0, **kw)
    if measure.pair:
        results["csc-dense", "axis=0"] = measure(Pc, DQ.T, axis=0, **kw)
        results["dense-csc", "axis=0"] = measure(DP.T, Qc, axis=0, **kw)
    return results


@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
def test_sparse_equals_dense_on_hard_cases(fam, short_case, measure, pseudocount):
    """Every pairing; the long cases: test_sparse_equals_dense_on_long_cases."""
    hard_case = short_case
    p, q = hard_case.dense()
    DP, DQ = np.vstack([p, q]), np.vstack([q, p])  # both directions, one call
    kw = dict(pseudocount=pseudocount)
    want = _call(measure, DP, DQ, **kw)
    assert_same(want, [_call(measure, p, q, **kw), _call(measure, q, p, **kw)],
                what="batched dense vs 1-D dense")
    for what, got in _sparse_results(measure, DP, DQ, q, kw).items():
        assert_same(got, want, what=what)
        if pseudocount == 0:
            _check_exact(fam, measure, hard_case, got[0], got[1], what)


@pytest.mark.parametrize("name", ["long", "long-near-deterministic", "long-float32"])
def test_sparse_equals_dense_on_long_cases(fam, family, name):
    """10**5-bin rows (10**7 with HISTENTROPY_FUZZ_EXAMPLES > 20): csr_array
    against csr_array, against dense and dense against it, for every measure
    (each call costs ~10 ms: the full set of pairings is for short rows)."""
    case = family.case(name)
    p, q = case.dense()
    DP, DQ = np.vstack([p, q]), np.vstack([q, p])
    P, Q = sparse.csr_array(DP), sparse.csr_array(DQ)
    failures = []
    for measure in family.MEASURES:
        want = _call(measure, DP, DQ)
        got = {"sparse-sparse": _call(measure, P, Q)}
        if measure.pair:
            got["sparse-dense"] = measure(P, DQ)
            got["dense-sparse"] = measure(DP, Q)
        for what, g in got.items():
            try:
                assert_same(g, want, what=(measure, what))
                _check_exact(fam, measure, case, g[0], g[1], what)
            except AssertionError as e:
                failures.append(str(e))
    got = histentropy.js_divergence(P, Q, pseudocount=0.5)
    assert_same(got, histentropy.js_divergence(DP, DQ, pseudocount=0.5), what="pseudocount")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("pseudocount", [0.0, 0.5, 1e-3])
def test_random_sparse_every_axis(rng, measure, fmt, pseudocount):
    D = np.floor(rng.random((12, 30)) * 10) * (rng.random((12, 30)) < 0.3)
    E = np.floor(rng.random((12, 30)) * 10) * (rng.random((12, 30)) < 0.6) + (D > 0)
    D[3] = 0.0  # a row without mass (nan, or uniform with a pseudocount)
    P = sparse.csr_array(D).asformat(fmt)
    Q = sparse.csr_array(E).asformat(fmt)
    kw = dict(pseudocount=pseudocount)
    for axis in (1, 0, -1, None):
        for keepdims in (False, True):
            want = _call(measure, D, E, axis=axis, keepdims=keepdims, **kw)
            got = _call(measure, P, Q, axis=axis, keepdims=keepdims, **kw)
            assert_same(got, want, what=(fmt, axis, keepdims))
            if measure.pair:
                assert_same(measure(P, E, axis=axis, keepdims=keepdims, **kw), want,
                            what=(fmt, axis, keepdims, "sparse-dense"))
                assert_same(measure(D, Q, axis=axis, keepdims=keepdims, **kw), want,
                            what=(fmt, axis, keepdims, "dense-sparse"))
    # base passes through
    if measure.has_base:
        assert_same(_call(measure, P, Q, base=2, **kw), _call(measure, D, E, base=2, **kw))


def test_sparse_input_not_modified(rng, measure):
    P = sparse.csr_array(np.floor(rng.random((6, 20)) * 5) * (rng.random((6, 20)) < 0.5))
    Q = sparse.csr_array(np.floor(rng.random((6, 20)) * 5) + 1)
    before = [(X.data.copy(), X.indices.copy(), X.indptr.copy()) for X in (P, Q)]
    for c in (0.0, 0.5):
        _call(measure, P, Q, pseudocount=c)
        _call(measure, P, Q, pseudocount=c, axis=0)
    for X, (d, i, ip) in zip((P, Q), before):
        np.testing.assert_array_equal(X.data, d)
        np.testing.assert_array_equal(X.indices, i)
        np.testing.assert_array_equal(X.indptr, ip)


# ---------------------------------------------------------------------------
# The overflowing row of the issue
# ---------------------------------------------------------------------------

def test_issue_overflow_row_every_kind(fam, family):
    p = np.array([1e308, 1e308, 5e307])
    q = np.array([1e308, 5e307, 1e308])
    # x = (0.4, 0.4, 0.2), y = (0.4, 0.2, 0.4): KL = 0.2 log 2
    assert histentropy.kl_divergence(p, q) == pytest.approx(0.2 * math.log(2), rel=1e-15)
    P, Q = sparse.csr_array(p[None]), sparse.csr_array(q[None])
    Pm = sparse.csr_matrix(p[None])
    labels = ["a", "b", "c"]
    for m in family.MEASURES + family.CORE:
        want = fam.value(m, p, q if m.pair else None)
        dense = _call(m, p, q)
        fam.assert_close(dense, want, what=f"{m} dense")
        got = {
            "csr_array": _call(m, P, Q)[0],
            "csr_matrix": _call(m, Pm, sparse.csr_matrix(q[None]))[0],
            "csr-dense": _call(m, P, q)[0],
            "dense-csr": _call(m, p[None], Q)[0],
            "csc axis=0": _call(m, P.T.tocsc(), Q.T.tocsc(), axis=0)[0],
            "dict": _call(m, dict(zip(labels, p.tolist())),
                          dict(zip(labels[::-1], q[::-1].tolist()))),
        }
        for kind, g in got.items():
            fam.assert_close(np.float64(g), want, what=f"{m} {kind}")
            assert_same(g, dense, what=(m, kind))


# ---------------------------------------------------------------------------
# Labelled input
# ---------------------------------------------------------------------------

def _labelled_values(a):
    """Python numbers that hold a's values exactly (float32 stays float32)."""
    if a.dtype == np.float32:
        return list(a)  # np.float32 scalars
    return a.tolist()


def _labelled_pair(p, q, rng):
    """dict p, dict q (zero weights left out: a missing label is weight 0;
    q's labels in another order) and the dense vectors over the union of
    their labels, in p's order then q's new ones."""
    labels = [f"bin{i}" for i in range(p.size)]
    pv, qv = _labelled_values(p), _labelled_values(q)
    pd_ = {lab: v for lab, v, x in zip(labels, pv, p) if x != 0}
    order = rng.permutation(p.size)
    qd = {labels[i]: qv[i] for i in order if q[i] != 0}
    keep = (p != 0) | (q != 0)
    return pd_, qd, p[keep], q[keep]


@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
def test_labelled_equals_dense_on_hard_cases(rng, fam, family, hard_case, pseudocount):
    """dict, Counter and Series (and a Series against a dict) in both
    directions. Long histograms (10**5 labels: aligning them is Python code,
    ~0.2 s a call): one case, as dicts, in one direction, without
    pseudocount, for the measures of each kind of finishing step."""
    long = hard_case.mult is not None
    if long and (pseudocount or hard_case.name != "long"):
        pytest.skip("long labelled histograms: one case, once")
    p, q = hard_case.dense()
    if p.size > 10**6:
        pytest.skip("labelled input of 10**7 labels")
    pd_, qd, pu, qu = _labelled_pair(p, q, rng)
    pd = None if long else _pandas()
    directions = [(pd_, qd, pu, qu, "(p, q)")]
    if not long:
        directions.append((qd, pd_, qu, pu, "(q, p)"))
    kw = dict(pseudocount=pseudocount)
    measures = family.MEASURES
    if long:
        measures = [m for m in measures if m.alpha in (None, 2.0)]
    for measure in measures:
        for a, b, da, db, label in directions:
            if measure.pair:
                want = measure(da, db, **kw)
                args = (a, b)
            else:
                # one labelled histogram: its own labels are its bins
                want = measure(np.array(list(a.values()), dtype=da.dtype), **kw)
                args = (a,)
            kinds = {"dict": args}
            if not long:
                kinds["Counter"] = tuple(Counter(d) for d in args)
            if pd is not None:
                series = tuple(pd.Series(np.array(list(d.values()), dtype=da.dtype),
                                         index=list(d)) for d in args)
                kinds["Series"] = series
                if measure.pair:
                    kinds["Series-dict"] = (series[0], b)
            for kind, kargs in kinds.items():
                got = measure(*kargs, **kw)
                assert type(got) is np.float64, (kind, type(got))
                assert_same(got, want, what=(measure, kind, label))
                if pseudocount == 0:
                    first = label == "(p, q)"
                    _check_exact(fam, measure, hard_case, got if first else None,
                                 None if first else got, f"{kind} {label}")


def _pandas():
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def test_labelled_renyi_entropy_with_pseudocount():
    """One labelled histogram: its own labels are its bins."""
    d = {"a": 3, "b": 0, "c": 1}
    for alpha in (0.0, 0.5, 1.0, 2.0, math.inf):
        got = histentropy.renyi_entropy(d, alpha, pseudocount=0.5)
        want = histentropy.renyi_entropy(np.array([3.5, 0.5, 1.5]), alpha)
        assert got == pytest.approx(want, rel=1e-13)
    assert histentropy.renyi_entropy(d, 0.0) == pytest.approx(math.log(2), rel=1e-15)


def test_labelled_missing_label_is_zero_weight():
    p = {"cat": 1.0, "bird": 1.0}
    q = {"cat": 1.0}
    assert histentropy.jeffreys_divergence(p, q) == math.inf
    assert histentropy.chi_square_divergence(p, q) == math.inf
    assert histentropy.renyi_divergence(p, q, 2.0) == math.inf
    assert histentropy.total_variation(p, q) == pytest.approx(0.5, rel=1e-15)
    assert histentropy.js_divergence(p, q) == pytest.approx(
        histentropy.js_divergence([1.0, 1.0], [1.0, 0.0]), rel=1e-15)
    # with a pseudocount, the label missing in q has weight c there
    assert histentropy.jeffreys_divergence(p, q, pseudocount=1) == pytest.approx(
        histentropy.jeffreys_divergence([2.0, 2.0], [2.0, 1.0]), rel=1e-14)
    assert histentropy.chi_square_divergence(q, p, pseudocount=0.5) == pytest.approx(
        histentropy.chi_square_divergence([1.5, 0.5], [1.5, 1.5]), rel=1e-14)


def test_labelled_mixed_with_unlabelled_is_a_type_error(pair_measure):
    with pytest.raises(TypeError, match="labelled histogram"):
        pair_measure({"a": 1, "b": 2}, [1, 2])
    with pytest.raises(TypeError, match="labelled histogram"):
        pair_measure([1, 2], {"a": 1, "b": 2})


# ---------------------------------------------------------------------------
# A (3, 10**9) CSR with a pseudocount: O(nnz)
# ---------------------------------------------------------------------------

HUGE_COLS = 10**9
# (column, value) stored in p and in q, per row
HUGE_ROWS = [
    ([(5, 3.0), (17, 1.0), (123456789, 7.0), (999999999, 2.0)],
     [(5, 1.0), (17, 4.0), (500, 2.0), (999999999, 2.0)]),
    ([(0, 1e6), (1, 1.0), (2, 1.0)], [(3, 1.0), (4, 1.0)]),   # disjoint supports
    ([], [(7, 10.0)]),                                         # p stores nothing
]

_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    limit = 4 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import numpy as np
    import scipy.sparse as sp
    import histentropy

    spec = json.loads(sys.argv[1])
    cols = spec["cols"]

    def csr(rows):
        data, indices, indptr = [], [], [0]
        for row in rows:
            for c, v in row:
                indices.append(c)
                data.append(v)
            indptr.append(len(indices))
        return sp.csr_array((np.array(data, dtype=np.float64),
                             np.array(indices, dtype=np.int64),
                             np.array(indptr, dtype=np.int64)), shape=(len(rows), cols))

    P = csr([r[0] for r in spec["rows"]])
    Q = csr([r[1] for r in spec["rows"]])
    out = {}
    start = time.perf_counter()
    for func, alpha, pair in spec["measures"]:
        f = getattr(histentropy, func)
        for c in spec["pseudocounts"]:
            args = (P, Q) if pair else (P,)
            if alpha is not None:
                args += (float(alpha),)
            r = f(*args, pseudocount=c)
            out[f"{func}|{alpha}|{c}"] = [float(v) for v in np.asarray(r)]
    elapsed = time.perf_counter() - start
    print(json.dumps({"results": out, "elapsed": elapsed}))
""")


def _sanitized():
    """True when the extensions run under AddressSanitizer, which reserves
    terabytes of address space: the child's RLIMIT_AS cannot hold it."""
    try:
        with open("/proc/self/maps") as maps:
            return any("libasan" in line for line in maps)
    except OSError:
        return False


@pytest.mark.skipif(_sanitized(), reason="RLIMIT_AS and AddressSanitizer's shadow "
                                         "memory do not mix (.ci/sanitizers)")
def test_huge_sparse_with_pseudocount_is_o_nnz(fam, family, tmp_path):
    measures = family.MEASURES + family.CORE
    pseudocounts = [0.5, 1e-3]
    spec = {
        "cols": HUGE_COLS,
        "rows": HUGE_ROWS,
        "measures": [(m.func, None if m.alpha is None else repr(m.alpha), m.pair)
                     for m in measures],
        "pseudocounts": pseudocounts,
    }
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # ~2 x 21 calls on 3 rows of 10**9 columns: O(nnz) takes milliseconds;
    # one pass over the columns would take seconds per call.
    assert report["elapsed"] < 5.0, report["elapsed"]
    failures = []
    for m in measures:
        for c in pseudocounts:
            got = report["results"][f"{m.func}|{None if m.alpha is None else repr(m.alpha)}|{c}"]
            assert len(got) == len(HUGE_ROWS)
            for r, (prow, qrow) in enumerate(HUGE_ROWS):
                stored = sorted({col for col, _ in prow} | {col for col, _ in qrow})
                pd_, qd = dict(prow), dict(qrow)
                pv = np.array([pd_.get(col, 0.0) for col in stored] + [0.0])
                qv = np.array([qd.get(col, 0.0) for col in stored] + [0.0])
                mult = [1] * len(stored) + [HUGE_COLS - len(stored)]
                want = fam.value(m, pv, qv if m.pair else None, mult=mult, pseudocount=c)
                try:
                    fam.assert_close(np.float64(got[r]), want,
                                     what=f"{m} row {r} pseudocount={c}")
                except AssertionError as e:
                    failures.append(str(e))
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batched():
    rng = np.random.default_rng(7)
    p = rng.random((3000, 300))
    p[p < 0.1] = 0.0
    q = rng.random((3000, 300)) + 1e-3
    p1 = rng.random(300000)
    p1[p1 < 0.05] = 0.0
    q1 = rng.random(300000) + 1e-3
    return p, q, p1, q1


def _workers_measures(family):
    """Every kind of finishing step: the plain measures, Renyi at a generic
    alpha, the Renyi entropy at inf (a maximum), the divergence at 0 (the
    mass on a support)."""
    return [m for m in family.MEASURES
            if m.alpha in (None, 2.0) or (m.func, m.alpha) in (("renyi_entropy", math.inf),
                                                                ("renyi_divergence", 0.0))]


def test_workers_agree(batched, family):
    p, q, p1, q1 = batched
    P = sparse.csr_array(p)
    failures = []
    for measure in _workers_measures(family):
        for a, b, what in ((p, q, "3000x300"), (p1, q1, "300000"),
                           (P, q, "sparse 3000x300")):
            ref = _call(measure, a, b, workers=1)
            for workers in (2, -1):
                got = _call(measure, a, b, workers=workers)
                try:
                    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0,
                                               err_msg=f"{measure} {what} workers={workers}")
                except AssertionError as e:
                    failures.append(str(e))
        got = _call(measure, p1, q1, workers=2, pseudocount=0.5)
        np.testing.assert_allclose(got, _call(measure, p1, q1, workers=1, pseudocount=0.5),
                                   rtol=1e-13, atol=0, err_msg=f"{measure} pseudocount")
    assert not failures, "\n".join(failures)


def test_workers_axis_0(batched, family):
    p, q, _, _ = batched
    for measure in family.PAIR_MEASURES[:6]:
        ref = measure(p.T, q.T, axis=0, workers=1)
        np.testing.assert_allclose(measure(p.T, q.T, axis=0, workers=2), ref, rtol=1e-13,
                                   atol=0, err_msg=str(measure))
        np.testing.assert_allclose(ref, measure(p, q, workers=1), rtol=1e-13, atol=0,
                                   err_msg=str(measure))
