# Layer 2: drivers for dense input.
#
# The Python layer hands over an array already validated and shaped: 1-, 2-
# or 3-D with the histogram axis last (a view: any strides, including 0 from
# broadcasting and negative ones). A driver finds the dtype's type code,
# releases the GIL and loops over the slices, calling the C core
# (include/histentropy/dense.h) -- across threads (OpenMP, when the build has
# it) for many rows, or over chunks of a single long slice whose partial sums
# are then combined. Nothing here raises for bad data: the kernels' flags are
# returned.
cimport numpy as cnp
from cython.parallel cimport prange

from histentropy cimport _core as c

import numpy as np

cnp.import_array()


cdef extern from *:
    """
    #if defined(__linux__)
    #include <stdio.h>
    #include <time.h>
    #include <unistd.h>
    /* The threads a call may use by default: `cores`, less what other
     * runnable tasks leave of the machine's processors (/proc/loadavg counts
     * the runnable tasks, this one included), read at most every 20 ms. A
     * thread that the OS cannot run at once would hold every call up at its
     * barrier. */
    static int he_free_cores(int cores)
    {
        static double last = -1.0;
        static int free_cpus = 1 << 30;
        struct timespec ts;
        double now;
        if (cores <= 1)
            return cores;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
        if (last < 0.0 || now - last > 0.02) {
            FILE *f = fopen("/proc/loadavg", "r");
            long online = sysconf(_SC_NPROCESSORS_ONLN);
            int running = 0, total = 0;
            double a, b, c;
            free_cpus = 1 << 30;
            if (f != NULL) {
                if (fscanf(f, "%lf %lf %lf %d/%d", &a, &b, &c, &running, &total) == 5
                        && online > 0)
                    free_cpus = (int)online - (running > 1 ? running - 1 : 0);
                fclose(f);
            }
            last = now;
        }
        return free_cpus < 1 ? 1 : (free_cpus < cores ? free_cpus : cores);
    }
    #else
    static int he_free_cores(int cores) { return cores; }
    #endif
    """
    int he_free_cores(int cores) nogil


def free_cores(int cores):
    """How many of `cores` threads a call uses by default: fewer when other
    runnable tasks keep the machine's processors busy (Linux)."""
    return he_free_cores(cores)

NAN_SEEN = c.HE_FLAG_NAN
NEGATIVE_P = c.HE_FLAG_NEGATIVE_P
NEGATIVE_Q = c.HE_FLAG_NEGATIVE_Q
INFINITE_P = c.HE_FLAG_INFINITE_P
INFINITE_Q = c.HE_FLAG_INFINITE_Q


cdef enum:
    # At most this many chunks of one long slice are summed in parallel.
    MAX_CHUNKS = 64
    # Chunks shorter than this are not worth a thread.
    MIN_CHUNK = 1 << 15


def cpu_path():
    """Name of the instruction-set path the kernels use (see HISTENTROPY_CPU)."""
    return c.he_cpu_path_name(c.he_cpu_path()).decode()


def available_cpu_paths():
    """Names of the paths this CPU can run, slowest first."""
    return [c.he_cpu_path_name(path).decode()
            for path in range(c.he_cpu_best_path() + 1)]


def cpu_env_invalid():
    """True when HISTENTROPY_CPU holds a value that is not a path name."""
    return bool(c.he_cpu_env_invalid())


cdef c.he_slices slices_of(cnp.ndarray a):
    cdef c.he_slices s
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef cnp.npy_intp* shape = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(a)
    s.n = shape[nd - 1]
    s.stride = strides[nd - 1] // cnp.PyArray_ITEMSIZE(a)
    s.shape0 = shape[nd - 3] if nd == 3 else 1
    s.stride0 = strides[nd - 3] if nd == 3 else 0
    s.shape1 = shape[nd - 2] if nd >= 2 else 1
    s.stride1 = strides[nd - 2] if nd >= 2 else 0
    return s


cdef int type_code(cnp.ndarray a) noexcept:
    """The core's type code of a's dtype, -1 for a dtype it does not read."""
    cdef char kind = a.descr.kind
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(a)
    if kind == b"f":
        return 0 if size == 8 else (1 if size == 4 else -1)
    if kind != b"i" and kind != b"u":
        return -1
    if size == 1:
        code = 2
    elif size == 2:
        code = 3
    elif size == 4:
        code = 4
    elif size == 8:
        code = 5
    else:
        return -1
    return code + (4 if kind == b"u" else 0)


