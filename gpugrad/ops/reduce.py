"""Reductions over `dim` (int or tuple) with `keepdim`: sum mean amax/max min var std prod
argmax argmin logsumexp, and softmax / log_softmax."""
import builtins
from collections import namedtuple

from .. import dtypes
from ..autograd import Function
from ..autograd.fit import BroadcastTo
from ..autograd.grad_mode import is_grad_enabled
from ._args import keep_shape, norm_dim, norm_dims, to_float
from .unary import Sqrt

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _accumulator(dtype):
    """Sums and products of integers and bools accumulate in int64, of float16 in float32."""
    return dtypes.compute(dtype) if dtypes.is_float(dtype) else dtypes.int64


def _reduced(dtype):
    """Their result dtype: int64 for integers and bools, else the input's (as in PyTorch)."""
    return dtype if dtypes.is_float(dtype) else dtypes.int64


def sum_array(x, dims, keepdim=False):
    """The array x summed over dims as Sum computes it (half types in a float32 accumulator)."""
    return x.sum(axis=dims, keepdims=keepdim, dtype=_accumulator(x.dtype)).astype(_reduced(x.dtype), copy=False)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.in_shape, ctx.dims = x.shape, dims
        return sum_array(x, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        if is_grad_enabled():  # create_graph
            return BroadcastTo.apply(g.reshape(keep_shape(ctx.in_shape, ctx.dims)), shape=ctx.in_shape)
        return ctx.xp.broadcast_to(g._data.reshape(keep_shape(ctx.in_shape, ctx.dims)), ctx.in_shape)


class Amax(Function):
    """max (or min) over dims; the gradient is shared evenly among tied maxima."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, op):
        out = getattr(x, op)(axis=dims, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.in_shape = dims, x.shape
        return out if keepdim else out.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_arrays
        mask = (x == out).astype(g.dtype)
        mask /= mask.sum(axis=ctx.dims, keepdims=True)
        return g.reshape(keep_shape(ctx.in_shape, ctx.dims)) * mask


class MaxDim(Function):
    """max/min along one dim returning (values, indices); the gradient goes to the index."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, op):
        idx = getattr(x, "arg" + op)(axis=dim, keepdims=True).astype(dtypes.int64, copy=False)
        values = ctx.xp.take_along_axis(x, idx, axis=dim)
        if not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        ctx.save_for_backward(idx)
        ctx.mark_non_differentiable(idx)
        ctx.dim, ctx.in_shape = dim, x.shape
        return values, idx

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        idx, = ctx.saved_arrays
        positions = xp.arange(ctx.in_shape[ctx.dim]).reshape(
            [-1 if i == ctx.dim else 1 for i in range(len(ctx.in_shape))])
        onehot = (positions == idx.reshape(keep_shape(ctx.in_shape, (ctx.dim,)))).astype(g.dtype)
        return g.reshape(keep_shape(ctx.in_shape, (ctx.dim,))) * onehot


class Prod(Function):
    @staticmethod
    def forward(ctx, x, dims):
        out = x.prod(axis=dims, keepdims=True, dtype=_accumulator(x.dtype)).astype(_reduced(x.dtype), copy=False)
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.in_shape = dims, x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = g.reshape(keep_shape(ctx.in_shape, ctx.dims))
        if not (x._data == 0).any():
            return g * out / x
        # with zeros, d prod / d x_i is the product of the others: no division
        return g * _product_of_others(ctx.xp, x._data, ctx.dims)


def _product_of_others(xp, x, dims):
    """For each element, the product of the other elements of its reduction group (arrays only)."""
    moved = xp.moveaxis(x, dims, tuple(range(x.ndim - len(dims), x.ndim)))
    flat = moved.reshape(moved.shape[: x.ndim - len(dims)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return xp.moveaxis((left * right).reshape(moved.shape), tuple(range(x.ndim - len(dims), x.ndim)), dims)


class Arg(Function):
    differentiable = False

    @staticmethod
    def forward(ctx, x, dim, keepdim, op):
        if dim is None:
            out = getattr(x.reshape(-1), op)()
            return out.reshape((1,) * x.ndim if keepdim else ()).astype(dtypes.int64)
        return getattr(x, op)(axis=dim, keepdims=keepdim).astype(dtypes.int64)


def _shift_by_max(x, dim):
    """x minus its maximum along `dim` (for exp without overflow); an empty x has no maximum."""
    return x - x.max(axis=dim, keepdims=True) if x.size else x


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        e = ctx.xp.exp(_shift_by_max(x, dim))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - (g * y).sum(dim=ctx.dim, keepdim=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        shifted = _shift_by_max(x, dim)
        out = shifted - ctx.xp.log(ctx.xp.exp(shifted).sum(axis=dim, keepdims=True)) if x.size else x.copy()
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - y.exp() * g.sum(dim=ctx.dim, keepdim=True)


def sum(x, dim=None, keepdim=False):
    return Sum.apply(x, dims=norm_dims(dim, x.ndim, "sum"), keepdim=keepdim)


def mean(x, dim=None, keepdim=False):
    dims = norm_dims(dim, x.ndim, "mean")
    count = 1
    for d in dims:
        count *= x.shape[d]
    return sum(to_float(x), dims, keepdim) / count


def amax(x, dim=None, keepdim=False):
    return Amax.apply(x, dims=norm_dims(dim, x.ndim, "amax"), keepdim=keepdim, op="max")


def amin(x, dim=None, keepdim=False):
    return Amax.apply(x, dims=norm_dims(dim, x.ndim, "amin"), keepdim=keepdim, op="min")


def _max_or_min(x, dim, keepdim, op):
    if x.numel() == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
    if dim is None:
        return Amax.apply(x, dims=norm_dims(None, x.ndim, op), keepdim=False, op=op)
    if hasattr(dim, "_data"):  # torch.max(a, b) is the elementwise maximum
        from .elementwise import maximum, minimum
        return (maximum if op == "max" else minimum)(x, dim)
    values, indices = MaxDim.apply(x, dim=norm_dim(dim, x.ndim, op), keepdim=keepdim, op=op)
    return ValuesIndices(values, indices)


def max(x, dim=None, keepdim=False):
    """The maximum; with `dim` a (values, indices) pair; with a tensor the elementwise maximum."""
    return _max_or_min(x, dim, keepdim, "max")


def min(x, dim=None, keepdim=False):
    return _max_or_min(x, dim, keepdim, "min")


def prod(x, dim=None, keepdim=False):
    dims = norm_dims(dim, x.ndim, "prod")
    return _drop_dims(Prod.apply(x, dims=dims), dims, keepdim)


def _drop_dims(out, dims, keepdim):
    """A keepdim result reshaped without the reduced dims unless keepdim."""
    return out if keepdim else out.reshape([s for i, s in enumerate(out.shape) if i not in dims])


def var(x, dim=None, correction=1, keepdim=False, unbiased=None):
    """Variance with Bessel's `correction` (unbiased=False is correction=0), as in PyTorch."""
    if unbiased is not None:
        correction = int(unbiased)
    dims = norm_dims(dim, x.ndim, "var")
    x = to_float(x)
    count = 1
    for d in dims:
        count *= x.shape[d]
    centered = x - mean(x, dims, keepdim=True)
    return sum(centered * centered, dims, keepdim) / builtins.max(count - correction, 0)


class Sqrt0(Sqrt):
    """sqrt whose gradient at 0 is 0 rather than inf (PyTorch's std convention)."""

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        zero = (out._data == 0)
        return g / (2 * out + zero) * (1 - zero).astype(g.dtype)


def std(x, dim=None, correction=1, keepdim=False, unbiased=None):
    return Sqrt0.apply(var(x, dim, correction, keepdim, unbiased))


def argmax(x, dim=None, keepdim=False):
    return Arg.apply(x, dim=None if dim is None else norm_dim(dim, x.ndim, "argmax"), keepdim=keepdim, op="argmax")


def argmin(x, dim=None, keepdim=False):
    return Arg.apply(x, dim=None if dim is None else norm_dim(dim, x.ndim, "argmin"), keepdim=keepdim, op="argmin")


def logsumexp(x, dim, keepdim=False):
    """log(sum(exp(x))) computed stably by shifting with the (constant) maximum."""
    dims = norm_dims(dim, x.ndim, "logsumexp")
    x = to_float(x)
    m = x._data.max(axis=dims, keepdims=True)
    m = x.backend.xp.where(x.backend.xp.isfinite(m), m, 0)
    out = (x - m).exp().sum(dims, keepdim=True).log() + m
    return _drop_dims(out, dims, keepdim)


def softmax(x, dim):
    return Softmax.apply(to_float(x), dim=norm_dim(dim, x.ndim, "softmax"))


def log_softmax(x, dim):
    return LogSoftmax.apply(to_float(x), dim=norm_dim(dim, x.ndim, "log_softmax"))


__all__ = ["sum", "mean", "amax", "amin", "max", "min", "prod", "var", "std", "argmax", "argmin",
           "logsumexp", "softmax", "log_softmax"]
