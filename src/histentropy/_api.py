"""Public functions on histograms (layer 3: a thin NumPy-style API).

Each function validates its arguments and dispatches on the kind of input.
Dense input is shaped into slices along `axis` without copying it and handed
to a typed driver in `_dense`, which runs the Cython kernels of
`_kernels.pxd` with the GIL released. Sparse input goes to `_sparse_api`;
labelled input is turned into dense vectors by `_labelled_api` and computed
here as dense input.
"""
import numbers
from typing import NamedTuple

import numpy as np

from histentropy import _dask_api, _dense, _estimators, _joint, _labelled_api, _sparse_api
from histentropy._family_api import measure
from histentropy._validation import (
    check_nan_policy,
    finish,
    input_kind,
    is_sparse,
    log_of_base,
    pair_kind,
    prepare_one,
    prepare_pair,
    raise_for_flags,
    run_driver,
    threads_for,
    CORES,
    PARALLEL_MIN_SIZE,
)

_COMMON_PARAMETERS = """\
    base : float, optional
        Base of the logarithm: None (default) for nats, 2 for bits. Any finite
        number greater than 1, so that results are never negative
        (``scipy.stats.entropy`` also accepts bases in (0, 1)).
    axis : int or None, default -1
        Axis along which each histogram lies. The default, -1, treats rows as
        histograms (``scipy.stats.entropy`` defaults to ``axis=0``). None treats
        the whole flattened input as one histogram.
    keepdims : bool, default False
        Keep the reduced axis as a dimension of length 1.
    nan_policy : {'propagate', 'raise', 'omit'}, default 'propagate'
        'propagate': a histogram holding a NaN gives NaN. 'raise': a NaN raises
        ValueError. 'omit': NaN bins are dropped (for p and q, a bin is dropped
        when either side is NaN).
    workers : int, optional
        Threads to use. None (default): all available cores when the input is
        large enough to profit (>= 65,536 elements), else one; 1: serial; k: at
        most k; -1: all available cores. Many histograms are split across
        threads; one long histogram is split into chunks whose partial sums
        are combined (the result does not depend on the number of threads
        beyond rounding). For dask input each block runs on one thread: the
        Dask scheduler spreads the blocks."""


_PAIR_PARAMETERS = """\
    p, q : array_like
        Non-negative finite weights, counts or probabilities of any real or
        integer dtype. They broadcast together; `axis` refers to the broadcast
        shape and both must have the same length along it.
        Either may be a dask array (the result is then a lazy dask array;
        see the README's Dask section), or a scipy.sparse matrix or array
        (never densified); two
        labelled histograms (dict, Counter, pandas Series) are aligned by
        label, a missing label having weight 0 (mixing labelled and unlabelled
        input is a TypeError).
""" + _COMMON_PARAMETERS

_PAIR_RAISES = """\
    Raises
    ------
    ValueError
        Negative or infinite weights, shapes that do not broadcast or differ
        along `axis`, a bad `base` or `nan_policy`, a NaN with
        ``nan_policy='raise'``.
    TypeError
        Complex, string, object or other non-real input.
    numpy.exceptions.AxisError
        `axis` out of range."""


def _default_options(axis, base, keepdims, nan_policy, workers, pseudocount):
    """True when a call may take the drivers' fast lane for plain 1-D input."""
    return (axis == -1 and base is None and workers is None and not keepdims
            and nan_policy == "propagate" and _no_pseudocount(pseudocount))


def _no_pseudocount(pseudocount):
    """True for the default pseudocount, 0 (anything else is checked later)."""
    kind = pseudocount.__class__
    if kind is float or kind is int:  # the common case, without the ABC check
        return pseudocount == 0
    return (isinstance(pseudocount, numbers.Real)
            and not isinstance(pseudocount, (bool, np.bool_)) and pseudocount == 0)


class Decomposition(NamedTuple):
    """H(P, Q) = H(P) + D_KL(P || Q), as returned by `decompose`."""

    cross_entropy: object
    entropy: object
    kl_divergence: object


