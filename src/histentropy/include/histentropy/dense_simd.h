/* histentropy/dense_simd.h -- the vectorised reads of contiguous histograms.
 *
 * No include guard: dense.h instantiates it once per CPU path
 * (instantiate.h), HE_ISA(name) adding the path's suffix.  Written so that
 * GCC vectorises it without -ffast-math: HE_LANES independent accumulators
 * per quantity, no data-dependent branches (arithmetic, or he_select), and
 * the branch-free logarithm of vlog.h inlined, with FMA where the target has
 * it.
 *
 * First read (he_*_sums): the sums of the scheme in terms.h, the totals by
 * TwoSum per lane (exact), the other sums per lane within a block of
 * HE_SIMD_BLOCK elements, then across blocks with compensation.  Anything
 * unusual (a NaN, a negative or infinite weight, a ratio p/q outside the
 * normal range) is only detected here, as `bad`: the caller then takes the
 * general kernel of dense.h.
 *
 * Second read (he_*_accurate): the sums of non-negative terms, for slices
 * whose first read was clean, with the totals known.
 *
 * Bad weights are detected arithmetically: |w| - w is 0 for w in [0, inf)
 * (and -0), positive for a negative w, NaN for NaN or +inf, +inf for -inf.
 */

#include "widen_simd.h"

#undef HE_LOG
#undef HE_LOG1P
#undef HE_RATIO_EXACT
#if defined(__FMA__)
#if defined(__AVX512F__)
/* The table-free log (< 0.7 ulp): GCC 12 loads table entries one at a time
 * rather than gathering them, which costs more than its division here. */
#define HE_LOG(x) he__log_notable((x), 1)
#else
#define HE_LOG(x) he__log((x), 1)
#endif
#define HE_LOG1P(x) he__log1p((x), 1)
#define HE_RATIO_EXACT 1
#else
#define HE_LOG(x) he__log((x), 0)
#define HE_LOG1P(x) he__log1p((x), 0)
#define HE_RATIO_EXACT 0
#endif

HE_ALWAYS_INLINE void HE_ISA(he_entropy_element)(
        double w, double *t_hi, double *t_lo, double *a_sum, double *a_neg,
        double *bad)
{
    double term;
    *bad += fabs(w) - w;                  /* see "Bad weights" above */
    he_two_sum(t_hi, t_lo, w);
    term = w * HE_LOG(w + HE_TINY);       /* 0 log 0 = 0 log(tiny) = 0 */
    *a_sum += term;
    *a_neg += term - fabs(term);          /* twice the negative part */
}

HE_ALWAYS_INLINE void HE_ISA(he_pair_element)(
        double a, double b, int need_entropy,
        double *pt_hi, double *pt_lo, double *qt_hi, double *qt_lo,
        double *a_sum, double *a_neg, double *b_sum, double *b_neg,
        double *bad, double *unbounded)
{
    double r, term;
    *bad += (fabs(a) - a) + (fabs(b) - b);
    he_two_sum(pt_hi, pt_lo, a);
    he_two_sum(qt_hi, qt_lo, b);
    if (need_entropy) {
        term = a * HE_LOG(a + HE_TINY);
        *a_sum += term;
        *a_neg += term - fabs(term);
    }
    /* a log(a/b) through the log of the ratio (one log, as scipy's rel_entr).
     * HE_TINY makes 0/0 a ratio of 1 and 0 * log(0/b) a product with a finite
     * log; a > 0 with b = 0 is counted as unbounded (KL = +inf). A ratio
     * below the normal range for a > 0 is counted as bad: the general kernel
     * takes the difference of logs there. With an FMA the rounding of r is
     * undone: log(a/b) = log r + rem/a with rem = a - r*b exact, so
     * a log(a/b) = a log r + rem. */
    r = (a + HE_TINY) / (b + HE_TINY);
    *unbounded += (b == 0.0) ? a : 0.0;
    *bad += (r < DBL_MIN) ? a : 0.0;
    term = a * HE_LOG(r + HE_TINY);
#if HE_RATIO_EXACT
    term += fma(-r, b, a);
#endif
    *b_sum += term;
    *b_neg += term - fabs(term);
}

/* -x log x for x = w / S, S = hi + lo; log1p(-(S - w)/S) for x > 1/2, where
 * S - w is exact (Sterbenz). Both logs are computed and one is selected. */
