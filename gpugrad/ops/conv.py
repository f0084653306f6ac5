"""conv2d and conv_transpose2d on the backend's three conv kernels, with the gradients of
adamtiger/autograd's derivation of the convolution gradients.

With Y = conv(X, W):
- dL/dX is the transposed convolution of G with W (`conv_dgrad`, gather form);
- dL/dW is the dilated weight-gradient convolution of X with G, batch and channels swapped,
  stride and dilation trading places, cropped to the kernel (`conv_wgrad`).
The three kernels are bilinear in their two tensor operands, so each one's backward is made of
the other two: conv2d, conv_transpose2d and both gradients are differentiable any number of
times, and the op code is the same on every device. Which implementation (route) computes each
kernel is chosen in gpugrad.backends.algorithms.
"""
from ..autograd import Function
from ..autograd.grad_mode import is_grad_enabled
from ..backends import algorithms
from ..backends.conv_params import check_conv2d_args, conv_output_size, normalize_pair
from ._args import unbatched_too
from ..errors import ShapeError
from .join import pad as pad_op
from .reduce import sum_array


class Conv(Function):
    """y = conv(x, w) (+ b per output channel). The bias is added into the kernel's result, and
    its gradient is g summed over batch and positions: a broadcast add was a temporary as large
    as y plus three more nodes (reshape, add, and the engine's sum back to the bias shape)."""

    @staticmethod
    def forward(ctx, x, w, b=None, *, params):
        ctx.save_for_backward(x, w)
        ctx.params = params  # (stride, padding, dilation, groups)
        if x.size == 0 or w.size == 0:
            stride, padding, dilation, _ = params
            size = [conv_output_size(*a) for a in zip(x.shape[2:], w.shape[2:], stride, padding, dilation)]
            y = _zeros(ctx, (x.shape[0], w.shape[0], *size), x.dtype)
        else:
            y = algorithms.run(ctx.kernels, "conv2d_forward", x, w, *params)
        if b is not None:
            y += b.reshape(-1, 1, 1)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph: ops, differentiable again
            gx = ConvDgrad.apply(g, w, x_shape=x.shape, params=ctx.params) if needs[0] else None
            gw = ConvWgrad.apply(x, g, kernel=w.shape[2:], params=ctx.params) if needs[1] else None
            gb = g.sum((0, 2, 3)) if len(needs) == 3 and needs[2] else None
        else:  # the kernels on arrays: no nodes to build
            gx = _dgrad(ctx, g._data, w._data, x.shape, ctx.params) if needs[0] else None
            gw = _wgrad(ctx, x._data, g._data, w.shape[2:], ctx.params) if needs[1] else None
            gb = sum_array(g._data, (0, 2, 3)) if len(needs) == 3 and needs[2] else None
        return (gx, gw) if len(needs) == 2 else (gx, gw, gb)


class ConvDgrad(Function):
    """gx = conv_dgrad(g, w): the transposed convolution (also conv_transpose2d's forward)."""

    @staticmethod
    def forward(ctx, g, w, x_shape, params):
        ctx.save_for_backward(g, w)
        ctx.params = params
        return _dgrad(ctx, g, w, x_shape, params)

    @staticmethod
    def backward(ctx, ggx):
        g, w = ctx.saved_tensors
        dg = Conv.apply(ggx, w, params=ctx.params) if ctx.needs_input_grad[0] else None
        dw = ConvWgrad.apply(ggx, g, kernel=w.shape[2:], params=ctx.params) if ctx.needs_input_grad[1] else None
        return dg, dw


class ConvWgrad(Function):
    """gw = conv_wgrad(x, g): the dilated weight-gradient convolution."""

    @staticmethod
    def forward(ctx, x, g, kernel, params):
        ctx.save_for_backward(x, g)
        ctx.params = params
        return _wgrad(ctx, x, g, kernel, params)

    @staticmethod
    def backward(ctx, ggw):
        x, g = ctx.saved_tensors
        dx = ConvDgrad.apply(g, ggw, x_shape=x.shape, params=ctx.params) if ctx.needs_input_grad[0] else None
        dg = Conv.apply(x, ggw, params=ctx.params) if ctx.needs_input_grad[1] else None
        return dx, dg


