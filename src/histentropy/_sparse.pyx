# Layer 2: drivers for compressed sparse rows.
#
# The Python layer (_sparse_api.py) hands over the three arrays of a CSR
# matrix whose rows are the histograms (a CSC matrix is the CSR matrix of its
# transpose), already checked by `check_rows` and, when some row is unsorted
# or holds duplicates, replaced by `canonical_rows` (a copy: the caller's
# matrix is never touched). Data and dense operands share one dtype, index
# arrays are int32 or int64; the C core (include/histentropy/sparse.h) reads
# them through type codes.
#
# Rows are split across threads with OpenMP (prange over blocks of rows,
# each block with its own scratch); `whole` treats all rows as one histogram
# (axis=None). Nothing here raises for bad data: the kernels' flags are
# returned.
cimport numpy as cnp
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t
from libc.math cimport fmax
from libc.stdlib cimport malloc, free, qsort

from histentropy._typedefs cimport weight_t
from histentropy cimport _core as c
from histentropy._dense cimport type_code

import numpy as np

cnp.import_array()

ctypedef fused index_t:
    int32_t
    int64_t


# ---------------------------------------------------------------------------
# Structure: validity, canonical form
# ---------------------------------------------------------------------------

def check_rows(const index_t[::1] indices, const index_t[::1] indptr,
               Py_ssize_t n_cols, Py_ssize_t n_data):
    """0: valid and canonical (indices strictly increasing in every row);
    1: valid but some row is unsorted or holds duplicates; 2: an index is out
    of [0, n_cols); 3: indptr is not non-decreasing within the data."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1
    cdef const index_t* columns = &indices[0] if indices.shape[0] else NULL
    cdef int status
    if n_rows < 0:
        return 3
    with nogil:
        status = c.he_check_rows(4 if index_t is int32_t else 5, columns, &indptr[0],
                                 n_rows, n_cols, min(n_data, indices.shape[0]))
    return status


ctypedef struct Entry:
    int64_t index
    int64_t position
    double value


cdef int _entry_order(const void* x, const void* y) noexcept nogil:
    cdef const Entry* a = <const Entry*>x
    cdef const Entry* b = <const Entry*>y
    if a.index != b.index:
        return -1 if a.index < b.index else 1
    # Stored order among duplicates: their sum does not depend on qsort.
    return -1 if a.position < b.position else (1 if a.position > b.position else 0)


def canonical_rows(const weight_t[::1] data, const index_t[::1] indices,
                   const index_t[::1] indptr):
    """A canonical copy: indices sorted in each row, duplicates summed.

    Duplicates are summed in float64 (as `toarray` would, without the
    overflow of small integer types), so the data of the copy is float64.
    Returns (data, indices, indptr).
    """
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, r, j, lo, hi, m, out = 0
    cdef Py_ssize_t longest = 0
    cdef Py_ssize_t nnz = indptr[n_rows] - indptr[0]
    dtype = np.int32 if index_t is int32_t else np.int64
    new_data_arr = np.empty(nnz, dtype=np.float64)
    new_indices_arr = np.empty(nnz, dtype=dtype)
    new_indptr_arr = np.empty(n_rows + 1, dtype=dtype)
    cdef double[::1] new_data = new_data_arr
    cdef index_t[::1] new_indices = new_indices_arr
    cdef index_t[::1] new_indptr = new_indptr_arr
    cdef Entry* entries
    cdef bint sorted_row
    for r in range(n_rows):
        longest = max(longest, indptr[r + 1] - indptr[r])
    entries = <Entry*>malloc(max(longest, 1) * sizeof(Entry))
    if entries == NULL:
        raise MemoryError()
    try:
        with nogil:
            new_indptr[0] = 0
            for r in range(n_rows):
                lo = indptr[r]
                hi = indptr[r + 1]
                sorted_row = True
                for j in range(lo + 1, hi):
                    if indices[j] <= indices[j - 1]:
                        sorted_row = False
                        break
                if sorted_row:
                    for j in range(lo, hi):
                        new_indices[out] = indices[j]
                        new_data[out] = <double>data[j]
                        out += 1
                else:
                    m = hi - lo
                    for j in range(m):
                        entries[j].index = indices[lo + j]
                        entries[j].position = j
                        entries[j].value = <double>data[lo + j]
                    qsort(entries, m, sizeof(Entry), _entry_order)
                    for j in range(m):
                        if j > 0 and entries[j].index == entries[j - 1].index:
                            new_data[out - 1] += entries[j].value
                        else:
                            new_indices[out] = <index_t>entries[j].index
                            new_data[out] = entries[j].value
                            out += 1
                new_indptr[r + 1] = <index_t>out
    finally:
        free(entries)
    return new_data_arr[:out], new_indices_arr[:out], new_indptr_arr


# ---------------------------------------------------------------------------
# Operands as pointers and type codes
# ---------------------------------------------------------------------------

cdef enum:
    # Returned with the flags when a block could not get its scratch memory.
    NO_SCRATCH = 1 << 20

NO_MEMORY = NO_SCRATCH


ctypedef struct Rows:
    # Canonical compressed rows: data[indptr[r]:indptr[r+1]] at the columns
    # indices[...], data of type code `type`, indices of code 4 or 5.
    const char* data
    const char* indices
    const char* indptr
    int type, index_type
    Py_ssize_t size, index_size


ctypedef struct Dense:
    # Dense rows: row r at base + r * stride0 (bytes), `stride` in elements.
    const char* base
    Py_ssize_t stride0, stride, n
    int type


cdef Rows _rows(cnp.ndarray data, cnp.ndarray indices, cnp.ndarray indptr) except *:
    cdef Rows rows
    rows.data = <const char*>cnp.PyArray_DATA(data)
    rows.indices = <const char*>cnp.PyArray_DATA(indices)
    rows.indptr = <const char*>cnp.PyArray_DATA(indptr)
    rows.type = type_code(data)
    rows.index_type = type_code(indices)
    rows.size = cnp.PyArray_ITEMSIZE(data)
    rows.index_size = cnp.PyArray_ITEMSIZE(indices)
    if (rows.type < 0 or rows.index_type not in (4, 5)
            or type_code(indptr) != rows.index_type
            or not (cnp.PyArray_IS_C_CONTIGUOUS(data)
                    and cnp.PyArray_IS_C_CONTIGUOUS(indices)
                    and cnp.PyArray_IS_C_CONTIGUOUS(indptr))):
        raise TypeError("sparse operands: contiguous data of a kernel dtype and "
                        "int32 or int64 indices expected")
    return rows


cdef Dense _dense(cnp.ndarray a, int expected_type) except *:
    cdef Dense d
    if cnp.PyArray_NDIM(a) != 2 or type_code(a) != expected_type:
        raise TypeError("dense operand: a 2-D array of the sparse data's dtype expected")
    d.base = <const char*>cnp.PyArray_DATA(a)
    d.stride0 = cnp.PyArray_STRIDES(a)[0]
    d.stride = cnp.PyArray_STRIDES(a)[1] // cnp.PyArray_ITEMSIZE(a)
    d.n = cnp.PyArray_DIMS(a)[1]
    d.type = expected_type
    return d


cdef inline Py_ssize_t _ptr(const Rows* s, Py_ssize_t r) noexcept nogil:
    return (<const int32_t*>s.indptr)[r] if s.index_type == 4 else (<const int64_t*>s.indptr)[r]


cdef inline const void* _values(const Rows* s, Py_ssize_t j) noexcept nogil:
    return s.data + j * s.size


cdef inline const void* _columns(const Rows* s, Py_ssize_t j) noexcept nogil:
    return s.indices + j * s.index_size


cdef inline const void* _dense_row(const Dense* d, Py_ssize_t r) noexcept nogil:
    return d.base + r * d.stride0


cdef Py_ssize_t _longest(const Rows* s, Py_ssize_t start, Py_ssize_t stop,
                         bint whole) noexcept nogil:
    cdef Py_ssize_t r, longest = 0
    if whole:
        return _ptr(s, stop) - _ptr(s, start)
    for r in range(start, stop):
        longest = max(longest, _ptr(s, r + 1) - _ptr(s, r))
    return longest


cdef int _check(Py_ssize_t rows, Py_ssize_t other_rows, Py_ssize_t out_size,
                bint whole) except -1:
    # The drivers trust the Python layer, but a wrong call must not crash.
    if rows != other_rows:
        raise ValueError("p and q must have the same number of rows")
    if out_size < (1 if whole else rows):
        raise ValueError("output arrays too short")
    return 0


cdef inline Py_ssize_t _blocks(Py_ssize_t rows, int nthreads) noexcept nogil:
    # Blocks of rows for the threads: a few per thread balance uneven rows.
    if nthreads <= 1 or rows < 2:
        return 1
    return min(rows, 4 * nthreads)


# ---------------------------------------------------------------------------
# Entropy of sparse rows
# ---------------------------------------------------------------------------

cdef int _entropy_block(const Rows* s, Py_ssize_t start, Py_ssize_t stop,
                        bint omit_nan, double* out) noexcept nogil:
    """Rows [start, stop): the segmented pass, then the row kernel for the
    rows it did not settle (every row where the CPU path has no such pass)."""
    cdef Py_ssize_t* redo = <Py_ssize_t*>malloc(max(stop - start, 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t n_redo = -1, k, r
    cdef int flags = 0
    if redo != NULL:
        n_redo = c.he_rows_entropy_t(s.type, s.data, s.index_type, s.indptr, start,
                                     stop, out, redo)
    for k in range(stop - start if n_redo < 0 else n_redo):
        r = start + k if n_redo < 0 else redo[k]
        flags |= c.he_entropy_slice_t(s.type, _values(s, _ptr(s, r)),
                                      _ptr(s, r + 1) - _ptr(s, r), 1, omit_nan, &out[r])
    free(redo)
    return flags


def entropy_rows(cnp.ndarray data not None, cnp.ndarray indptr not None,
                 bint omit_nan, double[::1] out, int nthreads, bint whole):
    """Entropy (nats) of each canonical row into out[row].

    Only the stored values are read: zeros add nothing to a histogram. The
    rows go in blocks over the threads (dynamic: a descheduled thread's
    blocks go to the others), each block in one segmented pass. With
    `whole`, the stored values of all rows are one histogram, out[0].
    """
    cdef Rows s = _rows(data, indptr, indptr)
    cdef Py_ssize_t rows = indptr.shape[0] - 1, lo, blocks, i
    cdef int flags = 0
    _check(rows, rows, out.shape[0], whole)
    with nogil:
        if whole:
            lo = _ptr(&s, 0)
            flags = c.he_entropy_slice_t(s.type, _values(&s, lo), _ptr(&s, rows) - lo,
                                         1, omit_nan, &out[0])
        else:
            blocks = _blocks(rows, nthreads)
            for i in prange(blocks, num_threads=max(nthreads, 1), schedule="dynamic"):
                flags |= _entropy_block(&s, rows * i // blocks, rows * (i + 1) // blocks,
                                        omit_nan, &out[0])
    return flags


# ---------------------------------------------------------------------------
# Pairs: one block of rows
# ---------------------------------------------------------------------------

cdef int _sparse_sparse(const void* p_rows, const void* q_rows, Py_ssize_t start,
                        Py_ssize_t stop, bint whole, bint omit_nan,
                        bint need_entropy, double* ent, double* kl) noexcept nogil:
    """Rows [start, stop) of sparse p against sparse q: q's row total is one
    pass over its stored values (no logarithms), then q is looked up at p's
    stored bins by merging the sorted index lists."""
    cdef const Rows* p = <const Rows*>p_rows
    cdef const Rows* q = <const Rows*>q_rows
    cdef Py_ssize_t n = _longest(p, start, stop, whole), r, m, q0, q1, p0, p1
    cdef double* a = <double*>malloc(max(n, 1) * 2 * sizeof(double))
    cdef double* b = a + max(n, 1)
    cdef c.he_csum reference
    cdef double q_scale = 1.0, dummy
    cdef int flags = 0, q_flags
    cdef Py_ssize_t* redo = NULL
    cdef double* q_at = NULL
    cdef Py_ssize_t n_redo = -1, k
    if a == NULL:
        return NO_SCRATCH
    if whole:
        q0 = _ptr(q, start)
        q1 = _ptr(q, stop)
        q_flags = c.he_reference_t(q.type, _values(q, q0), q1 - q0, 1, &reference,
                                   &q_scale)
        m = 0
        for r in range(start, stop):
            p0 = _ptr(p, r)
            q0 = _ptr(q, r)
            m += c.he_lookup_t(p.type, p.index_type, _values(p, p0), _columns(p, p0),
                               _ptr(p, r + 1) - p0, _values(q, q0), _columns(q, q0),
                               _ptr(q, r + 1) - q0, a + m, b + m)
        flags = c.he_divergence_rest(a, b, m, &reference, q_scale, q_flags, omit_nan,
                                     need_entropy, ent if need_entropy else &dummy, kl)
    else:
        # float64 rows: the segmented pass first.
        if p.type == 0:
            redo = <Py_ssize_t*>malloc((stop - start) * sizeof(Py_ssize_t))
            q_at = <double*>malloc(2 * c.HE_SEGMENT_MAX * sizeof(double))
            if redo != NULL and q_at != NULL:
                n_redo = c.he_rows_kl_sparse(
                    <const double*>p.data, p.index_type, p.indices, p.indptr,
                    <const double*>q.data, q.indices, q.indptr, start, stop,
                    need_entropy, ent, kl, q_at, redo)
        # The row kernel: every row, or those the segmented pass left.
        for k in range(stop - start if n_redo < 0 else n_redo):
            r = start + k if n_redo < 0 else redo[k]
            p0 = _ptr(p, r)
            p1 = _ptr(p, r + 1)
            q0 = _ptr(q, r)
            q1 = _ptr(q, r + 1)
            q_flags = c.he_reference_t(q.type, _values(q, q0), q1 - q0, 1, &reference,
                                       &q_scale)
            m = c.he_lookup_t(p.type, p.index_type, _values(p, p0), _columns(p, p0),
                              p1 - p0, _values(q, q0), _columns(q, q0), q1 - q0, a, b)
            flags |= c.he_divergence_rest(
                a, b, m, &reference, q_scale, q_flags, omit_nan, need_entropy,
                &ent[r] if need_entropy else &dummy, &kl[r])
    free(q_at)
    free(redo)
    free(a)
    return flags


cdef int _dense_sparse(const void* p_rows, const void* q_rows, Py_ssize_t start,
                       Py_ssize_t stop, bint whole, bint omit_nan,
                       bint need_entropy, double* ent, double* kl) noexcept nogil:
    """Rows [start, stop) of dense p against sparse q: merged into pairs over
    the union of the supports, for the dense kernel."""
    cdef const Dense* p = <const Dense*>p_rows
    cdef const Rows* q = <const Rows*>q_rows
    cdef Py_ssize_t longest = _longest(q, start, stop, whole)
    cdef Py_ssize_t n = (p.n * (stop - start) if whole else p.n) + longest
    cdef double* a = <double*>malloc(max(n, 1) * 2 * sizeof(double))
    cdef double* b = a + max(n, 1)
    cdef Py_ssize_t r, m, q0
    cdef double dummy
    cdef int flags = 0
    if a == NULL:
        return NO_SCRATCH
    m = 0
    for r in range(start, stop):
        q0 = _ptr(q, r)
        if not whole:
            m = 0
        m += c.he_merge_dense_t(q.type, q.index_type, _dense_row(p, r), p.n, p.stride,
                                _values(q, q0), _columns(q, q0), _ptr(q, r + 1) - q0,
                                a + m, b + m)
        if not whole:
            flags |= c.he_divergence_slice_t(0, a, 1, b, 1, m, omit_nan, need_entropy,
                                             &ent[r] if need_entropy else &dummy,
                                             &kl[r])
    if whole:
        flags = c.he_divergence_slice_t(0, a, 1, b, 1, m, omit_nan, need_entropy,
                                        ent if need_entropy else &dummy, kl)
    free(a)
    return flags


cdef int _whole_reference(const Dense* q, Py_ssize_t start, Py_ssize_t stop,
                          c.he_csum* total, double* scale) noexcept nogil:
    """The total of the dense rows [start, stop) as one reference, in one
    power-of-two scale (a repeated row, stride 0 when broadcast, is summed
    once). Returns the rows' flags."""
    cdef Py_ssize_t r
    cdef const void* row
    cdef const void* previous = NULL
    cdef c.he_csum row_total
    cdef double s, largest
    cdef int flags = 0, attempt
    scale[0] = 1.0
    for attempt in range(2):
        c.he_csum_init(total)
        previous = NULL
        for r in range(start, stop):
            row = _dense_row(q, r)
            if r == start or row != previous:
                c.he_csum_init(&row_total)
                flags |= c.he_reference_read_t(q.type, row, q.n, q.stride,
                                               scale[0], &row_total)
                previous = row
            c.he_csum_merge(total, &row_total)
        s = c.he_csum_value(total)
        if attempt == 1 or not (s > 0.0 and not c.he_total_in_range(s)):
            break
        largest = 0.0
        for r in range(start, stop):
            largest = fmax(largest, c.he_reference_largest_t(
                q.type, _dense_row(q, r), q.n, q.stride))
        scale[0] = c.he_rescale_factor(s, largest, q.n * (stop - start))
    return flags


