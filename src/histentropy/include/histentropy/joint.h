/* histentropy/joint.h -- mutual information of contingency tables in two
 * reads.
 *
 * Part of histentropy's header-only C99 core (see histentropy.h).
 *
 * A table is nx rows of ny contiguous weights (counts or probabilities of
 * (X, Y)), rows `row_step` bytes apart, of one of the types of config.h.
 *
 *   I(X; Y) = (1/N) sum_xy [w log(w N / (r_x c_y)) - w + r_x c_y / N]
 *
 * with r, c the masses of the rows and the columns and N the total: the KL
 * divergence of the table from the product of its marginals, a sum of
 * non-negative terms (each is q f(w/q) with f(t) = t log t - t + 1 >= 0),
 * never a difference of entropies.
 *
 * - First read (he_joint_margins_*): the columns' sums by TwoSum (exact),
 *   the rows' sums in lanes, and the bad weights.
 * - Second read (he_joint_terms_*): each cell's term from t = w (N/r) (1/c),
 *   one log and no division per cell.  The AVX-512 copy takes
 *   log t = log w + log(N/r) - log c where eight cells in a row hold whole
 *   counts below HE_JOINT_LOG_TABLE: log w from a table (a gather), the
 *   other two logs once per row and column.
 *
 * The result carries an error bound (he_joint_information).  With u = 2^-53:
 * t to a few ulp gives each term an error below u (7 w + 2 w |log t| + 3 q)
 * (the q f(t) form loses digits to cancellation where t is near 1); the
 * looked-up form adds 2.5 u w (log w + |log(N/r)| + |log c|).  Since
 * w |log t| <= term + |w - q| sums to at most N (I + 2), and
 * w log w <= w (|log t| + |log(N/r)| + |log c|), both are bounded by sums
 * over the rows and columns, L = sum r |log(N/r)| + sum c |log c|.  The
 * blocked sums of non-negative terms add at most 132 u of their total (the
 * rounding of the marginals cancels to first order: a change of r_x moves
 * the row's terms by amounts that sum to zero).  With a factor 2 to spare,
 * the bound on I is u (34 + 271 I + 6 L / N).  The value is kept when that
 * is below HE_JOINT_TOL_ABS * max(1, I) and HE_JOINT_TOL_REL * I (for a
 * table of 1e3 x 1e3 cells of counts near 25, for I >~ 2e-4); otherwise (a
 * nearly independent table, where I is tiny) the caller recomputes I by
 * the KL kernel, whose terms are formed from w - q exactly.
 * Tables the reads cannot take (a NaN, a negative or infinite weight, no
 * mass, a total out of range, a t below the normal range) are left to the
 * caller's general path too.
 */
#ifndef HISTENTROPY_JOINT_H
#define HISTENTROPY_JOINT_H

#include <float.h>
#include <math.h>
#include <string.h>

#include "dense.h"

#define HE_JOINT_TOL_ABS 5e-13
#define HE_JOINT_TOL_REL 1e-10

/* What he_joint_information reports besides the value. */
enum {
    HE_JOINT_OK = 0,
    HE_JOINT_IRREGULAR = 1,  /* NaN, negative or infinite weights, no mass, a
                                total out of range: the general path */
    HE_JOINT_INEXACT = 2     /* the bound is too large (or a t out of range):
                                the KL kernel against the product */
};

/* Whole counts below this take log w from a table (he_joint_log_table). */
#define HE_JOINT_LOG_TABLE 1024

/* What the second read needs of a row and of the columns. */
typedef struct {
    double ra, rq, la;           /* N / r, r / N, log(N / r) of the row */
    const double *ib, *c, *lc;   /* 1 / c, c, -log c of the columns (0 where c = 0) */
    const double *logw;          /* he_joint_log_table */
} he_joint_row;

#define HE_CPU_BODY "joint_simd.h"
#include "instantiate.h"

