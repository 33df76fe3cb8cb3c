"""Streaming suite of `histentropy bench`: StreamingHistogram against the scipy way.

A stream of int32 bin indices over 10**4 bins arrives in batches of 10**5
(10**8 events in full, fewer with --quick). The scipy way keeps a counts
vector with ``np.bincount`` and answers a query with ``scipy.stats.entropy``
(and ``scipy.stats.entropy(counts, reference)`` for KL) on the whole vector;
histentropy updates its running sums and answers in O(1). Rows:

* update: one batch of 10**5 events (histentropy ``update`` vs ``np.bincount``
  added into counts), with events/s in the note.
* entropy / kl_divergence query: one query (histentropy O(1) vs scipy on the
  counts), for a stream unlike the reference and for 10**9 events drawn from
  it (KL ~ 5e-6: the anchored sums), and the update cost in that state.
* stream: the whole stream with one entropy + KL query per batch, end to end.
* window / decay update: one batch with ``window=10**6`` / ``decay=1e-6``,
  against the bincount way (which has neither feature; shown for scale).

Many features at once (one thread; each row's goal in the goal column, the
measured figure in the note). A stream of (10**4, 1000) int32 batches, each
feature drawn from its own reference over 20 bins (a pool of three batches,
drawn before the timing). "The numpy way" keeps an (F, n_bins) counts array,
adds ``np.bincount`` of each feature's column into it, and answers per
feature with ``scipy.stats.entropy(counts[f], ref[f])`` (KL) and
``entropy(counts[f], ref[f]) + entropy(ref[f], counts[f])`` (PSI). Rows:

* F=1000 x 20 bins: one batch with ``n_features=1000``, then KL and PSI of
  every feature (``update; kl_divergence(); population_stability_index()``)
  against the numpy way; events/s in the note (10**7 events a batch).
* query: KL + PSI of every feature with no update in between (after the
  stream has run), per feature and query in the note; and the first KL query
  right after an update (it may re-anchor the sums), against the numpy way's
  queries on the counts.
* update_values: ``from_reference`` on a (10**5, 100) normal sample with
  quantile edges (10 bins, 12 with the outside ones), then (10**5, 100)
  normal batches binned in the kernel, values/s in the note; against
  ``np.searchsorted`` of each feature's column on its edges + bincount.
* comparison: ``StreamingComparison(20, n_features=1000, window=10**5,
  reference_window="previous")`` fed the same batches (both windows full
  before the timing), one batch then KL + PSI of every feature; against the
  numpy way on two counts arrays (the batch's bincounts enter the current
  window; the bincounts stored for the batch leaving it move to the previous
  window, and those of the batch leaving that are subtracted).
"""
import time
from collections import deque

import numpy as np

from histentropy.bench._common import Row, best_time, compare
from histentropy._streaming import StreamingComparison, StreamingHistogram

N_BINS = 10**4
BATCH = 10**5


def _stream(rng, probs, n_batches):
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    for _ in range(n_batches):
        yield np.minimum(np.searchsorted(cdf, rng.random(BATCH)), N_BINS - 1).astype(np.int32)


def _fmt_rate(events, seconds):
    return f"{events / seconds / 1e6:.0f}M events/s"


