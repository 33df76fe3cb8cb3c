"""Entropy, KL divergence and cross entropy of softmax distributions (layer 3).

The distributions are given by logits (unnormalised log probabilities) along
`axis`. Each function checks its arguments, shapes the input into rows along
`axis` without copying it, and hands it to a typed driver in `_logits`, which
runs the one-read kernels of the C core (include/histentropy/logits.h) with
the GIL released.
"""
import math
import numbers
import operator

import numpy as np

from histentropy import _logits
from histentropy._validation import (
    axis_index,
    finish,
    length_along,
    log_of_base,
    threads_for,
)

REDUCTIONS = ("none", "sum", "mean")


def _as_logits(a, name):
    """`a` as a float32 or float64 ndarray the kernels read directly.

    No copy for float32/float64 of any strides (read-only too). float16 is
    widened to float32 and integers to float64 (both exactly), extended
    precision is rounded to float64; non-native byte order and misaligned
    data are copied.
    """
    arr = np.asarray(a)
    kind, size = arr.dtype.kind, arr.dtype.itemsize
    if kind == "f":
        if size == 2:
            arr = arr.astype(np.float32)
        elif size > 8:
            arr = arr.astype(np.float64)
    elif kind in "iu":
        arr = arr.astype(np.float64)
    else:
        raise TypeError(
            f"{name} must be a real floating-point array (float16, float32 or "
            f"float64); got an array of dtype {arr.dtype}"
        )
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if not arr.flags.aligned:
        arr = arr.copy()
    return arr


def _raise_for_flags(flags, name, other=None):
    """Turn the kernels' flags into the documented exceptions."""
    for nan, posinf, label in ((_logits.LOGITS_NAN, _logits.LOGITS_POSINF, name),
                               (_logits.OTHER_NAN, _logits.OTHER_POSINF, other)):
        if flags & nan:
            raise ValueError(f"{label} must not contain NaN")
        if flags & posinf:
            raise ValueError(
                f"{label} must not contain +inf (a probability of 0 is -inf)"
            )
    if flags & _logits.TARGET_NAN:
        raise ValueError("target must hold non-negative finite weights; got NaN")
    if flags & _logits.TARGET_NEGATIVE:
        raise ValueError(
            "target must hold non-negative finite weights; got a negative value"
        )
    if flags & _logits.TARGET_INF:
        raise ValueError(
            "target must hold non-negative finite weights; got an infinite value"
        )
    if flags & _logits.TARGET_RANGE:
        raise ValueError("target holds a class index outside [0, K), K the "
                         "number of classes")


def _as_slices(a):
    """(..., K) -> a (outer0, outer1, K) view (a copy only above 3-D)."""
    if a.ndim == 1:
        return a.reshape(1, 1, a.shape[0])
    if a.ndim == 2:
        return a.reshape(1, *a.shape)
    if a.ndim == 3:
        return a
    # The leading length spelled out: -1 is ambiguous when a is empty.
    return a.reshape(math.prod(a.shape[:-2]), a.shape[-2], a.shape[-1])


def _rows(x, axis):
    """(rows as a (outer0, outer1, K) view, shape, normalised axis)."""
    if axis is None:
        return _as_slices(x.ravel(order="K")), x.shape, None
    axis = axis_index(axis, x.ndim)
    return _as_slices(np.moveaxis(x, axis, -1)), x.shape, axis


def entropy_from_logits(logits, *, base=None, axis=-1, keepdims=False,
                        workers=None):
    log_base = log_of_base(base)
    x = _as_logits(logits, "logits")
    rows, shape, axis = _rows(x, axis)
    out, flags = _logits.entropy(rows, _threads(workers, rows))
    _raise_for_flags(flags, "logits")
    return finish(out, shape, axis, keepdims, log_base)


