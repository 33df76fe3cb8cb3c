/* histentropy/sparse_simd.h -- one pass over the stored values of many
 * compressed rows, the lanes reset at each row's start.
 *
 * No include guard: sparse.h instantiates it once per CPU path
 * (instantiate.h).  Only the AVX-512 copy has a segmented pass (the others
 * answer -1: the caller runs its row kernel on every row).
 *
 * he_rows_entropy:  the entropy of rows [r0, r1) of float64 values;
 * he_rows_kl_<idx>: their KL divergence (and entropy) against one dense
 *                   float64 reference row q, q gathered at the stored
 *                   columns (int32 or int64 indices) in the same pass.
 * Value j of row r is values[indptr[r] - base + j]: a caller that converted
 * a group of rows into a buffer passes the group's first offset as `base`.
 *
 * he_column_scan_<idx>: the pass of he_check_rows (sparse.h) over the
 *                   stored columns.
 *
 * Each row is the first read of dense_simd.h (eight lanes; a masked load
 * for its last elements), its lanes combined where it ends, and finished
 * as he_entropy_from_fast / he_divergence_from_fast would.  A row that this
 * read cannot settle -- longer than HE_SEGMENT_MAX (its plain lane sums
 * would outgrow the error bound of the finish), any bad weight or ratio, a
 * total out of range, an inaccurate one-pass value -- goes into `redo`,
 * and the function returns how many did: the caller runs the row kernel of
 * sparse.h on those, which handles every special case.
 */

/* The stored columns [lo, hi) of compressed rows, in one pass: how many
 * do not exceed their predecessor (row starts included), the smallest and
 * the largest (he_check_rows). */
#define HE_COLUMN_SCAN(IT, iname)                                              \
static ptrdiff_t HE_ISA(he_column_scan_##iname)(const IT *restrict c, ptrdiff_t lo, \
                                                ptrdiff_t hi, int64_t *smallest, \
                                                int64_t *largest)              \
{                                                                              \
    ptrdiff_t j, descents = 0;                                                 \
    IT low = c[lo], high = c[lo];                                              \
    for (j = lo + 1; j < hi; j++) {                                            \
        descents += c[j] <= c[j - 1];                                          \
        low = c[j] < low ? c[j] : low;                                         \
        high = c[j] > high ? c[j] : high;                                      \
    }                                                                          \
    *smallest = low;                                                           \
    *largest = high;                                                           \
    return descents;                                                           \
}
HE_COLUMN_SCAN(int32_t, i32)
HE_COLUMN_SCAN(int64_t, i64)
#undef HE_COLUMN_SCAN

/* The signatures of the KL passes (the same with and without a pass). */
#define HE_ROWS_KL_SIGNATURE(IT, iname)                                        \
static ptrdiff_t HE_ISA(he_rows_kl_##iname)(                                   \
        const double *restrict p_values, const IT *restrict indices,           \
        const IT *restrict p_indptr, ptrdiff_t r0, ptrdiff_t r1,               \
        const double *restrict q, const he_csum *reference, int need_entropy,  \
        double *entropy, double *kl, ptrdiff_t *redo)
#define HE_ROWS_KL_SPARSE_SIGNATURE(IT, iname)                                 \
static ptrdiff_t HE_ISA(he_rows_kl_sparse_##iname)(                            \
        const double *restrict p_values, const IT *restrict p_indices,         \
        const IT *restrict p_indptr, const double *restrict q_values,          \
        const IT *restrict q_indices, const IT *restrict q_indptr,             \
        ptrdiff_t r0, ptrdiff_t r1, int need_entropy, double *entropy,         \
        double *kl, double *restrict q_at, ptrdiff_t *redo)

#if defined(__AVX512F__) && defined(__AVX512DQ__)