# The dtypes the kernels read directly, by (kind, itemsize).
SUPPORTED = frozenset(
    (d.kind, d.itemsize)
    for d in map(np.dtype, np.typecodes["AllInteger"] + np.typecodes["Float"])
    if type_code(np.empty(0, d)) >= 0)


cdef int _checked_code(cnp.ndarray a) except -1:
    cdef int code = type_code(a)
    if code < 0:
        raise TypeError(f"unsupported dtype {a.dtype}")
    return code


cdef inline Py_ssize_t _chunks(Py_ssize_t n) noexcept nogil:
    # The chunks of one long slice: as many for any number of threads, so
    # that the result does not depend on it (the default follows the load).
    cdef Py_ssize_t count = n // MIN_CHUNK
    if count > MAX_CHUNKS:
        count = MAX_CHUNKS
    return count if count > 1 else 1


# ---------------------------------------------------------------------------
# entropy
# ---------------------------------------------------------------------------

cdef int _entropy_long(int code, const char* p, Py_ssize_t size, Py_ssize_t n,
                       bint omit_nan, int nthreads, double* out) noexcept nogil:
    """One long contiguous slice: chunks summed in parallel, then combined."""
    cdef c.he_entropy_sums parts[MAX_CHUNKS]
    cdef c.he_entropy_sums total
    cdef Py_ssize_t nchunks = _chunks(n), length, i
    length = (n + nchunks - 1) // nchunks
    for i in prange(nchunks, num_threads=nthreads, schedule="dynamic"):
        c.he_entropy_sums_t(code, p + i * length * size,
                            length if (i + 1) * length <= n else n - i * length,
                            &parts[i])
    c.he_combine_entropy_sums(parts, nchunks, &total)
    if c.he_entropy_from_fast_t(code, p, n, &total, out):
        return 0
    return c.he_entropy_slice_t(code, p, n, 1, omit_nan, out)


cdef int _entropy_rows(int code, Py_ssize_t size, const void* base,
                       const c.he_slices* s, bint omit_nan, int nthreads,
                       double* out) noexcept nogil:
    cdef Py_ssize_t r, rows = s.shape0 * s.shape1
    cdef int flags = 0
    if rows == 1 and s.stride == 1 and s.n >= 2 * MIN_CHUNK:
        return _entropy_long(code, <const char*>base, size, s.n, omit_nan,
                             nthreads, out)
    if nthreads > 1 and rows > 1:
        for r in prange(rows, num_threads=nthreads, schedule="static"):
            flags |= c.he_entropy_slice_t(code, c.he_slice_at(base, s, r), s.n,
                                          s.stride, omit_nan, &out[r])
        return flags
    for r in range(rows):
        flags |= c.he_entropy_slice_t(code, c.he_slice_at(base, s, r), s.n,
                                      s.stride, omit_nan, &out[r])
    return flags


def entropy(cnp.ndarray p not None, bint omit_nan, int nthreads=1,
            bint whole=False):
    """Entropy in nats of each slice of p (1-3-D, slices along the last axis),
    or with `whole` of all of p as one histogram (any strides: the slices'
    sums are combined, nothing is copied).

    Returns (out, flags): `out` a flat float64 array, one value per slice.
    """
    cdef c.he_slices s = slices_of(p)
    cdef int code = _checked_code(p)
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(p)
    cdef cnp.npy_intp rows = 1 if whole else s.shape0 * s.shape1
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &rows, cnp.NPY_FLOAT64, 0)
    cdef double* o = <double*>cnp.PyArray_DATA(out)
    cdef const void* d = cnp.PyArray_DATA(p)
    cdef int flags
    with nogil:
        if whole:
            flags = c.he_entropy_whole_t(code, d, &s, omit_nan, o)
        else:
            flags = _entropy_rows(code, size, d, &s, omit_nan, nthreads, o)
    return out, flags


# ---------------------------------------------------------------------------
# entropy and KL divergence of pairs
# ---------------------------------------------------------------------------