cdef int _sparse_dense(const void* p_rows, const void* q_rows, Py_ssize_t start,
                       Py_ssize_t stop, bint whole, bint omit_nan,
                       bint need_entropy, double* ent, double* kl) noexcept nogil:
    """Rows [start, stop) of sparse p against dense q: the total of a
    reference row is computed once per distinct row (a broadcast reference,
    stride 0, once per block); each sparse row then costs O(its stored
    values)."""
    cdef const Rows* p = <const Rows*>p_rows
    cdef const Dense* q = <const Dense*>q_rows
    cdef Py_ssize_t n = _longest(p, start, stop, whole), r, m, p0
    cdef double* a = <double*>malloc(max(n, 1) * 2 * sizeof(double))
    cdef double* b = a + max(n, 1)
    cdef const void* row
    cdef const void* previous = NULL
    cdef c.he_csum reference
    cdef double q_scale = 1.0, dummy
    cdef int flags = 0, q_flags = 0
    cdef Py_ssize_t* redo = NULL
    cdef Py_ssize_t n_redo = -1, k
    if a == NULL:
        return NO_SCRATCH
    if whole:
        q_flags = _whole_reference(q, start, stop, &reference, &q_scale)
        m = 0
        for r in range(start, stop):
            p0 = _ptr(p, r)
            m += c.he_gather_t(p.type, p.index_type, _values(p, p0), _columns(p, p0),
                               _ptr(p, r + 1) - p0, _dense_row(q, r), q.stride,
                               a + m, b + m)
        flags = c.he_divergence_rest(a, b, m, &reference, q_scale, q_flags, omit_nan,
                                     need_entropy, ent if need_entropy else &dummy, kl)
    else:
        # One reference row (broadcast) of float64: the segmented pass first.
        row = _dense_row(q, start)
        if (p.type == 0 and q.stride == 1 and (q.stride0 == 0 or stop - start == 1)):
            q_flags = c.he_reference_t(q.type, row, q.n, q.stride, &reference, &q_scale)
            previous = row
            if q_flags == 0 and q_scale == 1.0 and reference.hi > 0.0:
                redo = <Py_ssize_t*>malloc((stop - start) * sizeof(Py_ssize_t))
                if redo != NULL:
                    n_redo = c.he_rows_kl(<const double*>p.data, p.index_type, p.indices,
                                          p.indptr, start, stop, <const double*>row,
                                          &reference, need_entropy, ent, kl, redo)
        # The row kernel: every row, or those the segmented pass left.
        for k in range(stop - start if n_redo < 0 else n_redo):
            r = start + k if n_redo < 0 else redo[k]
            row = _dense_row(q, r)
            if row != previous:
                q_flags = c.he_reference_t(q.type, row, q.n, q.stride, &reference,
                                           &q_scale)
                previous = row
            flags |= q_flags
            p0 = _ptr(p, r)
            m = c.he_gather_t(p.type, p.index_type, _values(p, p0), _columns(p, p0),
                              _ptr(p, r + 1) - p0, row, q.stride, a, b)
            flags |= c.he_divergence_rest(
                a, b, m, &reference, q_scale, q_flags, omit_nan, need_entropy,
                &ent[r] if need_entropy else &dummy, &kl[r])
    free(redo)
    free(a)
    return flags


