"""Helpers for the kernel tests (importable from test modules, unlike conftest)."""

import types

import numpy as np


def poisoned(shape, dtype):
    """An array that reads as NaN (floats) or -1 (ints) until a kernel writes it."""
    a = np.empty(shape, dtype)
    a.reshape(-1).view(np.uint8)[...] = 0xFF  # reshape: a 0-d array cannot change its itemsize
    return a


# numpy, except that fresh arrays are poisoned, so an element a kernel forgets shows up.
poisoned_numpy = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("_")})
poisoned_numpy.empty = lambda shape, dtype=float: poisoned(shape, dtype)
poisoned_numpy.empty_like = lambda a, dtype=None: poisoned(a.shape, dtype or a.dtype)


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if np.dtype(dtype) == np.float32 else dict(rtol=1e-11, atol=1e-11)
