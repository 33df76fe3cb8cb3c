# Layer 2: typed drivers for compressed sparse rows.
#
# The Python layer (_structured.py) hands over the three arrays of a CSR
# matrix whose rows are the histograms (a CSC matrix is the CSR matrix of its
# transpose), already checked by `check_rows` and, when some row is unsorted
# or holds duplicates, replaced by `canonical_rows` (a copy: the caller's
# matrix is never touched). Data and dense operands share one dtype
# (`weight_t`), index arrays are int32 or int64 (`index_t`).
#
# Every driver works on the rows [start, stop) so that the Python layer can
# split a call over threads; all loops run with the GIL released. `whole`
# treats the rows [start, stop) as one histogram (axis=None). Nothing here
# raises for bad data: the kernels' flags are returned.
from libc.stdint cimport int32_t, int64_t
from libc.math cimport fmax
from libc.stdlib cimport malloc, free, qsort

from histentropy._typedefs cimport weight_t
from histentropy cimport _kernels as k
from histentropy cimport _sparse_kernels as sk
from histentropy._kernels cimport CompensatedSum

import numpy as np

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
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, r, j, lo, hi
    cdef int status = 0
    cdef index_t c, prev
    if n_rows < 0:
        return 3
    with nogil:
        if indptr[0] < 0 or indptr[n_rows] > n_data or indptr[n_rows] > indices.shape[0]:
            status = 3
        for r in range(n_rows):
            if status >= 2:
                break
            lo = indptr[r]
            hi = indptr[r + 1]
            if hi < lo:
                status = 3
                break
            prev = -1
            for j in range(lo, hi):
                c = indices[j]
                if c < 0 or c >= n_cols:
                    status = 2
                    break
                if c <= prev:
                    status = 1
                prev = c
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
# Entropy of sparse rows
# ---------------------------------------------------------------------------

def entropy_rows(const weight_t[::1] data, const index_t[::1] indptr,
                 bint omit_nan, double[::1] out, Py_ssize_t start,
                 Py_ssize_t stop, bint whole):
    """Entropy (nats) of each canonical row in [start, stop) into out[row].

    Only the stored values are read: zeros add nothing to a histogram. With
    `whole`, the stored values of all those rows are one histogram, out[0].
    """
    cdef Py_ssize_t r, lo
    cdef int flags = 0
    if not (0 <= start <= stop < indptr.shape[0] and out.shape[0] >= (1 if whole else stop)):
        raise ValueError("rows out of range")
    cdef const weight_t* values = &data[0] if data.shape[0] else NULL
    cdef weight_t empty[1]
    if values == NULL:
        values = empty
    with nogil:
        if whole:
            lo = indptr[start]
            flags = k.entropy_slice(values + lo, indptr[stop] - lo, 1,
                                    omit_nan, &out[0])
        else:
            for r in range(start, stop):
                lo = indptr[r]
                flags |= k.entropy_slice(values + lo, indptr[r + 1] - lo, 1,
                                         omit_nan, &out[r])
    return flags


# ---------------------------------------------------------------------------
# Pairs: gathering rows into (a, b) pairs
# ---------------------------------------------------------------------------

cdef inline Py_ssize_t _lookup_sparse(
        const weight_t* pd, const index_t* pi, Py_ssize_t p0, Py_ssize_t p1,
        const weight_t* qd, const index_t* qi, Py_ssize_t q0, Py_ssize_t q1,
        double* a, double* b) noexcept nogil:
    """The stored bins of a sorted row p, with the sorted row q read at the
    same bins (0 where q stores nothing): one merge of the index lists.

    Branch-free steps (the comparisons of two interleaved index lists are
    unpredictable): every step writes the pair at m and advances p, q or
    both; m only moves on when p did, so a step that advanced q alone is
    overwritten by the next one.
    """
    cdef Py_ssize_t m = 0
    cdef index_t pc, qc
    cdef double qv
    while p0 < p1 and q0 < q1:
        pc = pi[p0]
        qc = qi[q0]
        qv = <double>qd[q0]
        a[m] = <double>pd[p0]
        b[m] = qv if pc == qc else 0.0
        m += pc <= qc
        p0 += pc <= qc
        q0 += qc <= pc
    while p0 < p1:
        a[m] = <double>pd[p0]
        b[m] = 0.0
        p0 += 1
        m += 1
    return m


