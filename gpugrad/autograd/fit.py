"""Fitting a gradient to its input: the ONE place broadcast gradients are summed back.

`sum_to` reduces a gradient over the axes its input was broadcast along; `broadcast_to`
is its adjoint (used by expand and by reductions' backward); `Cast` changes dtype and
casts the gradient back. The engine applies `fit` to every gradient an op returns, so no
op unbroadcasts by itself.
"""
from .function import Function


def _sum_axes(shape, target):
    """Axes of `shape` to sum over (keeping dims) so that it reduces to `target`."""
    lead = len(shape) - len(target)
    if lead < 0:
        return None
    axes = tuple(range(lead))
    for i, (s, t) in enumerate(zip(shape[lead:], target)):
        if t == 1 and s != 1:
            axes += (lead + i,)
        elif t != s:
            return None
    return axes


class SumTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        axes = _sum_axes(x.shape, shape)
        ctx.in_shape = x.shape
        return x.sum(axis=axes, keepdims=True).reshape(shape) if axes else x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return (BroadcastTo.apply(g, shape=ctx.in_shape),)


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return (SumTo.apply(g, shape=ctx.in_shape),)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return (Cast.apply(g, dtype=ctx.in_dtype),)


def sum_to(t, shape):
    shape = tuple(shape)
    if t.shape == shape:
        return t
    if _sum_axes(t.shape, shape) is None:
        raise ValueError(f"cannot sum a tensor of shape {t.shape} to shape {shape}")
    return SumTo.apply(t, shape=shape)


def fit(grad, shape, dtype, node, i):
    """Sum `grad` back to an input's shape and cast it to its dtype, or say which op is wrong."""
    if grad.shape != shape:
        if _sum_axes(grad.shape, shape) is None:
            raise RuntimeError(
                f"{node.name} returned a gradient of shape {grad.shape} for input {i} of shape "
                f"{shape}; the shapes are not broadcast-compatible")
        grad = SumTo.apply(grad, shape=shape)
    if grad.dtype != dtype:
        grad = Cast.apply(grad, dtype=dtype)
    return grad
