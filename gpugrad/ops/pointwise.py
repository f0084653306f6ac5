"""More elementwise math: log2 log1p expm1 rsqrt reciprocal square erf, the rounding family
(floor ceil round trunc sign: gradient zero, as in PyTorch), remainder and floor division,
bitwise/logical operators, and the float tests isnan isinf isfinite isclose allclose."""
import math

from .. import dtypes
from ..autograd import Function
from ._args import binary_operands, norm_dims
from .unary import _unary


class Log2(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log2(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x * math.log(2))


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x + 1)


class Expm1(Function):
    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * (out + 1)


class Rsqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = 1 / ctx.xp.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * out * out * -0.5


class Reciprocal(Function):
    @staticmethod
    def forward(ctx, x):
        out = 1 / x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return -g * out * out


class Erf(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf(ctx.xp, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x * x * -1).exp() * (2 / math.sqrt(math.pi))


def _erf(xp, x):
    """erf on NumPy (SciPy, a dependency of mlxtend) or CuPy (cupyx) arrays, in x's dtype."""
    if xp.__name__ == "numpy":
        from scipy.special import erf
    else:
        from cupyx.scipy.special import erf
    return erf(x).astype(x.dtype, copy=False)


class Rounding(Function):
    """floor/ceil/round/trunc/sign: piecewise constant, so the gradient is zero everywhere."""

    @staticmethod
    def forward(ctx, x, fn, decimals=0):
        if fn == "round":
            return ctx.xp.round(x, decimals)
        return getattr(ctx.xp, fn)(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0


class Remainder(Function):
    """a - floor(a / b) * b, with the sign of the divisor (Python's and PyTorch's %)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g, -g * (a / b).floor() if ctx.needs_input_grad[1] else None


class Elementwise(Function):
    """A NumPy/CuPy ufunc without a gradient (floor division, bitwise ops, float tests)."""
    differentiable = False

    @staticmethod
    def forward(ctx, *arrays, fn, **kwargs):
        return getattr(ctx.xp, fn)(*arrays, **kwargs)


log2, log1p, expm1 = _unary(Log2), _unary(Log1p), _unary(Expm1)
rsqrt, reciprocal, erf = _unary(Rsqrt), _unary(Reciprocal), _unary(Erf)


def square(x):
    return x * x


def _rounding(fn):
    def op(x):
        return x if not dtypes.is_float(x.dtype) and fn != "sign" else Rounding.apply(x, fn=fn)
    op.__name__ = fn
    return op


floor, ceil, trunc, sign = _rounding("floor"), _rounding("ceil"), _rounding("trunc"), _rounding("sign")


def round(x, decimals=0):  # noqa: A001
    """Half to even, as in PyTorch and NumPy."""
    return x if not dtypes.is_float(x.dtype) else Rounding.apply(x, fn="round", decimals=decimals)


def remainder(a, b):
    return Remainder.apply(*binary_operands(a, b, "remainder"))


def floor_divide(a, b):
    return Elementwise.apply(*binary_operands(a, b, "floor_divide"), fn="floor_divide")


def _bitwise(name, fn):
    def op(a, b):
        a, b = binary_operands(a, b, name)
        if dtypes.is_float(a.dtype):
            raise TypeError(f"{name}: not implemented for floating point tensors ({a.dtype}); use bool or int64")
        return Elementwise.apply(a, b, fn=fn)
    op.__name__ = name
    return op


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")


def bitwise_not(x):
    if dtypes.is_float(x.dtype):
        raise TypeError(f"bitwise_not: not implemented for floating point tensors ({x.dtype}); use bool or int64")
    return Elementwise.apply(x, fn="invert")


def logical_not(x):
    return Elementwise.apply(x, fn="logical_not")


def isnan(x):
    return Elementwise.apply(x, fn="isnan")


def isinf(x):
    return Elementwise.apply(x, fn="isinf")


def isfinite(x):
    return Elementwise.apply(x, fn="isfinite")


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol·|b| elementwise (PyTorch's and NumPy's rule)."""
    a, b = binary_operands(a, b, "isclose")
    return Elementwise.apply(a, b, fn="isclose", rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """A Python bool: isclose everywhere."""
    return bool(isclose(a, b, rtol, atol, equal_nan)._data.all())


__all__ = ["log2", "log1p", "expm1", "rsqrt", "reciprocal", "erf", "square", "floor", "ceil", "trunc",
           "sign", "round", "remainder", "floor_divide", "bitwise_and", "bitwise_or", "bitwise_xor",
           "bitwise_not", "logical_not", "isnan", "isinf", "isfinite", "isclose", "allclose"]


def all(x, dim=None, keepdim=False):  # noqa: A001
    """True where every element (along dim) is nonzero."""
    return Elementwise.apply(x, fn="all", axis=norm_dims(dim, x.ndim, "all"), keepdims=keepdim)


def any(x, dim=None, keepdim=False):  # noqa: A001
    """True where some element (along dim) is nonzero."""
    return Elementwise.apply(x, fn="any", axis=norm_dims(dim, x.ndim, "any"), keepdims=keepdim)


__all__ += ["all", "any"]
