"""Labelled histograms (issue 4): mappings and pandas Series aligned by label.

The reference is scipy.stats.entropy on vectors aligned by hand (a label
missing on one side has weight 0 there), and the dense functions on them.
"""
from collections import Counter, OrderedDict

import numpy as np
import pytest
import scipy.stats

import histentropy


def _aligned(p, q):
    labels = list(dict.fromkeys(list(p) + list(q)))
    return (np.array([float(p.get(k, 0)) for k in labels]),
            np.array([float(q.get(k, 0)) for k in labels]))


P = {"the": 30, "a": 20, "cat": 5, "sat": 1}
Q = {"a": 25, "the": 25, "dog": 4, "cat": 3, "sat": 2, "mat": 1}


def test_entropy_of_a_mapping():
    got = histentropy.entropy(P)
    assert isinstance(got, np.float64)
    assert got == pytest.approx(scipy.stats.entropy(list(P.values())), rel=1e-12)
    assert histentropy.entropy(Counter("mississippi"), base=2) == pytest.approx(
        scipy.stats.entropy([1, 4, 4, 2], base=2), rel=1e-12)


def test_aligned_by_label_whatever_the_order():
    p, q = _aligned(P, Q)
    assert histentropy.kl_divergence(P, Q) == pytest.approx(
        scipy.stats.entropy(p, q), rel=1e-12)
    assert histentropy.cross_entropy(P, Q, base=2) == pytest.approx(
        scipy.stats.entropy(p, base=2) + scipy.stats.entropy(p, q, base=2), rel=1e-12)
    reordered = OrderedDict(sorted(Q.items()))
    assert histentropy.kl_divergence(P, reordered) == histentropy.kl_divergence(P, Q)
    d = histentropy.decompose(P, Q)
    assert isinstance(d, histentropy.Decomposition)
    want = histentropy.decompose(p, q)
    for got, ref in zip(d, want):
        assert got == pytest.approx(ref, rel=1e-12)
        assert np.ndim(got) == 0


def test_missing_label_is_zero_weight():
    # "bird" is only in p: q has weight 0 there, so KL is +inf.
    assert histentropy.kl_divergence({"cat": 1, "bird": 1}, {"cat": 1}) == np.inf
    # Labels only in q just add mass to q.
    assert histentropy.kl_divergence({"cat": 1}, {"cat": 1, "dog": 1}) == pytest.approx(
        np.log(2), rel=1e-12)
    assert histentropy.kl_divergence({"x": 1, "y": 0}, {"x": 2}) == 0.0


def test_counters_and_mixed_label_types():
    p = Counter({1: 3, "one": 2, (1, 2): 1})
    q = {(1, 2): 2, 1: 1, "one": 1}
    a, b = _aligned(p, q)
    assert histentropy.kl_divergence(p, q) == pytest.approx(scipy.stats.entropy(a, b),
                                                            rel=1e-12)


@pytest.mark.parametrize("values", [[1, 2, 3], [1.5, 2.0, 0.25], [np.float32(1), 2, 3],
                                    [np.int64(2**40), 1, 7], [10**20, 1, 2]])
def test_value_types(values):
    p = dict(zip("abc", values))
    want = scipy.stats.entropy(np.array(values, dtype=np.float64))
    assert histentropy.entropy(p) == pytest.approx(want, rel=1e-12)
    assert histentropy.kl_divergence(p, p) == 0.0


def test_empty_mappings_have_no_mass():
    assert np.isnan(histentropy.entropy({}))
    assert np.isnan(histentropy.kl_divergence({}, {"a": 1}))


def test_keywords_pass_through():
    assert histentropy.entropy(P, keepdims=True).shape == (1,)
    assert histentropy.kl_divergence(P, Q, axis=None) == histentropy.kl_divergence(P, Q)
    with pytest.raises(np.exceptions.AxisError):
        histentropy.entropy(P, axis=1)
    with pytest.raises(ValueError, match="base"):
        histentropy.kl_divergence(P, Q, base=-1)


def test_bad_values():
    with pytest.raises(ValueError, match="p must hold non-negative"):
        histentropy.entropy({"a": -1, "b": 2})
    with pytest.raises(ValueError, match="q must hold finite"):
        histentropy.kl_divergence({"a": 1}, {"a": float("inf")})
    with pytest.raises(TypeError, match="p must map labels to real weights"):
        histentropy.entropy({"a": "1"})
    with pytest.raises(TypeError, match="q must map labels to real weights"):
        histentropy.kl_divergence({"a": 1}, {"a": 1j})
    with pytest.raises(TypeError, match="real weights"):
        histentropy.entropy({"a": None})


