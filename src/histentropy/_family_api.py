"""The measure family: Jensen-Shannon, Hellinger, total variation, Jeffreys
(population stability index), chi-square and Renyi (layer 3).

Each public function checks its options and calls `measure`, which sends
each kind of input to its driver: dense slices to `_dense.family`, sparse
rows to `_sparse_api`, labelled histograms through `_labelled_api` as dense
vectors. Every measure is two reads of the data in the C core (family.h):
the totals, then the sum of the measure's non-negative per-bin terms.
"""

import numpy as np

from histentropy import _dask_api, _dense, _labelled_api, _sparse_api
from histentropy._validation import (
    as_weights,
    check_alpha,
    check_nan_policy,
    check_pseudocount,
    common_dtype,
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
)


def measure(name, p, q=None, *, alpha=1.0, base=None, axis=-1, keepdims=False,
            nan_policy="propagate", pseudocount=0.0, workers=None):
    """`name` (a key of `_dense.MEASURES`) of p (against q unless None), of
    any input kind, in units of `base`: the common path of the family and of
    entropy / KL with a pseudocount. Options are checked here."""
    code = _dense.MEASURES[name]
    one = q is None
    kind = input_kind(p) if one else pair_kind(p, q)
    if kind == "dask":
        threads_for(workers, 0)  # checks workers: a block runs on one thread
        return _dask_api.measure(name, p, q, alpha=alpha, base=base, axis=axis,
                                 keepdims=keepdims, nan_policy=nan_policy,
                                 pseudocount=pseudocount)
    if kind == "labelled":
        if one:
            p = _labelled_api.label_values(p, "p")[1]
        else:
            p, q = _labelled_api.aligned(p, q)
        return measure(name, p, q, alpha=alpha, base=base, axis=axis, keepdims=keepdims,
                       nan_policy=nan_policy, pseudocount=pseudocount, workers=workers)
    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    c = check_pseudocount(pseudocount)
    if kind == "sparse":
        if one:
            return _sparse_api.family_one(p, code, alpha, c, axis, keepdims, omit,
                                          log_base, nan_policy, workers)
        p, q, shape = _sparse_api.broadcast_pair(p, q)
        if is_sparse(p) or is_sparse(q):
            return _sparse_api.family_pair(p, q, shape, code, alpha, c, axis, keepdims,
                                           omit, log_base, nan_policy, workers)
    whole = axis is None
    if one:
        slices, shape, axis = prepare_one(p, axis)
        arrays, args = (slices,), (None,)
    else:
        p, q = common_dtype(as_weights(p, "p"), as_weights(q, "q"))
        p_slices, q_slices, shape, axis = prepare_pair(p, q, axis)
        arrays, args = (p_slices, q_slices), ()
    if whole and arrays[0].ndim > 3:
        arrays = tuple(a.ravel() for a in arrays)  # one histogram over > 3 dimensions: a copy
    if whole and arrays[0].ndim == 1:
        whole = False  # one flat histogram: a single row, which threads can split
    nthreads = 1 if whole else threads_for(workers, arrays[0].size)
    out, flags = run_driver(_dense.family, arrays,
                            *args, code, alpha, c, omit, nthreads, whole)
    raise_for_flags(flags, nan_policy, pair=not one)
    return finish(out, shape, axis, keepdims, log_base)


def js_divergence(p, q, *, base=None, axis=-1, keepdims=False, nan_policy="propagate",
                  pseudocount=0.0, workers=None):
    return measure("js_divergence", p, q, base=base, axis=axis, keepdims=keepdims,
                   nan_policy=nan_policy, pseudocount=pseudocount, workers=workers)


def js_distance(p, q, *, base=None, axis=-1, keepdims=False, nan_policy="propagate",
                pseudocount=0.0, workers=None):
    return np.sqrt(js_divergence(p, q, base=base, axis=axis, keepdims=keepdims,
                                 nan_policy=nan_policy, pseudocount=pseudocount,
                                 workers=workers))


