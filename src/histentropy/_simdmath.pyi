"""Testbed of the vectorised log (_vlog.h) and the SIMD dispatch (_simd_dispatch.h)."""
from typing import Literal

import numpy as np
import numpy.typing as npt

PathName = Literal["avx512", "avx2", "sse42", "generic",
                   "x86-64-v4", "x86-64-v3", "x86-64-v2", "sse4.2", "baseline"]
Variant = Literal["table", "notable"]

def available_paths() -> list[str]: ...
def selected_path() -> str: ...
def log(x: npt.ArrayLike, path: PathName | None = None,
        variant: Variant = "table") -> npt.NDArray[np.float64]: ...
def log1p(x: npt.ArrayLike, path: PathName | None = None) -> npt.NDArray[np.float64]: ...
def sum_x_log_x(x: npt.ArrayLike, path: PathName | None = None,
                variant: Variant = "table") -> float: ...
