/* histentropy/vlog_avx512.h -- the natural logarithm of eight doubles with
 * AVX-512 intrinsics, for hot loops written for the AVX-512 path, and the
 * steps of the first reads built on it (typed 8-wide loads, the entropy
 * and pair steps).
 *
 * Part of histentropy's header-only C99 core (see histentropy.h).  Include
 * it where AVX-512F and AVX-512DQ are enabled (the avx512 copy of a
 * *_simd.h body); the functions carry that target themselves.
 *
 * he_log8(x) = log x for positive x, subnormals included (zero, infinities
 * and NaN give unspecified values: callers select their special values;
 * subnormals need the CPU's denormals-are-zero mode off, its default),
 * error below
 * 1 ulp (measured 0.86; tests/core/test_vlog_avx512.py checks it against
 * mpmath).  No
 * division, no memory table, no gather:
 *   x = 2^k m, m in [0.75, 1.5)   (getmant; getexp, plus 1 where m < 1)
 *   j = round(16 m) in [12, 24]   c_j = 16/j, held in two registers and
 *                                 picked by a permute, with -log c_j as a
 *                                 double-double (two more permutes)
 *   r = m c_j - 1 (one FMA), |r| <= 1/24
 *   log x = k ln2 - log c_j + log1p(r),
 *   log1p(r) = r - r^2/2 + r^3 Q(r), Q of degree 7 fitted on
 *   [-1/26, 1/24] (error 0.07 ulp of log1p(r)).
 * The large parts k ln2hi (exact: ln2hi has 42 bits) - log c_j and then r
 * are added by Fast2Sum (the larger first: |k ln2| >= 0.69 > 0.29 >=
 * |log c_j| where k != 0, |log c_j| >= 0.06 > 0.042 >= |r| where j != 16,
 * and a zero otherwise), their errors carried with the small parts to one
 * final rounding.  Near x = 1 (k = 0, j = 16: c = 1, -log c = 0) the
 * result is log1p(r) with r = x - 1 exact: full relative accuracy.
 */
#ifndef HISTENTROPY_VLOG_AVX512_H
#define HISTENTROPY_VLOG_AVX512_H

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>

#include "config.h"
#include "sum.h"

#define HE_AVX512_FN static inline __attribute__((always_inline, target("avx512f,avx512dq")))

/* c_j = 16/j, -log c_j = hi + lo, for j = 12 + index (index 13..15 repeat 24). */
static const double he__log8_invc[16] HE_ALIGN64 = {
    0x1.5555555555555p+0, 0x1.3b13b13b13b14p+0, 0x1.2492492492492p+0, 0x1.1111111111111p+0,
    0x1.0000000000000p+0, 0x1.e1e1e1e1e1e1ep-1, 0x1.c71c71c71c71cp-1, 0x1.af286bca1af28p-1,
    0x1.999999999999ap-1, 0x1.8618618618618p-1, 0x1.745d1745d1746p-1, 0x1.642c8590b2164p-1,
    0x1.5555555555555p-1, 0x1.5555555555555p-1, 0x1.5555555555555p-1, 0x1.5555555555555p-1};
static const double he__log8_hi[16] HE_ALIGN64 = {
    -0x1.269621134db91p-2, -0x1.a93ed3c8ad9e5p-3, -0x1.1178e8227e47ap-3, -0x1.08598b59e3a06p-4,
    0x0.0p+0, 0x1.f0a30c01162a8p-5, 0x1.e27076e2af2eap-4, 0x1.5ff3070a793d6p-3,
    0x1.c8ff7c79a9a20p-3, 0x1.1675cababa60fp-2, 0x1.4618bc21c5ec2p-2, 0x1.739d7f6bbd007p-2,
    0x1.9f323ecbf984dp-2, 0x1.9f323ecbf984dp-2, 0x1.9f323ecbf984dp-2, 0x1.9f323ecbf984dp-2};
static const double he__log8_lo[16] HE_ALIGN64 = {
    -0x1.e0efadd9db02ap-56, -0x1.bcafa9de97202p-57, 0x1.0e63a5f01c693p-58, 0x1.dd7009902bf32p-58,
    0x0.0p+0, 0x1.85f325c5bbacdp-59, -0x1.61578001e015ap-60, -0x1.bc60efafc6f6cp-58,
    -0x1.4f689f8434011p-57, 0x1.ce63eab883727p-61, -0x1.7a42642661c62p-61, 0x1.ce24c53fad3f0p-58,
    -0x1.a92e513217f58p-59, -0x1.a92e513217f58p-59, -0x1.a92e513217f58p-59, -0x1.a92e513217f58p-59};