def entropy(p, *, base=None, axis=-1, keepdims=False, nan_policy="propagate",
            pseudocount=0.0, workers=None, estimator="plugin"):
    if estimator != "plugin":
        return _estimated_entropy(p, estimator, base, axis, keepdims, nan_policy,
                                  pseudocount, workers)
    if _default_options(axis, base, keepdims, nan_policy, workers, pseudocount):
        # Fast lane for one plain 1-D ndarray (None for anything else, sparse
        # and labelled input included): nothing to shape, little overhead.
        h = _dense.entropy_vector(p, CORES, PARALLEL_MIN_SIZE)
        if h is not None:
            return h
    if not _no_pseudocount(pseudocount):
        return measure("entropy", p, base=base, axis=axis, keepdims=keepdims,
                       nan_policy=nan_policy, pseudocount=pseudocount, workers=workers)
    kind = input_kind(p)
    if kind == "dask":
        threads_for(workers, 0)  # checks workers: a block runs on one thread
        return _dask_api.entropy(p, base, axis, keepdims, nan_policy)
    if kind == "labelled":
        _, values = _labelled_api.label_values(p, "p")
        return entropy(values, base=base, axis=axis, keepdims=keepdims,
                       nan_policy=nan_policy, workers=workers)
    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    if kind == "sparse":
        return _sparse_api.entropy(p, axis, keepdims, omit, log_base, nan_policy,
                                   workers)
    whole = axis is None
    slices, shape, axis = prepare_one(p, axis)
    if whole and slices.ndim > 3:
        slices = slices.ravel()  # one histogram over > 3 dimensions: a copy
    if whole and slices.ndim > 1:
        out, flags = run_driver(_dense.entropy, (slices,), omit, 1, True)
    else:
        out, flags = run_driver(_dense.entropy, (slices,), omit,
                                threads_for(workers, slices.size))
    raise_for_flags(flags, nan_policy, pair=False)
    return finish(out, shape, axis, keepdims, log_base)


def _estimated_entropy(p, estimator, base, axis, keepdims, nan_policy, pseudocount,
                       workers):
    """`entropy` by a bias-corrected estimator (_estimators), options checked:
    the histograms as rows of counts, dense or sparse, then the estimator."""
    _estimators.check_estimator(estimator)
    if input_kind(p) == "dask":
        raise ValueError(f"estimator={estimator!r} is not available for dask arrays; "
                         "use the default, 'plugin'")
    if not _no_pseudocount(pseudocount) or pseudocount != 0:
        raise ValueError(
            f"pseudocount applies to the plug-in estimator only; got pseudocount="
            f"{pseudocount!r} with estimator={estimator!r}"
        )
    kind = input_kind(p)
    if kind == "labelled":
        _, values = _labelled_api.label_values(p, "p")
        return _estimated_entropy(values, estimator, base, axis, keepdims, nan_policy,
                                  pseudocount, workers)
    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    if kind == "sparse":
        data, indptr, bins, (shape, axis_n) = _sparse_api.counts(p, axis)
        out, flags = _joint.estimate_rows(data, indptr, bins, estimator, omit,
                                          threads_for(workers, data.size))
    else:
        slices, shape, axis_n = prepare_one(p, axis)
        if axis_n is None and slices.ndim > 1:
            slices = np.ravel(slices)  # one histogram: its bins in any order
        out, flags = run_driver(_joint.estimate, (slices,), estimator, omit,
                                threads_for(workers, slices.size))
    out = _estimators.finish(out, flags, nan_policy, estimator)
    return finish(out, shape, axis_n, keepdims, log_base)


def _divergence(p, q, base, axis, keepdims, nan_policy, workers, need_entropy,
                pseudocount=0.0):
    """(entropy of p or None, KL) of p and q of any kind, in units of `base`."""
    if not _no_pseudocount(pseudocount):
        options = dict(base=base, axis=axis, keepdims=keepdims, nan_policy=nan_policy,
                       pseudocount=pseudocount, workers=workers)
        kl = measure("kl_divergence", p, q, **options)
        if not need_entropy:
            return None, kl
        # The entropy of p over the bins kept for the pair, in the pair's shape.
        return measure("entropy", p, q, **options), kl
    kind = pair_kind(p, q)
    if kind == "dask":
        threads_for(workers, 0)  # checks workers: a block runs on one thread
        return _dask_api.divergence(p, q, base, axis, keepdims, nan_policy, need_entropy)
    if kind == "labelled":
        p, q = _labelled_api.aligned(p, q)
        return _divergence_of_dense(p, q, base, axis, keepdims, nan_policy,
                                    workers, need_entropy)
    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    if kind == "sparse":
        p, q, shape = _sparse_api.broadcast_pair(p, q)
        if is_sparse(p) or is_sparse(q):
            return _sparse_api.divergence(p, q, shape, axis, keepdims, omit, log_base,
                                          nan_policy, need_entropy, workers)
        # A sparse operand was broadcast, and so made dense: both are dense.
        return _divergence_of_dense(p, q, base, axis, keepdims, nan_policy,
                                    workers, need_entropy)
    whole = axis is None
    p_slices, q_slices, shape, axis = prepare_pair(p, q, axis)
    if whole and p_slices.ndim > 3:
        p_slices, q_slices = p_slices.ravel(), q_slices.ravel()  # a copy
    pair = (p_slices, q_slices)
    if whole and p_slices.ndim > 1:
        ent, kl, flags = run_driver(_dense.divergence, pair, omit, need_entropy,
                                    1, True)
    elif p_slices.dtype != q_slices.dtype:
        ent, kl, flags = run_driver(_dense.divergence_mixed, pair, omit,
                                    need_entropy)
    else:
        ent, kl, flags = run_driver(_dense.divergence, pair, omit, need_entropy,
                                    threads_for(workers, p_slices.size))
    raise_for_flags(flags, nan_policy, pair=True)
    kl = finish(kl, shape, axis, keepdims, log_base)
    if not need_entropy:
        return None, kl
    return finish(ent, shape, axis, keepdims, log_base), kl


