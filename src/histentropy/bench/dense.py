"""Dense suite of `histentropy bench`: each function next to scipy.stats.entropy.

Two parts: the grid (every function at n = 1e2 .. 1e7 and batched
10,000 x 256, float64 and float32) and the rows with a speed target (one
thread and two, np.max as the memory-speed floor, small-call overhead,
float32/int32 against float64, peak memory). `--plot` draws ns/element
against n for every CPU path (each in its own process, as the path is fixed
per process) and for scipy.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

import histentropy
from histentropy import _dense
from histentropy.bench._common import Row, best_time, compare, peak_memory

SIZES = (10**2, 10**4, 10**6, 10**7)
QUICK_SIZES = (10**2, 10**4, 10**5)
BATCH = (10_000, 256)
QUICK_BATCH = (1_000, 256)


def _case(shape):
    if len(shape) == 2:
        return f"{shape[0]}x{shape[1]}"
    return f"n=1e{round(np.log10(shape[0]))}"


def _data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 1000, size=shape).astype(dtype)
    return rng.random(shape).astype(dtype)


def _scipy_functions(stats):
    return {
        "entropy": lambda p, q: stats.entropy(p, axis=-1),
        "kl_divergence": lambda p, q: stats.entropy(p, q, axis=-1),
        "cross_entropy": lambda p, q: stats.entropy(p, axis=-1) + stats.entropy(p, q, axis=-1),
    }


def _ours(name, workers=None):
    if name == "entropy":
        return lambda p, q: histentropy.entropy(p, workers=workers)
    return lambda p, q: getattr(histentropy, name)(p, q, workers=workers)


def grid_rows(stats, quick, min_time):
    """Every function, every size, float64 and float32 (default workers)."""
    shapes = [(n,) for n in (QUICK_SIZES if quick else SIZES)]
    shapes.append(QUICK_BATCH if quick else BATCH)
    ref = _scipy_functions(stats)
    rows = []
    for shape in shapes:
        for dtype in (np.float64, np.float32):
            p, q = _data(shape, dtype, 1), _data(shape, dtype, 2)
            for name in ("entropy", "kl_divergence", "cross_entropy"):
                ours = _ours(name)
                t_ours, t_ref = compare(lambda: ours(p, q), lambda: ref[name](p, q),
                                        min_time=min_time)
                diff = np.max(np.abs(np.asarray(ours(p, q)) - ref[name](p, q)))
                rows.append(Row("dense", _case(shape), np.dtype(dtype).name, name,
                                t_ours, t_ref, float(diff)))
    return rows


def goal_rows(stats, quick, min_time):
    """The rows with a speed target, the goal beside the ratio."""
    n = 10**6 if quick else 10**7
    big = _case((n,))
    batch = QUICK_BATCH if quick else BATCH
    ref = _scipy_functions(stats)
    rows = []

    def add(case, dtype, name, ours, reference, goal, ref_name="scipy", note="",
            p=None, q=None):
        t_ours, t_ref = compare(lambda: ours(p, q), lambda: reference(p, q),
                                min_time=min_time)
        diff = float("nan")
        if ref_name == "scipy":
            diff = float(np.max(np.abs(np.asarray(ours(p, q)) - reference(p, q))))
        rows.append(Row("fast", case, dtype, name, t_ours, t_ref, diff, goal,
                        ref_name, note))

    p64, q64 = _data((n,), np.float64, 1), _data((n,), np.float64, 2)
    add(big, "float64", "entropy, 1 thread", _ours("entropy", 1), ref["entropy"],
        ">= 8x", p=p64, q=q64,
        note=f"{_per_element(_ours('entropy', 1), p64, q64, n, min_time):.2f} ns/el")
    add(big, "float64", "entropy, 1 thread", _ours("entropy", 1),
        lambda p, q: np.max(p), ">= 0.29x (<= 3.5x np.max)", ref_name="np.max",
        p=p64, q=q64)
    add(big, "float64", "entropy, workers=2", _ours("entropy", 2), ref["entropy"],
        ">= 14x", p=p64, q=q64)
    add(big, "float64", "kl_divergence, 1 thread", _ours("kl_divergence", 1),
        ref["kl_divergence"], ">= 12x", p=p64, q=q64)
    add(big, "float64", "kl_divergence, 1 thread", _ours("kl_divergence", 1),
        lambda p, q: (np.max(p), np.max(q)), ">= 0.29x (<= 3.5x max; max)",
        ref_name="p.max(); q.max()", p=p64, q=q64)
    add(big, "float64", "kl_divergence, workers=2", _ours("kl_divergence", 2),
        ref["kl_divergence"], "", p=p64, q=q64)
    for small in (100, 1000):
        ps, qs = _data((small,), np.float64, 3), _data((small,), np.float64, 4)
        for name in ("entropy", "kl_divergence", "cross_entropy"):
            add(_case((small,)), "float64", name, _ours(name), ref[name],
                ">= 100x", p=ps, q=qs,
                note=f"{_per_call(_ours(name), ps, qs, min_time) * 1e6:.2f} us/call")
    pb, qb = _data(batch, np.float64, 5), _data(batch, np.float64, 6)
    add(_case(batch), "float64", "entropy, 1 thread", _ours("entropy", 1),
        ref["entropy"], ">= 15x", p=pb, q=qb)
    add(_case(batch), "float64", "kl_divergence, 1 thread", _ours("kl_divergence", 1),
        ref["kl_divergence"], ">= 20x", p=pb, q=qb)
    # Batched rows at the rate of one long slice: time per element.
    for name in ("entropy", "kl_divergence"):
        slice_s = _per_call(_ours(name, 1), p64, q64, min_time) / n
        batch_s = _per_call(_ours(name, 1), pb, qb, min_time) / pb.size
        rows.append(Row("fast", f"{_case(batch)} vs {big}", "float64",
                        f"{name} per element, 1 thread", batch_s, slice_s,
                        goal=">= 0.8x (within 1.25x)", ref="the long slice",
                        note=f"{batch_s * 1e9:.2f} vs {slice_s * 1e9:.2f} ns/el"))
    for dtype in (np.float32, np.int32):
        pd, qd = _data((n,), dtype, 1), _data((n,), dtype, 2)
        name = np.dtype(dtype).name
        add(big, name, "entropy, 1 thread vs float64", _ours("entropy", 1),
            lambda p, q: histentropy.entropy(p64, workers=1), ">= 1x (vs float64)",
            ref_name="float64", p=pd, q=qd)
    # Peak extra memory of one 1-D call: histentropy reads in place.
    mem_ours = peak_memory(lambda: histentropy.entropy(p64, workers=1))
    mem_ref = peak_memory(lambda: stats.entropy(p64))
    rows[0].note += f"; peak memory {mem_ours} B vs scipy {mem_ref / 1e6:.0f} MB"
    mem_ours = peak_memory(lambda: histentropy.kl_divergence(p64, q64, workers=1))
    mem_ref = peak_memory(lambda: stats.entropy(p64, q64))
    rows[3].note = f"peak memory {mem_ours} B vs scipy {mem_ref / 1e6:.0f} MB"
    rows.extend(path_rows(n))
    rows.extend(thread_rows(quick, min_time))
    return rows


def path_rows(n):
    """The AVX2 path against the AVX-512 path (each in its own process)."""
    paths = _dense.available_cpu_paths()
    if "avx512" not in paths or "avx2" not in paths:
        return []
    ns = {path: _profile_path(path, [n])[n] for path in ("avx512", "avx2")}
    return [Row("fast", _case((n,)), "float64", "entropy, 1 thread, avx2 path",
                ns["avx2"] * n * 1e-9, ns["avx512"] * n * 1e-9,
                goal=">= 0.63x (<= 1.6x)", ref="avx512 path",
                note=f"{ns['avx2']:.2f} vs {ns['avx512']:.2f} ns/el")]


_BUSY = "while True: pass"


def thread_rows(quick, min_time):
    """Threads on an idle machine (2 against 1), and with every core busy
    with another process: the default `workers` against workers=1, medians
    of 30 calls each, interleaved."""
    cores = os.cpu_count() or 1
    rows = []
    cases = [((1000, 256), "entropy"), ((10**6,), "entropy")]
    idle_cases = cases if quick else cases + [((10**7,), "entropy")]
    for shape, name in idle_cases:
        p = _data(shape, np.float64, 7)
        one = best_time(lambda: histentropy.entropy(p, axis=-1, workers=1), min_time)
        two = best_time(lambda: histentropy.entropy(p, axis=-1, workers=2), min_time)
        rows.append(Row("fast", _case(shape), "float64", f"{name}, workers=2, idle",
                        two, one, goal=">= 1.8x" if cores >= 2 else "",
                        ref="workers=1"))
    busy = [subprocess.Popen([sys.executable, "-c", _BUSY]) for _ in range(cores)]
    try:
        time.sleep(0.5)
        for shape, name in cases:
            p = _data(shape, np.float64, 7)
            default, single = [], []
            for _ in range(30):
                for workers, out in ((None, default), (1, single)):
                    t0 = time.perf_counter()
                    histentropy.entropy(p, axis=-1, workers=workers)
                    out.append(time.perf_counter() - t0)
            rows.append(Row(
                "fast", _case(shape), "float64", f"{name}, default workers, busy",
                float(np.median(default)), float(np.median(single)),
                goal=">= 0.8x (<= 1.25x)", ref="workers=1",
                note=(f"{cores} busy processes; p90 {np.percentile(default, 90) * 1e3:.2f}"
                      f" vs {np.percentile(single, 90) * 1e3:.2f} ms")))
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    return rows


def _per_call(fn, p, q, min_time):
    return best_time(lambda: fn(p, q), min_time)


def _per_element(fn, p, q, n, min_time):
    return _per_call(fn, p, q, min_time) / n * 1e9


def run(quick=False):
    from scipy import stats

    min_time = 0.05 if quick else 0.3
    rows = goal_rows(stats, quick, min_time)
    rows.extend(grid_rows(stats, quick, min_time))
    note = f"CPU path: {_dense.cpu_path()} of {', '.join(_dense.available_cpu_paths())}"
    rows[0].note = f"{rows[0].note}; {note}"
    return rows


# ---------------------------------------------------------------------------
# --plot: ns/element against n, per CPU path and for scipy
# ---------------------------------------------------------------------------

PLOT_SIZES = (10, 100, 1000, 10**4, 10**5, 10**6, 10**7)

_PROFILE = """
import json, sys
import numpy as np
import histentropy
from histentropy.bench._common import best_time
out = {}
for n in %r:
    p = np.random.default_rng(0).random(n)
    out[n] = best_time(lambda: histentropy.entropy(p, workers=1), 0.1) / n * 1e9
