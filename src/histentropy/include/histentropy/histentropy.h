/* histentropy/histentropy.h -- the public C API of histentropy.
 *
 * Header-only C99: #include <histentropy/histentropy.h> with
 * histentropy.get_include() (Python) on the include path; no library to link
 * but libm (-lm).  The functions never allocate except the sparse-row ones
 * (malloc of two doubles per stored value, freed before they return), never
 * print, never abort, and are thread-safe.
 *
 * Conventions
 * - Results are in nats (divide by log(2) for bits).
 * - A histogram is n weights, not necessarily normalised (each one is
 *   divided by its total implicitly); a stride is in elements and may be
 *   negative (the pointer is to the first element).
 * - Return value: 0 for valid input; otherwise a non-zero combination of
 *   HE_NAN, HE_NEGATIVE, HE_INFINITE (and, for the sparse and logits
 *   functions, HE_BAD_INDEX, HE_NO_MEMORY), and every result is then NaN.
 * - A histogram with no mass (all zeros, n = 0) gives NaN and returns 0.
 * - 0 log 0 = 0; p > 0 where q = 0 gives +inf (cross entropy and KL).
 * - Sparse rows are (indices, values, nnz) with indices strictly increasing
 *   in [0, n) (int64), values float64; unlisted bins hold 0.
 * - Logits rows are softmax(logits): -inf logits have probability 0.
 *
 * Naming: he_<measure>_<type> for dense slices (types f64, f32, i64, i32),
 * he_<measure>_sparse_dense_f64 / he_<measure>_sparse_sparse_f64 for a
 * sparse row p against a dense / sparse row q, he_<measure>_logits_f64 for
 * logits rows.  Everything else in these headers is internal and may change.
 *
 * Versioning: HISTENTROPY_API_VERSION_MAJOR changes when a function of this
 * file changes its signature or meaning or is removed; _MINOR when one is
 * added.  A function to be removed is first marked deprecated for at least
 * one minor version.
 */
#ifndef HISTENTROPY_H
#define HISTENTROPY_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dense.h"
#include "sparse.h"
#include "logits.h"

#define HISTENTROPY_API_VERSION_MAJOR 1
#define HISTENTROPY_API_VERSION_MINOR 0

#define HE_NAN 1           /* a NaN weight or logit */
#define HE_NEGATIVE 2      /* a negative weight */
#define HE_INFINITE 4      /* an infinite weight, or a +inf logit */
#define HE_BAD_INDEX 8     /* sparse indices not strictly increasing in [0, n),
                              or a class index out of [0, n) */
#define HE_NO_MEMORY 16    /* a sparse function could not allocate scratch */

/* The public flags of the core's flags; the results are NaN when any. */
static inline int he__public_flags(int flags, double *r0, double *r1, double *r2)
{
    int out = ((flags & HE_FLAG_NAN) ? HE_NAN : 0)
              | ((flags & (HE_FLAG_NEGATIVE_P | HE_FLAG_NEGATIVE_Q)) ? HE_NEGATIVE : 0)
              | ((flags & (HE_FLAG_INFINITE_P | HE_FLAG_INFINITE_Q)) ? HE_INFINITE : 0);
    if (out) {
        if (r0) *r0 = NAN;
        if (r1) *r1 = NAN;
        if (r2) *r2 = NAN;
    }
    return out;
}

/* Cross entropy, entropy and KL of one pair from the core's entropy + KL. */
static inline int he__finish_pair(int flags, double entropy, double kl,
                                  double *cross_entropy_out, double *entropy_out,
                                  double *kl_out)
{
    if (cross_entropy_out) *cross_entropy_out = entropy + kl;
    if (entropy_out) *entropy_out = entropy;
    if (kl_out) *kl_out = kl;
    return he__public_flags(flags, cross_entropy_out, entropy_out, kl_out);
}

/* ---- dense slices ------------------------------------------------------- */

