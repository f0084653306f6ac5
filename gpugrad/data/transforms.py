"""Batch-friendly transforms on input tensors of shape (C, H, W) or (N, C, H, W).

Random transforms draw from the NumPy generator they are given (the training command shares
its DataLoader's, so one state covers all data randomness), else from gpugrad's CPU generator.
"""
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

