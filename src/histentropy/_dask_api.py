"""Dask arrays (layer 3): the public functions on `dask.array.Array` input,
lazily, block by block, with the drivers of the in-memory functions.

Along the histogram axis a histogram may be split into many blocks. Each
block gives a state (the C core's chunks.h: the exact totals of p and q, and
for entropy and KL the block's own entropy and divergence), the states merge
in a tree (``da.reduction``), and the measure is read off the merged state.
Entropy and KL merge by the chain rule, every term non-negative, so their
accuracy does not depend on the chunking and the data is read once. The
rest of the family needs the totals of the whole histogram before it can
sum a bin's term: a first pass merges the totals, a second pass sums each
block's terms against them, and those sums merge in a second tree.

When the histogram axis is one block, each block is simply the in-memory
function of its histograms (``map_blocks``).

dask is imported here, when a dask array is first met, never by
``import histentropy``.
"""
import functools
import math

import numpy as np

from histentropy import _dense
from histentropy._validation import (
    as_weights,
    check_alpha,
    check_nan_policy,
    axis_index,
    check_pseudocount,
    common_dtype,
    is_dask,
    log_of_base,
    pair_shape,
    raise_for_flags,
)

# The fields of a block's state and of a second pass, in the order of
# chunks.h's he_chunk_field and he_chunk_second_field.
STATE = np.dtype([(name, np.float64) for name in (
    "p_hi", "p_lo", "p_exp", "q_hi", "q_lo", "q_exp", "p_largest", "q_largest",
    "kept", "flags", "p_only", "q_only", "entropy", "kl")])
SECOND = np.dtype([(name, np.float64) for name in (
    "sum_hi", "sum_lo", "lse_k", "lse_m", "lse_hi", "lse_lo")])
assert len(STATE) == _dense.CHUNK_FIELDS and len(SECOND) == _dense.CHUNK_SECOND_FIELDS

NEED_ENTROPY, NEED_KL = 1, 2


def import_dask():
    """dask.array, or an ImportError that names the extra to install."""
    try:
        import dask.array
    except ImportError as error:
        raise ImportError(
            "histentropy's Dask support needs dask[array] and distributed: "
            "pip install 'histentropy[dask]'"
        ) from error
    return dask.array


# ---- operands ---------------------------------------------------------------

def _operand(a, name):
    """`a` as a dask array of weights; a bad dtype is the in-memory TypeError."""
    da = import_dask()
    if not is_dask(a):
        a = as_weights(a, name)
    a = da.asarray(a)
    as_weights(np.empty(0, dtype=a.dtype), name)  # the dtype check, now
    if any(np.isnan(n) for n in a.shape):
        raise ValueError(f"{name} has unknown chunk sizes (shape {a.shape}); call "
                         f"{name}.compute_chunk_sizes() first")
    return a


def _operands(p, q, axis):
    """(p, q or None, reduced axes): dask arrays of one shape (q broadcast
    against p), and the axes of each histogram as a sorted tuple."""
    da = import_dask()
    p = _operand(p, "p")
    if q is not None:
        q = _operand(q, "q")
        pair_shape(p.shape, q.shape, axis)  # the shapes' errors, as in memory
        p, q = da.broadcast_arrays(p, q)
    if axis is None:
        axes = tuple(range(p.ndim))
    else:
        axes = (axis_index(axis, p.ndim),)
    if not axes:
        raise ValueError("p must have at least one dimension")
    return p, q, axes


def _as_rows(block, axes):
    """A block as (rows, bins): the reduced axes last and flattened."""
    moved = np.moveaxis(block, axes, range(block.ndim - len(axes), block.ndim))
    split = block.ndim - len(axes)
    return moved.reshape((math.prod(moved.shape[:split]), math.prod(moved.shape[split:])))


def _block_rows(p, q, axes):
    """(p rows, q rows or None, the block's shape with the reduced axes kept
    as length 1): a block as (rows, bins) arrays the kernels read, in one
    dtype."""
    p = as_weights(p, "p")
    if q is not None:
        p, q = common_dtype(p, as_weights(q, "q"))
    keep = tuple(1 if i in axes else n for i, n in enumerate(p.shape))
    return _as_rows(p, axes), None if q is None else _as_rows(q, axes), keep


def _one_block_along(p, axes):
    return all(p.numblocks[a] == 1 for a in axes)


def _map_in_memory(name, arrays, axes, whole, keepdims, **options):
    """The in-memory function `name` of each block (each histogram in one
    block along `axes`; whole: axis=None)."""
    da = import_dask()
    function = functools.partial(_in_memory, name, options=dict(
        options, axis=None if whole else axes[0], keepdims=keepdims, workers=1))
    if keepdims:
        chunks = tuple((1,) if i in axes else c for i, c in enumerate(arrays[0].chunks))
        return da.map_blocks(function, *arrays, chunks=chunks, dtype=np.float64)
    return da.map_blocks(function, *arrays, drop_axis=axes, dtype=np.float64)


