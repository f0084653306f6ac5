"""Numba for the CPU kernels: the workqueue threading layer, and one kernel launch at a time.

The conv kernels alternate Numba parallel loops with OpenBLAS GEMMs. Numba's OpenMP layer runs
on libgomp, whose idle workers spin unless OMP_WAIT_POLICY=PASSIVE was set before libgomp
started; when PyTorch is imported first, it has already started with spinning workers, which
keep OpenBLAS's threads waiting for the scheduler. On 2 cores that made conv forward+backward
on issue 3's small rows 16-24 ms instead of 3 ms. The workqueue layer's workers sleep, and it
is as fast as OpenMP when nothing else runs. It aborts the process when two threads launch
parallel code at once, so `parallel_kernel` launches under a process-wide lock. A
NUMBA_THREADING_LAYER set by the user wins.
"""
import functools
import os
import threading

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

_ONE_LAUNCH_AT_A_TIME = threading.Lock()


def parallel_kernel(fn):
    """numba.njit(parallel=True, cache=True), each call made under the process-wide lock."""
    compiled = numba.njit(parallel=True, cache=True)(fn)

    @functools.wraps(fn)
    def launch(*args):
        with _ONE_LAUNCH_AT_A_TIME:
            return compiled(*args)
    return launch


__all__ = ["numba", "parallel_kernel"]
