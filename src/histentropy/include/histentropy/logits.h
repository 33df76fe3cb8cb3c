/* histentropy/logits.h -- entropy, KL divergence and cross entropy of
 * distributions given by logits, softmax(l).
 *
 * A row of logits is a slice: a pointer, a length n and a stride in elements
 * (any sign), of float64 or float32 (type codes HE_LOGITS_F64 and
 * HE_LOGITS_F32, config.h's codes).  The kernels never validate or allocate
 * (block buffers are on the stack); they return the flags of what they saw
 * (HE_LOGITS_*) and the caller decides what to raise.  Results are float64,
 * in nats.
 *
 * Numerical scheme: online log-sum-exp with a running maximum
 * -----------------------------------------------------------
 * A row l_1..l_K is read once, in blocks of HE_LOGITS_BLOCK elements that
 * stay in L1 cache.  For each block we take its maximum M and the sums,
 * relative to M, of
 *     r = sum exp(l_i - M) over all i but one attaining M   (so s = 1 + r),
 *     neg = sum exp(l_i - M) (M - l_i)                       (entropy),
 * and merge them into the running state (m, r, neg) of the row.  When the
 * maximum grows by d > 0 the old sums are rescaled exactly as the formulas
 * say: s -> s e^-d, neg -> e^-d (neg + d s).  Every l - m is <= 0, so nothing
 * overflows, also for logits of 1e300; -inf logits give exp(-inf) = 0 and are
 * masked out of every product, so -inf never meets 0 * inf.
 * Keeping r = s - 1 rather than s is what makes the results accurate: the
 * largest term is exactly 1 and
 *     log softmax(l)_y = (l_y - m) - log1p(r),
 *     H = log1p(r) + neg / (1 + r),
 * are sums of non-negative terms (no cancellation): a near-deterministic row
 * (r = 1e-30) keeps all its digits, where log(s) would round to 0.  Ties with
 * the maximum add exactly 1 each and are counted, not summed.
 * Cross entropy with soft targets t = w / W adds B = sum w (m - l) (again
 * non-negative terms, rescaled by B += d W when m grows); label smoothing adds
 * U = sum (m - l).  KL(softmax(a) || softmax(b)) = C / s_a - log1p(r_a)
 * + log1p(r_b) with C = sum exp(a - m_a) ((a - m_a) - (b - m_b)).
 * References: the max-subtraction of scipy.special.logsumexp (which also uses
 * log1p for the dominant term); the online softmax of Milakov & Gimelshein
 * (2018), "Online normalizer calculation for softmax", here merged per block.
 *
 * The block sums run over contiguous data (a strided block is first gathered
 * into a buffer of doubles; contiguous float32 is widened in registers) in
 * the vector bodies of logits_simd.h, compiled once per CPU path and chosen
 * by dispatch.h, with an exp() for arguments <= 0 that vectorises.
 *
 * Each kernel is written once, with the logit type code `type` (and the
 * target type code `target_type`) as arguments that are constants after
 * inlining (he_logit_at's switch folds away); HE_FOR_EACH_LOGIT_TYPE
 * instantiates the entry points per type and the *_t functions dispatch on
 * run-time codes.  The kernels also take `path`, the CPU path of dispatch.h,
 * read once per batch of rows (he_cpu_path()) and passed down, so the blocks
 * dispatch on a value in a register.
 */
#ifndef HISTENTROPY_LOGITS_H
#define HISTENTROPY_LOGITS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "dispatch.h"

/* What a kernel saw; the caller decides what to raise.  A row with no finite
 * logit (all -inf, or n == 0) is no error: its result is NaN, its flags 0. */
#define HE_LOGITS_NAN 1              /* NaN in the (first) logits */
#define HE_LOGITS_POSINF 2           /* +inf in the (first) logits */
#define HE_LOGITS_OTHER_NAN 4        /* NaN in the second logits (KL's b) */
#define HE_LOGITS_OTHER_POSINF 8     /* +inf in the second logits */
#define HE_LOGITS_TARGET_NAN 16      /* NaN in soft target weights */
#define HE_LOGITS_TARGET_NEGATIVE 32 /* negative soft target weight */
#define HE_LOGITS_TARGET_INF 64      /* infinite soft target weight */
#define HE_LOGITS_TARGET_RANGE 128   /* class index outside [0, n) */

/* Elements per block: a block (and its float64 copy) stays in L1, and the
 * per-block merge (one exp) is amortised. */
#define HE_LOGITS_BLOCK 1024

/* The logit and soft-target types, as config.h's X(C type, suffix, code). */
#define HE_LOGITS_F64 0
#define HE_LOGITS_F32 1
#define HE_FOR_EACH_LOGIT_TYPE(X) X(double, f64, 0) X(float, f32, 1)
#define HE_SWITCH_LOGIT_TYPE(type) switch (type) { HE_FOR_EACH_LOGIT_TYPE(HE_TYPE_CASE) }
#define HE_SWITCH_LOGIT_TYPE_T(type) switch (type) { HE_FOR_EACH_LOGIT_TYPE(HE_TYPE_CASE_T) }

/* GCC's vector extensions (and __builtin_shuffle) carry the vector bodies;
 * other compilers get plain loops over libm's exp. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER) \
    && !defined(__INTEL_LLVM_COMPILER)
#  define HE_LG_VECTOR 1
#else
#  define HE_LG_VECTOR 0
#endif

/* ---- typed access -------------------------------------------------------- */

