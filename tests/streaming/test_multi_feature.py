"""StreamingHistogram with n_features (one histogram per feature, fed by rows
of bin indices) and with a pseudocount.

The contract: every query of a multi-feature histogram is a float64 array of
length n_features whose entry f equals the batch function of histentropy on
feature f's counts (and reference), with the histogram's pseudocount; a
single-feature histogram with a pseudocount answers like the batch function
called with that pseudocount.

References are independent of the code under test: the counts come from slow
Python models of the stream (a list of rows for plain streams and windows,
an explicit multiply-every-count loop for decay), and the queries from the
batch functions (tests/family checks those against mpmath) applied to those
counts, to 1e-10 relative; +inf and NaN exactly.

The helpers here (`close`, `check_queries`, `RowModel`, ...) are also used by
test_monitor.py and test_comparison.py (tests/streaming is on sys.path).
"""
import copy
import math
import os
import pickle
from collections import deque

import numpy as np
import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import histentropy

FULL = int(os.environ.get("HISTENTROPY_FUZZ_EXAMPLES", "0") or 0) > 20

#: |got - batch| <= REL * max(|batch|, TINY); NaN and +-inf exactly.
REL = 1e-10
TINY = np.finfo(np.float64).tiny
#: ... or both at most ZERO in magnitude: numerically zero. The batch
#: functions themselves give e.g. cross_entropy([3.7], [2.1]) = 7.6e-65 and
#: hellinger_distance([3.7], [2.1]) = 4.4e-33 (its square root) for a one-bin
#: histogram, whose every measure is exactly 0, and the streaming side may
#: round the same zero either way. No nonzero result these tests compare is
#: anywhere near that small (the smallest, KL of near-identical streams, are
#: ~1e-9).
ZERO = 1e-30

#: (query, keyword arguments); entropy is the only one without a reference.
QUERIES = [
    ("entropy", {}),
    ("entropy", {"base": 2}),
    ("cross_entropy", {}),
    ("cross_entropy", {"base": 2}),
    ("kl_divergence", {}),
    ("kl_divergence", {"base": 2}),
    ("jeffreys_divergence", {}),
    ("jeffreys_divergence", {"base": 2}),
    ("population_stability_index", {}),
    ("population_stability_index", {"base": 10}),
    ("hellinger_distance", {}),
    ("chi_square_divergence", {}),
    ("js_divergence", {}),
    ("js_divergence", {"base": 2}),
    ("js_distance", {}),
    ("js_distance", {"base": 2}),
    ("total_variation", {}),
]
PAIR_NAMES = sorted({name for name, _ in QUERIES if name != "entropy"})
#: Dyadic weights: every sum of a few hundred of them is exact in float64,
#: so that counts can be compared exactly.
DYADIC = [0.0, 0.25, 0.5, 1.0, 3.0, 1024.0]


# ---------------------------------------------------------------------------
# Comparison helpers
# ---------------------------------------------------------------------------

def close(got, ref):
    got, ref = float(got), float(ref)
    if math.isnan(ref):
        return math.isnan(got)
    if math.isinf(ref):
        return got == ref
    if abs(got) <= ZERO and abs(ref) <= ZERO:
        return True
    return math.isfinite(got) and abs(got - ref) <= REL * max(abs(ref), TINY)


def assert_close(got, ref, what=""):
    assert close(got, ref), (
        f"{what}: got {float(got)!r}, batch {float(ref)!r}, relative error "
        f"{abs(float(got) - float(ref)) / abs(float(ref)) if float(ref) else math.inf:.3e}")


def batch(name, counts, reference, pseudocount, kw):
    """The batch function `name` of histentropy on one feature's arrays."""
    func = getattr(histentropy, name)
    if name == "entropy":
        return func(np.asarray(counts, np.float64), pseudocount=pseudocount, **kw)
    return func(np.asarray(counts, np.float64), np.asarray(reference, np.float64),
                pseudocount=pseudocount, **kw)


def as_rows(value, n_features):
    """counts / reference of a histogram as a list of 1-D float64 arrays."""
    if n_features is None:
        return [np.asarray(value, dtype=np.float64)]
    if isinstance(value, np.ndarray):
        assert value.ndim == 2 and value.shape[0] == n_features, value.shape
        return [np.asarray(v, dtype=np.float64) for v in value]
    value = list(value)
    assert len(value) == n_features
    return [np.asarray(v, dtype=np.float64) for v in value]


def check_layout(value, n_features, n_bins, what="counts"):
    """`value` (counts, reference) is laid out as the spec says: a 1-D array
    for one feature, (F, n) for an int n_bins, a list of F 1-D arrays when
    ragged."""
    if n_features is None:
        assert isinstance(value, np.ndarray) and value.shape == (n_bins,), (what, value)
        assert value.dtype == np.float64
    elif isinstance(n_bins, (int, np.integer)):
        assert isinstance(value, np.ndarray), (what, type(value))
        assert value.shape == (n_features, n_bins) and value.dtype == np.float64, (what, value)
    else:
        assert isinstance(value, list) and len(value) == n_features, (what, type(value))
        for v, n in zip(value, n_bins):
            assert isinstance(v, np.ndarray) and v.shape == (n,), (what, v)
            assert v.dtype == np.float64


def query_all(h, with_reference=True, decompose=True):
    """Every query of h (none of them reads `counts`)."""
    out = {}
    for name, kw in QUERIES:
        if name != "entropy" and not with_reference:
            continue
        out[(name, tuple(kw.items()))] = getattr(h, name)(**kw)
    if with_reference and decompose:
        for base in (None, 2):
            d = h.decompose(base=base)
            for field in ("cross_entropy", "entropy", "kl_divergence"):
                out[("decompose." + field, (("base", base),))] = getattr(d, field)
    return out


def _kw_of(key):
    return {k: v for k, v in key[1] if v is not None}


