"""F.pad's reflect, replicate and circular modes: each padded axis is a gather of source
positions (an index array), so the gradient sums back onto the positions read."""
import numpy as np

from ..tensor import Tensor
from .join import pad as constant_pad


def _positions(n, left, right, mode):
    i = np.arange(-left, n + right)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    i = np.abs(i) % period if period else np.zeros_like(i)
    return np.where(i >= n, period - i, i)


def pad(input, pad, mode="constant", value=None):
    """torch.nn.functional.pad: `pad` lists (left, right) widths starting from the last dim."""
    if mode == "constant":
        return constant_pad(input, pad, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use constant, reflect, replicate "
                                  "or circular")
    if len(pad) % 2 or len(pad) // 2 > input.ndim - 1:
        raise ValueError(f"pad: {mode} padding takes (left, right) widths for at most {input.ndim - 1} "
                         f"trailing dims of an input of shape {input.shape}, got {pad}")
    out = input
    for k in range(len(pad) // 2):
        dim = input.ndim - 1 - k
        left, right, n = pad[2 * k], pad[2 * k + 1], input.shape[dim]
        if min(left, right) < 0:
            raise ValueError(f"pad: negative widths are not supported, got {pad}")
        if mode == "reflect" and max(left, right) >= n:
            raise RuntimeError(f"pad: reflect padding ({left}, {right}) must be smaller than dim {dim} of size {n}")
        if mode == "circular" and max(left, right) > n:
            raise RuntimeError(f"pad: circular padding ({left}, {right}) must not exceed dim {dim} of size {n}")
        idx = Tensor._make(input.backend.xp.asarray(_positions(n, left, right, mode)), input.device)
        out = out[(slice(None),) * dim + (idx,)]
    return out


__all__ = ["pad"]
