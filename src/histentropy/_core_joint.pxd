# Cython declarations of histentropy's C core, joint.h and estimators.h: cimported by _joint.pyx
# alone, so that no other module compiles that header (see _core.pxd).
from libc.stdint cimport int32_t, int64_t


# ---- joint tables (include/histentropy/joint.h) ------------------------------
cdef extern from "histentropy/joint.h" nogil:
    enum:
        HE_JOINT_OK
        HE_JOINT_IRREGULAR
        HE_JOINT_INEXACT
        HE_JOINT_LOG_TABLE
    void he_joint_log_table(double* logw)
    int he_joint_information(int type, const void* base, Py_ssize_t nx, Py_ssize_t ny,
                             Py_ssize_t row_step, const double* logw, double* work,
                             double* info)
    int he_joint_information_csr(int type, const void* data, const int64_t* indices,
                                 const int64_t* indptr, Py_ssize_t nx, Py_ssize_t ny,
                                 double* work, double* info)


# ---- entropy estimators of counts (include/histentropy/estimators.h) ---------
cdef extern from "histentropy/estimators.h" nogil:
    enum:
        HE_PLUGIN
        HE_MILLER_MADOW
        HE_GRASSBERGER
        HE_CHAO_SHEN
        HE_JAMES_STEIN
        HE_COUNTS_NAN
        HE_COUNTS_NEGATIVE
        HE_COUNTS_INFINITE
        HE_COUNTS_NONINTEGER
        HE_COUNTS_OVERFLOW
        HE_PROFILE_SMALL
    ctypedef struct he_count_profile:
        int32_t* tally
        double* value
        double* freq
        double* work
        Py_ssize_t distinct
        double total, used, singletons, bins
    int he_count_profile_read_t(int type, const void* p, Py_ssize_t n, Py_ssize_t stride,
                              int omit_nan, he_count_profile* pr)
    void he_count_tables(double* log_n, double* g_minus_log)
    double he_count_estimate(int estimator, const he_count_profile* pr,
                             const double* log_n, const double* g_minus_log)
