"""StreamingComparison: two live streams (current and reference), each with
its own window (or decay), or the reference as the window before the
current one (reference_window="previous").

The contract: every query equals the batch function of histentropy on
(counts, reference_counts) with the comparison's pseudocount, to 1e-10
relative (+inf and NaN exactly); entropy() is that of the current stream.

References are independent of the code under test: a Python model of both
sides (lists of rows, windows as deques, "previous" as the rows that left
the current window) gives the counts, and the batch functions on those
counts the queries.
"""
import copy
import math
import pickle

import numpy as np
import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import histentropy
from test_multi_feature import (  # tests/streaming is on sys.path
    DYADIC,
    FULL,
    RowModel,
    as_rows,
    assert_close,
    assert_counts,
    batch,
    check_layout,
    check_queries,
    per_feature,
    query_all,
    random_rows,
    same_results,
)


def SC(*args, **kwargs):
    # looked up at call time: a missing class fails each test, not collection
    return histentropy.StreamingComparison(*args, **kwargs)


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

class ComparisonModel:
    """Both sides of a comparison as RowModels. "previous": the current side
    is a window of W rows, and each row leaving it enters the reference, a
    window of W rows itself."""

    def __init__(self, nb, window=None, reference_window=None, decay=None):
        self.nb = list(nb)
        self.previous = reference_window == "previous"
        self.cur = RowModel(nb, window=window, decay=decay)
        if self.previous:
            self.ref = RowModel(nb, window=window)
        else:
            self.ref = RowModel(nb, window=reference_window,
                                decay=decay if reference_window is None else None)

    def update(self, rows, weights=None):
        rows = [list(np.atleast_1d(r)) for r in rows]
        for i, r in enumerate(rows):
            w = None if weights is None else [weights[i]]
            if self.previous:
                for old, ow in self.cur.evicted_by(1):
                    self.ref.update([list(old)], [ow])
            self.cur.update([r], w)

    def update_reference(self, rows, weights=None):
        assert not self.previous
        self.ref.update([list(np.atleast_1d(r)) for r in rows], weights)

    def reset(self):
        self.cur.reset()
        self.ref.reset()


def model_rows(events, single):
    events = np.asarray(events)
    if single:
        return [[int(b)] for b in events.reshape(-1)]
    return [list(r) for r in events.reshape(-1, events.shape[-1] if events.size else 1)]


def check_comparison(h, model, pseudocount, n_features, what="", exact=True):
    """Counts (both sides) equal the model's; every query the batch function
    on the model's counts."""
    cur, ref = model.cur.counts(), model.ref.counts()
    check_queries(h, ref, pseudocount, what, counts_rows=cur, n_features=n_features,
                  decompose=False)
    assert_counts(as_rows(h.counts, n_features), cur, exact=exact, what=f"{what} counts")
    assert_counts(as_rows(h.reference_counts, n_features), ref, exact=exact,
                  what=f"{what} reference_counts")


def check_own_counts(h, pseudocount, n_features, what=""):
    """Every query against the batch functions on h's own two sides (read
    after the queries: decayed counts may be renormalised by reading)."""
    got = query_all(h, True, decompose=False)
    cur = as_rows(h.counts, n_features)
    ref = as_rows(h.reference_counts, n_features)
    for key, value in got.items():
        kw = {k: v for k, v in key[1] if v is not None}
        values = [value] if n_features is None else list(value)
        for f, v in enumerate(values):
            assert_close(v, batch(key[0], cur[f], ref[f], pseudocount, kw),
                         f"{what} {key[0]}{kw or ''} feature {f}")
    return cur, ref


def assert_same_comparison(a, b, n_features):
    same_results(query_all(a, True, decompose=False), query_all(b, True, decompose=False))
    assert_counts(as_rows(a.counts, n_features), as_rows(b.counts, n_features))
    assert_counts(as_rows(a.reference_counts, n_features),
                  as_rows(b.reference_counts, n_features))


# ---------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------

def test_exposed():
    assert histentropy.StreamingComparison is not None
    from histentropy import StreamingComparison  # noqa: F401


@pytest.mark.parametrize("n_features, n_bins", [(None, 4), (1, 4), (3, 5), (3, (2, 7, 1))])
def test_layout_and_empty_queries(n_features, n_bins):
    h = SC(n_bins, n_features=n_features)
    nb = per_feature(n_bins, n_features or 1)
    layout_bins = n_bins if isinstance(n_bins, int) else nb
    check_layout(h.counts, n_features, layout_bins)
    check_layout(h.reference_counts, n_features, layout_bins, "reference_counts")
    got = query_all(h, True, decompose=False)
    for key, value in got.items():  # both sides empty, no pseudocount: NaN
        if n_features is None:
            assert isinstance(value, (float, np.floating)) and math.isnan(value), key
        else:
            assert isinstance(value, np.ndarray) and value.dtype == np.float64
            assert value.shape == (n_features,) and np.isnan(value).all(), key


