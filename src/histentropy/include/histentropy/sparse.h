/* histentropy/sparse.h -- rows stored sparsely: sorted unique indices and
 * their values.
 *
 * A sparse row p is gathered into two contiguous double arrays, a (p's
 * stored values) and b (q at the same bins: a dense row read there, or a
 * sparse row q merged in), and only those m pairs are read, with the scheme
 * of terms.h.  What the row does not touch is known from q's total S_q,
 * computed once per distinct q row (he_reference_read, no logarithms): the
 * bins where p = 0 add their y to the second read of KL, whose sum is
 *     R = S_q - (q over the kept bins with p > 0),
 * carried exactly (TwoSum per subtraction) so that nothing cancels when p
 * and q nearly coincide.  A dense p against a sparse q is merged into pairs
 * over the union of the supports and goes to the dense kernels.
 *
 * Index and value arrays are read through type codes (config.h): values of
 * any weight type, indices int32 (code 4) or int64 (code 5).
 */
#ifndef HISTENTROPY_SPARSE_H
#define HISTENTROPY_SPARSE_H

#include "dense.h"

HE_ALWAYS_INLINE int64_t he_index_at(int index_type, const void *indices, ptrdiff_t j)
{
    return index_type == 4 ? (int64_t)((const int32_t *)indices)[j]
                           : ((const int64_t *)indices)[j];
}

/* ---- gathering a row into pairs (a, b) ---------------------------------- */

/* The stored values of p with q read at their bins (dense row, any stride). */
HE_ALWAYS_INLINE ptrdiff_t he_gather(int type, int index_type, const void *p_values,
                                     const void *p_indices, ptrdiff_t p_nnz, const void *q,
                                     ptrdiff_t q_stride, double *a, double *b)
{
    ptrdiff_t j;
    for (j = 0; j < p_nnz; j++) {
        a[j] = he_weight_at(type, p_values, j, 1);
        b[j] = he_weight_at(type, q, he_index_at(index_type, p_indices, j), q_stride);
    }
    return p_nnz;
}

/* The stored values of p with the sparse row q read at their bins (0 where q
 * stores nothing): one merge of the sorted index lists, in branch-free steps
 * (the comparisons are unpredictable): every step writes the pair at m and
 * advances p, q or both; m only moves on with p. */
HE_ALWAYS_INLINE ptrdiff_t he_lookup(int type, int index_type, const void *p_values,
                                     const void *p_indices, ptrdiff_t p_nnz,
                                     const void *q_values, const void *q_indices,
                                     ptrdiff_t q_nnz, double *a, double *b)
{
    ptrdiff_t m = 0, i = 0, j = 0;
    int64_t pc, qc;
    double qv;
    while (i < p_nnz && j < q_nnz) {
        pc = he_index_at(index_type, p_indices, i);
        qc = he_index_at(index_type, q_indices, j);
        qv = he_weight_at(type, q_values, j, 1);
        a[m] = he_weight_at(type, p_values, i, 1);
        b[m] = pc == qc ? qv : 0.0;
        m += pc <= qc;
        i += pc <= qc;
        j += qc <= pc;
    }
    for (; i < p_nnz; i++, m++) {
        a[m] = he_weight_at(type, p_values, i, 1);
        b[m] = 0.0;
    }
    return m;
}

/* The sparse rows p and q over the union of their stored bins: one pair
 * (a, b) per bin where either stores a value (0 for the other). */
HE_ALWAYS_INLINE ptrdiff_t he_union(int type, int index_type, const void *p_values,
                                    const void *p_indices, ptrdiff_t p_nnz,
                                    const void *q_values, const void *q_indices,
                                    ptrdiff_t q_nnz, double *a, double *b)
{
    ptrdiff_t m = 0, i = 0, j = 0;
    int64_t pc, qc;
    while (i < p_nnz || j < q_nnz) {
        pc = i < p_nnz ? he_index_at(index_type, p_indices, i) : INT64_MAX;
        qc = j < q_nnz ? he_index_at(index_type, q_indices, j) : INT64_MAX;
        a[m] = pc <= qc ? he_weight_at(type, p_values, i, 1) : 0.0;
        b[m] = qc <= pc ? he_weight_at(type, q_values, j, 1) : 0.0;
        i += pc <= qc;
        j += qc <= pc;
        m++;
    }
    return m;
}

/* A dense row p (n bins, any stride) against a sparse row q: the bins where
 * p != 0 or q stores a value (NaN and negative p included). */
