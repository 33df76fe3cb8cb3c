# Layer 1: kernels for distributions given by logits, softmax(l).
#
# Design
# ------
# Same rules as _kernels.pxd: everything is `noexcept nogil`, kernels never
# validate, raise or allocate; they report what they saw (NaN, +inf logits,
# bad target weights) as bit flags, and the Python layer raises.
#
# Numerical scheme: online log-sum-exp with a running maximum
# -----------------------------------------------------------
# A row of logits l_1..l_K is read once, in blocks of BLOCK elements that stay
# in L1 cache. For each block we take its maximum M and the sums, relative to
# M, of
#     r = sum exp(l_i - M) over all i but one attaining M   (so s = 1 + r),
#     neg = sum exp(l_i - M) (M - l_i)                       (entropy),
# and merge them into the running state (m, r, neg) of the row. When the
# maximum grows by d > 0 the old sums are rescaled exactly as the formulas
# say: s -> s e^-d, neg -> e^-d (neg + d s). Every l - m is <= 0, so nothing
# overflows, also for logits of 1e300; -inf logits give exp(-inf) = 0 and are
# masked out of every product, so -inf never meets 0 * inf.
# Keeping r = s - 1 rather than s is what makes the results accurate: the
# largest term is exactly 1 and
#     log softmax(l)_y = (l_y - m) - log1p(r),
#     H = log1p(r) + neg / (1 + r),
# are sums of non-negative terms (no cancellation): a near-deterministic row
# (r = 1e-30) keeps all its digits, where log(s) would round to 0. Ties with
# the maximum add exactly 1 each and are counted, not summed.
# Cross entropy with soft targets t = w / W adds B = sum w (m - l) (again
# non-negative terms, rescaled by B += d W when m grows); label smoothing adds
# U = sum (m - l). KL(softmax(a) || softmax(b)) = C / s_a - log1p(r_a)
# + log1p(r_b) with C = sum exp(a - m_a) ((a - m_a) - (b - m_b)).
# References: the max-subtraction of scipy.special.logsumexp (which also uses
# log1p for the dominant term); the online softmax of Milakov & Gimelshein
# (2018), "Online normalizer calculation for softmax", here merged per block.
#
# The block sums are computed by small C loops (in _logits_body.h, declared
# below) over contiguous doubles (a strided block is first gathered into an
# L1 buffer; contiguous float32 is widened in registers), written once for a
# vector of W doubles with GCC vector extensions and compiled for W = 4 and
# 8, and an exp() for arguments <= 0 that vectorises:
# d = (N k + j) ln2 / N + f, |f| <= ln2/(2N), e^d = 2^k 2^(j/N) (1 + q(f))
# with a table of N = W entries (8 on AVX-512, else 4) and a near-minimax q
# of degree 7 or 8 (mpmath chebyfit, < 6e-18 relative), Cody-Waite reduction
# with fdlibm's ln2 split; within 1 ulp of libm's exp. Results below 2^-1022
# (d < -708) are flushed to 0, which relative to the largest term, 1, is
# below half an ulp of any sum. The loops are compiled for the paths of
# _simd_dispatch.h (avx512: 8 lanes, avx2: 4 lanes, sse42 and generic) and
# the best one is chosen at run time (HISTENTROPY_CPU caps it), so no -march
# flag is needed; other compilers get plain loops over libm's exp.

from libc.math cimport exp, log, INFINITY, NAN

cdef extern from "_logits_body.h":
    double he_lg_max(const double* x, Py_ssize_t n) noexcept nogil
    double he_lg_max_f32(const float* x, Py_ssize_t n) noexcept nogil
    double he_lg_widen_max(const float* x, Py_ssize_t n, double* out) noexcept nogil
    double he_lg_exp_sum(const double* x, Py_ssize_t n, double m,
                         double* neg) noexcept nogil
    double he_lg_exp_sum_f32(const float* x, Py_ssize_t n, double m,
                             double* neg) noexcept nogil
    double he_lg_kl_sums(const double* a, const double* b, Py_ssize_t n,
                         double ma, double mb, double* ra, double* rb,
                         double* c) noexcept nogil
    void he_lg_exp_scaled(const double* x, Py_ssize_t n, double m, double scale,
                          double* out) noexcept nogil
    const char* he_lg_path_name() noexcept nogil


