"""Properties of the dense measures, checked with hypothesis.

H(P, Q) = H(P) + KL(P || Q); KL >= 0 and KL(P, P) = 0; 0 <= H(P) <= log n;
invariance under scaling of a histogram (exactly by powers of two, whose
products are exact; approximately by arbitrary positive factors, whose
products round) and under a permutation of the bins; agreement with the
exact mpmath reference on arbitrary (including extreme) weights.
"""
import math

import numpy as np
from hypothesis import assume, given, strategies as st
from hypothesis.extra import numpy as hnp

import histentropy

EPS = np.finfo(np.float64).eps
TOL = 1e-12  # the contract: within 1e-12 * max(1, |exact|)

MAX_BINS = 40

# Weights over the whole float64 range (subnormals included), ordinary
# weights, and exact zeros.
wide_weights = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=1e300, allow_subnormal=True),
    st.floats(min_value=1e-3, max_value=1e3),
)
# Weights whose products with factors in [2**-100, 2**100] stay normal.
moderate_weights = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-100, max_value=1e100),
    st.floats(min_value=1e-3, max_value=1e3),
)
count_weights = st.integers(min_value=0, max_value=2**52)


def histograms(elements=wide_weights, dtype=np.float64, min_size=1,
               max_size=MAX_BINS):
    return hnp.arrays(dtype, st.integers(min_size, max_size), elements=elements)


@st.composite
def pairs(draw, elements=wide_weights, dtype=np.float64, min_size=1,
          max_size=MAX_BINS):
    n = draw(st.integers(min_size, max_size))
    p = draw(hnp.arrays(dtype, n, elements=elements))
    q = draw(hnp.arrays(dtype, n, elements=elements))
    return p, q


def has_mass(a):
    return bool(np.any(np.asarray(a) > 0))


def assert_agree(a, b, tol, what=""):
    """a == b within tol * max(1, |a|, |b|); equal infinities; both NaN."""
    a = float(a)
    b = float(b)
    if math.isnan(a) or math.isnan(b):
        assert math.isnan(a) and math.isnan(b), f"{what}: {a!r} vs {b!r}"
        return
    if math.isinf(a) or math.isinf(b):
        assert a == b, f"{what}: {a!r} vs {b!r}"
        return
    bound = tol * max(1.0, abs(a), abs(b))
    assert abs(a - b) <= bound, f"{what}: {a!r} vs {b!r} (|diff| {abs(a - b):.3e} > {bound:.3e})"


# ---------------------------------------------------------------------------
# The identity H(P, Q) = H(P) + KL(P || Q)
# ---------------------------------------------------------------------------

@given(pairs())
def test_identity_separate_calls(pq):
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    cross = histentropy.cross_entropy(p, q)
    h = histentropy.entropy(p)
    kl = histentropy.kl_divergence(p, q)
    if math.isinf(kl):
        assert cross == math.inf
        return
    # "to ~1e-12 relative"
    assert abs(cross - (h + kl)) <= 1e-12 * abs(cross), (cross, h, kl)


@given(pairs())
def test_identity_decompose(pq):
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    dec = histentropy.decompose(p, q)
    if math.isinf(dec.kl_divergence):
        assert dec.cross_entropy == math.inf
        assert math.isfinite(dec.entropy)
        return
    assert abs(dec.cross_entropy - (dec.entropy + dec.kl_divergence)) <= (
        1e-12 * abs(dec.cross_entropy))
    # Each member agrees with its own function.
    assert_agree(dec.entropy, histentropy.entropy(p), TOL, "entropy")
    assert_agree(dec.kl_divergence, histentropy.kl_divergence(p, q), TOL, "kl")
    assert_agree(dec.cross_entropy, histentropy.cross_entropy(p, q), TOL, "cross")


@given(pairs(elements=count_weights, dtype=np.int64))
def test_identity_counts(pq):
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    dec = histentropy.decompose(p, q)
    if math.isfinite(dec.cross_entropy):
        assert abs(dec.cross_entropy - (dec.entropy + dec.kl_divergence)) <= (
            1e-12 * abs(dec.cross_entropy))


# ---------------------------------------------------------------------------
# Bounds
# ---------------------------------------------------------------------------

@given(pairs())
def test_never_negative(pq):
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    assert histentropy.entropy(p) >= 0.0
    assert histentropy.kl_divergence(p, q) >= 0.0
    assert histentropy.cross_entropy(p, q) >= 0.0
    dec = histentropy.decompose(p, q)
    assert dec.entropy >= 0.0 and dec.kl_divergence >= 0.0 and dec.cross_entropy >= 0.0


@given(histograms())
def test_entropy_at_most_log_n(p):
    assume(has_mass(p))
    h = histentropy.entropy(p)
    assert h >= 0.0
    # log of the number of bins with mass, which is <= log n; the slack is
    # the accuracy contract (1e-12 * max(1, |exact|)).
    k = int(np.count_nonzero(p))
    bound = math.log(k)
    assert h <= bound + TOL * max(1.0, bound), (h, bound)
    assert h <= math.log(p.size) + TOL * max(1.0, math.log(p.size))


