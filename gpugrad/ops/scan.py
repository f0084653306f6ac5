"""Running totals along a dim: cumsum and cumprod."""
from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from ._args import cast, norm_dim


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return ctx.xp.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx, g):
        # d out_j / d x_i = 1 for j >= i: a cumsum from the end
        return g.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim)


class Cumprod(Function):
    @staticmethod
    def forward(ctx, x, dim):
        out = ctx.xp.cumprod(x, axis=dim)
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        d = ctx.dim
        if not (x._data == 0).any():
            return (g * out).flip(d).cumsum(d).flip(d) / x
        return Tensor._make(_cumprod_grad_with_zeros(ctx.xp, x._data, g._data, d), g.device)


def _cumprod_grad_with_zeros(xp, x, g, dim):
    """sum_{j >= i} g_j · prod_{k <= j, k != i} x_k, without dividing by x_i (arrays only)."""
    xm, gm = xp.moveaxis(x, dim, -1), xp.moveaxis(g, dim, -1)
    n = xm.shape[-1]
    out = xp.zeros_like(xm)
    for i in range(n):
        others = xm.copy()
        others[..., i] = 1
        out[..., i] = (gm[..., i:] * xp.cumprod(others, axis=-1)[..., i:]).sum(axis=-1)
    return xp.moveaxis(out, -1, dim)


def _scan(fn, name):
    def op(x, dim, dtype=None):
        if dtype is not None:
            x = cast(x, dtypes.canonical(dtype))
        elif not dtypes.is_float(x.dtype):
            x = cast(x, dtypes.int64)  # bool and integer inputs accumulate in int64, as in PyTorch
        return fn.apply(x, dim=norm_dim(dim, x.ndim, name))
    op.__name__ = name
    return op


cumsum, cumprod = _scan(Cumsum, "cumsum"), _scan(Cumprod, "cumprod")

__all__ = ["cumsum", "cumprod"]
