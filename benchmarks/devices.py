"""The devices a run benchmarks: the CPU, or a real GPU through CuPy (never the simulator).

Each holds its array module, gpugrad's kernel functions for it, clocks, and PyTorch on the
same device as the peer (TF32 off, cuDNN autotuning on).
"""
import os

import numpy as np

from .errors import error_text
from .timing import EventClock, WallClock


class Unavailable(Exception):
    """The requested device cannot be benchmarked; the message says why in one line."""


class Device:
    """What the CPU and the GPU have in common; `name` is gpugrad's device name."""
    name = None

    def __init__(self, xp, kernels, torch, torch_error):
        self.xp, self.kernels = xp, kernels
        self.torch, self.torch_error = torch, torch_error

    @property
    def torch_ok(self):
        return self.torch is not None and self.torch_error is None

    def torch_tensor(self, host):
        """A PyTorch copy of a host array on this device."""
        return self.torch.from_numpy(np.ascontiguousarray(host)).to(self.name)

    def to_torch(self, a):
        """Zero-copy view of a device array as a torch tensor (DLPack)."""
        return self.torch.from_dlpack(a)

    def from_torch(self, t):
        """Zero-copy view of a torch tensor as a device array (DLPack)."""
        return self.xp.from_dlpack(t.detach().contiguous())

    def asarray(self, host_array):
        return self.xp.asarray(host_array)


class Cpu(Device):
    """NumPy arrays, gpugrad's Numba kernels, wall-clock timing, PyTorch CPU, all on Numba's
    thread count. PyTorch is imported first, as a user script that imports it would."""
    name = "cpu"

    def __init__(self):
        torch, torch_error = _import_torch(cuda=False)
        from gpugrad.backends import get_backend
        from gpugrad.backends.cpu._numba import numba
        from gpugrad.device import device
        if torch is not None:
            torch.set_num_threads(numba.get_num_threads())
        super().__init__(np, get_backend(device("cpu")).kernels, torch, torch_error)

    def randn(self, shape, seed):
        """Standard-normal float32 array (never zeros)."""
        return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)

    def sync(self):
        pass

    def free(self):
        pass

    def clock(self):
        return WallClock()

    torch_clock = clock


class Cuda(Device):
    """CuPy on GPU 0 with gpugrad's CUDA backend and PyTorch CUDA; CUDA-event timing.
    Raises Unavailable, naming the reason, where that cannot run."""
    name = "cuda"

    def __init__(self):
        sim = os.environ.get("GPUGRAD_CUDA_SIM", "")
        if sim not in ("", "0"):
            raise Unavailable(f"GPUGRAD_CUDA_SIM={sim} simulates cuda on the CPU, which is not a "
                              "benchmark device; unset it, or run --device cpu")
        cupy, why = _import_cupy()
        if cupy is None:
            raise Unavailable(f"--device cuda needs a real GPU through CuPy: {why} "
                              "(in Docker: docker run --gpus all)")
        torch, torch_error = _import_torch(cuda=True)
        try:
            from gpugrad.backends import get_backend
            from gpugrad.device import device
            kernels = get_backend(device("cuda")).kernels
        except Exception as exc:
            raise Unavailable(f"gpugrad's CUDA backend failed to start: {error_text(exc)}") from None
        super().__init__(cupy, kernels, torch, torch_error)

    @property
    def title(self):
        """The GPU's name, as the driver reports it."""
        name = self.xp.cuda.runtime.getDeviceProperties(0).get("name", b"gpu")
        return name.decode(errors="replace") if isinstance(name, bytes) else str(name)

    def randn(self, shape, seed):
        return self.xp.random.RandomState(seed).standard_normal(shape, dtype=np.float32)

    def sync(self):
        self.xp.cuda.Device().synchronize()

    def free(self):
        """Return cached blocks of both allocators so one row's arrays do not crowd the next."""
        self.xp.get_default_memory_pool().free_all_blocks()
        if self.torch_ok:
            self.torch.cuda.empty_cache()

    def clock(self):
        """Clock for work issued through CuPy and gpugrad."""
        cuda = self.xp.cuda
        return EventClock(cuda.Event, cuda.get_elapsed_time)

    def torch_clock(self):
        """Clock for work issued through PyTorch."""
        torch = self.torch
        return EventClock(lambda: torch.cuda.Event(enable_timing=True),
                          lambda e0, e1: e0.elapsed_time(e1))


def _import_cupy():
    """CuPy with TF32 off and at least one visible GPU, or (None, reason)."""
    os.environ["CUPY_TF32"] = "0"  # cuBLAS SGEMM in full fp32 (also CuPy's default)
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy sees no CUDA device"
        return cupy, None
    except Exception as exc:  # ImportError, CUDARuntimeError without a driver, ...
        return None, error_text(exc)


def _import_torch(cuda):
    """PyTorch with TF32 off and cuDNN autotuning on, or (None, reason)."""
    try:
        import torch
    except Exception as exc:
        return None, error_text(exc)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithm during warm-up
    if cuda and not torch.cuda.is_available():
        return torch, "torch.cuda.is_available() is False"
    return torch, None