static ptrdiff_t HE_ISA(he_rows_entropy)(const double *restrict values, int index_type,
                                         const void *indptr, ptrdiff_t base,
                                         ptrdiff_t r0, ptrdiff_t r1, double *out,
                                         ptrdiff_t *redo)
{
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    ptrdiff_t r, i, lo, hi = he_index_at(index_type, indptr, r0) - base, n_redo = 0;
    he_csum total;
    double plogp, h;
    int accurate;
    for (r = r0; r < r1; r++) {
        __m512d th = zero, tl = zero, s = zero, g = zero, bd = zero, w;
        lo = hi;
        hi = he_index_at(index_type, indptr, r + 1) - base;
        if (hi - lo > HE_SEGMENT_MAX) {
            redo[n_redo++] = r;
            continue;
        }
        for (i = lo; i + 8 <= hi; i += 8) {
            w = _mm512_loadu_pd(values + i);
            HE_AVX512_ENTROPY_STEP(w, th, tl, s, g, bd);
        }
        if (i < hi) {
            w = _mm512_maskz_loadu_pd((__mmask8)((1u << (hi - i)) - 1u), values + i);
            HE_AVX512_ENTROPY_STEP(w, th, tl, s, g, bd);
        }
        total = he_total8(th, tl);
        plogp = _mm512_reduce_add_pd(s);
        if (_mm512_reduce_add_pd(bd) == 0.0 && he_total_in_range(total.hi)) {
            h = he_entropy_finish(&total, plogp, plogp - 2.0 * _mm512_reduce_add_pd(g),
                                  &accurate);
            if (accurate) {
                out[r] = h;
                continue;
            }
        }
        redo[n_redo++] = r;
    }
    return n_redo;
}

/* q at eight stored columns (all eight, or those in `mask`). */
#define HE_GATHER8_i32(idx, q) \
    _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(idx)), q, 8)
#define HE_GATHER8_i64(idx, q) _mm512_i64gather_pd(_mm512_loadu_si512(idx), q, 8)
#define HE_MASK_GATHER8_i32(mask, idx, q)                                      \
    _mm512_mask_i32gather_pd(zero, mask, _mm256_maskz_loadu_epi32(mask, idx), q, 8)
#define HE_MASK_GATHER8_i64(mask, idx, q)                                      \
    _mm512_mask_i64gather_pd(zero, mask, _mm512_maskz_loadu_epi64(mask, idx), q, 8)

/* q at the stored columns up to flat position `until` (exclusive) into the
 * cache, ahead of their gathers: those are the pass's cache misses (a
 * reference of 10^6 bins is 8 MB). */
#define HE_GATHER_AHEAD 64
#define HE_PREFETCH_Q(until)                                                   \
    do {                                                                       \
        ptrdiff_t until_ = (until) < pf_end ? (until) : pf_end;                \
        for (; pf < until_; pf++)                                              \
            _mm_prefetch((const char *)(q + indices[pf]), _MM_HINT_T0);        \
    } while (0)

/* One row's pair read of p's values [lo, hi), q's eight values at step i
 * from Q8(i) (the first `m` from Q8_MASKED(m, i)), after PRE(i); NEED_H a
 * constant.  With q's total in q_total, sets `settled` once the row's
 * results are written (a `break` leaves it for the row kernel). */