HE_ALWAYS_INLINE double he_logit_at(int type, const void *x, ptrdiff_t i)
{
#define HE_CALL_T(T, tname) (double)((const T *)x)[i]
    HE_SWITCH_LOGIT_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

/* x + i elements of the type. */
HE_ALWAYS_INLINE const void *he_logit_ptr(int type, const void *x, ptrdiff_t i)
{
#define HE_CALL_T(T, tname) (const void *)((const T *)x + i)
    HE_SWITCH_LOGIT_TYPE_T(type)
#undef HE_CALL_T
    return x;
}

HE_ALWAYS_INLINE int he_logit_store(int type, void *x, ptrdiff_t i, double value)
{
#define HE_CALL_T(T, tname) (((T *)x)[i] = (T)value, 0)
    HE_SWITCH_LOGIT_TYPE_T(type)
#undef HE_CALL_T
    return 0;
}

/* ---- plain loops (vector bodies in logits_simd.h) ------------------------ */

/* Largest element of x[0..n), NaN ignored (-inf for n == 0). */
HE_ALWAYS_INLINE double he_lg_max_scalar(int type, const void *x, ptrdiff_t n)
{
    double m = -HUGE_VAL, v;
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        v = he_logit_at(type, x, i);
        m = v > m ? v : m;
    }
    return m;
}

HE_ALWAYS_INLINE double he_lg_exp_sum_scalar(int type, const void *x, ptrdiff_t n,
                                             double m, double *neg)
{
    double acc = 0.0, nacc = 0.0, nties = 0.0, v, e;
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        v = he_logit_at(type, x, i);
        e = exp(v - m);
        if (v == m) {
            nties += 1.0;
            continue;
        }
        acc += e;
        if (e > 0.0)
            nacc += e * (m - v);
    }
    if (neg != NULL)
        *neg = nacc;
    return acc + (nties - 1.0);
}

HE_ALWAYS_INLINE double he_lg_kl_sums_scalar(const double *a, const double *b, ptrdiff_t n,
                                             double ma, double mb, double *ra, double *rb,
                                             double *c)
{
    double sa = 0.0, sb = 0.0, sc = 0.0, unb = 0.0, na = 0.0, nb = 0.0;
    double da, db, ea, eb;
    ptrdiff_t i;
    for (i = 0; i < n; i++) {
        da = a[i] - ma;
        db = b[i] - mb;
        ea = exp(da);
        eb = exp(db);
        if (a[i] == ma) na += 1.0; else sa += ea;
        if (b[i] == mb) nb += 1.0; else sb += eb;
        if (b[i] > -HUGE_VAL) {
            if (ea > 0.0)
                sc += ea * (da - db);
        } else if (a[i] > -HUGE_VAL) {
            unb += 1.0;
        }
    }
    *ra = sa + (na - 1.0);
    *rb = sb + (nb - 1.0);
    *c = sc;
    return unb;
}

HE_ALWAYS_INLINE void he_lg_exp_scaled_scalar(const double *x, ptrdiff_t n, double m,
                                              double scale, double *out)
{
    ptrdiff_t i;
    for (i = 0; i < n; i++)
        out[i] = exp(x[i] - m) * scale;
}

/* ---- the vector bodies, once per CPU path -------------------------------- */

#if HE_LG_VECTOR
typedef double he_lg_v4d __attribute__((vector_size(32)));
typedef long long he_lg_v4l __attribute__((vector_size(32)));
typedef unsigned long long he_lg_v4u __attribute__((vector_size(32)));
typedef double he_lg_v8d __attribute__((vector_size(64)));
typedef long long he_lg_v8l __attribute__((vector_size(64)));
typedef unsigned long long he_lg_v8u __attribute__((vector_size(64)));
typedef float he_lg_vf8 __attribute__((vector_size(32)));
typedef int he_lg_vi8 __attribute__((vector_size(32)));
/* The vector helpers are always inlined: no vector crosses a call, so GCC's
 * note that such calls would change ABI does not apply.  GCC reports it at
 * the end of the translation unit, so it cannot be silenced for this header
 * alone (a push/pop around it does not reach the report). */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define HE_CPU_BODY "logits_simd.h"
#include "instantiate.h"

/* Largest element of x[0..n), NaN ignored (-inf for n == 0).  A NaN shows
 * later, in the exp sums, which propagate it. */
HE_ALWAYS_INLINE double he_lg_max(int path, int type, const void *x, ptrdiff_t n)
{
#define HE_CALL_T(T, tname) HE_CPU_CALL_PATH(path, he_lg_max_##tname, ((const T *)x, n))
    HE_SWITCH_LOGIT_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

/* r = sum exp(x_i - m) over all i but one with x_i == m; m is the largest
 * element (finite).  Ties add exactly 1 each; a NaN in x makes r NaN.  With
 * `neg` also neg = sum exp(x_i - m) (m - x_i) over the terms > 0. */
HE_ALWAYS_INLINE double he_lg_exp_sum(int path, int type, const void *x, ptrdiff_t n,
                                      double m, double *neg)
{
#define HE_CALL_T(T, tname) HE_CPU_CALL_PATH(path, he_lg_exp_sum_##tname, \
                                             ((const T *)x, n, m, neg))
    HE_SWITCH_LOGIT_TYPE_T(type)
#undef HE_CALL_T
    return NAN;
}

/* One block of two rows a, b with finite maxima ma, mb: ra, rb as in
 * he_lg_exp_sum and c = sum exp(a - ma) ((a - ma) - (b - mb)) over the terms
 * with exp(a - ma) > 0 and b > -inf; returns the number of elements with
 * a > -inf and b == -inf (p > 0 where q = 0). */
HE_ALWAYS_INLINE double he_lg_kl_sums(int path, const double *a, const double *b, ptrdiff_t n,
                                      double ma, double mb, double *ra, double *rb,
                                      double *c)
{
    return HE_CPU_CALL_PATH(path, he_lg_kl_sums, (a, b, n, ma, mb, ra, rb, c));
}

/* out[i] = exp(x[i] - m) * scale, for x[i] <= m. */
HE_ALWAYS_INLINE void he_lg_exp_scaled(int path, const double *x, ptrdiff_t n, double m,
                                       double scale, double *out)
{
    HE_CPU_CALL_PATH(path, he_lg_exp_scaled, (x, n, m, scale, out));
}

/* ---- log-sum-exp state --------------------------------------------------- */

/* Running state of a row: m the largest logit so far (-inf: none finite yet),
 * r = sum exp(l - m) - 1, neg = sum exp(l - m) (m - l). */
typedef struct {
    double m, r, neg;
} he_lse;

HE_ALWAYS_INLINE void he_lse_init(he_lse *acc)
{
    acc->m = -INFINITY;
    acc->r = 0.0;
    acc->neg = 0.0;
}

