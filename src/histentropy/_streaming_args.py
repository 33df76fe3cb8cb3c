"""Argument checks and shaping of the streaming histograms (the Python layer
of `_streaming.pyx`): bins, events, weights, references, decay, the fitted
edges of raw values. Everything here raises the documented errors; nothing
here touches a histogram's state."""
import math
import numbers
import operator
import sys
from collections.abc import Sequence

import numpy as np

from histentropy._validation import as_weights


def _short_repr(value):
    """repr of a value for an error message: huge integers by their size."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        v = int(value)
        if v.bit_length() > 256:
            return f"{'-' if v < 0 else ''}<an integer of {v.bit_length()} bits>"
        return repr(v)
    return repr(value)


# The largest n_bins and window: one float64 per bin or per event must be
# addressable (NumPy's own limit on an array's size in bytes).
_MAX_LENGTH = sys.maxsize // 8


def _check_positive_int(value, name, allow_none):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a positive integer; got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be a positive integer"
                        f"{' or None' if allow_none else ''}; got {value!r}") from None
    if v <= 0:
        raise ValueError(f"{name} must be a positive integer; got {_short_repr(v)}")
    if v > _MAX_LENGTH:
        raise ValueError(f"{name} must be at most {_MAX_LENGTH}; got {_short_repr(v)}")
    return v


_FLOAT64 = np.dtype(np.float64)


def _as_bins(bins):
    arr = np.asarray(bins)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    elif arr.ndim != 1:
        raise ValueError(f"bins must be a 1-D sequence of bin indices; got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind == "O" and arr.size:
        # Python (or NumPy) integer objects, of any size. Those outside
        # [0, 2**62) are out of range whatever n_bins: they become -1, so the
        # batch is rejected with the usual message, naming the original value.
        for i, v in enumerate(arr):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
                raise TypeError(f"bins must hold integer bin indices; got "
                                f"{type(v).__name__} {_short_repr(v)} at position {i}")
        return np.fromiter((int(v) if 0 <= v < 2**62 else -1 for v in arr),
                           np.int64, arr.shape[0]), arr
    if kind not in "iu":
        if arr.size == 0 and kind in "fO":
            return np.zeros(0, np.int64), arr
        raise TypeError(f"bins must hold integer bin indices; got an array of dtype {arr.dtype}")
    return _int_bins(arr), arr


def _int_bins(arr):
    """An integer array of bin indices as int32 or int64 that the kernels read:
    in place where it is native and aligned, else a copy."""
    if arr.dtype.isnative and (arr.dtype == np.int64 or arr.dtype == np.int32):
        if arr.flags.aligned and all(st % arr.itemsize == 0 for st in arr.strides):
            return arr
        return arr.copy()
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8:
        # Values above 2**63 are out of range anyway; keep them out of range.
        return np.where(arr > np.uint64(2**62), np.int64(-1),
                        arr.astype(np.int64, copy=False).clip(0))
    return arr.astype(np.int64)


def _as_event_weights(weights, length):
    if (type(weights) is np.ndarray and weights.dtype == _FLOAT64 and weights.ndim == 1
            and weights.shape[0] == length and weights.flags.aligned
            and weights.strides[0] % 8 == 0):
        return weights  # the common case, without further checks
    w = np.asarray(weights)
    if w.ndim == 0:
        w = w.reshape(1)
    w = as_weights(w, "weights")
    if w.ndim != 1 or w.shape[0] != length:
        raise ValueError(f"weights must be a 1-D sequence as long as bins; got shape "
                         f"{w.shape} for {length} bins")
    if w.dtype != np.float64:
        w = w.astype(np.float64)
    return w


def _as_values(x, name):
    """Raw values as a float64 array (any real dtype)."""
    arr = np.asarray(x)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold real numbers; got an object array") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers; got an array of dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _check_edges(e, f):
    where = "" if f is None else f" (feature {f})"
    try:
        e = np.array(e, np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"binning edges must be real numbers{where}") from None
    if e.ndim != 1 or e.shape[0] < 2:
        raise ValueError(f"binning edges must be a 1-D array of at least 2 edges{where}; "
                         f"got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError(f"binning edges must be finite{where}")
    if not np.all(np.diff(e) > 0):
        raise ValueError(f"binning edges must be strictly increasing{where}")
    return e


def _fit_edges(X, nan, n_bins, binning):
    """The edges of every column of X (NaN where `nan`): (name, list of arrays)."""
    F = X.shape[1]
    if isinstance(binning, str):
        if binning not in ("quantile", "uniform"):
            raise ValueError(f"binning must be 'quantile', 'uniform' or an array of edges; "
                             f"got {binning!r}")
        n = _check_positive_int(n_bins, "n_bins", False)
        t = np.linspace(0.0, 1.0, n + 1)
        edges = []
        for f in range(F):
            col = X[~nan[:, f], f]
            if col.shape[0] == 0:
                raise ValueError(f"sample has no value in feature {f} (all NaN)")
            if binning == "quantile":
                e = np.quantile(col, t)
                if not np.all(np.isfinite(e)):  # interpolation beyond the doubles
                    e = np.quantile(col, t, method="nearest")
            else:
                lo, hi = float(col.min()), float(col.max())
                # (1 - t) lo + t hi: no overflow where hi - lo would
                e = lo * (1.0 - t) + hi * t if not math.isfinite(hi - lo) else \
                    np.linspace(lo, hi, n + 1)
                e[0], e[n] = lo, hi
            e = np.unique(e)
            if e.shape[0] == 1:
                e = np.array([e[0], e[0]])
            edges.append(e)
        return binning, edges
    for f in range(F):
        if nan[:, f].all():
            raise ValueError(f"sample has no value in feature {f} (all NaN)")
    if (isinstance(binning, (list, tuple)) and len(binning) > 0
            and all(np.ndim(e) == 1 for e in binning)) or np.ndim(binning) == 2:
        if len(binning) != F:
            raise ValueError(f"binning must hold one array of edges per feature "
                             f"(n_features={F}); got {len(binning)}")
        return "edges", [_check_edges(e, f) for f, e in enumerate(binning)]
    e = _check_edges(binning, None)
    return "edges", [e] * F


def _same_arrays(a, b):
    """Whether two references (or edges) are equal: None, arrays, or lists of
    arrays."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) != isinstance(b, list):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


