/* histentropy/family.h -- the measure family over dense slices and sparse
 * rows: Jensen-Shannon, Hellinger, total variation, Jeffreys, chi-square,
 * Renyi entropy and divergence, and entropy and KL with a pseudocount.
 *
 * Every measure here is two reads of the data, with the terms and finishes
 * of terms.h:
 * - the first read (he_totals_read) sums the totals exactly (TwoSum), finds
 *   the largest weights (to rescale totals out of range by a power of two)
 *   and the support violations (p > 0 = q, q > 0 = p), and flags bad
 *   weights.  The pseudocount c adds N c to each total, N the bins kept.
 * - the second read sums the measure's non-negative per-bin terms
 *   (he_second_term) with the totals known; the finish turns the sum into
 *   the measure (he_family_finish).  Renyi sums outside the range where
 *   log1p of them is accurate take a third, log-sum-exp read (he_power_lse_*).
 *
 * A histogram is a set of slices (he_slices) read as one, plus `zero_bins`
 * bins that hold 0 in p and q and are not stored (the unstored bins of a
 * sparse row: with a pseudocount each is one more term of (c, c)).  A
 * sparse row against a dense reference row without pseudocount takes
 * he_family_rest: only its stored bins are read, the rest of q enters
 * through its total (he_rest_second_read_sum of sparse.h).
 */
#ifndef HISTENTROPY_FAMILY_H
#define HISTENTROPY_FAMILY_H

#include <string.h>

#include "dense.h"
#include "sparse.h"

/* What the first read finds. */
typedef struct {
    he_csum p_total, q_total;
    double p_largest, q_largest;
    ptrdiff_t kept;             /* bins where p (and q) hold numbers */
    int p_only, q_only;         /* some p > 0 where q = 0; some q > 0 where p = 0 */
} he_totals;

/* First read of a slice (q NULL for a measure of p alone), added into t. */
HE_ALWAYS_INLINE int he_totals_read(int type, const void *p, ptrdiff_t p_stride,
                                    const void *q, ptrdiff_t q_stride, ptrdiff_t n,
                                    double p_scale, double q_scale, he_totals *t)
{
    ptrdiff_t i;
    double a, b;
    int flags = 0;
    for (i = 0; i < n; i++) {
        /* classified raw: a weight scaled below the range of doubles is
         * still a bin with mass */
        a = he_weight_at(type, p, i, p_stride);
        b = q != NULL ? he_weight_at(type, q, i, q_stride) : 0.0;
        if (!(0.0 <= a && a < INFINITY && 0.0 <= b && b < INFINITY)) {
            flags |= he_classify_pair(a, b);
            continue;
        }
        t->kept++;
        if (a > 0.0) {
            he_csum_add_exact(&t->p_total, a * p_scale);
            t->p_largest = fmax(t->p_largest, a * p_scale);
        }
        if (b > 0.0) {
            he_csum_add_exact(&t->q_total, b * q_scale);
            t->q_largest = fmax(t->q_largest, b * q_scale);
        }
        t->p_only |= a > 0.0 && b == 0.0;
        t->q_only |= b > 0.0 && a == 0.0;
    }
    return flags;
}

/* count * c added exactly to a total (the product's rounding error by FMA). */
HE_ALWAYS_INLINE void he_add_pseudocounts(he_csum *total, ptrdiff_t count, double c)
{
    double n = (double)count, prod = n * c;
    if (prod == 0.0)
        return;
    he_csum_add_exact(total, prod);
    if (isfinite(prod))
        he_csum_add_exact(total, fma(n, c, -prod));
}

/* The measure is unbounded from the first read alone (no pseudocount). */
HE_ALWAYS_INLINE int he_family_unbounded(int measure, const he_params *params,
                                         const he_totals *t)
{
    if (params->pseudocount > 0.0)
        return 0;
    switch (measure) {
    case HE_KL_DIVERGENCE:
    case HE_CHI_SQUARE:
        return t->p_only;
    case HE_JEFFREYS:
        return t->p_only || t->q_only;
    case HE_RENYI_DIVERGENCE:
        return params->alpha >= 1.0 && t->p_only;
    default:
        return 0;
    }
}

