"""gpugrad.cuda: is the CUDA device usable, its synchronisation, seeding and memory figures, and
CUDA graphs (CUDAGraph, graph).

Functions that take `device` (an index, "cuda:N" or a device; default cuda:0) act on that GPU,
as torch.cuda's do. Memory figures come from CuPy's memory pool; under GPUGRAD_CUDA_SIM they are 0.
"""
from .backends import get_backend
from .device import cuda_device


def __getattr__(name):
    """CUDAGraph, graph and is_current_stream_capturing (backends/cuda/graphs.py), loaded on use."""
    if name in ("CUDAGraph", "graph", "is_current_stream_capturing"):
        from .backends.cuda import graphs
        return getattr(graphs, name)
    raise AttributeError(f"module 'gpugrad.cuda' has no attribute {name!r}")


def _backend(device=None):
    return get_backend(cuda_device(device))


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
        from .backends.cuda.backend import simulated_count
        return simulated_count()
    return _backend().xp.cuda.runtime.getDeviceCount()


def get_device_name(device=None):
    backend = _backend(device)
    if is_simulated():
        return "simulated CUDA device (gpugrad.emu)"
    name = backend.xp.cuda.runtime.getDeviceProperties(backend.index)["name"]
    return name.decode() if isinstance(name, bytes) else name


def synchronize(device=None):
    _backend(device).synchronize()


def manual_seed(seed):
    """Seed cuda:0's generator (manual_seed_all seeds every GPU's)."""
    _backend().manual_seed(seed)


def manual_seed_all(seed):
    for i in range(device_count()):
        _backend(i).manual_seed(seed)


def _pool(device):
    backend = _backend(device)
    return backend.memory_pool() if hasattr(backend, "memory_pool") else None


def memory_allocated(device=None):
    """Bytes held by live CUDA arrays."""
    pool = _pool(device)
    return 0 if pool is None else pool.used_bytes()


def max_memory_allocated(device=None):
    """Bytes the pool has reserved (CuPy keeps freed blocks, so this is the high-water mark
    of memory held since the last empty_cache)."""
    pool = _pool(device)
    return 0 if pool is None else pool.total_bytes()


def empty_cache():
    """Return cached blocks to the driver."""
    for i in range(device_count()):
        pool = _pool(i)
        if pool is not None:
            pool.free_all_blocks()
