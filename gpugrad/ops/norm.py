"""batch_norm: training statistics (and running-stat updates) or eval with running stats.

Training runs as one Function on the backend's batch-norm kernels (ctx.kernels.batch_norm_fwd
and batch_norm_bwd: one pass for the statistics and one for the output each way); the same
normalisation composed of Tensor ops recorded about fifteen nodes, whose backward took most of
a small CNN's step. A second derivative (create_graph) differentiates that composed form
again, so batch norm stays twice differentiable.
"""
from ..autograd import Function
from ..autograd.functional import grad as autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ._args import to_float


class BatchNormTrain(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias with the batch's statistics; extras are
    the per-channel mean and biased variance (for the running statistics)."""

    @staticmethod
    def forward(ctx, x, *affine, has_weight, eps):
        weight = affine[0] if has_weight else None
        bias = affine[-1] if len(affine) > has_weight else None
        y, mean, var, invstd = ctx.kernels.batch_norm_fwd(x, weight, bias, eps)
        ctx.save_for_backward(x, mean, invstd, *affine)
        ctx.dims, ctx.has_weight, ctx.eps = (0,) + tuple(range(2, x.ndim)), has_weight, eps
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, g):
        x, mean, invstd, *affine = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: the composed form, differentiable again
            return _composed_vjp(ctx, x, affine, g)
        weight = affine[0]._data if ctx.has_weight else None
        gx, gw, gb = ctx.kernels.batch_norm_bwd(x._data, g._data, mean._data, invstd._data, weight)
        need = ctx.needs_input_grad
        out = [gx if need[0] else None]
        if ctx.has_weight:
            out.append(gw if need[1] else None)
        if len(affine) > ctx.has_weight:
            out.append(gb if need[-1] else None)
        return tuple(out)


def _composed_vjp(ctx, x, affine, g):
    weight = affine[0] if ctx.has_weight else None
    bias = affine[-1] if len(affine) > ctx.has_weight else None
    inputs = [x, *affine]
    wanted = [t for t, need in zip(inputs, ctx.needs_input_grad) if need]
    with enable_grad():
        y = _normalise(x, x.mean(ctx.dims, keepdim=True), None, weight, bias, ctx.dims, ctx.eps)
    grads = iter(autograd_grad(y, wanted, g, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in ctx.needs_input_grad)


def _normalise(input, mean, var, weight, bias, dims, eps):
    """The composed form: (input - mean) / sqrt(var + eps) * weight + bias; var None: the
    biased variance of the batch."""
    shape = mean.shape
    centered = input - mean
    if var is None:
        var = (centered * centered).mean(dims, keepdim=True)
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise over every dim but the channel dim 1, as torch.nn.functional.batch_norm.

    In training the batch's biased variance normalises, and the running variance is updated
    with the unbiased one (in place, without gradient).
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must have a channel dim 1, got shape {input.shape}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input {input.shape}, got {t.shape}")
    if training and not eps > 0:
        raise ValueError(f"batch_norm: eps must be positive during training, got {eps}")
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    count = input.numel() // c if c else 0
    if training and count == 0:  # an empty batch: nothing to normalise, the running statistics stay (as PyTorch)
        zero = input.detach().sum(dims, keepdim=True)
        return _normalise(input, zero, zero + 1, weight, bias, dims, eps)
    if training:
        if count == 1:
            raise ValueError(f"batch_norm: training needs more than 1 value per channel, got input {input.shape}")
        affine = [t for t in (weight, bias) if t is not None]
        out, mean, var = BatchNormTrain.apply(to_float(input), *affine, has_weight=weight is not None, eps=eps)
        if running_mean is not None:
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean * momentum)
                running_var.mul_(1 - momentum).add_(var * (momentum * count / (count - 1)))
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: eval mode needs running_mean and running_var")
    return _eval_affine(input, running_mean, running_var, weight, bias, shape, eps)


def _eval_affine(input, mean, var, weight, bias, shape, eps):
    """Eval mode, as PyTorch's CPU kernel: a per-channel scale weight/sqrt(var + eps) and shift
    bias - mean*scale from the small statistics, then one multiply and one add over the input.
    The composed form made four passes over it, each with a temporary: 130 of the 180 ms the
    default recipe's evaluation of 1,000 test images took."""
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


__all__ = ["batch_norm"]