HE_ALWAYS_INLINE ptrdiff_t he_merge_dense(int type, int index_type, const void *p,
                                          ptrdiff_t n, ptrdiff_t p_stride,
                                          const void *q_values, const void *q_indices,
                                          ptrdiff_t q_nnz, double *a, double *b)
{
    ptrdiff_t m = 0, c, j = 0;
    double x;
    for (c = 0; c < n; c++) {
        x = he_weight_at(type, p, c, p_stride);
        if (j < q_nnz && he_index_at(index_type, q_indices, j) == c) {
            a[m] = x;
            b[m] = he_weight_at(type, q_values, j, 1);
            j++;
            m++;
        } else if (x != 0.0) {
            a[m] = x;
            b[m] = 0.0;
            m++;
        }
    }
    return m;
}

/* ---- a reference row: its total ----------------------------------------- */

/* Adds scale * q over the bins holding numbers to total (exactly), in four
 * independent TwoSum lanes (one lane's latency would bound the speed).
 * Returns q's flags.  No logarithms. */
HE_ALWAYS_INLINE int he_reference_read(int type, const void *q, ptrdiff_t n,
                                       ptrdiff_t stride, double scale, he_csum *total)
{
    ptrdiff_t i = 0;
    int k, flags = 0;
    double y[4], hi[4] = {0.0, 0.0, 0.0, 0.0}, lo[4] = {0.0, 0.0, 0.0, 0.0};
    for (; i + 4 <= n; i += 4) {
        for (k = 0; k < 4; k++) {
            y[k] = he_weight_at(type, q, i + k, stride) * scale;
            if (!(0.0 <= y[k] && y[k] < INFINITY)) {
                flags |= he_classify(y[k], HE_FLAG_NEGATIVE_Q, HE_FLAG_INFINITE_Q);
                y[k] = 0.0;
            }
        }
        for (k = 0; k < 4; k++)
            he_two_sum(&hi[k], &lo[k], y[k]);
    }
    for (; i < n; i++) {
        y[0] = he_weight_at(type, q, i, stride) * scale;
        if (0.0 <= y[0] && y[0] < INFINITY)
            he_two_sum(&hi[0], &lo[0], y[0]);
        else
            flags |= he_classify(y[0], HE_FLAG_NEGATIVE_Q, HE_FLAG_INFINITE_Q);
    }
    for (k = 0; k < 4; k++)
        he_csum_add_exact(total, hi[k]);
    /* A lane that overflowed has hi = inf and a NaN error term: the total is
     * then +inf (he_csum_value), which the caller rescales. */
    if (isfinite(total->hi))
        he_csum_add_exact(total, (lo[0] + lo[1]) + (lo[2] + lo[3]));
    return flags;
}

/* The largest finite non-negative weight of q (only needed to rescale). */
HE_ALWAYS_INLINE double he_reference_largest(int type, const void *q, ptrdiff_t n,
                                             ptrdiff_t stride)
{
    ptrdiff_t i;
    double y, big = 0.0;
    for (i = 0; i < n; i++) {
        y = he_weight_at(type, q, i, stride);
        if (y > big && y < INFINITY)
            big = y;
    }
    return big;
}

/* A reference row's total, and the power-of-two scale that keeps it in
 * range.  Returns q's flags. */
HE_ALWAYS_INLINE int he_reference(int type, const void *q, ptrdiff_t n, ptrdiff_t stride,
                                  he_csum *total, double *scale)
{
    double s;
    int flags;
    he_csum_init(total);
    *scale = 1.0;
    flags = he_reference_read(type, q, n, stride, 1.0, total);
    s = he_csum_value(total);
    if (s > 0.0 && !he_total_in_range(s)) {
        *scale = he_rescale_factor(s, he_reference_largest(type, q, n, stride), n);
        he_csum_init(total);
        he_reference_read(type, q, n, stride, *scale, total);
    }
    return flags;
}

/* ---- a gathered row against its reference ------------------------------- */

/* The reference's total less the q (scaled) of every gathered bin whose p
 * is not a number (an omitted NaN bin); `flags` are the pairs' flags (no
 * bad bin, nothing to take away). */
