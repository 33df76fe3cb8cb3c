cimport numpy as cnp

# The C core's type code of an array's dtype (config.h), -1 for others.
cdef int type_code(cnp.ndarray a) noexcept