/* Renyi at alpha = 1 is Shannon's entropy and KL. */
HE_ALWAYS_INLINE int he_family_measure(int measure, const he_params *params)
{
    if (params->alpha == 1.0 && measure == HE_RENYI_ENTROPY)
        return HE_ENTROPY;
    if (params->alpha == 1.0 && measure == HE_RENYI_DIVERGENCE)
        return HE_KL_DIVERGENCE;
    return measure;
}

/* The second read over the slices, the measure a constant in each copy. */
HE_ALWAYS_INLINE double he_family_second_sum(int type, int measure, const void *p,
                                             const he_slices *ps, const void *q,
                                             const he_slices *qs, ptrdiff_t zero_bins,
                                             const he_second_read *sr)
{
    ptrdiff_t r, rows = ps->shape0 * ps->shape1;
    int one = q == NULL;
    double part;
    he_csum sum;
    he_csum_init(&sum);
    for (r = 0; r < rows; r++) {
        switch (measure) {
#define HE_MEASURE_CASE(M)                                                     \
        case M:                                                                \
            part = he_second_read_sum(type, M, he_slice_at(p, ps, r), ps->stride, \
                                      one ? NULL : he_slice_at(q, qs, r),      \
                                      one ? 0 : qs->stride, ps->n, sr);        \
            break;
        HE_FOR_EACH_MEASURE(HE_MEASURE_CASE)
#undef HE_MEASURE_CASE
        default:
            part = NAN;
        }
        if (part == INFINITY)
            return INFINITY;
        he_csum_add(&sum, part);
    }
    if (zero_bins > 0 && sr->pseudo > 0.0) {
        part = he_second_term(measure, 0.0, 0.0, sr);
        if (part == INFINITY)
            return INFINITY;
        he_csum_add(&sum, (double)zero_bins * part);
    }
    return he_csum_value(&sum);
}

/* The log-sum-exp read of a Renyi measure (terms.h, he_power_lse), added
 * into *l (he_family_lse_init). */
HE_ALWAYS_INLINE void he_family_lse_read(int type, int measure, const void *p,
                                         const he_slices *ps, const void *q,
                                         const he_slices *qs, ptrdiff_t zero_bins,
                                         const he_second_read *sr, he_power_lse *l)
{
    ptrdiff_t r, i, rows = ps->shape0 * ps->shape1;
    int one = q == NULL;
    double a, b, w;
    const void *pr, *qr = NULL;
    for (r = 0; r < rows; r++) {
        pr = he_slice_at(p, ps, r);
        if (!one)
            qr = he_slice_at(q, qs, r);
        for (i = 0; i < ps->n; i++) {
            a = he_weight_at(type, pr, i, ps->stride);
            b = one ? 0.0 : he_weight_at(type, qr, i, qs->stride);
            if (!(0.0 <= a && a < INFINITY && 0.0 <= b && b < INFINITY))
                continue;
            w = he_power_lse_term(measure, a, b, sr);
            if (w == w)
                he_power_lse_add(l, w, 1.0);
        }
    }
    if (zero_bins > 0 && sr->pseudo > 0.0) {
        w = he_power_lse_term(measure, 0.0, 0.0, sr);
        if (w == w)
            he_power_lse_add(l, w, (double)zero_bins);
    }
}

/* An empty log-sum-exp state of a Renyi measure. */
HE_ALWAYS_INLINE void he_family_lse_init(int measure, const he_second_read *sr,
                                         he_power_lse *l)
{
    double k = measure == HE_RENYI_ENTROPY ? 1.0 - sr->alpha : sr->alpha - 1.0;
    he_power_lse_init(l, isinf(k) ? (k > 0.0 ? 1.0 : -1.0) : k);
}

/* The Renyi measure from its log-sum-exp read. */
HE_ALWAYS_INLINE double he_family_lse(int type, int measure, const void *p,
                                      const he_slices *ps, const void *q,
                                      const he_slices *qs, ptrdiff_t zero_bins,
                                      const he_second_read *sr)
{
    he_power_lse l;
    he_family_lse_init(measure, sr, &l);
    he_family_lse_read(type, measure, p, ps, q, qs, zero_bins, sr, &l);
    return he_power_lse_finish(&l, sr->alpha);
}

