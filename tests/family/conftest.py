"""Shared pieces of the family tests (issue 12): the measures, an exact
(mpmath) reference of each, and the hard cases.

Test modules of this directory are not importable by each other (the test
directories are no packages), so what they share lives here and reaches them
through pytest:

* fixture ``family``: the `Family` namespace below (measures, hard cases,
  the exact reference, comparison helpers);
* fixture ``fam``: an `ExactFamily` (one per session, so that its cache of
  exact values is shared by every module);
* parametrisation by argument name (``pytest_generate_tests``): a test asking
  for ``measure`` runs for every public measure (Renyi at the alphas of the
  issue), ``pair_measure`` for the two-histogram ones, ``base_measure`` for
  those with a `base`, ``hard_measure`` for every measure plus Renyi at the
  hard alphas (1 +- 1e-9, 1 +- 1e-3, 50, 1e4), ``hard_case`` for every hard
  case, ``short_case`` for those that are not long histograms,
  ``near_identical_case`` for the near-identical ones.

The exact reference never calls histentropy: it is the textbook definition of
each measure (issue 12), evaluated with mpmath at 60 significant digits (100
for Renyi, whose log(S)/(alpha - 1) cancels near alpha = 1), with every input
converted exactly (floats with ``mpf(float(x))``, integers with
``mpf(int(x))``) and the pseudocount added exactly. Inputs may be given as
distinct values with multiplicities, so that a 10**7-bin (or 10**9-bin
sparse) histogram made of a few repeated values costs a few operations.

HISTENTROPY_FUZZ_EXAMPLES (the suite's "longer runs" switch, see README
Development) above its CI default of 20 makes the long histograms 10**7 bins
instead of 10**5.
"""
import math
import os
from dataclasses import dataclass, field

import mpmath
import numpy as np
import pytest

import histentropy

from exact import exact_values

#: Working precision of the references, in decimal digits.
DPS = 60
#: Renyi: log(S) / (alpha - 1) loses ~log10(1 / |alpha - 1|) digits near 1.
RENYI_DPS = 100

#: The accuracy contract: |got - exact| <= REL_TOL * max(1, |exact|).
REL_TOL = 1e-12
#: Near-identical p and q (relative perturbation 1e-6): relative error.
NEAR_IDENTICAL_REL = 1e-9

FULL = int(os.environ.get("HISTENTROPY_FUZZ_EXAMPLES", "0") or 0) > 20
LONG_N = 10**7 if FULL else 10**5

TINY = 5e-324
HUGE = float(np.finfo(np.float64).max)
INF = math.inf


# ---------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------

SYMMETRIC = ("js_divergence", "js_distance", "hellinger_distance", "total_variation",
             "jeffreys_divergence")
WITH_BASE = ("js_divergence", "js_distance", "jeffreys_divergence", "renyi_entropy",
             "renyi_divergence", "entropy", "kl_divergence", "cross_entropy", "decompose")
SINGLE = ("renyi_entropy", "entropy")


@dataclass(frozen=True)
class Measure:
    """One public function, with its alpha for the Renyi ones."""

    func: str
    alpha: float = None

    @property
    def pair(self):
        return self.func not in SINGLE

    @property
    def symmetric(self):
        return self.func in SYMMETRIC

    @property
    def has_base(self):
        return self.func in WITH_BASE

    @property
    def id(self):
        return self.func if self.alpha is None else f"{self.func}[{self.alpha!r}]"

    def __repr__(self):
        return self.id

    def __call__(self, p, q=None, **kw):
        f = getattr(histentropy, self.func)
        args = (p, q) if self.pair else (p,)
        if self.alpha is not None:
            args += (self.alpha,)
        return f(*args, **kw)


ENTROPY_ALPHAS = (0.0, 0.5, 1.0, 2.0, 7.5, INF)
DIVERGENCE_ALPHAS = (0.0, 0.3, 1.0, 2.0, 5.0, INF)
HARD_ALPHAS = (1 - 1e-3, 1 - 1e-9, 1 + 1e-9, 1 + 1e-3, 50.0, 1e4)

PLAIN = [Measure(f) for f in ("js_divergence", "js_distance", "hellinger_distance",
                              "total_variation", "jeffreys_divergence",
                              "chi_square_divergence")]
MEASURES = (PLAIN
            + [Measure("renyi_entropy", a) for a in ENTROPY_ALPHAS]
            + [Measure("renyi_divergence", a) for a in DIVERGENCE_ALPHAS])