def hellinger_distance(p, q, *, axis=-1, keepdims=False, nan_policy="propagate",
                       pseudocount=0.0, workers=None):
    return measure("hellinger_distance", p, q, axis=axis, keepdims=keepdims,
                   nan_policy=nan_policy, pseudocount=pseudocount, workers=workers)


def total_variation(p, q, *, axis=-1, keepdims=False, nan_policy="propagate",
                    pseudocount=0.0, workers=None):
    return measure("total_variation", p, q, axis=axis, keepdims=keepdims,
                   nan_policy=nan_policy, pseudocount=pseudocount, workers=workers)


def jeffreys_divergence(p, q, *, base=None, axis=-1, keepdims=False,
                        nan_policy="propagate", pseudocount=0.0, workers=None):
    return measure("jeffreys_divergence", p, q, base=base, axis=axis, keepdims=keepdims,
                   nan_policy=nan_policy, pseudocount=pseudocount, workers=workers)


population_stability_index = jeffreys_divergence


def chi_square_divergence(p, q, *, axis=-1, keepdims=False, nan_policy="propagate",
                          pseudocount=0.0, workers=None):
    return measure("chi_square_divergence", p, q, axis=axis, keepdims=keepdims,
                   nan_policy=nan_policy, pseudocount=pseudocount, workers=workers)


def renyi_entropy(p, alpha, *, base=None, axis=-1, keepdims=False,
                  nan_policy="propagate", pseudocount=0.0, workers=None):
    return measure("renyi_entropy", p, alpha=check_alpha(alpha), base=base, axis=axis,
                   keepdims=keepdims, nan_policy=nan_policy, pseudocount=pseudocount,
                   workers=workers)


def renyi_divergence(p, q, alpha, *, base=None, axis=-1, keepdims=False,
                     nan_policy="propagate", pseudocount=0.0, workers=None):
    return measure("renyi_divergence", p, q, alpha=check_alpha(alpha), base=base,
                   axis=axis, keepdims=keepdims, nan_policy=nan_policy,
                   pseudocount=pseudocount, workers=workers)


_OPTIONS = """\
    axis : int or None, default -1
        Axis along which each histogram lies; None: the whole input is one
        histogram.
    keepdims : bool, default False
        Keep the reduced axis as a dimension of length 1.
    nan_policy : {'propagate', 'raise', 'omit'}, default 'propagate'
        'propagate': a histogram holding a NaN gives NaN. 'raise': a NaN raises
        ValueError. 'omit': a bin is dropped when either side is NaN.
    pseudocount : float, default 0.0
        Added to every bin of p and of q (as counts, before normalising):
        additive (Laplace / Lidstone) smoothing, so that empty bins do not make
        a divergence infinite. The unstored bins of a sparse row count too.
    workers : int, optional
        Threads: None (all cores for large input), 1, k, or -1 (all cores).
        Many histograms are split across threads; one long contiguous
        histogram is read in chunks on the threads."""

_BASE = """\
    base : float, optional
        Base of the logarithm: None (default) for nats, 2 for bits; any
        finite number above 1."""

_PAIR = """\
    p, q : array_like, scipy.sparse matrix or array, or labelled histograms
        Non-negative finite weights (counts or probabilities, any real or
        integer dtype), normalised along `axis`; they broadcast together and
        have the same length along `axis`. Sparse input is never densified;
        mappings, Counters and pandas Series are aligned by label."""

_ONE = """\
    p : array_like, scipy.sparse matrix or array, or a labelled histogram
        Non-negative finite weights (counts or probabilities, any real or
        integer dtype), normalised along `axis`."""

_ALPHA = """\
    alpha : float
        The order, in [0, inf] (``numpy.inf`` allowed)."""

_RETURNS = """\
    Returns
    -------
    numpy.float64 or numpy.ndarray
        float64; a scalar for one histogram, else an array with `axis`
        removed. NaN for a histogram with no mass."""

