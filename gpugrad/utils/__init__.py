"""gpugrad.utils.data is gpugrad.data, so `torch.utils.data` code ports by its import line."""
import sys

from .. import data

sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
