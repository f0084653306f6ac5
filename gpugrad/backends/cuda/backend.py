"""The CUDA backend: CuPy arrays and our RawKernels, or, with GPUGRAD_CUDA_SIM=1, NumPy arrays
with every RawKernel launch run by the kernel emulator (same launch code, grids and casts).

There is one backend per GPU ("cuda:0", "cuda:1", ...); they share one KernelSet, since CuPy
loads a compiled module on each device the first time it is launched there.
"""
import functools
import os

import numpy as np

from .. import Backend

INSTALL_HINT = ("install the CUDA extra (pip install \"gpugrad[cuda]\", which brings cupy-cuda13x) on a "
                "machine with an NVIDIA GPU, or set GPUGRAD_CUDA_SIM=1 to simulate the device on the CPU")


def simulated():
    return os.environ.get("GPUGRAD_CUDA_SIM", "") not in ("", "0")


def simulated_count():
    """GPUGRAD_CUDA_SIM=N simulates N devices (any other non-zero value, one)."""
    value = os.environ.get("GPUGRAD_CUDA_SIM", "")
    return int(value) if value.isdigit() else 1


def make_cuda_backend(index=0):
    """The simulated or the real backend of cuda:index; a RuntimeError that says what to do if
    there is none."""
    if simulated():
        count = simulated_count()
        if index >= count:
            raise RuntimeError(f"device 'cuda:{index}' is not available: GPUGRAD_CUDA_SIM={count} simulates "
                               f"{count} device(s), cuda:0 to cuda:{count - 1}")
        return SimulatedCudaBackend(index)
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
    if index >= count:
        raise RuntimeError(f"device 'cuda:{index}' is not available: CuPy sees {count} GPU(s), "
                           f"cuda:0 to cuda:{count - 1}")
    return CupyBackend(cupy, index)


@functools.cache
def _kernel_set(simulate):
    from .kernels import KernelSet
    if simulate:
        from .sim_array import sim_numpy
        return KernelSet(sim_numpy, _SimRawModule)
    import cupy
    return KernelSet(cupy, cupy.RawModule)


class _SimRawModule:
    """gpugrad.emu.RawModule whose launches go through the simulated device's hook (sim_array),
    so that a CUDA graph capture records them."""

    def __init__(self, **kwargs):
        from gpugrad.emu import RawModule
        self._module = RawModule(**kwargs)

    def get_function(self, name):
        from .sim_array import launch
        kernel = self._module.get_function(name)
        return lambda grid, block, args, **kw: launch(kernel, grid, block, args, **kw)


class SimulatedCudaBackend(Backend):
    """cuda tensors backed by NumPy arrays (SimArray, see sim_array.py); kernels compiled with
    g++ and run by gpugrad.emu."""

    def __init__(self, index):
        from .sim_array import sim_numpy
        super().__init__(f"cuda:{index}", sim_numpy, lambda: _kernel_set(True))
        self.index = index

    def to_host(self, arr):
        from .sim_array import refuse_host_sync
        refuse_host_sync("a copy to the host")
        return np.array(arr, copy=True, subok=False)

    def synchronize(self):
        from .sim_array import refuse_host_sync
        refuse_host_sync("gpugrad.cuda.synchronize()")


class CupyBackend(Backend):
    """cuda:index tensors backed by CuPy arrays on that GPU.

    Random numbers come from the same NumPy generator as on the CPU and are copied over, so a
    seed gives the same initialisation and dropout masks on every device, and the generator's
    state can be checkpointed.
    """

    def __init__(self, cupy, index):
        super().__init__(f"cuda:{index}", cupy, lambda: _kernel_set(False))
        self.index = index
        self._only_gpu = cupy.cuda.runtime.getDeviceCount() == 1  # then it is always current
        cupy.cuda.runtime.setDevice(index)
        from . import allow_tf32
        self.set_tf32(allow_tf32)

    def activate(self):
        if self._only_gpu:
            return
        runtime = self.xp.cuda.runtime
        if runtime.getDevice() != self.index:
            runtime.setDevice(self.index)

    def set_tf32(self, allow):
        """CuPy's own process-wide switch for float32 GEMMs, the one its CUPY_TF32 variable sets."""
        try:
            from cupy._core import _routines_linalg as linalg
            switch = linalg.set_compute_type
        except (ImportError, AttributeError):
            if allow:
                raise RuntimeError(f"allow_tf32: CuPy {self.xp.__version__} has no cuBLAS compute-type "
                                   "switch (cupy._core._routines_linalg.set_compute_type)") from None
            return  # CuPy's default: full float32 unless CUPY_TF32 is set
        switch(np.float32, linalg.COMPUTE_TYPE_TF32 if allow else linalg.COMPUTE_TYPE_DEFAULT)

    def to_host(self, arr):
        return self.xp.asnumpy(arr)

    def scatter_add(self, target, index, values):
        import cupyx
        cupyx.scatter_add(target, index, values)

    def synchronize(self):
        self.xp.cuda.Device(self.index).synchronize()

    def memory_pool(self):
        """CuPy's pool; its figures are those of the current device, which get_backend set."""
        return self.xp.get_default_memory_pool()
