"""Sparse (scipy.sparse) and labelled (mapping, pandas Series) histograms.

The public functions in `_api` hand such input here. Until issue 4 lands,
nothing is recognised as structured and every input takes the dense path.
"""


def is_structured(obj):
    """True for input this module handles instead of the dense path."""
    return False
