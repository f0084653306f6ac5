"""More activations: hardtanh relu6 hardsigmoid hardswish silu elu mish, composed from
existing ops except hardtanh, whose gradient (zero at the bounds, unlike clamp) is its own."""
from ..autograd import Function
from ._args import to_float
from .activation import softplus
from .pointwise import expm1


class Hardtanh(Function):
    """clamp(x, lo, hi) with PyTorch's hardtanh gradient: 1 strictly inside (lo, hi), else 0."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return ctx.xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_arrays
        lo, hi = ctx.bounds
        return g * ((x > lo) & (x < hi)).astype(g.dtype)


def hardtanh(input, min_val=-1.0, max_val=1.0):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return Hardtanh.apply(to_float(input), lo=min_val, hi=max_val)


def relu6(input):
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input):
    """relu6(x + 3) / 6."""
    return hardtanh(to_float(input) + 3, 0.0, 6.0) / 6


def hardswish(input):
    """x · relu6(x + 3) / 6 (its gradient is (2x + 3) / 6 strictly inside (-3, 3), as in PyTorch)."""
    x = to_float(input)
    return x * hardtanh(x + 3, 0.0, 6.0) / 6


def silu(input):
    """x · σ(x)."""
    x = to_float(input)
    return x * x.sigmoid()


def elu(input, alpha=1.0):
    """x for x > 0, alpha · (eˣ - 1) otherwise."""
    from .elementwise import where
    x = to_float(input)
    return where(x > 0, x, expm1(x.clamp(max=0.0)) * alpha)


def mish(input):
    """x · tanh(softplus(x))."""
    x = to_float(input)
    return x * softplus(x).tanh()


__all__ = ["hardtanh", "relu6", "hardsigmoid", "hardswish", "silu", "elu", "mish"]
