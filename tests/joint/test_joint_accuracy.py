"""Accuracy of the joint-table functions against the exact (mpmath)
reference, for every input kind (dense layouts, transposed axes, sparse
formats, non-canonical sparse matrices).

* Random tables (integer counts and floats; 1 x 1, 1 x k, k x 1, square and
  oblong, with zero cells): H(X, Y), H(Y | X), I(X; Y), VI in nats and bits,
  and I normalised in each of the five ways, every result within 1e-12 *
  max(1, |exact|), a numpy.float64, never negative (the normalised ones in
  [0, 1]).
* Hard tables (conftest `HARD_CASES`): the same checks, and for the
  near-independent ones I(X; Y) within 1e-9 relative (and never negative).
* Bases 2, 10, 1.5, e and 1 + 1e-9 (results of ~1e9 nats per unit) on
  near-independent, near-deterministic and 2**53 + 1 count tables, dense
  and sparse.
* Integer and float dtypes (bool, int8 .. uint64, float16, float32,
  float64): the same table in each dtype that holds it gives the exact value
  of its numbers.
* Identities of exact tables: a permutation table has H(Y | X) = VI = 0,
  I = H(X) = H(Y) and every normalised I = 1; an outer product of integer
  marginals has I = 0 (never negative) and H(Y | X) = H(Y).
* Random fuzz (HISTENTROPY_FUZZ_EXAMPLES tables): random shapes, dtypes,
  magnitudes and kinds against the exact reference.
* The reference itself: H(X, Y) = H(X) + H(Y | X), I = H(Y) - H(Y | X) =
  H(X) - H(X | Y) to 50 digits.
"""
import math

import mpmath
import numpy as np
import pytest

import histentropy

SHAPES = [(1, 1), (1, 6), (6, 1), (2, 2), (3, 5), (8, 8), (13, 7)]
FULL_SHAPES = [(40, 30), (1, 200), (150, 2)]


def _shapes(jt):
    return SHAPES + (FULL_SHAPES if jt.FULL else [])


def _table_for(jt, shape, dtype):
    # the same numbers for every kind (so the exact values are computed once)
    rng = np.random.default_rng(shape[0] * 1009 + shape[1] * 31 + np.dtype(dtype).num)
    return jt.random_table(rng, shape, dtype)


@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_random_tables(jt, jexact, kind, dtype):
    fails = []
    for shape in _shapes(jt):
        x = _table_for(jt, shape, dtype)
        fails += kind.check(x, jexact, what=f"{kind!r} {shape} {dtype}")
    jt.assert_no_fails(fails)


def test_hard_tables(jt, jexact, hard):
    kind, case = hard
    x = case.table()
    jt.assert_no_fails(kind.check(x, jexact, what=f"{kind!r} {case!r}",
                                  near_independent=case.near_independent))


@pytest.mark.parametrize("base", [2, 10, 1.5, math.e, 1 + 1e-9])
def test_bases(jt, jexact, base):
    fails = []
    for case in ("near-independent", "near-deterministic", "huge-int64-2**53+1"):
        x = jt.case(case).table()
        for kind in ("dense-C", "csr_array"):
            fails += jt.kind(kind).check(x, jexact, what=f"{kind} {case}", bases=(base,),
                                         normalized=())
    jt.assert_no_fails(fails)


DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float16", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtypes(jt, jexact, dtype):
    rng = np.random.default_rng(77)
    hi = 2 if dtype == "bool" else 100
    x = rng.integers(0, hi, size=(5, 4)).astype(dtype)
    x[0, 0] = 1
    fails = jt.check_table(x, x, {}, jexact, what=f"dense {dtype}")
    if dtype != "float16":  # scipy.sparse has no float16
        sp = pytest.importorskip("scipy.sparse")
        fails += jt.check_table(x, sp.csr_array(x), {}, jexact, what=f"csr {dtype}")
    jt.assert_no_fails(fails)


def test_float16_fractions(jt, jexact):
    x = (np.random.default_rng(5).random((4, 6)) * 3).astype(np.float16)
    jt.assert_no_fails(jt.check_table(x, x, {}, jexact, what="float16"))


