/* histentropy/logits_simd.h -- the block sums of logits.h, per CPU path.
 *
 * No include guard: logits.h instantiates it once per CPU path
 * (instantiate.h), HE_ISA(name) adding the path's suffix.  Each copy defines
 * the entry points logits.h calls through HE_CPU_CALL, for each logit type
 * of HE_FOR_EACH_LOGIT_TYPE (tname f64, f32):
 *   he_lg_max_<tname>(x, n)                    largest element, NaN ignored
 *   he_lg_exp_sum_<tname>(x, n, m, neg)        r (and neg) of one block
 *   he_lg_kl_sums(a, b, n, ma, mb, ra, rb, c)  the sums of a KL block
 *   he_lg_exp_scaled(x, n, m, scale, out)      out = exp(x - m) scale
 * (logits.h documents what they compute).
 *
 * The vector bodies are written once, for a vector of HE_LG_W doubles (GCC
 * vector extensions), by including this file into itself (the part after the
 * `#else` of `#ifndef HE_LG_W`):
 *
 *   HE_LG_W   HE_LG_VD    HE_LG_VL    HE_LG_V(name)        compiled for
 *   4         he_lg_v4d   he_lg_v4l   HE_ISA(name##_4)     every path
 *   8         he_lg_v8d   he_lg_v8l   HE_ISA(name##_8)     avx512
 *
 * The two widths differ only where spelled out with `#if HE_LG_W == 8`: the
 * lane lists of a few initialisers, the order of the horizontal sum, and the
 * exp's table and polynomial (see he_lg_exp_le0).  Per path:
 *   avx512   8 lanes;
 *   avx2     4 lanes;
 *   sse4.2, generic   the 4-lane exp bodies (in halves), plain loops for the
 *            maxima (GCC splits the 4-lane compare-and-select badly there).
 * Without GCC vector extensions (HE_LG_VECTOR 0) every entry point is the
 * plain loop of logits.h over libm's exp.
 */
#ifndef HE_LG_W  /* ---- once per path ---------------------------------- */

#if HE_LG_VECTOR

#define HE_LG_W 4
#define HE_LG_VD he_lg_v4d
#define HE_LG_VL he_lg_v4l
#define HE_LG_VU he_lg_v4u
#define HE_LG_V(name) HE_ISA(name##_4)
#include "logits_simd.h"
#undef HE_LG_W
#undef HE_LG_VD
#undef HE_LG_VL
#undef HE_LG_VU
#undef HE_LG_V

#if defined(__AVX512F__)
#define HE_LG_W 8
#define HE_LG_VD he_lg_v8d
#define HE_LG_VL he_lg_v8l
#define HE_LG_VU he_lg_v8u
#define HE_LG_V(name) HE_ISA(name##_8)
#include "logits_simd.h"
#undef HE_LG_W
#undef HE_LG_VD
#undef HE_LG_VL
#undef HE_LG_VU
#undef HE_LG_V
/* The widest body of this path. */
#define HE_LG_WIDE(name) HE_ISA(name##_8)
#else
#define HE_LG_WIDE(name) HE_ISA(name##_4)
#endif

