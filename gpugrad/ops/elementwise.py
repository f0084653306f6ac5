"""Arithmetic: + - * / ** and unary minus, comparisons, maximum/minimum, where."""
import operator

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from ._args import as_tensor, binary_operands, cast


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g / b if ctx.needs_input_grad[0] else None,
                -g * a / (b * b) if ctx.needs_input_grad[1] else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        xp = ctx.xp
        # PyTorch's conventions where the formulas give 0·inf: d(a^0)/da = 0 and d(0^b)/db = 0
        # for b >= 0 (for b < 0 it stays inf·log 0 = -inf, as in PyTorch)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g * where(Tensor._make(b._data == 0, b.device), 0.0, b * a ** (b - 1))
        if ctx.needs_input_grad[1]:
            zero_base = xp.broadcast_to((a._data == 0) & (b._data >= 0), out.shape)
            gb = g * where(Tensor._make(zero_base, a.device), 0.0, out * a.log())
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Maximum(Function):
    """Elementwise max; at ties the gradient is split evenly, as in PyTorch."""
    pick, wins = "maximum", operator.gt  # the array function, and where a alone gets the gradient

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(ctx.xp, ctx.fn.pick)(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_arrays
        share = ctx.fn.wins(a, b) + 0.5 * (a == b)
        return g * share.astype(g.dtype), g * (1 - share).astype(g.dtype)


class Minimum(Maximum):
    """Elementwise min, exact at the int64 minimum and on bools; ties split as in Maximum."""
    pick, wins = "minimum", operator.lt


class Where(Function):
    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.save_for_backward(cond)
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        cond, = ctx.saved_arrays
        mask = cond.astype(g.dtype)
        return g * mask, g * (1 - mask), None


class Compare(Function):
    differentiable = False

    @staticmethod
    def forward(ctx, a, b, op):
        return getattr(a, op)(b)


def add(a, b, alpha=1):
    a, b = binary_operands(a, b, "add")
    return Add.apply(a, b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    a, b = binary_operands(a, b, "sub")
    return Sub.apply(a, b if alpha == 1 else b * alpha)


def mul(a, b):
    return Mul.apply(*binary_operands(a, b, "mul"))


def div(a, b):
    """True division; integer operands give the default float dtype, as in PyTorch."""
    return Div.apply(*binary_operands(a, b, "div", float_only=True))


def pow(a, b):
    a, b = binary_operands(a, b, "pow")
    if dtypes.is_float(b.dtype) or not dtypes.is_float(a.dtype):
        return Pow.apply(a, b)
    return Pow.apply(a, cast(b, a.dtype))


def neg(a):
    return Neg.apply(a)


def maximum(a, b):
    return Maximum.apply(*binary_operands(a, b, "maximum"))


def minimum(a, b):
    return Minimum.apply(*binary_operands(a, b, "minimum"))


def where(condition, a, b):
    """a where condition else b (condition: a bool tensor), broadcast together."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        if not isinstance(condition, Tensor):
            raise TypeError("where: the condition or one of the two values must be a tensor")
        a = as_tensor(a, condition)  # scalars on both sides: their own dtype, condition's device
    a, b = binary_operands(a, b, "where")
    cond = as_tensor(condition, a)
    if cond.dtype != dtypes.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    return Where.apply(a, b, cond)


def compare(a, b, op):
    """Elementwise comparison (`op` is an ndarray dunder name such as '__lt__'); no gradient."""
    a, b = binary_operands(a, b, op.strip("_"))
    return Compare.apply(a, b, op=op)


__all__ = ["add", "sub", "mul", "div", "pow", "neg", "maximum", "minimum", "where", "compare"]
