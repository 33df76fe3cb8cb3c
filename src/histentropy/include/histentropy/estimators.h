/* histentropy/estimators.h -- bias-corrected entropy estimators of
 * histograms of counts.
 *
 * Part of histentropy's header-only C99 core (see histentropy.h).
 *
 * N is a histogram's total count, m the number of its bins with a non-zero
 * count, K its number of bins, n_i its counts:
 *
 * - HE_MILLER_MADOW: the plug-in entropy + (m - 1) / (2N);
 * - HE_GRASSBERGER (Grassberger 2003): log N - (1/N) sum n_i G(n_i),
 *   G(n) = psi(n) + (1/2) (-1)^n (psi((n + 1)/2) - psi(n/2));
 * - HE_CHAO_SHEN: coverage C = 1 - f1/N (f1: bins holding one count; f1 = N
 *   is taken as N - 1), p_a = C n_i / N,
 *   H = -sum p_a log p_a / (1 - (1 - p_a)^N);
 * - HE_JAMES_STEIN (Hausser and Strimmer): shrinkage of p_i = n_i / N
 *   towards 1/K, lambda = (1 - sum p_i^2) / ((N - 1) sum (1/K - p_i)^2)
 *   clipped to [0, 1] (1 where that is 0/0 or x/0), then -sum s_i log s_i
 *   over s_i = lambda/K + (1 - lambda) p_i.
 *
 * Every estimator is a sum over the bins of a term that depends on the
 * bin's count and on the histogram's N, m, f1 and K only.  A histogram is
 * therefore read once into its count profile (he_count_profile): how many
 * bins hold each distinct count (counts below HE_PROFILE_SMALL are tallied
 * in a table, larger ones listed as they come), and each term is computed
 * once per distinct count: a histogram of small counts costs one pass and
 * a few logs.  Each estimate is a sum of non-negative terms (Grassberger:
 * (n/N) (log(N/n) - (G(n) - log n)), with G(n) - log n formed without
 * cancellation).
 */
#ifndef HISTENTROPY_ESTIMATORS_H
#define HISTENTROPY_ESTIMATORS_H

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "config.h"
#include "dense.h"
#include "sum.h"

enum he_estimator {
    HE_PLUGIN = 0,
    HE_MILLER_MADOW = 1,
    HE_GRASSBERGER = 2,
    HE_CHAO_SHEN = 3,
    HE_JAMES_STEIN = 4
};

/* Flags of what a histogram's read saw. */
enum {
    HE_COUNTS_NAN = 1,          /* a NaN (skipped with omit_nan) */
    HE_COUNTS_NEGATIVE = 2,
    HE_COUNTS_INFINITE = 4,
    HE_COUNTS_NONINTEGER = 8,
    HE_COUNTS_OVERFLOW = 16     /* the total count is not a finite double */
};

/* Counts below this are tallied in the profile's table. */
#define HE_PROFILE_SMALL 1024

typedef struct {
    int32_t *tally;      /* HE_PROFILE_SMALL zeros (left zero after use) */
    double *value;       /* the distinct counts (capacity: the bins) */
    double *freq;        /* how many bins hold each */
    double *work;        /* room for twice the bins, for he_count_estimate */
    ptrdiff_t distinct;
    double total;        /* N */
    double used;         /* m */
    double singletons;   /* f1 */
    double bins;         /* K: the bins, less those omitted as NaN */
} he_count_profile;

#define HE_CPU_BODY "estimators_simd.h"
#include "instantiate.h"

/* psi(x) - log(x) for x > 0, without forming psi(x) or log(x) for large x:
 * the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then
 * psi(x) - log x = -1/(2x) - sum B_2k / (2k x^2k) (error < 1e-17 there). */
HE_ALWAYS_INLINE double he_psi_minus_log(double x)
{
    double shift = 0.0, y = x, inv2, series;
    while (y < 10.0) {
        shift -= 1.0 / y;
        y += 1.0;
    }
    inv2 = 1.0 / (y * y);
    series = inv2 * (-1.0 / 12 + inv2 * (1.0 / 120 + inv2 * (-1.0 / 252 + inv2 * (
        1.0 / 240 + inv2 * (-1.0 / 132 + inv2 * (691.0 / 32760 - inv2 / 12))))));
    /* psi(x) - log x = (psi(y) - log y) + log(y / x) - sum 1/(x + j) */
    return series - 0.5 / y + (y != x ? log(y / x) : 0.0) + shift;
}

