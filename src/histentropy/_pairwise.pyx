# Layer 2: the driver of pairwise matrices (include/histentropy/pairwise.h).
#
# The Python layer hands over two 2-D arrays of one dtype (rows are
# histograms; any strides) and a float64 result whose rows are contiguous,
# or Q=None for P against itself. Every row's total is read once (in
# parallel); then the rows of P are split into blocks, one task each, spread
# over OpenMP threads (dynamic: the blocks of a symmetric metric differ in
# work), and, when P has few rows, Q's rows into ranges too. A task prepares
# its block of P once, then each block of its range of Q in turn (or, when
# all of Q's prepared rows fit in 16 MB, they are prepared once for all),
# into buffers of its own, and calls he_pair_block. Memory is those buffers
# and the rows' totals: never O(m * n * k). Nothing here raises for bad
# data: the rows' flags are returned, and nothing is computed when one has a
# negative or infinite weight.
cimport numpy as cnp
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free, malloc

from histentropy cimport _core as c
from histentropy cimport _core_pairwise as cp
from histentropy._dense cimport type_code

import numpy as np

cnp.import_array()

CROSS_ENTROPY = cp.HE_CROSS_ENTROPY

cdef enum:
    # Doubles of prepared rows of Q a task holds at a time (two arrays of k
    # per row): a block that stays in the L1 cache while the rows of P pass.
    Q_BLOCK_DOUBLES = 1 << 12
    # ... and of P, at most.
    P_BLOCK_DOUBLES = 1 << 19
    # Doubles of all of Q's prepared rows, when they are shared by the tasks.
    Q_SHARED_DOUBLES = 1 << 21
    # Rows of P per task: enough that preparing the rows of Q is a small
    # part of a task, few enough that there are tasks for every thread.
    P_BLOCK_MIN = 16
    P_BLOCK_MAX = 256


cdef cp.he_pair_matrix _matrix(cnp.ndarray a) noexcept:
    cdef cp.he_pair_matrix m
    m.type = type_code(a)
    m.data = <const char*>cnp.PyArray_DATA(a)
    m.row_step = cnp.PyArray_STRIDES(a)[0]
    m.stride = cnp.PyArray_STRIDES(a)[1] // cnp.PyArray_ITEMSIZE(a)
    return m


cdef int _totals(const cp.he_pair_matrix* a, Py_ssize_t rows, Py_ssize_t k, double pseudocount,
                 int nthreads, double* total, int* state) noexcept nogil:
    """Every row's total and state; the OR of the rows' flags."""
    cdef Py_ssize_t r
    cdef int flags = 0
    for r in prange(rows, num_threads=nthreads, schedule="static"):
        flags |= cp.he_pair_total(a, r, k, pseudocount, total + r, state + r)
    return flags


