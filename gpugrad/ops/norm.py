"""batch_norm: training statistics (and running-stat updates) or eval with running stats."""
from ..autograd.grad_mode import no_grad


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
    if training and count == 0:
        out = input  # an empty batch: nothing to normalise, the running statistics stay (as PyTorch)
    elif training:
        if count == 1:
            raise ValueError(f"batch_norm: training needs more than 1 value per channel, got input {input.shape}")
        mean = input.mean(dims, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(dims, keepdim=True)
        if running_mean is not None:
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean.reshape(c).detach() * momentum)
                running_var.mul_(1 - momentum).add_(var.reshape(c).detach() * (momentum * count / (count - 1)))
        out = centered / (var + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var")
        out = (input - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


__all__ = ["batch_norm"]
