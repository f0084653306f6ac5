"""ReLU forward and backward as Numba loops: one read and one write per element.

NumPy's maximum runs on one core; its backward, g * (x > 0), made a mask and a cast copy
first (three passes, two temporaries). From PARALLEL_FROM elements the loops run in parallel;
below, a parallel launch costs more than the loop, which runs on one core (the kernel's
`.serial` form): from 2^17 elements on Numba's OpenMP layer (20 us a launch), from 2^20 on its
workqueue layer, if a user picks it (a ReLU of 401,408 floats took 0.33 ms in parallel there,
NumPy's one pass 0.22 ms). As PyTorch: relu(NaN) is NaN, and
the gradient is 0 wherever x > 0 is false (x <= 0 or NaN), whatever gy holds there.
"""
import numpy as np

from ._numba import numba, parallel_kernel

PARALLEL_FROM = 1 << 20 if numba.config.THREADING_LAYER == "workqueue" else 1 << 17


@numba.njit(inline="always")
def _relu(v):
    return 0 if v < 0 else v


@numba.njit(inline="always")
def _relu_grad(v, g):
    return g if v > 0 else 0


@parallel_kernel
def _fwd(x, y):
    for i in numba.prange(x.size):
        y[i] = _relu(x[i])


@parallel_kernel
def _bwd(x, gy, gx):
    for i in numba.prange(x.size):
        gx[i] = _relu_grad(x[i], gy[i])


def relu_fwd(x):
    """max(x, 0) elementwise, NaN kept."""
    x = np.asarray(x, order="C")  # unlike ascontiguousarray, keeps 0-d arrays 0-d
    y = np.empty_like(x)
    (_fwd if x.size >= PARALLEL_FROM else _fwd.serial)(x.reshape(-1), y.reshape(-1))
    return y


def relu_bwd(x, gy):
    """gy where x > 0, else 0."""
    x = np.asarray(x, order="C")
    gy = np.asarray(gy, x.dtype, order="C")
    gx = np.empty_like(x)
    (_bwd if x.size >= PARALLEL_FROM else _bwd.serial)(x.reshape(-1), gy.reshape(-1), gx.reshape(-1))
    return gx
