# Cython declarations of histentropy's C core (include/histentropy/*.h) for
# the drivers of this package. Internal: other projects use the public API,
# `from histentropy cimport kernels` (kernels.pxd).
from libc.stdint cimport int32_t, int64_t


cdef extern from "histentropy/config.h" nogil:
    ctypedef struct he_slices:
        Py_ssize_t shape0, shape1, n
        Py_ssize_t stride0, stride1, stride
    const void* he_slice_at(const void* base, const he_slices* s, Py_ssize_t r)


cdef extern from "histentropy/dispatch.h" nogil:
    int he_cpu_path()
    int he_cpu_best_path()
    int he_cpu_env_invalid()
    int he_cpu_parse_path(const char* name)
    const char* he_cpu_path_name(int path)


cdef extern from "histentropy/sum.h" nogil:
    ctypedef struct he_csum:
        double hi, lo
    void he_two_sum(double* hi, double* lo, double x)
    void he_two_sum_normalised(double* hi, double* lo, double x)
    void he_csum_init(he_csum* s)
    void he_csum_add(he_csum* s, double x)
    void he_csum_add_exact(he_csum* s, double x)
    void he_csum_merge(he_csum* s, const he_csum* part)
    double he_csum_value(const he_csum* s)
    void he_csum_normalise(he_csum* s)


cdef extern from "histentropy/terms.h" nogil:
    enum:
        HE_FLAG_NAN
        HE_FLAG_NEGATIVE_P
        HE_FLAG_NEGATIVE_Q
        HE_FLAG_INFINITE_P
        HE_FLAG_INFINITE_Q
        HE_FLAG_ERRORS
    int he_total_in_range(double total)
    double he_rescale_factor(double total, double largest, Py_ssize_t n)
    double he_log_ratio(double x, double y)
    double he_csum_log(he_csum* s)
    double he_log1p_minus(double z, double log1p_z)
    double he_divergence_term(double xh, double xl, double yh, double yl, double log_xy)
    double he_term_plogp(double w)
    double he_term_plogpq(double x, double a, double b, double log_scales)


cdef extern from "histentropy/dense.h" nogil:
    ctypedef struct he_entropy_sums:
        double total_hi, total_lo, plogp, plogp_abs, bad
    ctypedef struct he_pair_sums:
        double p_hi, p_lo, q_hi, q_lo, plogp, plogp_abs, plogpq, plogpq_abs
        double bad, unbounded
        int ratio_exact
    enum:
        HE_BLOCK
    # Every function taking `int type` reads its weights as the type of that
    # code (config.h: 0 float64, 1 float32, 2-5 int8-int64, 6-9 uint8-uint64).
    int he_entropy_slice_t(int type, const void* p, Py_ssize_t n, Py_ssize_t stride,
                           int omit_nan, double* entropy)
    int he_divergence_slice_t(int type, const void* p, Py_ssize_t p_stride,
                              const void* q, Py_ssize_t q_stride, Py_ssize_t n,
                              int omit_nan, int need_entropy, double* entropy,
                              double* kl)
    int he_entropy_sums_t(int type, const void* p, Py_ssize_t n, he_entropy_sums* out)
    int he_pair_sums_t(int type, const void* p, const void* q, Py_ssize_t n,
                       int need_entropy, he_pair_sums* out)
    int he_entropy_from_fast_t(int type, const void* p, Py_ssize_t n,
                               const he_entropy_sums* fast, double* entropy)
    int he_divergence_from_fast_t(int type, const void* p, const void* q,
                                  Py_ssize_t n, int need_entropy,
                                  const he_pair_sums* fast, double* entropy,
                                  double* kl)
    int he_entropy_whole_t(int type, const void* p, const he_slices* s,
                           int omit_nan, double* entropy)
    int he_divergence_whole_t(int type, const void* p, const he_slices* ps,
                              const void* q, const he_slices* qs, int omit_nan,
                              int need_entropy, double* entropy, double* kl)
    int he_load_t(int type, const void* src, Py_ssize_t stride, Py_ssize_t n,
                  double* dst)
    void he_combine_entropy_sums(const he_entropy_sums* parts, Py_ssize_t count,
                                 he_entropy_sums* out)
    void he_combine_pair_sums(const he_pair_sums* parts, Py_ssize_t count,
                              he_pair_sums* out)


