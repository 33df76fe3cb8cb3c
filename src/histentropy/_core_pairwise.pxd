# Cython declarations of histentropy's C core, pairwise.h: cimported by _pairwise.pyx
# alone, so that no other module compiles that header (see _core.pxd).
from libc.stdint cimport int64_t

from histentropy._core cimport he_params


# ---- pairwise matrices (include/histentropy/pairwise.h) ----------------------
cdef extern from "histentropy/pairwise.h" nogil:
    enum:
        HE_CROSS_ENTROPY
        HE_ROW_FAST
        HE_ROW_NAN
    ctypedef struct he_pair_row:
        double s
        Py_ssize_t zeros, tiny
        int state
    ctypedef struct he_pair_matrix:
        int type
        const char* data
        Py_ssize_t row_step, stride
    int he_pair_total(const he_pair_matrix* a, Py_ssize_t r, Py_ssize_t k, double c,
                      double* total, int* state)
    void he_pair_prepare(int metric, int side, const he_pair_matrix* a, Py_ssize_t r,
                         Py_ssize_t k, double c, double total, int state, double* x,
                         double* y, he_pair_row* row)
    void he_pair_block(int metric, int root, const he_params* params, Py_ssize_t k,
                       const he_pair_matrix* a, Py_ssize_t i0, Py_ssize_t ni,
                       const double* px, const double* py, const he_pair_row* prow,
                       const he_pair_matrix* b, Py_ssize_t j0, Py_ssize_t nj,
                       const double* qx, const double* qy, const he_pair_row* qrow,
                       int self, int symmetric, double* out, Py_ssize_t out_stride,
                       double* scratch)
    ctypedef struct he_pair_csr:
        const int64_t* indptr
        const int64_t* indices
        const double* w
        const double* x
        const double* lx
        const double* s
        const double* largest
        const int* state
    void he_pair_csr_prepare(const double* w, Py_ssize_t nnz, double total, double* x,
                             double* lx, double* s, double* largest, int* state)
    void he_pair_sparse_row(int metric, int root, const he_params* params, Py_ssize_t k,
                            const he_pair_csr* a, Py_ssize_t i, const he_pair_csr* b,
                            Py_ssize_t n, const int64_t* col_ptr, const int64_t* col_rows,
                            const double* col_x, const double* col_lx, int self,
                            int symmetric, int64_t* count, double* s1_hi, double* s1_lo,
                            double* s2, double* scratch, double* out, Py_ssize_t out_stride)