HE_ALWAYS_INLINE double HE_ISA(he_neg_x_log_x)(
        double w, double hi, double lo, double inv)
{
    double x = w * inv;
    double near_one, small, term;
    x -= x * (lo * inv);
    near_one = HE_LOG1P(-((hi - w) + lo) * inv);
    small = HE_LOG(x + HE_TINY);
    term = -x * he_select(x > 0.5, near_one, small);
    return 0.5 * (term + fabs(term));     /* >= 0 also after rounding */
}

/* x log(x/y) - x + y >= 0 for x = a/sp, y = b/sq (he_divergence_term of
 * terms.h): the atanh series in u = (x - y)/(x + y) for |u| <= 1/8,
 * the direct form otherwise, both computed and one selected. Quotients are
 * split into hi + lo with an exact FMA remainder so that x - y is exact. */
HE_ALWAYS_INLINE double HE_ISA(he_divergence_term)(
        double a, double b, double sp, double isp, double sq, double isq,
        double *bad)
{
    double xh = a * isp, yh = b * isq;
    double xl = fma(-xh, sp, a) * isp, yl = fma(-yh, sq, b) * isq;
    double s = xh + yh, u, series, log_xy, direct;
    /* Quotients below the normal range (a tiny weight against a large
     * total): the general kernel forms their logs from the raw weights. */
    *bad += (xh < DBL_MIN) ? a : 0.0;
    *bad += (yh < DBL_MIN) ? b : 0.0;
    u = ((xh - yh) + (xl - yl)) / (s + HE_TINY);
    series = he_divergence_series(s, u);
    log_xy = HE_LOG((xh + HE_TINY) / (yh + HE_TINY) + HE_TINY)
             + (xl / (xh + HE_TINY) - yl / (yh + HE_TINY));
    direct = xh * log_xy - xh + yh;
    direct = 0.5 * (direct + fabs(direct));
    return he_select(fabs(u) <= 0.125, series, direct);
}

/* The loop of every read below: blocks of HE_SIMD_BLOCK elements, each in
 * HE_LANES independent lanes (the tail in lane 0), so that GCC vectorises
 * without reassociating; BLOCK_START and BLOCK_END run around each block
 * (its lane sums then enter a compensated sum), ELEMENT(k, j) for element k
 * in lane j. */
#define HE_LANE_LOOP(BLOCK_START, ELEMENT, BLOCK_END)                          \
    for (start = 0; start < n; start = stop) {                                 \
        stop = (n - start > HE_SIMD_BLOCK) ? start + HE_SIMD_BLOCK : n;        \
        BLOCK_START;                                                           \
        for (i = start; i + HE_LANES <= stop; i += HE_LANES)                   \
            for (j = 0; j < HE_LANES; j++) {                                   \
                ELEMENT(i + j, j);                                             \
            }                                                                  \
        for (; i < stop; i++) {                                                \
            ELEMENT(i, 0);                                                     \
        }                                                                      \
        BLOCK_END;                                                             \
    }

#define HE_ZERO_LANES(v) for (j = 0; j < HE_LANES; j++) v[j] = 0.0
#define HE_ZERO_LANES2(v, w) for (j = 0; j < HE_LANES; j++) v[j] = w[j] = 0.0

#define HE_ENTROPY_ELEMENT(k, l)                                               \
    (HE_ISA(he_entropy_element)(HE_WIDEN(p[k]), &t_hi[l], &t_lo[l], &a_sum[l], \
                                &a_neg[l], &bad[l]),                           \
     bad[l] += HE_WIDEN_BAD(p[k]))

/* need_entropy as a constant in each copy of the loop, so none tests it. */
#define HE_PAIR_ELEMENT(k, l, NEED_ENTROPY)                                    \
    bad[l] += HE_WIDEN_BAD(p[k]) + HE_WIDEN_BAD(q[k]);                         \
    HE_ISA(he_pair_element)(HE_WIDEN(p[k]), HE_WIDEN(q[k]), NEED_ENTROPY,      \
                            &pt_hi[l], &pt_lo[l], &qt_hi[l], &qt_lo[l],        \
                            &a_sum[l], &a_neg[l], &b_sum[l], &b_neg[l],        \
                            &bad[l], &unbounded[l])
#define HE_PAIR_ELEMENT_H(k, l) HE_PAIR_ELEMENT(k, l, 1)
#define HE_PAIR_ELEMENT_NO_H(k, l) HE_PAIR_ELEMENT(k, l, 0)

#define HE_ENTROPY_ACCURATE_ELEMENT(k, l)                                      \
    acc[l] += HE_ISA(he_neg_x_log_x)(HE_WIDEN(p[k]), hi, lo, inv)

