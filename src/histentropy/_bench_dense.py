"""Dense suite of `histentropy bench`: each function next to scipy.stats.entropy."""
import numpy as np

import histentropy
from histentropy._bench import Row, compare

SIZES = (10**2, 10**4, 10**6, 10**7)
QUICK_SIZES = (10**2, 10**4, 10**5)
BATCH = (10_000, 256)
QUICK_BATCH = (1_000, 256)


def _data(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return rng.random(shape).astype(dtype)


def _functions(stats):
    """(name, histentropy call, scipy call) for p, q with histograms along the last axis."""
    def sp_entropy(p, q):
        return stats.entropy(p, axis=-1)

    def sp_kl(p, q):
        return stats.entropy(p, q, axis=-1)

    def sp_cross(p, q):
        return stats.entropy(p, axis=-1) + stats.entropy(p, q, axis=-1)

    return (
        ("entropy", lambda p, q: histentropy.entropy(p), sp_entropy),
        ("kl_divergence", histentropy.kl_divergence, sp_kl),
        ("cross_entropy", histentropy.cross_entropy, sp_cross),
    )


def run(quick=False):
    from scipy import stats

    min_time = 0.05 if quick else 0.3
    cases = [(f"n={n:.0e}".replace("e+0", "e"), (n,)) for n in
             (QUICK_SIZES if quick else SIZES)]
    batch = QUICK_BATCH if quick else BATCH
    cases.append((f"{batch[0]}x{batch[1]}", batch))
    rows = []
    for case, shape in cases:
        for dtype in (np.float64, np.float32):
            p = _data(shape, dtype, 1)
            q = _data(shape, dtype, 2)
            for name, ours, ref in _functions(stats):
                t_ours, t_ref = compare(lambda: ours(p, q), lambda: ref(p, q),
                                        min_time=min_time)
                diff = np.max(np.abs(np.asarray(ours(p, q)) - ref(p, q)))
                rows.append(Row("dense", case, np.dtype(dtype).name, name,
                                t_ours, t_ref, float(diff)))
    return rows
