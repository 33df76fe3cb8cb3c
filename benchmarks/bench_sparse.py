"""Sparse histograms against pure scipy/numpy formulations (pytest-benchmark).

Run on request: ``pytest benchmarks/bench_sparse.py --benchmark-enable``.
The same cases, with the naive row loop and peak memory, are in
``histentropy bench --suite sparse`` (histentropy/bench/sparse.py).

A CSR matrix of counts with 100 stored values per row, rows x 10 * rows
columns; row entropies, row KL against a dense reference row and against
another CSR matrix; histentropy single-threaded next to the vectorised
scipy/numpy reference (one pass over ``.data`` and ``np.add.reduceat``).
"""
import numpy as np
import pytest

import histentropy

pytest.importorskip("scipy.sparse")
from histentropy.bench import sparse as suite  # noqa: E402

SIZES = {"1e3 rows": (10**3, 10**5, 10**5),
         "1e4 rows": (10**4, 10**6, 10**6),
         "1e5 rows": (10**5, 10**6, 10**7)}


@pytest.fixture(scope="module", params=list(SIZES), ids=list(SIZES))
def data(request):
    rows, cols, nnz = SIZES[request.param]
    P = suite.csr_counts(rows, cols, nnz, 1)
    Q = suite.partner_csr(P, 2)
    q = np.random.default_rng(3).random(cols) + 0.01
    return request.param, P, Q, q


CASES = {
    "entropy": (
        lambda P, Q, q: histentropy.entropy(P, workers=1),
        lambda P, Q, q: suite.entropy_entr(P)),
    "kl vs dense row": (
        lambda P, Q, q: histentropy.kl_divergence(P, q, workers=1),
        lambda P, Q, q: suite.kl_rel_entr(P, q[P.indices], q.sum())),
    "kl vs csr": (
        lambda P, Q, q: histentropy.kl_divergence(P, Q, workers=1),
        lambda P, Q, q: suite.kl_rel_entr(P, suite.q_at_stored_bins(P, Q),
                                          suite.row_sums(Q.data, Q.indptr))),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("library", ["histentropy", "scipy"])
def test_sparse(benchmark, library, case, data):
    name, P, Q, q = data
    ours, ref = CASES[case]
    benchmark.group = f"{case} {name}"
    benchmark(ours if library == "histentropy" else ref, P, Q, q)
