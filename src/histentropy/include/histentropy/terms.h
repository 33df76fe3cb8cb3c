/* histentropy/terms.h -- the per-bin terms and finishing steps of the measures.
 *
 * A measure is one per-bin term plus one finishing step.  Every loop of the
 * core -- dense slices (dense.h), sparse rows (sparse.h), the vectorised
 * reads (dense_simd.h) and the streaming state -- evaluates the terms and
 * finishes defined here, so a new measure is one term and one finish.
 *
 * Numerical scheme.  A histogram p of total mass S is normalised implicitly,
 * x_i = p_i / S.
 * - First read, one pass: S = sum p, A = sum p log p, B = sum p log(p/q):
 *       H = log S - A/S,            KL = B/S_p + log(S_q/S_p).
 *   Its absolute error is a few ulp of |log S| + sum|p log p| / S (for KL,
 *   |log(S_q/S_p)| + sum|p log(p/q)| / S_p, plus log_error).  When that
 *   exceeds HE_MAX_CANCELLATION times the result (near-deterministic
 *   histograms, near-identical p and q, ...) the finish asks for
 * - the second read, with S known, summing terms that are all >= 0:
 *       H = sum -x log x            (log1p(-(S - p)/S) for x > 1/2),
 *       KL = sum x log(x/y) - x + y (the atanh series near x = y).
 *   So the results are never negative and keep their relative accuracy.
 * - Totals outside [2^-600, 2^600] are brought into range by a power of two
 *   (exact); every formula is scale-invariant.
 * References: scipy.special.rel_entr (log of the ratio; separate logs where
 * it over/underflows), fdlibm's log1p (the atanh form of the log).
 */
#ifndef HISTENTROPY_TERMS_H
#define HISTENTROPY_TERMS_H

#include <float.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "sum.h"

/* What a kernel saw; the caller decides what to raise. */
#define HE_FLAG_NAN 1
#define HE_FLAG_NEGATIVE_P 2
#define HE_FLAG_NEGATIVE_Q 4
#define HE_FLAG_INFINITE_P 8
#define HE_FLAG_INFINITE_Q 16
#define HE_FLAG_ERRORS (2 | 4 | 8 | 16)

/* Accept a first-read result when the terms it subtracts are at most this
 * many times the result (lose at most 4 of 53 bits). */
#define HE_MAX_CANCELLATION 16
/* Totals in [2^-HE_LOG2_RANGE, 2^HE_LOG2_RANGE] need no rescaling. */
#define HE_LOG2_RANGE 600

/* Flags for a weight that is not in [0, inf). */
HE_ALWAYS_INLINE int he_classify(double w, int negative, int infinite)
{
    if (w != w)
        return HE_FLAG_NAN;
    if (w < 0.0 && w != -INFINITY)
        return negative;
    return infinite;
}

/* Flags of a bin whose weight x of p or y of q is not in [0, inf). */
HE_ALWAYS_INLINE int he_classify_pair(double x, double y)
{
    int flags = 0;
    if (!(0.0 <= x && x < INFINITY))
        flags |= he_classify(x, HE_FLAG_NEGATIVE_P, HE_FLAG_INFINITE_P);
    if (!(0.0 <= y && y < INFINITY))
        flags |= he_classify(y, HE_FLAG_NEGATIVE_Q, HE_FLAG_INFINITE_Q);
    return flags;
}

HE_ALWAYS_INLINE int he_total_in_range(double total)
{
    return ldexp(1.0, -HE_LOG2_RANGE) <= total && total <= ldexp(1.0, HE_LOG2_RANGE);
}

/* A power of two m such that m * total lies well inside the safe range.
 * `total` may be +inf (the sum of finite weights overflowed); then
 * n * largest bounds it. */
HE_ALWAYS_INLINE double he_rescale_factor(double total, double largest, ptrdiff_t n)
{
    int e;
    ptrdiff_t k = n;
    if (isinf(total)) {
        frexp(largest, &e);
        for (; k > 0; k >>= 1)
            e += 1;
    } else {
        frexp(total, &e);
    }
    if (e > 1000)
        e = 1000;
    else if (e < -1000)
        e = -1000;
    return ldexp(1.0, -e);
}

/* ---- logarithms of ratios and sums -------------------------------------- */