# ---------------------------------------------------------------------------
# Pairs: drivers. Each splits the rows into blocks run by OpenMP threads.
# ---------------------------------------------------------------------------

ctypedef int (*BlockKernel)(const void* p, const void* q, Py_ssize_t start,
                            Py_ssize_t stop, bint whole, bint omit_nan,
                            bint need_entropy, double* ent,
                            double* kl) noexcept nogil


cdef int _run_blocks(BlockKernel kernel, const void* p, const void* q,
                     Py_ssize_t rows, bint omit_nan, bint need_entropy,
                     double[::1] ent, double[::1] kl, int nthreads,
                     bint whole) noexcept:
    """kernel over blocks of rows, the blocks spread over OpenMP threads
    (all rows as one block when `whole`); returns the flags."""
    cdef Py_ssize_t blocks = 1 if whole else _blocks(rows, nthreads), i
    cdef int flags = 0
    with nogil:
        for i in prange(blocks, num_threads=max(nthreads, 1), schedule="dynamic"):
            flags |= kernel(p, q, rows * i // blocks, rows * (i + 1) // blocks,
                            whole, omit_nan, need_entropy, &ent[0], &kl[0])
    return flags


def divergence_sparse_sparse(
        cnp.ndarray p_data not None, cnp.ndarray p_indices not None,
        cnp.ndarray p_indptr not None, cnp.ndarray q_data not None,
        cnp.ndarray q_indices not None, cnp.ndarray q_indptr not None,
        bint omit_nan, bint need_entropy, double[::1] ent, double[::1] kl,
        int nthreads, bint whole):
    """Entropy of p (if needed) and KL(p || q) of canonical rows of equal shape.

    Work O(nnz(p) + nnz(q)) with logarithms only for p's stored values;
    scratch O(longest row of p) per block.
    """
    cdef Rows p = _rows(p_data, p_indices, p_indptr)
    cdef Rows q = _rows(q_data, q_indices, q_indptr)
    cdef Py_ssize_t rows = p_indptr.shape[0] - 1
    _check(rows, q_indptr.shape[0] - 1, kl.shape[0], whole)
    if q.type != p.type or q.index_type != p.index_type:
        raise TypeError("p and q must have the same data and index dtypes")
    return _run_blocks(_sparse_sparse, &p, &q, rows, omit_nan, need_entropy, ent,
                       kl, nthreads, whole)


