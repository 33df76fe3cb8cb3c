"""Signatures, errors, special values and NaN policies of the family (issue 12).

* The public API, keyword for keyword; population_stability_index is
  jeffreys_divergence.
* ValueError naming the argument: alpha negative or NaN; pseudocount
  negative, inf or NaN; negative or infinite weights (naming p or q, also
  with a pseudocount that would make them positive); a NaN with
  nan_policy='raise'; base <= 1; lengths differing along axis. TypeError for
  complex and string input. Inputs are never modified.
* Special values: +inf where p > 0 = q for Jeffreys (and q > 0 = p),
  chi-square, Renyi divergence alpha >= 1 and KL; JS, Hellinger and total
  variation always finite; no mass gives NaN; identical and proportional
  p, q give 0 to rounding (never negative, never NaN) for every measure;
  disjoint supports reach the top of each range.
* nan_policy 'propagate' and 'omit' (a bin is dropped when either side is
  NaN), as for kl_divergence.
"""
import inspect
import math

import numpy as np
import pytest

import histentropy

FAMILY = ["js_divergence", "js_distance", "hellinger_distance", "total_variation",
          "jeffreys_divergence", "chi_square_divergence", "renyi_entropy",
          "renyi_divergence"]
CORE = ["entropy", "cross_entropy", "kl_divergence", "decompose"]


def _call(measure, p, q, **kw):
    return measure(p, q if measure.pair else None, **kw)


def _as_tuple(r):
    if isinstance(r, histentropy.Decomposition):
        return tuple(np.asarray(v) for v in r)
    return (np.asarray(r),)


# ---------------------------------------------------------------------------
# The API of the issue
# ---------------------------------------------------------------------------

_COMMON = [("axis", -1), ("keepdims", False), ("nan_policy", "propagate"),
           ("pseudocount", 0.0), ("workers", None)]
