"""Errors, special values and options of the joint-table functions, dense and
sparse.

* ``estimator``: "plugin" (the default) works; the four other estimators of
  the issue ("miller_madow", "grassberger", "chao_shen", "james_stein") are
  known names (NotImplementedError while they are not in, else a float64;
  their values are tested elsewhere); any other string (other spellings,
  other names) or non-string (None, numbers, bytes, lists) raises
  ValueError.
* ``normalized`` not None nor one of the five names: ValueError.
* ``base`` <= 1, NaN, inf, a string, a bool: ValueError.
* ``axes`` not naming two distinct axes of joint (the same axis twice, also
  as a negative index; out of range; not a pair; non-integers): ValueError
  (numpy's AxisError is a ValueError); the same for a sparse joint. A joint
  of fewer than 2 dimensions: ValueError.
* Negative or infinite weights (dense, sparse, in a batch, with every
  nan_policy): ValueError whose message names joint.
* NaN: "propagate" gives NaN for that table only (every function and
  normalisation), "raise" raises ValueError, "omit" drops the NaN cells: the
  result is that of the table with those cells empty (exact reference,
  dense and sparse, a batch; a table near-independent once they are dropped:
  I to 1e-9 relative). A table of NaN only with "omit": NaN.
* A table without mass: NaN (dense, sparse, every normalisation).
* ``nan_policy`` not one of the three names, ``workers`` out of range or
  not an integer: the same exception as `histentropy.entropy`.
* Complex and string tables: TypeError.
* The input is not modified (dense, and sparse matrices that are not in
  canonical form).
"""
import math

import numpy as np
import pytest

import histentropy
from expect import Expect

TABLE = np.array([[3, 1, 0, 2], [0, 2, 5, 1], [1, 0, 0, 4]])
PLANNED = ("miller_madow", "grassberger", "chao_shen", "james_stein")
BAD_ESTIMATORS = ["Plugin", "PLUGIN", "plug-in", "plugin ", "", "mle", "miller-madow",
                  "MillerMadow", "shrinkage", None, 0, 1.0, b"plugin", ["plugin"],
                  ("plugin",), True]
BAD_NORMALIZED = ["Arithmetic", "mean", "sqrt", "average", "", "none", "None", "minimum",
                  "joint ", True, False, 0, 1, 2.0, b"min", ("min",), ["max"]]
BAD_BASES = [1, 1.0, 0.5, 0, -2, math.nan, math.inf, -math.inf, "2", True, 10**400]
BAD_AXES_2D = [(0, 0), (1, 1), (-1, 1), (0, -2), (-2, -2), (0, 2), (2, 0), (-3, 0), (0,),
               (0, 1, 2), (), 0, 1, None, (0.0, 1), (0, 1.0), ("0", 1), "01",
               (True, False), (None, 1), (0, [1])]
BAD_AXES_3D = [(0, 0), (2, -1), (0, 3), (-4, 1), (1,), (0, 1, 2), (1.5, 2)]


def _inputs():
    """(name, joint, keywords) of the same table in several kinds."""
    sp = pytest.importorskip("scipy.sparse")
    return [("dense", TABLE, {}), ("dense-transposed", TABLE.T.copy(), {"axes": (1, 0)}),
            ("csr_array", sp.csr_array(TABLE), {}), ("csc_matrix", sp.csc_matrix(TABLE), {}),
            ("coo_array-transposed", sp.coo_array(TABLE.T), {"axes": (1, 0)})]


def _names_joint(e):
    return None if "joint" in str(e) else f"message does not name joint: {str(e)!r}"


# -- estimator ----------------------------------------------------------------

def test_estimator_plugin():
    for name, joint, kw in _inputs():
        default = histentropy.mutual_information(joint, **kw)
        plugin = histentropy.mutual_information(joint, estimator="plugin", **kw)
        assert plugin == default, name
        for method in ("arithmetic", "joint"):
            assert (histentropy.mutual_information(joint, estimator="plugin",
                                                   normalized=method, **kw)
                    == histentropy.mutual_information(joint, normalized=method, **kw))


