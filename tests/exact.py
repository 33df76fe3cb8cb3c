"""`exact_values`: the numbers of an array as exact mpmath numbers, for the
references of every input kind (tests/ is on sys.path: its conftest.py sits
in a directory without __init__.py)."""
import mpmath
import numpy as np


def exact_values(values, pseudocount=0.0):
    """The numbers in `values` (+ pseudocount) as exact mpf (no rounding):
    integers of any width and floats (float16/float32 widen exactly to
    float64; longdouble is not used)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    if arr.dtype.kind in "iu":
        out = [mpmath.mpf(int(v)) for v in arr.ravel()]
    elif arr.dtype.kind == "f":
        out = [mpmath.mpf(float(v)) for v in arr.astype(np.float64).ravel()]
    else:
        raise TypeError(f"no exact conversion for dtype {arr.dtype}")
    if pseudocount:
        c = mpmath.mpf(float(pseudocount))
        out = [v + c for v in out]
    return out