def test_constructor_errors():
    bad = [
        ((4,), {"window": 0}, ValueError, "window"),
        ((4,), {"window": -3}, ValueError, "window"),
        ((4,), {"window": 2.5}, (TypeError, ValueError), "window"),
        ((4,), {"reference_window": 0}, ValueError, "reference_window"),
        ((4,), {"reference_window": -1}, ValueError, "reference_window"),
        ((4,), {"reference_window": 1.5}, (TypeError, ValueError), "reference_window"),
        ((4,), {"reference_window": "next", "window": 3}, ValueError, "reference_window"),
        ((4,), {"reference_window": "Previous", "window": 3}, ValueError, "reference_window"),
        ((4,), {"reference_window": "previous"}, ValueError, "window"),
        ((4,), {"reference_window": "previous", "n_features": 2}, ValueError, "window"),
        ((4,), {"decay": 0.0}, ValueError, "decay"),
        ((4,), {"decay": 1.0}, ValueError, "decay"),
        ((4,), {"decay": math.nan}, ValueError, "decay"),
        ((4,), {"window": 3, "decay": 0.1}, ValueError, "window|decay|exclusive"),
        ((0,), {}, ValueError, "n_bins"),
        (((2, 3),), {}, (TypeError, ValueError), "n_bins"),
        (((2, 3),), {"n_features": 3}, ValueError, "n_bins"),
        ((4,), {"n_features": 0}, ValueError, "n_features"),
        ((4,), {"n_features": 1.5}, (TypeError, ValueError), "n_features"),
    ]
    for c in (-1.0, math.nan, math.inf):
        bad.append(((4,), {"pseudocount": c}, ValueError, "pseudocount"))
        bad.append(((4,), {"pseudocount": c, "n_features": 2, "window": 3,
                           "reference_window": "previous"}, ValueError, "pseudocount"))
    for args, kwargs, exc, match in bad:
        with pytest.raises(exc, match=match):
            SC(*args, **kwargs)
    SC(4, window=3, reference_window="previous")
    SC(4, reference_window=5)
    SC(4, window=2, reference_window=np.int64(7), n_features=np.int32(2), pseudocount=1)
    SC((1, 2), n_features=2, decay=0.5)


# ---------------------------------------------------------------------------
# Random streams against the model
# ---------------------------------------------------------------------------

CONFIGS = {
    "plain": {},
    "window": {"window": 20},
    "reference_window": {"reference_window": 15},
    "both_windows": {"window": 20, "reference_window": 15},
    "previous": {"window": 20, "reference_window": "previous"},
    "previous_1": {"window": 1, "reference_window": "previous"},
}
LAYOUTS = {"single": (None, 5), "ragged": (3, (1, 6, 3))}


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
def test_random_streams_match_batch(rng, config, layout, weighted, pseudocount):
    F, n_bins = LAYOUTS[layout]
    nb = per_feature(n_bins, F or 1)
    kwargs = CONFIGS[config]
    h = SC(n_bins, n_features=F, pseudocount=pseudocount, **kwargs)
    model = ComparisonModel(nb, **kwargs)
    previous = kwargs.get("reference_window") == "previous"
    steps = 50 if FULL else 16
    for step in range(steps):
        m = int(rng.choice([1, 2, 5, 13, 50]))
        rows = random_rows(rng, nb, m)
        events = rows[:, 0] if F is None else rows
        events = events.astype(rng.choice([np.int8, np.int32, np.int64, np.uint16]))
        weights = rng.choice([1e-3, 1.0, 1e4], m) * rng.random(m) if weighted else None
        if previous or rng.random() < 0.55:
            h.update(events, weights)
            model.update(rows, weights)
        else:
            h.update_reference(events, weights)
            model.update_reference(rows, weights)
        if rng.random() < 0.35 or step == steps - 1:
            check_comparison(h, model, pseudocount, F, f"{config} {layout} step {step}",
                             exact=not weighted)


@pytest.mark.parametrize("n_features", [None, 2])
def test_decay_both_sides(rng, n_features):
    """decay=d: the current side multiplies its counts by (1 - d) before
    each of its rows, the reference (reference_window=None) before each of
    its own rows."""
    nb = [6] * (n_features or 1)
    d = 0.05
    h = SC(6, n_features=n_features, decay=d, pseudocount=0.5)
    model = ComparisonModel(nb, decay=d)
    for step in range(30):
        m = int(rng.choice([1, 4, 40]))
        rows = random_rows(rng, nb, m)
        events = rows[:, 0] if n_features is None else rows
        w = rng.exponential(1.0, m)
        if step % 3:
            h.update(events, w)
            model.update(rows, w)
        else:
            h.update_reference(events, w)
            model.update_reference(rows, w)
        if step % 6 == 5:
            cur, ref = check_own_counts(h, 0.5, n_features, f"decay step {step}")
            for g, e in zip(cur, model.cur.counts()):
                np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-300)
            for g, e in zip(ref, model.ref.counts()):
                np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-300)