#define HE_KL_ACCURATE_ELEMENT(k, l)                                           \
    do {                                                                       \
        double a = HE_WIDEN(p[k]), b = HE_WIDEN(q[k]);                         \
        unb[l] += (b == 0.0) ? a : 0.0;                                        \
        acc[l] += HE_ISA(he_divergence_term)(a, b, sp, isp, sq, isq, &bd[l]);  \
    } while (0)

#if defined(__AVX512F__) && defined(__AVX512DQ__)
/* AVX-512: two vectors of eight lanes with the steps of vlog_avx512.h; a
 * block's last elements (fewer than sixteen) by loads of eight with zeros
 * beyond them (a zero adds nothing to any sum); the lanes combined in
 * vectors where the slice ends. */
/* A block's loop, sixteen elements a step, then its last ones:
 * STEP(K, ..., at, count) reads `count` (<= 8) elements from `at` into the
 * lanes of vector K (0 or 1). */
#define HE_AVX512_BLOCK(STEP, ...)                                             \
    for (i = start; i + HE_LANES <= stop; i += HE_LANES) {                     \
        STEP(0, __VA_ARGS__, i, 8);                                            \
        STEP(1, __VA_ARGS__, i + 8, 8);                                        \
    }                                                                          \
    if (i < stop) {                                                            \
        STEP(0, __VA_ARGS__, i, stop - i < 8 ? stop - i : 8);                  \
        if (stop - i > 8)                                                      \
            STEP(1, __VA_ARGS__, i + 8, stop - i - 8);                         \
    }
#define HE_ENTROPY_STEP_AT(K, tname, code, at, count)                          \
    do {                                                                       \
        __m512d w_ = HE_LOAD8_FIRST(tname, code, p + (at), count);             \
        HE_AVX512_ENTROPY_STEP(w_, h##K, l##K, s##K, g##K, b##K);              \
    } while (0)
#define HE_SUMS_ENTROPY(T, tname, code)                                        \
static void HE_ISA(he_entropy_sums_##tname)(                                   \
        const T *restrict p, ptrdiff_t n, he_entropy_sums *out)                \
{                                                                              \
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);      \
    __m512d h0 = zero, h1 = zero, l0 = zero, l1 = zero, g0 = zero, g1 = zero;  \
    __m512d b0 = zero, b1 = zero, s0, s1;                                      \
    he_csum plogp = {0.0, 0.0};                                                \
    ptrdiff_t start, i, stop;                                                  \
    for (start = 0; start < n; start = stop) {                                 \
        stop = (n - start > HE_SIMD_BLOCK) ? start + HE_SIMD_BLOCK : n;        \
        s0 = s1 = zero;                                                        \
        HE_AVX512_BLOCK(HE_ENTROPY_STEP_AT, tname, code)                       \
        he_csum_add(&plogp, _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)));      \
    }                                                                          \
    he_entropy_sums_of(he_total16(h0, l0, h1, l1), &plogp,                     \
                       2.0 * _mm512_reduce_add_pd(_mm512_add_pd(g0, g1)),      \
                       _mm512_reduce_add_pd(_mm512_add_pd(b0, b1)), out);      \
}
#else
#define HE_SUMS_ENTROPY(T, tname, code)                                        \
static void HE_ISA(he_entropy_sums_##tname)(                                   \
        const T *restrict p, ptrdiff_t n, he_entropy_sums *out)                \
{                                                                              \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double t_hi[HE_LANES] = {0}, t_lo[HE_LANES] = {0};                         \
    double a_sum[HE_LANES], a_neg[HE_LANES] = {0}, bad[HE_LANES] = {0};        \
    he_csum plogp = {0.0, 0.0};                                                \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    HE_LANE_LOOP(HE_ZERO_LANES(a_sum), HE_ENTROPY_ELEMENT,                     \
                 he_csum_add(&plogp, he_lanes_sum(a_sum)))                     \
    he_lanes_entropy_sums(t_hi, t_lo, &plogp, a_neg, bad, out);                \
}
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__)
/* AVX-512: as the entropy read above. */
#define HE_AVX512_PAIR_BLOCKS(NEED_H, tname, code)                             \
    for (start = 0; start < n; start = stop) {                                 \
        stop = (n - start > HE_SIMD_BLOCK) ? start + HE_SIMD_BLOCK : n;        \
        as0 = as1 = bs0 = bs1 = zero;                                          \
        HE_AVX512_BLOCK(HE_PAIR_STEP, NEED_H, tname, code)                     \
        he_csum_add(&plogp, _mm512_reduce_add_pd(_mm512_add_pd(as0, as1)));    \
        he_csum_add(&plogpq, _mm512_reduce_add_pd(_mm512_add_pd(bs0, bs1)));   \
    }
