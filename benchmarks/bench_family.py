"""The rest of the family (Jensen-Shannon, Hellinger, total variation, Jeffreys,
chi-square, Renyi) against the numpy/scipy formulation (pytest-benchmark).

Run on request: ``pytest benchmarks/bench_family.py --benchmark-enable``.
Not collected by the test suite (testpaths = tests). The same cases, with the
ratio, the goal and the relative difference, are in
``histentropy bench --suite family`` (histentropy/bench/family.py), whose
references are used here: ``scipy.spatial.distance.jensenshannon`` for JS, the
plain numpy expression on normalised copies for the others (Renyi at
alpha = 2). histentropy runs with ``workers=1``.
"""
import pytest

pytest.importorskip("scipy.spatial")
from histentropy.bench import family as suite  # noqa: E402

SHAPES = {"n=1e7": (10**7,), "10000x256": (10_000, 256)}


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def data(request):
    shape = SHAPES[request.param]
    return request.param, suite.data(shape, 1), suite.data(shape, 2)


@pytest.mark.parametrize("function", suite.FUNCTIONS)
@pytest.mark.parametrize("library", ["histentropy", "reference"])
def test_family(benchmark, library, function, data):
    case, p, q = data
    benchmark.group = f"{function} float64 {case}"
    if library == "histentropy":
        benchmark(suite.ours(function), p, q)
    else:
        benchmark(suite.REFERENCES[function][0], p, q)
