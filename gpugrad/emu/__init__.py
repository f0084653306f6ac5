"""Run the project's CUDA kernels on the CPU: a CuPy-compatible RawModule built on g++.

See loader.py for the Python side and include/cuda_emu.h for how CUDA C becomes host code.
"""

from .loader import CompileError, LaunchError, RawKernel, RawModule, cache_dir, thread_order

__all__ = ["CompileError", "LaunchError", "RawKernel", "RawModule", "cache_dir", "thread_order"]