def check_queries(h, reference_rows, pseudocount, what="", counts_rows=None,
                  n_features=None, decompose=True):
    """Query everything, then compare entry by entry with the batch functions
    on `counts_rows` (by default h.counts, read after the queries: reading
    the counts of a decaying histogram may renormalise it)."""
    got = query_all(h, reference_rows is not None, decompose)
    if counts_rows is None:
        counts_rows = as_rows(h.counts, n_features)
    for key, value in got.items():
        name = key[0].replace("decompose.", "")
        kw = _kw_of(key)
        if n_features is None:
            assert isinstance(value, (float, np.floating)) and np.ndim(value) == 0, (
                what, key, type(value))
            values = [value]
        else:
            assert isinstance(value, np.ndarray), (what, key, type(value))
            assert value.dtype == np.float64 and value.shape == (n_features,), (
                what, key, value)
            values = list(value)
        for f, v in enumerate(values):
            ref = batch(name, counts_rows[f], None if reference_rows is None
                        else reference_rows[f], pseudocount, kw)
            assert_close(v, ref, f"{what} {key[0]}{kw or ''} feature {f}")
    return got


def assert_counts(got_rows, expected_rows, exact=True, what=""):
    assert len(got_rows) == len(expected_rows)
    for f, (g, e) in enumerate(zip(got_rows, expected_rows)):
        assert g.shape == e.shape, (what, f, g.shape, e.shape)
        if exact:
            np.testing.assert_array_equal(g, e, err_msg=f"{what} feature {f}")
        else:
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-300,
                                       err_msg=f"{what} feature {f}")
            np.testing.assert_array_equal(g == 0, e == 0, err_msg=f"{what} feature {f}")


def same_results(a, b):
    """Two query dicts (query_all) hold the same numbers, exactly."""
    assert a.keys() == b.keys()
    for key in a:
        x, y = np.asarray(a[key], np.float64), np.asarray(b[key], np.float64)
        np.testing.assert_array_equal(x, y, err_msg=str(key))


def assert_same_histogram(h, twin, n_features, with_reference=True):
    """h and twin hold the same counts and answer the same numbers."""
    same_results(query_all(h, with_reference), query_all(twin, with_reference))
    assert_counts(as_rows(h.counts, n_features), as_rows(twin.counts, n_features))
    np.testing.assert_array_equal(np.asarray(h.total), np.asarray(twin.total))


# ---------------------------------------------------------------------------
# The model: rows of bins, a window of rows, decay per row
# ---------------------------------------------------------------------------

class RowModel:
    """Per-feature counts of a stream of rows (None: no value in that
    feature). window=W keeps the last W rows; decay=d multiplies every count
    by (1 - d) before each row."""

    def __init__(self, n_bins, window=None, decay=None):
        self.n_bins = list(n_bins)
        self.window, self.decay = window, decay
        self.reset()

    def reset(self):
        self.rows = deque(maxlen=self.window)  # (bins, weight); plain: all rows
        self.c = [np.zeros(n) for n in self.n_bins]

    def update(self, rows, weights=None):
        for i, r in enumerate(rows):
            r = [None if b is None else int(b)
                 for b in (r if isinstance(r, (list, tuple)) else np.atleast_1d(r))]
            assert len(r) == len(self.n_bins)
            w = 1.0 if weights is None else float(weights[i])
            if self.decay is not None:
                for f, b in enumerate(r):
                    self.c[f] *= 1.0 - self.decay
                    if b is not None:
                        self.c[f][b] += w
            else:
                self.rows.append((tuple(r), w))

    def evicted_by(self, k):
        """The rows that k more rows push out of the window (oldest first)."""
        if self.window is None:
            return []
        over = len(self.rows) + k - self.window
        return list(self.rows)[:max(0, over)]

    def counts(self):
        if self.decay is not None:
            return [c.copy() for c in self.c]
        per = [[[] for _ in range(n)] for n in self.n_bins]
        for r, w in self.rows:
            for f, b in enumerate(r):
                if b is not None:
                    per[f][b].append(w)
        # correctly rounded sums
        return [np.array([math.fsum(ws) for ws in pf], dtype=np.float64) for pf in per]


def per_feature(n_bins, n_features):
    return [n_bins] * n_features if isinstance(n_bins, (int, np.integer)) else list(n_bins)


def random_rows(rng, nb, m, p=None):
    """m rows, column f in [0, nb[f]) (drawn from p[f] when given)."""
    cols = [rng.integers(0, n, m) if p is None else rng.choice(n, m, p=p[f])
            for f, n in enumerate(nb)]
    return np.stack(cols, axis=1) if m else np.zeros((0, len(nb)), np.int64)


def random_reference(rng, nb, zero_bins=True):
    rows = []
    for n in nb:
        r = rng.random(n) + 0.05
        if zero_bins and n > 2:
            r[rng.integers(n)] = 0.0  # counts there: +inf for KL, chi-square
        rows.append(r)
    return rows


def reference_argument(rows, n_bins):
    return np.array(rows) if isinstance(n_bins, (int, np.integer)) else [r.copy() for r in rows]


# ---------------------------------------------------------------------------
# Construction and attributes
# ---------------------------------------------------------------------------

def test_single_feature_is_unchanged():
    h = histentropy.StreamingHistogram(4, reference=[1, 2, 3, 4])
    assert h.n_features is None and h.n_bins == 4
    h.update([0, 1, 1])
    assert isinstance(h.entropy(), float) and isinstance(h.kl_divergence(), float)
    check_queries(h, [np.array([1.0, 2, 3, 4])], 0.0, "single")


