"""Plain float64 NumPy references for the kernels, written from the definitions."""

import math

import numpy as np

from gpugrad.backends.conv_params import conv_output_size, pool_output_size


def _patches(x, kh, kw, stride, padding, dilation):
    """Yield (kh_i, kw_i, patch) with patch[n, c, oh, ow] = padded x at that tap."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]


def im2col(x, kh, kw, stride, padding, dilation):
    n, c = x.shape[:2]
    taps = {(i, j): p for i, j, p in _patches(x, kh, kw, stride, padding, dilation)}
    cols = np.stack([taps[i, j] for i in range(kh) for j in range(kw)], axis=2)  # n, c, kk, oh, ow
    return cols.reshape(n, c * kh * kw, -1)


def conv2d(x, w, stride, padding, dilation, groups):
    f, cg, kh, kw = w.shape
    fg = f // groups
    out = None
    for i, j, p in _patches(x, kh, kw, stride, padding, dilation):
        if out is None:
            out = np.zeros((x.shape[0], f) + p.shape[2:])
        for g in range(groups):
            out[:, g * fg:(g + 1) * fg] += np.einsum(
                "ncab,fc->nfab", p[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg, :, i, j])
    return out


def conv_wgrad(x, gy, kh, kw, stride, padding, dilation, groups):
    """dL/dw straight from the chain rule: sum over batch and positions of gy * input tap."""
    c, f = x.shape[1], gy.shape[1]
    cg, fg = c // groups, f // groups
    gw = np.zeros((f, cg, kh, kw))
    for i, j, p in _patches(x, kh, kw, stride, padding, dilation):
        for g in range(groups):
            gw[g * fg:(g + 1) * fg, :, i, j] = np.einsum(
                "nfab,ncab->fc", gy[:, g * fg:(g + 1) * fg], p[:, g * cg:(g + 1) * cg])
    return gw


def conv_dgrad(gy, w, x_shape, stride, padding, dilation, groups):
    """dL/dx by scattering each output gradient back through the taps (the kernel gathers)."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, c, h, wd = x_shape
    f, cg, kh, kw = w.shape
    fg = f // groups
    oh, ow = gy.shape[2:]
    gxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    for i in range(kh):
        for j in range(kw):
            for g in range(groups):
                gxp[:, g * cg:(g + 1) * cg, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                    j * dw:j * dw + sw * (ow - 1) + 1:sw] += np.einsum(
                    "nfab,fc->ncab", gy[:, g * fg:(g + 1) * fg], w[g * fg:(g + 1) * fg, :, i, j])
    return gxp[:, :, ph:ph + h, pw:pw + wd]


_erf = np.vectorize(math.erf)
_K = math.sqrt(2 / math.pi)


def gelu(x, approximate):
    x = x.astype(np.float64)
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_K * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def gelu_grad(x, approximate):
    x = x.astype(np.float64)
    if approximate == "tanh":
        t = np.tanh(_K * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K * (1 + 3 * 0.044715 * x * x)
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def maxpool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """Window max and flat argmax (first maximum in scan order), padding excluded."""
    n, c, h, w = x.shape
    oh, ow = (pool_output_size(s, k, st, p, d, ceil_mode)
              for s, k, st, p, d in zip((h, w), kernel, stride, padding, dilation))
    y, arg = np.zeros((n, c, oh, ow)), np.zeros((n, c, oh, ow), np.int64)
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    best, at = -np.inf, -1
                    for ki in range(kernel[0]):
                        for kj in range(kernel[1]):
                            hh = i * stride[0] - padding[0] + ki * dilation[0]
                            ww = j * stride[1] - padding[1] + kj * dilation[1]
                            if 0 <= hh < h and 0 <= ww < w and (at < 0 or x[a, b, hh, ww] > best):
                                best, at = x[a, b, hh, ww], hh * w + ww
                    y[a, b, i, j], arg[a, b, i, j] = best, at
    return y, arg


def maxpool2d_bwd(gy, argmax, x_shape):
    n, c, h, w = x_shape
    gx = np.zeros((n * c, h * w))
    planes = np.repeat(np.arange(n * c), gy[0, 0].size)
    np.add.at(gx, (planes, argmax.reshape(-1)), gy.reshape(-1).astype(np.float64))
    return gx.reshape(x_shape)


def softmax_xent(logits, target, ignore_index, eps):
    x = logits.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    k = x.shape[1]
    ignored = target == ignore_index
    xt = x[np.arange(len(x)), np.where(ignored, 0, target)]
    loss = (1 - eps) * (lse - xt) + eps / k * (k * lse - x.sum(axis=1))
    return np.where(ignored, 0.0, loss), lse


def softmax_xent_bwd(logits, target, gloss, ignore_index, eps):
    x = logits.astype(np.float64)
    _, lse = softmax_xent(logits, target, ignore_index, eps)
    k = x.shape[1]
    ignored = target == ignore_index
    onehot = np.zeros_like(x)
    onehot[np.arange(len(x)), np.where(ignored, 0, target)] = 1 - eps
    g = gloss[:, None] * (np.exp(x - lse[:, None]) - onehot - eps / k)
    return np.where(ignored[:, None], 0.0, g)