/* Merge a block with finite maximum m and sums r, neg relative to m.  The
 * side with the smaller maximum is rescaled by f = exp(-d), d the gap:
 * s -> f s, neg -> f (neg + d s).  A factor that underflows to 0 drops that
 * side (its share is below 2^-1074 of the other's), so d = inf never meets 0. */
HE_ALWAYS_INLINE void he_lse_merge(he_lse *acc, double m, double r, double neg)
{
    double d, f;
    if (acc->m == -INFINITY) {
        acc->m = m;
        acc->r = r;
        acc->neg = neg;
    } else if (m <= acc->m) {
        d = acc->m - m;
        f = exp(-d);
        if (f > 0.0) {
            acc->r += (1.0 + r) * f;
            acc->neg += f * (neg + d * (1.0 + r));
        }
    } else {
        d = m - acc->m;
        f = exp(-d);
        if (f > 0.0) {
            acc->neg = f * (acc->neg + d * (1.0 + acc->r)) + neg;
            acc->r = (1.0 + acc->r) * f + r;
        } else {
            acc->neg = neg;
            acc->r = r;
        }
        acc->m = m;
    }
}

/* log(1 + r) for finite r >= 0, to a few ulp: Goldberg's form
 * log(u) r / (u - 1), u = 1 + r, in which the rounding of u cancels: one libm
 * log, cheaper per call than log1p (short rows make one call each). */
HE_ALWAYS_INLINE double he_log1p_nonneg(double r)
{
    double u = 1.0 + r;
    if (u == 1.0)
        return r;
    return log(u) * (r / (u - 1.0));
}

/* H = log1p(r) + neg / (1 + r): two non-negative terms. */
HE_ALWAYS_INLINE double he_lse_entropy(const he_lse *acc)
{
    if (acc->m == -INFINITY)
        return NAN;  /* no finite logit: no distribution */
    return he_log1p_nonneg(acc->r) + acc->neg / (1.0 + acc->r);
}

/* ---- blocks ---------------------------------------------------------------- */

/* The block x[0], x[stride], ... as contiguous doubles, and its maximum.
 * Contiguous float64 is used in place; anything else is copied into `buf`
 * (HE_LOGITS_BLOCK doubles, exact widening).  NaN is ignored by the maximum
 * (the exp sums propagate it). */
HE_ALWAYS_INLINE const double *he_lg_load_block(int path, int type, const void *x, ptrdiff_t n,
                                                ptrdiff_t stride, double *buf,
                                                double *largest)
{
    ptrdiff_t i;
    double v, mx = -INFINITY;
    if (stride == 1) {
        *largest = he_lg_max(path, type, x, n);
        if (type == HE_LOGITS_F64)
            return (const double *)x;
        for (i = 0; i < n; i++)
            buf[i] = he_logit_at(type, x, i);
        return buf;
    }
    for (i = 0; i < n; i++) {
        v = he_logit_at(type, x, i * stride);
        buf[i] = v;
        if (v > mx)
            mx = v;
    }
    *largest = mx;
    return buf;
}

/* Flags for NaN and +inf in x (for blocks that have them). */
HE_ALWAYS_INLINE int he_lg_special_flags(const double *x, ptrdiff_t n, int nan_flag,
                                         int inf_flag)
{
    ptrdiff_t i;
    int flags = 0;
    for (i = 0; i < n; i++) {
        if (x[i] != x[i])
            flags |= nan_flag;
        else if (x[i] == INFINITY)
            flags |= inf_flag;
    }
    return flags;
}

/* Merge one loaded block into acc; returns the flags seen. */
HE_ALWAYS_INLINE int he_lg_lse_block(int path, const double *x, ptrdiff_t n, double largest,
                                     int need_neg, he_lse *acc, int nan_flag, int inf_flag)
{
    double r, neg = 0.0;
    if (!(-INFINITY < largest && largest < INFINITY))
        /* +inf, or nothing but -inf (and NaN): only flags to find. */
        return he_lg_special_flags(x, n, nan_flag, inf_flag);
    r = he_lg_exp_sum(path, HE_LOGITS_F64, x, n, largest, need_neg ? &neg : NULL);
    if (r != r)
        return he_lg_special_flags(x, n, nan_flag, inf_flag);
    he_lse_merge(acc, largest, r, neg);
    return 0;
}

/* One read of the row x[0], x[stride], ... x[(n-1) stride] into acc.  `buf`
 * holds HE_LOGITS_BLOCK doubles.  Returns the flags seen (HE_LOGITS_NAN,
 * HE_LOGITS_POSINF); after one the state is meaningless.  Contiguous blocks
 * are summed in place (float32 widened in registers); blocks with special
 * values, and strided ones, go through a buffer of doubles. */
HE_ALWAYS_INLINE int he_lg_lse_row(int path, int type, const void *x, ptrdiff_t n,
                                   ptrdiff_t stride, int need_neg, he_lse *acc, double *buf)
{
    ptrdiff_t start, size;
    double largest, r, neg = 0.0;
    const double *data;
    const void *block;
    int flags = 0;
    he_lse_init(acc);
    for (start = 0; start < n; start += size) {
        size = n - start > HE_LOGITS_BLOCK ? HE_LOGITS_BLOCK : n - start;
        block = he_logit_ptr(type, x, start * stride);
        if (stride == 1) {
            largest = he_lg_max(path, type, block, size);
            if (-INFINITY < largest && largest < INFINITY) {
                r = he_lg_exp_sum(path, type, block, size, largest, need_neg ? &neg : NULL);
                if (r == r) {
                    he_lse_merge(acc, largest, r, neg);
                    continue;
                }
            }
        }
        data = he_lg_load_block(path, type, block, size, stride, buf, &largest);
        flags |= he_lg_lse_block(path, data, size, largest, need_neg, acc, HE_LOGITS_NAN,
                                 HE_LOGITS_POSINF);
        if (flags)
            return flags;
    }
    return flags;
}

/* ---- entropy and KL divergence of softmax distributions ------------------- */