@pytest.mark.parametrize("n_features, n_bins", [(1, 4), (3, 5), (3, (2, 7, 1)), (2, [3, 3])])
def test_attributes_and_layout(n_features, n_bins):
    h = histentropy.StreamingHistogram(n_bins, n_features=n_features)
    assert h.n_features == n_features
    if isinstance(n_bins, int):
        assert h.n_bins == n_bins
    elif len(set(n_bins)) > 1:
        assert isinstance(h.n_bins, tuple) and h.n_bins == tuple(n_bins)
    else:  # a sequence of equal sizes: the int or the tuple
        assert h.n_bins in (n_bins[0], tuple(n_bins))
    nb = per_feature(n_bins, n_features)
    if isinstance(n_bins, int) or len(set(nb)) > 1:
        check_layout(h.counts, n_features, n_bins if isinstance(n_bins, int) else nb)
    assert_counts(as_rows(h.counts, n_features), [np.zeros(n) for n in nb])
    total = h.total
    assert isinstance(total, np.ndarray) and total.dtype == np.float64
    np.testing.assert_array_equal(total, np.zeros(n_features))
    e = h.entropy()
    assert isinstance(e, np.ndarray) and e.shape == (n_features,) and np.isnan(e).all()
    h.update([[0] * n_features, [n - 1 for n in nb]], weights=[2.0, 0.5])
    expected = [np.bincount([0, n - 1], weights=[2.0, 0.5], minlength=n) for n in nb]
    assert_counts(as_rows(h.counts, n_features), expected)
    np.testing.assert_array_equal(h.total, [2.5] * n_features)
    check_queries(h, None, 0.0, "layout", n_features=n_features)


def test_reference_layouts():
    r = np.array([[1.0, 2.0, 3.0], [3.0, 0.0, 1.0]])
    h = histentropy.StreamingHistogram(3, n_features=2, reference=r)
    check_layout(h.reference, 2, 3, "reference")
    np.testing.assert_array_equal(h.reference, r)
    rr = [np.array([1.0, 2.0]), np.array([1.0, 1.0, 1.0, 5.0])]
    h = histentropy.StreamingHistogram((2, 4), n_features=2, reference=rr)
    check_layout(h.reference, 2, (2, 4), "reference")
    assert_counts(as_rows(h.reference, 2), rr)
    check_layout(h.counts, 2, (2, 4))
    # the reference is a copy
    r[0, 0] = 100.0
    rr[0][0] = 100.0
    assert h.reference[0][0] == 1.0


def test_constructor_errors():
    SH = histentropy.StreamingHistogram
    bad = [
        ((5,), {"n_features": 0}, ValueError, "n_features"),
        ((5,), {"n_features": -2}, ValueError, "n_features"),
        ((5,), {"n_features": 1.5}, (TypeError, ValueError), "n_features"),
        (((3, 4),), {"n_features": 3}, ValueError, "n_bins"),
        (((3, 4, 5, 6),), {"n_features": 3}, ValueError, "n_bins"),
        (((3, 0, 5),), {"n_features": 3}, ValueError, "n_bins"),
        (((3, 4),), {}, (TypeError, ValueError), "n_bins"),
        (([3, 4],), {}, (TypeError, ValueError), "n_bins"),
        ((0,), {"n_features": 2}, ValueError, "n_bins"),
        ((3,), {"n_features": 2, "reference": np.ones((3, 3))}, ValueError, "reference"),
        ((3,), {"n_features": 2, "reference": np.ones((2, 4))}, ValueError, "reference"),
        ((3,), {"n_features": 2, "reference": np.ones(3)}, ValueError, "reference"),
        ((3,), {"n_features": 2, "reference": np.ones((2, 3, 1))}, ValueError, "reference"),
        (((2, 3),), {"n_features": 2, "reference": [np.ones(2), np.ones(4)]}, ValueError,
         "reference"),
        (((2, 3),), {"n_features": 2, "reference": [np.ones(2)]}, ValueError, "reference"),
        (((2, 3),), {"n_features": 2, "reference": [np.ones(2), np.ones(3), np.ones(3)]},
         ValueError, "reference"),
        ((3,), {"n_features": 2, "reference": -np.ones((2, 3))}, ValueError, "reference"),
        ((3,), {"n_features": 2, "window": 4, "decay": 0.1}, ValueError,
         "window|decay|exclusive"),
    ]
    for c in (-1.0, -1e-300, math.nan, math.inf, -math.inf):
        for extra in ({}, {"n_features": 2}, {"n_features": 2, "window": 3}):
            bad.append(((3,), {"pseudocount": c, **extra}, ValueError, "pseudocount"))
    bad.append(((3,), {"pseudocount": "0.5"}, (TypeError, ValueError), "pseudocount"))
    for args, kwargs, exc, match in bad:
        with pytest.raises(exc, match=match):
            SH(*args, **kwargs)
    # arguments that are fine
    SH(3, pseudocount=0)
    SH(3, pseudocount=np.float32(0.5), n_features=2)
    SH(np.int64(3), n_features=np.int32(2))
    SH((1, 1), n_features=2)


def test_no_reference_raises_and_bad_base():
    h = histentropy.StreamingHistogram(3, n_features=2, pseudocount=0.5)
    h.update([[0, 1]])
    for name in PAIR_NAMES + ["decompose"]:
        with pytest.raises(ValueError, match="reference"):
            getattr(h, name)()
    for base in (1, 0, -2, np.nan):
        with pytest.raises(ValueError, match="base"):
            h.entropy(base=base)


# ---------------------------------------------------------------------------
# Random streams against the model
# ---------------------------------------------------------------------------

