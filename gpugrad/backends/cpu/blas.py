"""NumPy's BLAS on one thread once the CPU kernels load, and the kernels' GEMM call, which
splits a large product over our own threads instead.

OpenBLAS's workers spin for a while after each GEMM, and Numba's workers then wait for cores
those spinning threads hold; on 2 shared cores that stalled conv2d fwd+bwd up to 8x
(64x6x14x14, k5: 308 ms with 2 BLAS threads, 40 ms with one). Our kernels already split their
work over the cores with Numba, so BLAS gets one thread. Limiting it only around our own
GEMMs did not help: the workers of the user's multi-threaded calls still spin. The limit is
process-wide; GPUGRAD_BLAS_THREADS=N sets another (0: leave BLAS as it is).

With BLAS on one thread, our own pool of Python threads shares the cores instead: `matmul`
cuts a large product into column (or row) blocks, one one-thread BLAS call each (NumPy releases
the GIL), and the convolutions run batch chunks on it (`run_parts`). Idle pool threads sleep on
a queue, so nothing spins between calls. This holds with PyTorch in the process too: on a
quiet machine, conv fwd+wgrad+dgrad 128x64x16x16 -> 128 interleaved with PyTorch's took 145-154
ms on our threads against 289-314 ms in turn, and PyTorch's own time did not change.
"""
import itertools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ... import profiler
from ._numba import numba

# A product below this many multiply-adds runs whole. Handing a part to a pool thread costs
# 60-160 us (more when the thread has gone to sleep); split on 2 cores, (64x400)@(400x120),
# 3M multiply-adds, took 169 us against 82 whole, and 12M broke even (307 against 298 us).
SPLIT_MIN_MACS = 1 << 24

_blas_limit = [0]  # the limit applied at load (0: BLAS left as it is)
_pool = [None, 0]  # the executor and its worker count
_inside = threading.local()  # .part: this thread is running a part of run_parts
# A forked child has none of the parent's threads: it makes a pool of its own on first use.
os.register_at_fork(after_in_child=lambda: _pool.__setitem__(slice(None), [None, 0]))


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
        _blas_limit[0] = limit


def workers():
    """How many parts a large product is cut into: Numba's thread count while BLAS is held to
    one thread, else 1 (a multi-threaded BLAS splits its own work)."""
    return numba.get_num_threads() if _blas_limit[0] == 1 else 1


def run_parts(fn, items):
    """[fn(item) for item in items], computed by workers() threads (this one included), each
    taking the next item until none is left. Called again from inside a part, it runs in turn:
    waiting there on the pool could wait on itself."""
    parts = min(workers(), len(items))
    if parts < 2 or getattr(_inside, "part", False):
        return [fn(item) for item in items]
    if _pool[1] != parts - 1:
        if _pool[0] is not None:
            _pool[0].shutdown(wait=False)
        _pool[:] = [ThreadPoolExecutor(parts - 1, thread_name_prefix="gpugrad-cpu"), parts - 1]
    results, order = [None] * len(items), itertools.count()  # next() on a count is atomic

    def drain():
        _inside.part = True
        try:
            i = next(order)
            while i < len(items):
                results[i] = fn(items[i])
                i = next(order)
        finally:
            _inside.part = False
    pending = [_pool[0].submit(drain) for _ in range(parts - 1)]
    drain()
    for f in pending:
        f.result()
    return results


def _split_matmul(a, b, parts):
    """a @ b with the output cut into `parts` blocks of columns (or of rows, when b has fewer
    columns than a has rows), one block per thread; the blocks are views into one result."""
    a, b = np.asarray(a), np.asarray(b)
    out = np.empty(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]),
                   np.result_type(a, b))
    by_columns = b.shape[-1] >= a.shape[-2]
    size = b.shape[-1] if by_columns else a.shape[-2]
    edges = np.linspace(0, size, parts + 1).astype(int)

    def block(lo_hi):
        lo, hi = lo_hi
        if by_columns:
            np.matmul(a, b[..., lo:hi], out=out[..., lo:hi])
        else:
            np.matmul(a[..., lo:hi, :], b, out=out[..., lo:hi, :])
    run_parts(block, list(zip(edges[:-1], edges[1:])))
    return out


def _matmul(a, b):
    parts = workers()
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = 1 if a.ndim == b.ndim == 2 else math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    if parts < 2 or batch * m * k * n < SPLIT_MIN_MACS or max(m, n) < 2 * parts:
        return np.matmul(a, b)
    return _split_matmul(a, b, min(parts, max(m, n)))


def matmul(a, b):
    """a @ b for operands of at least 2 dims (as np.matmul), split over our threads when large;
    seen by the profiler as a library call."""
    return profiler.record("library", "matmul", "cpu", _matmul, a, b)


def gemm(a, b):
    """a @ b whole on the calling thread (a part of work already split); a library call."""
    return profiler.record("library", "matmul", "cpu", np.matmul, a, b)


limit_blas_threads()
