# Layer 2: typed drivers for dense input.
#
# The Python layer hands over an array already validated and shaped: 1-, 2-
# or 3-D with the histogram axis last (a view: any strides, including 0 from
# broadcasting and negative ones). A driver picks the kernel specialisation
# for the dtype, releases the GIL and loops over the slices -- across threads
# (OpenMP, when the build has it) for many rows, or over chunks of a single
# long slice whose partial sums are then combined. Nothing here raises for bad
# data: the kernels' flags are returned.
cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport INFINITY, fabs, log

from histentropy._typedefs cimport (
    weight_t, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t,
    uint64_t,
)
from histentropy cimport _kernels as k

import numpy as np

cnp.import_array()

NAN_SEEN = k.NAN_SEEN
NEGATIVE_P = k.NEGATIVE_P
NEGATIVE_Q = k.NEGATIVE_Q
INFINITE_P = k.INFINITE_P
INFINITE_Q = k.INFINITE_Q

# The dtypes the kernels read directly, by (kind, itemsize); `weight_t`.
SUPPORTED = frozenset([
    ("f", 8), ("f", 4),
    ("i", 1), ("i", 2), ("i", 4), ("i", 8),
    ("u", 1), ("u", 2), ("u", 4), ("u", 8),
])

cdef enum:
    # At most this many chunks of one long slice are summed in parallel.
    MAX_CHUNKS = 64
    # Chunks shorter than this are not worth a thread.
    MIN_CHUNK = 1 << 15


def cpu_path():
    """Name of the instruction-set path the kernels use (see HISTENTROPY_CPU)."""
    return k.he_path_name(k.he_path()).decode()


def available_cpu_paths():
    """Names of the paths this CPU can run, slowest first."""
    cdef int best = k.he_best_path()
    return [k.he_path_name(path).decode() for path in (0, 2, 3, 4)
            if path <= best and (path == 0 or best >= 2)]


ctypedef struct Slices:
    # A (shape0, shape1, n) view: outer strides in bytes, `stride` in elements.
    Py_ssize_t shape0, shape1, n
    Py_ssize_t stride0, stride1, stride


cdef Slices _slices(cnp.ndarray a):
    cdef Slices s
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef cnp.npy_intp* shape = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(a)
    s.n = shape[nd - 1]
    s.stride = strides[nd - 1] // cnp.PyArray_ITEMSIZE(a)
    s.shape0 = shape[nd - 3] if nd == 3 else 1
    s.stride0 = strides[nd - 3] if nd == 3 else 0
    s.shape1 = shape[nd - 2] if nd >= 2 else 1
    s.stride1 = strides[nd - 2] if nd >= 2 else 0
    return s


cdef int _type_code(cnp.ndarray a) except -1:
    cdef int code = _type_code_or_minus_one(a)
    if code < 0:
        raise TypeError(f"unsupported dtype {a.dtype}")
    return code


cdef int _type_code_or_minus_one(cnp.ndarray a) noexcept:
    """Index of the dtype in weight_t order, -1 for others."""
    cdef char kind = a.descr.kind
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(a)
    if kind == b"f":
        if size == 8:
            return 0
        if size == 4:
            return 1
    elif kind == b"i":
        if size == 1:
            return 2
        if size == 2:
            return 3
        if size == 4:
            return 4
        if size == 8:
            return 5
    elif kind == b"u":
        if size == 1:
            return 6
        if size == 2:
            return 7
        if size == 4:
            return 8
        if size == 8:
            return 9
    return -1


cdef inline const weight_t* _row(const weight_t* base, Slices s,
                                 Py_ssize_t r) noexcept nogil:
    cdef Py_ssize_t i = r // s.shape1, j = r % s.shape1
    return <const weight_t*>(<const char*>base + i * s.stride0 + j * s.stride1)


cdef inline Py_ssize_t _chunks(Py_ssize_t n, int nthreads) noexcept nogil:
    cdef Py_ssize_t c = n // MIN_CHUNK
    if c > 4 * nthreads:
        c = 4 * nthreads
    if c > MAX_CHUNKS:
        c = MAX_CHUNKS
    return c if c > 1 else 1


# ---------------------------------------------------------------------------
# entropy
# ---------------------------------------------------------------------------