ctypedef fused logit_t:
    double
    float

ctypedef fused target_t:
    double
    float


# Flags a kernel reports; the Python layer turns them into exceptions.
cdef enum:
    LOGITS_NAN = 1          # NaN in the (first) logits
    LOGITS_POSINF = 2       # +inf in the (first) logits
    OTHER_NAN = 4           # NaN in logits_q
    OTHER_POSINF = 8        # +inf in logits_q
    TARGET_NAN = 16
    TARGET_NEGATIVE = 32
    TARGET_INF = 64


cdef enum:
    # Elements per block: the block (and its float64 copy) stays in L1, and
    # the per-block merge (one exp) is amortised.
    BLOCK = 1024


ctypedef struct LogSumExp:
    # Running state of a row: m the largest logit so far (-inf: none finite
    # yet), r = sum exp(l - m) - 1, neg = sum exp(l - m) (m - l).
    double m
    double r
    double neg


cdef inline void lse_init(LogSumExp* acc) noexcept nogil:
    acc.m = -INFINITY
    acc.r = 0.0
    acc.neg = 0.0


cdef inline void lse_merge(LogSumExp* acc, double m, double r,
                           double neg) noexcept nogil:
    """Merge a block with finite maximum m and sums r, neg relative to m.

    The side with the smaller maximum is rescaled by f = exp(-d), d the gap:
    s -> f s, neg -> f (neg + d s). A factor that underflows to 0 drops that
    side (its share is below 2^-1074 of the other's), so d = inf never meets 0.
    """
    cdef double d, f
    if acc.m == -INFINITY:
        acc.m = m
        acc.r = r
        acc.neg = neg
    elif m <= acc.m:
        d = acc.m - m
        f = exp(-d)
        if f > 0.0:
            acc.r += (1.0 + r) * f
            acc.neg += f * (neg + d * (1.0 + r))
    else:
        d = m - acc.m
        f = exp(-d)
        if f > 0.0:
            acc.neg = f * (acc.neg + d * (1.0 + acc.r)) + neg
            acc.r = (1.0 + acc.r) * f + r
        else:
            acc.neg = neg
            acc.r = r
        acc.m = m


cdef inline double log1p_nonneg(double r) noexcept nogil:
    """log(1 + r) for finite r >= 0, to a few ulp.

    Goldberg's form log(u) r / (u - 1), u = 1 + r: the rounding of u cancels
    in the ratio. Several times faster than libm's log1p, which the small-row
    case (one call per row) notices.
    """
    cdef double u = 1.0 + r
    if u == 1.0:
        return r
    return log(u) * (r / (u - 1.0))


cdef inline double entropy_of(const LogSumExp* acc) noexcept nogil:
    """H = log1p(r) + neg / (1 + r): two non-negative terms."""
    if acc.m == -INFINITY:
        return NAN  # no finite logit: no distribution
    return log1p_nonneg(acc.r) + acc.neg / (1.0 + acc.r)


cdef inline const double* load_block(const logit_t* x, Py_ssize_t n,
                                     Py_ssize_t stride, double* buf,
                                     double* largest) noexcept nogil:
    """The block x[0], x[stride], ... as contiguous doubles, and its maximum.

    Contiguous float64 is used in place; anything else is copied into `buf`
    (BLOCK doubles, exact widening). NaN is ignored by the maximum (the exp
    sums propagate it).
    """
    cdef Py_ssize_t i
    cdef double v, mx
    if stride == 1:
        if logit_t is double:
            largest[0] = he_lg_max(x, n)
            return x
        else:
            largest[0] = he_lg_widen_max(x, n, buf)
            return buf
    mx = -INFINITY
    for i in range(n):
        v = <double>x[i * stride]
        buf[i] = v
        if v > mx:
            mx = v
    largest[0] = mx
    return buf