HE_ALWAYS_INLINE he_csum he_rest_q_total(const double *a, const double *b, ptrdiff_t m,
                                         double p_scale, double q_scale,
                                         const he_csum *reference, int flags)
{
    ptrdiff_t i;
    double x, y;
    he_csum total = *reference;
    for (i = 0; i < m && (flags & (HE_FLAG_ERRORS | HE_FLAG_NAN)); i++) {
        x = a[i] * p_scale;
        y = b[i] * q_scale;
        if (!(0.0 <= x && x < INFINITY) && 0.0 <= y && y < INFINITY)
            he_csum_add_exact(&total, -y);
    }
    return total;
}

/* First read of the pairs, as he_pair_read; q's total starts from the
 * reference's and loses the q of every bin dropped because p is not a
 * number there (omitted NaN). */
HE_UNUSED static int he_rest_read(const double *a, const double *b, ptrdiff_t m, double p_scale,
                        double q_scale, int need_entropy, const he_csum *reference,
                        he_pair_state *st)
{
    int flags;
    he_pair_state part;
    /* Bins where one side is bad are left out of the pair read (which
     * classifies them); q's total comes from the reference, less the q of
     * the bins where p is bad. */
    flags = he_pair_read(0, a, 1, b, 1, m, p_scale, q_scale, need_entropy, &part);
    *st = part;
    st->q_total = he_rest_q_total(a, b, m, p_scale, q_scale, reference, flags);
    return flags;
}

/* Second read of `measure` over the gathered pairs with p > 0, plus the term
 * of all the bins where p = 0 (he_second_term_p_zero), whose y add up to
 * R / S_q with the rest R = S_q - (q over the kept bins with p > 0) carried
 * exactly. */
HE_UNUSED static double he_rest_second_read_sum(int measure, const double *a,
                                                const double *b, ptrdiff_t m,
                                                const he_second_read *r)
{
    ptrdiff_t i;
    double term, y;
    he_csum sum, rest = r->q_total;
    he_csum_init(&sum);
    for (i = 0; i < m; i++) {
        if (!(0.0 < a[i] && a[i] < INFINITY && 0.0 <= b[i] && b[i] < INFINITY))
            continue;  /* p = 0 (its y is in the rest) or an omitted NaN bin */
        term = he_second_term(measure, a[i], b[i], r);
        if (term == INFINITY)
            return INFINITY;
        he_csum_add_exact(&rest, -(b[i] * r->q_scale));
        he_csum_add(&sum, term);
    }
    he_csum_normalise(&rest);
    y = (rest.hi + rest.lo) / r->q_total.hi;
    if (y > 0.0)
        he_csum_add(&sum, he_second_term_p_zero(measure, y, r));
    y = he_csum_value(&sum);
    return y > 0.0 ? y : 0.0;
}

/* Entropy and KL from the first read's state, or from second reads. */
HE_UNUSED static void he_rest_from_state(const double *a, const double *b, ptrdiff_t m,
                               double p_scale, double q_scale, int need_entropy,
                               he_pair_state *st, double log_error, double *entropy,
                               double *kl)
{
    int accurate;
    double d;
    if (need_entropy) {
        d = he_entropy_finish(&st->p_total, he_csum_value(&st->plogp), st->plogp_abs,
                              &accurate);
        if (!accurate) {
            he_second_read r = he_second_read_of(HE_ENTROPY, p_scale, q_scale,
                                                 &st->p_total, NULL);
            d = he_second_read_sum(0, HE_ENTROPY, a, 1, b, 1, m, &r);
        }
        *entropy = d;
    }
    if (st->unbounded) {
        *kl = INFINITY;
        return;
    }
    d = he_kl_finish(&st->p_total, &st->q_total, he_csum_value(&st->plogpq),
                     st->plogpq_abs, log_error, &accurate);
    if (!accurate) {
        he_second_read r = he_second_read_of(HE_KL_DIVERGENCE, p_scale, q_scale,
                                             &st->p_total, &st->q_total);
        d = he_rest_second_read_sum(HE_KL_DIVERGENCE, a, b, m, &r);
    }
    *kl = d;
}

/* Entropy of p and KL(p || q) of a row stored sparsely against a reference
 * row, given the gathered pairs and the reference's total (scaled by
 * q_scale) and flags.  The same results, flags and special values as
 * he_divergence_slice on the full rows. */
