# Layer 2: typed drivers for logits.
#
# The Python layer (_logits.py) hands over arrays already validated and
# shaped (outer0, outer1, K) with the class axis last (views: any strides,
# including 0 from broadcasting and negative ones), labels already checked to
# lie in [0, K) or equal ignore_index. A driver picks the kernel
# specialisation for the dtype (float32 or float64; float16 is widened by the
# caller), releases the GIL and loops over the rows. Nothing here raises for
# bad data: the kernels' flags are returned.
#
# Rows are split across `nthreads` threads with `prange` (one thread, and
# plain loops, when the build has no OpenMP); each thread has its own
# scratch memory (the kernels' block buffers and row state).
from cython.parallel cimport parallel, prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc

from histentropy cimport _logits_kernels as lk
from histentropy._logits_kernels cimport logit_t, target_t, LogSumExp, BLOCK

import numpy as np

LOGITS_NAN = lk.LOGITS_NAN
LOGITS_POSINF = lk.LOGITS_POSINF
OTHER_NAN = lk.OTHER_NAN
OTHER_POSINF = lk.OTHER_POSINF
TARGET_NAN = lk.TARGET_NAN
TARGET_NEGATIVE = lk.TARGET_NEGATIVE
TARGET_INF = lk.TARGET_INF


ctypedef struct Layout:
    # Shape and strides of a (outer0, outer1, n) view: the outer strides in
    # bytes, the row stride in elements.
    Py_ssize_t shape0, shape1, n
    Py_ssize_t stride0, stride1, stride


cdef inline Layout _layout(const logit_t[:, :, :] a) noexcept:
    cdef Layout lay
    lay.shape0 = a.shape[0]
    lay.shape1 = a.shape[1]
    lay.n = a.shape[2]
    lay.stride0 = a.strides[0]
    lay.stride1 = a.strides[1]
    lay.stride = a.strides[2] // <Py_ssize_t>sizeof(logit_t)
    return lay