#define HE__DENSE_API(T, tname, code)                                          \
static inline int he_entropy_##tname(const T *p, ptrdiff_t n, ptrdiff_t stride, \
                                     double *result)                           \
{                                                                              \
    return he__public_flags(he_entropy_slice(code, p, n, stride, 0, result),   \
                            result, NULL, NULL);                               \
}                                                                              \
static inline int he_decompose_##tname(                                        \
        const T *p, ptrdiff_t p_stride, const T *q, ptrdiff_t q_stride,        \
        ptrdiff_t n, double *cross_entropy, double *entropy,                   \
        double *kl_divergence)                                                 \
{                                                                              \
    double h = NAN, kl = NAN;                                                  \
    int flags = he_divergence_slice(code, p, p_stride, q, q_stride, n, 0, 1,   \
                                    &h, &kl);                                  \
    return he__finish_pair(flags, h, kl, cross_entropy, entropy,               \
                           kl_divergence);                                     \
}                                                                              \
static inline int he_cross_entropy_##tname(                                    \
        const T *p, ptrdiff_t p_stride, const T *q, ptrdiff_t q_stride,        \
        ptrdiff_t n, double *result)                                           \
{                                                                              \
    return he_decompose_##tname(p, p_stride, q, q_stride, n, result, NULL,     \
                                NULL);                                         \
}                                                                              \
static inline int he_kl_divergence_##tname(                                    \
        const T *p, ptrdiff_t p_stride, const T *q, ptrdiff_t q_stride,        \
        ptrdiff_t n, double *result)                                           \
{                                                                              \
    double h, kl = NAN;                                                        \
    int flags = he_divergence_slice(code, p, p_stride, q, q_stride, n, 0, 0,   \
                                    &h, &kl);                                  \
    return he__finish_pair(flags, 0.0, kl, NULL, NULL, result);                \
}

HE__DENSE_API(double, f64, 0)
HE__DENSE_API(float, f32, 1)
HE__DENSE_API(int64_t, i64, 5)
HE__DENSE_API(int32_t, i32, 4)
#undef HE__DENSE_API

/* ---- sparse rows -------------------------------------------------------- */

/* 1 if indices[0..nnz) are strictly increasing in [0, n). */
static inline int he__valid_indices(const int64_t *indices, ptrdiff_t nnz, ptrdiff_t n)
{
    ptrdiff_t j;
    for (j = 0; j < nnz; j++)
        if (indices[j] < 0 || indices[j] >= n || (j > 0 && indices[j] <= indices[j - 1]))
            return 0;
    return 1;
}

/* Entropy of a sparse row (its stored values). */
static inline int he_entropy_sparse_f64(const int64_t *indices, const double *values,
                                        ptrdiff_t nnz, ptrdiff_t n, double *result)
{
    if (!he__valid_indices(indices, nnz, n)) {
        *result = NAN;
        return HE_BAD_INDEX;
    }
    return he__public_flags(he_entropy_slice(0, values, nnz, 1, 0, result), result,
                            NULL, NULL);
}

/* Entropy and KL of the gathered pairs of a sparse row p against q, whose
 * total and flags are in reference / q_scale / q_flags. */
static inline int he__sparse_pair(const int64_t *p_indices, const double *p_values,
                                  ptrdiff_t p_nnz, const int64_t *q_indices,
                                  const double *q_values, ptrdiff_t q_nnz,
                                  const double *q, ptrdiff_t q_stride, ptrdiff_t n,
                                  double *cross_entropy, double *entropy, double *kl_out)
{
    he_csum reference;
    double q_scale, h = NAN, kl = NAN, *a;
    ptrdiff_t m;
    int q_flags, flags;
    if (!he__valid_indices(p_indices, p_nnz, n)
            || (q == NULL && !he__valid_indices(q_indices, q_nnz, n))) {
        he__finish_pair(HE_FLAG_NAN, NAN, NAN, cross_entropy, entropy, kl_out);
        return HE_BAD_INDEX;
    }
    a = (double *)malloc(sizeof(double) * 2 * (size_t)(p_nnz > 0 ? p_nnz : 1));
    if (a == NULL) {
        he__finish_pair(HE_FLAG_NAN, NAN, NAN, cross_entropy, entropy, kl_out);
        return HE_NO_MEMORY;
    }
    if (q != NULL) {
        q_flags = he_reference(0, q, n, q_stride, &reference, &q_scale);
        m = he_gather(0, 5, p_values, p_indices, p_nnz, q, q_stride, a, a + p_nnz);
    } else {
        q_flags = he_reference(0, q_values, q_nnz, 1, &reference, &q_scale);
        m = he_lookup(0, 5, p_values, p_indices, p_nnz, q_values, q_indices, q_nnz, a,
                      a + p_nnz);
    }
    flags = he_divergence_rest(a, a + p_nnz, m, &reference, q_scale, q_flags, 0, 1, &h,
                               &kl);
    free(a);
    return he__finish_pair(flags, h, kl, cross_entropy, entropy, kl_out);
}

