"""Convolution and pooling parameters: normalisation, output sizes, validation.

Device-neutral and NumPy-free, so the op layer and every backend agree on shapes and
reject the same bad arguments with the same messages before any kernel runs.
"""
import operator

from ..errors import ShapeError


def normalize_pair(name, v):
    """Return `v` (an int or a pair of ints) as an (h, w) tuple of ints."""
    try:
        if isinstance(v, (tuple, list)):
            if len(v) != 2:
                raise TypeError
            return (operator.index(v[0]), operator.index(v[1]))
        return (operator.index(v),) * 2
    except TypeError:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}") from None


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """PyTorch's convolution output length; `padding` is per side or a (before, after) pair."""
    before, after = padding if isinstance(padding, (tuple, list)) else (padding, padding)
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output length: with ceil_mode the last window must start inside
    the input or the left padding, otherwise it is dropped."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def resolve_padding(padding, kernel, stride, dilation):
    """Per-side padding (top, bottom, left, right) for an int, a pair, "valid" or "same".

    "same" follows PyTorch: total padding dilation*(k-1) per axis, the odd extra element
    goes to the bottom/right; the op layer pads asymmetrically when top != bottom.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f'padding must be an int, a pair, "valid" or "same", got {padding!r}')
        if stride != (1, 1):
            raise ValueError(f'padding="same" needs stride 1, got stride={stride}')
        sides = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            sides += [total // 2, total - total // 2]
        return tuple(sides)
    ph, pw = normalize_pair("padding", padding)
    return (ph, ph, pw, pw)


def check_conv2d_args(x_shape, w_shape, stride, padding, dilation, groups):
    """Validate conv2d arguments; return (stride, (top, bottom, left, right), dilation).

    Raises ValueError naming the offending parameter and both shapes.
    """
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    shapes = f"(input shape {x_shape}, weight shape {w_shape})"
    if len(w_shape) != 4:
        raise ShapeError(f"weight must be 4-D (out_channels, in_channels/groups, kH, kW) {shapes}")
    if len(x_shape) != 4:
        raise ShapeError(f"input must be 4-D NCHW {shapes}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a positive int, got groups={groups!r} {shapes}")
    stride = normalize_pair("stride", stride)
    dilation = normalize_pair("dilation", dilation)
    if min(stride) < 1:
        raise ValueError(f"stride must be >= 1, got stride={stride} {shapes}")
    if min(dilation) < 1:
        raise ValueError(f"dilation must be >= 1, got dilation={dilation} {shapes}")
    kernel = w_shape[2:]
    if min(kernel) < 1:
        raise ValueError(f"weight kernel size must be >= 1, got {kernel} {shapes}")
    pads = resolve_padding(padding, kernel, stride, dilation)
    if min(pads) < 0:
        raise ValueError(f"padding must be >= 0, got padding={padding!r} {shapes}")
    if x_shape[1] % groups or w_shape[0] % groups:
        raise ShapeError(f"groups={groups} must divide in_channels={x_shape[1]} and "
                         f"out_channels={w_shape[0]} {shapes}")
    channels = w_shape[1] * groups
    if x_shape[1] != channels and x_shape[3] == channels:
        raise ShapeError(f"input looks like NHWC: it has weight.shape[1]*groups={channels} channels "
                         f"in its last axis; conv2d expects NCHW, use x.transpose(0, 3, 1, 2) {shapes}")
    if x_shape[1] != channels:
        raise ShapeError(f"input channels {x_shape[1]} != weight.shape[1]*groups = {channels} {shapes}")
    for axis, size, k, d, before, after in (("height", x_shape[2], kernel[0], dilation[0], *pads[:2]),
                                            ("width", x_shape[3], kernel[1], dilation[1], *pads[2:])):
        if d * (k - 1) + 1 > size + before + after:
            raise ShapeError(f"kernel size: effective {axis} dilation*(k-1)+1 = {d * (k - 1) + 1} is larger "
                             f"than the padded input {axis} {size + before + after} {shapes}")
    return stride, pads, dilation
