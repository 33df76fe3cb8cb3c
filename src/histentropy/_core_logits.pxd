# Cython declarations of histentropy's C core, logits.h: cimported by _logits.pyx
# alone, so that no other module compiles that header (see _core.pxd).
from libc.stdint cimport int64_t

from histentropy._core cimport he_slices


# ---- logits (include/histentropy/logits.h) ----------------------------------

cdef extern from "histentropy/logits.h" nogil:
    enum:
        HE_LOGITS_NAN
        HE_LOGITS_POSINF
        HE_LOGITS_OTHER_NAN
        HE_LOGITS_OTHER_POSINF
        HE_LOGITS_TARGET_NAN
        HE_LOGITS_TARGET_NEGATIVE
        HE_LOGITS_TARGET_INF
        HE_LOGITS_TARGET_RANGE
        HE_LOGITS_BLOCK
        # Type codes of logits and soft targets (config.h's).
        HE_LOGITS_F64
        HE_LOGITS_F32
    ctypedef he_slices he_logits_rows
    ctypedef struct he_logits_loss:
        const double* weight
        double weight_total
        double smoothing
        int has_ignore
        int64_t ignore_index
        double grad_scale
    # One row (results NaN with any flag).
    int he_logits_entropy_row_f64(const double* x, Py_ssize_t n, Py_ssize_t stride,
                                  double* entropy)
    int he_logits_cross_entropy_row_f64(const double* x, Py_ssize_t n,
                                        Py_ssize_t stride, int64_t target,
                                        double* loss)
    int he_logits_kl_divergence_row_f64(const double* a, Py_ssize_t a_stride,
                                        const double* b, Py_ssize_t b_stride,
                                        Py_ssize_t n, double* kl)
    int he_logits_entropy_row_f32(const float* x, Py_ssize_t n, Py_ssize_t stride,
                                  double* entropy)
    int he_logits_cross_entropy_row_f32(const float* x, Py_ssize_t n,
                                        Py_ssize_t stride, int64_t target,
                                        double* loss)
    int he_logits_kl_divergence_row_f32(const float* a, Py_ssize_t a_stride,
                                        const float* b, Py_ssize_t b_stride,
                                        Py_ssize_t n, double* kl)
    # Rows [first, last) of a (shape0, shape1, n) view, for run-time type codes.
    int he_logits_entropy_rows_t(int type, const void* x, const he_logits_rows* xs,
                                 Py_ssize_t first, Py_ssize_t last, double* out)
    int he_logits_kl_divergence_rows_t(int type, const void* a,
                                       const he_logits_rows* as_,
                                       const void* b, const he_logits_rows* bs,
                                       Py_ssize_t first, Py_ssize_t last,
                                       double* out)
    int he_logits_cross_entropy_hard_rows_t(int type, const void* x,
                                            const he_logits_rows* xs,
                                            const int64_t* labels,
                                            const he_logits_loss* opt,
                                            Py_ssize_t first, Py_ssize_t last,
                                            double* loss, void* grad,
                                            const he_logits_rows* gs)
    int he_logits_cross_entropy_soft_rows_t(int type, int target_type,
                                            const void* x, const he_logits_rows* xs,
                                            const void* t, const he_logits_rows* ts,
                                            const he_logits_loss* opt,
                                            Py_ssize_t first, Py_ssize_t last,
                                            double* loss, void* grad,
                                            const he_logits_rows* gs)
