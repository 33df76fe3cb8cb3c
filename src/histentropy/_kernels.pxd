# Layer 1: scalar and slice kernels of histentropy.
#
# Design
# ------
# Everything here is `cdef inline ... noexcept nogil`: pure computation over a
# pointer, a length and a stride. Kernels never validate, raise or allocate;
# they *report* what they saw (NaN, negative or infinite weights) as bit flags
# and the Python layer decides what to raise. Special values are defined, not
# exceptional: 0*log 0 = 0, p > 0 where q = 0 gives +inf, a slice with no mass
# gives NaN.
#
# The functions are inline and declared in this .pxd so that other Cython
# projects can `cimport histentropy._kernels` and call them on their own buffers
# with no Python overhead (tests/test_extending.py does exactly that).
#
# Numerical scheme (see README "Numerics")
# ----------------------------------------
# A histogram p of total mass S is normalised implicitly, x_i = p_i / S.
# * Fast path, one read of the data: S = sum p, A = sum p log p, and
#       H = log S - A / S,
#       KL = B / S_p + log(S_q / S_p),   B = sum p log(p / q).
#   Its absolute error is a few ulp of |log S| + sum|p log p| / S (for KL:
#   |log(S_q/S_p)| + sum|p log(p/q)| / S_p, plus 1 where the rounding of p/q
#   is not undone by an FMA, plus |log| of any rescaling). When that magnitude
#   exceeds MAX_CANCELLATION times the result (near-deterministic histograms,
#   near-identical p and q, counts against probabilities with a small
#   divergence, totals at very different scales) the slice is recomputed by
# * the accurate path, a second read with S known:
#       H = sum -x log x,  using log1p(-(S - p)/S) for x > 1/2 (S is kept as a
#           double-double so S - p is exact),
#       KL = sum x log(x / y) - x + y,  every term >= 0 (no cancellation
#           between terms), and for |u| <= 1/8, u = (x - y)/(x + y), the term
#           is evaluated as (x + y) u^2 (g(u^2) + u h(u^2)) from the atanh
#           series of log((1 + u)/(1 - u)), with x - y formed from error-free
#           FMA quotients. This keeps KL of near-identical histograms accurate
#           to a few ulp *relative*, where the textbook formula loses all digits.
#   Both results are sums of non-negative terms, so they are never negative.
# * The totals are summed exactly (TwoSum, hi + lo); the other sums naively
#   within blocks and with Neumaier compensation across them, so errors do not
#   grow with n.
# * Totals outside [2**-600, 2**600] (weights near 1e308 whose sum overflows,
#   or subnormal weights) are brought back into range by multiplying every
#   weight by a power of two, which is exact; all formulas are scale-invariant.
# * Contiguous slices take both reads in vectorised C (_fastpath.h, one copy
#   per instruction set); anything unusual there (NaN, negative or infinite
#   weights, totals out of range, quotients below the normal range) falls
#   back to the general Cython code below, which classifies and handles it.
# References: scipy.special.rel_entr (log of the ratio, separate logs when the
# ratio over/underflows); Neumaier (1974) for compensated summation; Knuth's
# TwoSum; the atanh form of the log as in fdlibm's log1p/log reduction.

from libc.math cimport (
    log, log1p, fabs, fmax, fmin, fma, frexp, ldexp, isinf, INFINITY, NAN,
)
from libc.float cimport DBL_MIN

from histentropy._typedefs cimport (
    weight_t, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t,
    uint64_t,
)


