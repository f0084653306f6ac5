"""Backends: one per device type, each an array module (`xp`) plus a kernel module.

The engine and the ops never import NumPy-only or CuPy-only code: they ask a tensor's
backend for `xp` (Chainer's get_array_module idea) and for `kernels`, the narrow set of
hand-written kernels (conv, gelu, pooling, softmax-cross-entropy) each device implements
with the same signatures. Differences between devices (host copies, scatter-add, random
generators) stay inside the Backend classes.
"""
import importlib

import numpy as np


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

    def scatter_add(self, target, index, values):
        """target[index] += values with repeated indices accumulated (np.add.at)."""
        np.add.at(target, index, values)

    def synchronize(self):
        """Wait for queued device work (nothing to wait for on the CPU)."""


CPU = Backend("cpu", np, lambda: importlib.import_module("gpugrad.backends.cpu.kernels"))
BACKENDS = {"cpu": CPU}


def get_backend(dev):
    """The backend serving device `dev` (the CUDA one is set up on first use)."""
    if dev.type == "cpu":
        return CPU
    if "cuda" not in BACKENDS:
        from .cuda.backend import make_cuda_backend
        BACKENDS["cuda"] = make_cuda_backend()
    if dev.index != 0:
        raise RuntimeError(f"device '{dev}': only cuda:0 is supported so far")
    return BACKENDS["cuda"]


def get_array_module(*arrays):
    """NumPy or CuPy, whichever owns the arrays (Chainer's get_array_module)."""
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy
            return cupy
    return np