/* Entropy (nats) of softmax of one row; NaN for a row without a finite logit. */
HE_ALWAYS_INLINE int he_logits_entropy_row(int path, int type, const void *x, ptrdiff_t n,
                                           ptrdiff_t stride, double *entropy, double *buf)
{
    he_lse acc;
    int flags = he_lg_lse_row(path, type, x, n, stride, 1, &acc, buf);
    *entropy = flags ? NAN : he_lse_entropy(&acc);
    return flags;
}

typedef struct {
    he_lse a, b;
    double c;        /* sum exp(a - m_a) ((a - m_a) - (b - m_b)) */
    int unbounded;   /* some finite a meets b = -inf */
} he_lg_kl_state;

/* Merge a block whose maxima ma, mb are finite (c relative to them).  When
 * the maxima grow to (ma', mb') a sum c relative to (ma, mb) with
 * s_a = 1 + ra becomes exp(ma - ma') (c + ((mb' - mb) - (ma' - ma)) s_a). */
HE_ALWAYS_INLINE void he_lg_kl_merge(he_lg_kl_state *st, double ma, double ra, double mb,
                                     double rb, double c)
{
    double na = ma > st->a.m ? ma : st->a.m;
    double nb = mb > st->b.m ? mb : st->b.m;
    double total = 0.0, f;
    if (st->a.m > -INFINITY && st->b.m > -INFINITY) {
        f = exp(st->a.m - na);
        if (f > 0.0)
            total = f * (st->c + ((nb - st->b.m) - (na - st->a.m)) * (1.0 + st->a.r));
    }
    f = exp(ma - na);
    if (f > 0.0)
        total += f * (c + ((nb - mb) - (na - ma)) * (1.0 + ra));
    st->c = total;
    he_lse_merge(&st->a, ma, ra, 0.0);
    he_lse_merge(&st->b, mb, rb, 0.0);
}

/* KL(softmax(a) || softmax(b)) in nats of one pair of rows, one read each.
 * KL = c / s_a - log1p(r_a) + log1p(r_b), clamped at 0 (it is >= 0; the terms
 * of c have both signs, so its rounding can go below).  +inf where a finite a
 * meets b = -inf; NaN when either row has no finite logit.  `abuf`, `bbuf`
 * hold HE_LOGITS_BLOCK doubles each. */
HE_ALWAYS_INLINE int he_logits_kl_divergence_row(int path, int type, const void *a,
                                                 ptrdiff_t a_stride, const void *b,
                                                 ptrdiff_t b_stride, ptrdiff_t n, double *kl,
                                                 double *abuf, double *bbuf)
{
    he_lg_kl_state st;
    ptrdiff_t start, size;
    double ma, mb, ra, rb, c, d;
    const double *da, *db;
    int flags = 0;
    he_lse_init(&st.a);
    he_lse_init(&st.b);
    st.c = 0.0;
    st.unbounded = 0;
    for (start = 0; start < n; start += size) {
        size = n - start > HE_LOGITS_BLOCK ? HE_LOGITS_BLOCK : n - start;
        da = he_lg_load_block(path, type, he_logit_ptr(type, a, start * a_stride), size, a_stride,
                              abuf, &ma);
        db = he_lg_load_block(path, type, he_logit_ptr(type, b, start * b_stride), size, b_stride,
                              bbuf, &mb);
        if (!(-INFINITY < ma && ma < INFINITY && -INFINITY < mb && mb < INFINITY)) {
            /* Blocks with a row that is all -inf (or has +inf): no term of c. */
            flags |= he_lg_lse_block(path, da, size, ma, 0, &st.a, HE_LOGITS_NAN,
                                     HE_LOGITS_POSINF);
            flags |= he_lg_lse_block(path, db, size, mb, 0, &st.b, HE_LOGITS_OTHER_NAN,
                                     HE_LOGITS_OTHER_POSINF);
            if (mb == -INFINITY && -INFINITY < ma)
                st.unbounded = 1;
            if (flags)
                break;
            continue;
        }
        if (he_lg_kl_sums(path, da, db, size, ma, mb, &ra, &rb, &c) > 0.0)
            st.unbounded = 1;
        if (ra != ra || rb != rb) {
            flags |= he_lg_special_flags(da, size, HE_LOGITS_NAN, HE_LOGITS_POSINF);
            flags |= he_lg_special_flags(db, size, HE_LOGITS_OTHER_NAN,
                                         HE_LOGITS_OTHER_POSINF);
            break;
        }
        he_lg_kl_merge(&st, ma, ra, mb, rb, c);
    }
    if (flags || st.a.m == -INFINITY || st.b.m == -INFINITY) {
        *kl = NAN;
    } else if (st.unbounded) {
        *kl = INFINITY;
    } else {
        d = st.c / (1.0 + st.a.r) - he_log1p_nonneg(st.a.r) + he_log1p_nonneg(st.b.r);
        *kl = d > 0.0 ? d : 0.0;
    }
    return flags;
}

/* ---- cross entropy from logits --------------------------------------------- */
/*
 * The loss of one sample with class weights v (all 1 without weights) and
 * target t (smoothed: t = (1 - eps) t0 + eps / K) is
 *     loss = -sum_c v_c t_c log p_c,   -log p_c = (m - l_c) + log1p(r),
 * a sum of non-negative terms.  Its gradient with respect to l is
 *     g_c = p_c T - v_c t_c,   T = sum_c v_c t_c.
 */

/* Sums over the logits seen so far, relative to the running maximum:
 * u = sum v (m - l), v = sum v; with soft targets also
 * b = sum v w (m - l), vw = sum v w, w = sum w. */
typedef struct {
    double u, v, b, vw, w;
} he_lg_smooth_sums;

HE_ALWAYS_INLINE void he_lg_smooth_init(he_lg_smooth_sums *s)
{
    s->u = s->v = s->b = s->vw = s->w = 0.0;
}

/* The reference maximum grew by d > 0: every (m - l) grows by d. */
HE_ALWAYS_INLINE void he_lg_smooth_shift(he_lg_smooth_sums *s, double d)
{
    if (s->v > 0.0)
        s->u += d * s->v;
    if (s->vw > 0.0)
        s->b += d * s->vw;
}

