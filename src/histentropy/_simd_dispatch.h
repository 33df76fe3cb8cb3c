/* _simd_dispatch.h -- compile one kernel source for several instruction sets
 * and pick the best one at run time.
 *
 * Why
 * ---
 * A wheel must run on any CPU of its platform, so the default build cannot
 * use -march=native or -mavx2.  Instead the SAME kernel source is compiled
 * up to four times in one translation unit, each copy under its own
 * `#pragma GCC target(...)`, with a name suffix:
 *
 *   path     suffix     instruction sets (GCC target)            x86-64 level
 *   avx512   _avx512    v3 + avx512f/dq/cd/bw/vl                 ~ v4
 *   avx2     _avx2      v2 + avx, avx2, fma, bmi, bmi2           ~ v3
 *   sse42    _sse42     sse3, ssse3, sse4.1, sse4.2, popcnt      ~ v2
 *   generic  _generic   the compiler's defaults (SSE2 on x86-64; NEON on
 *                       aarch64; whatever the platform has)
 *
 * and he_simd_path() chooses at run time (once, cached) from
 * __builtin_cpu_supports.  The pragmas list exactly the ISA extensions that
 * he_simd_best_path() checks (so a variant never uses one it did not check;
 * `arch=x86-64-v4` would also enable e.g. lzcnt/movbe/f16c, unchecked).
 * Helpers defined outside the regions (default target) are inlined into
 * every variant by GCC 12 (checked in the built module: no calls in the
 * loops).
 * The multi-versioned paths exist only for GCC on x86-64 (HE_SIMD_X86);
 * elsewhere (aarch64, clang, MSVC) only the generic path is built, and the
 * code still compiles and runs.
 *
 * HISTENTROPY_CPU (environment, read once at the first he_simd_path() call)
 * caps the path: "avx512" (alias "x86-64-v4"), "avx2" ("x86-64-v3"), "sse42"
 * ("sse4.2", "x86-64-v2", "baseline"), "generic" -- the values _fastpath.h
 * accepts -- case-insensitive, surrounding blanks ignored.  The path used is the
 * lower of the cap and the best the CPU supports; asking for more than the
 * CPU has is not an error.  An unset or empty variable means no cap.  An
 * unrecognised value is ignored (best available path) and reported by
 * he_simd_env_invalid(); the Python layer (histentropy._simdmath at import)
 * turns that into a RuntimeWarning.
 *
 * How to use it (worked example: S = sum_i x_i log x_i)
 * -----------------------------------------------------
 * 1. Write the kernel body in a header WITHOUT an include guard, naming every
 *    function with HE_SUFFIX(...).  The body may use HE_SIMD_PATH (the enum
 *    value of the path being compiled) but rarely needs to.  Inside a body,
 *    he_log, he_log1p and he_xlogx are macros for the per-target versions
 *    of _vlog.h (FMA form on avx512/avx2, portable form elsewhere).
 *
 *      // _xlogx_body.h   (no include guard: included once per path)
 *      static double HE_SUFFIX(sum_x_log_x)(const double *restrict x, ptrdiff_t n)
 *      {
 *          // FP sums are only vectorised when the source fixes the order of
 *          // the additions (no -ffast-math): keep 8 explicit lane
 *          // accumulators; GCC maps them to one zmm, two ymm or four xmm.
 *          // The order is then the same on every path.
 *          double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
 *          ptrdiff_t i = 0;
 *          for (; i + 8 <= n; i += 8)
 *              for (int j = 0; j < 8; j++)
 *                  acc[j] += he_xlogx(x[i + j]);       // 0 log 0 = 0
 *          double s = ((acc[0] + acc[4]) + (acc[1] + acc[5]))
 *                   + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
 *          for (; i < n; i++)
 *              s += he_xlogx(x[i]);
 *          return s;
 *      }
 *
 *    (_vlog.h has exactly this as he_sum_x_log_x.)  For error that does not
 *    grow with n, call it on blocks of a few thousand elements and add the
 *    block sums with Neumaier compensation (_kernels.pxd's csum_*).
 *    Selects: write `c ? a : b` as he_select(c, a, b) (from _vlog.h) whenever
 *    a or b is a computed FP value -- he_xlogx is he_select(x == 0, 0, x*he_log(x))
 *    -- otherwise GCC moves the computation into a branch and only AVX-512
 *    (masked ops) still vectorises.  Check every variant with
 *    -fopt-info-vec-missed ("control flow in loop" = a select to rewrite).
 *
 * 2. Instantiate it (in a .h/.c of yours, or in a verbatim C block of the
 *    .pyx, `cdef extern from *: """ ... """`):
 *
 *      #include "_vlog.h"                 // he_log, before the body
 *      #define HE_SIMD_BODY "_xlogx_body.h"
 *      #include "_simd_dispatch.h"        // defines sum_x_log_x_{avx512,...}
 *                                         // and #undefs HE_SIMD_BODY
 *      static double sum_x_log_x(const double *x, ptrdiff_t n)
 *      {
 *          return HE_SIMD_CALL(he_simd_path(), sum_x_log_x, (x, n));
 *      }
 *
 *    Repeat the two lines for other bodies in the same translation unit.
 *    `#define HE_SIMD_INSTANTIATE` instead of HE_SIMD_BODY instantiates only
 *    _vlog.h's own kernels (he_log_array, he_log1p_array, he_sum_x_log_x),
 *    as _simdmath.pyx does.
 *
 * 3. In the .pyx, declare and call it from the nogil driver (dispatching once
 *    per call, never per element):
 *
 *      cdef extern from "_my_kernels.h" nogil:
 *          double sum_x_log_x(const double *x, Py_ssize_t n)
 *
 * Nothing here needs extra compiler flags: -O3 (setup.py) is enough; no
 * -march, no -ffast-math.  Verified with GCC 12.2 (objdump of the built
 * _simdmath module, and -fopt-info-vec): the avx512 variants' loops run on
 * zmm registers (8 doubles), avx2 on ymm (4), sse42 on xmm (2), all with
 * FMA where the path has it; the table look-ups are emulated gathers (GCC's
 * generic tuning does not emit vgatherqpd; on this AMD Zen 4 that is as fast
 * as -mtune-ctrl=use_gather).  The generic x86-64 (SSE2) loop stays scalar
 * (no 64-bit vector compares/selects in SSE2).
 */
