"""StreamingHistogram: the measure family against the reference (issue 12).

Every query is checked against the batch function of histentropy applied to
(`h.counts`, reference) -- the contract of the streaming queries -- to 1e-10
relative (1e-12 absolute near 0), with +inf and NaN exactly; the batch
functions themselves are checked against mpmath in tests/family. The queries
are always made *before* `h.counts` is read, since reading the counts of a
decaying histogram renormalises (and so recomputes) its state.

Jeffreys, Hellinger and chi-square are O(1) queries from anchored running
sums; the tests check that those sums are what answers (their drift is still
there after the query) where that is the point.
"""
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

import histentropy
from histentropy._streaming import StreamingHistogram
from test_streaming import DecayModel, WindowModel, _batch  # tests/streaming is on sys.path

REL = 1e-10
ABS = 1e-12

# (query name, batch function, keyword arguments of both)
QUERIES = [
    ("jeffreys_divergence", histentropy.jeffreys_divergence, {}),
    ("jeffreys_divergence", histentropy.jeffreys_divergence, {"base": 2}),
    ("population_stability_index", histentropy.population_stability_index, {}),
    ("hellinger_distance", histentropy.hellinger_distance, {}),
    ("chi_square_divergence", histentropy.chi_square_divergence, {}),
    ("js_divergence", histentropy.js_divergence, {}),
    ("js_divergence", histentropy.js_divergence, {"base": 2}),
    ("js_distance", histentropy.js_distance, {}),
    ("js_distance", histentropy.js_distance, {"base": 2}),
    ("total_variation", histentropy.total_variation, {}),
]
O1 = ("jeffreys_divergence", "hellinger_distance", "chi_square_divergence")


def assert_matches(got, ref, what):
    ref = float(ref)
    assert isinstance(got, float), f"{what}: {type(got)}"
    if math.isnan(ref) or math.isinf(ref):
        assert got == ref or (math.isnan(got) and math.isnan(ref)), f"{what}: {got} vs {ref}"
        return
    assert abs(got - ref) <= max(REL * abs(ref), ABS), (
        f"{what}: got {got!r}, batch {ref!r}, "
        f"relative error {abs(got - ref) / abs(ref) if ref else math.inf:.3e}")


def query_all(h):
    """Every family query of h (none of them reads `counts`)."""
    return [getattr(h, name)(**kw) for name, _, kw in QUERIES]


def check_family(h, reference, what="", expected_counts=None):
    """Query h, then compare with the batch functions on h.counts (and on
    `expected_counts`, a model's, when given)."""
    got = query_all(h)
    again = query_all(h)  # cached or recomputed: the same numbers
    counts = h.counts
    for (name, batch, kw), g, g2 in zip(QUERIES, got, again):
        ref = batch(counts, reference, **kw)
        assert_matches(g, ref, f"{what} {name}{kw or ''}")
        assert g == g2 or (math.isnan(g) and math.isnan(g2)), f"{what} {name}: {g} then {g2}"
        assert not g < 0.0, f"{what} {name}: negative {g!r}"
        if expected_counts is not None:
            assert_matches(g, batch(expected_counts, reference, **kw),
                           f"{what} {name}{kw or ''} (model counts)")
    return got


