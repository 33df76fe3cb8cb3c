/* histentropy/config.h -- compiler portability and the list of input types.
 *
 * Part of histentropy's header-only C99 core (see histentropy.h).
 */
#ifndef HISTENTROPY_CONFIG_H
#define HISTENTROPY_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#  define HE_ALWAYS_INLINE static inline __attribute__((always_inline))
#  define HE_ALIGN64 __attribute__((aligned(64)))
#  define HE_UNUSED __attribute__((unused))
#else
#  define HE_ALWAYS_INLINE static inline
#  define HE_ALIGN64
#  define HE_UNUSED
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#  define HE_RESTRICT __restrict
#else
#  define HE_RESTRICT restrict
#endif

/* Every weight type the kernels read directly, as X(C type, suffix, code).
 * The code is the value the drivers pass for a dtype (he_type_code); the
 * suffix names the typed functions (he_entropy_f64, ...). */
#define HE_FOR_EACH_TYPE(X)                                                    \
    X(double, f64, 0) X(float, f32, 1)                                         \
    X(int8_t, i8, 2) X(int16_t, i16, 3) X(int32_t, i32, 4) X(int64_t, i64, 5)  \
    X(uint8_t, u8, 6) X(uint16_t, u16, 7) X(uint32_t, u32, 8)                  \
    X(uint64_t, u64, 9)

#define HE_N_TYPES 10

/* A switch over the type codes: each case returns HE_CALL(code), or with
 * HE_SWITCH_TYPE_T, HE_CALL_T(T, suffix); define HE_CALL / HE_CALL_T before
 * use.  A function written once with the code as an argument, called with a
 * constant code in each case, is thereby compiled once per type. */
#define HE_TYPE_CASE(T, tname, code) case code: return HE_CALL(code);
#define HE_TYPE_CASE_T(T, tname, code) case code: return HE_CALL_T(T, tname);
#define HE_SWITCH_TYPE(type) switch (type) { HE_FOR_EACH_TYPE(HE_TYPE_CASE) }
#define HE_SWITCH_TYPE_T(type) switch (type) { HE_FOR_EACH_TYPE(HE_TYPE_CASE_T) }

/* Many histograms as a (shape0, shape1, n) view: slice r is (r / shape1,
 * r % shape1), stride0 and stride1 bytes per index from the base; its n
 * elements are `stride` elements apart (any sign). */
typedef struct {
    ptrdiff_t shape0, shape1, n;
    ptrdiff_t stride0, stride1, stride;
} he_slices;

#endif /* HISTENTROPY_CONFIG_H */