def _in_memory(name, *blocks, options):
    from histentropy import _api, _family_api
    if name in ("entropy", "cross_entropy", "kl_divergence"):
        return getattr(_api, name)(*blocks, **options)
    return _family_api.measure(name, *blocks, **options)


# ---- block states and their merge ---------------------------------------------

def _state_block(p, q=None, *, axes, nan_policy, c, need):
    """The state (STATE) of each histogram's part in this block, with the
    reduced axes kept as length 1; bad weights raise here, at compute time."""
    rows_p, rows_q, keep = _block_rows(p, q, axes)
    states, flags = _dense.chunk_read(rows_p, rows_q, c)
    raise_for_flags(flags, nan_policy, pair=rows_q is not None)
    states = states.view(STATE)[:, 0]
    if need and rows_p.size:
        from histentropy import _api
        options = dict(axis=-1, nan_policy=nan_policy, pseudocount=c, workers=1)
        if rows_q is None:
            states["entropy"] = _api.entropy(rows_p, **options)
        elif need & NEED_ENTROPY:
            d = _api.decompose(rows_p, rows_q, **options)
            states["entropy"], states["kl"] = d.entropy, d.kl_divergence
            # The pair's entropy is NaN where q has no mass; a block of
            # such a row still holds its part of p's entropy.
            redo = (states["p_hi"] > 0.0) & (states["q_hi"] == 0.0)
            if redo.any():
                rows = rows_p[redo]
                if nan_policy == "omit":  # the bins kept for the pair
                    rows = np.where(np.isnan(rows_q[redo]), np.nan, rows)
                states["entropy"][redo] = _api.entropy(rows, **options)
        else:
            states["kl"] = _api.kl_divergence(rows_p, rows_q, **options)
    return states.reshape(keep)


def _flat(states, dtype):
    """Structured states as a C-contiguous (..., fields) float64 array."""
    states = np.ascontiguousarray(states)
    return states.view(np.float64).reshape(states.shape + (len(dtype),))


def _merge(x, axis, keepdims, merge, dtype):
    """Merges the states of x along `axis` (a tuple) with `merge` (the
    driver's, on (rows, k, fields))."""
    axis = tuple(sorted(axis))
    moved = np.moveaxis(x, axis, range(x.ndim - len(axis), x.ndim))
    outer = moved.shape[:x.ndim - len(axis)]
    rows, k = math.prod(outer), math.prod(moved.shape[len(outer):])
    merged = merge(_flat(moved.reshape(rows, k), dtype)).view(dtype).reshape(outer)
    return np.expand_dims(merged, axis) if keepdims else merged


def _merge_states(x, axis=None, keepdims=False, need=0):
    return _merge(x, axis, keepdims, lambda s: _dense.chunk_merge(s, need), STATE)


def _merge_seconds(x, axis=None, keepdims=False):
    return _merge(x, axis, keepdims, _dense.chunk_second_merge, SECOND)


def _keep(x, axis=None, keepdims=True):
    return x


def _merged_states(p, q, axes, keepdims, nan_policy, c, need):
    """The lazy merged state of every histogram."""
    da = import_dask()
    index = tuple(range(p.ndim))
    arrays = (p, index) if q is None else (p, index, q, index)
    states = da.blockwise(
        functools.partial(_state_block, axes=axes, nan_policy=nan_policy, c=c, need=need),
        index, *arrays, dtype=STATE, adjust_chunks={a: 1 for a in axes},
        meta=np.empty((0,) * p.ndim, dtype=STATE))
    return da.reduction(
        states, _keep, functools.partial(_merge_states, need=need),
        combine=functools.partial(_merge_states, need=need), axis=axes,
        keepdims=keepdims, dtype=STATE, concatenate=True,
        meta=np.empty((0,) * (p.ndim if keepdims else p.ndim - len(axes)), dtype=STATE))


def _value_block(states, *, measure, pair, omit, log_base):
    values = _dense.chunk_values(_flat(states, STATE).reshape(-1, len(STATE)), measure,
                                 pair, omit)
    return values.reshape(states.shape) / log_base


def _values(merged, measure, pair, omit, log_base):
    return merged.map_blocks(
        functools.partial(_value_block, measure=measure, pair=pair, omit=omit,
                          log_base=log_base),
        dtype=np.float64, meta=np.empty((0,) * merged.ndim))


# ---- the public functions -------------------------------------------------------

def entropy(p, base, axis, keepdims, nan_policy, pseudocount=0.0):
    return divergence(p, None, base, axis, keepdims, nan_policy, True, pseudocount)[0]


