# The public Cython API of histentropy: the functions of the C API
# (include/histentropy/histentropy.h), same names, nogil and noexcept.
#
#     from histentropy cimport kernels
#     cdef double h
#     cdef int flags = kernels.he_entropy_f64(&p[0], n, 1, &h)   # nats
#
# Compile with histentropy.get_include() on the C include path. Every
# function returns 0 for valid input, else a combination of HE_NAN,
# HE_NEGATIVE, HE_INFINITE (HE_BAD_INDEX, HE_NO_MEMORY for sparse and logits
# rows), and its results are then NaN. Strides are in elements.
from libc.stdint cimport int32_t, int64_t


cdef extern from "histentropy/histentropy.h" nogil:
    enum:
        HISTENTROPY_API_VERSION_MAJOR
        HISTENTROPY_API_VERSION_MINOR
        HE_NAN
        HE_NEGATIVE
        HE_INFINITE
        HE_BAD_INDEX
        HE_NO_MEMORY

    # dense slices
    int he_entropy_f64(const double* p, Py_ssize_t n, Py_ssize_t stride,
                       double* result) noexcept
    int he_cross_entropy_f64(const double* p, Py_ssize_t p_stride, const double* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_kl_divergence_f64(const double* p, Py_ssize_t p_stride, const double* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_decompose_f64(const double* p, Py_ssize_t p_stride, const double* q,
                         Py_ssize_t q_stride, Py_ssize_t n, double* cross_entropy,
                         double* entropy, double* kl_divergence) noexcept

    int he_entropy_f32(const float* p, Py_ssize_t n, Py_ssize_t stride,
                       double* result) noexcept
    int he_cross_entropy_f32(const float* p, Py_ssize_t p_stride, const float* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_kl_divergence_f32(const float* p, Py_ssize_t p_stride, const float* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_decompose_f32(const float* p, Py_ssize_t p_stride, const float* q,
                         Py_ssize_t q_stride, Py_ssize_t n, double* cross_entropy,
                         double* entropy, double* kl_divergence) noexcept

    int he_entropy_i64(const int64_t* p, Py_ssize_t n, Py_ssize_t stride,
                       double* result) noexcept
    int he_cross_entropy_i64(const int64_t* p, Py_ssize_t p_stride, const int64_t* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_kl_divergence_i64(const int64_t* p, Py_ssize_t p_stride, const int64_t* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_decompose_i64(const int64_t* p, Py_ssize_t p_stride, const int64_t* q,
                         Py_ssize_t q_stride, Py_ssize_t n, double* cross_entropy,
                         double* entropy, double* kl_divergence) noexcept

    int he_entropy_i32(const int32_t* p, Py_ssize_t n, Py_ssize_t stride,
                       double* result) noexcept
    int he_cross_entropy_i32(const int32_t* p, Py_ssize_t p_stride, const int32_t* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_kl_divergence_i32(const int32_t* p, Py_ssize_t p_stride, const int32_t* q,
                             Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_decompose_i32(const int32_t* p, Py_ssize_t p_stride, const int32_t* q,
                         Py_ssize_t q_stride, Py_ssize_t n, double* cross_entropy,
                         double* entropy, double* kl_divergence) noexcept

    # sparse rows: strictly increasing int64 indices in [0, n), float64 values
    int he_entropy_sparse_f64(const int64_t* indices, const double* values,
                              Py_ssize_t nnz, Py_ssize_t n, double* result) noexcept
    int he_cross_entropy_sparse_dense_f64(
        const int64_t* p_indices, const double* p_values, Py_ssize_t p_nnz,
        const double* q, Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_kl_divergence_sparse_dense_f64(
        const int64_t* p_indices, const double* p_values, Py_ssize_t p_nnz,
        const double* q, Py_ssize_t q_stride, Py_ssize_t n, double* result) noexcept
    int he_decompose_sparse_dense_f64(
        const int64_t* p_indices, const double* p_values, Py_ssize_t p_nnz,
        const double* q, Py_ssize_t q_stride, Py_ssize_t n, double* cross_entropy,
        double* entropy, double* kl_divergence) noexcept
    int he_cross_entropy_sparse_sparse_f64(
        const int64_t* p_indices, const double* p_values, Py_ssize_t p_nnz,
        const int64_t* q_indices, const double* q_values, Py_ssize_t q_nnz,
        Py_ssize_t n, double* result) noexcept
    int he_kl_divergence_sparse_sparse_f64(
        const int64_t* p_indices, const double* p_values, Py_ssize_t p_nnz,
        const int64_t* q_indices, const double* q_values, Py_ssize_t q_nnz,
        Py_ssize_t n, double* result) noexcept
    int he_decompose_sparse_sparse_f64(
        const int64_t* p_indices, const double* p_values, Py_ssize_t p_nnz,
        const int64_t* q_indices, const double* q_values, Py_ssize_t q_nnz,
        Py_ssize_t n, double* cross_entropy, double* entropy,
        double* kl_divergence) noexcept

    # logits rows: the distribution is softmax(logits)
    int he_entropy_logits_f64(const double* logits, Py_ssize_t n, Py_ssize_t stride,
                              double* result) noexcept
    int he_cross_entropy_logits_f64(const double* logits, Py_ssize_t n,
                                    Py_ssize_t stride, int64_t target,
                                    double* result) noexcept
    int he_kl_divergence_logits_f64(const double* logits_p, Py_ssize_t p_stride,
                                    const double* logits_q, Py_ssize_t q_stride,
                                    Py_ssize_t n, double* result) noexcept
