"""Joint tables: joint and conditional entropy, mutual information and
variation of information of contingency tables (layer 3).

A table holds non-negative weights (counts or probabilities) of (X, Y) on two
of its axes; every other axis is a batch of tables. Every result is a sum of
non-negative terms, never a difference of entropies:

* H(X, Y): the entropy of the table's cells (the entropy kernels of `_api`);
* H(Y | X) = sum_x p(x) H(Y | X = x): the entropy of each row of the table
  (the slice along Y), weighted by the row's mass;
* I(X; Y) = KL(P_XY || P_X P_Y): the KL divergence of the table from the
  product of its marginals, by the two-read kernel of joint.h (`_joint`),
  whose value carries an error bound; where the bound is too large (a
  nearly independent table) by the KL kernel against the product, whose
  terms x log(x/y) - x + y are formed from x - y exactly, so that the tiny
  information keeps its relative accuracy;
* VI = H(X | Y) + H(Y | X).

A 2-D scipy.sparse table is one table, computed from its stored cells.
"""
import math
import numbers

import numpy as np

from histentropy import _api, _estimators, _joint
from histentropy._validation import (
    as_weights,
    axis_index,
    check_nan_policy,
    is_sparse,
    log_of_base,
    threads_for,
)

NORMALIZATIONS = ("arithmetic", "geometric", "min", "max", "joint")
# Sparse tables of at most this many cells take the dense path for I by
# divergence (exact normalisation of the product of the marginals).
_DENSE_CELLS = 1 << 24


def _axes(axes, ndim):
    """`axes` as two distinct non-negative axes of an ndim-D table."""
    if ndim < 2:
        raise ValueError(
            f"joint must have at least 2 dimensions (a table); got {ndim}"
        )
    message = f"axes must name two distinct axes of joint; got {axes!r}"
    try:
        a, b = axes
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
               for v in (a, b)):
        raise ValueError(message)
    a, b = axis_index(a, ndim), axis_index(b, ndim)
    if a == b:
        raise ValueError(message)
    return a, b


def _renamed(error):
    """The 1-D kernels' error for bad weights, naming `joint`."""
    text = str(error)
    for prefix in ("p or q ", "p ", "q "):
        if text.startswith(prefix):
            return ValueError("joint " + text[len(prefix):])
    return error


