import numpy as np

CROSS_ENTROPY: int

def pairwise(P: np.ndarray, Q: np.ndarray | None, metric: int, root: bool, symmetric: bool,
             pseudocount: float, nthreads: int, out: np.ndarray) -> tuple[int, int]: ...
