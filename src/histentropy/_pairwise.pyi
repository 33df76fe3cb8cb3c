import numpy as np

CROSS_ENTROPY: int

def pairwise(P: np.ndarray, Q: np.ndarray | None, metric: int, root: bool, symmetric: bool,
             pseudocount: float, nthreads: int, out: np.ndarray) -> tuple[int, int]: ...
def prepare_csr(
    indptr: np.ndarray, w: np.ndarray, nthreads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]: ...
def sparse_pairwise(P: tuple, Q: tuple | None, columns: tuple, k: int, metric: int, root: bool,
                    symmetric: bool, nthreads: int, out: np.ndarray) -> None: ...
