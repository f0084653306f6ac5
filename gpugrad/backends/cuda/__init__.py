"""CUDA backend: CuPy arrays and the RawKernels of kernels/*.cu (see kernels.py).

`gpugrad.backends.cuda.allow_tf32` (default False), like PyTorch's
`torch.backends.cuda.matmul.allow_tf32`: when True, float32 GEMMs may round their inputs to
TensorFloat-32 (10-bit mantissa) on GPUs of compute capability 8.0 and up, which speeds up
matmul, linear, conv2d and its gradients: our GEMM and implicit-GEMM convolution kernels then
run on tensor cores (the emulator rounds exactly as they do), and cuBLAS, when selected, gets
the same mode.  Other kernels (gelu, pooling, softmax-cross-entropy) always compute in float32.
gpugrad sets cuBLAS's mode itself, so CuPy's CUPY_TF32 variable has no effect.

`gpugrad.backends.cuda.use_cublas` (default False): run matmul, linear and conv2d through
cuBLAS (im2col + GEMM for convolutions) instead of our own kernels; gpugrad.backends.algorithms
explains why ours are the default.
"""
import sys
import types


class _CudaModule(types.ModuleType):
    @property
    def allow_tf32(self):
        return self.__dict__.get("_allow_tf32", False)

    @allow_tf32.setter
    def allow_tf32(self, value):
        if not isinstance(value, bool):
            raise TypeError(f"allow_tf32 must be True or False, got {value!r}")
        from .. import BACKENDS
        for backend in BACKENDS.values():
            backend.set_tf32(value)
        self.__dict__["_allow_tf32"] = value

    @property
    def use_cublas(self):
        return self.__dict__.get("_use_cublas", False)

    @use_cublas.setter
    def use_cublas(self, value):
        if not isinstance(value, bool):
            raise TypeError(f"use_cublas must be True or False, got {value!r}")
        self.__dict__["_use_cublas"] = value


sys.modules[__name__].__class__ = _CudaModule
