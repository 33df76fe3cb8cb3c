"""Sparse suite of `histentropy bench`.

A CSR matrix of counts, 10**5 x 10**6 with 10**7 stored values (quick mode:
2000 x 10**5 with 2 * 10**5), row entropies and row KL divergences against a
dense reference row (10**6,) and against another CSR matrix, each against

(a) the fastest pure scipy/numpy formulation: one vectorised pass over
    ``.data`` (``scipy.special.entr`` / ``rel_entr``, or ``np.log`` where
    that is valid) and ``np.add.reduceat`` over ``indptr``; the row totals
    likewise; KL = B / S_p + log(S_q / S_p);
(b) the naive loop ``scipy.stats.entropy(X[i].toarray().ravel())`` over the
    rows, timed on a subset of rows and scaled (in the note column).

Single-threaded (``workers=1``): the goals are >= 5x faster than (a) for
entropy, >= 3x for KL against a dense reference, and KL against another
CSR within 2x of our time against the dense reference. Peak memory (tracemalloc) of histentropy and of the references
goes to the note column: histentropy needs O(rows) beyond its inputs, the
references several arrays of nnz doubles.
"""
import time

import numpy as np

import histentropy
from histentropy.bench._common import Row, compare, peak_memory

FULL = (10**5, 10**6, 10**7)
QUICK = (2000, 10**5, 2 * 10**5)


def csr_counts(rows, cols, nnz, seed):
    """Counts (geometric, mean ~3) in `nnz // rows` distinct sorted columns per row."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    per_row = nnz // rows
    block = cols // per_row
    c = rng.integers(0, block, size=(rows, per_row)) + np.arange(per_row) * block
    data = rng.geometric(0.3, size=rows * per_row).astype(np.float64)
    indptr = np.arange(0, rows * per_row + 1, per_row, dtype=np.int32)
    return sparse.csr_array((data, c.ravel().astype(np.int32), indptr),
                            shape=(rows, cols))


def partner_csr(P, seed):
    """A CSR matrix of P's shape storing P's support (other counts) and as
    many values again elsewhere: every divergence is finite."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    extra = csr_counts(P.shape[0], P.shape[1], P.nnz, seed + 1)
    same = sparse.csr_array((rng.geometric(0.3, size=P.nnz).astype(np.float64),
                             P.indices, P.indptr), shape=P.shape)
    return sparse.csr_array(same + extra)


# ---------------------------------------------------------------------------
# References (a): one vectorised pass and reduceat
# ---------------------------------------------------------------------------

def row_sums(values, indptr):
    starts = indptr[:-1]
    sums = np.add.reduceat(values, starts) if values.size else np.zeros(starts.size)
    sums[starts == indptr[1:]] = 0.0  # reduceat gives values[start] for empty rows
    return sums


def entropy_entr(X):
    from scipy.special import entr

    total = row_sums(X.data, X.indptr)
    a = row_sums(entr(X.data), X.indptr)  # -sum w log w
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(total) + a / total


def entropy_log(X):
    d = X.data
    wlogw = np.log(d, out=np.zeros_like(d), where=d > 0)
    wlogw *= d
    total = row_sums(d, X.indptr)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(total) - row_sums(wlogw, X.indptr) / total


def kl_rel_entr(X, q_at, q_totals):
    """KL of the rows of X given q at X's stored bins and q's row totals."""
    from scipy.special import rel_entr

    p_totals = row_sums(X.data, X.indptr)
    b = row_sums(rel_entr(X.data, q_at), X.indptr)
    with np.errstate(divide="ignore", invalid="ignore"):
        return b / p_totals + np.log(q_totals / p_totals)


def kl_log(X, q_at, q_totals):
    """As kl_rel_entr with np.log (valid for p > 0 and q > 0 at p's bins)."""
    d = X.data
    t = np.log(d / q_at)
    t *= d
    p_totals = row_sums(d, X.indptr)
    with np.errstate(divide="ignore", invalid="ignore"):
        return row_sums(t, X.indptr) / p_totals + np.log(q_totals / p_totals)


