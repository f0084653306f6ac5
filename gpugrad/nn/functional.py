"""gpugrad.nn.functional: PyTorch's F.* for the ops gpugrad has."""
from .. import dtypes
from ..autograd import Function
from ..errors import ShapeError
from ..ops.activation import clamp, gelu, leaky_relu, relu, softplus  # noqa: F401
from ..ops.conv import conv2d, conv_transpose2d  # noqa: F401
from ..ops.elementwise import where
from ..ops.join import pad  # noqa: F401
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from ..ops.reduce import log_softmax, softmax  # noqa: F401
from ..ops.unary import sigmoid, tanh  # noqa: F401
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction, op, count=None):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / (loss.numel() if count is None else count)


def linear(input, weight, bias=None):
    """input @ weightᵀ + bias, weight of shape (out_features, in_features)."""
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 0} "
                         f"features but weight of shape {weight.shape} expects (out_features, in_features)"
                         f" with in_features = {weight.shape[-1]}")
    out = input @ weight.T
    return out if bias is None else out + bias


def mse_loss(input, target, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape {target.shape} differ")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def _class_target(input, target, op, ignore_index):
    """Check integer targets and flatten (N, C, d...) to rows: returns (logits2d, target1d)."""
    if not isinstance(target, Tensor) or target.dtype != dtypes.int64:
        got = target.dtype if isinstance(target, Tensor) else type(target).__name__
        raise TypeError(f"{op}: target must be an int64 tensor of class indices, got {got}")
    if not dtypes.is_float(input.dtype):
        raise TypeError(f"{op}: input must be float scores, got {input.dtype}")
    if input.ndim == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
    expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {input.shape} needs a target of shape {expected}, "
                         f"got {target.shape}")
    classes = input.shape[1]
    t = target._data
    bad = ((t < 0) | (t >= classes)) & (t != ignore_index)
    if bad.any():
        raise IndexError(f"{op}: target holds class {int(t[bad].reshape(-1)[0])} outside [0, {classes}) "
                         f"for input of shape {input.shape}")
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, classes)
        target = target.reshape(-1)
    return input, target


class SoftmaxCrossEntropy(Function):
    """Row losses of log-softmax + NLL in one fused kernel pass each way (the backend's kernels)."""
    once_differentiable = True

    @staticmethod
    def forward(ctx, logits, target, ignore_index, label_smoothing):
        loss, lse = ctx.kernels.softmax_xent_fwd(logits, target, ignore_index, label_smoothing)
        ctx.save_for_backward(logits)
        ctx.target, ctx.lse, ctx.params = target, lse, (ignore_index, label_smoothing)
        return loss

    @staticmethod
    def backward(ctx, g):
        (logits,) = ctx.saved_arrays
        return ctx.kernels.softmax_xent_bwd(logits, ctx.target, ctx.lse, g._data, *ctx.params)


def cross_entropy(input, target, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy from logits over dim 1 with integer targets, as torch.nn.functional.cross_entropy."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    shape = target.shape if isinstance(target, Tensor) else None
    logits, flat = _class_target(input, target, "cross_entropy", ignore_index)
    loss = SoftmaxCrossEntropy.apply(logits, target=flat._data, ignore_index=ignore_index,
                                     label_smoothing=float(label_smoothing))
    if reduction == "none":
        return loss.reshape(shape)
    return _reduce(loss, reduction, "cross_entropy", int((flat._data != ignore_index).sum()))


def nll_loss(input, target, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities `input` at the target classes."""
    shape = target.shape if isinstance(target, Tensor) else None
    logp, flat = _class_target(input, target, "nll_loss", ignore_index)
    xp = logp.backend.xp
    keep = flat._data != ignore_index
    picked = logp[xp.arange(logp.shape[0]), xp.where(keep, flat._data, 0)]
    loss = -where(Tensor._make(keep, logp.device), picked, 0.0)  # an ignored row's -inf stays out
    if reduction == "none":
        return loss.reshape(shape)
    return _reduce(loss, reduction, "nll_loss", int(keep.sum()))


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """-[p·y·log σ(x) + (1-y)·log(1-σ(x))]·w, computed stably with softplus."""
    if input.shape != target.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: input shape {input.shape} and target "
                         f"shape {target.shape} differ")
    log_sig_neg = softplus(-input)  # -log σ(x)
    if pos_weight is None:
        loss = (1 - target) * input + log_sig_neg
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * log_sig_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0
    keep = input.backend.rng.random(input.shape) >= p
    mask = input.backend.xp.asarray(keep, dtype=input.dtype) / (1 - p)
    return input * mask.astype(input.dtype, copy=False)


# --- the wider PyTorch surface: activations, norms, embeddings, resampling, 1-D ops, losses
# with PyTorch's full signatures (weight=, probability targets, legacy flags). The forms above
# stay reachable under private names, which the full versions call.
_cross_entropy_unweighted, _nll_loss_unweighted = cross_entropy, nll_loss
_bce_with_logits, _mse_loss = binary_cross_entropy_with_logits, mse_loss
from ..ops.activation_extra import elu, hardsigmoid, hardswish, hardtanh, mish, relu6, silu  # noqa: E402,F401
from ..ops.conv1d import avg_pool1d, conv1d, max_pool1d  # noqa: E402,F401
from ..ops.embedding import embedding, one_hot  # noqa: E402,F401
from ..ops.norm_layers import group_norm, layer_norm, normalize  # noqa: E402,F401
from ..ops.pad_modes import pad  # noqa: E402,F401,F811
from ..ops.resample import interpolate  # noqa: E402,F401
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: E402,F401,F811
                     cross_entropy, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
