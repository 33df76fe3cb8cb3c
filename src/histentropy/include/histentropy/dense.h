/* histentropy/dense.h -- entropy and KL divergence of dense histograms.
 *
 * A histogram is a slice: a pointer, a length n and a stride in elements
 * (any sign), of one of the types of config.h.  The kernels never validate
 * or allocate; they return the flags of what they saw (terms.h) and write NaN
 * for a NaN (unless omitted), an error flag, or a slice without mass.
 *
 * Two reads, as terms.h describes:
 * - contiguous slices take the vectorised reads of dense_simd.h, compiled
 *   once per CPU path; anything unusual there (NaN, negative or infinite
 *   weights, totals out of range, quotients below the normal range) falls
 *   back to
 * - the general reads below, which classify and handle everything, any
 *   stride, with rescaling by a power of two.
 *
 * Each typed function is written once, with the type code `type` as an
 * argument that is a constant after inlining (he_weight_at's switch folds
 * away); HE_FOR_EACH_TYPE instantiates it per type and he_*_t dispatch on a
 * run-time code.
 */
#ifndef HISTENTROPY_DENSE_H
#define HISTENTROPY_DENSE_H

#include <float.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "dispatch.h"
#include "sum.h"
#include "terms.h"
#include "vlog.h"
#include "vlog_avx512.h"

/* Sums of the vectorised first read. */
typedef struct {
    double total_hi, total_lo;   /* sum of weights, hi + lo exactly */
    double plogp;                /* sum w log w */
    double plogp_abs;            /* sum |w log w| */
    double bad;                  /* non-zero: the general read must take over */
} he_entropy_sums;

typedef struct {
    double p_hi, p_lo, q_hi, q_lo;
    double plogp, plogp_abs;     /* sum p log p, sum |p log p| */
    double plogpq, plogpq_abs;   /* sum p log(p/q), sum |p log(p/q)| */
    double bad;                  /* non-zero: the general read must take over */
    double unbounded;            /* non-zero: some p > 0 where q = 0 */
    int ratio_exact;             /* log(p/q) corrected for the rounding of p/q */
} he_pair_sums;

/* Elements per block of plain lane sums in the vectorised reads. */
#define HE_SIMD_BLOCK 1024
/* Elements per block of plain sums in the general reads. */
#define HE_BLOCK 256
/* Added to a weight before its log so that 0 log 0 comes out as
 * 0 * log(tiny) = 0 without a select: it leaves every weight >= 2^-1021
 * unchanged, and the totals the vectorised reads accept make smaller
 * weights negligible. */
#define HE_TINY 0x1p-1074

/* A vectorised first read's sums from its totals, its compensated sums,
 * the sum of twice the negative terms, and of the bad-weight marks. */
HE_ALWAYS_INLINE void he_entropy_sums_of(he_csum total, const he_csum *plogp, double neg,
                                         double nbad, he_entropy_sums *out)
{
    out->total_hi = total.hi;
    out->total_lo = total.lo;
    out->plogp = plogp->hi + plogp->lo;
    out->plogp_abs = out->plogp - neg;
    out->bad = (nbad != 0.0) ? 1.0 : 0.0;
}

HE_ALWAYS_INLINE void he_pair_sums_of(he_csum p_total, he_csum q_total, const he_csum *plogp,
                                      double aneg, const he_csum *plogpq, double bneg,
                                      double nbad, double nunb, int ratio_exact,
                                      he_pair_sums *out)
{
    out->p_hi = p_total.hi;
    out->p_lo = p_total.lo;
    out->q_hi = q_total.hi;
    out->q_lo = q_total.lo;
    out->plogp = plogp->hi + plogp->lo;
    out->plogp_abs = out->plogp - aneg;
    out->plogpq = plogpq->hi + plogpq->lo;
    out->plogpq_abs = out->plogpq - bneg;
    out->unbounded = nunb;
    /* A ratio p/q that overflowed (q > 0) leaves a non-finite sum: the
     * general read takes the difference of logs there. */
    out->bad = (nbad != 0.0 || (nunb == 0.0 && !isfinite(out->plogpq))) ? 1.0 : 0.0;
    out->ratio_exact = ratio_exact;
}

/* The lanes of a vectorised first read -> its sums. */
static void he_lanes_entropy_sums(const double *t_hi, const double *t_lo,
                                  const he_csum *plogp, const double *a_neg,
                                  const double *bad, he_entropy_sums *out)
{
    double neg = 0.0, nbad = 0.0;
    int j;
    for (j = 0; j < HE_LANES; j++) {
        neg += a_neg[j];
        nbad += bad[j];
    }
    he_entropy_sums_of(he_lanes_total(t_hi, t_lo), plogp, neg, nbad, out);
}

