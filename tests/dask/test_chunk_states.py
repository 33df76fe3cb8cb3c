"""The C core's block states (chunks.h) without dask: a histogram cut at
random points into blocks, each block's state, the states merged in a random
tree, equal the in-memory functions of the whole histogram (1e-12 relative;
the in-memory functions are checked against scipy and mpmath elsewhere).
These tests drive the merge kernels directly, so the sanitizer stage runs
them without installing dask."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import histentropy
from histentropy import _dask_api, _dense

MEASURES = {"js_divergence": False, "hellinger_distance": False, "total_variation": False,
            "jeffreys_divergence": False, "chi_square_divergence": False,
            "renyi_entropy": True, "renyi_divergence": False}


def _blocks(n, cuts):
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return list(zip(edges[:-1], edges[1:])) + [(n, n)]  # an empty block too


def _merge_tree(states, rng, merge):
    """Merges (rows, k) states (fields last) in a random grouping."""
    parts = [states[:, i:i + 1] for i in range(states.shape[1])]
    while len(parts) > 1:
        i = int(rng.integers(0, len(parts) - 1))
        j = i + int(rng.integers(1, min(4, len(parts) - i) + 1)) - 1
        group = np.ascontiguousarray(np.concatenate(parts[i:j + 1], axis=1))
        parts[i:j + 1] = [merge(group)[:, None, :]]
    return np.ascontiguousarray(parts[0][:, 0, :])


def _states(p, q, blocks, c, need):
    return np.stack([_dask_api._state_block(p[:, a:b], None if q is None else q[:, a:b],
                                            axes=(1,), nan_policy="omit", c=c,
                                            need=need).view(np.float64).reshape(len(p), -1)
                     for a, b in blocks], axis=1)


def _close(got, want, rel=1e-12, atol=1e-28):
    got, want = np.asarray(got), np.asarray(want)
    assert np.array_equal(np.isnan(got), np.isnan(want)), (got, want)
    assert np.array_equal(np.isinf(got), np.isinf(want)), (got, want)
    ok = np.isfinite(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=rel, atol=atol)


weights = st.sampled_from([
    lambda r, s: r.random(s),
    lambda r, s: r.integers(0, 3, s).astype(float),
    lambda r, s: r.random(s) * 1e307,
    lambda r, s: r.random(s) * 1e-310,
    lambda r, s: np.where(r.random(s) < 0.9, 0.0, r.random(s) * 1e12),
])


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60),
       cuts=st.lists(st.integers(0, 10**6), max_size=8), make_p=weights, make_q=weights,
       c=st.sampled_from([0.0, 0.5]))
def test_entropy_and_kl_merge_in_any_grouping(seed, n, cuts, make_p, make_q, c):
    rng = np.random.default_rng(seed)
    p, q = make_p(rng, (3, n)), make_q(rng, (3, n))
    q[0] = p[0] * (1 + 1e-9 * rng.standard_normal(n))  # near-identical
    p[1, n // 2:] = np.nan                               # omitted
    states = _states(p, q, _blocks(n, cuts), c, _dask_api.NEED_ENTROPY | _dask_api.NEED_KL)
    merged = _merge_tree(states, rng, lambda s: _dense.chunk_merge(s, 3))
    d = histentropy.decompose(p, q, nan_policy="omit", pseudocount=c)
    _close(_dense.chunk_values(merged, _dense.MEASURES["entropy"], True, True), d.entropy)
    _close(_dense.chunk_values(merged, _dense.MEASURES["kl_divergence"], True, True),
           d.kl_divergence, atol=1e-27)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60),
       cuts=st.lists(st.integers(0, 10**6), max_size=8), make_p=weights, make_q=weights,
       name=st.sampled_from(sorted(MEASURES)), alpha=st.sampled_from([0.5, 2.0, np.inf]))
def test_family_second_pass_merges(seed, n, cuts, make_p, make_q, name, alpha):
    rng = np.random.default_rng(seed)
    one = MEASURES[name]
    p, q = make_p(rng, (2, n)), None if one else make_q(rng, (2, n))
    if name == "renyi_divergence" and alpha == np.inf:
        alpha = 3.0
    blocks = _blocks(n, cuts)
    code = _dense.MEASURES[name]
    totals = _merge_tree(_states(p, q, blocks, 0.0, 0), rng,
                         lambda s: _dense.chunk_merge(s, 0))
    seconds = np.stack([_dense.chunk_read(np.ascontiguousarray(p[:, a:b]),
                                          None if one else np.ascontiguousarray(q[:, a:b]),
                                          0.0, code, alpha, totals)
                        for a, b in blocks], axis=1)
    second = _merge_tree(seconds, rng, _dense.chunk_second_merge)
    got = _dense.chunk_family_values(totals, second, code, alpha, 0.0, one, False)
    if name.startswith("renyi"):
        want = getattr(histentropy, name)(*((p,) if one else (p, q)), alpha)
    else:
        want = getattr(histentropy, name)(p, q)
    _close(got, want, rel=1e-11, atol=1e-12)


def test_states_of_bad_weights_flag_them():
    p = np.array([[1.0, -1.0, 2.0], [1.0, np.inf, 0.0], [np.nan, 1.0, 1.0]])
    _, flags = _dense.chunk_read(p, None, 0.0)
    assert flags & _dense.NEGATIVE_P and flags & _dense.INFINITE_P and flags & _dense.NAN_SEEN
    with pytest.raises(ValueError, match="non-negative"):
        _dask_api._state_block(p[:1], axes=(1,), nan_policy="propagate", c=0.0, need=1)
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        _dask_api._state_block(p[2:], axes=(1,), nan_policy="raise", c=0.0, need=1)