cdef int _entropy_long(const weight_t* p, Py_ssize_t n, bint omit_nan,
                       int nthreads, double* out) noexcept nogil:
    """One long contiguous slice: chunks summed in parallel, then combined."""
    cdef k.he_entropy_sums parts[MAX_CHUNKS]
    cdef k.he_entropy_sums total
    cdef k.CompensatedSum t
    cdef Py_ssize_t nchunks = _chunks(n, nthreads), size, c
    size = (n + nchunks - 1) // nchunks
    for c in prange(nchunks, num_threads=nthreads, schedule="static"):
        k.fast_entropy_sums(p + c * size,
                            size if (c + 1) * size <= n else n - c * size,
                            &parts[c])
    k.combine_entropy_sums(parts, nchunks, &total)
    if total.bad == 0.0 and k.total_in_range(total.total_hi):
        t.hi = total.total_hi
        t.lo = total.total_lo
        out[0] = k.entropy_finish(p, n, 1, 1.0, &t, total.plogp,
                                  total.plogp_abs, True)
        return 0
    return k.entropy_slice(p, n, 1, omit_nan, out)


cdef int _entropy_rows(const weight_t* base, Slices s, bint omit_nan,
                       int nthreads, double* out) noexcept nogil:
    cdef Py_ssize_t r, rows = s.shape0 * s.shape1
    cdef int flags = 0
    if rows == 1 and s.stride == 1 and nthreads > 1 and s.n >= 2 * MIN_CHUNK:
        return _entropy_long(base, s.n, omit_nan, nthreads, out)
    if nthreads > 1 and rows > 1:
        for r in prange(rows, num_threads=nthreads, schedule="static"):
            flags |= k.entropy_slice(_row(base, s, r), s.n, s.stride,
                                     omit_nan, &out[r])
        return flags
    for r in range(rows):
        flags |= k.entropy_slice(_row(base, s, r), s.n, s.stride, omit_nan,
                                 &out[r])
    return flags


cdef int _entropy_of(const weight_t* base, Slices s, bint omit_nan, int nthreads,
                     bint whole, double* out) noexcept nogil:
    if whole:
        return _entropy_whole(base, s, omit_nan, out)
    return _entropy_rows(base, s, omit_nan, nthreads, out)


cdef int _entropy_dispatch(int code, const void* d, Slices s, bint omit_nan,
                           int nthreads, bint whole, double* out) noexcept nogil:
    # The one place where the dtype picks the kernel specialisation.
    if code == 0:
        return _entropy_of(<const double*>d, s, omit_nan, nthreads, whole, out)
    elif code == 1:
        return _entropy_of(<const float*>d, s, omit_nan, nthreads, whole, out)
    elif code == 2:
        return _entropy_of(<const int8_t*>d, s, omit_nan, nthreads, whole, out)
    elif code == 3:
        return _entropy_of(<const int16_t*>d, s, omit_nan, nthreads, whole, out)
    elif code == 4:
        return _entropy_of(<const int32_t*>d, s, omit_nan, nthreads, whole, out)
    elif code == 5:
        return _entropy_of(<const int64_t*>d, s, omit_nan, nthreads, whole, out)
    elif code == 6:
        return _entropy_of(<const uint8_t*>d, s, omit_nan, nthreads, whole, out)
    elif code == 7:
        return _entropy_of(<const uint16_t*>d, s, omit_nan, nthreads, whole, out)
    elif code == 8:
        return _entropy_of(<const uint32_t*>d, s, omit_nan, nthreads, whole, out)
    return _entropy_of(<const uint64_t*>d, s, omit_nan, nthreads, whole, out)


def entropy(cnp.ndarray p not None, bint omit_nan, int nthreads=1,
            bint whole=False):
    """Entropy in nats of each slice of p (1-3-D, slices along the last axis),
    or with `whole` of all of p as one histogram (any strides: the slices'
    sums are combined, nothing is copied).

    Returns (out, flags): `out` a flat float64 array, one value per slice.
    """
    cdef Slices s = _slices(p)
    cdef int code = _type_code(p)
    cdef cnp.npy_intp rows = 1 if whole else s.shape0 * s.shape1
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &rows, cnp.NPY_FLOAT64, 0)
    cdef double* o = <double*>cnp.PyArray_DATA(out)
    cdef const void* d = cnp.PyArray_DATA(p)
    cdef int flags
    with nogil:
        flags = _entropy_dispatch(code, d, s, omit_nan, nthreads, whole, o)
    return out, flags