/* log(x/y) for x, y > 0.  The rounding of r = x/y would cost ~1e-16 absolute,
 * all of the signal when x and y are close; the exact remainder x - r y (one
 * FMA) restores it: log(x/y) = log r + log1p(rem/(r y)).  Separate logs where
 * the ratio over/underflows. */
HE_ALWAYS_INLINE double he_log_ratio(double x, double y)
{
    double r = x / y;
    if (DBL_MIN <= r && r < INFINITY)
        return log(r) + fma(-r, y, x) / x;
    return log(x) - log(y);
}

/* log of a positive finite sum, keeping its low part. */
HE_ALWAYS_INLINE double he_csum_log(he_csum *s)
{
    he_csum_normalise(s);
    return log(s->hi) + s->lo / s->hi;
}

/* log(num / den) of two positive finite sums. */
HE_ALWAYS_INLINE double he_csum_log_ratio(he_csum *num, he_csum *den)
{
    he_csum_normalise(num);
    he_csum_normalise(den);
    return he_log_ratio(num->hi, den->hi) + (num->lo / num->hi - den->lo / den->hi);
}

/* w / total as an unevaluated sum hi + lo (the remainder is exact with one
 * FMA), so that differences of nearby quotients are exact. */
HE_ALWAYS_INLINE void he_split_quotient(double w, double total, double *hi, double *lo)
{
    *hi = w / total;
    *lo = fma(-*hi, total, w) / total;
}

/* log(x/y) for the quotients x = xh + xl = a/S_p and y = yh + yl = b/S_q of
 * raw weights a, b > 0, given log_totals = log(S_q/S_p): from the quotients
 * where both are normal (no cancellation against log_totals when the totals
 * differ), else from the raw weights. */
HE_ALWAYS_INLINE double he_log_quotient_ratio(double a, double b, double xh, double xl,
                                              double yh, double yl, double log_totals)
{
    if (xh >= DBL_MIN && yh >= DBL_MIN)
        return he_log_ratio(xh, yh) + (xl / xh - yl / yh);
    return he_log_ratio(a, b) + log_totals;
}

/* ---- the atanh series --------------------------------------------------- */

/* h(t) = sum_k t^k / (2k + 3), so that log((1 + u)/(1 - u)) = 2 atanh(u)
 * = 2u (1 + t h(t)), t = u^2.  Ten terms reach 2^-60 for |u| <= 1/8 and
 * 2^-50 for |u| <= 0.2. */
HE_ALWAYS_INLINE double he_atanh_tail(double t)
{
    return 1.0/3 + t*(1.0/5 + t*(1.0/7 + t*(1.0/9 + t*(1.0/11 + t*(1.0/13
           + t*(1.0/15 + t*(1.0/17 + t*(1.0/19 + t*(1.0/21)))))))));
}

/* x log(x/y) - x + y for s = x + y and u = (x - y)/(x + y), |u| <= 1/8:
 * s u^2 (1 + u^2 h + u h), with no cancellation. */
HE_ALWAYS_INLINE double he_divergence_series(double s, double u)
{
    double t = u * u, h = he_atanh_tail(t);
    return s * t * ((1.0 + t * h) + u * h);
}

/* log1p(z) - z without cancellation; log1p_z is log1p(z) where known.
 * With u = z/(2 + z): log1p(z) = 2u + 2u^3 h(u^2) and z = 2u/(1 - u), so
 * log1p(z) - z = 2u^3 h(u^2) - 2u^2/(1 - u), two terms of one sign. */
HE_ALWAYS_INLINE double he_log1p_minus(double z, double log1p_z)
{
    double u, t;
    if (-0.2 <= z && z <= 0.25) {
        u = z / (2.0 + z);
        t = u * u;
        return 2.0 * u * t * he_atanh_tail(t) - 2.0 * t / (1.0 - u);
    }
    return log1p_z - z;
}

/* ---- per-bin terms ------------------------------------------------------ */
/* Entropy.  First read: w log w of a weight w > 0 (any scale).  Second read:
 * he_neg_x_log_x.  Finish: he_entropy_finish. */
HE_ALWAYS_INLINE double he_term_plogp(double w)
{
    return w * log(w);
}

/* KL divergence.  First read: x log(x/y) for x = a p_scale > 0, y = b
 * q_scale > 0, log_scales = log(p_scale / q_scale) (from the raw weights, so
 * that a y below the range of doubles still gives its large term).  Second
 * read: he_term_kl_accurate.  Finish: he_kl_finish. */