SIGNATURES = {
    "js_divergence": (["p", "q"], [("base", None)] + _COMMON),
    "js_distance": (["p", "q"], [("base", None)] + _COMMON),
    "hellinger_distance": (["p", "q"], _COMMON),
    "total_variation": (["p", "q"], _COMMON),
    "jeffreys_divergence": (["p", "q"], [("base", None)] + _COMMON),
    "chi_square_divergence": (["p", "q"], _COMMON),
    "renyi_entropy": (["p", "alpha"], [("base", None)] + _COMMON),
    "renyi_divergence": (["p", "q", "alpha"], [("base", None)] + _COMMON),
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature(name):
    positional, keywords = SIGNATURES[name]
    sig = inspect.signature(getattr(histentropy, name))
    params = list(sig.parameters.values())
    assert [p.name for p in params[:len(positional)]] == positional
    for p in params[:len(positional)]:
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, p
        assert p.default is inspect.Parameter.empty, p
    rest = {p.name: p for p in params[len(positional):]}
    assert sorted(rest) == sorted(k for k, _ in keywords), list(rest)
    for key, default in keywords:
        assert rest[key].kind is inspect.Parameter.KEYWORD_ONLY, rest[key]
        assert rest[key].default == default and type(rest[key].default) is type(default), (
            key, rest[key].default)


@pytest.mark.parametrize("name", CORE)
def test_core_functions_gained_pseudocount(name):
    p = inspect.signature(getattr(histentropy, name)).parameters["pseudocount"]
    assert p.kind is inspect.Parameter.KEYWORD_ONLY
    assert p.default == 0.0 and type(p.default) is float


def test_population_stability_index_is_the_same_object():
    assert histentropy.population_stability_index is histentropy.jeffreys_divergence


def test_docstrings():
    for name in FAMILY:
        doc = getattr(histentropy, name).__doc__
        assert doc and "pseudocount" in doc, name


# ---------------------------------------------------------------------------
# alpha
# ---------------------------------------------------------------------------

BAD_ALPHAS = [-1.0, -1e-300, -np.inf, np.nan, np.float64(-2.0), np.float32(np.nan), -3]


@pytest.mark.parametrize("alpha", BAD_ALPHAS, ids=repr)
def test_bad_alpha(alpha):
    p = np.array([1.0, 2.0, 3.0])
    q = np.array([3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="alpha"):
        histentropy.renyi_entropy(p, alpha)
    with pytest.raises(ValueError, match="alpha"):
        histentropy.renyi_divergence(p, q, alpha)
    # every input kind
    with pytest.raises(ValueError, match="alpha"):
        histentropy.renyi_entropy({"a": 1, "b": 2}, alpha)
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match="alpha"):
        histentropy.renyi_divergence(sparse.csr_array(p[None]), q, alpha)


@pytest.mark.parametrize("alpha", ["2", None, 1j, [1.0, 2.0]], ids=repr)
def test_alpha_not_a_real_scalar(alpha):
    with pytest.raises((TypeError, ValueError), match="alpha"):
        histentropy.renyi_entropy(np.array([1.0, 2.0]), alpha)
    with pytest.raises((TypeError, ValueError), match="alpha"):
        histentropy.renyi_divergence(np.array([1.0, 2.0]), np.array([2.0, 1.0]), alpha)


@pytest.mark.parametrize("alpha", [0, 0.0, 1e-300, 1, np.inf, np.float32(2), np.int64(5)],
                         ids=repr)
def test_good_alpha(alpha):
    """alpha is any scalar in [0, inf]."""
    p = np.array([1.0, 2.0, 3.0])
    q = np.array([3.0, 2.0, 1.0])
    assert np.isfinite(histentropy.renyi_entropy(p, alpha))
    assert np.isfinite(histentropy.renyi_divergence(p, q, alpha))


# ---------------------------------------------------------------------------
# pseudocount
# ---------------------------------------------------------------------------

BAD_PSEUDOCOUNTS = [-1.0, -1e-300, np.inf, -np.inf, np.nan, np.float32(-0.5), -1]


def _all_functions(family):
    return family.MEASURES + family.CORE + [family.Measure("decompose")]


@pytest.mark.parametrize("c", BAD_PSEUDOCOUNTS, ids=repr)
def test_bad_pseudocount(family, c):
    p = np.array([1.0, 0.0, 3.0])
    q = np.array([3.0, 2.0, 0.0])
    sparse = pytest.importorskip("scipy.sparse")
    for m in _all_functions(family):
        for a, b, kind in ((p, q, "dense"), (sparse.csr_array(p[None]), q, "sparse"),
                           ({"a": 1, "b": 2}, {"a": 2, "c": 1}, "labelled")):
            with pytest.raises(ValueError, match="pseudocount"):
                _call(m, a, b, pseudocount=c)


@pytest.mark.parametrize("c", ["1", None, 1j], ids=repr)
def test_pseudocount_not_a_real_scalar(family, c):
    for m in _all_functions(family):
        with pytest.raises((TypeError, ValueError), match="pseudocount"):
            _call(m, np.ones(3), np.ones(3), pseudocount=c)


# ---------------------------------------------------------------------------
# Bad weights, base, nan_policy, shapes, types
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [-1.0, -1e-300, np.inf, -np.inf])
@pytest.mark.parametrize("c", [0.0, 2.0])
def test_bad_weights_name_the_argument(family, bad, c):
    good = np.array([1.0, 2.0, 3.0])
    worse = np.array([1.0, bad, 3.0])
    message = "negative" if bad > -np.inf and bad < 0 else "finite"
    for m in _all_functions(family):
        with pytest.raises(ValueError, match=r"\bp\b") as info:
            _call(m, worse, good, pseudocount=c)
        assert message in str(info.value) or "finite" in str(info.value) or (
            bad == -np.inf and "negative" in str(info.value)), str(info.value)
        if m.pair:
            with pytest.raises(ValueError, match=r"\bq\b") as info:
                m(good, worse, pseudocount=c)
            assert not str(info.value).startswith("p "), str(info.value)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.float32])
def test_negative_integers(family, dtype):
    p = np.array([1, -1, 3], dtype=dtype)
    for m in family.MEASURES:
        with pytest.raises(ValueError, match="negative"):
            _call(m, p, np.ones(3, dtype=dtype))


@pytest.mark.parametrize("base", [0, 1, 1.0, -2, 0.5, np.inf, np.nan, "2", 2j])
def test_bad_base(family, base):
    for m in family.MEASURES:
        if not m.has_base:
            continue
        with pytest.raises(ValueError, match="base"):
            _call(m, np.array([1.0, 2.0]), np.array([2.0, 1.0]), base=base)