LAYOUTS = {"one": (1, 5), "three": (3, 5), "ragged": (3, (1, 7, 3))}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("mode", ["plain", "window", "decay"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
def test_random_streams_match_batch(rng, layout, mode, weighted, pseudocount):
    F, n_bins = LAYOUTS[layout]
    nb = per_feature(n_bins, F)
    ref_rows = random_reference(rng, nb)
    kwargs = {"window": 17} if mode == "window" else {"decay": 0.05} if mode == "decay" else {}
    h = histentropy.StreamingHistogram(n_bins, n_features=F, pseudocount=pseudocount,
                                       reference=reference_argument(ref_rows, n_bins),
                                       **kwargs)
    model = RowModel(nb, **kwargs)
    probs = [r / r.sum() for r in ref_rows]
    steps = 60 if FULL else 20
    for step in range(steps):
        m = int(rng.choice([1, 2, 5, 16, 60]))
        rows = random_rows(rng, nb, m, probs if rng.random() < 0.5 else None)
        rows = rows.astype(rng.choice([np.int8, np.uint16, np.int32, np.int64]))
        weights = (rng.choice([1e-3, 1.0, 1e4], m) * rng.random(m)) if weighted else None
        h.update(rows, weights)
        model.update(rows, weights)
        if rng.random() < 0.35 or step == steps - 1:
            what = f"{layout} {mode} step {step}"
            if mode == "decay":
                check_queries(h, ref_rows, pseudocount, what, n_features=F)
                got = as_rows(h.counts, F)
                for g, e in zip(got, model.counts()):
                    np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-300)
                np.testing.assert_allclose(h.total, [c.sum() for c in got], rtol=1e-12)
            else:
                expected = model.counts()
                assert_counts(as_rows(h.counts, F), expected, exact=not weighted, what=what)
                check_queries(h, ref_rows, pseudocount, what, counts_rows=expected,
                              n_features=F)
                np.testing.assert_allclose(h.total, [math.fsum(c) for c in expected],
                                           rtol=1e-13)
                check_layout(h.counts, F, n_bins if isinstance(n_bins, int) else nb)


@pytest.mark.parametrize("mode", ["plain", "window", "decay"])
def test_features_are_independent_histograms(rng, mode):
    """Feature f of an F-feature histogram equals a single-feature histogram
    fed column f (with the row weights)."""
    F, n = 3, 6
    ref = rng.random((F, n)) + 0.1
    kwargs = {"window": 9} if mode == "window" else {"decay": 0.1} if mode == "decay" else {}
    h = histentropy.StreamingHistogram(n, n_features=F, reference=ref, pseudocount=0.25,
                                       **kwargs)
    singles = [histentropy.StreamingHistogram(n, reference=ref[f], pseudocount=0.25, **kwargs)
               for f in range(F)]
    for _ in range(12):
        m = int(rng.integers(1, 12))
        rows = rng.integers(0, n, (m, F))
        w = rng.choice(DYADIC, m)
        h.update(rows, w)
        for f in range(F):
            singles[f].update(rows[:, f], w)
    got = query_all(h)
    for f in range(F):
        one = query_all(singles[f])
        for key in got:
            assert_close(got[key][f], one[key], f"{mode} {key} feature {f}")
    if mode != "decay":
        assert_counts(as_rows(h.counts, F), [s.counts for s in singles])


def test_event_dtypes_lists_and_layouts(rng):
    F, n = 3, 9
    h = histentropy.StreamingHistogram(n, n_features=F)
    model = RowModel([n] * F)
    big = rng.integers(0, n, (60, F))
    batches = [
        [[1, 2, 3], [0, 0, 8]],                        # list of lists
        [(4, 4, 4)],                                   # list of tuples
        big.astype(np.int8), big.astype(np.uint8), big.astype(np.int16),
        big.astype(np.uint32), big.astype(np.int32), big.astype(np.uint64),
        np.asfortranarray(big),                        # column-major
        big[::3],                                      # strided rows
        big[::-1, ::-1],                               # negative strides
        big.astype(np.int32)[:, [2, 0, 1]],
        np.zeros((0, F), np.int64),                    # an empty batch
        [],                                            # an empty list
    ]
    ro = big.copy()
    ro.flags.writeable = False
    batches.append(ro)
    for events in batches:
        before = copy.deepcopy(events)
        h.update(events)
        if len(events):
            model.update(np.asarray(events))
        if isinstance(events, np.ndarray):
            np.testing.assert_array_equal(events, before)  # input left alone
        else:
            assert events == before
    w = rng.random(60)
    w_before = w.copy()
    h.update(big, w[::-1][::1])
    model.update(big, w[::-1])
    h.update(big[:20], list(w[:20]))  # weights as a list
    model.update(big[:20], w[:20])
    np.testing.assert_array_equal(w, w_before)
    assert_counts(as_rows(h.counts, F), model.counts(), exact=False)
    check_queries(h, None, 0.0, "dtypes", n_features=F)


# ---------------------------------------------------------------------------
# Errors leave the state exactly as it was
# ---------------------------------------------------------------------------

def _feed(h, rng_seed, nb):
    rng = np.random.default_rng(rng_seed)
    for _ in range(3):
        rows = random_rows(rng, nb, 5)
        h.update(rows, rng.choice(DYADIC[1:], 5))


def _bad_updates(nb):
    F = len(nb)
    ok = [[0] * F, [n - 1 for n in nb]]
    bad = []
    for f, n in enumerate(nb):  # one bad value, in the last row, in each feature
        row = [0] * F
        row[f] = n
        bad.append(((ok + [row],), {}, ValueError))
        row = [0] * F
        row[f] = -1
        bad.append(((ok + [row],), {}, ValueError))
    bad += [
        ((np.array(ok + [[2**40] * F]),), {}, ValueError),
        ((np.array(ok + [[2**64 - 1] * F], dtype=np.uint64),), {}, ValueError),
        ((np.zeros(F, np.int64),), {}, ValueError),                 # 1-D
        ((np.zeros(4, np.int64),), {}, ValueError),
        ((np.zeros((3, F + 1), np.int64),), {}, ValueError),       # wrong number of columns
        ((np.zeros((3, F, 1), np.int64),), {}, ValueError),         # 3-D
        ((np.zeros((3, F)),), {}, TypeError),                       # float events
        ((np.array(ok, dtype=np.float32),), {}, TypeError),
        (([[0.0] * F],), {}, TypeError),
        ((ok,), {"weights": [1.0, -1.0]}, ValueError),
        ((ok,), {"weights": [1.0, np.nan]}, ValueError),
        ((ok,), {"weights": [np.inf, 1.0]}, ValueError),
        ((ok,), {"weights": [1.0]}, ValueError),
        ((ok,), {"weights": [1.0, 1.0, 1.0]}, ValueError),
        ((ok,), {"weights": np.ones((2, F))}, ValueError),
    ]
    return bad


@pytest.mark.parametrize("n_features, n_bins", [(1, 4), (3, 5), (3, (2, 6, 1))])
@pytest.mark.parametrize("kwargs", [{}, {"window": 7}, {"decay": 0.3}])
def test_rejected_updates_change_nothing(n_features, n_bins, kwargs):
    nb = per_feature(n_bins, n_features)
    ref = reference_argument([np.arange(1.0, n + 1) for n in nb], n_bins)

    def build():
        h = histentropy.StreamingHistogram(n_bins, n_features=n_features, reference=ref,
                                           pseudocount=0.5, **kwargs)
        _feed(h, 7, nb)
        return h

    h, twin = build(), build()
    for args, kw, exc in _bad_updates(nb):
        saved = copy.deepcopy((args, kw))
        with pytest.raises(exc):
            h.update(*args, **kw)
        for a, b in zip(args + tuple(kw.values()), saved[0] + tuple(saved[1].values())):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # inputs untouched
        assert_same_histogram(h, twin, n_features)
    # and both go on alike (a half-applied batch would show in the window)
    for i in range(3):
        rows = [[(i + j) % n for n in nb] for j in range(4)]
        h.update(rows, [1.0, 2.0, 0.5, 4.0])
        twin.update(rows, [1.0, 2.0, 0.5, 4.0])
        assert_same_histogram(h, twin, n_features)


@pytest.mark.parametrize("n_bins", [5, (2, 6, 1)])
def test_add_counts(rng, n_bins):
    F = 3
    nb = per_feature(n_bins, F)
    ref = [rng.random(n) + 0.1 for n in nb]
    a = histentropy.StreamingHistogram(n_bins, n_features=F, pseudocount=0.5,
                                       reference=reference_argument(ref, n_bins))
    b = histentropy.StreamingHistogram(n_bins, n_features=F, pseudocount=0.5,
                                       reference=reference_argument(ref, n_bins))
    expected = [np.zeros(n) for n in nb]
    for _ in range(4):
        c = [rng.integers(0, 4, n).astype(np.float64) for n in nb]
        arg = np.array(c) if isinstance(n_bins, int) else [x.copy() for x in c]
        saved = copy.deepcopy(arg)
        a.add_counts(arg)
        np.testing.assert_array_equal(np.concatenate([np.ravel(x) for x in arg]),
                                      np.concatenate([np.ravel(x) for x in saved]))
        for f in range(F):
            expected[f] += c[f]
        b.add_counts(np.array(c, dtype=np.int64) if isinstance(n_bins, int) else c)
    assert_counts(as_rows(a.counts, F), expected)
    assert_counts(as_rows(b.counts, F), expected)
    check_queries(a, ref, 0.5, "add_counts", counts_rows=expected, n_features=F)

    twin = pickle.loads(pickle.dumps(a))
    bad = [np.ones((F + 1, 5)), np.ones((F, 6)), np.ones(5), -np.ones((F, 5)),
           np.full((F, 5), np.nan), np.full((F, 5), np.inf)]
    if not isinstance(n_bins, int):
        bad = [[np.ones(n) for n in nb[:-1]], [np.ones(n + 1) for n in nb],
               [np.ones(n) for n in nb] + [np.ones(1)],
               [np.ones(n) * (-1 if f == F - 1 else 1) for f, n in enumerate(nb)],
               [np.ones(n) * (np.nan if f == F - 1 else 1) for f, n in enumerate(nb)]]
    for counts in bad:
        with pytest.raises(ValueError):
            a.add_counts(counts)
        assert_same_histogram(a, twin, F)


# ---------------------------------------------------------------------------
# Merge, reset, pickle
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n_bins", [4, (3, 1, 5)])
@pytest.mark.parametrize("kwargs", [{}, {"window": 10}, {"decay": 0.1}])
def test_merge(rng, n_bins, kwargs):
    F = 3
    nb = per_feature(n_bins, F)
    ref = reference_argument([rng.random(n) + 0.1 for n in nb], n_bins)
    make = lambda: histentropy.StreamingHistogram(n_bins, n_features=F, reference=ref,  # noqa
                                                  pseudocount=0.5, **kwargs)
    a, b = make(), make()
    ma, mb = RowModel(nb, **kwargs), RowModel(nb, **kwargs)
    for i in range(10):
        rows = random_rows(rng, nb, int(rng.integers(1, 8)))
        w = rng.choice(DYADIC[1:], len(rows))
        (a if i % 2 else b).update(rows, w)
        (ma if i % 2 else mb).update(rows, w)
    a.merge(b)
    if "decay" in kwargs:
        expected = [x + y for x, y in zip(ma.counts(), mb.counts())]
        for g, e in zip(as_rows(a.counts, F), expected):
            np.testing.assert_allclose(g, e, rtol=1e-13)
    else:  # the other's rows are replayed after these
        for r, w in list(mb.rows):
            ma.rows.append((r, w))
        expected = ma.counts()
        assert_counts(as_rows(a.counts, F), expected)
    check_queries(a, as_rows(ref, F), 0.5, f"merged {kwargs}", n_features=F)
    assert_counts(as_rows(b.counts, F), mb.counts(), exact="decay" not in kwargs)


def test_merge_mismatches_raise_and_leave_state():
    ref = np.ones((2, 4))
    a = histentropy.StreamingHistogram(4, n_features=2, reference=ref)
    a.update([[0, 1], [3, 3]])
    twin = pickle.loads(pickle.dumps(a))
    others = [
        histentropy.StreamingHistogram(4, n_features=3, reference=np.ones((3, 4))),
        histentropy.StreamingHistogram(5, n_features=2, reference=np.ones((2, 5))),
        histentropy.StreamingHistogram((4, 5), n_features=2,
                                       reference=[np.ones(4), np.ones(5)]),
        histentropy.StreamingHistogram(4, reference=np.ones(4)),
        histentropy.StreamingHistogram(4, n_features=2),
        histentropy.StreamingHistogram(4, n_features=2, reference=ref * [[1], [2]] + [0, 0, 0, 1]),
        histentropy.StreamingHistogram(4, n_features=2, reference=ref, window=3),
        histentropy.StreamingHistogram(4, n_features=2, reference=ref, decay=0.5),
        histentropy.StreamingHistogram(4, n_features=2, reference=ref, pseudocount=1.0),
    ]
    for other in others:
        other.update(np.zeros((1, other.n_features or 1), np.int64)
                     if other.n_features else [0])
        with pytest.raises(ValueError):
            a.merge(other)
        assert_same_histogram(a, twin, 2)
    with pytest.raises(TypeError):
        a.merge(np.ones((2, 4)))
    assert_same_histogram(a, twin, 2)


@pytest.mark.parametrize("kwargs", [{}, {"window": 6}, {"decay": 0.2}])
def test_reset(rng, kwargs):
    nb = (3, 5)
    h = histentropy.StreamingHistogram(nb, n_features=2, pseudocount=0.5,
                                       reference=[np.ones(3), np.arange(1.0, 6)], **kwargs)
    h.update(random_rows(rng, nb, 9))
    h.reset()
    assert_counts(as_rows(h.counts, 2), [np.zeros(3), np.zeros(5)])
    np.testing.assert_array_equal(h.total, [0.0, 0.0])
    check_queries(h, [np.ones(3), np.arange(1.0, 6)], 0.5, "reset", n_features=2)
    h.update([[1, 4], [2, 0]])
    expected = [np.array([0.0, 1, 1]), np.array([1.0, 0, 0, 0, 1])]
    if "decay" in kwargs:
        expected[0][1] *= 1 - kwargs["decay"]
        expected[1][4] *= 1 - kwargs["decay"]
    assert_counts(as_rows(h.counts, 2), expected, exact=False)
    check_queries(h, [np.ones(3), np.arange(1.0, 6)], 0.5, "after reset", n_features=2)


@pytest.mark.parametrize("n_bins", [6, (2, 6, 1)])
@pytest.mark.parametrize("kwargs", [{}, {"window": 13}, {"decay": 0.2}])
@pytest.mark.parametrize("pseudocount", [0.0, 0.75])
def test_pickle_and_copy_round_trip(rng, n_bins, kwargs, pseudocount):
    F = 3
    nb = per_feature(n_bins, F)
    ref = reference_argument([rng.random(n) + 0.1 for n in nb], n_bins)
    h = histentropy.StreamingHistogram(n_bins, n_features=F, reference=ref,
                                       pseudocount=pseudocount, **kwargs)
    for _ in range(6):
        m = int(rng.integers(1, 30))
        h.update(random_rows(rng, nb, m), rng.random(m) + 0.5)
    for clone in (lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy):
        h2 = clone(h)
        assert h2.n_features == F
        assert h2.n_bins == h.n_bins
        assert_counts(as_rows(h2.reference, F), as_rows(h.reference, F))
        assert_same_histogram(h, h2, F)
        for _ in range(4):  # the copy goes on exactly alike, independently
            rows = random_rows(rng, nb, 5)
            h.update(rows)
            h2.update(rows)
            assert_same_histogram(h, h2, F)
        h2.update(np.zeros((1, F), np.int64), weights=[0.123])
        assert not np.array_equal(np.asarray(h.total), np.asarray(h2.total))
        check_queries(h2, as_rows(ref, F), pseudocount, "unpickled", n_features=F)


def test_single_feature_pickle_keeps_pseudocount(rng):
    r = rng.random(8) + 0.1
    r[3] = 0.0
    h = histentropy.StreamingHistogram(8, reference=r, pseudocount=0.5, window=20)
    h.update(rng.integers(0, 8, 30))
    h2 = pickle.loads(pickle.dumps(h))
    assert h2.n_features is None
    assert h2.kl_divergence() == h.kl_divergence() and math.isfinite(h2.kl_divergence())
    h.update([3, 3])
    h2.update([3, 3])
    same_results(query_all(h), query_all(h2))
    check_queries(h2, [r], 0.5, "single pickled")


# ---------------------------------------------------------------------------
# Pseudocount
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("pseudocount", [1e-3, 0.5, 2.0, 0])
@pytest.mark.parametrize("kwargs", [{}, {"window": 25}, {"decay": 0.05}])
def test_single_feature_pseudocount_matches_batch(rng, pseudocount, kwargs):
    n = 12
    r = rng.random(n) + 0.05
    r[[2, 7]] = 0.0
    h = histentropy.StreamingHistogram(n, reference=r, pseudocount=pseudocount, **kwargs)
    plain = histentropy.StreamingHistogram(n, pseudocount=pseudocount, **kwargs)
    model = RowModel([n], **kwargs)
    check_queries(h, [r], pseudocount, "empty")  # batch: NaN, or uniform with c > 0
    for step in range(15):
        m = int(rng.choice([1, 3, 40]))
        bins = rng.integers(0, n, m)
        w = rng.random(m) * 3 if step % 2 else None
        h.update(bins, w)
        plain.update(bins, w)
        model.update(bins[:, None], w)
        if step % 4 == 3:
            if "decay" in kwargs:
                check_queries(h, [r], pseudocount, f"pc {pseudocount} step {step}")
                np.testing.assert_allclose(h.counts, model.counts()[0], rtol=1e-10)
            else:
                mc = model.counts()
                np.testing.assert_allclose(h.counts, mc[0], rtol=1e-12)
                check_queries(h, [r], pseudocount, f"pc {pseudocount} step {step}",
                              counts_rows=mc)
                check_queries(plain, None, pseudocount, "no reference", counts_rows=mc)
    # the spec's examples, literally
    counts = h.counts
    assert_close(h.kl_divergence(),
                 histentropy.kl_divergence(h.counts, r, pseudocount=pseudocount), "kl")
    assert_close(h.entropy(), histentropy.entropy(counts, pseudocount=pseudocount), "entropy")


@pytest.mark.parametrize("n_features", [None, 2])
@pytest.mark.parametrize("kwargs", [{}, {"window": 4}, {"decay": 0.2}])
def test_pseudocount_makes_zero_reference_bins_finite(n_features, kwargs):
    r1 = np.array([5.0, 0.0, 3.0, 2.0])
    ref = r1 if n_features is None else np.array([r1, r1[::-1]])
    ev = [1, 0, 2] if n_features is None else [[1, 2], [0, 0], [2, 3]]
    h0 = histentropy.StreamingHistogram(4, reference=ref, n_features=n_features, **kwargs)
    hc = histentropy.StreamingHistogram(4, reference=ref, n_features=n_features,
                                        pseudocount=0.5, **kwargs)
    h0.update(ev)
    hc.update(ev)
    refs = as_rows(ref, n_features)
    for name in ("kl_divergence", "population_stability_index", "jeffreys_divergence",
                 "chi_square_divergence", "cross_entropy"):
        assert np.all(np.asarray(getattr(h0, name)()) == math.inf), name
        got = np.atleast_1d(getattr(hc, name)())
        assert np.all(np.isfinite(got)), (name, got)
    check_queries(hc, refs, 0.5, f"pc {kwargs}", n_features=n_features)
    check_queries(h0, refs, 0.0, f"no pc {kwargs}", n_features=n_features)


def test_pseudocount_on_empty_and_zero_weight_rows():
    ref = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]])
    h = histentropy.StreamingHistogram(3, n_features=2, reference=ref, pseudocount=0.5)
    check_queries(h, list(ref), 0.5, "empty", n_features=2)
    h.update([[0, 1], [2, 2]], weights=[0.0, 0.0])
    check_queries(h, list(ref), 0.5, "zero weights", n_features=2)
    h0 = histentropy.StreamingHistogram(3, n_features=2, reference=ref)
    got = query_all(h0)
    assert all(np.isnan(v).all() for v in got.values())  # no mass, no pseudocount: NaN