class _Table:
    """A table (or a batch of tables) with X and Y on its last two axes."""

    def __init__(self, joint, axes, nan_policy, base, workers):
        check_nan_policy(nan_policy)
        threads_for(workers, 0)  # checks workers for every input kind
        self.sparse = is_sparse(joint)
        if self.sparse:
            if joint.ndim != 2:
                raise ValueError(
                    f"a sparse joint must be 2-D (one table); got {joint.ndim} dimensions"
                )
            self.axes = _axes(axes, 2)
            J = joint if self.axes == (0, 1) else joint.T
            self.J = J.tocsr(copy=True)  # never the caller's arrays
            self.J.sum_duplicates()
            self.batch = ()
            if nan_policy == "omit" and np.isnan(self.J.data).any():
                self.J.data = np.where(np.isnan(self.J.data), 0.0, self.J.data)
        else:
            J = as_weights(joint, "joint")
            self.axes = _axes(axes, J.ndim)
            self.J = np.moveaxis(J, self.axes, (-2, -1))
            self.batch = self.J.shape[:-2]
            if nan_policy == "omit" and self.J.dtype.kind == "f" and np.isnan(self.J).any():
                self.J = np.where(np.isnan(self.J), 0.0, self.J)
        if nan_policy == "omit":
            # an omitted cell is a cell without mass (of X, Y and the product
            # of the marginals alike): NaN are zeros from here on
            nan_policy = "propagate"
        self.options = dict(base=base, nan_policy=nan_policy, workers=workers)
        self.ndim = 2 if self.sparse else np.ndim(joint)

    def run(self, fn, *args, **kwargs):
        """fn(*args, **kwargs, **options), its weight errors naming joint."""
        try:
            return fn(*args, **kwargs, **self.options)
        except ValueError as error:
            raise _renamed(error) from None

    def marginals(self):
        """(r, c): the masses of the rows (x) and of the columns (y), float64,
        NaN where a NaN is kept (nan_policy 'propagate'); scaled by a power of
        two per table where they would overflow (every use is a ratio)."""
        if self.sparse:
            data = self.J.data.astype(np.float64)
            if self.options["nan_policy"] == "omit":
                data = np.where(np.isnan(data), 0.0, data)
            J = self.J.__class__((data, self.J.indices, self.J.indptr), shape=self.J.shape)
            with np.errstate(over="ignore", invalid="ignore"):
                r, c = (np.asarray(J.sum(axis=1)).ravel(), np.asarray(J.sum(axis=0)).ravel())
                if np.isinf(r).any() or np.isinf(c).any():
                    J.data = _scaled(J.data, np.max(data))
                    r, c = (np.asarray(J.sum(axis=1)).ravel(),
                            np.asarray(J.sum(axis=0)).ravel())
            return r, c
        if self.J.dtype.kind in "iu" and self.J.size and (
                self.J.dtype.itemsize < 4
                or int(np.max(self.J)) * max(self.J.shape[-2:]) < 2**62):
            # integer counts: summed exactly in int64 (no overflow possible),
            # einsum's reductions being several times faster than a float64 sum
            return (np.einsum("...ij->...i", self.J, dtype=np.int64, casting="unsafe")
                    .astype(np.float64),
                    np.einsum("...ij->...j", self.J, dtype=np.int64, casting="unsafe")
                    .astype(np.float64))
        total = np.nansum if self.options["nan_policy"] == "omit" else np.sum
        with np.errstate(over="ignore", invalid="ignore"):
            r = total(self.J, axis=-1, dtype=np.float64)
            c = total(self.J, axis=-2, dtype=np.float64)
            over = np.isinf(r).any(axis=-1) | np.isinf(c).any(axis=-1)
            if over.any():  # only those tables, so that the others are as alone
                J = _scaled(self.J, np.nanmax(self.J, axis=(-2, -1), keepdims=True))
                r = np.where(over[..., None], total(J, axis=-1), r)
                c = np.where(over[..., None], total(J, axis=-2), c)
        return r, c

    def cells(self):
        """The table's cells as one histogram (per table)."""
        if self.sparse:
            return self.J
        return self.J.reshape(self.batch + (self.J.shape[-2] * self.J.shape[-1],))

    def joint_entropy(self):
        if self.sparse:
            return self.run(_api.entropy, self.J, axis=None)
        return self.run(_api.entropy, self.cells(), axis=-1)

    def conditional(self, given_x):
        """H(Y | X) (given_x) or H(X | Y): the entropies of the slices,
        weighted by their masses (a slice without mass weighs 0)."""
        if self.sparse:
            h = self.run(_api.entropy, self.J, axis=1 if given_x else 0)
        else:
            h = self.run(_api.entropy, self.J, axis=-1 if given_x else -2)
        r, c = self.marginals()
        weight = r if given_x else c
        with np.errstate(invalid="ignore", divide="ignore"):
            largest = np.max(np.where(np.isnan(weight), 0.0, weight), axis=-1,
                             keepdims=True, initial=0.0)
            weight = _scaled(weight, largest)   # <= 1: w h cannot overflow
            terms = np.where(weight == 0, 0.0, weight * h)
            return np.sum(terms, axis=-1) / np.sum(weight, axis=-1)

    def marginal_entropies(self):
        r, c = self.marginals()
        return (self.run(_api.entropy, r, axis=-1), self.run(_api.entropy, c, axis=-1))

    def mutual_information(self):
        """I(X; Y) as a sum of non-negative terms: the two-read kernel of
        joint.h where its error bound is small, else (a nearly independent
        table, or one the fast reads do not take) the KL divergence of the
        table from the product of its marginals."""
        if self.sparse:
            J = self.J
            info, code = _joint.information_csr(
                np.ascontiguousarray(as_weights(J.data, "joint")),
                J.indices.astype(np.int64), J.indptr.astype(np.int64), *J.shape)
            if code == 0:
                return info / log_of_base(self.options["base"])
            return self._information_by_divergence(*self.marginals())
        J = self.J
        if J.size == 0:  # no tables, or tables without cells (no mass)
            return np.full(self.batch, np.nan)
        tables = J.reshape((math.prod(self.batch),) + J.shape[-2:])
        if tables.strides[-1] != tables.itemsize:
            # I(X; Y) = I(Y; X): read the contiguous axis as the rows' axis
            tables = (tables.swapaxes(-1, -2) if tables.strides[-2] == tables.itemsize
                      else np.ascontiguousarray(tables))
        info, codes = _joint.information(
            tables, threads_for(self.options["workers"], tables.size))
        info = info.reshape(self.batch) / log_of_base(self.options["base"])
        if not codes.any():
            return info
        slow = self._information_by_divergence(None, None)
        return np.where(codes.reshape(self.batch) == 0, info, slow)

    def _densified(self):
        return _Table(self.J.toarray(), (0, 1), self.options["nan_policy"],
                      self.options["base"], self.options["workers"])

    def _information_by_divergence(self, r, c):
        if self.sparse:
            if self.J.shape[0] * self.J.shape[1] <= _DENSE_CELLS:
                return self._densified()._information_by_divergence(None, None)
            with np.errstate(invalid="ignore", divide="ignore"):
                rs = r / np.max(r, axis=-1, keepdims=True, initial=0.0)
                cs = c / np.max(c, axis=-1, keepdims=True, initial=0.0)
            return self._sparse_information(rs, cs)
        # P_X P_Y up to a constant (the KL kernel normalises it)
        with np.errstate(invalid="ignore", over="ignore"):
            # (bad weights give bad marginals here: the kernel names them)
            rs, cs = self._wide_marginals()
            q = rs[..., :, None] * cs[..., None, :]
        return self.run(_api.kl_divergence, self.cells(), q.reshape(self.batch + (q.shape[-2] * q.shape[-1],)),
                        axis=-1)

    def estimated_information(self, estimator):
        """H_est(X) + H_est(Y) - H_est(X, Y) (may be slightly negative)."""
        r, c = self.marginals()
        cells = self.J if self.sparse else self.cells()
        estimate = [self.run(_api.entropy, a, axis=axis, estimator=estimator)
                    for a, axis in ((r, -1), (c, -1), (cells, None if self.sparse else -1))]
        return np.asarray(estimate[0] + estimate[1] - estimate[2], dtype=np.float64)

    def _wide_marginals(self):
        """The marginals at a scale for their products: each slice summed at
        its own power of two (no overflow, no slice lost to underflow), then
        all put at one scale, the largest at 2**500 (products of the largest
        stay below the double range, of the smallest above it, for masses
        within 2**1000 of each other)."""
        J = self.J.astype(np.float64)
        out = []
        for axis in (-1, -2):
            top = np.max(J, axis=axis, keepdims=True)
            e = np.frexp(np.where(np.isfinite(top) & (top > 0), top, 1.0))[1]
            s = np.sum(np.ldexp(J, -e), axis=axis)
            e = np.squeeze(e, axis=axis)
            with np.errstate(divide="ignore"):
                size = e + np.log2(np.where(s > 0, s, 1.0))
            shift = np.max(size, axis=-1, keepdims=True) - 500.0
            out.append(np.ldexp(s, (e - np.round(shift)).astype(np.int64)))
        return out[0], out[1]

    def _sparse_information(self, rs, cs):
        """KL over the stored cells plus one bin holding the product's mass on
        the cells the table does not store (computed exactly, so that the
        product's total is right to rounding of its own size)."""
        J = self.J
        rows = np.repeat(np.arange(J.shape[0]), np.diff(J.indptr))
        q = rs[rows] * cs[J.indices]
        column_total = math.fsum(cs)
        unstored = []
        for x in range(J.shape[0]):
            lo, hi = J.indptr[x], J.indptr[x + 1]
            if rs[x] != 0:
                rest = math.fsum([column_total, *(-q_y for q_y in cs[J.indices[lo:hi]])])
                unstored.append(rs[x] * rest)
        rest = max(math.fsum(unstored), 0.0) if np.all(np.isfinite(q)) else math.nan
        p = np.append(J.data.astype(np.float64, copy=False), 0.0)
        return self.run(_api.kl_divergence, p, np.append(q, rest), axis=-1)

    def shaped(self, value, keepdims):
        """A batch's values as the result: the table axes dropped (or kept as
        length 1); a float64 scalar for one table."""
        value = np.asarray(value, dtype=np.float64)
        if keepdims:
            return np.expand_dims(value, tuple(sorted(self.axes)))
        if value.ndim == 0:
            return np.float64(value)
        return value