#if defined(__AVX2__)
/* Largest of n floats, in float lanes, eight at a time. */
HE_ALWAYS_INLINE double HE_ISA(he_lg_max_vf32)(const float *x, ptrdiff_t n)
{
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
#endif

/* The maximum of a block of logits of type `type` (a constant). */
HE_ALWAYS_INLINE double HE_ISA(he_lg_max)(int type, const void *x, ptrdiff_t n)
{
#if defined(__AVX2__)
    if (type == HE_LOGITS_F32)
        return HE_ISA(he_lg_max_vf32)((const float *)x, n);
    return HE_LG_WIDE(he_lg_max_body)(x, n, 0);
#else
    return he_lg_max_scalar(type, x, n);
#endif
}

#define HE_LG_EXP_SUM(type, x, n, m, neg) \
    HE_LG_WIDE(he_lg_exp_sum_body)((x), (n), (m), (neg), (type) == HE_LOGITS_F32)
#define HE_LG_KL_SUMS(a, b, n, ma, mb, ra, rb, c) \
    HE_LG_WIDE(he_lg_kl_sums_body)((a), (b), (n), (ma), (mb), (ra), (rb), (c))
#define HE_LG_EXP_SCALED(x, n, m, scale, out) \
    HE_LG_WIDE(he_lg_exp_scaled_body)((x), (n), (m), (scale), (out))

#else  /* !HE_LG_VECTOR */

#define HE_LG_EXP_SUM(type, x, n, m, neg) he_lg_exp_sum_scalar((type), (x), (n), (m), (neg))
#define HE_LG_KL_SUMS(a, b, n, ma, mb, ra, rb, c) \
    he_lg_kl_sums_scalar((a), (b), (n), (ma), (mb), (ra), (rb), (c))
#define HE_LG_EXP_SCALED(x, n, m, scale, out) \
    he_lg_exp_scaled_scalar((x), (n), (m), (scale), (out))

HE_ALWAYS_INLINE double HE_ISA(he_lg_max)(int type, const void *x, ptrdiff_t n)
{
    return he_lg_max_scalar(type, x, n);
}

#endif  /* HE_LG_VECTOR */

/* ---- the entry points of this path -------------------------------------- */

#define HE_LG_ENTRY(T, tname, code)                                            \
    static HE_UNUSED double HE_ISA(he_lg_max_##tname)(const T *x, ptrdiff_t n) \
    {                                                                          \
        return HE_ISA(he_lg_max)(code, x, n);                                  \
    }                                                                          \
    static HE_UNUSED double HE_ISA(he_lg_exp_sum_##tname)(                     \
            const T *x, ptrdiff_t n, double m, double *neg)                    \
    {                                                                          \
        return HE_LG_EXP_SUM(code, x, n, m, neg);                              \
    }
HE_FOR_EACH_LOGIT_TYPE(HE_LG_ENTRY)
#undef HE_LG_ENTRY

static HE_UNUSED double HE_ISA(he_lg_kl_sums)(const double *a, const double *b, ptrdiff_t n,
                                              double ma, double mb, double *ra,
                                              double *rb, double *c)
{
    return HE_LG_KL_SUMS(a, b, n, ma, mb, ra, rb, c);
}

static HE_UNUSED void HE_ISA(he_lg_exp_scaled)(const double *x, ptrdiff_t n, double m,
                                               double scale, double *out)
{
    HE_LG_EXP_SCALED(x, n, m, scale, out);
}

#undef HE_LG_EXP_SUM
#undef HE_LG_KL_SUMS
#undef HE_LG_EXP_SCALED
#ifdef HE_LG_WIDE
#undef HE_LG_WIDE
#endif

#else  /* HE_LG_W: ---- the vector bodies, once per width ----------------- */

#if HE_LG_W != 4 && HE_LG_W != 8
#error "logits_simd.h: HE_LG_W must be 4 or 8"
#endif

HE_ALWAYS_INLINE HE_LG_VD HE_LG_V(he_lg_splat)(double x)
{
    HE_LG_VD v = {0};
    return v + x;
}

HE_ALWAYS_INLINE HE_LG_VD HE_LG_V(he_lg_select)(HE_LG_VL mask, HE_LG_VD a)
{
    return (HE_LG_VD)((HE_LG_VL)a & mask);
}

/* The lanes added as a balanced tree (lane j with lane j + W/2 first). */
HE_ALWAYS_INLINE double HE_LG_V(he_lg_hsum)(HE_LG_VD v)
{
#if HE_LG_W == 8
    return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
#else
    return (v[0] + v[2]) + (v[1] + v[3]);
#endif
}

HE_ALWAYS_INLINE HE_LG_VD HE_LG_V(he_lg_max2)(HE_LG_VD a, HE_LG_VD b)
{
    HE_LG_VL gt = b > a;  /* NaN in b: keeps a */
    return (HE_LG_VD)(((HE_LG_VL)b & gt) | ((HE_LG_VL)a & ~gt));
}

/* HE_LG_W elements at x + i (float32 widened exactly when f32). */
HE_ALWAYS_INLINE HE_LG_VD HE_LG_V(he_lg_loadv)(const void *x, ptrdiff_t i, int f32)
{
    HE_LG_VD v;
    if (f32) {
        const float *f = (const float *)x + i;
#if HE_LG_W == 8
        HE_LG_VD w = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]};
#else
        HE_LG_VD w = {f[0], f[1], f[2], f[3]};
#endif
        v = w;
    } else {
        memcpy(&v, (const double *)x + i, sizeof v);
    }
    return v;
}

