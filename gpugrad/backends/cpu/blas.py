"""NumPy's BLAS on one thread once the CPU kernels load, and the kernels' GEMM call.

OpenBLAS's workers spin for a while after each GEMM, and Numba's workers then wait for cores
those spinning threads hold; on 2 shared cores that stalled conv2d fwd+bwd up to 8x
(64x6x14x14, k5: 308 ms with 2 BLAS threads, 40 ms with one). Our kernels already split their
work over the cores with Numba, so BLAS gets one thread. Limiting it only around our own
GEMMs did not help: the workers of the user's multi-threaded calls still spin. The limit is
process-wide; GPUGRAD_BLAS_THREADS=N sets another (0: leave BLAS as it is).
"""
import os

import numpy as np

from ... import profiler


def limit_blas_threads():
    """Apply GPUGRAD_BLAS_THREADS (default 1) to NumPy's BLAS, if threadpoolctl can reach it."""
    value = os.environ.get("GPUGRAD_BLAS_THREADS", "1")
    if not value.strip().isdigit():
        raise ValueError(f"GPUGRAD_BLAS_THREADS must be a whole number of threads (0: leave BLAS alone), got {value!r}")
    limit = int(value)
    if limit > 0:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return
        threadpool_limits(limits=limit, user_api="blas")


def matmul(a, b):
    """np.matmul, seen by the profiler as a library call."""
    return profiler.record("library", "matmul", "cpu", np.matmul, a, b)


limit_blas_threads()