static void he_lanes_pair_sums(const double *pt_hi, const double *pt_lo,
                               const double *qt_hi, const double *qt_lo,
                               const he_csum *plogp, const double *a_neg,
                               const he_csum *plogpq, const double *b_neg,
                               const double *bad, const double *unbounded,
                               int ratio_exact, he_pair_sums *out)
{
    double aneg = 0.0, bneg = 0.0, nbad = 0.0, nunb = 0.0;
    int j;
    for (j = 0; j < HE_LANES; j++) {
        aneg += a_neg[j];
        bneg += b_neg[j];
        nbad += bad[j];
        nunb += unbounded[j];
    }
    he_pair_sums_of(he_lanes_total(pt_hi, pt_lo), he_lanes_total(qt_hi, qt_lo), plogp, aneg,
                    plogpq, bneg, nbad, nunb, ratio_exact, out);
}

/* Sums of the measure family's vectorised first read (family.h). */
typedef struct {
    double p_hi, p_lo, q_hi, q_lo;  /* totals, hi + lo exactly */
    double p_only, q_only;          /* non-zero: some p > 0 = q; some q > 0 = p */
    double p_largest;
    double bad;                     /* non-zero: the general read must take over */
} he_family_sums;

/* What the family's vectorised second read needs: the normalised totals,
 * their reciprocals, the pseudocount. */
typedef struct {
    double sp, sp_lo, isp, sq, sq_lo, isq, c;
    double alpha, beta, sign, coef[HE_RENYI_COEFS];     /* Renyi (terms.h) */
    double largest, log_largest;    /* Renyi entropy, scaled sum: max w + c, log max x */
} he_family_consts;

static void he_lanes_family_sums(const double *pt_hi, const double *pt_lo,
                                 const double *qt_hi, const double *qt_lo,
                                 const double *p_only, const double *q_only,
                                 const double *p_max, const double *bad,
                                 he_family_sums *out)
{
    he_csum p_total = he_lanes_total(pt_hi, pt_lo);
    he_csum q_total = he_lanes_total(qt_hi, qt_lo);
    int j;
    out->p_hi = p_total.hi;
    out->p_lo = p_total.lo;
    out->q_hi = q_total.hi;
    out->q_lo = q_total.lo;
    out->p_only = out->q_only = out->bad = out->p_largest = 0.0;
    for (j = 0; j < HE_LANES; j++) {
        out->p_largest = fmax(out->p_largest, p_max[j]);
        out->p_only += p_only[j];
        out->q_only += q_only[j];
        out->bad += bad[j];
    }
    /* a total that overflowed is out of range: the general read rescales */
    out->bad = (out->bad != 0.0 || !isfinite(out->p_hi + out->q_hi)) ? 1.0 : 0.0;
}

#define HE_CPU_BODY "dense_simd.h"
#include "instantiate.h"

/* ---- typed access and dispatch ------------------------------------------ */

HE_ALWAYS_INLINE double he_weight_at(int type, const void *p, ptrdiff_t i, ptrdiff_t stride)
{
#define HE_CALL_T(T, tname) (double)((const T *)p)[i * stride]
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

HE_ALWAYS_INLINE int he_fast_entropy_sums(int type, const void *p, ptrdiff_t n,
                                          he_entropy_sums *out)
{
#define HE_CALL_T(T, tname) (HE_CPU_CALL(he_entropy_sums_##tname, ((const T *)p, n, out)), 0)
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return 0;
}

HE_ALWAYS_INLINE int he_fast_pair_sums(int type, const void *p, const void *q, ptrdiff_t n,
                                       int need_entropy, he_pair_sums *out)
{
#define HE_CALL_T(T, tname) (HE_CPU_CALL(he_pair_sums_##tname, \
                                         ((const T *)p, (const T *)q, n, need_entropy, out)), 0)
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return 0;
}

HE_ALWAYS_INLINE double he_fast_entropy_accurate(int type, const void *p, ptrdiff_t n,
                                                 const he_csum *total)
{
#define HE_CALL_T(T, tname) HE_CPU_CALL(he_entropy_accurate_##tname, \
                                        ((const T *)p, n, total->hi, total->lo))
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

