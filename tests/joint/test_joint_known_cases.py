"""Small tables that exposed defects of the joint-table functions while these
tests were written, each checked against the exact (mpmath) reference or the
contract; the general tests (test_joint_accuracy, test_joint_errors,
test_joint_batches) hold the same cases among many others.

* I(X; Y) of a near-independent table in which the product of a row's and
  a column's mass (1e-400) underflows while their common cell holds 1e-300:
  not +inf, within 1e-9 relative (dense and sparse), normalised values not
  1.
* Every normalised I of [[1, 0], [0, 1e-300]] is 1 (normalized="geometric"
  must not take sqrt(H(X) H(Y)) as 0 when the product of two entropies
  below 1e-162 underflows).
* I(X; Y) of a table whose total is beyond the double range beside a row of
  mass 1e-20 (the row's rescaled mass underflows): finite, exact value.
* H(Y | X) and VI of tables of subnormal cells (5e-324 ..): finite, exact
  value (the row masses' scale 2**1073 overflows).
* nan_policy="omit": the NaN cells are dropped, so I is that of the table
  with them empty, as for the other three functions (I = H(X) + H(Y) -
  H(X, Y) with the same H); also for a near-independent table (I to 1e-9
  relative), dense and sparse.
* A sparse table: normalised I of a one-row table (I = 0) at most 1e-12
  (H(Y) = 1e-8 there); I to 1e-9 relative on a near-independent 3 x 3 table
  (I = 3.3e-13), and to 1e-12 relative (normalised values to 1e-12) on a
  near-deterministic one (I = 1.6e-10), as the dense path.
* Small counts of every integer dtype (uint64: TypeError from a cast to
  int64 of the marginals' sum), one table and a batch.
* An empty batch (shape (0, 3, 3)): an empty result, not an exception.
* A sparse joint is not modified (duplicates summed, indices sorted in
  place).
* A sparse joint with a -inf weight: ValueError naming joint.
* workers=0 with a sparse joint: ValueError, as with a dense one.
"""
import math

import numpy as np
import pytest

import histentropy


def _check(jexact, got, table, function, **kw):
    want = jexact.value(function, table, **kw)
    miss = jexact.check(got, want)
    assert miss is None, f"{function}{kw} of {table.tolist()}: {miss}"


def test_product_of_marginals_underflows(jexact):
    # near independent (no shortcut through the entropies), with a row and a
    # column of mass 1e-200 meeting in a cell of 1e-300: p_x p_y = 1e-400
    J = np.outer([0.3, 0.7, 0.0], [0.6, 0.4, 0.0]) * (
        1 + 1e-6 * np.array([[1, -1, 0], [-1, 1, 0], [0, 0, 0]]))
    J[2, 0] = J[0, 2] = 1e-200
    J[2, 2] = 1e-300
    sp = pytest.importorskip("scipy.sparse")
    want = jexact.value("mutual_information", J)
    for joint in (J, sp.csr_array(J)):
        mi = histentropy.mutual_information(joint)
        miss = jexact.check(mi, want, rel=1e-9, relative=True)
        assert miss is None, f"{type(joint).__name__}: {miss}"
        for method in ("arithmetic", "geometric", "min", "max", "joint"):
            got = histentropy.mutual_information(joint, normalized=method)
            miss = jexact.check(got, jexact.value("mutual_information", J, normalized=method))
            assert miss is None, f"{type(joint).__name__} normalized={method}: {miss}"


@pytest.mark.parametrize("method", ["arithmetic", "geometric", "min", "max", "joint"])
def test_normalized_of_tiny_entropies(jexact, method):
    J = np.array([[1.0, 0.0], [0.0, 1e-300]])
    got = histentropy.mutual_information(J, normalized=method)
    want = jexact.value("mutual_information", J, normalized=method)  # 1
    assert abs(got - 1.0) <= 1e-12 and want == 1, (got, want)


def test_total_beyond_double_range_beside_tiny_row(jexact):
    J = np.array([[1e308, 1e308], [1e-20, 0.0]])
    for f in ("joint_entropy", "conditional_entropy", "mutual_information",
              "variation_of_information"):
        _check(jexact, getattr(histentropy, f)(J), J, f)


@pytest.mark.parametrize("J", [np.full((2, 2), 5e-324), np.array([[5e-324, 1e-323], [0.0, 5e-324]]),
                               np.full((2, 3), 1e-310)],
                         ids=["2x2-of-5e-324", "2x2-subnormal", "2x3-of-1e-310"])
def test_subnormal_cells(jexact, J):
    for f in ("joint_entropy", "conditional_entropy", "mutual_information",
              "variation_of_information"):
        _check(jexact, getattr(histentropy, f)(J), J, f)


def test_nan_omit_mutual_information(jexact):
    J = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])
    got = histentropy.mutual_information(J, nan_policy="omit")
    _check(jexact, got, J, "mutual_information", omit=True)
    # consistent with the other functions under the same policy
    hxy = histentropy.joint_entropy(J, nan_policy="omit")
    hy_x = histentropy.conditional_entropy(J, nan_policy="omit")
    hy = histentropy.entropy(np.nansum(J, axis=0))
    assert abs(got - (hy - hy_x)) <= 1e-12, (got, hy - hy_x, hxy)


