"""Sparse (scipy.sparse) and labelled (mapping, pandas Series) histograms.

The public functions in `_api` hand such input here (layer 3).

Sparse input is never densified. A matrix is brought to compressed rows whose
rows are the histograms (CSR for ``axis=1``; for ``axis=0`` the CSR matrix of
the transpose, which is a CSC matrix's own arrays), checked in one pass over
its indices, and, only if some row is unsorted or holds duplicates, replaced
by a canonical copy (duplicates summed in float64). The caller's matrix is
never modified. The drivers in `_sparse` then touch each stored value once
(or twice, in the accurate second read), plus each dense reference row once.

Labelled input is aligned by label into two dense vectors and handed to the
dense functions.

scipy and pandas are never imported here: a sparse matrix or a Series can
only exist if its package is already loaded, so `sys.modules` tells.
"""
import numbers
import sys
from collections.abc import Mapping

import numpy as np

from histentropy._validation import (
    axis_index,
    length_along,
    as_weights,
    check_nan_policy,
    common_dtype,
    log_of_base,
    raise_for_flags,
    threads_for,
)

# ---------------------------------------------------------------------------
# Recognising structured input
# ---------------------------------------------------------------------------

def _is_sparse(obj):
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(obj))


def _is_series(obj):
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.Series)


def _is_labelled(obj):
    # dok matrices are dicts too, but they are sparse matrices first.
    return (isinstance(obj, Mapping) or _is_series(obj)) and not _is_sparse(obj)


def is_structured(obj):
    """True for input this module handles instead of the dense path."""
    return _is_sparse(obj) or _is_labelled(obj)


def _kind(obj):
    return "sparse" if _is_sparse(obj) else ("labelled" if _is_labelled(obj) else "dense")


def _describe(obj):
    return type(obj).__name__


# ---------------------------------------------------------------------------
# Labelled histograms
# ---------------------------------------------------------------------------

def _label_values(obj, name):
    """(labels, float-or-integer weights) of a mapping or a Series."""
    if _is_series(obj):
        labels = list(obj.index)
        if isinstance(obj.dtype, np.dtype):
            values = obj.to_numpy()
        else:  # pandas extension dtypes (nullable integers...): NA -> NaN
            try:
                values = obj.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{name} must hold real weights; got a Series of dtype {obj.dtype}"
                ) from None
        return labels, values
    labels = list(obj.keys())
    values = list(obj.values())
    for v in values:
        if not isinstance(v, (numbers.Real, np.bool_)):
            raise TypeError(
                f"{name} must map labels to real weights; got a value of type "
                f"{type(v).__name__} ({v!r})"
            )
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError):
        arr = np.asarray(values, dtype=object)
    if arr.dtype.kind == "O":  # e.g. Python ints beyond 64 bits
        arr = np.array([float(v) for v in values], dtype=np.float64)
    return labels, arr


def _aligned(p, q):
    """Dense vectors of p and q over the union of their labels (0 if missing)."""
    p_labels, p_values = _label_values(p, "p")
    q_labels, q_values = _label_values(q, "q")
    for labels, name in ((p_labels, "p"), (q_labels, "q")):
        if len(set(labels)) != len(labels):
            raise ValueError(f"{name} has duplicate labels; cannot align p and q by label")
    position = {label: i for i, label in enumerate(p_labels)}
    q_position = np.empty(len(q_labels), dtype=np.intp)
    n = len(p_labels)
    for j, label in enumerate(q_labels):
        i = position.get(label)
        if i is None:
            i = position[label] = n
            n += 1
        q_position[j] = i
    p_values = as_weights(p_values, "p")
    q_values = as_weights(q_values, "q")
    p_values, q_values = common_dtype(p_values, q_values)
    p_full = np.zeros(n, dtype=p_values.dtype)
    q_full = np.zeros(n, dtype=q_values.dtype)
    p_full[:len(p_labels)] = p_values
    q_full[q_position] = q_values
    return p_full, q_full


def _check_pairing(p, q):
    """'labelled', 'sparse' or None (dense); TypeError for a labelled/other mix."""
    p_kind, q_kind = _kind(p), _kind(q)
    if "labelled" in (p_kind, q_kind) and p_kind != q_kind:
        labelled, other = ("p", "q") if p_kind == "labelled" else ("q", "p")
        raise TypeError(
            f"{labelled} is a labelled histogram ({_describe(p if labelled == 'p' else q)}) "
            f"but {other} is not ({_describe(q if labelled == 'p' else p)}); pass both "
            "as mappings/Series to align them by label, or neither"
        )
    return p_kind if p_kind != "dense" else q_kind