def _check_decay(decay):
    if decay is None:
        return None
    if isinstance(decay, (bool, np.bool_)) or not isinstance(decay, numbers.Real):
        raise TypeError(f"decay must be None or a number in (0, 1); got {decay!r}")
    try:
        value = float(decay)
    except OverflowError:  # an integer or fraction beyond the float range
        raise ValueError(f"decay must be a number in (0, 1); got "
                         f"{_short_repr(decay)}") from None
    if not (0.0 < value < 1.0):
        raise ValueError(f"decay must be a number in (0, 1); got {value!r}")
    return value


def _feature_sizes(n_bins, F):
    """n_bins of every one of F features: one int for all, or F ints."""
    if isinstance(n_bins, (Sequence, np.ndarray)) and not isinstance(n_bins, (str, bytes)):
        sizes = list(n_bins)
        if len(sizes) != F:
            raise ValueError(f"n_bins must be one integer or a sequence of n_features={F} "
                             f"integers; got a sequence of {len(sizes)}")
        return [_check_positive_int(v, "n_bins", False) for v in sizes]
    return [_check_positive_int(n_bins, "n_bins", False)] * F


def _feature_references(reference, sizes):
    """One reference row per feature (or None): an (F, n_bins) array, or a
    sequence of F arrays (features of different sizes)."""
    F = len(sizes)
    if reference is None:
        return [None] * F
    if isinstance(reference, (Sequence, np.ndarray)) and not isinstance(reference, (str, bytes)):
        rows = list(reference)
    else:
        raise ValueError(f"reference must be an (n_features, n_bins) array or a sequence of "
                         f"n_features={F} arrays; got {type(reference).__name__}")
    if len(rows) != F:
        raise ValueError(f"reference must have one row per feature (n_features={F}); "
                         f"got {len(rows)}")
    out = []
    for f, r in enumerate(rows):
        try:
            out.append(check_reference(r, sizes[f]))
        except ValueError as e:
            raise ValueError(f"{e} (feature {f})") from None
    return out


