/* Run-time CPU dispatch of the fast one-read sums (see _fastpath_body.h).
 *
 * The body is compiled several times in this one translation unit, under
 * `#pragma GCC target` for x86-64-v4 (AVX-512), v3 (AVX2 + FMA) and v2
 * (SSE4.2), plus once for the compiler's default target (the generic path,
 * also the only one on other architectures). The best path the CPU supports
 * is chosen on first use with __builtin_cpu_supports; no -march flag is
 * needed, so an installed package runs on any CPU of its platform.
 *
 * HISTENTROPY_CPU caps the path: "avx512" (or "x86-64-v4"), "avx2"
 * ("x86-64-v3"), "sse4.2" ("x86-64-v2", "baseline") or "generic". A path the
 * CPU lacks, or an unknown value, falls back to the best available path
 * below it (unknown values: the best path) -- tests use this to run every
 * path on one machine.
 */
#ifndef HISTENTROPY_FASTPATH_H
#define HISTENTROPY_FASTPATH_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_vlog.h"

#if defined(__GNUC__)
#define HE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define HE_ALWAYS_INLINE inline
#endif

/* Lanes of independent accumulators: two AVX-512 vectors of doubles. */
#define HE_LANES 16
/* Elements per block of naive lane sums before compensated accumulation. */
#define HE_BLOCK 1024

#define HE_PATH_GENERIC 0
#define HE_PATH_V2 2
#define HE_PATH_V3 3
#define HE_PATH_V4 4

typedef struct {
    double hi, lo;
} he_csum;

typedef struct {
    double total_hi, total_lo;   /* sum of weights, hi + lo exactly */
    double plogp;                /* sum w log w */
    double plogp_abs;            /* sum |w log w| */
    double bad;                  /* 1: the general kernel must take over */
} he_entropy_sums;

typedef struct {
    double p_hi, p_lo, q_hi, q_lo;
    double plogp, plogp_abs;     /* sum p log p, sum |p log p| */
    double plogpq, plogpq_abs;   /* sum p log(p/q), sum |p log(p/q)| */
    double bad;                  /* anything the general kernel must handle */
    double unbounded;            /* bins with p > 0 and q = 0 */
    int ratio_exact;             /* log(p/q) corrected for the rounding of p/q */
} he_pair_sums;

static HE_ALWAYS_INLINE void he_csum_add(he_csum *s, double x)
{
    /* Neumaier's compensated summation. */
    double t = s->hi + x;
    if (fabs(s->hi) >= fabs(x))
        s->lo += (s->hi - t) + x;
    else
        s->lo += (x - t) + s->hi;
    s->hi = t;
}

/* Sum of the HE_LANES lane partials of one block as a balanced tree: error
 * log2(HE_LANES) ulps of the block's magnitude, one compensated add after. */
static HE_ALWAYS_INLINE double he_lanes_sum(const double *v)
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

static HE_ALWAYS_INLINE void he_two_sum_acc(double *hi, double *lo, double x)
{
    /* Knuth's TwoSum, branch-free: hi + lo keeps the running total exactly. */
    double t = *hi + x;
    double z = t - *hi;
    *lo += (*hi - (t - z)) + (x - z);
    *hi = t;
}

/* Added to a weight before its log so that 0 log 0 comes out as 0 * log(tiny)
 * = 0 without a select: it leaves every weight >= 2**-1021 unchanged, and the
 * totals of the slices this path accepts make smaller weights negligible. */
#define HE_TINY 0x1p-1074

/* The loop bodies are free of data-dependent branches and of fmin/fmax (with
 * their NaN rules GCC 12 does not vectorise these loops). Bad weights are
 * detected arithmetically: |w| - w is 0 for w in [0, inf) (and -0), positive
 * for a negative w, NaN for a NaN or +inf, +inf for -inf. */
static void he_finish_entropy(const double *t_hi, const double *t_lo,
                              const he_csum *plogp, const double *a_neg,
                              const double *bad, he_entropy_sums *out)
{
    double hi = 0.0, lo = 0.0, neg = 0.0, nbad = 0.0;
    int j;
    for (j = 0; j < HE_LANES; j++) {
        he_two_sum_acc(&hi, &lo, t_hi[j]);
        lo += t_lo[j];
        neg += a_neg[j];
        nbad += bad[j];
    }
    out->total_hi = hi + lo;
    out->total_lo = lo - (out->total_hi - hi);
    out->plogp = plogp->hi + plogp->lo;
    out->plogp_abs = out->plogp - neg;
    out->bad = (nbad != 0.0) ? 1.0 : 0.0;
}

