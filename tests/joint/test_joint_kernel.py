"""The two-read mutual-information kernel (joint.h) through its driver
(_joint.information) and through mutual_information, against the exact
(mpmath) reference.

* It takes the fast reads (code 0) for ordinary tables of every dtype, rows
  of whole vectors and tails, whole counts below and above its log table
  (1024) in one row, integer-valued and fractional floats; each result is
  within 1e-12 * max(1, |exact|).
* It hands a table back (a non-zero code), and mutual_information then
  recomputes it exactly, where its bound is too large (nearly independent
  tables, I = 0), where the reads cannot take it (no mass, a NaN, weights
  whose t = w N / (r c) leaves the double range), and the result is still
  exact.
* Orientation: a table contiguous along X is read transposed (I is
  symmetric), a table contiguous along neither is copied; all give the
  same value.
"""
import numpy as np
import pytest

import histentropy
from histentropy import _joint

DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64"]


def _tables():
    rng = np.random.default_rng(20261206)
    yield "counts 30x37", rng.integers(0, 60, (30, 37))
    yield "counts 9x8", rng.integers(0, 9, (9, 8))
    yield "counts 3x1001", rng.integers(0, 4, (3, 1001))
    mixed = rng.integers(0, 40, (20, 24))
    mixed[::3, ::5] = rng.integers(1024, 100_000, mixed[::3, ::5].shape)   # beyond the table
    yield "counts mixed", mixed
    yield "floats 17x19", rng.random((17, 19)) * 50
    yield "probabilities 16x16", (lambda t: t / t.sum())(rng.random((16, 16)) ** 3)
    yield "sparse-ish 25x40", rng.integers(0, 3, (25, 40)) * rng.integers(0, 2, (25, 40))


TABLES = list(_tables())


@pytest.mark.parametrize("name,table", TABLES, ids=[n for n, _ in TABLES])
def test_fast_reads_are_exact(name, table, jexact):
    got, codes = _joint.information(np.ascontiguousarray(table[None]), 1)
    assert codes[0] == 0, f"{name}: the fast reads gave code {codes[0]}"
    jexact_fail = jexact.check(got[0], jexact.value("mutual_information", table))
    assert jexact_fail is None, f"{name}: {jexact_fail}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype(dtype, jexact):
    rng = np.random.default_rng(np.dtype(dtype).num)
    top = 100 if dtype in ("int8", "uint8") else 3000
    table = rng.integers(0, top, (21, 43)).astype(dtype)
    exact = jexact.value("mutual_information", table)
    for workers in (1, 2):
        got = histentropy.mutual_information(table, workers=workers)
        assert jexact.check(got, exact) is None
    assert _joint.information(table[None], 1)[1][0] == 0


def test_handed_back_tables_are_recomputed_exactly(jexact):
    rng = np.random.default_rng(5)
    outer = np.outer(rng.integers(1, 50, 12), rng.integers(1, 50, 14)).astype(float)
    near = outer * (1 + 1e-7 * rng.standard_normal(outer.shape))
    cases = {
        "independent": outer,                                   # I = 0
        "near independent": near,                               # I ~ 1e-14
        "no mass": np.zeros((4, 5)),
        "nan": np.where(np.eye(4, 5) > 0, np.nan, 1.0),
        "huge": np.array([[1e308, 1e-300], [1e-300, 1e308]]),  # t beyond the range
        "tiny": np.array([[5e-324, 1e-310], [1e-310, 2e-323]]),
    }
    for name, table in cases.items():
        _, codes = _joint.information(np.ascontiguousarray(table[None]), 1)
        assert codes[0] != 0, name
        got = histentropy.mutual_information(table)
        exact = jexact.value("mutual_information", table)
        rel = name.startswith("near")
        assert jexact.check(got, exact, rel=1e-9 if rel else 1e-12, relative=rel) is None, name
        assert np.isnan(got) or got >= 0.0, name


def test_orientations_agree():
    rng = np.random.default_rng(9)
    table = rng.integers(0, 30, (6, 23, 17))
    want = histentropy.mutual_information(table)
    fortran = np.asfortranarray(table)
    strided = np.repeat(table, 2, axis=-1)[..., ::2]
    moved = np.moveaxis(table, 0, -1)
    np.testing.assert_allclose(histentropy.mutual_information(fortran), want, rtol=1e-14)
    np.testing.assert_allclose(histentropy.mutual_information(strided), want, rtol=1e-14)
    np.testing.assert_allclose(histentropy.mutual_information(moved, axes=(0, 1)), want,
                               rtol=1e-14)
    np.testing.assert_allclose(histentropy.mutual_information(table.swapaxes(-1, -2)),
                               want, rtol=1e-14)


def test_workers_give_the_same_bits():
    tables = np.random.default_rng(11).integers(0, 20, (300, 16, 16))
    one = histentropy.mutual_information(tables, workers=1)
    assert np.array_equal(one, histentropy.mutual_information(tables, workers=2))


def test_compressed_rows(jexact):
    """The kernel of compressed rows: the stored cells' terms plus the
    product's mass on the others; explicit zeros stored; exact."""
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    dense = rng.integers(0, 30, (40, 50)) * (rng.random((40, 50)) < 0.2)
    dense[7] = 0                                         # a row without mass
    for dtype in ("int32", "float64", "uint8"):
        J = sparse.csr_matrix(dense.astype(dtype))
        J.data[::7] = 0                                  # explicit zeros
        J.sort_indices()
        exact = jexact.value("mutual_information", J.toarray())
        info, code = _joint.information_csr(np.ascontiguousarray(J.data),
                                            J.indices.astype(np.int64),
                                            J.indptr.astype(np.int64), *J.shape)
        assert code == 0
        assert jexact.check(info, exact) is None, dtype
        assert jexact.check(histentropy.mutual_information(J), exact) is None, dtype
        assert jexact.check(histentropy.mutual_information(J.tocsc()), exact) is None, dtype


def test_compressed_rows_handed_back(jexact):
    sparse = pytest.importorskip("scipy.sparse")
    outer = np.outer(np.arange(1, 9), np.arange(1, 12)).astype(float)
    J = sparse.csr_matrix(outer * (1 + 1e-8 * np.random.default_rng(1).standard_normal(outer.shape)))
    _, code = _joint.information_csr(J.data, J.indices.astype(np.int64),
                                     J.indptr.astype(np.int64), *J.shape)
    assert code != 0
    exact = jexact.value("mutual_information", J.toarray())
    assert jexact.check(histentropy.mutual_information(J), exact, rel=1e-9,
                        relative=True) is None