/* The first n < HE_LG_W elements, the other lanes `fill`. */
HE_ALWAYS_INLINE HE_LG_VD HE_LG_V(he_lg_loadv_short)(const void *x, ptrdiff_t n,
                                                     double fill, int f32)
{
    HE_LG_VD v = HE_LG_V(he_lg_splat)(fill);
    ptrdiff_t j;
    for (j = 0; j < n; j++)
        v[j] = f32 ? (double)((const float *)x)[j] : ((const double *)x)[j];
    return v;
}

/* Lanes j >= W - rem: the last `rem` elements of a vector loaded at
 * x + n - W (overlapping the previous one), for 0 < rem <= W. */
HE_ALWAYS_INLINE HE_LG_VL HE_LG_V(he_lg_tail_mask)(ptrdiff_t rem)
{
#if HE_LG_W == 8
    const HE_LG_VL iota = {0, 1, 2, 3, 4, 5, 6, 7};
#else
    const HE_LG_VL iota = {0, 1, 2, 3};
#endif
    HE_LG_VL first = {0};
    first += HE_LG_W - (long long)rem;
    return iota >= first;
}

/* The last vector of a row of n elements whose first i are done: either the
 * W elements ending at n with the lanes already seen masked off, or
 * (n < W) the padded row. */
HE_ALWAYS_INLINE HE_LG_VD HE_LG_V(he_lg_tail)(const void *x, ptrdiff_t n, ptrdiff_t i,
                                              int f32, HE_LG_VL *valid)
{
    if (n >= HE_LG_W) {
        *valid = HE_LG_V(he_lg_tail_mask)(n - i);
        return HE_LG_V(he_lg_loadv)(x, n - HE_LG_W, f32);
    }
    *valid = HE_LG_V(he_lg_tail_mask)(HE_LG_W);
    return HE_LG_V(he_lg_loadv_short)(x, n, -HUGE_VAL, f32);
}

/* exp(d) for d <= 0 (any lanes: -inf and d < -708 give 0, NaN stays NaN).
 * d = (N k + j) ln2/N + f with |f| <= ln2/(2N) (Cody-Waite, fdlibm's ln2
 * split), e^d = 2^k 2^(j/N) (1 + q(f)), q a near-minimax polynomial (mpmath
 * chebyfit, coefficients rounded to double), the result formed as T + T q
 * with T = 2^k 2^(j/N) (exponent bits added to the table entry).  Within
 * 1 ulp of exp.  Results below 2^-1022 (d < -708) are flushed to 0: relative
 * to the largest term of a block, 1, that is below half an ulp of any sum.
 * The table 2^(j/N) is one vector, looked up with __builtin_shuffle, so it
 * has one entry per lane: N = HE_LG_W.  That is why the widths differ here:
 * N = 8 halves |f|, so a degree-7 q (4.9e-18 relative) does what N = 4
 * needs degree 8 for (5.4e-18); the constants, the table and the
 * polynomial's evaluation scheme are per width, the rest is shared. */
