"""entropy(p, estimator=...): the bias-corrected estimators against their
formulas evaluated in mpmath (50 digits, counts converted exactly), on dense
rows, batches along any axis and sparse rows; the errors they add.

The references are the formulas as the estimators define them (N total
count, m bins with counts, f1 bins holding one count, K bins):
Miller-Madow H + (m - 1)/(2N); Grassberger log N - (1/N) sum n G(n) with
G(n) = psi(n) + (-1)^n (psi((n+1)/2) - psi(n/2))/2; Chao-Shen with coverage
1 - f1/N (f1 = N taken as N - 1); James-Stein shrinkage towards 1/K.
"""
import mpmath
import numpy as np
import pytest

import histentropy

ESTIMATORS = ("miller_madow", "grassberger", "chao_shen", "james_stein")
REL_TOL = 1e-12


def exact(estimator, counts, bins=None):
    """The estimator's formula in mpmath (nats)."""
    with mpmath.workdps(50):
        n = [mpmath.mpf(int(v)) for v in counts]
        K = len(n) if bins is None else bins
        N = mpmath.fsum(n)
        if N == 0:
            return float("nan")
        nz = [v for v in n if v > 0]
        if estimator == "miller_madow":
            H = -mpmath.fsum(v / N * mpmath.log(v / N) for v in nz)
            return float(H + (len(nz) - 1) / (2 * N))
        if estimator == "grassberger":
            def G(v):
                return mpmath.digamma(v) + (-1) ** int(v) * (
                    mpmath.digamma((v + 1) / 2) - mpmath.digamma(v / 2)) / 2
            return float(mpmath.log(N) - mpmath.fsum(v * G(v) for v in nz) / N)
        if estimator == "chao_shen":
            f1 = sum(1 for v in nz if v == 1)
            f1 = N - 1 if f1 == N else f1
            C = 1 - f1 / N
            return float(-mpmath.fsum((C * v / N) * mpmath.log(C * v / N)
                                      / (1 - (1 - C * v / N) ** N) for v in nz))
        p = [v / N for v in n]
        t = mpmath.mpf(1) / K
        spread = (N - 1) * mpmath.fsum((t - x) ** 2 for x in p)
        lam = mpmath.mpf(1) if spread == 0 else (1 - mpmath.fsum(x * x for x in p)) / spread
        lam = min(max(lam, mpmath.mpf(0)), mpmath.mpf(1))
        s = [lam * t + (1 - lam) * x for x in p]
        return float(-mpmath.fsum(x * mpmath.log(x) for x in s if x > 0))


def _cases():
    rng = np.random.default_rng(20261206)
    cases = [np.array([1]), np.array([5]), np.array([1, 1, 1]), np.array([0, 0, 7, 0]),
             np.array([1, 2, 0, 3, 1, 0, 9]), np.array([10**12, 1, 2]),
             np.array([2**40, 2**40 + 1]), np.array([1] * 50 + [0] * 50)]
    for scale in (1, 3, 20, 1000, 10**6):
        for _ in range(4):
            cases.append(rng.integers(0, scale + 1, int(rng.integers(1, 60))))
    return [c for c in cases if c.sum() > 0]


