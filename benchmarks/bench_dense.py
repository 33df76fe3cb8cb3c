"""Dense functions against scipy.stats.entropy (pytest-benchmark).

Run on request: ``pytest benchmarks/bench_dense.py --benchmark-enable``.
Not collected by the test suite (testpaths = tests).
"""
import numpy as np
import pytest

import histentropy

stats = pytest.importorskip("scipy.stats")

SHAPES = {
    "n=1e2": (10**2,),
    "n=1e4": (10**4,),
    "n=1e6": (10**6,),
    "n=1e7": (10**7,),
    "10000x256": (10_000, 256),
}
DTYPES = (np.float64, np.float32)

FUNCTIONS = {
    "entropy": (lambda p, q: histentropy.entropy(p),
                lambda p, q: stats.entropy(p, axis=-1)),
    "kl_divergence": (histentropy.kl_divergence,
                      lambda p, q: stats.entropy(p, q, axis=-1)),
    "cross_entropy": (histentropy.cross_entropy,
                      lambda p, q: stats.entropy(p, axis=-1) + stats.entropy(p, q, axis=-1)),
}


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def shape(request):
    return SHAPES[request.param]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("function", list(FUNCTIONS))
@pytest.mark.parametrize("library", ["histentropy", "scipy"])
def test_dense(benchmark, library, function, dtype, shape):
    rng = np.random.default_rng(0)
    p = rng.random(shape).astype(dtype)
    q = rng.random(shape).astype(dtype)
    ours, ref = FUNCTIONS[function]
    benchmark.group = f"{function} {np.dtype(dtype).name} {shape}"
    benchmark(ours if library == "histentropy" else ref, p, q)
