"""Shared pieces of the tests of `histentropy.pairwise`.

What the test modules of this directory share lives here and reaches them
through pytest. The directory is a package (an empty ``__init__.py``) only
so that this file is imported as ``pairwise.conftest``: under the plain name
``conftest`` it would replace tests/family/conftest.py in ``sys.modules``
whenever both directories are on the command line (``pytest tests/family
tests/pairwise``), and tests/family/test_family_fuzz.py imports from that
module by name.

* fixture ``pw``: the `Pairwise` namespace below (metrics, input kinds, hard
  cases, references, comparison and child-process helpers);
* fixture ``pw_exact``: an `ExactPairwise` (one per session, so that its
  cache of exact values is shared by every module);
* parametrisation by argument name (``pytest_generate_tests``, unless the
  test parametrises that name itself): ``metric`` runs a test for every
  metric, ``log_metric`` / ``plain_metric`` for those with / without a
  ``base``, ``symmetric_metric`` for the symmetric ones, ``dense_kind`` /
  ``sparse_kind`` / ``any_kind`` for every input kind of that family,
  ``weight_side`` for every (kind, side) whose dtype can hold a negative
  weight, ``dense_hard`` / ``sparse_hard`` for every (input kind, hard case)
  pair where the case's numbers can be written in the kind's dtypes
  (``*_hard_main``: the main kinds only in the default run), ``first_hard``
  for each hard case once, ``hard_base``, ``memory_case`` and
  ``sparse_memory_case`` (fewer in the default run).

References never call `pairwise`:

* the 1-D public function of the same name, called on the pair of rows as
  1-D arrays of the dtype the kind gives them (``histentropy.kl_divergence(p,
  q)`` etc., themselves tested against scipy and mpmath elsewhere);
* `ExactPairwise`: the textbook definition of each metric with x = p / sum p,
  y = q / sum q (pseudocount added exactly first), evaluated with mpmath at
  60 significant digits on the exact values of the inputs
  (``mpmath.mpf(float(x))``, ``mpmath.mpf(int(x))`` for integers); a value
  beyond the double range is expected as +inf.

Input kinds: a `Kind` turns the dense numbers of P and Q into the objects
given to `pairwise` (dtype, memory layout, scipy.sparse format, canonical or
not: explicit zeros, unsorted indices, duplicates) and says which dtype the
1-D reference reads. Hard cases (`HardCase`) are small matrices P (m, k) and
Q (n, k) whose row pairs are hard: near-identical rows (relative
perturbations 1e-6 .. 1e-9), rows scaled by 1e300, 1e-300 and to totals
beyond the float64 range, 1e-300 beside 1 in one row, a normalised bin
below the double range, disjoint / nested supports and many zeros, the row
[1e308, 1e308, 5e307] against [1e308, 5e307, 1e308], one-bin rows, integer
counts of 2**53 + 1 and integer totals beyond the int64 / uint64 range.

Calls that could take the interpreter down (memory measurements, a
segfault found while writing these tests) run in a child process
(`run_child`), so that a crash is one failed test.

HISTENTROPY_FUZZ_EXAMPLES (the suite's "longer runs" switch) above its CI
default of 20 makes the hard cases and the random matrices larger, runs the
pseudocount and base variants on every kind and the memory checks for every
metric, and sets the number of random examples.
"""
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
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
#: Near-identical rows: relative accuracy of tiny values against mpmath.
NEAR_IDENTICAL_REL = 1e-9

EXAMPLES = int(os.environ.get("HISTENTROPY_FUZZ_EXAMPLES", "20") or 20)
FULL = EXAMPLES > 20
#: Bins of the random rows of the hard cases.
HARD_K = 400 if FULL else 40

HUGE = float(np.finfo(np.float64).max)
TINY = 5e-324

METRICS = ("cross_entropy", "kl_divergence", "js_divergence", "js_distance",
           "hellinger_distance", "total_variation", "jeffreys_divergence",
           "chi_square_divergence")
SYMMETRIC = ("js_divergence", "js_distance", "hellinger_distance", "total_variation",
             "jeffreys_divergence")
LOG_BASED = ("cross_entropy", "kl_divergence", "js_divergence", "js_distance",
             "jeffreys_divergence")
PLAIN = tuple(m for m in METRICS if m not in LOG_BASED)
#: p > 0 = q gives +inf (Jeffreys also q > 0 = p); the others stay finite.
INF_ON_SUPPORT_VIOLATION = ("cross_entropy", "kl_divergence", "jeffreys_divergence",
                            "chi_square_divergence")


# ---------------------------------------------------------------------------
# The 1-D reference
# ---------------------------------------------------------------------------

def one_d(metric, p, q, **kw):
    """The public 1-D function `metric` of the rows p, q, as a float."""
    return float(getattr(histentropy, metric)(p, q, **kw))


def reference_matrix(metric, P, Q=None, **kw):
    """Entry [i, j] = histentropy.<metric>(P[i], Q[j]) (Q = P when None), one
    1-D call per pair on the rows as 1-D arrays of their own dtype."""
    P = np.asarray(P)
    Q = P if Q is None else np.asarray(Q)
    out = np.empty((P.shape[0], Q.shape[0]))
    for i in range(P.shape[0]):
        p = np.ascontiguousarray(P[i])
        for j in range(Q.shape[0]):
            out[i, j] = one_d(metric, p, np.ascontiguousarray(Q[j]), **kw)
    return out


def reference_broadcast(metric, P, Q=None, **kw):
    """The same matrix from one broadcast call of the 1-D function (rows are
    histograms: P[:, None, :] against Q[None, :, :]); for larger inputs."""
    P = np.asarray(P)
    Q = P if Q is None else np.asarray(Q)
    r = getattr(histentropy, metric)(P[:, None, :], Q[None, :, :], **kw)
    return np.asarray(r, dtype=np.float64).reshape(P.shape[0], Q.shape[0])