def divergence_dense_sparse(
        cnp.ndarray p not None, cnp.ndarray q_data not None,
        cnp.ndarray q_indices not None, cnp.ndarray q_indptr not None,
        bint omit_nan, bint need_entropy, double[::1] ent, double[::1] kl,
        int nthreads, bint whole):
    """Dense rows p[r, :] (any strides) against canonical sparse rows of q."""
    cdef Rows q = _rows(q_data, q_indices, q_indptr)
    cdef Dense d = _dense(p, q.type)
    cdef Py_ssize_t rows = q_indptr.shape[0] - 1
    _check(rows, p.shape[0], kl.shape[0], whole)
    return _run_blocks(_dense_sparse, &d, &q, rows, omit_nan, need_entropy, ent,
                       kl, nthreads, whole)


def divergence_sparse_dense(
        cnp.ndarray p_data not None, cnp.ndarray p_indices not None,
        cnp.ndarray p_indptr not None, cnp.ndarray q not None,
        bint omit_nan, bint need_entropy, double[::1] ent, double[::1] kl,
        int nthreads, bint whole):
    """Canonical sparse rows of p against dense rows q[r, :] (any strides)."""
    cdef Rows p = _rows(p_data, p_indices, p_indptr)
    cdef Dense d = _dense(q, p.type)
    cdef Py_ssize_t rows = p_indptr.shape[0] - 1
    _check(rows, q.shape[0], kl.shape[0], whole)
    return _run_blocks(_sparse_dense, &p, &d, rows, omit_nan, need_entropy, ent,
                       kl, nthreads, whole)