def divergence(p, q, base, axis, keepdims, nan_policy, need_entropy, pseudocount=0.0):
    """(entropy of p or None, KL of p against q, or None when q is None),
    lazily, in units of `base`."""
    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    c = check_pseudocount(pseudocount)
    p, q, axes = _operands(p, q, axis)
    if _one_block_along(p, axes) and (q is None or not need_entropy):
        value = _map_in_memory("entropy" if q is None else "kl_divergence",
                               (p,) if q is None else (p, q), axes, axis is None, keepdims,
                               base=base, nan_policy=nan_policy, pseudocount=c)
        return (value, None) if q is None else (None, value)
    need = (NEED_ENTROPY if need_entropy else 0) | (0 if q is None else NEED_KL)
    merged = _merged_states(p, q, axes, keepdims, nan_policy, c, need)
    pair = q is not None
    entropy_ = _values(merged, _dense.MEASURES["entropy"], pair, omit, log_base) \
        if need_entropy else None
    kl = _values(merged, _dense.MEASURES["kl_divergence"], pair, omit, log_base) \
        if pair else None
    return entropy_, kl


def _second_block(p, q, totals, *, axes, code, alpha, c):
    """The second pass (SECOND) of each histogram's part in this block."""
    rows_p, rows_q, keep = _block_rows(p, q, axes)
    second = _dense.chunk_read(rows_p, rows_q, c, code, alpha,
                               _flat(totals, STATE).reshape(-1, len(STATE)))
    return second.view(SECOND).reshape(keep)


def _family_block(second, totals, *, code, alpha, c, one, omit, log_base):
    values = _dense.chunk_family_values(
        _flat(totals, STATE).reshape(-1, len(STATE)),
        _flat(second, SECOND).reshape(-1, len(SECOND)), code, alpha, c, one, omit)
    return values.reshape(second.shape) / log_base


def measure(name, p, q=None, *, alpha=1.0, base=None, axis=-1, keepdims=False,
            nan_policy="propagate", pseudocount=0.0):
    """`name` (a key of `_dense.MEASURES`) of dask input, lazily: entropy
    and KL by their one-pass merge, the rest of the family in two passes."""
    da = import_dask()
    if name in ("entropy", "kl_divergence"):
        ent, kl = divergence(p, q, base, axis, keepdims, nan_policy, name == "entropy",
                             pseudocount)
        return ent if name == "entropy" else kl
    code = _dense.MEASURES[name]
    alpha = check_alpha(alpha)
    omit = check_nan_policy(nan_policy)
    log_base = log_of_base(base)
    c = check_pseudocount(pseudocount)
    p, q, axes = _operands(p, q, axis)
    one = q is None
    if _one_block_along(p, axes):
        return _map_in_memory(name, (p,) if one else (p, q), axes, axis is None, keepdims,
                              alpha=alpha, base=base, nan_policy=nan_policy, pseudocount=c)
    totals = _merged_states(p, q, axes, True, nan_policy, c, 0)
    index = tuple(range(p.ndim))
    second = da.blockwise(
        functools.partial(_second_block, axes=axes, code=code, alpha=alpha, c=c),
        index, p, index, q, None if one else index, totals, index,
        dtype=SECOND, adjust_chunks={a: 1 for a in axes},
        meta=np.empty((0,) * p.ndim, dtype=SECOND))
    merged = da.reduction(
        second, _keep, _merge_seconds, combine=_merge_seconds, axis=axes, keepdims=True,
        dtype=SECOND, concatenate=True, meta=np.empty((0,) * p.ndim, dtype=SECOND))
    values = da.map_blocks(
        functools.partial(_family_block, code=code, alpha=alpha, c=c, one=one, omit=omit,
                          log_base=log_base),
        merged, totals, dtype=np.float64, meta=np.empty((0,) * p.ndim))
    return values if keepdims else values.squeeze(axis=axes)


def pairwise(P, Q, metric, base, pseudocount, out):
    """pairwise of dask rows (options checked), lazily: one block of the
    matrix per pair of row blocks, each row whole (its blocks along the bins
    concatenated)."""
    da = import_dask()
    if out is not None:
        raise ValueError("out is not supported for dask input: the result is lazy; "
                         "store it with dask.array.store or to_zarr")
    P = _operand(P, "P")
    Q = P if Q is None else _operand(Q, "Q")
    for a, name in ((P, "P"), (Q, "Q")):
        if a.ndim != 2:
            raise ValueError(f"{name} must be 2-D (histograms as rows); got {a.ndim}-D")
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"P and Q must have the same number of bins; got "
                         f"{P.shape[1]} and {Q.shape[1]}")
    function = functools.partial(_pairwise_block, metric=metric, base=base,
                                 pseudocount=pseudocount)
    return da.blockwise(function, "ij", P, "ik", Q, "jk", concatenate=True,
                        dtype=np.float64, meta=np.empty((0, 0)))


def _pairwise_block(P, Q, *, metric, base, pseudocount):
    from histentropy import _pairwise_api
    return _pairwise_api.pairwise(P, Q, metric=metric, base=base, pseudocount=pseudocount,
                                  workers=1)