HE_ALWAYS_INLINE double he_term_plogpq(double x, double a, double b, double log_scales)
{
    return x * (he_log_ratio(a, b) + log_scales);
}

/* Entropy, second read: -x log x for x = w / S, S = total->hi + total->lo
 * (normalised).  For x > 1/2, log x = log1p(-(S - w)/S), S - w exact. */
HE_ALWAYS_INLINE double he_neg_x_log_x(double w, const he_csum *total)
{
    double x = w / total->hi;
    x -= x * (total->lo / total->hi);
    if (x <= 0.0)  /* also weights that underflow against a huge total */
        return 0.0;
    if (x > 0.5)
        return -x * log1p(-((total->hi - w) + total->lo) / total->hi);
    return -x * log(x);
}

/* KL, second read: x log(x/y) - x + y >= 0 for x = xh + xl > 0,
 * y = yh + yl > 0, given log_xy = log(x/y) (formed by the caller from the
 * unscaled weights, so that a y below the range of doubles keeps its large
 * term). */
HE_ALWAYS_INLINE double he_divergence_term(double xh, double xl, double yh, double yl,
                                           double log_xy)
{
    double s = xh + yh;
    double u = ((xh - yh) + (xl - yl)) / s;
    double term;
    if (fabs(u) <= 0.125)
        return he_divergence_series(s, u);
    term = xh * log_xy - xh + yh;
    return term > 0.0 ? term : 0.0;
}

/* KL, second read, for raw weights a > 0, b > 0: the term of x = a p_scale /
 * S_p and y = b q_scale / S_q (sp, sq the normalised totals' high parts),
 * log_totals = log(S_q/S_p) + log(p_scale/q_scale). */
HE_ALWAYS_INLINE double he_term_kl_accurate(double a, double b, double p_scale,
                                            double q_scale, double sp, double sq,
                                            double log_totals)
{
    double xh, xl, yh, yl;
    he_split_quotient(b * q_scale, sq, &yh, &yl);
    he_split_quotient(a * p_scale, sp, &xh, &xl);
    return he_divergence_term(xh, xl, yh, yl,
                              he_log_quotient_ratio(a, b, xh, xl, yh, yl, log_totals));
}

/* ---- the measures: second-read terms ------------------------------------ */

/* The measures, as constants for the generic loops of dense.h, sparse.h and
 * family.h (a constant after inlining: the switches below fold away). */
enum he_measure {
    HE_ENTROPY = 0,
    HE_KL_DIVERGENCE = 1,
    HE_JS_DIVERGENCE = 2,
    HE_HELLINGER = 3,           /* its square; the finish takes the root */
    HE_TOTAL_VARIATION = 4,
    HE_JEFFREYS = 5,
    HE_CHI_SQUARE = 6,
    HE_RENYI_ENTROPY = 7,
    HE_RENYI_DIVERGENCE = 8,
    HE_RENYI_POWER_SUM = 9      /* a read, not a measure: sum (x / max x)^alpha */
};
/* The measures as X(id), for switches that give each its own copy of a loop. */
#define HE_FOR_EACH_MEASURE(X)                                                 \
    X(HE_ENTROPY) X(HE_KL_DIVERGENCE) X(HE_JS_DIVERGENCE) X(HE_HELLINGER)      \
    X(HE_TOTAL_VARIATION) X(HE_JEFFREYS) X(HE_CHI_SQUARE) X(HE_RENYI_ENTROPY)  \
    X(HE_RENYI_DIVERGENCE)

/* The parameters of a measure: Renyi's order alpha in [0, inf], and the
 * pseudocount added to every bin of p and q (as counts) before they are
 * normalised. */
typedef struct {
    double alpha;
    double pseudocount;
} he_params;

/* Coefficients of the Renyi series (he_renyi_series). */
#define HE_RENYI_COEFS 16

/* What a second read knows once the first read is done: the power-of-two
 * scales of p and q, their normalised totals (S = hi + lo, pseudocounts
 * included) and the measure's parameters. */
typedef struct {
    double p_scale, q_scale;
    he_csum p_total, q_total;
    double log_totals;          /* log(S_q/S_p) + log(p_scale/q_scale) */
    double pseudo;              /* the pseudocount, raw (unscaled) */
    double alpha, beta;         /* Renyi: alpha and 1 - alpha */
    double sign;                /* Renyi: makes every term >= 0 */
    double coef[HE_RENYI_COEFS];
} he_second_read;

