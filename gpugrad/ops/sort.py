"""Ordering: sort argsort topk. The order is found without a gradient; the values are a gather,
so their gradient flows back to where each value came from."""
from .. import dtypes
from ..autograd import Function
from ._args import norm_dim
from .gather import Gather
from .reduce import ValuesIndices


class ArgSort(Function):
    """Stable ascending or descending order along dim; equal values keep their input order."""
    differentiable = False

    @staticmethod
    def forward(ctx, x, dim, descending):
        xp = ctx.xp
        if x.dtype == dtypes.bool_:
            x = x.astype(dtypes.int64)
        if descending:
            # a stable descending sort: sort the reversed array ascending, then undo the reversal
            rev = xp.flip(x, axis=dim)
            idx = xp.flip(xp.argsort(rev, axis=dim, kind="stable"), axis=dim)
            return (x.shape[dim] - 1 - idx).astype(dtypes.int64)
        return xp.argsort(x, axis=dim, kind="stable").astype(dtypes.int64)


def argsort(x, dim=-1, descending=False, stable=False):
    d = norm_dim(dim, x.ndim, "argsort")
    return ArgSort.apply(x, dim=d, descending=descending)


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along dim; ties keep their input order (always stable)."""
    d = norm_dim(dim, x.ndim, "sort")
    idx = ArgSort.apply(x, dim=d, descending=descending)
    return ValuesIndices(Gather.apply(x, index=idx._data, dim=d), idx)


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) values along dim, with their indices."""
    d = norm_dim(dim, x.ndim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dim {d} of size {n}")
    idx = ArgSort.apply(x, dim=d, descending=largest)
    idx = idx[(slice(None),) * d + (slice(0, k),)].contiguous()
    return ValuesIndices(Gather.apply(x, index=idx._data, dim=d), idx)


__all__ = ["argsort", "sort", "topk"]