def _as_events(events, F):
    """An (m, F) batch of bin indices as int32 or int64, read in place where
    it can be; and the array as given (for error messages)."""
    arr = np.asarray(events)
    if arr.ndim != 2 or arr.shape[1] != F:
        if arr.size == 0 and arr.ndim <= 2:
            return np.zeros((0, F), np.int64), arr
        raise ValueError(f"events must be an (m, n_features={F}) array of bin indices; "
                         f"got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind == "O":
        flat = [_as_bins(arr[:, f])[0] for f in range(F)]
        return np.stack(flat, axis=1), arr
    if kind not in "iu":
        if arr.size == 0:
            return np.zeros((0, F), np.int64), arr
        raise TypeError(f"events must hold integer bin indices; got an array of dtype "
                        f"{arr.dtype}")
    return _int_bins(arr), arr


def check_reference(reference, n):
    """A reference of n bins: a float64 copy of non-negative finite weights, not all 0."""
    r = as_weights(reference, "reference")
    if r.ndim != 1 or r.shape[0] != n:
        raise ValueError(f"reference must be a 1-D array of n_bins={n} weights; "
                         f"got shape {r.shape}")
    r = np.array(r, dtype=np.float64)  # an own copy
    if not np.all(np.isfinite(r)):
        raise ValueError("reference must hold finite weights; got a NaN or infinite value")
    if np.any(r < 0):
        raise ValueError("reference must hold non-negative weights; got a negative value")
    if not np.any(r > 0):
        raise ValueError("reference must have positive total weight; got all zeros")
    return r


def fit_sample(sample, n_bins, binning, nan_policy):
    """`from_reference`'s sample checked and its edges fitted: the values as a
    C-contiguous (m, F) float64 array, whether it was one feature, the
    binning's name ("quantile", "uniform", "edges") and the edges."""
    if not isinstance(nan_policy, str) or nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit'; got {nan_policy!r}")
    x = _as_values(sample, "sample")
    if x.ndim not in (1, 2):
        raise ValueError(f"sample must be a 1-D or 2-D array of values; got shape {x.shape}")
    single = x.ndim == 1
    X = np.ascontiguousarray(x.reshape(-1, 1) if single else x)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"sample must hold at least one value per feature; got shape "
                         f"{x.shape}")
    nan = np.isnan(X)
    if nan_policy == "raise" and nan.any():
        raise ValueError("sample contains NaN and nan_policy='raise'")
    if np.isinf(X).any():
        raise ValueError("sample must hold finite values (or NaN); got an infinite value")
    name, edges = _fit_edges(X, nan, n_bins, binning)
    return X, single, name, edges


def reference_of_sample(bins, edges):
    """The bins of every feature (an int, or a list when they differ) and the
    reference counts of the binned sample ((m, F) bins, -1 for NaN): an
    (F, n_bins) array, or a list."""
    sizes = [len(e) + 1 for e in edges]
    rows = []
    for f, n in enumerate(sizes):
        col = bins[:, f]
        rows.append(np.bincount(col[col >= 0], minlength=n).astype(np.float64))
    if all(n == sizes[0] for n in sizes):
        return sizes[0], np.stack(rows)
    return sizes, rows


def edge_tables(edges, name):
    """Read-only float64 edges, and what the binning kernel reads: (name, the
    edges' addresses, their lengths, 1 / width of uniform edges or 0)."""
    edges = [np.array(e, np.float64) for e in edges]
    for e in edges:
        e.flags.writeable = False
    inv = np.zeros(len(edges), np.float64)
    if name == "uniform":
        for f, e in enumerate(edges):
            width = float(e[-1]) - float(e[0])
            if 0.0 < width < math.inf:
                inv[f] = (len(e) - 1) / width
    table = np.array([e.ctypes.data for e in edges], np.uintp)
    return edges, (name, table, np.array([len(e) for e in edges], np.int32), inv)


def values_batch(x, n_features):
    """`update_values`' values as an aligned (m, F) float64 array ((m, 1) for
    one feature)."""
    values = _as_values(x, "x")
    if values.ndim == 0:
        values = values.reshape(1)
    F = n_features
    if F is None:
        if values.ndim != 1:
            raise ValueError(f"x must be a 1-D array of values; got shape {values.shape}")
        values = values.reshape(-1, 1)
    elif values.ndim != 2 or values.shape[1] != F:
        raise ValueError(f"x must be an (m, n_features={F}) array of values; got shape "
                         f"{values.shape}")
    if not (values.strides[0] % 8 == 0 and values.strides[1] % 8 == 0
            and values.flags.aligned):
        values = values.copy()
    return values


def omit_nan(bins, w, first_nan, nan_policy, n_features):
    """Binned values with NaN (bin -1; the first at row * F + feature
    `first_nan`): an error under "raise"; under "omit" each NaN becomes an
    observation of weight 0 in bin 0 (the row still moves its feature's
    window and decay). Returns the weights: one per value ((m,) for one
    feature)."""
    F = n_features
    i = first_nan
    if nan_policy == "raise":
        where = f"position {i}" if F is None else f"row {i // F}, feature {i % F}"
        raise ValueError(f"x contains NaN (at {where}) and nan_policy='raise'")
    if w is not None and not np.all((w >= 0) & (w < np.inf)):
        j = int(np.flatnonzero(~((w >= 0) & (w < np.inf)))[0])
        raise ValueError(f"weights must be non-negative and finite; got "
                         f"{float(w[j])!r} at position {j}")
    nan = bins < 0
    weights = np.where(nan, 0.0, 1.0 if w is None else w[:, None])
    bins[nan] = 0
    return weights[:, 0] if F is None else weights
