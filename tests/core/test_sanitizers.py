"""The sanitizer build (.ci/sanitizers) finds what it is there to find.

Skipped unless the installed extensions are built with HISTENTROPY_SANITIZE=1
(and so run with the ASan runtime loaded). Then a read past the end of a
buffer, made with a view that claims more elements than its base holds, must
abort a subprocess with an AddressSanitizer report whose stack names the C core's
file and line: proof that the kernels are instrumented and the reports usable.
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from histentropy import _dense


def _mapped_libraries():
    try:
        with open("/proc/self/maps") as maps:
            return {os.path.basename(line.split()[-1]) for line in maps
                    if len(line.split()) >= 6}
    except OSError:
        return set()


MAPPED = _mapped_libraries()
SANITIZED = any(name.startswith("libasan") for name in MAPPED)

pytestmark = pytest.mark.skipif(
    not SANITIZED, reason="histentropy is not built with HISTENTROPY_SANITIZE=1")

OVERRUN = textwrap.dedent(
    """
    import numpy as np
    from numpy.lib.stride_tricks import as_strided
    import histentropy

    base = np.ones(1000)  # 8000 bytes: a malloc of its own, not NumPy's small cache
    histentropy.entropy(as_strided(base, shape=(1008,), strides=(8,)))
    """
)


def test_extensions_carry_both_runtimes():
    assert _dense.__file__  # imported: the runtimes were loaded with it
    assert any(name.startswith("libubsan") for name in MAPPED), sorted(MAPPED)


def test_overrun_is_reported_with_its_line():
    env = dict(os.environ)
    # The report goes to the child's stderr, not to .ci/sanitizers' log files
    # (which would count it as a finding).
    options = [o for o in env.get("ASAN_OPTIONS", "").split(":")
               if o and not o.startswith("log_path=")]
    env["ASAN_OPTIONS"] = ":".join(options)
    proc = subprocess.run([sys.executable, "-c", OVERRUN], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0, proc.stderr
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in proc.stderr, proc.stderr
    # The faulting read, symbolized: a header of the core and its line.
    assert re.search(r"include/histentropy/\w+\.h:\d+", proc.stderr), proc.stderr
