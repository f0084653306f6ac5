"""CUDA backend: CuPy arrays and the RawKernels of kernels/*.cu (see kernels.py).

`gpugrad.backends.cuda.allow_tf32` (default False), like PyTorch's
`torch.backends.cuda.matmul.allow_tf32`: when True, cuBLAS may round float32 GEMM inputs to
TensorFloat-32 (10-bit mantissa) on GPUs of compute capability 8.0 and up, which speeds up
matmul, linear and the GEMMs inside conv2d and its gradients. Our own kernels (the direct
convolution gradients, gelu, pooling, softmax-cross-entropy) always compute in float32.
gpugrad sets cuBLAS's mode itself, so CuPy's CUPY_TF32 variable has no effect; under
GPUGRAD_CUDA_SIM the flag is kept but NumPy computes in full precision.
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


sys.modules[__name__].__class__ = _CudaModule
