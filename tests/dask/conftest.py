"""Schedulers for the Dask tests: the synchronous and threaded schedulers,
and a real distributed cluster (two worker processes of one thread each on
the loopback, started once per session)."""
import os
import sys

import dask
import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def cluster_client():
    from distributed import Client, LocalCluster

    # The workers start with the parent's sys.path, less the test folders:
    # there tests/sparse would answer `import sparse` (tests/conftest.py)
    # and dask.array would fail to import in the workers.
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if not os.path.abspath(p or ".").startswith(TESTS)]
    try:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    finally:
        sys.path[:] = saved
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(params=["sync", "threads", "distributed"])
def scheduler(request):
    """What `dask.compute(..., scheduler=...)` takes for each scheduler."""
    if request.param == "distributed":
        return request.getfixturevalue("cluster_client")
    return request.param


@pytest.fixture
def compute(scheduler):
    """dask.compute on the scheduler of the test's parameter."""
    def run(*lazy):
        return dask.compute(*lazy, scheduler=scheduler)
    return run
