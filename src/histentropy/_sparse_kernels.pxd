# Layer 1 for sparse histograms: kernels that see only part of a histogram.
#
# Design
# ------
# A sparse row against a dense reference row q of length k touches only the
# m stored entries of the row. The reference's own statistics (its total
# S_q over the bins that hold numbers, its flags, the power-of-two scale that
# keeps S_q in range) are computed once per distinct reference row by
# `reference_sums`; each sparse row then costs O(m), not O(k).
#
# The caller gathers the row into two contiguous double arrays, a (the stored
# p values) and b (q at the same bins), and `divergence_rest` follows the
# numerical scheme of _kernels.pxd exactly (see its header): one read for the
# fast formula KL = B / S_p + log(S_q / S_p), a cancellation check, and a
# second read summing the non-negative terms x log(x/y) - x + y. The only new
# ingredient is the part of the second read that the row does not touch: the
# bins where p = 0 contribute their y, whose sum is the rest
#     R = S_q - sum of q over the bins kept with p > 0,
# carried as an exact compensated sum (TwoSum per subtraction) from the
# reference total, so that 1 - sum y cancels nothing when p and q nearly
# coincide. A sparse q is handled the same way (its row total is one pass
# over its stored values, without logarithms; q is then looked up at p's
# stored bins), so logarithms are only taken at p's stored values. A dense p
# against a sparse q is merged by the driver into (a, b) pairs over the union
# of the supports and goes to _kernels.divergence_slice unchanged: bins absent
# on both sides hold 0 on both sides and add exactly nothing.
#
# Kernels never validate or raise; they return the flags of _kernels.pxd.

from libc.math cimport log, fabs, fmax, INFINITY, NAN

from histentropy._typedefs cimport weight_t
from histentropy cimport _kernels as k
from histentropy._kernels cimport CompensatedSum


cdef inline void two_sum_add(double* hi, double* lo, double x) noexcept nogil:
    # _kernels.csum_add_exact on a pair of locals (kept in registers).
    cdef double t = hi[0] + x
    cdef double z = t - hi[0]
    lo[0] += (hi[0] - (t - z)) + (x - z)
    hi[0] = t


cdef inline int reference_sums(const weight_t* q, Py_ssize_t n, Py_ssize_t stride,
                               double scale, CompensatedSum* total) noexcept nogil:
    """Add scale * q over the bins holding numbers to `total` (exactly).

    Returns the flags of q (NaN, negative, infinite). No logarithms: a
    reference row is only summed, in four independent TwoSum lanes (one
    lane's latency, not the additions, would bound the speed).
    """
    cdef Py_ssize_t i = 0
    cdef double y0, y1, y2, y3
    cdef double h0 = 0.0, l0 = 0.0, h1 = 0.0, l1 = 0.0
    cdef double h2 = 0.0, l2 = 0.0, h3 = 0.0, l3 = 0.0
    cdef int flags = 0
    while i + 4 <= n:
        y0 = k.weight_at(q, i, stride) * scale
        y1 = k.weight_at(q, i + 1, stride) * scale
        y2 = k.weight_at(q, i + 2, stride) * scale
        y3 = k.weight_at(q, i + 3, stride) * scale
        if not (0.0 <= y0 < INFINITY and 0.0 <= y1 < INFINITY
                and 0.0 <= y2 < INFINITY and 0.0 <= y3 < INFINITY):
            # Rare: classify, and let the bad values add nothing.
            if not (0.0 <= y0 < INFINITY):
                flags |= k.classify(y0, k.NEGATIVE_Q, k.INFINITE_Q)
                y0 = 0.0
            if not (0.0 <= y1 < INFINITY):
                flags |= k.classify(y1, k.NEGATIVE_Q, k.INFINITE_Q)
                y1 = 0.0
            if not (0.0 <= y2 < INFINITY):
                flags |= k.classify(y2, k.NEGATIVE_Q, k.INFINITE_Q)
                y2 = 0.0
            if not (0.0 <= y3 < INFINITY):
                flags |= k.classify(y3, k.NEGATIVE_Q, k.INFINITE_Q)
                y3 = 0.0
        two_sum_add(&h0, &l0, y0)
        two_sum_add(&h1, &l1, y1)
        two_sum_add(&h2, &l2, y2)
        two_sum_add(&h3, &l3, y3)
        i += 4
    while i < n:
        y0 = k.weight_at(q, i, stride) * scale
        if 0.0 <= y0 < INFINITY:
            two_sum_add(&h0, &l0, y0)
        else:
            flags |= k.classify(y0, k.NEGATIVE_Q, k.INFINITE_Q)
        i += 1
    # Each lane's exact pair into the total.
    k.csum_add_exact(total, h0)
    k.csum_add_exact(total, h1)
    k.csum_add_exact(total, h2)
    k.csum_add_exact(total, h3)
    k.csum_add_exact(total, (l0 + l1) + (l2 + l3))
    return flags