def test_nan_policy():
    p = {"a": 1.0, "b": float("nan"), "c": 2.0}
    q = {"a": 1.0, "b": 1.0, "c": 1.0, "d": float("nan")}
    assert np.isnan(histentropy.entropy(p))
    assert histentropy.entropy(p, nan_policy="omit") == pytest.approx(
        scipy.stats.entropy([1.0, 2.0]), rel=1e-12)
    assert np.isnan(histentropy.kl_divergence(p, q))
    assert histentropy.kl_divergence(p, q, nan_policy="omit") == pytest.approx(
        scipy.stats.entropy([1.0, 2.0], [1.0, 1.0]), rel=1e-12)
    with pytest.raises(ValueError, match="contains NaN"):
        histentropy.kl_divergence(p, q, nan_policy="raise")


@pytest.mark.parametrize("other", [[1, 2, 3], np.ones(3), 3.0])
def test_mixing_labelled_and_unlabelled_is_a_type_error(other):
    for f in (histentropy.kl_divergence, histentropy.cross_entropy, histentropy.decompose):
        with pytest.raises(TypeError, match="p is a labelled histogram .* but q is not"):
            f({"a": 1, "b": 2, "c": 3}, other)
        with pytest.raises(TypeError, match="q is a labelled histogram .* but p is not"):
            f(other, {"a": 1, "b": 2, "c": 3})


def test_mixing_labelled_and_sparse_is_a_type_error():
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="labelled histogram"):
        histentropy.kl_divergence({"a": 1}, sp.csr_array(np.ones((1, 1))))


# ---------------------------------------------------------------------------
# pandas (optional)
# ---------------------------------------------------------------------------

def test_series():
    pd = pytest.importorskip("pandas")
    p = pd.Series(P)
    q = pd.Series(Q)
    a, b = _aligned(P, Q)
    assert histentropy.entropy(p) == pytest.approx(scipy.stats.entropy(a), rel=1e-12)
    assert histentropy.kl_divergence(p, q) == pytest.approx(scipy.stats.entropy(a, b),
                                                            rel=1e-12)
    # A Series and a mapping are both labelled: they align.
    assert histentropy.kl_divergence(p, Q) == histentropy.kl_divergence(P, Q)
    assert histentropy.kl_divergence(P, q) == histentropy.kl_divergence(P, Q)
    with pytest.raises(TypeError, match="labelled histogram"):
        histentropy.kl_divergence(p, np.ones(4))


def test_series_dtypes_and_duplicates():
    pd = pytest.importorskip("pandas")
    p = pd.Series([1, 2, None], index=["a", "b", "c"], dtype="Int64")
    assert np.isnan(histentropy.entropy(p))
    assert histentropy.entropy(p, nan_policy="omit") == pytest.approx(
        scipy.stats.entropy([1, 2]), rel=1e-12)
    q = pd.Series([1.0, 2.0, 3.0], index=["a", "a", "b"])
    with pytest.raises(ValueError, match="duplicate labels"):
        histentropy.kl_divergence(q, {"a": 1, "b": 1})
    with pytest.raises(TypeError, match="real weights"):
        histentropy.entropy(pd.Series(["x", "y"]))


# ---- Series that do not hold real numbers are refused -----------------------

def _non_real_series():
    pd = pytest.importorskip("pandas")
    return {
        "object strings": pd.Series(["1", "2"]),
        "string dtype": pd.Series(["1", "2"], dtype="string"),
        "categorical of numeric strings": pd.Series(["1", "2"], dtype="category"),
        "categorical of numbers": pd.Series([1, 2], dtype="category"),
        "tz-aware datetimes": pd.Series(
            pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("UTC")),
        "naive datetimes": pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02"])),
        "timedeltas": pd.Series(pd.to_timedelta([1, 2], unit="s")),
        "periods": pd.Series(pd.period_range("2020-01", periods=2, freq="M")),
        "intervals": pd.Series(pd.interval_range(0, 2)),
    }


@pytest.mark.parametrize("kind", ["object strings", "string dtype",
                                  "categorical of numeric strings",
                                  "categorical of numbers", "tz-aware datetimes",
                                  "naive datetimes", "timedeltas", "periods", "intervals"])
def test_series_of_non_real_values_is_a_type_error(kind):
    s = _non_real_series()[kind]
    with pytest.raises(TypeError, match="p"):
        histentropy.entropy(s)
    with pytest.raises(TypeError):
        histentropy.kl_divergence(s, s)


def test_nullable_numeric_series_are_weights():
    pd = pytest.importorskip("pandas")
    for dtype in ("Int64", "UInt8", "Float64", "boolean"):
        s = pd.Series([1, 0, 1], dtype=dtype, index=["a", "b", "c"])
        assert histentropy.entropy(s) == pytest.approx(scipy.stats.entropy([1, 0, 1]),
                                                       rel=1e-15)