cdef inline int special_flags(const double* x, Py_ssize_t n, int nan_flag,
                              int inf_flag) noexcept nogil:
    """Flags for NaN and +inf in x (slow path, for blocks that have them)."""
    cdef Py_ssize_t i
    cdef int flags = 0
    for i in range(n):
        if x[i] != x[i]:
            flags |= nan_flag
        elif x[i] == INFINITY:
            flags |= inf_flag
    return flags


cdef inline int logsumexp_block(const double* x, Py_ssize_t n, double largest,
                                bint need_neg, LogSumExp* acc,
                                int nan_flag, int inf_flag) noexcept nogil:
    """Merge one loaded block into acc; returns the flags seen."""
    cdef double r, neg = 0.0
    if not (-INFINITY < largest < INFINITY):
        # +inf, or nothing but -inf (and NaN): only flags to find.
        return special_flags(x, n, nan_flag, inf_flag)
    r = he_lg_exp_sum(x, n, largest, &neg if need_neg else NULL)
    if r != r:
        return special_flags(x, n, nan_flag, inf_flag)
    lse_merge(acc, largest, r, neg)
    return 0


cdef inline int logsumexp_row(const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
                              bint need_neg, LogSumExp* acc,
                              double* buf) noexcept nogil:
    """One read of the row x[0], x[stride], ... x[(n-1)*stride] into acc.

    `buf` holds BLOCK doubles. Returns the flags seen (LOGITS_*); after an
    error flag the state is meaningless. Contiguous float32 is read directly
    (widened in registers); other blocks go through load_block.
    """
    cdef Py_ssize_t start = 0, size
    cdef double largest, r, neg = 0.0
    cdef const double* data
    cdef int flags = 0
    lse_init(acc)
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        if logit_t is float:
            if stride == 1:
                largest = he_lg_max_f32(x + start, size)
                if -INFINITY < largest < INFINITY:
                    r = he_lg_exp_sum_f32(x + start, size, largest,
                                          &neg if need_neg else NULL)
                    if r == r:
                        lse_merge(acc, largest, r, neg)
                        start += size
                        continue
        data = load_block(x + start * stride, size, stride, buf, &largest)
        flags |= logsumexp_block(data, size, largest, need_neg, acc,
                                 LOGITS_NAN, LOGITS_POSINF)
        if flags:
            return flags
        start += size
    return flags


# ---------------------------------------------------------------------------
# Entropy and KL divergence of softmax distributions
# ---------------------------------------------------------------------------

cdef inline int entropy_row(const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
                            double* out, double* buf) noexcept nogil:
    """Entropy (nats) of softmax of one row; NaN for a row without a finite logit."""
    cdef LogSumExp acc
    cdef int flags = logsumexp_row(x, n, stride, True, &acc, buf)
    out[0] = entropy_of(&acc)
    return flags


ctypedef struct KLState:
    LogSumExp a
    LogSumExp b
    double c           # sum exp(a - m_a) ((a - m_a) - (b - m_b))
    bint unbounded     # some finite a meets b = -inf


cdef inline void kl_merge(KLState* st, double ma, double ra, double mb,
                          double rb, double c) noexcept nogil:
    """Merge a block whose maxima ma, mb are finite (c relative to them).

    When the maxima grow to (ma', mb') a sum c relative to (ma, mb) with
    s_a = 1 + ra becomes exp(ma - ma') (c + ((mb' - mb) - (ma' - ma)) s_a).
    """
    cdef double na = ma if ma > st.a.m else st.a.m
    cdef double nb = mb if mb > st.b.m else st.b.m
    cdef double total = 0.0, f
    if st.a.m > -INFINITY and st.b.m > -INFINITY:
        f = exp(st.a.m - na)
        if f > 0.0:
            total = f * (st.c + ((nb - st.b.m) - (na - st.a.m)) * (1.0 + st.a.r))
    f = exp(ma - na)
    if f > 0.0:
        total += f * (c + ((nb - mb) - (na - ma)) * (1.0 + ra))
    st.c = total
    lse_merge(&st.a, ma, ra, 0.0)
    lse_merge(&st.b, mb, rb, 0.0)