/* Eight pairs from `at`, the first `count` of them (the others zero), into
 * the lanes of vector K (0 or 1). */
#define HE_PAIR_STEP(K, NEED_H, tname, code, at, count)                        \
    do {                                                                       \
        __m512d wp_ = HE_LOAD8_FIRST(tname, code, p + (at), count);            \
        __m512d wq_ = HE_LOAD8_FIRST(tname, code, q + (at), count);            \
        HE_AVX512_PAIR_STEP(wp_, wq_, NEED_H, ph##K, pl##K, qh##K, ql##K, as##K, \
                            an##K, bs##K, bn##K, bd##K, un##K);                \
    } while (0)
#define HE_SUMS_PAIR(T, tname, code)                                           \
static void HE_ISA(he_pair_sums_##tname)(                                      \
        const T *restrict p, const T *restrict q, ptrdiff_t n,                 \
        int need_entropy, he_pair_sums *out)                                   \
{                                                                              \
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);      \
    const __m512d dbl_min = _mm512_set1_pd(DBL_MIN);                           \
    const __m512d dbl_max = _mm512_set1_pd(DBL_MAX);                           \
    __m512d ph0 = zero, ph1 = zero, pl0 = zero, pl1 = zero;                    \
    __m512d qh0 = zero, qh1 = zero, ql0 = zero, ql1 = zero;                    \
    __m512d an0 = zero, an1 = zero, bn0 = zero, bn1 = zero;                    \
    __m512d bd0 = zero, bd1 = zero, un0 = zero, un1 = zero;                    \
    __m512d as0, as1, bs0, bs1;                                                \
    he_csum plogp = {0.0, 0.0}, plogpq = {0.0, 0.0};                           \
    ptrdiff_t start, i, stop;                                                  \
    if (need_entropy)                                                          \
        HE_AVX512_PAIR_BLOCKS(1, tname, code)                                  \
    else                                                                       \
        HE_AVX512_PAIR_BLOCKS(0, tname, code)                                  \
    he_pair_sums_of(he_total16(ph0, pl0, ph1, pl1), he_total16(qh0, ql0, qh1, ql1), \
                    &plogp, 2.0 * _mm512_reduce_add_pd(_mm512_add_pd(an0, an1)), \
                    &plogpq, 2.0 * _mm512_reduce_add_pd(_mm512_add_pd(bn0, bn1)), \
                    _mm512_reduce_add_pd(_mm512_add_pd(bd0, bd1)),             \
                    _mm512_reduce_add_pd(_mm512_add_pd(un0, un1)), 1, out);    \
}
#else
#define HE_SUMS_PAIR(T, tname, code)                                           \
static void HE_ISA(he_pair_sums_##tname)(                                      \
        const T *restrict p, const T *restrict q, ptrdiff_t n,                 \
        int need_entropy, he_pair_sums *out)                                   \
{                                                                              \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double pt_hi[HE_LANES] = {0}, pt_lo[HE_LANES] = {0};                       \
    double qt_hi[HE_LANES] = {0}, qt_lo[HE_LANES] = {0};                       \
    double a_sum[HE_LANES], a_neg[HE_LANES] = {0};                             \
    double b_sum[HE_LANES], b_neg[HE_LANES] = {0};                             \
    double bad[HE_LANES] = {0}, unbounded[HE_LANES] = {0};                     \
    he_csum plogp = {0.0, 0.0}, plogpq = {0.0, 0.0};                           \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    if (need_entropy)                                                          \
        HE_LANE_LOOP(HE_ZERO_LANES2(a_sum, b_sum),             \
                     HE_PAIR_ELEMENT_H,                                        \
                     (he_csum_add(&plogp, he_lanes_sum(a_sum)),                \
                      he_csum_add(&plogpq, he_lanes_sum(b_sum))))              \
    else                                                                       \
        HE_LANE_LOOP(HE_ZERO_LANES2(a_sum, b_sum),             \
                     HE_PAIR_ELEMENT_NO_H,                                     \
                     (he_csum_add(&plogp, he_lanes_sum(a_sum)),                \
                      he_csum_add(&plogpq, he_lanes_sum(b_sum))))              \
    he_lanes_pair_sums(pt_hi, pt_lo, qt_hi, qt_lo, &plogp, a_neg, &plogpq,     \
                       b_neg, bad, unbounded, HE_RATIO_EXACT, out);            \
}
#endif

/* Second reads. Each returns the sum of its non-negative terms; the KL one
 * also reports bins with p > 0 and q = 0 (+inf) and quotients the general
 * read must handle (`bad`). */
