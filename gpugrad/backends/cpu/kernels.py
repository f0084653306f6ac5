"""The CPU backend's kernel module: the same functions, with the same signatures, as the
CUDA backend's (gpugrad/backends/cuda/kernels.py), so op code never changes between devices."""
from .conv import conv2d_forward, conv_dgrad, conv_wgrad, im2col  # noqa: F401
from .gelu import gelu_bwd, gelu_fwd  # noqa: F401
from .pool import maxpool2d_bwd, maxpool2d_fwd  # noqa: F401
from .softmax_xent import softmax_xent_bwd, softmax_xent_fwd  # noqa: F401
from numpy import matmul  # noqa: F401  (NumPy's BLAS; the CUDA backend has its own GEMM)