def run(quick=False):
    from scipy import stats

    rng = np.random.default_rng(6)
    reference = rng.dirichlet(np.full(N_BINS, 5.0))
    other = rng.dirichlet(np.full(N_BINS, 2.0))
    total_events = 10**7 if quick else 10**8
    n_batches = total_events // BATCH
    min_time = 0.05 if quick else 0.3
    rows = []

    # Pre-draw a pool of batches (drawing is not what is timed).
    pool = list(_stream(rng, other, 16))
    pool_ref = list(_stream(rng, reference, 16))

    # -- update throughput ----------------------------------------------------
    h = StreamingHistogram(N_BINS, reference=reference)
    counts = np.zeros(N_BINS, np.int64)
    state = {"i": 0}

    def ours_update():
        state["i"] += 1
        h.update(pool[state["i"] % 16])

    def ref_update():
        state["i"] += 1
        np.add(counts, np.bincount(pool[state["i"] % 16], minlength=N_BINS), out=counts)

    t_ours, t_ref = compare(ours_update, ref_update, min_time=min_time)
    rows.append(Row("streaming", f"{N_BINS} bins, batch {BATCH}", "int32", "update",
                    t_ours, t_ref, ref="np.bincount",
                    note=f"{_fmt_rate(BATCH, t_ours)} (ref {_fmt_rate(BATCH, t_ref)})"))

    # -- query cost -----------------------------------------------------------
    near = None
    for label, batches in (("stream != reference", pool), ("stream ~ reference", pool_ref)):
        h = StreamingHistogram(N_BINS, reference=reference)
        if batches is pool_ref:
            # 10**9 events drawn from the reference (KL ~ 5e-6: the anchored sums).
            h.add_counts(rng.multinomial(10**9, reference))
            near = h
        for b in batches:
            h.update(b)
        c = h.counts.copy()
        h.kl_divergence()  # the first query near the reference anchors its sums
        for name, ours, ref in (
            ("entropy query", h.entropy, lambda: stats.entropy(c)),
            ("kl_divergence query", h.kl_divergence, lambda: stats.entropy(c, reference)),
        ):
            t_ours, t_ref = compare(ours, ref, min_time=min_time)
            diff = abs(ours() - ref())
            rows.append(Row("streaming", f"{N_BINS} bins, {label}", "float64", name,
                            t_ours, t_ref, max_abs_diff=float(diff), goal="< 1 us",
                            note=f"KL={h.kl_divergence():.2g}"))

    # Updates while the anchored KL sums are kept (after a query needed them).
    state["i"] = 0

    def ours_near():
        state["i"] += 1
        near.update(pool_ref[state["i"] % 16])

    t_ours, t_ref = compare(ours_near, ref_update, min_time=min_time)
    rows.append(Row("streaming", f"{N_BINS} bins, batch {BATCH}, KL~1e-5 tracked", "int32",
                    "update", t_ours, t_ref, ref="np.bincount",
                    note=f"{_fmt_rate(BATCH, t_ours)}"))

    # -- the whole stream, one entropy + KL query per batch ----------------------
    def ours_stream():
        s = StreamingHistogram(N_BINS, reference=reference)
        for i in range(n_batches):
            s.update(pool[i % 16])
            s.entropy()
            s.kl_divergence()
        return s

    def ref_stream():
        cnt = np.zeros(N_BINS, np.int64)
        for i in range(n_batches):
            cnt += np.bincount(pool[i % 16], minlength=N_BINS)
            stats.entropy(cnt)
            stats.entropy(cnt, reference)
        return cnt

    # One run each (10**8 events take seconds): interleaved, best of two.
    t_ours = t_ref = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        s = ours_stream()
        t_ours = min(t_ours, time.perf_counter() - t0)
        t0 = time.perf_counter()
        cnt = ref_stream()
        t_ref = min(t_ref, time.perf_counter() - t0)
    diff = max(abs(s.entropy() - stats.entropy(cnt)),
               abs(s.kl_divergence() - stats.entropy(cnt, reference)))
    rows.append(Row("streaming", f"{total_events:.0e} events".replace("e+0", "e"), "int32",
                    "update + 2 queries/batch", t_ours, t_ref, max_abs_diff=float(diff),
                    goal=">= 100M events/s", ref="bincount+scipy",
                    note=f"{_fmt_rate(total_events, t_ours)} "
                         f"(ref {_fmt_rate(total_events, t_ref)})"))

    # -- window and decay -------------------------------------------------------
    for case, kwargs in (("window=10**6", {"window": 10**6}), ("decay=1e-6", {"decay": 1e-6})):
        h = StreamingHistogram(N_BINS, reference=reference, **kwargs)
        state["i"] = 0

        def ours_mode(h=h):
            state["i"] += 1
            h.update(pool[state["i"] % 16])

        t_ours, t_ref = compare(ours_mode, ref_update, min_time=min_time)
        rows.append(Row("streaming", f"{N_BINS} bins, batch {BATCH}, {case}", "int32",
                        "update", t_ours, t_ref, ref="np.bincount",
                        note=f"{_fmt_rate(BATCH, t_ours)}"))

    rows.extend(_feature_rows(stats, quick, min_time))
    return rows


# ---------------------------------------------------------------------------
# Many features at once: F histograms of 20 bins fed (m, F) batches
# ---------------------------------------------------------------------------

N_FEATURES = 1000
FEATURE_BINS = 20
ROWS = 10**4                      # rows a batch: 10**7 events
POOL = 3                          # batches drawn before the timing
VALUE_FEATURES = 100
VALUE_ROWS = 10**5                # rows a batch of raw values: 10**7 values
VALUE_BINS = 10                   # quantile bins (12 with the outside ones)
COMPARISON_WINDOW = 10**5         # observations: ten batches


def _draw_rows(rng, cdf, m):
    """(m, F) int32 bin indices, column f drawn from the cumulative reference
    cdf[:, f] (cdf is (n_bins, F), float32): the bin is the number of cdf
    steps below a uniform."""
    u = rng.random((m, cdf.shape[1]), dtype=np.float32)
    bins = np.zeros((m, cdf.shape[1]), np.int32)
    for k in range(cdf.shape[0] - 1):
        bins += u > cdf[k]
    return bins


