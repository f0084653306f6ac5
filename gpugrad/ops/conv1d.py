"""conv1d, max_pool1d, avg_pool1d: the 2-D kernels on (N, C, 1, L), a height-1 image."""
from .conv import conv2d
from .pool import avg_pool2d, max_pool2d


def _one(name, v):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(v) != 1:
        raise ValueError(f"{name} must be an int or a 1-tuple for a 1-D op, got {v}")
    return v[0]


def _check3d(op, input):
    if input.ndim != 3:
        raise RuntimeError(f"{op}: expected a 3-D (N, C, L) input, got shape {input.shape}")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) input with weight (out_channels, in_channels/groups, k)."""
    _check3d("conv1d", input)
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: weight must be 3-D (out, in/groups, k), got shape {weight.shape}")
    pad = padding if isinstance(padding, str) else (0, _one("padding", padding))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _one("stride", stride)), pad,
                 (1, _one("dilation", dilation)), groups)
    return out.squeeze(2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    _check3d("max_pool1d", input)
    k = _one("kernel_size", kernel_size)
    s = k if stride is None or stride == () else _one("stride", stride)
    out = max_pool2d(input.unsqueeze(2), (1, k), (1, s), (0, _one("padding", padding)),
                     (1, _one("dilation", dilation)), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(2), out[1].squeeze(2)
    return out.squeeze(2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    _check3d("avg_pool1d", input)
    k = _one("kernel_size", kernel_size)
    s = k if stride is None or stride == () else _one("stride", stride)
    return avg_pool2d(input.unsqueeze(2), (1, k), (1, s), (0, _one("padding", padding)), ceil_mode,
                      count_include_pad).squeeze(2)


__all__ = ["conv1d", "max_pool1d", "avg_pool1d"]
