"""Random tensors from each backend's generator; manual_seed makes runs repeatable."""
from . import dtypes
from .backends import get_backend, manual_seed_all
from .creation import _new
from .device import as_device


def manual_seed(seed):
    """Seed every device's generator, also those of GPUs first used later (nothing global in NumPy)."""
    manual_seed_all(seed)


def _generator(device):
    return get_backend(as_device(device)).rng


def rand(*size, dtype=None, device="cpu", requires_grad=False):
    """Uniform on [0, 1)."""
    rng = _generator(device)
    return _new(lambda xp, s, dt: xp.asarray(rng.random(s, dtype=dt)), size, dtype, device, requires_grad)


def randn(*size, dtype=None, device="cpu", requires_grad=False):
    """Standard normal."""
    rng = _generator(device)
    return _new(lambda xp, s, dt: xp.asarray(rng.standard_normal(s, dtype=dt)), size, dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device="cpu"):
    """Integers in [low, high), int64 by default."""
    if high is None:
        low, high = 0, low
    rng = _generator(device)
    return _new(lambda xp, s, dt: xp.asarray(rng.integers(low, high, s), dtype=dt), (size,),
                dtype or dtypes.int64, device, False)


def randperm(n, device="cpu"):
    rng = _generator(device)
    return _new(lambda xp, s, dt: xp.asarray(rng.permutation(n), dtype=dt), (), dtypes.int64, device, False)


def rand_like(t, dtype=None, device=None, requires_grad=False):
    return rand(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False):
    return randn(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)
