"""Shared by the suites of `histentropy bench`: the timer, the peak-memory
probe, the row type and the table.

Timings on a shared machine are noisy, so every row times histentropy and its
reference in the same process, interleaved, and reports their ratio.
"""
import gc
import time
import tracemalloc
from dataclasses import dataclass, field


@dataclass
class Row:
    """One line of the table: a case timed for histentropy and a reference."""

    suite: str
    case: str            # e.g. "n=10**7" or "10000x256"
    dtype: str
    function: str
    ours_s: float        # seconds per call, histentropy
    ref_s: float         # seconds per call, reference (scipy unless `ref` says)
    max_abs_diff: float = float("nan")
    goal: str = ""       # e.g. ">= 8x"; empty when there is no target
    ref: str = "scipy"
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def speedup(self):
        return self.ref_s / self.ours_s if self.ours_s > 0 else float("inf")


def best_time(fn, min_time=0.2, repeat=5):
    """Best seconds per call of fn() over `repeat` rounds of >= min_time/repeat."""
    fn()  # warm up (imports, page faults, caches)
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time / repeat or number >= 1 << 20:
            break
        number *= 2 if elapsed == 0 else max(2, int(min_time / repeat / elapsed) + 1)
    best = elapsed / number
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def compare(ours, ref, min_time=0.2, rounds=3):
    """Best seconds per call of ours() and ref(), timed alternately."""
    t_ours = t_ref = float("inf")
    for _ in range(rounds):
        t_ours = min(t_ours, best_time(ours, min_time / rounds))
        t_ref = min(t_ref, best_time(ref, min_time / rounds))
    return t_ours, t_ref


def peak_memory(fn):
    """Peak bytes allocated through Python/NumPy while fn() runs (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _format_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def format_table(rows):
    header = ("suite", "size", "dtype", "function", "histentropy", "reference",
              "speed-up", "goal", "max |diff|", "note")
    lines = [header]
    for r in rows:
        lines.append((
            r.suite, r.case, r.dtype, r.function, _format_time(r.ours_s),
            f"{_format_time(r.ref_s)} ({r.ref})", (f"{r.speedup:.1f}x" if r.speedup >= 1 else f"{r.speedup:.2f}x"), r.goal,
            f"{r.max_abs_diff:.1e}", r.note,
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