#define HE_ACCURATE(T, tname, code)                                            \
static double HE_ISA(he_entropy_accurate_##tname)(                             \
        const T *restrict p, ptrdiff_t n, double hi, double lo)                \
{                                                                              \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double acc[HE_LANES];                                                      \
    double inv = 1.0 / hi;                                                     \
    he_csum h = {0.0, 0.0};                                                    \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    HE_LANE_LOOP(HE_ZERO_LANES(acc), HE_ENTROPY_ACCURATE_ELEMENT,              \
                 he_csum_add(&h, he_lanes_sum(acc)))                           \
    return h.hi + h.lo;                                                        \
}                                                                              \
static double HE_ISA(he_kl_accurate_##tname)(                                  \
        const T *restrict p, const T *restrict q, ptrdiff_t n,                 \
        double sp, double sq, double *unbounded, double *bad)                  \
{                                                                              \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double acc[HE_LANES], unb[HE_LANES] = {0}, bd[HE_LANES] = {0};             \
    double isp = 1.0 / sp, isq = 1.0 / sq;                                     \
    he_csum kl = {0.0, 0.0};                                                   \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    HE_LANE_LOOP(HE_ZERO_LANES(acc), HE_KL_ACCURATE_ELEMENT,                   \
                 he_csum_add(&kl, he_lanes_sum(acc)))                          \
    *unbounded = 0.0;                                                          \
    *bad = 0.0;                                                                \
    for (j = 0; j < HE_LANES; j++) { *unbounded += unb[j]; *bad += bd[j]; }    \
    return kl.hi + kl.lo;                                                      \
}

/* ---- the measure family (family.h) --------------------------------------- */

/* First read: the totals by TwoSum per lane, the support violations, bad
 * weights.  q NULL (a measure of p alone) reads b = 0. */
#define HE_FAMILY_SUMS_ELEMENT(k, l, NEED_Q)                                   \
    do {                                                                       \
        double a = HE_WIDEN(p[k]), b = NEED_Q ? HE_WIDEN(q[k]) : 0.0;          \
        bad[l] += HE_WIDEN_BAD(p[k]) + (NEED_Q ? HE_WIDEN_BAD(q[k]) : 0.0);    \
        bad[l] += (fabs(a) - a) + (fabs(b) - b);                               \
        he_two_sum(&pt_hi[l], &pt_lo[l], a);                                   \
        he_two_sum(&qt_hi[l], &qt_lo[l], b);                                   \
        p_only[l] += (b == 0.0) ? a : 0.0;                                     \
        p_max[l] = (a > p_max[l]) ? a : p_max[l];                              \
        q_only[l] += (a == 0.0) ? b : 0.0;                                     \
    } while (0)
#define HE_FAMILY_SUMS_ELEMENT_PQ(k, l) HE_FAMILY_SUMS_ELEMENT(k, l, 1)
#define HE_FAMILY_SUMS_ELEMENT_P(k, l) HE_FAMILY_SUMS_ELEMENT(k, l, 0)

/* One side of a bin: w + c as hi + lo, its quotient by the total as hi + lo
 * (FMA remainder, the total's low part included). */
HE_ALWAYS_INLINE void HE_ISA(he_family_quotient)(double w, double c, double s,
                                                 double s_lo, double inv, double *xh,
                                                 double *xl, double *bad)
{
    double h = w + c, z = h - w, e = (w - (h - z)) + (c - z);
    *xh = h * inv;
    *xl = (fma(-*xh, s, h) + (e - *xh * s_lo)) * inv;
    /* a quotient below the normal range: the general read forms its logs */
    *bad += (*xh < DBL_MIN) ? h : 0.0;
}

/* x log(x/m) - x + m >= 0, m = (x + y)/2 (he_js_part of terms.h), with
 * the series and the direct form both computed and one selected. */
HE_ALWAYS_INLINE double HE_ISA(he_js_part)(double x, double y, double d)
{
    double s = 1.5 * x + 0.5 * y, u = 0.5 * d / (s + HE_TINY);
    double series = he_divergence_series(s, u);
    double direct = x * HE_LOG((x + HE_TINY) / (0.5 * (x + y) + HE_TINY)) - 0.5 * d;
    direct = 0.5 * (direct + fabs(direct));
    return he_select(fabs(u) <= 0.125, series, direct);
}

/* The family's second-read term of one bin (he_family_term of terms.h),
 * branch-free; `measure` is a constant in each loop. */
