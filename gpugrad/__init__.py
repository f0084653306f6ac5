"""gpugrad: a tensor autograd library with hand-written CUDA kernels."""
