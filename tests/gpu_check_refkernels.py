"""A plain array-API KernelSet (NumPy or CuPy; groups=1, floor-mode pools) so gpu_check's
"gpugrad" column can be driven through a working implementation before the real CUDA kernels
exist: `--kernelset gpu_check_refkernels:KernelSet` with tests/ on PYTHONPATH."""
import math

import numpy as np

_np_erf = np.vectorize(math.erf, otypes=[np.float64])


def _out(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


class KernelSet:
    def __init__(self, xp, raw_module):
        self.xp = xp
        if xp is np:
            self.erf = _np_erf
        else:
            from cupyx.scipy.special import erf
            self.erf = erf

    def im2col(self, x, kh, kw, stride, padding, dilation):
        xp = self.xp
        n, c, h, w = x.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        oh, ow = _out(h, kh, sh, ph, dh), _out(w, kw, sw, pw, dw)
        padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        cols = xp.empty((n, c, kh, kw, oh, ow), x.dtype)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                       j * dw:j * dw + sw * (ow - 1) + 1:sw]
        return cols.reshape(n, c * kh * kw, oh * ow)

    def conv2d_forward(self, x, w, stride, padding, dilation, groups):
        xp = self.xp
        f, _, kh, kw = w.shape
        cols = self.im2col(x, kh, kw, stride, padding, dilation)
        oh = _out(x.shape[2], kh, stride[0], padding[0], dilation[0])
        y = xp.einsum("fk,nkl->nfl", w.reshape(f, -1), cols)
        return y.reshape(x.shape[0], f, oh, -1)

    def conv_wgrad(self, x, gy, kh, kw, stride, padding, dilation, groups):
        xp = self.xp
        n, f = gy.shape[:2]
        cols = self.im2col(x, kh, kw, stride, padding, dilation)
        gw = xp.einsum("nfl,nkl->fk", gy.reshape(n, f, -1), cols)
        return gw.reshape(f, x.shape[1], kh, kw)

    def conv_dgrad(self, gy, w, x_shape, stride, padding, dilation, groups):
        xp = self.xp
        n, c, h, wd = x_shape
        f, _, kh, kw = w.shape
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        oh, ow = gy.shape[2:]
        cols = xp.einsum("fk,nfl->nkl", w.reshape(f, -1), gy.reshape(n, f, -1))
        cols = cols.reshape(n, c, kh, kw, oh, ow)
        gx = xp.zeros((n, c, h + 2 * ph, wd + 2 * pw), gy.dtype)
        for i in range(kh):
            for j in range(kw):
                gx[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                   j * dw:j * dw + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
        return gx[:, :, ph:ph + h, pw:pw + wd]

    def gelu_fwd(self, x, approximate):
        xp = self.xp
        x64 = x.astype(xp.float64)
        if approximate == "tanh":
            cdf = 0.5 * (1 + xp.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64 ** 3)))
        else:
            cdf = self._cdf(x64)
        return (x64 * cdf).astype(x.dtype)

    def gelu_bwd(self, x, gy, approximate):
        xp = self.xp
        x64 = x.astype(xp.float64)
        if approximate == "tanh":
            a, b = math.sqrt(2 / math.pi), 0.044715
            t = xp.tanh(a * (x64 + b * x64 ** 3))
            d = 0.5 * (1 + t) + 0.5 * x64 * (1 - t * t) * a * (1 + 3 * b * x64 ** 2)
        else:
            d = self._cdf(x64) + x64 * xp.exp(-0.5 * x64 ** 2) / math.sqrt(2 * math.pi)
        return (gy * d).astype(x.dtype)

    def _cdf(self, x):
        return 0.5 * (1 + self.erf(x / math.sqrt(2)))

    def maxpool2d_fwd(self, x, kernel, stride, padding, dilation, ceil_mode):
        xp = self.xp
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh, ow = _out(h, kh, sh, ph, dh), _out(w, kw, sw, pw, dw)
        padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-xp.inf)
        best = xp.full((n, c, oh, ow), -xp.inf, x.dtype)
        arg = xp.zeros((n, c, oh, ow), xp.int64)
        rows, cols = xp.arange(oh)[:, None] * sh - ph, xp.arange(ow)[None, :] * sw - pw
        for i in range(kh):
            for j in range(kw):
                v = padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                        j * dw:j * dw + sw * (ow - 1) + 1:sw]
                better = v > best
                best = xp.where(better, v, best)
                arg = xp.where(better, (rows + i * dh) * w + cols + j * dw, arg)
        return best, arg

    def maxpool2d_bwd(self, gy, argmax, x_shape):
        xp = self.xp
        n, c, h, w = x_shape
        gx = xp.zeros((n * c, h * w), gy.dtype)
        planes = xp.repeat(xp.arange(n * c), argmax[0, 0].size)
        xp.add.at(gx, (planes, argmax.ravel()), gy.ravel())
        return gx.reshape(x_shape)

    def softmax_xent_fwd(self, logits, target, ignore_index, label_smoothing):
        xp = self.xp
        m = logits.max(axis=1, keepdims=True)
        lse = (m + xp.log(xp.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
        keep = target != ignore_index
        picked = logits[xp.arange(len(target)), xp.where(keep, target, 0)]
        eps, k = label_smoothing, logits.shape[1]
        loss = (1 - eps) * (lse - picked) + eps / k * (lse[:, None] - logits).sum(axis=1)
        return xp.where(keep, loss, 0).astype(logits.dtype), lse

    def softmax_xent_bwd(self, logits, target, lse, gloss, ignore_index, label_smoothing):
        xp = self.xp
        keep = target != ignore_index
        eps, k = label_smoothing, logits.shape[1]
        want = xp.full(logits.shape, eps / k, logits.dtype)
        want[xp.arange(len(target)), xp.where(keep, target, 0)] += 1 - eps
        g = gloss[:, None] * (xp.exp(logits - lse[:, None]) - want)
        return xp.where(keep[:, None], g, 0).astype(logits.dtype)
