"""Every instruction-set path and every thread count gives the same answers.

The path is chosen once per process, so each capped path
(HISTENTROPY_CPU=...) runs in a subprocess that computes a battery of cases;
the parent compares them with exact mpmath references and with each other.
"""
import json
import os
import subprocess
import sys
import textwrap

import mpmath
import numpy as np
import pytest

import histentropy
from histentropy import _dense

BATTERY = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import histentropy
    from histentropy import _dense

    rng = np.random.default_rng(7)
    out = {"path": _dense.cpu_path(), "cases": {}}

    def put(name, value):
        out["cases"][name] = np.asarray(value, dtype=float).ravel().tolist()

    for dtype in ("float64", "float32", "int32", "int64", "uint8", "int16"):
        for n in (1, 7, 16, 17, 1000, 4099, 200_000):
            p = (rng.random(n) * 50).astype(dtype)
            q = (rng.random(n) * 50 + 1).astype(dtype)
            put(f"H {dtype} {n}", histentropy.entropy(p))
            put(f"D {dtype} {n}", histentropy.decompose(p, q))
    rows = rng.random((300, 37))
    put("H rows", histentropy.entropy(rows))
    put("KL rows", histentropy.kl_divergence(rows, rows[::-1]))
    base = rng.random(5000)
    put("KL near", histentropy.kl_divergence(base, base * (1 + 1e-9 * rng.standard_normal(5000))))
    put("H det", histentropy.entropy(np.array([1 - 1e-12, 1e-12 / 3, 2e-12 / 3])))
    put("H big", histentropy.entropy(np.array([1e308, 1.5e308, 3e307])))
    put("H sub", histentropy.entropy(np.array([5e-324, 1e-323, 3e-320])))
    put("H zeros", histentropy.entropy(np.array([0.0, 3.0, 0.0, 1.0])))
    # 64-bit integers beyond 2**51 (converted through the bits below AVX-512)
    wide = rng.integers(0, 50, 1000).astype(np.int64)
    wide[::97] = 2**52 + 1
    put("H int64 wide", histentropy.entropy(wide))
    put("D uint64 wide", histentropy.decompose(wide.astype(np.uint64) + np.uint64(2**63),
                                               wide.astype(np.uint64) + 1))
    put("JS int64 wide", histentropy.js_divergence(wide, wide[::-1]))
    put("KL inf", histentropy.kl_divergence(np.array([1.0, 1.0]), np.array([1.0, 0.0])))
    put("KL mixed", histentropy.kl_divergence(np.array([1e-200, 1e200, 3e199]),
                                              np.array([3e199, 1e200, 1e-200])))
    # joint tables: counts (the looked-up logs of AVX-512), counts beyond
    # its table, floats (the log of t), a batch, a nearly independent table
    put("MI counts", histentropy.mutual_information(rng.integers(0, 50, (30, 40))))
    put("MI large", histentropy.mutual_information(rng.integers(0, 5000, (20, 20))))
    huge = rng.integers(0, 50, (9, 11)).astype(np.int64)
    huge[2, 3] = 2**52 + 1                      # beyond the AVX2 conversion of int64
    put("MI huge ints", histentropy.mutual_information(huge))
    put("MI uint64", histentropy.mutual_information(rng.integers(0, 99, (17, 19)).astype(np.uint64)))
    put("MI floats", histentropy.mutual_information(rng.random((30, 41)) * 7))
    put("MI batch", histentropy.mutual_information(rng.integers(0, 9, (50, 16, 16))))
    outer = np.outer(rng.integers(1, 100, 20), rng.integers(1, 100, 30)).astype(float)
    put("MI near", histentropy.mutual_information(
        outer * (1 + 1e-6 * rng.standard_normal(outer.shape))))
    # estimators: small counts (the vectorised loops over distinct counts)
    # and large ones
    for estimator in ("miller_madow", "grassberger", "chao_shen", "james_stein"):
        put(f"E {estimator}", histentropy.entropy(rng.poisson(3, (40, 64)),
                                                  estimator=estimator))
        put(f"E {estimator} large", histentropy.entropy(
            rng.integers(0, 3000, (10, 64)), estimator=estimator))
    json.dump(out, sys.stdout)
    """
)


def _run_with_cpu(code, value):
    """Run `code` in a fresh interpreter with HISTENTROPY_CPU=value (unset
    for None); returns its JSON output and its stderr."""
    env = dict(os.environ)
    if value is None:
        env.pop("HISTENTROPY_CPU", None)
    else:
        env["HISTENTROPY_CPU"] = value
    proc = subprocess.run([sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def _run_battery(path):
    return _run_with_cpu(BATTERY, path)[0]


@pytest.fixture(scope="module")
def batteries():
    return {path: _run_battery(path) for path in _dense.available_cpu_paths()}


def test_cpu_path_names():
    paths = _dense.available_cpu_paths()
    assert paths[0] == "generic"
    assert set(paths) <= {"generic", "sse4.2", "avx2", "avx512"}
    assert _dense.cpu_path() in paths


def test_cap_selects_the_path(batteries):
    for path, result in batteries.items():
        assert result["path"] == path


def test_unknown_cap_uses_the_best_path():
    result = _run_battery("no-such-path")
    assert result["path"] == _dense.available_cpu_paths()[-1]


def test_paths_agree(batteries):
    reference = batteries["generic"]["cases"]
    for path, result in batteries.items():
        for name, values in result["cases"].items():
            np.testing.assert_allclose(values, reference[name], rtol=1e-14,
                                       atol=1e-300, err_msg=f"{path}: {name}")


def _exact_entropy(p):
    mpmath.mp.dps = 50
    w = [mpmath.mpf(float(v)) for v in p]
    s = mpmath.fsum(w)
    return -mpmath.fsum((v / s) * mpmath.log(v / s) for v in w if v > 0)


def _exact_kl(p, q):
    mpmath.mp.dps = 50
    a = [mpmath.mpf(float(v)) for v in p]
    b = [mpmath.mpf(float(v)) for v in q]
    sa, sb = mpmath.fsum(a), mpmath.fsum(b)
    return mpmath.fsum((x / sa) * mpmath.log((x / sa) / (y / sb))
                       for x, y in zip(a, b) if x > 0)


def test_hard_cases_on_every_path(batteries):
    exact = {
        "H det": _exact_entropy([1 - 1e-12, 1e-12 / 3, 2e-12 / 3]),
        "H big": _exact_entropy([1e308, 1.5e308, 3e307]),
        "H sub": _exact_entropy([5e-324, 1e-323, 3e-320]),
        "H zeros": _exact_entropy([0.0, 3.0, 0.0, 1.0]),
        "KL mixed": _exact_kl([1e-200, 1e200, 3e199], [3e199, 1e200, 1e-200]),
    }
    for path, result in batteries.items():
        for name, value in exact.items():
            got = result["cases"][name][0]
            assert abs(got - float(value)) <= 1e-14 * max(1e-300, abs(float(value))), (
                f"{path}: {name}: {got!r} vs {mpmath.nstr(value, 20)}")
        assert result["cases"]["KL inf"] == [float("inf")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_threads_agree_on_one_long_histogram(dtype):
    rng = np.random.default_rng(3)
    p = (rng.random(1_000_003) * 100).astype(dtype)
    q = (rng.random(1_000_003) * 100 + 1).astype(dtype)
    serial = histentropy.decompose(p, q, workers=1)
    for workers in (2, 3, None, -1):
        parallel = histentropy.decompose(p, q, workers=workers)
        np.testing.assert_allclose(parallel, serial, rtol=1e-14)
    assert histentropy.entropy(p, workers=2) == pytest.approx(
        histentropy.entropy(p, workers=1), rel=1e-14)


def test_threads_agree_on_many_rows():
    rng = np.random.default_rng(4)
    p = rng.random((2000, 300))
    q = rng.random((2000, 300))
    serial_h = histentropy.entropy(p, workers=1)
    serial_kl = histentropy.kl_divergence(p, q, workers=1)
    for workers in (2, None):
        assert np.array_equal(histentropy.entropy(p, workers=workers), serial_h)
        assert np.array_equal(histentropy.kl_divergence(p, q, workers=workers),
                              serial_kl)


def test_long_histogram_with_nan_and_threads():
    p = np.ones(300_000)
    p[123_456] = np.nan
    assert np.isnan(histentropy.entropy(p, workers=2))
    assert histentropy.entropy(p, workers=2, nan_policy="omit") == pytest.approx(
        np.log(299_999), rel=1e-14)
    with pytest.raises(ValueError, match="NaN"):
        histentropy.entropy(p, workers=2, nan_policy="raise")
    p[123_456] = -1.0
    with pytest.raises(ValueError, match="negative"):
        histentropy.entropy(p, workers=2)


@pytest.mark.parametrize("workers", [0, -2, 1.5, "2", True])
def test_bad_workers(workers):
    with pytest.raises((ValueError, TypeError), match="workers"):
        histentropy.entropy([1.0, 2.0], workers=workers)
    with pytest.raises((ValueError, TypeError), match="workers"):
        histentropy.kl_divergence([1.0, 2.0], [2.0, 1.0], workers=workers)


def test_masked_arrays_are_refused_not_silently_unmasked():
    p = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    with pytest.raises(TypeError, match="masked"):
        histentropy.entropy(p)
    with pytest.raises(TypeError, match="masked"):
        histentropy.kl_divergence([1.0, 1.0, 1.0], p)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_structured_array_fields(axis):
    # Field views have strides that are not multiples of their item size.
    stats = pytest.importorskip("scipy.stats")
    rec = np.zeros((4, 5), dtype=[("w", "f8"), ("tag", "i4")])
    rec["w"] = np.random.default_rng(0).random((4, 5))
    expected = (stats.entropy(rec["w"].ravel()) if axis is None
                else stats.entropy(rec["w"], axis=axis))
    np.testing.assert_allclose(histentropy.entropy(rec["w"], axis=axis), expected,
                               rtol=1e-13)
    np.testing.assert_allclose(
        histentropy.kl_divergence(rec["w"], rec["w"][::-1], axis=axis),
        stats.entropy(rec["w"].ravel(), rec["w"][::-1].ravel()) if axis is None
        else stats.entropy(rec["w"], rec["w"][::-1], axis=axis), rtol=1e-13)


# ---- one dispatcher: histentropy.cpu_path() and HISTENTROPY_CPU ------------------

FAMILIES = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("always")
    import histentropy
    from histentropy import _dense, _logits, _simdmath
    json.dump([histentropy.cpu_path(), _dense.cpu_path(), _logits.simd_path(),
               _simdmath.selected_path()], sys.stdout)
    """
)