def test_decay_with_reference_window(rng):
    """decay on the current side, a window of rows on the reference."""
    h = SC(4, decay=0.1, reference_window=3)
    model = ComparisonModel([4], decay=0.1, reference_window=3)
    for step in range(10):
        b = rng.integers(0, 4, 3)
        h.update(b)
        model.update(b[:, None])
        h.update_reference(b[::-1])
        model.update_reference(b[::-1, None])
    cur, ref = check_own_counts(h, 0.0, None, "decay + reference window")
    np.testing.assert_allclose(cur[0], model.cur.counts()[0], rtol=1e-12)
    np.testing.assert_array_equal(ref[0], model.ref.counts()[0])


def test_previous_by_hand():
    h = SC(5, window=3, reference_window="previous")
    h.update([0, 1, 2])
    np.testing.assert_array_equal(h.counts, [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(h.reference_counts, [0, 0, 0, 0, 0])
    assert math.isnan(h.kl_divergence()) and math.isnan(h.js_divergence())
    assert h.entropy() == pytest.approx(math.log(3), rel=1e-14)
    h.update([3])  # 0 leaves the current window and enters the reference
    np.testing.assert_array_equal(h.counts, [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(h.reference_counts, [1, 0, 0, 0, 0])
    assert h.kl_divergence() == math.inf
    assert_close(h.total_variation(), histentropy.total_variation([0, 1, 1, 1, 0],
                                                                  [1, 0, 0, 0, 0]), "tv")
    h.update([4, 4], weights=[2.0, 0.5])  # 1, 2 leave
    np.testing.assert_array_equal(h.counts, [0, 0, 0, 1, 2.5])
    np.testing.assert_array_equal(h.reference_counts, [1, 1, 1, 0, 0])
    h.update([1])  # 3 leaves; the reference now holds at most 3 rows: 0 leaves it
    np.testing.assert_array_equal(h.counts, [0, 1, 0, 0, 2.5])
    np.testing.assert_array_equal(h.reference_counts, [0, 1, 1, 1, 0])
    h.update([2, 2, 2, 2, 2, 2, 2])  # more than 2W rows in one batch
    np.testing.assert_array_equal(h.counts, [0, 0, 3, 0, 0])
    np.testing.assert_array_equal(h.reference_counts, [0, 0, 3, 0, 0])
    check_own_counts(h, 0.0, None, "same window")
    m = SC(3, n_features=2, window=1, reference_window="previous")
    m.update([[0, 2], [1, 1]])
    assert_counts(as_rows(m.counts, 2), [np.array([0.0, 1, 0]), np.array([0.0, 1, 0])])
    assert_counts(as_rows(m.reference_counts, 2),
                  [np.array([1.0, 0, 0]), np.array([0.0, 0, 1])])


def test_reference_window_by_hand():
    h = SC(3, reference_window=2)
    h.update_reference([0, 1, 2])
    np.testing.assert_array_equal(h.reference_counts, [0, 1, 1])
    h.update([0, 0, 0, 1])  # the current side keeps everything
    np.testing.assert_array_equal(h.counts, [3, 1, 0])
    np.testing.assert_array_equal(h.reference_counts, [0, 1, 1])
    assert h.kl_divergence() == math.inf
    h.update_reference([0], weights=[4.0])  # 1 leaves the reference
    np.testing.assert_array_equal(h.reference_counts, [4, 0, 1])
    assert_close(h.kl_divergence(), histentropy.kl_divergence([3, 1, 0], [4, 0, 1]))


def test_previous_rejects_update_reference(rng):
    for n_features, events in ((None, [0, 1]), (2, [[0, 1], [1, 0]])):
        h = SC(3, n_features=n_features, window=4, reference_window="previous")
        twin = SC(3, n_features=n_features, window=4, reference_window="previous")
        first = (rng.integers(0, 3, 7) if n_features is None
                 else np.arange(14).reshape(7, 2) % 3)
        for x in (h, twin):
            x.update(first)
        with pytest.raises(ValueError):
            h.update_reference(events)
        assert_same_comparison(h, twin, n_features)


def test_empty_sides():
    r = SC(3)
    r.update_reference([0, 1])  # the current side is empty
    got = query_all(r, True, decompose=False)
    assert all(math.isnan(v) for v in got.values()), got
    c = SC(3)
    c.update([0, 1])  # the reference is empty: entropy only
    assert c.entropy() == pytest.approx(math.log(2), rel=1e-14)
    for name in ("kl_divergence", "cross_entropy", "js_divergence", "hellinger_distance",
                 "total_variation", "chi_square_divergence", "jeffreys_divergence"):
        assert math.isnan(getattr(c, name)()), name
    # with a pseudocount: the batch functions' values (finite)
    for kwargs in ({}, {"window": 2}, {"window": 2, "reference_window": "previous"}):
        p = SC(3, pseudocount=0.5, **kwargs)
        model = ComparisonModel([3], **kwargs)
        check_comparison(p, model, 0.5, None, f"pc empty {kwargs}")
        p.update([0, 2])
        model.update([[0], [2]])
        check_comparison(p, model, 0.5, None, f"pc one side {kwargs}")
        assert math.isfinite(p.kl_divergence())
    # zero-weight rows carry no mass
    z = SC(3, n_features=2)
    z.update([[0, 1]], weights=[0.0])
    z.update_reference([[0, 1]], weights=[0.0])
    assert all(np.isnan(v).all() for v in query_all(z, True, decompose=False).values())


def test_events_dtypes_and_lists(rng):
    h = SC((4, 2), n_features=2, window=30, reference_window=25)
    model = ComparisonModel([4, 2], window=30, reference_window=25)
    big = np.stack([rng.integers(0, 4, 40), rng.integers(0, 2, 40)], axis=1)
    for events in ([[1, 0], [3, 1]], big.astype(np.int8), np.asfortranarray(big),
                   big[::-2], big.astype(np.uint64), np.zeros((0, 2), np.int64)):
        saved = copy.deepcopy(events)
        h.update(events)
        h.update_reference(events, weights=list(range(len(events))))
        model.update(np.asarray(events).reshape(-1, 2))
        model.update_reference(np.asarray(events).reshape(-1, 2), list(range(len(events))))
        np.testing.assert_array_equal(np.asarray(events), np.asarray(saved))
    check_comparison(h, model, 0.0, 2, "dtypes")


# ---------------------------------------------------------------------------
# Errors leave both sides exactly as they were
# ---------------------------------------------------------------------------

def _bad_batches(nb, single):
    F = len(nb)
    if single:
        n = nb[0]
        return [
            (([0, 1, n],), {}, ValueError),
            (([-1, 0],), {}, ValueError),
            ((np.array([0, 2**40]),), {}, ValueError),
            ((np.array([[0, 1]]),), {}, ValueError),
            (([0.0, 1.0],), {}, TypeError),
            (([0, 1],), {"weights": [1.0, -2.0]}, ValueError),
            (([0, 1],), {"weights": [np.nan, 1.0]}, ValueError),
            (([0, 1],), {"weights": [1.0, np.inf]}, ValueError),
            (([0, 1],), {"weights": [1.0]}, ValueError),
        ]
    ok = [[0] * F, [n - 1 for n in nb]]
    bad = []
    for f, n in enumerate(nb):
        row = [0] * F
        row[f] = n
        bad.append(((ok + [row],), {}, ValueError))
    bad += [
        ((np.zeros(F, np.int64),), {}, ValueError),
        ((np.zeros((2, F + 1), np.int64),), {}, ValueError),
        ((np.zeros((2, F)),), {}, TypeError),
        ((ok,), {"weights": [1.0, -1.0]}, ValueError),
        ((ok,), {"weights": [1.0, np.nan]}, ValueError),
        ((ok,), {"weights": [1.0, 1.0, 1.0]}, ValueError),
        ((ok,), {"weights": np.ones((2, F))}, ValueError),
    ]
    return bad


@pytest.mark.parametrize("n_features, n_bins", [(None, 4), (3, (2, 5, 1))])
@pytest.mark.parametrize("config", ["plain", "both_windows", "previous"])
def test_rejected_batches_change_nothing(rng, n_features, n_bins, config):
    kwargs = CONFIGS[config]
    nb = per_feature(n_bins, n_features or 1)
    previous = config == "previous"

    def build():
        r = np.random.default_rng(5)
        h = SC(n_bins, n_features=n_features, pseudocount=0.5, **kwargs)
        for _ in range(4):
            rows = random_rows(r, nb, 9)
            ev = rows[:, 0] if n_features is None else rows
            h.update(ev, r.choice(DYADIC[1:], 9))
            if not previous:
                h.update_reference(ev[::-1], r.choice(DYADIC[1:], 9))
        return h

    h, twin = build(), build()
    sides = ["update"] if previous else ["update", "update_reference"]
    for side in sides:
        for args, kw, exc in _bad_batches(nb, n_features is None):
            saved = copy.deepcopy((args, kw))
            with pytest.raises(exc):
                getattr(h, side)(*args, **kw)
            for a, b in zip(args + tuple(kw.values()), saved[0] + tuple(saved[1].values())):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
            assert_same_comparison(h, twin, n_features)
    for i in range(3):  # both go on alike
        rows = np.array([[(i + j) % n for n in nb] for j in range(5)])
        ev = rows[:, 0] if n_features is None else rows
        for x in (h, twin):
            x.update(ev, [1.0, 2.0, 0.5, 4.0, 1.0])
            if not previous:
                x.update_reference(ev[::-1])
        assert_same_comparison(h, twin, n_features)


# ---------------------------------------------------------------------------
# Merge, reset, pickle
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("config", ["plain", "window", "both_windows", "reference_window"])
@pytest.mark.parametrize("n_features", [None, 2])
def test_merge(rng, config, n_features):
    kwargs = CONFIGS[config]
    nb = [5] * (n_features or 1)
    a = SC(5, n_features=n_features, pseudocount=0.5, **kwargs)
    b = SC(5, n_features=n_features, pseudocount=0.5, **kwargs)
    ma, mb = ComparisonModel(nb, **kwargs), ComparisonModel(nb, **kwargs)
    for i in range(12):
        rows = random_rows(rng, nb, int(rng.integers(1, 9)))
        ev = rows[:, 0] if n_features is None else rows
        w = rng.choice(DYADIC[1:], len(rows))
        x, mx = (a, ma) if i % 2 else (b, mb)
        if i % 3:
            x.update(ev, w)
            mx.update(rows, w)
        else:
            x.update_reference(ev, w)
            mx.update_reference(rows, w)
    a.merge(b)
    # each side: the other's rows replayed after these
    for mine, theirs in ((ma.cur, mb.cur), (ma.ref, mb.ref)):
        for r, w in list(theirs.rows):
            mine.rows.append((r, w))
    check_comparison(a, ma, 0.5, n_features, f"merged {config}")
    check_comparison(b, mb, 0.5, n_features, f"merged-in {config}")


def test_merge_decay_adds(rng):
    a, b = SC(4, decay=0.1), SC(4, decay=0.1)
    for x in (a, b):
        x.update(rng.integers(0, 4, 20))
        x.update_reference(rng.integers(0, 4, 15))
    cur = a.counts + b.counts
    ref = a.reference_counts + b.reference_counts
    a.merge(b)
    np.testing.assert_allclose(a.counts, cur, rtol=1e-14)
    np.testing.assert_allclose(a.reference_counts, ref, rtol=1e-14)
    check_own_counts(a, 0.0, None, "merged decay")


def test_merge_mismatches_raise_and_leave_state(rng):
    a = SC(4, window=5, reference_window=3)
    a.update([0, 1, 2])
    a.update_reference([3, 3])
    twin = pickle.loads(pickle.dumps(a))
    for other in (SC(5, window=5, reference_window=3), SC(4, window=6, reference_window=3),
                  SC(4, window=5, reference_window=4), SC(4, window=5),
                  SC(4, window=5, reference_window="previous"),
                  SC(4, window=5, reference_window=3, pseudocount=0.5),
                  SC(4, n_features=1, window=5, reference_window=3),
                  SC(4, decay=0.5)):
        with pytest.raises(ValueError):
            a.merge(other)
        assert_same_comparison(a, twin, None)
    for other in (histentropy.StreamingHistogram(4, window=5), [0, 1]):
        with pytest.raises(TypeError):
            a.merge(other)
        assert_same_comparison(a, twin, None)


@pytest.mark.parametrize("config", ["plain", "both_windows", "previous"])
def test_reset(rng, config):
    kwargs = CONFIGS[config]
    h = SC((3, 4), n_features=2, pseudocount=0.5, **kwargs)
    model = ComparisonModel([3, 4], **kwargs)
    rows = random_rows(rng, [3, 4], 30)
    h.update(rows)
    if config != "previous":
        h.update_reference(rows[:5])
    h.reset()
    check_comparison(h, model, 0.5, 2, "reset")
    h.update(rows[:25])
    model.update(rows[:25])
    check_comparison(h, model, 0.5, 2, "after reset")


@pytest.mark.parametrize("config", sorted(CONFIGS) + ["decay"])
@pytest.mark.parametrize("n_features", [None, 3])
def test_pickle_and_copy_round_trip(rng, config, n_features):
    kwargs = CONFIGS.get(config, {"decay": 0.1})
    previous = kwargs.get("reference_window") == "previous"
    n_bins = 6 if n_features is None else (2, 6, 1)
    nb = per_feature(n_bins, n_features or 1)
    h = SC(n_bins, n_features=n_features, pseudocount=0.25, **kwargs)

    def feed(targets, m):
        rows = random_rows(rng, nb, m)
        ev = rows[:, 0] if n_features is None else rows
        w = rng.random(m) + 0.5
        for t in targets:
            t.update(ev, w)
        if not previous:
            for t in targets:
                t.update_reference(ev[::-1], w)

    for _ in range(5):
        feed([h], int(rng.integers(1, 30)))
    for clone in (lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy):
        h2 = clone(h)
        assert_same_comparison(h, h2, n_features)
        for _ in range(4):  # the copy goes on exactly alike, independently
            feed([h, h2], 7)
            assert_same_comparison(h, h2, n_features)
        h2.update(np.zeros((1, n_features), np.int64) if n_features else [0], weights=[0.123])
        assert not all(np.array_equal(x, y) for x, y in
                       zip(as_rows(h.counts, n_features), as_rows(h2.counts, n_features)))
        check_own_counts(h2, 0.25, n_features, f"unpickled {config}")
        if previous:
            with pytest.raises(ValueError):
                h2.update_reference([0] if n_features is None else [[0] * n_features])


# ---------------------------------------------------------------------------
# Hard accuracy cases
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n_features", [None, 2])
@pytest.mark.parametrize("kwargs", [{}, {"window": 10**6, "reference_window": 10**6},
                                    {"window": 5000, "reference_window": "previous"}])
@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
def test_near_identical_streams(rng, n_features, kwargs, pseudocount):
    """The two sides differ by ~1e-4 relative per bin: KL ~ 1e-8."""
    n = 300
    F = n_features or 1
    p = rng.random(n) + 0.5
    h = SC(n, n_features=n_features, pseudocount=pseudocount, **kwargs)
    bins = np.arange(n)
    ev = bins if n_features is None else np.stack([bins] * F, axis=1)
    base = np.round(p * 1e9)
    if kwargs.get("reference_window") == "previous":
        h.update(ev, base)  # becomes the reference once the next window is full
        h.update(np.full((5000 - n,) + ev.shape[1:], 0), np.zeros(5000 - n))
        h.update(ev, base * (1 + 1e-4 * rng.standard_normal(n)))
        h.update(np.full((5000 - n,) + ev.shape[1:], 0), np.zeros(5000 - n))
    else:
        h.update_reference(ev, base)
        h.update(ev, base * (1 + 1e-4 * rng.standard_normal(n)))
    kl = np.atleast_1d(h.kl_divergence())
    assert np.all((1e-10 < kl) & (kl < 1e-7)), kl
    check_own_counts(h, pseudocount, n_features, "near identical")
    for step in range(30):  # small updates on both sides
        sub = rng.integers(0, n, 4)
        e = sub if n_features is None else np.stack([sub] * F, axis=1)
        h.update(e, rng.integers(1, 100, 4).astype(np.float64))
        if kwargs.get("reference_window") != "previous":
            h.update_reference(e[::-1], rng.integers(1, 100, 4).astype(np.float64))
        if step % 15 == 14:
            check_own_counts(h, pseudocount, n_features, f"near identical step {step}")


@pytest.mark.parametrize("kwargs", [{}, {"window": 4, "reference_window": "previous"}])
def test_identical_streams_give_what_batch_gives(kwargs):
    """Both sides hold the same counts: the batch functions give 0 exactly
    (to 1e-10 relative of 0)."""
    h = SC(5, n_features=2, **kwargs)
    rows = np.array([[0, 4], [1, 3], [1, 3], [4, 0]])
    if kwargs:
        h.update(np.vstack([rows, rows]))
    else:
        h.update(rows)
        h.update_reference(rows[::-1])
    cur, ref = check_own_counts(h, 0.0, 2, "identical")
    assert_counts(cur, ref)


@pytest.mark.parametrize("pseudocount", [0.0, 0.5])
def test_counts_of_1e15_and_one_dominant_bin(rng, pseudocount):
    n = 40
    h = SC(n, n_features=3, pseudocount=pseudocount)
    model = ComparisonModel([n] * 3)
    # feature 0: 1e15 counts everywhere; 1: one bin holds all but ~1e-13;
    # 2: both sides almost all in one bin, a few counts elsewhere
    c0 = np.floor(rng.random(n) * 1e15)
    for side, scale in (("cur", 1.0), ("ref", 0.9)):
        rows, weights = [], []
        for b in range(n):
            rows.append([b, 0 if b == 0 else b, 7 if b == 0 else b])
            weights.append(c0[b] * scale if b else 1e15)
        rows = np.array(rows)
        rows[:, 1][1:] = rng.integers(1, n, n - 1)
        # rows after the first add to features 1 and 2 a count of c0[b] * scale:
        # keep those light (weight 1 row per bin) with separate rows
        getattr(h, "update" if side == "cur" else "update_reference")(rows[:1], weights[:1])
        getattr(model, "update" if side == "cur" else "update_reference")(rows[:1],
                                                                          weights[:1])
        light = np.stack([np.arange(1, n), rows[1:, 1], rows[1:, 2]], axis=1)
        w = np.array(weights[1:])
        getattr(h, "update" if side == "cur" else "update_reference")(light, w)
        getattr(model, "update" if side == "cur" else "update_reference")(light, w)
        ones = np.stack([np.zeros(5, np.int64), rng.integers(1, n, 5), rng.integers(0, n, 5)],
                        axis=1)
        getattr(h, "update" if side == "cur" else "update_reference")(ones)
        getattr(model, "update" if side == "cur" else "update_reference")(ones)
    check_comparison(h, model, pseudocount, 3, "1e15", exact=False)
    # a dominant bin: every feature almost all in one bin on both sides
    d = SC(4, n_features=2, pseudocount=pseudocount)
    d.update([[0, 3]], [1e15])
    d.update([[1, 2], [2, 1]], [1.0, 3.0])
    d.update_reference([[0, 3]], [1e15])
    d.update_reference([[1, 2], [3, 1]], [2.0, 1.0])
    cur, _ = check_own_counts(d, pseudocount, 2, "dominant")
    e = d.entropy()
    assert np.all((0 < e) & (e < 1e-11)), e


@pytest.mark.parametrize("n_features", [None, 2])
def test_decompose(rng, n_features):
    """decompose(): cross entropy, entropy and KL of (counts, reference_counts)."""
    h = SC(5, n_features=n_features, pseudocount=0.5, window=10, reference_window=10)
    F = n_features or 1
    rows = random_rows(rng, [5] * F, 30)
    ev = rows[:, 0] if n_features is None else rows
    h.update(ev)
    h.update_reference(ev[::-1][:17])
    cur, ref = as_rows(h.counts, n_features), as_rows(h.reference_counts, n_features)
    for base in (None, 2):
        d = h.decompose(base=base)
        kw = {} if base is None else {"base": base}
        for field in ("cross_entropy", "entropy", "kl_divergence"):
            values = np.atleast_1d(getattr(d, field))
            assert values.shape == (F,)
            for f in range(F):
                assert_close(values[f], batch(field, cur[f], ref[f], 0.5, kw),
                             f"decompose {field} {kw}")


# ---------------------------------------------------------------------------
# The state machine: any interleaving of both sides' updates
# ---------------------------------------------------------------------------

def _rows(nb, max_size):
    return st.lists(st.tuples(*[st.integers(0, n - 1) for n in nb]), max_size=max_size)


class ComparisonMachine(RuleBasedStateMachine):
    """A StreamingComparison of random configuration against its model:
    after every step both sides' counts equal the model's exactly (dyadic
    weights) and every query the batch function on the model's counts."""

    @initialize(data=st.data(), two=st.booleans(),
                window=st.one_of(st.none(), st.integers(1, 6)),
                pseudocount=st.sampled_from([0.0, 0.5]))
    def setup(self, data, two, window, pseudocount):
        F = 2 if two else None
        if two and data.draw(st.booleans(), "ragged"):
            nb = data.draw(st.lists(st.integers(1, 6), min_size=2, max_size=2), "n_bins")
            n_bins = tuple(nb)
        else:
            n_bins = data.draw(st.integers(1, 6), "n_bins")
            nb = [n_bins] * (F or 1)
        choices = [st.none(), st.integers(1, 6)]
        if window is not None:
            choices.append(st.just("previous"))
        rw = data.draw(st.one_of(*choices), "reference_window")
        self.F, self.nb, self.c = F, nb, pseudocount
        self.previous = rw == "previous"
        self.h = SC(n_bins, n_features=F, window=window, reference_window=rw,
                    pseudocount=pseudocount)
        self.model = ComparisonModel(nb, window=window, reference_window=rw)

    def _events(self, rows):
        arr = np.array(rows, dtype=np.int64).reshape(len(rows), len(self.nb))
        return (arr[:, 0] if self.F is None else arr), arr

    def _weights(self, data, k, weighted):
        if not weighted:
            return None
        return data.draw(st.lists(st.sampled_from(DYADIC), min_size=k, max_size=k), "weights")

    @rule(data=st.data(), weighted=st.booleans())
    def update(self, data, weighted):
        rows = data.draw(_rows(self.nb, 8), "rows")
        events, arr = self._events(rows)
        w = self._weights(data, len(rows), weighted)
        self.h.update(events, w)
        self.model.update(arr, w)

    @rule(data=st.data(), weighted=st.booleans())
    def update_reference(self, data, weighted):
        rows = data.draw(_rows(self.nb, 8), "rows")
        events, arr = self._events(rows)
        w = self._weights(data, len(rows), weighted)
        if self.previous:
            with pytest.raises(ValueError):
                self.h.update_reference(events, w)
            return
        self.h.update_reference(events, w)
        self.model.update_reference(arr, w)

    @rule(seed=st.integers(0, 2**32 - 1), m=st.sampled_from([40, 300]),
          reference=st.booleans(), weighted=st.booleans())
    def large_update(self, seed, m, reference, weighted):
        rng = np.random.default_rng(seed)
        arr = random_rows(rng, self.nb, m)
        events = arr[:, 0] if self.F is None else arr
        w = rng.choice(DYADIC, m) if weighted else None
        if reference and not self.previous:
            self.h.update_reference(events, w)
            self.model.update_reference(arr, w)
        else:
            self.h.update(events, w)
            self.model.update(arr, w)

    @rule(data=st.data(), reference=st.booleans())
    def rejected_update(self, data, reference):
        rows = [list(r) for r in data.draw(_rows(self.nb, 4), "rows")]
        f = data.draw(st.integers(0, len(self.nb) - 1), "feature")
        bad = [0] * len(self.nb)
        bad[f] = data.draw(st.sampled_from([-1, self.nb[f]]), "bad")
        rows.insert(data.draw(st.integers(0, len(rows)), "position"), bad)
        events, _ = self._events(rows)
        side = self.h.update_reference if reference else self.h.update
        with pytest.raises(ValueError):
            side(events)

    @rule()
    def reset(self):
        self.h.reset()
        self.model.reset()

    @rule()
    def roundtrip(self):
        self.h = pickle.loads(pickle.dumps(self.h))

    @invariant()
    def matches_model(self):
        if hasattr(self, "h"):
            check_comparison(self.h, self.model, self.c, self.F, "machine")


ComparisonMachine.TestCase.settings = settings(
    max_examples=int(settings().max_examples), stateful_step_count=15, deadline=None)
test_comparison_machine = ComparisonMachine.TestCase


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"window": 50, "reference_window": "previous"},
                                    {"decay": 0.01}])
def test_concurrent_updates_and_queries(rng, kwargs):
    """Several threads feeding and querying one comparison: calls serialise
    (no crash, no torn state); every event is counted once."""
    import threading

    F = 3
    h = SC(6, n_features=F, **kwargs)
    batches = [rng.integers(0, 6, (int(rng.integers(1, 40)), F)) for _ in range(40)]
    errors = []

    def feed(own):
        try:
            for b in own:
                h.update(b)
                if "reference_window" not in kwargs:
                    h.update_reference(b[::-1])
                h.kl_divergence()
                h.population_stability_index()
                h.counts
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=feed, args=(batches[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    cur, ref = h.counts, h.reference_counts
    if not kwargs:
        total = sum(b.shape[0] for b in batches)
        np.testing.assert_array_equal(cur.sum(axis=1), [total] * F)
        np.testing.assert_array_equal(ref.sum(axis=1), [total] * F)
    for f in range(F):
        assert_close(h.kl_divergence()[f],
                     histentropy.kl_divergence(cur[f], ref[f]) if ref[f].sum() else math.nan,
                     f"threads {kwargs} feature {f}")


@pytest.mark.parametrize("kwargs", [{}, {"window": 500, "reference_window": "previous"},
                                    {"window": 300, "reference_window": 700}])
def test_long_streams_stay_accurate(rng, kwargs):
    """Many small batches of two streams from one distribution (KL ~ 1e-3 ..
    1e-5, where the plain sums would cancel): after every few hundred
    events every O(1) query still matches the batch functions."""
    n = 12
    probs = rng.dirichlet(np.ones(n))
    h = SC(n, **kwargs)
    previous = kwargs.get("reference_window") == "previous"
    steps = 40_000 if FULL else 6_000
    for step in range(steps):
        b = rng.choice(n, size=int(rng.integers(1, 4)), p=probs)
        w = rng.choice([1.0, 2.0, 0.5], b.shape[0]) if step % 7 == 0 else None
        if previous or step % 2:
            h.update(b, w)
        else:
            h.update_reference(b, w)
        if step % 1500 == 1499:
            cur, ref = h.counts, h.reference_counts
            for name in ("kl_divergence", "jeffreys_divergence", "hellinger_distance",
                         "chi_square_divergence", "cross_entropy", "entropy"):
                got = getattr(h, name)()
                want = (histentropy.entropy(cur) if name == "entropy"
                        else getattr(histentropy, name)(cur, ref))
                assert_close(got, want, f"long {kwargs} step {step} {name}")
