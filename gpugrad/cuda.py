"""gpugrad.cuda: is the CUDA device usable, and its synchronisation, seeding and memory figures.

Memory figures come from CuPy's memory pool; under GPUGRAD_CUDA_SIM=1 they are 0.
"""
from .backends import get_backend
from .device import device


def _backend():
    return get_backend(device("cuda"))


def is_available():
    """True when a CUDA device can be used (a GPU with CuPy, or simulation)."""
    try:
        _backend()
        return True
    except RuntimeError:
        return False


def is_simulated():
    from .backends.cuda.backend import simulated
    return simulated()


def device_count():
    if not is_available():
        return 0
    if is_simulated():
        return 1
    return _backend().xp.cuda.runtime.getDeviceCount()


def synchronize():
    _backend().synchronize()


def manual_seed(seed):
    _backend().manual_seed(seed)


def _pool():
    backend = _backend()
    return backend.memory_pool() if hasattr(backend, "memory_pool") else None


def memory_allocated():
    """Bytes held by live CUDA arrays."""
    pool = _pool()
    return 0 if pool is None else pool.used_bytes()


def max_memory_allocated():
    """Bytes the pool has reserved (CuPy keeps freed blocks, so this is the high-water mark
    of memory held since the last empty_cache)."""
    pool = _pool()
    return 0 if pool is None else pool.total_bytes()


def empty_cache():
    """Return cached blocks to the driver."""
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()
