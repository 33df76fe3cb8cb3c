/* histentropy/joint_simd.h -- the vectorised reads of joint.h.
 *
 * No include guard: joint.h instantiates it once per CPU path
 * (instantiate.h), HE_ISA(name) adding the path's suffix.  Written as
 * dense_simd.h is, so that GCC vectorises it without -ffast-math: HE_LANES
 * independent accumulators, no data-dependent branches, the branch-free
 * logarithm of vlog.h inlined.  A row of the table is ny contiguous weights.
 */

#undef HE_JOINT_LOG
#if defined(__FMA__)
#if defined(__AVX512F__)
#define HE_JOINT_LOG(x) he__log_notable((x), 1)
#else
#define HE_JOINT_LOG(x) he__log((x), 1)
#endif
#else
#define HE_JOINT_LOG(x) he__log((x), 0)
#endif

#include "widen_simd.h"

/* One block of cells (n <= HE_SIMD_BLOCK) in HE_LANES lanes, the tail in
 * lane 0. */
#define HE_JOINT_LOOP(ELEMENT)                                                 \
    for (i = 0; i + HE_LANES <= n; i += HE_LANES)                              \
        for (j = 0; j < HE_LANES; j++) {                                       \
            ELEMENT(i + j, j);                                                 \
        }                                                                      \
    for (; i < n; i++) {                                                       \
        ELEMENT(i, 0);                                                         \
    }

/* First read of a row: its weights added to the columns' sums (TwoSum into
 * c_hi + c_lo, exact), the row's sum in lanes (returned), |w| - w into
 * *bad (non-zero for a NaN, a negative or an infinite weight). */
#define HE_JOINT_MARGINS_ELEMENT(k, l)                                         \
    do {                                                                       \
        double w = (double)p[k];                                               \
        bd[l] += fabs(w) - w;                                                  \
        acc[l] += w;                                                           \
        he_two_sum(&c_hi[k], &c_lo[k], w);                                     \
    } while (0)
#define HE_JOINT_ROW_SUM_ELEMENT(k, l) acc[l] += HE_WIDEN(p[k])

/* Second read of a row: the terms w log t - w + q >= 0 of the cells, t =
 * w N / (r c) = (w * ra) * ib[y], q = r c / N = rq * c[y] (ra = N / r,
 * rq = r / N of the row; ib = 1 / c, c of the columns), their sum in lanes
 * (returned), and into *bad the cells whose t is below the normal range
 * (or, AVX-512, not finite).  A cell w = 0 gives
 * t = 0, 0 * log(tiny) = 0, and the term q. */
#define HE_JOINT_TERMS_ELEMENT(k, l)                                           \
    do {                                                                       \
        double w = HE_WIDEN(p[k]);                                 \
        double t = (w * ra) * ib[k];                                           \
        double lt = HE_JOINT_LOG(t + HE_TINY);                                 \
        double term = w * lt + (rq * c[k] - w);                                \
        acc[l] += 0.5 * (term + fabs(term));                                   \
        bd[l] += he_select(t < DBL_MIN, w, 0.0);   /* w > 0 only */           \
    } while (0)

#undef HE_JOINT_AVX512
#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define HE_JOINT_AVX512 1
#define HE_JOINT_MARGINS_INT8(tname, code)                                     \
    do {                                                                       \
        __m512d sum8 = _mm512_setzero_pd(), w8;                                \
        __mmask8 negative = 0;                                                 \
        for (i = 0; i + 8 <= n; i += 8) {                                      \
            w8 = HE_LOAD8(tname, code, p + i);                                 \
            negative |= _mm512_cmp_pd_mask(w8, _mm512_setzero_pd(), _CMP_LT_OQ); \
            sum8 = _mm512_add_pd(sum8, w8);                                    \
            _mm512_storeu_pd(c_hi + i, _mm512_add_pd(_mm512_loadu_pd(c_hi + i), w8)); \
        }                                                                      \
        _mm512_storeu_pd(acc, sum8);                                           \
        for (j = 0; j < n - i; j++) {      /* the tail, into lane 0 */         \
            acc[0] += (double)p[i + j];                                        \
            c_hi[i + j] += (double)p[i + j];                                   \
            negative |= (p[i + j] < 0) ? 1 : 0;                                \
        }                                                                      \
        bd[0] = (negative != 0) ? 1.0 : 0.0;                                   \
    } while (0)
#else
#define HE_JOINT_AVX512 0
#define HE_JOINT_MARGINS_INT8(tname, code) do { } while (0)
#endif