#ifndef HISTENTROPY_SIMD_DISPATCH_H
#define HISTENTROPY_SIMD_DISPATCH_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum he_simd_path_id {
    HE_SIMD_GENERIC = 0,
    HE_SIMD_SSE42 = 1,
    HE_SIMD_AVX2 = 2,
    HE_SIMD_AVX512 = 3
};

/* Build with -DHE_SIMD_X86=0 to compile the generic path only (a build
 * "capped at the baseline"); the default detects GCC on x86-64. */
#ifndef HE_SIMD_X86
#  if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) \
      && !defined(__INTEL_COMPILER) && !defined(__INTEL_LLVM_COMPILER)
#    define HE_SIMD_X86 1
#  else
#    define HE_SIMD_X86 0
#  endif
#endif

/* Name of a path (the values of HISTENTROPY_CPU); NULL for an invalid id. */
static inline const char *he_simd_path_name(int path)
{
    switch (path) {
    case HE_SIMD_GENERIC: return "generic";
    case HE_SIMD_SSE42: return "sse42";
    case HE_SIMD_AVX2: return "avx2";
    case HE_SIMD_AVX512: return "avx512";
    default: return NULL;
    }
}

/* Path id of a name (or alias, see above; any case, blanks around); -1 if
 * the name is not one of them. */
static inline int he_simd_parse_path(const char *name)
{
    char buf[16];
    size_t n = 0;
    if (name == NULL)
        return -1;
    while (*name == ' ' || *name == '\t' || *name == '\n' || *name == '\r')
        name++;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (n + 1 >= sizeof buf)
            return -1;
        buf[n] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'
                     || buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    if (strcmp(buf, "avx512") == 0 || strcmp(buf, "x86-64-v4") == 0) return HE_SIMD_AVX512;
    if (strcmp(buf, "avx2") == 0 || strcmp(buf, "x86-64-v3") == 0) return HE_SIMD_AVX2;
    if (strcmp(buf, "sse42") == 0 || strcmp(buf, "sse4.2") == 0
        || strcmp(buf, "x86-64-v2") == 0 || strcmp(buf, "baseline") == 0)
        return HE_SIMD_SSE42;
    if (strcmp(buf, "generic") == 0) return HE_SIMD_GENERIC;
    return -1;
}

/* The best path this CPU (and OS: __builtin_cpu_supports checks that the OS
 * saves the AVX / AVX-512 registers) can run, ignoring HISTENTROPY_CPU. */
static inline int he_simd_best_path(void)
{
#if HE_SIMD_X86
    __builtin_cpu_init();
    const int v2 = __builtin_cpu_supports("sse3") && __builtin_cpu_supports("ssse3")
                   && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("sse4.2")
                   && __builtin_cpu_supports("popcnt");
    const int v3 = v2 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2")
                   && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi")
                   && __builtin_cpu_supports("bmi2");
    const int v4 = v3 && __builtin_cpu_supports("avx512f")
                   && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")
                   && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    return v4 ? HE_SIMD_AVX512 : v3 ? HE_SIMD_AVX2 : v2 ? HE_SIMD_SSE42 : HE_SIMD_GENERIC;
#else
    return HE_SIMD_GENERIC;
#endif
}

