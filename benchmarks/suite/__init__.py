"""The benchmark suite behind `python -m benchmarks`.

Kernel rows (conv, gelu, max-pool, softmax-cross-entropy through the backend's kernel
functions; matmul through the Tensor API) and end-to-end training steps, on the CPU and on a
real GPU, each against PyTorch (and plain NumPy on the CPU) in the same process. Timing,
environment, roofline and the PyTorch set-up (TF32 off) come from benchmarks.gpu_check.
"""
