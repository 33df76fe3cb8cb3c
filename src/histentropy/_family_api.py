"""The measure family: Jensen-Shannon, Hellinger, total variation, Jeffreys
(population stability index), chi-square and Renyi (layer 3).

Each public function checks its options and calls `measure`, which sends
each kind of input to its driver: dense slices to `_dense.family`, sparse
rows to `_sparse_api`, labelled histograms through `_labelled_api` as dense
vectors. Every measure is two reads of the data in the C core (family.h):
the totals, then the sum of the measure's non-negative per-bin terms.
"""

import numpy as np

from histentropy import _dense, _labelled_api, _sparse_api
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
