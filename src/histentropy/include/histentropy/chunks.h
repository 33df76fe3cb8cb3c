/* histentropy/chunks.h -- one histogram split into chunks (the blocks of a
 * Dask array along the histogram axis): a state per chunk that merges with
 * the others in any grouping, and the measure from the merged state.
 *
 * State of a chunk (HE_CHUNK_FIELDS doubles, he_chunk_field):
 * - the first read of family.h (he_totals_read): the totals of p and q as
 *   exact sums hi + lo, pseudocounts included, each scaled by a power of two
 *   2^-exp that keeps it in range (true total = (hi + lo) 2^exp); the largest
 *   weights, the bins kept, the flags, the support violations;
 * - entropy and KL: the chunk's own entropy H_c and divergence D_c (each
 *   normalised by the chunk's totals), from the in-memory kernels.
 * Entropy and KL merge by the chain rule, every term non-negative, so that
 * nothing cancels however the histogram is split:
 *   H(P)    = sum_c x_c H_c + sum_c -x_c log x_c,
 *   D(P||Q) = sum_c x_c D_c + sum_c (x_c log(x_c/y_c) - x_c + y_c),
 * with x_c = S_p,c / S_p, y_c = S_q,c / S_q the chunks' shares of the mass,
 * formed from the exact totals (he_quotient: x - y exact to a few ulp of x).
 *
 * The rest of the family needs the totals of the whole histogram before it
 * reads a bin: a second pass sums each chunk's second-read terms (and, for
 * Renyi, its log-sum-exp state) with the merged totals (he_chunk_second),
 * and those sums merge by addition (he_chunk_second_merge).
 */
#ifndef HISTENTROPY_CHUNKS_H
#define HISTENTROPY_CHUNKS_H

#include "family.h"

enum he_chunk_field {
    HE_CK_P_HI, HE_CK_P_LO, HE_CK_P_EXP,
    HE_CK_Q_HI, HE_CK_Q_LO, HE_CK_Q_EXP,
    HE_CK_P_LARGEST, HE_CK_Q_LARGEST, HE_CK_KEPT,
    HE_CK_FLAGS, HE_CK_P_ONLY, HE_CK_Q_ONLY,
    HE_CK_ENTROPY, HE_CK_KL,
    HE_CHUNK_FIELDS
};

/* The second pass of a family measure: its terms' sum, and the log-sum-exp
 * state (he_power_lse) of a Renyi measure. */
enum he_chunk_second_field {
    HE_CK2_SUM_HI, HE_CK2_SUM_LO, HE_CK2_LSE_K, HE_CK2_LSE_M, HE_CK2_LSE_HI, HE_CK2_LSE_LO,
    HE_CHUNK_SECOND_FIELDS
};

/* Power-of-two exponent that brings a positive total into range (0 when it
 * is in range already): true total = scaled total * 2^exponent. */
HE_ALWAYS_INLINE int he_chunk_exponent(double total, double largest, ptrdiff_t n)
{
    if (total == 0.0 || he_total_in_range(total))
        return 0;
    return -ilogb(he_rescale_factor(total, largest, n));
}

/* The first-read state of one chunk of n bins (q NULL for a measure of p
 * alone); the entropy and KL fields are left 0 for the caller.  Returns the
 * flags. */
