"""Shared pieces of the tests of the joint-table functions
(`joint_entropy`, `conditional_entropy`, `mutual_information`,
`variation_of_information`).

What the test modules of this directory share lives here and reaches them
through pytest. The directory is a package (an empty ``__init__.py``) only so
that this file is imported as ``joint.conftest`` and does not replace the
``conftest`` of another test directory in ``sys.modules`` (see
tests/pairwise/conftest.py).

* fixture ``jt``: the `Joint` namespace below (functions, input kinds, hard
  tables, comparison helpers);
* fixture ``jexact``: an `ExactJoint` (one per session, so that its cache of
  exact values is shared by every module);
* parametrisation by argument name (``pytest_generate_tests``, unless the
  test parametrises that name itself): ``function`` runs a test for each of
  the four functions, ``kind`` for every input kind (``dense_kind`` /
  ``sparse_kind`` for one family), ``hard`` for every (input kind, hard
  table) pair (the main kinds only in the default run; every kind holds
  every table in the table's own dtype), ``hard_case`` for each hard table
  once, ``normalized`` for every normalisation.

The exact reference never calls histentropy: it is the textbook definition of
each quantity, evaluated with mpmath at 60 significant digits (more where the
cells span more than 60 decades: 1 - 1e-300 must not round to 1) on the exact
values of the cells (``mpmath.mpf(float(x))``, ``mpmath.mpf(int(x))`` for
integers), with p_xy = w_xy / sum w, p_x, p_y the marginals:

    H(X, Y) = -sum p_xy log p_xy             (0 log 0 = 0)
    H(X)    = -sum p_x log p_x,   H(Y) likewise
    H(Y | X) = sum p_xy log(p_x / p_xy),  H(X | Y) = sum p_xy log(p_y / p_xy)
    I(X; Y)  = sum p_xy log(p_xy / (p_x p_y))
    VI       = H(X | Y) + H(Y | X)

and NaN for a table without mass (or holding a NaN). The normalised mutual
information is I divided by (H(X) + H(Y)) / 2, sqrt(H(X) H(Y)), min, max
of H(X), H(Y), or H(X, Y); 0 where that entropy is 0 (then I = 0).

Input kinds: a `Kind` turns a 2-D table (X on rows) into the object and the
``axes`` given to the functions: dense C / Fortran / strided / transposed
(``axes=(1, 0)`` or ``(-1, -2)``) / read-only / embedded in a 3-D array with
the table on axes (0, 2) and a batch axis of length 1 between them (result
shape (1,)); scipy.sparse csr, csc, coo (matrix and array), non-canonical
ones (duplicates that sum to the cell exactly, explicit zeros, unsorted
indices) and transposed ones (``axes=(1, 0)``).

Hard tables (`HardCase`): near-independent ones (outer(px, py) * (1 + 1e-6
noise), float and integer counts), near-deterministic ones (one dominant
cell), cells near the double overflow (totals beyond it), tiny (1e-300) and
subnormal cells, tables whose cells span 1 .. 1e-300 (products of their
marginals underflow; one of them also near-independent), totals beyond the
double range beside a row of mass 1e-20 (one of them near-independent),
empty rows and columns, permutation and constant tables, 1 x k, k x 1,
1 x 1, integer counts of 2**53 + 1 and totals beyond the int64 range,
uint64 counts near 2**64, float32 tables (one near-independent). The
near-independent ones (`HardCase.near_independent`) are also checked for
I(X; Y) within 1e-9 relative.

HISTENTROPY_FUZZ_EXAMPLES (the suite's "longer runs" switch) above its CI
default of 20 makes the tables larger, runs the hard tables on every input
kind and sets the number of random examples.
"""
import math
import os
from dataclasses import dataclass

import mpmath
import numpy as np
import pytest

import histentropy

from exact import exact_values

#: Working precision of the exact references, in decimal digits.
DPS = 60
#: The accuracy contract: |got - want| <= REL_TOL * max(1, |want|).
REL_TOL = 1e-12
#: Near-independent tables: relative accuracy of the mutual information.
NEAR_INDEPENDENT_REL = 1e-9

EXAMPLES = int(os.environ.get("HISTENTROPY_FUZZ_EXAMPLES", "20") or 20)
FULL = EXAMPLES > 20
#: Rows / columns of the larger hard tables.
HARD_K = 60 if FULL else 12