def test_estimator_names_of_the_issue_accepted():
    """The four bias-corrected estimators of the issue are names the function
    knows: NotImplementedError while they are not in, else a float64 per
    table; never ValueError. Their values are tested elsewhere."""
    fails = []
    for name, joint, kw in _inputs():
        for estimator in PLANNED:
            try:
                got = histentropy.mutual_information(joint, estimator=estimator, **kw)
            except NotImplementedError:
                continue
            except Exception as e:  # noqa: BLE001
                fails.append(f"{name} {estimator!r}: {type(e).__name__}: {e}")
                continue
            if not isinstance(got, np.float64):
                fails.append(f"{name} {estimator!r}: {got!r}, not numpy.float64")
    assert not fails, "\n".join(fails)


def test_estimator_bad():
    expect = Expect()
    for name, joint, kw in _inputs():
        for estimator in BAD_ESTIMATORS:
            expect.raises(ValueError, histentropy.mutual_information, joint,
                          estimator=estimator, what=f"{name} {estimator!r}", **kw)
    # checked before the data: also for a table with a negative weight
    expect.raises(ValueError, histentropy.mutual_information, np.array([[1, -1], [0, 1]]),
                  estimator="plug_in", what="negative table")
    expect.done()


# -- options ------------------------------------------------------------------

def test_normalized_bad():
    expect = Expect()
    for name, joint, kw in _inputs():
        for normalized in BAD_NORMALIZED:
            expect.raises(ValueError, histentropy.mutual_information, joint,
                          normalized=normalized, what=f"{name} {normalized!r}", **kw)
    expect.done()


def test_base_bad(jt):
    expect = Expect()
    for name, joint, kw in _inputs():
        for f in jt.FUNCTIONS:
            for base in BAD_BASES:
                expect.raises(ValueError, jt.call, f, joint, base=base,
                              what=f"{name} {f} base={base!r}", **kw)
    expect.done()


def test_base_good(jt):
    for f in jt.FUNCTIONS:
        nats = jt.call(f, TABLE)
        for base, log in ((2, math.log(2)), (10.0, math.log(10)), (np.float32(3), math.log(3)),
                          (np.int64(7), math.log(7)), (math.e, 1.0)):
            got = jt.call(f, TABLE, base=base)
            assert abs(got - nats / log) <= 1e-14 * max(1, abs(got)), (f, base, got)


def test_nan_policy_and_workers_bad(jt):
    expect = Expect()
    for name, joint, kw in _inputs():
        for f in jt.FUNCTIONS:
            for policy in ("ignore", "Omit", "", None, 1):
                expect.raises(ValueError, jt.call, f, joint, nan_policy=policy,
                              what=f"{name} {f} nan_policy={policy!r}", **kw)
            for workers in (0, -2, 1.5, "2", True):
                try:
                    histentropy.entropy(TABLE.ravel(), workers=workers)
                except Exception as e:  # noqa: BLE001
                    exc = type(e)
                else:
                    raise AssertionError(f"entropy accepted workers={workers!r}")
                expect.raises(exc, jt.call, f, joint, workers=workers,
                              what=f"{name} {f} workers={workers!r}", **kw)
    expect.done()


# -- axes -----------------------------------------------------------------------

def test_axes_bad_dense(jt):
    expect = Expect()
    J3 = np.ones((2, 3, 4))
    for f in jt.FUNCTIONS:
        for axes in BAD_AXES_2D:
            expect.raises(ValueError, jt.call, f, TABLE, axes=axes, what=f"{f} 2-D axes={axes!r}")
        for axes in BAD_AXES_3D:
            expect.raises(ValueError, jt.call, f, J3, axes=axes, what=f"{f} 3-D axes={axes!r}")
    expect.done()


def test_axes_bad_sparse(jt):
    sp = pytest.importorskip("scipy.sparse")
    expect = Expect()
    for S in (sp.csr_array(TABLE), sp.csc_matrix(TABLE), sp.coo_array(TABLE)):
        for f in jt.FUNCTIONS:
            for axes in BAD_AXES_2D:
                expect.raises(ValueError, jt.call, f, S, axes=axes,
                              what=f"{type(S).__name__} {f} axes={axes!r}")
    expect.done()


