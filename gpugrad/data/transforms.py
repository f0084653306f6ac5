"""Batch-friendly transforms on input tensors of shape (C, H, W) or (N, C, H, W).

Random transforms draw from the NumPy generator they are given (the training command shares
its DataLoader's, so one state covers all data randomness), else from gpugrad's CPU generator.
"""
import numpy as np

from ..backends import CPU
from ..tensor import Tensor


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return f"Compose({self.transforms})"


def _rng(generator):
    return CPU.rng if generator is None else generator


class Normalize:
    """(x - mean) / std with one mean and std for all channels, or one per channel."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, x):
        xp = x.backend.xp
        shape = (-1, 1, 1)
        mean = xp.asarray(self.mean, dtype=x.dtype).reshape(shape)
        std = xp.asarray(self.std, dtype=x.dtype).reshape(shape)
        return Tensor._make((x._data - mean) / std, x.device)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomShift:
    """Move each image by a random whole number of pixels in [-max_shift, max_shift] along
    each axis, filling the uncovered border with `fill` (a random crop of the padded image)."""

    def __init__(self, max_shift, fill=0.0, generator=None):
        self.max_shift, self.fill, self.generator = int(max_shift), fill, generator

    def __call__(self, x):
        if self.max_shift == 0:
            return x
        single = x.ndim == 3
        arr = x._data[None] if single else x._data
        xp, s = x.backend.xp, self.max_shift
        n, c, h, w = arr.shape
        padded = xp.pad(arr, ((0, 0), (0, 0), (s, s), (s, s)), constant_values=self.fill)
        dy, dx = (xp.asarray(_rng(self.generator).integers(0, 2 * s + 1, n)) for _ in range(2))
        rows = (dy[:, None] + xp.arange(h))[:, None, :, None]
        cols = (dx[:, None] + xp.arange(w))[:, None, None, :]
        out = padded[xp.arange(n)[:, None, None, None], xp.arange(c)[None, :, None, None], rows, cols]
        return Tensor._make(out[0] if single else out, x.device)

    def __repr__(self):
        return f"RandomShift({self.max_shift})"


class RandomAffine:
    """Rotate each image by up to ±`degrees`, scale it by up to 1±`scale` and move it by up to
    ±`translate` whole pixels, about its centre, sampling bilinearly; outside reads as `fill`."""

    def __init__(self, degrees=10.0, translate=2, scale=0.1, fill=0.0, generator=None):
        self.degrees, self.translate, self.scale, self.fill = degrees, int(translate), scale, fill
        self.generator = generator

    def __call__(self, x):
        single = x.ndim == 3
        arr = x._data[None] if single else x._data
        xp = x.backend.xp
        n, c, h, w = arr.shape
        sy, sx = (xp.asarray(a, dtype=arr.dtype) for a in self._sources(n, h, w))
        padded = xp.pad(arr, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=self.fill)
        y0, x0 = xp.floor(sy), xp.floor(sx)
        wy, wx = (sy - y0)[:, None], (sx - x0)[:, None]
        batch = xp.arange(n)[:, None, None]

        def at(yi, xi):  # (n, c, h, w) values at source pixels, `fill` outside the image
            yi = xp.clip(yi, -1, h).astype(xp.int64) + 1
            xi = xp.clip(xi, -1, w).astype(xp.int64) + 1
            return xp.moveaxis(padded[batch, :, yi, xi], -1, 1)
        top = at(y0, x0) * (1 - wx) + at(y0, x0 + 1) * wx
        bottom = at(y0 + 1, x0) * (1 - wx) + at(y0 + 1, x0 + 1) * wx
        out = top * (1 - wy) + bottom * wy
        return Tensor._make(out[0] if single else out, x.device)

    def _sources(self, n, h, w):
        """For each output pixel, the (row, col) it reads: the inverse transform of its position."""
        rng = _rng(self.generator)
        angle = np.deg2rad(rng.uniform(-self.degrees, self.degrees, n))
        zoom = rng.uniform(1 - self.scale, 1 + self.scale, n)
        shift = rng.integers(-self.translate, self.translate + 1, (n, 2))
        cy, cx = (h - 1) / 2, (w - 1) / 2
        rows, cols = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        dy = rows[None] - shift[:, 0, None, None]
        dx = cols[None] - shift[:, 1, None, None]
        cos, sin = (np.cos(angle) / zoom)[:, None, None], (np.sin(angle) / zoom)[:, None, None]
        return cos * dy + sin * dx + cy, -sin * dy + cos * dx + cx

    def __repr__(self):
        return f"RandomAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale})"
