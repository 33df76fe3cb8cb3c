"""histentropy on Dask: streaming histograms built across partitions.

The measures themselves (`histentropy.entropy`, `kl_divergence`, the family,
`pairwise`, ...) take dask arrays directly and return lazy dask arrays. This
module builds the streaming states from events held in a dask array: one
state per partition (block of rows), merged in a tree into one, returned
computed.

Needs the ``dask`` extra: ``pip install 'histentropy[dask]'``.
"""
import numpy as np

from histentropy._dask_api import import_dask
from histentropy._streaming import StreamingComparison, StreamingHistogram

__all__ = ["streaming_comparison", "streaming_histogram"]


def streaming_histogram(events, n_bins, *, reference=None, weights=None, pseudocount=0.0):
    """A `StreamingHistogram` of all the events of a dask array.

    Each partition (block of rows) of `events` is counted into its own
    histogram on the worker that holds it; the histograms merge in a tree
    (`StreamingHistogram.merge`) into one, which is returned.

    Parameters
    ----------
    events : dask.array.Array or array_like of int
        Bin indices: shape (m,) for one histogram, (m, F) for F features (one
        row per observation, as `StreamingHistogram.update`).
    n_bins : int or sequence of int
        Bins per histogram (per feature), as `StreamingHistogram`.
    reference : array_like, optional
        The reference histogram(s), as `StreamingHistogram`.
    weights : dask.array.Array or array_like, optional
        Non-negative weight of each row, shape (m,).
    pseudocount : float, default 0.0
        As `StreamingHistogram`.

    Returns
    -------
    StreamingHistogram
        Computed (with the current Dask scheduler): its counts are those of
        one histogram fed every event.

    Raises
    ------
    ValueError
        Bad `n_bins`, `reference` or `pseudocount`, `events` not 1-D or 2-D,
        `weights` not as long as `events`; at compute time, a bin index out
        of range or a bad weight (as `StreamingHistogram.update`).
    TypeError
        `events` not of an integer dtype.
    ImportError
        dask is not installed.

    Examples
    --------
    >>> import dask.array as da
    >>> import histentropy.dask
    >>> events = da.from_array([0, 1, 1, 2, 2, 2], chunks=2)
    >>> h = histentropy.dask.streaming_histogram(events, 3)
    >>> h.counts
    array([1., 2., 3.])
    """
    events, blocks, n_features = _partitions(events, weights, "events", "weights")
    StreamingHistogram(n_bins, reference=reference, n_features=n_features,
                       pseudocount=pseudocount)  # the arguments' errors, now
    settings = dict(reference=reference, n_features=n_features, pseudocount=pseudocount)
    parts = [_delayed(_partition_state)(StreamingHistogram, n_bins, settings, "update",
                                        block, w) for block, w in blocks]
    if not parts:
        return StreamingHistogram(n_bins, **settings)
    return _tree(parts).compute()


def streaming_comparison(events, reference_events, n_bins, *, weights=None,
                         reference_weights=None, pseudocount=0.0):
    """A `StreamingComparison` of two streams of events held in dask arrays.

    Each partition of `events` (the current stream) and of
    `reference_events` (the reference stream) is counted into its own
    comparison; they merge in a tree (`StreamingComparison.merge`) into one,
    which is returned.

    Parameters
    ----------
    events, reference_events : dask.array.Array or array_like of int
        Bin indices of the two streams: shape (m,) for one histogram, (m, F)
        for F features (both with the same F).
    n_bins : int or sequence of int
        Bins per histogram (per feature).
    weights, reference_weights : dask.array.Array or array_like, optional
        Non-negative weight of each row of `events` / `reference_events`.
    pseudocount : float, default 0.0
        As `StreamingComparison`.

    Returns
    -------
    StreamingComparison
        Computed, with every event of both streams counted.

    Raises
    ------
    ValueError, TypeError, ImportError
        As `streaming_histogram`; also streams with different features.

    Examples
    --------
    >>> import dask.array as da
    >>> import histentropy.dask
    >>> current = da.from_array([0, 0, 1, 1], chunks=2)
    >>> reference = da.from_array([0, 1, 1, 1], chunks=3)
    >>> c = histentropy.dask.streaming_comparison(current, reference, 2)
    >>> round(float(c.kl_divergence()), 6)
    0.143841
    """
    events, blocks, n_features = _partitions(events, weights, "events", "weights")
    reference_events, reference_blocks, reference_features = _partitions(
        reference_events, reference_weights, "reference_events", "reference_weights")
    if n_features != reference_features:
        raise ValueError(
            f"events and reference_events must have the same features; got shapes "
            f"{events.shape} and {reference_events.shape}"
        )
    settings = dict(n_features=n_features, pseudocount=pseudocount)
    StreamingComparison(n_bins, **settings)  # the arguments' errors, now
    parts = [_delayed(_partition_state)(StreamingComparison, n_bins, settings, update,
                                        block, w)
             for update, stream in (("update", blocks), ("update_reference", reference_blocks))
             for block, w in stream]
    if not parts:
        return StreamingComparison(n_bins, **settings)
    return _tree(parts).compute()


def _delayed(function):
    import dask

    return dask.delayed(function, pure=True)


def _partitions(events, weights, name, weights_name):
    """(events as a dask array, [(block, weights block or None)], n_features
    or None): the row blocks of events, each with all its features."""
    da = import_dask()
    events = da.asarray(events)
    if events.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer bin indices; got dtype {events.dtype}")
    if events.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (m,) or 2-D (m, F); got {events.ndim}-D")
    n_features = None
    if events.ndim == 2:
        n_features = events.shape[1]
        events = events.rechunk({1: -1})
    blocks = list(events.to_delayed().ravel())
    if weights is None:
        return events, [(block, None) for block in blocks], n_features
    weights = da.asarray(weights)
    if weights.ndim != 1 or weights.shape[0] != events.shape[0]:
        raise ValueError(f"{weights_name} must have shape ({events.shape[0]},), one weight "
                         f"per row; got {weights.shape}")
    weights = weights.rechunk((events.chunks[0],))
    return events, list(zip(blocks, weights.to_delayed().ravel())), n_features


def _partition_state(kind, n_bins, settings, update, block, weights):
    """A new `kind` (StreamingHistogram or StreamingComparison) with one
    partition's events passed to its method `update`."""
    state = kind(n_bins, **settings)
    if len(block):
        getattr(state, update)(np.asarray(block), weights)
    return state


def _merged(first, second):
    first.merge(second)
    return first


def _tree(parts):
    """The delayed parts merged pairwise, level by level."""
    while len(parts) > 1:
        level = [_delayed(_merged)(parts[i], parts[i + 1])
                 for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            level.append(parts[-1])
        parts = level
    return parts[0]
