"""A counter-based random generator whose whole state is one device array: what a CUDA graph
needs, since a replayed graph can't draw from the host's generator (its numbers would be baked
into the graph). A draw is Philox4x32-10 of (key, counter + i/2) in our kernel
(kernel_interface.philox_uniform, kernels/philox.cu), which then advances the counter in place
on the device, so every replay draws new numbers.
"""
import numpy as np


def _initial(seed):
    key = np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] if seed is not None else \
        np.random.SeedSequence().generate_state(1, np.uint64)[0]
    return np.array([key, 0], dtype=np.uint64)


def state(backend):
    """The backend's generator state [key, counter] (uint64, on the device), made on first use;
    call it before a capture so making it is not part of the graph."""
    s = getattr(backend, "_counter_rng", None)
    if s is None:
        s = backend._counter_rng = backend.xp.asarray(_initial(getattr(backend, "_counter_seed", None)))
    return s


def manual_seed(backend, seed):
    """Seed the device generator (in place, so a captured graph keeps drawing from it); it does
    not touch the host generator's stream."""
    backend._counter_seed = seed
    s = getattr(backend, "_counter_rng", None)
    if s is not None:
        s[...] = backend.xp.asarray(_initial(seed))


def uniform(backend, shape, dtype):
    """U[0, 1) of `shape` from the device generator; advances it past the numbers drawn. float16
    is drawn in float32 and rounded (which may round up to 1.0, as any float16 uniform may)."""
    dtype = np.dtype(dtype)
    drawn = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
    n = int(np.prod(shape, dtype=np.int64))
    out = backend.kernels.philox_uniform(state(backend), n, drawn).reshape(shape)
    return out if drawn == dtype else out.astype(dtype)
