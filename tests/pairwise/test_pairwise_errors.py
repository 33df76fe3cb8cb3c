"""Errors of `histentropy.pairwise`, for every input kind (dense and sparse).

* The signature of the issue: ``pairwise(P, Q=None, *, metric=
  "kl_divergence", base=None, pseudocount=0.0, workers=None, out=None)``.
* ``metric`` not one of the eight names (other spellings, other functions
  of the library, None, numbers): ValueError whose message lists every
  valid name.
* ``base`` given for a metric without one (Hellinger, total variation,
  chi-square): ValueError; base <= 1, NaN, inf: ValueError, as the 1-D
  functions.
* ``pseudocount`` negative, inf, NaN: ValueError, as the 1-D functions.
* A negative or infinite weight: ValueError naming P or Q (also when a
  pseudocount would make the weight positive, and with Q = None).
* P and Q with different numbers of bins; P or Q not 2-D: ValueError.
  Complex, string and object weights: TypeError (as the 1-D functions).
* ``workers`` 0, -2 (ValueError), 1.5, "2", True (TypeError): the same
  exception as the 1-D function with that value.
* ``out`` of the wrong shape, of another dtype, not C-contiguous, not an
  array, read-only: ValueError or TypeError.
"""
import inspect
import math
import re

import numpy as np
import pytest

import histentropy
from expect import Expect

BAD_METRICS = ["kl", "KL_divergence", "kl-divergence", " kl_divergence", "entropy",
               "renyi_divergence", "population_stability_index", "jensenshannon",
               "euclidean", "", None, 3, ("kl_divergence",)]
BAD_BASES = [1, 1.0, 0.5, 0, -2, math.nan, math.inf, -math.inf]
BAD_PSEUDOCOUNTS = [-1, -1e-300, math.inf, math.nan, -math.inf]
BAD_WORKERS = [0, -2, 1.5, "2", True]


def _pq(kind):
    P = np.array([[1, 2, 0, 3], [4, 0, 1, 1], [0, 1, 1, 0]])
    Q = np.array([[1, 1, 1, 1], [0, 3, 2, 1]])
    Pin, Qin, _, _ = kind.inputs(P, Q)
    return Pin, Qin


def _names(name):
    """A check that the message names `name` (P or Q) and not the other."""
    other = "Q" if name == "P" else "P"

    def check(e):
        msg = str(e)
        if not re.search(rf"\b{name}\b", msg):
            return f"message does not name {name}: {msg!r}"
        if re.search(rf"\b{other}\b", msg):
            return f"message names the other side too: {msg!r}"
        return None

    return check


def test_signature():
    sig = inspect.signature(histentropy.pairwise)
    params = list(sig.parameters.values())
    assert [p.name for p in params] == ["P", "Q", "metric", "base", "pseudocount", "workers",
                                        "out"]
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert params[1].default is None
    defaults = {p.name: p.default for p in params[2:]}
    assert defaults == {"metric": "kl_divergence", "base": None, "pseudocount": 0.0,
                        "workers": None, "out": None}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[2:])
    assert "pairwise" in histentropy.__all__


def test_unknown_metric_lists_the_valid_names(pw, any_kind):
    P, Q = _pq(any_kind)

    def lists_all(e):
        missing = [m for m in pw.METRICS if m not in str(e)]
        return f"message {str(e)!r} misses {missing}" if missing else None

    ex = Expect()
    for bad in BAD_METRICS:
        for args in ((P, Q), (P,)):
            ex.raises(ValueError, histentropy.pairwise, *args, metric=bad, check=lists_all,
                      what=f"metric={bad!r} {len(args)} args")
    ex.done()


def test_base_for_a_metric_without_one(pw, any_kind):
    P, Q = _pq(any_kind)
    ex = Expect()
    for metric in pw.PLAIN:
        # the 1-D function has no base at all
        assert "base" not in inspect.signature(getattr(histentropy, metric)).parameters
        for base in (2, 10, math.e, 1.5):
            for args in ((P, Q), (P,)):
                ex.raises(ValueError, histentropy.pairwise, *args, metric=metric, base=base,
                          what=f"{metric} base={base}")
    ex.done()


def test_bad_base(pw, any_kind):
    P, Q = _pq(any_kind)
    ex = Expect()
    for metric in pw.LOG_BASED:
        for base in BAD_BASES:
            ex.raises(ValueError, getattr(histentropy, metric), [1, 2], [2, 1], base=base,
                      what=f"1-D {metric} base={base}")
            for args in ((P, Q), (P,)):
                ex.raises(ValueError, histentropy.pairwise, *args, metric=metric, base=base,
                          what=f"{metric} base={base}")
    ex.done()


