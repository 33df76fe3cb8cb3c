# Layer 2: drivers for logits.
#
# The Python layer (_logits_api.py) hands over arrays already validated and
# shaped (outer0, outer1, K) with the class axis last (views: any strides,
# including 0 from broadcasting and negative ones), float32 or float64 (float16
# is widened by the caller), labels already checked to lie in [0, K) or equal
# ignore_index (the kernel flags any other label, reading nothing with it). A
# driver finds the dtype's type code, releases the GIL and hands contiguous
# ranges of rows to the C core (include/histentropy/logits.h), one range per
# thread (OpenMP, when the build has it). Nothing here raises for bad data:
# the kernels' flags are returned.
cimport numpy as cnp
from cython.parallel cimport prange
from libc.stdint cimport int64_t

from histentropy cimport _core as c
from histentropy cimport _core_logits as cl

import numpy as np

cnp.import_array()

LOGITS_NAN = cl.HE_LOGITS_NAN
LOGITS_POSINF = cl.HE_LOGITS_POSINF
OTHER_NAN = cl.HE_LOGITS_OTHER_NAN
OTHER_POSINF = cl.HE_LOGITS_OTHER_POSINF
TARGET_NAN = cl.HE_LOGITS_TARGET_NAN
TARGET_NEGATIVE = cl.HE_LOGITS_TARGET_NEGATIVE
TARGET_INF = cl.HE_LOGITS_TARGET_INF
TARGET_RANGE = cl.HE_LOGITS_TARGET_RANGE


cdef int _code(cnp.ndarray a, str name) except -1:
    """The core's type code of a float64 or float32 array of 3 dimensions."""
    if cnp.PyArray_NDIM(a) != 3:
        raise ValueError(f"{name} must have 3 dimensions")
    if not (cnp.PyArray_ISNOTSWAPPED(a) and cnp.PyArray_ISALIGNED(a)):
        raise ValueError(f"{name} must be aligned, in native byte order")
    if a.descr.kind == b"f" and cnp.PyArray_ITEMSIZE(a) == 8:
        return cl.HE_LOGITS_F64
    if a.descr.kind == b"f" and cnp.PyArray_ITEMSIZE(a) == 4:
        return cl.HE_LOGITS_F32
    raise TypeError(f"{name} must be float32 or float64; got {a.dtype}")


cdef cl.he_logits_rows _layout(cnp.ndarray a):
    cdef cl.he_logits_rows s
    cdef cnp.npy_intp* shape = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(a)
    s.shape0 = shape[0]
    s.shape1 = shape[1]
    s.n = shape[2]
    s.stride0 = strides[0]
    s.stride1 = strides[1]
    s.stride = strides[2] // cnp.PyArray_ITEMSIZE(a)
    return s


cdef cl.he_logits_loss _loss(const double[::1] weight, double v_total, double eps,
                            bint has_ignore, int64_t ignore_index,
                            double grad_scale):
    cdef cl.he_logits_loss opt
    opt.weight = &weight[0] if weight is not None and weight.shape[0] else NULL
    opt.weight_total = v_total
    opt.smoothing = eps
    opt.has_ignore = has_ignore
    opt.ignore_index = ignore_index
    opt.grad_scale = grad_scale
    return opt


cdef inline Py_ssize_t _ranges(Py_ssize_t rows, int nthreads) noexcept nogil:
    """Ranges of rows: one per thread (static, like prange over the rows)."""
    if nthreads < 2 or rows < 2:
        return 1
    return nthreads if nthreads < rows else rows


cdef inline Py_ssize_t _first(Py_ssize_t rows, Py_ssize_t ranges,
                              Py_ssize_t i) noexcept nogil:
    return rows * i // ranges


cdef cnp.ndarray _out(const cl.he_logits_rows* s):
    return np.empty((s.shape0, s.shape1))


def entropy(cnp.ndarray x not None, int nthreads=1):
    """Entropy in nats of softmax(x[i, j, :]); returns (out, flags)."""
    cdef int code = _code(x, "x")
    cdef cl.he_logits_rows xs = _layout(x)
    cdef cnp.ndarray out = _out(&xs)
    cdef double* o = <double*>cnp.PyArray_DATA(out)
    cdef const void* d = cnp.PyArray_DATA(x)
    cdef Py_ssize_t rows = xs.shape0 * xs.shape1
    cdef Py_ssize_t i, ranges = _ranges(rows, nthreads)
    cdef int flags = 0
    with nogil:
        for i in prange(ranges, num_threads=nthreads, schedule="static"):
            flags |= cl.he_logits_entropy_rows_t(
                code, d, &xs, _first(rows, ranges, i),
                _first(rows, ranges, i + 1), o)
    return out, flags