/* Per translation unit (so per extension module) cache.  Concurrent first
 * calls race benignly: they compute and store the same value. */
static int he_simd__selected = -1;
static int he_simd__env_invalid = 0;

/* The path to use: the best one, capped by HISTENTROPY_CPU. */
static inline int he_simd_path(void)
{
    int path = he_simd__selected;
    if (path < 0) {
        const char *env = getenv("HISTENTROPY_CPU");
        int cap = HE_SIMD_AVX512;
        path = he_simd_best_path();
        if (env != NULL && env[strspn(env, " \t\r\n")] != '\0') {
            const int parsed = he_simd_parse_path(env);
            if (parsed < 0)
                he_simd__env_invalid = 1;
            else
                cap = parsed;
        }
        if (path > cap)
            path = cap;
        he_simd__selected = path;
    }
    return path;
}

/* 1 if HISTENTROPY_CPU was set to an unrecognised value (it was ignored). */
static inline int he_simd_env_invalid(void)
{
    (void)he_simd_path();
    return he_simd__env_invalid;
}

/* Call the variant `name`_<path> with the parenthesised argument list args;
 * an expression of the functions' return type (void works too). */
#if HE_SIMD_X86
#  define HE_SIMD_CALL(path, name, args)                                   \
    ((path) >= HE_SIMD_AVX512 ? name##_avx512 args                         \
     : (path) == HE_SIMD_AVX2 ? name##_avx2 args                           \
     : (path) == HE_SIMD_SSE42 ? name##_sse42 args                         \
     : name##_generic args)
#else
#  define HE_SIMD_CALL(path, name, args) ((void)(path), name##_generic args)
#endif

#endif /* HISTENTROPY_SIMD_DISPATCH_H */


/* ---- instantiation ------------------------------------------------------
 * Each inclusion with HE_SIMD_BODY (a header name) or HE_SIMD_INSTANTIATE
 * defined compiles, once per path and under that path's target pragma:
 * the per-target functions of _vlog.h (first instantiation in the
 * translation unit only, and only if _vlog.h was included before), then the
 * body with he_log / he_log1p / he_xlogx mapped to their per-target versions
 * (which use FMA where the target has it).  The file includes itself once per
 * path with HE__SIMD_ONE_PATH defined. */
#if defined(HE__SIMD_ONE_PATH)

#if defined(HISTENTROPY_VLOG_H) && !defined(HE__SIMD_VLOG_DONE)
#include "_vlog.h"
#endif
#ifdef HE_SIMD_BODY
#ifdef HISTENTROPY_VLOG_H
#define he_log(x) HE_SUFFIX(he_log)(x)
#define he_log1p(x) HE_SUFFIX(he_log1p)(x)
#define he_xlogx(x) HE_SUFFIX(he_xlogx)(x)
#endif
#include HE_SIMD_BODY
#ifdef HISTENTROPY_VLOG_H
#undef he_log
#undef he_log1p
#undef he_xlogx
#endif
#endif /* HE_SIMD_BODY */

#elif defined(HE_SIMD_BODY) || defined(HE_SIMD_INSTANTIATE)

#define HE__SIMD_ONE_PATH
#if HE_SIMD_X86
/* ISA flags only, never arch= (see the top of this file). */
#pragma GCC push_options
#pragma GCC target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl")
#define HE_SUFFIX(name) name##_avx512
#define HE_SIMD_PATH HE_SIMD_AVX512
#include "_simd_dispatch.h"
#undef HE_SUFFIX
#undef HE_SIMD_PATH
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2")
#define HE_SUFFIX(name) name##_avx2
#define HE_SIMD_PATH HE_SIMD_AVX2
#include "_simd_dispatch.h"
#undef HE_SUFFIX
#undef HE_SIMD_PATH
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("sse3,ssse3,sse4.1,sse4.2,popcnt")
#define HE_SUFFIX(name) name##_sse42
#define HE_SIMD_PATH HE_SIMD_SSE42
#include "_simd_dispatch.h"
#undef HE_SUFFIX
#undef HE_SIMD_PATH
#pragma GCC pop_options
#endif /* HE_SIMD_X86 */

#define HE_SUFFIX(name) name##_generic
#define HE_SIMD_PATH HE_SIMD_GENERIC
#include "_simd_dispatch.h"
#undef HE_SUFFIX
#undef HE_SIMD_PATH
#undef HE__SIMD_ONE_PATH

#if defined(HISTENTROPY_VLOG_H) && !defined(HE__SIMD_VLOG_DONE)
#define HE__SIMD_VLOG_DONE
#endif
#undef HE_SIMD_BODY
#undef HE_SIMD_INSTANTIATE
#endif /* instantiation */
