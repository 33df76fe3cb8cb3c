"""Joint tables and estimators (pytest-benchmark): mutual information of
one 1000 x 1000 table of counts against scikit-learn's
``mutual_info_score(contingency=...)``, and each entropy estimator of
1e4 x 256 counts against the plug-in entropy of the same rows.

Run on request: ``pytest benchmarks/bench_joint.py --benchmark-enable``.
Not collected by the test suite (testpaths = tests). The same cases with
their ratios, goals and differences are in ``histentropy bench --suite
joint`` (histentropy/bench/joint.py), whose data are used here; one thread.
"""
import pytest

import histentropy
from histentropy.bench import joint as suite

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture(scope="module")
def table():
    return suite.counts(suite.TABLE, 1)


@pytest.fixture(scope="module")
def rows():
    return suite.counts(suite.ROWS, 3)


@pytest.mark.parametrize("library", ["histentropy", "sklearn"])
def test_mutual_information(benchmark, library, table):
    benchmark.group = "mutual information, int64 1000x1000"
    if library == "sklearn":
        benchmark(sklearn_metrics.mutual_info_score, None, None, contingency=table)
    else:
        benchmark(histentropy.mutual_information, table, workers=1)


@pytest.mark.parametrize("estimator", ("plugin",) + suite.ESTIMATORS)
def test_estimators(benchmark, estimator, rows):
    benchmark.group = "entropy estimators, int64 10000x256"
    benchmark(histentropy.entropy, rows, estimator=estimator, workers=1)
