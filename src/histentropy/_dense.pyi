from typing import Optional

import numpy as np
import numpy.typing as npt

NAN_SEEN: int
NEGATIVE_P: int
NEGATIVE_Q: int
INFINITE_P: int
INFINITE_Q: int
SUPPORTED: frozenset[tuple[str, int]]

def cpu_path() -> str: ...
def available_cpu_paths() -> list[str]: ...
def cpu_env_invalid() -> bool: ...
def entropy(
    p: np.ndarray, omit_nan: bool, nthreads: int = ..., whole: bool = ...
) -> tuple[npt.NDArray[np.float64], int]: ...
def divergence(
    p: np.ndarray,
    q: np.ndarray,
    omit_nan: bool,
    need_entropy: bool,
    nthreads: int = ...,
    whole: bool = ...,
) -> tuple[Optional[npt.NDArray[np.float64]], npt.NDArray[np.float64], int]: ...
def divergence_mixed(
    p: np.ndarray, q: np.ndarray, omit_nan: bool, need_entropy: bool
) -> tuple[Optional[npt.NDArray[np.float64]], npt.NDArray[np.float64], int]: ...
def entropy_vector(
    p: object, nthreads: int, parallel_min_size: int
) -> Optional[np.float64]: ...
def divergence_vector(
    p: object, q: object, need_entropy: bool, nthreads: int, parallel_min_size: int
) -> Optional[tuple[np.float64, np.float64]]: ...

# One histogram in blocks (chunks.h): states of CHUNK_FIELDS doubles per row.
CHUNK_FIELDS: int
CHUNK_SECOND_FIELDS: int
MEASURES: dict[str, int]

def chunk_read(
    p: np.ndarray,
    q: Optional[np.ndarray],
    pseudocount: float,
    measure: int = ...,
    alpha: float = ...,
    totals: Optional[npt.NDArray[np.float64]] = ...,
) -> object: ...
def chunk_merge(states: npt.NDArray[np.float64], need: int) -> npt.NDArray[np.float64]: ...
def chunk_values(
    states: npt.NDArray[np.float64], measure: int, pair: bool, omit_nan: bool
) -> npt.NDArray[np.float64]: ...
def chunk_second_merge(states: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...
def chunk_family_values(
    totals: npt.NDArray[np.float64],
    second: npt.NDArray[np.float64],
    measure: int,
    alpha: float,
    pseudocount: float,
    one: bool,
    omit_nan: bool,
) -> npt.NDArray[np.float64]: ...