# The vectorised first read for contiguous slices, compiled for several
# instruction sets and dispatched at run time (_fastpath.h). Compiling a
# module that cimports this file needs histentropy.get_include() on the C
# include path.
cdef extern from "_fastpath.h" nogil:
    ctypedef struct he_entropy_sums:
        double total_hi, total_lo, plogp, plogp_abs, bad
    ctypedef struct he_pair_sums:
        double p_hi, p_lo, q_hi, q_lo, plogp, plogp_abs, plogpq, plogpq_abs
        double bad, unbounded
        int ratio_exact
    int he_path()
    int he_best_path()
    const char* he_path_name(int path)
    void he_entropy_sums_f64(const double*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_f32(const float*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_i8(const int8_t*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_i16(const int16_t*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_i32(const int32_t*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_i64(const int64_t*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_u8(const uint8_t*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_u16(const uint16_t*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_u32(const uint32_t*, Py_ssize_t, he_entropy_sums*)
    void he_entropy_sums_u64(const uint64_t*, Py_ssize_t, he_entropy_sums*)
    void he_pair_sums_f64(const double*, const double*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_f32(const float*, const float*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_i8(const int8_t*, const int8_t*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_i16(const int16_t*, const int16_t*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_i32(const int32_t*, const int32_t*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_i64(const int64_t*, const int64_t*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_u8(const uint8_t*, const uint8_t*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_u16(const uint16_t*, const uint16_t*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_u32(const uint32_t*, const uint32_t*, Py_ssize_t, int, he_pair_sums*)
    void he_pair_sums_u64(const uint64_t*, const uint64_t*, Py_ssize_t, int, he_pair_sums*)
    double he_entropy_accurate_f64(const double*, Py_ssize_t, double, double)
    double he_entropy_accurate_f32(const float*, Py_ssize_t, double, double)
    double he_entropy_accurate_i8(const int8_t*, Py_ssize_t, double, double)
    double he_entropy_accurate_i16(const int16_t*, Py_ssize_t, double, double)
    double he_entropy_accurate_i32(const int32_t*, Py_ssize_t, double, double)
    double he_entropy_accurate_i64(const int64_t*, Py_ssize_t, double, double)
    double he_entropy_accurate_u8(const uint8_t*, Py_ssize_t, double, double)
    double he_entropy_accurate_u16(const uint16_t*, Py_ssize_t, double, double)
    double he_entropy_accurate_u32(const uint32_t*, Py_ssize_t, double, double)
    double he_entropy_accurate_u64(const uint64_t*, Py_ssize_t, double, double)
    double he_kl_accurate_f64(const double*, const double*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_f32(const float*, const float*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_i8(const int8_t*, const int8_t*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_i16(const int16_t*, const int16_t*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_i32(const int32_t*, const int32_t*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_i64(const int64_t*, const int64_t*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_u8(const uint8_t*, const uint8_t*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_u16(const uint16_t*, const uint16_t*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_u32(const uint32_t*, const uint32_t*, Py_ssize_t, double, double, double*, double*)
    double he_kl_accurate_u64(const uint64_t*, const uint64_t*, Py_ssize_t, double, double, double*, double*)


# Flags a kernel reports; the Python layer turns them into exceptions.
cdef enum:
    NAN_SEEN = 1
    NEGATIVE_P = 2
    NEGATIVE_Q = 4
    INFINITE_P = 8
    INFINITE_Q = 16
    ERROR_FLAGS = 2 | 4 | 8 | 16


cdef enum:
    # Naive partial sums run over blocks this long before entering the
    # compensated total (keeps the inner loop simple and its error bounded).
    BLOCK = 256
    # Accept the fast one-pass result only when the terms it subtracts are at
    # most this many times the result (lose at most 4 of 53 bits).
    MAX_CANCELLATION = 16
    # Totals in [2**-LOG2_RANGE, 2**LOG2_RANGE] need no rescaling.
    LOG2_RANGE = 600


ctypedef struct CompensatedSum:
    double hi
    double lo


cdef inline void csum_init(CompensatedSum* s) noexcept nogil:
    s.hi = 0.0
    s.lo = 0.0


cdef inline void csum_add(CompensatedSum* s, double x) noexcept nogil:
    # Neumaier's variant of Kahan summation: the error bound does not depend
    # on the number of terms, also when |x| exceeds the running total.
    cdef double t = s.hi + x
    if fabs(s.hi) >= fabs(x):
        s.lo += (s.hi - t) + x
    else:
        s.lo += (x - t) + s.hi
    s.hi = t


cdef inline double csum_value(const CompensatedSum* s) noexcept nogil:
    if isinf(s.hi):  # overflowed: the compensation is meaningless (NaN)
        return s.hi
    return s.hi + s.lo


cdef inline void csum_normalise(CompensatedSum* s) noexcept nogil:
    # Fast two-sum: afterwards hi is the correctly rounded total and lo the
    # exact remainder, so hi - p is exact for p >= hi/2 (Sterbenz).
    cdef double hi = s.hi + s.lo
    s.lo = s.lo - (hi - s.hi)
    s.hi = hi


cdef inline void csum_add_exact(CompensatedSum* s, double x) noexcept nogil:
    # Knuth's branch-free TwoSum: hi + lo carries the running total exactly
    # (up to the final rounding of lo). Used per element for the totals,
    # whose rounding would otherwise cost ~1 ulp of log S: too much for
    # near-deterministic histograms, whose entropy is tiny.
    cdef double t = s.hi + x
    cdef double z = t - s.hi
    s.lo += (s.hi - (t - z)) + (x - z)
    s.hi = t


cdef inline bint total_in_range(double total) noexcept nogil:
    return ldexp(1.0, -LOG2_RANGE) <= total <= ldexp(1.0, LOG2_RANGE)


cdef inline double rescale_factor(double total, double largest,
                                  Py_ssize_t n) noexcept nogil:
    """Power of two m such that m * total lies well inside the safe range.

    `total` may be +inf (the sum of finite weights overflowed); then `largest`
    bounds every weight and n * largest bounds the total.
    """
    cdef int e
    cdef Py_ssize_t k = n
    if isinf(total):
        frexp(largest, &e)
        while k > 0:
            e += 1
            k >>= 1
    else:
        frexp(total, &e)
    if e > 1000:
        e = 1000
    elif e < -1000:
        e = -1000
    return ldexp(1.0, -e)


cdef inline double log_ratio(double x, double y) noexcept nogil:
    """log(x / y) for x, y > 0, without losing the ratio to over/underflow.

    The rounding of r = x/y would cost an absolute ~1e-16 in the log, which is
    all of the signal when x and y are close; the exact remainder x - r*y
    (one FMA) restores it: log(x/y) = log(r) + log1p(rem/(r*y)).
    """
    cdef double r = x / y
    if DBL_MIN <= r < INFINITY:
        return log(r) + fma(-r, y, x) / x
    return log(x) - log(y)


cdef inline double csum_log(CompensatedSum* s) noexcept nogil:
    """log of a positive finite compensated sum, keeping its low part.

    log(hi + lo) = log(hi) + lo/hi to within ulps: a total like 1 + 1e-17
    (counts that nearly cancel in log S) keeps its digits.
    """
    csum_normalise(s)
    return log(s.hi) + s.lo / s.hi


cdef inline double csum_log_ratio(CompensatedSum* num,
                                  CompensatedSum* den) noexcept nogil:
    """log(num / den) of two positive finite compensated sums."""
    csum_normalise(num)
    csum_normalise(den)
    return log_ratio(num.hi, den.hi) + (num.lo / num.hi - den.lo / den.hi)


cdef inline double entropy_from_sums(CompensatedSum* total, double plogp,
                                     double plogp_abs,
                                     bint* accurate) noexcept nogil:
    """H = log S - A/S; `accurate` is cleared when cancellation is too large.

    The error is a few ulp of |log S| + sum|w log w| / S.
    """
    cdef double log_total = csum_log(total)
    cdef double h = log_total - plogp / total.hi
    accurate[0] = fabs(log_total) + plogp_abs / total.hi <= MAX_CANCELLATION * h
    return h


cdef inline double neg_x_log_x(double w, const CompensatedSum* total) noexcept nogil:
    """-x log x for x = w / S, with S = total.hi + total.lo (normalised)."""
    cdef double x = w / total.hi
    x -= x * (total.lo / total.hi)
    if x <= 0.0:  # also weights that underflow against a huge total
        return 0.0
    if x > 0.5:
        # log x = log1p(-(S - w)/S); S - w is exact by Sterbenz's lemma.
        return -x * log1p(-((total.hi - w) + total.lo) / total.hi)
    return -x * log(x)


cdef inline double divergence_term(double xh, double xl, double yh, double yl,
                                   double log_xy) noexcept nogil:
    """x log(x/y) - x + y >= 0 for x = xh + xl > 0, y = yh + yl > 0.

    `log_xy` is log(x/y), which the caller forms from the unscaled weights so
    that a y below the range of doubles still gives its (large) term.
    For u = (x - y)/(x + y) small the term equals (x + y) u^2 (g + u h) with
    g(s) = sum s^k/(2k+1) and h(s) = (g - 1)/s = sum s^k/(2k+3), s = u^2:
    log(x/y) = 2 atanh(u) = 2 u g(s). Ten terms of h reach 2**-60 for |u| <= 1/8.
    """
    cdef double s = xh + yh
    cdef double u = ((xh - yh) + (xl - yl)) / s
    cdef double t, h, term
    if fabs(u) <= 0.125:
        t = u * u
        h = (1.0/3 + t*(1.0/5 + t*(1.0/7 + t*(1.0/9 + t*(1.0/11 + t*(1.0/13
             + t*(1.0/15 + t*(1.0/17 + t*(1.0/19 + t*(1.0/21))))))))))
        return s * t * ((1.0 + t * h) + u * h)
    term = xh * log_xy - xh + yh
    return term if term > 0.0 else 0.0


cdef inline void split_quotient(double w, double total, double* hi,
                                double* lo) noexcept nogil:
    # w / total as an unevaluated sum hi + lo: the remainder w - hi*total is
    # exact with one FMA, so hi - hi' below is exact for nearby quotients.
    hi[0] = w / total
    lo[0] = fma(-hi[0], total, w) / total


cdef inline double weight_at(const weight_t* a, Py_ssize_t i,
                             Py_ssize_t stride) noexcept nogil:
    return <double>a[i * stride]


cdef inline int classify(double w, int negative, int infinite) noexcept nogil:
    """Flags for a weight that is not in [0, inf)."""
    if w != w:
        return NAN_SEEN
    if w < 0.0 and w != -INFINITY:
        return negative
    return infinite


cdef inline void fast_entropy_sums(const weight_t* p, Py_ssize_t n,
                                   he_entropy_sums* out) noexcept nogil:
    if weight_t is double:
        he_entropy_sums_f64(p, n, out)
    elif weight_t is float:
        he_entropy_sums_f32(p, n, out)
    elif weight_t is int8_t:
        he_entropy_sums_i8(p, n, out)
    elif weight_t is int16_t:
        he_entropy_sums_i16(p, n, out)
    elif weight_t is int32_t:
        he_entropy_sums_i32(p, n, out)
    elif weight_t is int64_t:
        he_entropy_sums_i64(p, n, out)
    elif weight_t is uint8_t:
        he_entropy_sums_u8(p, n, out)
    elif weight_t is uint16_t:
        he_entropy_sums_u16(p, n, out)
    elif weight_t is uint32_t:
        he_entropy_sums_u32(p, n, out)
    else:
        he_entropy_sums_u64(p, n, out)


cdef inline void fast_pair_sums(const weight_t* p, const weight_t* q,
                                Py_ssize_t n, bint need_entropy,
                                he_pair_sums* out) noexcept nogil:
    if weight_t is double:
        he_pair_sums_f64(p, q, n, need_entropy, out)
    elif weight_t is float:
        he_pair_sums_f32(p, q, n, need_entropy, out)
    elif weight_t is int8_t:
        he_pair_sums_i8(p, q, n, need_entropy, out)
    elif weight_t is int16_t:
        he_pair_sums_i16(p, q, n, need_entropy, out)
    elif weight_t is int32_t:
        he_pair_sums_i32(p, q, n, need_entropy, out)
    elif weight_t is int64_t:
        he_pair_sums_i64(p, q, n, need_entropy, out)
    elif weight_t is uint8_t:
        he_pair_sums_u8(p, q, n, need_entropy, out)
    elif weight_t is uint16_t:
        he_pair_sums_u16(p, q, n, need_entropy, out)
    elif weight_t is uint32_t:
        he_pair_sums_u32(p, q, n, need_entropy, out)
    else:
        he_pair_sums_u64(p, q, n, need_entropy, out)


cdef inline double fast_entropy_accurate(const weight_t* p, Py_ssize_t n,
                                         double hi, double lo) noexcept nogil:
    if weight_t is double:
        return he_entropy_accurate_f64(p, n, hi, lo)
    elif weight_t is float:
        return he_entropy_accurate_f32(p, n, hi, lo)
    elif weight_t is int8_t:
        return he_entropy_accurate_i8(p, n, hi, lo)
    elif weight_t is int16_t:
        return he_entropy_accurate_i16(p, n, hi, lo)
    elif weight_t is int32_t:
        return he_entropy_accurate_i32(p, n, hi, lo)
    elif weight_t is int64_t:
        return he_entropy_accurate_i64(p, n, hi, lo)
    elif weight_t is uint8_t:
        return he_entropy_accurate_u8(p, n, hi, lo)
    elif weight_t is uint16_t:
        return he_entropy_accurate_u16(p, n, hi, lo)
    elif weight_t is uint32_t:
        return he_entropy_accurate_u32(p, n, hi, lo)
    else:
        return he_entropy_accurate_u64(p, n, hi, lo)


cdef inline double fast_kl_accurate(const weight_t* p, const weight_t* q,
                                    Py_ssize_t n, double sp, double sq,
                                    double* unbounded, double* bad) noexcept nogil:
    if weight_t is double:
        return he_kl_accurate_f64(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is float:
        return he_kl_accurate_f32(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is int8_t:
        return he_kl_accurate_i8(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is int16_t:
        return he_kl_accurate_i16(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is int32_t:
        return he_kl_accurate_i32(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is int64_t:
        return he_kl_accurate_i64(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is uint8_t:
        return he_kl_accurate_u8(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is uint16_t:
        return he_kl_accurate_u16(p, q, n, sp, sq, unbounded, bad)
    elif weight_t is uint32_t:
        return he_kl_accurate_u32(p, q, n, sp, sq, unbounded, bad)
    else:
        return he_kl_accurate_u64(p, q, n, sp, sq, unbounded, bad)


cdef inline void combine_entropy_sums(const he_entropy_sums* parts,
                                     Py_ssize_t count,
                                     he_entropy_sums* out) noexcept nogil:
    """Sums of consecutive chunks of one slice -> the sums of the slice."""
    cdef CompensatedSum total, plogp
    cdef Py_ssize_t c
    csum_init(&total)
    csum_init(&plogp)
    out.plogp_abs = 0.0
    out.bad = 0.0
    for c in range(count):
        csum_add_exact(&total, parts[c].total_hi)
        total.lo += parts[c].total_lo
        csum_add(&plogp, parts[c].plogp)
        out.plogp_abs += parts[c].plogp_abs
        out.bad += parts[c].bad
    csum_normalise(&total)
    out.total_hi = total.hi
    out.total_lo = total.lo
    out.plogp = csum_value(&plogp)


cdef inline void combine_pair_sums(const he_pair_sums* parts, Py_ssize_t count,
                                  he_pair_sums* out) noexcept nogil:
    """Sums of consecutive chunks of one pair of slices -> those of the pair."""
    cdef CompensatedSum p_total, q_total, plogp, plogpq
    cdef Py_ssize_t c
    csum_init(&p_total)
    csum_init(&q_total)
    csum_init(&plogp)
    csum_init(&plogpq)
    out.plogp_abs = 0.0
    out.plogpq_abs = 0.0
    out.bad = 0.0
    out.unbounded = 0.0
    out.ratio_exact = 1
    for c in range(count):
        csum_add_exact(&p_total, parts[c].p_hi)
        p_total.lo += parts[c].p_lo
        csum_add_exact(&q_total, parts[c].q_hi)
        q_total.lo += parts[c].q_lo
        csum_add(&plogp, parts[c].plogp)
        csum_add(&plogpq, parts[c].plogpq)
        out.plogp_abs += parts[c].plogp_abs
        out.plogpq_abs += parts[c].plogpq_abs
        out.bad += parts[c].bad
        out.unbounded += parts[c].unbounded
        out.ratio_exact = out.ratio_exact and parts[c].ratio_exact
    csum_normalise(&p_total)
    csum_normalise(&q_total)
    out.p_hi = p_total.hi
    out.p_lo = p_total.lo
    out.q_hi = q_total.hi
    out.q_lo = q_total.lo
    out.plogp = csum_value(&plogp)
    out.plogpq = csum_value(&plogpq)


# ---------------------------------------------------------------------------
# Entropy of one slice
# ---------------------------------------------------------------------------

cdef inline int entropy_sums(const weight_t* p, Py_ssize_t n, Py_ssize_t stride,
                             double scale, CompensatedSum* total,
                             CompensatedSum* plogp, double* plogp_abs,
                             double* largest) noexcept nogil:
    """One read: total = sum w, plogp = sum w log w over w = scale * p.

    plogp_abs = sum |w log w| bounds the cancellation inside plogp.
    """
    cdef Py_ssize_t start = 0, i, stop
    cdef double w, term, block_plogp, block_neg, negative = 0.0, big = 0.0
    cdef int flags = 0
    csum_init(total)
    csum_init(plogp)
    while start < n:
        stop = start + BLOCK if start + BLOCK < n else n
        block_plogp = 0.0
        block_neg = 0.0
        for i in range(start, stop):
            w = weight_at(p, i, stride) * scale
            if not (0.0 <= w < INFINITY):
                flags |= classify(w, NEGATIVE_P, INFINITE_P)
                continue
            if w > 0.0:
                csum_add_exact(total, w)
                term = w * log(w)
                block_plogp += term
                block_neg += fmin(term, 0.0)
                big = fmax(big, w)
        csum_add(plogp, block_plogp)
        negative += block_neg
        start = stop
    plogp_abs[0] = csum_value(plogp) - 2.0 * negative
    largest[0] = big
    return flags


cdef inline double entropy_accurate(const weight_t* p, Py_ssize_t n,
                                    Py_ssize_t stride, double scale,
                                    CompensatedSum* total) noexcept nogil:
    """Second read: sum of -x log x with x = scale * p / total, all terms >= 0."""
    cdef Py_ssize_t i
    cdef double w
    cdef CompensatedSum h
    csum_init(&h)
    csum_normalise(total)
    for i in range(n):
        w = weight_at(p, i, stride) * scale
        if 0.0 < w < INFINITY:  # skips zeros and omitted NaNs
            csum_add(&h, neg_x_log_x(w, total))
    return csum_value(&h)


cdef inline double entropy_finish(const weight_t* p, Py_ssize_t n,
                                  Py_ssize_t stride, double scale,
                                  CompensatedSum* total, double plogp,
                                  double plogp_abs, bint clean) noexcept nogil:
    """Entropy from the first read's sums, or from a second read if they cancel.

    `clean`: the slice is contiguous, unscaled and holds only weights in
    [0, inf), so the vectorised second read applies.
    """
    cdef bint accurate
    cdef double h = entropy_from_sums(total, plogp, plogp_abs, &accurate)
    if not accurate:
        if clean:
            csum_normalise(total)
            h = fast_entropy_accurate(p, n, total.hi, total.lo)
        else:
            h = entropy_accurate(p, n, stride, scale, total)
    return h


cdef inline int entropy_slice(const weight_t* p, Py_ssize_t n, Py_ssize_t stride,
                              bint omit_nan, double* entropy) noexcept nogil:
    """Shannon entropy (nats) of the histogram p[0], p[stride], ... p[(n-1)*stride].

    Returns the flags seen; writes NaN for a NaN (unless omitted) or a slice
    without mass. With error flags set the written value is meaningless.
    """
    cdef CompensatedSum total, plogp
    cdef double scale = 1.0, plogp_abs, largest, s
    cdef he_entropy_sums fast
    cdef int flags
    if stride == 1:
        # The vectorised read; anything unusual takes the general path below.
        fast_entropy_sums(p, n, &fast)
        if fast.bad == 0.0 and total_in_range(fast.total_hi):
            total.hi = fast.total_hi
            total.lo = fast.total_lo
            entropy[0] = entropy_finish(p, n, 1, 1.0, &total, fast.plogp,
                                        fast.plogp_abs, True)
            return 0
    flags = entropy_sums(p, n, stride, scale, &total, &plogp, &plogp_abs,
                         &largest)
    if flags & ERROR_FLAGS or (flags & NAN_SEEN and not omit_nan):
        entropy[0] = NAN
        return flags
    s = csum_value(&total)
    if s == 0.0:
        entropy[0] = NAN
        return flags
    if not total_in_range(s):
        scale = rescale_factor(s, largest, n)
        entropy_sums(p, n, stride, scale, &total, &plogp, &plogp_abs, &largest)
    entropy[0] = entropy_finish(p, n, stride, scale, &total,
                                csum_value(&plogp), plogp_abs, False)
    return flags


# ---------------------------------------------------------------------------
# Entropy and KL divergence of one pair of slices
# ---------------------------------------------------------------------------

cdef inline int pair_sums(const weight_t* p, Py_ssize_t p_stride,
                          const weight_t* q, Py_ssize_t q_stride, Py_ssize_t n,
                          double p_scale, double q_scale, bint need_entropy,
                          CompensatedSum* p_total, CompensatedSum* q_total,
                          CompensatedSum* plogp, CompensatedSum* plogpq,
                          double* abs_sums, double* p_largest,
                          double* q_largest, bint* unbounded) noexcept nogil:
    """One read of both slices: totals, sum p log p and sum p log(p/q).

    abs_sums[0], abs_sums[1] receive sum |p log p| and sum |p log(p/q)|. A bin
    where either side is NaN is skipped (and reported). `unbounded` is set
    when some p > 0 meets q = 0, which makes KL and cross entropy +inf.
    """
    cdef Py_ssize_t start = 0, stop, i
    cdef double a, b, x, y, term, ba, bb, na, nb, xbig = 0.0, ybig = 0.0
    # log(x/y) = log(a/b) + log_scales for raw weights a, b: a tiny b scaled
    # below the range of doubles must still give its large term.
    cdef double log_scales = log(p_scale) - log(q_scale)
    cdef double neg_a = 0.0, neg_b = 0.0
    cdef int flags = 0
    csum_init(p_total)
    csum_init(q_total)
    csum_init(plogp)
    csum_init(plogpq)
    unbounded[0] = False
    while start < n:
        stop = start + BLOCK if start + BLOCK < n else n
        ba = 0.0
        bb = 0.0
        na = 0.0
        nb = 0.0
        for i in range(start, stop):
            a = weight_at(p, i, p_stride)
            b = weight_at(q, i, q_stride)
            x = a * p_scale
            y = b * q_scale
            if not (0.0 <= x < INFINITY and 0.0 <= y < INFINITY):
                if not (0.0 <= x < INFINITY):
                    flags |= classify(x, NEGATIVE_P, INFINITE_P)
                if not (0.0 <= y < INFINITY):
                    flags |= classify(y, NEGATIVE_Q, INFINITE_Q)
                continue
            csum_add_exact(q_total, y)
            ybig = fmax(ybig, y)
            if a > 0.0:
                csum_add_exact(p_total, x)
                xbig = fmax(xbig, x)
                if need_entropy and x > 0.0:
                    term = x * log(x)
                    ba += term
                    na += fmin(term, 0.0)
                if b > 0.0:
                    term = x * (log_ratio(a, b) + log_scales)
                    bb += term
                    nb += fmin(term, 0.0)
                else:
                    unbounded[0] = True
        csum_add(plogp, ba)
        csum_add(plogpq, bb)
        neg_a += na
        neg_b += nb
        start = stop
    abs_sums[0] = csum_value(plogp) - 2.0 * neg_a
    abs_sums[1] = csum_value(plogpq) - 2.0 * neg_b
    p_largest[0] = xbig
    q_largest[0] = ybig
    return flags


cdef inline double pair_entropy_accurate(const weight_t* p, Py_ssize_t p_stride,
                                         const weight_t* q, Py_ssize_t q_stride,
                                         Py_ssize_t n, double p_scale,
                                         CompensatedSum* p_total) noexcept nogil:
    """Entropy of p over the bins where both p and q are numbers."""
    cdef Py_ssize_t i
    cdef double x, y
    cdef CompensatedSum h
    csum_init(&h)
    csum_normalise(p_total)
    for i in range(n):
        x = weight_at(p, i, p_stride) * p_scale
        y = weight_at(q, i, q_stride)
        if 0.0 < x < INFINITY and y == y:
            csum_add(&h, neg_x_log_x(x, p_total))
    return csum_value(&h)


cdef inline double kl_accurate(const weight_t* p, Py_ssize_t p_stride,
                               const weight_t* q, Py_ssize_t q_stride,
                               Py_ssize_t n, double p_scale, double q_scale,
                               CompensatedSum* p_total,
                               CompensatedSum* q_total) noexcept nogil:
    """Second read: KL as a sum of non-negative terms x log(x/y) - x + y."""
    cdef Py_ssize_t i
    cdef double a, b, xh, xl, yh, yl, sp, sq, log_totals, log_xy
    cdef CompensatedSum kl
    csum_init(&kl)
    # log(x/y) = log(a/b) + log_totals for raw weights a, b.
    log_totals = (csum_log_ratio(q_total, p_total)
                  + (log(p_scale) - log(q_scale)))
    sp = p_total.hi
    sq = q_total.hi
    for i in range(n):
        a = weight_at(p, i, p_stride)
        b = weight_at(q, i, q_stride)
        if not (0.0 <= a < INFINITY and 0.0 <= b < INFINITY):
            continue  # omitted NaN bin
        if b == 0.0:
            if a > 0.0:
                return INFINITY
            continue
        split_quotient(b * q_scale, sq, &yh, &yl)
        if a == 0.0:
            csum_add(&kl, yh)
            continue
        split_quotient(a * p_scale, sp, &xh, &xl)
        if xh >= DBL_MIN and yh >= DBL_MIN:
            # log(x/y) from the normalised quotients (and their remainders):
            # no cancellation against log(S_q/S_p) when the totals differ.
            log_xy = log_ratio(xh, yh) + (xl / xh - yl / yh)
        else:
            # x or y below the normal range: from the raw weights instead.
            log_xy = log_ratio(a, b) + log_totals
        csum_add(&kl, divergence_term(xh, xl, yh, yl, log_xy))
    return csum_value(&kl)


cdef inline void divergence_finish(
        const weight_t* p, Py_ssize_t p_stride, const weight_t* q,
        Py_ssize_t q_stride, Py_ssize_t n, double p_scale, double q_scale,
        bint need_entropy, CompensatedSum* p_total, CompensatedSum* q_total,
        double plogp, double plogp_abs, double plogpq, double plogpq_abs,
        bint unbounded, double log_error, bint clean, double* entropy,
        double* kl) noexcept nogil:
    """Entropy and KL from the first read's sums, or from a second read.

    `log_error` bounds, in units of ulp(1), the absolute error of each log
    ratio the first read formed (beyond ~1 ulp of the ratio's own log): 0 with
    exact remainders, 1 without, |log(p_scale/q_scale)| after rescaling.
    `clean`: as for entropy_finish, for both slices.
    """
    cdef bint accurate
    cdef double log_q_over_p, d, fast_unbounded, fast_bad
    if need_entropy:
        d = entropy_from_sums(p_total, plogp, plogp_abs, &accurate)
        if not accurate:
            if clean:
                csum_normalise(p_total)
                d = fast_entropy_accurate(p, n, p_total.hi, p_total.lo)
            else:
                d = pair_entropy_accurate(p, p_stride, q, q_stride, n, p_scale,
                                          p_total)
        entropy[0] = d
    if unbounded:
        kl[0] = INFINITY
        return
    log_q_over_p = csum_log_ratio(q_total, p_total)
    d = plogpq / p_total.hi + log_q_over_p
    if not (log_error + plogpq_abs / p_total.hi + fabs(log_q_over_p)
            <= MAX_CANCELLATION * d):
        fast_bad = 1.0
        if clean:
            d = fast_kl_accurate(p, q, n, p_total.hi, q_total.hi,
                                 &fast_unbounded, &fast_bad)
        if fast_bad != 0.0:
            d = kl_accurate(p, p_stride, q, q_stride, n, p_scale, q_scale,
                            p_total, q_total)
    kl[0] = d


cdef inline int divergence_slice(const weight_t* p, Py_ssize_t p_stride,
                                 const weight_t* q, Py_ssize_t q_stride,
                                 Py_ssize_t n, bint omit_nan, bint need_entropy,
                                 double* entropy, double* kl) noexcept nogil:
    """Entropy of p and KL(p || q), in nats, of one pair of slices.

    Cross entropy is entropy + KL. Returns the flags seen; writes NaN for a
    NaN (unless omitted) or a slice where p or q has no mass. `entropy` is
    only written when `need_entropy`.
    """
    cdef CompensatedSum p_total, q_total, plogp, plogpq
    cdef double p_scale = 1.0, q_scale = 1.0, sp, sq, p_big, q_big
    cdef double abs_sums[2]
    cdef bint unbounded
    cdef he_pair_sums fast
    cdef int flags
    if p_stride == 1 and q_stride == 1:
        # The vectorised read; anything unusual takes the general path below.
        fast_pair_sums(p, q, n, need_entropy, &fast)
        if (fast.bad == 0.0 and total_in_range(fast.p_hi)
                and total_in_range(fast.q_hi)):
            p_total.hi = fast.p_hi
            p_total.lo = fast.p_lo
            q_total.hi = fast.q_hi
            q_total.lo = fast.q_lo
            divergence_finish(p, 1, q, 1, n, 1.0, 1.0, need_entropy,
                              &p_total, &q_total, fast.plogp, fast.plogp_abs,
                              fast.plogpq, fast.plogpq_abs,
                              fast.unbounded > 0.0,
                              0.0 if fast.ratio_exact else 1.0, True,
                              entropy, kl)
            return 0
    flags = pair_sums(p, p_stride, q, q_stride, n, p_scale, q_scale,
                      need_entropy, &p_total, &q_total, &plogp, &plogpq,
                      abs_sums, &p_big, &q_big, &unbounded)
    sp = csum_value(&p_total)
    sq = csum_value(&q_total)
    if (flags & ERROR_FLAGS or (flags & NAN_SEEN and not omit_nan)
            or sp == 0.0 or sq == 0.0):
        kl[0] = NAN
        if need_entropy:
            entropy[0] = NAN
        return flags
    if not (total_in_range(sp) and total_in_range(sq)):
        p_scale = rescale_factor(sp, p_big, n)
        q_scale = rescale_factor(sq, q_big, n)
        pair_sums(p, p_stride, q, q_stride, n, p_scale, q_scale,
                  need_entropy, &p_total, &q_total, &plogp, &plogpq,
                  abs_sums, &p_big, &q_big, &unbounded)
    divergence_finish(p, p_stride, q, q_stride, n, p_scale, q_scale,
                      need_entropy, &p_total, &q_total, csum_value(&plogp),
                      abs_sums[0], csum_value(&plogpq), abs_sums[1],
                      unbounded, fabs(log(p_scale) - log(q_scale)), False,
                      entropy, kl)
    return flags
