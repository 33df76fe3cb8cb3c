/* histentropy/vlog_simd.h -- the logarithms of vlog.h over arrays, per CPU
 * path (no include guard: instantiated by instantiate.h, so __FMA__ is the
 * target's).  The testbed histentropy._simdmath calls them to check every
 * path's accuracy. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#  define HE__USE_FMA 1
#else
#  define HE__USE_FMA 0
#endif
HE_ALWAYS_INLINE double HE_ISA(he_log)(double x) { return he__log(x, HE__USE_FMA); }
HE_ALWAYS_INLINE double HE_ISA(he_log1p)(double x) { return he__log1p(x, HE__USE_FMA); }
HE_ALWAYS_INLINE double HE_ISA(he_xlogx)(double x) { return he__xlogx(x, HE__USE_FMA); }
HE_ALWAYS_INLINE double HE_ISA(he_log_notable)(double x) { return he__log_notable(x, HE__USE_FMA); }
HE_ALWAYS_INLINE double HE_ISA(he_xlogx_notable)(double x)
{
    return he__xlogx_notable(x, HE__USE_FMA);
}
#undef HE__USE_FMA

static HE_UNUSED void HE_ISA(he_log_array)(const double *HE_RESTRICT x,
                                               double *HE_RESTRICT y, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = HE_ISA(he_log)(x[i]);
}

static HE_UNUSED void HE_ISA(he_log1p_array)(const double *HE_RESTRICT x,
                                                 double *HE_RESTRICT y, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = HE_ISA(he_log1p)(x[i]);
}

static HE_UNUSED void HE_ISA(he_log_notable_array)(const double *HE_RESTRICT x,
                                                       double *HE_RESTRICT y, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = HE_ISA(he_log_notable)(x[i]);
}

/* sum_i x_i log x_i (0 log 0 = 0).  Without -ffast-math GCC vectorises an FP
 * sum only if the source fixes the order of the additions: 8 explicit lane
 * accumulators, which GCC maps to one zmm, two ymm or four xmm registers.
 * The order of additions is then the same on every path.  Plain sums: the
 * caller blocks and compensates (error independent of n). */
static HE_UNUSED double HE_ISA(he_sum_x_log_x)(const double *HE_RESTRICT x, ptrdiff_t n)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += HE_ISA(he_xlogx)(x[i + j]);
    double s = ((acc[0] + acc[4]) + (acc[1] + acc[5]))
               + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += HE_ISA(he_xlogx)(x[i]);
    return s;
}

/* The same sum (same order of additions) with he__log_notable. */
static HE_UNUSED double HE_ISA(he_sum_x_log_x_notable)(const double *HE_RESTRICT x,
                                                            ptrdiff_t n)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += HE_ISA(he_xlogx_notable)(x[i + j]);
    double s = ((acc[0] + acc[4]) + (acc[1] + acc[5]))
               + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += HE_ISA(he_xlogx_notable)(x[i]);
    return s;
}