static inline int he_decompose_sparse_dense_f64(
        const int64_t *p_indices, const double *p_values, ptrdiff_t p_nnz,
        const double *q, ptrdiff_t q_stride, ptrdiff_t n,
        double *cross_entropy, double *entropy, double *kl_divergence)
{
    return he__sparse_pair(p_indices, p_values, p_nnz, NULL, NULL, 0, q, q_stride, n,
                           cross_entropy, entropy, kl_divergence);
}

static inline int he_cross_entropy_sparse_dense_f64(
        const int64_t *p_indices, const double *p_values, ptrdiff_t p_nnz,
        const double *q, ptrdiff_t q_stride, ptrdiff_t n, double *result)
{
    return he_decompose_sparse_dense_f64(p_indices, p_values, p_nnz, q, q_stride, n,
                                         result, NULL, NULL);
}

static inline int he_kl_divergence_sparse_dense_f64(
        const int64_t *p_indices, const double *p_values, ptrdiff_t p_nnz,
        const double *q, ptrdiff_t q_stride, ptrdiff_t n, double *result)
{
    return he_decompose_sparse_dense_f64(p_indices, p_values, p_nnz, q, q_stride, n,
                                         NULL, NULL, result);
}

static inline int he_decompose_sparse_sparse_f64(
        const int64_t *p_indices, const double *p_values, ptrdiff_t p_nnz,
        const int64_t *q_indices, const double *q_values, ptrdiff_t q_nnz, ptrdiff_t n,
        double *cross_entropy, double *entropy, double *kl_divergence)
{
    return he__sparse_pair(p_indices, p_values, p_nnz, q_indices, q_values, q_nnz, NULL,
                           0, n, cross_entropy, entropy, kl_divergence);
}

static inline int he_cross_entropy_sparse_sparse_f64(
        const int64_t *p_indices, const double *p_values, ptrdiff_t p_nnz,
        const int64_t *q_indices, const double *q_values, ptrdiff_t q_nnz, ptrdiff_t n,
        double *result)
{
    return he_decompose_sparse_sparse_f64(p_indices, p_values, p_nnz, q_indices, q_values,
                                          q_nnz, n, result, NULL, NULL);
}

static inline int he_kl_divergence_sparse_sparse_f64(
        const int64_t *p_indices, const double *p_values, ptrdiff_t p_nnz,
        const int64_t *q_indices, const double *q_values, ptrdiff_t q_nnz, ptrdiff_t n,
        double *result)
{
    return he_decompose_sparse_sparse_f64(p_indices, p_values, p_nnz, q_indices, q_values,
                                          q_nnz, n, NULL, NULL, result);
}

/* ---- logits rows: softmax(logits) --------------------------------------- */

/* The public flags of logits.h's flags. */
static inline int he__logits_flags(int flags, double *result)
{
    int out = ((flags & (HE_LOGITS_NAN | HE_LOGITS_OTHER_NAN)) ? HE_NAN : 0)
              | ((flags & (HE_LOGITS_POSINF | HE_LOGITS_OTHER_POSINF)) ? HE_INFINITE : 0)
              | ((flags & HE_LOGITS_TARGET_RANGE) ? HE_BAD_INDEX : 0);
    if (flags && !out)
        out = HE_NAN;
    if (out)
        *result = NAN;
    return out;
}

/* Entropy of softmax(logits) of one row.  A row with no finite logit gives
 * NaN and returns 0. */
static inline int he_entropy_logits_f64(const double *logits, ptrdiff_t n,
                                        ptrdiff_t stride, double *result)
{
    return he__logits_flags(he_logits_entropy_row_f64(logits, n, stride, result), result);
}

/* -log softmax(logits)[target]: the cross entropy against a class index in
 * [0, n) (HE_BAD_INDEX otherwise); +inf where that logit is -inf. */
static inline int he_cross_entropy_logits_f64(const double *logits, ptrdiff_t n,
                                              ptrdiff_t stride, int64_t target,
                                              double *result)
{
    return he__logits_flags(
        he_logits_cross_entropy_row_f64(logits, n, stride, target, result), result);
}

/* KL(softmax(logits_p) || softmax(logits_q)) of two rows of length n. */
static inline int he_kl_divergence_logits_f64(const double *logits_p, ptrdiff_t p_stride,
                                              const double *logits_q, ptrdiff_t q_stride,
                                              ptrdiff_t n, double *result)
{
    return he__logits_flags(he_logits_kl_divergence_row_f64(logits_p, p_stride, logits_q,
                                                            q_stride, n, result),
                            result);
}

#endif /* HISTENTROPY_H */