# ---------------------------------------------------------------------------
# entropy and KL divergence of pairs
# ---------------------------------------------------------------------------

cdef int _divergence_long(const weight_t* p, const weight_t* q, Py_ssize_t n,
                          bint omit_nan, bint need_entropy, int nthreads,
                          double* entropy, double* kl) noexcept nogil:
    """One long contiguous pair: chunks summed in parallel, then combined."""
    cdef k.he_pair_sums parts[MAX_CHUNKS]
    cdef k.he_pair_sums total
    cdef k.CompensatedSum pt, qt
    cdef Py_ssize_t nchunks = _chunks(n, nthreads), size, c, length
    size = (n + nchunks - 1) // nchunks
    for c in prange(nchunks, num_threads=nthreads, schedule="static"):
        length = size if (c + 1) * size <= n else n - c * size
        k.fast_pair_sums(p + c * size, q + c * size, length, need_entropy,
                         &parts[c])
    k.combine_pair_sums(parts, nchunks, &total)
    if (total.bad == 0.0 and k.total_in_range(total.p_hi)
            and k.total_in_range(total.q_hi)):
        pt.hi = total.p_hi
        pt.lo = total.p_lo
        qt.hi = total.q_hi
        qt.lo = total.q_lo
        k.divergence_finish(p, 1, q, 1, n, 1.0, 1.0, need_entropy, &pt, &qt,
                            total.plogp, total.plogp_abs, total.plogpq,
                            total.plogpq_abs, total.unbounded > 0.0,
                            0.0 if total.ratio_exact else 1.0, True,
                            entropy, kl)
        return 0
    return k.divergence_slice(p, 1, q, 1, n, omit_nan, need_entropy,
                              entropy, kl)


cdef int _divergence_rows(const weight_t* p, Slices ps, const weight_t* q,
                          Slices qs, bint omit_nan, bint need_entropy,
                          int nthreads, double* entropy,
                          double* kl) noexcept nogil:
    cdef Py_ssize_t r, rows = ps.shape0 * ps.shape1
    cdef int flags = 0
    if (rows == 1 and ps.stride == 1 and qs.stride == 1 and nthreads > 1
            and ps.n >= 2 * MIN_CHUNK):
        return _divergence_long(p, q, ps.n, omit_nan, need_entropy, nthreads,
                                entropy, kl)
    if nthreads > 1 and rows > 1:
        for r in prange(rows, num_threads=nthreads, schedule="static"):
            flags |= k.divergence_slice(
                _row(p, ps, r), ps.stride, _row(q, qs, r), qs.stride, ps.n,
                omit_nan, need_entropy, &entropy[r if need_entropy else 0],
                &kl[r])
        return flags
    for r in range(rows):
        flags |= k.divergence_slice(
            _row(p, ps, r), ps.stride, _row(q, qs, r), qs.stride, ps.n,
            omit_nan, need_entropy, &entropy[r if need_entropy else 0], &kl[r])
    return flags


cdef int _divergence_of(const weight_t* p, Slices ps, const weight_t* q,
                        Slices qs, bint omit_nan, bint need_entropy,
                        int nthreads, bint whole, double* entropy,
                        double* kl) noexcept nogil:
    if whole:
        return _divergence_whole(p, ps, q, qs, omit_nan, need_entropy,
                                 entropy, kl)
    return _divergence_rows(p, ps, q, qs, omit_nan, need_entropy, nthreads,
                            entropy, kl)


