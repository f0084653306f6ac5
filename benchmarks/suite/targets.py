"""The devices a run can benchmark: the CPU, or a real GPU through CuPy (never the simulator)."""
import os
from dataclasses import dataclass

import numpy as np

from benchmarks.gpu_check.device import Device, error_text


class Unavailable(Exception):
    """The requested device cannot be benchmarked; the message says why in one line."""


@dataclass
class Target:
    """One benchmark device: gpu_check's Device (xp, clocks, PyTorch peer) plus gpugrad's
    kernel functions and device name for that device."""
    name: str          # "cpu" or "cuda"
    dev: Device
    kernels: object    # gpugrad.backends.cpu.kernels, or the CUDA backend's KernelSet

    @property
    def torch_ok(self):
        return self.dev.torch is not None and self.dev.torch_error is None

    def torch_tensor(self, host):
        """A PyTorch copy of a host array on this device."""
        return self.dev.torch.from_numpy(np.ascontiguousarray(host)).to(self.dev.torch_device)


def cpu_target():
    """NumPy arrays, gpugrad's Numba kernels, wall-clock timing, PyTorch CPU as the peer
    (gpu_check's sim Device is exactly that set-up), all with Numba's thread count."""
    dev = Device(sim=True)  # imports PyTorch, if it is installed
    from gpugrad.backends import get_backend
    from gpugrad.backends.cpu._numba import numba
    from gpugrad.device import device
    if dev.torch is not None:
        dev.torch.set_num_threads(numba.get_num_threads())
    return Target("cpu", dev, get_backend(device("cpu")).kernels)


def cuda_target():
    """CuPy on GPU 0 with gpugrad's CUDA backend, or Unavailable naming the reason."""
    sim = os.environ.get("GPUGRAD_CUDA_SIM", "")
    if sim not in ("", "0"):
        raise Unavailable(f"GPUGRAD_CUDA_SIM={sim} simulates cuda on the CPU, which is not a "
                          "benchmark device; unset it, or run --device cpu")
    dev = Device(sim=False)
    if dev.xp is None:
        raise Unavailable(f"--device cuda needs a real GPU through CuPy: {dev.xp_error} "
                          "(in Docker: docker run --gpus all)")
    try:
        from gpugrad.backends import get_backend
        from gpugrad.device import device
        kernels = get_backend(device("cuda")).kernels
    except Exception as exc:
        raise Unavailable(f"gpugrad's CUDA backend failed to start: {error_text(exc)}") from None
    return Target("cuda", dev, kernels)
