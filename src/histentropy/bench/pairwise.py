"""Pairwise suite of `histentropy bench`: ``histentropy.pairwise`` (a metric of
every row of P against every row of Q) against the numpy/scipy formulation.

Dense cases, float64, rows uniform on [0.01, 1.01) (strictly positive, so
every entry is finite), each timed against its reference in the same process,
histentropy with ``workers=1`` and with the default workers (all cores) as
two rows; the reference's normalisation is part of its time, as
histentropy's is of its own:

1. KL divergence, 500 x 500 rows of 64 bins, against the broadcasting formula
   ``rel_entr(Pn[:, None], Qn[None]).sum(-1)`` on row-normalised copies.
   Goal: >= 100x.
2. Jensen-Shannon, 2000 x 2000 x 256 (--quick: 500 x 500 x 256):
   ``pairwise(P, Q, metric="js_distance")`` against
   ``scipy.spatial.distance.cdist(P, Q, "jensenshannon")`` (the JS *distance*,
   natural log). cdist takes tens of seconds at the full size, so it is timed
   by a single call. Goal: >= 10x.
3. Cross entropy, 2000 x 2000 x 256 (--quick: 500 x 500 x 256), against the
   GEMM formula ``-(Pn @ np.log(Qn).T)`` (numpy's BLAS). No goal: for
   information.

Sparse case: a CSR array of 20,000 x 100,000 with 100 stored values per row
(random distinct columns, values uniform on [0.01, 1.01); --quick: 2000 x
10,000), against itself: ``pairwise(X, metric=...)`` for js_divergence and
kl_divergence, default workers. No scipy reference exists (cdist needs dense
rows: X densified would be rows x 100,000 doubles), so those rows have no
reference time; they report the time, the peak memory and the result's
m * n * 8 bytes. Peak memory is measured two ways in one call: tracemalloc
(`peak_memory`: NumPy's allocations, the result included) and the growth of
the process's peak resident set (Linux, /proc/self/status VmHWM reset through
/proc/self/clear_refs), which also sees the C kernels' own buffers. The goal
(the issue's) is no densified row block larger than the block size: without
a pseudocount sparse rows are compared through their overlaps and nothing is
densified, so the memory beyond the result is O(stored values) plus a
workspace of a few rows per thread. Accuracy:
16 sampled rows against each other, densified, against
``scipy.spatial.distance.jensenshannon`` squared and ``rel_entr`` sums.

The note gives, on every row, the largest relative difference to the
reference, max |ours - ref| / max(1, |ref|) (equal infinities count as 0),
and the time per pair and bin.
"""
import ctypes
import gc
import os
import time

import numpy as np

import histentropy
from histentropy.bench._common import Row, best_time, peak_memory

KL = (500, 500, 64)
JS = (2000, 2000, 256)
QUICK_JS = (500, 500, 256)
CROSS_ENTROPY = (2000, 2000, 256)
QUICK_CROSS_ENTROPY = (500, 500, 256)
# rows, bins, stored values per row: the size.
SPARSE = (20_000, 10**5, 100)
QUICK_SPARSE = (2000, 10**4, 100)
SPARSE_METRICS = ("js_divergence", "kl_divergence")
SAMPLE_ROWS = 16

try:
    CORES = max(1, len(os.sched_getaffinity(0)))
except AttributeError:  # not on Linux
    CORES = max(1, os.cpu_count() or 1)


def _case(shape):
    return "x".join(str(s) for s in shape)


def data(rows, k, seed):
    """Uniform on [0.01, 1.01): strictly positive, so every entry is finite."""
    return np.random.default_rng(seed).random((rows, k)) + 0.01