# ---------------------------------------------------------------------------
# Random streams: plain, window, decay; both ways of settling a batch
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["plain", "window", "decay"])
@pytest.mark.parametrize("n_bins", [1, 6, 300])
@pytest.mark.parametrize("weighted", [False, True])
def test_random_streams_match_batch(rng, mode, n_bins, weighted):
    r = rng.random(n_bins) + 0.05
    if n_bins > 5:
        r[rng.integers(n_bins)] = 0.0  # counts there: +inf for Jeffreys, chi-square
    kwargs = {"window": 40} if mode == "window" else {"decay": 0.05} if mode == "decay" else {}
    h = StreamingHistogram(n_bins, reference=r, **kwargs)
    for step in range(30):
        # 1 to >> n_bins events: per-bin settling and exact recomputation
        m = int(rng.choice([1, 2, 5, max(1, n_bins // 10), 3 * n_bins + 7]))
        bins = rng.integers(0, n_bins, m)
        if rng.random() < 0.5:  # mostly where the reference has weight
            bins = rng.choice(n_bins, m, p=r / r.sum())
        weights = rng.choice([1e-3, 1.0, 1e4], m) * rng.random(m) if weighted else None
        h.update(bins, weights)
        if rng.random() < 0.35 or step == 29:
            check_family(h, r, what=f"{mode} step {step}")


def test_window_matches_model_counts(rng):
    n, w = 40, 300
    r = rng.random(n) + 0.1
    h = StreamingHistogram(n, reference=r, window=w)
    model = WindowModel(n, w)
    for step in range(40):
        m = int(rng.choice([1, 3, 20, 400]))
        bins = rng.choice(n, m, p=r / r.sum())
        weights = rng.exponential(1.0, m)
        h.update(bins, weights)
        model.update(bins, weights)
        if step % 8 == 7:
            check_family(h, r, f"window step {step}", expected_counts=model.counts())


def test_decay_matches_model_counts(rng):
    n, d = 30, 0.02
    r = rng.random(n) + 0.1
    h = StreamingHistogram(n, reference=r, decay=d)
    model = DecayModel(n, d)
    for step in range(60):  # ~3000 events: several exact rescalings of the scale
        m = int(rng.choice([1, 2, 60, 120]))
        bins = rng.choice(n, m, p=r / r.sum())
        h.update(bins)
        model.update(bins, None)
        if step % 20 == 19:
            check_family(h, r, f"decay step {step}", expected_counts=model.counts())
    assert h.__getstate__()["track_f"]


# ---------------------------------------------------------------------------
# Counts that follow the reference: the O(1) anchored sums answer
# ---------------------------------------------------------------------------

def _drifts(h):
    s = h.__getstate__()
    return {"jeffreys_divergence": s["drift_k2"], "hellinger_distance": s["drift_g"],
            "chi_square_divergence": s["drift_z"]}


@pytest.mark.parametrize("kwargs", [{}, {"window": 600_000}, {"decay": 1e-6}])
def test_near_reference_stream_uses_the_running_sums(rng, kwargs):
    """PSI, Hellinger and chi-square of a stream drawn from the reference
    (about n_bins / S: 1e-3 here): each query after small updates comes from
    the sums kept per event (no re-anchoring, no batch kernel)."""
    n = 1000
    r = rng.dirichlet(np.full(n, 5.0))
    h = StreamingHistogram(n, reference=r, **kwargs)
    h.update(rng.choice(n, 500_000, p=r))  # one large batch: exact recomputation
    first = [getattr(h, name)() for name in O1]
    assert all(1e-5 < v < 1e-1 for v in first), first
    st_ = h.__getstate__()
    assert st_["track_f"] and st_["k_valid"]
    for step in range(300):  # small batches: per-bin settling of the anchored sums
        h.update(rng.choice(n, 20, p=r), rng.integers(1, 3, 20))
        if step % 100 == 99:
            for name in O1:
                getattr(h, name)()
                assert _drifts(h)[name] > 0.0, f"{name} re-anchored at step {step}"
            check_family(h, r, f"near reference {kwargs} step {step}")


def test_o1_queries_do_not_scan_the_bins(rng):
    """A million bins: a query of the O(1) measures after each one-event
    update costs microseconds (the batch kernel takes milliseconds)."""
    import time

    n = 1_000_000
    r = rng.random(n) + 0.5
    h = StreamingHistogram(n, reference=r)
    h.add_counts(np.round(r * 50))
    for name in O1:
        getattr(h, name)()
    start = time.perf_counter()
    histentropy.jeffreys_divergence(h.counts, r)
    batch = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(200):
        h.update([i * 4999 % n])
        for name in O1:
            getattr(h, name)()
    loop = time.perf_counter() - start
    # 600 O(n_bins) queries would take >= 600 * batch
    assert loop < 30 * batch, (loop, batch)
    check_family(h, r, "million bins")


def test_decay_near_reference_through_rescalings():
    # Round-robin events against a uniform reference: decayed counts within
    # ~d of uniform; 8000 single events at d = 1e-2 reset the scale 3 times.
    n = 16
    r = np.ones(n)
    h = StreamingHistogram(n, reference=r, decay=1e-2)
    h.update(np.arange(2000) % n)
    for name in O1:
        getattr(h, name)()
    k_before = h.__getstate__()["k"]
    for step in range(8000):
        h.update(step % n)
    st_ = h.__getstate__()
    assert st_["k_valid"] and st_["track_f"] and st_["k"] < k_before + 8000
    got = check_family(h, r, "decay round robin")
    assert 1e-6 < got[0] < 1e-2


def test_exactly_proportional_counts():
    r = np.array([1.0, 2.0, 3.0, 7.0])
    for kwargs in ({}, {"window": 100}, {"decay": 0.5}):
        h = StreamingHistogram(4, reference=r, **kwargs)
        h.add_counts(r * 1000)
        got = check_family(h, r, f"proportional {kwargs}")
        if "decay" not in kwargs:  # (decayed counts are not proportional)
            assert all(abs(v) <= ABS for v in got), got


@pytest.mark.parametrize("kwargs", [{}, {"window": 7}, {"decay": 0.3}])
def test_one_bin_is_zero(kwargs):
    h = StreamingHistogram(1, reference=[2.5], **kwargs)
    for bins, weights in (([0], None), ([0, 0], [1e-300, 1e250])):
        h.update(bins, weights)
        assert all(v == 0.0 for v in query_all(h)), query_all(h)


# ---------------------------------------------------------------------------
# +inf, NaN, no reference
# ---------------------------------------------------------------------------

def test_support_violations_give_inf_in_o1_and_recover():
    r = np.array([1.0, 0.0, 2.0, 1.0])
    h = StreamingHistogram(4, reference=r, window=3)
    h.update([0, 2, 3])
    check_family(h, r, "full support")
    assert math.isfinite(h.jeffreys_divergence())
    h.update([1])  # mass where the reference is 0; bin 0 leaves the window
    assert h.jeffreys_divergence() == math.inf and h.chi_square_divergence() == math.inf
    assert h.population_stability_index(base=2) == math.inf
    assert math.isfinite(h.hellinger_distance()) and math.isfinite(h.total_variation())
    check_family(h, r, "counts where r = 0")
    h.update([0, 2, 3])  # bin 1 leaves: all finite again
    check_family(h, r, "recovered")
    assert math.isfinite(h.chi_square_divergence())
    h.update([2, 2, 3])  # bin 0 has reference weight but no counts now
    assert h.jeffreys_divergence() == math.inf
    assert math.isfinite(h.chi_square_divergence())
    check_family(h, r, "reference where counts are 0")


@pytest.mark.parametrize("kwargs", [{}, {"window": 5}, {"decay": 0.1}])
def test_empty_is_nan(kwargs):
    r = [1.0, 2.0, 0.0]
    h = StreamingHistogram(3, reference=r, **kwargs)
    assert all(math.isnan(v) for v in query_all(h))
    h.update([0, 1], [0.0, 0.0])  # zero-weight events: still no mass
    check_family(h, r, "zero weights")
    h.update([0, 1, 2])
    h.reset()
    assert all(math.isnan(v) for v in query_all(h))
    h.update([1])
    check_family(h, r, "after reset")


def test_no_reference_raises_like_kl():
    h = StreamingHistogram(3)
    h.update([0, 1])
    with pytest.raises(ValueError, match="needs a reference") as kl_error:
        h.kl_divergence()
    for name in ("jeffreys_divergence", "population_stability_index", "hellinger_distance",
                 "chi_square_divergence", "js_divergence", "js_distance", "total_variation"):
        with pytest.raises(ValueError, match="needs a reference") as e:
            getattr(h, name)()
        assert type(e.value) is type(kl_error.value)
        assert "reference=None" in str(e.value)
    h = StreamingHistogram(3, reference=[1, 1, 1])
    for base in (1, 0, -2, "2", np.nan):
        for name in ("jeffreys_divergence", "js_divergence", "js_distance"):
            with pytest.raises(ValueError, match="base"):
                getattr(h, name)(base=base)


def test_psi_is_the_same_method():
    assert (StreamingHistogram.population_stability_index
            is StreamingHistogram.jeffreys_divergence)
    h = StreamingHistogram(3, reference=[1, 2, 3])
    h.update([0, 1, 1, 2, 2, 2, 2])
    assert h.population_stability_index(base=2) == h.jeffreys_divergence(base=2)


# ---------------------------------------------------------------------------
# Hard cases: extreme references and weights, decayed counts that underflow
# ---------------------------------------------------------------------------

def _extreme_reference(rng, n):
    r = 10.0 ** rng.uniform(-300, 300, n)
    shape = rng.integers(5)
    if shape == 1:  # one bin carries almost all of the reference
        r *= 10.0 ** -rng.uniform(0, 40)
        r[rng.integers(n)] = 10.0 ** rng.uniform(250, 300)
    elif shape == 2:
        r[rng.random(n) < 0.3] = 0.0
        r[rng.integers(n)] = 10.0 ** rng.uniform(-300, 300)
    elif shape >= 3:  # a narrow range, as a reference usually is
        r = rng.random(n) + 1e-3
    return r


@pytest.mark.parametrize("mode", ["add_counts", "per_bin", "near_reference", "window",
                                  "decay"])
def test_extreme_references_and_weights(rng, mode):
    for trial in range(60):
        n = int(rng.integers(1, 9))
        r = _extreme_reference(rng, n)
        scale = 10.0 ** rng.uniform(-300, 250)
        c = np.floor(rng.exponential(10.0 ** rng.uniform(0, 9), n)) * scale
        if mode == "near_reference":
            c = np.round(r / r.sum() * 10.0 ** rng.uniform(6, 15))
        if not c.any():
            c[rng.integers(n)] = 1.0
        what = f"{mode} trial {trial}: r={r.tolist()!r} c={c.tolist()!r}"
        kwargs = ({"window": n + 2} if mode == "window" else
                  {"decay": 0.25} if mode == "decay" else {})
        h = StreamingHistogram(n, reference=r, **kwargs)
        nz = np.flatnonzero(c)
        if mode == "per_bin":
            for b in nz:
                h.update([b], [c[b]])
        else:
            h.add_counts(c)
        query_all(h)  # the first queries anchor the sums
        b = int(nz[rng.integers(len(nz))])
        h.update([b], [c[b] * rng.choice([0.5, 1e-3, 1.0])])
        check_family(h, r, what)


def test_decayed_counts_that_underflow_leave_no_stale_inf():
    """A bin that decays below the range of doubles is 0 in `counts`: the
    +inf cases (counted per bin) must follow, for KL as for the family."""
    r = np.ones(16)
    r[1] = 0.0
    h = StreamingHistogram(16, reference=r, decay=0.6)
    h.update([1])  # mass where the reference is 0
    h.update(np.arange(2, 16))
    assert h.chi_square_divergence() == math.inf and h.kl_divergence() == math.inf
    for i in range(3000):  # bin 1 decays by 0.4 an event: 0 after ~810
        h.update([i % 16 if i % 16 != 1 else 0])
    kl = h.kl_divergence()
    got = check_family(h, r, "after underflow")
    assert math.isfinite(got[0]) and math.isfinite(kl)
    assert h.counts[1] == 0.0
    # the other way: a bin with reference weight decays to 0 (Jeffreys: +inf)
    r = np.ones(16)
    h = StreamingHistogram(16, reference=r, decay=0.6)
    h.update(np.arange(16))
    assert math.isfinite(h.jeffreys_divergence())
    for i in range(3000):
        h.update([i % 16 if i % 16 != 1 else 0])
    got = check_family(h, r, "after underflow, reference side")
    assert got[0] == math.inf and math.isfinite(got[4])


def test_subnormal_reference_weight_falls_back_to_batch():
    # y below the range of doubles: no anchored sums, the batch kernel answers
    r = np.array([1.0, 5e-320, 1.0])
    h = StreamingHistogram(3, reference=r)
    h.update([0, 1, 2, 2])
    check_family(h, r, "subnormal reference")
    assert not h.__getstate__()["k_valid"]
    h.update([1])
    check_family(h, r, "subnormal reference, again")


# ---------------------------------------------------------------------------
# Merge, pickle, reset
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"window": 50}, {"decay": 0.01}])
def test_merge_pickle_copy(rng, kwargs):
    n = 60
    r = rng.random(n) + 0.2
    a = StreamingHistogram(n, reference=r, **kwargs)
    b = StreamingHistogram(n, reference=r, **kwargs)
    for _ in range(20):
        a.update(rng.choice(n, 7, p=r / r.sum()))
        b.update(rng.choice(n, 9, p=r / r.sum()), rng.random(9))
    query_all(a)
    a.merge(b)
    check_family(a, r, f"merged {kwargs}")
    a2 = pickle.loads(pickle.dumps(a))
    assert a2.__getstate__().keys() == a.__getstate__().keys()
    for _ in range(5):  # the copy goes on exactly alike
        bins = rng.integers(0, n, 3)
        a.update(bins)
        a2.update(bins)
        assert query_all(a) == query_all(a2)
    check_family(a2, r, f"unpickled {kwargs}")


def test_state_without_family_sums_restores():
    """A state pickled before the family sums existed: they are rebuilt."""
    r = np.array([1.0, 2.0, 0.0, 3.0])
    h = StreamingHistogram(4, reference=r)
    h.update([0, 1, 3, 3])
    state = h.__getstate__()
    for key in ("missing", "track_f", "K2", "G", "Z", "drift_k2", "drift_g", "drift_z"):
        del state[key]
    h2 = StreamingHistogram(4, reference=r)
    h2.__setstate__(state)
    check_family(h2, r, "old state")
    h2.update([2])
    check_family(h2, r, "old state, counts where r = 0")


@pytest.mark.parametrize("kwargs", [{}, {"window": 500}, {"decay": 1e-3}])
def test_concurrent_queries_are_safe(rng, kwargs):
    import threading

    n = 300
    r = rng.random(n) + 0.1
    h = StreamingHistogram(n, reference=r, **kwargs)
    batches = [rng.choice(n, int(rng.choice([5, 2000])), p=r / r.sum()) for _ in range(60)]
    errors = []

    def feed(part):
        try:
            for b in part:
                h.update(b)
                query_all(h)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(batches[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    check_family(h, r, "after threads")


# ---------------------------------------------------------------------------
# Hypothesis: any sequence of updates, merges, resets and pickles
# ---------------------------------------------------------------------------

N = 12
REFERENCES = {
    "ramp": np.arange(1.0, N + 1),
    "zeros": np.r_[np.ones(N - 2), 0.0, 0.0],
    "dominant": np.r_[1e6, np.ones(N - 1)],
    "tiny": np.r_[np.ones(N - 1), 1e-300],
}


def _new_model(mode, window):
    return (WindowModel(N, window) if mode == "window" else
            DecayModel(N, 0.1) if mode == "decay" else WindowModel(N, None))


class FamilyMachine(RuleBasedStateMachine):
    """A StreamingHistogram against its model (tests/streaming/test_streaming.py);
    the check rule queries every measure, then compares with the batch
    functions on `counts` (and the model's counts)."""

    @initialize(mode=st.sampled_from(["plain", "window", "decay"]),
                window=st.integers(1, 25), ref=st.sampled_from(sorted(REFERENCES)))
    def setup(self, mode, window, ref):
        self.mode, self.window, self.r = mode, window, REFERENCES[ref]
        self.kwargs = ({"window": window} if mode == "window" else
                       {"decay": 0.1} if mode == "decay" else {})
        self.h = StreamingHistogram(N, reference=self.r, **self.kwargs)
        self.model = _new_model(mode, window)

    def _feed(self, h, model, batch, weighted):
        bins = np.array([b for b, _ in batch], dtype=np.int64)
        weights = np.array([w for _, w in batch]) if weighted else None
        h.update(bins, weights)
        model.update(bins, weights)

    @rule(batch=_batch, weighted=st.booleans())
    def update(self, batch, weighted):
        self._feed(self.h, self.model, batch, weighted)

    @rule(scale=st.sampled_from([1.0, 3.0, 1e3]), hole=st.integers(-1, N - 1))
    def add_counts(self, scale, hole):
        # counts on every bin (or all but one): Jeffreys finite where r > 0
        c = np.ceil(self.r / self.r.max() * 10) * scale
        if hole >= 0:
            c[hole] = 0.0
        self.h.add_counts(c)
        nz = np.flatnonzero(c)
        self.model.update(nz, c[nz])

    @rule(batch=_batch, weighted=st.booleans())
    def merge(self, batch, weighted):
        other = StreamingHistogram(N, reference=self.r, **self.kwargs)
        other_model = _new_model(self.mode, self.window)
        self._feed(other, other_model, batch, weighted)
        self.h.merge(other)
        if self.mode == "decay":
            self.model.c += other_model.c
        else:
            for b, w in other_model.events:
                self.model.events.append((b, w))

    @rule()
    def reset(self):
        self.h.reset()
        self.model = _new_model(self.mode, self.window)

    @rule()
    def roundtrip(self):
        self.h = pickle.loads(pickle.dumps(self.h))

    @rule()
    def check(self):
        mc = self.model.counts()
        got = check_family(self.h, self.r, self.mode)
        counts = self.h.counts
        np.testing.assert_allclose(counts, mc, rtol=1e-10, atol=1e-300)
        if mc.sum() == 0:
            assert all(math.isnan(v) for v in got)

    @invariant()
    def cached_queries_are_stable(self):
        # a second query of the same state gives the same number
        if hasattr(self, "h"):
            a = self.h.hellinger_distance()
            assert a == self.h.hellinger_distance() or math.isnan(a)

    def teardown(self):
        if hasattr(self, "h"):
            self.check()


FamilyMachine.TestCase.settings = settings(
    max_examples=int(settings().max_examples), stateful_step_count=12, deadline=None)
test_family_machine = FamilyMachine.TestCase


@given(batches=st.lists(_batch, min_size=1, max_size=6),
       mode=st.sampled_from(["plain", "window", "decay"]), window=st.integers(1, 25),
       ref=st.sampled_from(sorted(REFERENCES)), probe=st.integers(0, 63))
def test_property_queries_between_updates(batches, mode, window, ref, probe):
    """Queries interleaved with updates (which queries come first decides
    when the anchored sums start being kept)."""
    r = REFERENCES[ref]
    kwargs = {"window": window} if mode == "window" else (
        {"decay": 0.1} if mode == "decay" else {})
    h = StreamingHistogram(N, reference=r, **kwargs)
    h.add_counts(np.ceil(r / r.max() * 5))
    for i, batch in enumerate(batches):
        h.update(np.array([b for b, _ in batch], dtype=np.int64),
                 np.array([w for _, w in batch]) if i % 2 else None)
        if probe >> i & 1:
            getattr(h, O1[i % 3])()
    check_family(h, r, mode)
