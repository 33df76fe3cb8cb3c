/* histentropy/pairwise_simd.h -- the vectorised loops of pairwise.h.
 *
 * No include guard: pairwise.h instantiates it once per CPU path
 * (instantiate.h), HE_ISA(name) adding the path's suffix.  Written as
 * dense_simd.h is, so that GCC vectorises it without -ffast-math: eight
 * lane accumulators, no data-dependent branches (he_select), the
 * branch-free logarithm of vlog.h inlined.
 */

#undef HE_PAIR_LOG
#if defined(__FMA__)
#define HE_PAIR_LOG(x) he__log_notable((x), 1)
#else
#define HE_PAIR_LOG(x) he__log((x), 0)
#endif

/* One block (<= HE_PAIR_BLOCK bins) of the sums of four pairs: P's row
 * (x, y) against four rows of Q (u, v + r * ld, r = 0..3), the metric's
 * per-bin value in HE_PAIR_SUM_LANES lanes per pair: P's row is read once
 * for the four, and the sixteen-lane chains of additions of the four pairs
 * are independent (two vectors each with AVX-512). */
/* The lanes' total, in a fixed order (constant indices keep the lanes in
 * registers). */
#define HE_PAIR_REDUCE(a)                                                      \
    ((((a)[0] + (a)[8]) + ((a)[4] + (a)[12]))                                  \
     + (((a)[2] + (a)[10]) + ((a)[6] + (a)[14]))                               \
     + ((((a)[1] + (a)[9]) + ((a)[5] + (a)[13]))                               \
        + (((a)[3] + (a)[11]) + ((a)[7] + (a)[15]))))
#define HE_PAIR_SUM4_BODY(TERM)                                                \
    do {                                                                       \
        double a0[HE_PAIR_SUM_LANES] = {0}, a1[HE_PAIR_SUM_LANES] = {0};       \
        double a2[HE_PAIR_SUM_LANES] = {0}, a3[HE_PAIR_SUM_LANES] = {0};       \
        double t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;                         \
        ptrdiff_t i = 0, e;                                                    \
        int j, r;                                                              \
        for (; i + HE_PAIR_SUM_LANES <= n; i += HE_PAIR_SUM_LANES)             \
            for (j = 0; j < HE_PAIR_SUM_LANES; j++) {                          \
                e = i + j;                                                     \
                r = 0; a0[j] += (TERM);                                        \
                r = 1; a1[j] += (TERM);                                        \
                r = 2; a2[j] += (TERM);                                        \
                r = 3; a3[j] += (TERM);                                        \
            }                                                                  \
        for (; i < n; i++) {                                                   \
            e = i;                                                             \
            r = 0; t0 += (TERM);                                               \
            r = 1; t1 += (TERM);                                               \
            r = 2; t2 += (TERM);                                               \
            r = 3; t3 += (TERM);                                               \
        }                                                                      \
        out[0] = HE_PAIR_REDUCE(a0) + t0;                                      \
        out[1] = HE_PAIR_REDUCE(a1) + t1;                                      \
        out[2] = HE_PAIR_REDUCE(a2) + t2;                                      \
        out[3] = HE_PAIR_REDUCE(a3) + t3;                                      \
        return;                                                                \
    } while (0)

#define HE_U (u[r * ld + e])
#define HE_V (v[r * ld + e])
HE_ALWAYS_INLINE void HE_ISA(he_pair_block_sum4)(int metric, const double *HE_RESTRICT x,
                                                 const double *HE_RESTRICT y,
                                                 const double *HE_RESTRICT u,
                                                 const double *HE_RESTRICT v, ptrdiff_t ld,
                                                 ptrdiff_t n, double *out)
{
    switch (metric) {
    case HE_CROSS_ENTROPY:
    case HE_KL_DIVERGENCE:      /* sum x log y */
        HE_PAIR_SUM4_BODY(x[e] * HE_V);
    case HE_JS_DIVERGENCE:      /* sum m log m, m = x + y */
        HE_PAIR_SUM4_BODY((x[e] + HE_U) * HE_PAIR_LOG(x[e] + HE_U + HE_TINY));
    case HE_HELLINGER:          /* sum sqrt(x y) */
        HE_PAIR_SUM4_BODY(x[e] * HE_U);
    case HE_TOTAL_VARIATION:    /* sum |x - y| */
        HE_PAIR_SUM4_BODY(fabs(x[e] - HE_U));
    case HE_JEFFREYS:           /* sum (x - y)(log x - log y) */
        HE_PAIR_SUM4_BODY((x[e] - HE_U) * (y[e] - HE_V));
    case HE_CHI_SQUARE:         /* sum (x - y)^2 / y */
        HE_PAIR_SUM4_BODY((x[e] - HE_U) * (x[e] - HE_U) * HE_V);
    default:
        for (int r = 0; r < 4; r++)
            out[r] = NAN;
    }
}
#undef HE_U
#undef HE_V
#undef HE_PAIR_SUM4_BODY
#undef HE_PAIR_REDUCE