def kl_divergence_from_logits(logits_p, logits_q, *, base=None, axis=-1,
                              keepdims=False, workers=None):
    log_base = log_of_base(base)
    a = _as_logits(logits_p, "logits_p")
    b = _as_logits(logits_q, "logits_q")
    if a.dtype != b.dtype:  # the kernel reads a pair in one type
        a = a.astype(np.float64)
        b = b.astype(np.float64)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(
            "logits_p and logits_q must have broadcastable shapes; got "
            f"{a.shape} and {b.shape}"
        ) from None
    if axis is None:
        a = np.broadcast_to(a, shape)
        b = np.broadcast_to(b, shape)
        order = "F" if a.flags.f_contiguous and b.flags.f_contiguous else "C"
        a_rows = _as_slices(a.ravel(order=order))
        b_rows = _as_slices(b.ravel(order=order))
    else:
        ndim = len(shape)
        axis = axis_index(axis, ndim)
        a_len = length_along(a.shape, axis, ndim)
        b_len = length_along(b.shape, axis, ndim)
        if a_len != b_len:
            raise ValueError(
                f"logits_p and logits_q must have the same length along axis "
                f"{axis} (classes are not broadcast); got {a_len} and {b_len} "
                f"for shapes {a.shape} and {b.shape}"
            )
        a_rows = _as_slices(np.moveaxis(np.broadcast_to(a, shape), axis, -1))
        b_rows = _as_slices(np.moveaxis(np.broadcast_to(b, shape), axis, -1))
    out, flags = _logits.kl_divergence(a_rows, b_rows, _threads(workers, a_rows))
    _raise_for_flags(flags, "logits_p", "logits_q")
    return finish(out, shape, axis, keepdims, log_base)


def _threads(workers, rows):
    """Threads for the rows: never more than there are rows."""
    n = threads_for(workers, rows.size)
    return max(1, min(n, rows.shape[0] * rows.shape[1]))


def _check_options(reduction, label_smoothing, return_grad):
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"reduction must be one of 'none', 'sum' or 'mean'; got {reduction!r}"
        )
    message = f"label_smoothing must be a number in [0, 1); got {label_smoothing!r}"
    if (isinstance(label_smoothing, (bool, np.bool_))
            or not isinstance(label_smoothing, numbers.Real)):
        raise ValueError(message)
    try:
        eps = float(label_smoothing)
    except OverflowError:  # an int or Fraction beyond the float range
        raise ValueError(message) from None
    if not 0.0 <= eps < 1.0:
        raise ValueError(message)
    if not isinstance(return_grad, (bool, np.bool_)):
        raise TypeError(f"return_grad must be True or False; got {return_grad!r}")
    return eps


def _class_weights(weight, n_classes):
    """`weight` as a contiguous float64 array of shape (K,) (None stays None)."""
    if weight is None:
        return None
    w = np.asarray(weight)
    if w.dtype.kind not in "fiub":
        raise TypeError(
            f"weight must hold real class weights; got an array of dtype {w.dtype}"
        )
    if w.shape != (n_classes,):
        raise ValueError(
            f"weight must have shape ({n_classes},), one weight per class; "
            f"got shape {w.shape}"
        )
    w = np.ascontiguousarray(w, dtype=np.float64)
    if not np.all((w >= 0.0) & (w < np.inf)):
        raise ValueError("weight must hold non-negative finite class weights")
    return w


def _weight_exponent(v, count):
    """k such that sums of `count` class weights divided by 2**k, and those
    sums times log1p(r) <= log K < 2**6, stay below 2**1021 (float64 ends at
    2**1024). 0 (the weights as given) unless the weights are huge; k is the
    least that does, so that small weights keep their digits (only those
    below 2**(k - 1022) become subnormal)."""
    if v is None or v.size == 0:
        return 0
    largest = float(v.max())
    if largest == 0.0:
        return 0
    return max(0, math.frexp(largest)[1] + int(count).bit_length() + 8 - 1023)


def _hard_labels(target, n_classes, ignore_index):
    """Checked class indices as int64 and the mask of samples that count.

    Each label is compared with `ignore_index` and range-checked in the
    target's own dtype (NumPy compares with any Python int exactly), before
    the conversion to int64, which would wrap uint64 labels >= 2**63. Ignored
    labels become -1: every label the kernel sees is in [0, K) or -1.
    """
    bad = (target < 0) | (target >= n_classes)
    kept = None
    if ignore_index is not None:
        kept = target != ignore_index
        bad &= kept
    if bad.any():
        value = target[bad].flat[0]
        allowed = f"[0, {n_classes})"
        if ignore_index is not None:
            allowed += f" or ignore_index={ignore_index}"
        raise ValueError(
            f"target holds class index {value} outside {allowed}"
        )
    labels = target.astype(np.int64)
    if kept is not None:
        labels[~kept] = -1
    return labels, kept


