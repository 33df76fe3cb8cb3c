"""Testbed of the vectorised logarithm of the C core
(include/histentropy/vlog.h), compiled for every CPU path (dispatch.h).

Every function takes ``path=None`` (the dispatched path: the best the CPU
supports, capped by the environment variable HISTENTROPY_CPU) or a path name
from :func:`available_paths`, so tests and benchmarks can run each compiled
variant on one machine.
"""
import numpy as np

from histentropy._core cimport (
    he_cpu_path_name, he_cpu_parse_path, he_cpu_best_path, he_cpu_path,
)

cdef extern from *:
    """
    #include "histentropy/vlog.h"
    #define HE_CPU_BODY "vlog_simd.h"
    #include "histentropy/instantiate.h"

    static void he_simdmath_log(int path, const double *x, double *y, Py_ssize_t n)
    {
        HE_CPU_CALL_PATH(path, he_log_array, (x, y, n));
    }

    static void he_simdmath_log1p(int path, const double *x, double *y, Py_ssize_t n)
    {
        HE_CPU_CALL_PATH(path, he_log1p_array, (x, y, n));
    }

    static double he_simdmath_sum_x_log_x(int path, const double *x, Py_ssize_t n)
    {
        return HE_CPU_CALL_PATH(path, he_sum_x_log_x, (x, n));
    }

    static void he_simdmath_log_notable(int path, const double *x, double *y, Py_ssize_t n)
    {
        HE_CPU_CALL_PATH(path, he_log_notable_array, (x, y, n));
    }

    static double he_simdmath_sum_x_log_x_notable(int path, const double *x, Py_ssize_t n)
    {
        return HE_CPU_CALL_PATH(path, he_sum_x_log_x_notable, (x, n));
    }

    #include "histentropy/vlog_avx512.h"
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define HE_SIMDMATH_HAS_LOG8 1
    /* he_log8, or he_log8_fast where `fast` */
    __attribute__((target("avx512f,avx512dq")))
    static void he_simdmath_log8(const double *x, double *y, Py_ssize_t n, int fast)
    {
        Py_ssize_t i;
        for (i = 0; i < n; i += 8) {
            __mmask8 m = (n - i >= 8) ? 0xFF : (__mmask8)((1u << (n - i)) - 1u);
            __m512d v = _mm512_mask_loadu_pd(_mm512_set1_pd(1.0), m, x + i);
            _mm512_mask_storeu_pd(y + i, m, fast ? he_log8_fast(v) : he_log8(v));
        }
    }
    #else
    #define HE_SIMDMATH_HAS_LOG8 0
    static void he_simdmath_log8(const double *x, double *y, Py_ssize_t n, int fast) {}
    #endif
    """
    int HE_SIMDMATH_HAS_LOG8
    void he_simdmath_log8(const double *x, double *y, Py_ssize_t n, int fast) noexcept nogil
    void he_simdmath_log(int path, const double *x, double *y, Py_ssize_t n) noexcept nogil
    void he_simdmath_log1p(int path, const double *x, double *y, Py_ssize_t n) noexcept nogil
    double he_simdmath_sum_x_log_x(int path, const double *x, Py_ssize_t n) noexcept nogil
    void he_simdmath_log_notable(int path, const double *x, double *y,
                                 Py_ssize_t n) noexcept nogil
    double he_simdmath_sum_x_log_x_notable(int path, const double *x,
                                           Py_ssize_t n) noexcept nogil


_NAMES = ("avx512", "avx2", "sse4.2", "generic",
          "x86-64-v4", "x86-64-v3", "x86-64-v2", "sse42", "baseline")


def available_paths():
    """Names of the compiled paths this CPU can run, best first.

    Returns
    -------
    list of str
        A suffix of ``["avx512", "avx2", "sse4.2", "generic"]`` on x86-64 built
        with GCC; ``["generic"]`` elsewhere.

    Examples
    --------
    >>> from histentropy._simdmath import available_paths
    >>> available_paths()[-1]
    'generic'
    """
    cdef int p
    return [he_cpu_path_name(p).decode() for p in range(he_cpu_best_path(), -1, -1)]


def selected_path():
    """Name of the path used by default: the best available, capped by the
    environment variable HISTENTROPY_CPU (read once, at import).

    Examples
    --------
    >>> from histentropy._simdmath import available_paths, selected_path
    >>> selected_path() in available_paths()
    True
    """
    return he_cpu_path_name(he_cpu_path()).decode()


cdef int _path_id(path) except -1:
    cdef int p
    if path is None:
        return he_cpu_path()
    if not isinstance(path, str):
        raise TypeError(f"path must be a str or None, not {type(path).__name__}")
    p = he_cpu_parse_path(path.encode())
    if p < 0:
        raise ValueError(
            f"path must be one of {', '.join(map(repr, _NAMES))} or None, not {path!r}")
    if p > he_cpu_best_path():
        raise ValueError(
            f"path {path!r} is not available on this CPU; available: {available_paths()}")
    return p


_VARIANTS = ("table", "notable")


cdef int _variant_id(variant) except -1:
    """0 for "table" (he__log), 1 for "notable" (he__log_notable)."""
    if not isinstance(variant, str):
        raise TypeError(f"variant must be a str, not {type(variant).__name__}")
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be 'table' or 'notable', not {variant!r}")
    return _VARIANTS.index(variant)


def _as_float64(x):
    """x as a C-contiguous float64 array of the same shape (0-d included)."""
    arr = np.asarray(x, dtype=np.float64)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    return arr