HE_ALWAYS_INLINE double he_fast_kl_accurate(int type, const void *p, const void *q,
                                            ptrdiff_t n, double sp, double sq,
                                            double *unbounded, double *bad)
{
#define HE_CALL_T(T, tname) HE_CPU_CALL(he_kl_accurate_##tname, \
                                        ((const T *)p, (const T *)q, n, sp, sq, unbounded, bad))
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

HE_ALWAYS_INLINE int he_fast_family_sums(int type, const void *p, const void *q, ptrdiff_t n,
                                        he_family_sums *out)
{
#define HE_CALL_T(T, tname) (HE_CPU_CALL(he_family_sums_##tname, \
                                         ((const T *)p, (const T *)q, n, out)), 0)
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return 0;
}

/* ---- entropy of one slice ----------------------------------------------- */

/* First read: total = sum w, plogp = sum w log w over w = scale p;
 * plogp_abs = sum |w log w| bounds the cancellation inside plogp. */
HE_ALWAYS_INLINE int he_entropy_read(int type, const void *p, ptrdiff_t n, ptrdiff_t stride,
                                     double scale, he_csum *total, he_csum *plogp,
                                     double *plogp_abs, double *largest)
{
    ptrdiff_t start, i, stop;
    double w, term, block_plogp, block_neg, negative = 0.0, big = 0.0;
    int flags = 0;
    he_csum_init(total);
    he_csum_init(plogp);
    for (start = 0; start < n; start = stop) {
        stop = start + HE_BLOCK < n ? start + HE_BLOCK : n;
        block_plogp = 0.0;
        block_neg = 0.0;
        for (i = start; i < stop; i++) {
            w = he_weight_at(type, p, i, stride) * scale;
            if (!(0.0 <= w && w < INFINITY)) {
                flags |= he_classify(w, HE_FLAG_NEGATIVE_P, HE_FLAG_INFINITE_P);
                continue;
            }
            if (w > 0.0) {
                he_csum_add_exact(total, w);
                term = he_term_plogp(w);
                block_plogp += term;
                block_neg += fmin(term, 0.0);
                big = fmax(big, w);
            }
        }
        he_csum_add(plogp, block_plogp);
        negative += block_neg;
    }
    *plogp_abs = he_csum_value(plogp) - 2.0 * negative;
    *largest = big;
    return flags;
}

/* Second read of `measure` (terms.h): the compensated sum of its terms over
 * the bins where p (and q, if not NULL) hold numbers. */
HE_ALWAYS_INLINE double he_second_read_sum(int type, int measure, const void *p,
                                           ptrdiff_t p_stride, const void *q,
                                           ptrdiff_t q_stride, ptrdiff_t n,
                                           const he_second_read *r)
{
    ptrdiff_t i;
    double a, b, term;
    he_csum sum;
    he_csum_init(&sum);
    for (i = 0; i < n; i++) {
        a = he_weight_at(type, p, i, p_stride);
        b = q != NULL ? he_weight_at(type, q, i, q_stride) : 0.0;
        if (!(0.0 <= a && a < INFINITY && 0.0 <= b && b < INFINITY))
            continue;  /* an omitted NaN bin */
        term = he_second_term(measure, a, b, r);
        if (term == INFINITY)
            return INFINITY;
        he_csum_add(&sum, term);
    }
    return he_csum_value(&sum);
}

/* Entropy from the first read's sums, or from a second read if they cancel.
 * clean: contiguous, unscaled, only weights in [0, inf) (the vectorised
 * second read applies). */
HE_ALWAYS_INLINE double he_entropy_from_sums(int type, const void *p, ptrdiff_t n,
                                             ptrdiff_t stride, double scale, he_csum *total,
                                             double plogp, double plogp_abs, int clean)
{
    int accurate;
    double h = he_entropy_finish(total, plogp, plogp_abs, &accurate);
    if (!accurate) {
        if (clean) {
            he_csum_normalise(total);
            h = he_fast_entropy_accurate(type, p, n, total);
        } else {
            he_second_read r = he_second_read_of(HE_ENTROPY, scale, 1.0, total, NULL);
            h = he_second_read_sum(type, HE_ENTROPY, p, stride, NULL, 0, n, &r);
        }
    }
    return h;
}

/* The vectorised first read's sums of a clean contiguous slice -> entropy.
 * Returns 0 when the sums are not usable (the general read must run). */