# ---------------------------------------------------------------------------
# Sparse histograms: shaping
# ---------------------------------------------------------------------------

def _sparse_module():
    import scipy.sparse
    return scipy.sparse


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
    """Call driver(*args, start, stop, whole) over all rows, split across
    threads (the drivers release the GIL); returns the flags."""
    workers = threads_for(workers, work)
    if whole or workers == 1 or n_rows < 2:
        return driver(*args, 0, n_rows, whole)
    from concurrent.futures import ThreadPoolExecutor

    chunks = min(workers, n_rows)
    bounds = [n_rows * c // chunks for c in range(chunks + 1)]
    with ThreadPoolExecutor(max_workers=chunks) as pool:
        futures = [pool.submit(driver, *args, bounds[c], bounds[c + 1], False)
                   for c in range(chunks)]
        flags = 0
        for f in futures:
            flags |= f.result()
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


# ---------------------------------------------------------------------------
# Sparse histograms: computing
# ---------------------------------------------------------------------------

def _sparse_entropy(p, base, axis, keepdims, nan_policy, workers):
    from histentropy import _sparse

    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    _check_sparse_ndim(p, "p")
    ndim, shape = p.ndim, _as_2d(p).shape
    axis = _axis_2d(axis, ndim)
    P = _as_2d(p)
    whole = axis is None
    transpose = axis == 0 or (whole and P.format == "csc")
    data, indices, indptr, n_rows, _ = _rows(P, "p", transpose)
    out = np.empty(1 if whole else n_rows)
    flags = _run(_sparse.entropy_rows, (data, indptr, omit, out), n_rows,
                 data.shape[0], workers, whole)
    raise_for_flags(flags, nan_policy, pair=False)
    return _Shape(ndim, axis, shape, keepdims).finish(out, log_base)


def _sparse_divergence(p, q, base, axis, keepdims, nan_policy, need_entropy,
                       workers):
    """(entropy or None, kl) for p and/or q sparse."""
    from histentropy import _sparse

    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    operands = []
    for x, name in ((p, "p"), (q, "q")):
        if _is_sparse(x):
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
    # A sparse operand that is broadcast (one row or one column against a
    # matrix) is small: O(rows + columns). It becomes dense.
    for i, x in enumerate(operands):
        if _is_sparse(x) and x.shape != shape:
            operands[i] = as_weights(x.toarray(), "pq"[i])
    sparse_p, sparse_q = (_is_sparse(x) for x in operands)
    if not (sparse_p or sparse_q):
        return _dense_divergence(operands[0], operands[1], base, axis, keepdims,
                                 nan_policy, need_entropy, workers)

    ndim = len(shape)
    shape2 = (1, shape[0]) if ndim == 1 else shape
    axis2 = _axis_2d(axis, ndim)
    whole = axis2 is None
    if not whole:
        # As for dense input: bins are not broadcast.
        lengths = [length_along(x.shape, axis2 if ndim == 2 else 0, ndim)
                   for x in operands]
        if lengths[0] != lengths[1]:
            raise ValueError(
                f"p and q must have the same length along axis {axis} (bins are not "
                f"broadcast); got {lengths[0]} and {lengths[1]} for shapes "
                f"{shapes[0]} and {shapes[1]}"
            )
    if whole:
        transpose = all(x.format == "csc" for x in operands if _is_sparse(x))
    else:
        transpose = axis2 == 0
    if sparse_p and sparse_q:
        p_data, p_indices, p_indptr, n_rows, n_cols = _rows(_as_2d(operands[0]), "p",
                                                            transpose)
        q_data, q_indices, q_indptr, _, _ = _rows(_as_2d(operands[1]), "q", transpose)
        p_data, q_data = common_dtype(p_data, q_data)
        if p_indices.dtype != q_indices.dtype:
            p_indices, p_indptr, q_indices, q_indptr = (
                a.astype(np.int64) for a in (p_indices, p_indptr, q_indices, q_indptr))
        driver = _sparse.divergence_sparse_sparse
        args = (p_data, p_indices, p_indptr, q_data, q_indices, q_indptr)
        work = p_data.shape[0] + q_data.shape[0]
    else:
        name = "p" if sparse_p else "q"
        s_data, s_indices, s_indptr, n_rows, n_cols = _rows(
            _as_2d(operands[0 if sparse_p else 1]), name, transpose)
        dense = operands[1 if sparse_p else 0]
        # One dtype for both; converting before broadcasting keeps a
        # reference row of shape (k,) a copy of size k, never rows * k.
        if sparse_p:
            s_data, dense = common_dtype(s_data, dense)
        else:
            dense, s_data = common_dtype(dense, s_data)
        dense = np.broadcast_to(dense, shape).reshape(shape2)
        if transpose:
            dense = dense.T
        if sparse_p:
            driver = _sparse.divergence_sparse_dense
            args = (s_data, s_indices, s_indptr, dense)
            work = s_data.shape[0] + (n_cols if dense.strides[0] == 0 else dense.size)
        else:
            driver = _sparse.divergence_dense_sparse
            args = (dense, s_data, s_indices, s_indptr)
            work = s_data.shape[0] + dense.size
    n_out = 1 if whole else n_rows
    kl = np.empty(n_out)
    ent = np.empty(n_out if need_entropy else 1)
    flags = _run(driver, args + (omit, need_entropy, ent, kl), n_rows, work,
                 workers, whole)
    raise_for_flags(flags, nan_policy, pair=True)
    result_shape = _Shape(ndim, axis2, shape2, keepdims)
    kl = result_shape.finish(kl, log_base)
    if not need_entropy:
        return None, kl
    return result_shape.finish(ent, log_base), kl


# ---------------------------------------------------------------------------
# Entry points called by _api
# ---------------------------------------------------------------------------

def entropy(p, *, base=None, axis=-1, keepdims=False, nan_policy="propagate",
            workers=None):
    """Entropy of a sparse or labelled histogram (see histentropy.entropy)."""
    if _is_labelled(p):
        from histentropy import _api

        _, values = _label_values(p, "p")
        return _api.entropy(values, base=base, axis=axis, keepdims=keepdims,
                            nan_policy=nan_policy, workers=workers)
    return _sparse_entropy(p, base, axis, keepdims, nan_policy, workers)


def _dense_divergence(p, q, base, axis, keepdims, nan_policy, need_entropy,
                      workers):
    """(entropy or None, kl) of dense p and q, by the public dense functions."""
    from histentropy import _api

    if need_entropy:
        d = _api.decompose(p, q, base=base, axis=axis, keepdims=keepdims,
                           nan_policy=nan_policy, workers=workers)
        return d.entropy, d.kl_divergence
    return None, _api.kl_divergence(p, q, base=base, axis=axis, keepdims=keepdims,
                                    nan_policy=nan_policy, workers=workers)


def _divergence(p, q, base, axis, keepdims, nan_policy, need_entropy, workers):
    if _check_pairing(p, q) == "labelled":
        p, q = _aligned(p, q)
        return _dense_divergence(p, q, base, axis, keepdims, nan_policy,
                                 need_entropy, workers)
    return _sparse_divergence(p, q, base, axis, keepdims, nan_policy,
                              need_entropy, workers)


def cross_entropy(p, q, *, base=None, axis=-1, keepdims=False,
                  nan_policy="propagate", workers=None):
    """Cross entropy of sparse or labelled histograms (see histentropy.cross_entropy)."""
    ent, kl = _divergence(p, q, base, axis, keepdims, nan_policy, True, workers)
    return ent + kl


def kl_divergence(p, q, *, base=None, axis=-1, keepdims=False,
                  nan_policy="propagate", workers=None):
    """KL divergence of sparse or labelled histograms (see histentropy.kl_divergence)."""
    return _divergence(p, q, base, axis, keepdims, nan_policy, False, workers)[1]


def decompose(p, q, *, base=None, axis=-1, keepdims=False,
              nan_policy="propagate", workers=None):
    """Decomposition of sparse or labelled histograms (see histentropy.decompose)."""
    from histentropy._api import Decomposition

    ent, kl = _divergence(p, q, base, axis, keepdims, nan_policy, True, workers)
    return Decomposition(ent + kl, ent, kl)
