"""The installed .pxd files let other Cython projects cimport the kernels.

As a downstream project would: write a small .pyx that does
``from histentropy cimport _kernels``, compile it with Cython and setuptools
against the *installed* package (its parent directory on Cython's include
path, the package directory -- or ``histentropy.get_include()`` where it
exists -- on the C include path for the kernels' headers), import it and
compare its results with the public functions.
"""
import importlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import numpy as np
import pytest

import histentropy

DOWNSTREAM_PYX = """\
# cython: language_level=3, boundscheck=False, wraparound=False
from histentropy cimport _kernels


def entropy_f64(const double[::1] p):
    cdef double out = 0.0
    cdef int flags
    with nogil:
        flags = _kernels.entropy_slice(&p[0], p.shape[0], 1, False, &out)
    return out, flags


def entropy_f32_strided(const float[:] p):
    cdef double out = 0.0
    cdef int flags
    cdef Py_ssize_t stride = p.strides[0] // <Py_ssize_t>sizeof(float)
    with nogil:
        flags = _kernels.entropy_slice(&p[0], p.shape[0], stride, False, &out)
    return out, flags


def decompose_f64(const double[::1] p, const double[::1] q):
    cdef double h = 0.0, kl = 0.0
    cdef int flags
    with nogil:
        flags = _kernels.divergence_slice(&p[0], 1, &q[0], 1, p.shape[0],
                                          False, True, &h, &kl)
    return h, kl, flags


def negative_flag():
    return _kernels.NEGATIVE_P
"""


def _compiler_available():
    cc = sysconfig.get_config_var("CC") or "cc"
    exe = shlex.split(cc)[0] if cc.strip() else "cc"
    return shutil.which(exe) is not None


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    pytest.importorskip("Cython")
    if not _compiler_available():
        pytest.skip("no C compiler")
    workdir = tmp_path_factory.mktemp("downstream")
    (workdir / "downstream_kernels.pyx").write_text(DOWNSTREAM_PYX)
    package_dir = os.path.dirname(os.path.abspath(histentropy.__file__))
    (workdir / "setup.py").write_text(textwrap.dedent(f"""\
        import os
        import numpy
        from Cython.Build import cythonize
        from setuptools import Extension, setup

        import histentropy

        package_dir = {package_dir!r}
        include = (histentropy.get_include() if hasattr(histentropy, "get_include")
                   else package_dir)
        ext = Extension(
            "downstream_kernels", ["downstream_kernels.pyx"],
            include_dirs=[numpy.get_include(), include],
            extra_compile_args=["-O0"] if os.name != "nt" else [],
        )
        setup(
            name="downstream-kernels",
            ext_modules=cythonize([ext], include_path=[os.path.dirname(package_dir)],
                                  quiet=True),
            script_args=["build_ext", "--inplace"],
        )
        """))
    env = dict(os.environ)
    # The child imports the same histentropy as this test does.
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(package_dir)] + [p for p in sys.path if p])
    proc = subprocess.run([sys.executable, "setup.py"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module("downstream_kernels")
    finally:
        sys.path.remove(str(workdir))
        sys.modules.pop("downstream_kernels", None)


def test_pxd_files_are_next_to_the_package():
    package_dir = os.path.dirname(histentropy.__file__)
    for name in ("_kernels.pxd", "_typedefs.pxd"):
        assert os.path.exists(os.path.join(package_dir, name)), name


def test_cimported_entropy_slice_matches_entropy(downstream):
    rng = np.random.default_rng(7)
    for n in (1, 5, 1000, 100_000):
        p = rng.random(n)
        p[rng.random(n) < 0.1] = 0.0
        if not p.any():
            p[0] = 1.0
        h, flags = downstream.entropy_f64(p)
        assert flags == 0
        assert h == pytest.approx(float(histentropy.entropy(p)), rel=1e-14, abs=1e-15)


def test_cimported_kernel_hard_case(downstream, exact):
    p = np.array([1.0 - 1e-12, 1e-12 / 3, 1e-12 / 3, 1e-12 / 3])
    h, flags = downstream.entropy_f64(p)
    assert flags == 0
    exact.assert_close(h, exact.entropy(p))


def test_cimported_fused_float32_strided(downstream):
    p = (np.arange(1, 41, dtype=np.float32) ** 2)[::3]  # strided float32 view
    h, flags = downstream.entropy_f32_strided(p)
    assert flags == 0
    assert h == pytest.approx(float(histentropy.entropy(p)), rel=1e-14)


def test_cimported_divergence_slice_matches_decompose(downstream):
    rng = np.random.default_rng(11)
    p = rng.random(300)
    q = rng.random(300) + 1e-3
    h, kl, flags = downstream.decompose_f64(p, q)
    assert flags == 0
    dec = histentropy.decompose(p, q)
    assert h == pytest.approx(float(dec.entropy), rel=1e-14)
    assert kl == pytest.approx(float(dec.kl_divergence), rel=1e-13, abs=1e-16)


def test_cimported_kernel_reports_flags_and_never_raises(downstream):
    p = np.array([1.0, -2.0, 3.0])
    h, flags = downstream.entropy_f64(p)  # no exception: the kernel reports
    assert flags & downstream.negative_flag()
    with pytest.raises(ValueError, match="negative"):
        histentropy.entropy(p)
    h, flags = downstream.entropy_f64(np.zeros(3))
    assert np.isnan(h)


def test_get_include_holds_the_headers_and_pxd_files():
    inc = histentropy.get_include()
    for name in ("_fastpath.h", "_kernels.pxd", "_typedefs.pxd"):
        assert os.path.exists(os.path.join(inc, name)), name