HE_UNUSED static int he_divergence_rest(const double *a, const double *b, ptrdiff_t m,
                              const he_csum *reference, double q_scale, int q_flags,
                              int omit_nan, int need_entropy, double *entropy, double *kl)
{
    he_pair_state st;
    he_pair_sums fast;
    double p_scale = 1.0, sp, sq = he_csum_value(reference);
    int flags;
    if ((q_flags & HE_FLAG_ERRORS) || ((q_flags & HE_FLAG_NAN) && !omit_nan) || !(sq > 0.0)) {
        *kl = NAN;
        if (need_entropy)
            *entropy = NAN;
        return q_flags;
    }
    if (q_scale == 1.0) {
        he_fast_pair_sums(0, a, b, m, need_entropy, &fast);
        if (fast.bad == 0.0 && he_total_in_range(fast.p_hi)) {
            he_pair_state_of_fast(&fast, &st);
            st.q_total = *reference;
            /* without the exact remainder of p/q (no FMA) each log ratio errs
             * by ~1 ulp absolute: ~1 ulp of sum p / S_p = 1 in all */
            he_rest_from_state(a, b, m, 1.0, 1.0, need_entropy, &st,
                               fast.ratio_exact ? 0.0 : 1.0, entropy, kl);
            return q_flags;
        }
    }
    flags = q_flags | he_rest_read(a, b, m, p_scale, q_scale, need_entropy, reference, &st);
    sp = he_csum_value(&st.p_total);
    sq = he_csum_value(&st.q_total);
    if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan)
            || sp == 0.0 || !(sq > 0.0)) {
        *kl = NAN;
        if (need_entropy)
            *entropy = NAN;
        return flags;
    }
    if (!he_total_in_range(sp)) {
        p_scale = he_rescale_factor(sp, st.p_largest, m);
        he_rest_read(a, b, m, p_scale, q_scale, need_entropy, reference, &st);
    }
    he_rest_from_state(a, b, m, p_scale, q_scale, need_entropy, &st,
                       fabs(log(p_scale) - log(q_scale)), entropy, kl);
    return flags;
}

/* ---- many rows in one pass (sparse_simd.h) -------------------------------- */

/* The longest row the segmented pass reads (eight lanes of plain sums, as
 * many per lane as a block of the vectorised dense reads has). */
#define HE_SEGMENT_MAX 512
/* Values converted to float64 per group of rows, for the segmented pass. */
#define HE_SEGMENT_BUFFER 4096

#define HE_CPU_BODY "sparse_simd.h"
#include "instantiate.h"

/* Checks compressed rows (indices and indptr of index type 4 or 5): 0 when
 * they are valid and canonical (columns strictly increasing in every row),
 * 1 valid but some row unsorted or with a repeated column, 2 a column
 * outside [0, n_cols), 3 indptr not non-decreasing within [0, n_stored].
 * One vectorised pass over the columns (descents, smallest, largest), and
 * one over the rows for the descents at their starts, which do not count. */
#define HE_CHECK_ROWS(IT, iname)                                               \
HE_ALWAYS_INLINE int he_check_rows_##iname(const IT *indices, const IT *indptr, \
                                           ptrdiff_t n_rows, ptrdiff_t n_cols, \
                                           ptrdiff_t n_stored)                 \
{                                                                              \
    ptrdiff_t r, lo = indptr[0], hi = indptr[n_rows], descents;                \
    int64_t smallest, largest;                                                 \
    if (lo < 0 || hi > n_stored || hi < lo)                                    \
        return 3;                                                              \
    for (r = 0; r < n_rows; r++)                                               \
        if (indptr[r + 1] < indptr[r])                                         \
            return 3;                                                          \
    if (hi == lo)                                                              \
        return 0;                                                              \
    descents = HE_CPU_CALL(he_column_scan_##iname, (indices, lo, hi, &smallest, \
                                                    &largest));                \
    if (smallest < 0 || largest >= n_cols)                                     \
        return 2;                                                              \
    for (r = 1; r < n_rows; r++)   /* each start after a non-empty row, once */ \
        if (indptr[r] > indptr[r - 1] && indptr[r] < hi)                       \
            descents -= indices[indptr[r]] <= indices[indptr[r] - 1];          \
    return descents != 0 ? 1 : 0;                                              \
}
HE_CHECK_ROWS(int32_t, i32)
HE_CHECK_ROWS(int64_t, i64)
#undef HE_CHECK_ROWS