cdef inline double reference_largest(const weight_t* q, Py_ssize_t n,
                                     Py_ssize_t stride) noexcept nogil:
    """The largest finite non-negative weight (only needed for rescaling)."""
    cdef Py_ssize_t i
    cdef double y, big = 0.0
    for i in range(n):
        y = k.weight_at(q, i, stride)
        if y > big and y < INFINITY:
            big = y
    return big


cdef inline int rest_sums(const double* a, const double* b, Py_ssize_t m,
                          double p_scale, double q_scale, bint need_entropy,
                          const CompensatedSum* reference,
                          CompensatedSum* p_total, CompensatedSum* q_total,
                          CompensatedSum* plogp, CompensatedSum* plogpq,
                          double* abs_sums, double* p_largest,
                          bint* unbounded) noexcept nogil:
    """One read of the gathered pairs (a_i, b_i), as _kernels.pair_sums.

    q_total starts from the reference total and loses the q of every bin
    dropped because p is not a number there (it only matters for omitted NaN).
    """
    cdef Py_ssize_t start = 0, stop, i
    cdef double x, y, term, ba, bb, na, nb, xbig = 0.0
    cdef double log_scales = log(p_scale) - log(q_scale)
    cdef double neg_a = 0.0, neg_b = 0.0
    cdef int flags = 0
    k.csum_init(p_total)
    k.csum_init(plogp)
    k.csum_init(plogpq)
    q_total[0] = reference[0]
    unbounded[0] = False
    while start < m:
        stop = start + k.BLOCK if start + k.BLOCK < m else m
        ba = 0.0
        bb = 0.0
        na = 0.0
        nb = 0.0
        for i in range(start, stop):
            x = a[i] * p_scale
            y = b[i] * q_scale
            if not (0.0 <= x < INFINITY and 0.0 <= y < INFINITY):
                if not (0.0 <= x < INFINITY):
                    flags |= k.classify(x, k.NEGATIVE_P, k.INFINITE_P)
                    if 0.0 <= y < INFINITY:  # the bin is dropped for q too
                        k.csum_add_exact(q_total, -y)
                else:
                    flags |= k.classify(y, k.NEGATIVE_Q, k.INFINITE_Q)
                continue
            if a[i] > 0.0:
                k.csum_add_exact(p_total, x)
                xbig = fmax(xbig, x)
                if need_entropy and x > 0.0:
                    term = x * log(x)
                    ba += term
                    na += term if term < 0.0 else 0.0
                if b[i] > 0.0:
                    term = x * (k.log_ratio(a[i], b[i]) + log_scales)
                    bb += term
                    nb += term if term < 0.0 else 0.0
                else:
                    unbounded[0] = True
        k.csum_add(plogp, ba)
        k.csum_add(plogpq, bb)
        neg_a += na
        neg_b += nb
        start = stop
    abs_sums[0] = k.csum_value(plogp) - 2.0 * neg_a
    abs_sums[1] = k.csum_value(plogpq) - 2.0 * neg_b
    p_largest[0] = xbig
    return flags


cdef inline double rest_kl_accurate(const double* a, const double* b,
                                    Py_ssize_t m, double p_scale, double q_scale,
                                    CompensatedSum* p_total,
                                    CompensatedSum* q_total) noexcept nogil:
    """Second read: the sum of x log(x/y) - x + y >= 0 over the stored bins
    with p > 0, plus R / S_q for all the bins where p = 0, with the rest
    R = S_q - (q over the kept bins with p > 0) carried exactly."""
    cdef Py_ssize_t i
    cdef double xh, xl, yh, yl, y, sp, sq, log_totals, r
    cdef CompensatedSum kl, rest
    k.csum_init(&kl)
    log_totals = (k.csum_log_ratio(q_total, p_total)
                  + (log(p_scale) - log(q_scale)))
    sp = p_total.hi
    sq = q_total.hi
    rest = q_total[0]
    for i in range(m):
        if not (0.0 < a[i] < INFINITY and 0.0 <= b[i] < INFINITY):
            continue  # p = 0 (its y is in the rest) or an omitted NaN bin
        if b[i] == 0.0:
            return INFINITY
        y = b[i] * q_scale
        k.csum_add_exact(&rest, -y)
        k.split_quotient(y, sq, &yh, &yl)
        k.split_quotient(a[i] * p_scale, sp, &xh, &xl)
        k.csum_add(&kl, k.divergence_term(xh, xl, yh, yl,
                                          k.log_ratio(a[i], b[i]) + log_totals))
    k.csum_normalise(&rest)
    r = (rest.hi + rest.lo) / sq
    if r > 0.0:
        k.csum_add(&kl, r)
    r = k.csum_value(&kl)
    return r if r > 0.0 else 0.0