HE_ALWAYS_INLINE void he_lg_smooth_add(he_lg_smooth_sums *s, const he_lg_smooth_sums *blk)
{
    s->u += blk->u;
    s->v += blk->v;
    s->b += blk->b;
    s->vw += blk->vw;
    s->w += blk->w;
}

/* Merge block sums relative to block_max into s relative to m (old max). */
HE_ALWAYS_INLINE void he_lg_smooth_merge(he_lg_smooth_sums *s, double m,
                                         he_lg_smooth_sums *blk, double block_max)
{
    if (block_max > m) {
        if (m > -INFINITY)
            he_lg_smooth_shift(s, block_max - m);
        else if (s->v > 0.0 || s->vw > 0.0)
            /* Earlier logits were all -inf: their (m - l) is +inf. */
            he_lg_smooth_shift(s, INFINITY);
    } else if (block_max < m) {
        he_lg_smooth_shift(blk, m - block_max);
    }
    he_lg_smooth_add(s, blk);
}

/* u = sum v (largest - x), v = sum v over one block (v NULL: all 1).  A -inf
 * logit with v > 0 makes u = +inf (smoothing puts mass on it). */
HE_ALWAYS_INLINE void he_lg_class_sums(const double *x, ptrdiff_t n, double largest,
                                       const double *v, he_lg_smooth_sums *blk)
{
    ptrdiff_t i;
    double u = 0.0, vs = 0.0, vi;
    if (v == NULL) {
        for (i = 0; i < n; i++)
            u += largest - x[i];
        vs = (double)n;
    } else {
        for (i = 0; i < n; i++) {
            vi = v[i];
            if (vi > 0.0) {
                u += vi * (largest - x[i]);
                vs += vi;
            }
        }
    }
    blk->u = u;
    blk->v = vs;
}

/* Cross entropy of one row with hard label `label` (in [0, n); else
 * HE_LOGITS_TARGET_RANGE and NaN):
 *     loss = v_y (1 - eps) ((m - l_y) + log1p(r)) + eps / n (v_total log1p(r) + u)
 * with u = sum_c v_c (m - l_c), v the class weights (NULL: all 1, v_total =
 * n).  Leaves the row's (m, r) in acc for the gradient.  A -inf logit at the
 * label (or, with eps > 0, anywhere) gives +inf. */
HE_ALWAYS_INLINE int he_logits_cross_entropy_hard_row(
        int path, int type, const void *x, ptrdiff_t n, ptrdiff_t stride, int64_t label,
        double eps,
        const double *v, double v_total, double *loss, he_lse *acc, double *buf)
{
    ptrdiff_t start = 0, size;
    double largest, lr, vy, xy, value;
    const double *data;
    he_lg_smooth_sums sums, blk;
    int flags = 0;
    he_lse_init(acc);
    he_lg_smooth_init(&sums);
    he_lg_smooth_init(&blk);
    if (!(0 <= label && label < (int64_t)n)) {
        *loss = NAN;
        return HE_LOGITS_TARGET_RANGE;
    }
    if (eps == 0.0) {
        flags = he_lg_lse_row(path, type, x, n, stride, 0, acc, buf);
        start = n;
        if (flags) {
            *loss = NAN;
            return flags;
        }
    }
    for (; start < n; start += size) {
        size = n - start > HE_LOGITS_BLOCK ? HE_LOGITS_BLOCK : n - start;
        data = he_lg_load_block(path, type, he_logit_ptr(type, x, start * stride), size, stride,
                                buf, &largest);
        if (-INFINITY < largest && largest < INFINITY) {
            he_lg_class_sums(data, size, largest, v != NULL ? v + start : NULL, &blk);
            he_lg_smooth_merge(&sums, acc->m, &blk, largest);
        } else if (largest == -INFINITY) {
            /* The whole block is -inf (or NaN): smoothing mass on -inf. */
            he_lg_class_sums(data, size, 0.0, v != NULL ? v + start : NULL, &blk);
            if (blk.v > 0.0) {
                sums.u = INFINITY;
                sums.v += blk.v;
            }
        }
        flags |= he_lg_lse_block(path, data, size, largest, 0, acc, HE_LOGITS_NAN,
                                 HE_LOGITS_POSINF);
        if (flags) {
            *loss = NAN;
            return flags;
        }
    }
    if (acc->m == -INFINITY) {
        *loss = NAN;  /* no finite logit: no distribution */
        return flags;
    }
    lr = he_log1p_nonneg(acc->r);
    xy = he_logit_at(type, x, (ptrdiff_t)label * stride);
    vy = v != NULL ? v[label] : 1.0;
    value = 0.0;
    if (eps < 1.0 && vy > 0.0)
        value = vy * (1.0 - eps) * ((acc->m - xy) + lr);
    if (eps > 0.0)
        value += eps / (double)n * (v_total * lr + sums.u);
    *loss = value;
    return flags;
}

/* Cross entropy of one row with soft target weights t (normalised by W):
 *     loss = log1p(r) ((1 - eps) VW / W + eps V / n) + (1 - eps) B / W + eps U / n
 * with B = sum v w (m - l), VW = sum v w, W = sum w, U = sum v (m - l).
 * Writes W and VW to weight_sums[0], weight_sums[1] (for the gradient; 0 after
 * an error flag).  NaN where W = 0. */