def test_bad_pseudocount(pw, any_kind):
    P, Q = _pq(any_kind)
    ex = Expect()
    for metric in pw.METRICS:
        for c in BAD_PSEUDOCOUNTS:
            ex.raises(ValueError, getattr(histentropy, metric), [1, 2], [2, 1], pseudocount=c,
                      what=f"1-D {metric} pseudocount={c}")
            for args in ((P, Q), (P,)):
                ex.raises(ValueError, histentropy.pairwise, *args, metric=metric,
                          pseudocount=c, what=f"{metric} pseudocount={c}")
    ex.done()


def _with(kind, side, value):
    """The kind's inputs with `value` written into one bin of `side`, or None
    when the side's dtype cannot hold it (unsigned and negative, integer and
    inf, -1e-300 in float32 is -0.0)."""
    P = np.array([[1, 2, 0, 3], [4, 0, 1, 1], [0, 1, 1, 0]], dtype=np.float64)
    Q = np.array([[1, 1, 1, 1], [0, 3, 2, 1]], dtype=np.float64)
    dtype = np.dtype(kind.p_dtype if side == "P" else kind.q_dtype)
    if dtype.kind == "u" and value < 0:
        return None
    if dtype.kind in "iu" and (not math.isfinite(value) or value != int(value)):
        return None
    with np.errstate(under="ignore"):
        if dtype.kind == "f" and float(dtype.type(value)) != value:
            return None
    (P if side == "P" else Q)[1, 2] = value
    return (kind.make(P.astype(kind.p_dtype), "P"), kind.make(Q.astype(kind.q_dtype), "Q"))


BAD_WEIGHTS = [-1.0, -1e-300, -3.0, math.inf, -math.inf]


def test_bad_weight_names_the_side(pw, weight_side):
    """Every kind, each side whose dtype can hold a negative or an infinite
    weight (signed integers: negative only)."""
    any_kind, side = weight_side
    ex = Expect()
    tried = 0
    for value in BAD_WEIGHTS:
        made = _with(any_kind, side, value)
        if made is None:
            continue
        tried += 1
        P, Q = made
        for metric in pw.METRICS:
            for kw in ({}, {"pseudocount": 5.0}):
                what = f"{metric} {side}[1, 2]={value} {kw}"
                ex.raises(ValueError, histentropy.pairwise, P, Q, metric=metric,
                          check=_names(side), what=what, **kw)
                if side == "P":
                    ex.raises(ValueError, histentropy.pairwise, P, metric=metric,
                              check=_names("P"), what=what + " Q=None", **kw)
    assert tried, "no bad weight fits this kind"
    ex.done()


def test_bad_weight_beside_nan(pw):
    """NaN propagates, but a negative weight elsewhere is still an error."""
    P = np.array([[1.0, np.nan, 2.0], [1.0, -1.0, 1.0]])
    Q = np.array([[1.0, 1.0, 1.0]])
    ex = Expect()
    for metric in pw.METRICS:
        ex.raises(ValueError, histentropy.pairwise, P, Q, metric=metric, check=_names("P"),
                  what=metric)
        ex.raises(ValueError, histentropy.pairwise, Q, P, metric=metric, check=_names("Q"),
                  what=metric)
    ex.done()


def test_mismatched_bins(pw, any_kind):
    kind = any_kind
    Pin, Qin, _, _ = kind.inputs(np.ones((3, 4), dtype=np.int64), np.ones((2, 5), dtype=np.int64))
    P0, Q0, _, _ = kind.inputs(np.ones((0, 4), dtype=np.int64), np.ones((2, 0), dtype=np.int64))
    ex = Expect()
    for metric in pw.METRICS:
        for a, b in ((Pin, Qin), (P0, Q0)):
            ex.raises(ValueError, histentropy.pairwise, a, b, metric=metric, what=metric)
        ex.raises(ValueError, histentropy.pairwise, Qin, Pin.T if kind.p_sparse else Pin,
                  metric=metric, what=f"{metric} swapped")
    ex.done()


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (), (0,), (1, 1, 1)], ids=str)
def test_not_2d(pw, dense_kind, shape):
    bad = np.ones(shape, dtype=dense_kind.p_dtype)
    k = bad.shape[-1] if bad.ndim else 4
    good = np.ones((2, k), dtype=dense_kind.q_dtype)
    ex = Expect()
    for metric in pw.METRICS:
        ex.raises(ValueError, histentropy.pairwise, bad, metric=metric, what=metric)
        ex.raises(ValueError, histentropy.pairwise, bad, good, metric=metric, what=metric)
        ex.raises(ValueError, histentropy.pairwise, good.astype(dense_kind.p_dtype),
                  bad.astype(dense_kind.q_dtype), metric=metric, what=f"{metric} as Q")
    ex.done()