cdef inline void rest_finish(const double* a, const double* b, Py_ssize_t m,
                             double p_scale, double q_scale, bint need_entropy,
                             CompensatedSum* p_total, CompensatedSum* q_total,
                             double plogp, double plogp_abs, double plogpq,
                             double plogpq_abs, bint unbounded,
                             bint ratio_exact, double* entropy,
                             double* kl) noexcept nogil:
    """As _kernels.divergence_finish, with the rest-aware second read."""
    cdef bint accurate
    cdef double log_q_over_p, d
    if need_entropy:
        d = k.entropy_from_sums(p_total, plogp, plogp_abs, &accurate)
        if not accurate:
            d = k.pair_entropy_accurate(a, 1, b, 1, m, p_scale, p_total)
        entropy[0] = d
    if unbounded:
        kl[0] = INFINITY
        return
    log_q_over_p = k.csum_log_ratio(q_total, p_total)
    d = plogpq / p_total.hi + log_q_over_p
    # Without the exact remainder of p/q (no FMA) each log ratio errs by
    # ~1 ulp absolute: ~1 ulp of sum p / S_p = 1 in all.
    if not ((0.0 if ratio_exact else 1.0) + plogpq_abs / p_total.hi
            + fabs(log_q_over_p) <= k.MAX_CANCELLATION * d):
        d = rest_kl_accurate(a, b, m, p_scale, q_scale, p_total, q_total)
    kl[0] = d


cdef inline int divergence_rest(const double* a, const double* b, Py_ssize_t m,
                                const CompensatedSum* reference, double q_scale,
                                int q_flags, bint omit_nan, bint need_entropy,
                                double* entropy, double* kl) noexcept nogil:
    """Entropy of p and KL(p || q) of a row stored sparsely against a dense
    reference row, given the gathered pairs and the reference's statistics.

    Same results, flags and special values as _kernels.divergence_slice on the
    full rows. The first read is the vectorised one of _kernels when nothing
    is unusual (no NaN, negative or infinite value, no rescaling).
    """
    cdef CompensatedSum p_total, q_total, plogp, plogpq
    cdef double p_scale = 1.0, sp, sq, p_big
    cdef double abs_sums[2]
    cdef bint unbounded
    cdef k.he_pair_sums fast
    cdef int flags
    sq = k.csum_value(reference)
    if (q_flags & k.ERROR_FLAGS or (q_flags & k.NAN_SEEN and not omit_nan)
            or not sq > 0.0):
        kl[0] = NAN
        if need_entropy:
            entropy[0] = NAN
        return q_flags
    if q_scale == 1.0:
        k.fast_pair_sums(a, b, m, need_entropy, &fast)
        if fast.bad == 0.0 and k.total_in_range(fast.p_hi):
            p_total.hi = fast.p_hi
            p_total.lo = fast.p_lo
            q_total = reference[0]
            rest_finish(a, b, m, 1.0, 1.0, need_entropy, &p_total, &q_total,
                        fast.plogp, fast.plogp_abs, fast.plogpq,
                        fast.plogpq_abs, fast.unbounded > 0.0,
                        fast.ratio_exact, entropy, kl)
            return q_flags
    flags = q_flags | rest_sums(
        a, b, m, p_scale, q_scale, need_entropy, reference, &p_total, &q_total,
        &plogp, &plogpq, abs_sums, &p_big, &unbounded)
    sp = k.csum_value(&p_total)
    sq = k.csum_value(&q_total)
    if (flags & k.ERROR_FLAGS or (flags & k.NAN_SEEN and not omit_nan)
            or sp == 0.0 or not sq > 0.0):
        kl[0] = NAN
        if need_entropy:
            entropy[0] = NAN
        return flags
    if not k.total_in_range(sp):
        p_scale = k.rescale_factor(sp, p_big, m)
        rest_sums(a, b, m, p_scale, q_scale, need_entropy, reference,
                  &p_total, &q_total, &plogp, &plogpq, abs_sums, &p_big,
                  &unbounded)
    rest_finish(a, b, m, p_scale, q_scale, need_entropy, &p_total, &q_total,
                k.csum_value(&plogp), abs_sums[0], k.csum_value(&plogpq),
                abs_sums[1], unbounded, True, entropy, kl)
    return flags
