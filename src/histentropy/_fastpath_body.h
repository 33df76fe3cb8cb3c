/* Fast one-read sums over contiguous histograms: the hot loop of histentropy.
 *
 * Included once per instruction set by _fastpath.h, with HE_ISA(name)
 * appending the suffix (_v4, _v3, _v2, _generic) under a matching
 * `#pragma GCC target`. Written so that GCC vectorises it without -ffast-math:
 * HE_LANES independent accumulators per quantity (no reassociation is needed),
 * no branches in the lane loop (selects only), and a branch-free logarithm
 * (he_log, _vlog.h) inlined into the loop.
 *
 * The sums are the first read of the scheme documented in _kernels.pxd:
 * totals with TwoSum per lane (exact), sum w log w and sum w log(w/v) per lane
 * within a block of HE_BLOCK elements, then added across blocks with
 * compensation, so the error does not grow with n. Anything unusual (a NaN,
 * a negative or infinite weight, a ratio p/q outside the normal range) is
 * only counted here: the caller then takes the general Cython kernel, which
 * classifies and handles it.
 */

/* Per instruction set, because the exact remainder of p/q needs an FMA. */
#if defined(__FMA__)
#define HE_RATIO_EXACT 1
#else
#define HE_RATIO_EXACT 0
#endif

static HE_ALWAYS_INLINE void HE_ISA(he_pair_element)(
        double a, double b, int need_entropy,
        double *pt_hi, double *pt_lo, double *qt_hi, double *qt_lo,
        double *a_sum, double *a_neg, double *b_sum, double *b_neg,
        double *bad, double *unbounded)
{
    double r, term;
    *bad += (fabs(a) - a) + (fabs(b) - b);   /* see he_entropy_element */
    he_two_sum_acc(pt_hi, pt_lo, a);
    he_two_sum_acc(qt_hi, qt_lo, b);
    if (need_entropy) {
        term = a * he_log(a + HE_TINY);
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
    term = a * he_log(r + HE_TINY);
#if HE_RATIO_EXACT
    term += fma(-r, b, a);
#endif
    *b_sum += term;
    *b_neg += term - fabs(term);
}

#define HE_SUMS_ENTROPY(T, tname)                                              \
HE_INLINE_FN void HE_ISA(he_entropy_sums_##tname)(                            \
        const T *restrict p, ptrdiff_t n, he_entropy_sums *out)                \
{                                                                              \
    double t_hi[HE_LANES] = {0}, t_lo[HE_LANES] = {0};                         \
    double a_sum[HE_LANES], a_neg[HE_LANES] = {0}, bad[HE_LANES] = {0};        \
    he_csum plogp = {0.0, 0.0};                                                \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    for (start = 0; start < n; start = stop) {                                 \
        stop = (n - start > HE_BLOCK) ? start + HE_BLOCK : n;                  \
        for (j = 0; j < HE_LANES; j++) a_sum[j] = 0.0;                         \
        for (i = start; i + HE_LANES <= stop; i += HE_LANES) {                 \
            for (j = 0; j < HE_LANES; j++) {                                   \
                he_entropy_element((double)p[i + j], &t_hi[j], &t_lo[j],       \
                                   &a_sum[j], &a_neg[j], &bad[j]);             \
            }                                                                  \
        }                                                                      \
        for (; i < stop; i++) {                                                \
            he_entropy_element((double)p[i], &t_hi[0], &t_lo[0],               \
                               &a_sum[0], &a_neg[0], &bad[0]);                 \
        }                                                                      \
        for (j = 0; j < HE_LANES; j++) he_csum_add(&plogp, a_sum[j]);          \
    }                                                                          \
    he_finish_entropy(t_hi, t_lo, &plogp, a_neg, bad, out);                    \
}

#define HE_SUMS_PAIR(T, tname)                                                 \
HE_INLINE_FN void HE_ISA(he_pair_sums_##tname)(                               \
        const T *restrict p, const T *restrict q, ptrdiff_t n,                 \
        int need_entropy, he_pair_sums *out)                                   \
{                                                                              \
    double pt_hi[HE_LANES] = {0}, pt_lo[HE_LANES] = {0};                       \
    double qt_hi[HE_LANES] = {0}, qt_lo[HE_LANES] = {0};                       \
    double a_sum[HE_LANES], a_neg[HE_LANES] = {0};                             \
    double b_sum[HE_LANES], b_neg[HE_LANES] = {0};                             \
    double bad[HE_LANES] = {0}, unbounded[HE_LANES] = {0};                     \
    he_csum plogp = {0.0, 0.0}, plogpq = {0.0, 0.0};                           \
    ptrdiff_t start, i, stop;                                                  \
    int j;                                                                     \
    for (start = 0; start < n; start = stop) {                                 \
        stop = (n - start > HE_BLOCK) ? start + HE_BLOCK : n;                  \
        for (j = 0; j < HE_LANES; j++) { a_sum[j] = 0.0; b_sum[j] = 0.0; }     \
        if (need_entropy) {                                                    \
            for (i = start; i + HE_LANES <= stop; i += HE_LANES) {             \
                for (j = 0; j < HE_LANES; j++) {                               \
                    HE_ISA(he_pair_element)((double)p[i + j], (double)q[i + j], 1,     \
                        &pt_hi[j], &pt_lo[j], &qt_hi[j], &qt_lo[j],            \
                        &a_sum[j], &a_neg[j], &b_sum[j], &b_neg[j],            \
                        &bad[j], &unbounded[j]);                               \
                }                                                              \
            }                                                                  \
        } else {                                                               \
            for (i = start; i + HE_LANES <= stop; i += HE_LANES) {             \
                for (j = 0; j < HE_LANES; j++) {                               \
                    HE_ISA(he_pair_element)((double)p[i + j], (double)q[i + j], 0,     \
                        &pt_hi[j], &pt_lo[j], &qt_hi[j], &qt_lo[j],            \
                        &a_sum[j], &a_neg[j], &b_sum[j], &b_neg[j],            \
                        &bad[j], &unbounded[j]);                               \
                }                                                              \
            }                                                                  \
        }                                                                      \
        for (; i < stop; i++) {                                                \
            HE_ISA(he_pair_element)((double)p[i], (double)q[i], need_entropy,          \
                &pt_hi[0], &pt_lo[0], &qt_hi[0], &qt_lo[0],                    \
                &a_sum[0], &a_neg[0], &b_sum[0], &b_neg[0],                    \
                &bad[0], &unbounded[0]);                                       \
        }                                                                      \
        for (j = 0; j < HE_LANES; j++) {                                       \
            he_csum_add(&plogp, a_sum[j]);                                     \
            he_csum_add(&plogpq, b_sum[j]);                                    \
        }                                                                      \
    }                                                                          \
    he_finish_pair(pt_hi, pt_lo, qt_hi, qt_lo, &plogp, a_neg, &plogpq, b_neg,  \
                   bad, unbounded, HE_RATIO_EXACT, out);                       \
}

#define HE_FOR_EACH_TYPE(X)                                                    \
    X(double, f64) X(float, f32)                                               \
    X(int8_t, i8) X(int16_t, i16) X(int32_t, i32) X(int64_t, i64)              \
    X(uint8_t, u8) X(uint16_t, u16) X(uint32_t, u32) X(uint64_t, u64)

HE_FOR_EACH_TYPE(HE_SUMS_ENTROPY)
HE_FOR_EACH_TYPE(HE_SUMS_PAIR)

#undef HE_RATIO_EXACT
