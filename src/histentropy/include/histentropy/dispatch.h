/* histentropy/dispatch.h -- the one run-time CPU dispatcher of histentropy.
 *
 * A wheel must run on any CPU of its platform, so nothing is compiled with
 * -march.  Instead each vectorised kernel body is compiled several times in
 * one translation unit (instantiate.h), each copy under its own
 * `#pragma GCC target` and with its own name suffix, and the best copy the
 * CPU runs is chosen at run time, once:
 *
 *   path      suffix     instruction sets                          level
 *   avx512    _avx512    avx2 path + avx512f/dq/cd/bw/vl           ~ x86-64-v4
 *   avx2      _avx2      sse4.2 path + avx, avx2, fma, bmi, bmi2   ~ x86-64-v3
 *   sse4.2    _sse42     sse3, ssse3, sse4.1, sse4.2, popcnt       ~ x86-64-v2
 *   generic   _generic   the compiler's defaults (SSE2 on x86-64)
 *
 * The target pragmas list exactly the extensions he_cpu_best_path() checks.
 * The multi-versioned paths exist for GCC on x86-64; elsewhere only the
 * generic path is built (define HE_CPU_X86 to 0 to force that).
 *
 * HISTENTROPY_CPU (read once, at the first he_cpu_path() call) caps the
 * path.  Names and aliases, any case, blanks around ignored:
 *   "avx512" | "x86-64-v4";  "avx2" | "x86-64-v3";
 *   "sse4.2" | "sse42" | "x86-64-v2" | "baseline";  "generic".
 * Unset or empty: no cap.  A path above what the CPU has is not an error.
 * An unknown value is ignored (no cap) and reported by
 * he_cpu_env_invalid(); the Python package turns that into a RuntimeWarning.
 */
#ifndef HISTENTROPY_DISPATCH_H
#define HISTENTROPY_DISPATCH_H

#include <stdlib.h>
#include <string.h>

#include "config.h"

enum he_cpu_path_id {
    HE_CPU_GENERIC = 0,
    HE_CPU_SSE42 = 1,
    HE_CPU_AVX2 = 2,
    HE_CPU_AVX512 = 3
};

#ifndef HE_CPU_X86
#  if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) \
      && !defined(__INTEL_COMPILER) && !defined(__INTEL_LLVM_COMPILER)
#    define HE_CPU_X86 1
#  else
#    define HE_CPU_X86 0
#  endif
#endif

/* Name of a path; NULL for an invalid id. */
static inline const char *he_cpu_path_name(int path)
{
    switch (path) {
    case HE_CPU_GENERIC: return "generic";
    case HE_CPU_SSE42: return "sse4.2";
    case HE_CPU_AVX2: return "avx2";
    case HE_CPU_AVX512: return "avx512";
    default: return NULL;
    }
}

/* Path id of a name or alias (see above); -1 if it is none of them. */
static inline int he_cpu_parse_path(const char *name)
{
    static const struct { const char *name; int path; } table[] = {
        {"avx512", HE_CPU_AVX512}, {"x86-64-v4", HE_CPU_AVX512},
        {"avx2", HE_CPU_AVX2}, {"x86-64-v3", HE_CPU_AVX2},
        {"sse4.2", HE_CPU_SSE42}, {"sse42", HE_CPU_SSE42},
        {"x86-64-v2", HE_CPU_SSE42}, {"baseline", HE_CPU_SSE42},
        {"generic", HE_CPU_GENERIC},
    };
    char buf[16];
    size_t n = 0, j;
    if (name == NULL)
        return -1;
    name += strspn(name, " \t\r\n");
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (n + 1 >= sizeof buf)
            return -1;
        buf[n] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    while (n > 0 && strchr(" \t\r\n", buf[n - 1]) != NULL)
        n--;
    buf[n] = '\0';
    for (j = 0; j < sizeof table / sizeof table[0]; j++)
        if (strcmp(buf, table[j].name) == 0)
            return table[j].path;
    return -1;
}

/* The best path this CPU and OS run, ignoring HISTENTROPY_CPU
 * (__builtin_cpu_supports also checks that the OS saves the AVX registers). */
static inline int he_cpu_best_path(void)
{
#if HE_CPU_X86
    int v2, v3, v4;
    __builtin_cpu_init();
    v2 = __builtin_cpu_supports("sse3") && __builtin_cpu_supports("ssse3")
         && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("sse4.2")
         && __builtin_cpu_supports("popcnt");
    v3 = v2 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2")
         && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi")
         && __builtin_cpu_supports("bmi2");
    v4 = v3 && __builtin_cpu_supports("avx512f")
         && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")
         && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    return v4 ? HE_CPU_AVX512 : v3 ? HE_CPU_AVX2 : v2 ? HE_CPU_SSE42 : HE_CPU_GENERIC;
#else
    return HE_CPU_GENERIC;
#endif
}

/* Per translation unit cache: concurrent first calls compute and store the
 * same value. */
static int he_cpu__selected = -1;
static int he_cpu__env_invalid = 0;
#if defined(__GNUC__)
#  define HE_CPU__LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#  define HE_CPU__STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#else
#  define HE_CPU__LOAD(x) (x)
#  define HE_CPU__STORE(x, v) ((x) = (v))
#endif

/* The path in use: the best one, capped by HISTENTROPY_CPU. */
static inline int he_cpu_path(void)
{
    int path = HE_CPU__LOAD(he_cpu__selected);
    if (path < 0) {
        const char *env = getenv("HISTENTROPY_CPU");
        int cap = HE_CPU_AVX512;
        path = he_cpu_best_path();
        if (env != NULL && env[strspn(env, " \t\r\n")] != '\0') {
            int parsed = he_cpu_parse_path(env);
            if (parsed < 0)
                he_cpu__env_invalid = 1;
            else
                cap = parsed;
        }
        if (path > cap)
            path = cap;
        HE_CPU__STORE(he_cpu__selected, path);
    }
    return path;
}

/* 1 if HISTENTROPY_CPU holds an unknown value (which was ignored). */
static inline int he_cpu_env_invalid(void)
{
    (void)he_cpu_path();
    return he_cpu__env_invalid;
}

/* Call name_<path>(args) for the path `path`: an expression of the
 * functions' return type (void works too).  Dispatch once per call, never
 * per element. */
#if HE_CPU_X86
#  define HE_CPU_CALL_PATH(path, name, args)                               \
    ((path) >= HE_CPU_AVX512 ? name##_avx512 args                          \
     : (path) == HE_CPU_AVX2 ? name##_avx2 args                            \
     : (path) == HE_CPU_SSE42 ? name##_sse42 args                          \
     : name##_generic args)
#else
#  define HE_CPU_CALL_PATH(path, name, args) ((void)(path), name##_generic args)
#endif
#define HE_CPU_CALL(name, args) HE_CPU_CALL_PATH(he_cpu_path(), name, args)

#endif /* HISTENTROPY_DISPATCH_H */
