"""The public embedding API, used as a downstream project would.

From the *installed* package, in a temporary directory, three builds:

1. a Cython extension that does ``from histentropy cimport kernels`` and calls
   the dense, sparse and logits functions;
2. a plain C extension (a setuptools Extension of a .c file, no Cython) that
   includes ``histentropy/histentropy.h``;
3. a C program with no Python headers, compiled by the system ``cc`` and run.

Each is checked against the Python API on random input.
"""
import importlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import histentropy

PACKAGE_DIR = os.path.dirname(os.path.abspath(histentropy.__file__))

CYTHON_PYX = """\
# cython: language_level=3, boundscheck=False, wraparound=False
from libc.stdint cimport int64_t
from histentropy cimport kernels


def version():
    return kernels.HISTENTROPY_API_VERSION_MAJOR, kernels.HISTENTROPY_API_VERSION_MINOR


def flags():
    return kernels.HE_NAN, kernels.HE_NEGATIVE, kernels.HE_INFINITE


def entropy_f64(const double[:] p):
    cdef double h = 0.0
    cdef int f
    with nogil:
        f = kernels.he_entropy_f64(&p[0], p.shape[0], p.strides[0] // 8, &h)
    return h, f


def entropy_f32(const float[:] p):
    cdef double h = 0.0
    cdef int f
    with nogil:
        f = kernels.he_entropy_f32(&p[0], p.shape[0], p.strides[0] // 4, &h)
    return h, f


def decompose_i64(const int64_t[::1] p, const int64_t[::1] q):
    cdef double ce = 0.0, h = 0.0, kl = 0.0
    cdef int f
    with nogil:
        f = kernels.he_decompose_i64(&p[0], 1, &q[0], 1, p.shape[0], &ce, &h, &kl)
    return ce, h, kl, f


def kl_f64(const double[::1] p, const double[::1] q):
    cdef double kl = 0.0
    cdef int f = kernels.he_kl_divergence_f64(&p[0], 1, &q[0], 1, p.shape[0], &kl)
    return kl, f


def kl_sparse_dense(const int64_t[::1] idx, const double[::1] val, const double[::1] q):
    cdef double kl = 0.0
    cdef int f = kernels.he_kl_divergence_sparse_dense_f64(
        &idx[0], &val[0], idx.shape[0], &q[0], 1, q.shape[0], &kl)
    return kl, f


def kl_sparse_sparse(const int64_t[::1] pi, const double[::1] pv,
                     const int64_t[::1] qi, const double[::1] qv, Py_ssize_t n):
    cdef double kl = 0.0
    cdef int f = kernels.he_kl_divergence_sparse_sparse_f64(
        &pi[0], &pv[0], pi.shape[0], &qi[0], &qv[0], qi.shape[0], n, &kl)
    return kl, f


def cross_entropy_logits(const double[::1] logits, int64_t target):
    cdef double ce = 0.0
    cdef int f = kernels.he_cross_entropy_logits_f64(&logits[0], logits.shape[0], 1,
                                                     target, &ce)
    return ce, f


def entropy_logits(const double[::1] logits):
    cdef double h = 0.0
    cdef int f = kernels.he_entropy_logits_f64(&logits[0], logits.shape[0], 1, &h)
    return h, f
"""

C_EXTENSION = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <histentropy/histentropy.h>

/* entropy(p) and kl_divergence(p, q) of contiguous float64 buffers. */
static int get(PyObject *obj, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    if (view->itemsize != 8 || view->format == NULL || view->format[0] != 'd') {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_TypeError, "float64 buffer expected");
        return -1;
    }
    return 0;
}

static PyObject *entropy(PyObject *self, PyObject *arg)
{
    Py_buffer p;
    double h;
    int flags;
    if (get(arg, &p) < 0)
        return NULL;
    flags = he_entropy_f64((const double *)p.buf, p.len / 8, 1, &h);
    PyBuffer_Release(&p);
    return Py_BuildValue("di", h, flags);
}

static PyObject *decompose(PyObject *self, PyObject *args)
{
    PyObject *a, *b;
    Py_buffer p, q;
    double ce, h, kl;
    int flags;
    if (!PyArg_ParseTuple(args, "OO", &a, &b) || get(a, &p) < 0)
        return NULL;
    if (get(b, &q) < 0) {
        PyBuffer_Release(&p);
        return NULL;
    }
    flags = he_decompose_f64((const double *)p.buf, 1, (const double *)q.buf, 1,
                             p.len / 8, &ce, &h, &kl);
    PyBuffer_Release(&p);
    PyBuffer_Release(&q);
    return Py_BuildValue("dddi", ce, h, kl, flags);
}