cdef inline Py_ssize_t _merge_dense_sparse(
        const weight_t* p, Py_ssize_t n, Py_ssize_t stride,
        const weight_t* qd, const index_t* qi, Py_ssize_t q0, Py_ssize_t q1,
        double* a, double* b) noexcept nogil:
    """A dense row p against a sorted sparse row q: the bins where p != 0 or q
    stores a value (NaN and negative p included)."""
    cdef Py_ssize_t m = 0, c
    cdef double x
    for c in range(n):
        x = k.weight_at(p, c, stride)
        if q0 < q1 and qi[q0] == c:
            a[m] = x
            b[m] = <double>qd[q0]
            q0 += 1
            m += 1
        elif x != 0.0:
            a[m] = x
            b[m] = 0.0
            m += 1
    return m


cdef inline Py_ssize_t _gather(
        const weight_t* pd, const index_t* pi, Py_ssize_t p0, Py_ssize_t p1,
        const weight_t* q, Py_ssize_t stride, double* a, double* b) noexcept nogil:
    """The stored bins of a sparse row p with q read at the same bins."""
    cdef Py_ssize_t m = 0
    while p0 < p1:
        a[m] = <double>pd[p0]
        b[m] = k.weight_at(q, pi[p0], stride)
        p0 += 1
        m += 1
    return m