def sparse_rows(rows, cols, per_row, seed):
    """A CSR array of `per_row` stored values per row in random distinct
    columns (sorted), values uniform on [0.01, 1.01)."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    indices = np.empty((rows, per_row), dtype=np.int32)
    for i in range(rows):
        indices[i] = np.sort(rng.choice(cols, per_row, replace=False))
    values = rng.random(rows * per_row) + 0.01
    indptr = np.arange(0, rows * per_row + 1, per_row, dtype=np.int64)
    return sparse.csr_array((values, indices.ravel(), indptr), shape=(rows, cols))


# ---------------------------------------------------------------------------
# References: broadcasting, cdist, GEMM (on row-normalised copies)
# ---------------------------------------------------------------------------

def _normalised(P, Q):
    return P / P.sum(axis=-1, keepdims=True), Q / Q.sum(axis=-1, keepdims=True)


def ref_kl_divergence(P, Q):
    from scipy.special import rel_entr

    Pn, Qn = _normalised(P, Q)
    return rel_entr(Pn[:, None], Qn[None]).sum(-1)


def ref_js_distance(P, Q):
    from scipy.spatial.distance import cdist

    return cdist(P, Q, "jensenshannon")


def ref_cross_entropy(P, Q):
    Pn, Qn = _normalised(P, Q)
    return -(Pn @ np.log(Qn).T)


REFERENCES = {
    "kl_divergence": (ref_kl_divergence, "scipy rel_entr broadcast"),
    "js_distance": (ref_js_distance, "scipy cdist"),
    "cross_entropy": (ref_cross_entropy, "numpy GEMM"),
}

# metric, full shape, quick shape, goal, reference timed by a single call
DENSE_CASES = (
    ("kl_divergence", KL, KL, ">= 100x", False),
    ("js_distance", JS, QUICK_JS, ">= 10x", True),
    ("cross_entropy", CROSS_ENTROPY, QUICK_CROSS_ENTROPY, "", False),
)


def ours(metric, workers=1):
    """histentropy.pairwise for `metric` as f(P, Q)."""
    return lambda P, Q: histentropy.pairwise(P, Q, metric=metric, workers=workers)


def _label(metric, workers):
    if workers == 1:
        return f"{metric}, 1 thread"
    return f"{metric}, default workers ({CORES} cores)"


def max_rel_diff(a, b):
    """max |a - b| / max(1, |b|); equal entries (infinities too) count as 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        d = np.where(a == b, 0.0, np.abs(a - b) / np.maximum(1.0, np.abs(b)))
    return float(np.max(d, initial=0.0))


def _max_diff(a, b):
    """max |a - b| over the entries finite on both sides."""
    a, b = np.asarray(a), np.asarray(b)
    finite = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[finite] - b[finite]), initial=0.0))


# ---------------------------------------------------------------------------
# Timers and memory probes beyond _common's
# ---------------------------------------------------------------------------

