"""Typed drivers over compressed sparse rows (see _sparse.pyx).

Index arrays are int32 or int64 (the same for indices and indptr); data and
dense operands share one of the kernel dtypes (float64, float32, int8..int64,
uint8..uint64). Every driver spreads the rows over `nthreads` OpenMP threads,
or treats all of them as one histogram when `whole`, and returns the kernels'
flags (NO_MEMORY set when a block's scratch could not be allocated).
"""
import numpy as np
import numpy.typing as npt

NO_MEMORY: int

def check_rows(
    indices: np.ndarray, indptr: np.ndarray, n_cols: int, n_data: int
) -> int: ...
def canonical_rows(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray
) -> tuple[npt.NDArray[np.float64], np.ndarray, np.ndarray]: ...
def entropy_rows(
    data: np.ndarray,
    indptr: np.ndarray,
    omit_nan: bool,
    out: npt.NDArray[np.float64],
    nthreads: int,
    whole: bool,
) -> int: ...
def divergence_sparse_sparse(
    p_data: np.ndarray,
    p_indices: np.ndarray,
    p_indptr: np.ndarray,
    q_data: np.ndarray,
    q_indices: np.ndarray,
    q_indptr: np.ndarray,
    omit_nan: bool,
    need_entropy: bool,
    ent: npt.NDArray[np.float64],
    kl: npt.NDArray[np.float64],
    nthreads: int,
    whole: bool,
) -> int: ...
def divergence_dense_sparse(
    p: np.ndarray,
    q_data: np.ndarray,
    q_indices: np.ndarray,
    q_indptr: np.ndarray,
    omit_nan: bool,
    need_entropy: bool,
    ent: npt.NDArray[np.float64],
    kl: npt.NDArray[np.float64],
    nthreads: int,
    whole: bool,
) -> int: ...
def divergence_sparse_dense(
    p_data: np.ndarray,
    p_indices: np.ndarray,
    p_indptr: np.ndarray,
    q: np.ndarray,
    omit_nan: bool,
    need_entropy: bool,
    ent: npt.NDArray[np.float64],
    kl: npt.NDArray[np.float64],
    nthreads: int,
    whole: bool,
) -> int: ...
