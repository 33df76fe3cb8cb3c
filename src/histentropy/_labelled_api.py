"""Labelled histograms (mapping, Counter, pandas Series) as dense vectors.

`_api` hands labelled input here and computes on the vectors returned, with
the dense functions. Two histograms are aligned by label: each becomes a
dense vector over the union of their labels, 0 where a label is missing.
"""
import numbers

import numpy as np

from histentropy._validation import as_weights, common_dtype, is_series


def _real_extension_dtype(dtype):
    """True for a pandas extension dtype of real numbers or booleans
    (Int64, Float64, boolean), not for strings, categoricals or datetimes."""
    kind = getattr(dtype, "kind", "O")
    numpy_dtype = getattr(dtype, "numpy_dtype", None)
    return kind in "biuf" and numpy_dtype is not None


def label_values(obj, name):
    """(labels, float-or-integer weights) of a mapping or a Series."""
    if is_series(obj):
        labels = list(obj.index)
        if isinstance(obj.dtype, np.dtype):
            values = obj.to_numpy()  # as_weights refuses strings, datetimes, objects
        elif _real_extension_dtype(obj.dtype):
            # nullable integers, floats, booleans: NA -> NaN
            values = obj.to_numpy(dtype=np.float64, na_value=np.nan)
        else:  # strings, categoricals, tz-aware datetimes, periods, ...
            raise TypeError(
                f"{name} must hold real weights; got a Series of dtype {obj.dtype}"
            )
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


def aligned(p, q):
    """Dense vectors of p and q over the union of their labels (0 if missing)."""
    p_labels, p_values = label_values(p, "p")
    q_labels, q_values = label_values(q, "q")
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