def test_axes_integer_types(jt):
    want = [jt.call(f, TABLE) for f in jt.FUNCTIONS]
    for axes in ((np.int64(0), np.int32(1)), np.array([0, 1]), [0, 1], (-2, 1), (0, -1),
                 range(2)):
        got = [jt.call(f, TABLE, axes=axes) for f in jt.FUNCTIONS]
        assert got == want, axes


def test_fewer_than_two_dimensions(jt):
    expect = Expect()
    for f in jt.FUNCTIONS:
        for joint in (np.array([1.0, 2.0, 3.0]), [1, 2, 3], np.float64(4.0), 5, np.array([])):
            expect.raises(ValueError, jt.call, f, joint, what=f"{f} {joint!r}")
            expect.raises(ValueError, jt.call, f, joint, axes=(0, 1), what=f"{f} {joint!r}")
    expect.done()


def test_array_like_tables(jt):
    for f in jt.FUNCTIONS:
        assert jt.call(f, TABLE.tolist()) == jt.call(f, TABLE)
        assert jt.call(f, tuple(map(tuple, TABLE))) == jt.call(f, TABLE)


def test_non_numeric_tables(jt):
    expect = Expect()
    for f in jt.FUNCTIONS:
        for joint in (TABLE.astype(complex), TABLE.astype(str),
                      np.array([[1, "a"], [2, None]], dtype=object)):
            expect.raises(TypeError, jt.call, f, joint, what=f"{f} {joint.dtype}")
    expect.done()


# -- weights ------------------------------------------------------------------

def _bad_tables():
    x = TABLE.astype(np.float64)
    out = []
    for value in (-1.0, -1e-300, -np.inf, np.inf):
        t = x.copy()
        t[1, 2] = value
        out.append((f"{value!r}", t))
    t = x.copy()
    t[0, 0] = -1.0  # the row keeps a positive mass
    out.append(("-1 in a row of positive mass", t))
    out.append(("int64 -1", np.array([[1, -1], [2, 2]], dtype=np.int64)))
    out.append(("int8 -128", np.array([[1, -128], [2, 2]], dtype=np.int8)))
    big = np.full((2, 2), 1e308)
    big[0, 1] = np.inf
    out.append(("inf beside totals beyond the double range", big))
    return out


@pytest.mark.parametrize("nan_policy", ["propagate", "raise", "omit"])
def test_bad_weights(jt, nan_policy):
    sp = pytest.importorskip("scipy.sparse")
    expect = Expect()
    for name, t in _bad_tables():
        batch = np.stack([np.abs(t).astype(t.dtype) if t.dtype.kind == "f" else np.abs(t), t])
        batch[0][np.isinf(batch[0])] = 1
        joints = [("dense", t, {}), ("dense-transposed", t.T, {"axes": (1, 0)}),
                  ("batch", batch, {}), ("csr_array", sp.csr_array(t), {}),
                  ("coo_matrix-transposed", sp.coo_matrix(t.T), {"axes": (1, 0)})]
        for kind, joint, kw in joints:
            for f in jt.FUNCTIONS:
                expect.raises(ValueError, jt.call, f, joint, nan_policy=nan_policy,
                              what=f"{kind} {name} {f}", check=_names_joint, **kw)
            for method in jt.NORMALIZATIONS:
                expect.raises(ValueError, histentropy.mutual_information, joint,
                              normalized=method, nan_policy=nan_policy,
                              what=f"{kind} {name} normalized={method}",
                              check=_names_joint, **kw)
    expect.done()


def test_bad_weights_with_nan(jt):
    """A negative weight in a table that also holds a NaN: still an error."""
    t = np.array([[1.0, np.nan], [-2.0, 3.0]])
    expect = Expect()
    for f in jt.FUNCTIONS:
        for policy in ("propagate", "omit", "raise"):
            expect.raises(ValueError, jt.call, f, t, nan_policy=policy,
                          what=f"{f} {policy}", check=_names_joint)
    expect.done()


def test_negative_zero_is_a_weight(jt, jexact):
    t = np.array([[1.0, -0.0], [2.0, 3.0]])
    jt.assert_no_fails(jt.check_table(np.abs(t), t, {}, jexact, what="-0.0"))


# -- special values -----------------------------------------------------------

