/* histentropy/instantiate.h -- compile one kernel body once per CPU path.
 *
 * No include guard: include it with HE_CPU_BODY defined to a header name.
 * The body is included once per path of dispatch.h, under that path's
 * target pragma, with
 *   HE_ISA(name)   the name with the path's suffix (name_avx512, ...),
 *   HE_ISA_PATH    the path's id (HE_CPU_AVX512, ...),
 * and __FMA__ / __AVX512F__ set as the target has them.  Call the copies
 * with HE_CPU_CALL(name, (args)).  Helpers the body calls that are defined
 * outside it (always inline, default target) are inlined into every copy.
 * HE_CPU_BODY is undefined afterwards.
 */
#include "dispatch.h"

#if HE_CPU_X86
#pragma GCC push_options
#pragma GCC target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2,avx512f,avx512dq,avx512cd,avx512bw,avx512vl")
#define HE_ISA(name) name##_avx512
#define HE_ISA_PATH HE_CPU_AVX512
#include HE_CPU_BODY
#undef HE_ISA
#undef HE_ISA_PATH
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("sse3,ssse3,sse4.1,sse4.2,popcnt,avx,avx2,fma,bmi,bmi2")
#define HE_ISA(name) name##_avx2
#define HE_ISA_PATH HE_CPU_AVX2
#include HE_CPU_BODY
#undef HE_ISA
#undef HE_ISA_PATH
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("sse3,ssse3,sse4.1,sse4.2,popcnt")
#define HE_ISA(name) name##_sse42
#define HE_ISA_PATH HE_CPU_SSE42
#include HE_CPU_BODY
#undef HE_ISA
#undef HE_ISA_PATH
#pragma GCC pop_options
#endif /* HE_CPU_X86 */

#define HE_ISA(name) name##_generic
#define HE_ISA_PATH HE_CPU_GENERIC
#include HE_CPU_BODY
#undef HE_ISA
#undef HE_ISA_PATH

#undef HE_CPU_BODY