cdef int _divergence_dispatch(int code, const void* p, Slices ps, const void* q,
                              Slices qs, bint omit_nan, bint need_entropy,
                              int nthreads, bint whole, double* entropy,
                              double* kl) noexcept nogil:
    # The one place where the dtype picks the pair kernel specialisation.
    if code == 0:
        return _divergence_of(<const double*>p, ps, <const double*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 1:
        return _divergence_of(<const float*>p, ps, <const float*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 2:
        return _divergence_of(<const int8_t*>p, ps, <const int8_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 3:
        return _divergence_of(<const int16_t*>p, ps, <const int16_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 4:
        return _divergence_of(<const int32_t*>p, ps, <const int32_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 5:
        return _divergence_of(<const int64_t*>p, ps, <const int64_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 6:
        return _divergence_of(<const uint8_t*>p, ps, <const uint8_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 7:
        return _divergence_of(<const uint16_t*>p, ps, <const uint16_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    elif code == 8:
        return _divergence_of(<const uint32_t*>p, ps, <const uint32_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)
    return _divergence_of(<const uint64_t*>p, ps, <const uint64_t*>q, qs, omit_nan,
                              need_entropy, nthreads, whole, entropy, kl)


def divergence(cnp.ndarray p not None, cnp.ndarray q not None, bint omit_nan,
               bint need_entropy, int nthreads=1, bint whole=False):
    """Entropy of p (if needed) and KL(p || q) in nats of each pair of slices,
    or with `whole` of all of p and q as one pair of histograms.

    p and q have one shape and dtype (1-3-D, slices along the last axis).
    Returns (entropy or None, kl, flags), flat float64 arrays.
    """
    cdef Slices ps = _slices(p), qs = _slices(q)
    cdef int code = _type_code(p)
    cdef cnp.npy_intp rows = 1 if whole else ps.shape0 * ps.shape1
    cdef cnp.npy_intp one = 1
    cdef cnp.ndarray kl = cnp.PyArray_EMPTY(1, &rows, cnp.NPY_FLOAT64, 0)
    cdef cnp.ndarray ent = cnp.PyArray_EMPTY(
        1, &rows if need_entropy else &one, cnp.NPY_FLOAT64, 0)
    cdef double* e = <double*>cnp.PyArray_DATA(ent)
    cdef double* o = <double*>cnp.PyArray_DATA(kl)
    cdef const void* a = cnp.PyArray_DATA(p)
    cdef const void* b = cnp.PyArray_DATA(q)
    cdef int flags
    if _type_code(q) != code:
        raise TypeError("p and q must have the same dtype")
    with nogil:
        flags = _divergence_dispatch(code, a, ps, b, qs, omit_nan, need_entropy,
                                     nthreads, whole, e, o)
    return (ent if need_entropy else None), kl, flags


# ---------------------------------------------------------------------------
# the common case, with little per-call overhead: one 1-D float or integer
# array, default options. Returns None whenever the general path is needed
# (other layouts or dtypes, or data the kernels flagged), which then redoes
# the call and raises as documented.
# ---------------------------------------------------------------------------

cdef object _float64 = np.float64


cdef inline bint _plain_vector(object a) noexcept:
    return (type(a) is cnp.ndarray and cnp.PyArray_NDIM(<cnp.ndarray>a) == 1
            and cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>a)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a))


def entropy_vector(object p, int nthreads, Py_ssize_t parallel_min_size):
    if not _plain_vector(p):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>p
    cdef int code = _type_code_or_minus_one(a)
    if code < 0:
        return None
    cdef Slices s = _slices(a)
    cdef double h
    cdef const void* d = cnp.PyArray_DATA(a)
    cdef int flags
    if s.n < parallel_min_size:
        nthreads = 1
    with nogil:
        flags = _entropy_dispatch(code, d, s, False, nthreads, False, &h)
    if flags:
        return None
    return _float64(h)


def divergence_vector(object p, object q, bint need_entropy, int nthreads,
                      Py_ssize_t parallel_min_size):
    """(entropy, kl) of two 1-D arrays of one dtype and length, or None."""
    if not (_plain_vector(p) and _plain_vector(q)):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>p, b = <cnp.ndarray>q
    cdef int code = _type_code_or_minus_one(a)
    if code < 0 or _type_code_or_minus_one(b) != code:
        return None
    cdef Slices ps = _slices(a), qs = _slices(b)
    if ps.n != qs.n:
        return None
    cdef double e = 0.0, o
    cdef const void* x = cnp.PyArray_DATA(a)
    cdef const void* y = cnp.PyArray_DATA(b)
    cdef int flags
    if ps.n < parallel_min_size:
        nthreads = 1
    with nogil:
        flags = _divergence_dispatch(code, x, ps, y, qs, False, need_entropy,
                                     nthreads, False, &e, &o)
    if flags:
        return None
    return _float64(e), _float64(o)


# ---------------------------------------------------------------------------
# axis=None over a layout that is not one contiguous run (strided, reversed,
# broadcast): every slice is one part of a single histogram. The general
# kernel's sums of each slice are combined, so nothing is copied.
# ---------------------------------------------------------------------------

cdef inline void _csum_merge(k.CompensatedSum* into,
                             k.CompensatedSum* part) noexcept nogil:
    k.csum_add_exact(into, part.hi)
    into.lo += part.lo


cdef int _entropy_whole(const weight_t* base, Slices s, bint omit_nan,
                        double* out) noexcept nogil:
    cdef Py_ssize_t r, rows = s.shape0 * s.shape1
    cdef k.CompensatedSum total, plogp, t, a
    cdef double scale = 1.0, plogp_abs, abs_part, largest = 0.0, big, h
    cdef int flags = 0, attempt
    cdef bint accurate
    for attempt in range(2):
        k.csum_init(&total)
        k.csum_init(&plogp)
        plogp_abs = 0.0
        for r in range(rows):
            flags |= k.entropy_sums(_row(base, s, r), s.n, s.stride, scale,
                                    &t, &a, &abs_part, &big)
            _csum_merge(&total, &t)
            k.csum_add(&plogp, k.csum_value(&a))
            plogp_abs += abs_part
            if big > largest:
                largest = big
        if flags & k.ERROR_FLAGS or (flags & k.NAN_SEEN and not omit_nan):
            out[0] = k.NAN
            return flags
        if k.csum_value(&total) == 0.0:
            out[0] = k.NAN
            return flags
        if k.total_in_range(k.csum_value(&total)) or attempt == 1:
            break
        scale = k.rescale_factor(k.csum_value(&total), largest, rows * s.n)
    k.csum_normalise(&total)
    h = k.entropy_from_sums(&total, k.csum_value(&plogp), plogp_abs, &accurate)
    if not accurate:
        k.csum_init(&a)
        for r in range(rows):
            k.csum_add(&a, k.entropy_accurate(_row(base, s, r), s.n, s.stride,
                                              scale, &total))
        h = k.csum_value(&a)
    out[0] = h
    return flags


cdef int _divergence_whole(const weight_t* p, Slices ps, const weight_t* q,
                           Slices qs, bint omit_nan, bint need_entropy,
                           double* entropy, double* kl) noexcept nogil:
    cdef Py_ssize_t r, rows = ps.shape0 * ps.shape1
    cdef k.CompensatedSum p_total, q_total, plogp, plogpq, pt, qt, a, b
    cdef double p_scale = 1.0, q_scale = 1.0, abs_parts[2], abs_sums[2]
    cdef double p_big = 0.0, q_big = 0.0, pb, qb, h, d, log_q_over_p
    cdef bint unbounded = False, unb, accurate
    cdef int flags = 0, attempt
    for attempt in range(2):
        k.csum_init(&p_total)
        k.csum_init(&q_total)
        k.csum_init(&plogp)
        k.csum_init(&plogpq)
        abs_sums[0] = 0.0
        abs_sums[1] = 0.0
        for r in range(rows):
            flags |= k.pair_sums(_row(p, ps, r), ps.stride, _row(q, qs, r),
                                 qs.stride, ps.n, p_scale, q_scale,
                                 need_entropy, &pt, &qt, &a, &b, abs_parts,
                                 &pb, &qb, &unb)
            _csum_merge(&p_total, &pt)
            _csum_merge(&q_total, &qt)
            k.csum_add(&plogp, k.csum_value(&a))
            k.csum_add(&plogpq, k.csum_value(&b))
            abs_sums[0] += abs_parts[0]
            abs_sums[1] += abs_parts[1]
            unbounded = unbounded or unb
            if pb > p_big:
                p_big = pb
            if qb > q_big:
                q_big = qb
        if (flags & k.ERROR_FLAGS or (flags & k.NAN_SEEN and not omit_nan)
                or k.csum_value(&p_total) == 0.0
                or k.csum_value(&q_total) == 0.0):
            kl[0] = k.NAN
            entropy[0] = k.NAN
            return flags
        if attempt == 1 or (k.total_in_range(k.csum_value(&p_total))
                            and k.total_in_range(k.csum_value(&q_total))):
            break
        p_scale = k.rescale_factor(k.csum_value(&p_total), p_big, rows * ps.n)
        q_scale = k.rescale_factor(k.csum_value(&q_total), q_big, rows * ps.n)
        unbounded = False
    k.csum_normalise(&p_total)
    k.csum_normalise(&q_total)
    if need_entropy:
        h = k.entropy_from_sums(&p_total, k.csum_value(&plogp), abs_sums[0],
                                &accurate)
        if not accurate:
            k.csum_init(&a)
            for r in range(rows):
                k.csum_add(&a, k.pair_entropy_accurate(
                    _row(p, ps, r), ps.stride, _row(q, qs, r), qs.stride,
                    ps.n, p_scale, &p_total))
            h = k.csum_value(&a)
        entropy[0] = h
    if unbounded:
        kl[0] = INFINITY
        return flags
    log_q_over_p = k.csum_log_ratio(&q_total, &p_total)
    d = k.csum_value(&plogpq) / p_total.hi + log_q_over_p
    if not (fabs(log(p_scale) - log(q_scale)) + abs_sums[1] / p_total.hi
            + fabs(log_q_over_p) <= k.MAX_CANCELLATION * d):
        k.csum_init(&a)
        for r in range(rows):
            k.csum_add(&a, k.kl_accurate(_row(p, ps, r), ps.stride,
                                         _row(q, qs, r), qs.stride, ps.n,
                                         p_scale, q_scale, &p_total, &q_total))
        d = k.csum_value(&a)
    kl[0] = d
    return flags


# ---------------------------------------------------------------------------
# p and q of different dtypes, many histograms: each pair of slices is read
# into float64 row buffers (two rows, not a converted copy of the input) and
# handed to the float64 kernel.
# ---------------------------------------------------------------------------

cdef inline void _convert(const weight_t* src, Py_ssize_t stride, Py_ssize_t n,
                          double* dst) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        dst[i] = <double>src[i * stride]


cdef void _load_row(const void* base, int code, Slices s, Py_ssize_t r,
                    double* dst) noexcept nogil:
    cdef const char* row = (<const char*>base + (r // s.shape1) * s.stride0
                            + (r % s.shape1) * s.stride1)
    if code == 0:
        _convert(<const double*>row, s.stride, s.n, dst)
    elif code == 1:
        _convert(<const float*>row, s.stride, s.n, dst)
    elif code == 2:
        _convert(<const int8_t*>row, s.stride, s.n, dst)
    elif code == 3:
        _convert(<const int16_t*>row, s.stride, s.n, dst)
    elif code == 4:
        _convert(<const int32_t*>row, s.stride, s.n, dst)
    elif code == 5:
        _convert(<const int64_t*>row, s.stride, s.n, dst)
    elif code == 6:
        _convert(<const uint8_t*>row, s.stride, s.n, dst)
    elif code == 7:
        _convert(<const uint16_t*>row, s.stride, s.n, dst)
    elif code == 8:
        _convert(<const uint32_t*>row, s.stride, s.n, dst)
    else:
        _convert(<const uint64_t*>row, s.stride, s.n, dst)


def divergence_mixed(cnp.ndarray p not None, cnp.ndarray q not None,
                     bint omit_nan, bint need_entropy):
    """As `divergence`, for p and q of one shape but different dtypes."""
    cdef Slices ps = _slices(p), qs = _slices(q)
    cdef int pcode = _type_code(p), qcode = _type_code(q)
    cdef cnp.npy_intp rows = ps.shape0 * ps.shape1
    cdef cnp.npy_intp one = 1
    cdef cnp.ndarray kl = cnp.PyArray_EMPTY(1, &rows, cnp.NPY_FLOAT64, 0)
    cdef cnp.ndarray ent = cnp.PyArray_EMPTY(
        1, &rows if need_entropy else &one, cnp.NPY_FLOAT64, 0)
    cdef double* e = <double*>cnp.PyArray_DATA(ent)
    cdef double* o = <double*>cnp.PyArray_DATA(kl)
    cdef const void* a = cnp.PyArray_DATA(p)
    cdef const void* b = cnp.PyArray_DATA(q)
    cdef double[::1] buffers = np.empty(2 * ps.n + 2)
    cdef double* pb = &buffers[0]
    cdef double* qb = &buffers[ps.n + 1]
    cdef Py_ssize_t r
    cdef int flags = 0
    with nogil:
        for r in range(rows):
            _load_row(a, pcode, ps, r, pb)
            _load_row(b, qcode, qs, r, qb)
            flags |= k.divergence_slice(pb, 1, qb, 1, ps.n, omit_nan,
                                        need_entropy,
                                        &e[r if need_entropy else 0], &o[r])
    return (ent if need_entropy else None), kl, flags
