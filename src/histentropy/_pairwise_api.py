"""Pairwise matrices: a metric of every row of P against every row of Q
(layer 3).

`pairwise` checks the arguments and sends dense rows to `_pairwise.pairwise`
(include/histentropy/pairwise.h: a fast vectorised sum per pair, with an
error bound, and the 1-D kernel for any pair whose bound is not small) and
sparse rows to `_sparse_api.pairwise_sparse`.
"""

import numpy as np

from histentropy import _dask_api, _dense, _pairwise, _sparse_api
from histentropy._validation import (
    as_weights,
    check_pseudocount,
    common_dtype,
    is_dask,
    is_sparse,
    log_of_base,
    threads_for,
)

# name -> (C metric id, square root of it, symmetric, log-based)
METRICS = {
    "cross_entropy": (_pairwise.CROSS_ENTROPY, False, False, True),
    "kl_divergence": (_dense.MEASURES["kl_divergence"], False, False, True),
    "js_divergence": (_dense.MEASURES["js_divergence"], False, True, True),
    "js_distance": (_dense.MEASURES["js_divergence"], True, True, True),
    "hellinger_distance": (_dense.MEASURES["hellinger_distance"], False, True, False),
    "total_variation": (_dense.MEASURES["total_variation"], False, True, False),
    "jeffreys_divergence": (_dense.MEASURES["jeffreys_divergence"], False, True, True),
    "chi_square_divergence": (_dense.MEASURES["chi_square_divergence"], False, False, False),
}


def _check_metric(metric):
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(
            f"metric must be one of {', '.join(repr(m) for m in METRICS)}; got {metric!r}"
        )
    return METRICS[metric]


def _rows(a, name):
    """`a` as a 2-D array of weights (m histograms of k bins)."""
    a = as_weights(a, name)
    if a.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D, one histogram per row (shape (rows, bins)); "
            f"got shape {a.shape}"
        )
    return a


