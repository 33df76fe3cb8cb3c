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
    ptrdiff_t tiny;             /* bins with mass whose x < DBL_MIN */
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

/* A fast value v (of the metric's square for Hellinger and root) with its
 * error bound: clamped to the metric's range, its root taken, and kept in
 * *out (1) if the bound is small enough, else 0. */
HE_ALWAYS_INLINE int he_pair_conclude(int metric, int root, double v, double bound,
                                      double *out)
{
    double d;
    if (!isfinite(v) || !isfinite(bound))
        return 0;
    v = v < 0.0 ? 0.0 : v;
    if (metric == HE_JS_DIVERGENCE && v > 0.69314718055994530942)
        v = 0.69314718055994530942;
    if ((metric == HE_HELLINGER || metric == HE_TOTAL_VARIATION) && v > 1.0)
        v = 1.0;
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

/* The fast value of a pair from its sum and its rows (gamma:
 * he_pair_gamma); 0 where its error bound is too large (the caller
 * recomputes the pair). */
/* The relative error bound of a sum of k non-negative terms in `lanes`
 * lanes: unit roundoff times the additions a term goes through in its block
 * and across blocks, plus the roundings of its factors (x, its log). */
HE_ALWAYS_INLINE double he_pair_gamma(ptrdiff_t k, int lanes)
{
    return 0x1p-53 * ((double)(k < HE_PAIR_BLOCK ? k : HE_PAIR_BLOCK) / lanes + 24.0);
}

HE_ALWAYS_INLINE int he_pair_finish(int metric, int root, double sum, const he_pair_row *ri,
                                    const he_pair_row *rj, double gamma, double *out)
{
    double u = 0x1p-53, v, bound;
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
        break;
    case HE_HELLINGER:          /* its square, 1 - sum sqrt(x y) */
        v = 1.0 - sum;
        bound = gamma * 2.0;
        break;
    case HE_TOTAL_VARIATION:
        v = 0.5 * sum;
        bound = gamma * 2.0;
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
    return he_pair_conclude(metric, root, v, bound, out);
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
    if ((ri->state | rj->state) == HE_ROW_FAST && !diagonal
            && !(check && (rj->zeros > 0 || (metric == HE_JEFFREYS && ri->zeros > 0))))
        return HE_PAIR_SUM;     /* the usual pair: decided in one test */
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

/* Whether the metric's sum is a dot product of prepared rows (KL and cross
 * entropy: x . log y; Hellinger: sqrt x . sqrt y): computed sixteen pairs
 * at a time. */
HE_ALWAYS_INLINE int he_pair_dot(int metric)
{
    return metric == HE_CROSS_ENTROPY || metric == HE_KL_DIVERGENCE
           || metric == HE_HELLINGER;
}

/* A block of pairs: rows [i0, i0 + ni) of P (prepared in px, py, prow, k
 * doubles per row; room for ni rounded up to 4 rows) against rows
 * [j0, j0 + nj) of Q (qx, qy, qrow; room for nj rounded up to 4 rows), into
 * out[i * out_stride + j] (global i, j).  self: Q is P (the diagonal is 0
 * except for cross entropy); symmetric: also, only j >= i is computed and
 * out[j, i] written with it.  scratch: 2k doubles.  Pairs go by tiles of 4
 * x 4 (dot products, he_pair_dot16) or 1 x 4 (he_pair_sum4). */
HE_UNUSED static void he_pair_block(int metric, int root, const he_params *params,
                                    ptrdiff_t k, const he_pair_matrix *a, ptrdiff_t i0,
                                    ptrdiff_t ni, const double *px, const double *py,
                                    const he_pair_row *prow, const he_pair_matrix *b,
                                    ptrdiff_t j0, ptrdiff_t nj, const double *qx,
                                    const double *qy, const he_pair_row *qrow, int self,
                                    int symmetric, double *out, ptrdiff_t out_stride,
                                    double *scratch)
{
    enum { SKIP = -1 };
    ptrdiff_t i, j, first, gi, gj;
    double sums[16], value[16];
    int plan[16], r, c, rows, count, need, t;
    int check = he_pair_unbounded(metric) && params->pseudocount == 0.0;
    int dot = he_pair_dot(metric), tile = dot ? 4 : 1;
    double gamma = he_pair_gamma(k, dot ? HE_PAIR_LANES : HE_PAIR_SUM_LANES);
    const double *w = metric == HE_HELLINGER ? qx : qy;
    for (i = 0; i < ni; i += tile) {
        rows = ni - i < tile ? (int)(ni - i) : tile;
        /* from the tile of 4 rows of Q holding the first j >= i (rows of Q
         * are read by fours: their room is a multiple of 4 rows) */
        first = symmetric && i0 + i > j0 ? (i0 + i - j0) / 4 * 4 : 0;
        for (j = first; j < nj; j += 4) {
            count = nj - j < 4 ? (int)(nj - j) : 4;
            need = 0;
            for (r = 0; r < rows; r++)
                for (c = 0; c < count; c++) {
                    t = 4 * r + c;
                    gi = i0 + i + r;
                    gj = j0 + j + c;
                    plan[t] = symmetric && gj < gi ? SKIP
                              : he_pair_plan(metric, check, self && gi == gj, prow + i + r,
                                             qrow + j + c, px + (i + r) * k,
                                             qx + (j + c) * k, k, &value[t]);
                    need |= plan[t] == HE_PAIR_SUM;
                }
            if (need && dot)
                HE_CPU_CALL(he_pair_dot16, (px + i * k, w + j * k, k, k, sums));
            else if (need)
                HE_CPU_CALL(he_pair_sum4, (metric, px + i * k, py + i * k, qx + j * k,
                                           qy + j * k, k, k, sums));
            for (r = 0; r < rows; r++)
                for (c = 0; c < count; c++) {
                    t = 4 * r + c;
                    if (plan[t] == SKIP)
                        continue;
                    gi = i0 + i + r;
                    gj = j0 + j + c;
                    if (plan[t] == HE_PAIR_SUM
                            && !he_pair_finish(metric, root, sums[t], prow + i + r,
                                               qrow + j + c, gamma, &value[t]))
                        plan[t] = HE_PAIR_EXACT;
                    if (plan[t] == HE_PAIR_EXACT)
                        value[t] = he_pair_exact(metric, root, params, a, gi, b, gj, k,
                                                 scratch);
                    out[gi * out_stride + gj] = value[t];
                    if (symmetric)
                        out[gj * out_stride + gi] = value[t];
                }
        }
    }
}

/* ---- sparse rows --------------------------------------------------------
 *
 * Without a pseudocount, a pair of sparse rows differs from (1, 1, ...)
 * disjointness only on their overlap, the bins both store: every metric is
 * a closed form of the rows' scalars and of sums over the overlap,
 *   KL = sum x log x - sum_ov x log y      (+inf unless P's row lies in Q's)
 *   CE = -sum_ov x log y                   (idem)
 *   JS = log 2 - D/2,  D = sum_ov (m log m - x log x - y log y), m = x + y
 *   Hellinger^2 = 1 - sum_ov sqrt(x y),    TV = 1 - sum_ov min(x, y)
 *   Jeffreys = sum_ov (x - y)(log x - log y)   (+inf unless equal supports)
 *   chi-square = sum_ov (x - y)^2/y + 1 - sum_ov y  (+inf unless P's in Q's)
 * so all pairs of a row of P come from one pass over Q's rows by column
 * (Gustavson's sparse product): O(overlaps) per row, plus O(n) to finish
 * it.  The sums are compensated; he_pair_sparse_finish bounds their error
 * as he_pair_finish does, and the 1-D kernel takes the pair (over the union
 * of its stored bins) where the bound is not small.  Rows hold only their
 * positive values (the caller drops stored zeros). */

/* Compressed rows, normalised: row r holds indptr[r] .. indptr[r + 1] - 1
 * of indices, w (raw weights), x = w / S and lx = log x; per row, its
 * state (he_pair_row), s = sum x log x and largest = max |log x|. */
typedef struct {
    const int64_t *indptr, *indices;
    const double *w, *x, *lx;
    const double *s, *largest;
    const int *state;
} he_pair_csr;

/* Row r's normalised values and scalars (its raw weights w[0..nnz), all
 * positive and finite, with their exact total). */
HE_UNUSED static void he_pair_csr_prepare(const double *w, ptrdiff_t nnz, double total,
                                          double *x, double *lx, double *s,
                                          double *largest, int *state)
{
    he_csum sum;
    double inv = 1.0 / total, big = 0.0;
    ptrdiff_t t;
    he_csum_init(&sum);
    *state = HE_ROW_FAST;
    for (t = 0; t < nnz; t++) {
        x[t] = w[t] * inv;
        if (x[t] < DBL_MIN)
            *state = HE_ROW_EXACT;
        lx[t] = log(x[t]);
        he_csum_add(&sum, x[t] * lx[t]);
        big = fabs(lx[t]) > big ? fabs(lx[t]) : big;
    }
    *s = he_csum_value(&sum);
    *largest = big;
}

/* The value of a metric for a pair of rows that share no bin. */
HE_ALWAYS_INLINE double he_pair_disjoint(int metric)
{
    switch (metric) {
    case HE_JS_DIVERGENCE:
        return 0.69314718055994530942;
    case HE_HELLINGER:
    case HE_TOTAL_VARIATION:
        return 1.0;
    default:
        return INFINITY;
    }
}

/* A pair of sparse rows from its overlap: count bins, sums s1 (the metric's
 * sum over the overlap, see above) and s2 (chi-square: sum_ov y); 0 where
 * the error bound is too large. */
HE_ALWAYS_INLINE int he_pair_sparse_finish(int metric, int root, ptrdiff_t count,
                                           ptrdiff_t p_nnz, ptrdiff_t q_nnz, double p_s,
                                           double q_s, double p_largest, double q_largest,
                                           double s1, double s2, double *out)
{
    double gamma = 0x1p-53 * 12.0, u = 0x1p-53, v, bound;
    switch (metric) {
    case HE_CROSS_ENTROPY:
        if (count < p_nnz) {
            *out = INFINITY;
            return 1;
        }
        v = -s1;
        bound = gamma * (v + 2.0);
        break;
    case HE_KL_DIVERGENCE:
        if (count < p_nnz) {
            *out = INFINITY;
            return 1;
        }
        v = p_s - s1;
        bound = gamma * (fabs(p_s) + fabs(s1) + 2.0);
        break;
    case HE_JS_DIVERGENCE:
        v = 0.69314718055994530942 - 0.5 * s1;
        bound = gamma * (fabs(p_s) + fabs(q_s) + 4.0);
        break;
    case HE_HELLINGER:
    case HE_TOTAL_VARIATION:
        v = 1.0 - s1;
        bound = gamma * 2.0;
        break;
    case HE_JEFFREYS:
        if (count < p_nnz || count < q_nnz) {
            *out = INFINITY;
            return 1;
        }
        v = s1;
        bound = gamma * v + 8.0 * u * (p_largest + q_largest + 4.0);
        break;
    case HE_CHI_SQUARE:
        if (count < p_nnz) {
            *out = INFINITY;
            return 1;
        }
        v = s1 + (1.0 - s2);
        bound = gamma * (v + 2.0) + 8.0 * u * sqrt(fabs(v) * (fabs(v) + 4.0));
        break;
    default:
        return 0;
    }
    return he_pair_conclude(metric, root, v, bound, out);
}

/* The metric's terms of one bin both rows store (x, y > 0). */
HE_ALWAYS_INLINE void he_pair_overlap_terms(int metric, double x, double lx, double y,
                                            double ly, double *t1, double *t2)
{
    double m, d;
    *t2 = 0.0;
    switch (metric) {
    case HE_CROSS_ENTROPY:
    case HE_KL_DIVERGENCE:
        *t1 = x * ly;
        break;
    case HE_JS_DIVERGENCE:      /* x log(m/x) + y log(m/y) >= 0 */
        m = x + y;
        *t1 = m * log(m) - (x * lx + y * ly);   /* symmetric in x, y */
        break;
    case HE_HELLINGER:
        *t1 = sqrt(x * y);
        break;
    case HE_TOTAL_VARIATION:
        *t1 = x < y ? x : y;
        break;
    case HE_JEFFREYS:
        *t1 = (x - y) * (lx - ly);
        break;
    case HE_CHI_SQUARE:
        d = x - y;
        *t1 = d * d / y;
        *t2 = y;
        break;
    default:
        *t1 = NAN;
    }
}

/* The 1-D kernel's value of a pair of sparse rows, over the union of their
 * stored bins (k bins in all); scratch holds 2 (nnz_i + nnz_j) doubles. */
HE_ALWAYS_INLINE double he_pair_sparse_exact(int metric, int root, const he_params *params,
                                             const he_pair_csr *a, ptrdiff_t i,
                                             const he_pair_csr *b, ptrdiff_t j, ptrdiff_t k,
                                             double *scratch)
{
    int64_t pa = a->indptr[i], pn = a->indptr[i + 1] - pa;
    int64_t qa = b->indptr[j], qn = b->indptr[j + 1] - qa;
    double *x = scratch, *y = scratch + pn + qn, v = NAN, h = NAN;
    ptrdiff_t len = he_union(0, 5, a->w + pa, a->indices + pa, pn, b->w + qa,
                             b->indices + qa, qn, x, y);
    if (metric == HE_CROSS_ENTROPY) {
        he_family_slice_f64(HE_KL_DIVERGENCE, params, x, 1, y, 1, len, k - len, 0, &v);
        he_family_slice_f64(HE_ENTROPY, params, x, 1, NULL, 0, len, k - len, 0, &h);
        return v + h;
    }
    he_family_slice_f64(metric, params, x, 1, y, 1, len, k - len, 0, &v);
    return root ? sqrt(v) : v;
}

/* The same, of the pair (min(i, j), max(i, j)) when symmetric. */
HE_ALWAYS_INLINE double he_pair_sparse_exact_in_order(int metric, int root,
                                                      const he_params *params,
                                                      const he_pair_csr *a, ptrdiff_t i,
                                                      const he_pair_csr *b, ptrdiff_t j,
                                                      ptrdiff_t k, int symmetric,
                                                      double *scratch)
{
    if (symmetric && j < i)
        return he_pair_sparse_exact(metric, root, params, b, j, a, i, k, scratch);
    return he_pair_sparse_exact(metric, root, params, a, i, b, j, k, scratch);
}

/* Row i of P against every row of Q, Q given also by columns: col_ptr
 * (k + 1), and for each stored value its row col_rows, its x and log x.
 * symmetric (Q is P, a symmetric metric): every term and finish is
 * symmetric in the pair and the 1-D kernel is given the pair in the order
 * (min(i, j), max(i, j)), so that out[i, j] == out[j, i] exactly while each
 * row is written in order.  Workspace: count, s1_hi, s1_lo, s2 of n entries
 * each (zero on entry, left zero), scratch of 2 (largest nnz of P + of Q)
 * doubles. */
HE_UNUSED static void he_pair_sparse_row(int metric, int root, const he_params *params,
                                         ptrdiff_t k, const he_pair_csr *a, ptrdiff_t i,
                                         const he_pair_csr *b, ptrdiff_t n,
                                         const int64_t *col_ptr, const int64_t *col_rows,
                                         const double *col_x, const double *col_lx,
                                         int self, int symmetric, int64_t *count,
                                         double *s1_hi, double *s1_lo, double *s2,
                                         double *scratch, double *out, ptrdiff_t out_stride)
{
    int64_t t, u, c, j;
    int64_t p_nnz = a->indptr[i + 1] - a->indptr[i], q_nnz;
    int p_state = a->state[i], q_state;
    double x, lx, y, t1, t2, v, hi;
    if (p_state == HE_ROW_FAST) {
        for (t = a->indptr[i]; t < a->indptr[i + 1]; t++) {
            c = a->indices[t];
            x = a->x[t];
            lx = a->lx[t];
            for (u = col_ptr[c]; u < col_ptr[c + 1]; u++) {
                j = col_rows[u];
                y = col_x[u];
                he_pair_overlap_terms(metric, x, lx, y, col_lx[u], &t1, &t2);
                count[j]++;
                hi = s1_hi[j] + t1;  /* Neumaier */
                s1_lo[j] += fabs(s1_hi[j]) >= fabs(t1) ? (s1_hi[j] - hi) + t1
                                                       : (t1 - hi) + s1_hi[j];
                s1_hi[j] = hi;
                s2[j] += t2;
            }
        }
    }
    for (j = 0; j < n; j++) {
        q_state = b->state[j];
        q_nnz = b->indptr[j + 1] - b->indptr[j];
        if (p_state == HE_ROW_NAN || q_state == HE_ROW_NAN)
            v = NAN;
        else if (self && j == i && metric != HE_CROSS_ENTROPY)
            v = 0.0;
        else if (p_state == HE_ROW_EXACT || q_state == HE_ROW_EXACT)
            v = he_pair_sparse_exact_in_order(metric, root, params, a, i, b, j, k,
                                              symmetric, scratch);
        else if (count[j] == 0)
            v = root ? sqrt(he_pair_disjoint(metric)) : he_pair_disjoint(metric);
        else if (!he_pair_sparse_finish(metric, root, count[j], p_nnz, q_nnz, a->s[i],
                                        b->s[j], a->largest[i], b->largest[j],
                                        s1_hi[j] + s1_lo[j], s2[j], &v))
            v = he_pair_sparse_exact_in_order(metric, root, params, a, i, b, j, k,
                                              symmetric, scratch);
        count[j] = 0;
        s1_hi[j] = s1_lo[j] = s2[j] = 0.0;
        out[i * out_stride + j] = v;
    }
}

#endif /* HISTENTROPY_PAIRWISE_H */
