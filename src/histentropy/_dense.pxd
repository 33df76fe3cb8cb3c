cimport numpy as cnp

from histentropy cimport _core as c

# The C core's type code of an array's dtype (config.h), -1 for others.
cdef int type_code(cnp.ndarray a) noexcept
# A 1-3-D array as the core's view of its slices along the last axis.
cdef c.he_slices slices_of(cnp.ndarray a)