HE_ALWAYS_INLINE double HE_ISA(he_family_element_term)(int measure, double a, double b,
                                                       const he_family_consts *k,
                                                       double *bad)
{
    double xh, xl, yh, yl, d, t, r, L;
    HE_ISA(he_family_quotient)(a, k->c, k->sp, k->sp_lo, k->isp, &xh, &xl, bad);
    HE_ISA(he_family_quotient)(b, k->c, k->sq, k->sq_lo, k->isq, &yh, &yl, bad);
    d = (xh - yh) + (xl - yl);
    switch (measure) {
    case HE_KL_DIVERGENCE:  /* x log(x/y) - x + y (he_divergence_term) */
        r = (xh + HE_TINY) / (yh + HE_TINY);
        L = HE_LOG(r + HE_TINY) + (xl / (xh + HE_TINY) - yl / (yh + HE_TINY));
#if HE_RATIO_EXACT
        L += fma(-r, yh, xh) / (xh + HE_TINY);
#endif
        t = xh * L - d;
        r = d / (xh + yh + HE_TINY);
        return he_select(fabs(r) <= 0.125, he_divergence_series(xh + yh, r),
                         0.5 * (t + fabs(t)));
    case HE_JS_DIVERGENCE:
        return 0.5 * (HE_ISA(he_js_part)(xh, yh, d) + HE_ISA(he_js_part)(yh, xh, -d));
    case HE_HELLINGER:
        t = d / (sqrt(xh) + sqrt(yh) + HE_TINY);
        return 0.5 * t * t;
    case HE_TOTAL_VARIATION:
        return 0.5 * fabs(d);
    case HE_CHI_SQUARE:
        return d * d / ((yh + yl) + HE_TINY);
    default:  /* HE_JEFFREYS: d log(x/y), both factors accurate */
        r = (xh + HE_TINY) / (yh + HE_TINY);
        L = HE_LOG(r + HE_TINY) + (xl / (xh + HE_TINY) - yl / (yh + HE_TINY));
#if HE_RATIO_EXACT
        L += fma(-r, yh, xh) / (xh + HE_TINY);
#else
        /* Without an FMA the rounding of r stays in log r (~1 ulp of 1,
         * all of a tiny log(x/y)): near x = y, log1p(d/y) from the exact d. */
        L = he_select(fabs(d) <= 0.5 * yh, HE_LOG1P(d / (yh + HE_TINY)), L);
#endif
        t = d * L;
        return 0.5 * (t + fabs(t));
    }
}

/* Renyi entropy, one bin (terms.h): x expm1((alpha - 1) log x), or
 * x^alpha - x where that exponent exceeds 1, times the sign. */
HE_ALWAYS_INLINE double HE_ISA(he_renyi_entropy_term)(double a, const he_family_consts *k,
                                                      double *bad)
{
    double xh, xl, lx, e, ex, em, big, t;
    double w = a + k->c;
    HE_ISA(he_family_quotient)(a, k->c, k->sp, k->sp_lo, k->isp, &xh, &xl, bad);
    lx = he_select(xh > 0.5, HE_LOG1P(-((k->sp - w) + k->sp_lo) * k->isp),
                   HE_LOG(xh + HE_TINY) + xl / (xh + HE_TINY));
    e = (k->alpha - 1.0) * lx;
    he__exp_expm1(e, &ex, &em);
    he__exp_expm1(k->alpha * lx, &big, &t);
    t = he_select(e <= 1.0, xh * em, big - xh);
    t = k->sign * he_select(w == 0.0, 0.0, t);
    return 0.5 * (t + fabs(t));
}

/* Renyi entropy as a scaled power sum, one bin: (x / max x)^alpha, from
 * the ratio of the raw weights (exactly 1 for the largest). */
HE_ALWAYS_INLINE double HE_ISA(he_renyi_power_term)(double a, const he_family_consts *k)
{
    double w = a + k->c, r = w / k->largest, lr, ex, em;
    lr = HE_LOG(r + HE_TINY);
#if HE_RATIO_EXACT
    lr += fma(-r, k->largest, w) / (w + HE_TINY);
#endif
    lr = lr < 0.0 ? lr : 0.0;
    he__exp_expm1(k->alpha * lr, &ex, &em);
    return he_select(w == 0.0, 0.0, ex);
}

/* Renyi divergence, one bin (he_renyi_pair of terms.h), times the sign;
 * the series near x = y, else x expm1(beta L) - beta (y - x).  An exponent
 * beyond 700 is left to the general read (`bad`). */