# ---------------------------------------------------------------------------
# The measure family (include/histentropy/family.h)
# ---------------------------------------------------------------------------

ctypedef struct Job:
    # One call of a family measure.
    int measure
    c.he_params params
    bint omit_nan, whole
    Py_ssize_t n_cols


ctypedef int (*FamilyKernel)(const void* p, const void* q, const Job* job,
                             Py_ssize_t start, Py_ssize_t stop,
                             double* out) noexcept nogil


cdef int _family_rows(const void* p_rows, const void* unused, const Job* job,
                      Py_ssize_t start, Py_ssize_t stop, double* out) noexcept nogil:
    """Rows [start, stop) of sparse p alone: the stored values, and the
    unstored bins as zero_bins (they count only with a pseudocount)."""
    cdef const Rows* p = <const Rows*>p_rows
    cdef Py_ssize_t r, lo, hi
    cdef int flags = 0
    if job.whole:
        lo = _ptr(p, start)
        hi = _ptr(p, stop)
        return c.he_family_slice_f64(job.measure, &job.params,
                                     <const double*>_values(p, lo), 1, NULL, 0, hi - lo,
                                     job.n_cols * (stop - start) - (hi - lo),
                                     job.omit_nan, out)
    for r in range(start, stop):
        lo = _ptr(p, r)
        hi = _ptr(p, r + 1)
        flags |= c.he_family_slice_f64(job.measure, &job.params,
                                       <const double*>_values(p, lo), 1, NULL, 0, hi - lo,
                                       job.n_cols - (hi - lo), job.omit_nan, &out[r])
    return flags


