# Streaming histograms: O(1) updates and queries over running sums.
#
# Layers, as in the rest of histentropy:
# 1. `noexcept nogil` kernels over a plain C struct (`State`): apply a batch
#    of events, settle the running sums, recompute them exactly, rescale.
#    They never validate or raise.
# 2. The driver methods of `StreamingHistogram` validate a whole batch with
#    the GIL released *before* touching the state, then apply it.
# 3. The Python-visible methods check arguments and raise the documented
#    errors.
#
# Running sums (over the stored counts s_b; see "Decay" for the scale)
# -------------------------------------------------------------------------
#     S = sum s,   A = sum s log s,   C = sum s log y    (y = r / sum r)
#     H(P)    = log S - A / S
#     H(P, Q) = -C / S                      (+inf if s_b > 0 where r_b = 0)
#     KL      = H(P, Q) - H(P)
# An event changes one bin from a to c = a + w; the sums change by
#     dS = c - a,
#     dA = c log c - a log a = (c - a) log c + a log1p((c - a) / a),
# (both terms have the sign of c - a for counts >= 1: no cancellation; log(c/a)
# for log1p when c and a are more than a factor 2 apart), and
# dC = (c - a) log y_b. Sums are compensated (Neumaier; the C core's sum.h).
# Each log y_b is accurate relative to itself, also for y_b near 1 (one
# reference weight carrying almost all the mass): _log_normalised.
#
# A batch is applied in one of two ways: a large batch (as many events as
# about 1/8 of the bins) simply adds into the counts and then recomputes the
# sums exactly from the counts with the vectorised kernel of the batch
# functions (O(n_bins), no drift at all); a small batch records the old value
# of each bin it touches and settles the sums per touched bin (two logs per
# touched bin). Either way the cost is O(1) amortised per event.
#
# Accuracy control: every query computes its result from the sums together
# with a bound on its rounding error (the magnitude of the terms that cancel,
# plus the accumulated magnitude of the increments since the last exact
# recomputation; and the total S must be right to an ulp, which a window
# that drops almost all of its mass can spoil). When the bound exceeds TOL
# times the result, the sums are recomputed exactly from the counts; when
# even fresh sums cancel too much
# (near-deterministic histograms, KL of counts very close to the reference)
# the query is answered by the accurate two-read kernel of the batch
# functions on the counts -- O(n_bins), and cached until the state changes.
# So every query is within ~TOL relative of the batch function on `counts`,
# whatever the length of the stream.
#
# KL close to zero (counts that follow the reference: KL ~ n_bins / 2S) makes
# H(P, Q) - H(P) cancel badly. Once a query meets that, the histogram also
# keeps an anchored sum of non-negative terms, relative-accurate like the
# batch functions' second read: with t_b = y_b S0 (the expected counts at
# the total S0 of the last exact recomputation) and T = sum t,
#     K  = sum_b phi(s_b, t_b),  phi(s, t) = s log(s/t) - s + t >= 0,
#     KL = K / S - psi(T / S),   psi(u) = u - 1 - log u >= 0,
# an event changing a bin from a to c adds
#     (c - a) log(c / t) + a (log1p(z) - z),  z = (c - a) / a,
# where log1p(z) - z is evaluated without cancellation (he_log1p_minus, the
# atanh series of terms.h).
# Its error is relative to KL itself, so the query stays O(1): a KL query
# that the plain sums cannot answer tries the anchored ones first, before any
# O(n_bins) recomputation.
#
# The family against the reference
# ---------------------------------
# Jeffreys (PSI), Hellinger and chi-square are sums of per-bin terms, so they
# are kept the same way: from the first query of one of them on, the anchor
# also holds (at the same expected counts t, T = sum t; bins with r_b > 0
# unless said otherwise)
#     K2 = sum_{s_b > 0} phi(t_b, s_b)            KL(Q||P) = K2 / T - psi(S / T)
#     G  = sum_{every b} (sqrt s_b - sqrt t_b)^2  Hel^2 = (G - (sqrt S - sqrt T)^2)
#                                                         / (2 sqrt(S T))
#     Z  = sum (s_b - t_b)^2 / t_b                chi2 = (T Z - (S - T)^2) / S^2
# and Jeffreys = KL(P||Q) + KL(Q||P), two non-negative parts each accurate
# relative to itself (KL(P||Q) as the KL query above). In exact arithmetic
# these are the measures of P against t / T; the relative error t_error of the
# t_b (that is, of y) moves a measure v by at most about
# t_error (2 v + 4 sqrt v + 8 t_error) (first order in t_error: the
# derivatives against y, bounded by Pinsker's and Cauchy-Schwarz's
# inequalities), a term of every error bound. An event moving a bin from a to
# c adds, with z = (c - a) / a and u_x = (x - t) / (sqrt x + sqrt t),
#     K2: (a - t) log1p(z) - a (log1p(z) - z)   (log1p(z) - z: he_log1p_minus)
#     G:  (c - a) (u_c + u_a) / (sqrt c + sqrt a)
#     Z:  (c - a) ((c - t) + (a - t)) / t
# every factor accurate relative to itself, so the drift bounds stay small
# when P is close to Q. The +inf cases are O(1) from two counts of bins:
# `unbounded` (s > 0 = r: Jeffreys, chi-square) and `missing` (r > 0 = s:
# Jeffreys). A query whose bound fails re-anchors (O(n_bins), amortised over
# many events: the drift grows by about one ulp of a term per event), and if
# even fresh sums fail (v below ~1e-9, totals out of range, references below
# the normal range) it is answered by the batch kernel (family.h) on the
# counts, cached until the state changes. Jensen-Shannon and total variation
# have no such form (their terms mix x and y inside a log or |.|): they are
# always the batch kernel on the counts, O(n_bins), cached likewise.
#
# Decay and subnormal counts: a rescale that brings a count below the normal
# range (or to 0) changes it by more than the sums can follow; the batch is
# then settled by an exact recomputation (the rescale is O(n_bins) anyway).
#
# Window: a ring buffer of the last W events (bin, weight); the event that
# falls out is subtracted. Counts are kept as double-double (hi + lo) so that
# adding and subtracting float weights does not leave residue, and each bin
# counts its events in the window so that it returns to exactly 0. A bin
# whose weights span more than a double-double holds (an add whose rounding
# error does not fit, e.g. 1e40 + 1e20 + 1) moves to an exact fixed-point
# accumulator (32-bit digits from 2**-1074 up, allocated for that bin only)
# until its sum fits again: every count is the correctly rounded sum of the
# weights in the window, whatever their range, at O(1) per event.
#
# Pseudocount c: the queries measure count + c against reference + c. The
# running sums are over s + c (`shift`; every formula above holds for them),
# the reference side is r + c; the roundings of the two sums are relative
# errors of an ulp per bin, which the bounds carry (y_error, ref_round).
# Under decay c would move with the scale g in every bin at every event, so
# there the queries take the batch kernel on the counts (O(n_bins), cached).
#
# Many features (n_features=F): one State per feature, fed the columns of an
# (m, F) batch of observations; windows and decay count observations (rows).
# Raw values (from_reference / update_values) are binned by the C core
# (binning.h) into such a batch first.
#
# Two live streams (StreamingComparison): see Pair below.
#
# Decay: counts are stored as s = c * g with a global scale g = exp(E0 + k
# lam), lam = -log1p(-d), k = events since the last rescale. An event adds
# w * g to one bin: every other count is implicitly multiplied by (1 - d).
# g is re-anchored with exp() every 64 events (so its error is bounded,
# whatever the stream length) and the state is rescaled by an exact power
# of two whenever g passes 2**32. All formulas above are scale-invariant.
cimport numpy as cnp
from cpython.pythread cimport (
    PyThread_type_lock, PyThread_allocate_lock, PyThread_free_lock,
    PyThread_acquire_lock, PyThread_release_lock, WAIT_LOCK, NOWAIT_LOCK,
)
from libc.math cimport (log, log1p, exp, fabs, fma, ldexp, frexp, nextafter, sqrt,
                        INFINITY, NAN)
from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t, INT64_MAX
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from histentropy cimport _core as core

import math
import numbers
import operator
import sys
from collections.abc import Sequence

import numpy as np

from histentropy._streaming_args import (
    _MAX_LENGTH, _as_bins, _as_event_weights, _as_events, _as_values, _check_decay,
    _check_positive_int, _feature_references, _feature_sizes, _fit_edges, _same_arrays,
    _short_repr, check_reference, edge_tables, fit_sample, omit_nan, reference_of_sample,
    values_batch)
from histentropy._validation import as_weights, check_pseudocount, log_of_base

cnp.import_array()

ctypedef fused index_t:
    int32_t
    int64_t

cdef enum:
    # Batches with at least n_bins / RECOMPUTE_FRACTION bin changes are
    # settled by an exact recomputation rather than per touched bin.
    RECOMPUTE_FRACTION = 8
    # g is recomputed with exp() every RENEW events (error bounded by RENEW ulp).
    RENEW = 64
    FORMAT_VERSION = 1
    # Measure codes of the family's result cache (family.h: up to HE_CHI_SQUARE).
    N_MEASURES = 7
    # Rows of a batch of many features applied feature by feature at a time.
    ROW_BLOCK = 1024
    # Query codes of the features' loop, besides the family's measure codes.
    Q_ENTROPY = 100
    Q_CROSS = 101
    Q_KL = 102
    # Digits of an exact window count: 32 bits each from 2**-1074, past the
    # top bit of the largest double (2**1024), with room for carries.
    EXACT_DIGITS = 68

# Accept a result from the running sums when the bound on its error is at
# most TOL times the result (the contract is 1e-10 relative).
cdef double TOL = 2e-11
# Per-unit rounding of the terms in the error bounds (a few ulp of 1).
cdef double EPS = 2.0 ** -51
# The error of sum s log s as the C core's vectorised first read sums it
# (plain sums of 64 terms per lane), in units of EPS: 64 ulp.
cdef double A_SUM_ERROR = 16.0
cdef double ULP = 2.0 ** -53
# Rescale the decay state when the scale g passes this.
cdef double G_MAX = 2.0 ** 32
# Totals above this are refused (keeps s log s and decay's s*g finite).
cdef double MAX_TOTAL = 2.0 ** 900
cdef double LN2 = 0.6931471805599453
cdef double INV_E = 0.36787944117144233
cdef double DBL_MIN = 2.2250738585072014e-308
# Bit masks of exact window counts: a 32-bit digit, a double's 52-bit fraction.
cdef uint64_t DIGIT_MASK = 0xffffffff
cdef uint64_t FRACTION_MASK = 0xfffffffffffff


ctypedef struct State:
    Py_ssize_t n
    double* s              # stored counts (counts * g under decay)
    # window (W > 0)
    Py_ssize_t W
    double* lo             # low parts of the counts
    int64_t* cnt           # events of each bin in the window
    int64_t* ring_b
    double* ring_w
    Py_ssize_t pos         # next slot of the ring
    Py_ssize_t fill        # events in the ring
    int64_t inexact        # events in the ring whose weight is not a small integer
    int64_t** exact        # per bin: NULL, or its exact accumulator (EXACT_DIGITS)
    Py_ssize_t n_exact     # bins with an exact accumulator
    # reference (NULL without one): the weights plus the pseudocount
    const double* ref
    const double* raw_ref  # the weights as given (the batch kernel's q)
    const double* logy     # log(r_b / sum r); 0 where r_b = 0
    const double* y        # r_b / sum r
    double* t              # y_b * S0: expected counts at the anchor
    double y_error         # max relative error of y_b and of the products y_b S
    double t_error         # max relative error of t_b at the anchor
    # pseudocount: added to every count (and reference weight) by the queries
    double pseudo
    double shift           # pseudo where the running sums carry it, else 0
    bint batch_only        # decay with a pseudocount: queries by the batch kernel
    double* u              # scratch of n_bins: the counts plus `shift`
    double ref_round       # largest relative rounding of a reference weight + pseudo
    # decay
    bint decay
    double lam             # -log1p(-d)
    double step            # exp(lam) = 1 / (1 - d)
    double E0              # g = exp(E0 + k * lam)
    int64_t k
    double g
    # running sums
    core.he_csum S, A, C, neg
    double s_err           # bound on the error of S since the last recompute
    double c_abs           # sum s |log y|
    double drift_a         # sum of |increments| of A since the last recompute
    double drift_c
    int64_t unbounded      # bins with s > 0 and r = 0
    int64_t missing        # bins with r > 0 and s = 0
    # anchored KL (see the header)
    bint track_k           # keep K up to date (set by the first query needing it)
    bint k_valid
    core.he_csum K, T
    double drift_k
    # anchored family sums (valid when track_f and k_valid)
    bint track_f
    core.he_csum K2, G, Z
    double drift_k2, drift_g, drift_z
    bint dirty             # a rescale moved counts by more than the sums follow
    int64_t events
    int64_t version
    # a comparison of two streams (StreamingComparison) holding this one as
    # a side: its pair sums follow each settled bin
    void* pair             # Pair*, or NULL
    int side               # 0: the current stream, 1: the reference stream
    # per-batch bookkeeping of touched bins
    bint marking
    uint8_t* touched
    double* old
    Py_ssize_t* marks
    Py_ssize_t nmarks


# Two live streams compared (StreamingComparison): per feature, the sums of
# the anchored queries over both sides' counts, x = s + c (current) and
# t = kappa (r + c) (reference, kappa = S / R at the last re-sum), kept in
# `a` (a State of no bins) so that the family's anchored queries read them:
#     a.K = sum phi(x, t), a.K2 = sum phi(t, x), a.G = sum (sqrt x - sqrt t)^2,
#     a.Z = sum (x - t)^2 / t, a.T = sum t,
# each term from the two counts of its bin (no cancellation). A settled bin
# of either side replaces its terms (pair_move): O(1) per event. With t_b
# proportional to r_b up to a rounding, t_error covers it (and the
# pseudocount's roundings of s + c and r + c).
ctypedef struct Pair:
    State* p               # the current stream
    State* q               # the reference stream
    bint valid             # the sums describe the sides (else pair_resum)
    bint usable            # the anchored sums can answer (t normal, totals > 0)
    double kappa
    State a                # S (copied from p), T, K, K2, G, Z, drifts, t_error


# ---------------------------------------------------------------------------
# Layer 1: kernels
# ---------------------------------------------------------------------------

cdef inline void touch(State* st, Py_ssize_t b) noexcept nogil:
    if not st.touched[b]:
        st.touched[b] = 1
        st.old[b] = st.s[b]
        st.marks[st.nmarks] = b
        st.nmarks += 1


cdef inline double x_log_x(double x) noexcept nogil:
    return core.he_term_plogp(x) if x > 0.0 else 0.0


cdef inline void settle_k(State* st, Py_ssize_t b, double a, double c,
                          double d, double log1p_z) noexcept nogil:
    """Move K from phi(a, t_b) to phi(c, t_b), and the family's anchored sums
    (K2, G, Z) with it when they are kept. b has r_b > 0."""
    cdef double t = st.t[b], t1, t2, l = 0.0, z, sa, sc, st_, ua, uc
    if a == 0.0:
        l = core.he_log_ratio(c, t)
        t1 = c * l
        t2 = -c
    elif c == 0.0:
        l = core.he_log_ratio(a, t)
        t1 = -(a * l)
        t2 = a
    else:
        t1 = d * core.he_log_ratio(c, t)
        t2 = a * core.he_log1p_minus(d / a, log1p_z)
    core.he_csum_add(&st.K, t1 + t2)
    st.drift_k += fabs(t1) + fabs(t2)
    if not st.track_f:
        return
    # K2 += phi(t, c) - phi(t, a) over the bins with counts
    if a == 0.0:
        t1 = core.he_divergence_term(t, 0.0, c, 0.0, -l)
        t2 = 0.0
    elif c == 0.0:
        t1 = -core.he_divergence_term(t, 0.0, a, 0.0, -l)
        t2 = 0.0
    else:
        z = d / a
        if -0.2 <= z <= 0.25:  # c near a: log1p_z = log1p(z), d exact
            t1 = (a - t) * log1p_z
            t2 = -(a * core.he_log1p_minus(z, log1p_z))
        else:
            t1 = -(t * log1p_z)
            t2 = d
    core.he_csum_add(&st.K2, t1 + t2)
    st.drift_k2 += fabs(t1) + fabs(t2)
    # G += (sqrt c - sqrt t)^2 - (sqrt a - sqrt t)^2
    sa = sqrt(a)
    sc = sqrt(c)
    st_ = sqrt(t)
    ua = (a - t) / (sa + st_)
    uc = (c - t) / (sc + st_)
    core.he_csum_add(&st.G, d * ((uc + ua) / (sc + sa)))
    st.drift_g += fabs(d) * ((fabs(uc) + fabs(ua)) / (sc + sa))
    # Z += ((c - t)^2 - (a - t)^2) / t
    ua = a - t
    uc = c - t
    core.he_csum_add(&st.Z, d * ((uc + ua) / t))
    st.drift_z += fabs(d) * ((fabs(uc) + fabs(ua)) / t)


