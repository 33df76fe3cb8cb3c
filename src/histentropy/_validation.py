"""Argument checking and shaping shared by the public functions (layer 3).

Everything a kernel must not do (raise, inspect Python objects, decide on
dtypes and layout) is done here, once per call, without touching the data:
the data itself is checked by the kernels, which report flags that
`raise_for_flags` turns into exceptions.

`input_kind` and `pair_kind` tell dense, sparse (scipy.sparse) and labelled
(mapping, pandas Series) input apart. scipy and pandas are never imported for
that: a sparse matrix or a Series can only exist if its package is already
loaded, so `sys.modules` tells.
"""
import math
import numbers
import operator
import os
import sys
from collections.abc import Mapping

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from histentropy import _dense

NAN_POLICIES = ("propagate", "raise", "omit")

# Inputs of at least this many elements are split across threads by default.
PARALLEL_MIN_SIZE = 1 << 16


def _available_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


CORES = _available_cores()


def is_sparse(obj):
    """True for a scipy.sparse matrix or array."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(obj))


def is_series(obj):
    """True for a pandas Series."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.Series)


def is_dask(obj):
    """True for a dask array (without importing dask: one exists only once
    dask.array is imported)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(obj, module.Array)


def input_kind(obj):
    """'dask', 'sparse', 'labelled' (a mapping or a Series) or 'dense'."""
    if is_dask(obj):
        return "dask"
    if is_sparse(obj):
        return "sparse"  # before Mapping: dok matrices are dicts too
    if isinstance(obj, Mapping) or is_series(obj):
        return "labelled"
    return "dense"


def pair_kind(p, q):
    """'labelled', 'dask', 'sparse' (either is) or 'dense' for a pair of
    inputs.

    Raises TypeError when one is labelled and the other is not: labelled
    histograms are paired by label, others by position; and for a dask
    array with a sparse or labelled one.
    """
    p_kind, q_kind = input_kind(p), input_kind(q)
    if "dask" in (p_kind, q_kind):
        other = q_kind if p_kind == "dask" else p_kind
        if other in ("sparse", "labelled"):
            raise TypeError(
                f"a dask array cannot be paired with {other} input; pass a dask "
                "array and a dense array (NumPy or dask)"
            )
        return "dask"
    if "labelled" in (p_kind, q_kind) and p_kind != q_kind:
        labelled, other = ("p", "q") if p_kind == "labelled" else ("q", "p")
        described = {"p": type(p).__name__, "q": type(q).__name__}
        raise TypeError(
            f"{labelled} is a labelled histogram ({described[labelled]}) "
            f"but {other} is not ({described[other]}); pass both "
            "as mappings/Series to align them by label, or neither"
        )
    return p_kind if p_kind != "dense" else q_kind


def threads_for(workers, size):
    """Threads to use for an input of `size` elements (`workers` checked)."""
    if workers is None:
        return _dense.free_cores(CORES) if size >= PARALLEL_MIN_SIZE else 1
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, numbers.Integral):
        raise TypeError(f"workers must be None or an integer; got {workers!r}")
    workers = int(workers)
    if workers == -1:
        return CORES
    if workers < 1:
        raise ValueError(
            f"workers must be None, -1 or a positive integer; got {workers}"
        )
    return min(workers, CORES)


def check_nan_policy(nan_policy):
    """Return True when NaN bins are to be omitted."""
    if not isinstance(nan_policy, str) or nan_policy not in NAN_POLICIES:
        raise ValueError(
            "nan_policy must be one of 'propagate', 'raise' or 'omit'; "
            f"got {nan_policy!r}"
        )
    return nan_policy == "omit"


def log_of_base(base):
    """The divisor that turns nats into units of `base` (None: 1, nats).

    Only bases above 1 are accepted, so that results stay non-negative
    (scipy.stats.entropy accepts any positive base).
    """
    if base is None:
        return 1.0
    message = f"base must be None or a positive finite number greater than 1; got {base!r}"
    if isinstance(base, (bool, np.bool_)) or not isinstance(base, numbers.Real):
        raise ValueError(message)
    try:
        b = float(base)
    except OverflowError:  # an int beyond the float range
        raise ValueError(message) from None
    if not (math.isfinite(b) and b > 1.0):
        raise ValueError(message)
    return math.log(b)


def as_weights(a, name):
    """`a` as an ndarray whose dtype the kernels read directly.

    No copy for the usual dtypes and layouts (any strides, read-only arrays).
    Copies are made only where the kernels cannot read the memory as it is:
    non-native byte order, misaligned data, float16 (widened exactly to
    float32) and extended precision (rounded to float64).
    """
    if isinstance(a, np.ma.MaskedArray):
        # np.asarray would drop the mask and count masked bins silently.
        raise TypeError(
            f"{name} is a masked array; pass the data with masked bins set to "
            "NaN and nan_policy='omit', or set them to 0"
        )
    arr = np.asarray(a)
    dtype = arr.dtype
    if dtype.kind == "b":
        arr = arr.view(np.uint8)
    elif dtype.kind == "f":
        if dtype.itemsize == 2:
            arr = arr.astype(np.float32)
        elif dtype.itemsize > 8:
            arr = arr.astype(np.float64)
    elif dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold real weights (bool, integer or floating point); "
            f"got an array of dtype {dtype}"
        )
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    # The drivers step in whole elements along the histogram axis, whichever
    # axis that is: a stride that is not a multiple of the item size (a field
    # of a structured array) is read from a copy.
    if not arr.flags.aligned or any(s % arr.itemsize for s in arr.strides):
        arr = arr.copy()
    return arr


def common_dtype(p, q):
    """p and q in one dtype: the kernels read a pair in a single type."""
    if p.dtype == q.dtype:
        return p, q
    dtype = np.promote_types(p.dtype, q.dtype)
    if (dtype.kind, dtype.itemsize) not in _dense.SUPPORTED:
        dtype = np.dtype(np.float64)  # e.g. int64 with uint64
    return p.astype(dtype, copy=False), q.astype(dtype, copy=False)


def _as_slices(a, axis):
    """`a` with `axis` moved last: a view (the drivers take 1-3-D; see
    `run_driver` for more dimensions)."""
    if axis != a.ndim - 1:
        order = list(range(a.ndim))
        order.append(order.pop(axis))
        a = a.transpose(order)
    return a


def run_driver(driver, arrays, *args):
    """driver(*arrays, *args) for slices of any dimension, without copies.

    The drivers take 1-3-D views; above that, the leading dimensions are
    looped over here, and the per-block results (flat arrays, None, flags)
    concatenated in C order.
    """
    first = arrays[0]
    if first.ndim <= 3:
        return driver(*arrays, *args)
    lead = first.shape[:-3]
    if first.size == 0:  # no data: reshaping cannot copy
        rows = math.prod(first.shape[:-2])
        flat = [a.reshape(rows, *a.shape[-2:]) for a in arrays]
        return driver(*flat, *args)
    parts = [driver(*(a[index] for a in arrays), *args) for index in np.ndindex(lead)]
    flags = 0
    for part in parts:
        flags |= part[-1]
    combined = []
    for i in range(len(parts[0]) - 1):
        combined.append(None if parts[0][i] is None
                        else np.concatenate([part[i] for part in parts]))
    return (*combined, flags)


def axis_index(axis, ndim):
    """`axis` checked (an integer) and normalised for `ndim` dimensions."""
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer or None; got {axis!r}") from None
    if not -ndim <= axis < ndim:  # also beyond the C long range of normalize_axis_index
        raise np.exceptions.AxisError(axis, ndim)
    return normalize_axis_index(axis, ndim)


def result_shape(shape, axis, keepdims):
    """Shape of the result: `shape` without `axis` (or with it set to 1)."""
    if axis is None:
        return (1,) * len(shape) if keepdims else ()
    if keepdims:
        return shape[:axis] + (1,) + shape[axis + 1:]
    return shape[:axis] + shape[axis + 1:]


def prepare_one(p, axis):
    """Validate p and axis; return (p slices, shape, normalised axis)."""
    p = as_weights(p, "p")
    if axis is None:
        # One histogram: a flat view when the memory is one run (bin order
        # does not matter), else the slices, which the driver combines.
        if p.flags.c_contiguous or p.flags.f_contiguous:
            return p.ravel(order="K"), p.shape, None
        return _as_slices(p, p.ndim - 1), p.shape, None
    axis = axis_index(axis, p.ndim)
    return _as_slices(p, axis), p.shape, axis


def prepare_pair(p, q, axis):
    """Validate and broadcast p and q; return (p slices, q slices, shape, axis).

    The slices may differ in dtype only when there are several histograms
    (the driver then converts one pair of rows at a time); a single histogram
    in two dtypes is brought to one dtype here.
    """
    p = as_weights(p, "p")
    q = as_weights(q, "q")
    shape, axis = pair_shape(p.shape, q.shape, axis)
    if axis is None:
        p, q = common_dtype(p, q)
        # One pair of histograms: flat views when both are one run in the
        # same order (so that bins stay paired), else broadcast views whose
        # slices the driver combines.
        for order, flag in (("C", "C_CONTIGUOUS"), ("F", "F_CONTIGUOUS")):
            if p.shape == q.shape and p.flags[flag] and q.flags[flag]:
                return p.ravel(order=order), q.ravel(order=order), shape, None
        if p.shape != shape:
            p = np.broadcast_to(p, shape)
        if q.shape != shape:
            q = np.broadcast_to(q, shape)
        if not shape:
            return p.reshape(1), q.reshape(1), shape, None
        return _as_slices(p, len(shape) - 1), _as_slices(q, len(shape) - 1), shape, None
    p_len = length_along(p.shape, axis, len(shape))
    if p.dtype != q.dtype and math.prod(shape) <= p_len:
        p, q = common_dtype(p, q)
    if p.shape != shape:
        p = np.broadcast_to(p, shape)
    if q.shape != shape:
        q = np.broadcast_to(q, shape)
    return _as_slices(p, axis), _as_slices(q, axis), shape, axis


def pair_shape(p_shape, q_shape, axis):
    """(broadcast shape of p and q, `axis` as an index or None). Raises
    ValueError for shapes that do not broadcast or that differ along `axis`
    (bins are not broadcast), AxisError for an axis out of range."""
    try:
        shape = np.broadcast_shapes(p_shape, q_shape)
    except ValueError:
        raise ValueError(
            f"p and q must have broadcastable shapes; got {p_shape} and {q_shape}"
        ) from None
    if axis is None:
        return shape, None
    ndim = len(shape)
    axis = axis_index(axis, ndim)
    p_len = length_along(p_shape, axis, ndim)
    q_len = length_along(q_shape, axis, ndim)
    if p_len != q_len:
        raise ValueError(
            f"p and q must have the same length along axis {axis} (bins are not "
            f"broadcast); got {p_len} and {q_len} for shapes {p_shape} and {q_shape}"
        )
    return shape, axis


def length_along(shape, axis, ndim):
    """Length along `axis` of an array of `shape` broadcast to `ndim` dimensions."""
    i = axis - (ndim - len(shape))
    return shape[i] if i >= 0 else 1


def finish(out, shape, axis, keepdims, log_base):
    """Shape a flat kernel result, convert units; a scalar for one histogram."""
    target = result_shape(shape, axis, keepdims)
    if log_base != 1.0:
        out /= log_base
    if not target:
        return out.reshape(-1)[0]
    return out.reshape(target)


def raise_for_flags(flags, nan_policy, pair):
    """Turn the kernels' flags into the documented exceptions."""
    for flag, name in ((_dense.INFINITE_P, "p"), (_dense.INFINITE_Q, "q")):
        if flags & flag:
            raise ValueError(f"{name} must hold finite weights; got an infinite value")
    for flag, name in ((_dense.NEGATIVE_P, "p"), (_dense.NEGATIVE_Q, "q")):
        if flags & flag:
            raise ValueError(
                f"{name} must hold non-negative weights; got a negative value"
            )
    if flags & _dense.NAN_SEEN and nan_policy == "raise":
        which = "p or q" if pair else "p"
        raise ValueError(f"{which} contains NaN and nan_policy='raise'")



def check_pseudocount(pseudocount):
    """`pseudocount` as a float: a finite number >= 0."""
    message = f"pseudocount must be a finite number >= 0; got {pseudocount!r}"
    if isinstance(pseudocount, (bool, np.bool_)) or not isinstance(pseudocount, numbers.Real):
        raise ValueError(message)
    try:
        c = float(pseudocount)
    except OverflowError:
        raise ValueError(message) from None
    if not (math.isfinite(c) and c >= 0.0):
        raise ValueError(message)
    return c


def check_alpha(alpha):
    """Renyi's order `alpha` as a float in [0, inf]."""
    message = f"alpha must be a number in [0, inf] (not NaN); got {alpha!r}"
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise ValueError(message)
    try:
        a = float(alpha)
    except OverflowError:  # an int beyond the float range: as large as inf
        a = math.inf if alpha > 0 else -math.inf
    if not a >= 0.0:
        raise ValueError(message)
    return a