cdef double* _scratch(Py_ssize_t n) except NULL:
    cdef double* buf = <double*>malloc(max(n, 1) * 2 * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    return buf


cdef Py_ssize_t _longest(const index_t[::1] indptr, Py_ssize_t start,
                         Py_ssize_t stop, bint whole) noexcept:
    cdef Py_ssize_t r, longest = 0
    if whole:
        return indptr[stop] - indptr[start]
    for r in range(start, stop):
        longest = max(longest, indptr[r + 1] - indptr[r])
    return longest


cdef int _check_range(const index_t[::1] indptr, Py_ssize_t other_rows,
                      Py_ssize_t start, Py_ssize_t stop) except -1:
    # The drivers trust the Python layer, but a wrong call must not crash.
    if indptr.shape[0] - 1 != other_rows or not 0 <= start <= stop <= other_rows:
        raise ValueError("p and q must have the same number of rows")
    return 0


# ---------------------------------------------------------------------------
# Pairs: drivers
# ---------------------------------------------------------------------------

def divergence_sparse_sparse(
        const weight_t[::1] p_data, const index_t[::1] p_indices,
        const index_t[::1] p_indptr,
        const weight_t[::1] q_data, const index_t[::1] q_indices,
        const index_t[::1] q_indptr,
        bint omit_nan, bint need_entropy, double[::1] ent, double[::1] kl,
        Py_ssize_t start, Py_ssize_t stop, bint whole):
    """Entropy of p (if needed) and KL(p || q) of canonical rows of equal shape.

    A row of q is a reference row stored sparsely: its total is one pass over
    its stored values (no logarithms), then q is looked up at p's stored bins
    by merging the two sorted index lists, and _sparse_kernels.divergence_rest
    does the rest. Work O(nnz(p) + nnz(q)) with logarithms only for p's stored
    values; scratch O(longest row of p).
    """
    _check_range(p_indptr, q_indptr.shape[0] - 1, start, stop)
    cdef Py_ssize_t n = _longest(p_indptr, start, stop, whole)
    cdef double* a = _scratch(n)
    cdef double* b = a + max(n, 1)
    cdef Py_ssize_t r, m, q0, q1
    cdef int flags = 0, q_flags = 0
    cdef const weight_t* pd = &p_data[0] if p_data.shape[0] else NULL
    cdef const weight_t* qd = &q_data[0] if q_data.shape[0] else NULL
    cdef const index_t* pi = &p_indices[0] if p_indices.shape[0] else NULL
    cdef const index_t* qi = &q_indices[0] if q_indices.shape[0] else NULL
    cdef CompensatedSum reference
    cdef double q_scale = 1.0, dummy
    try:
        with nogil:
            if whole:
                q0 = q_indptr[start]
                q1 = q_indptr[stop]
                q_flags = _reference(qd + q0, q1 - q0, 1, &reference, &q_scale)
                m = 0
                for r in range(start, stop):
                    m += _lookup_sparse(pd, pi, p_indptr[r], p_indptr[r + 1],
                                        qd, qi, q_indptr[r], q_indptr[r + 1],
                                        a + m, b + m)
                flags = sk.divergence_rest(a, b, m, &reference, q_scale, q_flags,
                                           omit_nan, need_entropy,
                                           &ent[0] if need_entropy else &dummy,
                                           &kl[0])
            else:
                for r in range(start, stop):
                    q0 = q_indptr[r]
                    q1 = q_indptr[r + 1]
                    q_flags = _reference(qd + q0, q1 - q0, 1, &reference, &q_scale)
                    m = _lookup_sparse(pd, pi, p_indptr[r], p_indptr[r + 1],
                                       qd, qi, q0, q1, a, b)
                    flags |= sk.divergence_rest(
                        a, b, m, &reference, q_scale, q_flags, omit_nan,
                        need_entropy, &ent[r] if need_entropy else &dummy, &kl[r])
    finally:
        free(a)
    return flags


def divergence_dense_sparse(
        const weight_t[:, :] p,
        const weight_t[::1] q_data, const index_t[::1] q_indices,
        const index_t[::1] q_indptr,
        bint omit_nan, bint need_entropy, double[::1] ent, double[::1] kl,
        Py_ssize_t start, Py_ssize_t stop, bint whole):
    """Dense rows p[r, :] (any strides) against canonical sparse rows of q."""
    _check_range(q_indptr, p.shape[0], start, stop)
    cdef Py_ssize_t n_cols = p.shape[1]
    cdef Py_ssize_t stride0 = p.strides[0]
    cdef Py_ssize_t stride = p.strides[1] // <Py_ssize_t>sizeof(weight_t)
    cdef Py_ssize_t longest = _longest(q_indptr, start, stop, whole)
    cdef Py_ssize_t n = (n_cols * (stop - start) if whole else n_cols) + longest
    cdef double* a = _scratch(n)
    cdef double* b = a + max(n, 1)
    cdef Py_ssize_t r, m
    cdef int flags = 0
    cdef const char* base = <const char*>&p[0, 0] if p.shape[0] and n_cols else NULL
    cdef const weight_t* qd = &q_data[0] if q_data.shape[0] else NULL
    cdef const index_t* qi = &q_indices[0] if q_indices.shape[0] else NULL
    cdef double dummy
    try:
        with nogil:
            if whole:
                m = 0
                for r in range(start, stop):
                    m += _merge_dense_sparse(
                        <const weight_t*>(base + r * stride0), n_cols, stride,
                        qd, qi, q_indptr[r], q_indptr[r + 1], a + m, b + m)
                flags = k.divergence_slice(a, 1, b, 1, m, omit_nan, need_entropy,
                                           &ent[0] if need_entropy else &dummy,
                                           &kl[0])
            else:
                for r in range(start, stop):
                    m = _merge_dense_sparse(
                        <const weight_t*>(base + r * stride0), n_cols, stride,
                        qd, qi, q_indptr[r], q_indptr[r + 1], a, b)
                    flags |= k.divergence_slice(
                        a, 1, b, 1, m, omit_nan, need_entropy,
                        &ent[r] if need_entropy else &dummy, &kl[r])
    finally:
        free(a)
    return flags


cdef int _reference(const weight_t* q, Py_ssize_t n, Py_ssize_t stride,
                    CompensatedSum* total, double* scale) noexcept nogil:
    """Statistics of one reference row: its total, scaled into range."""
    cdef double s
    cdef int flags
    k.csum_init(total)
    scale[0] = 1.0
    flags = sk.reference_sums(q, n, stride, 1.0, total)
    s = k.csum_value(total)
    if s > 0.0 and not k.total_in_range(s):
        scale[0] = k.rescale_factor(s, sk.reference_largest(q, n, stride), n)
        k.csum_init(total)
        sk.reference_sums(q, n, stride, scale[0], total)
    return flags


cdef void _whole_reference(const weight_t* base, Py_ssize_t stride0, Py_ssize_t n_cols,
                           Py_ssize_t stride, Py_ssize_t start, Py_ssize_t stop,
                           double scale, CompensatedSum* total,
                           int* flags) noexcept nogil:
    """The total of the dense rows [start, stop) as one reference (a
    repeated row, stride 0 when broadcast, is summed once)."""
    cdef Py_ssize_t r
    cdef const char* row
    cdef const char* previous = NULL
    cdef CompensatedSum row_total
    k.csum_init(total)
    k.csum_init(&row_total)
    for r in range(start, stop):
        row = <const char*>base + r * stride0
        if r == start or row != previous:
            k.csum_init(&row_total)
            flags[0] |= sk.reference_sums(<const weight_t*>row, n_cols, stride,
                                          scale, &row_total)
            previous = row
        k.csum_add_exact(total, row_total.hi)
        k.csum_add_exact(total, row_total.lo)


def divergence_sparse_dense(
        const weight_t[::1] p_data, const index_t[::1] p_indices,
        const index_t[::1] p_indptr, const weight_t[:, :] q,
        bint omit_nan, bint need_entropy, double[::1] ent, double[::1] kl,
        Py_ssize_t start, Py_ssize_t stop, bint whole):
    """Canonical sparse rows of p against dense rows q[r, :] (any strides).

    The statistics of a reference row are computed once per distinct row (a
    broadcast reference, stride 0, is read once per call); each sparse row
    then costs O(its stored values).
    """
    _check_range(p_indptr, q.shape[0], start, stop)
    cdef Py_ssize_t n_cols = q.shape[1]
    cdef Py_ssize_t stride0 = q.strides[0]
    cdef Py_ssize_t stride = q.strides[1] // <Py_ssize_t>sizeof(weight_t)
    cdef Py_ssize_t n = _longest(p_indptr, start, stop, whole)
    cdef double* a = _scratch(n)
    cdef double* b = a + max(n, 1)
    cdef Py_ssize_t r, m
    cdef int flags = 0, q_flags = 0
    cdef const char* base = <const char*>&q[0, 0] if q.shape[0] and n_cols else NULL
    cdef const char* row
    cdef const char* previous = NULL
    cdef const weight_t* pd = &p_data[0] if p_data.shape[0] else NULL
    cdef const index_t* pi = &p_indices[0] if p_indices.shape[0] else NULL
    cdef CompensatedSum reference
    cdef double q_scale = 1.0, largest, s, dummy
    cdef bint first = True
    try:
        with nogil:
            if whole:
                # One histogram over all rows: the total of the reference is
                # the sum of its rows' totals, in one common scale.
                _whole_reference(<const weight_t*>base, stride0, n_cols, stride,
                                 start, stop, 1.0, &reference, &q_flags)
                s = k.csum_value(&reference)
                if s > 0.0 and not k.total_in_range(s):
                    largest = 0.0
                    for r in range(start, stop):
                        largest = fmax(largest, sk.reference_largest(
                            <const weight_t*>(base + r * stride0), n_cols, stride))
                    q_scale = k.rescale_factor(s, largest, n_cols * (stop - start))
                    _whole_reference(<const weight_t*>base, stride0, n_cols, stride,
                                     start, stop, q_scale, &reference, &q_flags)
                m = 0
                for r in range(start, stop):
                    m += _gather(pd, pi, p_indptr[r], p_indptr[r + 1],
                                 <const weight_t*>(base + r * stride0), stride,
                                 a + m, b + m)
                flags = sk.divergence_rest(a, b, m, &reference, q_scale, q_flags,
                                           omit_nan, need_entropy,
                                           &ent[0] if need_entropy else &dummy,
                                           &kl[0])
            else:
                for r in range(start, stop):
                    row = base + r * stride0
                    if first or row != previous:
                        q_flags = _reference(<const weight_t*>row, n_cols, stride,
                                             &reference, &q_scale)
                        flags |= q_flags
                        previous = row
                        first = False
                    m = _gather(pd, pi, p_indptr[r], p_indptr[r + 1],
                                <const weight_t*>row, stride, a, b)
                    flags |= sk.divergence_rest(
                        a, b, m, &reference, q_scale, q_flags, omit_nan,
                        need_entropy, &ent[r] if need_entropy else &dummy, &kl[r])
    finally:
        free(a)
    return flags
