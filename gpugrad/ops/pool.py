"""Pooling: max_pool2d (fused kernels with argmax), avg_pool2d, adaptive_avg_pool2d."""
import numpy as np

from ..autograd import Function
from ..autograd.grad_mode import is_grad_enabled
from ..backends.conv_params import normalize_pair, pool_output_size
from ._args import unbatched_too


class MaxPool(Function):
    """Each output is its window's max; backward routes the gradient to the argmax (PyTorch's ties)."""

    @staticmethod
    def forward(ctx, x, params):
        y, argmax = ctx.kernels.maxpool2d_fwd(x, *params)
        ctx.save_for_backward(argmax)
        ctx.mark_non_differentiable(argmax)
        ctx.in_shape = x.shape
        return y, argmax

    @staticmethod
    def backward(ctx, g):
        argmax, = ctx.saved_arrays
        if is_grad_enabled():  # create_graph
            return MaxUnpool.apply(g, argmax=argmax, shape=ctx.in_shape)
        return ctx.kernels.maxpool2d_bwd(g._data, argmax, tuple(ctx.in_shape))


class MaxUnpool(Function):
    """Scatter g to the argmax positions (max-pool's backward); its adjoint gathers them back."""

    @staticmethod
    def forward(ctx, g, argmax, shape):
        ctx.save_for_backward(argmax)
        return ctx.kernels.maxpool2d_bwd(g, argmax, tuple(shape))

    @staticmethod
    def backward(ctx, gg):
        argmax, = ctx.saved_arrays
        n, c = gg.shape[:2]
        flat = gg.reshape(n, c, -1)
        return flat[ctx.xp.arange(n)[:, None, None], ctx.xp.arange(c)[None, :, None],
                    argmax.reshape(n, c, -1)].reshape(argmax.shape)


def _pool_params(op, x, kernel_size, stride, padding, dilation):
    kernel = normalize_pair("kernel_size", kernel_size)
    stride = kernel if stride is None or stride == () else normalize_pair("stride", stride)
    padding, dilation = normalize_pair("padding", padding), normalize_pair("dilation", dilation)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dilation} must be >= 1")
    if any(p < 0 or p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be between 0 and half the kernel size {kernel}")
    return kernel, stride, padding, dilation


@unbatched_too
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """PyTorch's max_pool2d (NaN wins, ties keep the first). A window that dilation makes skip
    every input element gives -inf, index -1 and no gradient, where PyTorch's index points
    outside the window."""
    kernel, stride, padding, dilation = _pool_params("max_pool2d", input, kernel_size, stride, padding, dilation)
    out_hw = [pool_output_size(n, k, s, p, d, ceil_mode)
              for n, k, s, p, d in zip(input.shape[2:], kernel, stride, padding, dilation)]
    if min(out_hw) < 1:
        raise ValueError(f"max_pool2d: kernel_size {kernel} (dilation {dilation}) is larger than the padded "
                         f"input of shape {input.shape}")
    out, indices = MaxPool.apply(input, params=(kernel, stride, padding, dilation, ceil_mode))
    return (out, indices) if return_indices else out


@unbatched_too
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Window means; with count_include_pad=False the padding is left out of each divisor."""
    from .conv import conv2d
    kernel, stride, padding, _ = _pool_params("avg_pool2d", input, kernel_size, stride, padding, 1)
    n, c, h, w = input.shape
    if ceil_mode:
        return _avg_pool2d_ceil(input, kernel, stride, padding, count_include_pad)
    if kernel == stride and padding == (0, 0) and h % kernel[0] == 0 and w % kernel[1] == 0:
        return input.reshape(n, c, h // kernel[0], kernel[0], w // kernel[1], kernel[1]).mean((3, 5))
    ones = input.backend.xp.ones((c, 1) + kernel, dtype=input.dtype)
    sums = conv2d(input, _const(ones, input), stride=stride, padding=padding, groups=c)
    if count_include_pad:
        return sums / (kernel[0] * kernel[1])
    plane = input.backend.xp.ones((1, 1, h, w), dtype=input.dtype)
    counts = conv2d(_const(plane, input), _const(ones[:1], input), stride=stride, padding=padding)
    return sums / counts


def _avg_pool2d_ceil(input, kernel, stride, padding, count_include_pad):
    """ceil_mode: the last windows may hang past the padded input; like PyTorch, they average
    over the part inside the padded input (count_include_pad) or inside the input itself."""
    from .conv import conv2d
    from .join import pad
    xp, (n, c, h, w) = input.backend.xp, input.shape
    out = [pool_output_size(size, k, s, p, 1, True) for size, k, s, p in zip((h, w), kernel, stride, padding)]
    extra = [max(0, (o - 1) * s + k - (size + 2 * p))
             for o, size, k, s, p in zip(out, (h, w), kernel, stride, padding)]
    (ph, pw), (eh, ew) = padding, extra
    ones = _const(xp.ones((c, 1) + kernel, dtype=input.dtype), input)
    sums = conv2d(pad(input, (pw, pw + ew, ph, ph + eh)), ones, stride=stride, groups=c)
    if count_include_pad:
        plane = pad(_const(xp.ones((1, 1, h + 2 * ph, w + 2 * pw), dtype=input.dtype), input), (0, ew, 0, eh))
    else:
        plane = pad(_const(xp.ones((1, 1, h, w), dtype=input.dtype), input), (pw, pw + ew, ph, ph + eh))
    return sums / conv2d(plane, ones[:1], stride=stride)


def _bins(size, out):
    """The (size → out) averaging matrix of adaptive pooling: PyTorch's floor/ceil bin edges."""
    m = np.zeros((out, size))
    for i in range(out):
        lo, hi = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


@unbatched_too
def adaptive_avg_pool2d(input, output_size):
    """Mean over PyTorch's adaptive bins, as two small matmuls (so its gradient is free)."""
    oh, ow = normalize_pair("output_size", output_size)
    if oh < 1 or ow < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {(oh, ow)}")
    rows = _const(input.backend.xp.asarray(_bins(input.shape[2], oh), dtype=input.dtype), input)
    cols = _const(input.backend.xp.asarray(_bins(input.shape[3], ow).T, dtype=input.dtype), input)
    return rows @ input @ cols


def _const(arr, like):
    from ..tensor import Tensor
    return Tensor._make(arr, like.device)


__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]