HE_ALWAYS_INLINE int he_chunk_totals(int type, const void *p, ptrdiff_t p_stride,
                                      const void *q, ptrdiff_t q_stride, ptrdiff_t n,
                                      double c, double *state)
{
    he_totals t;
    he_family_sums f;
    int attempt, flags = 0, p_exp = 0, q_exp = 0, fast = 0;
    double p_scale = 1.0, q_scale = 1.0;
    memset(&t, 0, sizeof t);
    if (p_stride == 1 && (q == NULL || q_stride == 1)) {
        /* the vectorised first read, when every weight is clean and the
         * totals need no rescaling (q's largest weight then goes unused) */
        he_fast_family_sums(type, p, q, n, &f);
        fast = f.bad == 0.0 && (f.p_hi == 0.0 || he_total_in_range(f.p_hi))
               && (f.q_hi == 0.0 || he_total_in_range(f.q_hi));
        if (fast) {
            t.p_total.hi = f.p_hi;
            t.p_total.lo = f.p_lo;
            t.q_total.hi = f.q_hi;
            t.q_total.lo = f.q_lo;
            t.p_largest = f.p_largest;
            t.kept = n;
            t.p_only = f.p_only != 0.0;
            t.q_only = f.q_only != 0.0;
            he_add_pseudocounts(&t.p_total, n, c);
            if (q != NULL)
                he_add_pseudocounts(&t.q_total, n, c);
        }
    }
    for (attempt = 0; !fast && attempt < 2; attempt++) {
        memset(&t, 0, sizeof t);
        flags = he_totals_read(type, p, p_stride, q, q_stride, n, p_scale, q_scale, &t);
        he_add_pseudocounts(&t.p_total, t.kept, c * p_scale);
        if (q != NULL)
            he_add_pseudocounts(&t.q_total, t.kept, c * q_scale);
        if (attempt == 1)
            break;
        p_exp = he_chunk_exponent(he_csum_value(&t.p_total), t.p_largest + c, t.kept);
        q_exp = q != NULL ? he_chunk_exponent(he_csum_value(&t.q_total), t.q_largest + c,
                                              t.kept) : 0;
        if (p_exp == 0 && q_exp == 0)
            break;
        p_scale = ldexp(1.0, -p_exp);
        q_scale = ldexp(1.0, -q_exp);
    }
    he_csum_normalise(&t.p_total);
    he_csum_normalise(&t.q_total);
    memset(state, 0, HE_CHUNK_FIELDS * sizeof *state);
    state[HE_CK_P_HI] = t.p_total.hi;
    state[HE_CK_P_LO] = t.p_total.lo;
    state[HE_CK_P_EXP] = p_exp;
    state[HE_CK_Q_HI] = t.q_total.hi;
    state[HE_CK_Q_LO] = t.q_total.lo;
    state[HE_CK_Q_EXP] = q_exp;
    state[HE_CK_P_LARGEST] = t.p_largest;
    state[HE_CK_Q_LARGEST] = t.q_largest;
    state[HE_CK_KEPT] = (double)t.kept;
    state[HE_CK_FLAGS] = flags;
    /* with a pseudocount every bin has mass on both sides */
    state[HE_CK_P_ONLY] = c == 0.0 && t.p_only;
    state[HE_CK_Q_ONLY] = c == 0.0 && t.q_only;
    return flags;
}

/* A chunk's total (field `hi`, with lo and exp after it) scaled to 2^-e. */
HE_ALWAYS_INLINE he_csum he_chunk_total_at(const double *state, int hi, double e)
{
    he_csum s;
    s.hi = ldexp(state[hi], (int)(state[hi + 2] - e));
    s.lo = ldexp(state[hi + 1], (int)(state[hi + 2] - e));
    return s;
}

/* The share x = t / S of a chunk's total t in the total S (both scaled
 * alike) as a quotient (terms.h), t's low part included. */
HE_ALWAYS_INLINE he_quotient he_chunk_share(const he_csum *t, const he_csum *total)
{
    he_quotient x;
    x.w = t->hi;
    x.sw = t->hi;
    x.swl = t->lo;
    x.xh = t->hi / total->hi;
    x.xl = (fma(-x.xh, total->hi, t->hi) + (t->lo - x.xh * total->lo)) / total->hi;
    return x;
}

/* The largest exponent of the chunks whose total in field `hi` is > 0. */
HE_ALWAYS_INLINE double he_chunk_common_exponent(const double *states, ptrdiff_t k, int hi)
{
    ptrdiff_t c;
    double e = -INFINITY;
    for (c = 0; c < k; c++)
        if (states[c * HE_CHUNK_FIELDS + hi] > 0.0)
            e = fmax(e, states[c * HE_CHUNK_FIELDS + hi + 2]);
    return isinf(e) ? 0.0 : e;
}

/* Writes the sum s (scaled to 2^-e) into the fields from `hi`, rescaled by
 * a power of two if it left the range. */
HE_ALWAYS_INLINE void he_chunk_put_total(he_csum s, double e, double largest,
                                         double kept, double *out, int hi)
{
    int shift;
    he_csum_normalise(&s);
    shift = he_chunk_exponent(s.hi, largest, (ptrdiff_t)kept);
    out[hi] = ldexp(s.hi, -shift);
    out[hi + 1] = ldexp(s.lo, -shift);
    out[hi + 2] = e + shift;
}