PAIR_MEASURES = [m for m in MEASURES if m.pair]
HARD_MEASURES = (MEASURES
                 + [Measure("renyi_entropy", a) for a in HARD_ALPHAS]
                 + [Measure("renyi_divergence", a) for a in HARD_ALPHAS])
#: The pre-existing functions that gained `pseudocount`.
CORE = [Measure("entropy"), Measure("kl_divergence"), Measure("cross_entropy")]


# ---------------------------------------------------------------------------
# The exact reference
# ---------------------------------------------------------------------------

def _key(a):
    if a is None:
        return None
    a = np.asarray(a)
    return (a.dtype.str, a.shape, a.tobytes())


class ExactFamily:
    """Every measure of issue 12 (and entropy / KL / cross entropy), exactly.

    ``value(measure, p, q, mult=None, base=None, pseudocount=0.0)`` returns an
    mpf (nan, +inf included). Values are cached: the same case is asked for
    by several tests.
    """

    def __init__(self):
        self._cache = {}

    # -- normalised inputs ---------------------------------------------------

    def _state(self, p, q, mult, pseudocount):
        key = ("state", _key(p), _key(q), _key(mult), float(pseudocount))
        if key in self._cache:
            return self._cache[key]
        with mpmath.workdps(RENYI_DPS):
            w = exact_values(p, pseudocount)
            m = [1] * len(w) if mult is None else [int(v) for v in np.ravel(mult)]
            assert len(m) == len(w)
            sp = mpmath.fsum(mi * wi for mi, wi in zip(m, w))
            x = None if sp == 0 else [wi / sp for wi in w]
            y = None
            if q is not None:
                v = exact_values(q, pseudocount)
                assert len(v) == len(w), "p and q must have the same length"
                sq = mpmath.fsum(mi * vi for mi, vi in zip(m, v))
                y = None if sq == 0 else [vi / sq for vi in v]
            lx = None if x is None else [mpmath.log(t) if t else None for t in x]
            ly = None if y is None else [mpmath.log(t) if t else None for t in y]
        state = (m, x, y, lx, ly)
        self._cache[key] = state
        return state

    # -- the measures --------------------------------------------------------

    def value(self, measure, p, q=None, mult=None, base=None, pseudocount=0.0):
        if isinstance(measure, str):
            measure = Measure(measure)
        key = ("value", measure.func, measure.alpha, _key(p), _key(q), _key(mult),
               None if base is None else float(base), float(pseudocount))
        if key not in self._cache:
            self._cache[key] = self._value(measure, p, q, mult, base, pseudocount)
        return self._cache[key]

    def _value(self, measure, p, q, mult, base, pseudocount):
        nan = mpmath.mpf("nan")
        m, x, y, lx, ly = self._state(p, q if measure.pair else None, mult, pseudocount)
        if x is None or (measure.pair and y is None):
            return nan
        func, alpha = measure.func, measure.alpha
        with mpmath.workdps(RENYI_DPS if func.startswith("renyi") else DPS):
            if func == "js_distance":
                js = self.value(Measure("js_divergence"), p, q, mult, base, pseudocount)
                return mpmath.sqrt(js)
            r = getattr(self, "_" + func)(m, x, y, lx, ly, alpha)
            if base is not None and func in WITH_BASE and mpmath.isfinite(r):
                r = r / mpmath.log(mpmath.mpf(float(base)))
            return +r

    @staticmethod
    def _entropy(m, x, y, lx, ly, alpha):
        return -mpmath.fsum(mi * xi * li for mi, xi, li in zip(m, x, lx) if xi and mi)

    @staticmethod
    def _kl_divergence(m, x, y, lx, ly, alpha):
        terms = []
        for mi, xi, yi, a, b in zip(m, x, y, lx, ly):
            if not mi or not xi:
                continue
            if not yi:
                return mpmath.inf
            terms.append(mi * xi * (a - b))
        return mpmath.fsum(terms)

    @staticmethod
    def _cross_entropy(m, x, y, lx, ly, alpha):
        terms = []
        for mi, xi, yi, b in zip(m, x, y, ly):
            if not mi or not xi:
                continue
            if not yi:
                return mpmath.inf
            terms.append(-mi * xi * b)
        return mpmath.fsum(terms)

    @staticmethod
    def _js_divergence(m, x, y, lx, ly, alpha):
        # Per bin, with s = x + y and d = (x - y) / s:
        #   (x log(2x / s) + y log(2y / s)) / 2 = (s / 4) f(d),
        #   f(d) = (1 + d) log(1 + d) + (1 - d) log(1 - d) = sum_k d^2k / (k (2k - 1)),
        # a sum of non-negative terms (the series where |d| is small: the
        # closed form cancels there, even at 100 digits, e.g. for bins
        # that differ by a subnormal).
        terms = []
        for mi, xi, yi, a, b in zip(m, x, y, lx, ly):
            if not mi or (not xi and not yi):
                continue
            s = xi + yi
            if not xi or not yi:
                terms.append(mi * s * mpmath.log(2) / 2)
                continue
            d = (xi - yi) / s
            if abs(d) < mpmath.mpf("0.01"):
                d2 = d * d
                f, power, k = mpmath.mpf(0), d2, 1
                while True:
                    t = power / (k * (2 * k - 1))
                    f += t
                    if t <= f * mpmath.mpf(10) ** (-RENYI_DPS - 5):
                        break
                    power *= d2
                    k += 1
            else:  # 1 +- d = 2x / s, 2y / s (d may round to +-1 at 100 digits)
                ls = mpmath.log(s / 2)
                f = (2 * xi / s) * (a - ls) + (2 * yi / s) * (b - ls)
            terms.append(mi * s * f / 4)
        return mpmath.fsum(terms)

    @staticmethod
    def _hellinger_distance(m, x, y, lx, ly, alpha):
        # (sqrt x - sqrt y)^2 = (x - y)^2 / (sqrt x + sqrt y)^2: no cancellation
        s = mpmath.fsum(mi * (xi - yi) ** 2 / (mpmath.sqrt(xi) + mpmath.sqrt(yi)) ** 2
                        for mi, xi, yi in zip(m, x, y) if mi and (xi or yi))
        return mpmath.sqrt(s / 2)

    @staticmethod
    def _total_variation(m, x, y, lx, ly, alpha):
        return mpmath.fsum(mi * abs(xi - yi) for mi, xi, yi in zip(m, x, y) if mi) / 2

    @staticmethod
    def _jeffreys_divergence(m, x, y, lx, ly, alpha):
        terms = []
        for mi, xi, yi, a, b in zip(m, x, y, lx, ly):
            if not mi or (not xi and not yi):
                continue
            if not xi or not yi:
                return mpmath.inf
            terms.append(mi * (xi - yi) * (a - b))
        return mpmath.fsum(terms)

    @staticmethod
    def _chi_square_divergence(m, x, y, lx, ly, alpha):
        terms = []
        for mi, xi, yi in zip(m, x, y):
            if not mi or (not xi and not yi):
                continue
            if not yi:
                return mpmath.inf
            terms.append(mi * (xi - yi) ** 2 / yi)
        return mpmath.fsum(terms)

    @staticmethod
    def _renyi_entropy(m, x, y, lx, ly, alpha):
        a = mpmath.mpf(float(alpha))
        support = [(mi, xi, li) for mi, xi, li in zip(m, x, lx) if mi and xi]
        if alpha == 0:
            return mpmath.log(sum(mi for mi, _, _ in support))
        if alpha == 1:
            return -mpmath.fsum(mi * xi * li for mi, xi, li in support)
        if math.isinf(alpha):
            return -max(li for _, _, li in support)
        s = mpmath.fsum(mi * mpmath.exp(a * li) for mi, _, li in support)
        return mpmath.log(s) / (1 - a)

    @staticmethod
    def _renyi_divergence(m, x, y, lx, ly, alpha):
        a = mpmath.mpf(float(alpha))
        support = [(mi, xi, yi, la, lb) for mi, xi, yi, la, lb in zip(m, x, y, lx, ly)
                   if mi and xi]
        if alpha == 0:
            s = mpmath.fsum(mi * yi for mi, _, yi, _, _ in support)
            return mpmath.inf if s == 0 else -mpmath.log(s)
        if alpha >= 1 and any(not yi for _, _, yi, _, _ in support):
            return mpmath.inf
        if alpha == 1:
            return mpmath.fsum(mi * xi * (la - lb) for mi, xi, yi, la, lb in support)
        if math.isinf(alpha):
            return max(la - lb for _, _, _, la, lb in support)
        s = mpmath.fsum(mi * mpmath.exp(a * la + (1 - a) * lb)
                        for mi, xi, yi, la, lb in support if yi)
        if s == 0:  # 0 < alpha < 1, disjoint supports
            return mpmath.inf
        return mpmath.log(s) / (a - 1)

    # -- comparison ----------------------------------------------------------

    @staticmethod
    def error(got, exact):
        """|got - exact| as a float; 0 for the same special value. An exact
        value beyond the float64 range is expected to come out as +-inf."""
        got = float(got)
        if mpmath.isnan(exact):
            return 0.0 if math.isnan(got) else math.inf
        rounded = float(exact)  # +-inf when beyond the double range
        if math.isinf(rounded):
            return 0.0 if got == rounded else math.inf
        if not math.isfinite(got):
            return math.inf
        with mpmath.workdps(DPS):
            return float(abs(mpmath.mpf(got) - exact))

    def assert_close(self, got, exact, rel=REL_TOL, what=""):
        """The contract: |got - exact| <= rel * max(1, |exact|)."""
        assert isinstance(got, (float, np.floating)), (what, type(got))
        err = self.error(got, exact)
        if mpmath.isnan(exact) or math.isinf(float(exact)):
            assert err == 0.0, f"{what}: got {float(got)!r}, exact {exact}"
            return
        bound = rel * max(1.0, abs(float(exact)))
        assert err <= bound, (
            f"{what}: got {float(got)!r}, exact {mpmath.nstr(exact, 25)}, "
            f"error {err:.3e} > {bound:.3e}")

    def assert_rel(self, got, exact, rel, what=""):
        """|got - exact| <= rel * |exact| (for small results)."""
        err = self.error(got, exact)
        bound = rel * abs(float(exact))
        assert err <= bound, (
            f"{what}: got {float(got)!r}, exact {mpmath.nstr(exact, 25)}, relative "
            f"error {err / abs(float(exact)) if exact else math.inf:.3e} > {rel:.1e}")


