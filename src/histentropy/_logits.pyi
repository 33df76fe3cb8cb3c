# Typing stub for the extension histentropy._logits (typed drivers for logits).
#
# Every driver takes rows shaped (outer0, outer1, K), float32 or float64 (the
# same dtype for every logits-like argument and for `grad`) and a thread
# count, and returns (result of shape (outer0, outer1) as float64, flags).
import numpy as np
import numpy.typing as npt

_Rows = npt.NDArray[np.float32] | npt.NDArray[np.float64]
_Flags = int

LOGITS_NAN: int
LOGITS_POSINF: int
OTHER_NAN: int
OTHER_POSINF: int
TARGET_NAN: int
TARGET_NEGATIVE: int
TARGET_INF: int
TARGET_RANGE: int

def entropy(x: _Rows, nthreads: int = ...) -> tuple[npt.NDArray[np.float64], _Flags]: ...
def kl_divergence(
    a: _Rows, b: _Rows, nthreads: int = ...
) -> tuple[npt.NDArray[np.float64], _Flags]: ...
def cross_entropy_hard(
    x: _Rows,
    labels: npt.NDArray[np.int64],
    weight: npt.NDArray[np.float64] | None,
    v_total: float,
    eps: float,
    has_ignore: bool,
    ignore_index: int,
    want_grad: bool,
    grad: _Rows,
    grad_scale: float,
    nthreads: int = ...,
) -> tuple[npt.NDArray[np.float64], _Flags]: ...
def cross_entropy_soft(
    x: _Rows,
    t: npt.NDArray[np.float32] | npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64] | None,
    v_total: float,
    eps: float,
    want_grad: bool,
    grad: _Rows,
    grad_scale: float,
    nthreads: int = ...,
) -> tuple[npt.NDArray[np.float64], _Flags]: ...
def simd_path() -> str: ...  # "avx512", "avx2", "sse4.2" or "generic"
