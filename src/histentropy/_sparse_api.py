"""Sparse histograms (scipy.sparse matrices and arrays, any format).

`_api` checks the options and hands sparse input here; it is never
densified. A matrix is brought to compressed rows whose rows are the
histograms (CSR for ``axis=1``; for ``axis=0`` the CSR matrix of the
transpose, which is a CSC matrix's own arrays), checked in one pass over its
indices, and, only if some row is unsorted or holds duplicates, replaced by a
canonical copy (duplicates summed in float64). The caller's matrix is never
modified. The drivers in `_sparse` then touch each stored value once (or
twice, in the accurate second read), plus each dense reference row once.
"""
import numpy as np

from histentropy._validation import (
    as_weights,
    axis_index,
    common_dtype,
    is_sparse,
    length_along,
    raise_for_flags,
    threads_for,
)


def _check_sparse_ndim(X, name):
    if X.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be a 1-D or 2-D sparse array; got {X.ndim} dimensions"
        )


def _as_2d(X):
    """A 1-D sparse array as one row."""
    return X.reshape((1, X.shape[0])) if X.ndim == 1 else X


def _rows(X, name, transpose):
    """Canonical, checked compressed rows of X (of X.T if `transpose`).

    Returns (data, indices, indptr, n_rows, n_cols). The arrays are the
    caller's own when they are already canonical, else new ones.
    """
    from histentropy import _sparse

    if transpose:
        Y = X.T if X.format == "csc" else X.tocsc().T
    else:
        Y = X if X.format == "csr" else X.tocsr()
    if Y.format != "csr":
        Y = Y.tocsr()
    n_rows, n_cols = Y.shape
    data = np.ravel(as_weights(Y.data, name))
    indices, indptr = np.asarray(Y.indices), np.asarray(Y.indptr)
    if (indices.dtype != indptr.dtype
            or indices.dtype not in (np.dtype(np.int32), np.dtype(np.int64))):
        indices = indices.astype(np.int64)
        indptr = indptr.astype(np.int64)
    indices = np.ascontiguousarray(indices)
    indptr = np.ascontiguousarray(indptr)
    data = np.ascontiguousarray(data)
    if indptr.shape != (n_rows + 1,):
        raise ValueError(f"{name} is not a valid sparse matrix: indptr has the wrong length")
    status = _sparse.check_rows(indices, indptr, n_cols, data.shape[0])
    if status == 2:
        raise ValueError(f"{name} is not a valid sparse matrix: an index is out of range")
    if status == 3:
        raise ValueError(
            f"{name} is not a valid sparse matrix: indptr is not non-decreasing "
            "within the stored values"
        )
    if status == 1:
        data, indices, indptr = _sparse.canonical_rows(data, indices, indptr)
    return data, indices, indptr, n_rows, n_cols


def _run(driver, args, n_rows, work, workers, whole):
    """Call driver(*args, nthreads, whole): the driver splits the rows across
    OpenMP threads (all rows are one histogram when `whole`); returns the
    flags."""
    from histentropy import _sparse

    nthreads = 1 if whole or n_rows < 2 else threads_for(workers, work)
    flags = driver(*args, nthreads, whole)
    if flags & _sparse.NO_MEMORY:
        raise MemoryError("not enough memory for the scratch rows of a sparse kernel")
    return flags


class _Shape:
    """The shape of the results (as for dense input), and unit conversion."""

    def __init__(self, ndim, axis, shape, keepdims):
        self.ndim, self.axis, self.shape, self.keepdims = ndim, axis, shape, keepdims

    def finish(self, out, log_base):
        if self.axis is None or self.ndim == 1:
            shape = (1,) * self.ndim if self.keepdims else ()
        elif self.keepdims:
            shape = (self.shape[0], 1) if self.axis == 1 else (1, self.shape[1])
        else:
            shape = (self.shape[0],) if self.axis == 1 else (self.shape[1],)
        out = out.reshape(shape)
        if log_base != 1.0:
            out /= log_base
        return out[()] if out.ndim == 0 else out


def _axis_2d(axis, ndim):
    """The histogram axis in the 2-D view (1-D input is one row), or None."""
    if axis is None:
        return None
    axis = axis_index(axis, ndim)
    return 1 if ndim == 1 else axis


