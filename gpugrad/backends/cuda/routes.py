"""Which implementation a GEMM-shaped op on CUDA runs: our kernels or cuBLAS (through CuPy).

Every such choice is made here, so it can be tuned per shape in one place.  Our kernels
(kernels/gemm.cu, kernels/conv_igemm.cu) are the default: they make no library call, which is
what lets a CUDA graph capture a whole training step (CuPy cannot record cuBLAS during stream
capture).  `gpugrad.backends.cuda.use_cublas = True` selects the im2col + cuBLAS routes and
cuBLAS matmuls instead, for shapes where they are measured faster.
"""


def gemm_route(op, dtype, shape):
    """"ours" or "cublas" for `op` ("matmul", "conv2d_forward", "conv_wgrad", "conv_dgrad") on
    operands of `dtype` and problem `shape` (the op's operand shapes; unused until measured)."""
    from gpugrad.backends import cuda

    return "cublas" if cuda.use_cublas else "ours"