cdef int _task(int metric, int root, const c.he_params* params, Py_ssize_t k,
               const cp.he_pair_matrix* a, const double* a_total, const int* a_state,
               Py_ssize_t i0, Py_ssize_t ni, const cp.he_pair_matrix* b,
               const double* b_total, const int* b_state, Py_ssize_t j_start,
               Py_ssize_t j_stop, Py_ssize_t q_block, const double* shared_x,
               const double* shared_y, const cp.he_pair_row* shared_row, int self,
               int symmetric, double* out, Py_ssize_t out_stride) noexcept nogil:
    """Rows [i0, i0 + ni) of P against rows [j_start, j_stop) of Q (from i0
    on when symmetric); Q's rows prepared by the task, block by block, or
    all of them beforehand (shared_*, NULL otherwise). -1 when out of
    memory."""
    cdef Py_ssize_t width = k if k > 0 else 1, r, j0, nj
    # Q's block has room for a multiple of 4 rows (he_pair_block reads 4 at a time)
    cdef Py_ssize_t q_room = (q_block + 3) // 4 * 4
    # P's block has room for a multiple of 4 rows too (dot products: 4 x 4 tiles)
    cdef Py_ssize_t p_room = (ni + 3) // 4 * 4
    cdef double* px = <double*>calloc(2 * p_room * width, sizeof(double))
    cdef bint shared = shared_x != NULL
    cdef double* qx = NULL if shared else <double*>calloc(2 * q_room * width, sizeof(double))
    cdef cp.he_pair_row* prow = <cp.he_pair_row*>malloc(p_room * sizeof(cp.he_pair_row))
    cdef cp.he_pair_row* qrow = NULL if shared else <cp.he_pair_row*>malloc(
        q_room * sizeof(cp.he_pair_row))
    cdef double* scratch = <double*>malloc(2 * width * sizeof(double))
    cdef double* py = px + p_room * width
    cdef double* qy = NULL if shared else qx + q_room * width
    cdef double pc = params.pseudocount
    cdef int status = 0
    if px == NULL or prow == NULL or scratch == NULL or (
            not shared and (qx == NULL or qrow == NULL)):
        status = -1
    else:
        for r in range(ni):
            cp.he_pair_prepare(metric, 0, a, i0 + r, k, pc, a_total[i0 + r], a_state[i0 + r],
                              px + r * width, py + r * width, prow + r)
        j0 = max(j_start, i0) if symmetric else j_start
        while j0 < j_stop:
            nj = min(q_block, j_stop - j0)
            if shared:
                cp.he_pair_block(metric, root, params, k, a, i0, ni, px, py, prow, b, j0,
                                nj, shared_x + j0 * width, shared_y + j0 * width,
                                shared_row + j0, self, symmetric, out, out_stride, scratch)
            else:
                for r in range(nj):
                    cp.he_pair_prepare(metric, 1, b, j0 + r, k, pc, b_total[j0 + r],
                                      b_state[j0 + r], qx + r * width, qy + r * width,
                                      qrow + r)
                cp.he_pair_block(metric, root, params, k, a, i0, ni, px, py, prow, b, j0,
                                nj, qx, qy, qrow, self, symmetric, out, out_stride, scratch)
            j0 += nj
    free(px)
    free(qx)
    free(prow)
    free(qrow)
    free(scratch)
    return status


