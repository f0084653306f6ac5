"""Plain float64 references for the CPU kernels, written from the definitions.

Slow on purpose: loops over taps/windows and NumPy slicing only, so each is easy to check
by eye. The tests compare every kernel against these (and against PyTorch when installed).
"""
import math

import numpy as np

from ..conv_params import conv_output_size, pool_output_size


def _conv_setup(x_shape, kh, kw, stride, padding, dilation):
    oh = conv_output_size(x_shape[2], kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(x_shape[3], kw, stride[1], padding[1], dilation[1])

    def tap(xp, i, j):
        """xp[..., a*sh + i*dh, b*sw + j*dw] for all output positions (a, b)."""
        h0, w0 = i * dilation[0], j * dilation[1]
        return xp[..., h0:h0 + stride[0] * (oh - 1) + 1:stride[0], w0:w0 + stride[1] * (ow - 1) + 1:stride[1]]

    return oh, ow, tap


def _pad(x, padding):
    return np.pad(np.asarray(x, np.float64), ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))


def im2col_ref(x, kh, kw, stride, padding, dilation):
    oh, ow, tap = _conv_setup(x.shape, kh, kw, stride, padding, dilation)
    xp = _pad(x, padding)
    cols = np.stack([tap(xp, i, j) for i in range(kh) for j in range(kw)], axis=2)  # (N, C, kh*kw, OH, OW)
    return cols.reshape(x.shape[0], -1, oh * ow)


def matmul_ref(a, b):
    """c[..., i, j] = sum_k a[..., i, k] * b[..., k, j] in float64, batch dims broadcast."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a[..., :, :, None] * b[..., None, :, :]).sum(axis=-2)


def tf32_round_ref(x):
    """float32 x rounded to TensorFloat-32 (10 mantissa bits), to nearest, ties away from zero:
    what cvt.rna.tf32.f32 feeds a tensor core."""
    bits = np.asarray(x, np.float32).view(np.uint32)
    finite = (bits & 0x7F800000) != 0x7F800000
    rounded = np.where(finite, (bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000), bits)
    return rounded.astype(np.uint32).view(np.float32)


def conv2d_ref(x, w, stride, padding, dilation, groups):
    """y[n, f, a, b] = sum_{c in f's group, i, j} xpad[n, c, a*sh + i*dh, b*sw + j*dw] * w[f, c, i, j]."""
    f, cg, kh, kw = w.shape
    oh, ow, tap = _conv_setup(x.shape, kh, kw, stride, padding, dilation)
    xp, w = _pad(x, padding), np.asarray(w, np.float64)
    fg = f // groups
    y = np.zeros((x.shape[0], f, oh, ow))
    for g in range(groups):
        xg, wg = xp[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg]
        for i in range(kh):
            for j in range(kw):
                y[:, g * fg:(g + 1) * fg] += np.einsum("nchw,fc->nfhw", tap(xg, i, j), wg[:, :, i, j])
    return y


def conv_wgrad_ref(x, gy, kh, kw, stride, padding, dilation, groups):
    """gw[f, c, i, j] = sum_{n, a, b} gy[n, f, a, b] * xpad[n, c, a*sh + i*dh, b*sw + j*dw]."""
    cg, f = x.shape[1] // groups, gy.shape[1]
    _, _, tap = _conv_setup(x.shape, kh, kw, stride, padding, dilation)
    xp, gy = _pad(x, padding), np.asarray(gy, np.float64)
    fg = f // groups
    gw = np.zeros((f, cg, kh, kw))
    for g in range(groups):
        xg, gg = xp[:, g * cg:(g + 1) * cg], gy[:, g * fg:(g + 1) * fg]
        for i in range(kh):
            for j in range(kw):
                gw[g * fg:(g + 1) * fg, :, i, j] = np.einsum("nfhw,nchw->fc", gg, tap(xg, i, j))
    return gw


def conv_dgrad_ref(gy, w, x_shape, stride, padding, dilation, groups):
    """gx[n, c, h, w] = sum of gy[n, f, a, b] * w[f, c, i, j] over all (f, a, b, i, j) whose
    forward read is (h, w): accumulated into the padded input, then the padding is cut off."""
    f, cg, kh, kw = w.shape
    _, _, tap = _conv_setup(x_shape, kh, kw, stride, padding, dilation)
    gy, w = np.asarray(gy, np.float64), np.asarray(w, np.float64)
    n, c, h, wd = x_shape
    gxp = np.zeros((n, c, h + 2 * padding[0], wd + 2 * padding[1]))
    fg = f // groups
    for g in range(groups):
        gxg, gg, wg = gxp[:, g * cg:(g + 1) * cg], gy[:, g * fg:(g + 1) * fg], w[g * fg:(g + 1) * fg]
        for i in range(kh):
            for j in range(kw):
                tap(gxg, i, j)[...] += np.einsum("nfhw,fc->nchw", gg, wg[:, :, i, j])
    return gxp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]


