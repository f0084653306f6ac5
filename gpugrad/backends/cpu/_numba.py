"""Numba for the CPU kernels: OpenMP workers that soon sleep, one launch at a time.

Numba's OpenMP layer runs on libgomp. Its workers that sleep at once (OMP_WAIT_POLICY=PASSIVE)
must be woken for every parallel kernel, which on a 2-core VM cost 50-300 us a launch and
swung with the host's load: a training step launches a dozen. Workers that spin forever take
the cores our other threads (OpenBLAS, gpugrad.backends.cpu.blas) need. So before libgomp loads
we set GOMP_SPINCOUNT: a worker spins about 0.1 ms after a kernel, enough for the next one of
a step, then sleeps (alternating runs: LeNet-5 b64 step 7.4 -> 6.8-7.0 ms, the default recipe
2.9 -> 1.6 s an epoch on a loaded machine). Where another library (PyTorch) loaded libgomp
first, its settings stand, and our kernels run on the same worker threads as its ops, which
interleave without waking anyone: with PyTorch imported first, a LeNet-5 b64 step took 7.3 ms
on the OpenMP layer and 18 ms on Numba's workqueue layer, whose workers sleep. Launches are
made under a process-wide lock (the workqueue layer, if a user picks it, aborts the process
when two threads launch at once). A NUMBA_THREADING_LAYER, OMP_WAIT_POLICY or GOMP_SPINCOUNT
set by the user wins.

Compiled kernels are cached (cache=True) in the user's cache directory
(gpugrad.user_cache), not in __pycache__ beside the installed source: unless the user set
NUMBA_CACHE_DIR, we set it before Numba reads it at import (and set Numba's config as well
when Numba was imported first).
"""
import functools
import os
import threading
import types

from ...user_cache import user_cache_dir

_CACHE_DIR = None if "NUMBA_CACHE_DIR" in os.environ else str(user_cache_dir("numba"))
if _CACHE_DIR:
    os.environ["NUMBA_CACHE_DIR"] = _CACHE_DIR

import numba  # noqa: E402  (after NUMBA_CACHE_DIR is set)

if _CACHE_DIR:
    numba.config.CACHE_DIR = _CACHE_DIR

from ... import profiler


def _libgomp_loaded():
    try:
        with open("/proc/self/maps") as maps:
            return "libgomp" in maps.read()
    except OSError:  # not Linux
        return False


if not _libgomp_loaded() and "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "30000")

_ONE_LAUNCH_AT_A_TIME = threading.Lock()


def _renamed(fn, suffix):
    """A copy of fn under another qualified name: Numba's cache files are named after it and
    don't tell a parallel compilation from a serial one."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    copy.__qualname__, copy.__module__ = fn.__qualname__ + suffix, fn.__module__
    return copy


def parallel_kernel(fn=None, *, fastmath=False, serial_below=0):
    """numba.njit(parallel=True, cache=True, fastmath=fastmath), each call made under the
    process-wide lock. A float sum vectorises only where LLVM may reassociate it:
    `@parallel_kernel(fastmath={"reassoc"})` allows that and nothing else (NaN and inf still
    propagate).

    A call whose first argument has fewer than `.serial_below` elements runs the serial form on
    the calling thread: waking the sleeping workers costs 50-300 us on a 2-core VM, more than a
    small kernel's whole work (softmax cross-entropy of 64x10 logits: 63 us parallel).

    `.serial` is the same kernel compiled without threads and without the GIL (its prange
    loops run in order), for callers that split the work over threads of their own."""
    if fn is None:
        return functools.partial(parallel_kernel, fastmath=fastmath, serial_below=serial_below)
    compiled = numba.njit(parallel=True, cache=True, fastmath=fastmath)(fn)
    serial = numba.njit(nogil=True, cache=True, fastmath=fastmath)(_renamed(fn, "_serial"))

    name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__.lstrip('_')}"

    @functools.wraps(fn)
    def launch(*args):
        if args[0].size < launch.serial_below:
            return launch_serial(*args)
        with _ONE_LAUNCH_AT_A_TIME:
            if profiler._session is None:
                return compiled(*args)
            return profiler.record("kernel", name, "cpu", compiled, *args)

    def launch_serial(*args):
        if profiler._session is None:
            return serial(*args)
        return profiler.record("kernel", name, "cpu", serial, *args)
    launch.serial, launch.serial_below = launch_serial, serial_below
    return launch


__all__ = ["numba", "parallel_kernel"]