# ---------------------------------------------------------------------------
# Hard cases
# ---------------------------------------------------------------------------

@dataclass
class HardCase:
    """p and q as distinct values with multiplicities (None: once each)."""

    name: str
    p: np.ndarray
    q: np.ndarray
    mult: tuple = None
    near_identical: bool = False
    layout: str = "runs"
    _dense: tuple = field(default=None, repr=False)

    def __repr__(self):
        return self.name

    def dense(self):
        """The full (p, q) arrays (built once)."""
        if self._dense is None:
            if self.mult is None:
                self._dense = (self.p, self.q)
            elif self.layout == "tiled":
                k = self.mult[0]
                assert all(m == k for m in self.mult)
                self._dense = (np.tile(self.p, k), np.tile(self.q, k))
            else:
                self._dense = (np.repeat(self.p, self.mult), np.repeat(self.q, self.mult))
        return self._dense

    @property
    def n(self):
        return len(self.p) if self.mult is None else int(sum(self.mult))


def _hard_cases():
    rng = np.random.default_rng(20261212)
    cases = []

    def add(name, p, q, **kw):
        cases.append(HardCase(name, np.asarray(p), np.asarray(q), **kw))

    # Near-deterministic: one bin holds all but ~1e-12 of the mass.
    add("near-deterministic-2", [1.0 - 1e-12, 1e-12], [1.0 - 3e-12, 3e-12])
    add("near-deterministic-spread",
        np.r_[1.0, np.full(199, 1e-12 / 199)], np.r_[1.0, rng.random(199) * 2e-15])
    add("near-deterministic-vs-uniform",
        np.r_[1.0 - 1e-12, np.full(9, 1e-12 / 9)], np.ones(10))
    add("near-deterministic-zero-bins", [0.0, 5.0, 0.0, 1e-13], [1e-12, 1.0, 0.0, 1e-13])
    # Totals overflowing float64.
    add("overflow-issue-row", [1e308, 1e308, 5e307], [1e308, 5e307, 1e308])
    add("overflow-sum", [1.7e308, 1.6e308, 1e308, 1.5e308],
        [1e308, 1.7e308, 1.2e308, 1e308])
    add("overflow-max-and-small", [HUGE, HUGE, 1.0, 1e-300], [HUGE, 1e308, 1e300, 1.0])
    add("overflow-many", np.full(200, 1.5e308) * (1 + rng.random(200) * 0.1),
        np.full(200, 1e308) * (1 + rng.random(200) * 0.7))
    add("huge-p-subnormal-q", [7.615129422195507e+307, 1.0962968586839952e+308],
        [6.2679217e-316, 3.959809083e-315])
    # Mixed scales in one histogram (normalised bins below the double range).
    add("mixed-scales", [1e200, 1e-200, 3e199, 1e-200, 0.0],
        [1e-200, 1e200, 1e-200, 2e199, 1.0])
    add("mixed-scales-crossed", [1e-200, 1e200], [1e200, 1e-200])
    add("mixed-scales-wide", [1e300, 1e-300, TINY, 1.0, 1e100],
        [1.0, 1e300, 1e-300, 1e-100, 1e200])
    # Subnormal weights (scipy issue 19436: jensenshannon gives inf).
    add("subnormal-multiples", np.array([1, 2, 5, 0, 3]) * TINY,
        np.array([2, 2, 1, 1, 9]) * TINY)
    add("subnormal-random", rng.integers(0, 2**40, size=50) * TINY,
        rng.integers(1, 2**40, size=50) * TINY)
    add("subnormal-beside-1e-300", [TINY, 1e-300, 1e-310, 4e-320],
        [1e-300, TINY, 1e-305, 1e-300])
    # float32 input.
    add("float32-scales",
        (rng.random(100) * 10.0 ** rng.uniform(-30, 30, 100)).astype(np.float32),
        (rng.random(100) * 10.0 ** rng.uniform(-30, 30, 100)).astype(np.float32))
    add("float32-extremes",
        np.array([3.4e38, 3e38, 1e-45, 1.2e-38, 1.0], dtype=np.float32),
        np.array([1.0, 3.4e38, 3e38, 1e-40, 3e-45], dtype=np.float32))
    # Near-identical (scipy issue 20083: jensenshannon NaN).
    p = rng.random(300)
    add("near-identical", p, p * (1 + 1e-6 * rng.uniform(-1, 1, 300)),
        near_identical=True)
    p = rng.random(300)
    add("near-identical-unnormalised", p, 3 * p * (1 + 1e-6 * rng.uniform(-1, 1, 300)),
        near_identical=True)
    p = rng.random(200)
    p[rng.random(200) < 0.2] = 0.0
    add("near-identical-zero-bins", p, p * (1 + 1e-6 * rng.uniform(-1, 1, 200)),
        near_identical=True)
    p32 = rng.random(200).astype(np.float32)
    add("near-identical-float32", p32,
        (p32 * (1 + 1e-6 * rng.uniform(-1, 1, 200))).astype(np.float32),
        near_identical=True)
    # Large counts, and an ordinary case.
    add("counts-2**52", rng.integers(0, 2**52, size=100, endpoint=True),
        rng.integers(1, 2**52, size=100, endpoint=True))
    add("ordinary", rng.random(64), rng.random(64))
    # Long histograms, from a few distinct values.
    k = LONG_N // 6
    add("long", np.array([0.1, 1 / 3, 0.7, 2.9e-3, 1e-9, 12.345]),
        np.array([0.1000001, 1 / 3, 0.69, 2.9e-3, 3e-9, 12.3]), mult=(k,) * 6,
        layout="tiled")
    add("long-near-deterministic", np.array([1.0, 1e-12 / (LONG_N - 1)]),
        np.array([1.0, 3e-12 / (LONG_N - 1)]), mult=(1, LONG_N - 1))
    k = LONG_N // 4
    add("long-float32", np.array([1.0, 3.0, 0.1, 7.5], dtype=np.float32),
        np.array([7.5, 0.1, 3.0, 1.0], dtype=np.float32), mult=(k,) * 4, layout="tiled")
    return cases