/* c_k = (beta^k - beta) / k!, k = 2 .. HE_RENYI_COEFS + 1, each accurate
 * to a few ulp also for beta near 0 or 1 (beta^(k-1) - 1 by expm1). */
HE_ALWAYS_INLINE void he_renyi_coefficients(double beta, double *coef)
{
    double factorial = 1.0, power_m1, lb = log(fabs(beta));
    int k;
    for (k = 2; k < HE_RENYI_COEFS + 2; k++) {
        factorial *= k;
        if (beta == 0.0)
            power_m1 = -1.0;
        else if (beta > 0.0 || (k - 1) % 2 == 0)
            power_m1 = expm1((k - 1) * lb);          /* |beta|^(k-1) - 1 */
        else
            power_m1 = -exp((k - 1) * lb) - 1.0;     /* beta^(k-1) - 1 < -1 */
        coef[k - 2] = beta * power_m1 / factorial;
    }
}

/* The second read of `measure` after a first read that found these totals
 * (q_total NULL for a measure of p alone); normalises the totals.  params
 * may be NULL (no pseudocount). */
HE_ALWAYS_INLINE he_second_read he_second_read_with(int measure, const he_params *params,
                                                    double p_scale, double q_scale,
                                                    he_csum *p_total, he_csum *q_total)
{
    he_second_read r;
    r.p_scale = p_scale;
    r.q_scale = q_scale;
    r.log_totals = 0.0;
    r.pseudo = params != NULL ? params->pseudocount : 0.0;
    r.alpha = params != NULL ? params->alpha : 1.0;
    r.beta = 1.0 - r.alpha;
    r.sign = 1.0;
    /* log(S_q/S_p): for the log ratios of quotients below the normal range */
    if (q_total != NULL && (measure == HE_KL_DIVERGENCE || measure == HE_JEFFREYS
                            || measure == HE_RENYI_DIVERGENCE))
        r.log_totals = he_csum_log_ratio(q_total, p_total) + (log(p_scale) - log(q_scale));
    he_csum_normalise(p_total);
    r.p_total = *p_total;
    if (q_total != NULL) {
        he_csum_normalise(q_total);
        r.q_total = *q_total;
    } else {
        he_csum_init(&r.q_total);
    }
    if (measure == HE_RENYI_ENTROPY)
        r.sign = r.alpha < 1.0 ? 1.0 : -1.0;
    if (measure == HE_RENYI_DIVERGENCE) {
        r.sign = r.alpha > 1.0 ? 1.0 : -1.0;
        he_renyi_coefficients(r.beta, r.coef);
    } else {
        memset(r.coef, 0, sizeof r.coef);
    }
    return r;
}

HE_ALWAYS_INLINE he_second_read he_second_read_of(int measure, double p_scale,
                                                  double q_scale, he_csum *p_total,
                                                  he_csum *q_total)
{
    return he_second_read_with(measure, NULL, p_scale, q_scale, p_total, q_total);
}

/* ---- the family's quotients ---------------------------------------------- */

/* One side of a bin: the pseudo-weight w' = w + c (hi + lo, TwoSum), scaled,
 * and its quotient x = w' / S as hi + lo, the remainder exact (FMA) and the
 * total's low part included, so that x - y is exact to a few ulp of x. */
typedef struct {
    double w;                   /* w + c, raw (unscaled), rounded */
    double sw, swl;             /* (w + c) * scale as hi + lo */
    double xh, xl;              /* the quotient */
} he_quotient;

HE_ALWAYS_INLINE he_quotient he_quotient_of(double w, double c, double scale,
                                            const he_csum *total)
{
    he_quotient q;
    double s = w + c, z = s - w;
    double e = (w - (s - z)) + (c - z);
    q.w = s;
    q.sw = s * scale;
    q.swl = e * scale;
    q.xh = q.sw / total->hi;
    q.xl = (fma(-q.xh, total->hi, q.sw) + (q.swl - q.xh * total->lo)) / total->hi;
    return q;
}

/* log x of a positive quotient, accurate relative to itself also near 1
 * (log1p of -(S - w)/S, exact by Sterbenz) and below the normal range
 * (from the raw weight). */