@given(st.integers(1, 5000), st.floats(min_value=1e-300, max_value=1e300))
def test_uniform_entropy_is_log_n(n, w):
    h = histentropy.entropy(np.full(n, w))
    assert abs(h - math.log(n)) <= TOL * max(1.0, math.log(n)), (h, math.log(n))
    # Cross entropy against a uniform q is log n whatever p is.
    p = np.arange(n, dtype=np.float64) + 1.0
    assert_agree(histentropy.cross_entropy(p, np.full(n, w)), math.log(n), TOL)


@given(histograms())
def test_kl_of_p_with_itself_is_zero(p):
    assume(has_mass(p))
    assert histentropy.kl_divergence(p, p) == 0.0
    dec = histentropy.decompose(p, p)
    assert dec.kl_divergence == 0.0
    assert dec.cross_entropy == dec.entropy


@given(histograms(elements=moderate_weights), st.integers(-100, 100))
def test_kl_of_p_with_power_of_two_multiple_is_zero(p, k):
    assume(has_mass(p))
    q = p * 2.0**k  # exact
    kl = histentropy.kl_divergence(p, q)
    assert 0.0 <= kl <= TOL
    assert 0.0 <= histentropy.kl_divergence(q, p) <= TOL


@given(pairs())
def test_kl_infinite_iff_unsupported(pq):
    """KL is +inf exactly where some p > 0 meets q = 0 (finite otherwise)."""
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    unsupported = bool(np.any((p > 0) & (q == 0)))
    kl = histentropy.kl_divergence(p, q)
    cross = histentropy.cross_entropy(p, q)
    assert (kl == math.inf) == unsupported
    assert (cross == math.inf) == unsupported
    assert not math.isnan(kl) and not math.isnan(cross)


# ---------------------------------------------------------------------------
# Invariances
# ---------------------------------------------------------------------------

@given(pairs(elements=moderate_weights), st.integers(-100, 100), st.integers(-100, 100))
def test_invariance_under_power_of_two_scaling(pq, j, k):
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    ps = p * 2.0**j  # exact: the same histograms
    qs = q * 2.0**k
    # Both are within 1e-12 * max(1, |exact|) of the same exact value.
    assert_agree(histentropy.entropy(ps), histentropy.entropy(p), 2 * TOL, "H")
    assert_agree(histentropy.kl_divergence(ps, qs), histentropy.kl_divergence(p, q),
                 2 * TOL, "KL")
    assert_agree(histentropy.cross_entropy(ps, qs), histentropy.cross_entropy(p, q),
                 2 * TOL, "cross")


@given(pairs(elements=moderate_weights),
       st.floats(min_value=1e-30, max_value=1e30),
       st.floats(min_value=1e-30, max_value=1e30))
def test_invariance_under_arbitrary_scaling(pq, a, b):
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    ps = p * a  # each product rounds: the histogram moves by ~1 ulp per bin
    qs = q * b
    tol = 1e-10
    assert_agree(histentropy.entropy(ps), histentropy.entropy(p), tol, "H")
    assert_agree(histentropy.kl_divergence(ps, qs), histentropy.kl_divergence(p, q),
                 tol, "KL")
    assert_agree(histentropy.cross_entropy(ps, qs), histentropy.cross_entropy(p, q),
                 tol, "cross")


@given(pairs(), st.randoms(use_true_random=False))
def test_invariance_under_permutation(pq, random):
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    perm = list(range(p.size))
    random.shuffle(perm)
    pp, qp = p[perm], q[perm]
    assert_agree(histentropy.entropy(pp), histentropy.entropy(p), 2 * TOL, "H")
    assert_agree(histentropy.kl_divergence(pp, qp), histentropy.kl_divergence(p, q),
                 2 * TOL, "KL")
    assert_agree(histentropy.cross_entropy(pp, qp), histentropy.cross_entropy(p, q),
                 2 * TOL, "cross")


@given(histograms(), st.integers(0, 10))
def test_zero_bins_do_not_matter(p, extra):
    assume(has_mass(p))
    padded = np.concatenate([np.zeros(extra), p, np.zeros(extra)])
    assert_agree(histentropy.entropy(padded), histentropy.entropy(p), 2 * TOL, "H")


@given(st.lists(histograms(min_size=5, max_size=5), min_size=1, max_size=6))
def test_rows_of_a_batch_equal_single_calls(rows):
    """A 2-D batch (along either axis) gives the per-row results."""
    P = np.array(rows)
    h_rows = histentropy.entropy(P, axis=1)
    h_cols = histentropy.entropy(P.T, axis=0)
    for i, row in enumerate(rows):
        single = histentropy.entropy(row)
        assert_agree(h_rows[i], single, 2 * TOL, f"row {i}")
        assert_agree(h_cols[i], single, 2 * TOL, f"col {i}")


