# Layer 1: kernels for distributions given by logits, softmax(l).
#
# Design
# ------
# Same rules as _kernels.pxd: everything is `noexcept nogil`, kernels never
# validate, raise or allocate; they report what they saw (NaN, +inf logits,
# bad target weights) as bit flags, and the Python layer raises.
#
# Numerical scheme: online log-sum-exp with a running maximum
# -----------------------------------------------------------
# A row of logits l_1..l_K is read once, in blocks of BLOCK elements that stay
# in L1 cache. For each block we take its maximum M and the sums, relative to
# M, of
#     r = sum exp(l_i - M) over all i but one attaining M   (so s = 1 + r),
#     neg = sum exp(l_i - M) (M - l_i)                       (entropy),
# and merge them into the running state (m, r, neg) of the row. When the
# maximum grows by d > 0 the old sums are rescaled exactly as the formulas
# say: s -> s e^-d, neg -> e^-d (neg + d s). Every l - m is <= 0, so nothing
# overflows, also for logits of 1e300; -inf logits give exp(-inf) = 0 and are
# masked out of every product, so -inf never meets 0 * inf.
# Keeping r = s - 1 rather than s is what makes the results accurate: the
# largest term is exactly 1 and
#     log softmax(l)_y = (l_y - m) - log1p(r),
#     H = log1p(r) + neg / (1 + r),
# are sums of non-negative terms (no cancellation): a near-deterministic row
# (r = 1e-30) keeps all its digits, where log(s) would round to 0. Ties with
# the maximum add exactly 1 each and are counted, not summed.
# Cross entropy with soft targets t = w / W adds B = sum w (m - l) (again
# non-negative terms, rescaled by B += d W when m grows); label smoothing adds
# U = sum (m - l). KL(softmax(a) || softmax(b)) = C / s_a - log1p(r_a)
# + log1p(r_b) with C = sum exp(a - m_a) ((a - m_a) - (b - m_b)).
# References: the max-subtraction of scipy.special.logsumexp (which also uses
# log1p for the dominant term); the online softmax of Milakov & Gimelshein
# (2018), "Online normalizer calculation for softmax", here merged per block.
#
# The block sums are computed by small C loops over contiguous doubles (a
# strided block is first gathered into an L1 buffer; contiguous float32 is
# widened in registers), written with GCC vector extensions and an exp() for
# arguments <= 0 that vectorises: d = (N k + j) ln2 / N + f, |f| <= ln2/(2N),
# e^d = 2^k 2^(j/N) (1 + q(f)) with a table of N = 8 (AVX-512) or 4 entries
# and a near-minimax q of degree 7 or 8 (mpmath chebyfit, < 6e-18 relative),
# Cody-Waite reduction with fdlibm's ln2 split; within 1 ulp of libm's exp.
# Results below 2^-1022 (d < -708) are flushed to 0, which relative to the
# largest term, 1, is below half an ulp of any sum. The loops are compiled
# for the paths of _simd_dispatch.h (avx512: 8 lanes, avx2: 4 lanes, sse42
# and generic) and the best one is chosen at run time (HISTENTROPY_CPU caps
# it), so no -march flag is needed; other compilers get plain loops over
# libm's exp.

from libc.math cimport exp, log, INFINITY, NAN

