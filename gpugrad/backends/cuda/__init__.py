"""CUDA backend: CuPy arrays and the RawKernels of kernels/*.cu (see kernels.py)."""
