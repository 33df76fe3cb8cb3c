"""StreamingHistogram against the scipy way (pytest-benchmark).

Run on request: ``pytest benchmarks/bench_streaming.py --benchmark-enable``.
A stream of int32 bin indices over 10**4 bins in batches of 10**5. The scipy
way keeps counts with ``np.bincount`` and calls ``scipy.stats.entropy`` on the
counts per query; compare the groups' means (events/s = 10**5 / mean for the
update groups).
"""
import numpy as np
import pytest

from histentropy import _streaming

stats = pytest.importorskip("scipy.stats")

N_BINS = 10**4
BATCH = 10**5
MODES = {"plain": {}, "window=1e6": {"window": 10**6}, "decay=1e-6": {"decay": 1e-6}}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    reference = rng.dirichlet(np.full(N_BINS, 5.0))
    batches = [rng.integers(0, N_BINS, BATCH).astype(np.int32) for _ in range(8)]
    return reference, batches


@pytest.mark.parametrize("mode", list(MODES))
def test_update_histentropy(benchmark, data, mode):
    reference, batches = data
    h = _streaming.StreamingHistogram(N_BINS, reference=reference, **MODES[mode])
    it = iter(range(10**12))
    benchmark.group = f"update batch of {BATCH} over {N_BINS} bins"
    benchmark(lambda: h.update(batches[next(it) % 8]))


def test_update_bincount(benchmark, data):
    _, batches = data
    counts = np.zeros(N_BINS, np.int64)
    it = iter(range(10**12))
    benchmark.group = f"update batch of {BATCH} over {N_BINS} bins"
    benchmark(lambda: np.add(counts, np.bincount(batches[next(it) % 8],
                                                 minlength=N_BINS), out=counts))


@pytest.mark.parametrize("query", ["entropy", "kl_divergence"])
@pytest.mark.parametrize("library", ["histentropy", "scipy"])
def test_query(benchmark, data, query, library):
    reference, batches = data
    h = _streaming.StreamingHistogram(N_BINS, reference=reference)
    for b in batches:
        h.update(b)
    counts = h.counts.copy()
    h.kl_divergence()
    benchmark.group = f"{query} query, {N_BINS} bins"
    if library == "histentropy":
        benchmark(getattr(h, query))
    elif query == "entropy":
        benchmark(stats.entropy, counts)
    else:
        benchmark(stats.entropy, counts, reference)


@pytest.mark.parametrize("library", ["histentropy", "scipy"])
def test_stream_with_queries(benchmark, data, library):
    """10**7 events, one entropy and one KL query per batch."""
    reference, batches = data

    def ours():
        h = _streaming.StreamingHistogram(N_BINS, reference=reference)
        for i in range(100):
            h.update(batches[i % 8])
            h.entropy()
            h.kl_divergence()

    def scipy_way():
        counts = np.zeros(N_BINS, np.int64)
        for i in range(100):
            counts += np.bincount(batches[i % 8], minlength=N_BINS)
            stats.entropy(counts)
            stats.entropy(counts, reference)

    benchmark.group = "1e7 events, 2 queries per batch"
    benchmark.pedantic(ours if library == "histentropy" else scipy_way, rounds=3)
