"""histentropy: entropy, cross entropy and KL divergence of large histograms.

H(P, Q) = D_KL(P || Q) + H(P): fused, numerically stable Cython kernels behind
a NumPy-style API; and the rest of the family: Jensen-Shannon, Hellinger, total
variation, Jeffreys (population stability index), chi-square and Renyi.
"""
import os as _os

# OpenMP threads that wait for work spin briefly (20000 rounds, tens of
# microseconds: back-to-back calls find them awake; two threads on 1000 x 256
# rows: 1.85x one, against 1.5x without the spin), then sleep. On a machine
# whose cores are busy with other work, threads spinning longer take the time
# the working ones need (KL of 500 x 500 pairs on two threads: 4 ms idle,
# 40 ms beside one busy process, against 4 ms on one thread); and the threads
# a call takes by default follow the load (_dense.free_cores). libgomp reads
# these once, when the first extension module below loads it; values the user
# set, or a libgomp loaded earlier by another library, win.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_os.environ.setdefault("GOMP_SPINCOUNT", "20000")

from histentropy._api import (  # noqa: E402
    Decomposition,
    cross_entropy,
    decompose,
    entropy,
    kl_divergence,
)
from histentropy._family_api import (
    chi_square_divergence,
    hellinger_distance,
    jeffreys_divergence,
    js_distance,
    js_divergence,
    population_stability_index,
    renyi_divergence,
    renyi_entropy,
    total_variation,
)
from histentropy._joint_api import (
    conditional_entropy,
    joint_entropy,
    mutual_information,
    variation_of_information,
)
from histentropy._logits_api import (
    cross_entropy_from_logits,
    entropy_from_logits,
    kl_divergence_from_logits,
)
from histentropy._pairwise_api import pairwise
from histentropy._streaming import StreamingComparison, StreamingHistogram
from histentropy import _dense as _dense_driver

__version__ = "0.1.0"


def cpu_path():
    """The instruction-set path every kernel uses.

    The best path this CPU runs, capped by the environment variable
    ``HISTENTROPY_CPU`` (read once, when histentropy is imported; names:
    "avx512", "avx2", "sse4.2", "generic").

    Returns
    -------
    str
        One of ``"avx512"``, ``"avx2"``, ``"sse4.2"``, ``"generic"``.

    Examples
    --------
    >>> import histentropy
    >>> histentropy.cpu_path() in ("avx512", "avx2", "sse4.2", "generic")
    True
    """
    return _dense_driver.cpu_path()


def get_include():
    """Directory to put on the C include path to use histentropy's C core.

    It holds ``histentropy/histentropy.h``, the public C API (header-only),
    which ``from histentropy cimport kernels`` (the Cython API) includes::

        Extension(..., include_dirs=[histentropy.get_include()])

    Examples
    --------
    >>> import os, histentropy
    >>> os.path.exists(os.path.join(histentropy.get_include(), "histentropy",
    ...                             "histentropy.h"))
    True
    """
    import os

    return os.path.join(os.path.dirname(__file__), "include")


def _check_cpu_env():
    """Import the API's kernel modules now (each selects its CPU path at
    import, so all read the same environment), and warn once about an
    unknown HISTENTROPY_CPU."""
    import os
    import warnings

    from histentropy import _logits, _sparse  # noqa: F401

    if _dense_driver.cpu_env_invalid():
        warnings.warn(
            f"HISTENTROPY_CPU={os.environ.get('HISTENTROPY_CPU')!r} is not one of "
            "'avx512', 'avx2', 'sse4.2', 'generic' (or an alias); ignored, using "
            f"the best available path {cpu_path()!r}",
            RuntimeWarning,
            stacklevel=3,
        )


_check_cpu_env()


def __getattr__(name):
    # histentropy.dask (the ``dask`` extra) loads on first use: importing
    # histentropy never imports dask.
    if name == "dask":
        import importlib

        return importlib.import_module("histentropy.dask")
    raise AttributeError(f"module 'histentropy' has no attribute {name!r}")


__all__ = [
    "Decomposition",
    "StreamingComparison",
    "StreamingHistogram",
    "chi_square_divergence",
    "cross_entropy",
    "cross_entropy_from_logits",
    "conditional_entropy",
    "cpu_path",
    "decompose",
    "entropy",
    "entropy_from_logits",
    "get_include",
    "hellinger_distance",
    "jeffreys_divergence",
    "joint_entropy",
    "js_distance",
    "js_divergence",
    "kl_divergence",
    "kl_divergence_from_logits",
    "mutual_information",
    "pairwise",
    "population_stability_index",
    "renyi_divergence",
    "renyi_entropy",
    "total_variation",
    "variation_of_information",
]