cdef int _divergence_long(int code, const char* p, const char* q, Py_ssize_t size,
                          Py_ssize_t n, bint omit_nan, bint need_entropy,
                          int nthreads, double* entropy, double* kl) noexcept nogil:
    """One long contiguous pair: chunks summed in parallel, then combined."""
    cdef c.he_pair_sums parts[MAX_CHUNKS]
    cdef c.he_pair_sums total
    cdef Py_ssize_t nchunks = _chunks(n), length, i, offset
    length = (n + nchunks - 1) // nchunks
    for i in prange(nchunks, num_threads=nthreads, schedule="dynamic"):
        offset = i * length * size
        c.he_pair_sums_t(code, p + offset, q + offset,
                         length if (i + 1) * length <= n else n - i * length,
                         need_entropy, &parts[i])
    c.he_combine_pair_sums(parts, nchunks, &total)
    if c.he_divergence_from_fast_t(code, p, q, n, need_entropy, &total, entropy, kl):
        return 0
    return c.he_divergence_slice_t(code, p, 1, q, 1, n, omit_nan, need_entropy,
                                   entropy, kl)


cdef int _divergence_rows(int code, Py_ssize_t size, const void* p,
                          const c.he_slices* ps, const void* q,
                          const c.he_slices* qs, bint omit_nan,
                          bint need_entropy, int nthreads, double* entropy,
                          double* kl) noexcept nogil:
    cdef Py_ssize_t r, rows = ps.shape0 * ps.shape1
    cdef int flags = 0
    if rows == 1 and ps.stride == 1 and qs.stride == 1 and ps.n >= 2 * MIN_CHUNK:
        return _divergence_long(code, <const char*>p, <const char*>q, size, ps.n,
                                omit_nan, need_entropy, nthreads, entropy, kl)
    if nthreads > 1 and rows > 1:
        for r in prange(rows, num_threads=nthreads, schedule="static"):
            flags |= c.he_divergence_slice_t(
                code, c.he_slice_at(p, ps, r), ps.stride, c.he_slice_at(q, qs, r),
                qs.stride, ps.n, omit_nan, need_entropy,
                &entropy[r if need_entropy else 0], &kl[r])
        return flags
    for r in range(rows):
        flags |= c.he_divergence_slice_t(
            code, c.he_slice_at(p, ps, r), ps.stride, c.he_slice_at(q, qs, r),
            qs.stride, ps.n, omit_nan, need_entropy,
            &entropy[r if need_entropy else 0], &kl[r])
    return flags


def divergence(cnp.ndarray p not None, cnp.ndarray q not None, bint omit_nan,
               bint need_entropy, int nthreads=1, bint whole=False):
    """Entropy of p (if needed) and KL(p || q) in nats of each pair of slices,
    or with `whole` of all of p and q as one pair of histograms.

    p and q have one shape and dtype (1-3-D, slices along the last axis).
    Returns (entropy or None, kl, flags), flat float64 arrays.
    """
    cdef c.he_slices ps = slices_of(p), qs = slices_of(q)
    cdef int code = _checked_code(p)
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(p)
    cdef cnp.npy_intp rows = 1 if whole else ps.shape0 * ps.shape1
    cdef cnp.npy_intp one = 1
    cdef cnp.ndarray kl = cnp.PyArray_EMPTY(1, &rows, cnp.NPY_FLOAT64, 0)
    cdef cnp.ndarray ent = cnp.PyArray_EMPTY(
        1, &rows if need_entropy else &one, cnp.NPY_FLOAT64, 0)
    cdef double* e = <double*>cnp.PyArray_DATA(ent)
    cdef double* o = <double*>cnp.PyArray_DATA(kl)
    cdef const void* a = cnp.PyArray_DATA(p)
    cdef const void* b = cnp.PyArray_DATA(q)
    cdef int flags
    if _checked_code(q) != code:
        raise TypeError("p and q must have the same dtype")
    with nogil:
        if whole:
            flags = c.he_divergence_whole_t(code, a, &ps, b, &qs, omit_nan,
                                            need_entropy, e, o)
        else:
            flags = _divergence_rows(code, size, a, &ps, b, &qs, omit_nan,
                                     need_entropy, nthreads, e, o)
    return (ent if need_entropy else None), kl, flags


# ---------------------------------------------------------------------------
# The common case, with little per-call overhead: one 1-D float or integer
# array, default options. Returns None whenever the general path is needed
# (other layouts or dtypes, or data the kernels flagged), which then redoes
# the call and raises as documented.
# ---------------------------------------------------------------------------

cdef object _float64 = np.float64


cdef inline bint _plain_vector(object a) noexcept:
    return (type(a) is cnp.ndarray and cnp.PyArray_NDIM(<cnp.ndarray>a) == 1
            and cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>a)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a))


