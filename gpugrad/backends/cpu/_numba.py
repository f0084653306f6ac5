"""Numba, imported for the CPU kernels with OpenMP workers that sleep when idle.

The conv kernels alternate Numba parallel loops with OpenBLAS GEMMs. libgomp's default
spin-wait keeps every core busy after a parallel loop, so OpenBLAS's threads then wait for
the scheduler: measured 8 ms per conv call on 2 cores, ~15x the work itself. The setting
only takes effect if Numba's OpenMP layer has not started yet, and a user's value wins.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402  (after the environment is set)

__all__ = ["numba"]
