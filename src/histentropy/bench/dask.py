"""Dask suite of `histentropy bench`: measures beyond memory, on a local
distributed cluster (worker processes of one thread each, on the loopback).

1. The entropy of one float64 histogram of 4 * 10**9 bins (32 GB, more than
   this machine's memory), generated lazily from ``da.random`` chunks of
   2**23 bins (64 MB) and never held whole: each chunk's state (exact
   totals, its own entropy) merges in a tree. Timed on 2 workers against 1
   (goal: >= 1.6x), with the throughput and the peak memory of a worker
   (RSS sampled every 0.1 s) against its chunk size.
2. The per-row KL of a lazily generated 10**6 x 4096 batch (32 GB) against
   one reference, blocks of 2048 rows: 2 workers against 1 (goal >= 1.6x),
   and against ``scipy.stats.entropy`` on the same blocks and workers.

--quick: 4 * 10**7 bins and 10**4 rows. Generating the random chunks is part
of every timing (the same for both sides of a row). Needs the ``dask`` extra.
"""
import threading
import time

import numpy as np

import histentropy
from histentropy.bench._common import Row

BINS = 4 * 10**9
QUICK_BINS = 4 * 10**7
BIN_CHUNK = 2**23
ROWS = 10**6
QUICK_ROWS = 10**4
ROW_CHUNK = 2048
WIDTH = 4096


def _rss():
    import psutil

    return psutil.Process().memory_info().rss


class _PeakMemory:
    """The largest RSS of each worker while the block runs."""

    def __init__(self, client, every=0.1):
        self.client, self.every = client, every
        self.idle = client.run(_rss)
        self.peak = dict(self.idle)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.wait(self.every):
            try:
                for worker, rss in self.client.run(_rss).items():
                    self.peak[worker] = max(self.peak.get(worker, 0), rss)
            except Exception:  # the cluster is closing
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _cluster(n_workers):
    import logging

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           silence_logs=logging.CRITICAL)
    return cluster, Client(cluster, set_as_default=False)


def _run(n_workers, make, repeat):
    """(best seconds, result, peak worker RSS, idle worker RSS) of computing
    make(size) on a fresh cluster of n_workers (make(small) first, to warm
    the workers up: imports, first calls)."""
    import dask

    cluster, client = _cluster(n_workers)
    try:
        dask.compute(make(small=True), scheduler=client)
        best, result = float("inf"), None
        with _PeakMemory(client) as memory:
            for _ in range(repeat):
                t0 = time.perf_counter()
                result, = dask.compute(make(small=False), scheduler=client)
                best = min(best, time.perf_counter() - t0)
        return best, result, max(memory.peak.values()), max(memory.idle.values())
    finally:
        client.close()
        cluster.close()


def _mb(nbytes):
    return f"{nbytes / 2**20:.0f} MB"


def _entropy_rows(quick):
    import dask.array as da

    n = QUICK_BINS if quick else BINS

    def make(small):
        x = da.random.default_rng(20261206).random(4 * BIN_CHUNK if small else n,
                                                   chunks=BIN_CHUNK)
        return histentropy.entropy(x)

    repeat = 3 if quick else 1
    t1, h1, _, _ = _run(1, make, repeat)
    t2, h2, peak, idle = _run(2, make, repeat)
    size = f"{n:.0e} bins ({n * 8 / 1e9:.3g} GB), chunks of {_mb(BIN_CHUNK * 8)}"
    return [Row("dask", size.replace("e+0", "e"), "float64", "entropy, 2 workers vs 1", t2,
                t1, abs(float(h2) - float(h1)), goal=">= 1.6x", ref="1 worker",
                note=f"{n / t2 / 1e9:.2f} G bins/s (1 worker {n / t1 / 1e9:.2f}); peak "
                     f"worker RSS {_mb(peak)} ({_mb(peak - idle)} above idle)",
                extra={"peak_rss": peak, "idle_rss": idle, "entropy": float(h2)})]


def _kl_rows(quick):
    import dask.array as da
    import scipy.stats

    m = QUICK_ROWS if quick else ROWS
    reference = np.random.default_rng(1).random(WIDTH) + 0.01

    def batch(small):
        return da.random.default_rng(20261207).random((4 * ROW_CHUNK if small else m, WIDTH),
                                                      chunks=(ROW_CHUNK, WIDTH))

    def ours(small):
        return histentropy.kl_divergence(batch(small), reference)

    def scipy_kl(small):
        return batch(small).map_blocks(lambda b: scipy.stats.entropy(b, reference, axis=1),
                                  drop_axis=1, dtype=np.float64)

    repeat = 3 if quick else 1
    t1, kl_one, _, _ = _run(1, ours, repeat)
    t2, kl, peak, idle = _run(2, ours, repeat)
    t_scipy, want, _, _ = _run(2, scipy_kl, repeat)
    size = f"{m:.0e}x{WIDTH} ({m * WIDTH * 8 / 1e9:.3g} GB), blocks of {ROW_CHUNK} rows"
    size = size.replace("e+0", "e")
    diff = float(np.max(np.abs(kl - want)))
    note = f"{m * WIDTH / t2 / 1e9:.2f} G bins/s; peak worker RSS {_mb(peak)} " \
           f"({_mb(peak - idle)} above idle)"
    return [
        Row("dask", size, "float64", "kl_divergence per row, 2 workers vs 1", t2, t1,
            float(np.max(np.abs(kl - kl_one))), goal=">= 1.6x", ref="1 worker", note=note),
        Row("dask", size, "float64", "kl_divergence per row, 2 workers", t2, t_scipy, diff,
            ref="scipy.stats.entropy, 2 workers",
            note="both include generating the blocks"),
    ]


def run(quick=False):
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise SystemExit("the dask suite needs dask and distributed: "
                         "pip install 'histentropy[dask]'") from None
    return _entropy_rows(quick) + _kl_rows(quick)