def test_nan_omit_near_independent(jexact):
    """The KL path: the product of the marginals still has mass on the
    dropped cell (2, 1), which must count in its total."""
    sp = pytest.importorskip("scipy.sparse")
    J = np.zeros((3, 2))
    J[:2] = np.outer([0.3, 0.7], [0.6, 0.4]) * (1 + 1e-6 * np.array([[1, -1], [-1, 1]]))
    J[2] = [1e-16, np.nan]
    want = jexact.value("mutual_information", J, omit=True)  # 4.0325112556512134e-13
    for joint in (J, sp.csr_array(J)):
        got = histentropy.mutual_information(joint, nan_policy="omit")
        miss = jexact.check(got, want, rel=1e-9, relative=True)
        assert miss is None, f"{type(joint).__name__}: {miss}"


def test_sparse_near_deterministic(jexact):
    sp = pytest.importorskip("scipy.sparse")
    J = np.zeros((3, 3))
    J[0, 0], J[1, 1], J[1, 2], J[2, 1] = 1.0, 1e-12, 2e-12, 3e-12
    for joint in (J, sp.csr_array(J)):
        what = type(joint).__name__
        mi = histentropy.mutual_information(joint)
        want = jexact.value("mutual_information", J)
        miss = jexact.check(mi, want, rel=1e-12, relative=True)
        assert miss is None, f"{what}: {miss}"
        for method in ("arithmetic", "geometric", "min", "max", "joint"):
            got = histentropy.mutual_information(joint, normalized=method)
            miss = jexact.check(got, jexact.value("mutual_information", J, normalized=method))
            assert miss is None, f"{what} normalized={method}: {miss}"


def test_sparse_near_independent(jexact):
    sp = pytest.importorskip("scipy.sparse")
    J = np.outer([0.3, 0.7, 0.5], [0.6, 0.4, 0.9]) * (
        1 + 1e-6 * np.array([[1, -1, 1], [-1, 1, -1], [1, -1, 1]]))
    want = jexact.value("mutual_information", J)  # 3.3093257757637117e-13
    for joint in (J, sp.csr_array(J), sp.coo_matrix(J)):
        mi = histentropy.mutual_information(joint)
        miss = jexact.check(mi, want, rel=1e-9, relative=True)
        assert miss is None, f"{type(joint).__name__}: {miss}"


def test_sparse_one_row_table():
    """One row: X is constant, I = 0 exactly; every normalised I is 0 (to
    1e-12), as from the dense table."""
    sp = pytest.importorskip("scipy.sparse")
    J = np.array([[1.0, 1e-10, 3e-10]])
    for joint in (J, sp.csr_array(J)):
        assert 0.0 <= histentropy.mutual_information(joint) <= 1e-12
        for method in ("arithmetic", "geometric", "min", "max", "joint"):
            got = histentropy.mutual_information(joint, normalized=method)
            assert 0.0 <= got <= 1e-12, (type(joint).__name__, method, got)


@pytest.mark.parametrize("dtype", ["uint64", "uint32", "int8", "uint8", "int16", "bool"])
def test_small_integer_counts(jexact, dtype):
    """Small counts of every integer dtype (uint64 too: it cannot be cast to
    int64 'safely'), one table and a batch."""
    J = np.array([[1, 2, 0], [3, 4, 1]]).astype(dtype)
    if dtype == "bool":
        J = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    for f in ("joint_entropy", "conditional_entropy", "mutual_information",
              "variation_of_information"):
        _check(jexact, getattr(histentropy, f)(J), J, f)
        batch = getattr(histentropy, f)(np.stack([J, J[::-1]]))
        assert batch[0] == getattr(histentropy, f)(J), f


def test_empty_batch():
    for f in ("joint_entropy", "conditional_entropy", "mutual_information",
              "variation_of_information"):
        got = getattr(histentropy, f)(np.zeros((0, 3, 3)))
        assert got.shape == (0,) and got.dtype == np.float64, f


def test_sparse_joint_not_modified():
    sp = pytest.importorskip("scipy.sparse")
    # row 0 stores column 2 before column 0; row 1 stores column 1 twice
    A = sp.csr_array((np.array([1.0, 2.0, 3.0, 4.0]), np.array([2, 0, 1, 1]),
                      np.array([0, 2, 4])), shape=(2, 3))
    data, indices = A.data.copy(), A.indices.copy()
    histentropy.joint_entropy(A)
    assert A.nnz == 4 and np.array_equal(A.data, data) and np.array_equal(A.indices, indices)


def test_sparse_negative_infinity_names_joint():
    sp = pytest.importorskip("scipy.sparse")
    S = sp.csr_array(np.array([[1.0, -math.inf], [2.0, 3.0]]))
    with pytest.raises(ValueError, match="joint"):
        histentropy.mutual_information(S)


def test_sparse_bad_workers():
    sp = pytest.importorskip("scipy.sparse")
    S = sp.csr_array(np.array([[1.0, 2.0], [2.0, 3.0]]))
    with pytest.raises(ValueError):
        histentropy.joint_entropy(np.array([[1.0, 2.0], [2.0, 3.0]]), workers=0)
    with pytest.raises(ValueError):
        histentropy.joint_entropy(S, workers=0)