@given(pairs(elements=count_weights, dtype=np.int64))
def test_counts_same_as_float64(pq):
    """Counts up to 2**52 are exact in float64: the same histograms."""
    p, q = pq
    assume(has_mass(p) and has_mass(q))
    pf, qf = p.astype(np.float64), q.astype(np.float64)
    assert_agree(histentropy.entropy(p), histentropy.entropy(pf), 2 * TOL, "H")
    assert_agree(histentropy.kl_divergence(p, q), histentropy.kl_divergence(pf, qf),
                 2 * TOL, "KL")


# ---------------------------------------------------------------------------
# Against the exact reference, on arbitrary weights
# ---------------------------------------------------------------------------

@given(pairs(max_size=12))
def test_matches_exact_reference(exact, pq):
    p, q = pq
    exact.assert_close(histentropy.entropy(p), exact.entropy(p), what="H")
    exact.assert_close(histentropy.kl_divergence(p, q), exact.kl_divergence(p, q),
                       what="KL")
    exact.assert_close(histentropy.cross_entropy(p, q), exact.cross_entropy(p, q),
                       what="cross")


@st.composite
def scaled_pairs(draw):
    """p and q at independent, possibly extreme, scales (sums may overflow)."""
    n = draw(st.integers(1, 10))
    unit = st.floats(min_value=0.0, max_value=1.0)
    p = np.array(draw(st.lists(unit, min_size=n, max_size=n)))
    q = np.array(draw(st.lists(unit, min_size=n, max_size=n)))
    scales = st.sampled_from([1.7e308, 1e308, 1e200, 1.0, 1e-200, 1e-300,
                              2.0**-1060, 2.0**-1070])
    return p * draw(scales), q * draw(scales)


@given(scaled_pairs())
def test_matches_exact_reference_at_extreme_scales(exact, pq):
    p, q = pq
    exact.assert_close(histentropy.entropy(p), exact.entropy(p), what="H")
    exact.assert_close(histentropy.entropy(q), exact.entropy(q), what="H(q)")
    exact.assert_close(histentropy.kl_divergence(p, q), exact.kl_divergence(p, q),
                       what="KL")
    exact.assert_close(histentropy.cross_entropy(p, q), exact.cross_entropy(p, q),
                       what="cross")


@given(pairs(elements=count_weights, dtype=np.int64, max_size=12))
def test_counts_match_exact_reference(exact, pq):
    p, q = pq
    exact.assert_close(histentropy.entropy(p), exact.entropy(p), what="H")
    dec = histentropy.decompose(p, q)
    exact.assert_close(dec.kl_divergence, exact.kl_divergence(p, q), what="KL")
    exact.assert_close(dec.cross_entropy, exact.cross_entropy(p, q), what="cross")


@given(pairs(elements=st.floats(min_value=0.0, max_value=2.0**100, width=32),
             dtype=np.float32, max_size=12))
def test_float32_matches_exact_reference(exact, pq):
    p, q = pq
    exact.assert_close(histentropy.entropy(p), exact.entropy(p), what="H")
    exact.assert_close(histentropy.kl_divergence(p, q), exact.kl_divergence(p, q),
                       what="KL")


# Totals stay inside [2**-600, 2**600], so the vectorised first read is used
# (no rescaling), while single bins span ~340 decades: ratios p/q overflow and
# underflow, logs of subnormals are taken. Long enough for every SIMD lane.
in_range_weights = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-170, max_value=1e170),
    st.floats(min_value=0.0, max_value=1e-300, allow_subnormal=True),
    st.floats(min_value=0.5, max_value=2.0),
)


@given(pairs(elements=in_range_weights, min_size=16, max_size=150))
def test_matches_exact_reference_in_range_totals(exact, pq):
    p, q = pq
    exact.assert_close(histentropy.entropy(p), exact.entropy(p), what="H")
    exact.assert_close(histentropy.kl_divergence(p, q), exact.kl_divergence(p, q),
                       what="KL")
    dec = histentropy.decompose(p, q)
    exact.assert_close(dec.cross_entropy, exact.cross_entropy(p, q), what="cross")
    exact.assert_close(dec.kl_divergence, exact.kl_divergence(p, q), what="dec KL")
    if has_mass(q):  # (with q all zeros the whole pair is NaN)
        exact.assert_close(dec.entropy, exact.entropy(p), what="dec H")


@given(pairs(elements=st.floats(min_value=1e-3, max_value=1e3), min_size=16,
             max_size=150),
       st.floats(min_value=-1e-6, max_value=1e-6))
def test_near_identical_long_pairs_match_exact_reference(exact, pq, eps):
    """q = p (1 + small relative changes): the cancelling regime of KL."""
    p, noise = pq
    q = p * (1.0 + eps * (noise / 1e3))
    exact.assert_close(histentropy.kl_divergence(p, q), exact.kl_divergence(p, q),
                       what="KL")
    exact.assert_close(histentropy.cross_entropy(p, q), exact.cross_entropy(p, q),
                       what="cross")
    assert histentropy.kl_divergence(p, q) >= 0.0
