/* histentropy/pairwise.h -- many histograms against many: the metric of
 * every pair (i, j) of the rows of P (m x k) and of Q (n x k).
 *
 * Part of histentropy's header-only C99 core (see histentropy.h).
 *
 * A metric is an id of enum he_measure (terms.h) or HE_CROSS_ENTROPY.  Each
 * row is prepared once per block (he_pair_prepare): normalised to
 * x = (w + c)/S in float64 (c the pseudocount, S the exact total), with what
 * the metric's sum reads besides (log x, 1/x; sqrt x for Hellinger) and a
 * row scalar (sum x log x).  A pair is then one vectorised sum over the k
 * bins (pairwise_simd.h): a dot product for cross entropy, KL
 * (KL = sum x log x - sum x log y) and Hellinger (1 - sum sqrt(x y)),
 * sum m log m (m = x + y) for Jensen-Shannon, and the non-negative
 * per-bin terms of total variation, Jeffreys and chi-square.
 *
 * Those forms cancel where the pair is nearly identical.  he_pair_finish
 * bounds the error of each fast value from its sums (rounding of x, of the
 * logs, of the blocked sums); where the bound is not below
 * HE_PAIR_TOL_ABS * max(1, value) and HE_PAIR_TOL_REL * value, and for
 * every pair of a row the fast form cannot read (a total out of range, a
 * quotient below the normal range), the pair is recomputed by the 1-D
 * kernel on the raw rows (he_family_slice_f64).  Support violations
 * (p > 0 = q: +inf) are counted from the prepared rows, never read from a
 * log(0).
 */
#ifndef HISTENTROPY_PAIRWISE_H
#define HISTENTROPY_PAIRWISE_H

#include <float.h>
#include <math.h>
#include <string.h>

#include "family.h"

/* Cross entropy: a pairwise metric beside the ids of enum he_measure. */
#define HE_CROSS_ENTROPY 32

/* A fast value is kept when its error bound is below both. */
#define HE_PAIR_TOL_ABS 5e-13
#define HE_PAIR_TOL_REL 1e-10

#define HE_PAIR_LANES 8
#define HE_PAIR_SUM_LANES 16
/* Bins per block of plain lane sums; blocks are added with compensation. */
#define HE_PAIR_BLOCK 512

/* A prepared row: how its pairs are computed. */
enum {
    HE_ROW_FAST = 0,            /* the fast sums */
    HE_ROW_EXACT = 1,           /* every pair by the 1-D kernel */
    HE_ROW_NAN = 2              /* every pair NaN: a NaN, or no mass */
};

typedef struct {
    double s;                   /* sum x log x (KL, JS); Jeffreys: max |log x|, x > 0 */
    ptrdiff_t zeros;            /* bins with x = 0 */
    ptrdiff_t tiny;             /* bins with 0 < x < DBL_MIN */
    int state;
} he_pair_row;

/* A matrix of weights: rows of k weights of type code `type`, row r at
 * data + r * row_step (bytes), weights stride elements apart. */
typedef struct {
    int type;
    const char *data;
    ptrdiff_t row_step, stride;
} he_pair_matrix;

HE_ALWAYS_INLINE const void *he_pair_row_at(const he_pair_matrix *a, ptrdiff_t r)
{
    return a->data + r * a->row_step;
}

#define HE_CPU_BODY "pairwise_simd.h"
#include "instantiate.h"

/* Row r of a: the flags of its weights (negative, infinite, NaN), its
 * total with k pseudocounts c, and its state (he_pair_row). */
HE_ALWAYS_INLINE int he_pair_total(const he_pair_matrix *a, ptrdiff_t r, ptrdiff_t k,
                                   double c, double *total, int *state)
{
    he_totals t;
    int flags;
    memset(&t, 0, sizeof t);
    flags = he_totals_read(a->type, he_pair_row_at(a, r), a->stride, NULL, 0, k, 1.0, 1.0,
                           &t);
    he_add_pseudocounts(&t.p_total, k, c);
    *total = he_csum_value(&t.p_total);
    if (flags != 0 || !(*total > 0.0))
        *state = HE_ROW_NAN;
    else if (!(0x1p-900 <= *total && *total <= 0x1p900))
        *state = HE_ROW_EXACT;
    else
        *state = HE_ROW_FAST;
    return flags;
}