HE_ALWAYS_INLINE int he_entropy_from_fast(int type, const void *p, ptrdiff_t n,
                                          const he_entropy_sums *fast, double *entropy)
{
    he_csum total;
    if (!(fast->bad == 0.0 && he_total_in_range(fast->total_hi)))
        return 0;
    total.hi = fast->total_hi;
    total.lo = fast->total_lo;
    *entropy = he_entropy_from_sums(type, p, n, 1, 1.0, &total, fast->plogp,
                                    fast->plogp_abs, 1);
    return 1;
}

/* Shannon entropy (nats) of p[0], p[stride], ..., p[(n-1) stride]. */
HE_ALWAYS_INLINE int he_entropy_slice(int type, const void *p, ptrdiff_t n, ptrdiff_t stride,
                                      int omit_nan, double *entropy)
{
    he_csum total, plogp;
    double scale = 1.0, plogp_abs, largest, s;
    he_entropy_sums fast;
    int flags;
    if (stride == 1) {
        he_fast_entropy_sums(type, p, n, &fast);
        if (he_entropy_from_fast(type, p, n, &fast, entropy))
            return 0;
    }
    flags = he_entropy_read(type, p, n, stride, scale, &total, &plogp, &plogp_abs, &largest);
    s = he_csum_value(&total);
    if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan) || s == 0.0) {
        *entropy = NAN;
        return flags;
    }
    if (!he_total_in_range(s)) {
        scale = he_rescale_factor(s, largest, n);
        he_entropy_read(type, p, n, stride, scale, &total, &plogp, &plogp_abs, &largest);
    }
    *entropy = he_entropy_from_sums(type, p, n, stride, scale, &total,
                                    he_csum_value(&plogp), plogp_abs, 0);
    return flags;
}

/* ---- entropy and KL divergence of one pair of slices -------------------- */

typedef struct {
    he_csum p_total, q_total, plogp, plogpq;
    double plogp_abs, plogpq_abs;    /* sum |p log p|, sum |p log(p/q)| */
    double p_largest, q_largest;
    int unbounded;                   /* some p > 0 where q = 0 */
} he_pair_state;

/* First read of both slices: totals, sum p log p, sum p log(p/q).  A bin
 * where either side is not in [0, inf) is skipped (and reported). */
HE_ALWAYS_INLINE int he_pair_read(int type, const void *p, ptrdiff_t p_stride,
                                  const void *q, ptrdiff_t q_stride, ptrdiff_t n,
                                  double p_scale, double q_scale, int need_entropy,
                                  he_pair_state *st)
{
    ptrdiff_t start, stop, i;
    double a, b, x, y, term, ba, bb, na, nb, xbig = 0.0, ybig = 0.0;
    /* log(x/y) = log(a/b) + log_scales for raw weights a, b: a tiny b scaled
     * below the range of doubles must still give its large term. */
    double log_scales = log(p_scale) - log(q_scale);
    double neg_a = 0.0, neg_b = 0.0;
    int flags = 0;
    he_csum_init(&st->p_total);
    he_csum_init(&st->q_total);
    he_csum_init(&st->plogp);
    he_csum_init(&st->plogpq);
    st->unbounded = 0;
    for (start = 0; start < n; start = stop) {
        stop = start + HE_BLOCK < n ? start + HE_BLOCK : n;
        ba = bb = na = nb = 0.0;
        for (i = start; i < stop; i++) {
            a = he_weight_at(type, p, i, p_stride);
            b = he_weight_at(type, q, i, q_stride);
            x = a * p_scale;
            y = b * q_scale;
            if (!(0.0 <= x && x < INFINITY && 0.0 <= y && y < INFINITY)) {
                flags |= he_classify_pair(x, y);
                continue;
            }
            he_csum_add_exact(&st->q_total, y);
            ybig = fmax(ybig, y);
            if (a > 0.0) {
                he_csum_add_exact(&st->p_total, x);
                xbig = fmax(xbig, x);
                if (need_entropy && x > 0.0) {
                    term = he_term_plogp(x);
                    ba += term;
                    na += fmin(term, 0.0);
                }
                if (b > 0.0) {
                    term = he_term_plogpq(x, a, b, log_scales);
                    bb += term;
                    nb += fmin(term, 0.0);
                } else {
                    st->unbounded = 1;
                }
            }
        }
        he_csum_add(&st->plogp, ba);
        he_csum_add(&st->plogpq, bb);
        neg_a += na;
        neg_b += nb;
    }
    st->plogp_abs = he_csum_value(&st->plogp) - 2.0 * neg_a;
    st->plogpq_abs = he_csum_value(&st->plogpq) - 2.0 * neg_b;
    st->p_largest = xbig;
    st->q_largest = ybig;
    return flags;
}