def test_no_base_keyword_where_the_issue_has_none():
    for name in ("hellinger_distance", "total_variation", "chi_square_divergence"):
        with pytest.raises(TypeError):
            getattr(histentropy, name)(np.ones(2), np.ones(2), base=2)


@pytest.mark.parametrize("nan_policy", ["foo", None, "OMIT", 1])
def test_bad_nan_policy(family, nan_policy):
    for m in family.MEASURES:
        with pytest.raises(ValueError, match="nan_policy"):
            _call(m, np.array([1.0, 2.0]), np.array([2.0, 1.0]), nan_policy=nan_policy)


@pytest.mark.parametrize("p_shape, q_shape, axis", [
    ((4,), (5,), -1), ((3, 4), (3, 5), -1), ((4,), (1,), -1), ((3, 4), (1, 4), 0),
    ((3, 4), (5, 4), None), ((2, 3), (3, 2), -1),
])
def test_mismatched_lengths(pair_measure, p_shape, q_shape, axis):
    with pytest.raises(ValueError):
        pair_measure(np.ones(p_shape), np.ones(q_shape), axis=axis)


def test_bad_axis(family):
    for m in family.MEASURES:
        with pytest.raises(np.exceptions.AxisError):
            _call(m, np.ones((2, 3)), np.ones((2, 3)), axis=2)


NON_REAL = [
    pytest.param(np.array([1 + 0j, 2, 3]), id="complex128"),
    pytest.param(np.array([1, 2, 3], dtype=np.complex64), id="complex64"),
    pytest.param(np.array(["1", "2", "3"]), id="str"),
    pytest.param(np.array([1, 2, 3], dtype=object), id="object"),
    pytest.param(["a", "b", "c"], id="list-of-str"),
]


@pytest.mark.parametrize("bad", NON_REAL)
def test_non_real_is_a_type_error(family, bad):
    for m in family.MEASURES:
        with pytest.raises(TypeError):
            _call(m, bad, np.ones(3))
        if m.pair:
            with pytest.raises(TypeError, match=r"\bq\b"):
                m(np.ones(3), bad)


def test_workers_are_checked(family):
    for m in family.MEASURES:
        with pytest.raises(ValueError, match="workers"):
            _call(m, np.ones(3), np.ones(3), workers=0)
        with pytest.raises(TypeError, match="workers"):
            _call(m, np.ones(3), np.ones(3), workers=1.5)


# ---------------------------------------------------------------------------
# Inputs are never modified
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
def test_inputs_not_modified(rng, family, dtype):
    p = (rng.random((5, 8)) * 10).astype(dtype)
    q = (rng.random((5, 8)) * 10 + 1).astype(dtype)
    if np.dtype(dtype).kind == "f":
        p[1, 2] = np.nan
    before = p.copy(), q.copy()
    for m in _all_functions(family):
        for kw in (dict(), dict(pseudocount=0.5), dict(nan_policy="omit", pseudocount=3.0),
                   dict(axis=0, pseudocount=1e-3), dict(axis=None)):
            _call(m, p, q, **kw)
        np.testing.assert_array_equal(p, before[0], err_msg=str(m))
        np.testing.assert_array_equal(q, before[1], err_msg=str(m))


def test_inputs_not_modified_on_error(family):
    p = np.array([1.0, -1.0, 2.0])
    q = np.array([1.0, np.nan, 1.0])
    before = p.copy(), q.copy()
    for m in _all_functions(family):
        with pytest.raises(ValueError):
            _call(m, p, q, pseudocount=2.0)
        with pytest.raises(ValueError):
            _call(m, q, p, pseudocount=2.0, nan_policy="raise")
    np.testing.assert_array_equal(p, before[0])
    np.testing.assert_array_equal(q, before[1])


def test_labelled_not_modified(family):
    p = {"a": 1, "b": 0, "c": 2.5}
    q = {"c": 1, "d": 3}
    before = dict(p), dict(q)
    for m in _all_functions(family):
        _call(m, p, q, pseudocount=0.5)
    assert p == before[0] and q == before[1]


# ---------------------------------------------------------------------------
# Special values
# ---------------------------------------------------------------------------