def _no_mass():
    sp = pytest.importorskip("scipy.sparse")
    z = np.zeros((3, 4))
    return [("dense zeros", z, {}), ("int zeros", z.astype(int), {}),
            ("1x1 zero", np.zeros((1, 1)), {}),
            ("csr no stored cells", sp.csr_array((3, 4)), {}),
            ("csr explicit zeros", sp.csr_array((np.zeros(3), ([0, 1, 2], [0, 1, 3])),
                                                shape=(3, 4)), {}),
            ("coo explicit zeros, transposed",
             sp.coo_array((np.zeros(2), ([0, 1], [0, 0])), shape=(4, 3)), {"axes": (1, 0)})]


def test_no_mass_is_nan(jt):
    fails = []
    for name, joint, kw in _no_mass():
        for f in jt.FUNCTIONS:
            got = jt.call(f, joint, **kw)
            if not (isinstance(got, np.float64) and np.isnan(got)):
                fails.append(f"{name} {f}: {got!r}, want nan")
        for method in jt.NORMALIZATIONS:
            got = histentropy.mutual_information(joint, normalized=method, **kw)
            if not (isinstance(got, np.float64) and np.isnan(got)):
                fails.append(f"{name} normalized={method}: {got!r}, want nan")
    jt.assert_no_fails(fails)


NAN_TABLES = [
    np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]]),
    np.array([[1.0, 2.0, np.nan], [2.0, 4.0, 6.0]]),
    np.array([[np.nan, 1.0], [1.0, np.nan]]),
    np.array([[np.nan, np.nan], [np.nan, 3.0]]),
    np.array([[0.25, 0.25, np.nan], [0.25, 0.25, 0.0], [np.nan, 0.0, 0.0]]),
]


def _near_independent_nan():
    """Near independent once the NaN cells are dropped (I ~ 4e-13)."""
    t = np.zeros((3, 3))
    t[:2, :2] = np.outer([0.3, 0.7], [0.6, 0.4]) * (1 + 1e-6 * np.array([[1, -1], [-1, 1]]))
    t[2, :2] = [1e-16, np.nan]
    t[:2, 2] = [np.nan, 2e-16]
    return t


def _sparse_nan(t):
    sp = pytest.importorskip("scipy.sparse")
    return [("csr_array", sp.csr_array(t), {}),
            ("csc_matrix-transposed", sp.csc_matrix(t.T), {"axes": (1, 0)}),
            ("coo_array", sp.coo_array(t), {})]


def test_nan_propagate(jt):
    fails = []
    for t in NAN_TABLES:
        for name, joint, kw in [("dense", t, {})] + _sparse_nan(t):
            for f in jt.FUNCTIONS:
                for policy in ({}, {"nan_policy": "propagate"}):
                    got = jt.call(f, joint, **kw, **policy)
                    if not np.isnan(got):
                        fails.append(f"{name} {t.tolist()} {f}: {got!r}, want nan")
            for method in jt.NORMALIZATIONS:
                got = histentropy.mutual_information(joint, normalized=method, **kw)
                if not np.isnan(got):
                    fails.append(f"{name} {t.tolist()} normalized={method}: {got!r}, want nan")
    jt.assert_no_fails(fails)


def test_nan_raise(jt):
    expect = Expect()
    for t in NAN_TABLES:
        for name, joint, kw in [("dense", t, {}), ("batch", np.stack([np.ones_like(t), t]), {})] \
                + _sparse_nan(t):
            for f in jt.FUNCTIONS:
                expect.raises(ValueError, jt.call, f, joint, nan_policy="raise", **kw,
                              what=f"{name} {t.tolist()} {f}")
            expect.raises(ValueError, histentropy.mutual_information, joint, nan_policy="raise",
                          normalized="max", **kw, what=f"{name} {t.tolist()} normalized")
    expect.done()


def test_nan_omit(jt, jexact):
    """'omit' drops the NaN cells: every function gives the value of the
    table with those cells empty (0), the value the four functions agree on
    (I = H(X) + H(Y) - H(X, Y) and so on)."""
    fails = []
    for t in NAN_TABLES:
        for name, joint, kw in [("dense", t, {}), ("dense-transposed", t.T, {"axes": (1, 0)})] \
                + _sparse_nan(t):
            fails += jt.check_table(t, joint, dict(kw, nan_policy="omit"), jexact,
                                    what=f"{name} {t.tolist()}", omit=True)
    t = _near_independent_nan()
    for name, joint, kw in [("dense", t, {})] + _sparse_nan(t):
        fails += jt.check_table(t, joint, dict(kw, nan_policy="omit"), jexact,
                                what=f"{name} near independent", omit=True,
                                near_independent=True)
    jt.assert_no_fails(fails)


