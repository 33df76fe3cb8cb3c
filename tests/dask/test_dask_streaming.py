"""histentropy.dask.streaming_histogram / streaming_comparison: a state per
partition merged in a tree equals one in-memory state fed every event (the
reference: np.bincount of the events, and a StreamingHistogram fed them in
one batch), on every scheduler; bad partitions raise at compute time."""
import dask
import dask.array as da
import numpy as np
import pytest

import histentropy
import histentropy.dask as hdask


def _counts(events, n_bins, weights=None):
    events = np.asarray(events)
    if events.ndim == 1:
        return np.bincount(events, weights=weights, minlength=n_bins).astype(float)
    return np.stack([np.bincount(events[:, f], weights=weights, minlength=n_bins)
                     for f in range(events.shape[1])]).astype(float)


@pytest.mark.parametrize("chunks", [(1000,), (1, 0, 333, 666), (100,) * 10])
def test_streaming_histogram_one_feature(rng, scheduler, chunks):
    events = rng.integers(0, 12, 1000)
    weights = rng.random(1000)
    reference = rng.random(12) + 0.1
    with dask.config.set(scheduler=scheduler):
        h = hdask.streaming_histogram(da.from_array(events, chunks=(chunks,)), 12,
                                      reference=reference,
                                      weights=da.from_array(weights, chunks=250))
    assert isinstance(h, histentropy.StreamingHistogram)
    np.testing.assert_allclose(h.counts, _counts(events, 12, weights), rtol=1e-13)
    one = histentropy.StreamingHistogram(12, reference=reference)
    one.update(events, weights)
    np.testing.assert_allclose(h.kl_divergence(), one.kl_divergence(), rtol=1e-12)
    np.testing.assert_allclose(h.entropy(), histentropy.entropy(_counts(events, 12, weights)),
                               rtol=1e-12)


def test_streaming_histogram_features_and_numpy_input(rng):
    events = rng.integers(0, 5, (2000, 4))
    reference = rng.random((4, 5)) + 0.1
    h = hdask.streaming_histogram(da.from_array(events, chunks=(300, 3)), 5,
                                  reference=reference)
    assert h.n_features == 4
    np.testing.assert_allclose(h.counts, _counts(events, 5))
    np.testing.assert_allclose(h.kl_divergence(),
                               histentropy.kl_divergence(_counts(events, 5), reference),
                               rtol=1e-12)
    assert hdask.streaming_histogram(events[:10], 5, reference=reference).total.tolist() \
        == [10.0] * 4
    empty = hdask.streaming_histogram(da.zeros((0,), dtype=np.int64, chunks=1), 3)
    assert empty.counts.tolist() == [0.0, 0.0, 0.0]


def test_streaming_comparison(rng, scheduler):
    current = rng.integers(0, 8, (3000, 2))
    reference = rng.integers(0, 8, (1000, 2))
    with dask.config.set(scheduler=scheduler):
        c = hdask.streaming_comparison(da.from_array(current, chunks=(700, 2)),
                                       da.from_array(reference, chunks=((0, 400, 600), (2,))),
                                       8, pseudocount=0.5)
    want = histentropy.StreamingComparison(8, n_features=2, pseudocount=0.5)
    want.update(current)
    want.update_reference(reference)
    for name in ("kl_divergence", "js_divergence", "hellinger_distance", "entropy"):
        np.testing.assert_allclose(getattr(c, name)(), getattr(want, name)(), rtol=1e-12)
    np.testing.assert_allclose(
        c.kl_divergence(),
        histentropy.kl_divergence(_counts(current, 8), _counts(reference, 8), pseudocount=0.5),
        rtol=1e-12)


def test_errors():
    with pytest.raises(TypeError, match="integer"):
        hdask.streaming_histogram(da.ones(4, chunks=2), 3)
    with pytest.raises(ValueError, match="1-D"):
        hdask.streaming_histogram(da.ones((2, 2, 2), dtype=int, chunks=1), 3)
    with pytest.raises(ValueError, match="weights"):
        hdask.streaming_histogram(da.ones(4, dtype=int, chunks=2), 3, weights=np.ones(3))
    with pytest.raises(ValueError):
        hdask.streaming_histogram(da.ones(4, dtype=int, chunks=2), 0)
    with pytest.raises(ValueError, match="features"):
        hdask.streaming_comparison(da.ones((4, 2), dtype=int, chunks=2),
                                   da.ones((4, 3), dtype=int, chunks=2), 3)
    # a bin out of range in one partition: the update's error, at compute time
    events = np.zeros(100, dtype=np.int64)
    events[77] = 9
    with pytest.raises(ValueError, match="bin"):
        hdask.streaming_histogram(da.from_array(events, chunks=30), 3)
    with pytest.raises(ValueError, match="weight"):
        hdask.streaming_histogram(da.zeros(10, dtype=int, chunks=4), 3,
                                  weights=-np.ones(10))