def _scaled(a, top):
    """a * 2**-e, exactly, with top * 2**-e in [0.5, 1) (a as it is where top
    is 0 or not finite): no overflow, and no factor 2**e that overflows."""
    top = np.asarray(top, dtype=np.float64)
    e = np.frexp(np.where(np.isfinite(top) & (top > 0), top, 1.0))[1]
    return np.ldexp(np.asarray(a, dtype=np.float64), -e)


def _check_normalized(normalized):
    if normalized is not None and (not isinstance(normalized, str)
                                   or normalized not in NORMALIZATIONS):
        raise ValueError(
            f"normalized must be None or one of {', '.join(map(repr, NORMALIZATIONS))}; "
            f"got {normalized!r}"
        )


def joint_entropy(joint, *, base=None, axes=(-2, -1), keepdims=False,
                  nan_policy="propagate", workers=None):
    table = _Table(joint, axes, nan_policy, base, workers)
    return table.shaped(table.joint_entropy(), keepdims)


def conditional_entropy(joint, *, base=None, axes=(-2, -1), keepdims=False,
                        nan_policy="propagate", workers=None):
    table = _Table(joint, axes, nan_policy, base, workers)
    return table.shaped(table.conditional(given_x=True), keepdims)


def mutual_information(joint, *, base=None, axes=(-2, -1), keepdims=False,
                       nan_policy="propagate", normalized=None, estimator="plugin",
                       workers=None):
    _check_normalized(normalized)
    _estimators.check_estimator(estimator)
    table = _Table(joint, axes, nan_policy, base, workers)
    if estimator == "plugin":
        info = np.asarray(table.mutual_information(), dtype=np.float64)
    else:
        info = table.estimated_information(estimator)
    if normalized is not None:
        if normalized == "joint":
            scale = np.asarray(table.joint_entropy(), dtype=np.float64)
        else:
            hx, hy = (np.asarray(h, dtype=np.float64) for h in table.marginal_entropies())
            scale = {"arithmetic": lambda: (hx + hy) / 2,
                     "geometric": lambda: np.sqrt(hx) * np.sqrt(hy),
                     "min": lambda: np.minimum(hx, hy),
                     "max": lambda: np.maximum(hx, hy)}[normalized]()
        with np.errstate(invalid="ignore", divide="ignore"):
            # sklearn's convention: 0 where the normalising entropy is 0 (and
            # then I = 0); the ratio is clipped to [0, 1] against rounding
            info = np.where(scale == 0, np.where(np.isnan(info), np.nan, 0.0),
                            np.clip(info / scale, 0.0, 1.0))
    return table.shaped(info, keepdims)


