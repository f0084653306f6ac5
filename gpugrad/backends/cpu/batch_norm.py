"""Training-mode batch norm on the CPU: one parallel Numba kernel forward, one backward.

The input is viewed as (N, C, L), L the product of the dims after the channel dim (1 for a
(N, C) input). Each thread takes whole channels: it reads its channel once for the sums, then
again (from cache: a channel of a small CNN's batch fits in L2) to write the output, with no
temporaries. The forward sums x - x[0, c, 0] (shifted data), so the variance keeps its
accuracy when a channel's mean is large against its spread. The sums vectorise because these
kernels allow LLVM to reassociate them (fastmath={"reassoc"} only). An (N, C) input (L = 1)
has kernels of its own: there a channel's values are a strided column, so each thread takes a
block of channels and reads whole row segments, with one running sum per channel.

Sums and statistics are float64 for float32 and float64 inputs alike; the output pass
computes in x's dtype ((x - mean) * invstd * weight + bias, so no offset cancels there).
"""
import math

import numpy as np

from ._numba import numba, parallel_kernel

_U = numba.uint64  # unsigned indices: Numba skips its negative-index check, the loops vectorise
_BLOCK = 64  # channels per thread's block in the (N, C) kernels


@numba.njit(inline="always")
def _statistics(s, ss, shift, count, eps):
    """(mean, biased var, invstd) from the sums of d = x - shift and of d*d."""
    d_mean = s / count
    v = max(ss / count - d_mean * d_mean, 0.0)
    return shift + d_mean, v, 1 / math.sqrt(v + eps)


@parallel_kernel(fastmath={"reassoc"})
def _fwd(x, weight, bias, eps, y, mean, var, invstd):
    n_batch, channels, length = x.shape
    src, dst = x.reshape(-1), y.reshape(-1)
    for c in numba.prange(channels):
        shift = np.float64(src[c * length])
        s = 0.0
        ss = 0.0
        for n in range(n_batch):
            base = _U((n * channels + c) * length)
            for i in range(_U(length)):
                d = np.float64(src[base + i]) - shift
                s += d
                ss += d * d
        mean[c], var[c], invstd[c] = _statistics(s, ss, shift, n_batch * length, eps)
        m, k, b = mean[c], invstd[c] * weight[c], bias[c]  # x's dtype from here
        for n in range(n_batch):
            base = _U((n * channels + c) * length)
            for i in range(_U(length)):
                dst[base + i] = (src[base + i] - m) * k + b


@parallel_kernel(fastmath={"reassoc"})
def _bwd(x, gy, mean, invstd, weight, gx, gweight, gbias):
    n_batch, channels, length = x.shape
    src, g, dst = x.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    count = n_batch * length
    coef = np.empty((channels, 3), x.dtype)
    for c in numba.prange(channels):
        m, k = np.float64(mean[c]), np.float64(invstd[c])
        sg = 0.0
        sgx = 0.0  # sum of g * (x - mean)
        for n in range(n_batch):
            base = _U((n * channels + c) * length)
            for i in range(_U(length)):
                gi = np.float64(g[base + i])
                sg += gi
                sgx += gi * (np.float64(src[base + i]) - m)
        gbias[c], gweight[c] = sg, sgx * k
        coef[c, 0], coef[c, 1], coef[c, 2] = sg / count, k * k * sgx / count, k * weight[c]
        a, q, scale, m_ = coef[c, 0], coef[c, 1], coef[c, 2], mean[c]  # x's dtype from here
        for n in range(n_batch):
            base = _U((n * channels + c) * length)
            for i in range(_U(length)):
                dst[base + i] = (g[base + i] - a - (src[base + i] - m_) * q) * scale


@numba.njit(inline="always")
def _channel_block(blk, channels):
    """(first channel, number of channels) of block blk in the (N, C) kernels."""
    c0 = blk * _BLOCK
    return c0, _U(min(channels, c0 + _BLOCK) - c0)