def _dgrad(ctx, g, w, x_shape, params):
    """The input gradient (the transposed convolution) of arrays g and w."""
    if g.size == 0 or w.size == 0:
        return _zeros(ctx, tuple(x_shape), g.dtype)
    return algorithms.run(ctx.kernels, "conv_dgrad", g, w, tuple(x_shape), *params)


def _wgrad(ctx, x, g, kernel, params):
    """The weight gradient of arrays x and g."""
    if x.size == 0 or g.size == 0:
        return _zeros(ctx, (g.shape[1], x.shape[1] // params[3], *kernel), x.dtype)
    return algorithms.run(ctx.kernels, "conv_wgrad", x, g, kernel[0], kernel[1], *params)


def _zeros(ctx, shape, dtype):
    """What a convolution with an empty operand (batch 0, 0 channels) gives: a sum over nothing
    for every output, without calling a kernel (they need at least one element)."""
    return ctx.xp.zeros(shape, dtype)


def _conv_inputs(op, input, weight):
    for name, t in (("input", input), ("weight", weight)):
        if not t.dtype.kind == "f":
            raise TypeError(f"{op}: {name} must be float32 or float64, got {t.dtype}")
    if input.dtype != weight.dtype:
        raise TypeError(f"{op}: input is {input.dtype} but weight is {weight.dtype}; convert one with .to()")


def _check_bias(bias, channels, op):
    if bias.shape != (channels,):
        raise ShapeError(f"{op}: bias must have shape ({channels},), got {bias.shape}")


def _add_bias(out, bias, op):
    if bias is None:
        return out
    _check_bias(bias, out.shape[1], op)
    return out + bias.reshape(1, -1, 1, 1)


@unbatched_too
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of NCHW `input` with `weight` (out_channels, in_channels/groups, kH, kW).

    stride, padding, dilation: an int or a pair; padding also "valid" or "same" (stride 1).
    """
    _conv_inputs("conv2d", input, weight)
    stride, (top, bottom, left, right), dilation = check_conv2d_args(
        input.shape, weight.shape, stride, padding, dilation, groups)
    if (top, left) != (bottom, right):  # "same" with an even kernel pads one more at the end
        input = pad_op(input, (left, right, top, bottom))
        top = bottom = left = right = 0
    params = (stride, (top, left), dilation, groups)
    if bias is None:
        return Conv.apply(input, weight, params=params)
    _check_bias(bias, weight.shape[0], "conv2d")
    if bias.dtype != input.dtype:  # added outside, with type promotion
        return Conv.apply(input, weight, params=params) + bias.reshape(1, -1, 1, 1)
    return Conv.apply(input, weight, bias, params=params)


@unbatched_too
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The adjoint of conv2d: weight is (in_channels, out_channels/groups, kH, kW), as in PyTorch."""
    _conv_inputs("conv_transpose2d", input, weight)
    if weight.ndim != 4:
        raise ShapeError(f"conv_transpose2d: weight must be 4-D, got {weight.shape} (input {input.shape})")
    stride, padding = normalize_pair("stride", stride), normalize_pair("padding", padding)
    dilation, out_pad = normalize_pair("dilation", dilation), normalize_pair("output_padding", output_padding)
    if input.shape[1] != weight.shape[0]:
        raise ShapeError(f"conv_transpose2d: input has {input.shape[1]} channels but weight of shape "
                         f"{weight.shape} expects {weight.shape[0]}")
    if any(p >= max(s, d) for p, s, d in zip(out_pad, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {out_pad} must be smaller than stride {stride} "
                         f"or dilation {dilation}")
    size = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1
            for n, s, p, d, k, op in zip(input.shape[2:], stride, padding, dilation, weight.shape[2:], out_pad)]
    x_shape = (input.shape[0], weight.shape[1] * groups, *size)
    check_conv2d_args(x_shape, weight.shape, stride, padding, dilation, groups)
    out = ConvDgrad.apply(input, weight, x_shape=x_shape, params=(stride, padding, dilation, groups))
    return _add_bias(out, bias, "conv_transpose2d")


__all__ = ["conv2d", "conv_transpose2d"]