def _one(p, axis, keepdims, log_base, nan_policy, workers, driver, args, dtype=None):
    """Runs driver(data, indptr, *args(n_cols), out, nthreads, whole) over
    the canonical rows of sparse p alone (data converted to `dtype` if
    given); the result shaped as for dense input."""
    _check_sparse_ndim(p, "p")
    ndim, shape = p.ndim, _as_2d(p).shape
    axis = _axis_2d(axis, ndim)
    P = _as_2d(p)
    whole = axis is None
    transpose = axis == 0 or (whole and P.format == "csc")
    data, indices, indptr, n_rows, n_cols = _rows(P, "p", transpose)
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    out = np.empty(1 if whole else n_rows)
    flags = _run(driver, (data, indptr) + args(n_cols) + (out,), n_rows,
                 data.shape[0], workers, whole)
    raise_for_flags(flags, nan_policy, pair=False)
    return _Shape(ndim, axis, shape, keepdims).finish(out, log_base)


def counts(p, axis):
    """Sparse p as compressed rows of counts for the estimators: (stored
    values, int64 row pointers, bins per row, (result shape, axis) for
    `finish`); axis None: all stored values as one row."""
    _check_sparse_ndim(p, "p")
    ndim, shape = p.ndim, _as_2d(p).shape
    axis2 = _axis_2d(axis, ndim)
    data, _, indptr, n_rows, n_cols = _rows(_as_2d(p), "p", axis2 == 0)
    if axis2 is None:
        return (data, np.array([0, data.shape[0]], dtype=np.int64), float(n_rows) * n_cols,
                (shape if ndim == 2 else (shape[1],), None))
    return (data, indptr.astype(np.int64, copy=False), float(n_cols),
            (shape if ndim == 2 else (shape[1],), axis2 if ndim == 2 else -1))


def entropy(p, axis, keepdims, omit, log_base, nan_policy, workers):
    """Entropy of sparse p, options checked (see histentropy.entropy)."""
    from histentropy import _sparse

    return _one(p, axis, keepdims, log_base, nan_policy, workers, _sparse.entropy_rows,
                lambda n_cols: (omit,))


def broadcast_pair(p, q):
    """p and q, one or both sparse, checked and broadcast against each other.

    Returns (p, q, shape): a dense operand as an ndarray the kernels read; a
    sparse operand as it is, or dense when it is broadcast (one row or one
    column against a matrix is O(rows + columns)).
    """
    operands = []
    for x, name in ((p, "p"), (q, "q")):
        if is_sparse(x):
            _check_sparse_ndim(x, name)
            operands.append(x)
        else:
            operands.append(as_weights(x, name))
    shapes = [x.shape for x in operands]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"p and q must have broadcastable shapes; got {shapes[0]} and {shapes[1]}"
        ) from None
    if len(shape) > 2:
        raise ValueError(
            "p and q must broadcast to a 1-D or 2-D shape when either is sparse; "
            f"got {shapes[0]} and {shapes[1]}"
        )
    for i, x in enumerate(operands):
        if is_sparse(x) and x.shape != shape:
            operands[i] = as_weights(x.toarray(), "pq"[i])
    return operands[0], operands[1], shape