cdef inline int kl_row(const logit_t* a, Py_ssize_t a_stride,
                       const logit_t* b, Py_ssize_t b_stride, Py_ssize_t n,
                       double* out, double* abuf, double* bbuf) noexcept nogil:
    """KL(softmax(a) || softmax(b)) in nats of one pair of rows, one read each.

    KL = c / s_a - log1p(r_a) + log1p(r_b), clamped at 0 (it is >= 0; the
    terms of c have both signs, so its rounding can go below). +inf where a
    finite a meets b = -inf; NaN when either row has no finite logit.
    """
    cdef KLState st
    cdef Py_ssize_t start = 0, size
    cdef double ma, mb, ra, rb, c, kl
    cdef const double* da
    cdef const double* db
    cdef int flags = 0
    lse_init(&st.a)
    lse_init(&st.b)
    st.c = 0.0
    st.unbounded = False
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        da = load_block(a + start * a_stride, size, a_stride, abuf, &ma)
        db = load_block(b + start * b_stride, size, b_stride, bbuf, &mb)
        start += size
        if not (-INFINITY < ma < INFINITY and -INFINITY < mb < INFINITY):
            # Blocks with a row that is all -inf (or has +inf): no term of c.
            flags |= logsumexp_block(da, size, ma, False, &st.a,
                                     LOGITS_NAN, LOGITS_POSINF)
            flags |= logsumexp_block(db, size, mb, False, &st.b,
                                     OTHER_NAN, OTHER_POSINF)
            if mb == -INFINITY and -INFINITY < ma:
                st.unbounded = True
            if flags:
                break
            continue
        if he_lg_kl_sums(da, db, size, ma, mb, &ra, &rb, &c) > 0.0:
            st.unbounded = True
        if ra != ra or rb != rb:
            flags |= special_flags(da, size, LOGITS_NAN, LOGITS_POSINF)
            flags |= special_flags(db, size, OTHER_NAN, OTHER_POSINF)
            break
        kl_merge(&st, ma, ra, mb, rb, c)
    if st.a.m == -INFINITY or st.b.m == -INFINITY:
        out[0] = NAN
    elif st.unbounded:
        out[0] = INFINITY
    else:
        kl = st.c / (1.0 + st.a.r) - log1p_nonneg(st.a.r) + log1p_nonneg(st.b.r)
        out[0] = kl if kl > 0.0 else 0.0
    return flags


# ---------------------------------------------------------------------------
# Cross entropy from logits
# ---------------------------------------------------------------------------
#
# The loss of one sample with class weights v (all 1 without `weight`) and
# target t (smoothed: t = (1 - eps) t0 + eps / K) is
#     loss = -sum_c v_c t_c log p_c,   -log p_c = (m - l_c) + log1p(r),
# a sum of non-negative terms. Its gradient with respect to l is
#     g_c = p_c T - v_c t_c,   T = sum_c v_c t_c.

ctypedef struct SmoothSums:
    # Sums over the logits seen so far, relative to the running maximum:
    # u = sum v (m - l), v = sum v; with soft targets also
    # b = sum v w (m - l), vw = sum v w, w = sum w.
    double u
    double v
    double b
    double vw
    double w


cdef inline void smooth_init(SmoothSums* s) noexcept nogil:
    s.u = 0.0
    s.v = 0.0
    s.b = 0.0
    s.vw = 0.0
    s.w = 0.0


cdef inline void smooth_shift(SmoothSums* s, double d) noexcept nogil:
    """The reference maximum grew by d > 0: every (m - l) grows by d."""
    if s.v > 0.0:
        s.u += d * s.v
    if s.vw > 0.0:
        s.b += d * s.vw


cdef inline void smooth_add(SmoothSums* s, const SmoothSums* blk) noexcept nogil:
    s.u += blk.u
    s.v += blk.v
    s.b += blk.b
    s.vw += blk.vw
    s.w += blk.w


