"""Rearranging elements: flip roll tril triu repeat tile unfold t."""
import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._args import norm_dim, norm_dims
from .shape import _sizes, permute, reshape, transpose


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return ctx.xp.flip(x, axis=dims)

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, dims=ctx.dims)


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return ctx.xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, g):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return Roll.apply(g, shifts=back, dims=ctx.dims)


class Triangle(Function):
    """tril/triu on the last two dims; the gradient keeps the same triangle."""

    @staticmethod
    def forward(ctx, x, fn, diagonal):
        ctx.which, ctx.diagonal = fn, diagonal
        return getattr(ctx.xp, fn)(x, diagonal)

    @staticmethod
    def backward(ctx, g):
        return Triangle.apply(g, fn=ctx.which, diagonal=ctx.diagonal)


class Repeat(Function):
    """np.tile; the gradient sums the copies back onto the original."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape = (1,) * (len(reps) - x.ndim) + x.shape
        ctx.reps = reps
        return ctx.xp.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        split = []
        for r, s in zip(ctx.reps, ctx.in_shape):
            split += [r, s]
        g = g.reshape(split).sum(dim=tuple(range(0, len(split), 2)))
        return g


def flip(x, *dims):
    return Flip.apply(x, dims=norm_dims(_sizes(dims), x.ndim, "flip"))


def roll(x, shifts, dims=None):
    """Shift elements along dims (wrapping round); without dims, over the flattened tensor."""
    if dims is None:
        return reshape(Roll.apply(reshape(x, -1), shifts=shifts, dims=0), x.shape)
    if isinstance(shifts, (tuple, list)):
        shifts = tuple(shifts)
        dims = tuple(norm_dim(d, x.ndim, "roll") for d in dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    else:
        dims = norm_dim(dims if not isinstance(dims, (tuple, list)) else dims[0], x.ndim, "roll")
    return Roll.apply(x, shifts=shifts, dims=dims)


def _triangle(fn):
    def op(x, diagonal=0):
        if x.ndim < 2:
            raise RuntimeError(f"{fn}: input must have at least 2 dims, got shape {x.shape}")
        return Triangle.apply(x, fn=fn, diagonal=diagonal)
    op.__name__ = fn
    return op


tril, triu = _triangle("tril"), _triangle("triu")


def repeat(x, *sizes):
    """PyTorch's Tensor.repeat: tile x `sizes` times (at least x.ndim sizes)."""
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"repeat: {len(sizes)} repeat sizes for a tensor with {x.ndim} dims; give at "
                           "least as many sizes as dims")
    return Repeat.apply(x, reps=tuple(int(s) for s in sizes))


def tile(x, *dims):
    """Like repeat, with fewer dims than x.ndim filled with leading 1s."""
    dims = _sizes(dims)
    return repeat(x, (1,) * (x.ndim - len(dims)) + tuple(dims))


def unfold(x, dimension, size, step):
    """All slices of length `size` along `dimension`, `step` apart, as a new last dim."""
    d = norm_dim(dimension, x.ndim, "unfold")
    n = x.shape[d] if x.ndim else 1
    if size > n or step <= 0:
        raise RuntimeError(f"unfold: size {size} and step {step} don't fit dimension {d} of size {n}")
    windows = (n - size) // step + 1
    idx = (np.arange(windows)[:, None] * step + np.arange(size)).reshape(-1)
    idx = Tensor._make(x.backend.xp.asarray(idx), x.device)
    picked = x[(slice(None),) * d + (idx,)]
    picked = reshape(picked, x.shape[:d] + (windows, size) + x.shape[d + 1:])
    order = list(range(picked.ndim))
    order.append(order.pop(d + 1))
    return permute(picked, order)


def t(x):
    """The transpose of a matrix; 0-d and 1-d tensors come back as they are."""
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dims, got shape {x.shape}; use transpose or mT")
    return x if x.ndim < 2 else transpose(x, 0, 1)


__all__ = ["flip", "roll", "tril", "triu", "repeat", "tile", "unfold", "t"]
