"""Accuracy of he_log8 (include/histentropy/vlog_avx512.h), the AVX-512
intrinsics log of the hot loops written for that path, and of he_log8_fast
(the first reads' log, bound 2 ulp), through the _simdmath testbed.

The reference is mpmath at 120 bits (exact conversion of every input): the
error in ulp of the exact result, over the whole normal range, around 1
(where it must keep full relative accuracy), at the edges of its table
intervals and on whole counts (which the joint kernel feeds it).  The
documented bound is 1 ulp (measured 0.86).  Skipped where the CPU has no
avx512 path.
"""
import os

import mpmath
import numpy as np
import pytest

from histentropy import _simdmath

pytestmark = pytest.mark.skipif("avx512" not in _simdmath.available_paths(),
                                reason="the CPU has no avx512 path")

MAX_ULP = {"log8": 1.0, "log8_fast": 2.0}
FULL = os.environ.get("HISTENTROPY_FULL", "0") not in ("", "0")
SAMPLE = 200_000 if FULL else 20_000


def _ulp_errors(x, name="log8"):
    got = getattr(_simdmath, name)(x)
    mpmath.mp.prec = 120
    errors = []
    for v, g in zip(x.tolist(), got.tolist()):
        exact = mpmath.log(mpmath.mpf(v))
        if exact == 0:
            errors.append(0.0 if g == 0.0 else np.inf)
            continue
        ulp = mpmath.mpf(2) ** (mpmath.floor(mpmath.log(abs(exact), 2)) - 52)
        errors.append(float(abs(mpmath.mpf(g) - exact) / ulp))
    return np.array(errors)


def _inputs(rng, n):
    edges = np.array([0.75 + (j + 0.5) / 16 for j in range(12)])   # table interval edges
    return np.concatenate([
        np.exp(rng.uniform(-707, 709, n)),                          # the normal range
        1.0 + rng.uniform(-0.25, 0.5, n),                          # k = 0
        1.0 + rng.uniform(-1e-7, 1e-7, n // 4),                    # next to 1
        np.nextafter(edges, 0), edges, np.nextafter(edges, 2),
        np.arange(1.0, 4097.0),                                    # whole counts
        [2.2250738585072014e-308, 1.7976931348623157e308, 0.5, 2.0, 1.5, 0.75],
    ])


@pytest.mark.parametrize("name", ["log8", "log8_fast"])
def test_ulp_error(name):
    x = _inputs(np.random.default_rng(0), SAMPLE)
    errors = _ulp_errors(x, name)
    worst = int(np.argmax(errors))
    assert errors[worst] <= MAX_ULP[name], f"{name}({x[worst]!r}): {errors[worst]:.3f} ulp"


@pytest.mark.parametrize("name", ["log8", "log8_fast"])
def test_one_and_powers_of_two_are_exact_enough(name):
    x = np.ldexp(1.0, np.arange(-1022, 1024)).astype(np.float64)
    got = getattr(_simdmath, name)(x)
    assert got[1022] == 0.0                                        # log 1 = 0 exactly
    np.testing.assert_allclose(got, np.arange(-1022, 1024) * np.log(2.0), rtol=2.3e-16)


def test_rejects_no_avx512(monkeypatch):
    monkeypatch.setattr(_simdmath, "available_paths", lambda: ["generic"])
    with pytest.raises(ValueError, match="avx512"):
        _simdmath.log8(np.ones(3))