def q_at_stored_bins(X, Q):
    """Q's values at X's stored bins (scipy's compiled sampling, O(nnz log))."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return np.asarray(Q[rows, X.indices]).ravel()


# ---------------------------------------------------------------------------
# References (b): the naive row loop, timed on a subset and scaled
# ---------------------------------------------------------------------------

def _naive_seconds(X, q, rows):
    """Seconds for all rows of the loop over scipy.stats.entropy, from `rows`."""
    from scipy import sparse, stats

    idx = np.linspace(0, X.shape[0] - 1, rows).astype(int)
    t0 = time.perf_counter()
    for i in idx:
        p = X[[i]].toarray().ravel()
        if q is None:
            stats.entropy(p)
        elif sparse.issparse(q):
            stats.entropy(p, q[[i]].toarray().ravel())
        else:
            stats.entropy(p, q)
    return (time.perf_counter() - t0) / rows * X.shape[0]


def _naive_peak(X, q):
    from scipy import sparse, stats

    def one_row():
        p = X[[0]].toarray().ravel()
        if q is None:
            stats.entropy(p)
        elif sparse.issparse(q):
            stats.entropy(p, q[[0]].toarray().ravel())
        else:
            stats.entropy(p, q)
    return peak_memory(one_row)


def _mb(n_bytes):
    return f"{n_bytes / 1e6:.3g} MB"


def _max_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    finite = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[finite] - b[finite]), initial=0.0))


def run(quick=False):
    rows, cols, nnz = QUICK if quick else FULL
    min_time = 0.2 if quick else 1.0
    naive_rows = 20 if quick else 50
    P = csr_counts(rows, cols, nnz, 1)
    Q = partner_csr(P, 2)
    q = np.random.default_rng(3).random(cols) + 0.01
    case = f"{rows}x{cols} nnz={P.nnz:.0e}".replace("e+0", "e")
    q_sum = q.sum()

    # The goal of each function against (a), scipy's one vectorised pass.
    goals = {"entropy": ">= 5x", "kl_divergence vs dense (k,)": ">= 3x",
             "kl_divergence vs CSR": ""}
    cases = [
        ("entropy", lambda: histentropy.entropy(P, workers=1), None,
         [("scipy entr+reduceat", lambda: entropy_entr(P)),
          ("numpy log+reduceat", lambda: entropy_log(P))]),
        ("kl_divergence vs dense (k,)",
         lambda: histentropy.kl_divergence(P, q, workers=1), q,
         [("scipy rel_entr+reduceat",
           lambda: kl_rel_entr(P, q[P.indices], q_sum)),
          ("numpy log+reduceat", lambda: kl_log(P, q[P.indices], q_sum))]),
        ("kl_divergence vs CSR",
         lambda: histentropy.kl_divergence(P, Q, workers=1), Q,
         [("scipy sample+rel_entr+reduceat",
           lambda: kl_rel_entr(P, q_at_stored_bins(P, Q),
                               row_sums(Q.data, Q.indptr))),
          ("numpy log+reduceat",
           lambda: kl_log(P, q_at_stored_bins(P, Q),
                          row_sums(Q.data, Q.indptr)))]),
    ]
    result_rows, ours_s = [], {}
    for function, ours, other, references in cases:
        naive_s = _naive_seconds(P, other, naive_rows)
        naive_mem = _naive_peak(P, other)
        ours_mem = peak_memory(ours)
        got = ours()
        for ref_name, ref in references:
            t_ours, t_ref = compare(ours, ref, min_time=min_time)
            ref_mem = peak_memory(ref)
            note = (f"(b) naive row loop {naive_s:.3g} s = {naive_s / t_ours:.0f}x ours; "
                    f"peak mem ours {_mb(ours_mem)}, (a) {_mb(ref_mem)}, "
                    f"(b) {_mb(naive_mem)} per row")
            result_rows.append(Row(
                "sparse", case, "float64", function, t_ours, t_ref,
                _max_diff(got, ref()),
                goal=goals[function] if ref_name.startswith("scipy") else "",
                ref=ref_name, note=note,
                extra={"naive_s": naive_s, "ours_peak": ours_mem,
                       "ref_peak": ref_mem, "naive_peak": naive_mem}))
        ours_s[function] = t_ours
    # Against another CSR: within twice our time against a dense reference.
    result_rows.append(Row(
        "sparse", case, "float64", "kl_divergence vs CSR",
        ours_s["kl_divergence vs CSR"], ours_s["kl_divergence vs dense (k,)"],
        goal=">= 0.5x (<= 2x)", ref="ours vs dense (k,)"))
    return result_rows