def cross_entropy_from_logits(logits, target, *, base=None, axis=-1,
                              reduction="none", label_smoothing=0.0,
                              ignore_index=None, weight=None, return_grad=False,
                              workers=None):
    eps = _check_options(reduction, label_smoothing, return_grad)
    log_base = log_of_base(base)
    given = np.asarray(logits)
    x = _as_logits(given, "logits")
    if axis is None:
        raise TypeError(
            "axis must be an integer for cross_entropy_from_logits (the class "
            "axis); got None"
        )
    axis = axis_index(axis, x.ndim)
    if ignore_index is not None:
        try:
            ignore_index = operator.index(ignore_index)
        except TypeError:
            raise TypeError(
                f"ignore_index must be None or an integer; got {ignore_index!r}"
            ) from None
    n_classes = x.shape[axis]
    sample_shape = x.shape[:axis] + x.shape[axis + 1:]
    t = np.asarray(target)
    rows = _as_slices(np.moveaxis(x, axis, -1))
    v = _class_weights(weight, n_classes)
    # Huge weights are divided by unit = 2**k (exactly) so that their sums
    # cannot overflow; losses and gradients are multiplied back by the unit
    # of the result.
    k = _weight_exponent(v, max(n_classes, math.prod(sample_shape)))
    if k:
        v = np.ldexp(v, -k)
    unit = 2.0 ** k
    v_total = float(n_classes) if v is None else math.fsum(v)
    want_grad = bool(return_grad)
    grad = np.empty(sample_shape + (n_classes,) if want_grad else (1, 1, 1),
                    dtype=x.dtype)
    grad_rows = _as_slices(grad) if want_grad else grad

    if t.dtype.kind in "iu" and t.shape == sample_shape:
        labels, kept = _hard_labels(t, n_classes, ignore_index)
        if v is None:
            denom = float(labels.size if kept is None else np.count_nonzero(kept))
        else:
            chosen = v[labels[kept]] if kept is not None else v[labels]
            denom = math.fsum(chosen.ravel())
        # A weighted mean is a ratio of two sums in the same unit.
        result_unit = 1.0 if reduction == "mean" else unit
        scale = _grad_scale(reduction, denom, log_base) * result_unit
        loss, flags = _logits.cross_entropy_hard(
            rows, np.ascontiguousarray(labels.reshape(rows.shape[:2])), v,
            v_total, eps, kept is not None, -1, want_grad, grad_rows, scale,
            _threads(workers, rows))
    elif t.dtype.kind in "fiub" and t.shape == x.shape:
        if ignore_index is not None:
            raise ValueError(
                "ignore_index applies to integer class indices; target holds "
                "soft labels (it has the shape of logits)"
            )
        if t.dtype.kind != "f" or t.dtype.itemsize not in (4, 8):
            t = t.astype(np.float64)
        if not t.dtype.isnative or not t.flags.aligned:
            t = t.astype(t.dtype.newbyteorder("="), copy=True)
        denom = float(math.prod(sample_shape))
        result_unit = unit  # denom counts samples
        scale = _grad_scale(reduction, denom, log_base) * result_unit
        loss, flags = _logits.cross_entropy_soft(
            rows, _as_slices(np.moveaxis(t, axis, -1)), v, v_total, eps,
            want_grad, grad_rows, scale, _threads(workers, rows))
    elif t.dtype.kind in "iu":
        raise ValueError(
            f"target of class indices must have shape {sample_shape} (logits "
            f"shape {x.shape} without axis {axis}); got shape {t.shape}"
        )
    elif t.dtype.kind in "fb":
        raise ValueError(
            f"target of soft labels must have the shape of logits, {x.shape}; "
            f"got shape {t.shape} (class indices must be integers)"
        )
    else:
        raise TypeError(
            "target must hold integer class indices or non-negative real "
            f"weights; got an array of dtype {t.dtype}"
        )
    _raise_for_flags(flags, "logits")

    loss = loss.reshape(sample_shape)
    if reduction == "none":
        result = _times(loss / log_base if log_base != 1.0 else loss, result_unit)
        result = result[()] if result.ndim == 0 else result
    else:
        total = np.float64(np.sum(loss)) / log_base
        if reduction == "sum":
            result = _times(total, result_unit)
        else:
            result = (_times(total / denom, result_unit) if denom > 0
                      else np.float64(np.nan))
    if not want_grad:
        return result
    grad = np.moveaxis(grad, -1, axis)
    if given.dtype.kind == "f" and given.dtype.itemsize == 2:
        grad = grad.astype(np.float16)  # any byte order: computed in float32
    return result, grad