/* Entropy and KL from the first read's state, or from second reads.
 * log_error: see he_kl_finish; clean: as for he_entropy_from_sums. */
HE_ALWAYS_INLINE void he_divergence_from_state(
        int type, const void *p, ptrdiff_t p_stride, const void *q, ptrdiff_t q_stride,
        ptrdiff_t n, double p_scale, double q_scale, int need_entropy, he_pair_state *st,
        double log_error, int clean, double *entropy, double *kl)
{
    int accurate;
    double d, fast_unbounded, fast_bad;
    if (need_entropy) {
        d = he_entropy_finish(&st->p_total, he_csum_value(&st->plogp), st->plogp_abs,
                              &accurate);
        if (!accurate) {
            if (clean) {
                he_csum_normalise(&st->p_total);
                d = he_fast_entropy_accurate(type, p, n, &st->p_total);
            } else {
                he_second_read r = he_second_read_of(HE_ENTROPY, p_scale, q_scale,
                                                     &st->p_total, NULL);
                d = he_second_read_sum(type, HE_ENTROPY, p, p_stride, q, q_stride, n, &r);
            }
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
        fast_bad = 1.0;
        if (clean)
            d = he_fast_kl_accurate(type, p, q, n, st->p_total.hi, st->q_total.hi,
                                    &fast_unbounded, &fast_bad);
        if (fast_bad != 0.0) {
            he_second_read r = he_second_read_of(HE_KL_DIVERGENCE, p_scale, q_scale,
                                                 &st->p_total, &st->q_total);
            d = he_second_read_sum(type, HE_KL_DIVERGENCE, p, p_stride, q, q_stride, n,
                                   &r);
        }
    }
    *kl = d;
}

/* The state of a first read, from the vectorised read's sums. */
HE_ALWAYS_INLINE void he_pair_state_of_fast(const he_pair_sums *fast, he_pair_state *st)
{
    st->p_total.hi = fast->p_hi;
    st->p_total.lo = fast->p_lo;
    st->q_total.hi = fast->q_hi;
    st->q_total.lo = fast->q_lo;
    st->plogp.hi = fast->plogp;
    st->plogp.lo = 0.0;
    st->plogpq.hi = fast->plogpq;
    st->plogpq.lo = 0.0;
    st->plogp_abs = fast->plogp_abs;
    st->plogpq_abs = fast->plogpq_abs;
    st->unbounded = fast->unbounded > 0.0;
}

/* The vectorised first read's sums of a clean contiguous pair -> entropy
 * and KL.  Returns 0 when the sums are not usable. */
HE_ALWAYS_INLINE int he_divergence_from_fast(int type, const void *p, const void *q,
                                             ptrdiff_t n, int need_entropy,
                                             const he_pair_sums *fast, double *entropy,
                                             double *kl)
{
    he_pair_state st;
    if (!(fast->bad == 0.0 && he_total_in_range(fast->p_hi)
          && he_total_in_range(fast->q_hi)))
        return 0;
    he_pair_state_of_fast(fast, &st);
    he_divergence_from_state(type, p, 1, q, 1, n, 1.0, 1.0, need_entropy, &st,
                             fast->ratio_exact ? 0.0 : 1.0, 1, entropy, kl);
    return 1;
}

/* Entropy of p (if need_entropy) and KL(p || q), nats, of one pair of
 * slices.  Cross entropy is their sum. */
HE_ALWAYS_INLINE int he_divergence_slice(int type, const void *p, ptrdiff_t p_stride,
                                         const void *q, ptrdiff_t q_stride, ptrdiff_t n,
                                         int omit_nan, int need_entropy, double *entropy,
                                         double *kl)
{
    he_pair_state st;
    he_pair_sums fast;
    double p_scale = 1.0, q_scale = 1.0, sp, sq;
    int flags;
    if (p_stride == 1 && q_stride == 1) {
        he_fast_pair_sums(type, p, q, n, need_entropy, &fast);
        if (he_divergence_from_fast(type, p, q, n, need_entropy, &fast, entropy, kl))
            return 0;
    }
    flags = he_pair_read(type, p, p_stride, q, q_stride, n, p_scale, q_scale,
                         need_entropy, &st);
    sp = he_csum_value(&st.p_total);
    sq = he_csum_value(&st.q_total);
    if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan)
            || sp == 0.0 || sq == 0.0) {
        *kl = NAN;
        if (need_entropy)
            *entropy = NAN;
        return flags;
    }
    if (!(he_total_in_range(sp) && he_total_in_range(sq))) {
        p_scale = he_rescale_factor(sp, st.p_largest, n);
        q_scale = he_rescale_factor(sq, st.q_largest, n);
        he_pair_read(type, p, p_stride, q, q_stride, n, p_scale, q_scale, need_entropy,
                     &st);
    }
    he_divergence_from_state(type, p, p_stride, q, q_stride, n, p_scale, q_scale,
                             need_entropy, &st, fabs(log(p_scale) - log(q_scale)), 0,
                             entropy, kl);
    return flags;
}