HE_ALWAYS_INLINE HE_LG_VD HE_LG_V(he_lg_exp_le0)(HE_LG_VD d)
{
#if HE_LG_W == 8
    const HE_LG_VD table = {1.0, 1.0905077326652577, 1.189207115002721,
                            1.2968395546510096, 1.4142135623730951,
                            1.5422108254079407, 1.681792830507429,
                            1.8340080864093424};
    const double n_over_ln2 = 11.541560327111707;
    const double ln2_over_n_hi = 0.08664339754614048;
    const double ln2_over_n_lo = 2.3852686615882346e-11;
    const int log2_n = 3;
#else
    const HE_LG_VD table = {1.0, 1.189207115002721, 1.4142135623730951,
                            1.681792830507429};
    const double n_over_ln2 = 5.7707801635558535;
    const double ln2_over_n_hi = 0.17328679509228095;
    const double ln2_over_n_lo = 4.770537323176469e-11;
    const int log2_n = 2;
#endif
    const HE_LG_VD shifter = HE_LG_V(he_lg_splat)(0x1.8p52);
    HE_LG_VD t = d * HE_LG_V(he_lg_splat)(n_over_ln2) + shifter;
    HE_LG_VD k = t - shifter;
    HE_LG_VD f = d - k * HE_LG_V(he_lg_splat)(ln2_over_n_hi);
    HE_LG_VD f2, p0, p1, p2, p3, q;
    HE_LG_VL bits = (HE_LG_VL)t, tk;
    f = f - k * HE_LG_V(he_lg_splat)(ln2_over_n_lo);
    f2 = f * f;
#if HE_LG_W == 8
    /* Degree 7, q = f + c2 f^2 + ... + c7 f^7. */
    p1 = HE_LG_V(he_lg_splat)(0.500000000000041) + f * HE_LG_V(he_lg_splat)(0.16666666666667124);
    p2 = HE_LG_V(he_lg_splat)(0.041666666557421704) + f * HE_LG_V(he_lg_splat)(0.008333333321195088);
    p3 = HE_LG_V(he_lg_splat)(0.0013889820039083881) + f * HE_LG_V(he_lg_splat)(0.00019842304447202847);
    p0 = f + f2 * p1;
    p2 = p2 + f2 * p3;
    q = p0 + (f2 * f2) * p2;
#else
    /* Degree 8, q = f (c1 + c2 f + ... + c8 f^7). */
    p0 = HE_LG_V(he_lg_splat)(0.9999999999999997) + f * HE_LG_V(he_lg_splat)(0.49999999999999994);
    p1 = HE_LG_V(he_lg_splat)(0.16666666666721358) + f * HE_LG_V(he_lg_splat)(0.04166666666672136);
    p2 = HE_LG_V(he_lg_splat)(0.008333333071119971) + f * HE_LG_V(he_lg_splat)(0.001388888862668141);
    p3 = HE_LG_V(he_lg_splat)(0.00019845925935442341) + f * HE_LG_V(he_lg_splat)(2.4806243316303618e-05);
    p0 = p0 + f2 * p1;
    p2 = p2 + f2 * p3;
    q = f * (p0 + (f2 * f2) * p2);
#endif
    /* In unsigned lanes: for arguments far below -708 (masked out below) the
     * bits are large and the signed sum would overflow; the kept bits are the
     * same either way. */
    tk = (HE_LG_VL)((HE_LG_VU)__builtin_shuffle(table, bits & (HE_LG_W - 1))
                    + (((HE_LG_VU)bits >> log2_n) << 52));
    q = (HE_LG_VD)tk * q + (HE_LG_VD)tk;
    /* ~(d < -708): keeps NaN lanes (their compare is false). */
    return HE_LG_V(he_lg_select)(~(d < HE_LG_V(he_lg_splat)(-708.0)), q);
}

HE_ALWAYS_INLINE double HE_LG_V(he_lg_max_body)(const void *x, ptrdiff_t n, int f32)
{
    HE_LG_VD mx = HE_LG_V(he_lg_splat)(-HUGE_VAL), mx1 = mx;
    HE_LG_VL valid;
    ptrdiff_t i = 0;
    double m;
    int j;
    for (; i + 2 * HE_LG_W <= n; i += 2 * HE_LG_W) {
        mx = HE_LG_V(he_lg_max2)(mx, HE_LG_V(he_lg_loadv)(x, i, f32));
        mx1 = HE_LG_V(he_lg_max2)(mx1, HE_LG_V(he_lg_loadv)(x, i + HE_LG_W, f32));
    }
    for (; i + HE_LG_W <= n; i += HE_LG_W)
        mx = HE_LG_V(he_lg_max2)(mx, HE_LG_V(he_lg_loadv)(x, i, f32));
    if (i < n)  /* max does not mind seeing elements twice */
        mx1 = HE_LG_V(he_lg_max2)(mx1, HE_LG_V(he_lg_tail)(x, n, i, f32, &valid));
    mx = HE_LG_V(he_lg_max2)(mx, mx1);
    m = mx[0];
    for (j = 1; j < HE_LG_W; j++)
        m = mx[j] > m ? mx[j] : m;
    return m;
}