def _bincounts(batch, n_bins):
    """The numpy way's counts of a batch: (F, n_bins), one bincount a feature."""
    return np.stack([np.bincount(batch[:, f], minlength=n_bins)
                     for f in range(batch.shape[1])])


def _count_values(edges, x, out):
    """The numpy way of binning raw values: per feature, np.searchsorted of its
    column on its edges and a bincount added into out[f]. side="right" puts
    e[k-1] <= v < e[k] in bin k, as the kernel does (a value exactly on the
    last edge, which the kernel keeps in the last inner bin, has probability
    0 with these normal values)."""
    for f, e in enumerate(edges):
        out[f] += np.bincount(np.searchsorted(e, x[:, f], side="right"),
                              minlength=len(e) + 1)


def _kl_each(stats, p, q):
    return np.array([stats.entropy(p[f], q[f]) for f in range(len(p))])


def _psi_each(stats, p, q):
    return np.array([stats.entropy(p[f], q[f]) + stats.entropy(q[f], p[f])
                     for f in range(len(p))])


def _compare(ours, ref, min_time, rounds):
    """`compare` for a reference of ~0.5-1 s a call (the numpy way over 1000
    features): best seconds per call of ours() (`best_time` in each round) and
    of ref() (one call a round, after one to warm up), timed alternately."""
    ref()
    t_ours = t_ref = float("inf")
    for _ in range(rounds):
        t_ours = min(t_ours, best_time(ours, min_time / rounds, repeat=3))
        t0 = time.perf_counter()
        ref()
        t_ref = min(t_ref, time.perf_counter() - t0)
    return t_ours, t_ref


def _max_diff(*pairs):
    return float(max(np.max(np.abs(np.asarray(a) - np.asarray(b))) for a, b in pairs))


