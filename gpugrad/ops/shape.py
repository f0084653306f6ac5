"""Shape ops: reshape/view flatten squeeze unsqueeze transpose permute expand contiguous clone."""
import numpy as np

from ..autograd import Function
from ..autograd.fit import BroadcastTo
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError
from ._args import norm_dim, norm_dims


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape) if is_grad_enabled() else g._data.reshape(ctx.in_shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.permute(ctx.inverse) if is_grad_enabled() else g._data.transpose(ctx.inverse)


class Copy(Function):
    """A fresh contiguous copy (clone/contiguous); the gradient passes through."""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.array(x, copy=True, order="C")

    @staticmethod
    def backward(ctx, g):
        return g


def _sizes(shape):
    """Accept f(2, 3) and f((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _new_shape(x, shape, op):
    """`shape` (with at most one -1) resolved against x's element count."""
    shape = _sizes(shape)
    known = [s for s in shape if s != -1]
    n = int(np.prod(known)) if known else 1
    if shape.count(-1) > 1 or (-1 in shape and (n == 0 or x.numel() % n)) or (-1 not in shape and n != x.numel()):
        raise ShapeError(f"{op}: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) into {shape}")
    return tuple(x.numel() // n if s == -1 else s for s in shape)


def reshape(x, *shape):
    shape = _new_shape(x, shape, "reshape")
    return x if shape == x.shape else Reshape.apply(x, shape=shape)


def view(x, *shape):
    """reshape that never copies: the result shares x's memory, or RuntimeError (as PyTorch)."""
    shape = _new_shape(x, shape, "view")
    strides = tuple(s // x._data.itemsize for s in x._data.strides)
    if not _viewable(x.shape, strides, shape):
        raise RuntimeError(
            f"view: shape {shape} is not compatible with the input's shape {x.shape} and strides "
            f"{strides} (at least one dimension spans across two contiguous subspaces); use "
            ".reshape(...) instead")
    return x if shape == x.shape else Reshape.apply(x, shape=shape)


def _viewable(old_shape, old_strides, new_shape):
    """PyTorch's rule (computeStride): the old dims fall into runs that are contiguous within
    themselves; each run must be split or merged into whole dims of the new shape."""
    if not old_shape or 0 in old_shape:
        return True
    view_d, base_stride = len(new_shape) - 1, old_strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return False
            if d > 0:
                base_stride, tensor_numel, view_numel = old_strides[d - 1], 1, 1
    return view_d == -1


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = norm_dim(start_dim, x.ndim, "flatten"), norm_dim(end_dim, x.ndim, "flatten")
    return reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


def unsqueeze(x, dim):
    d = norm_dims(dim, x.ndim + 1, "unsqueeze")[0]
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def squeeze(x, dim=None):
    """Drop size-1 dims (all of them, or those in `dim`; others are left, as in PyTorch)."""
    dims = norm_dims(dim, x.ndim, "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def permute(x, *dims):
    dims = _sizes(dims)
    if len({d % max(x.ndim, 1) for d in dims}) != len(dims):
        raise ShapeError(f"permute: dims {dims} repeat a dimension (shape {x.shape})")
    if sorted(norm_dims(dims, x.ndim, "permute")) != list(range(x.ndim)) or len(dims) != x.ndim:
        raise ShapeError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of shape {x.shape}")
    return Permute.apply(x, dims=tuple(d % x.ndim for d in dims))


def transpose(x, dim0, dim1):
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    order = list(range(x.ndim))
    a, b = norm_dim(dim0, x.ndim, "transpose"), norm_dim(dim1, x.ndim, "transpose")
    order[a], order[b] = order[b], order[a]
    return Permute.apply(x, dims=tuple(order))


def t_(x):
    """x.T: all dims reversed."""
    return Permute.apply(x, dims=tuple(reversed(range(x.ndim))))


def expand(x, *sizes):
    """Broadcast to `sizes` without copying; -1 keeps a dim."""
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {sizes} has fewer dims than the tensor's shape {x.shape}")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    try:
        ok = np.broadcast_shapes(x.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"expand: cannot expand shape {x.shape} to {sizes}")
    return x if shape == x.shape else BroadcastTo.apply(x, shape=shape)


def contiguous(x):
    return x if x.is_contiguous() else Copy.apply(x)


def clone(x):
    return Copy.apply(x)


__all__ = ["reshape", "view", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "expand",
           "contiguous", "clone"]