/* G(n) - log(n) of Grassberger (2003) for an integer count n >= 1:
 * (psi(n) - log n) + (1/2)(-1)^n [(psi((n+1)/2) - log((n+1)/2))
 * - (psi(n/2) - log(n/2)) + log1p(1/n)]. */
HE_ALWAYS_INLINE double he_grassberger_g_minus_log(double n)
{
    double sign = (fmod(n, 2.0) == 0.0) ? 1.0 : -1.0;
    return he_psi_minus_log(n)
           + 0.5 * sign * (he_psi_minus_log(0.5 * (n + 1.0)) - he_psi_minus_log(0.5 * n)
                           + log1p(1.0 / n));
}

/* A weight outside the tally (a NaN, a negative, infinite, non-integer or
 * large weight) into the profile; returns its flags. */
HE_ALWAYS_INLINE int he_count_profile_other(double w, int omit_nan, he_count_profile *pr)
{
    int flags = 0;
    if (w != w) {
        pr->bins -= omit_nan ? 1.0 : 0.0;
        return HE_COUNTS_NAN;
    }
    if (w < 0.0)
        return HE_COUNTS_NEGATIVE;
    if (isinf(w))
        return HE_COUNTS_INFINITE;
    if (w != floor(w))
        flags = HE_COUNTS_NONINTEGER;
    pr->value[pr->distinct] = w;             /* a large count: listed */
    pr->freq[pr->distinct++] = 1.0;
    pr->total += w;
    pr->used += 1.0;
    return flags;
}

/* An integer weight (type codes 2..9; the float codes are never asked) as
 * uint64: a negative one wraps to a value far above HE_PROFILE_SMALL. */
HE_ALWAYS_INLINE uint64_t he_count_raw(int type, const void *p, ptrdiff_t i, ptrdiff_t stride)
{
#define HE_CALL_T(T, tname) (uint64_t)(int64_t)((const T *)p)[i * stride]
    switch (type) {
    HE_FOR_EACH_TYPE(HE_TYPE_CASE_T)
    }
#undef HE_CALL_T
    return UINT64_MAX;
}

/* Reads n weights (stride in elements) into the profile; returns the flags.
 * Whole counts below HE_PROFILE_SMALL are tallied (one predictable branch
 * per weight), then the tally is read back up to the largest, and left zero. */
HE_ALWAYS_INLINE int he_count_profile_read(int type, const void *p, ptrdiff_t n,
                                           ptrdiff_t stride, int omit_nan,
                                           he_count_profile *pr)
{
    ptrdiff_t i;
    int32_t k, largest = 0;
    int flags = 0;
    double w;
    pr->distinct = 0;
    pr->total = pr->used = pr->singletons = 0.0;
    pr->bins = (double)n;
    if (type >= 2) {                         /* integers: compared as they are */
        for (i = 0; i < n; i++) {
            uint64_t v = he_count_raw(type, p, i, stride);
            if (v < HE_PROFILE_SMALL) {
                pr->tally[v]++;
                largest = ((int32_t)v > largest) ? (int32_t)v : largest;
            } else {
                flags |= he_count_profile_other(he_weight_at(type, p, i, stride),
                                                omit_nan, pr);
            }
        }
    } else {
        for (i = 0; i < n; i++) {
            w = he_weight_at(type, p, i, stride);
            k = (w >= 0.0 && w < HE_PROFILE_SMALL) ? (int32_t)w : -1;
            if (k >= 0 && (double)k == w) {
                pr->tally[k]++;
                largest = (k > largest) ? k : largest;
            } else {
                flags |= he_count_profile_other(w, omit_nan, pr);
            }
        }
    }
    pr->tally[0] = 0;                        /* bins without counts */
    for (k = 1; k <= largest; k++) {
        if (pr->tally[k] == 0)
            continue;
        w = (double)pr->tally[k];
        pr->value[pr->distinct] = (double)k;
        pr->freq[pr->distinct++] = w;
        pr->total += w * k;
        pr->used += w;
        pr->tally[k] = 0;
        if (k == 1)
            pr->singletons = w;
    }
    if (!isfinite(pr->total))
        flags |= HE_COUNTS_OVERFLOW;
    return flags;
}

/* he_count_profile_read for a run-time type code: one loop per type. */
HE_BY_TYPE(int, he_count_profile_read_t, he_count_profile_read,
           (int type, const void *p, ptrdiff_t n, ptrdiff_t stride, int omit_nan,
            he_count_profile *pr),
           (p, n, stride, omit_nan, pr), HE_COUNTS_NAN)