HE_UNUSED static int he_check_rows(int index_type, const void *indices, const void *indptr,
                                   ptrdiff_t n_rows, ptrdiff_t n_cols, ptrdiff_t n_stored)
{
    if (index_type == 4)
        return he_check_rows_i32((const int32_t *)indices, (const int32_t *)indptr, n_rows,
                                 n_cols, n_stored);
    return he_check_rows_i64((const int64_t *)indices, (const int64_t *)indptr, n_rows,
                             n_cols, n_stored);
}

/* Entropy of rows [r0, r1) by the segmented pass: values of any type
 * (float64 read in place, others converted by groups of rows into a
 * buffer).  The rows it did not settle are listed in redo (room for
 * r1 - r0); returns their count, or -1 where this CPU path has no
 * segmented pass (the caller's row kernel then takes every row). */
HE_UNUSED static ptrdiff_t he_rows_entropy_t(int type, const void *values, int index_type,
                                             const void *indptr, ptrdiff_t r0, ptrdiff_t r1,
                                             double *out, ptrdiff_t *redo)
{
    double buffer[HE_SEGMENT_BUFFER];
    ptrdiff_t size = (ptrdiff_t)he_type_size(type), r = r0, g, start, n_redo = 0, k;
    if (type == 0)
        return HE_CPU_CALL(he_rows_entropy, ((const double *)values, index_type, indptr, 0,
                                             r0, r1, out, redo));
    while (r < r1) {
        start = he_index_at(index_type, indptr, r);
        for (g = r; g < r1 && he_index_at(index_type, indptr, g + 1) - start
                              <= HE_SEGMENT_BUFFER; g++)
            ;
        if (g == r) {          /* one row longer than the buffer */
            redo[n_redo++] = r++;
            continue;
        }
        he_load_t(type, (const char *)values + start * size, 1,
                  he_index_at(index_type, indptr, g) - start, buffer);
        k = HE_CPU_CALL(he_rows_entropy, (buffer, index_type, indptr, start, r, g, out,
                                          redo + n_redo));
        if (k < 0)
            return -1;
        n_redo += k;
        r = g;
    }
    return n_redo;
}

/* Entropy (need_entropy) and KL of rows [r0, r1) of float64 values against
 * one contiguous float64 reference row q with total *reference (unscaled,
 * no flags), by the segmented pass; redo and the result as above. */
HE_UNUSED static ptrdiff_t he_rows_kl(const double *values, int index_type,
                                      const void *indices, const void *indptr,
                                      ptrdiff_t r0, ptrdiff_t r1, const double *q,
                                      const he_csum *reference, int need_entropy,
                                      double *entropy, double *kl, ptrdiff_t *redo)
{
    if (index_type == 4)
        return HE_CPU_CALL(he_rows_kl_i32, (values, (const int32_t *)indices,
                                            (const int32_t *)indptr, r0, r1, q, reference,
                                            need_entropy, entropy, kl, redo));
    return HE_CPU_CALL(he_rows_kl_i64, (values, (const int64_t *)indices,
                                        (const int64_t *)indptr, r0, r1, q, reference,
                                        need_entropy, entropy, kl, redo));
}

/* The same against compressed rows of q (float64, p's index type), q's row
 * totals read in the pass; q_at: room for 2 HE_SEGMENT_MAX doubles. */
HE_UNUSED static ptrdiff_t he_rows_kl_sparse(const double *p_values, int index_type,
                                             const void *p_indices, const void *p_indptr,
                                             const double *q_values, const void *q_indices,
                                             const void *q_indptr, ptrdiff_t r0,
                                             ptrdiff_t r1, int need_entropy, double *entropy,
                                             double *kl, double *q_at, ptrdiff_t *redo)
{
    if (index_type == 4)
        return HE_CPU_CALL(he_rows_kl_sparse_i32,
                           (p_values, (const int32_t *)p_indices, (const int32_t *)p_indptr,
                            q_values, (const int32_t *)q_indices, (const int32_t *)q_indptr,
                            r0, r1, need_entropy, entropy, kl, q_at, redo));
    return HE_CPU_CALL(he_rows_kl_sparse_i64,
                       (p_values, (const int64_t *)p_indices, (const int64_t *)p_indptr,
                        q_values, (const int64_t *)q_indices, (const int64_t *)q_indptr,
                        r0, r1, need_entropy, entropy, kl, q_at, redo));
}

/* ---- entry points for run-time type codes -------------------------------- */

