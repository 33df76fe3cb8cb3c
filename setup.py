"""Build the Cython extensions of histentropy.

Compiler directives and flags live here, in one place. Set
HISTENTROPY_DEBUG_CYTHON=1 to turn bounds checking, wrap-around and
initialisation checks back on.

Set HISTENTROPY_SANITIZE=1 (GCC or Clang) to build for AddressSanitizer and
UndefinedBehaviorSanitizer: -fsanitize=address,undefined with every UB report
fatal, -fno-wrapv so that signed overflow is checked too, and -O1 -g
-fno-omit-frame-pointer so that reports name exact lines, in a build tree of its
own (build/sanitize) so that sanitized and normal objects never mix. The
interpreter is not instrumented, so such an install imports only with the ASan
runtime preloaded; .ci/sanitizers builds one in a fresh virtual environment and
runs the tests under it.
"""
import os
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

PACKAGE = Path("src") / "histentropy"
# The header-only C core (histentropy.get_include() once installed).
CORE_INCLUDE = PACKAGE / "include"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "cdivision": True,
    "nonecheck": False,
    "embedsignature": True,
}
if os.environ.get("HISTENTROPY_DEBUG_CYTHON", "0") not in ("", "0"):
    DIRECTIVES.update(boundscheck=True, wraparound=True, initializedcheck=True)

# -O3 is fine; -ffast-math never (it breaks the inf/NaN semantics the kernels define).
# -fno-math-errno only stops libm calls from setting errno (nothing reads it), so
# that sqrt vectorises; results, infinities and NaNs are unchanged.
COMPILE_ARGS = ["-O3", "-fno-math-errno"] if os.name != "nt" else ["/O2"]
LINK_ARGS = []
SANITIZE = os.environ.get("HISTENTROPY_SANITIZE", "0") not in ("", "0")
if SANITIZE:
    if os.name == "nt":
        sys.exit("HISTENTROPY_SANITIZE needs GCC or Clang")
    # -O1: little inlining, so each report's stack names the kernel and line at fault.
    # -g1: the line tables and function names those stacks need, without the
    # descriptions of local variables (-g), which cost a sixth of the build.
    SANITIZER_ARGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                      "-fno-omit-frame-pointer", "-g1"]
    # Python's own CFLAGS carry -fwrapv, under which signed overflow is defined and
    # goes unchecked; the core is compiled without it by C programs that include it.
    COMPILE_ARGS = ["-O1", "-fno-wrapv"] + SANITIZER_ARGS
    LINK_ARGS = SANITIZER_ARGS


def openmp_flags():
    """-fopenmp if the compiler builds and links an OpenMP program, else nothing.

    OpenMP is optional: without it the kernels run on one thread (set
    HISTENTROPY_NO_OPENMP=1 to build that way on purpose).
    """
    if os.environ.get("HISTENTROPY_NO_OPENMP", "0") not in ("", "0"):
        return []
    if os.name == "nt":
        return ["/openmp"]
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.errors import CompileError, LinkError
    from setuptools._distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "check_openmp.c"
        src.write_text(textwrap.dedent("""\
            #include <omp.h>
            int main(void) { return omp_get_max_threads() < 1; }
            """))
        try:
            objects = compiler.compile([str(src)], output_dir=tmp,
                                       extra_postargs=["-fopenmp"])
            compiler.link_executable(objects, str(Path(tmp) / "check_openmp"),
                                     extra_postargs=["-fopenmp"])
        except (CompileError, LinkError):
            print("warning: the compiler has no OpenMP; building histentropy "
                  "single-threaded", file=sys.stderr)
            return []
    return ["-fopenmp"]


OPENMP = openmp_flags()


def extensions():
    """One extension per .pyx file in the package, so new modules need no edit here.

    HISTENTROPY_BUILD_ONLY=_dense,_sparse (development only) limits the build
    to those modules.
    """
    only = [m for m in os.environ.get("HISTENTROPY_BUILD_ONLY", "").split(",") if m]
    return [
        Extension(
            f"histentropy.{pyx.stem}",
            [str(pyx)],
            include_dirs=[np.get_include(), str(CORE_INCLUDE)],
            # setuptools recompiles when these change; cythonize tracks .pxd.
            depends=[str(h) for h in sorted(CORE_INCLUDE.glob("histentropy/*.h"))],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_22_API_VERSION")],
            extra_compile_args=COMPILE_ARGS + OPENMP,
            extra_link_args=LINK_ARGS + OPENMP,
        )
        # The largest first: with parallel jobs the longest compiles start
        # at once instead of last.
        for pyx in sorted(PACKAGE.glob("*.pyx"), key=lambda f: (-f.stat().st_size, f.name))
        if not only or pyx.stem in only
    ]


# setuptools reuses an object or extension newer than its sources whatever the
# flags were: a sanitized build gets a tree of its own.
BUILD_BASE = Path("build") / "sanitize" if SANITIZE else Path("build")
# HISTENTROPY_BUILD_DIR (development only): where the generated C goes.
BUILD_DIR = Path(os.environ.get("HISTENTROPY_BUILD_DIR", BUILD_BASE / "cython"))
# cythonize copies the C headers a module includes next to its generated .c in
# BUILD_DIR and the compiler then prefers that copy: drop stale copies so an
# edited header is always the one compiled.
for stale in BUILD_DIR.rglob("*.h"):
    stale.unlink()

setup(
    # The extensions compile independently: use every core (also under pip).
    options={"build": {"build_base": str(BUILD_BASE)},
             "build_ext": {"parallel": os.cpu_count() or 1}},
    ext_modules=cythonize(
        extensions(),
        compiler_directives=DIRECTIVES,
        include_path=["src"],
        build_dir=str(BUILD_DIR),
        nthreads=os.cpu_count() or 1,
    ),
)