def pairwise(cnp.ndarray P, cnp.ndarray Q, int metric, bint root, bint symmetric,
             double pseudocount, int nthreads, cnp.ndarray out):
    """out[i, j] = metric(P[i], Q[j]) (Q None: P against itself; symmetric:
    each pair once). `out` is a float64 (m, n) array whose rows are
    contiguous. Returns (P's flags, Q's flags); nothing is computed when
    either holds an error flag (negative or infinite weights)."""
    cdef bint self = Q is None
    if self:
        Q = P
    if type_code(P) < 0 or type_code(Q) != type_code(P):
        raise TypeError(f"unsupported dtypes {P.dtype}, {Q.dtype}")
    cdef cp.he_pair_matrix a = _matrix(P), b = _matrix(Q)
    cdef c.he_params params
    cdef Py_ssize_t m = P.shape[0], n = Q.shape[0], k = P.shape[1]
    cdef Py_ssize_t width = k if k > 0 else 1, q_block, p_block, row_tasks, tasks, t
    cdef Py_ssize_t col_tasks, col_width, r0, c0
    cdef Py_ssize_t out_stride = out.strides[0] // sizeof(double)
    cdef double* o = <double*>cnp.PyArray_DATA(out)
    cdef int failed = 0, p_flags = 0, q_flags = 0
    cdef double[::1] a_total = np.empty(m), b_total = a_total
    cdef int[::1] a_state = np.empty(m, np.intc), b_state = a_state
    nthreads = max(nthreads, 1)
    params.alpha = 1.0
    params.pseudocount = pseudocount
    symmetric = symmetric and self
    if not self:
        b_total = np.empty(n)
        b_state = np.empty(n, np.intc)
    with nogil:
        if m > 0:
            p_flags = _totals(&a, m, k, pseudocount, nthreads, &a_total[0], &a_state[0])
        if n > 0 and not self:
            q_flags = _totals(&b, n, k, pseudocount, nthreads, &b_total[0], &b_state[0])
    if ((p_flags | q_flags) & c.HE_FLAG_ERRORS) or m == 0 or n == 0:
        return p_flags, q_flags
    # a multiple of 4 rows (he_pair_block reads 4 at a time), or all of Q
    q_block = min(n, max(4, Q_BLOCK_DOUBLES // (8 * width) * 4))
    p_block = (m + 4 * nthreads - 1) // (4 * nthreads)
    p_block = max(P_BLOCK_MIN, min(P_BLOCK_MAX, p_block))
    p_block = max(1, min(p_block, P_BLOCK_DOUBLES // (2 * width), m))
    row_tasks = (m + p_block - 1) // p_block
    # Few rows of P (a few references against many rows): Q's rows are split
    # too, so that every thread has tasks.
    col_tasks = 1
    if row_tasks < 4 * nthreads:
        col_tasks = min((4 * nthreads + row_tasks - 1) // row_tasks,
                        (n + q_block - 1) // q_block)
    col_width = (n + col_tasks - 1) // col_tasks
    tasks = row_tasks * col_tasks
    # Q small enough: its rows are prepared once, for every task.
    # room for 3 rows past the last (a block of Q may start at any row, and
    # he_pair_block reads its rows by fours)
    cdef Py_ssize_t n_room = n + 3
    cdef double* shared_x = NULL
    cdef double* shared_y = NULL
    cdef cp.he_pair_row* shared_row = NULL
    if row_tasks > 1 and 2 * n_room * width <= Q_SHARED_DOUBLES:
        shared_x = <double*>calloc(2 * n_room * width, sizeof(double))
        shared_row = <cp.he_pair_row*>calloc(n_room, sizeof(cp.he_pair_row))
        if shared_x == NULL or shared_row == NULL:
            free(shared_x)
            free(shared_row)
            raise MemoryError("pairwise: could not allocate the prepared rows")
        shared_y = shared_x + n_room * width
        with nogil:
            for t in prange(n, num_threads=nthreads, schedule="static"):
                cp.he_pair_prepare(metric, 1, &b, t, k, pseudocount, b_total[t], b_state[t],
                                  shared_x + t * width, shared_y + t * width,
                                  shared_row + t)
    with nogil:
        for t in prange(tasks, num_threads=nthreads, schedule="dynamic"):
            r0 = (t // col_tasks) * p_block
            c0 = (t % col_tasks) * col_width
            if _task(metric, root, &params, k, &a, &a_total[0], &a_state[0], r0,
                     min(p_block, m - r0), &b, &b_total[0], &b_state[0], c0,
                     min(n, c0 + col_width), q_block, shared_x, shared_y, shared_row,
                     self, symmetric, o, out_stride) != 0:
                failed += 1
    free(shared_x)
    free(shared_row)
    if failed:
        raise MemoryError("pairwise: could not allocate the row blocks")
    return p_flags, q_flags


# ---------------------------------------------------------------------------
# sparse rows, without a pseudocount: their overlaps (pairwise.h)
# ---------------------------------------------------------------------------

cdef enum:
    # Rows of P per task of the sparse kernel.
    SPARSE_ROWS = 16


def prepare_csr(const int64_t[::1] indptr, const double[::1] w, int nthreads):
    """The normalised rows of compressed rows holding only non-zero values:
    (x, log x, per row: sum x log x, max |log x|, state); and the OR of the
    rows' flags."""
    cdef Py_ssize_t rows = indptr.shape[0] - 1, nnz = w.shape[0], r
    cdef double[::1] x = np.zeros(nnz), lx = np.zeros(nnz)
    cdef double[::1] s = np.zeros(rows), largest = np.zeros(rows)
    cdef int[::1] state = np.empty(rows, np.intc)
    cdef int flags = 0
    cdef cp.he_pair_matrix row
    row.type = 0
    row.row_step = 0
    row.stride = 1
    with nogil:
        for r in prange(rows, num_threads=max(nthreads, 1), schedule="static"):
            flags |= _csr_row(&row, indptr[r], indptr[r + 1], &w[0] if nnz else NULL,
                              &x[0] if nnz else NULL, &lx[0] if nnz else NULL, &s[r],
                              &largest[r], &state[r])
    return np.asarray(x), np.asarray(lx), np.asarray(s), np.asarray(largest), \
        np.asarray(state), flags


cdef int _csr_row(const cp.he_pair_matrix* like, int64_t start, int64_t stop, const double* w,
                  double* x, double* lx, double* s, double* largest,
                  int* state) noexcept nogil:
    cdef cp.he_pair_matrix row = like[0]
    cdef double total
    cdef int flags
    if stop == start:
        state[0] = cp.HE_ROW_NAN
        return 0
    row.data = <const char*>(w + start)
    flags = cp.he_pair_total(&row, 0, stop - start, 0.0, &total, state)
    if state[0] == cp.HE_ROW_FAST:
        cp.he_pair_csr_prepare(w + start, stop - start, total, x + start, lx + start, s,
                              largest, state)
    return flags


cdef cp.he_pair_csr _csr(tuple rows) noexcept:
    """(indptr, indices, w, x, lx, s, largest, state) -> he_pair_csr."""
    cdef cp.he_pair_csr a
    cdef int64_t[::1] indptr = rows[0], indices = rows[1]
    cdef double[::1] w = rows[2], x = rows[3], lx = rows[4], s = rows[5], big = rows[6]
    cdef int[::1] state = rows[7]
    a.indptr = &indptr[0]
    a.indices = &indices[0] if indices.shape[0] else NULL
    a.w = &w[0] if w.shape[0] else NULL
    a.x = &x[0] if x.shape[0] else NULL
    a.lx = &lx[0] if lx.shape[0] else NULL
    a.s = &s[0] if s.shape[0] else NULL
    a.largest = &big[0] if big.shape[0] else NULL
    a.state = &state[0] if state.shape[0] else NULL
    return a


def sparse_pairwise(tuple P, tuple Q, tuple columns, Py_ssize_t k, int metric, bint root,
                    bint symmetric, int nthreads, cnp.ndarray out):
    """out[i, j] = metric(P[i], Q[j]) for prepared compressed rows (tuples of
    indptr, indices, w, x, lx, s, largest, state; Q None: P against itself),
    Q also by columns (col_ptr, col_rows, col_x, col_lx)."""
    cdef bint self = Q is None
    if self:
        Q = P
    cdef cp.he_pair_csr a = _csr(P), b = _csr(Q)
    cdef int64_t[::1] col_ptr = columns[0], col_rows = columns[1]
    cdef double[::1] col_x = columns[2], col_lx = columns[3]
    cdef Py_ssize_t m = P[0].shape[0] - 1, n = Q[0].shape[0] - 1, tasks, t
    cdef Py_ssize_t out_stride = out.strides[0] // sizeof(double)
    cdef Py_ssize_t longest = 0
    cdef double* o = <double*>cnp.PyArray_DATA(out)
    cdef c.he_params params
    cdef int failed = 0
    if m == 0 or n == 0:
        return
    longest = int(np.diff(P[0]).max()) + int(np.diff(Q[0]).max())
    params.alpha = 1.0
    params.pseudocount = 0.0
    symmetric = symmetric and self
    tasks = (m + SPARSE_ROWS - 1) // SPARSE_ROWS
    with nogil:
        for t in prange(tasks, num_threads=max(nthreads, 1), schedule="dynamic"):
            if _sparse_task(metric, root, &params, k, &a, t * SPARSE_ROWS,
                            min(SPARSE_ROWS, m - t * SPARSE_ROWS), &b, n, &col_ptr[0],
                            &col_rows[0] if col_rows.shape[0] else NULL,
                            &col_x[0] if col_x.shape[0] else NULL,
                            &col_lx[0] if col_lx.shape[0] else NULL, self, symmetric,
                            longest, o, out_stride) != 0:
                failed += 1
    if failed:
        raise MemoryError("pairwise: could not allocate the row workspace")


cdef int _sparse_task(int metric, int root, const c.he_params* params, Py_ssize_t k,
                      const cp.he_pair_csr* a, Py_ssize_t i0, Py_ssize_t ni,
                      const cp.he_pair_csr* b, Py_ssize_t n, const int64_t* col_ptr,
                      const int64_t* col_rows, const double* col_x, const double* col_lx,
                      int self, int symmetric, Py_ssize_t longest, double* out,
                      Py_ssize_t out_stride) noexcept nogil:
    cdef int64_t* count = <int64_t*>calloc(n, sizeof(int64_t))
    cdef double* sums = <double*>calloc(3 * n, sizeof(double))
    cdef double* scratch = <double*>malloc((2 * longest + 2) * sizeof(double))
    cdef Py_ssize_t i
    cdef int status = 0
    if count == NULL or sums == NULL or scratch == NULL:
        status = -1
    else:
        for i in range(i0, i0 + ni):
            cp.he_pair_sparse_row(metric, root, params, k, a, i, b, n, col_ptr, col_rows,
                                 col_x, col_lx, self, symmetric, count, sums, sums + n,
                                 sums + 2 * n, scratch, out, out_stride)
    free(count)
    free(sums)
    free(scratch)
    return status