/* ---- the sums of consecutive chunks of one long slice ------------------- */

HE_UNUSED static void he_combine_entropy_sums(const he_entropy_sums *parts, ptrdiff_t count,
                                    he_entropy_sums *out)
{
    he_csum total, plogp;
    ptrdiff_t c;
    he_csum_init(&total);
    he_csum_init(&plogp);
    out->plogp_abs = 0.0;
    out->bad = 0.0;
    for (c = 0; c < count; c++) {
        he_csum part = {parts[c].total_hi, parts[c].total_lo};
        he_csum_merge(&total, &part);
        he_csum_add(&plogp, parts[c].plogp);
        out->plogp_abs += parts[c].plogp_abs;
        out->bad += parts[c].bad;
    }
    he_csum_normalise(&total);
    out->total_hi = total.hi;
    out->total_lo = total.lo;
    out->plogp = he_csum_value(&plogp);
}

HE_UNUSED static void he_combine_pair_sums(const he_pair_sums *parts, ptrdiff_t count,
                                 he_pair_sums *out)
{
    he_csum p_total, q_total, plogp, plogpq;
    ptrdiff_t c;
    he_csum_init(&p_total);
    he_csum_init(&q_total);
    he_csum_init(&plogp);
    he_csum_init(&plogpq);
    out->plogp_abs = out->plogpq_abs = out->bad = out->unbounded = 0.0;
    out->ratio_exact = 1;
    for (c = 0; c < count; c++) {
        he_csum p_part = {parts[c].p_hi, parts[c].p_lo};
        he_csum q_part = {parts[c].q_hi, parts[c].q_lo};
        he_csum_merge(&p_total, &p_part);
        he_csum_merge(&q_total, &q_part);
        he_csum_add(&plogp, parts[c].plogp);
        he_csum_add(&plogpq, parts[c].plogpq);
        out->plogp_abs += parts[c].plogp_abs;
        out->plogpq_abs += parts[c].plogpq_abs;
        out->bad += parts[c].bad;
        out->unbounded += parts[c].unbounded;
        out->ratio_exact = out->ratio_exact && parts[c].ratio_exact;
    }
    he_csum_normalise(&p_total);
    he_csum_normalise(&q_total);
    out->p_hi = p_total.hi;
    out->p_lo = p_total.lo;
    out->q_hi = q_total.hi;
    out->q_lo = q_total.lo;
    out->plogp = he_csum_value(&plogp);
    out->plogpq = he_csum_value(&plogpq);
}

/* ---- many slices as one histogram --------------------------------------- */


/* Entropy of all the slices of s together (axis=None over a layout that is
 * not one contiguous run): the slices' sums are combined, nothing copied. */
HE_ALWAYS_INLINE int he_entropy_whole(int type, const void *base, const he_slices *s,
                                      int omit_nan, double *entropy)
{
    ptrdiff_t r, rows = s->shape0 * s->shape1;
    he_csum total, plogp, t, a;
    double scale = 1.0, plogp_abs = 0.0, abs_part, largest = 0.0, big, h;
    int flags = 0, attempt, accurate;
    for (attempt = 0; attempt < 2; attempt++) {
        he_csum_init(&total);
        he_csum_init(&plogp);
        plogp_abs = 0.0;
        for (r = 0; r < rows; r++) {
            flags |= he_entropy_read(type, he_slice_at(base, s, r), s->n, s->stride, scale,
                                     &t, &a, &abs_part, &big);
            he_csum_merge(&total, &t);
            he_csum_add(&plogp, he_csum_value(&a));
            plogp_abs += abs_part;
            largest = fmax(largest, big);
        }
        if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan)
                || he_csum_value(&total) == 0.0) {
            *entropy = NAN;
            return flags;
        }
        if (he_total_in_range(he_csum_value(&total)) || attempt == 1)
            break;
        scale = he_rescale_factor(he_csum_value(&total), largest, rows * s->n);
    }
    he_csum_normalise(&total);
    h = he_entropy_finish(&total, he_csum_value(&plogp), plogp_abs, &accurate);
    if (!accurate) {
        he_second_read sr = he_second_read_of(HE_ENTROPY, scale, 1.0, &total, NULL);
        he_csum_init(&a);
        for (r = 0; r < rows; r++)
            he_csum_add(&a, he_second_read_sum(type, HE_ENTROPY, he_slice_at(base, s, r),
                                               s->stride, NULL, 0, s->n, &sr));
        h = he_csum_value(&a);
    }
    *entropy = h;
    return flags;
}