def entropy_vector(object p, int nthreads, Py_ssize_t parallel_min_size):
    if not _plain_vector(p):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>p
    cdef int code = type_code(a)
    if code < 0:
        return None
    cdef c.he_slices s = slices_of(a)
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(a)
    cdef double h
    cdef const void* d = cnp.PyArray_DATA(a)
    cdef int flags
    nthreads = 1 if s.n < parallel_min_size else he_free_cores(nthreads)
    with nogil:
        flags = _entropy_rows(code, size, d, &s, False, nthreads, &h)
    if flags:
        return None
    return _float64(h)


def divergence_vector(object p, object q, bint need_entropy, int nthreads,
                      Py_ssize_t parallel_min_size):
    """(entropy, kl) of two 1-D arrays of one dtype and length, or None."""
    if not (_plain_vector(p) and _plain_vector(q)):
        return None
    cdef cnp.ndarray a = <cnp.ndarray>p, b = <cnp.ndarray>q
    cdef int code = type_code(a)
    if code < 0 or type_code(b) != code:
        return None
    cdef c.he_slices ps = slices_of(a), qs = slices_of(b)
    if ps.n != qs.n:
        return None
    cdef Py_ssize_t size = cnp.PyArray_ITEMSIZE(a)
    cdef double e = 0.0, o
    cdef const void* x = cnp.PyArray_DATA(a)
    cdef const void* y = cnp.PyArray_DATA(b)
    cdef int flags
    nthreads = 1 if ps.n < parallel_min_size else he_free_cores(nthreads)
    with nogil:
        flags = _divergence_rows(code, size, x, &ps, y, &qs, False, need_entropy,
                                 nthreads, &e, &o)
    if flags:
        return None
    return _float64(e), _float64(o)


# ---------------------------------------------------------------------------
# p and q of different dtypes, many histograms: each pair of slices is read
# into float64 row buffers (two rows, not a converted copy of the input) and
# handed to the float64 kernel.
# ---------------------------------------------------------------------------

def divergence_mixed(cnp.ndarray p not None, cnp.ndarray q not None,
                     bint omit_nan, bint need_entropy):
    """As `divergence`, for p and q of one shape but different dtypes."""
    cdef c.he_slices ps = slices_of(p), qs = slices_of(q)
    cdef int pcode = _checked_code(p), qcode = _checked_code(q)
    cdef cnp.npy_intp rows = ps.shape0 * ps.shape1
    cdef cnp.npy_intp one = 1
    cdef cnp.ndarray kl = cnp.PyArray_EMPTY(1, &rows, cnp.NPY_FLOAT64, 0)
    cdef cnp.ndarray ent = cnp.PyArray_EMPTY(
        1, &rows if need_entropy else &one, cnp.NPY_FLOAT64, 0)
    cdef double* e = <double*>cnp.PyArray_DATA(ent)
    cdef double* o = <double*>cnp.PyArray_DATA(kl)
    cdef const void* a = cnp.PyArray_DATA(p)
    cdef const void* b = cnp.PyArray_DATA(q)
    cdef double[::1] buffers = np.empty(2 * ps.n + 2)
    cdef double* pb = &buffers[0]
    cdef double* qb = &buffers[ps.n + 1]
    cdef Py_ssize_t r
    cdef int flags = 0
    with nogil:
        for r in range(rows):
            c.he_load_t(pcode, c.he_slice_at(a, &ps, r), ps.stride, ps.n, pb)
            c.he_load_t(qcode, c.he_slice_at(b, &qs, r), qs.stride, qs.n, qb)
            flags |= c.he_divergence_slice_t(0, pb, 1, qb, 1, ps.n, omit_nan,
                                             need_entropy,
                                             &e[r if need_entropy else 0], &o[r])
    return (ent if need_entropy else None), kl, flags



# ---------------------------------------------------------------------------
# The measure family (include/histentropy/family.h): two reads per histogram
# ---------------------------------------------------------------------------

MEASURES = {
    "entropy": c.HE_ENTROPY,
    "kl_divergence": c.HE_KL_DIVERGENCE,
    "js_divergence": c.HE_JS_DIVERGENCE,
    "hellinger_distance": c.HE_HELLINGER,
    "total_variation": c.HE_TOTAL_VARIATION,
    "jeffreys_divergence": c.HE_JEFFREYS,
    "chi_square_divergence": c.HE_CHI_SQUARE,
    "renyi_entropy": c.HE_RENYI_ENTROPY,
    "renyi_divergence": c.HE_RENYI_DIVERGENCE,
}


