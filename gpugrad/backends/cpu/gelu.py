"""Fused GELU: one parallel Numba pass forward and one backward, exact (erf) or tanh form.

Unfused NumPy needs a temporary per sub-expression (about six passes over memory); here
each element is read once and written once, and the work is split over the cores.
"""
import math

import numpy as np

from ._numba import numba, parallel_kernel

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_K = math.sqrt(2 / math.pi)  # tanh form: 0.5*x*(1 + tanh(_K*(x + _C*x^3)))
_C = 0.044715


@numba.njit(cache=True)
def _tanh(u):
    """tanh via one exp: libm's tanh is several times slower; the absolute error (~1e-16)
    is what matters inside 0.5*x*(1 + tanh)."""
    return 1 - 2 / (math.exp(2 * u) + 1)


@parallel_kernel
def _fwd(x, out, tanh_form):
    for i in numba.prange(x.size):
        v = np.float64(x[i])
        if tanh_form:
            out[i] = 0.5 * v * (1 + _tanh(_K * (v + _C * v * v * v)))
        else:
            out[i] = 0.5 * v * (1 + math.erf(v * _SQRT_HALF))


@parallel_kernel
def _bwd(x, gy, out, tanh_form):
    for i in numba.prange(x.size):
        v = np.float64(x[i])
        if tanh_form:
            t = _tanh(_K * (v + _C * v * v * v))
            d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * _K * (1 + 3 * _C * v * v)
        else:
            d = 0.5 * (1 + math.erf(v * _SQRT_HALF)) + v * math.exp(-0.5 * v * v) * _INV_SQRT_2PI
        out[i] = gy[i] * d


def _tanh_form(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError(f'approximate must be "none" or "tanh", got {approximate!r}')
    return approximate == "tanh"


def gelu_fwd(x, approximate):
    """GELU(x) for any shape; `approximate` is "none" (erf) or "tanh", as in PyTorch."""
    x = np.asarray(x, order="C")  # unlike ascontiguousarray, keeps 0-d arrays 0-d
    out = np.empty_like(x)
    _fwd(x.reshape(-1), out.reshape(-1), _tanh_form(approximate))
    return out


def gelu_bwd(x, gy, approximate):
    """gy * GELU'(x), the derivative of the chosen form."""
    x = np.asarray(x, order="C")
    gy = np.asarray(gy, x.dtype, order="C")
    out = np.empty_like(x)
    _bwd(x.reshape(-1), gy.reshape(-1), out.reshape(-1), _tanh_form(approximate))
    return out