def _times(value, unit):
    """value * unit (a power of two: exact), inf only where the true value
    overflows; an array is scaled in place."""
    if unit == 1.0:
        return value
    with np.errstate(over="ignore"):
        if isinstance(value, np.ndarray):
            value *= unit
            return value
        return value * unit


def _grad_scale(reduction, denom, log_base):
    scale = 1.0 / log_base
    if reduction == "mean":
        scale = scale / denom if denom > 0 else math.nan
    return scale


_BASE_AXIS = """\
    base : float, optional
        Base of the logarithm: None (default) for nats, 2 for bits. Any finite
        number greater than 1."""

_WORKERS = """\
    workers : int, optional
        Threads to use, as for `entropy`: None (default) all available cores
        when the input is large enough to profit (>= 65,536 elements), else
        one; 1: serial; k: at most k; -1: all available cores. Rows are split
        across threads; the result does not depend on their number."""

_AXIS_KEEPDIMS = f"""\
    axis : int or None, default -1
        Axis along which the classes lie (each slice along it is one
        distribution). None treats the flattened input as one distribution.
    keepdims : bool, default False
        Keep the reduced axis as a dimension of length 1.
{_WORKERS}"""

_LOGITS_NOTES = """\
    -inf logits have probability 0 and contribute exactly 0 (also when
    paired with -inf); a slice without any finite logit has no distribution
    and gives NaN. Each slice is read once, in blocks that stay in cache: an
    online log-sum-exp keeps the running maximum m and r = sum exp(l - m) - 1
    (the largest term, exactly 1, left out so that log1p(r) keeps the digits
    of near-deterministic distributions), rescaling the sums whenever m grows.
    Every l - m is <= 0, so logits like 1e300 do not overflow. Sums are
    float64 whatever the input dtype, and exp is evaluated in float64."""

entropy_from_logits.__doc__ = f"""Shannon entropy of softmax(logits).

    H = -sum_i p_i log p_i with p = softmax(logits) along `axis`.

    Parameters
    ----------
    logits : array_like
        Real floating-point logits (float16, float32 or float64; integers are
        converted to float64). -inf is allowed and means probability 0.
{_BASE_AXIS}
{_AXIS_KEEPDIMS}

    Returns
    -------
    numpy.float64 or numpy.ndarray
        float64, never negative; a scalar for 1-D input or ``axis=None``.

    Raises
    ------
    ValueError
        NaN or +inf in `logits`, or a bad `base`.
    TypeError
        Complex, boolean, string or object input.
    numpy.exceptions.AxisError
        `axis` out of range.

    Notes
    -----
    H = log1p(r) + sum_i exp(l_i - m) (m - l_i) / (1 + r), two non-negative
    terms, so no cancellation. Equals ``entropy(softmax(logits))``.
{_LOGITS_NOTES}

    Examples
    --------
    >>> import histentropy
    >>> float(histentropy.entropy_from_logits([0.0, 0.0, 0.0, 0.0], base=2))
    2.0
    >>> histentropy.entropy_from_logits([[0.0, -float("inf")], [1e300, 1e300]])
    array([0.        , 0.69314718])
    """

kl_divergence_from_logits.__doc__ = f"""KL divergence between softmax(logits_p) and softmax(logits_q).

    D_KL(P || Q) = sum_i p_i (log p_i - log q_i), with p = softmax(logits_p)
    and q = softmax(logits_q) along `axis`.

    Parameters
    ----------
    logits_p, logits_q : array_like
        Real floating-point logits. They broadcast together; `axis` refers to
        the broadcast shape and both must have the same length along it.
        Different dtypes are computed in float64.
{_BASE_AXIS}
{_AXIS_KEEPDIMS}

    Returns
    -------
    numpy.float64 or numpy.ndarray
        float64, never negative; +inf where a finite logit of `logits_p`
        meets -inf in `logits_q` (p > 0 where q = 0).

    Raises
    ------
    ValueError
        NaN or +inf in either input, shapes that do not broadcast or differ
        along `axis`, a bad `base`.
    TypeError
        Complex, boolean, string or object input.
    numpy.exceptions.AxisError
        `axis` out of range.

    Notes
    -----
    One read of both rows: KL = C / s_p - log1p(r_p) + log1p(r_q), with
    C = sum_i exp(a_i - m_a) ((a_i - m_a) - (b_i - m_b)). C has terms of both
    signs, so the absolute error is a few ulp of the magnitude of the terms
    (as for the textbook formula); the result is clamped at 0.
{_LOGITS_NOTES}

    Examples
    --------
    >>> import histentropy
    >>> float(histentropy.kl_divergence_from_logits([0.0, 0.0], [0.0, 0.0]))
    0.0
    >>> round(float(histentropy.kl_divergence_from_logits([0.0, 0.0], [0.0, 1.0])), 6)
    0.120115
    """