def _check_out(out, shape):
    if out is None:
        return np.empty(shape, dtype=np.float64)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array (or np.memmap); got {type(out).__name__}")
    if out.dtype != np.float64:
        raise TypeError(f"out must have dtype float64; got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out must have shape {shape}; got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    return out


def _to_units(out, log_base, root):
    """Nats to units of the base, in place (a root metric: by sqrt(log b))."""
    if log_base != 1.0:
        out /= np.sqrt(log_base) if root else log_base


def raise_for_row_flags(flags, name):
    """The 1-D functions' errors for bad weights, naming P or Q."""
    if flags & _dense.INFINITE_P:
        raise ValueError(f"{name} must hold finite weights; got an infinite value")
    if flags & _dense.NEGATIVE_P:
        raise ValueError(f"{name} must hold non-negative weights; got a negative value")


def pairwise(P, Q=None, *, metric="kl_divergence", base=None, pseudocount=0.0,
             workers=None, out=None):
    """The metric of every histogram of P against every histogram of Q.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix or array, shape (m, k)
        m histograms of k bins, one per row: non-negative weights (counts or
        probabilities) of any real or integer dtype; each row is normalised
        implicitly.
    Q : array_like or scipy.sparse matrix or array, shape (n, k), optional
        n histograms of the same k bins. None: P against itself, each pair
        of a symmetric metric computed once.
    metric : str, default "kl_divergence"
        ``"cross_entropy"``, ``"kl_divergence"``, ``"js_divergence"``,
        ``"js_distance"``, ``"hellinger_distance"``, ``"total_variation"``,
        ``"jeffreys_divergence"`` or ``"chi_square_divergence"``: entry
        [i, j] is that function of (P[i], Q[j]).
    base : float, optional
        Logarithm base of the log-based metrics (cross entropy, KL, JS,
        Jeffreys); None: nats. An error for the others.
    pseudocount : float, default 0.0
        Added to every bin of every row (as counts, before normalising), as
        in the 1-D functions.
    workers : int, optional
        Threads: None (all cores for large input), 1, k, or -1 (all cores).
        The result does not depend on it.
    out : numpy.ndarray, optional
        A C-contiguous float64 (m, n) array (e.g. a ``np.memmap``) to write
        the result into; it is returned.

    Returns
    -------
    numpy.ndarray
        float64, shape (m, n). A row with no mass (or holding NaN) gives a
        row (column) of NaN; p > 0 where q = 0 gives +inf for cross entropy,
        KL, chi-square (and either way round for Jeffreys), as the 1-D
        functions do. ``pairwise(P)`` has a zero diagonal except for cross
        entropy.

    Raises
    ------
    ValueError
        An unknown metric (the message lists the valid names); P or Q not
        2-D, or with different numbers of bins; a negative or infinite
        weight; a bad ``base``, ``pseudocount``, ``workers`` or ``out``.
    TypeError
        A non-numeric dtype; ``out`` not a float64 array.

    Notes
    -----
    Each row is normalised once per block; a pair is then one vectorised
    sum over its bins: a dot product for cross entropy, KL
    (sum x log x - sum x log y) and Hellinger (1 - sum sqrt(x y)),
    sum m log m (m = x + y) for Jensen-Shannon, the per-bin terms for total
    variation, Jeffreys and chi-square. The error of each such value is
    bounded from its sums; where the bound is not below 5e-13 * max(1, value)
    and 1e-10 * value (nearly identical rows, whose divergence cancels in
    those forms), the pair is recomputed by the 1-D kernel. Every entry is
    therefore the 1-D function's value to 1e-12 * max(1, value), and tiny
    divergences keep 1e-10 relative accuracy. Support violations are counted,
    never read from log(0). Memory is the result plus a few row blocks per
    thread: there is no (m, n, k) temporary.

    Sparse rows (CSR/CSC, matrices or arrays, against sparse or dense rows)
    are compared through their stored bins: a pair costs O(its overlap) for
    two sparse rows, O(stored bins) against a dense row. With a pseudocount
    every bin holds mass, and rows are read in dense blocks of bounded size.

    Examples
    --------
    >>> import numpy as np
    >>> import histentropy
    >>> P = np.array([[1, 1, 2], [3, 0, 1]])
    >>> histentropy.pairwise(P, metric="total_variation")
    array([[0. , 0.5],
           [0.5, 0. ]])
    >>> references = np.array([[1, 1, 1], [4, 1, 1]])
    >>> histentropy.pairwise(P, references, metric="js_distance").argmin(axis=1)
    array([0, 1])
    """
    code, root, symmetric, log_based = _check_metric(metric)
    log_base = log_of_base(base)
    if base is not None and not log_based:
        raise ValueError(f"base applies to the log-based metrics only; {metric} has no base")
    c = check_pseudocount(pseudocount)
    threads_for(workers, 0)  # checks workers
    if is_dask(P) or is_dask(Q):
        return _dask_api.pairwise(P, Q, metric, base, c, out)
    if is_sparse(P) or is_sparse(Q):
        return _pairwise_sparse(P, Q, code, root, symmetric, c, log_base, workers, out)
    P = _rows(P, "P")
    self = Q is None
    if not self:
        Q = _rows(Q, "Q")
        if Q.shape[1] != P.shape[1]:
            raise ValueError(
                f"P and Q must have the same number of bins (columns); got {P.shape[1]} "
                f"and {Q.shape[1]}"
            )
        P, Q = common_dtype(P, Q)
    m, k = P.shape
    n = m if self else Q.shape[0]
    out = _check_out(out, (m, n))
    nthreads = threads_for(workers, m * n * max(k, 1))
    p_flags, q_flags = _pairwise.pairwise(P, None if self else Q, code, root, symmetric, c,
                                          nthreads, out)
    raise_for_row_flags(p_flags, "P")
    raise_for_row_flags(q_flags, "Q")
    _to_units(out, log_base, root)
    return out


# Doubles of one densified block of sparse rows.
_DENSE_BLOCK_DOUBLES = 1 << 21


class _SparseRows:
    """Canonical compressed rows of a sparse (or dense) operand."""

    def __init__(self, X, name):
        self.dense = not is_sparse(X)
        if self.dense:
            self.array = _rows(X, name).astype(np.float64, copy=False)
            self.shape = self.array.shape
        else:
            if X.ndim != 2:
                raise ValueError(
                    f"{name} must be 2-D, one histogram per row (shape (rows, bins)); "
                    f"got shape {X.shape}"
                )
            data, indices, indptr, rows, cols = _sparse_api._rows(X, name, transpose=False)
            self.data = data.astype(np.float64, copy=False)
            self.indices, self.indptr = indices, indptr
            self.shape = (rows, cols)
        self.name = name

    def check(self):
        values = self.array if self.dense else self.data
        with np.errstate(invalid="ignore"):
            if np.isinf(values).any():
                raise_for_row_flags(_dense.INFINITE_P, self.name)
            if (values < 0).any():
                raise_for_row_flags(_dense.NEGATIVE_P, self.name)

    def block(self, start, stop):
        """Rows [start, stop) as a dense float64 array."""
        if self.dense:
            return self.array[start:stop]
        block = np.zeros((stop - start, self.shape[1]))
        lo, hi = self.indptr[start], self.indptr[stop]
        rows = np.repeat(np.arange(stop - start), np.diff(self.indptr[start:stop + 1]))
        block[rows, self.indices[lo:hi]] = self.data[lo:hi]
        return block


def _compressed(operand):
    """Compressed rows of int64 indices and float64 values with no stored
    zero (a dense operand converted)."""
    import scipy.sparse

    if operand.dense:
        X = scipy.sparse.csr_matrix(operand.array)
    else:
        X = scipy.sparse.csr_matrix((operand.data, operand.indices, operand.indptr),
                                    shape=operand.shape, copy=True)
        X.eliminate_zeros()
    return (np.ascontiguousarray(X.indptr, dtype=np.int64),
            np.ascontiguousarray(X.indices, dtype=np.int64),
            np.ascontiguousarray(X.data, dtype=np.float64))


def _by_columns(rows, k):
    """Q's prepared rows by column: (col_ptr, col_rows, col_x, col_lx)."""
    indptr, indices, _, x, lx = rows[:5]
    order = np.argsort(indices, kind="stable")
    row_of = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    col_ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=k), out=col_ptr[1:])
    return (col_ptr, np.ascontiguousarray(row_of[order]), np.ascontiguousarray(x[order]),
            np.ascontiguousarray(lx[order]))