cdef extern from *:
    """
    #include <math.h>
    #include <string.h>
    #include <stddef.h>
    #include "_simd_dispatch.h"

    #if defined(__GNUC__)
    /* The vector helpers are always inlined: no vector crosses a call, so
       GCC's note that such calls would change ABI under AVX does not apply. */
    #pragma GCC diagnostic ignored "-Wpsabi"
    #define HE_LG_VECTOR 1
    #define HE_LG_AI static inline __attribute__((always_inline))
    /* Bodies for two vector widths: 4 doubles (AVX2, and SSE/NEON in halves)
       and 8 doubles (AVX-512). The same source, the width substituted. */
    typedef double he_lg_v4d __attribute__((vector_size(32)));
    typedef long long he_lg_v4l __attribute__((vector_size(32)));
    typedef double he_lg_v8d __attribute__((vector_size(64)));
    typedef long long he_lg_v8l __attribute__((vector_size(64)));
    typedef float he_lg_vf8 __attribute__((vector_size(32)));
    typedef int he_lg_vi8 __attribute__((vector_size(32)));
    #define HE_LG_W4 4
    #define HE_LG_W8 8
    HE_LG_AI he_lg_v4d he_lg_splat_4(double x)
    {
        he_lg_v4d v = {0};
        return v + x;
    }

    HE_LG_AI he_lg_v4d he_lg_select_4(he_lg_v4l mask, he_lg_v4d a)
    {
        return (he_lg_v4d)((he_lg_v4l)a & mask);
    }

    HE_LG_AI double he_lg_hsum_4(he_lg_v4d v)
    {
        return (v[0] + v[2]) + (v[1] + v[3]);
    }

    HE_LG_AI he_lg_v4d he_lg_max2_4(he_lg_v4d a, he_lg_v4d b)
    {
        he_lg_v4l gt = b > a;  /* NaN in b: keeps a */
        return (he_lg_v4d)(((he_lg_v4l)b & gt) | ((he_lg_v4l)a & ~gt));
    }

    /* Four elements at x + i (float32 widened exactly when f32). */
    HE_LG_AI he_lg_v4d he_lg_loadv_4(const void *x, ptrdiff_t i, int f32)
    {
        he_lg_v4d v;
        if (f32) {
            const float *f = (const float *)x + i;
            he_lg_v4d w = {f[0], f[1], f[2], f[3]};
            v = w;
        } else {
            memcpy(&v, (const double *)x + i, sizeof v);
        }
        return v;
    }

    /* The first n < 4 elements, the other lanes `fill`. */
    HE_LG_AI he_lg_v4d he_lg_loadv_short_4(const void *x, ptrdiff_t n, double fill,
                                        int f32)
    {
        he_lg_v4d v = he_lg_splat_4(fill);
        ptrdiff_t j;
        for (j = 0; j < n; j++)
            v[j] = f32 ? (double)((const float *)x)[j] : ((const double *)x)[j];
        return v;
    }

    /* Lanes j >= 4 - rem: the last `rem` elements of a vector loaded at
       x + n - 4 (overlapping the previous one), for 0 < rem <= 4. */
    HE_LG_AI he_lg_v4l he_lg_tail_mask_4(ptrdiff_t rem)
    {
        const he_lg_v4l iota = {0, 1, 2, 3};
        he_lg_v4l first = {0};
        first += HE_LG_W4 - (long long)rem;
        return iota >= first;
    }

    /* The last vector of a row of n elements whose first i are done: either
       the 4 elements ending at n with the lanes already seen masked off, or
       (n < 4) the padded row. */
    HE_LG_AI he_lg_v4d he_lg_tail_4(const void *x, ptrdiff_t n, ptrdiff_t i,
                                 int f32, he_lg_v4l *valid)
    {
        if (n >= HE_LG_W4) {
            *valid = he_lg_tail_mask_4(n - i);
            return he_lg_loadv_4(x, n - HE_LG_W4, f32);
        }
        *valid = he_lg_tail_mask_4(HE_LG_W4);
        return he_lg_loadv_short_4(x, n, -HUGE_VAL, f32);
    }

    /* exp(d) for d <= 0 (any lanes: -inf and d < -708 give 0, NaN stays NaN).
       d = (4k + j) ln2/4 + f with |f| <= ln2/8 (Cody-Waite, fdlibm's ln2
       split), e^d = 2^k 2^(j/4) (1 + q(f)), q a near-minimax polynomial of
       degree 8 (mpmath chebyfit; 5.4e-18 relative with the coefficients
       rounded to double), the result formed as T + T q with T = 2^k 2^(j/4)
       (exponent bits added to the table entry). Within 1 ulp of exp. */
    HE_LG_AI he_lg_v4d he_lg_exp_le0_4(he_lg_v4d d)
    {
        const he_lg_v4d shifter = he_lg_splat_4(0x1.8p52);
        const he_lg_v4d table = {1.0, 1.189207115002721, 1.4142135623730951,
                                1.681792830507429};
        he_lg_v4d t = d * he_lg_splat_4(5.7707801635558535) + shifter;
        he_lg_v4d k = t - shifter;
        he_lg_v4d f = d - k * he_lg_splat_4(0.17328679509228095);
        he_lg_v4d f2, p0, p1, p2, p3, q;
        he_lg_v4l bits = (he_lg_v4l)t, tk;
        f = f - k * he_lg_splat_4(4.770537323176469e-11);
        f2 = f * f;
        p0 = he_lg_splat_4(0.9999999999999997) + f * he_lg_splat_4(0.49999999999999994);
        p1 = he_lg_splat_4(0.16666666666721358) + f * he_lg_splat_4(0.04166666666672136);
        p2 = he_lg_splat_4(0.008333333071119971) + f * he_lg_splat_4(0.001388888862668141);
        p3 = he_lg_splat_4(0.00019845925935442341) + f * he_lg_splat_4(2.4806243316303618e-05);
        p0 = p0 + f2 * p1;
        p2 = p2 + f2 * p3;
        q = f * (p0 + (f2 * f2) * p2);
        tk = (he_lg_v4l)__builtin_shuffle(table, bits & 3) + ((bits >> 2) << 52);
        q = (he_lg_v4d)tk * q + (he_lg_v4d)tk;
        /* ~(d < -708): keeps NaN lanes (their compare is false). */
        return he_lg_select_4(~(d < he_lg_splat_4(-708.0)), q);
    }
    HE_LG_AI double he_lg_max_body_4(const void *x, ptrdiff_t n, int f32)
    {
        he_lg_v4d mx = he_lg_splat_4(-HUGE_VAL), mx1 = mx;
        he_lg_v4l valid;
        ptrdiff_t i = 0;
        double m;
        int j;
        for (; i + 2 * HE_LG_W4 <= n; i += 2 * HE_LG_W4) {
            mx = he_lg_max2_4(mx, he_lg_loadv_4(x, i, f32));
            mx1 = he_lg_max2_4(mx1, he_lg_loadv_4(x, i + HE_LG_W4, f32));
        }
        for (; i + HE_LG_W4 <= n; i += HE_LG_W4)
            mx = he_lg_max2_4(mx, he_lg_loadv_4(x, i, f32));
        if (i < n)  /* max does not mind seeing elements twice */
            mx1 = he_lg_max2_4(mx1, he_lg_tail_4(x, n, i, f32, &valid));
        mx = he_lg_max2_4(mx, mx1);
        m = mx[0];
        for (j = 1; j < HE_LG_W4; j++)
            m = mx[j] > m ? mx[j] : m;
        return m;
    }

    HE_LG_AI double he_lg_exp_sum_body_4(const void *x, ptrdiff_t n, double m,
                                       double *neg, int f32)
    {
        /* Two vectors per iteration, with independent accumulators. A lane
           equal to m adds 0 to acc and 1 to ties: r leaves one of them out. */
        he_lg_v4d acc0 = he_lg_splat_4(0.0), acc1 = acc0, nacc0 = acc0, nacc1 = acc0;
        he_lg_v4d ties0 = acc0, ties1 = acc0, zero = acc0;
        he_lg_v4d mv = he_lg_splat_4(m), one = he_lg_splat_4(1.0);
        he_lg_v4l valid;
        ptrdiff_t i = 0;
        for (; i + 2 * HE_LG_W4 <= n; i += 2 * HE_LG_W4) {
            he_lg_v4d v0 = he_lg_loadv_4(x, i, f32), v1 = he_lg_loadv_4(x, i + HE_LG_W4, f32);
            he_lg_v4d e0 = he_lg_exp_le0_4(v0 - mv), e1 = he_lg_exp_le0_4(v1 - mv);
            he_lg_v4l q0 = v0 == mv, q1 = v1 == mv;
            acc0 += e0 - he_lg_select_4(q0, e0);
            acc1 += e1 - he_lg_select_4(q1, e1);
            ties0 += he_lg_select_4(q0, one);
            ties1 += he_lg_select_4(q1, one);
            if (neg != NULL) {
                nacc0 += he_lg_select_4(e0 > zero, e0 * (mv - v0));
                nacc1 += he_lg_select_4(e1 > zero, e1 * (mv - v1));
            }
        }
        for (; i < n; i += HE_LG_W4) {
            he_lg_v4d v, e;
            he_lg_v4l q;
            if (i + HE_LG_W4 <= n) {
                v = he_lg_loadv_4(x, i, f32);
                valid = ~(he_lg_v4l){0};
            } else {
                v = he_lg_tail_4(x, n, i, f32, &valid);
            }
            /* Masks are applied one at a time: GCC 12 scalarises `m1 & m2`
               of two AVX-512 compares. */
            e = he_lg_select_4(valid, he_lg_exp_le0_4(v - mv));
            q = v == mv;
            acc0 += e - he_lg_select_4(q, e);
            ties0 += he_lg_select_4(valid, he_lg_select_4(q, one));
            if (neg != NULL)
                nacc0 += he_lg_select_4(e > zero, e * (mv - v));
        }
        if (neg != NULL)
            *neg = he_lg_hsum_4(nacc0 + nacc1);
        return he_lg_hsum_4(acc0 + acc1) + (he_lg_hsum_4(ties0 + ties1) - 1.0);
    }
    HE_LG_AI he_lg_v8d he_lg_splat_8(double x)
    {
        he_lg_v8d v = {0};
        return v + x;
    }

    HE_LG_AI he_lg_v8d he_lg_select_8(he_lg_v8l mask, he_lg_v8d a)
    {
        return (he_lg_v8d)((he_lg_v8l)a & mask);
    }

    HE_LG_AI double he_lg_hsum_8(he_lg_v8d v)
    {
        return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
    }

    HE_LG_AI he_lg_v8d he_lg_max2_8(he_lg_v8d a, he_lg_v8d b)
    {
        he_lg_v8l gt = b > a;  /* NaN in b: keeps a */
        return (he_lg_v8d)(((he_lg_v8l)b & gt) | ((he_lg_v8l)a & ~gt));
    }

    /* Four elements at x + i (float32 widened exactly when f32). */
    HE_LG_AI he_lg_v8d he_lg_loadv_8(const void *x, ptrdiff_t i, int f32)
    {
        he_lg_v8d v;
        if (f32) {
            const float *f = (const float *)x + i;
            he_lg_v8d w = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
            v = w;
        } else {
            memcpy(&v, (const double *)x + i, sizeof v);
        }
        return v;
    }

    /* The first n < 4 elements, the other lanes `fill`. */
    HE_LG_AI he_lg_v8d he_lg_loadv_short_8(const void *x, ptrdiff_t n, double fill,
                                        int f32)
    {
        he_lg_v8d v = he_lg_splat_8(fill);
        ptrdiff_t j;
        for (j = 0; j < n; j++)
            v[j] = f32 ? (double)((const float *)x)[j] : ((const double *)x)[j];
        return v;
    }

    /* Lanes j >= 4 - rem: the last `rem` elements of a vector loaded at
       x + n - 4 (overlapping the previous one), for 0 < rem <= 4. */
    HE_LG_AI he_lg_v8l he_lg_tail_mask_8(ptrdiff_t rem)
    {
        const he_lg_v8l iota = {0, 1, 2, 3, 4, 5, 6, 7};
        he_lg_v8l first = {0};
        first += HE_LG_W8 - (long long)rem;
        return iota >= first;
    }

    /* The last vector of a row of n elements whose first i are done: either
       the 4 elements ending at n with the lanes already seen masked off, or
       (n < 4) the padded row. */
    HE_LG_AI he_lg_v8d he_lg_tail_8(const void *x, ptrdiff_t n, ptrdiff_t i,
                                 int f32, he_lg_v8l *valid)
    {
        if (n >= HE_LG_W8) {
            *valid = he_lg_tail_mask_8(n - i);
            return he_lg_loadv_8(x, n - HE_LG_W8, f32);
        }
        *valid = he_lg_tail_mask_8(HE_LG_W8);
        return he_lg_loadv_short_8(x, n, -HUGE_VAL, f32);
    }

    /* exp(d) for d <= 0, as he_lg_exp_le0_4 but with an 8-entry table
       (j in [0, 8), |f| <= ln2/16) and degree 7 (4.9e-18 relative). */
    HE_LG_AI he_lg_v8d he_lg_exp_le0_8(he_lg_v8d d)
    {
        const he_lg_v8d shifter = he_lg_splat_8(0x1.8p52);
        const he_lg_v8d table = {1.0, 1.0905077326652577, 1.189207115002721,
                                1.2968395546510096, 1.4142135623730951,
                                1.5422108254079407, 1.681792830507429,
                                1.8340080864093424};
        he_lg_v8d t = d * he_lg_splat_8(11.541560327111707) + shifter;
        he_lg_v8d k = t - shifter;
        he_lg_v8d f = d - k * he_lg_splat_8(0.08664339754614048);
        he_lg_v8d f2, p0, p1, p2, p3, q;
        he_lg_v8l bits = (he_lg_v8l)t, tk;
        f = f - k * he_lg_splat_8(2.3852686615882346e-11);
        f2 = f * f;
        p1 = he_lg_splat_8(0.500000000000041) + f * he_lg_splat_8(0.16666666666667124);
        p2 = he_lg_splat_8(0.041666666557421704) + f * he_lg_splat_8(0.008333333321195088);
        p3 = he_lg_splat_8(0.0013889820039083881) + f * he_lg_splat_8(0.00019842304447202847);
        p0 = f + f2 * p1;
        p2 = p2 + f2 * p3;
        q = p0 + (f2 * f2) * p2;
        tk = (he_lg_v8l)__builtin_shuffle(table, bits & 7) + ((bits >> 3) << 52);
        q = (he_lg_v8d)tk * q + (he_lg_v8d)tk;
        return he_lg_select_8(~(d < he_lg_splat_8(-708.0)), q);
    }
    HE_LG_AI double he_lg_max_body_8(const void *x, ptrdiff_t n, int f32)
    {
        he_lg_v8d mx = he_lg_splat_8(-HUGE_VAL), mx1 = mx;
        he_lg_v8l valid;
        ptrdiff_t i = 0;
        double m;
        int j;
        for (; i + 2 * HE_LG_W8 <= n; i += 2 * HE_LG_W8) {
            mx = he_lg_max2_8(mx, he_lg_loadv_8(x, i, f32));
            mx1 = he_lg_max2_8(mx1, he_lg_loadv_8(x, i + HE_LG_W8, f32));
        }
        for (; i + HE_LG_W8 <= n; i += HE_LG_W8)
            mx = he_lg_max2_8(mx, he_lg_loadv_8(x, i, f32));
        if (i < n)  /* max does not mind seeing elements twice */
            mx1 = he_lg_max2_8(mx1, he_lg_tail_8(x, n, i, f32, &valid));
        mx = he_lg_max2_8(mx, mx1);
        m = mx[0];
        for (j = 1; j < HE_LG_W8; j++)
            m = mx[j] > m ? mx[j] : m;
        return m;
    }

    HE_LG_AI double he_lg_exp_sum_body_8(const void *x, ptrdiff_t n, double m,
                                       double *neg, int f32)
    {
        /* Two vectors per iteration, with independent accumulators. A lane
           equal to m adds 0 to acc and 1 to ties: r leaves one of them out. */
        he_lg_v8d acc0 = he_lg_splat_8(0.0), acc1 = acc0, nacc0 = acc0, nacc1 = acc0;
        he_lg_v8d ties0 = acc0, ties1 = acc0, zero = acc0;
        he_lg_v8d mv = he_lg_splat_8(m), one = he_lg_splat_8(1.0);
        he_lg_v8l valid;
        ptrdiff_t i = 0;
        for (; i + 2 * HE_LG_W8 <= n; i += 2 * HE_LG_W8) {
            he_lg_v8d v0 = he_lg_loadv_8(x, i, f32), v1 = he_lg_loadv_8(x, i + HE_LG_W8, f32);
            he_lg_v8d e0 = he_lg_exp_le0_8(v0 - mv), e1 = he_lg_exp_le0_8(v1 - mv);
            he_lg_v8l q0 = v0 == mv, q1 = v1 == mv;
            acc0 += e0 - he_lg_select_8(q0, e0);
            acc1 += e1 - he_lg_select_8(q1, e1);
            ties0 += he_lg_select_8(q0, one);
            ties1 += he_lg_select_8(q1, one);
            if (neg != NULL) {
                nacc0 += he_lg_select_8(e0 > zero, e0 * (mv - v0));
                nacc1 += he_lg_select_8(e1 > zero, e1 * (mv - v1));
            }
        }
        for (; i < n; i += HE_LG_W8) {
            he_lg_v8d v, e;
            he_lg_v8l q;
            if (i + HE_LG_W8 <= n) {
                v = he_lg_loadv_8(x, i, f32);
                valid = ~(he_lg_v8l){0};
            } else {
                v = he_lg_tail_8(x, n, i, f32, &valid);
            }
            /* Masks are applied one at a time: GCC 12 scalarises `m1 & m2`
               of two AVX-512 compares. */
            e = he_lg_select_8(valid, he_lg_exp_le0_8(v - mv));
            q = v == mv;
            acc0 += e - he_lg_select_8(q, e);
            ties0 += he_lg_select_8(valid, he_lg_select_8(q, one));
            if (neg != NULL)
                nacc0 += he_lg_select_8(e > zero, e * (mv - v));
        }
        if (neg != NULL)
            *neg = he_lg_hsum_8(nacc0 + nacc1);
        return he_lg_hsum_8(acc0 + acc1) + (he_lg_hsum_8(ties0 + ties1) - 1.0);
    }
    HE_LG_AI double he_lg_kl_sums_body_4(const double *a, const double *b, ptrdiff_t n,
                                       double ma, double mb, double *ra, double *rb,
                                       double *c)
    {
        he_lg_v4d aacc = he_lg_splat_4(0.0), bacc = aacc, cacc = aacc, unb = aacc;
        he_lg_v4d aties = aacc, bties = aacc, zero = aacc;
        he_lg_v4d mav = he_lg_splat_4(ma), mbv = he_lg_splat_4(mb);
        he_lg_v4d ninf = he_lg_splat_4(-HUGE_VAL), one = he_lg_splat_4(1.0);
        he_lg_v4l valid;
        ptrdiff_t i;
        for (i = 0; i + HE_LG_W4 <= n; i += HE_LG_W4) {
            he_lg_v4d va = he_lg_loadv_4(a, i, 0), vb = he_lg_loadv_4(b, i, 0);
            he_lg_v4d da, db, ea, eb;
            he_lg_v4l qa, qb, bfin;
            da = va - mav;
            db = vb - mbv;
            ea = he_lg_exp_le0_4(da);
            eb = he_lg_exp_le0_4(db);
            qa = va == mav;
            qb = vb == mbv;
            bfin = vb > ninf;
            aacc += ea - he_lg_select_4(qa, ea);
            bacc += eb - he_lg_select_4(qb, eb);
            aties += he_lg_select_4(qa, one);
            bties += he_lg_select_4(qb, one);
            cacc += he_lg_select_4(bfin, he_lg_select_4(ea > zero, ea * (da - db)));
            unb += he_lg_select_4(va > ninf, one - he_lg_select_4(bfin, one));
        }
        if (i < n) {
            /* The last, partial vector: lanes already counted are masked. */
            he_lg_v4d va, vb, da, db, ea, eb;
            he_lg_v4l qa, qb, bfin;
            va = he_lg_tail_4(a, n, i, 0, &valid);
            vb = he_lg_tail_4(b, n, i, 0, &valid);
            da = va - mav;
            db = vb - mbv;
            ea = he_lg_select_4(valid, he_lg_exp_le0_4(da));
            eb = he_lg_select_4(valid, he_lg_exp_le0_4(db));
            qa = va == mav;
            qb = vb == mbv;
            bfin = vb > ninf;
            aacc += ea - he_lg_select_4(qa, ea);
            bacc += eb - he_lg_select_4(qb, eb);
            aties += he_lg_select_4(valid, he_lg_select_4(qa, one));
            bties += he_lg_select_4(valid, he_lg_select_4(qb, one));
            cacc += he_lg_select_4(bfin, he_lg_select_4(ea > zero, ea * (da - db)));
            unb += he_lg_select_4(valid, he_lg_select_4(va > ninf,
                                                    one - he_lg_select_4(bfin, one)));
        }
        *ra = he_lg_hsum_4(aacc) + (he_lg_hsum_4(aties) - 1.0);
        *rb = he_lg_hsum_4(bacc) + (he_lg_hsum_4(bties) - 1.0);
        *c = he_lg_hsum_4(cacc);
        return he_lg_hsum_4(unb);
    }
    HE_LG_AI double he_lg_kl_sums_body_8(const double *a, const double *b, ptrdiff_t n,
                                       double ma, double mb, double *ra, double *rb,
                                       double *c)
    {
        he_lg_v8d aacc = he_lg_splat_8(0.0), bacc = aacc, cacc = aacc, unb = aacc;
        he_lg_v8d aties = aacc, bties = aacc, zero = aacc;
        he_lg_v8d mav = he_lg_splat_8(ma), mbv = he_lg_splat_8(mb);
        he_lg_v8d ninf = he_lg_splat_8(-HUGE_VAL), one = he_lg_splat_8(1.0);
        he_lg_v8l valid;
        ptrdiff_t i;
        for (i = 0; i + HE_LG_W8 <= n; i += HE_LG_W8) {
            he_lg_v8d va = he_lg_loadv_8(a, i, 0), vb = he_lg_loadv_8(b, i, 0);
            he_lg_v8d da, db, ea, eb;
            he_lg_v8l qa, qb, bfin;
            da = va - mav;
            db = vb - mbv;
            ea = he_lg_exp_le0_8(da);
            eb = he_lg_exp_le0_8(db);
            qa = va == mav;
            qb = vb == mbv;
            bfin = vb > ninf;
            aacc += ea - he_lg_select_8(qa, ea);
            bacc += eb - he_lg_select_8(qb, eb);
            aties += he_lg_select_8(qa, one);
            bties += he_lg_select_8(qb, one);
            cacc += he_lg_select_8(bfin, he_lg_select_8(ea > zero, ea * (da - db)));
            unb += he_lg_select_8(va > ninf, one - he_lg_select_8(bfin, one));
        }
        if (i < n) {
            /* The last, partial vector: lanes already counted are masked. */
            he_lg_v8d va, vb, da, db, ea, eb;
            he_lg_v8l qa, qb, bfin;
            va = he_lg_tail_8(a, n, i, 0, &valid);
            vb = he_lg_tail_8(b, n, i, 0, &valid);
            da = va - mav;
            db = vb - mbv;
            ea = he_lg_select_8(valid, he_lg_exp_le0_8(da));
            eb = he_lg_select_8(valid, he_lg_exp_le0_8(db));
            qa = va == mav;
            qb = vb == mbv;
            bfin = vb > ninf;
            aacc += ea - he_lg_select_8(qa, ea);
            bacc += eb - he_lg_select_8(qb, eb);
            aties += he_lg_select_8(valid, he_lg_select_8(qa, one));
            bties += he_lg_select_8(valid, he_lg_select_8(qb, one));
            cacc += he_lg_select_8(bfin, he_lg_select_8(ea > zero, ea * (da - db)));
            unb += he_lg_select_8(valid, he_lg_select_8(va > ninf,
                                                    one - he_lg_select_8(bfin, one)));
        }
        *ra = he_lg_hsum_8(aacc) + (he_lg_hsum_8(aties) - 1.0);
        *rb = he_lg_hsum_8(bacc) + (he_lg_hsum_8(bties) - 1.0);
        *c = he_lg_hsum_8(cacc);
        return he_lg_hsum_8(unb);
    }
    HE_LG_AI void he_lg_exp_scaled_body_4(const double *x, ptrdiff_t n, double m,
                                        double scale, double *out)
    {
        he_lg_v4d mv = he_lg_splat_4(m), sv = he_lg_splat_4(scale);
        he_lg_v4l valid;
        ptrdiff_t i = 0, j;
        for (; i + HE_LG_W4 <= n; i += HE_LG_W4) {
            he_lg_v4d e = he_lg_exp_le0_4(he_lg_loadv_4(x, i, 0) - mv) * sv;
            memcpy(out + i, &e, sizeof e);
        }
        if (i < n) {
            he_lg_v4d e = he_lg_exp_le0_4(he_lg_tail_4(x, n, i, 0, &valid) - mv) * sv;
            if (n >= HE_LG_W4)
                for (j = 0; j < HE_LG_W4; j++)
                    out[n - HE_LG_W4 + j] = e[j];
            else
                for (j = 0; j < n; j++)
                    out[j] = e[j];
        }
    }
    HE_LG_AI void he_lg_exp_scaled_body_8(const double *x, ptrdiff_t n, double m,
                                        double scale, double *out)
    {
        he_lg_v8d mv = he_lg_splat_8(m), sv = he_lg_splat_8(scale);
        he_lg_v8l valid;
        ptrdiff_t i = 0, j;
        for (; i + HE_LG_W8 <= n; i += HE_LG_W8) {
            he_lg_v8d e = he_lg_exp_le0_8(he_lg_loadv_8(x, i, 0) - mv) * sv;
            memcpy(out + i, &e, sizeof e);
        }
        if (i < n) {
            he_lg_v8d e = he_lg_exp_le0_8(he_lg_tail_8(x, n, i, 0, &valid) - mv) * sv;
            if (n >= HE_LG_W8)
                for (j = 0; j < HE_LG_W8; j++)
                    out[n - HE_LG_W8 + j] = e[j];
            else
                for (j = 0; j < n; j++)
                    out[j] = e[j];
        }
    }
    HE_LG_AI double he_lg_max_f32_body(const float *x, ptrdiff_t n)
    {
        /* In float lanes, eight at a time. */
        he_lg_vf8 mx = {-HUGE_VALF, -HUGE_VALF, -HUGE_VALF, -HUGE_VALF,
                        -HUGE_VALF, -HUGE_VALF, -HUGE_VALF, -HUGE_VALF};
        he_lg_vf8 mx1 = mx, v;
        he_lg_vi8 gt;
        ptrdiff_t i = 0;
        float m = -HUGE_VALF;
        int j;
        if (n < 8) {
            for (i = 0; i < n; i++)
                m = x[i] > m ? x[i] : m;
            return (double)m;
        }
        for (; i + 16 <= n; i += 16) {
            memcpy(&v, x + i, sizeof v);
            gt = v > mx;
            mx = (he_lg_vf8)(((he_lg_vi8)v & gt) | ((he_lg_vi8)mx & ~gt));
            memcpy(&v, x + i + 8, sizeof v);
            gt = v > mx1;
            mx1 = (he_lg_vf8)(((he_lg_vi8)v & gt) | ((he_lg_vi8)mx1 & ~gt));
        }
        for (; i < n; i += 8) {
            if (i + 8 > n)
                i = n - 8;  /* the last 8 again: max does not mind */
            memcpy(&v, x + i, sizeof v);
            gt = v > mx;
            mx = (he_lg_vf8)(((he_lg_vi8)v & gt) | ((he_lg_vi8)mx & ~gt));
        }
        for (j = 0; j < 8; j++) {
            m = mx[j] > m ? mx[j] : m;
            m = mx1[j] > m ? mx1[j] : m;
        }
        return (double)m;
    }
    #endif  /* __GNUC__ */

    /* Scalar fallback (compilers without GCC vector extensions). */
    #define HE_LG_EXP_SUM_SCALAR(T) \\
        double acc = 0.0, nacc = 0.0, nties = 0.0; \\
        ptrdiff_t i; \\
        for (i = 0; i < n; i++) { \\
            double v = (double)((const T *)x)[i], e = exp(v - m); \\
            if (v == m) { nties += 1.0; continue; } \\
            acc += e; \\
            if (e > 0.0) nacc += e * (m - v); \\
        } \\
        if (neg != NULL) *neg = nacc; \\
        return acc + (nties - 1.0);

    static inline double he_lg_max_s(const double *x, ptrdiff_t n)
    {
        double m = -HUGE_VAL;
        ptrdiff_t i;
        for (i = 0; i < n; i++)
            m = x[i] > m ? x[i] : m;
        return m;
    }
    static inline double he_lg_max_f32_s(const float *x, ptrdiff_t n)
    {
        double m = -HUGE_VAL;
        ptrdiff_t i;
        for (i = 0; i < n; i++)
            m = x[i] > m ? x[i] : m;
        return m;
    }
    static inline double he_lg_exp_sum_s(const double *x, ptrdiff_t n, double m, double *neg)
    {
        HE_LG_EXP_SUM_SCALAR(double)
    }
    static inline double he_lg_exp_sum_f32_s(const float *x, ptrdiff_t n, double m, double *neg)
    {
        HE_LG_EXP_SUM_SCALAR(float)
    }
    static inline double he_lg_kl_sums_s(const double *a, const double *b, ptrdiff_t n,
                                  double ma, double mb, double *ra, double *rb,
                                  double *c)
    {
        double sa = 0.0, sb = 0.0, sc = 0.0, unb = 0.0, na = 0.0, nb = 0.0;
        ptrdiff_t i;
        for (i = 0; i < n; i++) {
            double da = a[i] - ma, db = b[i] - mb;
            double ea = exp(da), eb = exp(db);
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
    static inline void he_lg_exp_scaled_s(const double *x, ptrdiff_t n, double m,
                                   double scale, double *out)
    {
        ptrdiff_t i;
        for (i = 0; i < n; i++)
            out[i] = exp(x[i] - m) * scale;
    }

    /* One variant per path of _simd_dispatch.h (same ISA lists): the avx512
       path runs the 8-lane bodies (but 4 lanes for KL, where GCC 12 lowers some
       8-lane compares to scalar code), avx2 the 4-lane ones; sse42 and generic run
       the 4-lane exp bodies (in halves) but plain loops for the maxima (GCC
       splits the 4-lane compare-and-select badly there).
       Chosen once per process by he_simd_path() (HISTENTROPY_CPU caps it). */
    #ifdef HE_LG_VECTOR
    #if HE_SIMD_X86
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl"))) double he_lg_max_avx512(const double *x, ptrdiff_t n)
    { return he_lg_max_body_8(x, n, 0); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl"))) double he_lg_max_f32_avx512(const float *x, ptrdiff_t n)
    { return he_lg_max_f32_body(x, n); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl"))) double he_lg_exp_sum_avx512(const double *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_8(x, n, m, neg, 0); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl"))) double he_lg_exp_sum_f32_avx512(const float *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_8(x, n, m, neg, 1); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl"))) double he_lg_kl_sums_avx512(const double *a, const double *b, ptrdiff_t n,
            double ma, double mb, double *ra, double *rb, double *c)
    { return he_lg_kl_sums_body_4(a, b, n, ma, mb, ra, rb, c); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl"))) void he_lg_exp_scaled_avx512(const double *x, ptrdiff_t n, double m,
            double scale, double *out)
    { he_lg_exp_scaled_body_8(x, n, m, scale, out); }
    #endif
    #if HE_SIMD_X86
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2"))) double he_lg_max_avx2(const double *x, ptrdiff_t n)
    { return he_lg_max_body_4(x, n, 0); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2"))) double he_lg_max_f32_avx2(const float *x, ptrdiff_t n)
    { return he_lg_max_f32_body(x, n); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2"))) double he_lg_exp_sum_avx2(const double *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_4(x, n, m, neg, 0); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2"))) double he_lg_exp_sum_f32_avx2(const float *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_4(x, n, m, neg, 1); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2"))) double he_lg_kl_sums_avx2(const double *a, const double *b, ptrdiff_t n,
            double ma, double mb, double *ra, double *rb, double *c)
    { return he_lg_kl_sums_body_4(a, b, n, ma, mb, ra, rb, c); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2"))) void he_lg_exp_scaled_avx2(const double *x, ptrdiff_t n, double m,
            double scale, double *out)
    { he_lg_exp_scaled_body_4(x, n, m, scale, out); }
    #endif
    #if HE_SIMD_X86
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt"))) double he_lg_max_sse42(const double *x, ptrdiff_t n)
    { return he_lg_max_s(x, n); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt"))) double he_lg_max_f32_sse42(const float *x, ptrdiff_t n)
    { return he_lg_max_f32_s(x, n); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt"))) double he_lg_exp_sum_sse42(const double *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_4(x, n, m, neg, 0); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt"))) double he_lg_exp_sum_f32_sse42(const float *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_4(x, n, m, neg, 1); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt"))) double he_lg_kl_sums_sse42(const double *a, const double *b, ptrdiff_t n,
            double ma, double mb, double *ra, double *rb, double *c)
    { return he_lg_kl_sums_body_4(a, b, n, ma, mb, ra, rb, c); }
    static __attribute__((target("sse3,ssse3,sse4.1,sse4.2,popcnt"))) void he_lg_exp_scaled_sse42(const double *x, ptrdiff_t n, double m,
            double scale, double *out)
    { he_lg_exp_scaled_body_4(x, n, m, scale, out); }
    #endif
    static double he_lg_max_generic(const double *x, ptrdiff_t n)
    { return he_lg_max_s(x, n); }
    static double he_lg_max_f32_generic(const float *x, ptrdiff_t n)
    { return he_lg_max_f32_s(x, n); }
    static double he_lg_exp_sum_generic(const double *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_4(x, n, m, neg, 0); }
    static double he_lg_exp_sum_f32_generic(const float *x, ptrdiff_t n, double m, double *neg)
    { return he_lg_exp_sum_body_4(x, n, m, neg, 1); }
    static double he_lg_kl_sums_generic(const double *a, const double *b, ptrdiff_t n,
            double ma, double mb, double *ra, double *rb, double *c)
    { return he_lg_kl_sums_body_4(a, b, n, ma, mb, ra, rb, c); }
    static void he_lg_exp_scaled_generic(const double *x, ptrdiff_t n, double m,
            double scale, double *out)
    { he_lg_exp_scaled_body_4(x, n, m, scale, out); }
    #define HE_LG_CALL(name, args) HE_SIMD_CALL(he_simd_path(), name, args)
    #else
    #define HE_LG_CALL(name, args) name##_s args
    #endif

    /* Largest element of x[0..n), NaN ignored (-inf for n == 0). A NaN shows
       later, in the exp sums, which propagate it. */
    static inline double he_lg_max(const double *x, ptrdiff_t n)
    { return HE_LG_CALL(he_lg_max, (x, n)); }

    static inline double he_lg_max_f32(const float *x, ptrdiff_t n)
    { return HE_LG_CALL(he_lg_max_f32, (x, n)); }

    /* out[i] = x[i] (float32 -> float64, exact); returns the largest. */
    static inline double he_lg_widen_max(const float *x, ptrdiff_t n, double *out)
    {
        ptrdiff_t i;
        for (i = 0; i < n; i++)
            out[i] = (double)x[i];
        return he_lg_max_f32(x, n);
    }

    /* r = sum exp(x_i - m) over all i but one with x_i == m; m is the largest
       element (finite). Ties add exactly 1 each; a NaN in x makes r NaN. With
       `neg` also neg = sum exp(x_i - m) (m - x_i) over the terms > 0. */
    static inline double he_lg_exp_sum(const double *x, ptrdiff_t n, double m, double *neg)
    { return HE_LG_CALL(he_lg_exp_sum, (x, n, m, neg)); }

    static inline double he_lg_exp_sum_f32(const float *x, ptrdiff_t n, double m, double *neg)
    { return HE_LG_CALL(he_lg_exp_sum_f32, (x, n, m, neg)); }

    /* One block of two rows a, b with finite maxima ma, mb: ra, rb as in
       he_lg_exp_sum and c = sum exp(a - ma) ((a - ma) - (b - mb)) over the
       terms with exp(a - ma) > 0 and b > -inf; returns the number of elements
       with a > -inf and b == -inf (p > 0 where q = 0). */
    static inline double he_lg_kl_sums(const double *a, const double *b, ptrdiff_t n,
                                double ma, double mb, double *ra, double *rb,
                                double *c)
    { return HE_LG_CALL(he_lg_kl_sums, (a, b, n, ma, mb, ra, rb, c)); }

    /* out[i] = exp(x[i] - m) * scale, for x[i] <= m. */
    static inline void he_lg_exp_scaled(const double *x, ptrdiff_t n, double m,
                                 double scale, double *out)
    { HE_LG_CALL(he_lg_exp_scaled, (x, n, m, scale, out)); }

    /* The path in use, for tests and the bench ("avx512", "avx2", ...). */
    static inline const char *he_lg_path_name(void)
    {
    #ifdef HE_LG_VECTOR
        return he_simd_path_name(he_simd_path());
    #else
        return "scalar";
    #endif
    }
    """
    double he_lg_max(const double* x, Py_ssize_t n) noexcept nogil
    double he_lg_max_f32(const float* x, Py_ssize_t n) noexcept nogil
    double he_lg_widen_max(const float* x, Py_ssize_t n, double* out) noexcept nogil
    double he_lg_exp_sum(const double* x, Py_ssize_t n, double m,
                         double* neg) noexcept nogil
    double he_lg_exp_sum_f32(const float* x, Py_ssize_t n, double m,
                             double* neg) noexcept nogil
    double he_lg_kl_sums(const double* a, const double* b, Py_ssize_t n,
                         double ma, double mb, double* ra, double* rb,
                         double* c) noexcept nogil
    void he_lg_exp_scaled(const double* x, Py_ssize_t n, double m, double scale,
                          double* out) noexcept nogil
    const char* he_lg_path_name() noexcept nogil