HE_ALWAYS_INLINE double HE_ISA(he_renyi_divergence_term)(double a, double b,
                                                         const he_family_consts *k,
                                                         double *bad)
{
    double xh, xl, yh, yl, d, r, L, bl, poly, ex, em, t, main, edge;
    int j;
    HE_ISA(he_family_quotient)(a, k->c, k->sp, k->sp_lo, k->isp, &xh, &xl, bad);
    HE_ISA(he_family_quotient)(b, k->c, k->sq, k->sq_lo, k->isq, &yh, &yl, bad);
    d = (xh - yh) + (xl - yl);
    r = (yh + HE_TINY) / (xh + HE_TINY);
    L = HE_LOG(r + HE_TINY) + (yl / (yh + HE_TINY) - xl / (xh + HE_TINY));
#if HE_RATIO_EXACT
    L += fma(-r, xh, yh) / (yh + HE_TINY);
#endif
    bl = k->beta * L;
    poly = k->coef[HE_RENYI_COEFS - 1];
    for (j = HE_RENYI_COEFS - 2; j >= 0; j--)
        poly = poly * L + k->coef[j];
    he__exp_expm1(bl, &ex, &em);
    main = he_select((fabs(L) <= 0.125) & (fabs(bl) <= 0.5), xh * (L * L) * poly,
                     xh * em + k->beta * d);
    /* a bin with one side 0: -alpha x (y = 0), -beta y (x = 0), or 0 */
    edge = he_select(yh == 0.0, -k->alpha * xh, -k->beta * yh);
    main = he_select(k->beta == 1.0, 0.0, main);    /* alpha = 0: x^0 y - y */
    t = he_select((xh > 0.0) & (yh > 0.0), main, edge);
    *bad += ((xh > 0.0) & (yh > 0.0) & (bl > 700.0)) ? 1.0 : 0.0;
    t = k->sign * t;
    return 0.5 * (t + fabs(t));
}

#define HE_FAMILY_TERM_ELEMENT(k, l, M)                                        \
    acc[l] += HE_ISA(he_family_element_term)(M, HE_WIDEN(p[k]), HE_WIDEN(q[k]), c, &bd[l])
#define HE_FAMILY_ENTROPY(k, l)                                                \
    acc[l] += HE_ISA(he_neg_x_log_x)(HE_WIDEN(p[k]) + c->c, c->sp, c->sp_lo, c->isp)
#define HE_FAMILY_KL(k, l) HE_FAMILY_TERM_ELEMENT(k, l, HE_KL_DIVERGENCE)
#define HE_FAMILY_RENYI_ENTROPY(k, l)                                          \
    acc[l] += HE_ISA(he_renyi_entropy_term)(HE_WIDEN(p[k]), c, &bd[l])
#define HE_FAMILY_RENYI_POWER(k, l)                                            \
    acc[l] += HE_ISA(he_renyi_power_term)(HE_WIDEN(p[k]), c)
#define HE_FAMILY_RENYI_DIVERGENCE(k, l)                                       \
    acc[l] += HE_ISA(he_renyi_divergence_term)(HE_WIDEN(p[k]), HE_WIDEN(q[k]), c, &bd[l])
#define HE_FAMILY_JS(k, l) HE_FAMILY_TERM_ELEMENT(k, l, HE_JS_DIVERGENCE)
#define HE_FAMILY_HELLINGER(k, l) HE_FAMILY_TERM_ELEMENT(k, l, HE_HELLINGER)
#define HE_FAMILY_TV(k, l) HE_FAMILY_TERM_ELEMENT(k, l, HE_TOTAL_VARIATION)
#define HE_FAMILY_JEFFREYS(k, l) HE_FAMILY_TERM_ELEMENT(k, l, HE_JEFFREYS)
#define HE_FAMILY_CHI_SQUARE(k, l) HE_FAMILY_TERM_ELEMENT(k, l, HE_CHI_SQUARE)
#define HE_FAMILY_LOOP(ELEMENT)                                                \
    HE_LANE_LOOP(HE_ZERO_LANES(acc), ELEMENT, he_csum_add(&sum, he_lanes_sum(acc)))

#define HE_FAMILY(T, tname, code)                                              \
static void HE_ISA(he_family_sums_##tname)(                                    \
        const T *restrict p, const T *restrict q, ptrdiff_t n,                 \
        he_family_sums *out)                                                   \
{                                                                              \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double pt_hi[HE_LANES] = {0}, pt_lo[HE_LANES] = {0};                       \
    double qt_hi[HE_LANES] = {0}, qt_lo[HE_LANES] = {0};                       \
    double p_only[HE_LANES] = {0}, q_only[HE_LANES] = {0};                     \
    double p_max[HE_LANES] = {0};                                              \
    double bad[HE_LANES] = {0};                                                \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    if (q != NULL)                                                             \
        HE_LANE_LOOP((void)0, HE_FAMILY_SUMS_ELEMENT_PQ, (void)0)              \
    else                                                                       \
        HE_LANE_LOOP((void)0, HE_FAMILY_SUMS_ELEMENT_P, (void)0)               \
    he_lanes_family_sums(pt_hi, pt_lo, qt_hi, qt_lo, p_only, q_only, p_max, bad, \
                         out);                                                 \
}