_RAISES = """\
    Raises
    ------
    ValueError
        Negative or infinite weights, a bad `base`, `nan_policy`,
        `pseudocount` (negative, inf, NaN) or `alpha` (negative, NaN),
        shapes that do not broadcast or differ along `axis`, a NaN with
        ``nan_policy='raise'``.
    TypeError
        Complex, string, object or other non-real input."""

_TWO_READS = """\
    The C core reads the data twice: the totals (exactly), then the sum of
    the measure's non-negative per-bin terms with x = p / sum(p) and
    y = q / sum(q) known, each term formed from x - y computed exactly, so
    that near-identical histograms keep their relative accuracy (no
    subtraction of two large sums). Totals out of the double range are
    rescaled by a power of two."""


def _doc(summary, definition, params, notes, examples):
    return f"""{summary}

    {definition}

    Parameters
    ----------
{params}

{_RETURNS}

{_RAISES}

    Notes
    -----
{notes}
{_TWO_READS}

    Examples
    --------
{examples}
    """


js_divergence.__doc__ = _doc(
    "Jensen-Shannon divergence of the histograms in `p` and `q`.",
    "JS(P, Q) = (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2; in [0, log 2]\n"
    "    (in [0, 1] with ``base=2``).",
    _PAIR + "\n" + _BASE + "\n" + _OPTIONS,
    "    Always finite. Each bin adds x log(x/m) - x + m and y log(y/m) - y + m,\n"
    "    both >= 0, with the atanh series of the log near m: never NaN or\n"
    "    negative for near-identical input, and finite for subnormal weights\n"
    "    (where ``scipy.spatial.distance.jensenshannon`` can give NaN or inf).",
    "    >>> import histentropy\n"
    "    >>> float(histentropy.js_divergence([1, 0], [0, 1], base=2))\n"
    "    1.0\n"
    "    >>> round(float(histentropy.js_divergence([1, 2, 3], [3, 2, 1])), 12)\n"
    "    0.087208023961")

js_distance.__doc__ = _doc(
    "Jensen-Shannon distance: the square root of `js_divergence`.",
    "The quantity of ``scipy.spatial.distance.jensenshannon`` (a metric); in\n"
    "    [0, sqrt(log 2)], [0, 1] with ``base=2``.",
    _PAIR + "\n" + _BASE + "\n" + _OPTIONS,
    "    The square root of the divergence in units of `base`.",
    "    >>> import histentropy\n"
    "    >>> float(histentropy.js_distance([1, 0], [0, 1], base=2))\n"
    "    1.0")

hellinger_distance.__doc__ = _doc(
    "Hellinger distance of the histograms in `p` and `q`.",
    "H(P, Q) = sqrt(1 - sum_i sqrt(x_i y_i)); in [0, 1].",
    _PAIR + "\n" + _OPTIONS,
    "    Always finite. Summed as sum (sqrt x - sqrt y)^2 / 2, with\n"
    "    sqrt x - sqrt y = (x - y) / (sqrt x + sqrt y): no cancellation for\n"
    "    near-identical histograms.",
    "    >>> import histentropy\n"
    "    >>> float(histentropy.hellinger_distance([1, 0], [0, 1]))\n"
    "    1.0\n"
    "    >>> round(float(histentropy.hellinger_distance([1, 1], [1, 3])), 12)\n"
    "    0.184591911283")

total_variation.__doc__ = _doc(
    "Total variation distance of the histograms in `p` and `q`.",
    "TV(P, Q) = sum_i |x_i - y_i| / 2; in [0, 1].",
    _PAIR + "\n" + _OPTIONS,
    "    Always finite; x - y is formed exactly from the quotients.",
    "    >>> import histentropy\n"
    "    >>> float(histentropy.total_variation([1, 1], [1, 3]))\n"
    "    0.25")

