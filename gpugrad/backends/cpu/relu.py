"""ReLU forward and backward: parallel Numba loops, one read and one write per element.

NumPy's maximum runs on one core; its backward, g * (x > 0), made a mask and a cast copy
first (three passes, two temporaries). Below PARALLEL_FROM elements a parallel launch (20-45 us:
more under Numba's workqueue layer, see _numba.py) costs more than one NumPy pass, so small
arrays stay with NumPy. As PyTorch: relu(NaN) is NaN, and the gradient is 0 wherever x > 0 is
false (x <= 0 or NaN), whatever gy holds there.
"""
import numpy as np

from ._numba import numba, parallel_kernel

PARALLEL_FROM = 1 << 17


@parallel_kernel
def _fwd(x, y):
    for i in numba.prange(x.size):
        v = x[i]
        y[i] = 0 if v < 0 else v


@parallel_kernel
def _bwd(x, gy, gx):
    for i in numba.prange(x.size):
        gx[i] = gy[i] if x[i] > 0 else 0


def relu_fwd(x):
    """max(x, 0) elementwise, NaN kept."""
    x = np.asarray(x, order="C")  # unlike ascontiguousarray, keeps 0-d arrays 0-d
    if x.size < PARALLEL_FROM:
        return np.maximum(x, x.dtype.type(0))
    y = np.empty_like(x)
    _fwd(x.reshape(-1), y.reshape(-1))
    return y


def relu_bwd(x, gy):
    """gy where x > 0, else 0."""
    x = np.asarray(x, order="C")
    gy = np.asarray(gy, x.dtype, order="C")
    if x.size < PARALLEL_FROM:
        return np.where(x > 0, gy, gy.dtype.type(0))
    gx = np.empty_like(x)
    _bwd(x.reshape(-1), gy.reshape(-1), gx.reshape(-1))
    return gx
