"""Fused GELU: one parallel Numba pass forward and one backward, exact (erf) or tanh form.

Unfused NumPy needs a temporary per sub-expression (about six passes over memory); here
each element is read once and written once, and the work is split over the cores.

float64 goes through libm's erf and exp. float32 has kernels of its own in float32 arithmetic
with erf and exp written as polynomials (no library call), so the loops vectorise: libm's
scalar calls made the float64-promoting version 5-7x slower than PyTorch. All four kernels may
contract a*b + c into one fused multiply-add (fastmath "contract", nothing else): the
polynomials then run in FMAs, which took the float32 passes from 2.4 to 1.7 ms (forward) and
5.6 to 3.6 ms (backward) on 2^22 elements.
"""
import math

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

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


# float32 erf: Eigen's rational approximation on [-4, 4] (beyond, erf is +-1 in float32);
# absolute error below 5e-7.
_F = np.float32
_ERF_P = tuple(_F(c) for c in (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                                -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                                -1.60960333262415e-02))
_ERF_Q = tuple(_F(c) for c in (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                                -7.37332916720468e-03, -1.42647390514189e-02))
_LOG2E, _LN2_HI, _LN2_LO = _F(1 / math.log(2)), _F(0.693145751953125), _F(1.428606765330187e-06)
_HALF, _ONE, _TWO, _FOUR = _F(0.5), _F(1), _F(2), _F(4)
_SQRT_HALF32, _INV_SQRT_2PI32, _K32, _C32 = _F(_SQRT_HALF), _F(_INV_SQRT_2PI), _F(_K), _F(_C)
_EXP_LO, _EXP_HI = _F(-87), _F(88)


@numba.njit(inline="always")
def _erf32(x):
    x = min(max(x, -_FOUR), _FOUR)
    x2 = x * x
    p = _ERF_P[0]
    for c in _ERF_P[1:]:
        p = p * x2 + c
    q = _ERF_Q[0]
    for c in _ERF_Q[1:]:
        q = q * x2 + c
    return x * p / q


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 `bits` (an LLVM bitcast, so loops using it
    still vectorise; a table lookup here made them gathers, 3x slower)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@numba.njit(inline="always")
def _exp32(t):
    """exp(t) in float32: t = n*ln2 + r, |r| <= ln2/2, a degree-7 Taylor polynomial of r (relative
    error ~1e-8) times 2**n built from its exponent bits; 0 below -87 or for NaN, and t is capped
    at 88 (exp overflows). The clamp is written so NaN lands inside the range too."""
    tc = _EXP_LO if not t >= _EXP_LO else (t if t <= _EXP_HI else _EXP_HI)
    n = np.floor(tc * _LOG2E + _HALF)
    r = tc - n * _LN2_HI - n * _LN2_LO
    p = _F(1 / 5040) + r * _F(1 / 40320)
    for c in (_F(1 / 720), _F(1 / 120), _F(1 / 24), _F(1 / 6), _HALF, _ONE, _ONE):
        p = p * r + c
    e = p * _float32_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))
    return e if t >= _EXP_LO else _F(0)


# Abramowitz and Stegun 7.1.26: erf(z) = 1 - t*(a1 + t*(a2 + ... + t*a5))*exp(-z^2), t = 1/(1 + p*z),
# z >= 0, absolute error below 1.5e-7 (coefficients a5 first)
_AS_P = _F(0.3275911)
_AS_A = tuple(_F(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


@numba.njit(inline="always")
def _gelu_grad32(v):
    """d/dv v*Phi(v) = Phi(v) + v*phi(v) in float32: 7.1.26 takes exp(-z^2) = exp(-v^2/2), the
    exponential phi needs anyway, so the pair costs one exp and one division (the rational erf
    of the forward is a division and a dozen more multiply-adds). Phi(-|v|) = t*poly*e/2 has no
    cancellation in the left tail."""
    e = _exp32(-_HALF * v * v)
    t = _ONE / (_ONE + _AS_P * _SQRT_HALF32 * abs(v))
    p = _AS_A[0]
    for c in _AS_A[1:]:
        p = p * t + c
    tail = _HALF * t * p * e
    return (tail if v < 0 else _ONE - tail) + v * e * _INV_SQRT_2PI32


@numba.njit(inline="always")
def _tanh32(u):
    return _ONE - _TWO / (_exp32(_TWO * u) + _ONE)


@parallel_kernel(fastmath={"contract"})
def _fwd32(x, out, tanh_form):
    for i in numba.prange(x.size):
        v = x[i]
        if tanh_form:
            out[i] = _HALF * v * (_ONE + _tanh32(_K32 * (v + _C32 * v * v * v)))
        else:
            out[i] = _HALF * v * (_ONE + _erf32(v * _SQRT_HALF32))


@parallel_kernel(fastmath={"contract"})
def _bwd32(x, gy, out, tanh_form):
    for i in numba.prange(x.size):
        v = x[i]
        if tanh_form:
            t = _tanh32(_K32 * (v + _C32 * v * v * v))
            d = _HALF * (_ONE + t) + _HALF * v * (_ONE - t * t) * _K32 * (_ONE + _F(3) * _C32 * v * v)
        else:
            d = _gelu_grad32(v)
        out[i] = gy[i] * d


@parallel_kernel(fastmath={"contract"})
def _fwd(x, out, tanh_form):
    for i in numba.prange(x.size):
        v = np.float64(x[i])
        if tanh_form:
            out[i] = 0.5 * v * (1 + _tanh(_K * (v + _C * v * v * v)))
        else:
            out[i] = 0.5 * v * (1 + math.erf(v * _SQRT_HALF))


@parallel_kernel(fastmath={"contract"})
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
    kernel = _fwd32 if x.dtype == np.float32 else _fwd
    kernel(x.reshape(-1), out.reshape(-1), _tanh_form(approximate))
    return out


def gelu_bwd(x, gy, approximate):
    """gy * GELU'(x), the derivative of the chosen form."""
    x = np.asarray(x, order="C")
    gy = np.asarray(gy, x.dtype, order="C")
    out = np.empty_like(x)
    kernel = _bwd32 if x.dtype == np.float32 else _bwd
    kernel(x.reshape(-1), gy.reshape(-1), out.reshape(-1), _tanh_form(approximate))
    return out
