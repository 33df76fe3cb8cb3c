"""Differential fuzzing of the measure family: hypothesis draws weights over
the whole float range (zeros, subnormals, huge values whose totals overflow,
counts), a measure and a pseudocount; every input kind must meet the
accuracy contract against the exact mpmath reference of conftest.

The number of examples is bounded for CI (20); HISTENTROPY_FUZZ_EXAMPLES=N
asks for N.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import histentropy
from conftest import HARD_MEASURES

sparse = pytest.importorskip("scipy.sparse")

EXAMPLES = int(os.environ.get("HISTENTROPY_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

WEIGHT = st.one_of(
    st.just(0.0),
    st.floats(min_value=5e-324, max_value=1e-300),
    st.floats(min_value=1e-300, max_value=1e300),
    st.floats(min_value=1e300, max_value=1.7976931348623157e308),
    st.integers(min_value=0, max_value=10**6).map(float),
)
PSEUDOCOUNT = st.sampled_from([0.0, 0.0, 0.5, 1e-3])


def _vectors(n):
    return hnp.arrays(np.float64, n, elements=WEIGHT)


@FUZZ
@given(st.sampled_from(HARD_MEASURES), st.integers(1, 12).flatmap(
    lambda n: st.tuples(_vectors(n), _vectors(n))), PSEUDOCOUNT)
def test_dense_and_sparse_against_exact(fam, measure, pq, pseudocount):
    p, q = pq
    exact = fam.value(measure, p, q if measure.pair else None, pseudocount=pseudocount)
    got = measure(p, q, pseudocount=pseudocount) if measure.pair else measure(
        p, pseudocount=pseudocount)
    fam.assert_close(got, exact, what=f"{measure} dense")
    P = sparse.csr_array(p[None])
    Q = sparse.csr_array(q[None])
    kinds = [(P, Q), (P, q), (p, Q)] if measure.pair else [(P, None)]
    for a, b in kinds:
        value = measure(a, b, pseudocount=pseudocount) if measure.pair else measure(
            a, pseudocount=pseudocount)
        fam.assert_close(float(np.asarray(value).reshape(-1)[0]), exact,
                         what=f"{measure} {type(a).__name__}/{type(b).__name__}")


@FUZZ
@given(st.sampled_from([m for m in HARD_MEASURES if m.pair]),
       st.integers(1, 8).flatmap(lambda n: st.tuples(_vectors(n), _vectors(n))))
def test_labelled_against_exact(fam, measure, pq):
    p, q = pq
    exact = fam.value(measure, p, q)
    got = measure({i: v for i, v in enumerate(p) if v or i % 2},
                  {i: v for i, v in enumerate(q) if v or i % 3})
    fam.assert_close(got, exact, what=f"{measure} labelled")