ctypedef fused logit_t:
    double
    float

ctypedef fused target_t:
    double
    float


# Flags a kernel reports; the Python layer turns them into exceptions.
cdef enum:
    LOGITS_NAN = 1          # NaN in the (first) logits
    LOGITS_POSINF = 2       # +inf in the (first) logits
    OTHER_NAN = 4           # NaN in logits_q
    OTHER_POSINF = 8        # +inf in logits_q
    TARGET_NAN = 16
    TARGET_NEGATIVE = 32
    TARGET_INF = 64


cdef enum:
    # Elements per block: the block (and its float64 copy) stays in L1, and
    # the per-block merge (one exp) is amortised.
    BLOCK = 1024


ctypedef struct LogSumExp:
    # Running state of a row: m the largest logit so far (-inf: none finite
    # yet), r = sum exp(l - m) - 1, neg = sum exp(l - m) (m - l).
    double m
    double r
    double neg


cdef inline void lse_init(LogSumExp* acc) noexcept nogil:
    acc.m = -INFINITY
    acc.r = 0.0
    acc.neg = 0.0


cdef inline void lse_merge(LogSumExp* acc, double m, double r,
                           double neg) noexcept nogil:
    """Merge a block with finite maximum m and sums r, neg relative to m.

    The side with the smaller maximum is rescaled by f = exp(-d), d the gap:
    s -> f s, neg -> f (neg + d s). A factor that underflows to 0 drops that
    side (its share is below 2^-1074 of the other's), so d = inf never meets 0.
    """
    cdef double d, f
    if acc.m == -INFINITY:
        acc.m = m
        acc.r = r
        acc.neg = neg
    elif m <= acc.m:
        d = acc.m - m
        f = exp(-d)
        if f > 0.0:
            acc.r += (1.0 + r) * f
            acc.neg += f * (neg + d * (1.0 + r))
    else:
        d = m - acc.m
        f = exp(-d)
        if f > 0.0:
            acc.neg = f * (acc.neg + d * (1.0 + acc.r)) + neg
            acc.r = (1.0 + acc.r) * f + r
        else:
            acc.neg = neg
            acc.r = r
        acc.m = m