/* The sums of four pairs over k bins (as he_pair_block_sum4; ld: the
 * distance between Q's rows): blocks of plain lane sums, added with
 * compensation, so that the error bound of he_pair_finish holds for any k. */
static HE_UNUSED void HE_ISA(he_pair_sum4)(int metric, const double *x, const double *y,
                                           const double *u, const double *v, ptrdiff_t ld,
                                           ptrdiff_t k, double *out)
{
    he_csum total[4];
    double part[4];
    ptrdiff_t start, len;
    int r;
    if (k <= HE_PAIR_BLOCK) {
        HE_ISA(he_pair_block_sum4)(metric, x, y, u, v, ld, k, out);
        return;
    }
    for (r = 0; r < 4; r++)
        he_csum_init(&total[r]);
    for (start = 0; start < k; start += HE_PAIR_BLOCK) {
        len = k - start < HE_PAIR_BLOCK ? k - start : HE_PAIR_BLOCK;
        HE_ISA(he_pair_block_sum4)(metric, x + start, y + start, u + start, v + start, ld,
                                   len, part);
        for (r = 0; r < 4; r++)
            he_csum_add(&total[r], part[r]);
    }
    for (r = 0; r < 4; r++)
        out[r] = he_csum_value(&total[r]);
}

/* One block (<= HE_PAIR_BLOCK bins) of the sums of sixteen pairs of a
 * dot-product metric (cross entropy and KL: sum x log y; Hellinger:
 * sum sqrt(x) sqrt(y)): four rows of P (x + r * ld) against four of Q
 * (w + c * ld; w holds log y or sqrt y), out[4 r + c], eight lanes per
 * pair.  Each value read serves four products, against one in
 * he_pair_block_sum4. */
#define HE_PAIR_REDUCE8(a)                                                     \
    ((((a)[0] + (a)[4]) + ((a)[2] + (a)[6])) + (((a)[1] + (a)[5]) + ((a)[3] + (a)[7])))
#define HE_PAIR_DOT_ROW(r)                                                     \
    double acc##r##0[HE_PAIR_LANES] = {0}, acc##r##1[HE_PAIR_LANES] = {0};     \
    double acc##r##2[HE_PAIR_LANES] = {0}, acc##r##3[HE_PAIR_LANES] = {0};     \
    double tail##r[4] = {0}
#define HE_PAIR_DOT_STEP(r, e, j)                                              \
    acc##r##0[j] += x[(r) * ld + (e)] * w[(e)];                                \
    acc##r##1[j] += x[(r) * ld + (e)] * w[ld + (e)];                           \
    acc##r##2[j] += x[(r) * ld + (e)] * w[2 * ld + (e)];                       \
    acc##r##3[j] += x[(r) * ld + (e)] * w[3 * ld + (e)]
#define HE_PAIR_DOT_TAIL(r, e)                                                 \
    for (c = 0; c < 4; c++)                                                    \
        tail##r[c] += x[(r) * ld + (e)] * w[c * ld + (e)]