def test_nan_omit_all_nan(jt):
    t = np.full((2, 3), np.nan)
    for f in jt.FUNCTIONS:
        assert np.isnan(jt.call(f, t, nan_policy="omit")), f


def test_nan_in_batch(jt):
    """A NaN in one table of a batch: that table NaN ('propagate') or the
    NaN cell dropped ('omit'); the other tables unchanged."""
    rng = np.random.default_rng(2)
    B = rng.random((4, 3, 5))
    B[1, 2, 0] = np.nan
    fails = []
    for f in jt.FUNCTIONS:
        got = jt.call(f, B)
        if not np.isnan(got[1]) or np.isnan(np.delete(got, 1)).any():
            fails.append(f"{f} propagate: {got!r}")
        for i in (0, 2, 3):
            if got[i] != jt.call(f, B[i]):
                fails.append(f"{f} propagate: table {i} changed")
        omitted = jt.call(f, B, nan_policy="omit")
        single = np.array([jt.call(f, t, nan_policy="omit") for t in B])
        if not np.array_equal(omitted, single):
            fails.append(f"{f} omit: batch {omitted!r} != single {single!r}")
        zeroed = jt.call(f, np.nan_to_num(B[1], nan=0.0))
        if not abs(omitted[1] - zeroed) <= 1e-12 * max(1, abs(zeroed)):
            fails.append(f"{f} omit: {omitted[1]!r}, the table with the cell empty {zeroed!r}")
    jt.assert_no_fails(fails)


# -- inputs are not modified --------------------------------------------------

def _noncanonical_inputs(jt):
    sp = pytest.importorskip("scipy.sparse")
    x = np.array([[0.0, 2.0, 1.0, 0.0], [3.0, 0.0, 0.0, 4.0], [0.0, 1.5, 0.0, 2.5]])
    out = []
    for fmt in ("csr", "csc", "coo"):
        for array in (True, False):
            out.append((f"{fmt}_{'array' if array else 'matrix'}-noncanonical",
                        jt.noncanonical(x, fmt, array), {}))
    # unsorted, duplicated indices read through the transpose
    out.append(("csc_array-noncanonical-transposed", jt.noncanonical(x.T.copy(), "csc", True),
                {"axes": (1, 0)}))
    out.append(("csr_array-noncanonical-transposed", jt.noncanonical(x.T.copy(), "csr", True),
                {"axes": (1, 0)}))
    return out


def _snapshot(S):
    if S.format == "coo":
        return (S.data.copy(), S.row.copy(), S.col.copy(), S.has_canonical_format)
    return (S.data.copy(), S.indices.copy(), S.indptr.copy(), S.has_sorted_indices)


def test_sparse_input_not_modified(jt):
    fails = []
    for name, S, kw in _noncanonical_inputs(jt):
        for f, fkw in [(f, {}) for f in jt.FUNCTIONS] + [("mutual_information",
                                                          {"normalized": "min"})]:
            before = _snapshot(S)
            jt.call(f, S, **kw, **fkw)
            after = _snapshot(S)
            same = all(np.array_equal(a, b) for a, b in zip(before[:3], after[:3]))
            if not same or before[3] != after[3]:
                fails.append(f"{name} {f}{fkw}: the input's data / indices were changed "
                             f"(nnz {before[0].size} -> {after[0].size})")
    jt.assert_no_fails(fails)


def test_dense_input_not_modified(jt):
    x = np.array([[1.0, np.nan, 2.0], [1e308, 1e308, 0.0]])
    copy = x.copy()
    for f in jt.FUNCTIONS:
        for policy in ("propagate", "omit"):
            jt.call(f, x, nan_policy=policy)
            jt.call(f, x, nan_policy=policy, axes=(1, 0))
    np.testing.assert_array_equal(x, copy)