cdef inline double log1p_nonneg(double r) noexcept nogil:
    """log(1 + r) for finite r >= 0, to a few ulp.

    Goldberg's form log(u) r / (u - 1), u = 1 + r: the rounding of u cancels
    in the ratio. Several times faster than libm's log1p, which the small-row
    case (one call per row) notices.
    """
    cdef double u = 1.0 + r
    if u == 1.0:
        return r
    return log(u) * (r / (u - 1.0))


cdef inline double entropy_of(const LogSumExp* acc) noexcept nogil:
    """H = log1p(r) + neg / (1 + r): two non-negative terms."""
    if acc.m == -INFINITY:
        return NAN  # no finite logit: no distribution
    return log1p_nonneg(acc.r) + acc.neg / (1.0 + acc.r)


cdef inline const double* load_block(const logit_t* x, Py_ssize_t n,
                                     Py_ssize_t stride, double* buf,
                                     double* largest) noexcept nogil:
    """The block x[0], x[stride], ... as contiguous doubles, and its maximum.

    Contiguous float64 is used in place; anything else is copied into `buf`
    (BLOCK doubles, exact widening). NaN is ignored by the maximum (the exp
    sums propagate it).
    """
    cdef Py_ssize_t i
    cdef double v, mx
    if stride == 1:
        if logit_t is double:
            largest[0] = he_lg_max(x, n)
            return x
        else:
            largest[0] = he_lg_widen_max(x, n, buf)
            return buf
    mx = -INFINITY
    for i in range(n):
        v = <double>x[i * stride]
        buf[i] = v
        if v > mx:
            mx = v
    largest[0] = mx
    return buf