cdef int _family_long(int code, int measure, const c.he_params* params, const char* p,
                      const char* q, Py_ssize_t size, Py_ssize_t n, bint omit_nan,
                      int nthreads, double* out) noexcept nogil:
    """One long contiguous histogram: each read in chunks on the threads (the
    phases of family.h; dynamic, so that a thread the OS deschedules does not
    hold up the others); anything unusual goes to the one-thread kernel."""
    cdef c.he_family_sums parts[MAX_CHUNKS]
    cdef c.he_family_sums total
    cdef double sums[MAX_CHUNKS]
    cdef double bads[MAX_CHUNKS]
    cdef c.he_family_plan plan
    cdef c.he_csum sum
    cdef double bad
    cdef Py_ssize_t nchunks = _chunks(n), length, i, offset
    cdef int status
    length = (n + nchunks - 1) // nchunks
    for i in prange(nchunks, num_threads=nthreads, schedule="dynamic"):
        offset = i * length * size
        c.he_family_sums_t(code, p + offset, q + offset if q != NULL else NULL,
                           length if (i + 1) * length <= n else n - i * length,
                           &parts[i])
    c.he_combine_family_sums(parts, nchunks, &total)
    status = c.he_family_plan_of(measure, params, &total, n, 0, q == NULL, &plan, out)
    while status == 1:
        for i in prange(nchunks, num_threads=nthreads, schedule="dynamic"):
            offset = i * length * size
            sums[i] = c.he_family_accurate_t(
                code, plan.read, p + offset, q + offset if q != NULL else NULL,
                length if (i + 1) * length <= n else n - i * length, &plan.k, &bads[i])
        c.he_csum_init(&sum)
        bad = 0.0
        for i in range(nchunks):
            c.he_csum_add(&sum, sums[i])
            bad += bads[i]
        status = c.he_family_conclude(&plan, c.he_csum_value(&sum), bad, out)
    if status == 0:
        return 0
    return c.he_family_slice_t(code, measure, params, p, 1, q, 1, n, 0, omit_nan, out)


def family(cnp.ndarray p not None, object q, int measure, double alpha,
           double pseudocount, bint omit_nan, int nthreads=1, bint whole=False):
    """`measure` (MEASURES) in nats of each slice of p (against q, None for a
    measure of p alone), or with `whole` of all of p (and q) as one
    histogram. p and q: one shape and dtype, 1-3-D, slices along the last
    axis. Returns (out, flags), `out` a flat float64 array.
    """
    cdef c.he_slices ps = slices_of(p), qs
    cdef int code = _checked_code(p)
    cdef cnp.npy_intp rows = 1 if whole else ps.shape0 * ps.shape1
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &rows, cnp.NPY_FLOAT64, 0)
    cdef double* o = <double*>cnp.PyArray_DATA(out)
    cdef const void* a = cnp.PyArray_DATA(p)
    cdef const void* b = NULL
    cdef c.he_params params
    cdef Py_ssize_t r
    cdef int flags = 0
    params.alpha = alpha
    params.pseudocount = pseudocount
    qs = ps
    if q is not None:
        qs = slices_of(<cnp.ndarray>q)
        b = cnp.PyArray_DATA(<cnp.ndarray>q)
        if _checked_code(<cnp.ndarray>q) != code:
            raise TypeError("p and q must have the same dtype")
    with nogil:
        if whole:
            flags = c.he_family_whole_t(code, measure, &params, a, &ps, b, &qs, 0,
                                        omit_nan, o)
        elif (rows == 1 and ps.stride == 1 and (b == NULL or qs.stride == 1)
                and ps.n >= 2 * MIN_CHUNK):
            flags = _family_long(code, measure, &params, <const char*>a, <const char*>b,
                                 cnp.PyArray_ITEMSIZE(p), ps.n, omit_nan, nthreads, o)
        else:
            for r in prange(rows, num_threads=max(nthreads, 1), schedule="static"):
                flags |= c.he_family_slice_t(
                    code, measure, &params, c.he_slice_at(a, &ps, r), ps.stride,
                    c.he_slice_at(b, &qs, r) if b != NULL else NULL, qs.stride,
                    ps.n, 0, omit_nan, &o[r])
    return out, flags