HARD_CASES = _hard_cases()
NEAR_IDENTICAL_CASES = [c for c in HARD_CASES if c.near_identical]


class Family:
    """What the test modules share (the `family` fixture)."""

    DPS = DPS
    REL_TOL = REL_TOL
    NEAR_IDENTICAL_REL = NEAR_IDENTICAL_REL
    FULL = FULL
    LONG_N = LONG_N
    TINY = TINY
    HUGE = HUGE
    Measure = Measure
    MEASURES = MEASURES
    PAIR_MEASURES = PAIR_MEASURES
    HARD_MEASURES = HARD_MEASURES
    CORE = CORE
    HARD_CASES = HARD_CASES
    ENTROPY_ALPHAS = ENTROPY_ALPHAS
    DIVERGENCE_ALPHAS = DIVERGENCE_ALPHAS
    HARD_ALPHAS = HARD_ALPHAS
    exact_values = staticmethod(exact_values)

    @staticmethod
    def case(name):
        return next(c for c in HARD_CASES if c.name == name)


_FAM = ExactFamily()


@pytest.fixture(scope="session")
def family():
    return Family


@pytest.fixture(scope="session")
def fam():
    return _FAM


def pytest_generate_tests(metafunc):
    params = {
        "measure": MEASURES,
        "pair_measure": PAIR_MEASURES,
        "base_measure": [m for m in MEASURES if m.has_base],
        "hard_measure": HARD_MEASURES,
        "hard_case": HARD_CASES,
        "short_case": [c for c in HARD_CASES if c.mult is None],
        "near_identical_case": NEAR_IDENTICAL_CASES,
    }
    for name, values in params.items():
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, values, ids=[repr(v) for v in values])