cross_entropy_from_logits.__doc__ = f"""Cross entropy (the classification loss) from logits.

    loss = -sum_c w_c t_c log p_c for each sample, with p = softmax(logits)
    along `axis`, t the target distribution (after label smoothing) and w
    the class weights (all 1 by default). For a hard label y and no
    smoothing or weights this is ``-log_softmax(logits)[y]``.

    Parameters
    ----------
    logits : array_like
        Real floating-point logits (float16, float32 or float64; integers are
        converted to float64), any shape; the classes lie along `axis`.
        -inf means probability 0.
    target : array_like
        Either integer class indices with the shape of `logits` without
        `axis` (hard labels; each in [0, K) or equal to `ignore_index`), or
        non-negative finite weights with the shape of `logits` (soft labels,
        normalised along `axis` like the histograms elsewhere in the
        library; a slice of zeros gives NaN).
{_BASE_AXIS}
    axis : int, default -1
        The class axis.
    reduction : {{'none', 'sum', 'mean'}}, default 'none'
        'none': one loss per sample (shape of `logits` without `axis`).
        'sum': their sum. 'mean': with hard labels the weighted mean
        sum_n w[y_n] loss_n / sum_n w[y_n] over the samples not ignored (the
        count of samples without `weight`), as in PyTorch; with soft labels
        the sum divided by the number of samples. NaN when nothing counts.
    label_smoothing : float in [0, 1), default 0
        The target t becomes (1 - s) t + s / K.
    ignore_index : int, optional
        Hard labels equal to it contribute 0 (loss and gradient) and are left
        out of the mean. Not allowed with soft labels.
    weight : array_like of shape (K,), optional
        Non-negative finite class weights, of any magnitude (weights whose
        sums would overflow are divided by a power of two for the
        computation and the results multiplied back: inf only where the
        result itself overflows).
    return_grad : bool, default False
        Also return the gradient of the result with respect to `logits`:
        w-weighted (p T - w t) with T = sum_c w_c t_c, scaled like the result
        (divided by the mean's denominator for 'mean', by log(base)); with
        'none' row n holds the gradient of loss n. Same shape as `logits`
        and dtype of `logits` (float64 for integer logits).
{_WORKERS}

    Returns
    -------
    loss : numpy.float64 or numpy.ndarray
        float64, never negative; +inf where the target puts mass on a -inf
        logit. A scalar for reductions 'sum' and 'mean'.
    grad : numpy.ndarray
        Only with ``return_grad=True``: ``(loss, grad)``.

    Raises
    ------
    ValueError
        NaN or +inf in `logits`; a class index out of range; negative,
        infinite or NaN soft labels; a target whose shape fits neither form;
        a bad `reduction`, `label_smoothing`, `weight` or `base`;
        `ignore_index` with soft labels.
    TypeError
        Non-real `logits`, `target` or `weight`; a non-integer
        `ignore_index`; ``axis=None``; a non-boolean `return_grad`.
    numpy.exceptions.AxisError
        `axis` out of range.

    Notes
    -----
    With -log p_c = (m - l_c) + log1p(r) the loss is a sum of non-negative
    terms: for hard labels w_y (1 - s) ((m - l_y) + log1p(r)) plus, with
    smoothing, s / K (sum_c w_c log1p(r) + sum_c w_c (m - l_c)), the last
    sum kept relative to the running maximum like r. No temporary the size
    of `logits` is made (except the gradient when asked for, whose second
    read of each row recomputes softmax, and the exact widening of float16
    or integer logits).
{_LOGITS_NOTES}

    Examples
    --------
    >>> import histentropy
    >>> logits = [[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]]
    >>> histentropy.cross_entropy_from_logits(logits, [0, 2])
    array([0.16984602, 1.09861229])
    >>> round(float(histentropy.cross_entropy_from_logits(
    ...     logits, [0, 2], reduction="mean")), 6)
    0.634229
    >>> loss, grad = histentropy.cross_entropy_from_logits(
    ...     [1e4, 0.0], 1, return_grad=True)
    >>> float(loss), grad.tolist()
    (10000.0, [1.0, -1.0])
    """