INF_WHERE_P_POSITIVE_Q_ZERO = [("jeffreys_divergence", None), ("chi_square_divergence", None),
                               ("kl_divergence", None), ("renyi_divergence", 1.0),
                               ("renyi_divergence", 1 + 1e-9), ("renyi_divergence", 2.0),
                               ("renyi_divergence", 5.0), ("renyi_divergence", 1e4),
                               ("renyi_divergence", np.inf)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("func, alpha", INF_WHERE_P_POSITIVE_Q_ZERO,
                         ids=[f"{f}[{a}]" for f, a in INF_WHERE_P_POSITIVE_Q_ZERO])
def test_inf_where_p_positive_and_q_zero(family, func, alpha, dtype):
    m = family.Measure(func, alpha)
    p = np.array([1, 1, 0], dtype=dtype)
    q = np.array([1, 0, 1], dtype=dtype)
    assert m(p, q) == math.inf
    if m.has_base:
        assert m(p, q, base=2) == math.inf
    # tiny p where q = 0 is still +inf
    assert m(np.array([1.0, 5e-324]), np.array([1.0, 0.0])) == math.inf
    assert m(np.array([1e308, 1e308, 1e-300]), np.array([1.0, 1.0, 0.0])) == math.inf
    # only in its row
    got = m(np.array([[1.0, 1.0], [2.0, 0.0], [1.0, 1.0]]),
            np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]))
    assert got[2] == math.inf and np.isfinite(got[[0, 1]]).all(), got


def test_jeffreys_inf_either_way():
    p = np.array([1.0, 1.0, 0.0])
    q = np.array([1.0, 1.0, 1.0])
    assert histentropy.jeffreys_divergence(p, q) == math.inf
    assert histentropy.jeffreys_divergence(q, p) == math.inf
    # chi-square and the Renyi divergences of p w.r.t. a q covering p's support are finite
    assert np.isfinite(histentropy.chi_square_divergence(p, q))
    for alpha in (0, 0.3, 1, 2, 5, np.inf):
        assert np.isfinite(histentropy.renyi_divergence(p, q, alpha)), alpha


def test_renyi_below_one_where_q_is_zero_is_finite():
    """p > 0 = q in one bin: q^(1 - alpha) = 0 there, D_alpha is finite."""
    p = np.array([1.0, 1.0])
    q = np.array([1.0, 0.0])
    # S = (1/2)^alpha: D_alpha = alpha log 2 / (1 - alpha)
    for alpha in (0.3, 0.5, 0.9):
        assert histentropy.renyi_divergence(p, q, alpha) == pytest.approx(
            alpha * math.log(2) / (1 - alpha), rel=1e-14)
    d0 = histentropy.renyi_divergence(p, q, 0)  # q's mass is all on p's support
    assert 0.0 <= d0 <= 1e-15, d0
    assert histentropy.renyi_divergence(q, p, 0) == pytest.approx(math.log(2), rel=1e-15)


def test_disjoint_supports_reach_the_top_of_each_range():
    p = np.array([1.0, 2.0, 0.0, 0.0])
    q = np.array([0.0, 0.0, 3.0, 4.0])
    log2 = math.log(2)
    assert histentropy.js_divergence(p, q) == pytest.approx(log2, rel=1e-15)
    assert histentropy.js_divergence(p, q, base=2) == pytest.approx(1.0, rel=1e-15)
    assert histentropy.js_distance(p, q) == pytest.approx(math.sqrt(log2), rel=1e-15)
    assert histentropy.js_distance(p, q, base=2) == pytest.approx(1.0, rel=1e-15)
    assert histentropy.hellinger_distance(p, q) == pytest.approx(1.0, rel=1e-15)
    assert histentropy.total_variation(p, q) == pytest.approx(1.0, rel=1e-15)
    assert histentropy.jeffreys_divergence(p, q) == math.inf
    assert histentropy.chi_square_divergence(p, q) == math.inf
    for alpha in (0, 0.3, 1, 2, np.inf):
        assert histentropy.renyi_divergence(p, q, alpha) == math.inf, alpha


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8])
def test_js_hellinger_tv_always_finite(rng, dtype):
    for _ in range(20):
        p = (rng.random(12) * 50 * (rng.random(12) < 0.5)).astype(dtype)
        q = (rng.random(12) * 50 * (rng.random(12) < 0.5)).astype(dtype)
        p[0] += 1
        q[-1] += 1
        for name in ("js_divergence", "js_distance", "hellinger_distance",
                     "total_variation"):
            v = getattr(histentropy, name)(p, q)
            assert np.isfinite(v) and 0.0 <= v <= 1.0 + 1e-15, (name, p, q, v)


