"""StreamingHistogram.from_reference and update_values: a drift monitor that
bins raw values by edges fitted to a reference sample.

References are independent of the code under test: the edges are computed
here with numpy as the spec defines them (np.quantile / np.linspace), values
are binned here with np.searchsorted by the spec's rule, the reference is
np.bincount of the binned sample, the counts come from a Python model of the
stream (tests/streaming/test_multi_feature.py: RowModel), and the queries
from the batch functions of histentropy on those counts, to 1e-10 relative.
"""
import copy
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import histentropy
from test_multi_feature import (  # tests/streaming is on sys.path
    DYADIC,
    FULL,
    RowModel,
    as_rows,
    assert_counts,
    assert_same_histogram,
    check_queries,
    query_all,
    same_results,
)

NAN_MESSAGE = "(?i)nan"
EDGES_MESSAGE = "binning|edges"


def from_reference(sample, **kwargs):
    return histentropy.StreamingHistogram.from_reference(sample, **kwargs)


# ---------------------------------------------------------------------------
# The spec's binning, in numpy
# ---------------------------------------------------------------------------

def fit_edges(col, n_bins=10, binning="quantile"):
    """The edges of one feature: NaN dropped, then quantiles (ties merged) or
    a uniform grid; [v, v] when every value is v; explicit edges as given."""
    col = np.asarray(col, dtype=np.float64)
    col = col[~np.isnan(col)]
    if isinstance(binning, str):
        if binning == "quantile":
            edges = np.unique(np.quantile(col, np.linspace(0, 1, n_bins + 1)))
        else:
            lo, hi = col.min(), col.max()
            edges = np.linspace(lo, hi, n_bins + 1)
        if col.min() == col.max():
            edges = np.array([col.min(), col.max()])
        return edges
    return np.asarray(binning, dtype=np.float64)


def bin_of(edges, x):
    """The spec's rule: b = searchsorted(edges, x, 'right'), and x ==
    edges[-1] in bin L - 1 (the last inner bin is closed). NaN: -1."""
    x = np.asarray(x, dtype=np.float64)
    b = np.searchsorted(edges, x, side="right").astype(np.int64)
    b[x == edges[-1]] = len(edges) - 1
    b[np.isnan(x)] = -1
    return b


def reference_of(edges, col):
    b = bin_of(edges, col)
    b = b[b >= 0]
    return np.bincount(b, minlength=len(edges) + 1).astype(np.float64)