cdef int _family_sparse_sparse(const void* p_rows, const void* q_rows, const Job* job,
                               Py_ssize_t start, Py_ssize_t stop,
                               double* out) noexcept nogil:
    """Rows [start, stop) of sparse p against sparse q: pairs over the union
    of the stored bins; the bins neither stores are zero_bins."""
    cdef const Rows* p = <const Rows*>p_rows
    cdef const Rows* q = <const Rows*>q_rows
    cdef Py_ssize_t n = (_longest(p, start, stop, job.whole)
                         + _longest(q, start, stop, job.whole))
    cdef double* a = <double*>malloc(max(n, 1) * 2 * sizeof(double))
    cdef double* b = a + max(n, 1)
    cdef Py_ssize_t r, m = 0, k, p0, q0
    cdef int flags = 0
    if a == NULL:
        return NO_SCRATCH
    for r in range(start, stop):
        p0 = _ptr(p, r)
        q0 = _ptr(q, r)
        if not job.whole:
            m = 0
        k = c.he_union_t(p.type, p.index_type, _values(p, p0), _columns(p, p0),
                         _ptr(p, r + 1) - p0, _values(q, q0), _columns(q, q0),
                         _ptr(q, r + 1) - q0, a + m, b + m)
        m += k
        if not job.whole:
            flags |= c.he_family_slice_f64(job.measure, &job.params, a, 1, b, 1, m,
                                           job.n_cols - m, job.omit_nan, &out[r])
    if job.whole:
        flags = c.he_family_slice_f64(job.measure, &job.params, a, 1, b, 1, m,
                                      job.n_cols * (stop - start) - m, job.omit_nan, out)
    free(a)
    return flags


