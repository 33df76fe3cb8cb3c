# Layer 2: the drivers of joint tables (include/histentropy/joint.h) and of
# the entropy estimators of counts (include/histentropy/estimators.h).
#
# The Python layer hands over views the kernels read in place: a batch of
# tables (3-D, each table's rows contiguous) or histograms as slices (1-3-D,
# any strides), or the arrays of compressed rows. Tables and histograms are
# spread over OpenMP threads (dynamic: their work differs), each thread with
# buffers of its own. Nothing here raises for bad data: codes and flags are
# returned for the Python layer to act on.
cimport numpy as cnp
from cython.parallel cimport prange, parallel, threadid
from libc.stdint cimport int32_t
from libc.stdlib cimport calloc, free, malloc

from histentropy cimport _core as c
from histentropy cimport _core_joint as cj
from histentropy._dense cimport type_code, slices_of

import numpy as np

cnp.import_array()

IRREGULAR = cj.HE_JOINT_IRREGULAR
INEXACT = cj.HE_JOINT_INEXACT
ESTIMATORS = {"plugin": cj.HE_PLUGIN, "miller_madow": cj.HE_MILLER_MADOW,
              "grassberger": cj.HE_GRASSBERGER, "chao_shen": cj.HE_CHAO_SHEN,
              "james_stein": cj.HE_JAMES_STEIN}
COUNTS_NAN = cj.HE_COUNTS_NAN
COUNTS_NEGATIVE = cj.HE_COUNTS_NEGATIVE
COUNTS_INFINITE = cj.HE_COUNTS_INFINITE
COUNTS_NONINTEGER = cj.HE_COUNTS_NONINTEGER
COUNTS_OVERFLOW = cj.HE_COUNTS_OVERFLOW

# log w of whole counts, for he_joint_information (read only once filled)
cdef double LOG_TABLE[cj.HE_JOINT_LOG_TABLE]
cj.he_joint_log_table(LOG_TABLE)
# log n and G(n) - log n of small counts, for he_count_estimate
cdef double LOG_N[cj.HE_PROFILE_SMALL]
cdef double G_MINUS_LOG[cj.HE_PROFILE_SMALL]
cj.he_count_tables(LOG_N, G_MINUS_LOG)


def information(cnp.ndarray tables not None, int nthreads=1):
    """I(X; Y) in nats of each table of a (batch, nx, ny) array whose last
    axis is contiguous. Returns (info, codes): codes[i] an HE_JOINT_* code,
    info[i] meaningful where it is 0."""
    cdef int code = type_code(tables)
    cdef Py_ssize_t batch = tables.shape[0], nx = tables.shape[1], ny = tables.shape[2]
    cdef Py_ssize_t table_step = tables.strides[0], row_step = tables.strides[1]
    cdef Py_ssize_t i, work = 4 * ny + nx + 1
    cdef cnp.ndarray info = np.zeros(batch, dtype=np.float64)
    cdef cnp.ndarray codes = np.zeros(batch, dtype=np.int32)
    cdef double* out = <double*>cnp.PyArray_DATA(info)
    cdef int32_t* status = <int32_t*>cnp.PyArray_DATA(codes)
    cdef const char* base = <const char*>cnp.PyArray_DATA(tables)
    cdef double* buffers
    if code < 0 or tables.strides[2] != cnp.PyArray_ITEMSIZE(tables):
        raise TypeError("information takes a 3-D array of a kernel dtype, rows contiguous")
    if nthreads > batch:
        nthreads = <int>max(batch, 1)
    buffers = <double*>malloc(nthreads * work * sizeof(double))
    if buffers == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in prange(batch, num_threads=nthreads, schedule="dynamic"):
                status[i] = cj.he_joint_information(
                    code, base + i * table_step, nx, ny, row_step, LOG_TABLE,
                    buffers + threadid() * work, &out[i])
    finally:
        free(buffers)
    return info, codes


def information_csr(cnp.ndarray data not None, const cnp.int64_t[::1] indices,
                    const cnp.int64_t[::1] indptr, Py_ssize_t nx, Py_ssize_t ny):
    """I(X; Y) in nats of one table of canonical compressed rows (data
    contiguous, of a kernel dtype). Returns (info, code) as `information`."""
    cdef int code = type_code(data), status
    cdef double info = 0.0
    cdef double* work
    if code < 0 or data.ndim != 1 or not data.flags.c_contiguous:
        raise TypeError("information_csr takes a contiguous 1-D array of a kernel dtype")
    if indptr.shape[0] != nx + 1:
        raise ValueError("indptr must have nx + 1 entries")
    work = <double*>malloc((3 * ny + nx + 1) * sizeof(double))
    if work == NULL:
        raise MemoryError()
    try:
        with nogil:
            status = cj.he_joint_information_csr(code, cnp.PyArray_DATA(data),
                                                 &indices[0] if indices.shape[0] else NULL,
                                                 &indptr[0], nx, ny, work, &info)
    finally:
        free(work)
    return info, status


