"""A counter-based random generator whose whole state is one device array: what a CUDA graph
needs, since a replayed graph can't draw from the host's generator (its numbers would be baked
into the graph). Each draw hashes (key, counter + i) with SplitMix64's finaliser, all in device
array ops, and advances the counter in place on the device, so every replay draws new numbers.
"""
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


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
    """U[0, 1) of `shape` from the device generator; advances it by the number of elements."""
    xp = backend.xp
    s = state(backend)
    n = int(np.prod(shape, dtype=np.int64))
    counter = s[1:] + xp.arange(n, dtype=np.uint64) * _GOLDEN
    bits = _mix(_mix(s[:1] + _GOLDEN) ^ counter)
    s[1:] += np.uint64(max(n, 1) * int(_GOLDEN) % (1 << 64))
    return ((bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))).astype(dtype).reshape(shape)