# ---------------------------------------------------------------------------
# Hard accuracy cases
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
@pytest.mark.parametrize("kwargs", [{}, {"window": 200_000}, {"decay": 1e-7}])
def test_near_identical_streams(rng, pseudocount, kwargs):
    """Counts within 1e-4 relative of the reference: KL ~ 1e-8, and small
    updates on top (the running sums must keep 1e-10 relative)."""
    F, n = 3, 400
    ref = rng.random((F, n)) + 0.5
    big = np.round(ref * 1e9)
    counts = big * (1 + 1e-4 * rng.standard_normal((F, n)))
    h = histentropy.StreamingHistogram(n, n_features=F, reference=big, pseudocount=pseudocount,
                                       **kwargs)
    h.add_counts(counts)
    kl = h.kl_divergence()
    assert np.all((1e-9 < kl) & (kl < 1e-7)), kl
    check_queries(h, list(big), pseudocount, "near identical", n_features=F)
    for step in range(40):
        rows = rng.integers(0, n, (20, F))
        h.update(rows, rng.integers(1, 1000, 20).astype(np.float64))
        if step % 20 == 19:
            check_queries(h, list(big), pseudocount, f"near identical step {step}",
                          n_features=F)


def test_kl_1e_minus_8_from_updates(rng):
    """Two features whose counts follow the reference up to ~1e-4: built from
    weighted updates only."""
    n = 50
    ref = np.vstack([np.arange(1.0, n + 1), np.full(n, 3.0)])
    h = histentropy.StreamingHistogram(n, n_features=2, reference=ref * 1e6)
    bins = np.arange(n)
    for k in range(10):
        w = 1e6 * ref[0] * (1 + 1e-4 * np.sin(bins))
        h.update(np.stack([bins, bins], axis=1), w)
    kl = h.kl_divergence()
    assert 1e-10 < kl[0] < 1e-7, kl
    check_queries(h, list(ref * 1e6), 0.0, "kl 1e-8", n_features=2)