# Select the CPU path now, when the package is imported (dispatch.h caches it).
c.he_cpu_path()


# ---- one histogram in chunks (Dask blocks along the histogram axis) --------
# The states are rows of doubles, their fields those of chunks.h.

CHUNK_FIELDS = c.HE_CHUNK_FIELDS
CHUNK_SECOND_FIELDS = c.HE_CHUNK_SECOND_FIELDS


def chunk_read(cnp.ndarray p not None, object q, double pseudocount, int measure=0,
               double alpha=1.0, object totals=None):
    """Each row of p (and q: same shape and dtype, None for a measure of p
    alone; 2-D, a block's bins along the last axis) read once: without
    `totals`, the first read, returning (states (rows, CHUNK_FIELDS), flags);
    with the rows' merged `totals`, the second pass of `measure`, returning
    (rows, CHUNK_SECOND_FIELDS)."""
    cdef c.he_slices ps = slices_of(p), qs = ps
    cdef int code = _checked_code(p), flags = 0
    cdef bint second = totals is not None
    cdef Py_ssize_t rows = ps.shape1, r
    cdef double[:, ::1] out = np.zeros(
        (rows, c.HE_CHUNK_SECOND_FIELDS if second else c.HE_CHUNK_FIELDS))
    cdef const double[:, ::1] total = totals if second else out
    cdef const void* a = cnp.PyArray_DATA(p)
    cdef const void* b = NULL
    cdef const void* br
    cdef c.he_params params
    params.alpha = alpha
    params.pseudocount = pseudocount
    if q is not None:
        qs = slices_of(<cnp.ndarray>q)
        b = cnp.PyArray_DATA(<cnp.ndarray>q)
    with nogil:
        for r in range(rows):
            br = c.he_slice_at(b, &qs, r) if b != NULL else NULL
            if second:
                c.he_chunk_second_t(code, measure, &params, c.he_slice_at(a, &ps, r),
                                    ps.stride, br, qs.stride, ps.n, &total[r, 0], &out[r, 0])
            else:
                flags |= c.he_chunk_totals_t(code, c.he_slice_at(a, &ps, r), ps.stride, br,
                                             qs.stride, ps.n, pseudocount, &out[r, 0])
    return out.base if second else (out.base, flags)


def chunk_merge(const double[:, :, ::1] states, int need):
    """Each row's k chunk states (rows, k, CHUNK_FIELDS) merged into one;
    need: 1 entropy, 2 KL, 3 both, 0 the totals only."""
    cdef Py_ssize_t rows = states.shape[0], k = states.shape[1], r
    cdef double[:, ::1] out = np.zeros((rows, c.HE_CHUNK_FIELDS))
    with nogil:
        for r in range(rows):
            c.he_chunk_merge(&states[r, 0, 0], k, need, &out[r, 0])
    return out.base


def chunk_values(const double[:, ::1] states, int measure, bint pair, bint omit_nan):
    """Entropy or KL (MEASURES) in nats of each merged state (pair: read
    with q)."""
    cdef Py_ssize_t rows = states.shape[0], r
    cdef double[::1] out = np.empty(rows)
    for r in range(rows):
        out[r] = c.he_chunk_value(&states[r, 0], measure, pair, omit_nan)
    return out.base


def chunk_second_merge(const double[:, :, ::1] states):
    """Each row's k second-pass states (rows, k, CHUNK_SECOND_FIELDS) merged."""
    cdef Py_ssize_t rows = states.shape[0], k = states.shape[1], r
    cdef double[:, ::1] out = np.zeros((rows, c.HE_CHUNK_SECOND_FIELDS))
    with nogil:
        for r in range(rows):
            c.he_chunk_second_merge(&states[r, 0, 0], k, &out[r, 0])
    return out.base


def chunk_family_values(const double[:, ::1] totals, const double[:, ::1] second,
                        int measure, double alpha, double pseudocount, bint one,
                        bint omit_nan):
    """`measure` in nats of each row from its merged totals and second pass."""
    cdef Py_ssize_t rows = totals.shape[0], r
    cdef double[::1] out = np.empty(rows)
    cdef c.he_params params
    params.alpha = alpha
    params.pseudocount = pseudocount
    for r in range(rows):
        out[r] = c.he_chunk_family_value(measure, &params, &totals[r, 0], &second[r, 0],
                                         one, omit_nan)
    return out.base