HE_ALWAYS_INLINE double he_quotient_log(const he_quotient *q, double scale,
                                        const he_csum *total)
{
    if (q->xh > 0.5)
        return log1p(((q->sw - total->hi) + (q->swl - total->lo)) / total->hi);
    if (q->xh >= DBL_MIN)
        return log(q->xh) + q->xl / q->xh;
    return log(q->w) + log(scale) - log(total->hi);
}

/* ---- the family's terms -------------------------------------------------- */

/* Jensen-Shannon: x log(x/m) - x + m >= 0 for m = (x + y)/2, d = x - y:
 * the atanh series in u = (x - m)/(x + m) = d/(3x + y) near m, else the
 * direct form x log(x/m) - d/2. */
HE_ALWAYS_INLINE double he_js_part(double x, double y, double d)
{
    double s = 1.5 * x + 0.5 * y, u, t;
    if (x == 0.0)
        return 0.5 * y;
    u = 0.5 * d / s;
    if (fabs(u) <= 0.125)
        return he_divergence_series(s, u);
    t = x * he_log_ratio(x, 0.5 * (x + y)) - 0.5 * d;
    return t > 0.0 ? t : 0.0;
}

/* Renyi divergence, a bin with x, y > 0, L = log(y/x), beta = 1 - alpha:
 * x (r^beta - 1 - beta (r - 1)) with r = y/x, which has the sign of
 * alpha - 1 for every r (so that the sum does not cancel).  Near r = 1 the
 * series sum_k c_k L^k (coefficients he_renyi_coefficients); else
 * x expm1(beta L) - beta (y - x), whose two parts cancel by at most ~16x. */
HE_ALWAYS_INLINE double he_renyi_pair(double x, double d_yx, double lx, double L,
                                      const he_second_read *r)
{
    double bl = r->beta * L, poly;
    int k;
    if (r->beta == 1.0)  /* alpha = 0: x^0 y^1 - y, nothing */
        return 0.0;
    if (fabs(L) <= 0.125 && fabs(bl) <= 0.5) {
        poly = r->coef[HE_RENYI_COEFS - 1];
        for (k = HE_RENYI_COEFS - 2; k >= 0; k--)
            poly = fma(poly, L, r->coef[k]);
        return x * (L * L) * poly;
    }
    if (bl > 700.0)  /* x^alpha y^beta, which overflows for alpha > 1 */
        return exp(lx + bl) - x - r->beta * d_yx;
    return x * expm1(bl) - r->beta * d_yx;
}

/* The family's second-read term of a bin with raw weights a (of p) and b
 * (of q) in [0, inf), pseudocount included: >= 0, +inf where the measure is
 * unbounded (or, for Renyi, where the term overflows: the finish then takes
 * the log-sum-exp read). */
HE_ALWAYS_INLINE double he_family_term(int measure, double a, double b,
                                       const he_second_read *r)
{
    he_quotient x = he_quotient_of(a, r->pseudo, r->p_scale, &r->p_total), y;
    double d, L, lx, t, den;
    if (measure == HE_RENYI_ENTROPY) {
        if (x.w == 0.0)
            return 0.0;
        lx = he_quotient_log(&x, r->p_scale, &r->p_total);
        t = (r->alpha - 1.0) * lx;
        t = t <= 1.0 ? x.xh * expm1(t) : exp(r->alpha * lx) - x.xh;
        return r->sign * t;
    }
    y = he_quotient_of(b, r->pseudo, r->q_scale, &r->q_total);
    d = (x.xh - y.xh) + (x.xl - y.xl);
    switch (measure) {
    case HE_JS_DIVERGENCE:
        return 0.5 * (he_js_part(x.xh, y.xh, d) + he_js_part(y.xh, x.xh, -d));
    case HE_HELLINGER:
        den = sqrt(x.xh) + sqrt(y.xh);
        if (den == 0.0)
            return 0.0;
        t = d / den;
        return 0.5 * t * t;
    case HE_TOTAL_VARIATION:
        return 0.5 * fabs(d);
    case HE_CHI_SQUARE:
        if (y.w == 0.0)
            return x.w > 0.0 ? INFINITY : 0.0;
        if (y.xh >= DBL_MIN)
            return d * d / (y.xh + y.xl);
        /* y below the normal range (d^2 would underflow first) */
        return exp(2.0 * log(fabs(d)) - he_quotient_log(&y, r->q_scale, &r->q_total));
    default:
        break;
    }
    if (x.w == 0.0 || y.w == 0.0) {
        if (x.w == y.w)
            return 0.0;
        if (measure == HE_JEFFREYS)
            return INFINITY;
        /* Renyi */
        if (x.w == 0.0)
            return fabs(r->alpha - 1.0) * (y.xh + y.xl);
        return r->alpha < 1.0 ? r->alpha * (x.xh + x.xl) : INFINITY;
    }
    L = he_log_quotient_ratio(x.w, y.w, x.xh, x.xl, y.xh, y.xl, r->log_totals);
    if (measure == HE_JEFFREYS) {
        t = d * L;
        return t > 0.0 ? t : 0.0;
    }
    lx = x.xh >= DBL_MIN ? log(x.xh) : log(x.w) + log(r->p_scale) - log(r->p_total.hi);
    t = r->sign * he_renyi_pair(x.xh, -d, lx, -L, r);
    return t > 0.0 ? t : 0.0;
}