cdef void settle_bin(State* st, Py_ssize_t b, double a, double c) noexcept nogil:
    """Move the running sums from count a to count c in bin b."""
    cdef double d, lc, la, t1, t2, log1p_z = 0.0
    # The change of S, c - a, as an exact pair (TwoSum), so S stays exact.
    cdef core.he_csum change
    change.hi = c
    change.lo = 0.0
    core.he_two_sum(&change.hi, &change.lo, -a)
    core.he_csum_merge(&st.S, &change)
    # The pair S rounds at ~2**-106 of its size: negligible unless a window
    # removes almost all of the mass (weights of very different sizes).
    st.s_err += EPS * EPS * (fabs(st.S.hi) + fabs(change.hi))
    d = change.hi
    if a == 0.0:
        t1 = core.he_term_plogp(c)
        t2 = 0.0
    elif c == 0.0:
        t1 = -core.he_term_plogp(a)
        t2 = 0.0
    else:
        lc = log(c)
        if 0.5 * a <= c <= 2.0 * a:  # d exact (Sterbenz), z = d/a small
            log1p_z = log1p(d / a)
        else:  # log1p(z) is ill-conditioned near z = -1, and z may overflow
            log1p_z = core.he_log_ratio(c, a)
        t1 = d * lc
        t2 = a * log1p_z
    core.he_csum_add(&st.A, t1 + t2)
    st.drift_a += fabs(t1) + fabs(t2)
    if a < 1.0 or c < 1.0:  # the negative part of sum s log s (error bounds)
        la = x_log_x(a) if a < 1.0 else 0.0
        lc = x_log_x(c) if c < 1.0 else 0.0
        core.he_csum_add(&st.neg, lc - la)
    if st.ref != NULL:
        if st.ref[b] == 0.0:
            st.unbounded += (c > 0.0) - (a > 0.0)
            if st.k_valid and st.track_f:  # t_b = 0: G's term is s
                core.he_csum_add(&st.G, d)
                st.drift_g += fabs(d)
        else:
            st.missing += (c == 0.0) - (a == 0.0)
            t1 = d * st.logy[b]
            core.he_csum_add(&st.C, t1)
            st.c_abs += d * fabs(st.logy[b])
            st.drift_c += fabs(t1)
            if st.k_valid:
                settle_k(st, b, a, c, d, log1p_z)


cdef void settle_marks(State* st) noexcept nogil:
    cdef Py_ssize_t j, b
    cdef double a, c
    for j in range(st.nmarks):
        b = st.marks[j]
        st.touched[b] = 0
        a = st.old[b]
        c = st.s[b]
        if a != c:
            settle_bin(st, b, a + st.shift, c + st.shift)
            if st.pair != NULL:
                pair_move(<Pair*>st.pair, st.side, b, a, c)
    st.nmarks = 0


cdef void clear_marks(State* st) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(st.nmarks):
        st.touched[st.marks[j]] = 0
    st.nmarks = 0


cdef void recompute(State* st) noexcept nogil:
    """Running sums afresh from the counts (the batch functions' first read),
    each count plus the pseudocount where the sums carry it."""
    cdef core.he_entropy_sums es
    cdef Py_ssize_t i, n = st.n
    cdef double c_abs = 0.0, x
    cdef int64_t unbounded = 0, missing = 0
    cdef const double* s = st.s
    if st.pair != NULL:  # the counts may have moved in bulk: the pair re-sums
        (<Pair*>st.pair).valid = False
    if st.shift != 0.0:
        for i in range(n):
            st.u[i] = st.s[i] + st.shift
        s = st.u
    core.he_entropy_sums_t(0, s, n, &es)  # type code 0: float64
    st.S.hi = es.total_hi
    st.S.lo = es.total_lo
    st.s_err = 0.0
    st.A.hi = es.plogp
    st.A.lo = 0.0
    st.neg.hi = 0.5 * (es.plogp - es.plogp_abs)
    st.neg.lo = 0.0
    core.he_csum_init(&st.C)
    if st.ref != NULL:
        # Compensated term by term: C's error is then a few ulp of c_abs, as
        # its bound says (plain sums of blocks of 256 terms were not).
        for i in range(n):
            x = s[i] * st.logy[i]
            core.he_csum_add(&st.C, x)
            c_abs += fabs(x)
            unbounded += (s[i] > 0.0) & (st.ref[i] == 0.0)
            missing += (s[i] == 0.0) & (st.ref[i] > 0.0)
    st.c_abs = c_abs
    st.unbounded = unbounded
    st.missing = missing
    st.drift_a = 0.0
    st.drift_c = 0.0
    if st.track_k:
        anchor_k(st)
    else:
        st.k_valid = False


cdef void anchor_k(State* st) noexcept nogil:
    """Expected counts t = y S at the current total, and K = sum phi(s, t).

    Each phi(s, t) = s log(s/t) - s + t >= 0 is the batch functions'
    second-read term (he_divergence_term: the atanh series for s near t), so
    K is accurate relative to itself. O(n_bins), one log a bin. With
    `track_f`, the family's sums K2, G and Z at the same t too (the same log,
    two square roots and a division more).
    """
    cdef Py_ssize_t i
    cdef double S = core.he_csum_value(&st.S), x, t, kb, l, u
    cdef bint fam = st.track_f
    core.he_csum_init(&st.K)
    core.he_csum_init(&st.T)
    core.he_csum_init(&st.K2)
    core.he_csum_init(&st.G)
    core.he_csum_init(&st.Z)
    st.drift_k = 0.0
    st.drift_k2 = 0.0
    st.drift_g = 0.0
    st.drift_z = 0.0
    st.k_valid = False
    if st.ref == NULL or not S > 0.0:
        return
    for i in range(st.n):
        t = st.y[i] * S
        st.t[i] = t
        x = st.s[i] + st.shift
        if st.ref[i] > 0.0:
            if not (t >= DBL_MIN and st.y[i] >= DBL_MIN):
                return  # y or t subnormal (or 0): no longer proportional to r
            core.he_csum_add_exact(&st.T, t)
            if x > 0.0:
                l = core.he_log_ratio(x, t)
                kb = core.he_divergence_term(x, 0.0, t, 0.0, l)
                if fam:
                    core.he_csum_add(&st.K2, core.he_divergence_term(t, 0.0, x, 0.0, -l))
                    u = (x - t) / (sqrt(x) + sqrt(t))
                    core.he_csum_add(&st.G, u * u)
                    u = x - t
                    core.he_csum_add(&st.Z, u * (u / t))
            else:
                kb = t
                if fam:
                    core.he_csum_add(&st.G, t)
                    core.he_csum_add(&st.Z, t)
            core.he_csum_add(&st.K, kb)
        elif fam:
            core.he_csum_add(&st.G, x)
    # t_b = y_b S (1 + delta_b): the errors of y_b and of the product, of S.
    st.t_error = st.y_error + fabs(((st.S.hi - S) + st.S.lo) / S)
    st.k_valid = True


cdef void rescale_decay(State* st) noexcept nogil:
    """Divide the stored counts by an exact power of two near g (decay only).

    The sums follow exactly where they can: S and C scale; A = sum s log s
    becomes 2**-e (A - e log 2 S), whose rounding enters the drift bound.
    """
    cdef int e
    cdef Py_ssize_t i, b
    cdef double f, shift, x
    frexp(exp(st.E0 + st.k * st.lam), &e)
    e -= 1  # g / 2**e in [1, 2)
    if e <= 0:
        return
    if st.pair != NULL:
        (<Pair*>st.pair).valid = False
    f = ldexp(1.0, -e)
    for i in range(st.n):
        x = st.s[i]
        st.s[i] = x * f
        if x > 0.0 and st.s[i] < DBL_MIN:  # inexact below the normal range
            st.dirty = True
    for i in range(st.nmarks):
        b = st.marks[i]
        x = st.old[b]
        st.old[b] = x * f
        if x > 0.0 and st.old[b] < DBL_MIN:
            st.dirty = True
    shift = e * LN2
    # The sums describe the state before the batch's touched bins settle;
    # its total is st.S, so A' = f (A - shift S) refers to that same state.
    core.he_csum_add(&st.A, -shift * core.he_csum_value(&st.S))
    st.drift_a += fabs(shift * core.he_csum_value(&st.S))
    st.A.hi *= f
    st.A.lo *= f
    st.S.hi *= f
    st.S.lo *= f
    st.s_err *= f
    st.C.hi *= f
    st.C.lo *= f
    st.c_abs *= f
    st.drift_a *= f
    st.drift_c *= f
    if st.k_valid:  # phi is homogeneous: everything anchored scales exactly
        for i in range(st.n):
            st.t[i] *= f
            if st.t[i] < DBL_MIN and st.ref[i] > 0.0:
                st.k_valid = False  # inexact below the normal range: re-anchor
        st.K.hi *= f
        st.K.lo *= f
        st.T.hi *= f
        st.T.lo *= f
        st.drift_k *= f
        st.K2.hi *= f
        st.K2.lo *= f
        st.G.hi *= f
        st.G.lo *= f
        st.Z.hi *= f
        st.Z.lo *= f
        st.drift_k2 *= f
        st.drift_g *= f
        st.drift_z *= f
    # Bins may now fall below 1; a lower bound of sum min(s log s, 0) is enough.
    st.neg.hi = -st.n * INV_E
    st.neg.lo = 0.0
    st.E0 = (st.E0 + st.k * st.lam) - shift
    st.k = 0
    st.g = exp(st.E0)


cdef inline double current_scale(State* st) noexcept nogil:
    return exp(st.E0 + st.k * st.lam) if st.decay else 1.0


cdef void normalise_decay(State* st) noexcept nogil:
    """Make the stored counts the counts themselves (g = 1), exactly resummed."""
    cdef double g = current_scale(st)
    cdef Py_ssize_t i
    if g != 1.0:
        for i in range(st.n):
            st.s[i] /= g
    st.E0 = 0.0
    st.k = 0
    st.g = 1.0
    recompute(st)