cdef inline int special_flags(const double* x, Py_ssize_t n, int nan_flag,
                              int inf_flag) noexcept nogil:
    """Flags for NaN and +inf in x (slow path, for blocks that have them)."""
    cdef Py_ssize_t i
    cdef int flags = 0
    for i in range(n):
        if x[i] != x[i]:
            flags |= nan_flag
        elif x[i] == INFINITY:
            flags |= inf_flag
    return flags


cdef inline int logsumexp_block(const double* x, Py_ssize_t n, double largest,
                                bint need_neg, LogSumExp* acc,
                                int nan_flag, int inf_flag) noexcept nogil:
    """Merge one loaded block into acc; returns the flags seen."""
    cdef double r, neg = 0.0
    if not (-INFINITY < largest < INFINITY):
        # +inf, or nothing but -inf (and NaN): only flags to find.
        return special_flags(x, n, nan_flag, inf_flag)
    r = he_lg_exp_sum(x, n, largest, &neg if need_neg else NULL)
    if r != r:
        return special_flags(x, n, nan_flag, inf_flag)
    lse_merge(acc, largest, r, neg)
    return 0


cdef inline int logsumexp_row(const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
                              bint need_neg, LogSumExp* acc,
                              double* buf) noexcept nogil:
    """One read of the row x[0], x[stride], ... x[(n-1)*stride] into acc.

    `buf` holds BLOCK doubles. Returns the flags seen (LOGITS_*); after an
    error flag the state is meaningless. Contiguous float32 is read directly
    (widened in registers); other blocks go through load_block.
    """
    cdef Py_ssize_t start = 0, size
    cdef double largest, r, neg = 0.0
    cdef const double* data
    cdef int flags = 0
    lse_init(acc)
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        if logit_t is float:
            if stride == 1:
                largest = he_lg_max_f32(x + start, size)
                if -INFINITY < largest < INFINITY:
                    r = he_lg_exp_sum_f32(x + start, size, largest,
                                          &neg if need_neg else NULL)
                    if r == r:
                        lse_merge(acc, largest, r, neg)
                        start += size
                        continue
        data = load_block(x + start * stride, size, stride, buf, &largest)
        flags |= logsumexp_block(data, size, largest, need_neg, acc,
                                 LOGITS_NAN, LOGITS_POSINF)
        if flags:
            return flags
        start += size
    return flags


