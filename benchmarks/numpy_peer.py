"""Plain NumPy versions of the CPU kernel rows: the "numpy" peer.

Convolution is im2col (a strided window view) + matmul, in batch chunks whose patch matrix
stays under CHUNK_BYTES so the widest shapes fit in memory; col2im is a slice-add per kernel
tap. Without scipy the exact (erf) gelu has no NumPy version (`erf` is None).
"""
import numpy as np

try:
    from scipy.special import erf
except ImportError:
    erf = None

CHUNK_BYTES = 64 << 20
SQRT_HALF, SQRT_2_PI = np.float32(np.sqrt(0.5)), np.float32(np.sqrt(2 / np.pi))
INV_SQRT_2PI, TANH_A = np.float32(1 / np.sqrt(2 * np.pi)), np.float32(0.044715)


def im2col(x, k, s, p, d):
    """(N, C*k*k, OH*OW) patches via a strided window view of the padded input."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (d * (k - 1) + 1,) * 2, axis=(2, 3))
    win = win[:, :, ::s, ::s, ::d, ::d]
    n, c, oh, ow = win.shape[:4]
    return win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * k * k, oh * ow)


def _chunks(n, c, k, oh, ow):
    per_sample = 4 * c * k * k * oh * ow
    step = max(1, min(n, CHUNK_BYTES // per_sample))
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def conv_forward(x, w, k, s, p, d, oh, ow):
    n, f = x.shape[0], w.shape[0]
    w2 = w.reshape(f, -1)
    y = np.empty((n, f, oh * ow), np.float32)
    for i, j in _chunks(n, x.shape[1], k, oh, ow):
        np.matmul(w2, im2col(x[i:j], k, s, p, d), out=y[i:j])
    return y.reshape(n, f, oh, ow)


def conv_wgrad(x, gy, k, s, p, d, oh, ow):
    n, c = x.shape[:2]
    f = gy.shape[1]
    gw = np.zeros((f, c * k * k), np.float32)
    for i, j in _chunks(n, c, k, oh, ow):
        gw += np.tensordot(gy[i:j].reshape(j - i, f, -1), im2col(x[i:j], k, s, p, d),
                           axes=([0, 2], [0, 2]))
    return gw.reshape(f, c, k, k)


def conv_dgrad(gy, w, x_shape, k, s, p, d, oh, ow):
    n, c, h, wd = x_shape
    f = w.shape[0]
    w2t = w.reshape(f, -1).T
    gxp = np.zeros((n, c, h + 2 * p, wd + 2 * p), np.float32)
    for i0, i1 in _chunks(n, c, k, oh, ow):
        dcols = np.matmul(w2t, gy[i0:i1].reshape(i1 - i0, f, -1)).reshape(i1 - i0, c, k, k, oh, ow)
        for i in range(k):
            for j in range(k):
                gxp[i0:i1, :, i * d:i * d + s * (oh - 1) + 1:s,
                    j * d:j * d + s * (ow - 1) + 1:s] += dcols[:, :, i, j]
    return gxp[:, :, p:p + h, p:p + wd]


def gelu_fwd(x, form):
    if form == "tanh":
        return 0.5 * x * (1 + np.tanh(SQRT_2_PI * (x + TANH_A * x ** 3)))
    return 0.5 * x * (1 + erf(x * SQRT_HALF))


def gelu_bwd(x, gy, form):
    if form == "tanh":
        t = np.tanh(SQRT_2_PI * (x + TANH_A * x ** 3))
        return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_PI * (1 + 3 * TANH_A * x * x))
    return gy * (0.5 * (1 + erf(x * SQRT_HALF)) + x * np.exp(-0.5 * x * x) * INV_SQRT_2PI)


def window_argmax(xp, x, k):
    """Flat h*W+w index of the first maximum of each non-overlapping k×k window."""
    n, c, h, w = x.shape
    oh, ow = h // k, w // k
    win = x.reshape(n, c, oh, k, ow, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, k * k)
    j = win.argmax(axis=-1)
    rows = xp.arange(oh).reshape(1, 1, oh, 1) * k + j // k
    cols = xp.arange(ow).reshape(1, 1, 1, ow) * k + j % k
    return (rows * w + cols).astype(xp.int64)


def maxpool_fwd(x, k):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5)), window_argmax(np, x, k)


def maxpool_bwd(gy, argmax, x_shape):
    n, c, h, w = x_shape
    gx = np.zeros((n * c, h * w), np.float32)
    np.put_along_axis(gx, argmax.reshape(n * c, -1), gy.reshape(n * c, -1), axis=1)
    return gx.reshape(n, c, h, w)


def logsumexp(xp, x):
    """Row-wise log-sum-exp with NumPy or CuPy (`xp`)."""
    m = x.max(axis=1)
    return m + xp.log(xp.exp(x - m[:, None]).sum(axis=1))


def xent_fwd(logits, target, ignore_index):
    keep = target != ignore_index
    lse = logsumexp(np, logits)
    picked = np.take_along_axis(logits, np.where(keep, target, 0)[:, None], axis=1)[:, 0]
    return np.where(keep, lse - picked, 0).astype(np.float32), lse


def xent_bwd(logits, target, lse, gloss, ignore_index):
    keep = target != ignore_index
    g = np.exp(logits - lse[:, None])
    rows = np.flatnonzero(keep)
    g[rows, target[rows]] -= 1
    return g * np.where(keep, gloss, 0)[:, None]


def batch_norm_stats(xp, x, eps):
    """Per-channel mean and invstd of x (N, C, ...) with NumPy or CuPy (`xp`)."""
    dims = (0,) + tuple(range(2, x.ndim))
    return x.mean(axis=dims), 1 / xp.sqrt(x.var(axis=dims) + eps)


def _channel(a, ndim):
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm_fwd(x, w, b, eps):
    mean, invstd = batch_norm_stats(np, x, eps)
    return (x - _channel(mean, x.ndim)) * _channel(invstd * w, x.ndim) + _channel(b, x.ndim), mean, invstd


def batch_norm_bwd(x, gy, mean, invstd, w):
    dims = (0,) + tuple(range(2, x.ndim))
    m = x.size // x.shape[1]
    xhat = (x - _channel(mean, x.ndim)) * _channel(invstd, x.ndim)
    gb, gw = gy.sum(axis=dims), (gy * xhat).sum(axis=dims)
    gx = (gy - _channel(gb / m, x.ndim) - xhat * _channel(gw / m, x.ndim)) * _channel(invstd * w, x.ndim)
    return gx, gw, gb
