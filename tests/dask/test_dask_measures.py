"""The measures on dask arrays: lazy results equal to the in-memory functions
(1e-12 relative) and to the exact (mpmath) values of the hard cases, for
chunkings that split the histogram axis unevenly, with empty chunks, one bin
per chunk and one chunk holding all the mass; on the synchronous, threaded
and distributed schedulers.

References: the in-memory functions (themselves checked against scipy and
mpmath elsewhere) and the `exact` fixture (mpmath, 60 digits).
"""
import subprocess
import sys

import dask
import dask.array as da
import numpy as np
import pytest

import histentropy
from dense.test_dense_accuracy import CASES

PAIR = [histentropy.kl_divergence, histentropy.cross_entropy]
FAMILY_PAIR = [histentropy.js_divergence, histentropy.js_distance,
               histentropy.hellinger_distance, histentropy.total_variation,
               histentropy.jeffreys_divergence, histentropy.chi_square_divergence,
               histentropy.population_stability_index]


def assert_same(got, want, rel=1e-12, atol=1e-28):
    """got (computed from dask) equals want (in memory): NaN and inf in the
    same places, finite values to `rel` relative. Below 1e-28 the two may
    differ by 1e-28: KL of histograms a few ulp apart (~1e-33) is within the
    contract (1e-12 absolute below 1) but not relatively accurate in memory
    (the exact checks hold both to the contract)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want)), (got, want)
    assert np.array_equal(got[np.isinf(got)], want[np.isinf(got)]), (got, want)
    assert np.array_equal(np.isinf(got), np.isinf(want)), (got, want)
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=rel, atol=atol)


def chunkings(n):
    """Splits of n bins along the histogram axis: uneven, with empty chunks,
    and (for short histograms) one bin per chunk."""
    uneven = [c for c in (1, 2, 3, n // 3) if c] + [0]
    uneven[-1] = n - sum(uneven[:-1])
    out = {"uneven": tuple(c for c in uneven if c) if sum(uneven[:-1]) < n else (n,),
           "empty": (0, n // 2, 0, n - n // 2, 0)}
    if n <= 64:
        out["one-bin"] = (1,) * n
    return out


def lazy(a, chunks):
    return da.from_array(np.asarray(a), chunks=(chunks,))


# ---- import -----------------------------------------------------------------

def test_importing_histentropy_does_not_import_dask():
    code = ("import sys, numpy, histentropy; histentropy.entropy(numpy.ones(3)); "
            "assert 'dask' not in sys.modules, sorted(m for m in sys.modules if 'dask' in m)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_dask_names_the_extra(monkeypatch):
    from histentropy import _dask_api

    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"histentropy\[dask\]"):
        _dask_api.import_dask()


# ---- the hard cases, every measure, every chunking ----------------------------

@pytest.mark.parametrize("p, q", CASES)
def test_hard_cases_match_exact_and_in_memory(exact, p, q):
    for name, chunks in chunkings(len(p)).items():
        P, Q = lazy(p, chunks), lazy(q, chunks)
        ent_p, ent_q, kl_pq, kl_qp, cross, dec = dask.compute(
            histentropy.entropy(P), histentropy.entropy(Q), histentropy.kl_divergence(P, Q),
            histentropy.kl_divergence(Q, P), histentropy.cross_entropy(P, Q),
            histentropy.decompose(P, Q), scheduler="sync")
        what = f"{name} chunks {chunks[:6]}"
        exact.assert_close(float(ent_p), exact.entropy(p), what=f"entropy(p), {what}")
        exact.assert_close(float(ent_q), exact.entropy(q), what=f"entropy(q), {what}")
        exact.assert_close(float(kl_pq), exact.kl_divergence(p, q), what=f"KL(p||q), {what}")
        exact.assert_close(float(kl_qp), exact.kl_divergence(q, p), what=f"KL(q||p), {what}")
        exact.assert_close(float(cross), exact.cross_entropy(p, q), what=f"H(p,q), {what}")
        assert_same(ent_p, histentropy.entropy(p))
        assert_same(kl_pq, histentropy.kl_divergence(p, q))
        assert_same(kl_qp, histentropy.kl_divergence(q, p))
        assert_same(cross, histentropy.cross_entropy(p, q))
        for got, want in zip(dec, histentropy.decompose(p, q)):
            assert_same(got, want)
        assert min(float(ent_p), float(kl_pq), float(kl_qp)) >= 0.0


@pytest.mark.parametrize("p, q", CASES)
def test_hard_cases_family_match_in_memory(p, q):
    """Within the contract (1e-12 absolute below 1) of the in-memory values:
    on near-deterministic histograms the in-memory Renyi entropy is accurate
    to ~1e-14 absolute, not relative (the chunked one is, here)."""
    for chunks in chunkings(len(p)).values():
        P, Q = lazy(p, chunks), lazy(q, chunks)
        lazies = [f(P, Q) for f in FAMILY_PAIR]
        lazies += [histentropy.renyi_entropy(P, a) for a in (0.5, 2.0, np.inf)]
        lazies += [histentropy.renyi_divergence(P, Q, a) for a in (0.5, 2.0)]
        wants = [f(p, q) for f in FAMILY_PAIR]
        wants += [histentropy.renyi_entropy(p, a) for a in (0.5, 2.0, np.inf)]
        wants += [histentropy.renyi_divergence(p, q, a) for a in (0.5, 2.0)]
        for got, want in zip(dask.compute(*lazies, scheduler="sync"), wants):
            assert_same(got, want, rel=1e-11, atol=1e-12)


def test_hard_cases_on_every_scheduler(compute):
    """All the hard cases in one graph per scheduler (distributed included)."""
    lazies, wants = [], []
    for param in CASES:
        p, q = param.values
        chunks = chunkings(len(p))["empty"]
        P, Q = lazy(p, chunks), lazy(q, chunks)
        lazies += [histentropy.entropy(P), histentropy.kl_divergence(P, Q),
                   histentropy.js_divergence(P, Q)]
        wants += [histentropy.entropy(p), histentropy.kl_divergence(p, q),
                  histentropy.js_divergence(p, q)]
    for got, want in zip(compute(*lazies), wants):
        assert_same(got, want, rel=1e-11)


# ---- chunkings ----------------------------------------------------------------

def _batch(rng, rows=6, n=500):
    p = rng.random((rows, n)) * rng.choice([1e-3, 1.0, 1e6], size=(rows, 1))
    q = rng.random((rows, n))
    p[1, 100:] = 0.0              # mass in the first chunks only
    q[2, :] = p[2, :] * (1 + 1e-9 * rng.standard_normal(n))  # near-identical
    p[3, 7] = 0.0
    q[4, :] = 0.0                 # q without mass: NaN
    p[5, :] = 0.0
    p[5, 250] = 3.0               # one bin holds all the mass
    return p, q


@pytest.mark.parametrize("chunks", [((6,), (500,)), ((2, 4), (100, 0, 37, 363)),
                                    ((1,) * 6, (1, 499)), ((3, 3), (250, 250))])
def test_batches_every_measure(rng, compute, chunks):
    p, q = _batch(rng)
    P, Q = da.from_array(p, chunks=chunks), da.from_array(q, chunks=chunks)
    functions = [histentropy.entropy] + PAIR + FAMILY_PAIR
    lazies = [f(P) if f is histentropy.entropy else f(P, Q) for f in functions]
    wants = [f(p) if f is histentropy.entropy else f(p, q) for f in functions]
    results = compute(*lazies)
    for f, got, want in zip(functions, results, wants):
        assert got.shape == (6,)
        assert_same(got, want, rel=1e-11 if f in FAMILY_PAIR else 1e-12)


def test_one_chunk_holds_all_the_mass(exact):
    p = np.zeros(300)
    q = np.zeros(300)
    p[120:180] = np.linspace(1.0, 2.0, 60)
    q[120:180] = np.linspace(2.0, 1.0, 60)
    for chunks in ((120, 60, 120), (100, 20, 60, 0, 120), (60,) * 5):
        P, Q = lazy(p, chunks), lazy(q, chunks)
        exact.assert_close(float(histentropy.entropy(P).compute()), exact.entropy(p))
        exact.assert_close(float(histentropy.kl_divergence(P, Q).compute()),
                           exact.kl_divergence(p, q))
        assert_same(histentropy.js_divergence(P, Q).compute(),
                    histentropy.js_divergence(p, q))


def test_accuracy_does_not_depend_on_the_chunking(exact, rng):
    """Near-identical histograms and a near-deterministic one: every chunking
    is within the contract of the exact value."""
    n = 4096
    p = rng.random(n) + 0.5
    q = p * (1 + 1e-7 * rng.standard_normal(n))
    d = np.r_[1.0, np.full(n - 1, 1e-13)]
    want_kl, want_h = exact.kl_divergence(p, q), exact.entropy(d)
    for chunks in ((n,), (1000, 1000, 2096), (1,) * 64 + (n - 64,), (7,) * (n // 7) + (n % 7,)):
        exact.assert_rel(float(histentropy.kl_divergence(lazy(p, chunks), lazy(q, chunks))
                               .compute(scheduler="sync")), want_kl, 1e-12)
        exact.assert_rel(float(histentropy.entropy(lazy(d, chunks)).compute(scheduler="sync")),
                         want_h, 1e-12)


def test_overflowing_and_subnormal_chunks(exact):
    huge = np.full(1000, 1.7e308)
    huge[::3] = 1.0
    tiny = np.full(1000, 5e-324)
    tiny[::7] = 1e-300
    ones = np.ones(1000)
    for chunks in ((128,) * 7 + (104,), (1, 999)):
        for p, q in ((huge, ones), (ones, huge), (tiny, ones), (huge, tiny)):
            P, Q = lazy(p, chunks), lazy(q, chunks)
            exact.assert_close(float(histentropy.entropy(P).compute()), exact.entropy(p))
            exact.assert_close(float(histentropy.kl_divergence(P, Q).compute()),
                               exact.kl_divergence(p, q))
            assert_same(histentropy.js_divergence(P, Q).compute(),
                        histentropy.js_divergence(p, q), rel=1e-11)
            assert_same(histentropy.renyi_entropy(P, 2.0).compute(),
                        histentropy.renyi_entropy(p, 2.0), rel=1e-11)


# ---- options --------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_axis_keepdims_base(rng, axis, keepdims):
    p = rng.random((40, 30))
    q = rng.random((40, 30))
    P = da.from_array(p, chunks=(13, 7))
    for f, args, dargs in ((histentropy.entropy, (p,), (P,)),
                           (histentropy.kl_divergence, (p, q), (P, q)),
                           (histentropy.hellinger_distance, (p, q), (P, q)),
                           (histentropy.renyi_divergence, (p, q, 0.7), (P, q, 0.7))):
        kw = dict(axis=axis, keepdims=keepdims)
        if f is not histentropy.hellinger_distance:
            kw["base"] = 2
        want = f(*args, **kw)
        got = f(*dargs, **kw)
        assert isinstance(got, da.Array)
        assert got.shape == np.shape(want)
        assert_same(got.compute(scheduler="sync"), want, rel=1e-11)


@pytest.mark.parametrize("nan_policy", ["propagate", "omit"])
def test_nan_policy(rng, nan_policy):
    p = rng.random((4, 200))
    q = rng.random((4, 200))
    p[0, 3] = np.nan
    q[1, 150] = np.nan
    p[2, :] = np.nan
    P, Q = da.from_array(p, chunks=(2, 60)), da.from_array(q, chunks=(4, 90))
    for f in [histentropy.kl_divergence, histentropy.js_divergence]:
        assert_same(f(P, Q, nan_policy=nan_policy).compute(scheduler="sync"),
                    f(p, q, nan_policy=nan_policy), rel=1e-11)
    assert_same(histentropy.entropy(P, nan_policy=nan_policy).compute(scheduler="sync"),
                histentropy.entropy(p, nan_policy=nan_policy))
    for got, want in zip(histentropy.decompose(P, Q, nan_policy=nan_policy),
                         histentropy.decompose(p, q, nan_policy=nan_policy)):
        assert_same(got.compute(scheduler="sync"), want)


@pytest.mark.parametrize("c", [0.5, 1.0, 1e-9])
def test_pseudocount(rng, c):
    p = rng.integers(0, 4, (5, 300))
    q = rng.integers(0, 4, (5, 300)).astype(np.uint16)
    P, Q = da.from_array(p, chunks=(2, 71)), da.from_array(q, chunks=(5, 100))
    for f in [histentropy.entropy, histentropy.kl_divergence, histentropy.cross_entropy,
              histentropy.js_divergence, histentropy.chi_square_divergence]:
        args, dargs = ((p,), (P,)) if f is histentropy.entropy else ((p, q), (P, Q))
        assert_same(f(*dargs, pseudocount=c).compute(scheduler="sync"),
                    f(*args, pseudocount=c), rel=1e-11)


def test_mixed_dask_and_numpy_and_dtypes(rng):
    p = rng.integers(0, 1000, (8, 64)).astype(np.int32)
    reference = rng.random(64).astype(np.float32)
    P = da.from_array(p, chunks=(3, 20))
    assert_same(histentropy.kl_divergence(P, reference).compute(),
                histentropy.kl_divergence(p, reference))
    assert_same(histentropy.kl_divergence(reference, P).compute(),
                histentropy.kl_divergence(reference, p))
    assert_same(histentropy.js_divergence(p[0], da.from_array(reference, chunks=10)).compute(),
                histentropy.js_divergence(p[0], reference), rel=1e-11)
    for dtype in (np.bool_, np.uint8, np.int64, np.float16, np.float32):
        a = (rng.random(100) * 3).astype(dtype)
        assert_same(histentropy.entropy(da.from_array(a, chunks=33)).compute(),
                    histentropy.entropy(a))


@pytest.mark.parametrize("shape, chunks, axis", [
    ((4, 6), ((0, 4), (3, 3)), -1), ((4, 6), ((2, 2), (6, 0)), 0), ((0, 5), (1, 2), -1),
    ((3, 0), (1, 1), 0), ((2, 0, 3), (1, 1, 2), 1), ((2, 0, 3), (1, 1, 2), None)])
def test_empty_blocks_and_dimensions(rng, shape, chunks, axis):
    p = rng.random(shape)
    q = rng.random(shape)
    P, Q = da.from_array(p, chunks=chunks), da.from_array(q, chunks=chunks)
    for f in (histentropy.entropy, histentropy.kl_divergence, histentropy.js_divergence):
        args, dargs = ((p,), (P,)) if f is histentropy.entropy else ((p, q), (P, Q))
        for keepdims in (False, True):
            want = f(*args, axis=axis, keepdims=keepdims)
            assert_same(f(*dargs, axis=axis, keepdims=keepdims).compute(scheduler="sync"),
                        want, rel=1e-11)
    for got, want in zip(histentropy.decompose(P, q, axis=axis),
                         histentropy.decompose(p, q, axis=axis)):
        assert_same(got.compute(scheduler="sync"), want)


def test_results_are_lazy_and_inputs_untouched(rng):
    p = rng.random((3, 50))
    keep = p.copy()
    P = da.from_array(p, chunks=(2, 20))
    for result in (histentropy.entropy(P), histentropy.kl_divergence(P, p),
                   histentropy.js_divergence(P, P), *histentropy.decompose(P, p),
                   histentropy.pairwise(P)):
        assert isinstance(result, da.Array)
    histentropy.decompose(P, p)[0].compute()
    np.testing.assert_array_equal(p, keep)


def test_pairwise(rng, compute):
    P = rng.random((30, 40))
    Q = rng.random((20, 40))
    Q[3, 5] = 0.0
    dP, dQ = da.from_array(P, chunks=(7, 15)), da.from_array(Q, chunks=(11, 40))
    for metric in ("kl_divergence", "js_distance", "hellinger_distance", "cross_entropy"):
        got, = compute(histentropy.pairwise(dP, dQ, metric=metric))
        assert_same(got, histentropy.pairwise(P, Q, metric=metric), rel=1e-12)
    got, = compute(histentropy.pairwise(dP, metric="js_divergence", base=2))
    assert_same(got, histentropy.pairwise(P, metric="js_divergence", base=2), rel=1e-12)
    got, = compute(histentropy.pairwise(P, dQ, pseudocount=0.5))
    assert_same(got, histentropy.pairwise(P, Q, pseudocount=0.5), rel=1e-12)


# ---- errors -----------------------------------------------------------------------

@pytest.mark.parametrize("bad, message", [(-1.0, "non-negative"), (np.inf, "finite")])
def test_bad_weight_in_a_chunk_raises_at_compute(bad, message, scheduler):
    p = np.ones(100)
    p[77] = bad
    P = da.from_array(p, chunks=30)
    for lazy_result in (histentropy.entropy(P), histentropy.kl_divergence(P, np.ones(100)),
                        histentropy.kl_divergence(np.ones(100), P),
                        histentropy.js_divergence(P, np.ones(100)),
                        histentropy.entropy(da.from_array(p, chunks=100))):
        with pytest.raises(ValueError, match=message):
            dask.compute(lazy_result, scheduler=scheduler)


def test_nan_raise_at_compute():
    p = np.ones(100)
    p[5] = np.nan
    P = da.from_array(p, chunks=30)
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        histentropy.entropy(P, nan_policy="raise").compute()
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        histentropy.hellinger_distance(P, np.ones(100), nan_policy="raise").compute()


def test_bad_arguments_raise_at_call():
    P = da.ones((4, 10), chunks=(2, 5))
    with pytest.raises(ValueError, match="nan_policy"):
        histentropy.entropy(P, nan_policy="nope")
    with pytest.raises(ValueError, match="base"):
        histentropy.kl_divergence(P, P, base=0.5)
    with pytest.raises(ValueError, match="pseudocount"):
        histentropy.js_divergence(P, P, pseudocount=-1)
    with pytest.raises(ValueError, match="alpha"):
        histentropy.renyi_entropy(P, -2.0)
    with pytest.raises(np.exceptions.AxisError):
        histentropy.entropy(P, axis=2)
    with pytest.raises(ValueError, match="broadcast"):
        histentropy.kl_divergence(P, np.ones(7))
    # bins are not broadcast, as in memory
    for q, axis in ((np.ones(10), 0), (np.ones((1, 10)), 0), (np.ones((4, 1)), -1),
                    (np.float64(2.0), -1)):
        with pytest.raises(ValueError, match="same length along axis"):
            histentropy.kl_divergence(np.ones((4, 10)), q, axis=axis)
        for p_, q_ in ((P, q), (q, P)):
            with pytest.raises(ValueError, match="same length along axis"):
                histentropy.js_divergence(p_, q_, axis=axis)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        x = da.ones(6, chunks=2)
        histentropy.kl_divergence(x[x > 0], x[x > 0])
    with pytest.raises(TypeError, match="real weights"):
        histentropy.entropy(da.ones(4, dtype=complex))
    with pytest.raises(TypeError, match="real weights"):
        histentropy.kl_divergence(P, np.array(["a"] * 10))
    with pytest.raises(ValueError, match="estimator"):
        histentropy.entropy(P, estimator="miller_madow")
    with pytest.raises(ValueError, match="unknown metric|metric"):
        histentropy.pairwise(P, metric="nope")
    with pytest.raises(ValueError, match="out"):
        histentropy.pairwise(P, out=np.empty((4, 4)))
    with pytest.raises(ValueError, match="2-D"):
        histentropy.pairwise(da.ones(3))
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="dask"):
        histentropy.kl_divergence(P, scipy_sparse.csr_matrix(np.ones((4, 10))))