HE_ALWAYS_INLINE double HE_LG_V(he_lg_exp_sum_body)(const void *x, ptrdiff_t n, double m,
                                                    double *neg, int f32)
{
    /* Two vectors per iteration, with independent accumulators.  A lane
     * equal to m adds 0 to acc and 1 to ties: r leaves one of them out. */
    HE_LG_VD acc0 = HE_LG_V(he_lg_splat)(0.0), acc1 = acc0, nacc0 = acc0, nacc1 = acc0;
    HE_LG_VD ties0 = acc0, ties1 = acc0, zero = acc0;
    HE_LG_VD mv = HE_LG_V(he_lg_splat)(m), one = HE_LG_V(he_lg_splat)(1.0);
    HE_LG_VL valid;
    ptrdiff_t i = 0;
    for (; i + 2 * HE_LG_W <= n; i += 2 * HE_LG_W) {
        HE_LG_VD v0 = HE_LG_V(he_lg_loadv)(x, i, f32);
        HE_LG_VD v1 = HE_LG_V(he_lg_loadv)(x, i + HE_LG_W, f32);
        HE_LG_VD e0 = HE_LG_V(he_lg_exp_le0)(v0 - mv), e1 = HE_LG_V(he_lg_exp_le0)(v1 - mv);
        HE_LG_VL q0 = v0 == mv, q1 = v1 == mv;
        acc0 += e0 - HE_LG_V(he_lg_select)(q0, e0);
        acc1 += e1 - HE_LG_V(he_lg_select)(q1, e1);
        ties0 += HE_LG_V(he_lg_select)(q0, one);
        ties1 += HE_LG_V(he_lg_select)(q1, one);
        if (neg != NULL) {
            nacc0 += HE_LG_V(he_lg_select)(e0 > zero, e0 * (mv - v0));
            nacc1 += HE_LG_V(he_lg_select)(e1 > zero, e1 * (mv - v1));
        }
    }
    for (; i < n; i += HE_LG_W) {
        HE_LG_VD v, e;
        HE_LG_VL q;
        if (i + HE_LG_W <= n) {
            v = HE_LG_V(he_lg_loadv)(x, i, f32);
            valid = ~(HE_LG_VL){0};
        } else {
            v = HE_LG_V(he_lg_tail)(x, n, i, f32, &valid);
        }
        /* Masks are applied one at a time: GCC 12 scalarises `m1 & m2`
         * of two AVX-512 compares. */
        e = HE_LG_V(he_lg_select)(valid, HE_LG_V(he_lg_exp_le0)(v - mv));
        q = v == mv;
        acc0 += e - HE_LG_V(he_lg_select)(q, e);
        ties0 += HE_LG_V(he_lg_select)(valid, HE_LG_V(he_lg_select)(q, one));
        if (neg != NULL)
            nacc0 += HE_LG_V(he_lg_select)(e > zero, e * (mv - v));
    }
    if (neg != NULL)
        *neg = HE_LG_V(he_lg_hsum)(nacc0 + nacc1);
    return HE_LG_V(he_lg_hsum)(acc0 + acc1) + (HE_LG_V(he_lg_hsum)(ties0 + ties1) - 1.0);
}

/* One vector of a KL block: the lanes of `valid` only.  Masks are applied
 * one at a time, as in he_lg_exp_sum_body. */
