"""Row-wise softmax cross-entropy with ignore_index and label smoothing (PyTorch's definition).

One parallel Numba pass per direction over rows; the forward returns the row logsumexp so
the backward rebuilds softmax without a second reduction.
"""
import math

import numpy as np

from ._numba import numba, parallel_kernel


@parallel_kernel(serial_below=1 << 15)
def _fwd(x, target, loss, lse, ignore_index, eps):
    n, k = x.shape
    for r in numba.prange(n):
        m = x[r].max()
        s, total = 0.0, 0.0
        for j in range(k):
            s += math.exp(x[r, j] - m)
            total += x[r, j]
        lse[r] = m + math.log(s)
        t = target[r]
        if t == ignore_index:
            loss[r] = 0
        elif eps == 0:  # no smoothing term: a -inf logit elsewhere must not give 0 * inf
            loss[r] = lse[r] - x[r, t]
        else:
            loss[r] = (1 - eps) * (lse[r] - x[r, t]) + eps * (lse[r] - total / k)


@parallel_kernel(serial_below=1 << 15)
def _bwd(x, target, lse, gloss, g, ignore_index, eps):
    n, k = x.shape
    for r in numba.prange(n):
        t = target[r]
        if t == ignore_index:
            g[r] = 0
            continue
        for j in range(k):
            g[r, j] = gloss[r] * (math.exp(x[r, j] - lse[r]) - eps / k)
        g[r, t] -= gloss[r] * (1 - eps)


def softmax_xent_fwd(logits, target, ignore_index, label_smoothing):
    """(loss, lse): per-row loss (N,) -- 0 where target == ignore_index -- and row logsumexp (N,)."""
    x = np.ascontiguousarray(logits)
    loss, lse = np.empty(x.shape[0], x.dtype), np.empty(x.shape[0], x.dtype)
    _fwd(x, np.ascontiguousarray(target, np.int64), loss, lse, ignore_index, label_smoothing)
    return loss, lse


def softmax_xent_bwd(logits, target, lse, gloss, ignore_index, label_smoothing):
    """gloss[:, None] * (softmax(x) - ((1-eps)*onehot(target) + eps/K)); 0 on ignored rows."""
    x = np.ascontiguousarray(logits)
    g = np.empty_like(x)
    _bwd(x, np.ascontiguousarray(target, np.int64), np.ascontiguousarray(lse, x.dtype),
         np.ascontiguousarray(gloss, x.dtype), g, ignore_index, label_smoothing)
    return g