CASES = _cases()


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_formula(estimator, case):
    counts = CASES[case]
    want = exact(estimator, counts)
    for dtype in (np.int64, np.float64, np.uint32):
        if counts.max() > np.iinfo(np.uint32).max and dtype is np.uint32:
            continue
        got = histentropy.entropy(counts.astype(dtype), estimator=estimator)
        assert abs(got - want) <= REL_TOL * max(1.0, abs(want)), (dtype, got, want)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_batches_sparse_and_base(estimator):
    import scipy.sparse as sp

    rng = np.random.default_rng(1)
    X = rng.integers(0, 6, (7, 12))
    X[3] = 0
    X[5, :] = 0
    X[5, 2] = 4
    want = np.array([exact(estimator, row) for row in X])
    got = histentropy.entropy(X, estimator=estimator)
    np.testing.assert_allclose(got, want, rtol=REL_TOL, atol=REL_TOL, equal_nan=True)
    np.testing.assert_allclose(histentropy.entropy(X.T, axis=0, estimator=estimator), want,
                               rtol=REL_TOL, atol=REL_TOL, equal_nan=True)
    for fmt in ("csr", "csc", "coo"):
        S = getattr(sp, f"{fmt}_matrix")(X)
        np.testing.assert_allclose(histentropy.entropy(S, estimator=estimator), want,
                                   rtol=REL_TOL, atol=REL_TOL, equal_nan=True)
        np.testing.assert_allclose(histentropy.entropy(S.T, axis=0, estimator=estimator),
                                   want, rtol=REL_TOL, atol=REL_TOL, equal_nan=True)
    assert np.isclose(histentropy.entropy(X, axis=None, estimator=estimator),
                      exact(estimator, X.ravel()), rtol=REL_TOL, atol=REL_TOL)
    assert np.isclose(histentropy.entropy(sp.csr_matrix(X), axis=None, estimator=estimator),
                      exact(estimator, X.ravel()), rtol=REL_TOL, atol=REL_TOL)
    np.testing.assert_allclose(histentropy.entropy(X, estimator=estimator, base=2),
                               want / np.log(2), rtol=REL_TOL, atol=REL_TOL, equal_nan=True)
    assert histentropy.entropy(X, estimator=estimator, keepdims=True).shape == (7, 1)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_nan_policies(estimator):
    p = np.array([3.0, np.nan, 1.0, 0.0, 2.0])
    assert np.isnan(histentropy.entropy(p, estimator=estimator))
    with pytest.raises(ValueError, match="NaN"):
        histentropy.entropy(p, estimator=estimator, nan_policy="raise")
    got = histentropy.entropy(p, estimator=estimator, nan_policy="omit")
    assert abs(got - exact(estimator, [3, 1, 0, 2])) <= REL_TOL


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_errors(estimator):
    with pytest.raises(ValueError, match="estimator"):
        histentropy.entropy([1.5, 2.0], estimator=estimator)
    with pytest.raises(ValueError, match="negative"):
        histentropy.entropy([1, -1], estimator=estimator)
    with pytest.raises(ValueError, match="finite"):
        histentropy.entropy([1, np.inf], estimator=estimator)
    with pytest.raises(ValueError, match="pseudocount"):
        histentropy.entropy([1, 2], estimator=estimator, pseudocount=1.0)
    assert np.isnan(histentropy.entropy([0, 0], estimator=estimator))
    with pytest.raises(ValueError, match="total count below the double range"):
        histentropy.entropy([1e308, 1e308, 5.0], estimator=estimator)
    # a bad row of a batch, dense or sparse, fails the whole call
    rows = np.array([[1, 2, 3], [1, -4, 0]])
    with pytest.raises(ValueError, match="negative"):
        histentropy.entropy(rows, estimator=estimator)
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match="estimator"):
        histentropy.entropy(sparse.csr_matrix([[1.0, 0.5], [2.0, 0.0]]), estimator=estimator)


@pytest.mark.parametrize("bad", ["mle", "", None, 1, "Grassberger"])
def test_unknown_estimator(bad):
    with pytest.raises(ValueError, match="estimator"):
        histentropy.entropy([1, 2], estimator=bad)


def test_plugin_is_the_default():
    p = [3, 1, 4, 1, 5]
    assert histentropy.entropy(p, estimator="plugin") == histentropy.entropy(p)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_mutual_information_by_estimator(estimator):
    """H_est(X) + H_est(Y) - H_est(X, Y), each against its formula."""
    C = np.array([[10, 2, 0], [1, 12, 3], [0, 2, 9]])
    want = (exact(estimator, C.sum(1)) + exact(estimator, C.sum(0))
            - exact(estimator, C.ravel()))
    assert abs(histentropy.mutual_information(C, estimator=estimator) - want) <= 1e-12
    import scipy.sparse as sp

    assert abs(histentropy.mutual_information(sp.csr_matrix(C), estimator=estimator)
               - want) <= 1e-12
