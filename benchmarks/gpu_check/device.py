"""The device under test (CuPy on a GPU, or NumPy with --sim) and its PyTorch peer."""
import os
import traceback

import numpy as np

from .timing import EventClock, WallClock


def error_text(exc):
    """One line naming the exception, for the report."""
    return f"{type(exc).__name__}: {exc}".strip()


def error_tail(exc, lines=6):
    """The last lines of the traceback, enough to locate a failure from the JSON alone."""
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(tb).strip().splitlines()[-lines:]


class Device:
    """Array module `xp`, PyTorch peer and clocks for one run.

    With sim=False, xp is CuPy on GPU 0 and the peer is PyTorch CUDA; either may be missing,
    which is recorded in `xp_error` / `torch_error` rather than raised.
    With sim=True, xp is NumPy and the peer is PyTorch on the CPU.
    """

    def __init__(self, sim):
        self.sim = sim
        self.xp, self.xp_error = (np, None) if sim else _import_cupy()
        self.torch, self.torch_error = _import_torch(sim)
        self.torch_device = "cpu" if sim else "cuda"

    @property
    def name(self):
        """Human-readable device name (used for the default output folder)."""
        if self.sim:
            return "simulation"
        if self.xp is None:
            return "no-gpu"
        props = self.xp.cuda.runtime.getDeviceProperties(0)
        name = props.get("name", b"gpu")
        return name.decode(errors="replace") if isinstance(name, bytes) else str(name)

    def randn(self, shape, seed, dtype="float32"):
        """Standard-normal array on the device (never zeros)."""
        if self.sim:
            return np.random.default_rng(seed).standard_normal(shape, dtype=dtype)
        return self.xp.random.RandomState(seed).standard_normal(shape, dtype=dtype)

    def asarray(self, host_array):
        return self.xp.asarray(host_array)

    def to_torch(self, a):
        """Zero-copy view of a device array as a torch tensor (DLPack)."""
        return self.torch.from_dlpack(a)

    def from_torch(self, t):
        """Zero-copy view of a torch tensor as a device array (DLPack)."""
        return self.xp.from_dlpack(t.detach().contiguous())

    def sync(self):
        if not self.sim:
            self.xp.cuda.Device().synchronize()

    def free(self):
        """Return cached blocks of both allocators so one row's arrays do not crowd the next."""
        if self.sim or self.xp is None:
            return
        self.xp.get_default_memory_pool().free_all_blocks()
        if self.torch is not None and self.torch_error is None:
            self.torch.cuda.empty_cache()

    def clock(self):
        """Clock for work issued through xp: CUDA events on a GPU, wall time in simulation."""
        if self.sim:
            return WallClock()
        cuda = self.xp.cuda
        return EventClock(cuda.Event, cuda.get_elapsed_time)

    def torch_clock(self):
        """Clock for work issued through PyTorch."""
        if self.sim:
            return WallClock()
        torch = self.torch
        return EventClock(lambda: torch.cuda.Event(enable_timing=True),
                          lambda e0, e1: e0.elapsed_time(e1))


def _import_cupy():
    """CuPy with TF32 off and at least one visible GPU, or (None, reason)."""
    os.environ["CUPY_TF32"] = "0"  # cuBLAS SGEMM in full fp32 (also CuPy's default)
    try:
        import cupy
        count = cupy.cuda.runtime.getDeviceCount()
        if count < 1:
            return None, "CuPy sees no CUDA device"
        return cupy, None
    except Exception as exc:  # ImportError, CUDARuntimeError without a driver, ...
        return None, error_text(exc)


def _import_torch(sim):
    """PyTorch with TF32 off and cuDNN autotuning on, or (None, reason)."""
    try:
        import torch
    except Exception as exc:
        return None, error_text(exc)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithm during warm-up
    if sim:
        torch.set_num_threads(1)  # tiny CPU ops: a thread pool only adds scheduling stalls
    if not sim and not torch.cuda.is_available():
        return torch, "torch.cuda.is_available() is False"
    return torch, None
