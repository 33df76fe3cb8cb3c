/* histentropy/widen_simd.h -- a weight as a double, per CPU path.
 *
 * No include guard: each *_simd.h body includes it, so that it is defined
 * under the target of each copy.  HE_WIDEN(v) and HE_WIDEN_BAD(v) read
 * `he_code`, the type code of v (config.h), which each typed function
 * declares as a constant.  Before AVX-512DQ there is no vector conversion of
 * 64-bit integers, and GCC leaves a loop scalar for one (double) of them:
 * int64 and uint64 weights are converted through the bits of 1.5 2^52 + v
 * instead, exact for |v| < 2^51, and HE_WIDEN_BAD is 1 for the others (a
 * first read counts it as bad, so that the general read takes the slice).
 */
#undef HE_WIDEN_BY_BITS
#undef HE_WIDEN
#undef HE_WIDEN_BAD
#if defined(__AVX512DQ__)
#define HE_WIDEN_BY_BITS 0
#define HE_WIDEN(v) ((double)(v))
#define HE_WIDEN_BAD(v) 0.0
#else
/* 1 where v's type is converted through the bits */
#define HE_WIDEN_BY_BITS (he_code == 5 || he_code == 9)
#define HE_WIDEN(v)                                                            \
    (HE_WIDEN_BY_BITS                                                          \
     ? he__asdouble((uint64_t)(v) + UINT64_C(0x4338000000000000)) - 0x1.8p52   \
     : (double)(v))
#define HE_WIDEN_BAD(v)                                                        \
    ((HE_WIDEN_BY_BITS && (((uint64_t)(v) + (UINT64_C(1) << 51)) >> 52) != 0) ? 1.0 : 0.0)
#endif