/* Merges k chunk states (k rows of HE_CHUNK_FIELDS) into out: the state of
 * the chunks as one. need: 1 the entropy, 2 the KL divergence (or both). */
HE_UNUSED static void he_chunk_merge(const double *states, ptrdiff_t k, int need,
                                     double *out)
{
    const double *st;
    double ep = he_chunk_common_exponent(states, k, HE_CK_P_HI);
    double eq = he_chunk_common_exponent(states, k, HE_CK_Q_HI);
    double log_totals, kept = 0.0, p_largest = 0.0, q_largest = 0.0;
    he_csum sp, sq, tp, tq, h, d;
    he_quotient x, y;
    ptrdiff_t c;
    int flags = 0, p_only = 0, q_only = 0;
    he_csum_init(&sp);
    he_csum_init(&sq);
    for (c = 0; c < k; c++) {
        st = states + c * HE_CHUNK_FIELDS;
        tp = he_chunk_total_at(st, HE_CK_P_HI, ep);
        tq = he_chunk_total_at(st, HE_CK_Q_HI, eq);
        he_csum_merge(&sp, &tp);
        he_csum_merge(&sq, &tq);
        p_largest = fmax(p_largest, ldexp(st[HE_CK_P_LARGEST], (int)(st[HE_CK_P_EXP] - ep)));
        q_largest = fmax(q_largest, ldexp(st[HE_CK_Q_LARGEST], (int)(st[HE_CK_Q_EXP] - eq)));
        kept += st[HE_CK_KEPT];
        flags |= (int)st[HE_CK_FLAGS];
        p_only |= st[HE_CK_P_ONLY] != 0.0;
        q_only |= st[HE_CK_Q_ONLY] != 0.0;
    }
    he_csum_normalise(&sp);
    he_csum_normalise(&sq);
    he_csum_init(&h);
    he_csum_init(&d);
    log_totals = sp.hi > 0.0 && sq.hi > 0.0 ? he_csum_log_ratio(&sq, &sp) : 0.0;
    for (c = 0; c < k && sp.hi > 0.0; c++) {
        st = states + c * HE_CHUNK_FIELDS;
        if (!(st[HE_CK_P_HI] > 0.0 || (need & 2)))
            continue;
        tp = he_chunk_total_at(st, HE_CK_P_HI, ep);
        x = he_chunk_share(&tp, &sp);
        if ((need & 1) && x.xh > 0.0) {
            he_csum_add(&h, x.xh * st[HE_CK_ENTROPY]);
            he_csum_add(&h, -x.xh * he_quotient_log(&x, 1.0, &sp));
        }
        if (!(need & 2) || !(sq.hi > 0.0) || p_only)
            continue;
        tq = he_chunk_total_at(st, HE_CK_Q_HI, eq);
        y = he_chunk_share(&tq, &sq);
        if (!(st[HE_CK_P_HI] > 0.0)) {
            he_csum_add(&d, y.xh);  /* no p here: x log(x/y) - x + y = y */
            continue;
        }
        he_csum_add(&d, x.xh * st[HE_CK_KL]);
        /* log(x/y) from the raw totals where a share is below the normal
         * range (a chunk's mass against a total 2^1000 times larger) */
        he_csum_add(&d, he_divergence_term(
            x.xh, x.xl, y.xh, y.xl,
            x.xh >= DBL_MIN && y.xh >= DBL_MIN
                ? he_log_ratio(x.xh, y.xh) + (x.xl / x.xh - y.xl / y.xh)
                : log(st[HE_CK_P_HI]) - log(st[HE_CK_Q_HI])
                  + (st[HE_CK_P_EXP] - st[HE_CK_Q_EXP] - ep + eq) * 0.69314718055994530942
                  + log_totals));
    }
    memset(out, 0, HE_CHUNK_FIELDS * sizeof *out);
    he_chunk_put_total(sp, ep, p_largest, kept, out, HE_CK_P_HI);
    he_chunk_put_total(sq, eq, q_largest, kept, out, HE_CK_Q_HI);
    out[HE_CK_P_LARGEST] = ldexp(p_largest, (int)(ep - out[HE_CK_P_EXP]));
    out[HE_CK_Q_LARGEST] = ldexp(q_largest, (int)(eq - out[HE_CK_Q_EXP]));
    out[HE_CK_KEPT] = kept;
    out[HE_CK_FLAGS] = flags;
    out[HE_CK_P_ONLY] = p_only;
    out[HE_CK_Q_ONLY] = q_only;
    out[HE_CK_ENTROPY] = he_csum_value(&h);
    out[HE_CK_KL] = he_csum_value(&d);
}