cdef int _family_dense_sparse(const void* p_rows, const void* q_rows, const Job* job,
                              Py_ssize_t start, Py_ssize_t stop,
                              double* out) noexcept nogil:
    """Rows [start, stop) of dense p against sparse q: pairs where p != 0 or
    q stores a value; the other bins are zero_bins."""
    cdef const Dense* p = <const Dense*>p_rows
    cdef const Rows* q = <const Rows*>q_rows
    cdef Py_ssize_t longest = _longest(q, start, stop, job.whole)
    cdef Py_ssize_t n = (p.n * (stop - start) if job.whole else p.n) + longest
    cdef double* a = <double*>malloc(max(n, 1) * 2 * sizeof(double))
    cdef double* b = a + max(n, 1)
    cdef Py_ssize_t r, m = 0, q0
    cdef int flags = 0
    if a == NULL:
        return NO_SCRATCH
    for r in range(start, stop):
        q0 = _ptr(q, r)
        if not job.whole:
            m = 0
        m += c.he_merge_dense_t(q.type, q.index_type, _dense_row(p, r), p.n, p.stride,
                                _values(q, q0), _columns(q, q0), _ptr(q, r + 1) - q0,
                                a + m, b + m)
        if not job.whole:
            flags |= c.he_family_slice_f64(job.measure, &job.params, a, 1, b, 1, m,
                                           p.n - m, job.omit_nan, &out[r])
    if job.whole:
        flags = c.he_family_slice_f64(job.measure, &job.params, a, 1, b, 1, m,
                                      p.n * (stop - start) - m, job.omit_nan, out)
    free(a)
    return flags


cdef int _family_sparse_dense(const void* p_rows, const void* q_rows, const Job* job,
                              Py_ssize_t start, Py_ssize_t stop,
                              double* out) noexcept nogil:
    """Rows [start, stop) of sparse p against dense q. Without pseudocount a
    row costs O(its stored values) once its reference's total is known (as
    for KL); with one, every bin has a term: pairs where q != 0 or p stores
    a value (O(n) per row), the other bins zero_bins."""
    cdef const Rows* p = <const Rows*>p_rows
    cdef const Dense* q = <const Dense*>q_rows
    cdef bint expand = job.params.pseudocount > 0.0
    cdef Py_ssize_t longest = _longest(p, start, stop, job.whole)
    cdef Py_ssize_t n
    cdef double* a
    cdef double* b
    cdef const void* row
    cdef const void* previous = NULL
    cdef c.he_csum reference
    cdef double q_scale = 1.0
    cdef Py_ssize_t r, m = 0, p0, q_positive = 0
    cdef int flags = 0, q_flags = 0
    if expand:
        n = (q.n * (stop - start) if job.whole else q.n) + longest
    else:
        n = longest
    a = <double*>malloc(max(n, 1) * 2 * sizeof(double))
    b = a + max(n, 1)
    if a == NULL:
        return NO_SCRATCH
    if expand:
        # he_merge_dense pairs (dense, sparse): here (q, p), so b holds p.
        for r in range(start, stop):
            p0 = _ptr(p, r)
            if not job.whole:
                m = 0
            m += c.he_merge_dense_t(p.type, p.index_type, _dense_row(q, r), q.n,
                                    q.stride, _values(p, p0), _columns(p, p0),
                                    _ptr(p, r + 1) - p0, a + m, b + m)
            if not job.whole:
                flags |= c.he_family_slice_f64(job.measure, &job.params, b, 1, a, 1, m,
                                               q.n - m, job.omit_nan, &out[r])
        if job.whole:
            flags = c.he_family_slice_f64(job.measure, &job.params, b, 1, a, 1, m,
                                          q.n * (stop - start) - m, job.omit_nan, out)
    elif job.whole:
        q_flags = _whole_reference(q, start, stop, &reference, &q_scale)
        for r in range(start, stop):
            p0 = _ptr(p, r)
            m += c.he_gather_t(p.type, p.index_type, _values(p, p0), _columns(p, p0),
                               _ptr(p, r + 1) - p0, _dense_row(q, r), q.stride,
                               a + m, b + m)
            q_positive += c.he_count_positive(q.type, _dense_row(q, r), q.n, q.stride)
        flags = c.he_family_rest(job.measure, &job.params, a, b, m, &reference, q_scale,
                                 q_positive, q_flags, job.omit_nan, out)
    else:
        for r in range(start, stop):
            row = _dense_row(q, r)
            if r == start or row != previous:
                q_flags = c.he_reference_t(q.type, row, q.n, q.stride, &reference,
                                           &q_scale)
                q_positive = c.he_count_positive(q.type, row, q.n, q.stride)
                flags |= q_flags
                previous = row
            p0 = _ptr(p, r)
            m = c.he_gather_t(p.type, p.index_type, _values(p, p0), _columns(p, p0),
                              _ptr(p, r + 1) - p0, row, q.stride, a, b)
            flags |= c.he_family_rest(job.measure, &job.params, a, b, m, &reference,
                                      q_scale, q_positive, q_flags, job.omit_nan, &out[r])
    free(a)
    return flags