class _Pair:
    """p and q from `broadcast_pair`, one or both sparse, as the drivers'
    operands: `kinds` "ss", "sd" or "ds" (sparse p / dense q, ...), each
    operand a tuple of arrays (data, indices, indptr of canonical rows, or
    one 2-D dense array of rows), the rows, columns, work (elements read),
    and the shape of the results."""

    def __init__(self, p, q, shape, axis, keepdims):
        operands = [p, q]
        shapes = [x.shape for x in operands]
        sparse_p, sparse_q = is_sparse(p), is_sparse(q)
        ndim = len(shape)
        shape2 = (1, shape[0]) if ndim == 1 else shape
        axis2 = _axis_2d(axis, ndim)
        self.whole = axis2 is None
        if not self.whole:
            # As for dense input: bins are not broadcast.
            lengths = [length_along(x.shape, axis2 if ndim == 2 else 0, ndim)
                       for x in operands]
            if lengths[0] != lengths[1]:
                raise ValueError(
                    f"p and q must have the same length along axis {axis} (bins are "
                    f"not broadcast); got {lengths[0]} and {lengths[1]} for shapes "
                    f"{shapes[0]} and {shapes[1]}"
                )
        if self.whole:
            transpose = all(x.format == "csc" for x in operands if is_sparse(x))
        else:
            transpose = axis2 == 0
        if sparse_p and sparse_q:
            p_data, p_indices, p_indptr, n_rows, n_cols = _rows(_as_2d(p), "p", transpose)
            q_data, q_indices, q_indptr, _, _ = _rows(_as_2d(q), "q", transpose)
            p_data, q_data = common_dtype(p_data, q_data)
            if p_indices.dtype != q_indices.dtype:
                p_indices, p_indptr, q_indices, q_indptr = (
                    a.astype(np.int64) for a in (p_indices, p_indptr, q_indices, q_indptr))
            self.kinds = "ss"
            self.p = (p_data, p_indices, p_indptr)
            self.q = (q_data, q_indices, q_indptr)
            self.work = p_data.shape[0] + q_data.shape[0]
        else:
            name = "p" if sparse_p else "q"
            s_data, s_indices, s_indptr, n_rows, n_cols = _rows(
                _as_2d(p if sparse_p else q), name, transpose)
            dense = q if sparse_p else p
            # One dtype for both; converting before broadcasting keeps a
            # reference row of shape (k,) a copy of size k, never rows * k.
            if sparse_p:
                s_data, dense = common_dtype(s_data, dense)
            else:
                dense, s_data = common_dtype(dense, s_data)
            dense = np.broadcast_to(dense, shape).reshape(shape2)
            if transpose:
                dense = dense.T
            sparse_arrays = (s_data, s_indices, s_indptr)
            if sparse_p:
                self.kinds, self.p, self.q = "sd", sparse_arrays, (dense,)
                self.work = s_data.shape[0] + (n_cols if dense.strides[0] == 0
                                               else dense.size)
            else:
                self.kinds, self.p, self.q = "ds", (dense,), sparse_arrays
                self.work = s_data.shape[0] + dense.size
        self.n_rows, self.n_cols = n_rows, n_cols
        self.n_out = 1 if self.whole else n_rows
        self.shape = _Shape(ndim, axis2, shape2, keepdims)


def divergence(p, q, shape, axis, keepdims, omit, log_base, nan_policy,
               need_entropy, workers):
    """(entropy or None, KL) of p and q from `broadcast_pair`, one or both
    still sparse, to `shape`; options checked."""
    from histentropy import _sparse

    pair = _Pair(p, q, shape, axis, keepdims)
    driver = {"ss": _sparse.divergence_sparse_sparse,
              "sd": _sparse.divergence_sparse_dense,
              "ds": _sparse.divergence_dense_sparse}[pair.kinds]
    kl = np.empty(pair.n_out)
    ent = np.empty(pair.n_out if need_entropy else 1)
    flags = _run(driver, pair.p + pair.q + (omit, need_entropy, ent, kl), pair.n_rows,
                 pair.work, workers, pair.whole)
    raise_for_flags(flags, nan_policy, pair=True)
    kl = pair.shape.finish(kl, log_base)
    if not need_entropy:
        return None, kl
    return pair.shape.finish(ent, log_base), kl


def family_one(p, measure, alpha, pseudocount, axis, keepdims, omit, log_base,
               nan_policy, workers):
    """A measure of sparse p alone (family.h), options checked."""
    from histentropy import _sparse

    return _one(p, axis, keepdims, log_base, nan_policy, workers, _sparse.family_rows,
                lambda n_cols: (n_cols, measure, alpha, pseudocount, omit), np.float64)


def family_pair(p, q, shape, measure, alpha, pseudocount, axis, keepdims, omit,
                log_base, nan_policy, workers):
    """A measure of p against q (family.h) from `broadcast_pair`, one or both
    still sparse; options checked."""
    from histentropy import _sparse

    pair = _Pair(p, q, shape, axis, keepdims)
    out = np.empty(pair.n_out)
    flags = _run(_sparse.family_pair,
                 (pair.kinds, pair.p, pair.q, pair.n_cols, measure, alpha, pseudocount,
                  omit, out),
                 pair.n_rows, pair.work, workers, pair.whole)
    raise_for_flags(flags, nan_policy, pair=True)
    return pair.shape.finish(out, log_base)