@pytest.mark.parametrize("zero", [np.zeros(4), np.zeros(4, dtype=np.int64),
                                  np.zeros(3, dtype=bool), np.zeros(0)],
                         ids=["zeros", "int-zeros", "bool-false", "empty"])
def test_no_mass_is_nan(family, zero):
    other = np.ones(zero.size)
    for m in family.MEASURES:
        r = _call(m, zero, other)
        assert type(r) is np.float64 and np.isnan(r), (m, r)
        if m.pair:
            r = m(other, zero)
            assert np.isnan(r), (m, r)


def test_no_mass_in_one_row_of_a_batch(family):
    p = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    for m in family.MEASURES:
        r = _call(m, p, np.ones(3))
        assert np.isnan(r[1]) and np.isfinite(r[[0, 2]]).all(), (m, r)
        if m.pair:
            r = m(np.ones(3), p)
            assert np.isnan(r[1]) and np.isfinite(r[[0, 2]]).all(), (m, r)


def test_empty_axis_with_pseudocount_has_no_mass(family):
    for m in family.MEASURES:
        r = _call(m, np.zeros((2, 0)), np.zeros((2, 0)), pseudocount=1.0)
        assert r.shape == (2,) and np.isnan(r).all(), (m, r)


def _proportional_pairs(rng):
    p = rng.random(500)
    p[rng.random(500) < 0.2] = 0.0
    counts = rng.integers(0, 10**6, size=300)
    counts[::7] = 0
    huge = rng.random(50) * 1e308
    tiny = rng.integers(0, 2**20, size=50) * 5e-324
    return [
        ("identical", p, p.copy()),
        ("identical-int", counts, counts.copy()),
        ("3p-float", p, 3.0 * p),
        ("3p-int", counts, 3 * counts),
        ("int-vs-3.0-float", counts, 3.0 * counts),
        ("int32-vs-float32", counts.astype(np.int32), counts.astype(np.float32) * 3),
        ("counts-vs-probabilities", counts, counts / counts.sum()),
        ("p-vs-p/7", p, p / 7.0),
        ("huge-overflowing", huge, huge / 2),
        ("huge-vs-normal", huge, huge / 1e300),
        ("subnormal-vs-normal", tiny, tiny * 2.0**60),
        # (float32 * 4 is exact; float32 * 3 would round to 6e-8 relative,
        # and distances of ~1e-8 would be exact)
        ("float32", p.astype(np.float32), p.astype(np.float32) * np.float32(4)),
        ("deterministic", np.array([0.0, 7.0, 0.0]), np.array([0, 2, 0])),
        ("single-bin", np.array([3.0]), np.array([1e-300])),
    ]


@pytest.mark.parametrize("name", ["identical", "identical-int", "3p-float", "3p-int",
                                  "int-vs-3.0-float", "int32-vs-float32",
                                  "counts-vs-probabilities", "p-vs-p/7", "huge-overflowing",
                                  "huge-vs-normal", "subnormal-vs-normal", "float32",
                                  "deterministic", "single-bin"])
def test_identical_and_proportional_give_zero(rng, family, name):
    """0 to rounding, never negative, never NaN, for every measure (and
    both directions). The exact values here are 0 or below ~1e-30 (the
    inputs are proportional up to one rounding of each bin)."""
    cases = {n: (a, b) for n, a, b in _proportional_pairs(np.random.default_rng(12))}
    p, q = cases[name]
    for m in family.HARD_MEASURES + [family.Measure("kl_divergence")]:
        if not m.pair:
            continue
        for a, b in ((p, q), (q, p)):
            got = m(a, b)
            assert not math.isnan(got), (m, got)
            assert 0.0 <= got <= 1e-14, (m, name, got)
            if name.startswith("identical"):  # still identical after + c
                got = m(a, b, pseudocount=0.5)
                assert 0.0 <= got <= 1e-14, (m, name, "pseudocount", got)
    # batched rows and axis=None too
    P = np.vstack([p, p])
    Q = np.vstack([q, q])
    for m in family.PAIR_MEASURES:
        for axis in (-1, None):
            got = np.atleast_1d(m(P, Q, axis=axis))
            assert ((got >= 0) & (got <= 1e-14)).all(), (m, axis, got)