def kl_divergence(cnp.ndarray a not None, cnp.ndarray b not None, int nthreads=1):
    """KL(softmax(a) || softmax(b)) in nats of each pair of rows; (out, flags)."""
    cdef int code = _code(a, "a")
    cdef cl.he_logits_rows as_ = _layout(a)
    cdef cl.he_logits_rows bs = _layout(b)
    cdef cnp.ndarray out
    cdef double* o
    cdef const void* da = cnp.PyArray_DATA(a)
    cdef const void* db = cnp.PyArray_DATA(b)
    cdef Py_ssize_t rows = as_.shape0 * as_.shape1
    cdef Py_ssize_t i, ranges = _ranges(rows, nthreads)
    cdef int flags = 0
    if _code(b, "b") != code:
        raise TypeError("a and b must have the same dtype")
    if (bs.shape0, bs.shape1, bs.n) != (as_.shape0, as_.shape1, as_.n):
        raise ValueError("a and b must have the same shape")
    out = _out(&as_)
    o = <double*>cnp.PyArray_DATA(out)
    with nogil:
        for i in prange(ranges, num_threads=nthreads, schedule="static"):
            flags |= cl.he_logits_kl_divergence_rows_t(
                code, da, &as_, db, &bs, _first(rows, ranges, i),
                _first(rows, ranges, i + 1), o)
    return out, flags


cdef void* _grad_data(cnp.ndarray grad, int code, bint want_grad,
                      cl.he_logits_rows* gs) except? NULL:
    """grad's data and layout with want_grad (NULL without)."""
    if not want_grad:
        return NULL
    if _code(grad, "grad") != code:
        raise TypeError("grad must have the dtype of the logits")
    if not cnp.PyArray_ISWRITEABLE(grad):
        raise ValueError("grad must be writable")
    gs[0] = _layout(grad)
    return cnp.PyArray_DATA(grad)


def cross_entropy_hard(cnp.ndarray x not None, const int64_t[:, ::1] labels,
                       const double[::1] weight, double v_total, double eps,
                       bint has_ignore, int64_t ignore_index, bint want_grad,
                       cnp.ndarray grad not None, double grad_scale,
                       int nthreads=1):
    """Cross entropy of each row against its class index; (loss, flags).

    Rows whose label is ignore_index (when has_ignore) give 0 and a zero
    gradient; a label outside [0, K) gives NaN (loss and gradient) and the
    flag TARGET_RANGE. `weight` (K class weights, summing to v_total) may be
    None (v_total = K); with want_grad the gradient of row (i, j) times
    grad_scale is written to grad[i, j, :] (else `grad` is not touched).
    """
    cdef int code = _code(x, "x")
    cdef cl.he_logits_rows xs = _layout(x)
    cdef cl.he_logits_rows gs = xs
    cdef cl.he_logits_loss opt = _loss(weight, v_total, eps, has_ignore,
                                      ignore_index, grad_scale)
    cdef void* g = _grad_data(grad, code, want_grad, &gs)
    cdef cnp.ndarray loss = _out(&xs)
    cdef double* o = <double*>cnp.PyArray_DATA(loss)
    cdef const void* d = cnp.PyArray_DATA(x)
    cdef Py_ssize_t rows = xs.shape0 * xs.shape1
    cdef Py_ssize_t i, ranges = _ranges(rows, nthreads)
    cdef int flags = 0
    if labels.shape[0] * labels.shape[1] != rows:
        raise ValueError("labels must have one entry per row")
    if rows == 0:
        return loss, flags
    with nogil:
        for i in prange(ranges, num_threads=nthreads, schedule="static"):
            flags |= cl.he_logits_cross_entropy_hard_rows_t(
                code, d, &xs, &labels[0, 0], &opt, _first(rows, ranges, i),
                _first(rows, ranges, i + 1), o, g, &gs)
    return loss, flags


def cross_entropy_soft(cnp.ndarray x not None, cnp.ndarray t not None,
                       const double[::1] weight, double v_total, double eps,
                       bint want_grad, cnp.ndarray grad not None,
                       double grad_scale, int nthreads=1):
    """Cross entropy of each row against soft target weights; (loss, flags)."""
    cdef int code = _code(x, "x")
    cdef int target_code = _code(t, "t")
    cdef cl.he_logits_rows xs = _layout(x)
    cdef cl.he_logits_rows ts = _layout(t)
    cdef cl.he_logits_rows gs = xs
    cdef cl.he_logits_loss opt = _loss(weight, v_total, eps, False, 0, grad_scale)
    cdef void* g = _grad_data(grad, code, want_grad, &gs)
    cdef cnp.ndarray loss = _out(&xs)
    cdef double* o = <double*>cnp.PyArray_DATA(loss)
    cdef const void* d = cnp.PyArray_DATA(x)
    cdef const void* dt = cnp.PyArray_DATA(t)
    cdef Py_ssize_t rows = xs.shape0 * xs.shape1
    cdef Py_ssize_t i, ranges = _ranges(rows, nthreads)
    cdef int flags = 0
    if (ts.shape0, ts.shape1, ts.n) != (xs.shape0, xs.shape1, xs.n):
        raise ValueError("t must have the shape of x")
    with nogil:
        for i in prange(ranges, num_threads=nthreads, schedule="static"):
            flags |= cl.he_logits_cross_entropy_soft_rows_t(
                code, target_code, d, &xs, dt, &ts, &opt,
                _first(rows, ranges, i), _first(rows, ranges, i + 1), o, g, &gs)
    return loss, flags


def simd_path():
    """The instruction-set path the kernels run ("avx512", "avx2", "sse4.2",
    "generic"; dispatch.h's names)."""
    return c.he_cpu_path_name(c.he_cpu_path()).decode("ascii")


# Select the CPU path now, when the package is imported (dispatch.h caches it).
c.he_cpu_path()
