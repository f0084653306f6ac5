"""gpugrad.nn.functional: PyTorch's F.* for the ops gpugrad has."""
from .. import cuda
from ..backends import counter_rng
from ..errors import ShapeError
from ..ops.activation import clamp, gelu, leaky_relu, relu, softplus  # noqa: F401
from ..ops.activation_extra import elu, hardsigmoid, hardswish, hardtanh, mish, relu6, silu  # noqa: F401
from ..ops.conv import conv2d, conv_transpose2d  # noqa: F401
from ..ops.conv1d import avg_pool1d, conv1d, max_pool1d  # noqa: F401
from ..ops.embedding import embedding, one_hot  # noqa: F401
from ..ops.matmul import linear_op
from ..ops.norm import batch_norm  # noqa: F401
from ..ops.norm_layers import group_norm, layer_norm, normalize  # noqa: F401
from ..ops.pad_modes import pad  # noqa: F401
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from ..ops.reduce import log_softmax, softmax  # noqa: F401
from ..ops.resample import interpolate  # noqa: F401
from ..ops.unary import sigmoid, tanh  # noqa: F401
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                     cross_entropy, l1_loss, mse_loss, nll_loss, smooth_l1_loss)


def linear(input, weight, bias=None):
    """input @ weightᵀ + bias, weight of shape (out_features, in_features), or (in_features,)
    for one output without its dim (as PyTorch)."""
    if weight.ndim not in (1, 2) or input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ShapeError(f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 0} "
                         f"features but weight of shape {weight.shape} expects (out_features, in_features)"
                         f" or (in_features,) with in_features = {weight.shape[-1] if weight.ndim else 0}")
    fused = linear_op(input, weight, bias)
    if fused is not None:
        return fused
    out = input @ weight.T
    return out if bias is None else out + bias


def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0
    if input.device.type == "cuda" and cuda.is_current_stream_capturing():
        keep = counter_rng.uniform(input.backend, input.shape, input.dtype) >= p  # advances per replay
    else:
        keep = input.backend.rng.random(input.shape) >= p
    mask = input.backend.xp.asarray(keep, dtype=input.dtype) / (1 - p)
    return input * mask.astype(input.dtype, copy=False)