/* The measure from the second read's sum, or the log-sum-exp read. */
HE_ALWAYS_INLINE double he_family_value(int type, int measure, const void *p,
                                        const he_slices *ps, const void *q,
                                        const he_slices *qs, ptrdiff_t zero_bins,
                                        const he_second_read *sr)
{
    int lse;
    double v;
    if ((measure == HE_RENYI_ENTROPY || measure == HE_RENYI_DIVERGENCE) && isinf(sr->alpha))
        return he_family_lse(type, measure, p, ps, q, qs, zero_bins, sr);
    v = he_family_finish(measure, he_family_second_sum(type, measure, p, ps, q, qs,
                                                       zero_bins, sr),
                         sr, &lse);
    if (lse)
        v = he_family_lse(type, measure, p, ps, q, qs, zero_bins, sr);
    return v;
}

/* Totals with the pseudocounts of `count` bins added; 0 when p (or q, if
 * read) has no mass, else 1 with *in_range telling whether they need no
 * rescaling. */
HE_ALWAYS_INLINE int he_family_totals(he_totals *t, ptrdiff_t count, double c, double p_scale,
                                      double q_scale, int one, int *in_range)
{
    double sp, sq;
    he_add_pseudocounts(&t->p_total, count, c * p_scale);
    if (!one)
        he_add_pseudocounts(&t->q_total, count, c * q_scale);
    sp = he_csum_value(&t->p_total);
    sq = one ? 1.0 : he_csum_value(&t->q_total);
    *in_range = he_total_in_range(sp) && he_total_in_range(sq);
    return sp != 0.0 && sq != 0.0;
}

/* The measures with a vectorised second read (dense_simd.h). */
HE_ALWAYS_INLINE int he_family_vectorised(int measure)
{
    return measure == HE_ENTROPY || measure == HE_KL_DIVERGENCE
           || measure == HE_JS_DIVERGENCE || measure == HE_HELLINGER
           || measure == HE_TOTAL_VARIATION || measure == HE_JEFFREYS
           || measure == HE_CHI_SQUARE || measure == HE_RENYI_ENTROPY
           || measure == HE_RENYI_DIVERGENCE;
}

/* The vectorised path of one clean contiguous histogram, in phases that a
 * driver can also run over chunks on threads: the first read's sums
 * (he_fast_family_sums, per chunk, then he_combine_family_sums), the plan
 * (he_family_plan_of), the second read (he_fast_family_accurate of
 * plan.read, per chunk, sums added), the conclusion (he_family_conclude). */
typedef struct {
    he_second_read sr;
    he_family_consts k;
    int measure, read;          /* read: what the vectorised second read sums */
    ptrdiff_t zero_bins;
} he_family_plan;

HE_UNUSED static void he_combine_family_sums(const he_family_sums *parts, ptrdiff_t count,
                                             he_family_sums *out)
{
    he_csum p_total, q_total;
    ptrdiff_t i;
    he_csum_init(&p_total);
    he_csum_init(&q_total);
    out->p_only = out->q_only = out->bad = out->p_largest = 0.0;
    for (i = 0; i < count; i++) {
        he_csum p_part = {parts[i].p_hi, parts[i].p_lo};
        he_csum q_part = {parts[i].q_hi, parts[i].q_lo};
        he_csum_merge(&p_total, &p_part);
        he_csum_merge(&q_total, &q_part);
        out->p_only += parts[i].p_only;
        out->q_only += parts[i].q_only;
        out->bad += parts[i].bad;
        out->p_largest = fmax(out->p_largest, parts[i].p_largest);
    }
    he_csum_normalise(&p_total);
    he_csum_normalise(&q_total);
    out->p_hi = p_total.hi;
    out->p_lo = p_total.lo;
    out->q_hi = q_total.hi;
    out->q_lo = q_total.lo;
    if (!isfinite(out->p_hi + out->q_hi))
        out->bad = 1.0;
}

/* From the first read's sums of n bins (plus zero_bins unstored ones):
 * 0 when *out is the answer (no mass: NaN; unbounded: +inf), 1 with a plan
 * for the vectorised second read, -1 when the general path must answer. */
