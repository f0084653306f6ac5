"""gpugrad.accelerator, as torch.accelerator: the device a device-agnostic script should use."""
from . import cuda
from .device import device as _device


def is_available():
    """True when a CUDA device (a GPU, or the simulated one) can be used."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """device('cuda') when one is usable, else None (PyTorch's answer on a CPU-only machine)."""
    return _device("cuda") if cuda.is_available() else None


def device_count():
    return cuda.device_count()


__all__ = ["is_available", "current_accelerator", "device_count"]
