# Layer 2: typed drivers for dense input.
#
# The Python layer hands over arrays already validated, broadcast and shaped
# (outer0, outer1, n) with the histogram axis last (views: any strides,
# including 0 from broadcasting and negative ones). A driver picks the kernel
# specialisation for the dtype, releases the GIL and loops over the slices.
# Nothing here raises for bad data: the kernels' flags are returned.
from histentropy._typedefs cimport weight_t
from histentropy cimport _kernels as k

import numpy as np

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


ctypedef struct Layout:
    # Shape and strides of a (outer0, outer1, n) view: the outer strides in
    # bytes, the slice stride in elements.
    Py_ssize_t shape0, shape1, n
    Py_ssize_t stride0, stride1, stride


cdef inline Layout _layout(const weight_t[:, :, :] a) noexcept:
    cdef Layout lay
    lay.shape0 = a.shape[0]
    lay.shape1 = a.shape[1]
    lay.n = a.shape[2]
    lay.stride0 = a.strides[0]
    lay.stride1 = a.strides[1]
    lay.stride = a.strides[2] // <Py_ssize_t>sizeof(weight_t)
    return lay


def entropy(const weight_t[:, :, :] p, bint omit_nan):
    """Entropy in nats of each slice p[i, j, :]; returns (out, flags)."""
    cdef Layout lay = _layout(p)
    cdef double[:, ::1] out = np.empty((lay.shape0, lay.shape1))
    cdef const char* base = <const char*>&p[0, 0, 0]
    cdef const char* row
    cdef Py_ssize_t i, j
    cdef int flags = 0
    with nogil:
        for i in range(lay.shape0):
            for j in range(lay.shape1):
                row = base + i * lay.stride0 + j * lay.stride1
                flags |= k.entropy_slice(<const weight_t*>row, lay.n,
                                         lay.stride, omit_nan, &out[i, j])
    return out.base, flags


def divergence(const weight_t[:, :, :] p, const weight_t[:, :, :] q,
               bint omit_nan, bint need_entropy):
    """Entropy of p (if needed) and KL(p || q) in nats of each pair of slices.

    Returns (entropy or None, kl, flags).
    """
    cdef Layout pl = _layout(p), ql = _layout(q)
    cdef double[:, ::1] kl = np.empty((pl.shape0, pl.shape1))
    cdef double[:, ::1] ent = np.empty(
        (pl.shape0 if need_entropy else 1, pl.shape1 if need_entropy else 1))
    cdef const char* pbase = <const char*>&p[0, 0, 0]
    cdef const char* qbase = <const char*>&q[0, 0, 0]
    cdef const char* prow
    cdef const char* qrow
    cdef Py_ssize_t i, j
    cdef int flags = 0
    with nogil:
        for i in range(pl.shape0):
            for j in range(pl.shape1):
                prow = pbase + i * pl.stride0 + j * pl.stride1
                qrow = qbase + i * ql.stride0 + j * ql.stride1
                flags |= k.divergence_slice(
                    <const weight_t*>prow, pl.stride,
                    <const weight_t*>qrow, ql.stride, pl.n,
                    omit_nan, need_entropy,
                    &ent[i, j] if need_entropy else &ent[0, 0], &kl[i, j])
    return (ent.base if need_entropy else None), kl.base, flags