/* The second read is compiled for float64 only (the other types are
 * converted by blocks: dense.h), which keeps the build short. */
#define HE_FAMILY_ACCURATE(T, tname, code)                                     \
static double HE_ISA(he_family_accurate_##tname)(                              \
        int measure, const T *restrict p, const T *restrict q, ptrdiff_t n,    \
        const he_family_consts *c, double *bad)                                \
{                                                                              \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double acc[HE_LANES], bd[HE_LANES] = {0};                                  \
    he_csum sum = {0.0, 0.0};                                                  \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    switch (measure) {                                                         \
    case HE_ENTROPY: HE_FAMILY_LOOP(HE_FAMILY_ENTROPY) break;                  \
    case HE_KL_DIVERGENCE: HE_FAMILY_LOOP(HE_FAMILY_KL) break;                 \
    case HE_RENYI_ENTROPY: HE_FAMILY_LOOP(HE_FAMILY_RENYI_ENTROPY) break;      \
    case HE_RENYI_POWER_SUM: HE_FAMILY_LOOP(HE_FAMILY_RENYI_POWER) break;     \
    case HE_RENYI_DIVERGENCE: HE_FAMILY_LOOP(HE_FAMILY_RENYI_DIVERGENCE) break; \
    case HE_JS_DIVERGENCE: HE_FAMILY_LOOP(HE_FAMILY_JS) break;                 \
    case HE_HELLINGER: HE_FAMILY_LOOP(HE_FAMILY_HELLINGER) break;              \
    case HE_TOTAL_VARIATION: HE_FAMILY_LOOP(HE_FAMILY_TV) break;               \
    case HE_JEFFREYS: HE_FAMILY_LOOP(HE_FAMILY_JEFFREYS) break;                \
    default: HE_FAMILY_LOOP(HE_FAMILY_CHI_SQUARE) break;                       \
    }                                                                          \
    *bad = 0.0;                                                                \
    for (j = 0; j < HE_LANES; j++) *bad += bd[j];                              \
    return sum.hi + sum.lo;                                                    \
}

HE_FOR_EACH_TYPE(HE_SUMS_ENTROPY)
HE_FOR_EACH_TYPE(HE_SUMS_PAIR)
HE_FOR_EACH_TYPE(HE_ACCURATE)
HE_FOR_EACH_TYPE(HE_FAMILY)
HE_FAMILY_ACCURATE(double, f64, 0)
#undef HE_FAMILY
#undef HE_FAMILY_ACCURATE
#undef HE_FAMILY_LOOP
#undef HE_FAMILY_TERM_ELEMENT
#undef HE_FAMILY_JS
#undef HE_FAMILY_ENTROPY
#undef HE_FAMILY_KL
#undef HE_FAMILY_RENYI_ENTROPY
#undef HE_FAMILY_RENYI_POWER
#undef HE_FAMILY_RENYI_DIVERGENCE
#undef HE_FAMILY_HELLINGER
#undef HE_FAMILY_TV
#undef HE_FAMILY_JEFFREYS
#undef HE_FAMILY_CHI_SQUARE
#undef HE_FAMILY_SUMS_ELEMENT
#undef HE_FAMILY_SUMS_ELEMENT_PQ
#undef HE_FAMILY_SUMS_ELEMENT_P
#undef HE_SUMS_ENTROPY
#undef HE_AVX512_BLOCK
#undef HE_ENTROPY_STEP_AT
#undef HE_PAIR_STEP
#undef HE_AVX512_PAIR_BLOCKS
#undef HE_SUMS_PAIR
#undef HE_ACCURATE
#undef HE_LANE_LOOP
#undef HE_ZERO_LANES
#undef HE_ZERO_LANES2
#undef HE_ENTROPY_ELEMENT
#undef HE_PAIR_ELEMENT
#undef HE_PAIR_ELEMENT_H
#undef HE_PAIR_ELEMENT_NO_H
#undef HE_ENTROPY_ACCURATE_ELEMENT
#undef HE_KL_ACCURATE_ELEMENT