HE_ALWAYS_INLINE int he_logits_cross_entropy_soft_row(
        int path, int type, int target_type, const void *x, ptrdiff_t n, ptrdiff_t stride,
        const void *t, ptrdiff_t t_stride, double eps, const double *v, double v_total,
        double *loss, double *weight_sums, he_lse *acc, double *buf)
{
    ptrdiff_t start, size, i;
    double largest, lr, w, vi, d, value;
    const double *data;
    he_lg_smooth_sums sums, blk;
    int flags = 0;
    he_lse_init(acc);
    he_lg_smooth_init(&sums);
    weight_sums[0] = weight_sums[1] = 0.0;
    for (start = 0; start < n; start += size) {
        size = n - start > HE_LOGITS_BLOCK ? HE_LOGITS_BLOCK : n - start;
        data = he_lg_load_block(path, type, he_logit_ptr(type, x, start * stride), size, stride,
                                buf, &largest);
        he_lg_smooth_init(&blk);
        if (eps > 0.0) {
            he_lg_class_sums(data, size, largest > -INFINITY ? largest : 0.0,
                             v != NULL ? v + start : NULL, &blk);
            if (largest == -INFINITY && blk.v > 0.0)
                blk.u = INFINITY;
        }
        for (i = 0; i < size; i++) {
            w = he_logit_at(target_type, t, (start + i) * t_stride);
            if (!(0.0 <= w && w < INFINITY)) {
                if (w != w)
                    flags |= HE_LOGITS_TARGET_NAN;
                else if (w < 0.0)
                    flags |= HE_LOGITS_TARGET_NEGATIVE;
                else
                    flags |= HE_LOGITS_TARGET_INF;
                continue;
            }
            if (w > 0.0) {
                blk.w += w;
                vi = v != NULL ? w * v[start + i] : w;
                if (vi > 0.0) {
                    d = largest > -INFINITY ? largest - data[i] : INFINITY;
                    blk.b += vi * d;
                    blk.vw += vi;
                }
            }
        }
        if (-INFINITY < largest && largest < INFINITY)
            he_lg_smooth_merge(&sums, acc->m, &blk, largest);
        else
            he_lg_smooth_add(&sums, &blk);
        flags |= he_lg_lse_block(path, data, size, largest, 0, acc, HE_LOGITS_NAN,
                                 HE_LOGITS_POSINF);
        if (flags) {
            *loss = NAN;
            return flags;
        }
    }
    weight_sums[0] = sums.w;
    weight_sums[1] = sums.vw;
    if (acc->m == -INFINITY || sums.w == 0.0) {
        *loss = NAN;  /* no distribution in the logits or in the target */
        return flags;
    }
    lr = he_log1p_nonneg(acc->r);
    value = 0.0;
    if (eps < 1.0 && sums.vw > 0.0)
        value = (1.0 - eps) * (lr * sums.vw + sums.b) / sums.w;
    if (eps > 0.0)
        value += eps / (double)n * (v_total * lr + sums.u);
    *loss = value;
    return flags;
}

/* out = scale (p T - v t), the gradient of the loss of one row, in the logit
 * type, out[c * out_stride].  The second read of the row: p = softmax(x)
 * from the row's (m, r) in acc, T = `total`.  The target part v_c t_c is
 *     label_part [c == label]             (hard label; label < 0: none)
 *   + v_c target_scale t_c                (soft target; t NULL: none)
 *   + v_c smooth_part                     (label smoothing, eps / K),
 * with v = 1 when NULL.  Each element is formed in double, rounded once.
 * `buf` and `ebuf` hold HE_LOGITS_BLOCK doubles each. */
HE_ALWAYS_INLINE void he_logits_gradient_row(
        int path, int type, int target_type, const void *x, ptrdiff_t n, ptrdiff_t stride,
        const he_lse *acc, double total, int64_t label, double label_part, const void *t,
        ptrdiff_t t_stride, double target_scale, double smooth_part, const double *v,
        double scale, void *out, ptrdiff_t out_stride, double *buf, double *ebuf)
{
    ptrdiff_t start, size, i;
    double largest, vi, part;
    const double *data;
    double factor = total / (1.0 + acc->r);
    for (start = 0; start < n; start += size) {
        size = n - start > HE_LOGITS_BLOCK ? HE_LOGITS_BLOCK : n - start;
        data = he_lg_load_block(path, type, he_logit_ptr(type, x, start * stride), size, stride,
                                buf, &largest);
        he_lg_exp_scaled(path, data, size, acc->m, factor, ebuf);
        if (t != NULL || smooth_part != 0.0) {
            for (i = 0; i < size; i++) {
                vi = v != NULL ? v[start + i] : 1.0;
                part = smooth_part;
                if (t != NULL)
                    part += target_scale * he_logit_at(target_type, t, (start + i) * t_stride);
                ebuf[i] -= vi * part;
            }
        }
        if (start <= label && label < start + size)
            ebuf[label - start] -= label_part;
        for (i = 0; i < size; i++)
            he_logit_store(type, out, (start + i) * out_stride, scale * ebuf[i]);
    }
}

/* ---- batches of rows -------------------------------------------------------- */

/* Rows of logits: the view of config.h. */
typedef he_slices he_logits_rows;

/* Row r = i shape1 + j as (i, j), stepped without a division per row. */
typedef struct {
    ptrdiff_t i, j;
} he_logits_pos;

HE_ALWAYS_INLINE he_logits_pos he_logits_pos_of(const he_logits_rows *s, ptrdiff_t r)
{
    he_logits_pos p;
    p.i = r / s->shape1;
    p.j = r % s->shape1;
    return p;
}

HE_ALWAYS_INLINE void he_logits_pos_next(he_logits_pos *p, const he_logits_rows *s)
{
    if (++p->j == s->shape1) {
        p->j = 0;
        p->i++;
    }
}

HE_ALWAYS_INLINE const void *he_logits_row_at(const void *base, const he_logits_rows *s,
                                              he_logits_pos p)
{
    return (const char *)base + p.i * s->stride0 + p.j * s->stride1;
}

/* The options of a loss.  Class weights v (NULL: all 1) with v_total their
 * sum (n without weights); label smoothing eps in [0, 1]; with has_ignore,
 * rows whose label is ignore_index give 0 and a zero gradient; the gradient,
 * where asked for, is written times grad_scale. */
typedef struct {
    const double *weight;
    double weight_total;
    double smoothing;
    int has_ignore;
    int64_t ignore_index;
    double grad_scale;
} he_logits_loss;