def _families(value):
    return _run_with_cpu(FAMILIES, value)


ALIASES = {"avx512": "avx512", "x86-64-v4": "avx512", "AVX2": "avx2",
           " x86-64-v3 ": "avx2", "sse4.2": "sse4.2", "SSE42": "sse4.2",
           "x86-64-v2": "sse4.2", "baseline": "sse4.2", "generic": "generic"}


def test_public_cpu_path():
    assert histentropy.cpu_path() in ("avx512", "avx2", "sse4.2", "generic")
    assert histentropy.cpu_path() == _dense.cpu_path()
    assert "cpu_path" in histentropy.__all__


@pytest.mark.parametrize("value", [None] + list(ALIASES))
def test_every_kernel_family_takes_the_same_path(value):
    order = _dense.available_cpu_paths()
    paths, err = _families(value)
    want = order[-1] if value is None else ALIASES[value]
    want = order[min(order.index(want) if want in order else len(order) - 1,
                     len(order) - 1)]
    assert paths == [want] * 4
    assert "Warning" not in err


def test_unknown_cpu_value_warns_once_and_is_ignored():
    paths, err = _families("avx9000")
    assert paths == [_dense.available_cpu_paths()[-1]] * 4
    assert err.count("RuntimeWarning") == 1
    assert "HISTENTROPY_CPU='avx9000'" in err