cdef inline void smooth_merge(SmoothSums* s, double m, SmoothSums* blk,
                              double block_max) noexcept nogil:
    """Merge block sums relative to block_max into s relative to m (old max)."""
    if block_max > m:
        if m > -INFINITY:
            smooth_shift(s, block_max - m)
        elif s.v > 0.0 or s.vw > 0.0:
            # Earlier logits were all -inf: their (m - l) is +inf.
            smooth_shift(s, INFINITY)
    elif block_max < m:
        smooth_shift(blk, m - block_max)
    smooth_add(s, blk)


cdef inline void class_sums(const double* x, Py_ssize_t n, double largest,
                            const double* v, SmoothSums* blk) noexcept nogil:
    """u = sum v (largest - x), v = sum v over one block (v NULL: all 1).

    A -inf logit with v > 0 makes u = +inf (smoothing puts mass on it).
    """
    cdef Py_ssize_t i
    cdef double u = 0.0, vs = 0.0, vi
    if v == NULL:
        for i in range(n):
            u += largest - x[i]
        vs = <double>n
    else:
        for i in range(n):
            vi = v[i]
            if vi > 0.0:
                u += vi * (largest - x[i])
                vs += vi
    blk.u = u
    blk.v = vs


cdef inline int cross_entropy_hard_row(
        const logit_t* x, Py_ssize_t n, Py_ssize_t stride, Py_ssize_t label,
        double eps, const double* v, double v_total,
        double* loss, LogSumExp* acc, double* buf) noexcept nogil:
    """Cross entropy of one row with hard label `label` (in [0, n)).

    loss = v_y (1 - eps) ((m - l_y) + log1p(r)) + eps / n (v_total log1p(r) + u)
    with u = sum_c v_c (m - l_c). Leaves the row's (m, r) in acc for the
    gradient. A -inf logit at the label (or, with eps > 0, anywhere) gives +inf.
    """
    cdef Py_ssize_t start = 0, size
    cdef double largest, lr, vy, xy, value
    cdef const double* data
    cdef SmoothSums sums, blk
    cdef int flags = 0
    lse_init(acc)
    smooth_init(&sums)
    smooth_init(&blk)
    if eps == 0.0:
        flags = logsumexp_row(x, n, stride, False, acc, buf)
        start = n
        if flags:
            loss[0] = NAN
            return flags
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        data = load_block(x + start * stride, size, stride, buf, &largest)
        if eps > 0.0 and -INFINITY < largest < INFINITY:
            class_sums(data, size, largest, v + start if v != NULL else NULL,
                       &blk)
            smooth_merge(&sums, acc.m, &blk, largest)
        elif eps > 0.0 and largest == -INFINITY:
            # The whole block is -inf (or NaN): smoothing mass on -inf.
            class_sums(data, size, 0.0, v + start if v != NULL else NULL, &blk)
            if blk.v > 0.0:
                sums.u = INFINITY
                sums.v += blk.v
        flags |= logsumexp_block(data, size, largest, False, acc,
                                 LOGITS_NAN, LOGITS_POSINF)
        if flags:
            loss[0] = NAN
            return flags
        start += size
    if acc.m == -INFINITY:
        loss[0] = NAN  # no finite logit: no distribution
        return flags
    lr = log1p_nonneg(acc.r)
    xy = <double>x[label * stride]
    vy = v[label] if v != NULL else 1.0
    value = 0.0
    if eps < 1.0 and vy > 0.0:
        value = vy * (1.0 - eps) * ((acc.m - xy) + lr)
    if eps > 0.0:
        value += eps / <double>n * (v_total * lr + sums.u)
    loss[0] = value
    return flags