def _divergence_of_dense(p, q, base, axis, keepdims, nan_policy, workers,
                         need_entropy):
    """(entropy or None, KL) of p and q made dense from labelled or sparse
    input, through the public functions (fast lane included)."""
    if need_entropy:
        d = decompose(p, q, base=base, axis=axis, keepdims=keepdims,
                      nan_policy=nan_policy, workers=workers)
        return d.entropy, d.kl_divergence
    return None, kl_divergence(p, q, base=base, axis=axis, keepdims=keepdims,
                               nan_policy=nan_policy, workers=workers)


def cross_entropy(p, q, *, base=None, axis=-1, keepdims=False,
                  nan_policy="propagate", pseudocount=0.0, workers=None):
    if _default_options(axis, base, keepdims, nan_policy, workers, pseudocount):
        fast = _dense.divergence_vector(p, q, True, CORES, PARALLEL_MIN_SIZE)
        if fast is not None:  # the fast lane, as in `entropy`
            return fast[0] + fast[1]
    ent, kl = _divergence(p, q, base, axis, keepdims, nan_policy, workers, True,
                          pseudocount)
    return ent + kl


def kl_divergence(p, q, *, base=None, axis=-1, keepdims=False,
                  nan_policy="propagate", pseudocount=0.0, workers=None):
    if _default_options(axis, base, keepdims, nan_policy, workers, pseudocount):
        fast = _dense.divergence_vector(p, q, False, CORES, PARALLEL_MIN_SIZE)
        if fast is not None:  # the fast lane, as in `entropy`
            return fast[1]
    return _divergence(p, q, base, axis, keepdims, nan_policy, workers, False,
                       pseudocount)[1]


def decompose(p, q, *, base=None, axis=-1, keepdims=False, nan_policy="propagate",
              pseudocount=0.0, workers=None):
    if _default_options(axis, base, keepdims, nan_policy, workers, pseudocount):
        fast = _dense.divergence_vector(p, q, True, CORES, PARALLEL_MIN_SIZE)
        if fast is not None:  # the fast lane, as in `entropy`
            return Decomposition(fast[0] + fast[1], *fast)
    ent, kl = _divergence(p, q, base, axis, keepdims, nan_policy, workers, True,
                          pseudocount)
    return Decomposition(ent + kl, ent, kl)