def variation_of_information(joint, *, base=None, axes=(-2, -1), keepdims=False,
                             nan_policy="propagate", workers=None):
    table = _Table(joint, axes, nan_policy, base, workers)
    return table.shaped(table.conditional(given_x=True) + table.conditional(given_x=False),
                        keepdims)


_PARAMETERS = """\
    joint : array_like or 2-D scipy.sparse matrix or array
        Non-negative weights (counts or probabilities) of any real or integer
        dtype: X along ``axes[0]``, Y along ``axes[1]``, every other axis a
        batch of tables. A sparse matrix is one table, read through its stored
        cells.
    base : float, optional
        Logarithm base (None: nats, 2: bits).
    axes : pair of int, default (-2, -1)
        The axes of X and of Y.
    keepdims : bool, default False
        Keep the two table axes as dimensions of length 1.
    nan_policy : {'propagate', 'raise', 'omit'}, default 'propagate'
        'propagate': a table holding a NaN gives NaN. 'raise': a NaN raises
        ValueError. 'omit': NaN cells are dropped."""

_TAIL = """\
    workers : int, optional
        Threads: None (all cores for large input), 1, k, or -1 (all cores).

    Returns
    -------
    numpy.float64 or numpy.ndarray
        One value per table (float64; a scalar for one table). A table
        without mass gives NaN.

    Raises
    ------
    ValueError
        Negative or infinite weights; `axes` not naming two distinct axes;
        a joint of fewer than 2 dimensions; a bad option.
    TypeError
        A non-numeric dtype."""


