"""Family suite of `histentropy bench`: the rest of the family against the
numpy/scipy formulation.

Jensen-Shannon against ``scipy.spatial.distance.jensenshannon(p, q, axis=-1)``
(squared for ``js_divergence``); Hellinger, total variation, Jeffreys (PSI),
chi-square and Renyi (alpha = 2) against the plain numpy expression on
normalised copies. The normalisation is part of the reference's time, as it is
of jensenshannon's and of histentropy's.

Two cases, float64, p and q strictly positive (so every measure is finite):
one slice of n = 1e7 and 10,000 x 256 batched rows (axis=-1); with --quick,
n = 1e6 and 1,000 x 256. histentropy runs with ``workers=1`` (numpy and scipy
are single-threaded). Goal: >= 10x on every row. The note gives the largest
relative difference to the reference and the time per element; the first row
of each case also gives the read floor, np.max over p and over q (one input:
half of it), as the dense suite's np.max row does.
"""
import numpy as np

import histentropy
from histentropy.bench._common import Row, best_time, compare

N = 10**7
QUICK_N = 10**6
BATCH = (10_000, 256)
QUICK_BATCH = (1_000, 256)
ALPHA = 2.0
FUNCTIONS = ("js_divergence", "js_distance", "hellinger_distance", "total_variation",
             "jeffreys_divergence", "chi_square_divergence", "renyi_entropy",
             "renyi_divergence")


def _case(shape):
    if len(shape) == 2:
        return f"{shape[0]}x{shape[1]}"
    return f"n=1e{round(np.log10(shape[0]))}"


def data(shape, seed):
    """Uniform on [0.01, 1.01): strictly positive, so every measure is finite."""
    return np.random.default_rng(seed).random(shape) + 0.01


# ---------------------------------------------------------------------------
# References: scipy's jensenshannon, and numpy on normalised copies
# ---------------------------------------------------------------------------

def _normalised(p, q):
    return p / p.sum(axis=-1, keepdims=True), q / q.sum(axis=-1, keepdims=True)


def ref_js_divergence(p, q):
    from scipy.spatial.distance import jensenshannon

    return jensenshannon(p, q, axis=-1) ** 2


def ref_js_distance(p, q):
    from scipy.spatial.distance import jensenshannon

    return jensenshannon(p, q, axis=-1)


def ref_hellinger_distance(p, q):
    pn, qn = _normalised(p, q)
    return np.sqrt(1.0 - np.sum(np.sqrt(pn * qn), axis=-1))


def ref_total_variation(p, q):
    pn, qn = _normalised(p, q)
    return 0.5 * np.sum(np.abs(pn - qn), axis=-1)


def ref_jeffreys_divergence(p, q):
    pn, qn = _normalised(p, q)
    return np.sum((pn - qn) * np.log(pn / qn), axis=-1)


def ref_chi_square_divergence(p, q):
    pn, qn = _normalised(p, q)
    return np.sum((pn - qn) ** 2 / qn, axis=-1)


def ref_renyi_entropy(p, q, alpha=ALPHA):
    pn = p / p.sum(axis=-1, keepdims=True)
    return np.log(np.sum(pn ** alpha, axis=-1)) / (1.0 - alpha)


def ref_renyi_divergence(p, q, alpha=ALPHA):
    pn, qn = _normalised(p, q)
    return np.log(np.sum(pn ** alpha * qn ** (1.0 - alpha), axis=-1)) / (alpha - 1.0)


REFERENCES = {
    "js_divergence": (ref_js_divergence, "scipy"),
    "js_distance": (ref_js_distance, "scipy"),
    "hellinger_distance": (ref_hellinger_distance, "numpy"),
    "total_variation": (ref_total_variation, "numpy"),
    "jeffreys_divergence": (ref_jeffreys_divergence, "numpy"),
    "chi_square_divergence": (ref_chi_square_divergence, "numpy"),
    "renyi_entropy": (ref_renyi_entropy, "numpy"),
    "renyi_divergence": (ref_renyi_divergence, "numpy"),
}


def ours(name, workers=1):
    """histentropy's `name` as f(p, q) (alpha = ALPHA for the Renyi pair)."""
    f = getattr(histentropy, name)
    if name == "renyi_entropy":
        return lambda p, q: f(p, ALPHA, workers=workers)
    if name == "renyi_divergence":
        return lambda p, q: f(p, q, ALPHA, workers=workers)
    return lambda p, q: f(p, q, workers=workers)


def _label(name):
    return f"{name} a={ALPHA:g}" if name.startswith("renyi") else name


def max_rel_diff(a, b):
    """max |a - b| / |b| (NaN if either side has a NaN)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.max(np.abs(a - b) / np.abs(b)))


def run(quick=False):
    min_time = 0.05 if quick else 0.3
    shapes = ((QUICK_N,), QUICK_BATCH) if quick else ((N,), BATCH)
    rows = []
    for shape in shapes:
        p, q = data(shape, 1), data(shape, 2)
        floor = best_time(lambda: (np.max(p), np.max(q)), min_time)
        first = len(rows)
        for name in FUNCTIONS:
            fn = ours(name)
            reference, ref_name = REFERENCES[name]
            t_ours, t_ref = compare(lambda: fn(p, q), lambda: reference(p, q),
                                    min_time=min_time)
            got, want = np.asarray(fn(p, q)), np.asarray(reference(p, q))
            diff = float(np.max(np.abs(got - want)))
            rel = max_rel_diff(got, want)
            note = (f"rel diff {rel:.1e}; {t_ours / p.size * 1e9:.2f} ns/el "
                    f"(ref {t_ref / p.size * 1e9:.1f})")
            rows.append(Row("family", _case(shape), "float64", f"{_label(name)}, 1 thread",
                            t_ours, t_ref, diff, goal=">= 10x", ref=ref_name,
                            note=note, extra={"max_rel_diff": rel}))
        rows[first].note += (f"; read floor (np.max of p and q) "
                             f"{floor / p.size * 1e9:.2f} ns/el")
    rows[0].note = f"{rows[0].note}; CPU path: {histentropy.cpu_path()}"
    return rows