cdef cj.he_count_profile* _new_profile(Py_ssize_t capacity) noexcept nogil:
    """A profile with room for `capacity` distinct counts (NULL: no memory)."""
    cdef cj.he_count_profile* pr = <cj.he_count_profile*>calloc(1, sizeof(cj.he_count_profile))
    if pr == NULL:
        return NULL
    pr.tally = <int32_t*>calloc(cj.HE_PROFILE_SMALL, sizeof(int32_t))
    pr.value = <double*>malloc((capacity + 1) * sizeof(double))
    pr.freq = <double*>malloc((capacity + 1) * sizeof(double))
    pr.work = <double*>malloc(2 * (capacity + 1) * sizeof(double))
    if pr.tally == NULL or pr.value == NULL or pr.freq == NULL or pr.work == NULL:
        _free_profile(pr)
        return NULL
    return pr


cdef void _free_profile(cj.he_count_profile* pr) noexcept nogil:
    if pr != NULL:
        free(pr.tally)
        free(pr.value)
        free(pr.freq)
        free(pr.work)
        free(pr)


def estimate(cnp.ndarray p not None, str estimator, bint omit_nan, int nthreads=1):
    """The estimate in nats of each slice of p (1-3-D, slices along the last
    axis, any strides). Returns (out, flags): flags per slice (HE_COUNTS_*),
    out meaningful where there are none (or only omitted NaN)."""
    cdef c.he_slices s = slices_of(p)
    cdef int code = type_code(p), kind = ESTIMATORS[estimator]
    cdef Py_ssize_t rows = s.shape0 * s.shape1, r
    cdef cnp.ndarray result = np.empty(rows, dtype=np.float64)
    cdef cnp.ndarray flag_array = np.zeros(rows, dtype=np.int32)
    cdef double* out = <double*>cnp.PyArray_DATA(result)
    cdef int32_t* flags = <int32_t*>cnp.PyArray_DATA(flag_array)
    cdef const void* base = cnp.PyArray_DATA(p)
    cdef cj.he_count_profile* pr
    if code < 0:
        raise TypeError("estimate takes an array of a kernel dtype")
    if nthreads > rows:
        nthreads = <int>max(rows, 1)
    with nogil, parallel(num_threads=nthreads):
        pr = _new_profile(s.n)
        for r in prange(rows, schedule="static"):
            if pr == NULL:
                flags[r] = -1
                continue
            flags[r] = cj.he_count_profile_read_t(code, c.he_slice_at(base, &s, r), s.n,
                                               s.stride, omit_nan, pr)
            out[r] = cj.he_count_estimate(kind, pr, LOG_N, G_MINUS_LOG)
        _free_profile(pr)
    if (flag_array < 0).any():
        raise MemoryError()
    return result, flag_array


def estimate_rows(cnp.ndarray data not None, const cnp.int64_t[::1] indptr,
                  double bins, str estimator, bint omit_nan, int nthreads=1):
    """The estimate in nats of each compressed row (its stored values
    data[indptr[r]:indptr[r + 1]], contiguous) of `bins` bins. Returns
    (out, flags) as `estimate`."""
    cdef int code = type_code(data), kind = ESTIMATORS[estimator]
    cdef Py_ssize_t rows = indptr.shape[0] - 1, r, n, widest = 0
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(data)
    cdef cnp.ndarray result = np.empty(max(rows, 0), dtype=np.float64)
    cdef cnp.ndarray flag_array = np.zeros(max(rows, 0), dtype=np.int32)
    cdef double* out = <double*>cnp.PyArray_DATA(result)
    cdef int32_t* flags = <int32_t*>cnp.PyArray_DATA(flag_array)
    cdef const char* base = <const char*>cnp.PyArray_DATA(data)
    cdef cj.he_count_profile* pr
    if code < 0 or data.ndim != 1 or not data.flags.c_contiguous:
        raise TypeError("estimate_rows takes a contiguous 1-D array of a kernel dtype")
    for r in range(rows):
        widest = max(widest, indptr[r + 1] - indptr[r])
    if nthreads > rows:
        nthreads = <int>max(rows, 1)
    with nogil, parallel(num_threads=nthreads):
        pr = _new_profile(widest)
        for r in prange(rows, schedule="static"):
            if pr == NULL:
                flags[r] = -1
                continue
            n = indptr[r + 1] - indptr[r]
            flags[r] = cj.he_count_profile_read_t(code, base + indptr[r] * size, n, 1,
                                               omit_nan, pr)
            pr.bins = bins - (n - pr.bins)   # the row's bins, less omitted NaN
            out[r] = cj.he_count_estimate(kind, pr, LOG_N, G_MINUS_LOG)
        _free_profile(pr)
    if (flag_array < 0).any():
        raise MemoryError()
    return result, flag_array