FUNCTIONS = ("joint_entropy", "conditional_entropy", "mutual_information",
             "variation_of_information")
NORMALIZATIONS = ("arithmetic", "geometric", "min", "max", "joint")
HUGE = float(np.finfo(np.float64).max)
TINY = 5e-324


def call(function, joint, **kw):
    """histentropy.<function>(joint, **kw)."""
    return getattr(histentropy, function)(joint, **kw)


# ---------------------------------------------------------------------------
# The exact reference
# ---------------------------------------------------------------------------

def _key(a):
    """The numbers of the table (not their dtype: the same counts given as
    int32 or int64 share their exact values)."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return ("int", a.shape, tuple(int(v) for v in a.ravel()))
    return ("float", a.shape, np.ascontiguousarray(a, dtype=np.float64).tobytes())


class ExactJoint:
    """The four quantities (and the marginal entropies) of a 2-D table,
    exactly (mpmath, 60 digits); cached by the table's numbers.

    ``value(function, table, base=None, normalized=None)`` returns an mpf
    (nan for a table without mass or holding a NaN). ``omit=True`` reads
    NaN cells as empty cells (nan_policy 'omit': the cells are dropped).
    """

    def __init__(self):
        self._cache = {}

    def state(self, table, omit=False):
        table = np.asarray(table)
        assert table.ndim == 2
        if omit and table.dtype.kind == "f":
            table = np.where(np.isnan(table), 0, table).astype(table.dtype)
        key = ("state", _key(table))
        if key not in self._cache:
            self._cache[key] = self._state(table)
        return self._cache[key]

    @staticmethod
    def _state(table):
        nan = mpmath.mpf("nan")
        m, n = table.shape
        with mpmath.workdps(DPS + 20):
            w = exact_values(table)  # exact: 53-bit floats and <= 64-bit integers
            if any(mpmath.isnan(v) for v in w):
                return None
            positive = [v for v in w if v > 0]
            if not positive:
                return None
            # digits to resolve the smallest cell beside the total (a cell of
            # 1 beside 1e-300 has p = 1 - 1e-300, whose log is -1e-300)
            spread = mpmath.log10(mpmath.fsum(positive) / min(positive))
        dps = DPS + max(0, int(spread)) + 5
        with mpmath.workdps(dps):
            total = mpmath.fsum(w)
            p = [[w[i * n + j] / total for j in range(n)] for i in range(m)]
            px = [mpmath.fsum(row) for row in p]
            py = [mpmath.fsum(p[i][j] for i in range(m)) for j in range(n)]
            lx = [mpmath.log(v) if v else nan for v in px]
            ly = [mpmath.log(v) if v else nan for v in py]
            hxy, hy_x, hx_y, info = [], [], [], []
            for i in range(m):
                for j in range(n):
                    v = p[i][j]
                    if not v:
                        continue
                    lv = mpmath.log(v)
                    hxy.append(-v * lv)
                    hy_x.append(v * (lx[i] - lv))
                    hx_y.append(v * (ly[j] - lv))
                    info.append(v * (lv - lx[i] - ly[j]))
            state = {
                "joint_entropy": mpmath.fsum(hxy),
                "conditional_entropy": mpmath.fsum(hy_x),
                "conditional_entropy_xy": mpmath.fsum(hx_y),
                "mutual_information": mpmath.fsum(info),
                "hx": mpmath.fsum(-v * l for v, l in zip(px, lx) if v),
                "hy": mpmath.fsum(-v * l for v, l in zip(py, ly) if v),
            }
            state["variation_of_information"] = (state["conditional_entropy"]
                                                  + state["conditional_entropy_xy"])
        return state

    def value(self, function, table, base=None, normalized=None, omit=False):
        state = self.state(table, omit=omit)
        if state is None:
            return mpmath.mpf("nan")
        with mpmath.workdps(DPS):
            if normalized is not None:
                assert function == "mutual_information"
                info, hx, hy = state["mutual_information"], state["hx"], state["hy"]
                scale = {"arithmetic": lambda: (hx + hy) / 2,
                         "geometric": lambda: mpmath.sqrt(hx * hy),
                         "min": lambda: min(hx, hy),
                         "max": lambda: max(hx, hy),
                         "joint": lambda: state["joint_entropy"]}[normalized]()
                if scale == 0:
                    assert abs(info) < mpmath.mpf(10) ** (-DPS + 5)
                    return mpmath.mpf(0)
                return +(info / scale)
            r = state[function]
            if base is not None:
                r = r / mpmath.log(mpmath.mpf(float(base)))
            return +r

    # -- comparison ----------------------------------------------------------

    @staticmethod
    def error(got, exact):
        """|got - exact| as a float; 0 when both are NaN."""
        got = float(got)
        if mpmath.isnan(exact):
            return 0.0 if math.isnan(got) else math.inf
        if not math.isfinite(got):
            return math.inf
        with mpmath.workdps(DPS):
            return float(abs(mpmath.mpf(got) - exact))

    def check(self, got, exact, rel=REL_TOL, relative=False):
        """None if `got` meets the bound, else a description of the miss.

        relative=False: |got - exact| <= rel * max(1, |exact|);
        relative=True:  |got - exact| <= rel * |exact| (an exact 0 must come
        out as at most 1e-15).
        """
        err = self.error(got, exact)
        if mpmath.isnan(exact):
            return None if err == 0.0 else f"got {float(got)!r}, exact nan"
        size = abs(float(exact))
        bound = rel * size if relative else rel * max(1.0, size)
        if relative and exact == 0:
            bound = 1e-15
        if err <= bound:
            return None
        return (f"got {float(got)!r}, exact {mpmath.nstr(exact, 20)}, error {err:.3e} > "
                f"{bound:.3e}" + (f" (relative {err / size:.2e})" if size else ""))


_EXACT = ExactJoint()


def _scalar(got, batch):
    """The one value of a result: a numpy.float64 for one table, or a float64
    array of shape `batch` (a batch of one table); else an error message."""
    if batch is None:
        if not isinstance(got, np.float64):
            return None, f"result is {type(got).__name__}, not numpy.float64"
        return got, None
    if not (isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == batch):
        return None, f"result {got!r}, want a float64 array of shape {batch}"
    return got.reshape(-1)[0], None


def check_table(x, obj, kw, exact=_EXACT, what="", near_independent=False, omit=False,
                bases=(None, 2), normalized=NORMALIZATIONS, batch=None):
    """Failure messages for every quantity of the table `x` (2-D numbers)
    given as `obj` with keywords `kw`: each of the four functions (at each
    base) against the exact value, never negative, a float64 scalar; the
    normalised MI against the exact value and in [0, 1]. near_independent:
    the MI also to NEAR_INDEPENDENT_REL relative."""
    fails = []
    for base in bases:
        for f in FUNCTIONS:
            label = f"{what} {f}(base={base})"
            got, error = _scalar(call(f, obj, base=base, **kw), batch)
            if error:
                fails.append(f"{label}: {error}")
                continue
            want = exact.value(f, x, base=base, omit=omit)
            miss = exact.check(got, want)
            if miss:
                fails.append(f"{label}: {miss}")
            if got < 0:
                fails.append(f"{label}: negative result {float(got)!r}")
            if near_independent and f == "mutual_information":
                miss = exact.check(got, want, rel=NEAR_INDEPENDENT_REL, relative=True)
                if miss:
                    fails.append(f"{label} (near independent): {miss}")
    for method in normalized:
        label = f"{what} mutual_information(normalized={method!r})"
        got, error = _scalar(call("mutual_information", obj, normalized=method, **kw), batch)
        if error:
            fails.append(f"{label}: {error}")
            continue
        want = exact.value("mutual_information", x, normalized=method, omit=omit)
        miss = exact.check(got, want)
        if miss:
            fails.append(f"{label}: {miss}")
        if not (got >= 0 and got <= 1) and not (math.isnan(got) and mpmath.isnan(want)):
            fails.append(f"{label}: {float(got)!r} outside [0, 1]")
    return fails


def assert_no_fails(fails, limit=30):
    assert not fails, "\n".join(fails[:limit]) + (
        f"\n... {len(fails)} in all" if len(fails) > limit else "")


# ---------------------------------------------------------------------------
# Input kinds
# ---------------------------------------------------------------------------

def _sparse():
    import scipy.sparse as sp

    return sp


def split_exactly(v, dtype):
    """(a, b) with a + b == v exactly in `dtype` (a, b >= 0), or None."""
    dtype = np.dtype(dtype)
    v = dtype.type(v)
    if dtype.kind in "iu":
        a = dtype.type(v // 2)
    else:
        a = dtype.type(v * dtype.type(0.5))
    b = dtype.type(v - a)
    if a < 0 or b < 0 or dtype.type(a + b) != v or dtype.type(b + a) != v:
        return None
    return a, b


def noncanonical(x, fmt, array, rng_seed=20240611):
    """A csr / csc / coo matrix (array) of x's numbers with duplicates (a
    cell split in two stored parts that sum to it exactly), explicit zeros
    and unsorted indices."""
    sp = _sparse()
    rng = np.random.default_rng(rng_seed)
    rows, cols, data = [], [], []
    nz = list(zip(*np.nonzero(x)))
    for t, (i, j) in enumerate(nz):
        v = x[i, j]
        parts = split_exactly(v, x.dtype) if t % 2 == 0 and np.isfinite(v) else None
        for part in (parts or (v,)):
            rows.append(i)
            cols.append(j)
            data.append(part)
    zeros = list(zip(*np.nonzero(x == 0)))
    for i, j in zeros[: max(1, len(zeros) // 3)]:
        rows.append(i)
        cols.append(j)
        data.append(0)
    order = rng.permutation(len(data))
    rows = np.array(rows, dtype=np.int64)[order]
    cols = np.array(cols, dtype=np.int64)[order]
    data = np.array(data, dtype=x.dtype)[order] if data else np.zeros(0, x.dtype)
    cls = getattr(sp, f"{fmt}_{'array' if array else 'matrix'}")
    if fmt == "coo":
        X = cls((data, (rows, cols)), shape=x.shape)
    else:
        major, minor = (rows, cols) if fmt == "csr" else (cols, rows)
        order = np.argsort(major, kind="stable")
        indptr = np.zeros(x.shape[0 if fmt == "csr" else 1] + 1, dtype=np.int64)
        np.add.at(indptr, major + 1, 1)
        X = cls((data[order], minor[order], np.cumsum(indptr)), shape=x.shape)
    assert X.dtype == x.dtype
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(X.toarray(), x)  # what the library must see
    return X


@dataclass(frozen=True)
class Kind:
    """How a table is given to the functions: make(x) -> (obj, axes)."""

    name: str
    make: object
    sparse: bool = False
    #: the result's shape: None (a numpy.float64) or a batch of one table
    batch: tuple = None

    def __repr__(self):
        return self.name

    def inputs(self, x):
        """(obj, keywords) giving the table x (X on rows) to a function."""
        obj, axes = self.make(np.asarray(x))
        return obj, ({} if axes is None else {"axes": axes})

    def value(self, function, x, **kw):
        """function(x given in this kind, **kw) as one float64 (its type and
        shape asserted)."""
        obj, axes = self.inputs(x)
        got, error = _scalar(call(function, obj, **axes, **kw), self.batch)
        assert error is None, f"{self!r} {function}: {error}"
        return got

    def check(self, x, exact=None, **kw):
        """check_table of x given in this kind (its failure messages)."""
        obj, axes = self.inputs(x)
        return check_table(x, obj, axes, exact or _EXACT, batch=self.batch, **kw)


def _dense_c(x):
    return np.ascontiguousarray(x), None


def _dense_fortran(x):
    return np.asfortranarray(x), None


def _dense_strided(x):
    m, n = x.shape
    big = np.zeros((2 * m + 1, 3 * n + 1), dtype=x.dtype)
    view = big[1::2, 1::3]
    view[...] = x
    return view, None


def _dense_transposed(x):
    return np.ascontiguousarray(x.T), (1, 0)


def _dense_transposed_negative(x):
    return np.ascontiguousarray(x.T), (-1, -2)


def _dense_readonly(x):
    y = np.array(x, copy=True)
    y.flags.writeable = False
    return y, None


def _dense_3d(x):
    # the table on axes (0, 2) of an (m, 1, n) array: a batch of one table
    return np.ascontiguousarray(x[:, None, :]), (0, 2)


def _sparse_kind(fmt, array, canonical=True, transposed=False):
    def make(x):
        sp = _sparse()
        y = x.T if transposed else x
        if canonical:
            X = getattr(sp, f"{fmt}_{'array' if array else 'matrix'}")(y)
            assert X.dtype == x.dtype
        else:
            X = noncanonical(np.ascontiguousarray(y), fmt, array)
        return X, ((1, 0) if transposed else None)

    return make


DENSE_KINDS = [
    Kind("dense-C", _dense_c),
    Kind("dense-F", _dense_fortran),
    Kind("dense-strided", _dense_strided),
    Kind("dense-transposed", _dense_transposed),
    Kind("dense-transposed-negative", _dense_transposed_negative),
    Kind("dense-readonly", _dense_readonly),
    Kind("dense-3d-axes02", _dense_3d, batch=(1,)),
]
SPARSE_KINDS = [
    Kind(f"{fmt}_{'array' if array else 'matrix'}", _sparse_kind(fmt, array), sparse=True)
    for fmt in ("csr", "csc", "coo") for array in (True, False)
] + [
    Kind(f"{fmt}_array-noncanonical", _sparse_kind(fmt, True, canonical=False), sparse=True)
    for fmt in ("csr", "csc", "coo")
] + [
    Kind("csr_matrix-noncanonical", _sparse_kind("csr", False, canonical=False), sparse=True),
    Kind("csc_array-transposed", _sparse_kind("csc", True, transposed=True), sparse=True),
    Kind("csr_matrix-transposed", _sparse_kind("csr", False, transposed=True), sparse=True),
    Kind("coo_array-noncanonical-transposed",
         _sparse_kind("coo", True, canonical=False, transposed=True), sparse=True),
]
KINDS = DENSE_KINDS + SPARSE_KINDS
#: The kinds the hard tables run on in the default run (every kind when FULL).
MAIN_KINDS = ("dense-C", "dense-3d-axes02", "csr_array", "csc_array-transposed",
              "coo_array-noncanonical")


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------

def random_table(rng, shape, dtype, zeros=0.3):
    """A random table: integer counts 0..50 or floats in (0, 1), a fraction
    `zeros` of the cells 0 (at least one cell with mass)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        x = rng.integers(0, 50, size=shape).astype(dtype)
    else:
        x = rng.random(shape).astype(dtype)
    x[rng.random(shape) < zeros] = 0
    if not x.any():
        x.flat[rng.integers(x.size)] = 1
    return x


