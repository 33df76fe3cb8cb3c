"""histentropy: entropy, cross entropy and KL divergence of large histograms.

H(P, Q) = D_KL(P || Q) + H(P): fused, numerically stable Cython kernels behind
a NumPy-style API.
"""
from histentropy._api import (
    Decomposition,
    cross_entropy,
    decompose,
    entropy,
    kl_divergence,
)
from histentropy._logits_api import (
    cross_entropy_from_logits,
    entropy_from_logits,
    kl_divergence_from_logits,
)
from histentropy._streaming import StreamingHistogram

__version__ = "0.1.0"


def get_include():
    """Directory holding histentropy's C headers and .pxd files.

    A Cython extension that does ``from histentropy cimport _kernels`` needs it
    on its C include path (as with ``numpy.get_include()``).
    """
    import os

    return os.path.dirname(__file__)


__all__ = [
    "Decomposition",
    "StreamingHistogram",
    "cross_entropy",
    "cross_entropy_from_logits",
    "decompose",
    "entropy",
    "entropy_from_logits",
    "get_include",
    "kl_divergence",
    "kl_divergence_from_logits",
]