# ---------------------------------------------------------------------------
# nan_policy
# ---------------------------------------------------------------------------

def test_nan_propagate(family):
    p = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])
    q = np.array([[1.0, 1.0, 1.0], [1.0, np.nan, 1.0]])
    for m in family.MEASURES:
        r = _call(m, p, np.ones((2, 3)))
        assert np.isnan(r[0]) and np.isfinite(r[1]), (m, r)
        assert np.isnan(_call(m, p, np.ones((2, 3)), axis=None)), m
        assert np.isnan(_call(m, p, np.ones((2, 3)), pseudocount=1.0)[0]), m
        if m.pair:
            r = m(np.ones((2, 3)), q, nan_policy="propagate")
            assert np.isnan(r[1]) and np.isfinite(r[0]), (m, r)


def test_nan_raise(family):
    p = np.array([1.0, np.nan, 3.0])
    for m in family.MEASURES:
        with pytest.raises(ValueError, match="NaN"):
            _call(m, p, np.ones(3), nan_policy="raise")
        if m.pair:
            with pytest.raises(ValueError, match="NaN"):
                m(np.ones(3), p, nan_policy="raise")
            # also where the other side is 0
            with pytest.raises(ValueError, match="NaN"):
                m(np.array([1.0, 0.0, 1.0]), p, nan_policy="raise")
        # without NaN, 'raise' is ordinary
        np.testing.assert_array_equal(
            _call(m, np.arange(1.0, 4.0), np.ones(3), nan_policy="raise"),
            _call(m, np.arange(1.0, 4.0), np.ones(3)))


def test_nan_omit_drops_the_bin_where_either_side_is_nan(family):
    p = np.array([[1.0, np.nan, 2.0, 3.0, 4.0],
                  [1.0, 2.0, 3.0, np.nan, np.nan],
                  [5.0, 1.0, 0.0, 1.0, 1.0]])
    q = np.array([[2.0, 1.0, np.nan, 3.0, 1.0],
                  [np.nan, 1.0, 1.0, 1.0, np.nan],
                  [1.0, 1.0, 1.0, 1.0, 1.0]])
    for m in family.MEASURES:
        got = _call(m, p, q, nan_policy="omit")
        for i in range(3):
            keep = ~np.isnan(p[i]) if not m.pair else ~(np.isnan(p[i]) | np.isnan(q[i]))
            want = _call(m, p[i, keep], q[i, keep])
            assert got[i] == pytest.approx(want, rel=1e-13, abs=1e-15), (m, i)
        # axis=None drops the same bins
        keep = ~np.isnan(p) if not m.pair else ~(np.isnan(p) | np.isnan(q))
        assert _call(m, p, q, axis=None, nan_policy="omit") == pytest.approx(
            _call(m, p[keep], q[keep]), rel=1e-13, abs=1e-15), m


def test_nan_omit_known_values():
    p = np.array([1.0, np.nan, 1.0, 0.0])
    q = np.array([0.0, 1.0, 1.0, 2.0])
    # kept bins: p = (1, 1, 0), q = (0, 1, 2): x = (1/2, 1/2, 0), y = (0, 1/3, 2/3)
    assert histentropy.total_variation(p, q, nan_policy="omit") == pytest.approx(
        0.5 * (0.5 + 1 / 6 + 2 / 3), rel=1e-14)
    assert histentropy.chi_square_divergence(p, q, nan_policy="omit") == math.inf
    assert histentropy.chi_square_divergence(q, p, nan_policy="omit") == math.inf
    assert histentropy.hellinger_distance(p, q, nan_policy="omit") == pytest.approx(
        math.sqrt(1 - math.sqrt(1 / 6)), rel=1e-14)
    assert histentropy.renyi_entropy(p, 0, nan_policy="omit") == pytest.approx(
        math.log(2), rel=1e-15)
    assert histentropy.renyi_divergence(p, q, 0, nan_policy="omit") == pytest.approx(
        -math.log(1 / 3), rel=1e-14)


def test_nan_omit_all_nan_is_nan(family):
    p = np.array([np.nan, np.nan])
    for m in family.MEASURES:
        assert np.isnan(_call(m, p, np.ones(2), nan_policy="omit")), m