def near_independent(rng, m, n, eps=1e-6):
    px, py = rng.random(m) + 0.1, rng.random(n) + 0.1
    return np.outer(px, py) * (1 + eps * rng.standard_normal((m, n)))


def near_independent_int(rng, m, n):
    """Integer counts a_x b_y + noise of relative size ~1e-6 (exact)."""
    a = rng.integers(10**6, 3 * 10**6, size=m)
    b = rng.integers(10**6, 3 * 10**6, size=n)
    base = np.outer(a, b)  # ~1e12
    noise = rng.integers(-10**6, 10**6, size=(m, n))
    return (base + noise).astype(np.int64)


def _near_deterministic(rng, k):
    x = rng.random((k, k)) * 1e-12
    x[rng.random((k, k)) < 0.5] = 0
    x[k // 2, k // 3] = 1.0
    return x


def _near_deterministic_int(rng, k):
    x = rng.integers(0, 3, size=(k, k)).astype(np.int64)
    x[1, 0] = 10**15
    return x


def _near_overflow(rng, k):
    return (rng.random((k, k)) * 0.9 + 0.1) * 1e308


def _overflow_beside_tiny_row(rng, k):
    x = (rng.random((k, k)) + 0.5) * 1e308
    x[-1] = 0.0
    x[-1, : max(1, k // 2)] = 1e-20 * (1 + rng.random(max(1, k // 2)))
    return x


def _near_independent_overflow_beside_tiny_row(rng, k):
    """Near independent with totals beyond the double range, and a last
    row of mass ~1e-20 (its rescaled mass underflows)."""
    x = np.zeros((k + 1, k))
    x[:k] = near_independent(rng, k, k) * 1e308
    x[k] = 1e-20 * (1 + rng.random(k))
    return x


def _tiny(rng, k):
    x = rng.random((k, k)) * 1e-300
    x[rng.random((k, k)) < 0.3] = 0
    x[0, 0] = 1e-300
    return x


def _subnormal(rng, k):
    x = rng.integers(0, 8, size=(k, k)) * TINY
    x[0, 0] = 3 * TINY
    return x


def _wide_range(rng, k):
    # two diagonal blocks, of cells ~1 and ~1e-300: the product of the small
    # row and column masses (1e-600 relative) is below the double range
    h = max(1, k // 2)
    x = np.zeros((k, k))
    x[:h, :h] = rng.random((h, h)) + 0.5
    x[h:, h:] = (rng.random((k - h, k - h)) + 0.5) * 1e-300
    return x


def _two_by_two_wide():
    return np.array([[1.0, 0.0], [0.0, 1e-300]])


def near_independent_wide(rng, k):
    """A near-independent k x k block beside a row and a column of mass
    1e-200 that meet in a cell of 1e-300: I is ~1e-13 (no shortcut through
    H(X) + H(Y) - H(X, Y)), and the product of that row's and column's
    masses (1e-400) is below the double range while the cell holds mass."""
    x = np.zeros((k + 1, k + 1))
    x[:k, :k] = near_independent(rng, k, k)
    x[k, 0] = x[0, k] = 1e-200
    x[k, k] = 1e-300
    return x


def _empty_rows_cols(rng, k):
    x = rng.random((k, k + 2))
    x[1] = 0
    x[:, 0] = 0
    x[:, -1] = 0
    x[-1] = 0
    return x


def _permutation(rng, k):
    x = np.zeros((k, k), dtype=np.int64)
    x[np.arange(k), rng.permutation(k)] = rng.integers(1, 100, size=k)
    return x


def _independent_int(rng, m, n):
    return np.outer(rng.integers(1, 20, size=m), rng.integers(1, 20, size=n)).astype(np.int64)


def _huge_int(rng, k):
    x = rng.integers(0, 5, size=(k, k)).astype(np.int64)
    x[0, 0] = 2**53 + 1
    x[1, 1] = 2**53 + 3
    x[-1, 0] = 2**53 - 1
    return x


def _beyond_int64(rng, k):
    # int64 cells of ~2**61: the total is beyond the int64 range
    x = rng.integers(2**60, 2**62, size=(k, k), dtype=np.int64)
    x[0, 1] = 1
    x[1, 0] = 0
    return x


def _uint64(rng, k):
    x = rng.integers(0, 2**64 - 1, size=(k, k), dtype=np.uint64, endpoint=True)
    x[0, 0] = np.uint64(2**64 - 1)
    x[0, 1] = np.uint64(2**53 + 1)
    return x


def _float32(rng, k):
    x = rng.random((k, k + 1)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = 0
    x[0, 0] = np.float32(1e-30)
    return x


def _float32_near_independent(rng, k):
    return near_independent(rng, k, k + 1, eps=1e-3).astype(np.float32)


@dataclass(frozen=True)
class HardCase:
    """A hard table; `build(rng)` gives its numbers (numpy dtype kept)."""

    name: str
    build: object
    near_independent: bool = False

    def __repr__(self):
        return self.name

    def table(self):
        rng = np.random.default_rng(sum(self.name.encode()) * 7919 + HARD_K)
        x = self.build(rng)
        return x


K = HARD_K
HARD_CASES = [
    HardCase("near-independent", lambda r: near_independent(r, K, K + 3), True),
    HardCase("near-independent-1xk", lambda r: near_independent(r, 1, K), False),
    # a 2 x 2 table has one degree of freedom: a fixed pattern, so that the
    # perturbation cannot cancel by chance (I ~ 1e-13)
    HardCase("near-independent-2x2",
             lambda r: np.outer([0.3, 0.7], [0.6, 0.4]) * (1 + 1e-6 * np.array([[1, -1],
                                                                                 [-1, 1]])),
             True),
    HardCase("near-independent-tall", lambda r: near_independent(r, 3 * K, 3), True),
    HardCase("near-independent-int64", lambda r: near_independent_int(r, K, K - 1), True),
    HardCase("near-independent-scaled-1e300",
             lambda r: near_independent(r, K, K) * 1e300, True),
    HardCase("near-independent-scaled-1e-300",
             lambda r: near_independent(r, K, K) * 1e-300, True),
    HardCase("independent-int64", lambda r: _independent_int(r, K, K + 1)),
    HardCase("near-deterministic", lambda r: _near_deterministic(r, K)),
    HardCase("near-deterministic-int64", lambda r: _near_deterministic_int(r, K)),
    HardCase("near-overflow", lambda r: _near_overflow(r, K)),
    HardCase("near-overflow-1x2", lambda r: np.array([[HUGE, HUGE]])),
    HardCase("near-overflow-2x2", lambda r: np.array([[HUGE, 1e308], [5e307, HUGE]])),
    HardCase("overflow-beside-tiny-row", lambda r: _overflow_beside_tiny_row(r, K)),
    HardCase("near-independent-overflow-beside-tiny-row",
             lambda r: _near_independent_overflow_beside_tiny_row(r, K), True),
    HardCase("tiny", lambda r: _tiny(r, K)),
    HardCase("subnormal", lambda r: _subnormal(r, K)),
    HardCase("subnormal-2x2", lambda r: np.array([[TINY, 2 * TINY], [0.0, TINY]])),
    HardCase("wide-range-blocks", lambda r: _wide_range(r, K)),
    HardCase("wide-range-2x2", lambda r: _two_by_two_wide()),
    HardCase("near-independent-wide-range", lambda r: near_independent_wide(r, K), True),
    HardCase("empty-rows-and-columns", lambda r: _empty_rows_cols(r, K)),
    HardCase("permutation-int64", lambda r: _permutation(r, K)),
    HardCase("constant", lambda r: np.full((K, K - 2), 0.25)),
    HardCase("one-cell", lambda r: np.array([[0.0, 0.0], [0.0, 3.0]])),
    HardCase("1x1", lambda r: np.array([[7]], dtype=np.int64)),
    HardCase("1xk", lambda r: random_table(r, (1, K), np.float64)),
    HardCase("kx1", lambda r: random_table(r, (K, 1), np.int64)),
    HardCase("huge-int64-2**53+1", lambda r: _huge_int(r, K)),
    HardCase("int64-total-beyond-int64", lambda r: _beyond_int64(r, K)),
    HardCase("uint64-near-2**64", lambda r: _uint64(r, K)),
    HardCase("float32", lambda r: _float32(r, K)),
    HardCase("float32-near-independent", lambda r: _float32_near_independent(r, K), True),
]


# ---------------------------------------------------------------------------
# Sharing
# ---------------------------------------------------------------------------

class Joint:
    """What the test modules share (the `jt` fixture)."""

    DPS = DPS
    REL_TOL = REL_TOL
    NEAR_INDEPENDENT_REL = NEAR_INDEPENDENT_REL
    EXAMPLES = EXAMPLES
    FULL = FULL
    HARD_K = HARD_K
    HUGE = HUGE
    TINY = TINY
    FUNCTIONS = FUNCTIONS
    NORMALIZATIONS = NORMALIZATIONS
    DENSE_KINDS = DENSE_KINDS
    SPARSE_KINDS = SPARSE_KINDS
    KINDS = KINDS
    HARD_CASES = HARD_CASES
    Kind = Kind
    call = staticmethod(call)
    check_table = staticmethod(check_table)
    assert_no_fails = staticmethod(assert_no_fails)
    random_table = staticmethod(random_table)
    near_independent = staticmethod(near_independent)
    near_independent_int = staticmethod(near_independent_int)
    noncanonical = staticmethod(noncanonical)
    exact_values = staticmethod(exact_values)

    @staticmethod
    def case(name):
        return next(c for c in HARD_CASES if c.name == name)

    @staticmethod
    def kind(name):
        return next(k for k in KINDS if k.name == name)


@pytest.fixture(scope="session")
def jt():
    return Joint


@pytest.fixture(scope="session")
def jexact():
    return _EXACT


def _main(kinds):
    return kinds if FULL else [k for k in kinds if k.name in MAIN_KINDS]


def pytest_generate_tests(metafunc):
    explicit = set()
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if isinstance(names, str):
            explicit.update(n.strip() for n in names.split(","))
        else:
            explicit.update(names)
    params = {
        "function": list(FUNCTIONS),
        "normalized": list(NORMALIZATIONS),
        "kind": KINDS,
        "dense_kind": DENSE_KINDS,
        "sparse_kind": SPARSE_KINDS,
        "hard_case": HARD_CASES,
    }
    for name, values in params.items():
        if name in metafunc.fixturenames and name not in explicit:
            metafunc.parametrize(name, values, ids=[str(v) if isinstance(v, str) else repr(v)
                                                    for v in values])
    if "hard" in metafunc.fixturenames and "hard" not in explicit:
        pairs = [(k, c) for k in _main(KINDS) for c in HARD_CASES]
        metafunc.parametrize("hard", pairs, ids=[f"{k!r}-{c!r}" for k, c in pairs])
