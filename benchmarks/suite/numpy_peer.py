"""Plain NumPy implementations of the CPU kernel rows: the "numpy" peer.

Convolution is im2col (benchmarks.conv_cpu's strided-window view) + matmul, in batch chunks
whose patch matrix stays under CHUNK_BYTES so the widest shapes fit in memory; col2im is a
slice-add per kernel tap. Each builder takes the row's params and returns make(arrays) ->
zero-argument call, like gpu_check's Case.ours, or None where NumPy has no such function.
"""
import numpy as np

try:
    from scipy.special import erf
except ImportError:  # the exact (erf) gelu then has no NumPy peer
    erf = None

from benchmarks.conv_cpu import numpy_im2col
from benchmarks.gpu_check.cases import IGNORE_INDEX, window_argmax

CHUNK_BYTES = 64 << 20
SQRT_HALF, SQRT_2_PI = np.float32(np.sqrt(0.5)), np.float32(np.sqrt(2 / np.pi))
INV_SQRT_2PI, TANH_A = np.float32(1 / np.sqrt(2 * np.pi)), np.float32(0.044715)


def _chunks(n, c, k, oh, ow):
    per_sample = 4 * c * k * k * oh * ow
    step = max(1, min(n, CHUNK_BYTES // per_sample))
    return [(i, min(n, i + step)) for i in range(0, n, step)]


def conv_forward(x, w, k, s, p, d, oh, ow):
    n, f = x.shape[0], w.shape[0]
    w2 = w.reshape(f, -1)
    y = np.empty((n, f, oh * ow), np.float32)
    for i, j in _chunks(n, x.shape[1], k, oh, ow):
        np.matmul(w2, numpy_im2col(x[i:j], k, s, p, d), out=y[i:j])
    return y.reshape(n, f, oh, ow)


def conv_wgrad(x, gy, k, s, p, d, oh, ow):
    n, c = x.shape[:2]
    f = gy.shape[1]
    gw = np.zeros((f, c * k * k), np.float32)
    for i, j in _chunks(n, c, k, oh, ow):
        gw += np.tensordot(gy[i:j].reshape(j - i, f, -1), numpy_im2col(x[i:j], k, s, p, d),
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


def _conv(kernel):
    def build(params):
        n, c, h, w, f, k, s, p, d = params["shape"]
        oh, ow = params["out_hw"]
        if kernel == "conv2d_forward":
            return lambda a: lambda: conv_forward(a["x"], a["w"], k, s, p, d, oh, ow)
        if kernel == "conv_wgrad":
            return lambda a: lambda: conv_wgrad(a["x"], a["gy"], k, s, p, d, oh, ow)
        return lambda a: lambda: conv_dgrad(a["gy"], a["w"], (n, c, h, w), k, s, p, d, oh, ow)
    return build


def gelu_fwd(x, form):
    if form == "tanh":
        return 0.5 * x * (1 + np.tanh(SQRT_2_PI * (x + TANH_A * x ** 3)))
    return 0.5 * x * (1 + erf(x * SQRT_HALF))


def gelu_bwd(x, gy, form):
    if form == "tanh":
        t = np.tanh(SQRT_2_PI * (x + TANH_A * x ** 3))
        return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_PI * (1 + 3 * TANH_A * x * x))
    return gy * (0.5 * (1 + erf(x * SQRT_HALF)) + x * np.exp(-0.5 * x * x) * INV_SQRT_2PI)


def _gelu(fn):
    def build(params):
        form = params["approximate"]
        if form == "none" and erf is None:
            return None
        return lambda a: lambda: fn(a, form)
    return build


def _maxpool_fwd(params):
    k = params["kernel"]
    n, c, h, w = params["shape"]

    def run(x):
        win = x.reshape(n, c, h // k, k, w // k, k)
        return win.max(axis=(3, 5)), window_argmax(np, x, k)
    return lambda a: lambda: run(a["x"])


def _maxpool_bwd(params):
    n, c, h, w = params["shape"]

    def run(gy, argmax):
        gx = np.zeros((n * c, h * w), np.float32)
        np.put_along_axis(gx, argmax.reshape(n * c, -1), gy.reshape(n * c, -1), axis=1)
        return gx.reshape(n, c, h, w)
    return lambda a: lambda: run(a["gy"], a["argmax"])


def _lse(logits):
    m = logits.max(axis=1)
    return m + np.log(np.exp(logits - m[:, None]).sum(axis=1))


def xent_fwd(logits, target):
    keep = target != IGNORE_INDEX
    lse = _lse(logits)
    picked = np.take_along_axis(logits, np.where(keep, target, 0)[:, None], axis=1)[:, 0]
    return np.where(keep, lse - picked, 0).astype(np.float32), lse


def xent_bwd(logits, target, lse, gloss):
    keep = target != IGNORE_INDEX
    g = np.exp(logits - lse[:, None])
    rows = np.flatnonzero(keep)
    g[rows, target[rows]] -= 1
    return g * np.where(keep, gloss, 0)[:, None]


BUILDERS = {
    "conv2d_forward": _conv("conv2d_forward"),
    "conv_wgrad": _conv("conv_wgrad"),
    "conv_dgrad": _conv("conv_dgrad"),
    "gelu_fwd": _gelu(lambda a, form: gelu_fwd(a["x"], form)),
    "gelu_bwd": _gelu(lambda a, form: gelu_bwd(a["x"], a["gy"], form)),
    "maxpool2d_fwd": _maxpool_fwd,
    "maxpool2d_bwd": _maxpool_bwd,
    "softmax_xent_fwd": lambda prm: lambda a: lambda: xent_fwd(a["logits"], a["target"]),
    "softmax_xent_bwd": lambda prm: lambda a: lambda: xent_bwd(
        a["logits"], a["target"], a["lse"], a["gloss"]),
}
