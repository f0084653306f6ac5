"""Batch-friendly transforms on input tensors of shape (C, H, W) or (N, C, H, W).

Random transforms draw from the NumPy generator they are given (the training command shares
its DataLoader's, so one state covers all data randomness), else from gpugrad's CPU generator.
"""
from ..backends import CPU
from ..dtypes import is_float
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
    """(x - mean) / std per channel of a float image tensor (..., C, H, W), torchvision's
    transform: mean and std are one number or one per channel; differentiable; inplace=True
    writes into x."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Normalize: input should be a Tensor, got {type(x).__name__}")
        if not is_float(x.dtype):
            raise TypeError(f"Input tensor should be a float tensor. Got {x.dtype}.")
        if x.ndim < 3:
            raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). "
                             f"Got tensor.size() = {x.shape}")
        xp = x.backend.xp
        mean = xp.asarray(self.mean, dtype=x.dtype).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=x.dtype).reshape(-1, 1, 1)
        if bool((std == 0).any()):
            raise ValueError(f"std evaluated to zero after conversion to {x.dtype}, leading to division by zero.")
        mean, std = Tensor._make(mean, x.device), Tensor._make(std, x.device)
        if self.inplace:
            return x.sub_(mean).div_(std)
        return (x - mean) / std

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
        # every shifted window of each image, as a view (n, top, left, c, h, w); picking one per
        # image copies whole rows (index arrays per element took 460 us for 32 MNIST images)
        sn, sc, sh, sw = padded.strides
        windows = xp.lib.stride_tricks.as_strided(padded, (n, 2 * s + 1, 2 * s + 1, c, h, w),
                                                  (sn, sh, sw, sc, sh, sw))
        out = windows[xp.arange(n), dy, dx]
        return Tensor._make(out[0] if single else out, x.device)

    def __repr__(self):
        return f"RandomShift({self.max_shift})"



# --- torchvision-style transforms on single images ------------------------------------------

class ToTensor:
    """An image (H, W, C) or (H, W) array, uint8 in [0, 255] -> float32 (C, H, W) in [0, 1];
    float arrays keep their values. Accepts anything np.asarray takes (a PIL image too)."""

    def __call__(self, pic):
        import numpy as np

        from ..creation import tensor
        arr = np.asarray(pic)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise TypeError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape {arr.shape}")
        out = arr.transpose(2, 0, 1)
        out = out.astype(np.float32) / 255 if arr.dtype == np.uint8 else out.astype(np.float32)
        return tensor(np.ascontiguousarray(out))

    def __repr__(self):
        return "ToTensor()"


class RandomCrop:
    """A random size crop of a (C, H, W) or (N, C, H, W) tensor (one position per call), after
    optional zero padding of `padding` pixels (int, (w, h) or (left, top, right, bottom))."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant", generator=None):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding, self.pad_if_needed, self.fill = padding, pad_if_needed, fill
        self.padding_mode, self.generator = padding_mode, generator

    def __call__(self, x):
        from ..nn.functional import pad
        if self.padding is not None:
            p = self.padding
            p = (p,) * 4 if isinstance(p, int) else (p[0], p[1]) * 2 if len(p) == 2 else tuple(p)
            x = pad(x, (p[0], p[2], p[1], p[3]), mode=self.padding_mode,
                    value=self.fill if self.padding_mode == "constant" else None)
        h, w = x.shape[-2:]
        th, tw = self.size
        if self.pad_if_needed and (h < th or w < tw):
            dh, dw = max(th - h, 0), max(tw - w, 0)
            x = pad(x, (dw, dw, dh, dh), mode=self.padding_mode,
                    value=self.fill if self.padding_mode == "constant" else None)
            h, w = x.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the input size {(h, w)}")
        rng = _rng(self.generator)
        top, left = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
        return x[..., top:top + th, left:left + tw]

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Flip the last (width) dim with probability p."""

    def __init__(self, p=0.5, generator=None):
        self.p, self.generator = p, generator

    def __call__(self, x):
        return x.flip(-1) if _rng(self.generator).random() < self.p else x

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"