def _prepared(operand, nthreads):
    indptr, indices, data = _compressed(operand)
    x, lx, s, largest, state, _ = _pairwise.prepare_csr(indptr, data, nthreads)
    return (indptr, indices, data, x, lx, s, largest, state)


def _pairwise_sparse(P, Q, code, root, symmetric, c, log_base, workers, out):
    """Sparse rows on either side: without a pseudocount, through the overlaps
    of the rows (`_pairwise.sparse_pairwise`; a dense operand is converted to
    compressed rows); with one, every bin holds mass, and the rows are
    densified a bounded block at a time for the dense kernel."""
    self = Q is None
    A = _SparseRows(P, "P")
    B = A if self else _SparseRows(Q, "Q")
    m, k = A.shape
    n = B.shape[0]
    if B.shape[1] != k:
        raise ValueError(
            f"P and Q must have the same number of bins (columns); got {k} and {B.shape[1]}"
        )
    out = _check_out(out, (m, n))
    nthreads = threads_for(workers, m * n * max(k, 1))
    A.check()
    if not self:
        B.check()
    if c == 0.0:
        a = _prepared(A, nthreads)
        b = a if self else _prepared(B, nthreads)
        _pairwise.sparse_pairwise(a, None if self else b, _by_columns(b, k), k, code, root,
                                  symmetric, nthreads, out)
    else:
        _dense_blocks(A, B, self, code, root, symmetric, c, nthreads, out)
    _to_units(out, log_base, root)
    return out


def _dense_blocks(A, B, self, code, root, symmetric, c, nthreads, out):
    """out from dense blocks of A's and B's rows, each at most
    _DENSE_BLOCK_DOUBLES."""
    m, k = A.shape
    n = B.shape[0]
    rows = max(1, _DENSE_BLOCK_DOUBLES // max(k, 1))
    for i0 in range(0, m, rows):
        i1 = min(m, i0 + rows)
        a = A.block(i0, i1)
        for j0 in range(i0 if self and symmetric else 0, n, rows):
            j1 = min(n, j0 + rows)
            target = out[i0:i1, j0:j1]
            if self and i0 == j0:
                _pairwise.pairwise(a, None, code, root, symmetric, c, nthreads, target)
                continue
            _pairwise.pairwise(a, B.block(j0, j1), code, root, False, c, nthreads, target)
            if self and symmetric:
                out[j0:j1, i0:i1] = target.T