/* Entropy of rows [first, last) of x into out[r]. */
HE_ALWAYS_INLINE int he_logits_entropy_rows(int type, const void *x, const he_logits_rows *xs,
                                            ptrdiff_t first, ptrdiff_t last, double *out)
{
    double buf[HE_LOGITS_BLOCK];
    ptrdiff_t r;
    he_logits_pos p;
    int flags = 0, path = he_cpu_path();
    if (first >= last)
        return 0;
    p = he_logits_pos_of(xs, first);
    for (r = first; r < last; r++, he_logits_pos_next(&p, xs))
        flags |= he_logits_entropy_row(path, type, he_logits_row_at(x, xs, p), xs->n, xs->stride,
                                       &out[r], buf);
    return flags;
}

/* KL of rows [first, last) of a against the same rows of b into out[r]. */
HE_ALWAYS_INLINE int he_logits_kl_divergence_rows(int type, const void *a,
                                                  const he_logits_rows *as, const void *b,
                                                  const he_logits_rows *bs, ptrdiff_t first,
                                                  ptrdiff_t last, double *out)
{
    double abuf[HE_LOGITS_BLOCK], bbuf[HE_LOGITS_BLOCK];
    ptrdiff_t r;
    he_logits_pos p;
    int flags = 0, path = he_cpu_path();
    if (first >= last)
        return 0;
    p = he_logits_pos_of(as, first);
    for (r = first; r < last; r++, he_logits_pos_next(&p, as))
        flags |= he_logits_kl_divergence_row(path, type, he_logits_row_at(a, as, p), as->stride,
                                             he_logits_row_at(b, bs, p), bs->stride, as->n,
                                             &out[r], abuf, bbuf);
    return flags;
}

/* Cross entropy of rows [first, last) of x against class indices labels[r]
 * into loss[r]; with grad (not NULL) also the gradient of each row into the
 * rows of grad (laid out by gs, of the logit type).  Any label is safe: one
 * outside [0, n) that is not ignore_index indexes nothing; its row gets NaN
 * (loss and gradient) and the flag HE_LOGITS_TARGET_RANGE. */
HE_ALWAYS_INLINE int he_logits_cross_entropy_hard_rows(
        int type, const void *x, const he_logits_rows *xs, const int64_t *labels,
        const he_logits_loss *opt, ptrdiff_t first, ptrdiff_t last, double *loss,
        void *grad, const he_logits_rows *gs)
{
    double buf[HE_LOGITS_BLOCK], ebuf[HE_LOGITS_BLOCK];
    const double *v = opt->weight;
    double eps = opt->smoothing, vy;
    double smooth = xs->n ? eps / (double)xs->n : 0.0;
    ptrdiff_t r, c, n = xs->n;
    int64_t label;
    const void *row;
    void *grow = NULL;
    he_lse acc;
    he_logits_pos p;
    int flags = 0, row_flags, path = he_cpu_path();
    if (first >= last)
        return 0;
    p = he_logits_pos_of(xs, first);
    for (r = first; r < last; r++, he_logits_pos_next(&p, xs)) {
        label = labels[r];
        row = he_logits_row_at(x, xs, p);
        if (grad != NULL)
            grow = (void *)he_logits_row_at(grad, gs, p);
        if (opt->has_ignore && label == opt->ignore_index) {
            loss[r] = 0.0;
            for (c = 0; grad != NULL && c < n; c++)
                he_logit_store(type, grow, c * gs->stride, 0.0);
            continue;
        }
        row_flags = he_logits_cross_entropy_hard_row(path, type, row, n, xs->stride, label,
                                                     eps, v, opt->weight_total, &loss[r],
                                                     &acc, buf);
        flags |= row_flags;
        if (grad != NULL && (row_flags & HE_LOGITS_TARGET_RANGE)) {
            /* No class to read (v[label] would be out of bounds): NaN, as
             * the loss. */
            for (c = 0; c < n; c++)
                he_logit_store(type, grow, c * gs->stride, NAN);
        } else if (grad != NULL) {
            vy = v != NULL ? v[label] : 1.0;
            he_logits_gradient_row(path, type, HE_LOGITS_F64, row, n, xs->stride, &acc,
                                   (1.0 - eps) * vy + smooth * opt->weight_total, label,
                                   (1.0 - eps) * vy, NULL, 0, 0.0, smooth, v,
                                   opt->grad_scale, grow, gs->stride, buf, ebuf);
        }
    }
    return flags;
}

/* Cross entropy of rows [first, last) of x against soft target weights (the
 * same rows of t, of type target_type, laid out by ts) into loss[r]; with
 * grad (not NULL) also the gradient, as he_logits_cross_entropy_hard_rows.
 * opt->has_ignore does not apply. */
HE_ALWAYS_INLINE int he_logits_cross_entropy_soft_rows(
        int type, int target_type, const void *x, const he_logits_rows *xs, const void *t,
        const he_logits_rows *ts, const he_logits_loss *opt, ptrdiff_t first, ptrdiff_t last,
        double *loss, void *grad, const he_logits_rows *gs)
{
    double buf[HE_LOGITS_BLOCK], ebuf[HE_LOGITS_BLOCK], sums[2];
    double eps = opt->smoothing, total;
    double smooth = xs->n ? eps / (double)xs->n : 0.0;
    ptrdiff_t r, n = xs->n;
    const void *row, *trow;
    he_lse acc;
    he_logits_pos p;
    int flags = 0, path = he_cpu_path();
    if (first >= last)
        return 0;
    p = he_logits_pos_of(xs, first);
    for (r = first; r < last; r++, he_logits_pos_next(&p, xs)) {
        row = he_logits_row_at(x, xs, p);
        trow = he_logits_row_at(t, ts, p);
        flags |= he_logits_cross_entropy_soft_row(path, type, target_type, row, n, xs->stride,
                                                  trow, ts->stride, eps, opt->weight,
                                                  opt->weight_total, &loss[r], sums, &acc,
                                                  buf);
        if (grad != NULL) {
            total = smooth * opt->weight_total;
            if (sums[0] > 0.0)
                total += (1.0 - eps) * sums[1] / sums[0];
            he_logits_gradient_row(path, type, target_type, row, n, xs->stride, &acc, total, -1,
                                   0.0, trow, ts->stride, (1.0 - eps) / sums[0], smooth,
                                   opt->weight, opt->grad_scale,
                                   (void *)he_logits_row_at(grad, gs, p), gs->stride, buf,
                                   ebuf);
        }
    }
    return flags;
}

