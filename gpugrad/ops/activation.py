"""Activations: relu leaky_relu softplus clamp gelu (gelu through the backend's fused kernels)."""
import math

from ..autograd import Function
from ..autograd.grad_mode import is_grad_enabled
from ._args import to_float

_GELU_FORMS = ("none", "tanh")


class Relu(Function):
    """max(x, 0) by the backend's kernel, one pass each way."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.kernels.relu_fwd(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if is_grad_enabled():  # create_graph
            return ReluGrad.apply(x, g)
        return ctx.kernels.relu_bwd(x._data, g._data)


class ReluGrad(Function):
    """g where x > 0 by the backward kernel. Linear in g, with no gradient for x (relu'' is 0
    where it exists, as in PyTorch), so its own backward is ReluGrad again: relu stays twice
    differentiable."""

    @staticmethod
    def forward(ctx, x, g):
        ctx.save_for_backward(x)
        return ctx.kernels.relu_bwd(x, g)

    @staticmethod
    def backward(ctx, gg):
        (x,) = ctx.saved_tensors
        return None, ReluGrad.apply(x, gg) if ctx.needs_input_grad[1] else None


class LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.save_for_backward(x)
        ctx.slope = negative_slope
        return ctx.xp.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_arrays
        positive = (x > 0).astype(g.dtype)  # arrays, not where(.., 1.0, slope): CuPy made that float32
        return g * (positive + (1 - positive) * ctx.slope)


class Clamp(Function):
    """Gradient 1 where min <= x <= max (bounds included), as in PyTorch."""

    @staticmethod
    def forward(ctx, x, min, max):
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        return ctx.xp.clip(x, min, max)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_arrays
        lo, hi = ctx.bounds
        inside = ctx.xp.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        return g * inside.astype(g.dtype)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, linear above `threshold` like PyTorch."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        xp, bx = ctx.xp, beta * x
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta  # overflow-free log(1 + e^bx)
        return xp.where(bx > threshold, x, soft.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        linear = (ctx.beta * x._data > ctx.threshold).astype(g.dtype)
        return g * ((x * ctx.beta).sigmoid() * (1 - linear) + linear)


class Gelu(Function):
    """x·Φ(x) (exact, erf) or its tanh approximation, one fused kernel pass each way."""

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return ctx.kernels.gelu_fwd(x, approximate)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return GeluGrad.apply(x, g, approximate=ctx.approximate)


class GeluGrad(Function):
    """g·gelu'(x) by the fused backward kernel; its own backward makes gelu twice differentiable."""

    @staticmethod
    def forward(ctx, x, g, approximate):
        ctx.save_for_backward(x, g)
        ctx.approximate = approximate
        return ctx.kernels.gelu_bwd(x, g, approximate)

    @staticmethod
    def backward(ctx, gg):
        x, g = ctx.saved_tensors
        gx = gg * g * _gelu_second_derivative(x, ctx.approximate) if ctx.needs_input_grad[0] else None
        gg_out = GeluGrad.apply(x, gg, approximate=ctx.approximate) if ctx.needs_input_grad[1] else None
        return gx, gg_out


def _gelu_second_derivative(x, approximate):
    """gelu''(x): φ(x)(2 - x²) exactly; for the tanh form, by the chain rule on u = c(x + 0.044715x³)."""
    if approximate == "none":
        return (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi)) * (2 - x * x)
    c = math.sqrt(2 / math.pi)
    u1 = c * (1 + 3 * 0.044715 * x * x)
    u2 = c * 6 * 0.044715 * x
    t = (c * (x + 0.044715 * x * x * x)).tanh()
    return (1 - t * t) * (u1 - x * t * u1 * u1 + 0.5 * x * u2)


def relu(x):
    return Relu.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(to_float(x), negative_slope=negative_slope)


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, min=min, max=max)


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus.apply(to_float(x), beta=beta, threshold=threshold)


def gelu(x, approximate="none"):
    """GELU; approximate="none" is the exact erf form, "tanh" the tanh approximation."""
    if approximate not in _GELU_FORMS:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(to_float(x), approximate=approximate)


__all__ = ["relu", "leaky_relu", "clamp", "softplus", "gelu"]