# ---------------------------------------------------------------------------
# Entropy and KL divergence of softmax distributions
# ---------------------------------------------------------------------------

cdef inline int entropy_row(const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
                            double* out, double* buf) noexcept nogil:
    """Entropy (nats) of softmax of one row; NaN for a row without a finite logit."""
    cdef LogSumExp acc
    cdef int flags = logsumexp_row(x, n, stride, True, &acc, buf)
    out[0] = entropy_of(&acc)
    return flags


ctypedef struct KLState:
    LogSumExp a
    LogSumExp b
    double c           # sum exp(a - m_a) ((a - m_a) - (b - m_b))
    bint unbounded     # some finite a meets b = -inf


cdef inline void kl_merge(KLState* st, double ma, double ra, double mb,
                          double rb, double c) noexcept nogil:
    """Merge a block whose maxima ma, mb are finite (c relative to them).

    When the maxima grow to (ma', mb') a sum c relative to (ma, mb) with
    s_a = 1 + ra becomes exp(ma - ma') (c + ((mb' - mb) - (ma' - ma)) s_a).
    """
    cdef double na = ma if ma > st.a.m else st.a.m
    cdef double nb = mb if mb > st.b.m else st.b.m
    cdef double total = 0.0, f
    if st.a.m > -INFINITY and st.b.m > -INFINITY:
        f = exp(st.a.m - na)
        if f > 0.0:
            total = f * (st.c + ((nb - st.b.m) - (na - st.a.m)) * (1.0 + st.a.r))
    f = exp(ma - na)
    if f > 0.0:
        total += f * (c + ((nb - mb) - (na - ma)) * (1.0 + ra))
    st.c = total
    lse_merge(&st.a, ma, ra, 0.0)
    lse_merge(&st.b, mb, rb, 0.0)