static PyMethodDef methods[] = {
    {"entropy", entropy, METH_O, NULL},
    {"decompose", decompose, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "he_c_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_he_c_ext(void) { return PyModule_Create(&module); }
"""

C_PROGRAM = r"""
/* No Python: reads n, then n values of p and n of q (hex floats), prints
 * entropy, cross entropy, KL, the decomposition, the sparse row of p's
 * non-zeros against q, and the logits entropy of p. */
#include <stdio.h>
#include <stdlib.h>
#include <histentropy/histentropy.h>

int main(void)
{
    long n, i, nnz = 0;
    double *p, *q, *val, h, ce, kl, dce, dh, dkl, sh, skl, lh;
    int64_t *idx;
    int flags = 0;
    if (scanf("%ld", &n) != 1 || n <= 0)
        return 2;
    p = malloc(n * sizeof *p);
    q = malloc(n * sizeof *q);
    val = malloc(n * sizeof *val);
    idx = malloc(n * sizeof *idx);
    for (i = 0; i < n; i++)
        if (scanf("%la", &p[i]) != 1) return 2;
    for (i = 0; i < n; i++)
        if (scanf("%la", &q[i]) != 1) return 2;
    for (i = 0; i < n; i++)
        if (p[i] != 0.0) { idx[nnz] = i; val[nnz] = p[i]; nnz++; }
    /* p read backwards through a negative stride: the same histogram */
    flags |= he_entropy_f64(p + n - 1, n, -1, &h);
    flags |= he_cross_entropy_f64(p, 1, q, 1, n, &ce);
    flags |= he_kl_divergence_f64(p, 1, q, 1, n, &kl);
    flags |= he_decompose_f64(p, 1, q, 1, n, &dce, &dh, &dkl);
    flags |= he_kl_divergence_sparse_dense_f64(idx, val, nnz, q, 1, n, &skl);
    flags |= he_entropy_sparse_f64(idx, val, nnz, n, &sh);
    flags |= he_entropy_logits_f64(p, n, 1, &lh);
    printf("%d %d\n", HISTENTROPY_API_VERSION_MAJOR, flags);
    printf("%a %a %a %a %a %a %a %a %a\n", h, ce, kl, dce, dh, dkl, skl, sh, lh);
    /* bad input: the flags and NaN */
    p[0] = -1.0;
    flags = he_entropy_f64(p, n, 1, &h);
    printf("%d %d\n", flags == HE_NEGATIVE, h != h);
    free(p); free(q); free(val); free(idx);
    return 0;
}
"""


def _compiler():
    cc = sysconfig.get_config_var("CC") or "cc"
    exe = shlex.split(cc)[0] if cc.strip() else "cc"
    return shutil.which(exe) or shutil.which("cc")


def _build(workdir, name, sources, cython):
    """Build an extension module from `sources` in workdir against the
    installed histentropy and import it."""
    lines = [
        "import os",
        "import numpy",
        "import histentropy",
        "from setuptools import Extension, setup",
        f"ext = Extension({name!r}, {sources!r},",
        "                include_dirs=[numpy.get_include(), histentropy.get_include()])",
    ]
    if cython:
        lines += [
            "from Cython.Build import cythonize",
            "package_parent = os.path.dirname(os.path.dirname(histentropy.__file__))",
            "exts = cythonize([ext], include_path=[package_parent], quiet=True)",
        ]
    else:
        lines.append("exts = [ext]")
    lines.append('setup(name="downstream", ext_modules=exts, '
                 'script_args=["build_ext", "--inplace"])')
    setup = "\n".join(lines) + "\n"
    (workdir / "setup.py").write_text(setup)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(PACKAGE_DIR)] + [p for p in sys.path if p])
    proc = subprocess.run([sys.executable, "setup.py"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sys.path.insert(0, str(workdir))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(workdir))


@pytest.fixture(scope="module")
def cython_ext(tmp_path_factory):
    pytest.importorskip("Cython")
    if not _compiler():
        pytest.skip("no C compiler")
    workdir = tmp_path_factory.mktemp("cython_downstream")
    (workdir / "he_cython_ext.pyx").write_text(CYTHON_PYX)
    yield _build(workdir, "he_cython_ext", ["he_cython_ext.pyx"], cython=True)
    sys.modules.pop("he_cython_ext", None)


@pytest.fixture(scope="module")
def c_ext(tmp_path_factory):
    if not _compiler():
        pytest.skip("no C compiler")
    workdir = tmp_path_factory.mktemp("c_downstream")
    (workdir / "he_c_ext.c").write_text(C_EXTENSION)
    yield _build(workdir, "he_c_ext", ["he_c_ext.c"], cython=False)
    sys.modules.pop("he_c_ext", None)


def _random_pair(rng, n):
    p = rng.random(n)
    p[rng.random(n) < 0.3] = 0.0
    p[0] = 1.0
    q = rng.random(n) + 1e-3
    return p, q


# ---- the files that make the API -------------------------------------------

def test_headers_and_pxd_are_installed():
    include = histentropy.get_include()
    for name in ("histentropy.h", "config.h", "dispatch.h", "dense.h", "sparse.h",
                 "logits.h", "vlog.h"):
        assert os.path.exists(os.path.join(include, "histentropy", name)), name
    assert os.path.exists(os.path.join(PACKAGE_DIR, "kernels.pxd"))


def test_kernels_pxd_declares_only_the_public_api():
    text = open(os.path.join(PACKAGE_DIR, "kernels.pxd")).read()
    assert 'cdef extern from "histentropy/histentropy.h"' in text
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("int he_"):
            names.add(line.split("(")[0].split()[-1])
    measures = ("entropy", "cross_entropy", "kl_divergence", "decompose")
    want = {f"he_{m}_{t}" for m in measures for t in ("f64", "f32", "i64", "i32")}
    want |= {f"he_{m}_sparse_{q}_f64" for m in measures[1:] for q in ("dense", "sparse")}
    want |= {"he_entropy_sparse_f64", "he_entropy_logits_f64",
             "he_cross_entropy_logits_f64", "he_kl_divergence_logits_f64"}
    assert names == want
    for internal in ("csum", "he_weight_at", "HE_BLOCK", "_t(", "HE_FLAG"):
        assert internal not in text


# ---- 1. Cython ---------------------------------------------------------------

def test_cython_version_and_flags(cython_ext):
    assert cython_ext.version()[0] >= 1
    assert len(set(cython_ext.flags())) == 3


@pytest.mark.parametrize("n", [1, 7, 1000, 100_000])
def test_cython_dense_matches_python(cython_ext, n):
    rng = np.random.default_rng(n)
    p, q = _random_pair(rng, n)
    h, f = cython_ext.entropy_f64(p)
    assert f == 0 and h == pytest.approx(float(histentropy.entropy(p)), rel=1e-14, abs=1e-15)
    h, f = cython_ext.entropy_f64(p[::-1])          # negative stride
    assert f == 0 and h == pytest.approx(float(histentropy.entropy(p)), rel=1e-14, abs=1e-15)
    p32 = p.astype(np.float32)[::2]
    h, f = cython_ext.entropy_f32(p32)
    assert f == 0 and h == pytest.approx(float(histentropy.entropy(p32)), rel=1e-14, abs=1e-15)
    kl, f = cython_ext.kl_f64(p, q)
    assert f == 0 and kl == pytest.approx(float(histentropy.kl_divergence(p, q)),
                                          rel=1e-13, abs=1e-16)
    ci = (p * 100).astype(np.int64)
    ci[0] = 5
    qi = (q * 100).astype(np.int64) + 1
    ce, h, kl, f = cython_ext.decompose_i64(ci, qi)
    d = histentropy.decompose(ci, qi)
    assert f == 0
    assert ce == pytest.approx(float(d.cross_entropy), rel=1e-14)
    assert h == pytest.approx(float(d.entropy), rel=1e-14, abs=1e-15)
    assert kl == pytest.approx(float(d.kl_divergence), rel=1e-13, abs=1e-16)


def test_cython_sparse_matches_python(cython_ext):
    sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    n = 500
    p, q = _random_pair(rng, n)
    idx = np.flatnonzero(p).astype(np.int64)
    kl, f = cython_ext.kl_sparse_dense(idx, p[idx], q)
    want = float(histentropy.kl_divergence(sparse.csr_array(p[None]), q)[0])
    assert f == 0 and kl == pytest.approx(want, rel=1e-13)
    qs = q.copy()
    qs[rng.random(n) < 0.5] = 0.0
    qs[idx] = np.maximum(qs[idx], 0.5)
    qi = np.flatnonzero(qs).astype(np.int64)
    kl, f = cython_ext.kl_sparse_sparse(idx, p[idx], qi, qs[qi], n)
    assert f == 0 and kl == pytest.approx(float(histentropy.kl_divergence(p, qs)), rel=1e-13)


def test_cython_logits_matches_python(cython_ext):
    rng = np.random.default_rng(5)
    logits = rng.normal(size=50) * 3
    ce, f = cython_ext.cross_entropy_logits(logits, 7)
    want = float(histentropy.cross_entropy_from_logits(logits[None], np.array([7]))[0])
    assert f == 0 and ce == pytest.approx(want, rel=1e-14)
    h, f = cython_ext.entropy_logits(logits)
    assert f == 0 and h == pytest.approx(float(histentropy.entropy_from_logits(logits)),
                                         rel=1e-14)


def test_cython_bad_input_flags_and_nan(cython_ext):
    nan_flag, negative_flag, infinite_flag = cython_ext.flags()
    h, f = cython_ext.entropy_f64(np.array([1.0, -2.0, 3.0]))
    assert f == negative_flag and np.isnan(h)
    h, f = cython_ext.entropy_f64(np.array([1.0, np.inf]))
    assert f == infinite_flag and np.isnan(h)
    h, f = cython_ext.entropy_f64(np.array([1.0, np.nan]))
    assert f == nan_flag and np.isnan(h)
    h, f = cython_ext.entropy_f64(np.zeros(3))        # no mass: NaN, valid
    assert f == 0 and np.isnan(h)
    kl, f = cython_ext.kl_f64(np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    assert f == 0 and kl == np.inf
    kl, f = cython_ext.kl_sparse_dense(np.array([3, 1], np.int64), np.ones(2), np.ones(4))
    assert f != 0 and np.isnan(kl)                   # unsorted indices
    ce, f = cython_ext.cross_entropy_logits(np.zeros(3), 3)
    assert f != 0 and np.isnan(ce)                   # class out of range


# ---- 2. plain C extension ----------------------------------------------------

@pytest.mark.parametrize("n", [3, 2000])
def test_c_extension_matches_python(c_ext, n):
    rng = np.random.default_rng(n)
    p, q = _random_pair(rng, n)
    h, f = c_ext.entropy(p)
    assert f == 0 and h == pytest.approx(float(histentropy.entropy(p)), rel=1e-14, abs=1e-15)
    ce, h, kl, f = c_ext.decompose(p, q)
    d = histentropy.decompose(p, q)
    assert f == 0
    assert (ce, h) == pytest.approx((float(d.cross_entropy), float(d.entropy)), rel=1e-14)
    assert kl == pytest.approx(float(d.kl_divergence), rel=1e-13, abs=1e-16)
    h, f = c_ext.entropy(np.array([1.0, -1.0]))
    assert f != 0 and np.isnan(h)


# ---- 3. a C program without Python -------------------------------------------

def test_c_program_without_python(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no system cc")
    (tmp_path / "main.c").write_text(C_PROGRAM)
    exe = tmp_path / "main"
    build = subprocess.run(
        [cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
         "-I", histentropy.get_include(), str(tmp_path / "main.c"), "-o", str(exe), "-lm"],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    rng = np.random.default_rng(9)
    n = 777
    p, q = _random_pair(rng, n)
    text = f"{n}\n" + " ".join(x.hex() for x in p) + "\n" + " ".join(x.hex() for x in q)
    run = subprocess.run([str(exe)], input=text, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split("\n")
    assert lines[0].split() == [str(1), "0"]
    h, ce, kl, dce, dh, dkl, skl, sh, lh = (float.fromhex(x) for x in lines[1].split())
    d = histentropy.decompose(p, q)
    assert h == pytest.approx(float(histentropy.entropy(p)), rel=1e-14)
    assert sh == pytest.approx(float(histentropy.entropy(p)), rel=1e-14)
    assert (ce, dce) == pytest.approx((float(d.cross_entropy),) * 2, rel=1e-14)
    assert dh == pytest.approx(float(d.entropy), rel=1e-14)
    assert (kl, dkl, skl) == pytest.approx((float(d.kl_divergence),) * 3, rel=1e-13)
    assert lh == pytest.approx(float(histentropy.entropy_from_logits(p)), rel=1e-14)
    assert lines[2].split() == ["1", "1"]