@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
def test_counts_of_1e15_and_one_dominant_bin(rng, pseudocount):
    F, n = 3, 64
    ref = rng.random((F, n)) + 0.1
    ref[1, 0] = 1e15  # a reference that is almost all one bin
    h = histentropy.StreamingHistogram(n, n_features=F, reference=ref, pseudocount=pseudocount)
    c = np.floor(rng.random((F, n)) * 1e15)
    c[1] = 1.0
    c[1, 0] = 1e15  # feature 1: one bin holds all but ~6e-14 of the mass
    c[2] = 0.0
    c[2, 5] = 1e15
    c[2, 6] = 1.0  # feature 2: two bins
    h.add_counts(c)
    check_queries(h, list(ref), pseudocount, "1e15", counts_rows=list(c), n_features=F)
    for step in range(5):  # (all counts stay integers below 2**53: exact)
        rows = np.stack([rng.integers(0, n, 3), np.zeros(3, np.int64),
                         np.full(3, 5)], axis=1)
        h.update(rows, [1e15, 1.0, 3.0])
        np.add.at(c[0], rows[:, 0], [1e15, 1.0, 3.0])
        c[1, 0] += 1e15 + 1.0 + 3.0
        c[2, 5] += 1e15 + 1.0 + 3.0
    check_queries(h, list(ref), pseudocount, "1e15 after updates", counts_rows=list(c),
                  n_features=F)
    assert_counts(as_rows(h.counts, F), list(c))
    e = h.entropy()
    assert 0 < e[1] < 1e-11 and 0 < e[2] < 1e-11, e


