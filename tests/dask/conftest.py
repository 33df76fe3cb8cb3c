"""Schedulers for the Dask tests: the synchronous and threaded schedulers,
and a real distributed cluster (two worker processes of one thread each on
the loopback, started once per test module). dask is imported by the fixtures
only: test_chunk_states.py runs without it (in the sanitizer stage)."""
import pytest


@pytest.fixture(scope="module")
def cluster_client():
    # Per module, not per session: a live client's threads allocate in the
    # background, which later tests' tracemalloc peaks would count.
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
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
    import dask

    def run(*lazy):
        return dask.compute(*lazy, scheduler=scheduler)
    return run