def _document(function, summary, notes, examples, parameters=""):
    """The numpydoc docstring of a joint-table function: the parameters and
    returns they share, with its own summary, parameters, notes and
    examples."""
    function.__doc__ = (f"{summary}\n\n    Parameters\n    ----------\n{_PARAMETERS}\n"
                        f"{parameters}{_TAIL}\n\n    Notes\n    -----\n{notes}\n\n"
                        f"    Examples\n    --------\n{examples}\n    ")


_document(
    joint_entropy,
    'The joint entropy H(X, Y) of contingency tables.',
    """\
    The entropy of the table's cells, -sum p_xy log p_xy, by the entropy
    kernel (the table is one histogram).""",
    """\
    >>> import numpy as np, histentropy
    >>> C = np.array([[10, 2, 0], [1, 12, 3], [0, 2, 9]])
    >>> round(float(histentropy.joint_entropy(C, base=2)), 6)
    2.374555""")


_document(
    conditional_entropy,
    'The conditional entropy H(Y | X) of contingency tables.',
    """\
    H(Y | X) = H(X, Y) - H(X), computed as sum_x p(x) H(Y | X = x): the
    entropy of each slice along Y, weighted by the slice's mass, a sum of
    non-negative terms (no difference of entropies to cancel).""",
    """\
    >>> import numpy as np, histentropy
    >>> C = np.array([[10, 2, 0], [1, 12, 3], [0, 2, 9]])
    >>> round(float(histentropy.conditional_entropy(C, base=2)), 6)
    0.808981""")


_document(
    mutual_information,
    'The mutual information I(X; Y) of contingency tables.',
    """\
    I = sum p_xy log(p_xy / (p_x p_y)) = KL(P_XY || P_X P_Y), a sum of
    non-negative terms, never H(X) + H(Y) - H(X, Y): two reads of the table
    (its marginals, then one log per cell) with an error bound, and where
    that bound is too large, the KL kernel against the product of the
    marginals, whose terms are formed from p_xy - p_x p_y exactly. So a
    nearly independent table keeps its tiny information to relative
    accuracy, and the result is never negative. Integer, float or
    probability tables alike (``sklearn.metrics.mutual_info_score`` takes
    integer contingency tables only).""",
    """\
    >>> import numpy as np, histentropy
    >>> C = np.array([[10, 2, 0], [1, 12, 3], [0, 2, 9]])
    >>> round(float(histentropy.mutual_information(C, base=2)), 6)
    0.756593
    >>> round(float(histentropy.mutual_information(C, normalized="arithmetic")), 6)
    0.483269
    >>> histentropy.mutual_information(np.stack([C, np.ones((3, 3), int)]))
    array([0.52443044, 0.        ])""",
    """\
    normalized : {None, 'arithmetic', 'geometric', 'min', 'max', 'joint'}
        Divide I by the mean of H(X) and H(Y), their geometric mean, their
        minimum, their maximum, or by H(X, Y); the result lies in [0, 1], and
        is 0 where the normalising entropy is 0 (then I = 0; scikit-learn's
        convention).
    estimator : {'plugin', 'miller_madow', 'grassberger', 'chao_shen', 'james_stein'}
        'plugin' (default): the maximum-likelihood I, never negative. Any
        other: H_est(X) + H_est(Y) - H_est(X, Y) with that entropy estimator
        (see `entropy`), which may be slightly negative; integer counts only.
""")


_document(
    variation_of_information,
    'The variation of information H(X | Y) + H(Y | X).',
    """\
    The sum of the two conditional entropies (see `conditional_entropy`), a
    metric on partitions: 0 exactly when X and Y determine each other.""",
    """\
    >>> import numpy as np, histentropy
    >>> C = np.array([[10, 2, 0], [1, 12, 3], [0, 2, 9]])
    >>> round(float(histentropy.variation_of_information(C, base=2)), 6)
    1.617962""")