def test_one_bin_everywhere_is_zero():
    h = histentropy.StreamingHistogram((1, 1), n_features=2, reference=[[2.0], [7.0]],
                                       window=3)
    h.update([[0, 0], [0, 0]], [1e-300, 1e250])
    for key, value in query_all(h).items():
        assert np.all(value == 0.0), (key, value)


# ---------------------------------------------------------------------------
# A state machine: a windowed multi-feature histogram against its model
# ---------------------------------------------------------------------------

def _rows_strategy(nb, max_size=10):
    return st.lists(st.tuples(*[st.integers(0, n - 1) for n in nb]), max_size=max_size)


class MultiFeatureMachine(RuleBasedStateMachine):
    """Random updates, resets, pickles and rejected batches of a windowed (or
    plain) multi-feature histogram; after every step the counts equal the
    model's exactly (dyadic weights) and every query the batch function."""

    @initialize(data=st.data(), F=st.integers(1, 3), ragged=st.booleans(),
                window=st.one_of(st.integers(1, 8), st.integers(1, 8), st.none()),
                pseudocount=st.sampled_from([0.0, 0.5]), with_reference=st.booleans())
    def setup(self, data, F, ragged, window, pseudocount, with_reference):
        if ragged:
            nb = data.draw(st.lists(st.integers(1, 6), min_size=F, max_size=F), "n_bins")
            n_bins = tuple(nb)
        else:
            n_bins = data.draw(st.integers(1, 6), "n_bins")
            nb = [n_bins] * F
        self.F, self.nb, self.c = F, nb, pseudocount
        self.ref = None
        kwargs = {}
        if with_reference:
            self.ref = [np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 1e3]),
                                                    min_size=n, max_size=n)
                                           .filter(lambda r: sum(r) > 0), "reference"))
                        for n in nb]
            kwargs["reference"] = reference_argument(self.ref, n_bins)
        self.h = histentropy.StreamingHistogram(n_bins, n_features=F, window=window,
                                                pseudocount=pseudocount, **kwargs)
        self.model = RowModel(nb, window=window)

    @rule(data=st.data(), weighted=st.booleans())
    def update(self, data, weighted):
        rows = data.draw(_rows_strategy(self.nb), "rows")
        weights = (data.draw(st.lists(st.sampled_from(DYADIC), min_size=len(rows),
                                      max_size=len(rows)), "weights") if weighted else None)
        events = np.array(rows, dtype=np.int64).reshape(len(rows), self.F)
        self.h.update(events, weights)
        self.model.update(events, weights)

    @rule(seed=st.integers(0, 2**32 - 1), m=st.sampled_from([50, 300]), weighted=st.booleans())
    def large_update(self, seed, m, weighted):
        rng = np.random.default_rng(seed)
        rows = random_rows(rng, self.nb, m)
        weights = rng.choice(DYADIC, m) if weighted else None
        self.h.update(rows.astype(np.int32), weights)
        self.model.update(rows, weights)

    @rule(data=st.data())
    def rejected_update(self, data):
        rows = data.draw(_rows_strategy(self.nb, 4), "rows")
        f = data.draw(st.integers(0, self.F - 1), "feature")
        bad_row = [0] * self.F
        bad_row[f] = data.draw(st.sampled_from([-1, self.nb[f], self.nb[f] + 7]), "bad")
        at = data.draw(st.integers(0, len(rows)), "position")
        rows.insert(at, tuple(bad_row))
        with pytest.raises(ValueError):
            self.h.update(np.array(rows, dtype=np.int64))
        with pytest.raises(ValueError):
            self.h.update(np.zeros((len(rows), self.F), np.int64),
                          [-1.0] + [1.0] * (len(rows) - 1))

    @rule()
    def reset(self):
        self.h.reset()
        self.model.reset()

    @rule()
    def roundtrip(self):
        self.h = pickle.loads(pickle.dumps(self.h))

    @invariant()
    def matches_model(self):
        if not hasattr(self, "h"):
            return
        expected = self.model.counts()
        check_queries(self.h, self.ref, self.c, "machine", counts_rows=expected,
                      n_features=self.F)
        assert_counts(as_rows(self.h.counts, self.F), expected, what="machine")
        np.testing.assert_array_equal(self.h.total, [c.sum() for c in expected])