HE_ALWAYS_INLINE double he_joint_margins(int type, const void *p, ptrdiff_t n,
                                         double *c_hi, double *c_lo, double *bad)
{
#define HE_CALL_T(T, tname) HE_CPU_CALL(he_joint_margins_##tname, \
        ((const T *)p, n, c_hi, c_lo, bad))
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

HE_ALWAYS_INLINE double he_joint_terms(int type, const void *p, ptrdiff_t n,
                                       const he_joint_row *row, double *bad)
{
#define HE_CALL_T(T, tname) HE_CPU_CALL(he_joint_terms_##tname, ((const T *)p, n, row, bad))
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

/* The table of log w for w = 0 .. HE_JOINT_LOG_TABLE - 1 (log 0 read as 0). */
HE_UNUSED static void he_joint_log_table(double *logw)
{
    int w;
    logw[0] = 0.0;
    for (w = 1; w < HE_JOINT_LOG_TABLE; w++)
        logw[w] = log((double)w);
}

/* The total N of the columns' sums c_hi + c_lo (compensated), which are
 * then replaced by the columns' masses, with ib = 1 / c (0 where c = 0);
 * 0 where N is out of the reads' range (no mass, or near overflow). */
HE_ALWAYS_INLINE double he_joint_columns(double *c_hi, const double *c_lo, double *ib,
                                         ptrdiff_t ny)
{
    he_csum total = {0.0, 0.0};
    double N;
    ptrdiff_t y;
    for (y = 0; y < ny; y++) {
        he_csum_add(&total, c_hi[y]);
        he_csum_add(&total, c_lo[y]);
    }
    N = he_csum_value(&total);
    if (!(N >= DBL_MIN && N < 0x1p1000))
        return 0.0;
    for (y = 0; y < ny; y++) {
        c_hi[y] += c_lo[y];
        ib[y] = (c_hi[y] > 0.0) ? 1.0 / c_hi[y] : 0.0;
    }
    return N;
}

/* I(X; Y) in nats of one table into *info; returns an HE_JOINT_* code
 * (*info is meaningful for HE_JOINT_OK only).  work: 4 ny + nx doubles;
 * logw: he_joint_log_table's. */
HE_UNUSED static int he_joint_information(int type, const void *base, ptrdiff_t nx,
                                          ptrdiff_t ny, ptrdiff_t row_step,
                                          const double *logw, double *work, double *info)
{
    double *c_hi = work, *c_lo = work + ny, *ib = work + 2 * ny, *lc = work + 3 * ny;
    double *r = work + 4 * ny;
    double bad = 0.0, bad_t = 0.0, logs = 0.0, N, value, bound;
    const double u = 0x1p-53;
    const ptrdiff_t size = (ptrdiff_t)he_type_size(type);
    he_csum sum = {0.0, 0.0};
    he_joint_row row;
    ptrdiff_t x, y, start, len;
    const char *data;

    for (y = 0; y < ny; y++)
        c_hi[y] = c_lo[y] = 0.0;
    for (x = 0; x < nx; x++) {
        data = (const char *)base + x * row_step;
        r[x] = 0.0;
        for (start = 0; start < ny; start += HE_SIMD_BLOCK) {
            len = (ny - start < HE_SIMD_BLOCK) ? ny - start : HE_SIMD_BLOCK;
            r[x] += he_joint_margins(type, data + start * size, len, c_hi + start,
                                     c_lo + start, &bad);
        }
    }
    N = (bad == 0.0) ? he_joint_columns(c_hi, c_lo, ib, ny) : 0.0;
    if (N == 0.0)
        return HE_JOINT_IRREGULAR;
    for (y = 0; y < ny; y++) {
        lc[y] = (c_hi[y] > 0.0) ? -log(c_hi[y]) : 0.0;
        logs += c_hi[y] * fabs(lc[y]);
    }
    row.logw = logw;
    for (x = 0; x < nx; x++) {
        if (r[x] == 0.0)
            continue;                        /* no mass: every term is 0 */
        data = (const char *)base + x * row_step;
        row.ra = N / r[x];
        row.rq = r[x] / N;
        row.la = log(row.ra);
        logs += r[x] * fabs(row.la);
        for (start = 0; start < ny; start += HE_SIMD_BLOCK) {
            len = (ny - start < HE_SIMD_BLOCK) ? ny - start : HE_SIMD_BLOCK;
            row.ib = ib + start;
            row.c = c_hi + start;
            row.lc = lc + start;
            he_csum_add(&sum, he_joint_terms(type, data + start * size, len, &row, &bad_t));
        }
    }
    value = he_csum_value(&sum) / N;
    bound = u * (34.0 + 271.0 * value + 6.0 * (logs / N));
    if (bad_t != 0.0 || !isfinite(value) || !isfinite(bound))
        return HE_JOINT_INEXACT;
    if (!(bound <= HE_JOINT_TOL_ABS * (value > 1.0 ? value : 1.0)
          && bound <= HE_JOINT_TOL_REL * value))
        return HE_JOINT_INEXACT;
    *info = value;
    return HE_JOINT_OK;
}

/* I(X; Y) in nats of one table of compressed rows (row x holds the weights
 * data[indptr[x] .. indptr[x + 1]) at columns indices[...], canonical: no
 * duplicates) into *info; returns an HE_JOINT_* code as
 * he_joint_information.  The same terms over the stored cells, plus the
 * product's mass on the cells not stored, N - sum of q over the stored ones
 * (compensated sums: an error below 4 u N, in the bound).  work: 3 ny + nx
 * doubles. */
HE_UNUSED static int he_joint_information_csr(int type, const void *data,
                                              const int64_t *indices, const int64_t *indptr,
                                              ptrdiff_t nx, ptrdiff_t ny, double *work,
                                              double *info)
{
    double *c_hi = work, *c_lo = work + ny, *ib = work + 2 * ny, *r = work + 3 * ny;
    double bad = 0.0, N, w, t, q, ra, rq, value, bound;
    const double u = 0x1p-53;
    he_csum sum = {0.0, 0.0}, stored_q = {0.0, 0.0};
    ptrdiff_t x, y, k;
    int out_of_range = 0;

    for (y = 0; y < ny; y++)
        c_hi[y] = c_lo[y] = 0.0;
    for (x = 0; x < nx; x++) {
        r[x] = 0.0;
        for (k = indptr[x]; k < indptr[x + 1]; k++) {
            w = he_weight_at(type, data, k, 1);
            bad += fabs(w) - w;
            r[x] += w;
            he_two_sum(&c_hi[indices[k]], &c_lo[indices[k]], w);
        }
    }
    N = (bad == 0.0) ? he_joint_columns(c_hi, c_lo, ib, ny) : 0.0;
    if (N == 0.0)
        return HE_JOINT_IRREGULAR;
    for (x = 0; x < nx; x++) {
        if (r[x] == 0.0)
            continue;
        ra = N / r[x];
        rq = r[x] / N;
        for (k = indptr[x]; k < indptr[x + 1]; k++) {
            w = he_weight_at(type, data, k, 1);
            q = rq * c_hi[indices[k]];
            he_csum_add(&stored_q, q);
            if (w == 0.0) {
                he_csum_add(&sum, q);
                continue;
            }
            t = (w * ra) * ib[indices[k]];
            out_of_range |= !(t >= DBL_MIN && t <= DBL_MAX);
            he_csum_add(&sum, fmax(w * log(t) + (q - w), 0.0));
        }
    }
    q = N - he_csum_value(&stored_q);            /* the cells not stored */
    he_csum_add(&sum, q > 0.0 ? q : 0.0);
    value = he_csum_value(&sum) / N;
    bound = u * (38.0 + 271.0 * value);
    if (out_of_range || !isfinite(value))
        return HE_JOINT_INEXACT;
    if (!(bound <= HE_JOINT_TOL_ABS * (value > 1.0 ? value : 1.0)
          && bound <= HE_JOINT_TOL_REL * value))
        return HE_JOINT_INEXACT;
    *info = value;
    return HE_JOINT_OK;
}

#endif /* HISTENTROPY_JOINT_H */