entropy.__doc__ = f"""Shannon entropy of the histograms in `p`.

    H(P) = -sum_i x_i log x_i, with x = p / sum(p) along `axis`.

    Parameters
    ----------
    p : array_like
        Non-negative finite weights, counts or probabilities, of any real or
        integer dtype (bool, int8..int64, uint8..uint64, float16/32/64). Each
        histogram is normalised to total mass 1 (without making a copy).
        Also a scipy.sparse matrix or array (any format; never densified: one
        result per row for axis=-1 or 1, per column for axis=0), or a labelled
        histogram (dict, Counter, pandas Series; the result is a scalar), or
        a dask array (the result is a lazy dask array, its histograms
        possibly split into blocks along `axis`).
{_COMMON_PARAMETERS}
    estimator : {{'plugin', 'miller_madow', 'grassberger', 'chao_shen', 'james_stein'}}
        'plugin' (default): -sum x log x. The others correct its bias on
        small samples of counts (N total, m bins with counts, n_i counts):
        Miller-Madow adds (m - 1)/(2N); Grassberger (2003) is
        log N - (1/N) sum n_i G(n_i); Chao-Shen weights the coverage-adjusted
        p_a = C n_i/N by 1/(1 - (1 - p_a)^N), C = 1 - f1/N; James-Stein
        (Hausser-Strimmer) shrinks n_i/N towards 1/K, K the bins along
        `axis`. They need integer-valued counts and no pseudocount.

    Returns
    -------
    numpy.float64 or numpy.ndarray
        float64 whatever the input dtype; a scalar for 1-D input or
        ``axis=None``, else an array with `axis` removed.

    Raises
    ------
    ValueError
        Negative or infinite weights, a bad `base`, `nan_policy` or
        `estimator`, a non-integer weight (or a histogram whose total count
        is beyond the double range) with an estimator other than 'plugin',
        or a NaN with ``nan_policy='raise'``.
    TypeError
        Complex, string, object or other non-real input.
    numpy.exceptions.AxisError
        `axis` out of range.

    Notes
    -----
    0 log 0 = 0; a histogram with no mass (all zeros, or empty) gives NaN.
    One read of the data computes S = sum p and A = sum p log p, and
    H = log S - A / S; where that subtraction would cancel (near-deterministic
    histograms) a second read sums -x log x with log1p for x > 1/2. Sums are
    compensated, so the error does not grow with the length; totals that
    would overflow or underflow are rescaled by a power of two (exactly).

    Examples
    --------
    >>> import histentropy
    >>> float(histentropy.entropy([1, 1, 1, 1], base=2))
    2.0
    >>> histentropy.entropy([[1, 0], [1, 1]])
    array([0.        , 0.69314718])
    """

cross_entropy.__doc__ = f"""Cross entropy H(P, Q) of the histograms in `p` and `q`.

    H(P, Q) = -sum_i x_i log y_i = H(P) + D_KL(P || Q), with x = p / sum(p) and
    y = q / sum(q) along `axis`.

    Parameters
    ----------
{_PAIR_PARAMETERS}

    Returns
    -------
    numpy.float64 or numpy.ndarray
        Cross entropy, float64; +inf where some p > 0 meets q = 0.

{_PAIR_RAISES}

    Notes
    -----
    Computed as entropy + KL divergence (see those functions), so that
    ``cross_entropy == entropy + kl_divergence`` holds to rounding. With the
    data P fixed, minimising cross entropy over Q minimises the divergence.

    Examples
    --------
    >>> import histentropy
    >>> round(float(histentropy.cross_entropy([1, 1], [1, 3], base=2)), 12)
    1.207518749639
    """

kl_divergence.__doc__ = f"""Kullback-Leibler divergence D_KL(P || Q).

    D_KL(P || Q) = sum_i x_i log(x_i / y_i), with x = p / sum(p) and
    y = q / sum(q) along `axis`.

    Parameters
    ----------
{_PAIR_PARAMETERS}

    Returns
    -------
    numpy.float64 or numpy.ndarray
        The divergence, float64, never negative; +inf where some p > 0 meets
        q = 0; NaN where p or q has no mass.

{_PAIR_RAISES}

    Notes
    -----
    One read computes B = sum p log(p/q) (with the log of the ratio, or the
    difference of logs where the ratio over/underflows, as
    ``scipy.special.rel_entr``) and the totals; KL = B/S_p + log(S_q/S_p).
    Where that cancels (near-identical p and q, counts against probabilities)
    a second read sums the non-negative terms x log(x/y) - x + y, evaluated for
    x close to y through the atanh series of log(x/y) with x - y formed
    exactly; the result is then accurate to a few ulp relative even when the
    divergence is 1e-15.

    Examples
    --------
    >>> import histentropy
    >>> round(float(histentropy.kl_divergence([1, 1], [1, 3], base=2)), 12)
    0.207518749639
    >>> float(histentropy.kl_divergence([1, 0], [0, 1]))
    inf
    """

decompose.__doc__ = f"""Cross entropy, entropy and KL divergence in one pass.

    Returns ``Decomposition(cross_entropy, entropy, kl_divergence)`` with
    cross_entropy = entropy + kl_divergence.

    Parameters
    ----------
    p, q : array_like
        As for `cross_entropy`.
{_COMMON_PARAMETERS}

    Returns
    -------
    Decomposition
        A named tuple of three float64 scalars or arrays. With
        ``nan_policy='omit'`` the entropy is that of p over the bins kept for
        the pair.

    Raises
    ------
    ValueError, TypeError, numpy.exceptions.AxisError
        As for `cross_entropy`.

    Examples
    --------
    >>> import histentropy
    >>> d = histentropy.decompose([1, 1], [1, 3], base=2)
    >>> [round(float(x), 12) for x in d]
    [1.207518749639, 1.0, 0.207518749639]
    """