/* Row r of a as float64 (as the 1-D kernels read every type). */
HE_ALWAYS_INLINE void he_pair_raw(const he_pair_matrix *a, ptrdiff_t r, ptrdiff_t k,
                                  double *x)
{
    const void *w = he_pair_row_at(a, r);
    ptrdiff_t i;
#define HE_PAIR_TYPE_CASE(T, tname, code)                                      \
    case code:                                                                 \
        for (i = 0; i < k; i++)                                                \
            x[i] = (double)((const T *)w)[i * a->stride];                      \
        break;
    switch (a->type) {
        HE_FOR_EACH_TYPE(HE_PAIR_TYPE_CASE)
    }
#undef HE_PAIR_TYPE_CASE
}

/* Row r of a (total and state from he_pair_total), prepared for `side`
 * (0: a row of P, 1: a row of Q) of `metric` with pseudocount c, into x and
 * y (k doubles each). */
HE_ALWAYS_INLINE void he_pair_prepare(int metric, int side, const he_pair_matrix *a,
                                      ptrdiff_t r, ptrdiff_t k, double c, double total,
                                      int state, double *x, double *y, he_pair_row *row)
{
    memset(row, 0, sizeof *row);
    row->state = state;
    if (state != HE_ROW_FAST)
        return;
    he_pair_raw(a, r, k, x);
    HE_CPU_CALL(he_pair_transform, (metric, side, x, y, k, c, 1.0 / total, row));
    if (row->tiny > 0)
        row->state = HE_ROW_EXACT;
}

/* The 1-D kernel's value of the pair (root: its square root); scratch
 * holds 2k doubles. */
HE_ALWAYS_INLINE double he_pair_exact(int metric, int root, const he_params *params,
                                      const he_pair_matrix *a, ptrdiff_t i,
                                      const he_pair_matrix *b, ptrdiff_t j, ptrdiff_t k,
                                      double *scratch)
{
    double v = NAN, h = NAN, *p = scratch, *q = scratch + k;
    he_pair_raw(a, i, k, p);
    he_pair_raw(b, j, k, q);
    if (metric == HE_CROSS_ENTROPY) {
        he_family_slice_f64(HE_KL_DIVERGENCE, params, p, 1, q, 1, k, 0, 0, &v);
        he_family_slice_f64(HE_ENTROPY, params, p, 1, NULL, 0, k, 0, 0, &h);
        return v + h;
    }
    he_family_slice_f64(metric, params, p, 1, q, 1, k, 0, 0, &v);
    return root ? sqrt(v) : v;
}

HE_ALWAYS_INLINE int he_pair_accepts(double value, double bound)
{
    return bound <= HE_PAIR_TOL_ABS * (value > 1.0 ? value : 1.0)
           && bound <= HE_PAIR_TOL_REL * value;
}

/* The fast value of a pair from its sum and its rows; 0 where its error
 * bound is too large (the caller recomputes the pair). */
HE_ALWAYS_INLINE int he_pair_finish(int metric, int root, double sum, const he_pair_row *ri,
                                    const he_pair_row *rj, ptrdiff_t k, double *out)
{
    /* unit roundoff times the additions a term goes through in its block
     * and across blocks, plus the roundings of its factors (x, its log) */
    double gamma = 0x1p-53 * ((double)(k < HE_PAIR_BLOCK ? k : HE_PAIR_BLOCK)
                              / HE_PAIR_SUM_LANES + 24.0);
    double u = 0x1p-53, v, bound, d;
    switch (metric) {
    case HE_CROSS_ENTROPY:      /* -sum x log y, every term >= 0 */
        v = -sum;
        bound = gamma * (v + 2.0);
        break;
    case HE_KL_DIVERGENCE:
        v = ri->s - sum;
        bound = gamma * (fabs(ri->s) + fabs(sum) + 2.0);
        break;
    case HE_JS_DIVERGENCE:      /* (sum x log x + sum y log y - sum m log m)/2 + log 2 */
        v = 0.5 * (ri->s + rj->s - sum) + 0.69314718055994530942;
        bound = gamma * (0.5 * (fabs(ri->s) + fabs(rj->s) + fabs(sum)) + 4.0);
        if (v > 0.69314718055994530942)
            v = 0.69314718055994530942;
        break;
    case HE_HELLINGER:          /* its square, 1 - sum sqrt(x y) */
        v = 1.0 - sum;
        bound = gamma * 2.0;
        if (v > 1.0)
            v = 1.0;
        break;
    case HE_TOTAL_VARIATION:
        v = 0.5 * sum;
        bound = gamma * 2.0;
        if (v > 1.0)
            v = 1.0;
        break;
    case HE_JEFFREYS:           /* the logs' errors times sum |x - y| <= 2 */
        v = sum;
        bound = gamma * v + 8.0 * u * (ri->s + rj->s + 4.0);
        break;
    case HE_CHI_SQUARE:         /* x - y rounded: 4u |x - y| (x + y)/y per term */
        v = sum;
        bound = gamma * v + 8.0 * u * sqrt(fabs(v) * (fabs(v) + 4.0));
        break;
    default:
        return 0;
    }
    if (!isfinite(v) || !isfinite(bound))
        return 0;
    if (v < 0.0)
        v = 0.0;
    if (root || metric == HE_HELLINGER) {
        d = sqrt(v);
        bound = bound / (d + sqrt(bound));
        v = d;
    }
    if (!he_pair_accepts(v, bound))
        return 0;
    *out = v;
    return 1;
}