cdef inline const logit_t* _row(const logit_t[:, :, :] a, const Layout* lay,
                                Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    return <const logit_t*>(<const char*>&a[0, 0, 0]
                            + i * lay.stride0 + j * lay.stride1)


cdef enum:
    # Scratch doubles per thread: two block buffers and room for a row state.
    SCRATCH = 2 * BLOCK + 8


def entropy(const logit_t[:, :, :] x, int nthreads=1):
    """Entropy in nats of softmax(x[i, j, :]); returns (out, flags)."""
    cdef Layout lay = _layout(x)
    cdef double[:, ::1] out = np.empty((lay.shape0, lay.shape1))
    cdef Py_ssize_t r, rows = lay.shape0 * lay.shape1
    cdef double* scratch = NULL
    cdef int flags = 0
    cdef int[1] nomem = [0]
    if rows == 0:
        return out.base, flags
    with nogil, parallel(num_threads=nthreads):
        scratch = <double*>malloc(SCRATCH * sizeof(double))
        if scratch != NULL:
            for r in prange(rows, schedule="static"):
                flags |= lk.entropy_row(
                    _row(x, &lay, r // lay.shape1, r % lay.shape1), lay.n,
                    lay.stride, &out[r // lay.shape1, r % lay.shape1], scratch)
            free(scratch)
        else:
            nomem[0] = 1
    _check_memory(nomem[0])
    return out.base, flags


def kl_divergence(const logit_t[:, :, :] a, const logit_t[:, :, :] b,
                  int nthreads=1):
    """KL(softmax(a) || softmax(b)) in nats of each pair of rows; (out, flags)."""
    cdef Layout al = _layout(a), bl = _layout(b)
    cdef double[:, ::1] out = np.empty((al.shape0, al.shape1))
    cdef Py_ssize_t r, i, j, rows = al.shape0 * al.shape1
    cdef double* scratch = NULL
    cdef int flags = 0
    cdef int[1] nomem = [0]
    if rows == 0:
        return out.base, flags
    with nogil, parallel(num_threads=nthreads):
        scratch = <double*>malloc(SCRATCH * sizeof(double))
        if scratch != NULL:
            for r in prange(rows, schedule="static"):
                i = r // al.shape1
                j = r % al.shape1
                flags |= lk.kl_row(_row(a, &al, i, j), al.stride,
                                   _row(b, &bl, i, j), bl.stride, al.n,
                                   &out[i, j], scratch, scratch + BLOCK)
            free(scratch)
        else:
            nomem[0] = 1
    _check_memory(nomem[0])
    return out.base, flags


def cross_entropy_hard(const logit_t[:, :, :] x, const int64_t[:, ::1] labels,
                       const double[::1] weight, double v_total, double eps,
                       bint has_ignore, int64_t ignore_index, bint want_grad,
                       logit_t[:, :, :] grad, double grad_scale,
                       int nthreads=1):
    """Cross entropy of each row against its class index; (loss, flags).

    Rows whose label is ignore_index (when has_ignore) give 0 and a zero
    gradient. `weight` (K class weights, summing to v_total) may be None
    (v_total = K); with want_grad the gradient of row (i, j) times grad_scale
    is written to grad[i, j, :] (else `grad` is not touched).
    """
    cdef Layout lay = _layout(x)
    cdef Layout gl = _layout(grad)
    cdef double[:, ::1] loss = np.empty((lay.shape0, lay.shape1))
    cdef const double* v = NULL
    cdef double vy, total
    cdef double smooth = eps / <double>lay.n if lay.n else 0.0
    cdef Py_ssize_t r, i, j, c, label, n = lay.n
    cdef Py_ssize_t rows = lay.shape0 * lay.shape1
    cdef double* scratch = NULL
    cdef LogSumExp* acc = NULL
    cdef logit_t* grow
    cdef int flags = 0
    cdef int[1] nomem = [0]
    if weight is not None and weight.shape[0]:
        v = &weight[0]
    if rows == 0:
        return loss.base, flags
    with nogil, parallel(num_threads=nthreads):
        scratch = <double*>malloc(SCRATCH * sizeof(double))
        if scratch != NULL:
            acc = <LogSumExp*>(scratch + 2 * BLOCK)
            for r in prange(rows, schedule="static"):
                i = r // lay.shape1
                j = r % lay.shape1
                label = labels[i, j]
                grow = NULL
                if want_grad:
                    grow = <logit_t*>(<char*>&grad[0, 0, 0]
                                      + i * gl.stride0 + j * gl.stride1)
                if has_ignore and label == ignore_index:
                    loss[i, j] = 0.0
                    if want_grad:
                        for c in range(n):
                            grow[c * gl.stride] = 0
                    continue
                flags |= lk.cross_entropy_hard_row(
                    _row(x, &lay, i, j), n, lay.stride, label, eps, v, v_total,
                    &loss[i, j], acc, scratch)
                if want_grad:
                    vy = v[label] if v != NULL else 1.0
                    total = (1.0 - eps) * vy + smooth * v_total
                    lk.gradient_row(_row(x, &lay, i, j), n, lay.stride, acc,
                                    total, label, (1.0 - eps) * vy,
                                    <const double*>NULL, 0, 0.0, smooth, v,
                                    grad_scale, grow, gl.stride, scratch,
                                    scratch + BLOCK)
            free(scratch)
        else:
            nomem[0] = 1
    _check_memory(nomem[0])
    return loss.base, flags


def cross_entropy_soft(const logit_t[:, :, :] x, const target_t[:, :, :] t,
                       const double[::1] weight, double v_total, double eps,
                       bint want_grad, logit_t[:, :, :] grad,
                       double grad_scale, int nthreads=1):
    """Cross entropy of each row against soft target weights; (loss, flags)."""
    cdef Layout lay = _layout(x)
    cdef Layout gl = _layout(grad)
    cdef Py_ssize_t t_stride0 = t.strides[0], t_stride1 = t.strides[1]
    cdef Py_ssize_t t_stride = t.strides[2] // <Py_ssize_t>sizeof(target_t)
    cdef double[:, ::1] loss = np.empty((lay.shape0, lay.shape1))
    cdef const double* v = NULL
    cdef double total
    cdef double smooth = eps / <double>lay.n if lay.n else 0.0
    cdef Py_ssize_t r, i, j, n = lay.n
    cdef Py_ssize_t rows = lay.shape0 * lay.shape1
    cdef double* scratch = NULL
    cdef double* sums = NULL
    cdef LogSumExp* acc = NULL
    cdef const target_t* trow
    cdef logit_t* grow
    cdef int flags = 0
    cdef int[1] nomem = [0]
    if weight is not None and weight.shape[0]:
        v = &weight[0]
    if rows == 0:
        return loss.base, flags
    with nogil, parallel(num_threads=nthreads):
        scratch = <double*>malloc(SCRATCH * sizeof(double))
        if scratch != NULL:
            acc = <LogSumExp*>(scratch + 2 * BLOCK)
            sums = scratch + 2 * BLOCK + 4
            for r in prange(rows, schedule="static"):
                i = r // lay.shape1
                j = r % lay.shape1
                trow = <const target_t*>(<const char*>&t[0, 0, 0]
                                         + i * t_stride0 + j * t_stride1)
                flags |= lk.cross_entropy_soft_row(
                    _row(x, &lay, i, j), n, lay.stride, trow, t_stride, eps,
                    v, v_total, &loss[i, j], sums, acc, scratch)
                if want_grad:
                    grow = <logit_t*>(<char*>&grad[0, 0, 0]
                                      + i * gl.stride0 + j * gl.stride1)
                    total = smooth * v_total
                    if sums[0] > 0.0:
                        total = total + (1.0 - eps) * sums[1] / sums[0]
                    lk.gradient_row(_row(x, &lay, i, j), n, lay.stride, acc,
                                    total, -1, 0.0, trow, t_stride,
                                    (1.0 - eps) / sums[0], smooth, v,
                                    grad_scale, grow, gl.stride, scratch,
                                    scratch + BLOCK)
            free(scratch)
        else:
            nomem[0] = 1
    _check_memory(nomem[0])
    return loss.base, flags


cdef inline void _check_memory(int nomem) except *:
    if nomem:
        raise MemoryError("histentropy: no memory for the kernels' block buffers")


def simd_path():
    """The instruction-set path the kernels run ("avx512", "avx2", ...)."""
    return lk.he_lg_path_name().decode("ascii")
