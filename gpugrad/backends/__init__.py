"""Backends: one per device type, each an array module (`xp`) plus a kernel module.

The engine and the ops never import NumPy-only or CuPy-only code: they ask a tensor's
backend for `xp` (Chainer's get_array_module idea) and for `kernels`, the narrow set of
hand-written kernels (conv, gelu, pooling, softmax-cross-entropy) each device implements
with the same signatures.
"""
import importlib

import numpy as np


class Backend:
    """Everything device-specific that ops need: `xp`, `kernels`, a random generator, copies."""

    def __init__(self, name, xp, kernels_module):
        self.name = name
        self.xp = xp
        self._kernels_module = kernels_module
        self._kernels = None
        self.rng = np.random.default_rng()

    @property
    def kernels(self):
        """The kernel module, imported on first use so `import gpugrad` stays light."""
        if self._kernels is None:
            self._kernels = importlib.import_module(self._kernels_module)
        return self._kernels

    def asarray(self, data, dtype):
        return self.xp.asarray(data, dtype=dtype)

    def to_host(self, arr):
        """A NumPy copy of `arr`."""
        return np.array(arr, copy=True)

    def manual_seed(self, seed):
        self.rng = np.random.default_rng(seed)

    def scatter_add(self, target, index, values):
        """target[index] += values with repeated indices accumulated (np.add.at)."""
        np.add.at(target, index, values)


CPU = Backend("cpu", np, "gpugrad.backends.cpu.kernels")
BACKENDS = {"cpu": CPU}


def get_backend(dev):
    """The backend serving device `dev`."""
    if dev.type == "cpu":
        return CPU
    raise RuntimeError(
        f"device '{dev}' is not available: this build of gpugrad has no CUDA backend yet; "
        "use device='cpu'"
    )


def get_array_module(*arrays):
    """NumPy or CuPy, whichever owns the arrays (Chainer's get_array_module)."""
    for a in arrays:
        mod = type(a).__module__
        if mod.startswith("cupy"):
            import cupy
            return cupy
    return np