cdef inline int kl_row(const logit_t* a, Py_ssize_t a_stride,
                       const logit_t* b, Py_ssize_t b_stride, Py_ssize_t n,
                       double* out, double* abuf, double* bbuf) noexcept nogil:
    """KL(softmax(a) || softmax(b)) in nats of one pair of rows, one read each.

    KL = c / s_a - log1p(r_a) + log1p(r_b), clamped at 0 (it is >= 0; the
    terms of c have both signs, so its rounding can go below). +inf where a
    finite a meets b = -inf; NaN when either row has no finite logit.
    """
    cdef KLState st
    cdef Py_ssize_t start = 0, size
    cdef double ma, mb, ra, rb, c, kl
    cdef const double* da
    cdef const double* db
    cdef int flags = 0
    lse_init(&st.a)
    lse_init(&st.b)
    st.c = 0.0
    st.unbounded = False
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        da = load_block(a + start * a_stride, size, a_stride, abuf, &ma)
        db = load_block(b + start * b_stride, size, b_stride, bbuf, &mb)
        start += size
        if not (-INFINITY < ma < INFINITY and -INFINITY < mb < INFINITY):
            # Blocks with a row that is all -inf (or has +inf): no term of c.
            flags |= logsumexp_block(da, size, ma, False, &st.a,
                                     LOGITS_NAN, LOGITS_POSINF)
            flags |= logsumexp_block(db, size, mb, False, &st.b,
                                     OTHER_NAN, OTHER_POSINF)
            if mb == -INFINITY and -INFINITY < ma:
                st.unbounded = True
            if flags:
                break
            continue
        if he_lg_kl_sums(da, db, size, ma, mb, &ra, &rb, &c) > 0.0:
            st.unbounded = True
        if ra != ra or rb != rb:
            flags |= special_flags(da, size, LOGITS_NAN, LOGITS_POSINF)
            flags |= special_flags(db, size, OTHER_NAN, OTHER_POSINF)
            break
        kl_merge(&st, ma, ra, mb, rb, c)
    if st.a.m == -INFINITY or st.b.m == -INFINITY:
        out[0] = NAN
    elif st.unbounded:
        out[0] = INFINITY
    else:
        kl = st.c / (1.0 + st.a.r) - log1p_nonneg(st.a.r) + log1p_nonneg(st.b.r)
        out[0] = kl if kl > 0.0 else 0.0
    return flags


# ---------------------------------------------------------------------------
# Cross entropy from logits
# ---------------------------------------------------------------------------
#
# The loss of one sample with class weights v (all 1 without `weight`) and
# target t (smoothed: t = (1 - eps) t0 + eps / K) is
#     loss = -sum_c v_c t_c log p_c,   -log p_c = (m - l_c) + log1p(r),
# a sum of non-negative terms. Its gradient with respect to l is
#     g_c = p_c T - v_c t_c,   T = sum_c v_c t_c.

ctypedef struct SmoothSums:
    # Sums over the logits seen so far, relative to the running maximum:
    # u = sum v (m - l), v = sum v; with soft targets also
    # b = sum v w (m - l), vw = sum v w, w = sum w.
    double u
    double v
    double b
    double vw
    double w


cdef inline void smooth_init(SmoothSums* s) noexcept nogil:
    s.u = 0.0
    s.v = 0.0
    s.b = 0.0
    s.vw = 0.0
    s.w = 0.0


cdef inline void smooth_shift(SmoothSums* s, double d) noexcept nogil:
    """The reference maximum grew by d > 0: every (m - l) grows by d."""
    if s.v > 0.0:
        s.u += d * s.v
    if s.vw > 0.0:
        s.b += d * s.vw


cdef inline void smooth_add(SmoothSums* s, const SmoothSums* blk) noexcept nogil:
    s.u += blk.u
    s.v += blk.v
    s.b += blk.b
    s.vw += blk.vw
    s.w += blk.w