HE_ALWAYS_INLINE int he_family_plan_of(int measure, const he_params *params,
                                       const he_family_sums *f, ptrdiff_t n,
                                       ptrdiff_t zero_bins, int one, he_family_plan *plan,
                                       double *out)
{
    he_totals t;
    he_second_read *sr = &plan->sr;
    he_family_consts *k = &plan->k;
    double c = params->pseudocount;
    int in_range;
    measure = he_family_measure(measure, params);
    if (f->bad != 0.0)
        return -1;
    memset(&t, 0, sizeof t);
    t.p_total.hi = f->p_hi;
    t.p_total.lo = f->p_lo;
    t.q_total.hi = f->q_hi;
    t.q_total.lo = f->q_lo;
    t.p_only = f->p_only > 0.0;
    t.q_only = f->q_only > 0.0;
    if (!he_family_totals(&t, n + zero_bins, c, 1.0, 1.0, one, &in_range)) {
        *out = NAN;
        return 0;
    }
    if (!in_range)
        return -1;
    if (he_family_unbounded(measure, params, &t)) {
        *out = INFINITY;
        return 0;
    }
    if (!he_family_vectorised(measure) || isinf(params->alpha))
        return -1;
    *sr = he_second_read_with(measure, params, 1.0, 1.0, &t.p_total,
                              one ? NULL : &t.q_total);
    memset(k, 0, sizeof *k);
    k->sp = sr->p_total.hi;
    k->sp_lo = sr->p_total.lo;
    k->isp = 1.0 / sr->p_total.hi;
    k->sq = sr->q_total.hi;
    k->sq_lo = sr->q_total.lo;
    k->isq = one ? 0.0 : 1.0 / sr->q_total.hi;
    k->c = c;
    k->alpha = sr->alpha;
    k->beta = sr->beta;
    k->sign = sr->sign;
    memcpy(k->coef, sr->coef, sizeof k->coef);
    plan->measure = plan->read = measure;
    plan->zero_bins = zero_bins;
    if (measure == HE_RENYI_ENTROPY) {
        he_quotient big = he_quotient_of(f->p_largest, c, 1.0, &sr->p_total);
        k->log_largest = he_quotient_log(&big, 1.0, &sr->p_total);
        k->largest = big.w;
        /* log(sum (x / max x)^alpha) away from alpha = 1 (no cancellation,
         * no log-sum-exp read), and where sum x^alpha <= (max x)^(alpha-1)
         * < 1/2 for sure (log1p of T = sum x^alpha - 1 would not do) */
        if (fabs(sr->alpha - 1.0) >= 0.5
                || (sr->alpha - 1.0) * k->log_largest < -0.6931471805599453) {
            if (zero_bins > 0)
                return -1;
            plan->read = HE_RENYI_POWER_SUM;
        }
    }
    return 1;
}

/* From the vectorised second read's sum (and its `bad`): 0 when *out is the
 * answer, 1 when plan.read has changed and that read must run, -1 when the
 * general path must answer. */
HE_ALWAYS_INLINE int he_family_conclude(he_family_plan *plan, double sum, double bad,
                                        double *out)
{
    int lse;
    double v;
    if (bad != 0.0)
        return -1;
    if (plan->read == HE_RENYI_POWER_SUM) {
        v = (plan->sr.alpha * plan->k.log_largest + log(sum)) / (1.0 - plan->sr.alpha);
        *out = v > 0.0 ? v : 0.0;
        return 0;
    }
    if (plan->zero_bins > 0 && plan->sr.pseudo > 0.0)
        sum += (double)plan->zero_bins * he_second_term(plan->measure, 0.0, 0.0, &plan->sr);
    *out = he_family_finish(plan->measure, sum, &plan->sr, &lse);
    if (!lse)
        return 0;
    if (plan->measure == HE_RENYI_ENTROPY && plan->zero_bins == 0) {
        plan->read = HE_RENYI_POWER_SUM;
        return 1;
    }
    return -1;
}

