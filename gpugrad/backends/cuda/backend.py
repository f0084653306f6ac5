"""The CUDA backend: CuPy arrays and our RawKernels, or, with GPUGRAD_CUDA_SIM=1, NumPy arrays
with every RawKernel launch run by the kernel emulator (same launch code, grids and casts)."""
import os

import numpy as np

from .. import Backend

INSTALL_HINT = ("install the CUDA extra (pip install \"gpugrad[cuda]\", which brings cupy-cuda13x) on a "
                "machine with an NVIDIA GPU, or set GPUGRAD_CUDA_SIM=1 to simulate the device on the CPU")


def simulated():
    return os.environ.get("GPUGRAD_CUDA_SIM", "") not in ("", "0")


def make_cuda_backend():
    """The simulated or the real CUDA backend; a RuntimeError that says what to do if neither."""
    if simulated():
        return SimulatedCudaBackend()
    try:
        import cupy
    except ImportError:
        raise RuntimeError(f"device 'cuda' is not available: CuPy is not installed; {INSTALL_HINT}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, no device
        raise RuntimeError(f"device 'cuda' is not available: {e}; {INSTALL_HINT}") from None
    if count == 0:
        raise RuntimeError(f"device 'cuda' is not available: CuPy sees no GPU; {INSTALL_HINT}")
    return CupyBackend(cupy)


class SimulatedCudaBackend(Backend):
    """cuda tensors backed by NumPy; kernels compiled with g++ and run by gpugrad.emu."""

    def __init__(self):
        super().__init__("cuda", np, self._emulated_kernels)

    @staticmethod
    def _emulated_kernels():
        from gpugrad.emu import RawModule
        from .kernels import KernelSet
        return KernelSet(np, RawModule)


class CupyBackend(Backend):
    """cuda tensors backed by CuPy arrays on the current GPU.

    Random numbers come from the same NumPy generator as on the CPU and are copied over, so a
    seed gives the same initialisation and dropout masks on every device, and the generator's
    state can be checkpointed.
    """

    def __init__(self, cupy):
        super().__init__("cuda", cupy, lambda: self._cupy_kernels(cupy))

    @staticmethod
    def _cupy_kernels(cupy):
        from .kernels import KernelSet
        return KernelSet(cupy, cupy.RawModule)

    def to_host(self, arr):
        return self.xp.asnumpy(arr)

    def scatter_add(self, target, index, values):
        import cupyx
        cupyx.scatter_add(target, index, values)

    def synchronize(self):
        self.xp.cuda.Device().synchronize()

    def memory_pool(self):
        return self.xp.get_default_memory_pool()
