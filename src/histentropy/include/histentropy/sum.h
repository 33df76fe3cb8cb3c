/* histentropy/sum.h -- exact and compensated summation.
 *
 * he_csum is a running sum hi + lo.  Two ways to add to it:
 *   he_csum_add_exact  Knuth's branch-free TwoSum: hi + lo carries the total
 *                      exactly (up to the rounding of lo).  Used per element
 *                      for the totals of histograms, whose rounding would
 *                      otherwise cost ~1 ulp of log S, all of a tiny entropy.
 *   he_csum_add        Neumaier's compensated summation, for block sums: the
 *                      error bound does not depend on the number of terms.
 * References: Knuth, TAOCP vol. 2, 4.2.2 (TwoSum); Neumaier (1974).
 */
#ifndef HISTENTROPY_SUM_H
#define HISTENTROPY_SUM_H

#include <math.h>

#include "config.h"

typedef struct {
    double hi, lo;
} he_csum;

/* TwoSum of x into the pair (*hi, *lo): *hi + *lo is the exact total. */
HE_ALWAYS_INLINE void he_two_sum(double *hi, double *lo, double x)
{
    double t = *hi + x;
    double z = t - *hi;
    *lo += (*hi - (t - z)) + (x - z);
    *hi = t;
}

/* As he_two_sum, keeping the pair normalised (*hi is the rounded total):
 * for counts that are added to and subtracted from. */
HE_ALWAYS_INLINE void he_two_sum_normalised(double *hi, double *lo, double x)
{
    double t = *hi + x;
    double z = t - *hi;
    double l = *lo + ((*hi - (t - z)) + (x - z));
    *hi = t + l;
    *lo = l - (*hi - t);
}

HE_ALWAYS_INLINE void he_csum_init(he_csum *s)
{
    s->hi = 0.0;
    s->lo = 0.0;
}

HE_ALWAYS_INLINE void he_csum_add_exact(he_csum *s, double x)
{
    he_two_sum(&s->hi, &s->lo, x);
}

/* Adds another exact sum (hi + lo) to s. */
HE_ALWAYS_INLINE void he_csum_merge(he_csum *s, const he_csum *part)
{
    he_two_sum(&s->hi, &s->lo, part->hi);
    s->lo += part->lo;
}

HE_ALWAYS_INLINE void he_csum_add(he_csum *s, double x)
{
    double t = s->hi + x;
    if (fabs(s->hi) >= fabs(x))
        s->lo += (s->hi - t) + x;
    else
        s->lo += (x - t) + s->hi;
    s->hi = t;
}

HE_ALWAYS_INLINE double he_csum_value(const he_csum *s)
{
    if (isinf(s->hi))  /* overflowed: the compensation is meaningless (NaN) */
        return s->hi;
    return s->hi + s->lo;
}

/* Fast two-sum: afterwards hi is the correctly rounded total and lo the
 * exact remainder, so hi - p is exact for p >= hi/2 (Sterbenz). */
HE_ALWAYS_INLINE void he_csum_normalise(he_csum *s)
{
    double hi = s->hi + s->lo;
    s->lo = s->lo - (hi - s->hi);
    s->hi = hi;
}

/* Lanes of independent accumulators in the vectorised loops: two AVX-512
 * vectors of doubles. */
#define HE_LANES 16

/* Sum of HE_LANES lane partials as a balanced tree: error log2(HE_LANES)
 * ulps of their magnitude. */
HE_ALWAYS_INLINE double he_lanes_sum(const double *v)
{
    double t[HE_LANES / 2];
    int j, width;
    for (j = 0; j < HE_LANES / 2; j++)
        t[j] = v[j] + v[j + HE_LANES / 2];
    for (width = HE_LANES / 4; width >= 1; width /= 2)
        for (j = 0; j < width; j++)
            t[j] = t[j] + t[j + width];
    return t[0];
}

/* The exact pairs (hi[j], lo[j]) of HE_LANES lanes as one normalised sum. */
HE_ALWAYS_INLINE he_csum he_lanes_total(const double *hi, const double *lo)
{
    he_csum s = {0.0, 0.0};
    int j;
    for (j = 0; j < HE_LANES; j++) {
        he_csum lane = {hi[j], lo[j]};
        he_csum_merge(&s, &lane);
    }
    he_csum_normalise(&s);
    return s;
}

#endif /* HISTENTROPY_SUM_H */