def _feature_rows(stats, quick, min_time):
    """The rows of many features (one thread: the streaming kernels are
    single-threaded), each with its goal."""
    F, nb, m = N_FEATURES, FEATURE_BINS, ROWS
    events = m * F
    # The numpy way costs ~0.5-1 s a batch: one reference call a round.
    rounds = 2 if quick else 4
    rng = np.random.default_rng(11)
    reference = rng.dirichlet(np.full(nb, 5.0), size=F)          # (F, nb)
    cdf = np.cumsum(reference, axis=1)
    cdf = (cdf / cdf[:, -1:]).T.astype(np.float32)               # (nb, F)
    pool = [_draw_rows(rng, cdf, m) for _ in range(POOL)]
    case = f"F={F} x {nb} bins, batches of 10^{round(np.log10(m))} rows"
    rows = []

    # -- update + KL + PSI of every feature ---------------------------------------
    h = StreamingHistogram(nb, reference=reference, n_features=F)
    counts = np.zeros((F, nb), np.int64)
    state = {"ours": 0, "ref": 0}

    def ours_step():
        state["ours"] += 1
        h.update(pool[state["ours"] % POOL])
        h.kl_divergence()
        h.population_stability_index()

    def ref_step():
        state["ref"] += 1
        batch = pool[state["ref"] % POOL]
        for f in range(F):
            counts[f] += np.bincount(batch[:, f], minlength=nb)
        _kl_each(stats, counts, reference)
        _psi_each(stats, counts, reference)

    t_ours, t_ref = _compare(ours_step, ref_step, min_time, rounds)
    c = h.counts
    diff = _max_diff((h.kl_divergence(), _kl_each(stats, c, reference)),
                     (h.population_stability_index(), _psi_each(stats, c, reference)))
    rows.append(Row("streaming", case, "int32", "update + kl + psi, 1 thread",
                    t_ours, t_ref, max_abs_diff=diff, goal=">= 200M events/s; >= 20x",
                    ref="bincount+scipy",
                    note=f"{_fmt_rate(events, t_ours)} (ref {_fmt_rate(events, t_ref)}); "
                         f"KL~{np.median(h.kl_divergence()):.1g}"))

    # -- queries after the stream has run -------------------------------------------
    def ours_query():
        h.kl_divergence()
        h.population_stability_index()

    def ref_query():
        _kl_each(stats, c, reference)
        _psi_each(stats, c, reference)

    t_ours, t_ref = _compare(ours_query, ref_query, min_time, rounds)
    rows.append(Row("streaming", case, "float64", "kl + psi query, no update",
                    t_ours, t_ref, max_abs_diff=diff, goal="<= 0.2 us/feature/query",
                    ref="scipy",
                    note=f"{t_ours / 2 / F * 1e6:.3f} us/feature/query"))

    # The first KL query right after an update (untimed): it may re-anchor.
    firsts, refs = [], []
    for i in range(3 if quick else 8):
        batch = pool[i % POOL]
        h.update(batch)
        t0 = time.perf_counter()
        kl = h.kl_divergence()
        firsts.append(time.perf_counter() - t0)
        now = h.counts
        t0 = time.perf_counter()
        kl_ref = _kl_each(stats, now, reference)
        refs.append(time.perf_counter() - t0)
    t_ours, t_ref = min(firsts), min(refs)
    rows.append(Row("streaming", case, "float64", "first kl query after update",
                    t_ours, t_ref, max_abs_diff=_max_diff((kl, kl_ref)), ref="scipy",
                    note=f"{t_ours / F * 1e6:.3f} us/feature "
                         f"(median {np.median(firsts) / F * 1e6:.3f})"))

    # -- update_values with quantile edges --------------------------------------------
    Fv, mv = VALUE_FEATURES, VALUE_ROWS
    sample = rng.normal(size=(mv, Fv))
    hv = StreamingHistogram.from_reference(sample, n_bins=VALUE_BINS, binning="quantile")
    vpool = [rng.normal(size=(mv, Fv)) for _ in range(POOL)]
    edges = hv.edges
    vcounts = [np.zeros(len(e) + 1, np.int64) for e in edges]
    state = {"ours": 0, "ref": 0}

    def ours_values():
        state["ours"] += 1
        hv.update_values(vpool[state["ours"] % POOL])

    def ref_values():
        state["ref"] += 1
        _count_values(edges, vpool[state["ref"] % POOL], vcounts)

    t_ours, t_ref = _compare(ours_values, ref_values, min_time, rounds)
    check = StreamingHistogram.from_reference(sample, n_bins=VALUE_BINS, binning="quantile")
    check.update_values(vpool[0])
    check_counts = [np.zeros(len(e) + 1, np.int64) for e in edges]
    _count_values(edges, vpool[0], check_counts)
    diff = _max_diff((check.counts, np.stack(check_counts)))
    rows.append(Row("streaming", f"{Fv} features x {len(edges[0]) + 1} bins (quantile), "
                    f"batches of 10^{round(np.log10(mv))} rows", "float64",
                    "update_values, 1 thread", t_ours, t_ref, max_abs_diff=diff,
                    goal=">= 100M values/s", ref="searchsorted+bincount",
                    note=f"{mv * Fv / t_ours / 1e6:.0f}M values/s "
                         f"(ref {mv * Fv / t_ref / 1e6:.0f}M values/s)"))
    del sample, check
    vpool.clear()                            # 240 MB

    # -- two streams: the current window against the previous one -----------------------
    W = COMPARISON_WINDOW // m                                   # batches a window
    cmp = StreamingComparison(nb, n_features=F, window=COMPARISON_WINDOW,
                              reference_window="previous")
    cur = np.zeros((F, nb), np.int64)
    prev = np.zeros((F, nb), np.int64)
    stored = deque()                                             # bincounts, newest last

    def ref_push(batch):
        bc = _bincounts(batch, nb)
        np.add(cur, bc, out=cur)
        stored.append(bc)
        if len(stored) > W:                  # the batch leaving the current window
            np.subtract(cur, stored[-W - 1], out=cur)
            np.add(prev, stored[-W - 1], out=prev)
        if len(stored) > 2 * W:              # the batch leaving the previous window
            np.subtract(prev, stored.popleft(), out=prev)

    for i in range(2 * W + 1):               # both windows full
        cmp.update(pool[i % POOL])
        ref_push(pool[i % POOL])
    state = {"ours": 2 * W, "ref": 2 * W}

    def ours_cmp():
        state["ours"] += 1
        cmp.update(pool[state["ours"] % POOL])
        cmp.kl_divergence()
        cmp.population_stability_index()

    def ref_cmp():
        state["ref"] += 1
        ref_push(pool[state["ref"] % POOL])
        _kl_each(stats, cur, prev)
        _psi_each(stats, cur, prev)

    t_ours, t_ref = _compare(ours_cmp, ref_cmp, min_time, rounds)
    p, q = cmp.counts, cmp.reference_counts
    diff = _max_diff((cmp.kl_divergence(), _kl_each(stats, p, q)),
                     (cmp.population_stability_index(), _psi_each(stats, p, q)))
    rows.append(Row("streaming", f"F={F} x {nb} bins, window=10^5, previous window",
                    "int32", "comparison update + kl + psi, 1 thread", t_ours, t_ref,
                    max_abs_diff=diff, goal=">= 100M events/s", ref="2 bincounts+scipy",
                    note=f"{_fmt_rate(events, t_ours)} (ref {_fmt_rate(events, t_ref)}); "
                         f"KL~{np.median(cmp.kl_divergence()):.1g}"))
    return rows