cdef extern from "histentropy/sparse.h" nogil:
    enum:
        HE_SEGMENT_MAX
    # Index arrays are int32 (index_type 4) or int64 (5).
    Py_ssize_t he_gather_t(int type, int index_type, const void* p_values,
                           const void* p_indices, Py_ssize_t p_nnz, const void* q,
                           Py_ssize_t q_stride, double* a, double* b)
    Py_ssize_t he_lookup_t(int type, int index_type, const void* p_values,
                           const void* p_indices, Py_ssize_t p_nnz,
                           const void* q_values, const void* q_indices,
                           Py_ssize_t q_nnz, double* a, double* b)
    Py_ssize_t he_union_t(int type, int index_type, const void* p_values,
                          const void* p_indices, Py_ssize_t p_nnz,
                          const void* q_values, const void* q_indices,
                          Py_ssize_t q_nnz, double* a, double* b)
    Py_ssize_t he_merge_dense_t(int type, int index_type, const void* p, Py_ssize_t n,
                                Py_ssize_t p_stride, const void* q_values,
                                const void* q_indices, Py_ssize_t q_nnz, double* a,
                                double* b)
    int he_reference_t(int type, const void* q, Py_ssize_t n, Py_ssize_t stride,
                       he_csum* total, double* scale)
    int he_reference_read_t(int type, const void* q, Py_ssize_t n, Py_ssize_t stride,
                            double scale, he_csum* total)
    double he_reference_largest_t(int type, const void* q, Py_ssize_t n,
                                  Py_ssize_t stride)
    int he_check_rows(int index_type, const void* indices, const void* indptr,
                      Py_ssize_t n_rows, Py_ssize_t n_cols, Py_ssize_t n_stored)
    Py_ssize_t he_rows_entropy_t(int type, const void* values, int index_type,
                                 const void* indptr, Py_ssize_t r0, Py_ssize_t r1,
                                 double* out, Py_ssize_t* redo)
    Py_ssize_t he_rows_kl(const double* values, int index_type, const void* indices,
                          const void* indptr, Py_ssize_t r0, Py_ssize_t r1,
                          const double* q, const he_csum* reference, int need_entropy,
                          double* entropy, double* kl, Py_ssize_t* redo)
    Py_ssize_t he_rows_kl_sparse(const double* p_values, int index_type,
                                 const void* p_indices, const void* p_indptr,
                                 const double* q_values, const void* q_indices,
                                 const void* q_indptr, Py_ssize_t r0, Py_ssize_t r1,
                                 int need_entropy, double* entropy, double* kl,
                                 double* q_at, Py_ssize_t* redo)
    int he_divergence_rest(const double* a, const double* b, Py_ssize_t m,
                           const he_csum* reference, double q_scale, int q_flags,
                           int omit_nan, int need_entropy, double* entropy,
                           double* kl)



cdef extern from "histentropy/family.h" nogil:
    enum:
        HE_ENTROPY
        HE_KL_DIVERGENCE
        HE_JS_DIVERGENCE
        HE_HELLINGER
        HE_TOTAL_VARIATION
        HE_JEFFREYS
        HE_CHI_SQUARE
        HE_RENYI_ENTROPY
        HE_RENYI_DIVERGENCE
    ctypedef struct he_params:
        double alpha, pseudocount
    ctypedef struct he_family_sums:
        double p_hi, p_lo, q_hi, q_lo, p_only, q_only, p_largest, bad
    ctypedef struct he_family_consts:
        pass
    ctypedef struct he_family_plan:
        he_family_consts k
        int measure, read
    # One long contiguous histogram in phases (family.h), for threads.
    int he_family_sums_t(int type, const void* p, const void* q, Py_ssize_t n,
                         he_family_sums* out)
    void he_combine_family_sums(const he_family_sums* parts, Py_ssize_t count,
                                he_family_sums* out)
    int he_family_plan_of(int measure, const he_params* params, const he_family_sums* f,
                          Py_ssize_t n, Py_ssize_t zero_bins, int one,
                          he_family_plan* plan, double* out)
    double he_family_accurate_t(int type, int read, const void* p, const void* q,
                                Py_ssize_t n, const he_family_consts* k, double* bad)
    int he_family_conclude(he_family_plan* plan, double sum, double bad, double* out)
    # `measure` of all the slices as one histogram, plus zero_bins unstored
    # bins holding 0 (q NULL for a measure of p alone).
    int he_family_whole_t(int type, int measure, const he_params* params,
                          const void* p, const he_slices* ps, const void* q,
                          const he_slices* qs, Py_ssize_t zero_bins, int omit_nan,
                          double* out)
    int he_family_slice_t(int type, int measure, const he_params* params,
                          const void* p, Py_ssize_t p_stride, const void* q,
                          Py_ssize_t q_stride, Py_ssize_t n, Py_ssize_t zero_bins,
                          int omit_nan, double* out)
    Py_ssize_t he_count_positive(int type, const void* q, Py_ssize_t n,
                                 Py_ssize_t stride)
    int he_family_slice_f64(int measure, const he_params* params, const double* p,
                            Py_ssize_t p_stride, const double* q, Py_ssize_t q_stride,
                            Py_ssize_t n, Py_ssize_t zero_bins, int omit_nan, double* out)
    int he_family_rest(int measure, const he_params* params, const double* a,
                       const double* b, Py_ssize_t m, const he_csum* reference,
                       double q_scale, Py_ssize_t q_positive, int q_flags,
                       int omit_nan, double* out)


cdef extern from "histentropy/binning.h" nogil:
    Py_ssize_t he_bin_values(const double* x, Py_ssize_t rs, Py_ssize_t cs,
                             Py_ssize_t m, Py_ssize_t F, const double* const* edges,
                             const int32_t* L, const double* inv_width, int32_t* out)


cdef extern from "histentropy/chunks.h" nogil:
    enum:
        HE_CHUNK_FIELDS
        HE_CHUNK_SECOND_FIELDS
    # One histogram in chunks: a mergeable state per chunk (chunks.h).
    int he_chunk_totals_t(int type, const void* p, Py_ssize_t p_stride, const void* q,
                          Py_ssize_t q_stride, Py_ssize_t n, double c, double* state)
    void he_chunk_merge(const double* states, Py_ssize_t k, int need, double* out)
    double he_chunk_value(const double* state, int measure, int pair, int omit_nan)
    int he_chunk_second_t(int type, int measure, const he_params* params, const void* p,
                          Py_ssize_t p_stride, const void* q, Py_ssize_t q_stride,
                          Py_ssize_t n, const double* total, double* out)
    void he_chunk_second_merge(const double* states, Py_ssize_t k, double* out)
    double he_chunk_family_value(int measure, const he_params* params, const double* total,
                                 const double* second, int one, int omit_nan)
