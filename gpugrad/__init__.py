"""gpugrad: a tensor autograd library with PyTorch's names, NumPy/Numba on the CPU and
hand-written CUDA kernels on the GPU."""
from . import tensor_methods  # noqa: F401  (binds ops as Tensor methods)
from .autograd import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, set_grad_enabled
from .creation import (arange, empty, empty_like, eye, from_dlpack, from_numpy, full, full_like, linspace, ones,
                       ones_like, tensor, zeros, zeros_like)
from .device import device
from .dtypes import bool_ as bool, float32, float64, int64  # noqa: A001
from .dtypes import float32 as float  # noqa: A001
from .dtypes import float64 as double, int64 as long
from .dtypes import float16, int32, uint8
from .dtypes import float16 as half, int32 as int  # noqa: A001
from .ops.activation import clamp, relu
from .ops.elementwise import add, div, maximum, minimum, mul, neg, pow, sub, where
from .ops.join import cat, chunk, split, stack
from .ops.matmul import matmul, mm
from .ops.reduce import (amax, amin, argmax, argmin, logsumexp, log_softmax, max, mean, min, prod, softmax,
                         std, sum, var)
from .ops.shape import flatten, permute, reshape, squeeze, transpose, unsqueeze
from .ops.unary import abs, cos, exp, log, sigmoid, sin, sqrt, tanh
from .random import manual_seed, rand, rand_like, randint, randn, randn_like, randperm
from .tensor import Tensor
from . import accelerator, autograd, cuda, data, nn, optim, utils  # noqa: E402
from .serialization import load, save  # noqa: E402
from .value import Value

__version__ = "0.1.0"

# the wider PyTorch surface (indexing along a dim, ordering, scans, layout, more math)
from .ops.einsum import einsum  # noqa: E402
from .ops.gather import gather, index_select, masked_fill, masked_select, scatter, scatter_add  # noqa: E402
from .ops.layout import flip, roll, t, tile, tril, triu  # noqa: E402
from .ops.pointwise import (all, allclose, any, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,  # noqa: E402,A004
                            ceil, erf, expm1, floor, floor_divide, isclose, isfinite, isinf, isnan,
                            log1p, log2, logical_not, reciprocal, remainder, round, rsqrt, sign, square,
                            trunc)
from .ops.scan import cumprod, cumsum  # noqa: E402
from .ops.sort import argsort, sort, topk  # noqa: E402
from .ops.elementwise import compare as _compare  # noqa: E402


def eq(a, b): return _compare(a, b, "__eq__")  # noqa: E302,E704
def ne(a, b): return _compare(a, b, "__ne__")  # noqa: E302,E704
def lt(a, b): return _compare(a, b, "__lt__")  # noqa: E302,E704
def le(a, b): return _compare(a, b, "__le__")  # noqa: E302,E704
def gt(a, b): return _compare(a, b, "__gt__")  # noqa: E302,E704
def ge(a, b): return _compare(a, b, "__ge__")  # noqa: E302,E704