#define HE_JOINT_READS(T, tname, code)                                         \
static double HE_ISA(he_joint_margins_##tname)(                                \
        const T *HE_RESTRICT p, ptrdiff_t n, double *HE_RESTRICT c_hi,         \
        double *HE_RESTRICT c_lo, double *bad)                                 \
{                                                                              \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double acc[HE_LANES] = {0}, bd[HE_LANES] = {0};                            \
    ptrdiff_t i;                                                               \
    int j;                                                                     \
    if ((code) <= 1) {                                                         \
        HE_JOINT_LOOP(HE_JOINT_MARGINS_ELEMENT)                                \
    } else if (HE_JOINT_AVX512) {                                              \
        /* integers, eight at a time: into the columns, the row's sum, and     \
         * the negatives (their sums are exact below 2^53; above, the          \
         * rounding moves I only to second order) */                           \
        HE_JOINT_MARGINS_INT8(tname, code);                                    \
    } else {                                                                   \
        /* integers: their sums are exact below 2^53 (above, the rounding      \
         * moves I only to second order), only a negative is bad; three        \
         * simple loops over the row (in the L1 cache) vectorise best */       \
        T least = 0, most = 0;                                                 \
        for (i = 0; i < n; i++) c_hi[i] += HE_WIDEN(p[i]);         \
        for (i = 0; i < n; i++) least = (p[i] < least) ? p[i] : least;         \
        if (HE_WIDEN_BY_BITS)                                                  \
            for (i = 0; i < n; i++) most = (p[i] > most) ? p[i] : most;        \
        HE_JOINT_LOOP(HE_JOINT_ROW_SUM_ELEMENT)                                \
        bd[0] = (least < 0 || (double)most >= 0x1p51) ? 1.0 : 0.0;             \
    }                                                                          \
    for (j = 0; j < HE_LANES; j++) *bad += bd[j];                              \
    return he_lanes_sum(acc);                                                  \
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
/* The AVX-512 copy: the same terms, eight cells per step with he_log8
 * (vlog_avx512.h); cells without weight select the term q (and a log of 0),
 * the row's tail is read through a zero-padded buffer. */
#define HE_JOINT_TERMS(T, tname, code)                                         \
static double HE_ISA(he_joint_terms_##tname)(                                  \
        const T *HE_RESTRICT p, ptrdiff_t n, const he_joint_row *row,          \
        double *bad)                                                           \
{                                                                              \
    const __m512d zero = _mm512_setzero_pd(), vra = _mm512_set1_pd(row->ra);   \
    const __m512d vrq = _mm512_set1_pd(row->rq), vla = _mm512_set1_pd(row->la); \
    const __m512d table_end = _mm512_set1_pd((double)HE_JOINT_LOG_TABLE);     \
    __m512d acc = zero, w, t, lt, term, c;                                     \
    __m512i whole;                                                             \
    __mmask8 positive, bd = 0;                                                 \
    T tail[8] = {0};                                                           \
    double tail_ib[8] = {0}, tail_c[8] = {0}, tail_lc[8] = {0}, lanes[8];     \
    ptrdiff_t i, k;                                                            \
    for (i = 0; i < n; i += 8) {                                               \
        const T *pw = p + i;                                                   \
        const double *pib = row->ib + i, *pc = row->c + i, *plc = row->lc + i; \
        if (n - i < 8) {                                                       \
            for (k = 0; k < n - i; k++) {                                      \
                tail[k] = p[i + k]; tail_ib[k] = pib[k];                       \
                tail_c[k] = pc[k]; tail_lc[k] = plc[k];                        \
            }                                                                  \
            pw = tail; pib = tail_ib; pc = tail_c; plc = tail_lc;              \
        }                                                                      \
        w = HE_LOAD8(tname, code, pw);                                         \
        c = _mm512_loadu_pd(pc);                                               \
        positive = _mm512_cmp_pd_mask(w, zero, _CMP_GT_OQ);                    \
        whole = _mm512_cvttpd_epi64(w);                                        \
        if ((_mm512_cmp_pd_mask(_mm512_cvtepi64_pd(whole), w, _CMP_EQ_OQ)      \
             & _mm512_cmp_pd_mask(w, table_end, _CMP_LT_OQ)) == 0xFF) {        \
            /* eight whole counts of the table: log t = log w + log(N/r)      \
             * - log c, log w looked up */                                     \
            lt = _mm512_add_pd(_mm512_add_pd(                                  \
                     _mm512_i64gather_pd(whole, row->logw, 8), vla),           \
                     _mm512_loadu_pd(plc));                                    \
        } else {                                                               \
            t = _mm512_mul_pd(_mm512_mul_pd(w, vra), _mm512_loadu_pd(pib));    \
            /* t below the normal range, or not finite: the exact path */      \
            bd |= _mm512_mask_cmp_pd_mask(positive, t, _mm512_set1_pd(DBL_MIN), _CMP_LT_OQ) \
                  | _mm512_mask_cmp_pd_mask(positive, t, _mm512_set1_pd(DBL_MAX), _CMP_NLE_UQ); \
            lt = he_log8(t);                                                   \
        }                                                                      \
        lt = _mm512_maskz_mov_pd(positive, lt);                                \
        term = _mm512_fmadd_pd(w, lt, _mm512_fmsub_pd(vrq, c, w));             \
        acc = _mm512_add_pd(acc, _mm512_max_pd(term, zero));                   \
    }                                                                          \
    *bad += (bd != 0) ? 1.0 : 0.0;                                             \
    _mm512_storeu_pd(lanes, acc);                                              \
    return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6]))                     \
           + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));                  \
}
#else
#define HE_JOINT_TERMS(T, tname, code)                                         \
static double HE_ISA(he_joint_terms_##tname)(                                  \
        const T *HE_RESTRICT p, ptrdiff_t n, const he_joint_row *row,          \
        double *bad)                                                           \
{                                                                              \
    const double *HE_RESTRICT ib = row->ib, *HE_RESTRICT c = row->c;           \
    const double ra = row->ra, rq = row->rq;                                   \
    const int he_code = (code);                                                \
    (void)he_code;                                                             \
    double acc[HE_LANES] = {0}, bd[HE_LANES] = {0};                            \
    ptrdiff_t i;                                                               \
    int j;                                                                     \
    HE_JOINT_LOOP(HE_JOINT_TERMS_ELEMENT)                                      \
    for (j = 0; j < HE_LANES; j++) *bad += bd[j];                              \
    return he_lanes_sum(acc);                                                  \
}
#endif

HE_FOR_EACH_TYPE(HE_JOINT_READS)
HE_FOR_EACH_TYPE(HE_JOINT_TERMS)
#undef HE_JOINT_READS
#undef HE_JOINT_MARGINS_INT8
#undef HE_JOINT_TERMS
#undef HE_JOINT_TERMS_ELEMENT
#undef HE_JOINT_MARGINS_ELEMENT
#undef HE_JOINT_ROW_SUM_ELEMENT
#undef HE_JOINT_LOOP
