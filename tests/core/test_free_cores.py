"""The default thread count follows the load (_dense.free_cores): with every
processor of the machine busy with another process, a call takes one
thread; never fewer than one, never more than asked."""
import os
import subprocess
import sys
import time

import pytest

from histentropy import _dense

ONLINE = os.cpu_count() or 1


@pytest.mark.parametrize("cores", [1, 2, 3, 64])
def test_bounds(cores):
    got = _dense.free_cores(cores)
    assert 1 <= got <= cores


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/loadavg")
@pytest.mark.skipif(ONLINE > 8, reason="would start a busy process per processor")
def test_one_thread_when_every_processor_is_busy():
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(ONLINE)]
    try:
        time.sleep(0.3)            # past the 20 ms between readings
        counts = []
        for _ in range(5):
            counts.append(_dense.free_cores(ONLINE))
            time.sleep(0.03)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    assert min(counts) == 1, counts
