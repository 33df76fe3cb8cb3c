"""Cross entropy from logits against scipy and PyTorch CPU (pytest-benchmark).

Run on request: ``pytest benchmarks/bench_logits.py --benchmark-enable``.
Not collected by the test suite (testpaths = tests). The torch cases are
skipped when torch is not installed (it is never a dependency); histentropy
runs with ``workers=1`` and torch with one thread, so that each group compares
the same thread count; the "default" variants use all cores on both sides.
"""
import numpy as np
import pytest

import histentropy

special = pytest.importorskip("scipy.special")

CASES = {"4096x32000": (4096, 32_000), "65536x10": (65_536, 10)}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def batch(request):
    n, k = CASES[request.param]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, k), dtype=np.float32) * 3
    y = rng.integers(0, k, n)
    return request.param, x, y


@pytest.mark.parametrize("library", ["histentropy", "histentropy-default",
                                     "scipy", "torch", "torch-default"])
def test_cross_entropy_hard_labels(benchmark, library, batch):
    case, x, y = batch
    benchmark.group = f"cross_entropy float32 {case}"
    if library == "histentropy":
        benchmark(histentropy.cross_entropy_from_logits, x, y, workers=1)
    elif library == "histentropy-default":
        benchmark(histentropy.cross_entropy_from_logits, x, y)
    elif library == "scipy":
        rows = np.arange(len(y))
        benchmark(lambda: -special.log_softmax(x, axis=-1)[rows, y])
    else:
        torch = pytest.importorskip("torch")
        functional = torch.nn.functional
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        threads = torch.get_num_threads()
        if library == "torch":
            torch.set_num_threads(1)
        try:
            benchmark(functional.cross_entropy, tx, ty, reduction="none")
        finally:
            torch.set_num_threads(threads)


@pytest.mark.parametrize("dtype", [np.float32, np.float64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("library", ["histentropy", "scipy"])
def test_entropy_and_kl(benchmark, library, dtype):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((2048, 8192)) * 3).astype(dtype)
    b = (rng.standard_normal((2048, 8192)) * 3).astype(dtype)
    benchmark.group = f"entropy + kl from logits {np.dtype(dtype).name} 2048x8192"

    def scipy_both():
        la = special.log_softmax(a, axis=-1)
        pa = np.exp(la)
        return (-np.sum(pa * la, axis=-1),
                np.sum(pa * (la - special.log_softmax(b, axis=-1)), axis=-1))

    def ours_both():
        return (histentropy.entropy_from_logits(a, workers=1),
                histentropy.kl_divergence_from_logits(a, b, workers=1))

    benchmark(ours_both if library == "histentropy" else scipy_both)


@pytest.mark.parametrize("library", ["histentropy", "scipy", "torch"])
def test_gradient(benchmark, library):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1024, 32_000), dtype=np.float32) * 3
    y = rng.integers(0, 32_000, 1024)
    benchmark.group = "loss and gradient float32 1024x32000 (mean)"
    if library == "histentropy":
        benchmark(histentropy.cross_entropy_from_logits, x, y, reduction="mean",
                  return_grad=True, workers=1)
    elif library == "scipy":
        def scipy_grad():
            ls = special.log_softmax(x, axis=-1)
            loss = -ls[np.arange(len(y)), y].mean()
            g = np.exp(ls)
            g[np.arange(len(y)), y] -= 1.0
            return loss, g / len(y)
        benchmark(scipy_grad)
    else:
        torch = pytest.importorskip("torch")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)

        def torch_grad():
            tx = torch.from_numpy(x).requires_grad_()
            loss = torch.nn.functional.cross_entropy(tx, torch.from_numpy(y))
            loss.backward()
            return loss, tx.grad
        try:
            benchmark(torch_grad)
        finally:
            torch.set_num_threads(threads)