cdef enum:
    LOG, LOG_NOTABLE, LOG1P, LOG8, LOG8_FAST


cdef object _map(x, int kind, int path):
    """The elementwise function `kind` of x, as a float64 array of its shape."""
    arr = _as_float64(x)
    out = np.empty(arr.shape, dtype=np.float64)
    cdef const double[::1] xv = arr.reshape(-1)
    cdef double[::1] yv = out.reshape(-1)
    cdef Py_ssize_t n = xv.shape[0]
    if n:
        with nogil:
            if kind == LOG:
                he_simdmath_log(path, &xv[0], &yv[0], n)
            elif kind == LOG_NOTABLE:
                he_simdmath_log_notable(path, &xv[0], &yv[0], n)
            elif kind == LOG1P:
                he_simdmath_log1p(path, &xv[0], &yv[0], n)
            else:
                he_simdmath_log8(&xv[0], &yv[0], n, kind == LOG8_FAST)
    return out


def log(x, path=None, variant="table"):
    """Natural logarithm computed by ``he_log`` (max error < 0.52 ulp), or by
    the table-free ``he_log_notable`` (max error < 0.7 ulp).

    Parameters
    ----------
    x : array_like of float64
        Any shape; converted to a C-contiguous float64 array (copied only if
        needed, never modified).
    path : str or None
        Dispatch path: None for the selected one, or a name from
        :func:`available_paths` (aliases: "x86-64-v4", "x86-64-v3",
        "x86-64-v2", "sse42", "baseline").
    variant : {"table", "notable"}
        "table": the table-driven ``he__log`` (the default); "notable":
        ``he__log_notable`` (no table, one division).

    Returns
    -------
    numpy.ndarray
        float64, the shape of `x`.  log(+-0) = -inf, log(inf) = inf,
        log(x < 0) = log(NaN) = NaN, log(1) = 0.

    Raises
    ------
    ValueError
        If `path` is not a path name or not available on this CPU, or
        `variant` is not "table" or "notable".
    TypeError
        If `path` is not a str or None, or `variant` not a str.

    Examples
    --------
    >>> import numpy as np
    >>> from histentropy._simdmath import log
    >>> log(np.array([1.0, np.e, 0.0])).tolist()
    [0.0, 1.0, -inf]
    >>> log(np.array([1.0, np.e, 0.0]), variant="notable").tolist()
    [0.0, 1.0, -inf]
    """
    cdef int p = _path_id(path)
    return _map(x, LOG if _variant_id(variant) == 0 else LOG_NOTABLE, p)


def log1p(x, path=None):
    """log(1 + x) computed by ``he_log1p`` (max error < 0.52 ulp).

    Parameters and errors as :func:`log`.  log1p(+-0) = +-0, log1p(-1) = -inf,
    log1p(x < -1) = NaN, log1p(inf) = inf.

    Examples
    --------
    >>> import numpy as np
    >>> from histentropy._simdmath import log1p
    >>> float(log1p(np.array([1e-20]))[0])
    1e-20
    """
    return _map(x, LOG1P, _path_id(path))


def sum_x_log_x(x, path=None, variant="table"):
    """sum_i x_i log x_i with 0 log 0 = 0, by the 8-lane reduction kernel of
    vlog_simd.h.  A plain (uncompensated)
    sum in a fixed order, the same on every path.  `path` and `variant` as in
    :func:`log`.

    Examples
    --------
    >>> import numpy as np
    >>> from histentropy._simdmath import sum_x_log_x
    >>> float(sum_x_log_x(np.array([0.0, 1.0, 2.0])))  # 2 log 2
    1.3862943611198906
    """
    cdef int p = _path_id(path)
    cdef int v = _variant_id(variant)
    arr = _as_float64(x)
    cdef const double[::1] xv = arr.reshape(-1)
    cdef Py_ssize_t n = xv.shape[0]
    cdef double s = 0.0
    if n:
        with nogil:
            if v == 0:
                s = he_simdmath_sum_x_log_x(p, &xv[0], n)
            else:
                s = he_simdmath_sum_x_log_x_notable(p, &xv[0], n)
    return s


# Select the CPU path now, when the package is imported (dispatch.h caches it).
he_cpu_path()


def log8(x):
    """Natural logarithm of positive normal doubles by ``he_log8`` of
    vlog_avx512.h (AVX-512 intrinsics: the hot loops written for that path;
    max error < 1 ulp); other inputs give unspecified values.

    Raises
    ------
    ValueError
        The CPU (or HISTENTROPY_CPU) does not offer the avx512 path.

    Examples
    --------
    >>> import numpy as np
    >>> from histentropy._simdmath import available_paths, log8
    >>> "avx512" not in available_paths() or float(log8(np.array([1.0]))[0]) == 0.0
    True
    """
    if not HE_SIMDMATH_HAS_LOG8 or "avx512" not in available_paths():
        raise ValueError("log8 needs the avx512 path, which this CPU does not offer")
    return _map(x, LOG8, 0)


def log8_fast(x):
    """As `log8`, by ``he_log8_fast`` (the first reads' log; max error
    < 2 ulp).

    Examples
    --------
    >>> import numpy as np
    >>> from histentropy._simdmath import available_paths, log8_fast
    >>> "avx512" not in available_paths() or float(log8_fast(np.array([1.0]))[0]) == 0.0
    True
    """
    if not HE_SIMDMATH_HAS_LOG8 or "avx512" not in available_paths():
        raise ValueError("log8_fast needs the avx512 path, which this CPU does not offer")
    return _map(x, LOG8_FAST, 0)
