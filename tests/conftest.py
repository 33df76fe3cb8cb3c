"""Shared fixtures of the histentropy test suite.

* A hypothesis profile that keeps the property tests fast (modest
  ``max_examples``, no deadline: the first call of a compiled kernel and a
  loaded 2-core machine make per-example timings meaningless).
* Exact references computed with mpmath (>= 40 significant digits). Float
  inputs are converted exactly with ``mpmath.mpf(float(x))`` and integer
  inputs with ``mpmath.mpf(int(x))``, so the reference is the exact value of
  the measure *of the numbers the library was given* (only the final result
  is rounded). Inputs may be given as distinct values with multiplicities, so
  that the reference of a 10**7-element input built from a few repeated
  values costs a few operations.

The references never call histentropy: they are independent implementations
of the textbook formulas (with x = p / sum p, y = q / sum q)

    H(P)     = -sum x log x            (0 log 0 = 0)
    KL(P||Q) =  sum x log(x / y)       (+inf where x > 0 and y = 0)
    H(P, Q)  = -sum x log y = H(P) + KL(P||Q)

and NaN where p (or q) has no mass.
"""
import math
import os

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from exact import exact_values

settings.register_profile(
    "histentropy",
    max_examples=int(os.environ.get("HISTENTROPY_MAX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "histentropy-thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HISTENTROPY_HYPOTHESIS_PROFILE", "histentropy"))

#: Working precision of the exact references, in decimal digits.
REFERENCE_DPS = 60

#: The accuracy contract of issue 2 for every float64 result.
REL_TOL = 1e-12


def _multiplicities(mult, n):
    if mult is None:
        return [1] * n
    mult = [int(m) for m in np.asarray(mult).ravel()]
    if len(mult) != n:
        raise ValueError("one multiplicity per value")
    return mult


class ExactReference:
    """Entropy, KL divergence and cross entropy of 1-D histograms, exactly.

    Every method takes the bins' values (and, optionally, how many times each
    value occurs) and returns an ``mpmath.mpf`` (or mpf('nan') / mpf('+inf')),
    in nats unless `base` is given.
    """

    dps = REFERENCE_DPS

    def _log_base(self, base):
        return mpmath.mpf(1) if base is None else mpmath.log(mpmath.mpf(float(base)))

    def entropy(self, p, mult=None, base=None):
        with mpmath.workdps(self.dps):
            w = exact_values(p)
            m = _multiplicities(mult, len(w))
            total = mpmath.fsum(mi * wi for mi, wi in zip(m, w))
            if total == 0:
                return mpmath.mpf("nan")
            h = mpmath.fsum(
                -mi * (wi / total) * mpmath.log(wi / total)
                for mi, wi in zip(m, w)
                if wi != 0
            )
            return +(h / self._log_base(base))

    def _pair(self, p, q, mult):
        w = exact_values(p)
        v = exact_values(q)
        if len(w) != len(v):
            raise ValueError("p and q must have the same length")
        m = _multiplicities(mult, len(w))
        sp = mpmath.fsum(mi * wi for mi, wi in zip(m, w))
        sq = mpmath.fsum(mi * vi for mi, vi in zip(m, v))
        return w, v, m, sp, sq

    def kl_divergence(self, p, q, mult=None, base=None):
        with mpmath.workdps(self.dps):
            w, v, m, sp, sq = self._pair(p, q, mult)
            if sp == 0 or sq == 0:
                return mpmath.mpf("nan")
            terms = []
            for mi, wi, vi in zip(m, w, v):
                if wi == 0 or mi == 0:
                    continue
                if vi == 0:
                    return mpmath.mpf("+inf")
                x = wi / sp
                y = vi / sq
                terms.append(mi * x * mpmath.log(x / y))
            return +(mpmath.fsum(terms) / self._log_base(base))

    def cross_entropy(self, p, q, mult=None, base=None):
        with mpmath.workdps(self.dps):
            w, v, m, sp, sq = self._pair(p, q, mult)
            if sp == 0 or sq == 0:
                return mpmath.mpf("nan")
            terms = []
            for mi, wi, vi in zip(m, w, v):
                if wi == 0 or mi == 0:
                    continue
                if vi == 0:
                    return mpmath.mpf("+inf")
                terms.append(-mi * (wi / sp) * mpmath.log(vi / sq))
            return +(mpmath.fsum(terms) / self._log_base(base))

    # -- comparison ---------------------------------------------------------

    @staticmethod
    def error(got, exact):
        """|got - exact| as a float (0 when both are the same special value)."""
        got = float(got)
        if mpmath.isnan(exact):
            return 0.0 if math.isnan(got) else math.inf
        if mpmath.isinf(exact):
            return 0.0 if got == float(exact) else math.inf
        if not math.isfinite(got):
            return math.inf
        with mpmath.workdps(REFERENCE_DPS):
            return float(abs(mpmath.mpf(got) - exact))

    def assert_close(self, got, exact, rel=REL_TOL, what=""):
        """The contract: |got - exact| <= rel * max(1, |exact|).

        NaN must match NaN and +-inf must match exactly.
        """
        assert isinstance(got, (float, np.floating)), type(got)
        err = self.error(got, exact)
        if mpmath.isnan(exact) or mpmath.isinf(exact):
            assert err == 0.0, f"{what}: got {got!r}, exact {exact}"
            return
        bound = rel * max(1.0, abs(float(exact)))
        assert err <= bound, (
            f"{what}: got {float(got)!r}, exact {mpmath.nstr(exact, 25)}, "
            f"error {err:.3e} > {bound:.3e}"
        )

    def assert_rel(self, got, exact, rel, what=""):
        """|got - exact| <= rel * |exact| (a relative bound, for tiny results)."""
        err = self.error(got, exact)
        bound = rel * abs(float(exact))
        assert err <= bound, (
            f"{what}: got {float(got)!r}, exact {mpmath.nstr(exact, 25)}, "
            f"relative error {err / abs(float(exact)) if exact else math.inf:.3e} > {rel:.1e}"
        )


@pytest.fixture(scope="session")
def exact():
    """The exact (mpmath) reference; see `ExactReference`."""
    return ExactReference()


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's name (reproducible per test).

    Set HISTENTROPY_TEST_SEED to draw other data (the suite must pass for any).
    """
    name = request.node.name.encode()
    seed = (sum(name) * 7919 + int(os.environ.get("HISTENTROPY_TEST_SEED", "0"))) % (2**32)
    return np.random.default_rng(seed)