/* ---- entry points ------------------------------------------------------------ */

/* Per logit type (suffix f64, f32): one row, results NaN with any flag.
 *   he_logits_entropy_row_<t>(x, n, stride, &entropy)
 *       entropy of softmax(x) in nats; flags HE_LOGITS_NAN, HE_LOGITS_POSINF.
 *   he_logits_cross_entropy_row_<t>(x, n, stride, target, &loss)
 *       -log softmax(x)[target] in nats (+inf where x[target] = -inf); flags
 *       HE_LOGITS_NAN, HE_LOGITS_POSINF, HE_LOGITS_TARGET_RANGE.
 *   he_logits_kl_divergence_row_<t>(a, a_stride, b, b_stride, n, &kl)
 *       KL(softmax(a) || softmax(b)) in nats (+inf where a finite a meets
 *       b = -inf); flags HE_LOGITS_NAN, HE_LOGITS_POSINF for a,
 *       HE_LOGITS_OTHER_NAN, HE_LOGITS_OTHER_POSINF for b.
 * Strides are in elements, any sign.  A row without a finite logit (n == 0
 * included) gives NaN with flags 0. */
#define HE_LG_ROW_ENTRY(T, tname, code)                                               \
    HE_UNUSED static int he_logits_entropy_row_##tname(const T *x, ptrdiff_t n,        \
                                                        ptrdiff_t stride,              \
                                                        double *entropy)               \
    {                                                                                 \
        double buf[HE_LOGITS_BLOCK];                                                  \
        return he_logits_entropy_row(he_cpu_path(), code, x, n, stride, entropy, buf); \
    }                                                                                 \
    HE_UNUSED static int he_logits_cross_entropy_row_##tname(const T *x, ptrdiff_t n,  \
                                                              ptrdiff_t stride,        \
                                                              int64_t target,          \
                                                              double *loss)            \
    {                                                                                 \
        double buf[HE_LOGITS_BLOCK];                                                  \
        he_lse acc;                                                                   \
        return he_logits_cross_entropy_hard_row(he_cpu_path(), code, x, n, stride,    \
                                                target, 0.0, NULL, (double)n, loss,   \
                                                &acc, buf);                           \
    }                                                                                 \
    HE_UNUSED static int he_logits_kl_divergence_row_##tname(                          \
            const T *a, ptrdiff_t a_stride, const T *b, ptrdiff_t b_stride,           \
            ptrdiff_t n, double *kl)                                                  \
    {                                                                                 \
        double abuf[HE_LOGITS_BLOCK], bbuf[HE_LOGITS_BLOCK];                          \
        return he_logits_kl_divergence_row(he_cpu_path(), code, a, a_stride, b,       \
                                           b_stride, n, kl, abuf, bbuf);              \
    }
HE_FOR_EACH_LOGIT_TYPE(HE_LG_ROW_ENTRY)
#undef HE_LG_ROW_ENTRY

/* The batch kernels for run-time type codes (HE_LOGITS_F64, HE_LOGITS_F32):
 * the only switch over types.  An unknown code returns -1. */
HE_UNUSED static int he_logits_entropy_rows_t(int type, const void *x,
                                              const he_logits_rows *xs, ptrdiff_t first,
                                              ptrdiff_t last, double *out)
{
#define HE_CALL(code) he_logits_entropy_rows(code, x, xs, first, last, out)
    HE_SWITCH_LOGIT_TYPE(type)
#undef HE_CALL
    return -1;
}

HE_UNUSED static int he_logits_kl_divergence_rows_t(int type, const void *a,
                                                    const he_logits_rows *as, const void *b,
                                                    const he_logits_rows *bs, ptrdiff_t first,
                                                    ptrdiff_t last, double *out)
{
#define HE_CALL(code) he_logits_kl_divergence_rows(code, a, as, b, bs, first, last, out)
    HE_SWITCH_LOGIT_TYPE(type)
#undef HE_CALL
    return -1;
}

HE_UNUSED static int he_logits_cross_entropy_hard_rows_t(
        int type, const void *x, const he_logits_rows *xs, const int64_t *labels,
        const he_logits_loss *opt, ptrdiff_t first, ptrdiff_t last, double *loss, void *grad,
        const he_logits_rows *gs)
{
#define HE_CALL(code) he_logits_cross_entropy_hard_rows(code, x, xs, labels, opt, first, \
                                                        last, loss, grad, gs)
    HE_SWITCH_LOGIT_TYPE(type)
#undef HE_CALL
    return -1;
}

/* The soft-target kernel for a logit type `type` (a constant) and a run-time
 * target type code. */
HE_ALWAYS_INLINE int he_logits_cross_entropy_soft_rows_tt(
        int type, int target_type, const void *x, const he_logits_rows *xs, const void *t,
        const he_logits_rows *ts, const he_logits_loss *opt, ptrdiff_t first, ptrdiff_t last,
        double *loss, void *grad, const he_logits_rows *gs)
{
#define HE_CALL(code) he_logits_cross_entropy_soft_rows(type, code, x, xs, t, ts, opt, \
                                                        first, last, loss, grad, gs)
    HE_SWITCH_LOGIT_TYPE(target_type)
#undef HE_CALL
    return -1;
}

HE_UNUSED static int he_logits_cross_entropy_soft_rows_t(
        int type, int target_type, const void *x, const he_logits_rows *xs, const void *t,
        const he_logits_rows *ts, const he_logits_loss *opt, ptrdiff_t first, ptrdiff_t last,
        double *loss, void *grad, const he_logits_rows *gs)
{
#define HE_CALL(code) he_logits_cross_entropy_soft_rows_tt(code, target_type, x, xs, t, ts, \
                                                           opt, first, last, loss, grad, gs)
    HE_SWITCH_LOGIT_TYPE(type)
#undef HE_CALL
    return -1;
}

#endif /* HISTENTROPY_LOGITS_H */