#define HE_ROW_KL(Q8, Q8_MASKED, PRE, NEED_H)                                  \
    do {                                                                       \
        __m512d ph = zero, pl = zero, qh = zero, ql = zero, as = zero;         \
        __m512d an = zero, bs = zero, bn = zero, bd = zero, un = zero, a, b;   \
        __mmask8 m;                                                            \
        for (i = lo; i + 8 <= hi; i += 8) {                                    \
            PRE(i);                                                            \
            a = _mm512_loadu_pd(p_values + i);                                 \
            b = Q8(i);                                                         \
            HE_AVX512_PAIR_STEP(a, b, NEED_H, ph, pl, qh, ql, as, an, bs, bn, bd, un); \
        }                                                                      \
        if (i < hi) {                                                          \
            m = (__mmask8)((1u << (hi - i)) - 1u);                             \
            a = _mm512_maskz_loadu_pd(m, p_values + i);                        \
            b = Q8_MASKED(m, i);                                               \
            HE_AVX512_PAIR_STEP(a, b, NEED_H, ph, pl, qh, ql, as, an, bs, bn, bd, un); \
        }                                                                      \
        (void)qh; (void)ql;                                                    \
        p_total = he_total8(ph, pl);                                   \
        plogpq = _mm512_reduce_add_pd(bs);                                     \
        if (!(_mm512_reduce_add_pd(bd) == 0.0 && he_total_in_range(p_total.hi) \
              && isfinite(plogpq)))                                            \
            break;                                                             \
        if (NEED_H) {                                                          \
            plogp = _mm512_reduce_add_pd(as);                                  \
            h = he_entropy_finish(&p_total, plogp,                             \
                                  plogp - 2.0 * _mm512_reduce_add_pd(an),      \
                                  &accurate);                                  \
            if (!accurate)                                                     \
                break;                                                         \
        }                                                                      \
        if (_mm512_reduce_add_pd(un) != 0.0) {                                 \
            d = INFINITY;                                                      \
        } else {                                                               \
            d = he_kl_finish(&p_total, &q_total, plogpq,                       \
                             plogpq - 2.0 * _mm512_reduce_add_pd(bn), 0.0, &accurate); \
            if (!accurate)                                                     \
                break;                                                         \
        }                                                                      \
        if (NEED_H)                                                            \
            entropy[r] = h;                                                    \
        kl[r] = d;                                                             \
        settled = 1;                                                           \
    } while (0)

/* The row loop: ROW_START(r) (sets lo, hi, and `eligible`), then the pair
 * read, and the rows it did not settle into redo. */
#define HE_ROWS_LOOP(ROW_START, Q8, Q8_MASKED, PRE)                            \
    for (r = r0; r < r1; r++) {                                                \
        ROW_START(r);                                                          \
        settled = 0;                                                           \
        if (eligible) {                                                        \
            if (need_entropy)                                                  \
                HE_ROW_KL(Q8, Q8_MASKED, PRE, 1);                              \
            else                                                               \
                HE_ROW_KL(Q8, Q8_MASKED, PRE, 0);                              \
        }                                                                      \
        if (!settled)                                                          \
            redo[n_redo++] = r;                                                \
    }                                                                          \
    return n_redo;

#define HE_ROWS_LOCALS                                                         \
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);    \
    const __m512d dbl_min = _mm512_set1_pd(DBL_MIN);                           \
    const __m512d dbl_max = _mm512_set1_pd(DBL_MAX);                           \
    ptrdiff_t r, i, lo, hi, n_redo = 0;                                        \
    he_csum p_total, q_total;                                                  \
    double plogp, plogpq, h = 0.0, d;                                          \
    int accurate, settled, eligible

/* Against one dense reference row q (total *reference): q gathered. */
#define HE_REFERENCE_ROW(r)                                                    \
    lo = (ptrdiff_t)p_indptr[r];                                               \
    hi = (ptrdiff_t)p_indptr[r + 1];                                           \
    q_total = *reference;                                                      \
    eligible = hi - lo <= HE_SEGMENT_MAX