HE_ALWAYS_INLINE void HE_LG_V(he_lg_kl_step)(
        HE_LG_VD va, HE_LG_VD vb, HE_LG_VL valid, HE_LG_VD mav, HE_LG_VD mbv,
        HE_LG_VD *aacc, HE_LG_VD *bacc, HE_LG_VD *aties, HE_LG_VD *bties,
        HE_LG_VD *cacc, HE_LG_VD *unb)
{
    HE_LG_VD ninf = HE_LG_V(he_lg_splat)(-HUGE_VAL), one = HE_LG_V(he_lg_splat)(1.0);
    HE_LG_VD zero = HE_LG_V(he_lg_splat)(0.0);
    HE_LG_VD da = va - mav, db = vb - mbv;
    HE_LG_VD ea = HE_LG_V(he_lg_select)(valid, HE_LG_V(he_lg_exp_le0)(da));
    HE_LG_VD eb = HE_LG_V(he_lg_select)(valid, HE_LG_V(he_lg_exp_le0)(db));
    HE_LG_VL qa = va == mav, qb = vb == mbv, bfin = vb > ninf;
    *aacc += ea - HE_LG_V(he_lg_select)(qa, ea);
    *bacc += eb - HE_LG_V(he_lg_select)(qb, eb);
    *aties += HE_LG_V(he_lg_select)(valid, HE_LG_V(he_lg_select)(qa, one));
    *bties += HE_LG_V(he_lg_select)(valid, HE_LG_V(he_lg_select)(qb, one));
    *cacc += HE_LG_V(he_lg_select)(bfin, HE_LG_V(he_lg_select)(ea > zero, ea * (da - db)));
    *unb += HE_LG_V(he_lg_select)(valid, HE_LG_V(he_lg_select)(
        va > ninf, one - HE_LG_V(he_lg_select)(bfin, one)));
}

HE_ALWAYS_INLINE double HE_LG_V(he_lg_kl_sums_body)(const double *a, const double *b,
                                                    ptrdiff_t n, double ma, double mb,
                                                    double *ra, double *rb, double *c)
{
    HE_LG_VD aacc = HE_LG_V(he_lg_splat)(0.0), bacc = aacc, cacc = aacc, unb = aacc;
    HE_LG_VD aties = aacc, bties = aacc;
    HE_LG_VD mav = HE_LG_V(he_lg_splat)(ma), mbv = HE_LG_V(he_lg_splat)(mb);
    HE_LG_VL all = ~(HE_LG_VL){0}, valid;
    ptrdiff_t i;
    for (i = 0; i + HE_LG_W <= n; i += HE_LG_W)
        HE_LG_V(he_lg_kl_step)(HE_LG_V(he_lg_loadv)(a, i, 0), HE_LG_V(he_lg_loadv)(b, i, 0),
                               all, mav, mbv, &aacc, &bacc, &aties, &bties, &cacc, &unb);
    if (i < n) {
        /* The last, partial vector: lanes already counted are masked. */
        HE_LG_VD va = HE_LG_V(he_lg_tail)(a, n, i, 0, &valid);
        HE_LG_VD vb = HE_LG_V(he_lg_tail)(b, n, i, 0, &valid);
        HE_LG_V(he_lg_kl_step)(va, vb, valid, mav, mbv, &aacc, &bacc, &aties, &bties,
                               &cacc, &unb);
    }
    *ra = HE_LG_V(he_lg_hsum)(aacc) + (HE_LG_V(he_lg_hsum)(aties) - 1.0);
    *rb = HE_LG_V(he_lg_hsum)(bacc) + (HE_LG_V(he_lg_hsum)(bties) - 1.0);
    *c = HE_LG_V(he_lg_hsum)(cacc);
    return HE_LG_V(he_lg_hsum)(unb);
}

HE_ALWAYS_INLINE void HE_LG_V(he_lg_exp_scaled_body)(const double *x, ptrdiff_t n,
                                                     double m, double scale, double *out)
{
    HE_LG_VD mv = HE_LG_V(he_lg_splat)(m), sv = HE_LG_V(he_lg_splat)(scale);
    HE_LG_VL valid;
    ptrdiff_t i = 0, j;
    for (; i + HE_LG_W <= n; i += HE_LG_W) {
        HE_LG_VD e = HE_LG_V(he_lg_exp_le0)(HE_LG_V(he_lg_loadv)(x, i, 0) - mv) * sv;
        memcpy(out + i, &e, sizeof e);
    }
    if (i < n) {
        HE_LG_VD e = HE_LG_V(he_lg_exp_le0)(HE_LG_V(he_lg_tail)(x, n, i, 0, &valid) - mv) * sv;
        if (n >= HE_LG_W)
            for (j = 0; j < HE_LG_W; j++)
                out[n - HE_LG_W + j] = e[j];
        else
            for (j = 0; j < n; j++)
                out[j] = e[j];
    }
}

#endif  /* HE_LG_W */