/* `measure` (terms.h) of all the slices of p (and q) as one histogram, plus
 * zero_bins unstored bins holding 0.  Flags as he_divergence_slice; NaN for
 * bad weights (unless omitted NaN) or a histogram without mass.  q is NULL
 * for a measure of p alone; given to one, it only decides which bins are
 * kept (omitted NaN) and that q has mass, as for the entropy of
 * he_divergence_slice.  One contiguous slice takes the vectorised reads of
 * dense_simd.h unless they meet anything unusual. */
HE_ALWAYS_INLINE int he_family_whole(int type, int measure, const he_params *params,
                                     const void *p, const he_slices *ps, const void *q,
                                     const he_slices *qs, ptrdiff_t zero_bins,
                                     int omit_nan, double *out)
{
    ptrdiff_t r, rows = ps->shape0 * ps->shape1;
    int one = q == NULL, flags = 0, attempt, in_range = 0, status;
    double c = params->pseudocount, p_scale = 1.0, q_scale = 1.0, bad, sum;
    he_totals t;
    he_second_read sr;
    he_family_sums f;
    he_family_plan plan;
    if (rows == 1 && ps->stride == 1 && (one || qs->stride == 1)) {
        he_fast_family_sums(type, p, q, ps->n, &f);
        status = he_family_plan_of(measure, params, &f, ps->n, zero_bins, one, &plan, out);
        while (status == 1) {
            sum = he_fast_family_accurate(type, plan.read, p, q, ps->n, &plan.k, &bad);
            status = he_family_conclude(&plan, sum, bad, out);
        }
        if (status == 0)
            return 0;
    }
    measure = he_family_measure(measure, params);
    for (attempt = 0; attempt < 2; attempt++) {
        memset(&t, 0, sizeof t);
        flags = 0;
        for (r = 0; r < rows; r++)
            flags |= he_totals_read(type, he_slice_at(p, ps, r), ps->stride,
                                    one ? NULL : he_slice_at(q, qs, r),
                                    one ? 0 : qs->stride, ps->n, p_scale, q_scale, &t);
        if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan)
                || !he_family_totals(&t, t.kept + zero_bins, c, p_scale, q_scale, one,
                                     &in_range)) {
            *out = NAN;
            return flags;
        }
        if (attempt == 1 || in_range)
            break;
        p_scale = he_rescale_factor(he_csum_value(&t.p_total), t.p_largest + c,
                                    t.kept + zero_bins);
        if (!one)
            q_scale = he_rescale_factor(he_csum_value(&t.q_total), t.q_largest + c,
                                        t.kept + zero_bins);
    }
    if (he_family_unbounded(measure, params, &t)) {
        *out = INFINITY;
        return flags;
    }
    sr = he_second_read_with(measure, params, p_scale, q_scale, &t.p_total,
                             one ? NULL : &t.q_total);
    *out = he_family_value(type, measure, p, ps, q, qs, zero_bins, &sr);
    return flags;
}

/* The bins of a reference row where q > 0 (for he_family_rest). */
HE_ALWAYS_INLINE ptrdiff_t he_count_positive(int type, const void *q, ptrdiff_t n,
                                             ptrdiff_t stride)
{
    ptrdiff_t i, count = 0;
    double y;
    for (i = 0; i < n; i++) {
        y = he_weight_at(type, q, i, stride);
        count += 0.0 < y && y < INFINITY;
    }
    return count;
}

/* `measure` of a sparse row against a reference row, without pseudocount:
 * the gathered pairs (a: p's stored values, b: q at their bins) and the
 * reference's total (scaled by q_scale), flags and number of bins with
 * q > 0 (he_count_positive: whether some q > 0 meets p = 0 is counted, not
 * read from a rounded rest), as he_divergence_rest. */