MultiFeatureMachine.TestCase.settings = settings(
    max_examples=max(10, int(settings().max_examples) // 2), stateful_step_count=10,
    deadline=None)
test_multi_feature_machine = MultiFeatureMachine.TestCase


def test_n_bins_of_numpy_types():
    """n_bins as a NumPy integer is one size for every feature (an int, a
    stacked reference); as a NumPy array, one size per feature (a tuple,
    counts as a list)."""
    h = histentropy.StreamingHistogram(np.int64(3), n_features=2, reference=np.ones((2, 3)))
    assert h.n_bins == 3 and isinstance(h.n_bins, int)
    assert isinstance(h.reference, np.ndarray) and h.reference.shape == (2, 3)
    g = histentropy.StreamingHistogram(np.array([2, 3]), n_features=2,
                                       reference=[[1, 1], [1, 1, 1]])
    assert g.n_bins == (2, 3)
    g.update([[0, 2], [1, 1]])
    counts = g.counts
    assert isinstance(counts, list)
    np.testing.assert_array_equal(counts[0], [1, 1])
    np.testing.assert_array_equal(counts[1], [0, 1, 1])
    kl = g.kl_divergence()
    for f in range(2):
        assert_close(kl[f], histentropy.kl_divergence(counts[f], g.reference[f]), "numpy n_bins")
