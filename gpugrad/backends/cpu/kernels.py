"""The CPU backend's kernel module: the kernel interface (gpugrad.backends.kernel_interface),
the same functions with the same signatures as the CUDA backend's KernelSet, and the CPU's
routes of gpugrad.backends.algorithms (the *_direct convolutions)."""
from . import blas, heap
from .adam import fused_adam  # noqa: F401
from .batch_norm import batch_norm_bwd, batch_norm_fwd  # noqa: F401
from .conv import conv2d_forward, conv_dgrad, conv_wgrad  # noqa: F401
from .conv_direct import conv2d_forward as conv2d_forward_direct  # noqa: F401
from .conv_direct import conv_dgrad as conv_dgrad_direct  # noqa: F401
from .conv_direct import conv_wgrad as conv_wgrad_direct  # noqa: F401
from .gelu import gelu_bwd, gelu_fwd  # noqa: F401
from .philox import philox_uniform  # noqa: F401
from .pool import maxpool2d_bwd, maxpool2d_fwd  # noqa: F401
from .relu import relu_bwd, relu_fwd  # noqa: F401
from .softmax_xent import softmax_xent_bwd, softmax_xent_fwd  # noqa: F401

DEVICE = "cpu"  # gpugrad.backends.algorithms chooses the CPU's routes by it

heap.keep_heap()


def matmul(a, b):
    """a @ b by NumPy's BLAS, large products split over our threads (the CUDA backend has its
    own GEMM)."""
    return blas.matmul(a, b)