/* The second-read term of a bin with raw weights a (of p) and b (of q) in
 * [0, inf): >= 0, +inf where the measure is unbounded; the measure is the
 * (compensated) sum of its terms.
 *   entropy: -x log x;  KL: x log(x/y) - x + y  (y where x = 0);
 *   the family: he_family_term. */
HE_ALWAYS_INLINE double he_second_term(int measure, double a, double b,
                                       const he_second_read *r)
{
    if (measure >= HE_JS_DIVERGENCE)
        return he_family_term(measure, a, b, r);
    a += r->pseudo;
    b += r->pseudo;
    if (measure == HE_ENTROPY)
        return a > 0.0 ? he_neg_x_log_x(a * r->p_scale, &r->p_total) : 0.0;
    if (b == 0.0)
        return a > 0.0 ? INFINITY : 0.0;
    if (a == 0.0)
        return b * r->q_scale / r->q_total.hi;
    return he_term_kl_accurate(a, b, r->p_scale, r->q_scale, r->p_total.hi,
                               r->q_total.hi, r->log_totals);
}

/* The second-read term of bins where p = 0, whose y add up to y_sum (no
 * pseudocount): linear in y for every measure, so that the bins a sparse
 * row does not store are one term of their total.  (Jeffreys is +inf there
 * if any y > 0, which the first read decides by counting, not from the
 * rounded y_sum.) */
HE_ALWAYS_INLINE double he_second_term_p_zero(int measure, double y_sum,
                                              const he_second_read *r)
{
    switch (measure) {
    case HE_KL_DIVERGENCE:
    case HE_CHI_SQUARE:
        return y_sum;
    case HE_JS_DIVERGENCE:
        return 0.5 * 0.69314718055994530942 * y_sum;  /* y log(2) / 2 */
    case HE_HELLINGER:
    case HE_TOTAL_VARIATION:
        return 0.5 * y_sum;
    case HE_RENYI_DIVERGENCE:
        return fabs(r->alpha - 1.0) * y_sum;
    default:
        return 0.0;
    }
}

/* ---- finishing steps ---------------------------------------------------- */

/* Entropy from the first read: H = log S - A/S.  *accurate is cleared when
 * the cancellation is too large for the result. */
HE_ALWAYS_INLINE double he_entropy_finish(he_csum *total, double plogp, double plogp_abs,
                                          int *accurate)
{
    double log_total = he_csum_log(total);
    double h = log_total - plogp / total->hi;
    *accurate = fabs(log_total) + plogp_abs / total->hi <= HE_MAX_CANCELLATION * h;
    return h;
}

/* KL from the first read: KL = B/S_p + log(S_q/S_p).  log_error bounds, in
 * ulp(1), the error of each log ratio the read formed beyond its own
 * rounding (0 with exact remainders, 1 without, |log| of a rescaling). */
HE_ALWAYS_INLINE double he_kl_finish(he_csum *p_total, he_csum *q_total, double plogpq,
                                     double plogpq_abs, double log_error, int *accurate)
{
    double log_q_over_p = he_csum_log_ratio(q_total, p_total);
    double d = plogpq / p_total->hi + log_q_over_p;
    *accurate = log_error + plogpq_abs / p_total->hi + fabs(log_q_over_p)
                <= HE_MAX_CANCELLATION * d;
    return d;
}

/* The family's finishing step: the measure from the sum of its terms.
 * Sets *lse for a Renyi sum outside the range where log1p of it is
 * accurate (or that overflowed): the log-sum-exp read must answer. */