cdef void apply_plain(State* st, const index_t* bp, Py_ssize_t bs,
                      const double* wp, Py_ssize_t ws, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i, b
    cdef double* s = st.s
    cdef size_t n = <size_t>st.n
    if st.marking:
        for i in range(m):
            b = bp[i * bs]
            if <size_t>b < n:  # validated; guards against racing writers only
                touch(st, b)
                s[b] += 1.0 if wp == NULL else wp[i * ws]
    elif wp == NULL:
        for i in range(m):
            b = bp[i * bs]
            if <size_t>b < n:
                s[b] += 1.0
    else:
        for i in range(m):
            b = bp[i * bs]
            if <size_t>b < n:
                s[b] += wp[i * ws]


cdef inline bint is_exact_weight(double w) noexcept nogil:
    # Integers below 2**20: window sums of them stay exact in plain doubles.
    return w < 1048576.0 and w == <double><int64_t>w


cdef inline double two_sum(double a, double b, double* err) noexcept nogil:
    """a + b rounded, and its exact rounding error (Knuth's TwoSum)."""
    cdef double t = a + b, z = t - a
    err[0] = (a - (t - z)) + (b - z)
    return t


cdef inline bint dd_add(double* hi, double* lo, double w) noexcept nogil:
    """(hi, lo) += w as a normalised double-double; whether it is exact.

    The exact sum is t + l + e2 (two TwoSums); it fits the pair when e2 = 0.
    The pair is then renormalised as he_two_sum_normalised does (|t| >= |l|
    or t = 0: Fast2Sum is exact).
    """
    cdef double e, e2, l, t = two_sum(hi[0], w, &e)
    l = two_sum(lo[0], e, &e2)
    hi[0] = t + l
    lo[0] = l - (hi[0] - t)
    return e2 == 0.0


cdef inline void exact_add(int64_t* acc, double w) noexcept nogil:
    """acc += w exactly. w = +-m 2**(p - 1074) with a 53-bit integer m, whose
    bits land in digits k, k + 1, k + 2 (k = p / 32); carries are left in
    the digits (signed 64-bit) until exact_value."""
    cdef uint64_t bits, m, low, high
    cdef int p, k, sh
    if w == 0.0:
        return
    memcpy(&bits, &w, 8)
    p = <int>((bits >> 52) & 0x7ff)
    m = bits & FRACTION_MASK
    if p == 0:  # subnormal: m 2**-1074
        p = 1
    else:
        m |= <uint64_t>1 << 52
    p -= 1
    k = p >> 5
    sh = p & 31
    low = (m & DIGIT_MASK) << sh   # < 2**63
    high = (m >> 32) << sh          # < 2**52
    if bits >> 63:
        acc[k] -= <int64_t>(low & DIGIT_MASK)
        acc[k + 1] -= <int64_t>((low >> 32) + (high & DIGIT_MASK))
        acc[k + 2] -= <int64_t>(high >> 32)
    else:
        acc[k] += <int64_t>(low & DIGIT_MASK)
        acc[k + 1] += <int64_t>((low >> 32) + (high & DIGIT_MASK))
        acc[k + 2] += <int64_t>(high >> 32)


cdef bint exact_value(int64_t* acc, double* hi, double* lo) noexcept nogil:
    """The non-negative value of acc as hi (correctly rounded) + lo; whether
    hi + lo is exact. Propagates the carries first."""
    cdef int64_t carry = 0, v
    cdef int k, j = -1
    cdef double x1, x2 = 0.0, x3 = 0.0, h, l, e, ulp
    cdef bint rest = False
    for k in range(EXACT_DIGITS):
        v = acc[k] + carry
        acc[k] = v & <int64_t>DIGIT_MASK
        carry = v >> 32  # floor division by 2**32
        if acc[k] != 0:
            j = k
    if j < 0:
        hi[0] = 0.0
        lo[0] = 0.0
        return True
    # The top three digits (at most 96 bits) are exact in a double-double:
    # every partial error below is a multiple of the third digit's unit.
    x1 = ldexp(<double>acc[j], 32 * j - 1074)
    if j >= 1:
        x2 = ldexp(<double>acc[j - 1], 32 * j - 1106)
    if j >= 2:
        x3 = ldexp(<double>acc[j - 2], 32 * j - 1138)
    h = two_sum(x1, x2, &l)
    h = two_sum(h, x3, &e)
    hi[0] = two_sum(h, l + e, lo)
    for k in range(j - 2):
        if acc[k] != 0:
            rest = True
            break
    if rest:
        # The rest is below 2**-12 ulp(hi): it only breaks a tie that the
        # top digits rounded down.
        ulp = nextafter(hi[0], INFINITY) - hi[0]
        if lo[0] == 0.5 * ulp:
            hi[0] += ulp
            lo[0] -= ulp
    return not rest


cdef void window_add(State* st, Py_ssize_t b, double w) noexcept nogil:
    """Count of bin b += w (w < 0: an event leaving the window), exactly."""
    cdef int64_t* acc = st.exact[b]
    cdef double hi, lo
    if acc == NULL:
        hi = st.s[b]
        lo = st.lo[b]
        if dd_add(&hi, &lo, w):
            st.s[b] = hi
            st.lo[b] = lo
            return
        acc = <int64_t*>calloc(EXACT_DIGITS, sizeof(int64_t))
        if acc == NULL:  # out of memory: keep the rounded pair
            st.s[b] = hi
            st.lo[b] = lo
            return
        st.exact[b] = acc
        st.n_exact += 1
        exact_add(acc, st.s[b])
        exact_add(acc, st.lo[b])
    exact_add(acc, w)
    if exact_value(acc, &st.s[b], &st.lo[b]):  # fits a double-double again
        free_exact(st, b)


cdef inline void free_exact(State* st, Py_ssize_t b) noexcept nogil:
    if st.exact[b] != NULL:
        free(st.exact[b])
        st.exact[b] = NULL
        st.n_exact -= 1


cdef void free_all_exact(State* st) noexcept nogil:
    cdef Py_ssize_t b
    if st.exact == NULL:
        return
    for b in range(st.n):
        free_exact(st, b)


cdef void apply_window(State* st, const index_t* bp, Py_ssize_t bs,
                       const double* wp, Py_ssize_t ws, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i, b, ob
    cdef double w, ow
    cdef size_t n = <size_t>st.n
    if wp == NULL and st.inexact == 0 and st.n_exact == 0 and not st.marking:
        # Unit events into a window of integer weights: every count is an
        # exact integer, so plain adds are exact (the low parts stay 0).
        for i in range(m):
            b = bp[i * bs]
            if <size_t>b >= n:
                continue
            if st.fill == st.W:
                ob = st.ring_b[st.pos]
                st.cnt[ob] -= 1
                st.s[ob] -= st.ring_w[st.pos]
            else:
                st.fill += 1
            st.cnt[b] += 1
            st.s[b] += 1.0
            st.ring_b[st.pos] = b
            st.ring_w[st.pos] = 1.0
            st.pos += 1
            if st.pos == st.W:
                st.pos = 0
        return
    for i in range(m):
        b = bp[i * bs]
        if <size_t>b >= n:
            continue
        w = 1.0 if wp == NULL else wp[i * ws]
        if st.fill == st.W:
            ob = st.ring_b[st.pos]
            ow = st.ring_w[st.pos]
            st.inexact -= not is_exact_weight(ow)
            if st.marking:
                touch(st, ob)
            st.cnt[ob] -= 1
            if st.cnt[ob] == 0:
                st.s[ob] = 0.0
                st.lo[ob] = 0.0
                free_exact(st, ob)
            else:
                window_add(st, ob, -ow)
        else:
            st.fill += 1
        if st.marking:
            touch(st, b)
        st.cnt[b] += 1
        window_add(st, b, w)
        st.inexact += not is_exact_weight(w)
        st.ring_b[st.pos] = b
        st.ring_w[st.pos] = w
        st.pos += 1
        if st.pos == st.W:
            st.pos = 0


cdef void apply_decay(State* st, const index_t* bp, Py_ssize_t bs,
                      const double* wp, Py_ssize_t ws, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i, b
    cdef double w
    cdef size_t n = <size_t>st.n
    for i in range(m):
        b = bp[i * bs]
        if <size_t>b >= n:
            continue
        w = 1.0 if wp == NULL else wp[i * ws]
        if st.k >= 1 and st.g * st.step > G_MAX:
            rescale_decay(st)
        st.k += 1
        if st.k % RENEW == 0:
            st.g = exp(st.E0 + st.k * st.lam)
        else:
            st.g *= st.step
        if st.marking:
            touch(st, b)
        st.s[b] += w * st.g


cdef inline int64_t saturating_add(int64_t count, int64_t more) noexcept nogil:
    """count + more for non-negative event counts, saturating at INT64_MAX.

    The event count is not used in any result; histograms merged into each
    other repeatedly double it each time, and it must not wrap.
    """
    if more > INT64_MAX - count:
        return INT64_MAX
    return count + more


cdef void apply_events(State* st, const index_t* bp, Py_ssize_t bs,
                       const double* wp, Py_ssize_t ws, Py_ssize_t m) noexcept nogil:
    events_begin(st, m)
    events_apply(st, bp, bs, wp, ws, m)
    events_end(st, m)


# A batch of m events in three steps, so that a driver can apply it in parts
# (row blocks of many features): begin (small batches mark the bins they
# touch), apply each part in order, end (settle the marks, or recompute).

cdef inline void events_begin(State* st, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t changes = 2 * m if st.W > 0 else m
    st.marking = changes * RECOMPUTE_FRACTION < st.n
    st.nmarks = 0


cdef inline void events_apply(State* st, const index_t* bp, Py_ssize_t bs,
                              const double* wp, Py_ssize_t ws, Py_ssize_t m) noexcept nogil:
    if st.W > 0:
        apply_window(st, bp, bs, wp, ws, m)
    elif st.decay:
        apply_decay(st, bp, bs, wp, ws, m)
    else:
        apply_plain(st, bp, bs, wp, ws, m)


cdef void events_end(State* st, Py_ssize_t m) noexcept nogil:
    if st.marking and not st.dirty:
        settle_marks(st)
    else:
        if st.marking:  # a rescale moved counts below the normal range
            clear_marks(st)
        recompute(st)
    st.marking = False
    st.dirty = False
    st.events = saturating_add(st.events, m)
    st.version += 1


cdef Py_ssize_t first_bad_bin(const index_t* bp, Py_ssize_t bs, Py_ssize_t m,
                              Py_ssize_t n) noexcept nogil:
    """Position of the first bin outside [0, n), or -1."""
    cdef Py_ssize_t i, start = 0, stop
    cdef uint64_t bad
    while start < m:  # branch-free blocks, then find the culprit
        stop = start + 4096 if start + 4096 < m else m
        bad = 0
        for i in range(start, stop):
            bad |= <uint64_t>(<uint64_t>bp[i * bs] >= <uint64_t>n)
        if bad:
            for i in range(start, stop):
                if <uint64_t>bp[i * bs] >= <uint64_t>n:
                    return i
        start = stop
    return -1


cdef Py_ssize_t first_bad_weight(const double* wp, Py_ssize_t ws, Py_ssize_t m,
                                 double* total) noexcept nogil:
    """Position of the first weight outside [0, inf) (NaN included), or -1."""
    cdef Py_ssize_t i
    cdef double w, t = 0.0
    for i in range(m):
        w = wp[i * ws]
        if not (0.0 <= w < INFINITY):
            return i
        t += w
    total[0] = t
    return -1


# Queries: value and whether the running sums give it to within TOL.

cdef inline double total_of(State* st) noexcept nogil:
    return core.he_csum_value(&st.S)


cdef inline bint total_known(State* st, double S) noexcept nogil:
    """Whether the running total S is accurate to an ulp (else: recompute)."""
    return st.s_err <= ULP * S


cdef double entropy_fast(State* st, bint* ok) noexcept nogil:
    cdef double S = core.he_csum_value(&st.S), log_s, a, h, err
    cdef core.he_csum tot = st.S
    if not total_known(st, S):
        ok[0] = False
        return NAN
    if not S > 0.0:
        ok[0] = True
        return NAN
    log_s = core.he_csum_log(&tot)
    a = core.he_csum_value(&st.A)
    h = log_s - a / S
    err = EPS * (fabs(log_s) + (fabs(a) - 2.0 * core.he_csum_value(&st.neg)
                                + 2.0 * st.drift_a) / S)
    # Totals beyond [2**-600, 2**600] (subnormal counts) go to the batch kernel.
    ok[0] = err <= TOL * h and core.he_total_in_range(S)
    return h


cdef double cross_fast(State* st, bint* ok) noexcept nogil:
    cdef double S = core.he_csum_value(&st.S), x, err
    if not total_known(st, S):
        ok[0] = False
        return NAN
    if not S > 0.0:
        ok[0] = True
        return NAN
    if st.unbounded > 0:
        ok[0] = True
        return INFINITY
    x = -core.he_csum_value(&st.C) / S + 0.0  # + 0.0: no -0.0 for C = 0 (one bin)
    # (each log y moves by up to 2 ref_round where r + c rounded)
    err = EPS * (fabs(st.c_abs) + 2.0 * st.drift_c) / S + 2.0 * st.ref_round
    ok[0] = err <= TOL * x and core.he_total_in_range(S)
    return x


cdef double kl_fast(State* st, bint* ok) noexcept nogil:
    cdef double S = core.he_csum_value(&st.S), log_s, a, x, h, kl, err
    cdef core.he_csum tot = st.S
    if not total_known(st, S):
        ok[0] = False
        return NAN
    if not S > 0.0:
        ok[0] = True
        return NAN
    if st.unbounded > 0:
        ok[0] = True
        return INFINITY
    log_s = core.he_csum_log(&tot)
    a = core.he_csum_value(&st.A)
    x = -core.he_csum_value(&st.C) / S
    h = log_s - a / S
    kl = x - h + 0.0  # + 0.0: no -0.0
    # A from a recomputation is the vectorised read's sum (16 lanes of up to
    # 64 plain terms each, then compensated): up to A_SUM_ERROR * EPS of
    # sum |s log s|, not EPS. Jeffreys relies on this query being within TOL.
    err = EPS * (fabs(log_s) + (A_SUM_ERROR * (fabs(a) - 2.0 * core.he_csum_value(&st.neg))
                                + 2.0 * st.drift_a + 2.0 * fabs(st.c_abs)
                                + 2.0 * st.drift_c) / S) + 2.0 * st.ref_round
    ok[0] = err <= TOL * kl and core.he_total_in_range(S)
    return kl


cdef void add_into(double* s, const double* c, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        s[i] += c[i]


cdef double kl_anchored(State* st, bint* ok) noexcept nogil:
    """KL = K/S - psi(T/S) from the anchored sums (see the header)."""
    cdef double S = core.he_csum_value(&st.S), v, psi, kl, err
    if not (total_known(st, S) and S > 0.0):
        ok[0] = False
        return NAN
    v = ((st.T.hi - st.S.hi) + (st.T.lo - st.S.lo)) / S
    psi = -core.he_log1p_minus(v, log1p(v))
    kl = core.he_csum_value(&st.K) / S - psi
    # Rounding of K's terms and of the increments since the anchor, of psi,
    # and of the expected counts: K/S - psi(T/S) is the KL from t/T, and
    # relative errors delta_b <= t_error of the t_b move it by about
    # sum (y_b - x_b) delta_b + sum x_b delta_b**2 / 2
    # <= t_error sqrt(2 KL) + t_error**2 / 2 (Pinsker); in terms of the
    # computed kl, at most 2 t_error sqrt(kl) + 4 t_error**2. The absolute
    # term sends a KL below ~t_error**2 / TOL (counts proportional to the
    # reference to ~1e-10) to the batch kernel; t_error is 0 where the t_b are
    # exact (one bin), so an exact 0 stays 0.
    err = (EPS * (core.he_csum_value(&st.K) + 2.0 * st.drift_k) / S + EPS * psi
           + st.t_error * (2.0 * sqrt(kl if kl > 0.0 else 0.0) + 4.0 * st.t_error))
    ok[0] = err <= TOL * kl and core.he_total_in_range(S)
    return kl


# The family's anchored queries (see the header). Each needs track_f,
# k_valid, an accurate total S > 0 and no +inf case (the caller checks).

cdef inline double anchor_error(State* st, double v) noexcept nogil:
    """How far the t_b's relative error t_error can move a measure v >= 0 of
    P against t / T from the measure against the reference itself."""
    if not v > 0.0:
        v = 0.0
    return st.t_error * (2.0 * v + 4.0 * sqrt(v) + 8.0 * st.t_error * (1.0 + v))


cdef inline bint accepted(double v, double err, double S) noexcept nogil:
    # v < INFINITY: also false for NaN (an overflowed or spoilt sum)
    return err <= TOL * v and v < INFINITY and core.he_total_in_range(S)


cdef double reverse_kl_anchored(State* st, bint* ok) noexcept nogil:
    """KL(Q||P) = K2/T - psi(S/T)."""
    cdef double S = core.he_csum_value(&st.S), T = core.he_csum_value(&st.T)
    cdef double v, psi, k2 = core.he_csum_value(&st.K2), kl, err
    v = ((st.S.hi - st.T.hi) + (st.S.lo - st.T.lo)) / T
    psi = -core.he_log1p_minus(v, log1p(v))
    kl = k2 / T - psi
    err = EPS * ((fabs(k2) + 2.0 * st.drift_k2) / T + psi) + anchor_error(st, kl)
    ok[0] = accepted(kl, err, S)
    return kl


cdef double hellinger2_anchored(State* st, bint* ok) noexcept nogil:
    """Hellinger^2 = (G - (sqrt S - sqrt T)^2) / (2 sqrt(S T))."""
    cdef double S = core.he_csum_value(&st.S), T = core.he_csum_value(&st.T)
    cdef double g = core.he_csum_value(&st.G), delta, gap, den, h2, err
    delta = (st.S.hi - st.T.hi) + (st.S.lo - st.T.lo)
    gap = delta / (sqrt(S) + sqrt(T))
    gap *= gap
    den = 2.0 * sqrt(S) * sqrt(T)
    h2 = (g - gap) / den
    err = EPS * (fabs(g) + 2.0 * st.drift_g + gap) / den + anchor_error(st, h2)
    ok[0] = accepted(h2, err, S)
    return h2


cdef double chi_square_anchored(State* st, bint* ok) noexcept nogil:
    """chi2 = (T Z - (S - T)^2) / S^2 = (T/S) (Z/S) - ((S - T)/S)^2."""
    cdef double S = core.he_csum_value(&st.S), T = core.he_csum_value(&st.T)
    cdef double z = core.he_csum_value(&st.Z), delta, main, gap, chi, err
    delta = ((st.S.hi - st.T.hi) + (st.S.lo - st.T.lo)) / S
    gap = delta * delta
    main = (T / S) * (z / S)
    chi = main - gap
    err = (EPS * ((T / S) * ((fabs(z) + 2.0 * st.drift_z) / S) + gap)
           + anchor_error(st, chi))
    ok[0] = accepted(chi, err, S)
    return chi


# The comparison of two live streams (see Pair).

cdef inline void pair_terms(double x, double t, double* k1, double* k2, double* g,
                            double* z) noexcept nogil:
    """One bin's terms of the pair sums: phi(x, t), phi(t, x), (sqrt x -
    sqrt t)^2, (x - t)^2 / t; the +inf ones (a side without mass in the
    bin) are 0 here and counted by the caller."""
    cdef double l, u
    if x > 0.0 and t > 0.0:
        l = core.he_log_ratio(x, t)
        k1[0] = core.he_divergence_term(x, 0.0, t, 0.0, l)
        k2[0] = core.he_divergence_term(t, 0.0, x, 0.0, -l)
        u = (x - t) / (sqrt(x) + sqrt(t))
        g[0] = u * u
        u = x - t
        z[0] = u * (u / t)
    elif t > 0.0:  # phi(t, 0) = +inf: `missing`
        k1[0] = t
        k2[0] = 0.0
        g[0] = t
        z[0] = t
    else:  # phi(x, 0) and x^2 / 0 = +inf: `unbounded`
        k1[0] = 0.0
        k2[0] = x
        g[0] = x
        z[0] = 0.0


cdef inline void pair_add(Pair* P, double x, double t, double sign) noexcept nogil:
    cdef double k1, k2, g, z
    pair_terms(x, t, &k1, &k2, &g, &z)
    core.he_csum_add(&P.a.K, sign * k1)
    core.he_csum_add(&P.a.K2, sign * k2)
    core.he_csum_add(&P.a.G, sign * g)
    core.he_csum_add(&P.a.Z, sign * z)
    P.a.drift_k += k1
    P.a.drift_k2 += k2
    P.a.drift_g += g
    P.a.drift_z += z
    P.a.unbounded += <int64_t>sign * ((x > 0.0) & (t == 0.0))
    P.a.missing += <int64_t>sign * ((x == 0.0) & (t > 0.0))


cdef void pair_resum(Pair* P) noexcept nogil:
    """The pair sums afresh from both sides' counts, at kappa = S / R."""
    cdef Py_ssize_t b
    cdef double S = core.he_csum_value(&P.p.S), R = core.he_csum_value(&P.q.S)
    cdef double sh = P.p.shift, r, t
    core.he_csum_init(&P.a.K)
    core.he_csum_init(&P.a.K2)
    core.he_csum_init(&P.a.G)
    core.he_csum_init(&P.a.Z)
    core.he_csum_init(&P.a.T)
    P.a.unbounded = 0
    P.a.missing = 0
    P.usable = S > 0.0 and R > 0.0 and S < INFINITY and R < INFINITY
    P.kappa = S / R if P.usable else 1.0
    for b in range(P.p.n):
        r = P.q.s[b] + sh
        t = P.kappa * r
        if r > 0.0 and t < DBL_MIN:
            P.usable = False  # below the normal range: no longer proportional
        pair_add(P, P.p.s[b] + sh, t, 1.0)
        core.he_csum_add_exact(&P.a.T, t)
    # fresh sums: no increments yet
    P.a.drift_k = 0.0
    P.a.drift_k2 = 0.0
    P.a.drift_g = 0.0
    P.a.drift_z = 0.0
    # t = kappa r rounds (an ulp); with a pseudocount so do r + c and s + c.
    P.a.t_error = ULP * (3.0 if sh != 0.0 else 1.0)
    P.a.k_valid = True
    P.a.track_f = True
    P.valid = True


cdef void pair_move(Pair* P, int side, Py_ssize_t b, double a, double c) noexcept nogil:
    """Bin b of one side moved from a to c (stored counts): its terms."""
    cdef double sh = P.p.shift, x0, x1, t0, t1
    if not P.valid:
        return
    if side == 0:
        x0 = a + sh
        x1 = c + sh
        t0 = P.kappa * (P.q.s[b] + sh)
        t1 = t0
    else:
        x0 = P.p.s[b] + sh
        x1 = x0
        t0 = P.kappa * (a + sh)
        t1 = P.kappa * (c + sh)
        core.he_csum_add_exact(&P.a.T, t1)
        core.he_csum_add_exact(&P.a.T, -t0)
        if c + sh > 0.0 and t1 < DBL_MIN:
            P.usable = False
    pair_add(P, x0, t0, -1.0)
    pair_add(P, x1, t1, 1.0)


cdef double pair_query(Pair* P, int measure, bint* ok) noexcept nogil:
    """KL, Jeffreys, Hellinger (its square) or chi-square of the two sides
    from the pair sums; ok: within the bound (else the caller re-sums or
    takes the batch kernel)."""
    cdef double S = core.he_csum_value(&P.p.S), R = core.he_csum_value(&P.q.S), v
    cdef bint ok2
    ok[0] = False
    if not (total_known(P.p, S) and total_known(P.q, R)):
        return NAN
    if not (S > 0.0 and R > 0.0):
        ok[0] = True
        return NAN
    if not P.valid:
        pair_resum(P)
    if P.a.unbounded > 0 and measure != core.HE_HELLINGER:
        ok[0] = True
        return INFINITY
    if P.a.missing > 0 and measure == core.HE_JEFFREYS:
        ok[0] = True
        return INFINITY
    if not P.usable:
        return NAN
    P.a.S = P.p.S
    P.a.s_err = P.p.s_err
    if measure == core.HE_KL_DIVERGENCE:
        return kl_anchored(&P.a, ok)
    if measure == core.HE_JEFFREYS:
        v = kl_anchored(&P.a, ok)
        v += reverse_kl_anchored(&P.a, &ok2)
        ok[0] = ok[0] and ok2
        return v
    if measure == core.HE_HELLINGER:
        return hellinger2_anchored(&P.a, ok)
    return chi_square_anchored(&P.a, ok)


cdef double pair_batch(Pair* P, int measure, double* scratch) noexcept nogil:
    """`measure` by the batch kernel (family.h) on the two sides' counts:
    O(n_bins). Under decay the counts are first brought to scale 1."""
    cdef core.he_params params
    cdef double v = NAN, gp = current_scale(P.p), gq = current_scale(P.q)
    cdef const double* ps = P.p.s
    cdef const double* qs = P.q.s
    cdef Py_ssize_t b, n = P.p.n
    params.alpha = 1.0
    params.pseudocount = P.p.pseudo
    if gp != 1.0 or gq != 1.0:
        for b in range(n):
            scratch[b] = P.p.s[b] / gp
            scratch[n + b] = P.q.s[b] / gq
        ps = scratch
        qs = scratch + n
    core.he_family_slice_t(0, measure, &params, ps, 1,
                           NULL if measure == core.HE_ENTROPY else qs, 1, n, 0, False, &v)
    return v


cdef double pair_value(Pair* P, int measure, double* scratch) noexcept nogil:
    """One measure of a pair of streams, within TOL of the batch kernel: the
    pair sums (re-summed once if their bound fails), else the batch kernel."""
    cdef bint ok = False
    cdef double v = NAN
    if not (P.p.batch_only or P.q.batch_only) and (
            measure == core.HE_KL_DIVERGENCE or measure == core.HE_JEFFREYS
                               or measure == core.HE_HELLINGER
                               or measure == core.HE_CHI_SQUARE):
        v = pair_query(P, measure, &ok)
        if not ok:
            if not (total_known(P.p, core.he_csum_value(&P.p.S))
                    and total_known(P.q, core.he_csum_value(&P.q.S))):
                recompute(P.p)
                recompute(P.q)
            if not P.valid or P.a.drift_k > 0.0 or P.a.drift_k2 > 0.0 \
                    or P.a.drift_g > 0.0 or P.a.drift_z > 0.0:
                pair_resum(P)
                v = pair_query(P, measure, &ok)
        if ok and measure == core.HE_HELLINGER and v == v:
            v = sqrt(v if v < 1.0 else 1.0) if v > 0.0 else 0.0
    if not ok:
        v = pair_batch(P, measure, scratch)
    return v


cdef inline void acquire(PyThread_type_lock lock):
    if not PyThread_acquire_lock(lock, NOWAIT_LOCK):
        with nogil:
            PyThread_acquire_lock(lock, WAIT_LOCK)


# ---------------------------------------------------------------------------
# Layers 2 and 3: the class
# ---------------------------------------------------------------------------

def _decomposition_type():
    from histentropy._api import Decomposition
    return Decomposition


cdef class StreamingHistogram:
    """A histogram fed by a stream of events, with O(1) entropy and divergences.

    Counts arrive as bin indices (optionally weighted); at any moment
    measures of the current distribution P (against a fixed `reference` Q
    for all but the entropy) are answered -- equal to the batch functions
    applied to `counts` (and `reference`) to within 1e-10 relative, however
    long the stream:

    - O(1) per query, from running sums: `entropy`, `cross_entropy`,
      `kl_divergence`, `decompose`, `jeffreys_divergence` (alias
      `population_stability_index`), `hellinger_distance`,
      `chi_square_divergence`;
    - O(n_bins) per query, by the batch kernel on the counts (cached until
      the next update): `js_divergence`, `js_distance`, `total_variation`.

    Every update is O(1) per event.

    Parameters
    ----------
    n_bins : int
        Number of bins (positive).
    reference : array_like, optional
        Non-negative finite weights of length `n_bins`, normalised internally,
        against which every query but `entropy` measures the current
        histogram. Without it those methods raise ValueError.
    window : int, optional
        Keep only the last `window` events (events, not update calls): older
        events are subtracted as new ones arrive. Memory O(window + n_bins).
    decay : float, optional
        Exponential forgetting: before each event every count is multiplied
        by ``1 - decay``; ``0 < decay < 1``. Still O(1) per event.

    Raises
    ------
    ValueError
        Non-positive `n_bins` or `window` (or beyond ``sys.maxsize // 8``),
        `decay` outside (0, 1) (huge integers included), both `window` and
        `decay`, or a bad `reference` (wrong length, negative, non-finite or
        all-zero weights).
    TypeError
        Non-integer `n_bins` or `window`, non-real `decay` or `reference`.

    Notes
    -----
    With S = sum c, A = sum c log c and C = sum c log y (y the normalised
    reference), H = log S - A/S, H(P, Q) = -C/S and KL = H(P, Q) - H. An event
    moving a bin from a to c changes A by (c - a) log c + a log1p((c - a)/a)
    (no cancellation); the sums are compensated, large batches recompute them
    exactly from the counts (vectorised, O(n_bins)), and every query checks a
    bound on its own rounding error: when the terms cancel too much it
    recomputes the sums exactly. KL of counts close to the reference (KL much
    below 1e-3, as for a stream drawn from the reference) is taken from a
    second, anchored sum of non-negative terms s log(s/t) - s + t with
    t = y S, accurate relative to KL itself; it is kept from the first query
    that needs it on (large batches then cost one more log per bin). Only
    where even that cannot meet the bound (all mass in one bin, totals
    outside [2**-600, 2**600]) does a query fall back to the batch kernels:
    O(n_bins), cached until the next update.

    Jeffreys (KL(P||Q) + KL(Q||P)), Hellinger and chi-square keep, from the
    first query of one of them on, anchored sums of non-negative per-bin
    terms at the same expected counts t = y S: t log(t/s) - t + s,
    (sqrt s - sqrt t)^2 and (s - t)^2 / t, updated per event and accurate
    relative to the measure, with the same error bounds and fallbacks (a
    measure below about 1e-9 goes to the batch kernel). Their +inf cases
    (counts where the reference is 0; for Jeffreys also reference weight
    where the counts are 0) are counts of bins, O(1). Jensen-Shannon and
    total variation have no such sums and run the batch kernel on the
    counts.

    A window keeps each count as a double-double and the number of its
    events, so float weights leave no residue and emptied bins are exactly 0;
    a bin whose weights span more than a double-double holds (1e40, 1e20 and
    1, say) is summed exactly in fixed point until they leave, so `counts`
    are the correctly rounded sums of the weights in the window.

    Decay keeps a global scale g (counts are stored as c * g, an event adds
    w * g), renewed with exp() every 64 events and reset by an exact power of
    two when it passes 2**32, so each event is O(1) and nothing overflows or
    underflows. The total mass must stay below 2**900 (about 8e270).

    Threads: `update` releases the GIL. One histogram is not meant to be fed
    from several threads at once (the order of events would be arbitrary),
    but doing so is safe: every method holds an internal lock, so concurrent
    calls are serialised and never corrupt the state or crash. Use one
    histogram per thread and `merge` them for parallel ingestion.

    Examples
    --------
    >>> import numpy as np, histentropy
    >>> h = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
    >>> h.update([0, 1, 2, 3, 0, 1])
    >>> round(h.entropy(base=2), 6), h.total
    (1.918296, 6.0)
    >>> round(h.kl_divergence(base=2), 6)
    0.081704
    >>> round(h.population_stability_index(), 6), round(h.js_distance(base=2), 6)
    (0.115525, 0.143947)
    >>> w = histentropy.StreamingHistogram(3, window=2)
    >>> w.update([0, 1, 2])
    >>> w.counts
    array([0., 1., 1.])
    """
    cdef State st
    cdef PyThread_type_lock _lock
    cdef Py_ssize_t _n                 # bins (one feature)
    cdef object _n_bins                # as given: an int, or a tuple of ints (ragged)
    cdef object _window, _decay, _pseudocount
    cdef object _s, _lo, _cnt, _ring_b, _ring_w, _ref, _ref_eff, _logy, _y, _t, _u
    cdef object _touched, _old, _marks
    cdef int64_t _cached_version_h, _cached_version_kl
    cdef double _cached_h, _cached_kl
    # the family's results, by measure code (family.h), for one version
    cdef int64_t _cached_version_f[N_MEASURES]
    cdef double _cached_f[N_MEASURES]
    # many features (n_features given): one histogram per feature, and their
    # states and bin counts for the drivers' loops
    cdef object _features, _n_features, _feature_bins
    cdef State** _states
    # raw values (from_reference): the edges of each feature and how to bin
    cdef object _edges, _binning, _nan_policy

    def __cinit__(self, *args, **kwargs):
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError("cannot allocate a lock")
        memset(&self.st, 0, sizeof(State))
        self._states = NULL

    def __dealloc__(self):
        if self.st.exact != NULL:
            free_all_exact(&self.st)
            free(self.st.exact)
            self.st.exact = NULL
        if self._states != NULL:
            free(self._states)
            self._states = NULL
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    def __init__(self, n_bins, *, reference=None, window=None, decay=None,
                 n_features=None, pseudocount=0.0):
        cdef cnp.ndarray ref, logy
        cdef StreamingHistogram sub
        cdef int i
        if self._features is not None or self.st.n != 0:
            raise RuntimeError("a StreamingHistogram is initialised once")
        window = _check_positive_int(window, "window", True)
        decay = _check_decay(decay)
        if window is not None and decay is not None:
            raise ValueError("window and decay are mutually exclusive; give at most one")
        c = check_pseudocount(pseudocount)
        self._window = window
        self._decay = decay
        self._pseudocount = c
        self._cached_version_h = -1
        self._cached_version_kl = -1
        for i in range(N_MEASURES):
            self._cached_version_f[i] = -1
        self.st.g = 1.0
        if n_features is not None:
            F = _check_positive_int(n_features, "n_features", False)
            sizes = _feature_sizes(n_bins, F)
            refs = _feature_references(reference, sizes)
            features = [StreamingHistogram(sizes[f], reference=refs[f], window=window,
                                           decay=decay, pseudocount=c)
                        for f in range(F)]
            self._states = <State**>calloc(F, sizeof(State*))
            if self._states == NULL:
                raise MemoryError("cannot allocate the features' table")
            for i in range(F):
                sub = features[i]
                self._states[i] = &sub.st
            self._features = features
            self._n_features = F
            self._feature_bins = np.array(sizes, np.int64)
            # as given: one int for every feature, or a tuple of them
            self._n_bins = (tuple(sizes) if isinstance(n_bins, (Sequence, np.ndarray))
                            else sizes[0])
            self._ref = None if reference is None else (
                refs if isinstance(self._n_bins, tuple) else np.stack(refs))
            return
        if not isinstance(n_bins, (numbers.Integral, np.integer)) and isinstance(
                n_bins, (Sequence, np.ndarray)):
            raise TypeError("n_bins must be a positive integer; a sequence of bin counts "
                            "needs n_features")
        n = _check_positive_int(n_bins, "n_bins", False)
        if reference is not None:
            reference = check_reference(reference, n)
        self._n = n
        self._n_bins = n
        self._feature_bins = np.array([n], np.int64)
        self._states = <State**>calloc(1, sizeof(State*))
        if self._states == NULL:
            raise MemoryError("cannot allocate the features' table")
        self._states[0] = &self.st
        self._s = np.zeros(n, np.float64)
        self._touched = np.zeros(n, np.uint8)
        self._old = np.zeros(n, np.float64)
        self._marks = np.zeros(n, np.intp)
        self.st.n = n
        self.st.s = <double*>cnp.PyArray_DATA(self._s)
        self.st.touched = <uint8_t*>cnp.PyArray_DATA(self._touched)
        self.st.old = <double*>cnp.PyArray_DATA(self._old)
        self.st.marks = <Py_ssize_t*>cnp.PyArray_DATA(self._marks)
        if window is not None:
            self._lo = np.zeros(n, np.float64)
            self._cnt = np.zeros(n, np.int64)
            self._ring_b = np.zeros(window, np.int64)
            self._ring_w = np.zeros(window, np.float64)
            self.st.W = window
            self.st.lo = <double*>cnp.PyArray_DATA(self._lo)
            self.st.cnt = <int64_t*>cnp.PyArray_DATA(self._cnt)
            self.st.ring_b = <int64_t*>cnp.PyArray_DATA(self._ring_b)
            self.st.ring_w = <double*>cnp.PyArray_DATA(self._ring_w)
            self.st.exact = <int64_t**>calloc(n, sizeof(int64_t*))
            if self.st.exact == NULL:
                raise MemoryError("cannot allocate the window's bin table")
        if decay is not None:
            self.st.decay = True
            self.st.lam = -math.log1p(-decay)
            self.st.step = math.exp(self.st.lam)
        # The pseudocount: the running sums are over count + c (without decay,
        # whose scale would move it in every bin at every event), and the
        # reference side is r + c; their roundings are relative errors of an
        # ulp in the bins, within the bounds once y_error carries one ulp.
        self.st.pseudo = c
        if c > 0.0:
            self._u = np.zeros(n, np.float64)
            self.st.u = <double*>cnp.PyArray_DATA(self._u)
            if decay is None:
                self.st.shift = c
            else:
                self.st.batch_only = True
        if reference is not None:
            self._ref = reference
            self._ref.flags.writeable = False
            self._ref_eff = reference + c if c > 0.0 else reference
            if c > 0.0:
                self.st.ref_round = float(np.max(np.abs((self._ref_eff - reference) - c)
                                                 / self._ref_eff))
            self._logy, self._y, self.st.y_error = _log_normalised(self._ref_eff)
            if c > 0.0:
                self.st.y_error += ULP
            self._t = np.zeros(n, np.float64)
            self.st.y = <const double*>cnp.PyArray_DATA(self._y)
            self.st.t = <double*>cnp.PyArray_DATA(self._t)
            ref = self._ref_eff
            logy = self._logy
            self.st.ref = <const double*>cnp.PyArray_DATA(ref)
            self.st.logy = <const double*>cnp.PyArray_DATA(logy)
            ref = self._ref
            self.st.raw_ref = <const double*>cnp.PyArray_DATA(ref)
        # the empty histogram: every bin with reference weight lacks counts
        # (none with a pseudocount: every count is at least c)
        self.st.missing = 0 if reference is None or c > 0.0 else np.count_nonzero(reference)
        if c > 0.0:
            with nogil:
                recompute(&self.st)

    # -- properties ---------------------------------------------------------

    @property
    def n_bins(self):
        """Bins per feature: an int, or a tuple of ints (features of
        different sizes)."""
        return self._n_bins

    @property
    def n_features(self):
        """The number of features, or None for a histogram of one."""
        return self._n_features

    @property
    def window(self):
        """The window length in events (observations, with features), or None."""
        return self._window

    @property
    def decay(self):
        """The decay rate per event (observation, with features), or None."""
        return self._decay

    @property
    def pseudocount(self):
        """The pseudocount the queries add to every bin of both sides."""
        return self._pseudocount

    @property
    def reference(self):
        """The reference weights as given (float64, read-only), or None.

        With features: an (n_features, n_bins) array, or a list of arrays
        when the features' sizes differ.
        """
        return self._ref

    @property
    def edges(self):
        """The bin edges of `from_reference` (an array, or a list of one per
        feature); None for a histogram of bin indices."""
        if self._edges is None:
            return None
        return self._edges if self._features is not None else self._edges[0]

    @property
    def counts(self):
        """Read-only float64 counts of the current histogram.

        A view that follows later updates, except with `decay`, where it is a
        snapshot (the stored values carry a running scale). With features:
        an (n_features, n_bins) array (a list of arrays when their sizes
        differ), always a snapshot.
        """
        if self._features is not None:
            acquire(self._lock)
            try:
                rows = [f.counts for f in self._features]
            finally:
                PyThread_release_lock(self._lock)
            if isinstance(self._n_bins, tuple):
                return [np.array(r) for r in rows]
            return np.stack(rows)
        acquire(self._lock)
        try:
            if self.st.decay:
                if self.st.k != 0 or self.st.E0 != 0.0:
                    with nogil:
                        normalise_decay(&self.st)
                    self.st.version += 1
                out = self._s.copy()
            else:
                out = self._s.view()
        finally:
            PyThread_release_lock(self._lock)
        out.flags.writeable = False
        return out

    @property
    def total(self):
        """The current total mass, sum of `counts` (float; with features, an
        array of one per feature)."""
        cdef core.he_csum S
        cdef double p, e
        if self._features is not None:
            acquire(self._lock)
            try:
                return np.array([f.total for f in self._features], np.float64)
            finally:
                PyThread_release_lock(self._lock)
        acquire(self._lock)
        if not total_known(&self.st, total_of(&self.st)):
            with nogil:
                recompute(&self.st)
        S = self.st.S
        if self.st.shift != 0.0:  # the sums' total carries n_bins * shift
            p = self.st.n * self.st.shift
            e = fma(<double>self.st.n, self.st.shift, -p)
            core.he_csum_add_exact(&S, -p)
            core.he_csum_add_exact(&S, -e)
        t = core.he_csum_value(&S) / current_scale(&self.st)
        PyThread_release_lock(self._lock)
        return t

    # -- updates ------------------------------------------------------------

    def update(self, bins, weights=None):
        """Count a batch of events.

        Parameters
        ----------
        bins : array_like of int
            Bin index of each event, in [0, n_bins). A 1-D sequence (or one
            integer; object arrays of Python integers too); int32 and int64
            arrays are read in place.
        weights : array_like, optional
            Non-negative finite weight of each event (default 1), as long as
            `bins`.

        Raises
        ------
        ValueError
            A bin outside [0, n_bins), a negative or non-finite weight,
            `weights` of the wrong length, or a total above 2**900. The whole
            batch is rejected: the histogram is left exactly as it was.
        TypeError
            Non-integer `bins` or non-real `weights`.

        Notes
        -----
        O(1) amortised per event, the GIL released. With `window` each event
        enters the window (and the oldest leaves); with `decay` every count
        is multiplied by ``1 - decay`` before each event.
        """
        if self._features is not None:
            arr, original = _as_events(bins, self._n_features)
            w = None if weights is None else _as_event_weights(weights, arr.shape[0])
            self._rows(arr, w, original, True)
            return
        arr, original = _as_bins(bins)
        w = None if weights is None else _as_event_weights(weights, arr.shape[0])
        self._rows(arr.reshape(-1, 1), w, original, True)

    def add_counts(self, counts):
        """Add a dense vector of counts, one per bin.

        Equivalent to ``update(np.flatnonzero(counts), counts[nonzero])``: one
        weighted event per non-zero bin, in bin order (this is what a window
        holds and what decay counts).

        Parameters
        ----------
        counts : array_like
            `n_bins` non-negative finite weights.

        Raises
        ------
        ValueError
            Wrong length, negative or non-finite counts (nothing is added).
        TypeError
            Non-real counts.
        """
        if self._features is not None:
            rows = list(counts) if not (isinstance(counts, np.ndarray) and counts.ndim != 2) \
                else None
            if rows is None or len(rows) != self._n_features:
                raise ValueError(f"counts must have one row per feature (n_features="
                                 f"{self._n_features})")
            checked = [(<StreamingHistogram>f)._checked_counts(r)
                       for f, r in zip(self._features, rows)]
            acquire(self._lock)
            try:
                for f, c in zip(self._features, checked):
                    f.add_counts(c)
            finally:
                PyThread_release_lock(self._lock)
            return
        c = self._checked_counts(counts)
        idx = np.flatnonzero(c)
        self._rows(idx.astype(np.int64, copy=False).reshape(-1, 1),
                   np.ascontiguousarray(c[idx]), idx, True)

    def _checked_counts(self, counts):
        c = as_weights(counts, "counts")
        if c.ndim != 1 or c.shape[0] != self.n_bins:
            raise ValueError(f"counts must be a 1-D array of n_bins={self.n_bins} "
                             f"weights; got shape {c.shape}")
        c = c.astype(np.float64, copy=False)
        if not np.all(np.isfinite(c)):
            raise ValueError("counts must hold finite weights; got a NaN or infinite value")
        if np.any(c < 0):
            raise ValueError("counts must hold non-negative weights; got a negative value")
        return c

    # -- raw values: bins fitted on a reference sample ------------------------

    @classmethod
    def from_reference(cls, sample, *, n_bins=10, binning="quantile", window=None,
                       decay=None, nan_policy="raise", pseudocount=0.0):
        """A histogram of raw values, its bins and reference fitted on a sample.

        Each feature's bins come from `sample` (its quantiles, or equal widths
        over its range, or edges given), with two bins more for values below
        the first edge and above the last; the reference is `sample` binned
        the same way. Then `update_values` bins live values in the kernel and
        counts them, and every query compares them with the sample.

        Parameters
        ----------
        sample : array_like of float, shape (m,) or (m, n_features)
            Reference values: one feature, or one column per feature (the
            histogram then has `n_features`).
        n_bins : int, default 10
            Inner bins per feature for the named binnings (ties of quantiles
            merge, so a feature may get fewer).
        binning : {"quantile", "uniform"} or array_like, default "quantile"
            "quantile": edges at the sample's quantiles ``np.quantile(col,
            np.linspace(0, 1, n_bins + 1))``, equal ones merged; "uniform":
            ``n_bins`` bins of equal width over the sample's range; or the
            edges themselves, strictly increasing and finite (one array for
            every feature, or a sequence of one per feature). A feature whose
            values are all equal (v) gets the edges [v, v]: one inner bin.
        window, decay : optional
            As in `StreamingHistogram`, per observation.
        nan_policy : {"raise", "omit"}, default "raise"
            NaN values, in `sample` and in `update_values`: "raise" rejects
            them (ValueError; a live batch is then not counted at all);
            "omit" skips each NaN value: its feature counts nothing for it,
            but the row is still an observation of that feature, for its
            window and decay (windows and decay count rows).
        pseudocount : float, default 0.0
            Added to every bin of both sides when a query normalises (see
            `StreamingHistogram`): a live value beyond the sample's range
            lands in an outside bin that the reference never filled, whose
            PSI, KL and chi-square are otherwise +inf.

        Returns
        -------
        StreamingHistogram
            With ``len(edges) + 1`` bins per feature: bin 0 below ``edges[0]``,
            bin k for ``edges[k-1] <= x < edges[k]`` (the last inner bin
            closed: it holds ``edges[-1]``), bin ``len(edges)`` above
            ``edges[-1]``. ``-inf`` and ``+inf`` go to the outside bins.

        Raises
        ------
        ValueError
            An empty sample or a feature without values, infinite values, NaN
            under nan_policy="raise", a bad `n_bins`, `binning` or
            `nan_policy`, bad edges (not 1-D, fewer than two, not finite, not
            strictly increasing, or not one per feature).
        TypeError
            A sample that is not real numbers.

        Examples
        --------
        >>> import numpy as np, histentropy
        >>> rng = np.random.default_rng(0)
        >>> train = rng.normal(size=(10_000, 3))
        >>> h = histentropy.StreamingHistogram.from_reference(train, n_bins=10,
        ...                                                   pseudocount=0.5)
        >>> h.update_values(rng.normal(size=(5_000, 3)) + [0, 0, 1])
        >>> psi = h.population_stability_index()
        >>> [bool(v > 0.2) for v in psi]
        [False, False, True]
        """
        X, single, name, edges = fit_sample(sample, n_bins, binning, nan_policy)
        h = cls.__new__(cls)
        h._set_edges(edges, name, nan_policy)
        n_bins, reference = reference_of_sample((<StreamingHistogram>h)._bin(X)[0], edges)
        h.__init__(n_bins, reference=reference[0] if single else reference, window=window,
                   decay=decay, n_features=None if single else X.shape[1],
                   pseudocount=pseudocount)
        return h

    def _set_edges(self, edges, name, nan_policy):
        self._edges, self._binning = edge_tables(edges, name)
        self._nan_policy = nan_policy

    cdef object _rows(self, events, weights, original, bint check_bins):
        """A batch of observations: (m, n_features) bins, or (m, 1) for one
        feature (weights one per row, or one per value)."""
        cdef const int64_t* nb = <const int64_t*>cnp.PyArray_DATA(self._feature_bins)
        single = self._features is None
        if events.dtype == np.int32:
            _apply_batch[int32_t](self._lock, self._states, NULL, nb, NULL, single,
                                  events, weights, original, check_bins)
        else:
            _apply_batch[int64_t](self._lock, self._states, NULL, nb, NULL, single,
                                  events, weights, original, check_bins)

    cdef object _bin(self, cnp.ndarray x):
        """Bins of the (m, F) float64 values x, by the edges (binning.h), -1
        for NaN; and the position (row * F + feature) of the first NaN, or -1."""
        cdef Py_ssize_t m = x.shape[0], F = x.shape[1], first_nan
        cdef Py_ssize_t rs = x.strides[0] // 8, cs = x.strides[1] // 8
        cdef cnp.ndarray out = np.empty((m, F), np.int32)
        cdef cnp.ndarray table = self._binning[1], L = self._binning[2], inv = self._binning[3]
        cdef const double* xp = <const double*>cnp.PyArray_DATA(x)
        with nogil:
            first_nan = core.he_bin_values(
                xp, rs, cs, m, F, <const double* const*>cnp.PyArray_DATA(table),
                <const int32_t*>cnp.PyArray_DATA(L), <const double*>cnp.PyArray_DATA(inv),
                <int32_t*>cnp.PyArray_DATA(out))
        return out, first_nan

    def update_values(self, x, weights=None):
        """Bin a batch of raw values by the fitted edges and count them.

        Parameters
        ----------
        x : array_like of float, shape (m,) or (m, n_features)
            One value per observation (and feature). Binned in the kernel:
            a branch-free binary search over the edges, or arithmetic for
            uniform ones; values beyond the edges go to the outside bins.
        weights : array_like, optional
            Non-negative finite weight of each observation (default 1).

        Raises
        ------
        ValueError
            A histogram not made by `from_reference`, `x` of the wrong shape,
            NaN under nan_policy="raise", or bad weights: nothing is counted.
        TypeError
            `x` that is not real numbers.
        """
        if self._edges is None:
            raise ValueError("update_values needs bin edges: make the histogram with "
                             "StreamingHistogram.from_reference")
        values = values_batch(x, self._n_features)
        if values.shape[0] == 0:
            return
        bins, i = self._bin(values)
        w = None if weights is None else _as_event_weights(weights, bins.shape[0])
        if i >= 0:
            w = omit_nan(bins, w, i, self._nan_policy, self._n_features)
        self._rows(bins, w, bins, False)

    def merge(self, other):
        """Add the state of `other` into this histogram, in place.

        Without window or decay the result equals one histogram fed both
        streams. With `decay` the current counts add. With `window` the
        events in `other`'s window are replayed after this one's, oldest
        first, so the result holds the last `window` of the two.

        Raises
        ------
        TypeError
            `other` is not a StreamingHistogram.
        ValueError
            Different n_bins, reference, window or decay.
        """
        cdef StreamingHistogram o
        if not isinstance(other, StreamingHistogram):
            raise TypeError(f"other must be a StreamingHistogram; got {type(other).__name__}")
        o = other
        if o._n_features != self._n_features:
            raise ValueError(f"cannot merge histograms of {self._n_features} and "
                             f"{o._n_features} features")
        if o.n_bins != self.n_bins:
            raise ValueError(f"cannot merge histograms of {self.n_bins} and {o.n_bins} bins")
        if not _same_arrays(self._ref, o._ref):
            raise ValueError("cannot merge histograms with different references")
        if not _same_arrays(self._edges, o._edges):
            raise ValueError("cannot merge histograms with different bin edges")
        if self._window != o._window:
            raise ValueError(f"cannot merge histograms with different windows "
                             f"({self._window} and {o._window})")
        if self._decay != o._decay:
            raise ValueError(f"cannot merge histograms with different decay "
                             f"({self._decay} and {o._decay})")
        if self._pseudocount != o._pseudocount:
            raise ValueError(f"cannot merge histograms with different pseudocounts "
                             f"({self._pseudocount} and {o._pseudocount})")
        if self._features is not None:
            acquire(self._lock)
            try:
                for f, g in zip(self._features, o._features):
                    f.merge(g)
            finally:
                PyThread_release_lock(self._lock)
            return
        # Snapshot `other` under its own lock, then apply under ours: never
        # both locks at once (a.merge(b) racing b.merge(a) cannot deadlock).
        acquire(o._lock)
        try:
            if o.st.W > 0:
                order = (np.arange(o.st.fill) + (o.st.pos - o.st.fill)) % o.st.W
                bins = o._ring_b[order]
                weights = o._ring_w[order]
            else:
                counts = o._s / current_scale(&o.st)
            events = o.st.events
        finally:
            PyThread_release_lock(o._lock)
        if self.st.W > 0:
            if bins.shape[0]:
                self._rows(bins.reshape(-1, 1), weights, bins, True)
                self.st.events = saturating_add(self.st.events,
                                                events - bins.shape[0])
            return
        cdef cnp.ndarray cv = np.ascontiguousarray(counts, dtype=np.float64)
        cdef const double* cp = <const double*>cnp.PyArray_DATA(cv)
        acquire(self._lock)
        try:
            if not (self.st_total() + float(np.sum(counts)) <= MAX_TOTAL):
                raise ValueError("the total mass would exceed 2**900 (about 8e270)")
            with nogil:
                if self.st.decay:
                    normalise_decay(&self.st)
                add_into(self.st.s, cp, self.st.n)
                recompute(&self.st)
            self.st.events = saturating_add(self.st.events, events)
            self.st.version += 1
        finally:
            PyThread_release_lock(self._lock)

    cdef double st_total(self):
        return total_of(&self.st) / current_scale(&self.st)

    def reset(self):
        """Forget every event (the settings and reference stay)."""
        acquire(self._lock)
        try:
            if self._features is not None:
                for f in self._features:
                    f.reset()
                return
            self._s[:] = 0.0
            if self.st.W > 0:
                self._lo[:] = 0.0
                self._cnt[:] = 0
                self.st.pos = 0
                self.st.fill = 0
                self.st.inexact = 0
                free_all_exact(&self.st)
            self.st.E0 = 0.0
            self.st.k = 0
            self.st.g = 1.0
            self.st.events = 0
            with nogil:
                recompute(&self.st)
            self.st.version += 1
        finally:
            PyThread_release_lock(self._lock)

    # -- queries ------------------------------------------------------------

    cdef double _entropy(self) noexcept nogil:
        cdef bint ok = False
        cdef double h = NAN
        if self._cached_version_h == self.st.version:
            return self._cached_h
        if not self.st.batch_only:
            h = entropy_fast(&self.st, &ok)
            if not ok and (self.st.drift_a > 0.0 or self.st.s_err > 0.0):
                recompute(&self.st)
                h = entropy_fast(&self.st, &ok)
        if not ok:
            if self.st.pseudo > 0.0:
                h = self._batch(core.HE_ENTROPY)
            else:
                core.he_entropy_slice_t(0, self.st.s, self.st.n, 1, False, &h)
            self._cached_h = h
            self._cached_version_h = self.st.version
        return h

    cdef double _kl(self) noexcept nogil:
        cdef bint ok = False
        cdef double kl = NAN, h
        if self._cached_version_kl == self.st.version:
            return self._cached_kl
        if not self.st.batch_only:
            kl = self._kl_of_sums(&ok)
        if not ok:
            if self.st.pseudo > 0.0:
                kl = self._batch(core.HE_KL_DIVERGENCE)
            else:
                core.he_divergence_slice_t(0, self.st.s, 1, self.st.ref, 1, self.st.n,
                                           False, True, &h, &kl)
                self._cached_h = h
                self._cached_version_h = self.st.version
            self._cached_kl = kl
            self._cached_version_kl = self.st.version
        return kl

    cdef double _kl_of_sums(self, bint* ok_out) noexcept nogil:
        """KL from the running sums, or from the anchored ones (kept from the
        first query that needs them on); ok_out: within the bound."""
        cdef bint ok
        cdef double kl = kl_fast(&self.st, &ok)
        if not ok and self.st.k_valid:
            # Near the reference: the anchored sums, before any O(n_bins) work
            # (a recomputation would not help kl_fast there).
            kl = kl_anchored(&self.st, &ok)
        if not ok and (self.st.drift_a > 0.0 or self.st.drift_c > 0.0
                       or self.st.s_err > 0.0):
            recompute(&self.st)
            kl = kl_fast(&self.st, &ok)
        if not ok:
            if not self.st.k_valid:
                self.st.track_k = True
                anchor_k(&self.st)
            if self.st.k_valid:
                kl = kl_anchored(&self.st, &ok)
                if not ok and self.st.drift_k > 0.0:
                    anchor_k(&self.st)
                    kl = kl_anchored(&self.st, &ok)
        ok_out[0] = ok
        return kl

    cdef double _cross(self) noexcept nogil:
        cdef bint ok = False
        cdef double x = NAN
        if not self.st.batch_only:
            x = cross_fast(&self.st, &ok)
            if not ok and (self.st.drift_c > 0.0 or self.st.s_err > 0.0):
                recompute(&self.st)
                x = cross_fast(&self.st, &ok)
        if not ok:
            x = self._entropy() + self._kl()
        return x

    cdef double _query(self, int what) noexcept nogil:
        """One query by its code: Q_ENTROPY, Q_CROSS, Q_KL or a family measure."""
        if what == Q_ENTROPY:
            return self._entropy()
        if what == Q_CROSS:
            return self._cross()
        if what == Q_KL:
            return self._kl()
        return self._family(what)

    cdef object _each(self, int what, base):
        """A query of every feature, as a float64 array."""
        cdef Py_ssize_t f, F = self._n_features
        cdef cnp.ndarray out = np.empty(F, np.float64)
        cdef double* o = <double*>cnp.PyArray_DATA(out)
        cdef double lb = 1.0
        cdef list features = self._features
        if base is not None:
            lb = _log_base(base)
        acquire(self._lock)
        try:
            for f in range(F):
                o[f] = (<StreamingHistogram>features[f])._query(what) / lb
        finally:
            PyThread_release_lock(self._lock)
        return out

    cdef _need_reference(self, name):
        if self._ref is None:
            raise ValueError(f"{name} needs a reference; this histogram was made "
                             "with reference=None")

    def entropy(self, base=None):
        """Shannon entropy of the current counts, O(1).

        Equals ``histentropy.entropy(h.counts, base=base)`` to within 1e-10
        relative; NaN while the histogram is empty.

        Parameters
        ----------
        base : float, optional
            Base of the logarithm: None (default) for nats, 2 for bits.

        Returns
        -------
        float
        """
        cdef double h, lb = 1.0
        if self._features is not None:
            return self._each(Q_ENTROPY, base)
        if base is not None:
            lb = _log_base(base)
        acquire(self._lock)
        h = self._entropy()
        PyThread_release_lock(self._lock)
        return h / lb

    def cross_entropy(self, base=None):
        """Cross entropy H(P, Q) of the counts against `reference`, O(1).

        Equals ``histentropy.cross_entropy(h.counts, reference)`` to within
        1e-10 relative; +inf when a bin with counts has zero reference weight.

        Raises
        ------
        ValueError
            The histogram has no reference.
        """
        cdef double x, lb = 1.0
        self._need_reference("cross_entropy")
        if self._features is not None:
            return self._each(Q_CROSS, base)
        if base is not None:
            lb = _log_base(base)
        acquire(self._lock)
        x = self._cross()
        PyThread_release_lock(self._lock)
        return x / lb

    def kl_divergence(self, base=None):
        """KL divergence D_KL(P || Q) of the counts from `reference`, O(1).

        Equals ``histentropy.kl_divergence(h.counts, reference)`` to within
        1e-10 relative; never negative; +inf when a bin with counts has zero
        reference weight.

        Raises
        ------
        ValueError
            The histogram has no reference.
        """
        cdef double kl, lb = 1.0
        self._need_reference("kl_divergence")
        if self._features is not None:
            return self._each(Q_KL, base)
        if base is not None:
            lb = _log_base(base)
        acquire(self._lock)
        kl = self._kl()
        PyThread_release_lock(self._lock)
        return kl / lb

    def decompose(self, base=None):
        """``Decomposition(cross_entropy, entropy, kl_divergence)``, O(1).

        Raises
        ------
        ValueError
            The histogram has no reference.
        """
        cdef double h, kl, lb = 1.0
        self._need_reference("decompose")
        if self._features is not None:
            kls = self._each(Q_KL, base)
            hs = self._each(Q_ENTROPY, base)
            return _Decomposition()(hs + kls, hs, kls)
        if base is not None:
            lb = _log_base(base)
        acquire(self._lock)
        kl = self._kl()
        h = self._entropy()
        PyThread_release_lock(self._lock)
        return _Decomposition()((h + kl) / lb, h / lb, kl / lb)

    # -- the family against the reference -------------------------------------

    cdef double _batch(self, int measure) noexcept nogil:
        """`measure` by the batch functions' kernel (family.h) on the counts
        and the reference (none for the entropy), with the pseudocount:
        O(n_bins). Under decay with a pseudocount the counts are first
        brought to scale 1 (the pseudocount adds to both sides as counts)."""
        cdef core.he_params params
        cdef double v = NAN, g = current_scale(&self.st)
        cdef const double* s = self.st.s
        cdef Py_ssize_t i
        params.alpha = 1.0
        params.pseudocount = self.st.pseudo
        if self.st.pseudo > 0.0 and g != 1.0:
            for i in range(self.st.n):
                self.st.u[i] = self.st.s[i] / g
            s = self.st.u
        core.he_family_slice_t(0, measure, &params, s, 1,
                               NULL if measure == core.HE_ENTROPY else self.st.raw_ref, 1,
                               self.st.n, 0, False, &v)
        return v

    cdef double _anchored(self, int measure, bint* ok) noexcept nogil:
        """`measure` from the anchored sums (the caller has excluded the empty
        histogram and the +inf cases); ok: within the bound."""
        cdef double kl
        ok[0] = False
        if measure == core.HE_JEFFREYS:
            kl = self._kl()  # KL(P||Q): its own accuracy control
            if not (self.st.track_f and self.st.k_valid):
                return NAN
            return kl + reverse_kl_anchored(&self.st, ok)
        if not (self.st.track_f and self.st.k_valid):
            return NAN
        if measure == core.HE_HELLINGER:
            return hellinger2_anchored(&self.st, ok)
        return chi_square_anchored(&self.st, ok)

    cdef double _family(self, int measure) noexcept nogil:
        """`measure` of the counts against the reference, cached by version.

        Jeffreys, Hellinger (its square here) and chi-square from the anchored
        sums, O(1); re-anchored when their bound fails (O(n_bins)), the batch
        kernel when even fresh sums fail. The others: the batch kernel.
        """
        cdef State* st = &self.st
        cdef bint ok = False
        cdef double v = NAN, S, drift
        if self._cached_version_f[measure] == st.version:
            return self._cached_f[measure]
        if st.batch_only:
            pass  # the batch kernel below
        elif measure == core.HE_JEFFREYS or measure == core.HE_HELLINGER \
                or measure == core.HE_CHI_SQUARE:
            S = total_of(st)
            if not total_known(st, S):
                recompute(st)
                S = total_of(st)
            if not S > 0.0:
                v = NAN
                ok = True
            elif st.unbounded > 0 and measure != core.HE_HELLINGER:
                v = INFINITY
                ok = True
            elif st.missing > 0 and measure == core.HE_JEFFREYS:
                v = INFINITY
                ok = True
            else:
                v = self._anchored(measure, &ok)
                drift = (st.drift_k2 if measure == core.HE_JEFFREYS else
                         st.drift_g if measure == core.HE_HELLINGER else st.drift_z)
                if not ok and (not (st.track_f and st.k_valid) or drift > 0.0):
                    st.track_k = True
                    st.track_f = True
                    anchor_k(st)
                    v = self._anchored(measure, &ok)
            if ok and measure == core.HE_HELLINGER and v == v:
                v = sqrt(v if v < 1.0 else 1.0) if v > 0.0 else 0.0
        if not ok:
            v = self._batch(measure)
        self._cached_f[measure] = v
        self._cached_version_f[measure] = st.version
        return v

    cdef object _family_query(self, int measure, name, base):
        cdef double v, lb = 1.0
        self._need_reference(name)
        if self._features is not None:
            return self._each(measure, base)
        if base is not None:
            lb = _log_base(base)
        acquire(self._lock)
        v = self._family(measure)
        PyThread_release_lock(self._lock)
        return v / lb

    def jeffreys_divergence(self, base=None):
        """Jeffreys divergence (population stability index) of the counts
        against `reference`, O(1).

        J(P, Q) = KL(P || Q) + KL(Q || P) = sum_i (x_i - y_i) log(x_i / y_i).
        Equals ``histentropy.jeffreys_divergence(h.counts, reference)`` to
        within 1e-10 relative; +inf where a bin holds mass on one side only
        (counts > 0 = reference, or reference > 0 = counts); NaN while the
        histogram is empty. ``population_stability_index`` is this same
        method.

        Parameters
        ----------
        base : float, optional
            Base of the logarithm: None (default) for nats, 2 for bits.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            The histogram has no reference, or a bad `base`.

        Notes
        -----
        O(1) per query and per event: KL(P || Q) as `kl_divergence`, and
        KL(Q || P) = K2/T - psi(S/T) from an anchored sum of non-negative
        terms t log(t/s) - t + s (t = y S0, the expected counts at an anchor),
        kept up to date per event from the first query on. The +inf cases are
        two counts of bins. A query whose error bound fails re-anchors
        (O(n_bins), rarely), and a divergence below about 1e-9 is answered by
        the batch kernel on the counts (O(n_bins), cached until the next
        update).

        Examples
        --------
        >>> import histentropy
        >>> h = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
        >>> h.update([0, 1, 2, 3, 0, 1])
        >>> round(h.population_stability_index(), 6)
        0.115525
        >>> h2 = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
        >>> h2.update([0, 1, 2])  # bin 3 has reference weight but no counts
        >>> h2.jeffreys_divergence()
        inf
        """
        return self._family_query(core.HE_JEFFREYS, "jeffreys_divergence", base)

    population_stability_index = jeffreys_divergence

    def hellinger_distance(self):
        """Hellinger distance of the counts from `reference`, O(1).

        H(P, Q) = sqrt(1 - sum_i sqrt(x_i y_i)), in [0, 1]. Equals
        ``histentropy.hellinger_distance(h.counts, reference)`` to within
        1e-10 relative; always finite; NaN while the histogram is empty.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            The histogram has no reference.

        Notes
        -----
        O(1) per query and per event: H^2 = (G - (sqrt S - sqrt T)^2) /
        (2 sqrt(S T)) from the anchored sum G = sum (sqrt s - sqrt t)^2 of
        non-negative terms (t = y S0, the expected counts at an anchor). A
        query whose error bound fails re-anchors (O(n_bins), rarely), and a
        distance below about 5e-5 is answered by the batch kernel on the
        counts (O(n_bins), cached until the next update).

        Examples
        --------
        >>> import histentropy
        >>> h = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
        >>> h.update([0, 1, 2, 3, 0, 1])
        >>> round(h.hellinger_distance(), 6)
        0.120006
        """
        return self._family_query(core.HE_HELLINGER, "hellinger_distance", None)

    def chi_square_divergence(self):
        """Pearson chi-square divergence of the counts from `reference`, O(1).

        chi2(P || Q) = sum_i (x_i - y_i)^2 / y_i. Equals
        ``histentropy.chi_square_divergence(h.counts, reference)`` to within
        1e-10 relative; +inf when a bin with counts has zero reference weight;
        NaN while the histogram is empty.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            The histogram has no reference.

        Notes
        -----
        O(1) per query and per event: chi2 = (T Z - (S - T)^2) / S^2 from the
        anchored sum Z = sum (s - t)^2 / t of non-negative terms (t = y S0,
        the expected counts at an anchor). A query whose error bound fails
        re-anchors (O(n_bins), rarely), and a divergence below about 1e-9 (or
        one so large that Z overflows) is answered by the batch kernel on the
        counts (O(n_bins), cached until the next update).

        Examples
        --------
        >>> import histentropy
        >>> h = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
        >>> h.update([0, 1, 2, 3, 0, 1])
        >>> round(h.chi_square_divergence(), 6)
        0.111111
        >>> h2 = histentropy.StreamingHistogram(2, reference=[1, 0])
        >>> h2.update([0, 1])
        >>> h2.chi_square_divergence()
        inf
        """
        return self._family_query(core.HE_CHI_SQUARE, "chi_square_divergence", None)

    def js_divergence(self, base=None):
        """Jensen-Shannon divergence of the counts and `reference`, O(n_bins).

        JS(P, Q) = (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2, in
        [0, log 2] ([0, 1] with ``base=2``). Equals
        ``histentropy.js_divergence(h.counts, reference)`` (it is computed by
        the same kernel); always finite; NaN while the histogram is empty.

        Parameters
        ----------
        base : float, optional
            Base of the logarithm: None (default) for nats, 2 for bits.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            The histogram has no reference, or a bad `base`.

        Notes
        -----
        O(n_bins) per query (no running sum: its terms mix the counts and the
        reference inside a log), cached until the next update; updates stay
        O(1).

        Examples
        --------
        >>> import histentropy
        >>> h = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
        >>> h.update([0, 1, 2, 3, 0, 1])
        >>> round(h.js_divergence(base=2), 6)
        0.020721
        """
        return self._family_query(core.HE_JS_DIVERGENCE, "js_divergence", base)

    def js_distance(self, base=None):
        """Jensen-Shannon distance of the counts and `reference`: the square
        root of `js_divergence`, O(n_bins).

        Equals ``histentropy.js_distance(h.counts, reference)`` (the quantity
        of ``scipy.spatial.distance.jensenshannon``); in [0, sqrt(log 2)],
        [0, 1] with ``base=2``; NaN while the histogram is empty.

        Parameters
        ----------
        base : float, optional
            Base of the logarithm: None (default) for nats, 2 for bits.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            The histogram has no reference, or a bad `base`.

        Notes
        -----
        O(n_bins) per query, as `js_divergence` (cached until the next
        update).

        Examples
        --------
        >>> import histentropy
        >>> h = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
        >>> h.update([0, 1, 2, 3, 0, 1])
        >>> round(h.js_distance(base=2), 6)
        0.143947
        """
        v = self._family_query(core.HE_JS_DIVERGENCE, "js_distance", base)
        return np.sqrt(v) if self._features is not None else math.sqrt(v)

    def total_variation(self):
        """Total variation distance of the counts and `reference`, O(n_bins).

        TV(P, Q) = sum_i |x_i - y_i| / 2, in [0, 1]. Equals
        ``histentropy.total_variation(h.counts, reference)`` (it is computed
        by the same kernel); NaN while the histogram is empty.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            The histogram has no reference.

        Notes
        -----
        O(n_bins) per query (no running sum: its terms are |x - y|), cached
        until the next update; updates stay O(1).

        Examples
        --------
        >>> import histentropy
        >>> h = histentropy.StreamingHistogram(4, reference=[1, 1, 1, 1])
        >>> h.update([0, 1, 2, 3, 0, 1])
        >>> round(h.total_variation(), 6)
        0.166667
        """
        return self._family_query(core.HE_TOTAL_VARIATION, "total_variation", None)

    # -- copies and pickles ----------------------------------------------------

    def __getstate__(self):
        if self._features is not None:
            acquire(self._lock)
            try:
                return {"format": FORMAT_VERSION,
                        "features": [f.__getstate__() for f in self._features]}
            finally:
                PyThread_release_lock(self._lock)
        acquire(self._lock)
        try:
            st = self.st
            state = {
                "format": FORMAT_VERSION,
                "counts": self._s.copy(),
                "E0": st.E0, "k": st.k, "g": st.g,
                "S": (st.S.hi, st.S.lo), "A": (st.A.hi, st.A.lo),
                "C": (st.C.hi, st.C.lo), "neg": (st.neg.hi, st.neg.lo),
                "c_abs": st.c_abs, "drift_a": st.drift_a, "drift_c": st.drift_c,
                "s_err": st.s_err,
                "unbounded": st.unbounded, "events": st.events,
                "track_k": st.track_k, "k_valid": st.k_valid,
                "K": (st.K.hi, st.K.lo), "T": (st.T.hi, st.T.lo),
                "drift_k": st.drift_k, "t_error": st.t_error,
                "missing": st.missing, "track_f": st.track_f,
                "K2": (st.K2.hi, st.K2.lo), "G": (st.G.hi, st.G.lo),
                "Z": (st.Z.hi, st.Z.lo), "drift_k2": st.drift_k2,
                "drift_g": st.drift_g, "drift_z": st.drift_z,
                "t": None if self._t is None else self._t.copy(),
            }
            if st.W > 0:
                state.update(lo=self._lo.copy(), cnt=self._cnt.copy(),
                             ring_b=self._ring_b.copy(), ring_w=self._ring_w.copy(),
                             pos=st.pos, fill=st.fill, inexact=st.inexact,
                             exact_bins=np.array([b for b in range(st.n)
                                                  if st.exact[b] != NULL], np.int64))
        finally:
            PyThread_release_lock(self._lock)
        return state

    def __setstate__(self, state):
        if state.get("format") != FORMAT_VERSION:
            raise ValueError("unsupported StreamingHistogram state")
        if self._features is not None:
            if len(state.get("features", ())) != self._n_features:
                raise ValueError("unsupported StreamingHistogram state")
            acquire(self._lock)
            try:
                for f, sub in zip(self._features, state["features"]):
                    f.__setstate__(sub)
            finally:
                PyThread_release_lock(self._lock)
            return
        acquire(self._lock)
        try:
            self._s[:] = state["counts"]
            self.st.E0 = state["E0"]
            self.st.k = state["k"]
            self.st.g = state["g"]
            self.st.S.hi, self.st.S.lo = state["S"]
            self.st.A.hi, self.st.A.lo = state["A"]
            self.st.C.hi, self.st.C.lo = state["C"]
            self.st.neg.hi, self.st.neg.lo = state["neg"]
            self.st.c_abs = state["c_abs"]
            self.st.drift_a = state["drift_a"]
            self.st.drift_c = state["drift_c"]
            self.st.s_err = state.get("s_err", 0.0)
            self.st.unbounded = state["unbounded"]
            self.st.events = state["events"]
            self.st.track_k = state["track_k"]
            self.st.k_valid = state["k_valid"]
            self.st.K.hi, self.st.K.lo = state["K"]
            self.st.T.hi, self.st.T.lo = state["T"]
            self.st.drift_k = state["drift_k"]
            self.st.t_error = state.get("t_error", EPS)
            # The family's sums (absent from states of before them: not kept)
            self.st.track_f = state.get("track_f", False)
            self.st.K2.hi, self.st.K2.lo = state.get("K2", (0.0, 0.0))
            self.st.G.hi, self.st.G.lo = state.get("G", (0.0, 0.0))
            self.st.Z.hi, self.st.Z.lo = state.get("Z", (0.0, 0.0))
            self.st.drift_k2 = state.get("drift_k2", 0.0)
            self.st.drift_g = state.get("drift_g", 0.0)
            self.st.drift_z = state.get("drift_z", 0.0)
            if "missing" in state:
                self.st.missing = state["missing"]
            elif self._ref is not None:
                self.st.missing = np.count_nonzero((self._ref > 0) & (self._s == 0))
            if self._t is not None:
                self._t[:] = state["t"]
            if self.st.W > 0:
                self._lo[:] = state["lo"]
                self._cnt[:] = state["cnt"]
                self._ring_b[:] = state["ring_b"]
                self._ring_w[:] = state["ring_w"]
                self.st.pos = state["pos"]
                self.st.fill = state["fill"]
                self.st.inexact = state["inexact"]
                self._restore_exact(state.get("exact_bins", ()))
            self.st.version += 1
        finally:
            PyThread_release_lock(self._lock)

    cdef _restore_exact(self, exact_bins):
        """The exact accumulators of `exact_bins`, summed afresh from the ring."""
        cdef Py_ssize_t i, slot, b
        cdef int64_t* acc
        cdef double hi, lo
        for b in exact_bins:
            if not 0 <= b < self.st.n:
                raise ValueError("unsupported StreamingHistogram state")
        free_all_exact(&self.st)
        for b in exact_bins:
            if self.st.exact[b] == NULL:
                acc = <int64_t*>calloc(EXACT_DIGITS, sizeof(int64_t))
                if acc == NULL:
                    raise MemoryError("cannot allocate an exact window count")
                self.st.exact[b] = acc
                self.st.n_exact += 1
        if self.st.n_exact == 0:
            return
        for i in range(self.st.fill):
            slot = (self.st.pos - self.st.fill + i + self.st.W) % self.st.W
            acc = self.st.exact[self.st.ring_b[slot]]
            if acc != NULL:
                exact_add(acc, self.st.ring_w[slot])
        for b in exact_bins:
            exact_value(self.st.exact[b], &hi, &lo)  # carries only: the counts are kept

    def __reduce__(self):
        config = {"n_bins": self._n_bins, "reference": self._ref, "window": self._window,
                  "decay": self._decay, "n_features": self._n_features,
                  "pseudocount": self._pseudocount, "edges": self._edges,
                  "binning": self._binning, "nan_policy": self._nan_policy}
        return (_restore_config, (config,), self.__getstate__())

    def __repr__(self):
        parts = [f"n_bins={self.n_bins}"]
        if self._features is not None:
            parts.append(f"n_features={self._n_features}")
        if self._ref is not None:
            parts.append("reference=...")
        if self._window is not None:
            parts.append(f"window={self._window}")
        if self._decay is not None:
            parts.append(f"decay={self._decay}")
        if self._pseudocount:
            parts.append(f"pseudocount={self._pseudocount}")
        total = self.total
        total = (f"{total:.6g}" if self._features is None else
                 f"{float(np.min(total)):.6g} .. {float(np.max(total)):.6g}")
        return f"StreamingHistogram({', '.join(parts)}) with total {total}"



cdef Py_ssize_t first_bad_event(const index_t* bp, Py_ssize_t rs, Py_ssize_t cs,
                                Py_ssize_t m, Py_ssize_t F,
                                const int64_t* n) noexcept nogil:
    """Position (row * F + feature) of the first bin outside [0, n[feature]), or -1."""
    cdef Py_ssize_t i, f
    cdef uint64_t bad
    if F == 1:
        return first_bad_bin(bp, rs, m, n[0])
    for i in range(m):
        bad = 0
        for f in range(F):
            bad |= <uint64_t>(<uint64_t>bp[i * rs + f * cs] >= <uint64_t>n[f])
        if bad:
            for f in range(F):
                if <uint64_t>bp[i * rs + f * cs] >= <uint64_t>n[f]:
                    return i * F + f
    return -1


cdef int apply_rows(State** sts, Py_ssize_t F, const index_t* bp, Py_ssize_t rs,
                    Py_ssize_t cs, const double* wp, Py_ssize_t ws, Py_ssize_t wcs,
                    Py_ssize_t m) noexcept nogil:
    """A batch of m observations of F features: row i holds observation i's
    bin in each feature, weighted by wp[i * ws + f * wcs] (wcs = 0: one
    weight a row; NULL: 1).

    A batch that each feature would settle by plain adds and a recomputation
    (no window or decay, and as many events as 1/8 of its bins) is read once,
    row by row; any other goes feature by feature in blocks of ROW_BLOCK rows
    (events_begin, events_apply per block, events_end).
    Returns -1 if the pointer table cannot be allocated (nothing applied).
    """
    cdef Py_ssize_t i, f, b
    cdef State* st
    cdef double w
    cdef const index_t* row
    cdef double** s
    cdef size_t* n
    cdef Py_ssize_t i0, mm
    if F == 1:
        apply_events(sts[0], bp, rs, wp, ws, m)
        return 0
    for f in range(F):
        st = sts[f]
        if st.W > 0 or st.decay or m * RECOMPUTE_FRACTION < st.n:
            # Feature by feature, in blocks of rows: a block's rows stay in
            # the cache (and its pages in the TLB) while every feature reads
            # its column of them.
            for f in range(F):
                events_begin(sts[f], m)
            i0 = 0
            while i0 < m:
                mm = min(<Py_ssize_t>ROW_BLOCK, m - i0)
                for f in range(F):
                    events_apply(sts[f], bp + i0 * rs + f * cs, rs,
                                 NULL if wp == NULL else wp + i0 * ws + f * wcs, ws, mm)
                i0 += mm
            for f in range(F):
                events_end(sts[f], m)
            return 0
    s = <double**>malloc(F * sizeof(double*))
    n = <size_t*>malloc(F * sizeof(size_t))
    if s == NULL or n == NULL:
        free(s)
        free(n)
        return -1
    for f in range(F):
        s[f] = sts[f].s
        n[f] = <size_t>sts[f].n
    for i in range(m):
        w = 1.0 if wp == NULL else wp[i * ws]
        row = bp + i * rs
        for f in range(F):
            b = row[f * cs]
            if <size_t>b < n[f]:
                s[f][b] += w if wcs == 0 else wp[i * ws + f * wcs]
    free(s)
    free(n)
    for f in range(F):
        st = sts[f]
        recompute(st)
        st.events = saturating_add(st.events, m)
        st.version += 1
    return 0


cdef object _apply_batch(PyThread_type_lock lock, State** cur, State** ref,
                         const int64_t* nb, bint* weighted, bint single,
                         const index_t[:, :] events, object weights, object original,
                         bint check_bins):
    """Validate a whole batch of observations of F features (F = 1: one
    feature, `single`), then apply it: to the states `cur`, or with `ref`
    (reference_window="previous") through apply_previous, its leaving events
    into `ref` (`weighted`: whether any event so far had a weight). GIL
    released, under `lock`.

    weights: None, one per row (m,), or one per value (m, F) (update_values).
    """
    cdef Py_ssize_t m = events.shape[0], F = events.shape[1], f
    cdef Py_ssize_t rs = events.strides[0] // <Py_ssize_t>sizeof(index_t)
    cdef Py_ssize_t cs = events.strides[1] // <Py_ssize_t>sizeof(index_t)
    cdef const index_t* bp = &events[0, 0] if m > 0 else NULL
    cdef const double[:] wv
    cdef const double[:, ::1] wv2
    cdef const double* wp = NULL
    cdef Py_ssize_t ws = 0, wcs = 0, bad_bin = -1, bad_w = -1
    cdef double batch_total
    cdef int error = 0
    if m == 0:
        return
    if weights is not None and weights.ndim == 2:
        wv2 = np.ascontiguousarray(weights)
        wp = &wv2[0, 0]
        ws = F
        wcs = 1
    elif weights is not None:
        wv = weights
        wp = &wv[0]
        ws = wv.strides[0] // <Py_ssize_t>sizeof(double)
    acquire(lock)
    try:
        with nogil:
            if check_bins:
                bad_bin = first_bad_event(bp, rs, cs, m, F, nb)
            if bad_bin < 0:
                if wcs:  # every value's: their sum bounds each feature's
                    bad_w = first_bad_weight(wp, 1, m * F, &batch_total)
                elif wp != NULL:
                    bad_w = first_bad_weight(wp, ws, m, &batch_total)
                else:
                    batch_total = <double>m
            if bad_bin < 0 and bad_w < 0:
                for f in range(F):
                    if not (total_of(cur[f]) / current_scale(cur[f])
                            + batch_total <= MAX_TOTAL):
                        error = 1
                if not error and ref != NULL:
                    weighted[0] = weighted[0] or wp != NULL
                    apply_previous(cur, ref, F, bp, rs, cs, wp, ws, m, weighted[0])
                elif not error:
                    error = 2 * (apply_rows(cur, F, bp, rs, cs, wp, ws, wcs, m) != 0)
    finally:
        PyThread_release_lock(lock)
    if bad_bin >= 0:
        f = bad_bin % F
        value = original[bad_bin // F] if single else original[bad_bin // F, f]
        where = f"position {bad_bin // F}" if single else f"row {bad_bin // F}, feature {f}"
        raise ValueError(f"{'bins' if single else 'events'} must lie in [0, n_bins) = "
                         f"[0, {nb[f]}); got {_short_repr(int(value))} at {where}")
    if bad_w >= 0:
        raise ValueError(f"weights must be non-negative and finite; got "
                         f"{float(weights[bad_w])!r} at position {bad_w}")
    if error == 1:
        raise ValueError("the total mass would exceed 2**900 (about 8e270); "
                         "rescale the weights")
    if error == 2:
        raise MemoryError("cannot allocate the features' table")

def _restore(n_bins, reference, window, decay):
    return StreamingHistogram(n_bins, reference=reference, window=window, decay=decay)


def _restore_config(config):
    h = StreamingHistogram(config["n_bins"], reference=config["reference"],
                           window=config["window"], decay=config["decay"],
                           n_features=config["n_features"],
                           pseudocount=config["pseudocount"])
    if config["edges"] is not None:
        h._set_edges(config["edges"], config["binning"], config["nan_policy"])
    return h


cdef class StreamingComparison:
    """Two live streams of events compared in O(1): drift of the current
    stream against a reference stream (or against its own previous window).

    `update` feeds the current stream P, `update_reference` the reference
    stream Q; every query measures P against Q, equal to the batch function
    on ``counts`` and ``reference_counts`` (with `pseudocount`) to within
    1e-10 relative, however long the streams run:

    - O(1) per query (per feature): `entropy` (of P), `cross_entropy`,
      `kl_divergence`, `decompose`, `jeffreys_divergence` (alias
      `population_stability_index`), `hellinger_distance`,
      `chi_square_divergence`;
    - O(n_bins) per query: `js_divergence`, `js_distance`,
      `total_variation` (no running sum: their terms mix both sides inside
      a log or an absolute value).

    Every update is O(1) per event.

    Parameters
    ----------
    n_bins : int or sequence of int
        Bins per feature (a sequence of one per feature with `n_features`).
    n_features : int, optional
        Observations of this many features at once: events are (m,
        n_features) arrays of bin indices, and every query returns an array
        of one value per feature.
    window : int, optional
        The current stream keeps its last `window` observations.
    reference_window : None, int or "previous", optional
        None: the reference stream keeps everything fed to it (decaying with
        `decay`). An int: its last that many observations. "previous" (needs
        `window`): the reference is the `window` observations before the
        current window, fed by the events that leave the current window;
        `update_reference` is then not used.
    decay : float, optional
        The streams forget: before each observation of a stream its counts
        are multiplied by ``1 - decay`` (the reference stream's too, unless
        it has a window). Exclusive with `window`.
    pseudocount : float, default 0.0
        Added to every bin of both sides when a query normalises (the
        measure family's meaning). With `decay` a pseudocount makes the
        O(1) queries O(n_bins) (the decaying scale moves it in every bin).

    Raises
    ------
    ValueError
        Bad `n_bins`, `n_features`, `window`, `reference_window` (not None,
        a positive int or "previous"; "previous" without `window`),
        `decay` (outside (0, 1), or with a window) or `pseudocount`.
    TypeError
        Non-integer `n_bins`, `n_features` or `window`.

    Notes
    -----
    Per feature the comparison keeps, besides each stream's own running
    sums (`StreamingHistogram`), sums over the bins of non-negative terms
    of x = s + c and t = kappa (r + c) (kappa = S / R when last re-summed):
    phi(x, t), phi(t, x) with phi(a, b) = a log(a/b) - a + b,
    (sqrt x - sqrt t)^2 and (x - t)^2 / t. An event that moves a bin of
    either stream replaces that bin's terms, and KL = K/S - psi(T/S),
    KL(Q||P), Hellinger and chi-square follow in closed form, accurate
    relative to the measure itself (also for two streams from the same
    distribution). A query whose error bound fails re-sums the terms
    (O(n_bins)); where even fresh sums cannot meet it, the batch kernel
    answers.

    Examples
    --------
    >>> import numpy as np, histentropy
    >>> rng = np.random.default_rng(0)
    >>> c = histentropy.StreamingComparison(8, window=1000, reference_window="previous")
    >>> c.update(rng.integers(0, 8, 2000))           # two windows of uniform events
    >>> bool(c.population_stability_index() < 0.05)
    True
    >>> c.update(rng.integers(0, 4, 1000))           # then only bins 0..3
    >>> bool(c.population_stability_index() > 1.0)
    True
    """
    cdef PyThread_type_lock _lock
    cdef StreamingHistogram _cur, _ref
    cdef list _cur_features
    cdef Pair* _pairs
    cdef Py_ssize_t _n_pairs
    cdef object _n_features, _window, _reference_window, _decay, _pseudocount
    cdef object _scratch
    cdef bint _previous, _weighted

    def __cinit__(self, *args, **kwargs):
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError("cannot allocate a lock")
        self._pairs = NULL

    def __dealloc__(self):
        free(self._pairs)
        self._pairs = NULL
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    def __init__(self, n_bins, *, n_features=None, window=None, reference_window=None,
                 decay=None, pseudocount=0.0):
        cdef Py_ssize_t f, F
        cdef State* p
        cdef State* q
        if self._cur is not None:
            raise RuntimeError("a StreamingComparison is initialised once")
        window = _check_positive_int(window, "window", True)
        previous = isinstance(reference_window, str)
        if previous:
            if reference_window != "previous":
                raise ValueError(f"reference_window must be None, a positive integer or "
                                 f"'previous'; got {reference_window!r}")
            if window is None:
                raise ValueError("reference_window='previous' needs window: the reference "
                                 "is the window before the current one")
            ref_window = window
        else:
            ref_window = _check_positive_int(reference_window, "reference_window", True)
        cur = StreamingHistogram(n_bins, window=window, decay=decay, n_features=n_features,
                                 pseudocount=pseudocount)
        ref = StreamingHistogram(n_bins, window=ref_window,
                                 decay=decay if ref_window is None else None,
                                 n_features=n_features, pseudocount=pseudocount)
        self._cur = cur
        self._ref = ref
        self._n_features = cur._n_features
        self._window = window
        self._reference_window = reference_window if previous else ref_window
        self._previous = previous
        self._decay = cur._decay
        self._pseudocount = cur._pseudocount
        self._cur_features = [cur] if cur._features is None else list(cur._features)
        F = len(self._cur_features)
        self._pairs = <Pair*>calloc(F, sizeof(Pair))
        if self._pairs == NULL:
            raise MemoryError("cannot allocate the comparison's sums")
        self._n_pairs = F
        for f in range(F):
            p = cur._states[f]
            q = ref._states[f]
            self._pairs[f].p = p
            self._pairs[f].q = q
            self._pairs[f].valid = False
            p.pair = &self._pairs[f]
            p.side = 0
            q.pair = &self._pairs[f]
            q.side = 1
        self._scratch = np.zeros(2 * int(np.max(cur._feature_bins)), np.float64)

    # -- properties ---------------------------------------------------------

    @property
    def n_bins(self):
        """Bins per feature: an int, or a tuple of ints."""
        return self._cur._n_bins

    @property
    def n_features(self):
        """The number of features, or None."""
        return self._n_features

    @property
    def window(self):
        """The current stream's window (observations), or None."""
        return self._window

    @property
    def reference_window(self):
        """The reference stream's window: None, an int, or "previous"."""
        return self._reference_window

    @property
    def decay(self):
        """The decay rate per observation, or None."""
        return self._decay

    @property
    def pseudocount(self):
        """The pseudocount the queries add to every bin of both sides."""
        return self._pseudocount

    @property
    def counts(self):
        """Counts of the current stream (as `StreamingHistogram.counts`)."""
        acquire(self._lock)
        try:
            return self._cur.counts
        finally:
            PyThread_release_lock(self._lock)

    @property
    def reference_counts(self):
        """Counts of the reference stream (as `StreamingHistogram.counts`)."""
        acquire(self._lock)
        try:
            return self._ref.counts
        finally:
            PyThread_release_lock(self._lock)

    # -- updates ------------------------------------------------------------

    def update(self, events, weights=None):
        """Count a batch of observations of the current stream.

        Parameters
        ----------
        events : array_like of int
            Bin indices: shape (m,), or (m, n_features) with features (row r
            holds observation r's bin in each feature).
        weights : array_like, optional
            Non-negative finite weight of each observation (default 1).

        Raises
        ------
        ValueError
            A bin out of range, a bad weight or shape: the whole batch is
            rejected and both streams are left as they were.
        TypeError
            Non-integer events or non-real weights.

        Notes
        -----
        With ``reference_window="previous"`` the observations that leave the
        current window enter the reference window.
        """
        if not self._previous:
            acquire(self._lock)
            try:
                self._cur.update(events, weights)
            finally:
                PyThread_release_lock(self._lock)
            return
        if self._n_features is None:
            arr, original = _as_bins(events)
            rows = arr.reshape(-1, 1)
        else:
            arr, original = _as_events(events, self._n_features)
            rows = arr
        w = None if weights is None else _as_event_weights(weights, arr.shape[0])
        cdef const int64_t* nb = <const int64_t*>cnp.PyArray_DATA(self._cur._feature_bins)
        single = self._n_features is None
        if rows.dtype == np.int32:
            _apply_batch[int32_t](self._lock, self._cur._states, self._ref._states, nb,
                                  &self._weighted, single, rows, w, original, True)
        else:
            _apply_batch[int64_t](self._lock, self._cur._states, self._ref._states, nb,
                                  &self._weighted, single, rows, w, original, True)

    def update_reference(self, events, weights=None):
        """Count a batch of observations of the reference stream (shapes and
        errors as `update`).

        Raises
        ------
        ValueError
            With ``reference_window="previous"``: the reference is then the
            current stream's previous window.
        """
        if self._previous:
            raise ValueError("update_reference is not used with reference_window='previous': "
                             "the reference is the current stream's previous window")
        acquire(self._lock)
        try:
            self._ref.update(events, weights)
        finally:
            PyThread_release_lock(self._lock)

    def merge(self, other):
        """Add the state of `other` (a StreamingComparison of the same
        settings) into this one: each stream merges as
        `StreamingHistogram.merge`; with ``reference_window="previous"``
        `other`'s two windows are replayed into this one, oldest first.

        Raises
        ------
        TypeError
            `other` is not a StreamingComparison.
        ValueError
            Different settings.
        """
        cdef StreamingComparison o
        if not isinstance(other, StreamingComparison):
            raise TypeError(f"other must be a StreamingComparison; got "
                            f"{type(other).__name__}")
        o = other
        if (o.n_bins != self.n_bins or o._n_features != self._n_features
                or o._window != self._window or o._reference_window != self._reference_window
                or o._decay != self._decay or o._pseudocount != self._pseudocount):
            raise ValueError("cannot merge comparisons with different settings")
        if self._previous:
            for side in (o._ref, o._cur):  # oldest first
                bins, weights = _window_events(side)
                if bins.shape[0]:
                    self.update(bins, weights)
            return
        acquire(self._lock)
        try:
            self._cur.merge(o._cur)
            self._ref.merge(o._ref)
            self._invalidate()
        finally:
            PyThread_release_lock(self._lock)

    def reset(self):
        """Forget every observation of both streams (the settings stay)."""
        acquire(self._lock)
        try:
            self._cur.reset()
            self._ref.reset()
            self._weighted = False
            self._invalidate()
        finally:
            PyThread_release_lock(self._lock)

    cdef void _invalidate(self):
        cdef Py_ssize_t f
        for f in range(self._n_pairs):
            self._pairs[f].valid = False

    # -- queries ------------------------------------------------------------

    cdef object _each(self, int what, base):
        cdef Py_ssize_t f, F = self._n_pairs
        cdef cnp.ndarray out = np.empty(F, np.float64)
        cdef double* o = <double*>cnp.PyArray_DATA(out)
        cdef double* scratch = <double*>cnp.PyArray_DATA(self._scratch)
        cdef double lb = 1.0
        cdef list features = self._cur_features
        if base is not None:
            lb = _log_base(base)
        acquire(self._lock)
        try:
            for f in range(F):
                if what == Q_ENTROPY:
                    o[f] = (<StreamingHistogram>features[f])._entropy()
                elif what == Q_CROSS:
                    o[f] = ((<StreamingHistogram>features[f])._entropy()
                            + pair_value(&self._pairs[f], core.HE_KL_DIVERGENCE, scratch))
                else:
                    o[f] = pair_value(&self._pairs[f], what, scratch)
                o[f] /= lb
        finally:
            PyThread_release_lock(self._lock)
        return out if self._n_features is not None else float(out[0])

    def entropy(self, base=None):
        """Shannon entropy of the current stream, O(1) (as
        ``histentropy.entropy(counts, pseudocount=...)``)."""
        return self._each(Q_ENTROPY, base)

    def cross_entropy(self, base=None):
        """Cross entropy H(P, Q) of the current stream against the
        reference, O(1); +inf where P has mass and Q none."""
        return self._each(Q_CROSS, base)

    def kl_divergence(self, base=None):
        """KL divergence D_KL(P || Q) of the current stream from the
        reference, O(1); never negative; +inf where P has mass and Q none."""
        return self._each(core.HE_KL_DIVERGENCE, base)

    def decompose(self, base=None):
        """``Decomposition(cross_entropy, entropy, kl_divergence)``, O(1)."""
        kl = self._each(core.HE_KL_DIVERGENCE, base)
        h = self._each(Q_ENTROPY, base)
        return _Decomposition()(h + kl, h, kl)

    def jeffreys_divergence(self, base=None):
        """Jeffreys divergence (PSI): KL(P||Q) + KL(Q||P), O(1); +inf where
        one side has mass in a bin and the other none."""
        return self._each(core.HE_JEFFREYS, base)

    population_stability_index = jeffreys_divergence

    def hellinger_distance(self):
        """Hellinger distance of the two streams, in [0, 1], O(1)."""
        return self._each(core.HE_HELLINGER, None)

    def chi_square_divergence(self):
        """Pearson chi-square divergence chi2(P || Q), O(1); +inf where P has
        mass and Q none."""
        return self._each(core.HE_CHI_SQUARE, None)

    def js_divergence(self, base=None):
        """Jensen-Shannon divergence of the two streams, O(n_bins) (the batch
        kernel on the counts)."""
        return self._each(core.HE_JS_DIVERGENCE, base)

    def js_distance(self, base=None):
        """Jensen-Shannon distance (the square root of `js_divergence`),
        O(n_bins)."""
        v = self._each(core.HE_JS_DIVERGENCE, base)
        return np.sqrt(v) if self._n_features is not None else math.sqrt(v)

    def total_variation(self):
        """Total variation distance of the two streams, O(n_bins) (the batch
        kernel on the counts)."""
        return self._each(core.HE_TOTAL_VARIATION, None)

    # -- pickles ------------------------------------------------------------

    def __reduce__(self):
        config = {"n_bins": self.n_bins, "n_features": self._n_features,
                  "window": self._window, "reference_window": self._reference_window,
                  "decay": self._decay, "pseudocount": self._pseudocount}
        acquire(self._lock)
        try:
            state = {"format": FORMAT_VERSION, "current": self._cur.__getstate__(),
                     "reference": self._ref.__getstate__(), "weighted": self._weighted}
        finally:
            PyThread_release_lock(self._lock)
        return (_restore_comparison, (config,), state)

    def __setstate__(self, state):
        if state.get("format") != FORMAT_VERSION:
            raise ValueError("unsupported StreamingComparison state")
        acquire(self._lock)
        try:
            self._cur.__setstate__(state["current"])
            self._ref.__setstate__(state["reference"])
            self._weighted = state["weighted"]
            self._invalidate()
        finally:
            PyThread_release_lock(self._lock)

    def __repr__(self):
        parts = [f"n_bins={self.n_bins}"]
        for name in ("n_features", "window", "reference_window", "decay"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)!r}")
        if self._pseudocount:
            parts.append(f"pseudocount={self._pseudocount}")
        return f"StreamingComparison({', '.join(parts)})"


cdef void apply_previous(State** cur, State** ref, Py_ssize_t F, const index_t* bp,
                         Py_ssize_t rs, Py_ssize_t cs, const double* wp, Py_ssize_t ws,
                         Py_ssize_t m, bint weighted) noexcept nogil:
    """A batch of m observations of F features into the current windows,
    whose leaving observations enter the reference windows (of the same
    length W: reference_window="previous").

    In parts of at most W rows, so that every leaving event of a part is in
    a current ring before the part overwrites it: first the reference takes
    them (applied and settled while the current side still holds them: the
    pair sums move against the current counts as they are), then the current
    side takes the part, feature by feature in blocks of rows. Unweighted
    streams pass the leaving events unweighted (the window's exact integer
    path).
    """
    cdef Py_ssize_t W = cur[0].W, i0 = 0, b0, mm, bm, k, start, first, f
    cdef State* c
    while i0 < m:
        mm = min(W, m - i0)
        k = cur[0].fill + mm - W
        if k > 0:
            start = (cur[0].pos - cur[0].fill + W) % W  # the oldest event
            first = min(k, W - start)
            for f in range(F):
                events_begin(ref[f], k)
            for f in range(F):
                c = cur[f]
                events_apply(ref[f], <const int64_t*>(c.ring_b + start), 1,
                             c.ring_w + start if weighted else NULL, 1, first)
                if k > first:
                    events_apply(ref[f], <const int64_t*>c.ring_b, 1,
                                 c.ring_w if weighted else NULL, 1, k - first)
            for f in range(F):
                events_end(ref[f], k)
        for f in range(F):
            events_begin(cur[f], mm)
        b0 = 0
        while b0 < mm:
            bm = min(<Py_ssize_t>ROW_BLOCK, mm - b0)
            for f in range(F):
                events_apply(cur[f], bp + (i0 + b0) * rs + f * cs, rs,
                             NULL if wp == NULL else wp + (i0 + b0) * ws, ws, bm)
            b0 += bm
        for f in range(F):
            events_end(cur[f], mm)
        i0 += mm


def _window_events(StreamingHistogram side):
    """The observations in a windowed stream, oldest first: bins ((m,) or
    (m, F)) and weights."""
    cdef StreamingHistogram first
    features = [side] if side._features is None else side._features
    first = features[0]
    order = (np.arange(first.st.fill) + (first.st.pos - first.st.fill)) % first.st.W
    weights = first._ring_w[order]
    if side._features is None:
        return first._ring_b[order], weights
    return np.stack([(<StreamingHistogram>f)._ring_b[order] for f in features], axis=1), weights


def _restore_comparison(config):
    return StreamingComparison(config["n_bins"], n_features=config["n_features"],
                               window=config["window"],
                               reference_window=config["reference_window"],
                               decay=config["decay"], pseudocount=config["pseudocount"])


cdef object _DECOMPOSITION = None


cdef object _Decomposition():
    global _DECOMPOSITION
    if _DECOMPOSITION is None:
        _DECOMPOSITION = _decomposition_type()
    return _DECOMPOSITION


cdef double _log_base(base) except? -1.0:
    return log_of_base(base)


def _log_normalised(cnp.ndarray[double, ndim=1] r):
    """log(r_b / sum r) (0 where r_b = 0) and y_b = r_b / sum r for every
    bin, and the largest relative error of a normal y_b and of y_b S (a
    product rounds unless every y_b is a power of two, as for one bin).

    The weights are first brought to a maximum in [1/2, 1) by an exact power
    of two, so that the bins that carry the mass (the ones whose log y is
    small and would cancel in log r_b - log sum r) give their log from the
    quotient with its exact remainder (he_log_ratio) and the low part of the
    compensated total: relative accuracy for every log y. Only a weight that
    underflows on scaling (y below the range of doubles, |log y| > 700) takes
    the difference of logs.
    """
    cdef Py_ssize_t i, n = r.shape[0]
    cdef core.he_csum total
    cdef double scale, big = 0.0, log_total, x, e_y, y_error = 0.0, product_error = 0.0
    cdef cnp.ndarray[double, ndim=1] out = np.zeros(n, np.float64)
    cdef cnp.ndarray[double, ndim=1] y = np.zeros(n, np.float64)
    cdef int e, e_y_exp
    for i in range(n):
        if r[i] > big:
            big = r[i]
    frexp(big, &e)
    scale = ldexp(1.0, -e)
    core.he_csum_init(&total)
    for i in range(n):
        core.he_csum_add_exact(&total, r[i] * scale)
    core.he_csum_normalise(&total)
    log_total = core.he_csum_log(&total) + e * LN2
    for i in range(n):
        x = r[i] * scale
        if x >= DBL_MIN:
            out[i] = core.he_log_ratio(x, total.hi) - total.lo / total.hi
            y[i] = x / total.hi
            if y[i] >= DBL_MIN:  # y_b (1 + e) = x / (hi + lo)
                e_y = fabs(fma(-y[i], total.hi, x) / x - total.lo / total.hi)
                if e_y > y_error:
                    y_error = e_y
                if frexp(y[i], &e_y_exp) != 0.5:
                    product_error = ULP
        elif r[i] > 0.0:
            # y_b below the normal range: 0 in `y` (no anchored sums)
            out[i] = log(r[i]) - log_total
    return out, y, y_error + product_error


# Select the CPU path now, when the package is imported (dispatch.h caches it).
core.he_cpu_path()
