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

__version__ = "0.1.0"

__all__ = [
    "Decomposition",
    "cross_entropy",
    "decompose",
    "entropy",
    "kl_divergence",
]