def test_permutation_table(jt, kind):
    k = 9
    x = np.zeros((k, k), dtype=np.int64)
    x[np.arange(k), np.random.default_rng(3).permutation(k)] = np.arange(1, k + 1)
    hx = histentropy.entropy(np.arange(1, k + 1))
    fails = []
    for f, want in (("conditional_entropy", 0.0), ("variation_of_information", 0.0),
                    ("mutual_information", hx), ("joint_entropy", hx)):
        got = kind.value(f, x)
        if not abs(got - want) <= 1e-12 * max(1, want) or got < 0:
            fails.append(f"{f}: got {got!r}, want {want!r}")
    for method in jt.NORMALIZATIONS:
        got = kind.value("mutual_information", x, normalized=method)
        if not abs(got - 1.0) <= 1e-12 or got > 1:
            fails.append(f"normalized={method}: got {got!r}, want 1")
    jt.assert_no_fails(fails)


def test_independent_integer_table(jt, kind):
    rng = np.random.default_rng(11)
    a, b = rng.integers(1, 30, size=7), rng.integers(1, 30, size=5)
    x = np.outer(a, b).astype(np.int64)
    fails = []
    mi = kind.value("mutual_information", x)
    if not (0.0 <= mi <= 1e-14):
        fails.append(f"mutual_information: {mi!r}, want 0 (>= 0)")
    hy = histentropy.entropy(b)
    hx = histentropy.entropy(a)
    for f, want in (("conditional_entropy", hy), ("variation_of_information", hx + hy)):
        got = kind.value(f, x)
        if not abs(got - want) <= 1e-12 * max(1, want):
            fails.append(f"{f}: got {got!r}, want {want!r}")
    for method in jt.NORMALIZATIONS:
        got = kind.value("mutual_information", x, normalized=method)
        if not (0.0 <= got <= 1e-14):
            fails.append(f"normalized={method}: got {got!r}, want 0")
    jt.assert_no_fails(fails)


def _fuzz_table(rng, jt):
    m = int(rng.integers(1, 25 if jt.FULL else 9))
    n = int(rng.integers(1, 25 if jt.FULL else 9))
    choice = rng.integers(6)
    if choice == 0:
        x = rng.integers(0, int(rng.choice([2, 10, 1000, 2**40])), size=(m, n)).astype(np.int64)
    elif choice == 1:
        x = rng.random((m, n)) * 10.0 ** rng.integers(-300, 300)
    elif choice == 2:
        x = jt.near_independent(rng, m, n)
    elif choice == 3:
        x = rng.random((m, n)).astype(np.float32)
    elif choice == 4:
        x = rng.exponential(size=(m, n)) ** 8
    else:
        x = np.zeros((m, n))
        x.flat[rng.integers(m * n)] = 1.0
        x += (rng.random((m, n)) < 0.3) * rng.random((m, n)) * 1e-9
    x[rng.random((m, n)) < 0.25] = 0
    return x


def test_fuzz(jt, jexact):
    rng = np.random.default_rng(2024)
    fails = []
    kinds = jt.KINDS
    for example in range(jt.EXAMPLES):
        x = _fuzz_table(rng, jt)
        kind = kinds[rng.integers(len(kinds))]
        fails += kind.check(x, jexact, what=f"example {example} {kind!r}", bases=(None,))
    jt.assert_no_fails(fails)


def test_exact_reference_identities(jexact):
    """The reference itself: H(X,Y) = H(X) + H(Y|X), I = H(Y) - H(Y|X) on a
    random table (so that the reference's formulas are consistent)."""
    x = np.random.default_rng(1).integers(0, 9, size=(4, 5))
    s = jexact.state(x)
    with mpmath.workdps(60):
        assert abs(s["joint_entropy"] - s["hx"] - s["conditional_entropy"]) < 1e-50
        assert abs(s["mutual_information"] - s["hy"] + s["conditional_entropy"]) < 1e-50
        assert abs(s["mutual_information"] - s["hx"] + s["conditional_entropy_xy"]) < 1e-50
