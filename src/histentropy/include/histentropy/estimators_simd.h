/* histentropy/estimators_simd.h -- the vectorised loops of estimators.h.
 *
 * No include guard: estimators.h instantiates it once per CPU path
 * (instantiate.h), HE_ISA(name) adding the path's suffix.  Plain loops over
 * the distinct counts of a histogram's profile with the branch-free
 * logarithm and exponential of vlog.h inlined, which GCC vectorises.
 */

#undef HE_COUNT_FMA
#if defined(__FMA__)
#define HE_COUNT_FMA 1
#else
#define HE_COUNT_FMA 0
#endif

/* Chao-Shen: out[d] = p_a / (1 - (1 - p_a)^N) for p_a = x[d], i.e. the
 * share of the bin's term before its log; 1 - (1 - p_a)^N as
 * -expm1(N log1p(-p_a)), without cancellation. */
static void HE_ISA(he_count_chao_shen_scale)(const double *HE_RESTRICT x, ptrdiff_t n,
                                             double N, double *HE_RESTRICT out)
{
    ptrdiff_t d;
    for (d = 0; d < n; d++) {
        double power, seen;
        he__exp_expm1(N * he__log1p(-x[d], HE_COUNT_FMA), &power, &seen);
        out[d] = x[d] / -seen;
    }
}

/* out[d] = -x[d] log x[d] (0 for x = 0); the table-free log on AVX-512,
 * where GCC loads table entries one at a time. */
static void HE_ISA(he_count_neg_xlogx)(const double *HE_RESTRICT x, ptrdiff_t n,
                                       double *HE_RESTRICT out)
{
    ptrdiff_t d;
    for (d = 0; d < n; d++)
#if defined(__AVX512F__)
        out[d] = -he__xlogx_notable(x[d], HE_COUNT_FMA);
#else
        out[d] = -he__xlogx(x[d], HE_COUNT_FMA);
#endif
}
#undef HE_COUNT_FMA
