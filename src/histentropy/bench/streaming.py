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
"""
import time

import numpy as np

from histentropy.bench._common import Row, compare
from histentropy._streaming import StreamingHistogram

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
    return rows
