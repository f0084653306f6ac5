"""matmul with NumPy's rules: 1-D operands promoted then squeezed, batch dims broadcast; and
linear's one-op form for matrices.

dL/dA = G·Bᵀ and dL/dB = Aᵀ·G (adamtiger/autograd's tensor-notation derivation; Peter Vincent's
"Auto-differentiation" notes); a broadcast batch dim is summed back to the operand's shape by
the engine, not here.
"""
import numpy as np

from .. import dtypes
from ..autograd import Function
from ..autograd.grad_mode import is_grad_enabled
from ..backends import algorithms
from ..errors import ShapeError
from ._args import promote_pair
from .reduce import sum_array


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return algorithms.run(ctx.kernels, "matmul", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g @ b.transpose(-1, -2) if ctx.needs_input_grad[0] else None
        gb = a.transpose(-1, -2) @ g if ctx.needs_input_grad[1] else None
        return ga, gb


class Linear(Function):
    """y = x @ wᵀ (+ b) for a matrix x and weight w: one GEMM with the bias added into its
    result, as PyTorch's addmm, where a transpose, a matmul and a broadcast add were three ops
    and a temporary (LeNet's three layers: about 0.4 ms of a 13 ms CPU step). The backward is
    made of matmuls and a sum, so it differentiates again."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.save_for_backward(x, w)
        y = algorithms.run(ctx.kernels, "matmul", x, w.T)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph: ops, differentiable again
            gx = g @ w if needs[0] else None
            gw = g.transpose(0, 1) @ x if needs[1] else None
            gb = g.sum(0) if len(needs) == 3 and needs[2] else None
        else:  # the GEMMs on arrays: no nodes to build
            ga = g._data
            gx = algorithms.run(ctx.kernels, "matmul", ga, w._data) if needs[0] else None
            gw = algorithms.run(ctx.kernels, "matmul", ga.T, x._data) if needs[1] else None
            gb = sum_array(ga, 0) if len(needs) == 3 and needs[2] else None
        return (gx, gw) if len(needs) == 2 else (gx, gw, gb)


def linear_op(x, w, b=None):
    """Linear.apply when x and w are matrices and b (if any) one row, all of one floating dtype
    (the bias is added in place, so it must not promote); None otherwise."""
    if x.ndim != 2 or w.ndim != 2 or not dtypes.is_float(x.dtype) or w.dtype != x.dtype:
        return None
    if b is None:
        return Linear.apply(x, w)
    if b.shape != (w.shape[0],) or b.dtype != x.dtype:
        return None
    return Linear.apply(x, w, b)


def matmul(a, b):
    a, b = promote_pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ShapeError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape} "
                         f"({a2.shape[-1]} != {b2.shape[-2]})")
    if a2.ndim > 2 or b2.ndim > 2:
        try:
            np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        except ValueError:
            raise ShapeError(f"matmul: batch dims of {a.shape} and {b.shape} are not broadcastable") from None
    out = MatMul.apply(a2, b2)
    if a.ndim == 1:
        out = out.squeeze(-2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    return out


def mm(a, b):
    """Matrix product of two 2-D tensors (PyTorch's mm: no broadcasting, no 1-D)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: both operands must be matrices, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


__all__ = ["linear_op", "matmul", "mm"]