/* The index type (4: int32, 5: int64) as a constant in each copy. */
HE_ALWAYS_INLINE ptrdiff_t he_gather_by_index(int type, int index_type, const void *p_values,
                                              const void *p_indices, ptrdiff_t p_nnz,
                                              const void *q, ptrdiff_t q_stride, double *a,
                                              double *b)
{
    return index_type == 4
        ? he_gather(type, 4, p_values, p_indices, p_nnz, q, q_stride, a, b)
        : he_gather(type, 5, p_values, p_indices, p_nnz, q, q_stride, a, b);
}

HE_ALWAYS_INLINE ptrdiff_t he_lookup_by_index(int type, int index_type, const void *p_values,
                                              const void *p_indices, ptrdiff_t p_nnz,
                                              const void *q_values, const void *q_indices,
                                              ptrdiff_t q_nnz, double *a, double *b)
{
    return index_type == 4
        ? he_lookup(type, 4, p_values, p_indices, p_nnz, q_values, q_indices, q_nnz, a, b)
        : he_lookup(type, 5, p_values, p_indices, p_nnz, q_values, q_indices, q_nnz, a, b);
}

HE_ALWAYS_INLINE ptrdiff_t he_union_by_index(int type, int index_type, const void *p_values,
                                             const void *p_indices, ptrdiff_t p_nnz,
                                             const void *q_values, const void *q_indices,
                                             ptrdiff_t q_nnz, double *a, double *b)
{
    return index_type == 4
        ? he_union(type, 4, p_values, p_indices, p_nnz, q_values, q_indices, q_nnz, a, b)
        : he_union(type, 5, p_values, p_indices, p_nnz, q_values, q_indices, q_nnz, a, b);
}

HE_ALWAYS_INLINE ptrdiff_t he_merge_dense_by_index(int type, int index_type, const void *p,
                                                   ptrdiff_t n, ptrdiff_t p_stride,
                                                   const void *q_values,
                                                   const void *q_indices, ptrdiff_t q_nnz,
                                                   double *a, double *b)
{
    return index_type == 4
        ? he_merge_dense(type, 4, p, n, p_stride, q_values, q_indices, q_nnz, a, b)
        : he_merge_dense(type, 5, p, n, p_stride, q_values, q_indices, q_nnz, a, b);
}

HE_BY_TYPE(ptrdiff_t, he_gather_t, he_gather_by_index,
           (int type, int index_type, const void *p_values, const void *p_indices,
            ptrdiff_t p_nnz, const void *q, ptrdiff_t q_stride, double *a, double *b),
           (index_type, p_values, p_indices, p_nnz, q, q_stride, a, b), 0)
HE_BY_TYPE(ptrdiff_t, he_lookup_t, he_lookup_by_index,
           (int type, int index_type, const void *p_values, const void *p_indices,
            ptrdiff_t p_nnz, const void *q_values, const void *q_indices, ptrdiff_t q_nnz,
            double *a, double *b),
           (index_type, p_values, p_indices, p_nnz, q_values, q_indices, q_nnz, a, b), 0)
HE_BY_TYPE(ptrdiff_t, he_union_t, he_union_by_index,
           (int type, int index_type, const void *p_values, const void *p_indices,
            ptrdiff_t p_nnz, const void *q_values, const void *q_indices, ptrdiff_t q_nnz,
            double *a, double *b),
           (index_type, p_values, p_indices, p_nnz, q_values, q_indices, q_nnz, a, b), 0)
HE_BY_TYPE(ptrdiff_t, he_merge_dense_t, he_merge_dense_by_index,
           (int type, int index_type, const void *p, ptrdiff_t n, ptrdiff_t p_stride,
            const void *q_values, const void *q_indices, ptrdiff_t q_nnz, double *a,
            double *b),
           (index_type, p, n, p_stride, q_values, q_indices, q_nnz, a, b), 0)
HE_BY_TYPE(int, he_reference_t, he_reference,
           (int type, const void *q, ptrdiff_t n, ptrdiff_t stride, he_csum *total,
            double *scale),
           (q, n, stride, total, scale), HE_FLAG_NAN)
HE_BY_TYPE(int, he_reference_read_t, he_reference_read,
           (int type, const void *q, ptrdiff_t n, ptrdiff_t stride, double scale,
            he_csum *total),
           (q, n, stride, scale, total), HE_FLAG_NAN)
HE_BY_TYPE(double, he_reference_largest_t, he_reference_largest,
           (int type, const void *q, ptrdiff_t n, ptrdiff_t stride), (q, n, stride), 0.0)

#endif /* HISTENTROPY_SPARSE_H */