@parallel_kernel
def _fwd_rows(x, weight, bias, eps, y, mean, var, invstd):
    n_batch, channels = x.shape
    src, dst = x.reshape(-1), y.reshape(-1)
    for blk in numba.prange((channels + _BLOCK - 1) // _BLOCK):
        c0, width = _channel_block(blk, channels)
        shift = src[c0:c0 + width].astype(np.float64)
        s, ss = np.zeros(width), np.zeros(width)
        for n in range(n_batch):
            base = _U(n * channels + c0)
            for j in range(width):
                d = np.float64(src[base + j]) - shift[j]
                s[j] += d
                ss[j] += d * d
        for j in range(width):
            mean[c0 + j], var[c0 + j], invstd[c0 + j] = _statistics(s[j], ss[j], shift[j], n_batch, eps)
        m = mean[c0:c0 + width]  # x's dtype from here
        k, b = invstd[c0:c0 + width] * weight[c0:c0 + width], bias[c0:c0 + width]
        for n in range(n_batch):
            base = _U(n * channels + c0)
            for j in range(width):
                dst[base + j] = (src[base + j] - m[j]) * k[j] + b[j]


@parallel_kernel
def _bwd_rows(x, gy, mean, invstd, weight, gx, gweight, gbias):
    n_batch, channels = x.shape
    src, g, dst = x.reshape(-1), gy.reshape(-1), gx.reshape(-1)
    for blk in numba.prange((channels + _BLOCK - 1) // _BLOCK):
        c0, width = _channel_block(blk, channels)
        m64 = mean[c0:c0 + width].astype(np.float64)
        sg, sgx = np.zeros(width), np.zeros(width)
        for n in range(n_batch):
            base = _U(n * channels + c0)
            for j in range(width):
                gi = np.float64(g[base + j])
                sg[j] += gi
                sgx[j] += gi * (np.float64(src[base + j]) - m64[j])
        k = invstd[c0:c0 + width].astype(np.float64)
        gbias[c0:c0 + width], gweight[c0:c0 + width] = sg, sgx * k
        a = (sg / n_batch).astype(x.dtype)  # x's dtype from here
        q = (k * k * sgx / n_batch).astype(x.dtype)
        scale = (k * weight[c0:c0 + width]).astype(x.dtype)
        m = mean[c0:c0 + width]
        for n in range(n_batch):
            base = _U(n * channels + c0)
            for j in range(width):
                dst[base + j] = (g[base + j] - a[j] - (src[base + j] - m[j]) * q[j]) * scale[j]


def _as_ncl(a):
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


def _kernels_for(x3):
    """(forward, backward, shape of their arrays) for x viewed as (N, C, L)."""
    return (_fwd_rows, _bwd_rows, x3.shape[:2]) if x3.shape[2] == 1 else (_fwd, _bwd, x3.shape)


def _per_channel(a, channels, dtype, fill):
    """weight or bias as a (C,) array of dtype; None (no affine term) as `fill`."""
    return np.full(channels, fill, dtype) if a is None else np.ascontiguousarray(a, dtype)


def _check_values_per_channel(name, x):
    if x.ndim < 2 or (x.shape[1] and x.size == 0):
        raise ValueError(f"{name}: x must be (N, C, ...) with a value per channel, got shape {x.shape}")


def batch_norm_fwd(x, weight, bias, eps):
    """(y, mean, var, invstd) of training-mode batch norm over every dim but 1."""
    _check_values_per_channel("batch_norm_fwd", x)
    x3 = _as_ncl(x)
    c, dtype = x3.shape[1], x3.dtype
    fwd, _, shape = _kernels_for(x3)
    y = np.empty(x.shape, dtype)
    mean, var, invstd = (np.empty(c, dtype) for _ in range(3))
    fwd(x3.reshape(shape), _per_channel(weight, c, dtype, 1), _per_channel(bias, c, dtype, 0), float(eps),
        y.reshape(shape), mean, var, invstd)
    return y, mean, var, invstd


def batch_norm_bwd(x, gy, mean, invstd, weight):
    """(gx, gweight, gbias) of training-mode batch norm given the forward's mean and invstd."""
    _check_values_per_channel("batch_norm_bwd", x)
    x3 = _as_ncl(x)
    c, dtype = x3.shape[1], x3.dtype
    _, bwd, shape = _kernels_for(x3)
    gx = np.empty(x.shape, dtype)
    gweight, gbias = np.empty(c, dtype), np.empty(c, dtype)
    bwd(x3.reshape(shape), np.ascontiguousarray(gy, dtype).reshape(shape), np.ascontiguousarray(mean, dtype),
        np.ascontiguousarray(invstd, dtype), _per_channel(weight, c, dtype, 1), gx.reshape(shape), gweight, gbias)
    return gx, gweight, gbias
