"""Backends: one per device type, each an array module (`xp`) plus a kernel module.

The engine and the ops never import NumPy-only or CuPy-only code: they ask a tensor's
backend for `xp` (Chainer's get_array_module idea) and for `kernels`, the narrow set of
hand-written kernels (conv, gelu, pooling, softmax-cross-entropy) each device implements
with the signatures declared in kernel_interface.py; where a device has alternatives for one,
algorithms.py picks which runs. Differences between devices (host copies, scatter-add, random
generators, which GPU is current) stay inside the Backend classes.
"""
import importlib

import numpy as np

from . import cuda  # light (no CuPy): makes gpugrad.backends.cuda.allow_tf32 reachable


class Backend:
    """Everything device-specific that ops need: `xp`, `kernels`, a random generator, copies."""

    def __init__(self, name, xp, make_kernels):
        self.name = name
        self.xp = xp
        self._make_kernels = make_kernels
        self._kernels = None
        self.rng = np.random.default_rng()

    @property
    def kernels(self):
        """The kernel module, made on first use so `import gpugrad` stays light."""
        if self._kernels is None:
            self._kernels = self._make_kernels()
        return self._kernels

    def to_host(self, arr):
        """A NumPy copy of `arr`."""
        return np.array(arr, copy=True)

    def manual_seed(self, seed):
        self.rng = np.random.default_rng(seed)
        from . import counter_rng
        counter_rng.manual_seed(self, seed)

    def scatter_add(self, target, index, values):
        """target[index] += values with repeated indices accumulated (np.add.at)."""
        np.add.at(target, index, values)

    def synchronize(self):
        """Wait for queued device work (nothing to wait for on the CPU)."""

    def activate(self):
        """Make this backend's device the one new arrays and launches go to (one device here)."""

    def set_tf32(self, allow):
        """Let float32 GEMMs use TensorFloat-32 (gpugrad.backends.cuda.allow_tf32); CPUs have none."""


CPU = Backend("cpu", np, lambda: importlib.import_module("gpugrad.backends.cpu.kernels"))
BACKENDS = {"cpu": CPU}  # by device name: "cpu", "cuda:0", "cuda:1", ...
_SEED = [None]  # the last manual_seed_all, also given to backends set up after it


def manual_seed_all(seed):
    """Seed every device's generator, those set up later included."""
    _SEED[0] = seed
    for backend in BACKENDS.values():
        backend.manual_seed(seed)


def get_backend(dev):
    """The backend serving device `dev`, made its current device (on a GPU, CuPy's current
    device), so that whatever the caller allocates or launches next lands beside the tensor."""
    if dev.type == "cpu":
        return CPU
    name = f"cuda:{dev.index}"
    backend = BACKENDS.get(name)
    if backend is None:
        from .cuda.backend import make_cuda_backend
        backend = BACKENDS[name] = make_cuda_backend(dev.index)
        if _SEED[0] is not None:
            backend.manual_seed(_SEED[0])
    backend.activate()
    return backend


def get_array_module(*arrays):
    """NumPy or CuPy, whichever owns the arrays (Chainer's get_array_module)."""
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy
            return cupy
    return np
