# Fused types of histentropy, in one place.
#
# Every kernel reads its input as one of `weight_t` and accumulates in double,
# so float32 and integer counts go through the same code as float64 without a
# float64 copy of the array. bool arrays are read through a uint8 view; float16
# is widened to float32 by the Python layer (exactly).
from libc.stdint cimport (
    int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t,
)

ctypedef fused weight_t:
    double
    float
    int8_t
    int16_t
    int32_t
    int64_t
    uint8_t
    uint16_t
    uint32_t
    uint64_t
