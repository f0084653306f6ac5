"""matmul with NumPy's rules: 1-D operands promoted then squeezed, batch dims broadcast.

dL/dA = G·Bᵀ and dL/dB = Aᵀ·G (adamtiger/autograd's tensor-notation derivation; Peter Vincent's
"Auto-differentiation" notes); a broadcast batch dim is summed back to the operand's shape by
the engine, not here.
"""
import numpy as np

from ..autograd import Function
from ..backends import algorithms
from ..errors import ShapeError
from ._args import promote_pair


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


def matmul(a, b):
    a, b = promote_pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} and {b.shape}")
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ShapeError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape} "
                         f"({a2.shape[-1]} != {b2.shape[-2]})")
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


__all__ = ["matmul"]