def binned_rows(edges_list, x):
    """(m, F) bins of (m, F) values (or (m,) for one feature): a list of
    rows, None where a value is NaN."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    cols = [bin_of(e, x[:, f]) for f, e in enumerate(edges_list)]
    return [[None if c[i] < 0 else int(c[i]) for c in cols] for i in range(x.shape[0])]


def edges_list(h):
    e = h.edges
    return [np.asarray(e)] if h.n_features is None else [np.asarray(v) for v in e]


def check_monitor(h, sample_cols, edges, n_features, what="", fitted=True):
    """h's edges and reference are the spec's, and its bins one more than
    the edges (edges fitted to the sample: nothing in the outside bins)."""
    got = edges_list(h)
    assert len(got) == len(edges)
    for g, e in zip(got, edges):
        assert g.ndim == 1 and g.dtype == np.float64, (what, g)
        np.testing.assert_array_equal(g, e, err_msg=f"{what} edges")
    if n_features is None:
        assert isinstance(h.edges, np.ndarray) and h.n_bins == len(edges[0]) + 1
    else:
        assert isinstance(h.edges, list) and len(h.edges) == n_features
        nb = [len(e) + 1 for e in edges]
        assert h.n_bins in (tuple(nb),) + ((nb[0],) if len(set(nb)) == 1 else ())
    refs = [reference_of(e, c) for e, c in zip(edges, sample_cols)]
    assert_counts(as_rows(h.reference, n_features), refs, what=f"{what} reference")
    if fitted:
        for r in refs:
            assert r[0] == 0 and r[-1] == 0
    return refs


# ---------------------------------------------------------------------------
# Fitting the edges
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n_bins", [1, 3, 10, 64])
@pytest.mark.parametrize("binning", ["quantile", "uniform"])
def test_single_feature_edges_and_reference(rng, n_bins, binning):
    sample = rng.standard_normal(501) * 3 + 1
    saved = sample.copy()
    h = from_reference(sample, n_bins=n_bins, binning=binning)
    np.testing.assert_array_equal(sample, saved)
    assert h.n_features is None
    edges = fit_edges(sample, n_bins, binning)
    assert len(edges) == n_bins + 1
    refs = check_monitor(h, [sample], [edges], None, binning)
    np.testing.assert_array_equal(h.counts, np.zeros(n_bins + 2))
    assert refs[0].sum() == 501
    h.update_values(sample)  # the sample itself: KL 0
    np.testing.assert_array_equal(h.counts, refs[0])
    check_queries(h, refs, 0.0, binning)


def test_default_is_ten_quantile_bins(rng):
    sample = rng.random(1000)
    h = from_reference(sample)
    edges = fit_edges(sample, 10, "quantile")
    check_monitor(h, [sample], [edges], None, "default")
    assert h.n_bins == 12 and h.window is None and h.decay is None


def test_quantile_ties_are_merged(rng):
    sample = rng.integers(0, 4, 300).astype(np.float64)
    h = from_reference(sample, n_bins=10)
    edges = fit_edges(sample, 10, "quantile")
    assert len(edges) < 11
    check_monitor(h, [sample], [edges], None, "ties")
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 3.5, 2.9999])
    h.update_values(x)
    np.testing.assert_array_equal(
        h.counts, np.bincount(bin_of(edges, x), minlength=len(edges) + 1))


@pytest.mark.parametrize("binning", ["quantile", "uniform"])
@pytest.mark.parametrize("v", [2.5, 0.0, -1e300])
def test_constant_sample_gives_edges_v_v(binning, v):
    sample = np.full(300, v)
    h = from_reference(sample, n_bins=7, binning=binning)
    np.testing.assert_array_equal(h.edges, [v, v])
    assert h.n_bins == 3
    np.testing.assert_array_equal(h.reference, [0.0, 300.0, 0.0])
    below = -1.0 if v > -1e300 else -math.inf
    h.update_values([below, v, v, 3.0, math.inf, -math.inf])
    np.testing.assert_array_equal(h.counts, [2.0, 2.0, 2.0])
    check_queries(h, [np.array([0.0, 300.0, 0.0])], 0.0, "constant")


def test_binning_rule_at_the_edges():
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    sample = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0])
    h = from_reference(sample, binning=edges)
    np.testing.assert_array_equal(h.edges, edges)
    assert h.n_bins == 5
    # [0, 1) [1, 2) [2, 3]: the last inner bin is closed, as np.histogram's
    np.testing.assert_array_equal(h.reference, [0, 2, 2, 4, 0])
    np.testing.assert_array_equal(h.reference[1:-1], np.histogram(sample, edges)[0])
    x = [-math.inf, -1.0, -0.0, 0.0, 0.5, np.nextafter(1.0, 0.0), 1.0, 2.999, 3.0,
         np.nextafter(3.0, 4.0), 1e308, math.inf]
    expected = [0, 0, 1, 1, 1, 1, 2, 3, 3, 4, 4, 4]
    np.testing.assert_array_equal(bin_of(edges, x), expected)
    h.update_values(x)
    np.testing.assert_array_equal(h.counts, np.bincount(expected, minlength=5))


def test_explicit_edges_are_checked_and_copied():
    edges = np.array([-1.0, 0.0, 2.5])
    saved = edges.copy()
    sample = np.array([-2.0, -0.5, 0.0, 1.0, 2.5, 9.0])
    h = from_reference(sample, binning=edges)
    np.testing.assert_array_equal(edges, saved)
    edges[0] = 100.0  # the monitor holds its own copy
    np.testing.assert_array_equal(h.edges, saved)
    np.testing.assert_array_equal(h.reference, [1, 1, 3, 1])
    got = h.edges
    try:
        got[1] = 50.0  # read-only or a copy: either way h is unaffected
    except ValueError:
        pass
    np.testing.assert_array_equal(h.edges, saved)
    h.update_values([0.5])
    np.testing.assert_array_equal(h.counts, [0, 0, 1, 0])
    # edges of any real dtype
    h = from_reference(sample, binning=[-1, 0, 3])
    np.testing.assert_array_equal(h.edges, [-1.0, 0.0, 3.0])
    assert h.edges.dtype == np.float64


@pytest.mark.parametrize("binning", ["quantile", "uniform", "explicit"])
def test_multi_feature_edges_and_reference(rng, binning):
    m = 400
    sample = np.stack([rng.standard_normal(m),                  # smooth
                       rng.integers(0, 3, m).astype(np.float64),  # ties: fewer bins
                       np.full(m, 7.0),                          # constant: [7, 7]
                       rng.exponential(1.0, m) * 1e-5], axis=1)
    F = sample.shape[1]
    saved = sample.copy()
    if binning == "explicit":
        arg = [np.array([-1.0, 0.0, 1.0]), np.array([0.5, 1.5]), np.array([6.0, 7.0, 8.0, 9.0]),
               np.linspace(0, 3e-5, 9)]
        edges = [a.copy() for a in arg]
    else:
        arg = binning
        edges = [fit_edges(sample[:, f], 6, binning) for f in range(F)]
    h = from_reference(sample, n_bins=6, binning=arg)
    np.testing.assert_array_equal(sample, saved)
    assert h.n_features == F
    refs = check_monitor(h, [sample[:, f] for f in range(F)], edges, F, binning,
                         fitted=binning != "explicit")
    nb = [len(e) + 1 for e in edges]
    assert len(set(nb)) > 1
    assert isinstance(h.counts, list) and [len(c) for c in h.counts] == nb
    np.testing.assert_array_equal(h.total, np.zeros(F))
    x = np.vstack([sample[:50], rng.standard_normal((50, F)) * 10])
    h.update_values(x)
    model = RowModel(nb)
    model.update(binned_rows(edges, x))
    assert_counts(as_rows(h.counts, F), model.counts())
    check_queries(h, refs, 0.0, binning, counts_rows=model.counts(), n_features=F)


def test_multi_feature_same_bin_count(rng):
    sample = rng.standard_normal((300, 2))
    h = from_reference(sample, n_bins=5)
    edges = [fit_edges(sample[:, f], 5) for f in range(2)]
    refs = check_monitor(h, [sample[:, 0], sample[:, 1]], edges, 2, "same")
    h.update_values(sample[::-1])
    assert_counts(as_rows(h.counts, 2), refs)
    check_queries(h, refs, 0.0, "same", n_features=2)


def test_integer_samples(rng):
    sample = rng.integers(-50, 50, 500)
    h = from_reference(sample, n_bins=8)
    edges = fit_edges(sample.astype(np.float64), 8)
    check_monitor(h, [sample.astype(np.float64)], [edges], None, "int sample")
    h = from_reference(sample.astype(np.int16), n_bins=8, binning="uniform")
    check_monitor(h, [sample.astype(np.float64)], [fit_edges(sample, 8, "uniform")], None,
                  "int16 sample")


# ---------------------------------------------------------------------------
# update_values == update of the bins computed here
# ---------------------------------------------------------------------------

def _values(rng, edges_list, m, dtype):
    """m rows of values: ordinary ones, exact edges, outside both ends, inf."""
    F = len(edges_list)
    cols = []
    for e in edges_list:
        lo, hi = e[0], e[-1]
        span = max(hi - lo, 1.0)
        c = lo + (rng.random(m) * 1.4 - 0.2) * span
        pick = rng.random(m)
        c[pick < 0.2] = rng.choice(e, int((pick < 0.2).sum()))
        c[(pick >= 0.2) & (pick < 0.25)] = rng.choice([-np.inf, np.inf, lo - span, hi + span])
        cols.append(c)
    x = np.stack(cols, axis=1) if F > 1 else cols[0]
    if np.dtype(dtype).kind in "iu":
        x = np.clip(np.nan_to_num(x, posinf=3e4, neginf=-3e4), -3e4, 3e4)
        x = np.round(x)
    return x.astype(dtype)


@pytest.mark.parametrize("features", [None, 3])
@pytest.mark.parametrize("mode", ["plain", "window", "decay"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int16])
def test_update_values_equals_update_of_bins(rng, features, mode, dtype):
    m = 300
    integer = np.dtype(dtype).kind in "iu"
    shape = (m,) if features is None else (m, features)
    sample = (rng.integers(-20, 20, shape) if integer else rng.standard_normal(shape) * 4)
    kwargs = {"window": 11} if mode == "window" else {"decay": 0.05} if mode == "decay" else {}
    h = from_reference(sample, n_bins=6, pseudocount=0.5, **kwargs)
    twin = from_reference(sample, n_bins=6, pseudocount=0.5, **kwargs)
    F = features
    edges = edges_list(h)
    cols = [sample] if F is None else [sample[:, f] for f in range(F)]
    refs = check_monitor(h, cols, [fit_edges(c, 6) for c in cols], F, "fit")
    model = RowModel([len(e) + 1 for e in edges], **kwargs)
    for step in range(8):
        k = int(rng.choice([1, 4, 30]))
        x = _values(rng, edges, k, dtype)
        saved = x.copy()
        w = rng.choice(DYADIC, k) if step % 2 else None
        h.update_values(x, w)
        np.testing.assert_array_equal(x, saved)
        rows = binned_rows(edges, x.astype(np.float64))
        bins = np.array(rows, dtype=np.int64)
        twin.update(bins[:, 0] if F is None else bins, w)
        model.update(rows, w)
        if mode == "decay":
            same_results(query_all(h), query_all(twin))
            # (read both: reading decayed counts renormalises the state)
            assert_counts(as_rows(h.counts, F), as_rows(twin.counts, F))
            for g, e in zip(as_rows(h.counts, F), model.counts()):
                np.testing.assert_allclose(g, e, rtol=1e-10)
        else:
            assert_same_histogram(h, twin, F)
            assert_counts(as_rows(h.counts, F), model.counts())
            check_queries(h, refs, 0.5, f"{mode} step {step}", counts_rows=model.counts(),
                          n_features=F)
    check_queries(h, refs, 0.5, f"{mode} end", n_features=F)


def test_update_values_scalars_lists_and_layouts(rng):
    sample = rng.standard_normal(200)
    h = from_reference(sample, n_bins=4)
    edges = edges_list(h)
    model = RowModel([len(edges[0]) + 1])
    x = rng.standard_normal(90) * 2
    for v in ([0.1, -3.0], x[::3], x[::-1], list(x[:7]), np.array([], np.float64), []):
        h.update_values(v)
        model.update(binned_rows(edges, np.asarray(v, np.float64)))
    ro = x.copy()
    ro.flags.writeable = False
    h.update_values(ro, weights=np.arange(90.0)[::-1])
    model.update(binned_rows(edges, ro), np.arange(90.0)[::-1])
    assert_counts(as_rows(h.counts, None), model.counts())
    sample2 = rng.standard_normal((200, 2))
    h2 = from_reference(sample2, n_bins=4)
    e2 = edges_list(h2)
    model2 = RowModel([len(e) + 1 for e in e2])
    xs = rng.standard_normal((40, 2))
    for v in (xs.tolist(), np.asfortranarray(xs), xs[::2], xs[:, ::-1][:, ::-1],
              xs.astype(np.float32)):
        h2.update_values(v)
        model2.update(binned_rows(e2, np.asarray(v, np.float64)))
    assert_counts(as_rows(h2.counts, 2), model2.counts())


# ---------------------------------------------------------------------------
# NaN
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("features", [None, 2])
@pytest.mark.parametrize("kwargs", [{}, {"window": 5}, {"decay": 0.2}])
def test_nan_raise_rejects_the_batch(rng, features, kwargs):
    shape = (200,) if features is None else (200, features)
    sample = rng.standard_normal(shape)

    def build():
        h = from_reference(sample, n_bins=5, **kwargs)
        h.update_values(sample[:7])
        return h

    h, twin = build(), build()
    x = rng.standard_normal((6,) if features is None else (6, features))
    x[-1] = np.nan  # last: a half-applied batch would show
    saved = x.copy()
    with pytest.raises(ValueError, match=NAN_MESSAGE):
        h.update_values(x)
    np.testing.assert_array_equal(x, saved)
    assert_same_histogram(h, twin, features)
    with pytest.raises(ValueError, match=NAN_MESSAGE):
        h.update_values(x.astype(np.float32), weights=np.ones(6))
    assert_same_histogram(h, twin, features)
    for _ in range(3):
        y = rng.standard_normal(x.shape)
        h.update_values(y)
        twin.update_values(y)
        assert_same_histogram(h, twin, features)


@pytest.mark.parametrize("features", [None, 2])
def test_nan_in_sample(rng, features):
    shape = (300,) if features is None else (300, features)
    sample = rng.standard_normal(shape)
    sample[rng.random(shape) < 0.1] = np.nan
    saved = sample.copy()
    with pytest.raises(ValueError, match=NAN_MESSAGE):
        from_reference(sample)
    with pytest.raises(ValueError, match=NAN_MESSAGE):
        from_reference(sample, nan_policy="raise", binning="uniform")
    for binning in ("quantile", "uniform"):
        h = from_reference(sample, nan_policy="omit", n_bins=5, binning=binning)
        np.testing.assert_array_equal(sample, saved)
        cols = [sample] if features is None else [sample[:, f] for f in range(features)]
        edges = [fit_edges(c, 5, binning) for c in cols]
        refs = check_monitor(h, cols, edges, features, f"omit {binning}")
        for c, r in zip(cols, refs):
            assert r.sum() == np.count_nonzero(~np.isnan(c))
    explicit = np.array([-1.0, 0.0, 1.0])
    h = from_reference(sample, nan_policy="omit",
                       binning=explicit if features is None else [explicit] * features)
    cols = [sample] if features is None else [sample[:, f] for f in range(features)]
    check_monitor(h, cols, [np.array([-1.0, 0.0, 1.0])] * len(cols), features, "explicit",
                  fitted=False)


@pytest.mark.parametrize("features", [None, 3])
@pytest.mark.parametrize("kwargs", [{}, {"window": 5}, {"window": 1}, {"decay": 0.2}])
def test_nan_omit_counts_nothing_but_is_an_observation(rng, features, kwargs):
    shape = (300,) if features is None else (300, features)
    sample = rng.standard_normal(shape)
    h = from_reference(sample, n_bins=4, nan_policy="omit", pseudocount=0.25, **kwargs)
    edges = edges_list(h)
    cols = [sample] if features is None else [sample[:, f] for f in range(features)]
    refs = [reference_of(e, c) for e, c in zip(edges, cols)]
    model = RowModel([len(e) + 1 for e in edges], **kwargs)
    for step in range(20):
        k = int(rng.choice([1, 3, 8]))
        x = rng.standard_normal((k,) if features is None else (k, features)) * 2
        x[rng.random(x.shape) < 0.4] = np.nan
        if step == 5:
            x[:] = np.nan  # a batch of NaN only
        w = rng.choice(DYADIC[1:], k) if step % 3 else None
        saved = x.copy()
        h.update_values(x, w)
        np.testing.assert_array_equal(x, saved)
        model.update(binned_rows(edges, x), w)
        if "decay" in kwargs:
            check_queries(h, refs, 0.25, f"omit {kwargs} step {step}", n_features=features)
            for g, e in zip(as_rows(h.counts, features), model.counts()):
                np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-300)
        else:
            assert_counts(as_rows(h.counts, features), model.counts(),
                          what=f"omit {kwargs} step {step}")
            check_queries(h, refs, 0.25, f"omit {kwargs} step {step}",
                          counts_rows=model.counts(), n_features=features)


def test_nan_omit_window_by_hand():
    h = from_reference(np.array([0.0, 1.0, 2.0, 3.0]), binning=[0.0, 1.0, 2.0, 3.0],
                       window=3, nan_policy="omit")
    h.update_values([0.5, 1.5, 2.5])
    np.testing.assert_array_equal(h.counts, [0, 1, 1, 1, 0])
    h.update_values([np.nan])  # 0.5 leaves the window, nothing enters
    np.testing.assert_array_equal(h.counts, [0, 0, 1, 1, 0])
    h.update_values([np.nan, np.nan])  # 1.5 and 2.5 leave
    np.testing.assert_array_equal(h.counts, [0, 0, 0, 0, 0])
    h.update_values([9.0])
    np.testing.assert_array_equal(h.counts, [0, 0, 0, 0, 1])
    m = from_reference(np.array([[0.0, 0.0], [3.0, 3.0]]), binning=[[0.0, 3.0], [0.0, 3.0]],
                       window=2, nan_policy="omit")
    m.update_values([[1.0, np.nan], [np.nan, 1.0]])
    assert_counts(as_rows(m.counts, 2), [np.array([0.0, 1, 0]), np.array([0.0, 1, 0])])
    m.update_values([[np.nan, 5.0]])  # row 1 leaves: feature 0 empty, feature 1 has 2
    assert_counts(as_rows(m.counts, 2), [np.array([0.0, 0, 0]), np.array([0.0, 1, 1])])
    e = m.entropy()
    assert np.isnan(e[0]) and e[1] == pytest.approx(math.log(2), rel=1e-14)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

def test_from_reference_errors(rng):
    sample = rng.standard_normal(100)
    sample2 = rng.standard_normal((100, 2))
    bad = []
    for s in (sample, sample2):
        for v in (np.inf, -np.inf):
            t = s.copy()
            t[3] = v  # infinite: an error whatever nan_policy
            bad += [((t,), {}, ValueError, "(?i)inf|finite"),
                    ((t,), {"nan_policy": "omit"}, ValueError, "(?i)inf|finite"),
                    ((t,), {"binning": "uniform"}, ValueError, "(?i)inf|finite")]
        bad += [
            ((s,), {"nan_policy": "propagate"}, ValueError, "nan_policy"),
            ((s,), {"nan_policy": "bogus"}, ValueError, "nan_policy"),
            ((s,), {"binning": "bogus"}, ValueError, "binning"),
            ((s,), {"binning": "Quantile"}, ValueError, "binning"),
            ((s,), {"n_bins": 0}, ValueError, "n_bins"),
            ((s,), {"pseudocount": -1.0}, ValueError, "pseudocount"),
            ((s,), {"pseudocount": np.nan}, ValueError, "pseudocount"),
            ((s,), {"window": 0}, ValueError, "window"),
            ((s,), {"decay": 1.5}, ValueError, "decay"),
        ]
    for e in ([0.0, 0.0, 1.0], [1.0, 0.0], [0.0, np.nan, 1.0], [0.0, np.inf], [-np.inf, 0.0],
              [1.0], [], [[0.0, 1.0], [2.0, 3.0]]):
        bad.append(((sample,), {"binning": np.array(e)}, ValueError, EDGES_MESSAGE))
    good = np.array([0.0, 1.0])
    bad += [
        ((sample2,), {"binning": [good]}, ValueError, EDGES_MESSAGE),            # too few
        ((sample2,), {"binning": [good, good, good]}, ValueError, EDGES_MESSAGE),
        ((sample2,), {"binning": [good, np.array([1.0, 1.0])]}, ValueError, EDGES_MESSAGE),
        ((sample2,), {"binning": [good, np.array([3.0])]}, ValueError, EDGES_MESSAGE),
        ((rng.standard_normal((10, 2, 2)),), {}, ValueError, ""),
    ]
    for args, kwargs, exc, match in bad:
        saved = copy.deepcopy((args, kwargs))
        with pytest.raises(exc, match=match or None):
            from_reference(*args, **kwargs)
        for a, b in zip(args, saved[0]):
            np.testing.assert_array_equal(a, b)  # the sample is left alone
    with pytest.raises((TypeError, ValueError)):
        from_reference(np.array(["a", "b", "c"]))
    with pytest.raises((TypeError, ValueError)):
        from_reference(sample + 1j)


@pytest.mark.parametrize("features", [None, 2])
@pytest.mark.parametrize("kwargs", [{}, {"window": 4}])
def test_update_values_errors_change_nothing(rng, features, kwargs):
    shape = (100,) if features is None else (100, features)
    sample = rng.standard_normal(shape)

    def build():
        h = from_reference(sample, n_bins=4, pseudocount=0.5, **kwargs)
        h.update_values(sample[:6])
        return h

    h, twin = build(), build()
    F = features or 1
    ok = rng.standard_normal((3,) if features is None else (3, F))
    bad = [
        ((ok,), {"weights": [1.0, 1.0, -1.0]}, ValueError),
        ((ok,), {"weights": [1.0, 1.0, np.nan]}, ValueError),
        ((ok,), {"weights": [1.0, np.inf, 1.0]}, ValueError),
        ((ok,), {"weights": [1.0, 1.0]}, ValueError),
        ((ok,), {"weights": np.ones((3, 2))}, ValueError),
        ((np.zeros((3, F + 1)),), {}, ValueError),
        ((np.zeros((3, F, 2)),), {}, ValueError),
    ]
    if features is not None:
        bad.append(((np.zeros(3),), {}, ValueError))  # 1-D for two features
    for args, kw, exc in bad:
        saved = copy.deepcopy((args, kw))
        with pytest.raises(exc):
            h.update_values(*args, **kw)
        np.testing.assert_array_equal(args[0], saved[0][0])
        assert_same_histogram(h, twin, features)
    for x in (np.array(["a"] * 3), ok + 1j):
        with pytest.raises((TypeError, ValueError)):
            h.update_values(x)
        assert_same_histogram(h, twin, features)
    for _ in range(3):
        y = rng.standard_normal(ok.shape)
        h.update_values(y)
        twin.update_values(y)
        assert_same_histogram(h, twin, features)


# ---------------------------------------------------------------------------
# Pickle, pseudocount, hard cases
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("features", [None, 3])
@pytest.mark.parametrize("kwargs", [{}, {"window": 9}, {"decay": 0.1}])
@pytest.mark.parametrize("nan_policy", ["raise", "omit"])
def test_pickle_round_trip(rng, features, kwargs, nan_policy):
    shape = (400,) if features is None else (400, features)
    sample = np.round(rng.standard_normal(shape), 1)  # ties: ragged for several features
    h = from_reference(sample, n_bins=7, nan_policy=nan_policy, pseudocount=0.5, **kwargs)
    edges = edges_list(h)
    h.update_values(_values(rng, edges, 25, np.float64))
    for clone in (lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy):
        h2 = clone(h)
        assert h2.n_features == h.n_features and h2.n_bins == h.n_bins
        for a, b in zip(edges_list(h2), edges):
            np.testing.assert_array_equal(a, b)
        assert_counts(as_rows(h2.reference, features), as_rows(h.reference, features))
        assert_same_histogram(h, h2, features)
        for _ in range(3):  # bins new values alike
            x = _values(rng, edges, 6, np.float64)
            h.update_values(x)
            h2.update_values(x)
            assert_same_histogram(h, h2, features)
        x = _values(rng, edges, 4, np.float64)
        x[1] = np.nan
        if nan_policy == "raise":
            with pytest.raises(ValueError, match=NAN_MESSAGE):
                h2.update_values(x)
        else:
            h.update_values(x)
            h2.update_values(x)
        assert_same_histogram(h, h2, features)


@pytest.mark.parametrize("features", [None, 2])
def test_pseudocount_makes_values_outside_the_sample_finite(rng, features):
    shape = (500,) if features is None else (500, features)
    sample = rng.random(shape)
    x = np.array([0.5, 5.0, -3.0, 0.25])
    if features is not None:
        x = np.stack([x] * features, axis=1)
    h0 = from_reference(sample, n_bins=4)
    hc = from_reference(sample, n_bins=4, pseudocount=0.5)
    h0.update_values(x)
    hc.update_values(x)
    refs = as_rows(hc.reference, features)
    for name in ("population_stability_index", "kl_divergence", "chi_square_divergence"):
        assert np.all(np.asarray(getattr(h0, name)()) == math.inf), name
        assert np.all(np.isfinite(getattr(hc, name)())), name
    check_queries(hc, refs, 0.5, "outside, pseudocount", n_features=features)
    check_queries(h0, refs, 0.0, "outside", n_features=features)


@pytest.mark.parametrize("features", [None, 2])
def test_near_identical_to_the_sample(rng, features):
    """The live values are the sample plus a few: KL ~ 1e-8 .. 1e-6."""
    n = 200_000 if FULL else 40_000
    shape = (n,) if features is None else (n, features)
    sample = rng.standard_normal(shape)
    h = from_reference(sample, n_bins=50)
    h.update_values(sample, weights=np.full(n, 3.0))
    refs = as_rows(h.reference, features)
    for step in range(3):
        h.update_values(sample[rng.integers(0, n, 5)])
        kl = np.atleast_1d(h.kl_divergence())
        assert np.all((0 < kl) & (kl < 1e-6)), kl
        check_queries(h, refs, 0.0, f"near identical step {step}", n_features=features)


def test_one_bin_holds_almost_all_mass(rng):
    sample = np.r_[np.zeros(10_000), rng.standard_normal(20)]
    h = from_reference(sample, n_bins=10, pseudocount=0.0)
    edges = fit_edges(sample, 10)
    refs = check_monitor(h, [sample], [edges], None, "dominant")
    h.update_values([0.0], weights=[1e15])
    h.update_values([-1e9, 1e9, 0.0])  # the two outside bins, one each
    e = h.entropy()
    assert 0 < e < 1e-11, e
    check_queries(h, refs, 0.0, "dominant")
    hp = from_reference(sample, n_bins=10, pseudocount=0.5)
    hp.update_values([0.0], weights=[1e15])
    hp.update_values([1e9, -1e9])
    check_queries(hp, refs, 0.5, "dominant, pseudocount")


# ---------------------------------------------------------------------------
# Hypothesis: any sample (ties, constant columns), any values
# ---------------------------------------------------------------------------

_value = st.one_of(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 1e-300]),
                   st.floats(-5, 5, allow_nan=False), st.just(math.inf), st.just(-math.inf),
                   st.just(math.nan))


@pytest.mark.parametrize("with_nan", [False, True])
@settings(max_examples=max(20, int(settings().max_examples) // 2))
@given(sample=st.lists(st.integers(-24, 24).map(lambda k: k / 8),  # distinct uniform edges
                       min_size=1, max_size=40),
       n_bins=st.integers(1, 6), binning=st.sampled_from(["quantile", "uniform"]),
       window=st.none() | st.integers(1, 6),
       batches=st.lists(st.lists(_value, max_size=8), min_size=1, max_size=5),
       two=st.booleans())
def test_property_monitor_matches_numpy(with_nan, sample, n_bins, binning, window, batches,
                                        two):
    """with_nan=False: the binning alone; True: NaN values (omitted, but
    still observations for the window)."""
    if not with_nan:
        batches = [[v for v in b if not math.isnan(v)] for b in batches]
    s = np.array(sample)
    if two:  # a second feature: the sample reversed and shifted
        s = np.stack([s, s[::-1] * 2 + 1], axis=1)
    h = from_reference(s, n_bins=n_bins, binning=binning, window=window, nan_policy="omit")
    cols = [s] if not two else [s[:, 0], s[:, 1]]
    edges = [fit_edges(c, n_bins, binning) for c in cols]
    F = 2 if two else None
    refs = check_monitor(h, cols, edges, F, "property")
    model = RowModel([len(e) + 1 for e in edges], window=window)
    for b in batches:
        x = np.array(b, dtype=np.float64)
        if two:
            x = np.stack([x, -x], axis=1) if len(b) else np.zeros((0, 2))
        h.update_values(x)
        model.update(binned_rows(edges, x))
    assert_counts(as_rows(h.counts, F), model.counts())
    check_queries(h, refs, 0.0, "property", counts_rows=model.counts(), n_features=F)
