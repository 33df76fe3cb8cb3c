"""Differential fuzzing: every public function and input kind against an
independent reference.

Hypothesis draws the inputs; the references never call histentropy:
mpmath (60 digits, float inputs converted exactly: conftest's `exact`) for
dense, sparse and labelled histograms and for logits, and exact integer
bookkeeping of the counts plus mpmath for streaming operation sequences.
Each function must meet the accuracy contract |got - exact| <=
1e-12 max(1, |exact|), with the special values of the README.

The number of examples per test is bounded for CI (20);
HISTENTROPY_FUZZ_EXAMPLES=N asks for N.
"""
import os

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import histentropy

EXAMPLES = int(os.environ.get("HISTENTROPY_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

# Weights over the whole float range: zeros, subnormals, huge (overflowing
# totals), ordinary counts.
WEIGHT = st.one_of(
    st.just(0.0),
    st.floats(min_value=5e-324, max_value=1e-300),
    st.floats(min_value=1e-300, max_value=1e300),
    st.floats(min_value=1e300, max_value=1.7976931348623157e308),
    st.integers(min_value=0, max_value=10**6).map(float),
)
DTYPES = ["float64", "float32", "int64", "int32", "uint16", "uint8"]


def _weights(dtype, n):
    if dtype.startswith("float"):
        elements = WEIGHT if dtype == "float64" else st.floats(
            min_value=0.0, max_value=2.0**100, width=32)
        return hnp.arrays(dtype, n, elements=elements)
    info = np.iinfo(dtype)
    return hnp.arrays(dtype, n, elements=st.integers(0, min(info.max, 2**53)))


@st.composite
def dense_pair(draw, max_n=24):
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(1, max_n))
    rows = draw(st.integers(1, 3))
    p = draw(_weights(dtype, (rows, n)))
    q = draw(_weights(dtype, (rows, n)))
    layout = draw(st.sampled_from(["C", "F", "strided", "reversed", "readonly"]))
    if layout == "F":
        p, q = np.asfortranarray(p), np.asfortranarray(q)
    elif layout == "strided":
        p = np.repeat(p, 2, axis=1)[:, ::2]
        q = np.repeat(q, 2, axis=1)[:, ::2]
    elif layout == "reversed":
        p, q = p[:, ::-1], q[:, ::-1]
    else:
        p.flags.writeable = q.flags.writeable = False
    return p, q


def _check_rows(exact, got, p, q=None, kind="entropy", base=None):
    got = np.atleast_1d(got)
    for r in range(p.shape[0]):
        if kind == "entropy":
            want = exact.entropy(p[r], base=base)
        elif kind == "kl":
            want = exact.kl_divergence(p[r], q[r], base=base)
        else:
            want = exact.cross_entropy(p[r], q[r], base=base)
        exact.assert_close(got[r], want, what=f"{kind} row {r}")


# ---- dense ----------------------------------------------------------------------

@FUZZ
@given(dense_pair(), st.sampled_from([None, 2, 10]))
@example((np.array([[1e308, 1e308, 5e307]]), np.array([[1.0, 2.0, 3.0]])), None)
@example((np.array([[1 - 1e-12, 1e-12]]), np.array([[1 - 1e-12, 1e-12]])), 2)
def test_dense(exact, pair, base):
    p, q = pair
    _check_rows(exact, histentropy.entropy(p, base=base), p, base=base)
    _check_rows(exact, histentropy.kl_divergence(p, q, base=base), p, q, "kl", base)
    _check_rows(exact, histentropy.cross_entropy(p, q, base=base), p, q, "cross", base)
    d = histentropy.decompose(p, q, base=base)
    _check_rows(exact, d.kl_divergence, p, q, "kl", base)
    assert np.all(np.nan_to_num(np.atleast_1d(d.kl_divergence), nan=0.0) >= 0.0)
    whole = exact.entropy(p.ravel(), base=base)
    exact.assert_close(histentropy.entropy(p, axis=None, base=base), whole, what="axis=None")


# ---- sparse ---------------------------------------------------------------------

@FUZZ
@given(dense_pair(max_n=16), st.sampled_from(["csr", "csc", "coo", "lil", "dok"]),
       st.sampled_from(["sparse-dense", "dense-sparse", "sparse-sparse"]))
@example((np.array([[1.0, 2.0, 3.0]]), np.array([[1e308, 1e308, 5e307]])), "csr",
         "sparse-dense")
@example((np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), np.array([[1e308, 1, 1, 1, 1e308]])),
         "csr", "sparse-dense")
def test_sparse(exact, pair, fmt, kind):
    sparse = pytest.importorskip("scipy.sparse")
    p, q = (np.ascontiguousarray(a, dtype=np.float64) for a in pair)
    P = sparse.csr_array(p).asformat(fmt)
    Q = sparse.csr_array(q).asformat(fmt)
    a, b = {"sparse-dense": (P, q), "dense-sparse": (p, Q), "sparse-sparse": (P, Q)}[kind]
    _check_rows(exact, histentropy.entropy(P), p)
    _check_rows(exact, histentropy.kl_divergence(a, b), p, q, "kl")
    _check_rows(exact, histentropy.cross_entropy(a, b), p, q, "cross")
    exact.assert_close(histentropy.kl_divergence(a, b, axis=None),
                       exact.kl_divergence(p.ravel(), q.ravel()), what="axis=None")


