"""Training one module on many processes (gpugrad.distributed underneath)."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