#define HE_REFERENCE_PRE(i) HE_PREFETCH_Q((i) + HE_GATHER_AHEAD + 8)
#define HE_ROWS_KL(IT, iname)                                                  \
HE_ROWS_KL_SIGNATURE(IT, iname)                                                \
{                                                                              \
    HE_ROWS_LOCALS;                                                            \
    ptrdiff_t pf = (ptrdiff_t)p_indptr[r0], pf_end = (ptrdiff_t)p_indptr[r1];  \
    HE_ROWS_LOOP(HE_REFERENCE_ROW, HE_REFERENCE_Q8_##iname,                    \
                 HE_REFERENCE_Q8_MASKED_##iname, HE_REFERENCE_PRE)             \
}
#define HE_REFERENCE_Q8_i32(i)                                                 \
    _mm512_i32gather_pd(_mm256_loadu_si256((const __m256i *)(indices + (i))), q, 8)
#define HE_REFERENCE_Q8_i64(i) _mm512_i64gather_pd(_mm512_loadu_si512(indices + (i)), q, 8)
#define HE_REFERENCE_Q8_MASKED_i32(m, i)                                       \
    _mm512_mask_i32gather_pd(zero, m, _mm256_maskz_loadu_epi32(m, indices + (i)), q, 8)
#define HE_REFERENCE_Q8_MASKED_i64(m, i)                                       \
    _mm512_mask_i64gather_pd(zero, m, _mm512_maskz_loadu_epi64(m, indices + (i)), q, 8)
HE_ROWS_KL(int32_t, i32)
HE_ROWS_KL(int64_t, i64)

/* The total of q's values [lo, hi) into *total; 0 where one is not in
 * [0, inf) or the total is out of range. */
static inline int HE_ISA(he_row_total)(const double *restrict q, ptrdiff_t lo, ptrdiff_t hi,
                                       he_csum *total)
{
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    __m512d th = zero, tl = zero, bd = zero, w;
    ptrdiff_t j;
    for (j = lo; j + 8 <= hi; j += 8) {
        w = _mm512_loadu_pd(q + j);
        bd = _mm512_mask_add_pd(bd, _mm512_fpclass_pd_mask(w, HE_BAD_CLASSES), bd, one);
        HE_AVX512_TWO_SUM(th, tl, w);
    }
    if (j < hi) {
        w = _mm512_maskz_loadu_pd((__mmask8)((1u << (hi - j)) - 1u), q + j);
        bd = _mm512_mask_add_pd(bd, _mm512_fpclass_pd_mask(w, HE_BAD_CLASSES), bd, one);
        HE_AVX512_TWO_SUM(th, tl, w);
    }
    *total = he_total8(th, tl);
    return _mm512_reduce_add_pd(bd) == 0.0 && he_total_in_range(total->hi);
}

/* The merge of p's stored columns [lo, hi) with q's sorted columns and
 * values, from positions i (p) and j (q) up to q1: q at p's columns into
 * out[i - lo].  Without branches: each step stores and moves one or both
 * sides; the value is masked by bits, as GCC turns a select or a product
 * into a branch, mispredicted at every other column. */
#define HE_MERGE_STEP(i, j, lo)                                                \
    do {                                                                       \
        int64_t ci_ = p_indices[i], cj_ = q_indices[j];                        \
        q_at_[i - (lo)] = he__asdouble(he__asuint64(q_values[j])               \
                                       & -(uint64_t)(ci_ == cj_));             \
        i += ci_ <= cj_;                                                       \
        j += cj_ <= ci_;                                                       \
    } while (0)
#define HE_MERGE_REST(i, j, lo, hi, q1, out)                                   \
    do {                                                                       \
        double *q_at_ = (out);                                                 \
        while (i < (hi) && j < (q1))                                           \
            HE_MERGE_STEP(i, j, lo);                                           \
        for (; i < (hi); i++)                                                  \
            q_at_[i - (lo)] = 0.0;                                             \
    } while (0)

/* Against compressed rows of q: q's row total (TwoSum lanes; any bad
 * weight leaves the row to the row kernel), then q at p's columns by the
 * merge above, two rows at a time (rows r and r + 1 merged in one loop:
 * two independent chains of loads and comparisons), into q_at and
 * q_at + HE_SEGMENT_MAX. */
#define HE_SPARSE_ROW(r)                                                       \
    lo = (ptrdiff_t)p_indptr[r];                                               \
    hi = (ptrdiff_t)p_indptr[r + 1];                                           \
    if (((r) - r0) % 2 == 0) {                                                 \
        ptrdiff_t lo2 = hi, hi2 = (r) + 1 < r1 ? (ptrdiff_t)p_indptr[(r) + 2] : hi; \
        ptrdiff_t ia = lo, ja = q_indptr[r], qa = q_indptr[(r) + 1];           \
        ptrdiff_t ib = lo2, jb = qa, qb = (r) + 1 < r1 ? q_indptr[(r) + 2] : qa; \
        eligible = hi - lo <= HE_SEGMENT_MAX                                   \
                   && HE_ISA(he_row_total)(q_values, ja, qa, &q_total);        \
        next_eligible = (r) + 1 < r1 && hi2 - lo2 <= HE_SEGMENT_MAX            \
                        && HE_ISA(he_row_total)(q_values, jb, qb, &next_q_total); \
        if (eligible && next_eligible) {                                       \
            while (ia < hi && ja < qa && ib < hi2 && jb < qb) {                \
                double *q_at_ = q_at;                                          \
                HE_MERGE_STEP(ia, ja, lo);                                     \
                q_at_ = q_at + HE_SEGMENT_MAX;                                 \
                HE_MERGE_STEP(ib, jb, lo2);                                    \
            }                                                                  \
        }                                                                      \
        if (eligible)                                                          \
            HE_MERGE_REST(ia, ja, lo, hi, qa, q_at);                           \
        if (next_eligible)                                                     \
            HE_MERGE_REST(ib, jb, lo2, hi2, qb, q_at + HE_SEGMENT_MAX);        \
        row_q = q_at;                                                          \
    } else {                                                                   \
        eligible = next_eligible;                                              \
        q_total = next_q_total;                                                \
        row_q = q_at + HE_SEGMENT_MAX;                                         \
    }
#define HE_SPARSE_Q8(i) _mm512_loadu_pd(row_q + ((i) - lo))
#define HE_SPARSE_Q8_MASKED(m, i) _mm512_maskz_loadu_pd(m, row_q + ((i) - lo))
#define HE_NO_PRE(i) (void)0
#define HE_ROWS_KL_SPARSE(IT, iname)                                           \
HE_ROWS_KL_SPARSE_SIGNATURE(IT, iname)                                         \
{                                                                              \
    HE_ROWS_LOCALS;                                                            \
    he_csum next_q_total = {0.0, 0.0};                                         \
    const double *row_q;                                                       \
    int next_eligible = 0;                                                     \
    HE_ROWS_LOOP(HE_SPARSE_ROW, HE_SPARSE_Q8, HE_SPARSE_Q8_MASKED, HE_NO_PRE)  \
}
HE_ROWS_KL_SPARSE(int32_t, i32)
HE_ROWS_KL_SPARSE(int64_t, i64)

#else  /* no segmented pass on this path */

static ptrdiff_t HE_ISA(he_rows_entropy)(const double *restrict values, int index_type,
                                         const void *indptr, ptrdiff_t base,
                                         ptrdiff_t r0, ptrdiff_t r1, double *out,
                                         ptrdiff_t *redo)
{
    (void)values; (void)index_type; (void)indptr; (void)base; (void)r0; (void)r1;
    (void)out; (void)redo;
    return -1;
}

#define HE_ROWS_KL(IT, iname)                                                  \
HE_ROWS_KL_SIGNATURE(IT, iname)                                                \
{                                                                              \
    (void)p_values; (void)indices; (void)p_indptr; (void)r0; (void)r1;        \
    (void)q; (void)reference; (void)need_entropy; (void)entropy; (void)kl;     \
    (void)redo;                                                                \
    return -1;                                                                 \
}                                                                              \
HE_ROWS_KL_SPARSE_SIGNATURE(IT, iname)                                         \
{                                                                              \
    (void)p_values; (void)p_indices; (void)p_indptr; (void)q_values;          \
    (void)q_indices; (void)q_indptr; (void)r0; (void)r1; (void)need_entropy;   \
    (void)entropy; (void)kl; (void)q_at; (void)redo;                           \
    return -1;                                                                 \
}
HE_ROWS_KL(int32_t, i32)
HE_ROWS_KL(int64_t, i64)

#endif
#undef HE_ROWS_KL
#undef HE_ROWS_KL_SPARSE
#undef HE_ROWS_KL_SIGNATURE
#undef HE_ROWS_KL_SPARSE_SIGNATURE