/* Entropy (measure HE_ENTROPY) or KL divergence (HE_KL_DIVERGENCE) of a
 * merged state (pair: read with q), with the special values of the in-memory
 * kernels: NaN for a NaN not omitted or no mass (the entropy of a pair's p
 * also where q has none), +inf where some p > 0 meets q = 0. */
HE_ALWAYS_INLINE double he_chunk_value(const double *state, int measure, int pair,
                                       int omit_nan)
{
    double v;
    if ((((int)state[HE_CK_FLAGS]) & HE_FLAG_ERRORS)
            || ((((int)state[HE_CK_FLAGS]) & HE_FLAG_NAN) && !omit_nan)
            || !(state[HE_CK_P_HI] > 0.0) || (pair && !(state[HE_CK_Q_HI] > 0.0)))
        return NAN;
    if (measure == HE_ENTROPY)
        v = state[HE_CK_ENTROPY];
    else if (state[HE_CK_P_ONLY] != 0.0)
        return INFINITY;
    else
        v = state[HE_CK_KL];
    return v < 0.0 ? 0.0 : v;  /* NaN stays NaN */
}

/* The second read of `measure` (the family's id, after he_family_measure)
 * with the merged totals of the whole histogram. */
HE_ALWAYS_INLINE he_second_read he_chunk_second_read(int measure, const he_params *params,
                                                     const double *total, int one)
{
    he_csum sp = {total[HE_CK_P_HI], total[HE_CK_P_LO]};
    he_csum sq = {total[HE_CK_Q_HI], total[HE_CK_Q_LO]};
    return he_second_read_with(measure, params, ldexp(1.0, -(int)total[HE_CK_P_EXP]),
                               ldexp(1.0, -(int)total[HE_CK_Q_EXP]), &sp,
                               one ? NULL : &sq);
}

/* The second pass over one chunk of n bins: its terms' sum and, for a Renyi
 * measure, its log-sum-exp state, against the merged totals `total`. */
HE_ALWAYS_INLINE int he_chunk_second(int type, int measure, const he_params *params,
                                      const void *p, ptrdiff_t p_stride, const void *q,
                                      ptrdiff_t q_stride, ptrdiff_t n,
                                      const double *total, double *out)
{
    he_slices ps = {1, 1, n, 0, 0, p_stride}, qs = {1, 1, n, 0, 0, q_stride};
    he_second_read sr;
    he_power_lse l;
    double sum;
    int renyi;
    memset(out, 0, HE_CHUNK_SECOND_FIELDS * sizeof *out);
    measure = he_family_measure(measure, params);
    if (!(total[HE_CK_P_HI] > 0.0) || (q != NULL && !(total[HE_CK_Q_HI] > 0.0)))
        return 0;  /* no mass: the value is NaN whatever the sums */
    renyi = measure == HE_RENYI_ENTROPY || measure == HE_RENYI_DIVERGENCE;
    sr = he_chunk_second_read(measure, params, total, q == NULL);
    sum = renyi && isinf(sr.alpha)
          ? 0.0 : he_family_second_sum(type, measure, p, &ps, q, &qs, 0, &sr);
    out[HE_CK2_SUM_HI] = sum;
    if (renyi) {
        he_family_lse_init(measure, &sr, &l);
        he_family_lse_read(type, measure, p, &ps, q, &qs, 0, &sr, &l);
        out[HE_CK2_LSE_K] = l.k;
        out[HE_CK2_LSE_M] = l.m;
        out[HE_CK2_LSE_HI] = l.s.hi;
        out[HE_CK2_LSE_LO] = l.s.lo;
    }
    return 0;
}