def mismatches(got, want, rel=REL_TOL, what="", limit=8):
    """Failure messages for the entries of `got` that are not `want` to
    rel * max(1, |want|) (NaN matching NaN, +-inf exactly), or negative.
    Also checks the result's type, dtype and shape."""
    fails = []
    if not isinstance(got, np.ndarray):
        return [f"{what}: result is a {type(got).__name__}, not an ndarray"]
    if got.dtype != np.float64:
        fails.append(f"{what}: dtype {got.dtype}, not float64")
    if got.shape != want.shape:
        return fails + [f"{what}: shape {got.shape}, want {want.shape}"]
    g = got.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        nan_g, nan_w = np.isnan(g), np.isnan(want)
        inf_w = np.isinf(want)
        fin = ~nan_w & ~inf_w
        bad = nan_g != nan_w
        bad |= inf_w & (g != want)
        err = np.where(fin & np.isfinite(g), np.abs(g - want), np.inf)
        bad |= fin & ~(err <= rel * np.maximum(1.0, np.abs(want)))
        bad |= ~nan_g & (g < 0)
    for i, j in np.argwhere(bad)[:limit]:
        fails.append(f"{what}[{i}, {j}]: got {g[i, j]!r}, want {want[i, j]!r}")
    if bad.sum() > limit:
        fails.append(f"{what}: ... {int(bad.sum())} bad entries in all")
    return fails


def assert_matches(got, want, rel=REL_TOL, what=""):
    fails = mismatches(got, want, rel=rel, what=what)
    assert not fails, "\n".join(fails)


# ---------------------------------------------------------------------------
# The exact reference
# ---------------------------------------------------------------------------