/* The second read of `measure` over all the pairs of slices together. */
HE_ALWAYS_INLINE double he_second_read_whole(int type, int measure, const void *p,
                                             const he_slices *ps, const void *q,
                                             const he_slices *qs, double p_scale,
                                             double q_scale, he_pair_state *st)
{
    ptrdiff_t r, rows = ps->shape0 * ps->shape1;
    he_second_read sr = he_second_read_of(measure, p_scale, q_scale, &st->p_total,
                                          measure == HE_ENTROPY ? NULL : &st->q_total);
    he_csum sum;
    double part;
    he_csum_init(&sum);
    for (r = 0; r < rows; r++) {
        part = he_second_read_sum(type, measure, he_slice_at(p, ps, r), ps->stride,
                                  he_slice_at(q, qs, r), qs->stride, ps->n, &sr);
        if (part == INFINITY)
            return INFINITY;
        he_csum_add(&sum, part);
    }
    return he_csum_value(&sum);
}

/* Entropy of p (if need_entropy) and KL of all the pairs of slices
 * together, as he_entropy_whole. */
HE_ALWAYS_INLINE int he_divergence_whole(int type, const void *p, const he_slices *ps,
                                         const void *q, const he_slices *qs, int omit_nan,
                                         int need_entropy, double *entropy, double *kl)
{
    ptrdiff_t r, rows = ps->shape0 * ps->shape1;
    he_pair_state st, part;
    double p_scale = 1.0, q_scale = 1.0, log_error;
    int flags = 0, attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        memset(&st, 0, sizeof st);
        for (r = 0; r < rows; r++) {
            flags |= he_pair_read(type, he_slice_at(p, ps, r), ps->stride,
                                  he_slice_at(q, qs, r), qs->stride, ps->n, p_scale,
                                  q_scale, need_entropy, &part);
            he_csum_merge(&st.p_total, &part.p_total);
            he_csum_merge(&st.q_total, &part.q_total);
            he_csum_add(&st.plogp, he_csum_value(&part.plogp));
            he_csum_add(&st.plogpq, he_csum_value(&part.plogpq));
            st.plogp_abs += part.plogp_abs;
            st.plogpq_abs += part.plogpq_abs;
            st.unbounded = st.unbounded || part.unbounded;
            st.p_largest = fmax(st.p_largest, part.p_largest);
            st.q_largest = fmax(st.q_largest, part.q_largest);
        }
        if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan)
                || he_csum_value(&st.p_total) == 0.0 || he_csum_value(&st.q_total) == 0.0) {
            *kl = NAN;
            *entropy = NAN;
            return flags;
        }
        if (attempt == 1 || (he_total_in_range(he_csum_value(&st.p_total))
                             && he_total_in_range(he_csum_value(&st.q_total))))
            break;
        p_scale = he_rescale_factor(he_csum_value(&st.p_total), st.p_largest, rows * ps->n);
        q_scale = he_rescale_factor(he_csum_value(&st.q_total), st.q_largest, rows * ps->n);
    }
    he_csum_normalise(&st.p_total);
    he_csum_normalise(&st.q_total);
    log_error = fabs(log(p_scale) - log(q_scale));
    if (need_entropy) {
        int accurate;
        double h = he_entropy_finish(&st.p_total, he_csum_value(&st.plogp), st.plogp_abs,
                                     &accurate);
        if (!accurate)
            h = he_second_read_whole(type, HE_ENTROPY, p, ps, q, qs, p_scale, q_scale,
                                     &st);
        *entropy = h;
    }
    if (st.unbounded) {
        *kl = INFINITY;
    } else {
        int accurate;
        double d = he_kl_finish(&st.p_total, &st.q_total, he_csum_value(&st.plogpq),
                                st.plogpq_abs, log_error, &accurate);
        if (!accurate)
            d = he_second_read_whole(type, HE_KL_DIVERGENCE, p, ps, q, qs, p_scale,
                                     q_scale, &st);
        *kl = d;
    }
    return flags;
}

