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

/* Every weight type the kernels read directly, as X(C type, suffix, code,
 * a, b) (a, b passed through): the one list of types.  The code is the value
 * the drivers pass for a dtype; the suffix names typed functions
 * (he_entropy_f64, ...). */
#define HE_FOR_EACH_TYPE_WITH(X, kernel, args)                                 \
    X(double, f64, 0, kernel, args) X(float, f32, 1, kernel, args)             \
    X(int8_t, i8, 2, kernel, args) X(int16_t, i16, 3, kernel, args)            \
    X(int32_t, i32, 4, kernel, args) X(int64_t, i64, 5, kernel, args)          \
    X(uint8_t, u8, 6, kernel, args) X(uint16_t, u16, 7, kernel, args)          \
    X(uint32_t, u32, 8, kernel, args) X(uint64_t, u64, 9, kernel, args)
/* The same list as X(C type, suffix, code). */
#define HE_FOR_EACH_TYPE(X) HE_FOR_EACH_TYPE_WITH(HE_TYPE_ONLY, X, ~)
#define HE_TYPE_ONLY(T, tname, code, X, unused) X(T, tname, code)

#define HE_N_TYPES 10

/* A switch over the type codes: each case returns HE_CALL(code), or with
 * HE_SWITCH_TYPE_T, HE_CALL_T(T, suffix); define HE_CALL / HE_CALL_T before
 * use.  A function written once with the code as an argument, called with a
 * constant code in each case, is thereby compiled once per type. */
#define HE_TYPE_CASE(T, tname, code) case code: return HE_CALL(code);
#define HE_TYPE_CASE_T(T, tname, code) case code: return HE_CALL_T(T, tname);
#define HE_SWITCH_TYPE(type) switch (type) { HE_FOR_EACH_TYPE(HE_TYPE_CASE) }
#define HE_SWITCH_TYPE_T(type) switch (type) { HE_FOR_EACH_TYPE(HE_TYPE_CASE_T) }

/* The size in bytes of a weight of type code `type` (0: unknown). */
HE_ALWAYS_INLINE size_t he_type_size(int type)
{
#define HE_CALL_T(T, tname) sizeof(T)
    HE_SWITCH_TYPE_T(type)
#undef HE_CALL_T
    return 0;
}

/* HE_BY_TYPE(ret, name, kernel, params, args, fail) defines
 *     static ret name params
 * (params starting with `int type`), which returns kernel(code, args...)
 * with `code` the constant equal to `type`, or `fail` for an unknown code:
 * the entry point of a kernel written once for every type. */
#define HE_UNPAREN(...) __VA_ARGS__
#define HE_BY_TYPE_CASE(T, tname, code, kernel, args)                          \
    case code: return kernel(code, HE_UNPAREN args);
#define HE_BY_TYPE(ret, name, kernel, params, args, fail)                      \
    HE_UNUSED static ret name params                                           \
    {                                                                          \
        switch (type) { HE_FOR_EACH_TYPE_WITH(HE_BY_TYPE_CASE, kernel, args) } \
        return fail;                                                           \
    }

/* Many histograms as a (shape0, shape1, n) view: slice r is (r / shape1,
 * r % shape1), stride0 and stride1 bytes per index from the base; its n
 * elements are `stride` elements apart (any sign). */
typedef struct {
    ptrdiff_t shape0, shape1, n;
    ptrdiff_t stride0, stride1, stride;
} he_slices;

HE_ALWAYS_INLINE const void *he_slice_at(const void *base, const he_slices *s, ptrdiff_t r)
{
    return (const char *)base + (r / s->shape1) * s->stride0 + (r % s->shape1) * s->stride1;
}

#endif /* HISTENTROPY_CONFIG_H */