def gelu_fwd_ref(x, approximate):
    x = np.asarray(x, np.float64)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + np.tanh(k * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def gelu_bwd_ref(x, gy, approximate):
    """d/dx = 0.5*(1 + erf(x/sqrt2)) + x*exp(-x^2/2)/sqrt(2*pi) (adamtiger/autograd's gelu
    derivative); the tanh form by the chain rule."""
    x, gy = np.asarray(x, np.float64), np.asarray(gy, np.float64)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x ** 3))
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t ** 2) * k * (1 + 3 * 0.044715 * x ** 2)
    else:
        d = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) + x * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    return gy * d


def maxpool2d_fwd_ref(x, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch semantics: padding never wins, first max in scan order, a NaN wins (the last one);
    a window with no input element gives -inf and index -1 (PyTorch: an index outside the window)."""
    x = np.asarray(x, np.float64)
    n, c, h, w = x.shape
    oh, ow = (pool_output_size(s, k, st, p, d, ceil_mode)
              for s, k, st, p, d in zip((h, w), kernel, stride, padding, dilation))
    y, arg = np.empty((n, c, oh, ow)), np.empty((n, c, oh, ow), np.int64)
    for a in range(oh):
        for b in range(ow):
            h0, w0 = a * stride[0] - padding[0], b * stride[1] - padding[1]
            rows = [r for r in range(h0, h0 + kernel[0] * dilation[0], dilation[0]) if 0 <= r < h]
            cols = [q for q in range(w0, w0 + kernel[1] * dilation[1], dilation[1]) if 0 <= q < w]
            first = rows[0] * w + cols[0] if rows and cols else -1
            best, idx = np.full((n, c), -np.inf), np.full((n, c), first)
            for r in rows:
                for q in cols:
                    v = x[:, :, r, q]
                    take = (v > best) | np.isnan(v)
                    best, idx = np.where(take, v, best), np.where(take, r * w + q, idx)
            y[:, :, a, b], arg[:, :, a, b] = best, idx
    return y, arg


def maxpool2d_bwd_ref(gy, argmax, x_shape):
    """Each gradient added at its argmax; -1 (a window with no input element) passes nothing."""
    n, c, h, w = x_shape
    gx = np.zeros((n, c, h * w))
    for i in range(n):
        for j in range(c):
            at, g = argmax[i, j].ravel(), np.asarray(gy[i, j], np.float64).ravel()
            np.add.at(gx[i, j], at[at >= 0], g[at >= 0])
    return gx.reshape(x_shape)


def softmax_xent_fwd_ref(logits, target, ignore_index, label_smoothing):
    x = np.asarray(logits, np.float64)
    n, k = x.shape
    lse = np.array([x[r].max() + math.log(np.exp(x[r] - x[r].max()).sum()) for r in range(n)])
    loss = np.zeros(n)
    for r in range(n):
        if target[r] != ignore_index:
            loss[r] = lse[r] - x[r, target[r]]
            if label_smoothing:  # as PyTorch: without smoothing a -inf logit elsewhere stays out
                loss[r] = (1 - label_smoothing) * loss[r] + label_smoothing / k * (lse[r] - x[r]).sum()
    return loss, lse


def softmax_xent_bwd_ref(logits, target, lse, gloss, ignore_index, label_smoothing):
    x = np.asarray(logits, np.float64)
    n, k = x.shape
    g = np.zeros((n, k))
    for r in range(n):
        if target[r] != ignore_index:
            q = np.full(k, label_smoothing / k)
            q[target[r]] += 1 - label_smoothing
            g[r] = gloss[r] * (np.exp(x[r] - lse[r]) - q)
    return g


def fused_adam_ref(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2, weight_decay,
                   eps, amsgrad, maximize, decoupled):
    """Adam (Kingma & Ba), AdamW's decay when `decoupled` (Loshchilov & Hutter), one tensor at a
    time in float64, as new arrays in fused_adam's order: step t = step + 1,
    m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
    lr, beta1 = float(np.asarray(lr)), float(np.asarray(beta1))
    new = {"p": [], "m": [], "v": [], "vmax": [], "t": []}
    for i in range(len(params)):
        p, g, m, v = (np.asarray(a, np.float64) for a in (params[i], grads[i], exp_avgs[i], exp_avg_sqs[i]))
        t = float(np.asarray(steps[i])) + 1
        g = -g if maximize else g
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_used = v
        if amsgrad:
            v_used = np.maximum(np.asarray(max_exp_avg_sqs[i], np.float64), v)
            new["vmax"].append(v_used)
        p = p - lr / (1 - beta1 ** t) * m / (np.sqrt(v_used) / math.sqrt(1 - beta2 ** t) + eps)
        new["p"].append(p), new["m"].append(m), new["v"].append(v), new["t"].append(np.array(t))
    return (*new["p"], *new["m"], *new["v"], *new["vmax"], *new["t"])


def philox_uniform_ref(state, n, dtype):
    """Philox4x32-10 (Salmon et al., SC'11) on Python integers, one number at a time: number i
    comes from block counter + i//2, (lo32, hi32, 0, 0) under (lo32(key), hi32(key)); its top 24
    (float32) or 53 (float64) bits of words (0, 1) or (2, 3) as a fraction. Leaves state alone."""
    key, counter = (int(v) for v in state)
    bits = 24 if np.dtype(dtype) == np.float32 else 53
    mask = (1 << 32) - 1
    out = np.empty(n)
    for i in range(n):
        block = (counter + i // 2) % (1 << 64)
        c, k = [block & mask, block >> 32, 0, 0], [key & mask, key >> 32]
        for r in range(10):
            if r:
                k = [(k[0] + 0x9E3779B9) & mask, (k[1] + 0xBB67AE85) & mask]
            p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
            c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & mask, (p0 >> 32) ^ c[3] ^ k[1], p0 & mask]
        word = c[2] | c[3] << 32 if i % 2 else c[0] | c[1] << 32
        out[i] = (word >> (64 - bits)) / 2.0 ** bits
    return out


def batch_norm_fwd_ref(x, weight, bias, eps):
    """Per channel c of x (N, C, ...): mean and biased var over every other dim, invstd =
    1/sqrt(var + eps), y = (x - mean) * invstd * weight + bias (weight 1, bias 0 when None)."""
    x = np.asarray(x, np.float64)
    c = x.shape[1]
    mean, var = np.empty(c), np.empty(c)
    for j in range(c):
        values = x[:, j].ravel()
        mean[j] = values.sum() / values.size
        var[j] = ((values - mean[j]) ** 2).sum() / values.size
    invstd = 1 / np.sqrt(var + eps)
    shape = (1, c) + (1,) * (x.ndim - 2)
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    b = np.zeros(c) if bias is None else np.asarray(bias, np.float64)
    y = (x - mean.reshape(shape)) * (invstd * w).reshape(shape) + b.reshape(shape)
    return y, mean, var, invstd


def batch_norm_bwd_ref(x, gy, mean, invstd, weight):
    """With xhat = (x - mean) * invstd and m values per channel: gbias = sum gy, gweight =
    sum gy * xhat, gx = weight * invstd * (gy - gbias/m - xhat * gweight/m) (the closed form
    of d/dx through the batch's mean and variance)."""
    x, gy = np.asarray(x, np.float64), np.asarray(gy, np.float64)
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    dims = (0,) + tuple(range(2, x.ndim))
    m = x.size // c
    xhat = (x - np.asarray(mean, np.float64).reshape(shape)) * np.asarray(invstd, np.float64).reshape(shape)
    gbias, gweight = gy.sum(dims), (gy * xhat).sum(dims)
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    scale = (w * np.asarray(invstd, np.float64)).reshape(shape)
    gx = scale * (gy - gbias.reshape(shape) / m - xhat * gweight.reshape(shape) / m)
    return gx, gweight, gbias


def relu_fwd_ref(x):
    x = np.asarray(x, np.float64)
    return np.where(x < 0, 0.0, x)  # NaN stays NaN


def relu_bwd_ref(x, gy):
    return np.where(np.asarray(x) > 0, np.asarray(gy, np.float64), 0.0)
