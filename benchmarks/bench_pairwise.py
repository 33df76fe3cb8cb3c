"""Pairwise matrices (``histentropy.pairwise``) against the numpy/scipy
formulation (pytest-benchmark): the dense cases.

Run on request: ``pytest benchmarks/bench_pairwise.py --benchmark-enable``.
Not collected by the test suite (testpaths = tests). The same cases at the
issue's sizes, with the ratio, the goal, the relative difference and the
sparse case, are in ``histentropy bench --suite pairwise``
(histentropy/bench/pairwise.py), whose references are used here: KL against
``rel_entr(Pn[:, None], Qn[None]).sum(-1)`` (broadcasting), the JS distance
against ``scipy.spatial.distance.cdist(P, Q, "jensenshannon")``, cross entropy
against ``-(Pn @ np.log(Qn).T)`` (GEMM). Smaller sizes than the suite's (cdist
takes tens of seconds at 2000 x 2000 x 256). histentropy runs with
``workers=1`` and with the default workers.
"""
import pytest

pytest.importorskip("scipy.spatial")
from histentropy.bench import pairwise as suite  # noqa: E402

# metric -> (rows of P, rows of Q, bins)
SHAPES = {
    "kl_divergence": (500, 500, 64),
    "js_distance": (500, 500, 256),
    "cross_entropy": (1000, 1000, 256),
}


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def case(request):
    m, n, k = SHAPES[request.param]
    return request.param, suite.data(m, k, 1), suite.data(n, k, 2)


@pytest.mark.parametrize("library", ["histentropy-1-thread", "histentropy-default",
                                     "reference"])
def test_pairwise(benchmark, library, case):
    metric, P, Q = case
    benchmark.group = f"{metric} float64 {P.shape[0]}x{Q.shape[0]}x{P.shape[1]}"
    if library == "reference":
        benchmark(suite.REFERENCES[metric][0], P, Q)
    else:
        benchmark(suite.ours(metric, 1 if library == "histentropy-1-thread" else None),
                  P, Q)