/* The reduction both logs share: x = 2^k m, -log c_j = chi + clo, and
 * r = m c_j - 1 with log1p(r) - r = small. */
HE_AVX512_FN void he__log8_parts(__m512d x, __m512d *k, __m512d *chi, __m512d *clo,
                                 __m512d *r, __m512d *small)
{
    const __m512d one = _mm512_set1_pd(1.0);
    const __m512d m = _mm512_getmant_pd(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
    const __m512d e = _mm512_getexp_pd(x);
    /* 16 m - 12 is exact; its nearest integer, as the low bits of 2^52 + it */
    const __m512d j = _mm512_roundscale_pd(
        _mm512_fmadd_pd(m, _mm512_set1_pd(16.0), _mm512_set1_pd(-12.0)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i index = _mm512_castpd_si512(_mm512_add_pd(j, _mm512_set1_pd(0x1p52)));
    __m512d q, r2;
    *k = _mm512_mask_add_pd(e, _mm512_cmp_pd_mask(m, one, _CMP_LT_OQ), e, one);
    *chi = _mm512_permutex2var_pd(_mm512_load_pd(he__log8_hi), index,
                                  _mm512_load_pd(he__log8_hi + 8));
    *clo = _mm512_permutex2var_pd(_mm512_load_pd(he__log8_lo), index,
                                  _mm512_load_pd(he__log8_lo + 8));
    *r = _mm512_fmsub_pd(m, _mm512_permutex2var_pd(_mm512_load_pd(he__log8_invc), index,
                                                   _mm512_load_pd(he__log8_invc + 8)),
                         one);
    r2 = _mm512_mul_pd(*r, *r);
    q = _mm512_set1_pd(-0x1.95f0723209910p-4);
    q = _mm512_fmadd_pd(q, *r, _mm512_set1_pd(0x1.c847526cffdd8p-4));
    q = _mm512_fmadd_pd(q, *r, _mm512_set1_pd(-0x1.00014fef677b9p-3));
    q = _mm512_fmadd_pd(q, *r, _mm512_set1_pd(0x1.249223796630fp-3));
    q = _mm512_fmadd_pd(q, *r, _mm512_set1_pd(-0x1.555555190bb14p-3));
    q = _mm512_fmadd_pd(q, *r, _mm512_set1_pd(0x1.9999999ca82abp-3));
    q = _mm512_fmadd_pd(q, *r, _mm512_set1_pd(-0x1.0000000001463p-2));
    q = _mm512_fmadd_pd(q, *r, _mm512_set1_pd(0x1.5555555555505p-2));
    /* log1p(r) - r = r^2 (-1/2 + r Q) */
    *small = _mm512_mul_pd(r2, _mm512_fmadd_pd(*r, q, _mm512_set1_pd(-0.5)));
}

HE_AVX512_FN __m512d he_log8(__m512d x)
{
    __m512d k, chi, clo, r, small;
    he__log8_parts(x, &k, &chi, &clo, &r, &small);
    const __m512d kh = _mm512_mul_pd(k, _mm512_set1_pd(0x1.62e42fefa3800p-1));
    const __m512d s = _mm512_add_pd(kh, chi);
    const __m512d s_err = _mm512_add_pd(_mm512_sub_pd(kh, s), chi);
    const __m512d t = _mm512_add_pd(s, r);
    const __m512d t_err = _mm512_add_pd(_mm512_sub_pd(s, t), r);
    const __m512d lo = _mm512_add_pd(
        _mm512_add_pd(_mm512_fmadd_pd(k, _mm512_set1_pd(0x1.ef35793c76730p-45), clo), s_err),
        _mm512_add_pd(t_err, small));
    return _mm512_add_pd(t, lo);
}

/* he_log8 without carrying the roundings of its two large sums (k ln2hi,
 * exact, plus -log c_j; then the rest): error below 2 ulp (measured 1.5),
 * for the first reads, whose error bound allows it (terms.h: they keep a
 * result only where it is 16 times their absolute error, and the log's
 * error enters that bound). */
HE_AVX512_FN __m512d he_log8_fast(__m512d x)
{
    __m512d k, chi, clo, r, small;
    he__log8_parts(x, &k, &chi, &clo, &r, &small);
    return _mm512_add_pd(_mm512_fmadd_pd(k, _mm512_set1_pd(0x1.62e42fefa3800p-1), chi),
                         _mm512_fmadd_pd(k, _mm512_set1_pd(0x1.ef35793c76730p-45),
                                         _mm512_add_pd(r, _mm512_add_pd(small, clo))));
}

/* Eight weights of type code `code` (config.h) from src, as doubles. */
#define HE_WIDEN8(T, tname, code)                                              \
HE_AVX512_FN __m512d he_widen8_##tname(const T *src)                           \
{                                                                              \
    double buf[8];                                                             \
    int k;                                                                     \
    for (k = 0; k < 8; k++) buf[k] = (double)src[k];                           \
    return _mm512_loadu_pd(buf);                                               \
}
HE_FOR_EACH_TYPE(HE_WIDEN8)
#undef HE_WIDEN8
/* The first `count` (<= 8) of them, zeros after. */
#define HE_WIDEN8_FIRST(T, tname, code)                                        \
HE_AVX512_FN __m512d he_widen8_first_##tname(const T *src, ptrdiff_t count)    \
{                                                                              \
    double buf[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};                  \
    ptrdiff_t k;                                                               \
    for (k = 0; k < count; k++) buf[k] = (double)src[k];                       \
    return _mm512_loadu_pd(buf);                                               \
}
HE_FOR_EACH_TYPE(HE_WIDEN8_FIRST)
#undef HE_WIDEN8_FIRST
#define HE_LOAD8_FIRST(tname, code, src, count)                                \
    ((count) == 8 ? HE_LOAD8(tname, code, src)                                 \
     : (code) == 0 ? _mm512_maskz_loadu_pd((__mmask8)((1u << (count)) - 1u),   \
                                           (const double *)(src))              \
     : he_widen8_first_##tname(src, count))
#define HE_LOAD8(tname, code, src)                                             \
    ((code) == 0 ? _mm512_loadu_pd((const double *)(src))                      \
     : (code) == 5 ? _mm512_cvtepi64_pd(_mm512_loadu_si512((const void *)(src))) \
     : (code) == 4 ? _mm512_cvtepi32_pd(_mm256_loadu_si256((const void *)(src))) \
     : he_widen8_##tname(src))

/* Steps of the first reads written for this path (dense_simd.h,
 * sparse_simd.h), on vectors of eight weights, with he_log8_fast; they use
 * `zero` and `one` and, for pairs, `dbl_min` and `dbl_max` of the caller.
 * A bad weight (NaN, negative, infinite: he_fpclass of HE_BAD_CLASSES)
 * adds one to `bd`; `neg` sums the negative terms once (the sums of
 * dense.h take twice that).
 * TwoSum of each lane: hi + lo += w exactly. */
#define HE_BAD_CLASSES 0xD9   /* QNaN, +inf, -inf, negative finite, SNaN */
#define HE_AVX512_TWO_SUM(hi, lo, w)                                           \
    do {                                                                       \
        __m512d s_two_sum_ = _mm512_add_pd(hi, w);                             \
        __m512d b_two_sum_ = _mm512_sub_pd(s_two_sum_, hi);                    \
        lo = _mm512_add_pd(lo, _mm512_add_pd(                                  \
            _mm512_sub_pd(hi, _mm512_sub_pd(s_two_sum_, b_two_sum_)),          \
            _mm512_sub_pd(w, b_two_sum_)));                                    \
        hi = s_two_sum_;                                                       \
    } while (0)
/* The entropy read's step: the total, w log w (0 log 0 = 0 by a mask), bad
 * weights and the negative terms. */
#define HE_AVX512_ENTROPY_STEP(w, hi, lo, sum, neg, bd)                        \
    do {                                                                       \
        __m512d term_ = _mm512_maskz_mul_pd(                                   \
            _mm512_cmp_pd_mask(w, zero, _CMP_GT_OQ), w, he_log8_fast(w));      \
        bd = _mm512_mask_add_pd(bd, _mm512_fpclass_pd_mask(w, HE_BAD_CLASSES), bd, one); \
        HE_AVX512_TWO_SUM(hi, lo, w);                                          \
        sum = _mm512_add_pd(sum, term_);                                       \
        neg = _mm512_mask_add_pd(neg, _mm512_cmp_pd_mask(term_, zero, _CMP_LT_OQ), \
                                 neg, term_);                                  \
    } while (0)
/* The pair read's step: the totals by TwoSum, the entropy term (NEED_H, a
 * constant), and a log(a/b) = a log r + (a - r b) with r = a/b rounded and
 * its remainder exact by FMA, as he_pair_element; the same special cases
 * by masks: a > 0 with b = 0 counts as unbounded, a ratio outside the
 * normal range as bad (the general read takes the difference of logs). */
#define HE_AVX512_PAIR_STEP(a, b, NEED_H, ph, pl, qh, ql, as, an, bs, bn, bd, unb) \
    do {                                                                       \
        const __mmask8 pos_ = _mm512_cmp_pd_mask(a, zero, _CMP_GT_OQ);         \
        const __mmask8 bzero_ = _mm512_cmp_pd_mask(b, zero, _CMP_EQ_OQ);       \
        const __m512d r_ = _mm512_div_pd(a, b);                                \
        const __mmask8 ok_ = pos_ & _mm512_cmp_pd_mask(r_, dbl_min, _CMP_GE_OQ) \
                             & _mm512_cmp_pd_mask(r_, dbl_max, _CMP_LE_OQ);    \
        __m512d t_ = _mm512_maskz_fmadd_pd(ok_, a, he_log8_fast(r_),           \
                                           _mm512_fnmadd_pd(r_, b, a));        \
        bd = _mm512_mask_add_pd(bd, (pos_ & ~bzero_ & ~ok_)                    \
                                    | _mm512_fpclass_pd_mask(a, HE_BAD_CLASSES) \
                                    | _mm512_fpclass_pd_mask(b, HE_BAD_CLASSES), \
                                bd, one);                                      \
        unb = _mm512_mask_add_pd(unb, pos_ & bzero_, unb, a);                  \
        HE_AVX512_TWO_SUM(ph, pl, a);                                          \
        HE_AVX512_TWO_SUM(qh, ql, b);                                          \
        if (NEED_H) {                                                          \
            __m512d h_ = _mm512_maskz_mul_pd(pos_, a, he_log8_fast(a));        \
            as = _mm512_add_pd(as, h_);                                        \
            an = _mm512_mask_add_pd(an, _mm512_cmp_pd_mask(h_, zero, _CMP_LT_OQ), an, h_); \
        }                                                                      \
        bs = _mm512_add_pd(bs, t_);                                            \
        bn = _mm512_mask_add_pd(bn, _mm512_cmp_pd_mask(t_, zero, _CMP_LT_OQ), bn, t_); \
    } while (0)
/* The exact-as-TwoSum total of eight lanes hi + lo: a tree of TwoSums over
 * the swapped halves, quarters and neighbours (every lane ends with the
 * total). */
#define HE_TOTAL8_LEVEL(SWAP)                                                  \
    do {                                                                       \
        __m512d h2_ = SWAP(h), s_ = _mm512_add_pd(h, h2_);                     \
        __m512d b_ = _mm512_sub_pd(s_, h);                                     \
        l = _mm512_add_pd(_mm512_add_pd(l, SWAP(l)),                           \
                          _mm512_add_pd(_mm512_sub_pd(h, _mm512_sub_pd(s_, b_)), \
                                        _mm512_sub_pd(h2_, b_)));              \
        h = s_;                                                                \
    } while (0)
#define HE_SWAP_HALVES(x) _mm512_shuffle_f64x2(x, x, 0x4E)
#define HE_SWAP_QUARTERS(x) _mm512_shuffle_f64x2(x, x, 0xB1)
#define HE_SWAP_NEIGHBOURS(x) _mm512_permute_pd(x, 0x55)
HE_AVX512_FN he_csum he_total8(__m512d h, __m512d l)
{
    he_csum total;
    HE_TOTAL8_LEVEL(HE_SWAP_HALVES);
    HE_TOTAL8_LEVEL(HE_SWAP_QUARTERS);
    HE_TOTAL8_LEVEL(HE_SWAP_NEIGHBOURS);
    total.hi = _mm512_cvtsd_f64(h);
    total.lo = _mm512_cvtsd_f64(l);
    return total;
}

/* The same of sixteen lanes, two vectors of eight each (one TwoSum per
 * lane first). */
HE_AVX512_FN he_csum he_total16(__m512d h0, __m512d l0, __m512d h1, __m512d l1)
{
    HE_AVX512_TWO_SUM(h0, l0, h1);
    return he_total8(h0, _mm512_add_pd(l0, l1));
}

#endif /* x86 GCC */
#endif /* HISTENTROPY_VLOG_AVX512_H */