HE_UNUSED static int he_family_rest(int measure, const he_params *params, const double *a,
                                    const double *b, ptrdiff_t m, const he_csum *reference,
                                    double q_scale, ptrdiff_t q_positive, int q_flags,
                                    int omit_nan, double *out)
{
    he_totals t;
    he_csum q_total;
    he_second_read sr;
    he_slices pairs = {1, 1, m, 0, 0, 1};
    double p_scale = 1.0, sp;
    ptrdiff_t i;
    int flags = q_flags, attempt;
    measure = he_family_measure(measure, params);
    if ((q_flags & HE_FLAG_ERRORS) || ((q_flags & HE_FLAG_NAN) && !omit_nan)
            || !(he_csum_value(reference) > 0.0)) {
        *out = NAN;
        return q_flags;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        memset(&t, 0, sizeof t);
        flags = q_flags | he_totals_read(0, a, 1, b, 1, m, p_scale, q_scale, &t);
        q_total = he_rest_q_total(a, b, m, p_scale, q_scale, reference, flags);
        sp = he_csum_value(&t.p_total);
        if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan)
                || sp == 0.0 || !(he_csum_value(&q_total) > 0.0)) {
            *out = NAN;
            return flags;
        }
        if (attempt == 1 || he_total_in_range(sp))
            break;
        p_scale = he_rescale_factor(sp, t.p_largest, m);
    }
    /* q > 0 where p = 0: all q > 0 bins but those where p > 0 or was omitted */
    for (i = 0; i < m; i++)
        q_positive -= 0.0 < b[i] && b[i] < INFINITY && !(0.0 <= a[i] && a[i] <= 0.0);
    t.q_only = q_positive > 0;
    if (he_family_unbounded(measure, params, &t)) {
        *out = INFINITY;
        return flags;
    }
    sr = he_second_read_with(measure, params, p_scale, q_scale, &t.p_total, &q_total);
    if (measure >= HE_RENYI_ENTROPY && isinf(sr.alpha)) {
        *out = he_family_lse(0, measure, a, &pairs, b, &pairs, 0, &sr);
    } else {
        int lse;
        double sum;
        switch (measure) {
#define HE_MEASURE_CASE(M) case M: sum = he_rest_second_read_sum(M, a, b, m, &sr); break;
        HE_FOR_EACH_MEASURE(HE_MEASURE_CASE)
#undef HE_MEASURE_CASE
        default:
            sum = NAN;
        }
        *out = he_family_finish(measure, sum, &sr, &lse);
        if (lse)
            *out = he_family_lse(0, measure, a, &pairs, b, &pairs, 0, &sr);
    }
    return flags;
}

/* ---- entry points for a run-time type code ------------------------------ */

HE_BY_TYPE(int, he_family_whole_t, he_family_whole,
           (int type, int measure, const he_params *params, const void *p,
            const he_slices *ps, const void *q, const he_slices *qs, ptrdiff_t zero_bins,
            int omit_nan, double *out),
           (measure, params, p, ps, q, qs, zero_bins, omit_nan, out), HE_FLAG_NAN)

/* One slice of n bins, stride in elements (q NULL for a measure of p). */
HE_UNUSED static int he_family_slice_t(int type, int measure, const he_params *params,
                                       const void *p, ptrdiff_t p_stride, const void *q,
                                       ptrdiff_t q_stride, ptrdiff_t n, ptrdiff_t zero_bins,
                                       int omit_nan, double *out)
{
    he_slices ps = {1, 1, n, 0, 0, p_stride}, qs = {1, 1, n, 0, 0, q_stride};
    return he_family_whole_t(type, measure, params, p, &ps, q, &qs, zero_bins, omit_nan,
                             out);
}

/* float64 only (the sparse drivers: gathered pairs and float64 data). */
HE_UNUSED static int he_family_slice_f64(int measure, const he_params *params,
                                         const double *p, ptrdiff_t p_stride,
                                         const double *q, ptrdiff_t q_stride, ptrdiff_t n,
                                         ptrdiff_t zero_bins, int omit_nan, double *out)
{
    he_slices ps = {1, 1, n, 0, 0, p_stride}, qs = {1, 1, n, 0, 0, q_stride};
    return he_family_whole(0, measure, params, p, &ps, q, &qs, zero_bins, omit_nan, out);
}

HE_BY_TYPE(int, he_family_sums_t, he_fast_family_sums,
           (int type, const void *p, const void *q, ptrdiff_t n, he_family_sums *out),
           (p, q, n, out), 0)
HE_BY_TYPE(double, he_family_accurate_t, he_fast_family_accurate,
           (int type, int read, const void *p, const void *q, ptrdiff_t n,
            const he_family_consts *k, double *bad),
           (read, p, q, n, k, bad), NAN)

#endif /* HISTENTROPY_FAMILY_H */
