/* histentropy/binning.h -- raw values to bin indices, against fitted edges.
 *
 * A feature's L >= 2 sorted edges e[0] <= ... <= e[L-1] make L + 1 bins:
 *   bin 0       x < e[0]                      (below the fitted range)
 *   bin k       e[k-1] <= x < e[k], 1 <= k < L - 1
 *   bin L - 1   e[L-2] <= x <= e[L-1]         (the last inner bin is closed,
 *                                              as numpy.histogram's)
 *   bin L       x > e[L-1]                    (above the fitted range)
 * that is numpy.searchsorted(e, x, side="right"), with x == e[L-1] moved down
 * into the last inner bin.  -inf and +inf land in the outside bins; NaN has
 * no bin (-1).  Equal edges occur only as [v, v]: one inner bin holding v.
 *
 * Edges of equal width (inv_width > 0: 1 / (e[1] - e[0])) find the bin by
 * arithmetic, then step to the exact bin by comparing with the edges
 * themselves, so both ways agree to the last bit with the binary search.
 */
#ifndef HISTENTROPY_BINNING_H
#define HISTENTROPY_BINNING_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The bin of x among the edges e[0 .. L-1]: a binary search without
 * branches on the data (the number of edges <= x, halving a range whose
 * length does not depend on x), as random values would mispredict them. */
HE_ALWAYS_INLINE int32_t he_bin_sorted(double x, const double *e, int32_t L)
{
    const double *base = e;
    int32_t n = L, half;
    if (x != x)
        return -1;
    if (x == e[L - 1])
        return L - 1;
    while (n > 1) {
        half = n >> 1;
        base = base[half] <= x ? base + half : base;
        n -= half;
    }
    return (int32_t)(base - e) + (*base <= x);
}

/* The bin of x among edges of equal width (inv_width = 1 / width). */
HE_ALWAYS_INLINE int32_t he_bin_uniform(double x, const double *e, int32_t L,
                                        double inv_width)
{
    double k;
    int32_t j;
    if (x != x)
        return -1;
    if (x < e[0])
        return 0;
    if (x >= e[L - 1])
        return x == e[L - 1] ? L - 1 : L;
    /* e[0] <= x < e[L-1]: the estimate is in [1, L-1] once clamped */
    k = (x - e[0]) * inv_width;
    j = k < (double)(L - 2) ? (int32_t)k + 1 : L - 1;
    while (x < e[j - 1])
        j--;
    while (x >= e[j])
        j++;
    return j;
}

/* Bins of an (m, F) block of values x (strides rs, cs in elements) into the
 * C-contiguous (m, F) int32 array out: feature f by its L[f] edges edges[f]
 * (uniform where inv_width[f] > 0).  NaN gives -1.  Returns the position
 * (row * F + feature) of the first NaN, or -1. */
HE_UNUSED static ptrdiff_t he_bin_values(const double *x, ptrdiff_t rs, ptrdiff_t cs,
                                         ptrdiff_t m, ptrdiff_t F,
                                         const double *const *edges, const int32_t *L,
                                         const double *inv_width, int32_t *out)
{
    ptrdiff_t i, f, first_nan = -1;
    int32_t b;
    for (i = 0; i < m; i++) {
        for (f = 0; f < F; f++) {
            double v = x[i * rs + f * cs];
            if (inv_width[f] > 0.0)
                b = he_bin_uniform(v, edges[f], L[f], inv_width[f]);
            else
                b = he_bin_sorted(v, edges[f], L[f]);
            out[i * F + f] = b;
            if (b < 0 && first_nan < 0)
                first_nan = i * F + f;
        }
    }
    return first_nan;
}

#endif /* HISTENTROPY_BINNING_H */