/* Whether the metric is +inf where some bin leaves its support. */
HE_ALWAYS_INLINE int he_pair_unbounded(int metric)
{
    return metric == HE_CROSS_ENTROPY || metric == HE_KL_DIVERGENCE
           || metric == HE_JEFFREYS || metric == HE_CHI_SQUARE;
}

/* How the pair (P's row ri, Q's row rj) is computed, without its sums. */
enum { HE_PAIR_SUM = 0, HE_PAIR_DONE = 1, HE_PAIR_EXACT = 2 };

HE_ALWAYS_INLINE int he_pair_plan(int metric, int check, int diagonal, const he_pair_row *ri,
                                  const he_pair_row *rj, const double *x, const double *u,
                                  ptrdiff_t k, double *out)
{
    if (ri->state == HE_ROW_NAN || rj->state == HE_ROW_NAN) {
        *out = NAN;
        return HE_PAIR_DONE;
    }
    if (diagonal && metric != HE_CROSS_ENTROPY) {
        *out = 0.0;
        return HE_PAIR_DONE;
    }
    if (ri->state == HE_ROW_EXACT || rj->state == HE_ROW_EXACT)
        return HE_PAIR_EXACT;
    if (check && (rj->zeros > 0 || (metric == HE_JEFFREYS && ri->zeros > 0))
            && HE_CPU_CALL(he_pair_violations, (metric, x, u, k)) > 0) {
        *out = INFINITY;
        return HE_PAIR_DONE;
    }
    return HE_PAIR_SUM;
}

/* A block of pairs: rows [i0, i0 + ni) of P (prepared in px, py, prow, k
 * doubles per row) against rows [j0, j0 + nj) of Q (qx, qy, qrow; room for
 * nj rounded up to 4 rows), into out[i * out_stride + j] (global i, j).
 * self: Q is P (the diagonal is 0 except for cross entropy); symmetric:
 * also, only j >= i is computed and out[j, i] written with it.  scratch:
 * 2k doubles. */
HE_UNUSED static void he_pair_block(int metric, int root, const he_params *params,
                                    ptrdiff_t k, const he_pair_matrix *a, ptrdiff_t i0,
                                    ptrdiff_t ni, const double *px, const double *py,
                                    const he_pair_row *prow, const he_pair_matrix *b,
                                    ptrdiff_t j0, ptrdiff_t nj, const double *qx,
                                    const double *qy, const he_pair_row *qrow, int self,
                                    int symmetric, double *out, ptrdiff_t out_stride,
                                    double *scratch)
{
    ptrdiff_t i, j, first, gi, gj;
    double sums[4], value[4];
    int plan[4], r, count, need;
    int check = he_pair_unbounded(metric) && params->pseudocount == 0.0;
    for (i = 0; i < ni; i++) {
        gi = i0 + i;
        first = symmetric && gi > j0 ? gi - j0 : 0;
        for (j = first; j < nj; j += 4) {
            count = nj - j < 4 ? (int)(nj - j) : 4;
            need = 0;
            for (r = 0; r < count; r++) {
                plan[r] = he_pair_plan(metric, check, self && gi == j0 + j + r, prow + i,
                                       qrow + j + r, px + i * k, qx + (j + r) * k, k,
                                       &value[r]);
                need |= plan[r] == HE_PAIR_SUM;
            }
            if (need)
                HE_CPU_CALL(he_pair_sum4, (metric, px + i * k, py + i * k, qx + j * k,
                                           qy + j * k, k, k, sums));
            for (r = 0; r < count; r++) {
                gj = j0 + j + r;
                if (plan[r] == HE_PAIR_SUM
                        && !he_pair_finish(metric, root, sums[r], prow + i,
                                           qrow + j + r, k, &value[r]))
                    plan[r] = HE_PAIR_EXACT;
                if (plan[r] == HE_PAIR_EXACT)
                    value[r] = he_pair_exact(metric, root, params, a, gi, b, gj, k, scratch);
                out[gi * out_stride + gj] = value[r];
                if (symmetric)
                    out[gj * out_stride + gi] = value[r];
            }
        }
    }
}

#endif /* HISTENTROPY_PAIRWISE_H */