# ---- labelled -------------------------------------------------------------------

@FUZZ
@given(st.dictionaries(st.text(min_size=1, max_size=3), WEIGHT, max_size=12),
       st.dictionaries(st.text(min_size=1, max_size=3), WEIGHT, max_size=12))
def test_labelled(exact, p, q):
    labels = sorted(set(p) | set(q))
    pv = np.array([p.get(k, 0.0) for k in labels])
    qv = np.array([q.get(k, 0.0) for k in labels])
    exact.assert_close(histentropy.entropy(p), exact.entropy(list(p.values())) if p
                       else mpmath.mpf("nan"), what="entropy")
    if labels:
        exact.assert_close(histentropy.kl_divergence(p, q), exact.kl_divergence(pv, qv),
                           what="kl")


# ---- logits ---------------------------------------------------------------------

LOGIT = st.one_of(st.floats(-50.0, 50.0), st.floats(-1e300, 1e300),
                  st.just(-np.inf))


def _softmax_exact(row):
    with mpmath.workdps(60):
        x = [mpmath.mpf(float(v)) for v in row]
        finite = [v for v in x if mpmath.isfinite(v)]
        m = max(finite)
        e = [mpmath.exp(v - m) if mpmath.isfinite(v) else mpmath.mpf(0) for v in x]
        s = mpmath.fsum(e)
        return [v / s for v in e]


@FUZZ
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 12)),
                  elements=LOGIT),
       st.data())
def test_logits(exact, logits, data):
    logits[:, 0] = np.where(np.isfinite(logits[:, 0]), logits[:, 0], 0.0)
    labels = np.array([data.draw(st.integers(0, logits.shape[1] - 1))
                       for _ in range(logits.shape[0])])
    h = histentropy.entropy_from_logits(logits)
    ce = histentropy.cross_entropy_from_logits(logits, labels)
    kl = histentropy.kl_divergence_from_logits(logits, logits[::-1])
    for r in range(logits.shape[0]):
        x = _softmax_exact(logits[r])
        with mpmath.workdps(60):
            want_h = -mpmath.fsum(v * mpmath.log(v) for v in x if v > 0)
            want_ce = -mpmath.log(x[labels[r]]) if x[labels[r]] > 0 else mpmath.inf
            y = _softmax_exact(logits[::-1][r])
            if any(a > 0 and b == 0 for a, b in zip(x, y)):
                want_kl = mpmath.inf
            else:
                want_kl = mpmath.fsum(a * mpmath.log(a / b) for a, b in zip(x, y) if a > 0)
        exact.assert_close(h[r], want_h, rel=1e-11, what="entropy_from_logits")
        exact.assert_close(ce[r], want_ce, rel=1e-11, what="cross_entropy_from_logits")
        exact.assert_close(kl[r], want_kl, rel=1e-11, what="kl_divergence_from_logits")


# ---- streaming --------------------------------------------------------------------

OPERATION = st.one_of(
    st.tuples(st.just("update"), st.lists(st.integers(0, 7), max_size=40)),
    st.tuples(st.just("add_counts"),
              st.lists(st.integers(0, 1000), min_size=8, max_size=8)),
    st.tuples(st.just("merge"), st.lists(st.integers(0, 7), max_size=40)),
    st.tuples(st.just("reset"), st.just(None)),
)


@FUZZ
@given(st.lists(OPERATION, max_size=12),
       hnp.arrays(np.float64, 8, elements=st.floats(1e-3, 1e3)),
       st.sampled_from([None, 25]))
def test_streaming_operation_sequences(exact, operations, reference, window):
    h = histentropy.StreamingHistogram(8, reference=reference, window=window)
    events = []                     # the reference bookkeeping: every event
    counts = np.zeros(8, dtype=np.int64)
    for name, arg in operations:
        if name == "update":
            h.update(np.array(arg, dtype=np.int64))
            events += arg
        elif name == "add_counts":
            if window is not None:
                continue            # counts without events have no place in a window
            h.add_counts(np.array(arg, dtype=np.float64))
            counts += np.array(arg)
        elif name == "merge":
            other = histentropy.StreamingHistogram(8, reference=reference, window=window)
            other.update(np.array(arg, dtype=np.int64))
            if window is None:
                h.merge(other)
                events += arg
        else:
            h.reset()
            events, counts = [], np.zeros(8, dtype=np.int64)
    kept = events[-window:] if window is not None else events
    want = counts + np.bincount(np.array(kept, dtype=np.int64), minlength=8)
    np.testing.assert_array_equal(h.counts, want)
    exact.assert_close(h.entropy(), exact.entropy(want), rel=1e-10, what="stream entropy")
    exact.assert_close(h.kl_divergence(), exact.kl_divergence(want, reference), rel=1e-10,
                       what="stream kl")
    exact.assert_close(h.cross_entropy(), exact.cross_entropy(want, reference), rel=1e-10,
                       what="stream cross entropy")
