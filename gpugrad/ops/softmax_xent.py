"""Softmax cross-entropy per row: log-softmax + NLL, with ignore_index and label smoothing.

With q = (1-eps)·onehot(target) + eps/K, a row's loss is -Σ_k q_k log softmax(x)_k and its
gradient softmax(x) - q (0 on an ignored row). Forward and plain backward are one fused kernel
pass each (the backend's `softmax_xent_fwd/bwd`); a backward that builds a graph
(create_graph=True) writes the same formula with Tensor ops, so it can be differentiated again.
"""
from ..autograd import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from .reduce import softmax


class SoftmaxCrossEntropy(Function):
    """Row losses (N,) of logits (N, K) against int64 class indices `target` (N,)."""

    @staticmethod
    def forward(ctx, logits, target, ignore_index, label_smoothing):
        loss, lse = ctx.kernels.softmax_xent_fwd(logits, target, ignore_index, label_smoothing)
        ctx.save_for_backward(logits, target, lse)
        ctx.params = (ignore_index, label_smoothing)
        return loss

    @staticmethod
    def backward(ctx, g):
        logits, target, lse = ctx.saved_tensors
        ignore_index, eps = ctx.params
        if not is_grad_enabled():
            return ctx.kernels.softmax_xent_bwd(logits._data, target._data, lse._data, g._data, ignore_index, eps)
        xp, (n, k) = ctx.xp, logits.shape
        keep = target._data != ignore_index
        q = xp.zeros((n, k), logits.dtype)
        q[xp.arange(n), xp.where(keep, target._data, 0)] = 1 - eps
        q = (q + eps / k) * keep[:, None]
        mask = Tensor._make(keep[:, None].astype(logits.dtype), ctx.device)
        return g.reshape(n, 1) * (softmax(logits, 1) * mask - Tensor._make(q, ctx.device))