def _key(a):
    """The numbers of `a` (not their dtype: the same counts given as int32 or
    int64 share their exact values)."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return ("int", a.shape, tuple(int(v) for v in a.ravel()))
    return ("float", a.shape, np.ascontiguousarray(a, dtype=np.float64).tobytes())


_SERIES_EPS = mpmath.mpf(10) ** (-DPS - 5)


class ExactPairwise:
    """Each metric of one pair of rows, exactly (mpmath, 60 digits).

    ``value(metric, p, q, base=None, pseudocount=0.0)`` returns an mpf
    (nan, +inf included); values are cached by the rows' bytes.
    """

    def __init__(self):
        self._cache = {}

    def value(self, metric, p, q, base=None, pseudocount=0.0):
        key = (metric, _key(p), _key(q), None if base is None else float(base),
               float(pseudocount))
        if key not in self._cache:
            self._cache[key] = self._value(metric, p, q, base, pseudocount)
        return self._cache[key]

    def _state(self, p, q, pseudocount):
        key = ("state", _key(p), _key(q), float(pseudocount))
        if key not in self._cache:
            with mpmath.workdps(DPS):
                w = exact_values(p, pseudocount)
                v = exact_values(q, pseudocount)
                assert len(w) == len(v)
                if any(mpmath.isnan(t) for t in w + v):
                    state = None
                else:
                    sp, sq = mpmath.fsum(w), mpmath.fsum(v)
                    if sp == 0 or sq == 0:
                        state = None
                    else:
                        state = ([t / sp for t in w], [t / sq for t in v])
            self._cache[key] = state
        return self._cache[key]

    def _value(self, metric, p, q, base, pseudocount):
        state = self._state(p, q, pseudocount)
        if state is None:
            return mpmath.mpf("nan")
        x, y = state
        with mpmath.workdps(DPS):
            if metric == "js_distance":
                return mpmath.sqrt(self.value("js_divergence", p, q, base, pseudocount))
            r = getattr(self, "_" + metric)(x, y)
            if base is not None and mpmath.isfinite(r):
                r = r / mpmath.log(mpmath.mpf(float(base)))
            return +r

    @staticmethod
    def _cross_entropy(x, y):
        terms = []
        for xi, yi in zip(x, y):
            if not xi:
                continue
            if not yi:
                return mpmath.inf
            terms.append(-xi * mpmath.log(yi))
        return mpmath.fsum(terms)

    @staticmethod
    def _kl_divergence(x, y):
        terms = []
        for xi, yi in zip(x, y):
            if not xi:
                continue
            if not yi:
                return mpmath.inf
            terms.append(xi * mpmath.log(xi / yi))
        return mpmath.fsum(terms)

    @staticmethod
    def _js_divergence(x, y):
        # Per bin, with s = x + y and d = (x - y) / s:
        #   (x log(2x / s) + y log(2y / s)) / 2 = (s / 4) f(d),
        #   f(d) = (1 + d) log(1 + d) + (1 - d) log(1 - d) = sum_k d^2k / (k (2k - 1)),
        # summed as the series where |d| is small (no cancellation).
        terms = []
        for xi, yi in zip(x, y):
            if not xi and not yi:
                continue
            s = xi + yi
            if not xi or not yi:
                terms.append(s * mpmath.log(2) / 2)
                continue
            d = (xi - yi) / s
            if abs(d) < mpmath.mpf("0.01"):
                d2 = d * d
                f, power, k = mpmath.mpf(0), d2, 1
                while True:
                    t = power / (k * (2 * k - 1))
                    f += t
                    if t <= f * _SERIES_EPS:
                        break
                    power *= d2
                    k += 1
            else:
                ls = mpmath.log(s / 2)
                f = (2 * xi / s) * (mpmath.log(xi) - ls) + (2 * yi / s) * (mpmath.log(yi) - ls)
            terms.append(s * f / 4)
        return mpmath.fsum(terms)

    @staticmethod
    def _hellinger_distance(x, y):
        # (sqrt x - sqrt y)^2 = (x - y)^2 / (sqrt x + sqrt y)^2: no cancellation
        s = mpmath.fsum((xi - yi) ** 2 / (mpmath.sqrt(xi) + mpmath.sqrt(yi)) ** 2
                        for xi, yi in zip(x, y) if xi or yi)
        return mpmath.sqrt(s / 2)

    @staticmethod
    def _total_variation(x, y):
        return mpmath.fsum(abs(xi - yi) for xi, yi in zip(x, y)) / 2

    @staticmethod
    def _jeffreys_divergence(x, y):
        terms = []
        for xi, yi in zip(x, y):
            if not xi and not yi:
                continue
            if not xi or not yi:
                return mpmath.inf
            terms.append((xi - yi) * mpmath.log(xi / yi))
        return mpmath.fsum(terms)

    @staticmethod
    def _chi_square_divergence(x, y):
        terms = []
        for xi, yi in zip(x, y):
            if not xi and not yi:
                continue
            if not yi:
                return mpmath.inf
            terms.append((xi - yi) ** 2 / yi)
        return mpmath.fsum(terms)

    # -- comparison ----------------------------------------------------------

    @staticmethod
    def error(got, exact):
        """|got - exact| as a float; 0 for the same special value. An exact
        value beyond the double range is expected as +inf."""
        got = float(got)
        if mpmath.isnan(exact):
            return 0.0 if math.isnan(got) else math.inf
        rounded = float(exact)
        if math.isinf(rounded):
            return 0.0 if got == rounded else math.inf
        if not math.isfinite(got):
            return math.inf
        with mpmath.workdps(DPS):
            return float(abs(mpmath.mpf(got) - exact))

    def check(self, got, exact, rel=REL_TOL, relative=False):
        """None if `got` meets the bound, else a description of the miss.

        relative=False: |got - exact| <= rel * max(1, |exact|);
        relative=True:  |got - exact| <= rel * |exact| (an exact 0 must come
        out as at most 1e-15, the rounding of proportional rows).
        """
        err = self.error(got, exact)
        if mpmath.isnan(exact) or math.isinf(float(exact)):
            return None if err == 0.0 else f"got {float(got)!r}, exact {exact}"
        size = abs(float(exact))
        bound = rel * size if relative else rel * max(1.0, size)
        if relative and exact == 0:
            bound = 1e-15
        if err <= bound:
            return None
        return (f"got {float(got)!r}, exact {mpmath.nstr(exact, 20)}, error {err:.3e} > "
                f"{bound:.3e}" + (f" (relative {err / size:.2e})" if size else ""))


# ---------------------------------------------------------------------------
# Input kinds
# ---------------------------------------------------------------------------

def _contiguous(x):
    return np.ascontiguousarray(x)


def _fortran(x):
    return np.asfortranarray(x)


def _strided(x):
    m, k = x.shape
    big = np.full((2 * m + 1, 3 * k + 1), 7, dtype=x.dtype)
    view = big[1::2, 1::3]
    view[...] = x
    assert view.shape == x.shape and not view.flags.c_contiguous or x.size <= 1
    return view


def _reversed(x):
    return x[::-1, ::-1].copy()[::-1, ::-1]


def _readonly(x):
    y = np.array(x, copy=True)
    y.flags.writeable = False
    return y


def _sparse():
    import scipy.sparse as sp

    return sp


def _noncanonical(x, compressed_cls, by_columns):
    """A compressed sparse matrix of x's numbers whose rows (columns for CSC)
    hold duplicates (a value split in two stored parts that sum to it
    exactly), explicit zeros and unsorted indices."""
    rng = np.random.default_rng(424242)
    major = x.T if by_columns else x
    data, indices, indptr = [], [], [0]
    for i in range(major.shape[0]):
        line = major[i]
        entries = []
        for j in np.flatnonzero(line):
            v = line[j]
            if (i + j) % 2 == 0 and np.isfinite(v):
                if x.dtype.kind in "iu":
                    a = v // 2
                else:
                    a = v / x.dtype.type(2)
                entries += [(j, a), (j, v - a)]
            else:
                entries.append((j, v))
        for j in np.flatnonzero(line == 0)[:2]:  # explicit zeros
            entries.append((j, 0))
        order = rng.permutation(len(entries))
        for t in order:
            indices.append(entries[t][0])
            data.append(entries[t][1])
        indptr.append(len(indices))
    X = compressed_cls((np.array(data, dtype=x.dtype), np.array(indices, dtype=np.int32),
                        np.array(indptr, dtype=np.int32)), shape=x.shape)
    np.testing.assert_array_equal(X.toarray(), x)  # what the library must see
    return X


def _sparse_maker(fmt, array=False, canonical=True):
    def make(x):
        sp = _sparse()
        if not canonical:
            cls = getattr(sp, f"{fmt}_{'array' if array else 'matrix'}")
            return _noncanonical(x, cls, by_columns=(fmt == "csc"))
        cls = getattr(sp, f"{fmt}_{'array' if array else 'matrix'}")
        X = cls(x)
        assert X.dtype == x.dtype
        return X

    name = f"{fmt}_{'array' if array else 'matrix'}" + ("" if canonical else "-noncanonical")
    make.__name__ = name
    return make


@dataclass(frozen=True)
class Kind:
    """How P and Q are given to `pairwise`: each side's dtype and maker."""

    name: str
    p_dtype: str
    p_make: object
    q_dtype: str = None
    q_make: object = None

    def __post_init__(self):
        if self.q_dtype is None:
            object.__setattr__(self, "q_dtype", self.p_dtype)
        if self.q_make is None:
            object.__setattr__(self, "q_make", self.p_make)

    def __repr__(self):
        return self.name

    @property
    def sparse(self):
        return self.p_sparse or self.q_sparse

    @property
    def p_sparse(self):
        return self.p_make.__name__.startswith(("csr", "csc", "coo", "lil", "dok", "bsr"))

    @property
    def q_sparse(self):
        return self.q_make.__name__.startswith(("csr", "csc", "coo", "lil", "dok", "bsr"))

    @property
    def floats(self):
        """Both sides hold floats (NaN and inf can be written)."""
        return np.dtype(self.p_dtype).kind == "f" and np.dtype(self.q_dtype).kind == "f"

    def values(self, x, side="P"):
        """x's numbers in the side's dtype (what the 1-D reference reads)."""
        dtype = np.dtype(self.p_dtype if side == "P" else self.q_dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(x).astype(dtype)

    def make(self, x, side="P"):
        """The object given to pairwise for the side (x already converted)."""
        return (self.p_make if side == "P" else self.q_make)(x)

    def inputs(self, P, Q=None):
        """(P input, Q input or None, P values, Q values or None)."""
        Pv = self.values(P, "P")
        Qv = None if Q is None else self.values(Q, "Q")
        return (self.make(Pv, "P"), None if Q is None else self.make(Qv, "Q"), Pv, Qv)

    def represents(self, x, side):
        """Whether the side's dtype holds x's numbers: exactly for integer
        dtypes; for float dtypes finite, with the zero bins kept (values may
        round: the references read the rounded numbers)."""
        x = np.asarray(x)
        dtype = np.dtype(self.p_dtype if side == "P" else self.q_dtype)
        if dtype.kind in "iu":
            if x.dtype.kind == "f":
                if not np.all(np.isfinite(x)) or np.any(x != np.floor(x)):
                    return False
                info = np.iinfo(dtype)
                return bool(np.all((x >= info.min) & (x <= info.max)) and
                            np.all(np.abs(x) < 2.0**53))
            info = np.iinfo(dtype)
            xi = x.astype(object)
            return all(info.min <= int(v) <= info.max for v in xi.ravel())
        with np.errstate(over="ignore", invalid="ignore"):
            y = x.astype(dtype)
        return bool(np.all(np.isfinite(y)) and np.array_equal(y != 0, x != 0))


def _dense_kinds():
    kinds = [Kind(dt, dt, _contiguous) for dt in
             ("float64", "float32", "int32", "int64", "uint8", "uint64")]
    kinds += [
        Kind("float64-fortran", "float64", _fortran),
        Kind("float64-strided", "float64", _strided),
        Kind("float64-reversed", "float64", _reversed),
        Kind("float64-readonly", "float64", _readonly),
        Kind("int64-fortran", "int64", _fortran),
        Kind("float32-strided", "float32", _strided),
        Kind("float64/float32", "float64", _contiguous, "float32", _contiguous),
        Kind("float32/float64-fortran", "float32", _contiguous, "float64", _fortran),
        Kind("int64/float64", "int64", _contiguous, "float64", _contiguous),
        Kind("uint8/float32-strided", "uint8", _contiguous, "float32", _strided),
        Kind("int32/uint64", "int32", _readonly, "uint64", _reversed),
    ]
    return kinds


def _sparse_kinds():
    csr_m = _sparse_maker("csr")
    csc_m = _sparse_maker("csc")
    csr_a = _sparse_maker("csr", array=True)
    csc_a = _sparse_maker("csc", array=True)
    coo_a = _sparse_maker("coo", array=True)
    coo_m = _sparse_maker("coo")
    csr_nc = _sparse_maker("csr", canonical=False)
    csc_a_nc = _sparse_maker("csc", array=True, canonical=False)
    csr_a_nc = _sparse_maker("csr", array=True, canonical=False)
    return [
        Kind("csr_matrix", "float64", csr_m),
        Kind("csc_matrix", "float64", csc_m),
        Kind("csr_array", "float64", csr_a),
        Kind("csc_array", "float64", csc_a),
        Kind("coo_array", "float64", coo_a),
        Kind("coo_matrix-int64", "int64", coo_m),
        Kind("csr_matrix-noncanonical", "float64", csr_nc),
        Kind("csr_array-noncanonical-int64", "int64", csr_a_nc),
        Kind("csc_array-noncanonical", "float64", csc_a_nc),
        Kind("csr_array-float32", "float32", csr_a),
        Kind("csr_matrix-uint8", "uint8", csr_m),
        Kind("csr_array-uint64", "uint64", csr_a),
        Kind("csr_array/csc_matrix", "float64", csr_a, "float64", csc_m),
        Kind("csr_array/dense", "float64", csr_a, "float64", _contiguous),
        Kind("dense/csr_matrix", "float64", _contiguous, "float64", csr_m),
        Kind("dense-fortran-float32/csc_array", "float32", _fortran, "float64", csc_a),
        Kind("csr_matrix-noncanonical-int64/dense-float32", "int64", csr_nc, "float32",
             _contiguous),
        Kind("dense-int32/csr_array-noncanonical-float64", "int32", _strided, "float64",
             csr_a_nc),
    ]


DENSE_KINDS = _dense_kinds()
SPARSE_KINDS = _sparse_kinds()
ANY_KINDS = DENSE_KINDS + SPARSE_KINDS


# ---------------------------------------------------------------------------
# Hard cases
# ---------------------------------------------------------------------------

@dataclass
class HardCase:
    """Rows P (m, k) and Q (n, k), float64 or int64 (or uint64) numbers."""

    name: str
    P: np.ndarray
    Q: np.ndarray
    #: every pair (P[i], Q[j]) and (P[i], P[j]) is near-identical
    near_identical: bool = False

    def __repr__(self):
        return self.name


def _hard_cases():
    rng = np.random.default_rng(20260517)
    k = HARD_K
    cases = []

    def add(name, P, Q, **kw):
        cases.append(HardCase(name, np.array(P), np.array(Q), **kw))

    def near(base, eps, rows, scales):
        return np.array([s * base * (1 + eps * rng.uniform(-1, 1, base.size))
                         for s in scales[:rows]])

    # Near-identical rows: every pair of rows of P and Q differ by a relative
    # perturbation of eps (and a scale: rows are normalised implicitly).
    p = rng.random(k) + 0.05
    add("near-identical-1e-6", near(p, 1e-6, 3, (1.0, 3.0, 0.5)),
        near(p, 1e-6, 2, (2.0, 1.0)), near_identical=True)
    p = rng.random(k) + 0.05
    add("near-identical-1e-9", near(p, 1e-9, 3, (1.0, 7.0, 0.25)),
        near(p, 1e-9, 2, (1.0, 1e3)), near_identical=True)
    p = rng.random(k)
    p[rng.random(k) < 0.4] = 0.0
    add("near-identical-1e-7-shared-zeros", near(p, 1e-7, 2, (1.0, 2.0)),
        near(p, 1e-7, 3, (1.0, 5.0, 0.1)), near_identical=True)
    p = np.full(k, 1.0)
    q1, q2 = p.copy(), p.copy()
    q1[3] *= 1 + 1e-9
    q2[k // 2] *= 1 - 1e-8
    add("near-identical-one-bin-moved", [p, q1], [q2, p * 3], near_identical=True)
    p = rng.random(k) + 0.05
    add("near-identical-1e-8-scaled-1e300", near(p, 1e-8, 2, (1e300, 3e300)),
        near(p, 1e-8, 2, (1e300, 2e300)), near_identical=True)
    p = rng.random(k) + 0.05
    add("near-identical-1e-6-scaled-1e-300", near(p, 1e-6, 2, (1e-300, 1e-299)),
        near(p, 1e-6, 2, (3e-300, 1e-300)), near_identical=True)
    # Totals near (and beyond) overflow and underflow.
    A, B = rng.random((3, k)), rng.random((2, k))
    add("scaled-1e300", A * 1e300, B * 1e300)
    add("total-overflows", A * (HUGE / A.sum(axis=1, keepdims=True)) * 1.5,
        B * (HUGE / B.sum(axis=1, keepdims=True)) * 1.9)
    add("scaled-1e-300", A * 1e-300, B * 1e-300)
    add("subnormal", np.round(A * 2**30) * TINY, np.round(B * 2**30) * TINY + TINY)
    add("overflow-issue-row", [[1e308, 1e308, 5e307], [1e308, 5e307, 1e308]],
        [[1e308, 5e307, 1e308], [1e308, 1e308, 5e307], [HUGE, HUGE, HUGE]])
    # Huge dynamic range in one row.
    mix = np.where(rng.random((3, k)) < 0.5, 1e-300, 1.0) * (rng.random((3, k)) + 0.5)
    add("dynamic-range-1e-300-and-1", mix[:2], np.vstack([mix[2:], mix[:1][:, ::-1]]))
    add("dynamic-range-small", [[1e-300, 1.0, 0.5, 1e-300], [1.0, 1e-300, 1e-300, 0.25]],
        [[1.0, 1e-300, 0.5, 1e-300], [1e-300, 1e-300, 1.0, 1.0]])
    # A bin whose normalised weight is below the double range (1e-400 after
    # normalising) where the other row has nothing: still a support
    # violation (+inf for KL, cross entropy, chi-square, Jeffreys).
    add("bin-below-double-range", [[1e200, 1e-200, 1.0], [1.0, 1e-300, 1e100]],
        [[1.0, 0.0, 1.0], [1e250, 0.0, 1e-250], [1.0, 1.0, 1.0]])
    # ... and on the side of Q: q > 0 there (1e-370 after normalising), so
    # KL and cross entropy stay finite (about 852), not +inf.
    add("q-bin-below-double-range", [[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]],
        [[1e250, 1e-120, 1.0], [1.0, 1e-200, 1e200]])
    # Zeros: disjoint, nested supports, mostly empty rows.
    even = np.where(np.arange(k) % 2 == 0, rng.random(k) + 0.1, 0.0)
    odd = np.where(np.arange(k) % 2 == 1, rng.random(k) + 0.1, 0.0)
    full = rng.random(k) + 0.1
    half = np.where(np.arange(k) < k // 2, full * 3, 0.0)
    add("disjoint-supports", [even, odd], [odd, even, full])
    add("nested-supports", [half, full], [full, half])
    sparse_rows = rng.random((4, k)) * (rng.random((4, k)) < 0.1)
    sparse_rows[:, 0] += 0.5  # one shared bin, so that not everything is inf
    add("many-zeros", sparse_rows[:2], sparse_rows[2:])
    # One bin.
    add("one-bin", [[3.0], [0.5], [1e-300]], [[7.0], [1e300]])
    # Integer counts.
    big = 2**53
    add("counts-2**53+1", np.array([[big + 1, 1, big], [big, 3, big + 1]], dtype=np.int64),
        np.array([[big + 1, 2, big], [1, big + 1, 7], [big, 0, big]], dtype=np.int64))
    c = rng.integers(10**9, 2 * 10**9, size=k)
    add("counts-near-identical-1e-9",
        np.array([c, c + rng.integers(-1, 2, size=k)], dtype=np.int64),
        np.array([c + rng.integers(-1, 2, size=k), 2 * c + rng.integers(-1, 2, size=k)],
                 dtype=np.int64), near_identical=True)
    add("counts-int64-total-overflows",
        np.array([[2**62, 2**62, 2**62 - 1], [2**62 + 5, 2**62 - 5, 3]], dtype=np.int64),
        np.array([[2**62 - 1, 2**62, 2**62], [2**63 - 1, 1, 2**63 - 1]], dtype=np.int64))
    add("counts-uint64-max",
        np.array([[2**64 - 1, 2**63, 1], [2**64 - 2, 2**64 - 1, 2**64 - 3]], dtype=np.uint64),
        np.array([[2**63, 2**64 - 1, 5], [1, 2**64 - 1, 2**64 - 1]], dtype=np.uint64))
    small = rng.integers(0, 256, size=(4, k)) * (rng.random((4, k)) < 0.5)
    small[:, 1] = 255
    add("counts-uint8-range", small[:2].astype(np.int64), small[2:].astype(np.int64))
    add("counts-one-bin", np.array([[3], [255]], dtype=np.int64),
        np.array([[1], [7], [200]], dtype=np.int64))
    return cases


HARD_CASES = _hard_cases()


def applicable(kind, case):
    return kind.represents(case.P, "P") and kind.represents(case.Q, "Q")


# ---------------------------------------------------------------------------
# The hard-case check (every input kind)
# ---------------------------------------------------------------------------

#: A 1-D value below this is "tiny": it is also checked against mpmath.
TINY_VALUE = 1e-4


def _exact_checks(exact, metric, Pv, Qv, got, want, near_identical, everything, what, kw):
    """pairwise's entries against mpmath: the contract 1e-12 * max(1, |exact|)
    where the 1-D value is tiny (every entry with `everything`), and 1e-9
    relative on near-identical rows (every metric but cross entropy, whose
    value is not small there)."""
    fails = []
    relative = near_identical and metric != "cross_entropy"
    for i in range(Pv.shape[0]):
        for j in range(Qv.shape[0]):
            w = want[i, j]
            if not (everything or relative or (math.isfinite(w) and abs(w) < TINY_VALUE)):
                continue
            e = exact.value(metric, Pv[i], Qv[j], **kw)
            miss = exact.check(got[i, j], e)
            if miss is None and relative:
                miss = exact.check(got[i, j], e, rel=NEAR_IDENTICAL_REL, relative=True)
            if miss:
                fails.append(f"{what}[{i}, {j}] vs mpmath: {miss}")
    return fails


def check_hard_case(kind, case, exact, pseudocount=0.0, base=None, everything=False,
                    metrics=METRICS):
    """Every metric of the case given as `kind`: P against Q and P against
    itself, each entry against the 1-D function (1e-12 * max(1, |v|)), tiny
    entries (all with `everything`) against mpmath, never negative; P
    against itself exactly symmetric for the symmetric metrics, with an
    exactly zero diagonal (cross entropy: the row's entropy). Returns the
    failure messages."""
    fails = []
    Pin, Qin, Pv, Qv = kind.inputs(case.P, case.Q)
    # with a pseudocount, near-identical rows are no longer near-identical
    near_identical = case.near_identical and not pseudocount
    kw = {}
    if pseudocount:
        kw["pseudocount"] = pseudocount
    for metric in metrics:
        mkw = dict(kw)
        if base is not None and metric in LOG_BASED:
            mkw["base"] = base
        what = f"{metric} {kind} {case}" + "".join(f" {a}={v}" for a, v in mkw.items())
        # P against Q
        try:
            got = histentropy.pairwise(Pin, Qin, metric=metric, **mkw)
        except Exception as e:  # noqa: BLE001 -- reported with the others
            fails.append(f"{what}: pairwise(P, Q) raised {type(e).__name__}: {e}")
            continue
        want = reference_matrix(metric, Pv, Qv, **mkw)
        bad = mismatches(got, want, what=what + " (P, Q)")
        fails += bad
        if not bad:
            fails += _exact_checks(exact, metric, Pv, Qv, got, want, near_identical,
                                   everything, what + " (P, Q)", mkw)
        # P against itself
        try:
            got = histentropy.pairwise(Pin, metric=metric, **mkw)
        except Exception as e:  # noqa: BLE001
            fails.append(f"{what}: pairwise(P) raised {type(e).__name__}: {e}")
            continue
        want = reference_matrix(metric, Pv, None, **mkw)
        bad = mismatches(got, want, what=what + " (P, P)")
        fails += bad
        if not bad:
            fails += _exact_checks(exact, metric, Pv, Pv, got, want, near_identical,
                                   everything, what + " (P, P)", mkw)
        if isinstance(got, np.ndarray) and got.shape == want.shape:
            if metric in SYMMETRIC and not np.array_equal(got, got.T, equal_nan=True):
                fails.append(f"{what}: pairwise(P) is not exactly symmetric:\n{got}")
            d = np.diagonal(got)
            if metric == "cross_entropy":  # the diagonal is the row's entropy
                wd = np.array([float(histentropy.entropy(Pv[i], **mkw))
                               for i in range(Pv.shape[0])])
            else:
                wd = np.diagonal(want)
            if metric != "cross_entropy":
                ok = np.where(np.isnan(wd), np.isnan(d), d == 0.0)
                if not ok.all():
                    fails.append(f"{what}: diagonal of pairwise(P) is {d}, want exact 0")
            else:
                fails += mismatches(d[:, None], wd[:, None], what=what + " diagonal = entropy")
    return fails


# ---------------------------------------------------------------------------
# Special values and shapes (every input kind)
# ---------------------------------------------------------------------------

#: Rows with no mass (P[1], Q[0]), support violations both ways, one bin
#: shared by everything.
SPECIAL_P = np.array([[1, 2, 0, 3, 0], [0, 0, 0, 0, 0], [0, 5, 5, 0, 1], [4, 0, 0, 0, 1]])
SPECIAL_Q = np.array([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 2, 2, 0, 1], [2, 0, 0, 1, 1],
                      [1, 2, 0, 3, 0]])


def check_special_values(kind, metric, with_nan=True):
    """No mass -> a row / column of NaN; NaN in a row -> NaN entries; support
    violations -> +inf exactly where the 1-D function gives it (KL, cross
    entropy, chi-square, Jeffreys either way round), JS / Hellinger / TV
    finite. Returns the failure messages."""
    P, Q = SPECIAL_P.copy(), SPECIAL_Q.copy()
    if with_nan and kind.floats:
        P = np.vstack([P, [[1.0, np.nan, 2.0, 0.0, 1.0]]])
        Q = np.vstack([Q, [[np.nan, 0.0, 0.0, 0.0, 1.0]]])
    Pin, Qin, Pv, Qv = kind.inputs(P, Q)
    fails = []
    for label, got, want, rows, cols in (
            ("(P, Q)", histentropy.pairwise(Pin, Qin, metric=metric),
             reference_matrix(metric, Pv, Qv), Pv, Qv),
            ("(P, P)", histentropy.pairwise(Pin, metric=metric),
             reference_matrix(metric, Pv, None), Pv, Pv)):
        what = f"{metric} {kind} special {label}"
        fails += mismatches(got, want, what=what)
        if not isinstance(got, np.ndarray) or got.shape != want.shape:
            continue
        with np.errstate(invalid="ignore"):
            bad_rows = (rows.astype(np.float64).sum(axis=1) == 0) | np.isnan(
                rows.astype(np.float64)).any(axis=1)
            bad_cols = (cols.astype(np.float64).sum(axis=1) == 0) | np.isnan(
                cols.astype(np.float64)).any(axis=1)
        nan_expected = bad_rows[:, None] | bad_cols[None, :]
        if not np.array_equal(np.isnan(got), nan_expected):
            fails.append(f"{what}: NaN at {np.argwhere(np.isnan(got)).tolist()}, want "
                         f"{np.argwhere(nan_expected).tolist()}")
        finite_metric = metric not in INF_ON_SUPPORT_VIOLATION
        if finite_metric and np.isinf(got).any():
            fails.append(f"{what}: +-inf in a metric that is always finite:\n{got}")
        if not finite_metric and not np.isposinf(got).any():
            fails.append(f"{what}: no +inf, though supports are violated:\n{got}")
        if np.isneginf(got).any():
            fails.append(f"{what}: -inf:\n{got}")
    return fails


def check_shapes(kind, metric):
    """m = 0, n = 0 (results of shape (0, n), (m, 0)) and k = 0 (all NaN)."""
    fails = []
    for m, n, k in ((0, 3, 4), (3, 0, 4), (0, 0, 4), (2, 3, 0), (0, 2, 0), (1, 1, 0)):
        P = np.ones((m, k), dtype=np.int64)
        Q = np.arange(n * k, dtype=np.int64).reshape(n, k) + 1
        Pin, Qin, _, _ = kind.inputs(P, Q)
        for label, args, shape in (("(P, Q)", (Pin, Qin), (m, n)), ("(P, P)", (Pin,), (m, m))):
            what = f"{metric} {kind} shape m={m} n={n} k={k} {label}"
            try:
                got = histentropy.pairwise(*args, metric=metric)
            except Exception as e:  # noqa: BLE001
                fails.append(f"{what}: raised {type(e).__name__}: {e}")
                continue
            if not isinstance(got, np.ndarray) or got.shape != shape or got.dtype != np.float64:
                fails.append(f"{what}: got {type(got).__name__} "
                             f"{getattr(got, 'shape', None)} {getattr(got, 'dtype', None)}")
            elif k == 0 and not np.isnan(got).all():
                fails.append(f"{what}: k = 0 must give NaN everywhere; got {got}")
    return fails


def random_rows(rng, m, k):
    """m random rows of k weights: one of six regimes (plain, row scales
    1e-300 .. 1e300, per-bin magnitudes 1e-300 .. 1e300, counts up to 2**40,
    totals beyond the double range, subnormal), with a random share of zeros."""
    kind = rng.integers(0, 6)
    if kind == 0:
        A = rng.random((m, k))
    elif kind == 1:  # scales
        A = rng.random((m, k)) * 10.0 ** rng.uniform(-300, 300, (m, 1))
    elif kind == 2:  # mixed magnitudes in a row
        A = rng.random((m, k)) * 10.0 ** rng.uniform(-300, 300, (m, k))
    elif kind == 3:  # counts
        A = rng.integers(0, 2**40, size=(m, k)).astype(np.float64)
    elif kind == 4:  # near the top of the range, totals beyond it
        A = rng.random((m, k)) * (HUGE * min(0.99, 1.9 / max(k, 1)))
    else:  # subnormal
        A = rng.integers(0, 1000, size=(m, k)) * 5e-324
    A[rng.random((m, k)) < rng.random() * 0.7] = 0.0
    return A


# ---------------------------------------------------------------------------
# Child processes (memory measurements; calls that might crash)
# ---------------------------------------------------------------------------

def run_child(code, timeout=300):
    """Run `code` (Python source) in a fresh interpreter; return the JSON
    object it prints on its last line of stdout. A crash (signal) or an
    exception fails the calling test with the child's last lines, so that a
    segfault is one failed test, not the end of the run."""
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        how = f"exit code {proc.returncode}"
        if proc.returncode < 0:
            how += f" ({signal.Signals(-proc.returncode).name})"
        out = "\n".join(proc.stdout.splitlines()[-10:])
        err = "\n".join(proc.stderr.splitlines()[-25:])
        pytest.fail(f"child process died: {how}\n--- stdout (last lines)\n{out}\n"
                    f"--- stderr (last lines)\n{err}", pytrace=False)
    return json.loads(proc.stdout.strip().splitlines()[-1])


MEMORY_CHILD = """
import json, tracemalloc
import numpy as np
import histentropy

def peak_of(f):
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        r = f()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return r, peak - base

m, n, k, seed, density = {m}, {n}, {k}, {seed}, {density}
P, Q = make(np.random.default_rng(seed), m, n, k, density)
args = (P,) if {self_} else (P, Q)
kw = dict(metric={metric!r}, **{kw!r})
r, peak = peak_of(lambda: histentropy.pairwise(*args, **kw))
if {with_out}:
    out = np.lib.format.open_memmap({out_path!r}, mode="w+", dtype=np.float64,
                                    shape=r.shape)
    r2, peak2 = peak_of(lambda: histentropy.pairwise(*args, out=out, **kw))
    assert r2 is out
else:
    peak2 = None
spots = [(0, 0), (min(3, m - 1), n - 1), (m - 1, min(7, n - 1)), (m // 2, n // 3)]
print(json.dumps({{"shape": list(r.shape), "peak": peak, "peak_out": peak2,
                  "spots": [[i, j, float(r[i, j])] for i, j in spots]}}))
"""


def measure_memory(make_source, metric, m, n, k, seed, self_=False, density=1.0, kw=None,
                   out_path=None):
    """The traced peak of one pairwise call, measured in a child process
    (`make_source` defines make(rng, m, n, k, density) -> (P, Q) there; the
    caller rebuilds the same P, Q to check the spot values)."""
    code = textwrap.dedent(make_source) + MEMORY_CHILD.format(
        m=m, n=n, k=k, seed=seed, density=density, self_=self_, metric=metric, kw=kw or {},
        with_out=out_path is not None, out_path=str(out_path))
    return run_child(code)


# ---------------------------------------------------------------------------
# Sharing
# ---------------------------------------------------------------------------

class Pairwise:
    """What the test modules share (the `pw` fixture)."""

    DPS = DPS
    REL_TOL = REL_TOL
    NEAR_IDENTICAL_REL = NEAR_IDENTICAL_REL
    EXAMPLES = EXAMPLES
    FULL = FULL
    HUGE = HUGE
    TINY = TINY
    METRICS = METRICS
    SYMMETRIC = SYMMETRIC
    LOG_BASED = LOG_BASED
    PLAIN = PLAIN
    INF_ON_SUPPORT_VIOLATION = INF_ON_SUPPORT_VIOLATION
    DENSE_KINDS = DENSE_KINDS
    SPARSE_KINDS = SPARSE_KINDS
    ANY_KINDS = ANY_KINDS
    HARD_CASES = HARD_CASES
    Kind = Kind
    one_d = staticmethod(one_d)
    reference_matrix = staticmethod(reference_matrix)
    reference_broadcast = staticmethod(reference_broadcast)
    mismatches = staticmethod(mismatches)
    assert_matches = staticmethod(assert_matches)
    check_hard_case = staticmethod(check_hard_case)
    check_special_values = staticmethod(check_special_values)
    check_shapes = staticmethod(check_shapes)
    run_child = staticmethod(run_child)
    random_rows = staticmethod(random_rows)
    measure_memory = staticmethod(measure_memory)
    SPECIAL_P = SPECIAL_P
    SPECIAL_Q = SPECIAL_Q
    exact_values = staticmethod(exact_values)
    noncanonical = staticmethod(_noncanonical)

    @staticmethod
    def case(name):
        return next(c for c in HARD_CASES if c.name == name)

    @staticmethod
    def kind(name):
        return next(k for k in ANY_KINDS if k.name == name)


_EXACT = ExactPairwise()


@pytest.fixture(scope="session")
def pw():
    return Pairwise


@pytest.fixture(scope="session")
def pw_exact():
    return _EXACT


def pytest_generate_tests(metafunc):
    params = {
        "metric": list(METRICS),
        "log_metric": list(LOG_BASED),
        "plain_metric": list(PLAIN),
        "symmetric_metric": list(SYMMETRIC),
        "dense_kind": DENSE_KINDS,
        "sparse_kind": SPARSE_KINDS,
        "any_kind": ANY_KINDS,
    }
    explicit = set()
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        explicit.update(n.strip() for n in names.split(",")) if isinstance(names, str) else \
            explicit.update(names)
    for name, values in params.items():
        if name in metafunc.fixturenames and name not in explicit:
            metafunc.parametrize(name, values, ids=[str(v) if isinstance(v, str) else repr(v)
                                                    for v in values])
    for name, kinds in (("dense_hard", DENSE_KINDS), ("sparse_hard", SPARSE_KINDS),
                        ("dense_hard_main", _main_kinds(DENSE_KINDS, MAIN_DENSE)),
                        ("sparse_hard_main", _main_kinds(SPARSE_KINDS, MAIN_SPARSE))):
        if name in metafunc.fixturenames:
            pairs = [(k, c) for k in kinds for c in HARD_CASES if applicable(k, c)]
            metafunc.parametrize(name, pairs, ids=[f"{k!r}-{c!r}" for k, c in pairs])
    if "memory_case" in metafunc.fixturenames:
        cases = [(m, s) for m in METRICS for s in (False, True)]
        if not FULL:
            cases = [("kl_divergence", False), ("js_distance", True)]
        metafunc.parametrize("memory_case", cases,
                             ids=[f"{m}-{'P-P' if s else 'P-Q'}" for m, s in cases])
    if "sparse_memory_case" in metafunc.fixturenames:
        cases = ["sparse-sparse", "sparse-self", "sparse-dense", "dense-sparse",
                 "sparse-sparse-pseudocount"]
        if not FULL:
            cases = ["sparse-sparse-pseudocount"]
        metafunc.parametrize("sparse_memory_case", cases)
    if "weight_side" in metafunc.fixturenames:
        # (kind, side) where the side's dtype can hold a negative or infinite weight
        pairs = [(k, side) for k in ANY_KINDS for side in ("P", "Q")
                 if np.dtype(k.p_dtype if side == "P" else k.q_dtype).kind in "if"]
        metafunc.parametrize("weight_side", pairs, ids=[f"{k!r}-{s}" for k, s in pairs])
    if "hard_base" in metafunc.fixturenames:
        metafunc.parametrize("hard_base", [2, 10, 1.5] if FULL else [2, 1.5])
    if "first_hard" in metafunc.fixturenames:
        # each hard case once: in the first of the main dense kinds that holds it
        pairs = []
        for c in HARD_CASES:
            k = next((k for k in _main_kinds(DENSE_KINDS, MAIN_DENSE) if applicable(k, c)), None)
            if k is not None:
                pairs.append((k, c))
        metafunc.parametrize("first_hard", pairs, ids=[f"{k!r}-{c!r}" for k, c in pairs])


#: The kinds the pseudocount and base variants of the hard cases run on in
#: the default (CI) run; every kind with HISTENTROPY_FUZZ_EXAMPLES > 20.
MAIN_DENSE = ("float64", "int64", "float32", "float64-strided")
MAIN_SPARSE = ("csr_array", "csr_matrix-noncanonical", "csr_array-noncanonical-int64",
               "csr_array/dense", "dense/csr_matrix")


def _main_kinds(kinds, names):
    if FULL:
        return kinds
    return [next(k for k in kinds if k.name == n) for n in names]