jeffreys_divergence.__doc__ = _doc(
    "Jeffreys divergence, or population stability index (PSI).",
    "J(P, Q) = KL(P || Q) + KL(Q || P) = sum_i (x_i - y_i) log(x_i / y_i) >= 0.\n"
    "    ``population_stability_index`` is this same function.",
    _PAIR + "\n" + _BASE + "\n" + _OPTIONS,
    "    +inf where a bin holds mass on one side only (p > 0 = q or q > 0 = p);\n"
    "    a `pseudocount` makes it finite. Each term is a product of x - y and\n"
    "    log(x/y), both accurate, so it is >= 0 and accurate for near-identical\n"
    "    histograms.",
    "    >>> import histentropy\n"
    "    >>> round(float(histentropy.population_stability_index([1, 1], [1, 3])), 12)\n"
    "    0.274653072167\n"
    "    >>> float(histentropy.jeffreys_divergence([1, 0], [1, 1]))\n"
    "    inf\n"
    "    >>> round(float(histentropy.jeffreys_divergence([1, 0], [1, 1], pseudocount=0.5)), 12)\n"
    "    0.274653072167")

chi_square_divergence.__doc__ = _doc(
    "Pearson chi-square divergence of `p` from `q`.",
    "chi2(P || Q) = sum_i (x_i - y_i)^2 / y_i >= 0.",
    _PAIR + "\n" + _OPTIONS,
    "    +inf where p > 0 = q; bins where both are 0 add nothing.",
    "    >>> import histentropy\n"
    "    >>> round(float(histentropy.chi_square_divergence([1, 1], [1, 3])), 12)\n"
    "    0.333333333333")

renyi_entropy.__doc__ = _doc(
    "Renyi entropy of order `alpha` of the histograms in `p`.",
    "H_alpha(P) = log(sum_i x_i^alpha) / (1 - alpha): Shannon's entropy at\n"
    "    alpha = 1, log(number of bins with p > 0) at alpha = 0, -log max x at\n"
    "    alpha = inf.",
    _ONE + "\n" + _ALPHA + "\n" + _BASE + "\n" + _OPTIONS,
    "    Summed as T = sum x (x^(alpha-1) - 1), whose terms share one sign, and\n"
    "    H = log1p(T) / (1 - alpha): accurate for alpha near 1. Where T is\n"
    "    close to -1 (large alpha) a log-sum-exp read of alpha log x is taken\n"
    "    instead, without overflow or underflow for any alpha.",
    "    >>> import histentropy\n"
    "    >>> float(histentropy.renyi_entropy([1, 1, 0, 2], 0))  # log 3\n"
    "    1.0986122886681098\n"
    "    >>> float(histentropy.renyi_entropy([1, 1, 2], 2, base=2))\n"
    "    1.4150374992788437")

renyi_divergence.__doc__ = _doc(
    "Renyi divergence of order `alpha` of `p` from `q`.",
    "D_alpha(P || Q) = log(sum_i x_i^alpha y_i^(1-alpha)) / (alpha - 1): KL at\n"
    "    alpha = 1, -log(sum of y over the bins with x > 0) at alpha = 0,\n"
    "    log max(x_i / y_i) at alpha = inf.",
    _PAIR + "\n" + _ALPHA + "\n" + _BASE + "\n" + _OPTIONS,
    "    +inf where p > 0 = q for alpha >= 1 (finite below 1). Summed as\n"
    "    T = sum x (r^(1-alpha) - 1 - (1-alpha)(r - 1)), r = y/x, whose terms\n"
    "    share one sign (no cancellation for near-identical histograms; a\n"
    "    series in log r near r = 1), and D = log1p(T) / (alpha - 1); a\n"
    "    log-sum-exp read where T is close to -1 or overflows.",
    "    >>> import histentropy\n"
    "    >>> round(float(histentropy.renyi_divergence([1, 1], [1, 3], 2)), 12)\n"
    "    0.287682072452\n"
    "    >>> float(histentropy.renyi_divergence([1, 1], [1, 3], 0))\n"
    "    0.0")