cdef inline int cross_entropy_soft_row(
        const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
        const target_t* t, Py_ssize_t t_stride,
        double eps, const double* v, double v_total,
        double* loss, double* weight_sums, LogSumExp* acc,
        double* buf) noexcept nogil:
    """Cross entropy of one row with soft target weights t (normalised by W).

    loss = log1p(r) ((1 - eps) VW / W + eps V / n) + (1 - eps) B / W + eps U / n
    with B = sum v w (m - l), VW = sum v w, W = sum w, U = sum v (m - l).
    Writes W and VW to weight_sums[0], weight_sums[1] (for the gradient).
    NaN where W = 0.
    """
    cdef Py_ssize_t start = 0, size, i
    cdef double largest, lr, w, vi, d, value
    cdef const double* data
    cdef SmoothSums sums, blk
    cdef int flags = 0
    lse_init(acc)
    smooth_init(&sums)
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        data = load_block(x + start * stride, size, stride, buf, &largest)
        smooth_init(&blk)
        if eps > 0.0:
            class_sums(data, size, largest if largest > -INFINITY else 0.0,
                       v + start if v != NULL else NULL, &blk)
            if largest == -INFINITY and blk.v > 0.0:
                blk.u = INFINITY
        for i in range(size):
            w = <double>t[(start + i) * t_stride]
            if not (0.0 <= w < INFINITY):
                if w != w:
                    flags |= TARGET_NAN
                elif w < 0.0:
                    flags |= TARGET_NEGATIVE
                else:
                    flags |= TARGET_INF
                continue
            if w > 0.0:
                blk.w += w
                vi = w * v[start + i] if v != NULL else w
                if vi > 0.0:
                    d = largest - data[i] if largest > -INFINITY else INFINITY
                    blk.b += vi * d
                    blk.vw += vi
        if -INFINITY < largest < INFINITY:
            smooth_merge(&sums, acc.m, &blk, largest)
        else:
            smooth_add(&sums, &blk)
        flags |= logsumexp_block(data, size, largest, False, acc,
                                 LOGITS_NAN, LOGITS_POSINF)
        if flags:
            loss[0] = NAN
            return flags
        start += size
    weight_sums[0] = sums.w
    weight_sums[1] = sums.vw
    if acc.m == -INFINITY or sums.w == 0.0:
        loss[0] = NAN  # no distribution in the logits or in the target
        return flags
    lr = log1p_nonneg(acc.r)
    value = 0.0
    if eps < 1.0 and sums.vw > 0.0:
        value = (1.0 - eps) * (lr * sums.vw + sums.b) / sums.w
    if eps > 0.0:
        value += eps / <double>n * (v_total * lr + sums.u)
    loss[0] = value
    return flags


cdef inline void gradient_row(const logit_t* x, Py_ssize_t n, Py_ssize_t stride,
                              const LogSumExp* acc, double total,
                              Py_ssize_t label, double label_part,
                              const target_t* t, Py_ssize_t t_stride,
                              double target_scale, double smooth_part,
                              const double* v, double scale,
                              logit_t* out, Py_ssize_t out_stride,
                              double* buf, double* ebuf) noexcept nogil:
    """out = scale (p T - v t), the gradient of the loss of one row.

    The second read of the row: p = softmax(x) from the row's (m, r) in acc,
    T = `total`. The target part v_c t_c is
        label_part [c == label]                  (hard label; label < 0: none)
      + v_c target_scale t_c                     (soft target; t NULL: none)
      + v_c smooth_part                          (label smoothing, eps / K),
    with v = 1 when NULL. Each element is formed in double, rounded once.
    """
    cdef Py_ssize_t start = 0, size, i
    cdef double largest, g, vi, part
    cdef const double* data
    cdef double factor = total / (1.0 + acc.r)
    while start < n:
        size = BLOCK if n - start > BLOCK else n - start
        data = load_block(x + start * stride, size, stride, buf, &largest)
        he_lg_exp_scaled(data, size, acc.m, factor, ebuf)
        if t != NULL or smooth_part != 0.0:
            for i in range(size):
                vi = v[start + i] if v != NULL else 1.0
                part = smooth_part
                if t != NULL:
                    part += target_scale * <double>t[(start + i) * t_stride]
                ebuf[i] -= vi * part
        if start <= label < start + size:
            ebuf[label - start] -= label_part
        for i in range(size):
            out[(start + i) * out_stride] = <logit_t>(scale * ebuf[i])
        start += size