static void he_finish_pair(const double *pt_hi, const double *pt_lo,
                           const double *qt_hi, const double *qt_lo,
                           const he_csum *plogp, const double *a_neg,
                           const he_csum *plogpq, const double *b_neg,
                           const double *bad, const double *unbounded,
                           int ratio_exact, he_pair_sums *out)
{
    double phi = 0.0, plo = 0.0, qhi = 0.0, qlo = 0.0;
    double aneg = 0.0, bneg = 0.0, nbad = 0.0, nunb = 0.0;
    int j;
    for (j = 0; j < HE_LANES; j++) {
        he_two_sum_acc(&phi, &plo, pt_hi[j]);
        plo += pt_lo[j];
        he_two_sum_acc(&qhi, &qlo, qt_hi[j]);
        qlo += qt_lo[j];
        aneg += a_neg[j];
        bneg += b_neg[j];
        nbad += bad[j];
        nunb += unbounded[j];
    }
    out->p_hi = phi + plo;
    out->p_lo = plo - (out->p_hi - phi);
    out->q_hi = qhi + qlo;
    out->q_lo = qlo - (out->q_hi - qhi);
    out->plogp = plogp->hi + plogp->lo;
    out->plogp_abs = out->plogp - aneg;
    out->plogpq = plogpq->hi + plogpq->lo;
    out->plogpq_abs = out->plogpq - bneg;
    out->unbounded = nunb;
    /* A ratio p/q that overflowed (q > 0) leaves a non-finite sum: the
     * general kernel takes the difference of logs there. */
    out->bad = (nbad != 0.0 || (nunb == 0.0 && !isfinite(out->plogpq))) ? 1.0 : 0.0;
    out->ratio_exact = ratio_exact;
}

/* ---- one copy of the loops per instruction set ------------------------- */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HE_HAVE_X86_PATHS 1

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define HE_ISA(name) name##_v4
#include "_fastpath_body.h"
#undef HE_ISA
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define HE_ISA(name) name##_v3
#include "_fastpath_body.h"
#undef HE_ISA
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v2")
#define HE_ISA(name) name##_v2
#include "_fastpath_body.h"
#undef HE_ISA
#pragma GCC pop_options

#else
#define HE_HAVE_X86_PATHS 0
#endif

#define HE_ISA(name) name##_generic
#include "_fastpath_body.h"
#undef HE_ISA

/* ---- path selection ----------------------------------------------------- */

static int he_best_path(void)
{
#if HE_HAVE_X86_PATHS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4"))
        return HE_PATH_V4;
    if (__builtin_cpu_supports("x86-64-v3"))
        return HE_PATH_V3;
    if (__builtin_cpu_supports("x86-64-v2"))
        return HE_PATH_V2;
#endif
    return HE_PATH_GENERIC;
}

static int he_requested_cap(const char *value)
{
    if (value == NULL || value[0] == '\0')
        return HE_PATH_V4;
    if (!strcmp(value, "avx512") || !strcmp(value, "x86-64-v4"))
        return HE_PATH_V4;
    if (!strcmp(value, "avx2") || !strcmp(value, "x86-64-v3"))
        return HE_PATH_V3;
    if (!strcmp(value, "sse4.2") || !strcmp(value, "sse42")
            || !strcmp(value, "x86-64-v2") || !strcmp(value, "baseline"))
        return HE_PATH_V2;
    if (!strcmp(value, "generic"))
        return HE_PATH_GENERIC;
    return HE_PATH_V4;  /* unknown: no cap */
}

static int he_path_cache = -1;

/* The path in use: the best the CPU supports, capped by HISTENTROPY_CPU.
 * Selected once; concurrent first calls compute the same value. */
static int he_path(void)
{
    int path = __atomic_load_n(&he_path_cache, __ATOMIC_RELAXED);
    if (path < 0) {
        int best = he_best_path();
        int cap = he_requested_cap(getenv("HISTENTROPY_CPU"));
        path = best < cap ? best : cap;
        __atomic_store_n(&he_path_cache, path, __ATOMIC_RELAXED);
    }
    return path;
}

static const char *he_path_name(int path)
{
    switch (path) {
    case HE_PATH_V4: return "avx512";
    case HE_PATH_V3: return "avx2";
    case HE_PATH_V2: return "sse4.2";
    default: return "generic";
    }
}

#if HE_HAVE_X86_PATHS
#define HE_DISPATCH(path, fn, args)                                            \
    switch (path) {                                                            \
    case HE_PATH_V4: return fn##_v4 args;                                      \
    case HE_PATH_V3: return fn##_v3 args;                                      \
    case HE_PATH_V2: return fn##_v2 args;                                      \
    default: return fn##_generic args;                                         \
    }
#else
#define HE_DISPATCH(path, fn, args) return fn##_generic args;
#endif

#define HE_PUBLIC_SUMS(T, tname)                                               \
static inline void he_entropy_sums_##tname(const T *p, ptrdiff_t n,            \
                                    he_entropy_sums *out)                      \
{                                                                              \
    HE_DISPATCH(he_path(), he_entropy_sums_##tname, (p, n, out))               \
}                                                                              \
static inline void he_pair_sums_##tname(const T *p, const T *q, ptrdiff_t n,   \
                                 int need_entropy, he_pair_sums *out)          \
{                                                                              \
    HE_DISPATCH(he_path(), he_pair_sums_##tname, (p, q, n, need_entropy, out)) \
}                                                                              \
static inline double he_entropy_accurate_##tname(                              \
        const T *p, ptrdiff_t n, double hi, double lo)                         \
{                                                                              \
    HE_DISPATCH(he_path(), he_entropy_accurate_##tname, (p, n, hi, lo))        \
}                                                                              \
static inline double he_kl_accurate_##tname(                                   \
        const T *p, const T *q, ptrdiff_t n, double sp, double sq,             \
        double *unbounded, double *bad)                                        \
{                                                                              \
    HE_DISPATCH(he_path(), he_kl_accurate_##tname,                             \
                (p, q, n, sp, sq, unbounded, bad))                             \
}

HE_FOR_EACH_TYPE(HE_PUBLIC_SUMS)

#endif /* HISTENTROPY_FASTPATH_H */