cdef int _run_family(FamilyKernel kernel, const void* p, const void* q, Job* job,
                     Py_ssize_t rows, double[::1] out, int nthreads) noexcept:
    """kernel over blocks of rows spread over OpenMP threads (one block when
    `whole`); returns the flags."""
    cdef Py_ssize_t blocks = 1 if job.whole else _blocks(rows, nthreads), i
    cdef int flags = 0
    with nogil:
        for i in prange(blocks, num_threads=max(nthreads, 1), schedule="dynamic"):
            flags |= kernel(p, q, job, rows * i // blocks, rows * (i + 1) // blocks,
                            &out[0])
    return flags


cdef Job _job(int measure, double alpha, double pseudocount, bint omit_nan, bint whole,
              Py_ssize_t n_cols):
    cdef Job job
    job.measure = measure
    job.params.alpha = alpha
    job.params.pseudocount = pseudocount
    job.omit_nan = omit_nan
    job.whole = whole
    job.n_cols = n_cols
    return job


def family_rows(cnp.ndarray data not None, cnp.ndarray indptr not None,
                Py_ssize_t n_cols, int measure, double alpha, double pseudocount,
                bint omit_nan, double[::1] out, int nthreads, bint whole):
    """A measure of p alone (family.h) of each canonical row of n_cols bins
    (float64 data)."""
    cdef Rows s = _rows(data, indptr, indptr)
    if s.type != 0:
        raise TypeError("family_rows: float64 data expected")
    cdef Py_ssize_t rows = indptr.shape[0] - 1
    cdef Job job = _job(measure, alpha, pseudocount, omit_nan, whole, n_cols)
    _check(rows, rows, out.shape[0], whole)
    return _run_family(_family_rows, &s, NULL, &job, rows, out, nthreads)


def family_pair(str kinds, tuple p_arrays, tuple q_arrays, Py_ssize_t n_cols,
                int measure, double alpha, double pseudocount, bint omit_nan,
                double[::1] out, int nthreads, bint whole):
    """A measure of p against q (family.h) per row; `kinds` is "ss", "sd" or
    "ds" (sparse p / dense q, ...): a sparse operand is (data, indices,
    indptr) of canonical rows, a dense one (array,) of 2-D rows."""
    cdef Rows ps, qs
    cdef Dense pd, qd
    cdef const void* p
    cdef const void* q
    cdef FamilyKernel kernel
    cdef Py_ssize_t rows
    cdef Job job = _job(measure, alpha, pseudocount, omit_nan, whole, n_cols)
    if kinds == "ss":
        ps = _rows(p_arrays[0], p_arrays[1], p_arrays[2])
        qs = _rows(q_arrays[0], q_arrays[1], q_arrays[2])
        if qs.type != ps.type or qs.index_type != ps.index_type:
            raise TypeError("p and q must have the same data and index dtypes")
        p = &ps
        q = &qs
        kernel = _family_sparse_sparse
        rows = p_arrays[2].shape[0] - 1
        _check(rows, q_arrays[2].shape[0] - 1, out.shape[0], whole)
    elif kinds == "sd":
        ps = _rows(p_arrays[0], p_arrays[1], p_arrays[2])
        qd = _dense(q_arrays[0], ps.type)
        p = &ps
        q = &qd
        kernel = _family_sparse_dense
        rows = p_arrays[2].shape[0] - 1
        _check(rows, q_arrays[0].shape[0], out.shape[0], whole)
    elif kinds == "ds":
        qs = _rows(q_arrays[0], q_arrays[1], q_arrays[2])
        pd = _dense(p_arrays[0], qs.type)
        p = &pd
        q = &qs
        kernel = _family_dense_sparse
        rows = q_arrays[2].shape[0] - 1
        _check(rows, p_arrays[0].shape[0], out.shape[0], whole)
    else:
        raise ValueError(f"unknown operand kinds {kinds!r}")
    return _run_family(kernel, p, q, &job, rows, out, nthreads)

# Select the CPU path now, when the package is imported (dispatch.h caches it).
c.he_cpu_path()
