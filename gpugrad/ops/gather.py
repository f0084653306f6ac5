"""Index-driven ops along one dim: gather scatter scatter_add index_select masked_fill masked_select.

gather and scatter_add are each other's adjoint; scatter's gradient is gather's too, with the
overwritten positions cut from the gradient of the tensor written into.
"""
import numpy as np

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from ._args import as_tensor, cast, norm_dim
from .index import IndexAdd, getitem


def _positions(xp, index, dim):
    """The full NumPy-style index that addresses x[..., index[i, j, k], ...] along `dim`."""
    parts = []
    for d, n in enumerate(index.shape):
        if d == dim:
            parts.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            parts.append(xp.arange(n).reshape(shape))
    return tuple(parts)


class Gather(Function):
    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.index, ctx.dim, ctx.in_shape = index, dim, x.shape
        return x[_positions(ctx.xp, index, dim)]

    @staticmethod
    def backward(ctx, g):
        zeros = Tensor._make(ctx.xp.zeros(ctx.in_shape, dtype=g.dtype), g.device)
        return ScatterAdd.apply(zeros, g, index=ctx.index, dim=ctx.dim)


class ScatterAdd(Function):
    @staticmethod
    def forward(ctx, x, src, index, dim):
        ctx.index, ctx.dim = index, dim
        out = x.copy()
        ctx.backend.scatter_add(out, _positions(ctx.xp, index, dim), src[_window(index)])
        return out

    @staticmethod
    def backward(ctx, g):
        return g, _src_grad(ctx, g)


class Scatter(Function):
    """x with src written at index along dim (the last write wins where indices repeat)."""

    @staticmethod
    def forward(ctx, x, src, index, dim):
        ctx.index, ctx.dim = index, dim
        out = x.copy()
        pos = _positions(ctx.xp, index, dim)
        out[pos] = src[_window(index)]
        keep = ctx.xp.ones(x.shape, dtype=bool)
        keep[pos] = False
        ctx.keep = keep
        return out

    @staticmethod
    def backward(ctx, g):
        gx = g * Tensor._make(ctx.keep, g.device) if ctx.needs_input_grad[0] else None
        return gx, _src_grad(ctx, g)


def _src_grad(ctx, g):
    """The gradient of src: g gathered at index, placed in src's (possibly larger) shape."""
    if not ctx.needs_input_grad[1]:
        return None
    picked = Gather.apply(g, index=ctx.index, dim=ctx.dim)
    shape = ctx.input_meta[1][0]
    return picked if picked.shape == shape else IndexAdd.apply(picked, index=_window(ctx.index), shape=shape)


def _window(index):
    """src cut to index's shape (PyTorch lets src be larger than index in every dim)."""
    return tuple(slice(0, n) for n in index.shape)


def _index(x, dim, index, op, src=None):
    if not isinstance(index, Tensor) or index.dtype not in (dtypes.int64, dtypes.int32):
        raise TypeError(f"{op}: index must be an int64 or int32 tensor, got {getattr(index, 'dtype', type(index))}")
    if index.device != x.device:
        raise RuntimeError(f"{op}: index on {index.device} but tensor on {x.device}")
    if index.ndim != x.ndim:
        raise RuntimeError(f"{op}: index has {index.ndim} dims but the tensor has {x.ndim}")
    d = norm_dim(dim, x.ndim, op)
    for i, n in enumerate(index.shape):
        if (i != d and n > x.shape[i]) or (src is not None and n > src.shape[i]):
            raise RuntimeError(f"{op}: index of shape {index.shape} is larger than the tensor's {x.shape}"
                               + ("" if src is None else f" or src's {src.shape}") + f" in dim {i}")
    idx = index._data.astype(dtypes.int64, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[d]):
        raise RuntimeError(f"{op}: index {int(idx.min() if idx.min() < 0 else idx.max())} is out of bounds "
                           f"for dim {d} of size {x.shape[d]}")
    return d, idx


def gather(x, dim, index):
    d, idx = _index(x, dim, index, "gather")
    return Gather.apply(x, index=idx, dim=d)


def _src(x, src, value):
    """The values to write: a tensor, or a scalar `value` spread to x's shape."""
    s = as_tensor(value if src is None else src, x)
    return cast(s.expand(*x.shape) if s.ndim == 0 else s, x.dtype)


def scatter(x, dim, index, src=None, value=None):
    """x.scatter(dim, index, src) or x.scatter(dim, index, value=scalar), out of place."""
    s = _src(x, src, value)
    d, idx = _index(x, dim, index, "scatter", s)
    return Scatter.apply(x, s, index=idx, dim=d)


def scatter_add(x, dim, index, src):
    s = _src(x, src, None)
    d, idx = _index(x, dim, index, "scatter_add", s)
    return ScatterAdd.apply(x, s, index=idx, dim=d)


def index_select(x, dim, index):
    if not isinstance(index, Tensor) or index.ndim > 1:
        raise IndexError("index_select: index must be a 1-d int64 or int32 tensor")
    d = norm_dim(dim, x.ndim, "index_select")
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))


def masked_fill(x, mask, value):
    """x with `value` where the bool mask (broadcast to x's shape) is true."""
    from .elementwise import where
    if getattr(mask, "dtype", None) != dtypes.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    value = cast(value, x.dtype) if isinstance(value, Tensor) else value
    out = where(mask, value, x)
    if out.shape != x.shape:
        raise RuntimeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to {x.shape}")
    return cast(out, x.dtype)


def masked_select(x, mask):
    """The elements of x where mask is true, as a 1-d tensor (x and mask broadcast together)."""
    if getattr(mask, "dtype", None) != dtypes.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    try:
        shape = np.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        raise RuntimeError(f"masked_select: mask of shape {mask.shape} and tensor of shape {x.shape} "
                           "are not broadcastable") from None
    return getitem(x.expand(*shape), mask.expand(*shape).contiguous())


__all__ = ["gather", "scatter", "scatter_add", "index_select", "masked_fill", "masked_select"]