def _interleaved(fns, min_time, rounds=3, repeat=5):
    """Best seconds per call of each fn() (`compare` for any number of them)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], best_time(fn, min_time / rounds, repeat))
    return best


def _call(fn):
    """Seconds of one call of fn(), and its result (for calls of seconds)."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _trim_heap():
    """Give the C heap's free memory back to the system (glibc), so that
    blocks freed by an earlier call do not hide this call's growth."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc
        pass


def peak_rss_growth(fn):
    """Bytes by which the process's peak resident set exceeds its resident set
    before fn() (the C kernels' buffers included), or None where the peak
    cannot be reset (not Linux)."""
    gc.collect()
    _trim_heap()
    try:
        before = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident set
    except OSError:
        fn()
        return None
    fn()
    return (_status_kib("VmHWM") - before) * 1024


def _mb(n_bytes):
    return f"{n_bytes / 1e6:.3g} MB"


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

def dense_rows(metric, shape, goal, once, quick, min_time):
    """Two rows (workers=1, default workers) of a dense case."""
    m, n, k = shape
    P, Q = data(m, k, 1), data(n, k, 2)
    reference, ref_name = REFERENCES[metric]
    fns = [lambda w=w: ours(metric, w)(P, Q) for w in (1, None)]
    if once:
        t_ref, want = _call(lambda: reference(P, Q))
        times = _interleaved(fns, min_time, rounds=1, repeat=3)
    else:
        rounds, repeat = (1, 3) if quick else (3, 5)
        times = _interleaved(fns + [lambda: reference(P, Q)], min_time, rounds, repeat)
        t_ref = times.pop()
        want = reference(P, Q)
    per = m * n * k
    rows = []
    for workers, fn, t_ours in zip((1, None), fns, times):
        got = fn()
        rel = max_rel_diff(got, want)
        note = (f"rel diff {rel:.1e}; {t_ours / per * 1e9:.3f} ns per pair x bin "
                f"(ref {t_ref / per * 1e9:.2f})")
        if once:
            note += "; ref timed by one call"
        rows.append(Row("pairwise", _case(shape), "float64", _label(metric, workers),
                        t_ours, t_ref, _max_diff(got, want), goal=goal, ref=ref_name,
                        note=note, extra={"max_rel_diff": rel}))
    return rows


def _sampled_reference(X, metric, idx):
    """metric over the sampled rows against each other, densified, by scipy."""
    from scipy.spatial.distance import jensenshannon
    from scipy.special import rel_entr

    dense = X[idx].toarray()
    dense /= dense.sum(axis=1, keepdims=True)
    want = np.empty((len(idx), len(idx)))
    for a, p in enumerate(dense):
        for b, q in enumerate(dense):
            if metric == "js_divergence":
                want[a, b] = jensenshannon(p, q) ** 2
            else:
                want[a, b] = rel_entr(p, q).sum()
    return want


def sparse_case_rows(quick):
    """One row per metric of the sparse case (no reference time)."""
    m, k, per_row = QUICK_SPARSE if quick else SPARSE
    X = sparse_rows(m, k, per_row, 1)
    idx = np.sort(np.random.default_rng(4).choice(m, min(SAMPLE_ROWS, m), replace=False))
    result_bytes = m * m * 8
    case = f"{m}x{k}, {per_row}/row"
    rows = []
    for metric in SPARSE_METRICS:
        def fn():
            return histentropy.pairwise(X, metric=metric)
        traced = []
        rss = peak_rss_growth(lambda: traced.append(peak_memory(fn)))  # also warms up
        calls = 1
        t_ours, got = float("inf"), None
        for _ in range(calls):
            got = None  # one result alive at a time
            t, got = _call(fn)
            t_ours = min(t_ours, t)
        want = _sampled_reference(X, metric, idx)
        sample = got[np.ix_(idx, idx)]
        rel = max_rel_diff(sample, want)
        infinite = np.count_nonzero(np.isinf(got[idx])) / got[idx].size
        del got
        note = (f"no scipy reference; rel diff {rel:.1e} on {len(idx)}x{len(idx)} "
                f"sampled pairs vs scipy on densified rows; result {_mb(result_bytes)}; "
                f"peak mem traced {_mb(traced[0])} "
                f"(beyond result {_mb(traced[0] - result_bytes)})")
        if rss is not None:
            note += f", RSS +{_mb(rss)} (beyond result {_mb(rss - result_bytes)})"
        note += "; nothing densified (overlaps)"
        if infinite:
            note += f"; +inf at {infinite:.1%} of sampled rows' entries (supports differ)"
        note += f"; {t_ours / (m * m) * 1e9:.3g} ns per entry"
        rows.append(Row("pairwise", case, "float64 CSR", f"{metric}, default workers",
                        t_ours, float("nan"), _max_diff(sample, want),
                        goal="result + O(block)", ref="none", note=note,
                        extra={"max_rel_diff": rel, "ours_peak": traced[0],
                               "rss_growth": rss, "result_bytes": result_bytes}))
    return rows


def run(quick=False):
    min_time = 0.05 if quick else 0.3
    rows = []
    for metric, full, small, goal, once in DENSE_CASES:
        rows.extend(dense_rows(metric, small if quick else full, goal, once, quick,
                               min_time))
    rows.extend(sparse_case_rows(quick))
    rows[0].note = f"{rows[0].note}; CPU path: {histentropy.cpu_path()}"
    return rows