def test_sparse_1d_is_not_2d(pw):
    sp = pytest.importorskip("scipy.sparse")
    try:
        v = sp.coo_array(np.array([1.0, 2.0, 0.0, 3.0]))
    except (TypeError, ValueError):
        pytest.skip("this scipy has no 1-D sparse arrays")
    if v.ndim != 1:
        pytest.skip("this scipy has no 1-D sparse arrays")
    good = np.ones((2, 4))
    ex = Expect()
    for metric in pw.METRICS:
        for args in ((v,), (v, good), (good, v), (v, sp.csr_array(good)),
                     (sp.csr_array(good), v)):
            ex.raises(ValueError, histentropy.pairwise, *args, metric=metric, what=metric)
    ex.done()


@pytest.mark.parametrize("dtype", [np.complex128, np.str_, object])
def test_non_numeric_dtype(pw, dtype):
    good = np.ones((2, 3))
    bad = np.ones((2, 3)).astype(dtype)
    ex = Expect()
    for metric in pw.METRICS:
        ex.raises(TypeError, getattr(histentropy, metric), bad[0], good[0], what=f"1-D {metric}")
        for args in ((bad,), (bad, good), (good, bad)):
            ex.raises(TypeError, histentropy.pairwise, *args, metric=metric, what=metric)
    ex.done()


def test_bad_workers_as_1d(pw, any_kind):
    P, Q = _pq(any_kind)
    ex = Expect()
    for metric in pw.METRICS:
        for workers in BAD_WORKERS:
            e = ex.raises((ValueError, TypeError), getattr(histentropy, metric), [1, 2], [2, 1],
                          workers=workers, what=f"1-D {metric} workers={workers!r}")
            if e is None:
                continue
            for args in ((P, Q), (P,)):
                ex.raises(type(e), histentropy.pairwise, *args, metric=metric, workers=workers,
                          what=f"{metric} workers={workers!r}")
    ex.done()


def _bad_outs():
    f = np.zeros((6, 4))
    ro = np.zeros((3, 2))
    ro.flags.writeable = False
    outs = {
        "shape-transposed": np.zeros((2, 3)),
        "shape-short": np.zeros((3, 1)),
        "shape-1d": np.zeros(6),
        "shape-3d": np.zeros((3, 2, 1)),
        "float32": np.zeros((3, 2), dtype=np.float32),
        "int64": np.zeros((3, 2), dtype=np.int64),
        "complex": np.zeros((3, 2), dtype=np.complex128),
        "fortran": np.asfortranarray(np.zeros((3, 2))),
        "strided": f[::2, ::2],
        "reversed": np.zeros((3, 2))[::-1],
        "list": [[0.0, 0.0]] * 3,
        "readonly": ro,
    }
    if np.dtype(np.longdouble) != np.dtype(np.float64):
        outs["longdouble"] = np.zeros((3, 2), dtype=np.longdouble)
    assert not outs["fortran"].flags.c_contiguous and not outs["strided"].flags.c_contiguous
    return outs


#: Bad outs for Q = None (a (3, 3) result).
def _bad_self_outs():
    return {"shape-(3, 2)": np.zeros((3, 2)),
            "fortran": np.asfortranarray(np.zeros((3, 3))),
            "float32": np.zeros((3, 3), dtype=np.float32),
            "strided": np.zeros((6, 6))[::2, ::2],
            "reversed": np.zeros((3, 3))[:, ::-1]}


def test_bad_out(pw, any_kind):
    P, Q = _pq(any_kind)
    ex = Expect()
    for metric in pw.METRICS:
        for which, out in _bad_outs().items():
            ex.raises((ValueError, TypeError), histentropy.pairwise, P, Q, metric=metric,
                      out=out, what=f"{metric} out {which}")
        for which, out in _bad_self_outs().items():
            ex.raises((ValueError, TypeError), histentropy.pairwise, P, metric=metric, out=out,
                      what=f"{metric} Q=None out {which}")
    ex.done()