#define HE_PAIR_DOT_OUT(r)                                                     \
    out[4 * (r)] = HE_PAIR_REDUCE8(acc##r##0) + tail##r[0];                    \
    out[4 * (r) + 1] = HE_PAIR_REDUCE8(acc##r##1) + tail##r[1];                \
    out[4 * (r) + 2] = HE_PAIR_REDUCE8(acc##r##2) + tail##r[2];                \
    out[4 * (r) + 3] = HE_PAIR_REDUCE8(acc##r##3) + tail##r[3]

HE_ALWAYS_INLINE void HE_ISA(he_pair_block_dot16)(const double *HE_RESTRICT x,
                                                  const double *HE_RESTRICT w,
                                                  ptrdiff_t ld, ptrdiff_t n, double *out)
{
    HE_PAIR_DOT_ROW(0);
    HE_PAIR_DOT_ROW(1);
    HE_PAIR_DOT_ROW(2);
    HE_PAIR_DOT_ROW(3);
    ptrdiff_t i = 0;
    int j, c;
    for (; i + HE_PAIR_LANES <= n; i += HE_PAIR_LANES)
        for (j = 0; j < HE_PAIR_LANES; j++) {
            HE_PAIR_DOT_STEP(0, i + j, j);
            HE_PAIR_DOT_STEP(1, i + j, j);
            HE_PAIR_DOT_STEP(2, i + j, j);
            HE_PAIR_DOT_STEP(3, i + j, j);
        }
    for (; i < n; i++) {
        HE_PAIR_DOT_TAIL(0, i);
        HE_PAIR_DOT_TAIL(1, i);
        HE_PAIR_DOT_TAIL(2, i);
        HE_PAIR_DOT_TAIL(3, i);
    }
    HE_PAIR_DOT_OUT(0);
    HE_PAIR_DOT_OUT(1);
    HE_PAIR_DOT_OUT(2);
    HE_PAIR_DOT_OUT(3);
}
#undef HE_PAIR_REDUCE8
#undef HE_PAIR_DOT_ROW
#undef HE_PAIR_DOT_STEP
#undef HE_PAIR_DOT_TAIL
#undef HE_PAIR_DOT_OUT

/* The sums of sixteen pairs of a dot-product metric over k bins (as
 * he_pair_block_dot16), blocks added with compensation. */
static HE_UNUSED void HE_ISA(he_pair_dot16)(const double *x, const double *w, ptrdiff_t ld,
                                            ptrdiff_t k, double *out)
{
    he_csum total[16];
    double part[16];
    ptrdiff_t start, len;
    int r;
    if (k <= HE_PAIR_BLOCK) {
        HE_ISA(he_pair_block_dot16)(x, w, ld, k, out);
        return;
    }
    for (r = 0; r < 16; r++)
        he_csum_init(&total[r]);
    for (start = 0; start < k; start += HE_PAIR_BLOCK) {
        len = k - start < HE_PAIR_BLOCK ? k - start : HE_PAIR_BLOCK;
        HE_ISA(he_pair_block_dot16)(x + start, w + start, ld, len, part);
        for (r = 0; r < 16; r++)
            he_csum_add(&total[r], part[r]);
    }
    for (r = 0; r < 16; r++)
        out[r] = he_csum_value(&total[r]);
}

/* The sum of one pair (P's row x against itself: the row scalars). */
HE_ALWAYS_INLINE double HE_ISA(he_pair_sum)(int metric, const double *x, const double *y,
                                            const double *u, const double *v, ptrdiff_t k)
{
    double out[4];
    HE_ISA(he_pair_sum4)(metric, x, y, u, v, 0, k, out);
    return out[0];
}

/* The bins where the pair leaves the metric's support: p > 0 = q (and, for
 * Jeffreys, q > 0 = p), over the normalised x of P's row and u of Q's. */
static HE_UNUSED ptrdiff_t HE_ISA(he_pair_violations)(int metric, const double *HE_RESTRICT x,
                                                      const double *HE_RESTRICT u,
                                                      ptrdiff_t k)
{
    double acc[HE_PAIR_LANES] = {0}, total = 0.0;
    ptrdiff_t i = 0;
    int j, both = metric == HE_JEFFREYS;
    for (; i + HE_PAIR_LANES <= k; i += HE_PAIR_LANES)
        for (j = 0; j < HE_PAIR_LANES; j++)
            acc[j] += ((x[i + j] > 0.0 && u[i + j] == 0.0)
                       || (both && u[i + j] > 0.0 && x[i + j] == 0.0)) ? 1.0 : 0.0;
    for (; i < k; i++)
        total += ((x[i] > 0.0 && u[i] == 0.0) || (both && u[i] > 0.0 && x[i] == 0.0))
                 ? 1.0 : 0.0;
    for (j = 0; j < HE_PAIR_LANES; j++)
        total += acc[j];
    return (ptrdiff_t)total;
}

/* A row of weights w (in x on entry) -> the prepared row of the metric
 * (pairwise.h, he_pair_row): x = (w + c) * inv, and in y what the metric's
 * sum reads besides (log x, 1/x, or nothing); sqrt x in x for Hellinger.
 * Sets row->s, row->zeros, row->tiny. */
static HE_UNUSED void HE_ISA(he_pair_transform)(int metric, int side, double *HE_RESTRICT x,
                                                double *HE_RESTRICT y, ptrdiff_t k,
                                                double c, double inv, he_pair_row *row)
{
    double zeros[HE_PAIR_LANES] = {0}, tiny[HE_PAIR_LANES] = {0}, s[HE_PAIR_LANES] = {0};
    double t = 0.0, z = 0.0, small = 0.0, v, lv;
    ptrdiff_t i = 0;
    int j;
    /* a bin with mass whose quotient is below the normal range (or
     * underflows to 0) is "tiny": the row goes to the 1-D kernel */
    for (; i + HE_PAIR_LANES <= k; i += HE_PAIR_LANES)
        for (j = 0; j < HE_PAIR_LANES; j++) {
            v = (x[i + j] + c) * inv;
            zeros[j] += x[i + j] + c == 0.0 ? 1.0 : 0.0;
            tiny[j] += (x[i + j] + c > 0.0 && v < DBL_MIN) ? 1.0 : 0.0;
            x[i + j] = v;
        }
    for (; i < k; i++) {
        v = (x[i] + c) * inv;
        z += x[i] + c == 0.0 ? 1.0 : 0.0;
        small += (x[i] + c > 0.0 && v < DBL_MIN) ? 1.0 : 0.0;
        x[i] = v;
    }
    for (j = 0; j < HE_PAIR_LANES; j++) {
        z += zeros[j];
        small += tiny[j];
    }
    row->zeros = (ptrdiff_t)z;
    row->tiny = (ptrdiff_t)small;
    /* then what the metric reads besides x (log(0 + HE_TINY) is finite) */
    switch (metric) {
    case HE_HELLINGER:
        for (i = 0; i < k; i++)
            x[i] = sqrt(x[i]);
        break;
    case HE_CROSS_ENTROPY:
    case HE_KL_DIVERGENCE:
    case HE_JS_DIVERGENCE:      /* y = log x; s = sum x log x */
        for (i = 0; i < k; i++)
            y[i] = HE_PAIR_LOG(x[i] + HE_TINY);
        row->s = HE_ISA(he_pair_sum)(HE_KL_DIVERGENCE, x, NULL, NULL, y, k);
        return;
    case HE_JEFFREYS:           /* s: the largest |log x| over x > 0 */
        i = 0;
        for (; i + HE_PAIR_LANES <= k; i += HE_PAIR_LANES)
            for (j = 0; j < HE_PAIR_LANES; j++) {
                lv = HE_PAIR_LOG(x[i + j] + HE_TINY);
                y[i + j] = lv;
                s[j] = fmax(s[j], he_select(x[i + j] > 0.0, fabs(lv), 0.0));
            }
        for (; i < k; i++) {
            y[i] = HE_PAIR_LOG(x[i] + HE_TINY);
            t = fmax(t, he_select(x[i] > 0.0, fabs(y[i]), 0.0));
        }
        for (j = 0; j < HE_PAIR_LANES; j++)
            t = fmax(t, s[j]);
        row->s = t;
        return;
    case HE_CHI_SQUARE:
        if (side == 1)
            for (i = 0; i < k; i++)
                y[i] = he_select(x[i] > 0.0, 1.0 / x[i], 0.0);
        break;
    default:
        break;
    }
    row->s = 0.0;
}