HE_ALWAYS_INLINE double he_family_finish(int measure, double sum, const he_second_read *r,
                                         int *lse)
{
    double t, k;
    *lse = 0;
    if (sum == INFINITY && measure != HE_RENYI_ENTROPY && measure != HE_RENYI_DIVERGENCE)
        return INFINITY;
    if (sum < 0.0)
        sum = 0.0;
    switch (measure) {
    case HE_JS_DIVERGENCE:
        return sum < 0.69314718055994530942 ? sum : 0.69314718055994530942;
    case HE_HELLINGER:
        return sqrt(sum < 1.0 ? sum : 1.0);
    case HE_TOTAL_VARIATION:
        return sum < 1.0 ? sum : 1.0;
    case HE_RENYI_ENTROPY:
    case HE_RENYI_DIVERGENCE:
        /* T = sum x^alpha (y^beta) - 1 */
        t = r->sign * sum;
        k = measure == HE_RENYI_ENTROPY ? 1.0 - r->alpha : r->alpha - 1.0;
        if (!(t >= -0.5 && t < INFINITY)) {
            *lse = 1;
            return NAN;
        }
        if (measure == HE_RENYI_ENTROPY && r->alpha == 0.0)
            return log(nearbyint(t + 1.0));  /* T + 1 counts the bins with x > 0 */
        t = log1p(t) / k;
        return t > 0.0 ? t : 0.0;
    default:
        return sum;
    }
}

/* The Renyi measures from a log-sum-exp read: log(sum_i exp(k w_i)) / k
 * over the bins with x > 0 (and y > 0), kept as the extreme m of the w_i in
 * the direction of k and s = sum exp(k (w_i - m)) <= count, so that nothing
 * overflows whatever alpha:
 *   entropy:     k = 1 - alpha,  w = alpha/(1 - alpha) log x,
 *   divergence:  k = alpha - 1,  w = log(x/y) + log(x)/(alpha - 1).
 * alpha = inf is the extreme itself: -log max x, log max x/y. */
typedef struct {
    double k, m;
    he_csum s;                  /* compensated: many terms of similar size */
} he_power_lse;

HE_ALWAYS_INLINE void he_power_lse_init(he_power_lse *l, double k)
{
    l->k = k;
    l->m = k > 0.0 ? -INFINITY : INFINITY;
    he_csum_init(&l->s);
}

/* Adds count bins of w. */
HE_ALWAYS_INLINE void he_power_lse_add(he_power_lse *l, double w, double count)
{
    double f;
    if (l->k > 0.0 ? w > l->m : w < l->m) {
        f = exp(l->k * (l->m - w));
        l->s.hi *= f;
        l->s.lo *= f;
        he_csum_add(&l->s, count);
        l->m = w;
    } else {
        he_csum_add(&l->s, count * exp(l->k * (w - l->m)));
    }
}

/* The w of a bin (NAN: the bin has no term), raw weights a, b. */
HE_ALWAYS_INLINE double he_power_lse_term(int measure, double a, double b,
                                    const he_second_read *r)
{
    he_quotient x = he_quotient_of(a, r->pseudo, r->p_scale, &r->p_total), y;
    double lx, lxy;
    if (x.w == 0.0)
        return NAN;
    lx = he_quotient_log(&x, r->p_scale, &r->p_total);
    if (measure == HE_RENYI_ENTROPY)
        return isinf(r->alpha) ? -lx : r->alpha / (1.0 - r->alpha) * lx;
    y = he_quotient_of(b, r->pseudo, r->q_scale, &r->q_total);
    if (y.w == 0.0)
        return NAN;  /* alpha < 1: x^alpha 0^beta = 0 */
    lxy = he_log_quotient_ratio(x.w, y.w, x.xh, x.xl, y.xh, y.xl, r->log_totals);
    return isinf(r->alpha) ? lxy : lxy + lx / (r->alpha - 1.0);
}

HE_ALWAYS_INLINE double he_power_lse_finish(const he_power_lse *l, double alpha)
{
    double v, s = he_csum_value(&l->s);
    if (s == 0.0)  /* no bin: supports disjoint */
        return INFINITY;
    v = isinf(alpha) ? l->m : l->m + log(s) / l->k;
    return v > 0.0 ? v : 0.0;
}

#endif /* HISTENTROPY_TERMS_H */