cdef inline void smooth_merge(SmoothSums* s, double m, SmoothSums* blk,
                              double block_max) noexcept nogil:
    """Merge block sums relative to block_max into s relative to m (old max)."""
    if block_max > m:
        if m > -INFINITY:
            smooth_shift(s, block_max - m)
        elif s.v > 0.0 or s.vw > 0.0:
            # Earlier logits were all -inf: their (m - l) is +inf.
            smooth_shift(s, INFINITY)
    elif block_max < m:
        smooth_shift(blk, m - block_max)
    smooth_add(s, blk)


cdef inline void class_sums(const double* x, Py_ssize_t n, double largest,
                            const double* v, SmoothSums* blk) noexcept nogil:
    """u = sum v (largest - x), v = sum v over one block (v NULL: all 1).

    A -inf logit with v > 0 makes u = +inf (smoothing puts mass on it).
    """
    cdef Py_ssize_t i
    cdef double u = 0.0, vs = 0.0, vi
    if v == NULL:
        for i in range(n):
            u += largest - x[i]
        vs = <double>n
    else:
        for i in range(n):
            vi = v[i]
            if vi > 0.0:
                u += vi * (largest - x[i])
                vs += vi
    blk.u = u
    blk.v = vs


cdef inline int cross_entropy_hard_row(
        const logit_t* x, Py_ssize_t n, Py_ssize_t stride, Py_ssize_t label,
        double eps, const double* v, double v_total,
        double* loss, LogSumExp* acc, double* buf) noexcept nogil:
    """Cross entropy of one row with hard label `label` (in [0, n)).

    loss = v_y (1 - eps) ((m - l_y) + log1p(r)) + eps / n (v_total log1p(r) + u)
    with u = sum_c v_c (m - l_c). Leaves the row's (m, r) in acc for the
    gradient. A -inf logit at the label (or, with eps > 0, anywhere) gives +inf.
    """
    cdef Py_ssize_t start = 0, size
    cdef double largest, lr, vy, xy, value
    cdef const double* data
    cdef SmoothSums sums, blk
    cdef int flags = 0
    lse_init(acc)
    smooth_init(&sums)
    smooth_init(&blk)
    if eps == 0.0:
        flags = logsumexp_row(x, n, stride, False, acc, buf)
        start = n
        if flags:
            loss[0] = NAN
            return flags
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        data = load_block(x + start * stride, size, stride, buf, &largest)
        if eps > 0.0 and -INFINITY < largest < INFINITY:
            class_sums(data, size, largest, v + start if v != NULL else NULL,
                       &blk)
            smooth_merge(&sums, acc.m, &blk, largest)
        elif eps > 0.0 and largest == -INFINITY:
            # The whole block is -inf (or NaN): smoothing mass on -inf.
            class_sums(data, size, 0.0, v + start if v != NULL else NULL, &blk)
            if blk.v > 0.0:
                sums.u = INFINITY
                sums.v += blk.v
        flags |= logsumexp_block(data, size, largest, False, acc,
                                 LOGITS_NAN, LOGITS_POSINF)
        if flags:
            loss[0] = NAN
            return flags
        start += size
    if acc.m == -INFINITY:
        loss[0] = NAN  # no finite logit: no distribution
        return flags
    lr = log1p_nonneg(acc.r)
    xy = <double>x[label * stride]
    vy = v[label] if v != NULL else 1.0
    value = 0.0
    if eps < 1.0 and vy > 0.0:
        value = vy * (1.0 - eps) * ((acc.m - xy) + lr)
    if eps > 0.0:
        value += eps / <double>n * (v_total * lr + sums.u)
    loss[0] = value
    return flags


cdef inline int cross_entropy_soft_row(
        const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
        const target_t* t, Py_ssize_t t_stride,
        double eps, const double* v, double v_total,
        double* loss, double* weight_sums, LogSumExp* acc,
        double* buf) noexcept nogil:
    """Cross entropy of one row with soft target weights t (normalised by W).

    loss = log1p(r) ((1 - eps) VW / W + eps V / n) + (1 - eps) B / W + eps U / n
    with B = sum v w (m - l), VW = sum v w, W = sum w, U = sum v (m - l).
    Writes W and VW to weight_sums[0], weight_sums[1] (for the gradient).
    NaN where W = 0.
    """
    cdef Py_ssize_t start = 0, size, i
    cdef double largest, lr, w, vi, d, value
    cdef const double* data
    cdef SmoothSums sums, blk
    cdef int flags = 0
    lse_init(acc)
    smooth_init(&sums)
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        data = load_block(x + start * stride, size, stride, buf, &largest)
        smooth_init(&blk)
        if eps > 0.0:
            class_sums(data, size, largest if largest > -INFINITY else 0.0,
                       v + start if v != NULL else NULL, &blk)
            if largest == -INFINITY and blk.v > 0.0:
                blk.u = INFINITY
        for i in range(size):
            w = <double>t[(start + i) * t_stride]
            if not (0.0 <= w < INFINITY):
                if w != w:
                    flags |= TARGET_NAN
                elif w < 0.0:
                    flags |= TARGET_NEGATIVE
                else:
                    flags |= TARGET_INF
                continue
            if w > 0.0:
                blk.w += w
                vi = w * v[start + i] if v != NULL else w
                if vi > 0.0:
                    d = largest - data[i] if largest > -INFINITY else INFINITY
                    blk.b += vi * d
                    blk.vw += vi
        if -INFINITY < largest < INFINITY:
            smooth_merge(&sums, acc.m, &blk, largest)
        else:
            smooth_add(&sums, &blk)
        flags |= logsumexp_block(data, size, largest, False, acc,
                                 LOGITS_NAN, LOGITS_POSINF)
        if flags:
            loss[0] = NAN
            return flags
        start += size
    weight_sums[0] = sums.w
    weight_sums[1] = sums.vw
    if acc.m == -INFINITY or sums.w == 0.0:
        loss[0] = NAN  # no distribution in the logits or in the target
        return flags
    lr = log1p_nonneg(acc.r)
    value = 0.0
    if eps < 1.0 and sums.vw > 0.0:
        value = (1.0 - eps) * (lr * sums.vw + sums.b) / sums.w
    if eps > 0.0:
        value += eps / <double>n * (v_total * lr + sums.u)
    loss[0] = value
    return flags


cdef inline void gradient_row(const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
                              const LogSumExp* acc, double total,
                              Py_ssize_t label, double label_part,
                              const target_t* t, Py_ssize_t t_stride,
                              double target_scale, double smooth_part,
                              const double* v, double scale,
                              logit_t* out, Py_ssize_t out_stride,
                              double* buf, double* ebuf) noexcept nogil:
    """out = scale (p T - v t), the gradient of the loss of one row.

    The second read of the row: p = softmax(x) from the row's (m, r) in acc,
    T = `total`. The target part v_c t_c is
        label_part [c == label]                  (hard label; label < 0: none)
      + v_c target_scale t_c                     (soft target; t NULL: none)
      + v_c smooth_part                          (label smoothing, eps / K),
    with v = 1 when NULL. Each element is formed in double, rounded once.
    """
    cdef Py_ssize_t start = 0, size, i
    cdef double largest, g, vi, part
    cdef const double* data
    cdef double factor = total / (1.0 + acc.r)
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        data = load_block(x + start * stride, size, stride, buf, &largest)
        he_lg_exp_scaled(data, size, acc.m, factor, ebuf)
        if t != NULL or smooth_part != 0.0:
            for i in range(size):
                vi = v[start + i] if v != NULL else 1.0
                part = smooth_part
                if t != NULL:
                    part += target_scale * <double>t[(start + i) * t_stride]
                ebuf[i] -= vi * part
        if start <= label < start + size:
            ebuf[label - start] -= label_part
        for i in range(size):
            out[(start + i) * out_stride] = <logit_t>(scale * ebuf[i])
        start += size
