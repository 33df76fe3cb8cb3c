"""Logits suite of `histentropy bench`: the classification loss from logits.

Cross entropy with hard labels against the best scipy formulation,
``-log_softmax(x, axis=-1)[arange(n), y]``, and against PyTorch CPU
``F.cross_entropy`` when torch is importable (optional, never a dependency).
histentropy runs with ``workers=1`` next to scipy (single-threaded) and next
to torch limited to one thread; a last row per case compares the defaults of
both (all cores). Entropy, KL divergence and the gradient are timed against
their scipy formulations without goals.
"""
import numpy as np

import histentropy
from histentropy.bench._common import Row, compare, peak_memory

CASES = ((4096, 32_000), (65_536, 10))
QUICK_CASES = ((256, 32_000), (8_192, 10))


def _torch():
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, None
    return torch, F


def _mib(nbytes):
    return f"{nbytes / 2**20:.0f} MiB"


def _loss_rows(n, k, min_time):
    from scipy.special import log_softmax

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, k), dtype=np.float32) * 3
    y = rng.integers(0, k, n)
    rows_idx = np.arange(n)
    case = f"{n}x{k}"

    def ours():
        return histentropy.cross_entropy_from_logits(x, y, workers=1)

    def ours_default():
        return histentropy.cross_entropy_from_logits(x, y)

    def scipy_ref():
        return -log_softmax(x, axis=-1)[rows_idx, y]

    t_ours, t_ref = compare(ours, scipy_ref, min_time=min_time)
    diff = float(np.max(np.abs(ours() - scipy_ref())))
    mem = f"peak {_mib(peak_memory(ours))} vs {_mib(peak_memory(scipy_ref))}"
    rows = [Row("logits", case, "float32", "cross_entropy_from_logits",
                t_ours, t_ref, diff, goal=">= 3x", note=f"workers=1; {mem}")]

    torch, F = _torch()
    if torch is None:
        return rows
    tx = torch.from_numpy(x)
    ty = torch.from_numpy(y)
    threads = torch.get_num_threads()

    def torch_ref():
        return F.cross_entropy(tx, ty, reduction="none")

    torch.set_num_threads(1)
    try:
        t_ours, t_ref = compare(ours, torch_ref, min_time=min_time)
        diff = float(np.max(np.abs(ours() - torch_ref().numpy())))
        rows.append(Row("logits", case, "float32", "cross_entropy_from_logits",
                        t_ours, t_ref, diff, goal=">= 1x", ref="torch",
                        note="1 thread each"))
    finally:
        torch.set_num_threads(threads)
    t_ours, t_ref = compare(ours_default, torch_ref, min_time=min_time)
    rows.append(Row("logits", case, "float32", "cross_entropy_from_logits",
                    t_ours, t_ref, diff, goal=">= 1x", ref="torch",
                    note=f"defaults (torch: {threads} threads)"))
    return rows


def _other_rows(n, k, min_time):
    from scipy.special import log_softmax, softmax

    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, k)) * 3
    b = rng.standard_normal((n, k)) * 3
    y = rng.integers(0, k, n)
    case = f"{n}x{k}"

    def sp_entropy():
        ls = log_softmax(a, axis=-1)
        return -np.sum(np.exp(ls) * ls, axis=-1)

    def sp_kl():
        la = log_softmax(a, axis=-1)
        return np.sum(np.exp(la) * (la - log_softmax(b, axis=-1)), axis=-1)

    def sp_grad():
        g = softmax(a, axis=-1)
        g[np.arange(n), y] -= 1.0
        return g / n

    def ours_grad():
        return histentropy.cross_entropy_from_logits(
            a, y, reduction="mean", return_grad=True, workers=1)[1]

    rows = []
    for name, ours, ref in (
        ("entropy_from_logits",
         lambda: histentropy.entropy_from_logits(a, workers=1), sp_entropy),
        ("kl_divergence_from_logits",
         lambda: histentropy.kl_divergence_from_logits(a, b, workers=1), sp_kl),
        ("cross_entropy_from_logits grad", ours_grad, sp_grad),
    ):
        t_ours, t_ref = compare(ours, ref, min_time=min_time)
        diff = float(np.max(np.abs(ours() - ref())))
        rows.append(Row("logits", case, "float64", name, t_ours, t_ref, diff,
                        note="workers=1"))
    return rows


def run(quick=False):
    min_time = 0.05 if quick else 0.3
    rows = []
    for n, k in (QUICK_CASES if quick else CASES):
        rows.extend(_loss_rows(n, k, min_time))
    rows.extend(_other_rows(*((256, 4096) if quick else (2048, 8192)), min_time))
    return rows
