"""In-place updates written in optimizers' style: addcmul_ addcdiv_ lerp_ sqrt_ (not differentiated)."""
from .. import dtypes
from ..tensor import Tensor
from ._args import as_tensor
from .inplace import _apply, _check, _iadd


def _operands(t, op, *others):
    _check(t, op, *others)
    return [as_tensor(o, t)._data for o in others]


def _update(t, op, arr):
    """t += arr (a backend array computed from the operands)."""
    return _apply(t, op, _iadd, Tensor._make(arr, t.device))


def addcmul_(t, tensor1, tensor2, value=1):
    """t += value · tensor1 · tensor2."""
    a, b = _operands(t, "addcmul_", tensor1, tensor2)
    return _update(t, "addcmul_", value * a * b)


def addcdiv_(t, tensor1, tensor2, value=1):
    """t += value · tensor1 / tensor2."""
    a, b = _operands(t, "addcdiv_", tensor1, tensor2)
    return _update(t, "addcdiv_", value * a / b)


def lerp_(t, end, weight):
    """t += weight · (end - t)."""
    e, w = _operands(t, "lerp_", end, weight)
    return _update(t, "lerp_", w * (e - t._data))


def sqrt_(t):
    if not dtypes.is_float(t.dtype):
        raise TypeError(f"sqrt_: the result can't be stored in-place in a {t.dtype} tensor")
    return _apply(t, "sqrt_", lambda arr, _: t.backend.xp.sqrt(arr, out=arr))


__all__ = ["addcmul_", "addcdiv_", "lerp_", "sqrt_"]