json.dump(out, sys.stdout)
"""


def _profile_path(path, sizes):
    env = dict(os.environ, HISTENTROPY_CPU=path)
    proc = subprocess.run([sys.executable, "-c", _PROFILE % (tuple(sizes),)],
                          env=env, capture_output=True, text=True, check=True)
    return {int(k): v for k, v in json.loads(proc.stdout).items()}


def plot(filename, quick=False):
    """Draw ns/element of entropy against n for each CPU path, scipy and
    np.max (the memory-speed floor)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    sizes = PLOT_SIZES[:-1] if quick else PLOT_SIZES
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for path in _dense.available_cpu_paths():
        timings = _profile_path(path, sizes)
        ax.plot(sizes, [timings[n] for n in sizes], marker="o",
                label=f"histentropy ({path})")
    scipy_ns = []
    for n in sizes:
        p = np.random.default_rng(0).random(n)
        scipy_ns.append(best_time(lambda: stats.entropy(p), 0.1) / n * 1e9)
    ax.plot(sizes, scipy_ns, marker="s", color="black", label="scipy.stats.entropy")
    max_ns = []
    for n in sizes:
        p = np.random.default_rng(0).random(n)
        max_ns.append(best_time(lambda: np.max(p), 0.1) / n * 1e9)
    ax.plot(sizes, max_ns, marker="^", color="gray", linestyle="--", label="np.max")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("histogram length n")
    ax.set_ylabel("ns per element (one thread)")
    ax.set_title("entropy of one float64 histogram")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(filename, dpi=120)
    plt.close(fig)
