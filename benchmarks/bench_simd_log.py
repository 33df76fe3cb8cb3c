"""The vectorised log of the C core (include/histentropy/vlog.h) on every
dispatch path against np.log (pytest-benchmark).

Run on request: ``pytest benchmarks/bench_simd_log.py --benchmark-enable``.
Each group (one n) times np.log and histentropy._simdmath.log on every path
this CPU can run, with both logs of vlog.h (``<path>``: the table-driven
he__log; ``<path>-notable``: the table-free he__log_notable), in the same
run; ``extra_info["ns_per_element"]`` holds the mean per element (``ns_per_element_min``: the fastest round, steadier on a
shared machine).  The ``sum`` groups time the fused 8-lane reduction
sum x log x (no output array) against numpy's ``np.sum(x * np.log(x))``
(not ``x @ np.log(x)``: BLAS threads make that erratic on a loaded machine).
Both sides allocate their output array the same way (np.empty_like /
np.log's own), so page faults at n = 10**7 are in both.
"""
import numpy as np
import pytest

from histentropy import _simdmath

SIZES = {"n=1e3": 10**3, "n=1e5": 10**5, "n=1e7": 10**7}
PATHS = _simdmath.available_paths()
IMPLS = ["numpy"] + [p + suffix for p in PATHS for suffix in ("", "-notable")]


@pytest.fixture(scope="module", params=list(SIZES), ids=list(SIZES))
def data(request):
    n = SIZES[request.param]
    # positive, spread over many binades, like normalised histogram weights
    x = np.random.default_rng(0).random(n) * np.ldexp(1.0, -np.arange(n) % 40)
    return request.param, x


def _record(benchmark, n):
    if benchmark.stats is None:  # --benchmark-disable: the call ran once, untimed
        return
    stats = benchmark.stats.stats
    benchmark.extra_info["ns_per_element"] = round(stats.mean / n * 1e9, 3)
    benchmark.extra_info["ns_per_element_min"] = round(stats.min / n * 1e9, 3)


def _split(impl):
    path, _, variant = impl.partition("-")
    return path, variant or "table"


@pytest.mark.parametrize("impl", IMPLS)
def test_log(benchmark, data, impl):
    name, x = data
    benchmark.group = f"log {name}"
    if impl == "numpy":
        benchmark(np.log, x)
    else:
        benchmark(_simdmath.log, x, *_split(impl))
    _record(benchmark, x.size)


@pytest.mark.parametrize("impl", IMPLS)
def test_sum_x_log_x(benchmark, data, impl):
    name, x = data
    benchmark.group = f"sum x log x {name}"
    if impl == "numpy":
        benchmark(lambda v: np.sum(v * np.log(v)), x)
    else:
        benchmark(_simdmath.sum_x_log_x, x, *_split(impl))
    _record(benchmark, x.size)