/* The tables he_count_estimate reads: log n and G(n) - log n for
 * n < HE_PROFILE_SMALL (entry 0 unused). */
HE_UNUSED static void he_count_tables(double *log_n, double *g_minus_log)
{
    int n;
    log_n[0] = g_minus_log[0] = 0.0;
    for (n = 1; n < HE_PROFILE_SMALL; n++) {
        log_n[n] = log((double)n);
        g_minus_log[n] = he_grassberger_g_minus_log((double)n);
    }
}

HE_ALWAYS_INLINE double he_count_log(double n, const double *log_n)
{
    return (n < HE_PROFILE_SMALL) ? log_n[(int32_t)n] : log(n);
}

/* The estimate (nats) of a profile with no flags; NaN for N = 0.  log_n,
 * g_minus_log: he_count_tables'. */
HE_ALWAYS_INLINE double he_count_estimate(int estimator, const he_count_profile *pr,
                                          const double *log_n, const double *g_minus_log)
{
    const double N = pr->total, K = pr->bins;
    he_csum h = {0.0, 0.0};
    ptrdiff_t d;
    double n, x, log_total, log_coverage, coverage, f1, lambda, spread, squares, target;
    if (!(N > 0.0))
        return NAN;
    log_total = log(N);
    switch (estimator) {
    case HE_GRASSBERGER:
        for (d = 0; d < pr->distinct; d++) {
            n = pr->value[d];
            x = (n < HE_PROFILE_SMALL) ? g_minus_log[(int32_t)n]
                                       : he_grassberger_g_minus_log(n);
            he_csum_add(&h, pr->freq[d] * (n / N) * ((log_total - he_count_log(n, log_n)) - x));
        }
        return he_csum_value(&h);
    case HE_CHAO_SHEN:
        f1 = (pr->singletons == N) ? N - 1.0 : pr->singletons;
        coverage = (N - f1) / N;
        log_coverage = log(coverage);
        for (d = 0; d < pr->distinct; d++)
            pr->work[d] = coverage * pr->value[d] / N;          /* p_a */
        HE_CPU_CALL(he_count_chao_shen_scale,
                    (pr->work, pr->distinct, N, pr->work + pr->distinct));
        for (d = 0; d < pr->distinct; d++) {
            n = pr->value[d];
            he_csum_add(&h, pr->freq[d] * pr->work[pr->distinct + d]
                                * ((log_total - he_count_log(n, log_n)) - log_coverage));
        }
        return he_csum_value(&h);
    case HE_JAMES_STEIN:
        target = 1.0 / K;
        squares = 0.0;
        spread = (K - pr->used) * target * target;
        for (d = 0; d < pr->distinct; d++) {
            x = pr->value[d] / N;
            squares += pr->freq[d] * x * x;
            spread += pr->freq[d] * (target - x) * (target - x);
        }
        lambda = (1.0 - squares) / ((N - 1.0) * spread);
        if (!(lambda <= 1.0) || spread == 0.0)
            lambda = 1.0;                     /* 0/0, x/0 or above 1 */
        lambda = (lambda < 0.0) ? 0.0 : lambda;
        for (d = 0; d < pr->distinct; d++)
            pr->work[d] = lambda * target + (1.0 - lambda) * (pr->value[d] / N);
        pr->work[pr->distinct] = lambda * target;   /* each bin without counts */
        HE_CPU_CALL(he_count_neg_xlogx, (pr->work, pr->distinct + 1,
                                         pr->work + pr->distinct + 1));
        for (d = 0; d < pr->distinct; d++)
            he_csum_add(&h, pr->freq[d] * pr->work[pr->distinct + 1 + d]);
        if (K > pr->used)
            he_csum_add(&h, (K - pr->used) * pr->work[2 * pr->distinct + 1]);
        return he_csum_value(&h);
    default:                                  /* plug-in, Miller-Madow */
        for (d = 0; d < pr->distinct; d++) {
            n = pr->value[d];
            he_csum_add(&h, pr->freq[d] * (n / N) * (log_total - he_count_log(n, log_n)));
        }
        x = he_csum_value(&h);
        return (estimator == HE_MILLER_MADOW) ? x + (pr->used - 1.0) / (2.0 * N) : x;
    }
}

#endif /* HISTENTROPY_ESTIMATORS_H */
