"""Bias-corrected entropy estimators for histograms of counts (layer 3):
``entropy(p, estimator=...)`` and ``mutual_information(..., estimator=...)``.

The estimators are defined, and computed, in the C core
(include/histentropy/estimators.h: each histogram read once into its count
profile, each term computed once per distinct count); the driver is
`_joint.estimate` (dense slices) and `_joint.estimate_rows` (compressed
rows). This module checks the options and turns the kernels' flags into
the documented errors and NaN.
"""
import numpy as np

from histentropy import _joint

ESTIMATORS = ("plugin", "miller_madow", "grassberger", "chao_shen", "james_stein")


def check_estimator(estimator):
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {', '.join(map(repr, ESTIMATORS))}; got {estimator!r}"
        )
    return estimator


def finish(out, flags, nan_policy, estimator, name="p"):
    """The estimates with the kernels' flags acted on: errors for weights
    that are not counts, NaN for a histogram holding a NaN that propagates."""
    from histentropy import _joint

    seen = int(np.bitwise_or.reduce(flags)) if flags.size else 0
    if seen & _joint.COUNTS_INFINITE:
        raise ValueError(f"{name} must hold finite weights; got an infinite value")
    if seen & _joint.COUNTS_NEGATIVE:
        raise ValueError(f"{name} must hold non-negative weights; got a negative value")
    if seen & _joint.COUNTS_NAN and nan_policy == "raise":
        raise ValueError(f"{name} contains NaN and nan_policy='raise'")
    if seen & _joint.COUNTS_NONINTEGER:
        raise ValueError(
            f"estimator={estimator!r} needs integer-valued counts; got a non-integer weight"
        )
    if seen & _joint.COUNTS_OVERFLOW:
        raise ValueError(
            f"estimator={estimator!r} needs a histogram's total count below the double "
            "range (about 1.8e308); got a larger total"
        )
    if seen & _joint.COUNTS_NAN and nan_policy == "propagate":
        out[(flags & _joint.COUNTS_NAN) != 0] = np.nan
    return out
