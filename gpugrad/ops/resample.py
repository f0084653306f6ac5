"""interpolate (nearest, linear, bilinear): each spatial axis resampled by a small (out, in)
matrix, applied as matmuls, so the gradient is the transposed resampling for free."""
import math

import numpy as np

from ..tensor import Tensor

_MODES = {"nearest": (3, 4), "linear": (3,), "bilinear": (4,)}


def _matrix(n_in, n_out, mode, scale_factor, align_corners):
    """The (n_out, n_in) resampling matrix of one axis, with PyTorch's source-index rules."""
    scale = 1.0 / scale_factor if scale_factor else n_in / n_out
    m = np.zeros((n_out, n_in))
    dst = np.arange(n_out)
    if mode == "nearest":
        m[dst, np.minimum(np.floor(dst * scale).astype(np.int64), n_in - 1)] = 1.0
        return m
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        src = np.maximum(scale * (dst + 0.5) - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = src - i0
    np.add.at(m, (dst, i0), 1 - frac)
    np.add.at(m, (dst, i1), frac)
    return m


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """torch.nn.functional.interpolate for mode nearest (3-D/4-D), linear (3-D), bilinear (4-D)."""
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; use one of {sorted(_MODES)}")
    if input.ndim not in _MODES[mode]:
        raise ValueError(f"interpolate: mode {mode!r} needs a {' or '.join(f'{d}-D' for d in _MODES[mode])} "
                         f"input, got shape {input.shape}")
    if align_corners is not None and mode == "nearest":
        raise ValueError("interpolate: align_corners only has an effect with linear and bilinear modes")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    axes = input.ndim - 2
    spatial = input.shape[2:]
    if size is not None:
        out = (size,) * axes if isinstance(size, int) else tuple(size)
        factors = (None,) * axes
    else:
        factors = (scale_factor,) * axes if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        out = tuple(int(math.floor(n * f)) for n, f in zip(spatial, factors))
        if recompute_scale_factor:
            factors = (None,) * axes
    if len(out) != axes or min(out) < 1:
        raise ValueError(f"interpolate: output size {out} does not fit input of shape {input.shape}")
    mats = [Tensor._make(input.backend.xp.asarray(_matrix(n, o, mode, f, bool(align_corners)), dtype=input.dtype),
                         input.device) for n, o, f in zip(spatial, out, factors)]
    if axes == 1:
        return input @ mats[0].T
    return mats[0] @ input @ mats[1].T


__all__ = ["interpolate"]