/* ---- entry points for a run-time type code ------------------------------ */

HE_ALWAYS_INLINE int he_load(int type, const void *src, ptrdiff_t stride, ptrdiff_t n,
                             double *dst)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++)
        dst[i] = he_weight_at(type, src, i, stride);
    return 0;
}

/* Each kernel above is written once for all types, with the type code as a
 * constant after inlining; these pick the copy for a run-time code. */
HE_BY_TYPE(int, he_entropy_slice_t, he_entropy_slice,
           (int type, const void *p, ptrdiff_t n, ptrdiff_t stride, int omit_nan,
            double *entropy),
           (p, n, stride, omit_nan, entropy), HE_FLAG_NAN)
HE_BY_TYPE(int, he_divergence_slice_t, he_divergence_slice,
           (int type, const void *p, ptrdiff_t p_stride, const void *q, ptrdiff_t q_stride,
            ptrdiff_t n, int omit_nan, int need_entropy, double *entropy, double *kl),
           (p, p_stride, q, q_stride, n, omit_nan, need_entropy, entropy, kl), HE_FLAG_NAN)
HE_BY_TYPE(int, he_entropy_sums_t, he_fast_entropy_sums,
           (int type, const void *p, ptrdiff_t n, he_entropy_sums *out), (p, n, out), 0)
HE_BY_TYPE(int, he_pair_sums_t, he_fast_pair_sums,
           (int type, const void *p, const void *q, ptrdiff_t n, int need_entropy,
            he_pair_sums *out),
           (p, q, n, need_entropy, out), 0)
HE_BY_TYPE(int, he_entropy_from_fast_t, he_entropy_from_fast,
           (int type, const void *p, ptrdiff_t n, const he_entropy_sums *fast,
            double *entropy),
           (p, n, fast, entropy), 0)
HE_BY_TYPE(int, he_divergence_from_fast_t, he_divergence_from_fast,
           (int type, const void *p, const void *q, ptrdiff_t n, int need_entropy,
            const he_pair_sums *fast, double *entropy, double *kl),
           (p, q, n, need_entropy, fast, entropy, kl), 0)
HE_BY_TYPE(int, he_entropy_whole_t, he_entropy_whole,
           (int type, const void *p, const he_slices *s, int omit_nan, double *entropy),
           (p, s, omit_nan, entropy), HE_FLAG_NAN)
HE_BY_TYPE(int, he_divergence_whole_t, he_divergence_whole,
           (int type, const void *p, const he_slices *ps, const void *q,
            const he_slices *qs, int omit_nan, int need_entropy, double *entropy,
            double *kl),
           (p, ps, q, qs, omit_nan, need_entropy, entropy, kl), HE_FLAG_NAN)
/* dst[i] = (double)src[i * stride], i < n. */
HE_BY_TYPE(int, he_load_t, he_load,
           (int type, const void *src, ptrdiff_t stride, ptrdiff_t n, double *dst),
           (src, stride, n, dst), 0)

/* The family's vectorised second read (dense_simd.h): float64 directly,
 * other types converted to float64 by blocks on the stack. */
HE_ALWAYS_INLINE double he_fast_family_accurate(int type, int measure, const void *p,
                                                const void *q, ptrdiff_t n,
                                                const he_family_consts *c, double *bad)
{
    double a[HE_SIMD_BLOCK], b[HE_SIMD_BLOCK], part_bad;
    ptrdiff_t start, len, size = (ptrdiff_t)he_type_size(type);
    he_csum sum;
    if (type == 0)
        return HE_CPU_CALL(he_family_accurate_f64,
                           (measure, (const double *)p, (const double *)q, n, c, bad));
    he_csum_init(&sum);
    *bad = 0.0;
    for (start = 0; start < n; start += HE_SIMD_BLOCK) {
        len = n - start < HE_SIMD_BLOCK ? n - start : HE_SIMD_BLOCK;
        he_load_t(type, (const char *)p + start * size, 1, len, a);
        if (q != NULL)
            he_load_t(type, (const char *)q + start * size, 1, len, b);
        he_csum_add(&sum, HE_CPU_CALL(he_family_accurate_f64,
                                      (measure, a, q != NULL ? b : NULL, len, c,
                                       &part_bad)));
        *bad += part_bad;
    }
    return he_csum_value(&sum);
}

#endif /* HISTENTROPY_DENSE_H */