HE_BY_TYPE(int, he_chunk_totals_t, he_chunk_totals,
           (int type, const void *p, ptrdiff_t p_stride, const void *q, ptrdiff_t q_stride,
            ptrdiff_t n, double c, double *state),
           (p, p_stride, q, q_stride, n, c, state), 0)
HE_BY_TYPE(int, he_chunk_second_t, he_chunk_second,
           (int type, int measure, const he_params *params, const void *p,
            ptrdiff_t p_stride, const void *q, ptrdiff_t q_stride, ptrdiff_t n,
            const double *total, double *out),
           (measure, params, p, p_stride, q, q_stride, n, total, out), 0)

/* Merges k second-pass states into out. */
HE_UNUSED static void he_chunk_second_merge(const double *states, ptrdiff_t k, double *out)
{
    const double *st;
    he_csum sum;
    he_power_lse l;
    ptrdiff_t c;
    int unbounded = 0;
    he_csum_init(&sum);
    he_power_lse_init(&l, k > 0 ? states[HE_CK2_LSE_K] : 0.0);
    for (c = 0; c < k; c++) {
        st = states + c * HE_CHUNK_SECOND_FIELDS;
        if (isinf(st[HE_CK2_SUM_HI])) {
            unbounded = 1;  /* a term overflowed, or the measure is +inf */
        } else {
            he_csum_add(&sum, st[HE_CK2_SUM_HI]);
            he_csum_add(&sum, st[HE_CK2_SUM_LO]);
        }
        if (!(st[HE_CK2_LSE_HI] > 0.0))
            continue;  /* no bin, or not a Renyi measure */
        /* a part's state, s = sum exp(k (w - m)), counts as s bins at w = m */
        he_power_lse_add(&l, st[HE_CK2_LSE_M], st[HE_CK2_LSE_HI]);
        he_power_lse_add(&l, st[HE_CK2_LSE_M], st[HE_CK2_LSE_LO]);
    }
    he_csum_normalise(&sum);
    out[HE_CK2_SUM_HI] = unbounded ? INFINITY : sum.hi;
    out[HE_CK2_SUM_LO] = unbounded ? 0.0 : sum.lo;
    out[HE_CK2_LSE_K] = l.k;
    out[HE_CK2_LSE_M] = l.m;
    out[HE_CK2_LSE_HI] = l.s.hi;
    out[HE_CK2_LSE_LO] = l.s.lo;
}

/* A family measure of the whole histogram from its merged totals and merged
 * second-pass state, with the special values of he_family_whole. */
HE_ALWAYS_INLINE double he_chunk_family_value(int measure, const he_params *params,
                                              const double *total, const double *second,
                                              int one, int omit_nan)
{
    he_totals t;
    he_second_read sr;
    he_power_lse l;
    int flags = (int)total[HE_CK_FLAGS], lse;
    double v;
    measure = he_family_measure(measure, params);
    if ((flags & HE_FLAG_ERRORS) || ((flags & HE_FLAG_NAN) && !omit_nan)
            || !(total[HE_CK_P_HI] > 0.0) || (!one && !(total[HE_CK_Q_HI] > 0.0)))
        return NAN;
    memset(&t, 0, sizeof t);
    t.p_only = total[HE_CK_P_ONLY] != 0.0;
    t.q_only = total[HE_CK_Q_ONLY] != 0.0;
    if (he_family_unbounded(measure, params, &t))
        return INFINITY;
    sr = he_chunk_second_read(measure, params, total, one);
    lse = (measure == HE_RENYI_ENTROPY || measure == HE_RENYI_DIVERGENCE) && isinf(sr.alpha);
    v = lse ? NAN : he_family_finish(measure, second[HE_CK2_SUM_HI] + second[HE_CK2_SUM_LO],
                                     &sr, &lse);
    if (lse) {
        l.k = second[HE_CK2_LSE_K];
        l.m = second[HE_CK2_LSE_M];
        l.s.hi = second[HE_CK2_LSE_HI];
        l.s.lo = second[HE_CK2_LSE_LO];
        v = he_power_lse_finish(&l, sr.alpha);
    }
    return v;
}

#endif /* HISTENTROPY_CHUNKS_H */
