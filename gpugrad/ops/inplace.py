"""In-place ops (add_, mul_, zero_, copy_, __setitem__, ...): not differentiated, version-counted.

They are for data a graph does not need: parameter updates under no_grad, buffers, masks.
Each bumps the tensor's version so a tensor saved for backward and then modified is caught.
"""
from .. import dtypes
from ..autograd.grad_mode import is_grad_enabled
from ._args import as_tensor
from .index import normalize_index, stages


def _check(t, op, *others):
    if is_grad_enabled() and (t.requires_grad or any(getattr(o, "requires_grad", False) for o in others)):
        raise RuntimeError(
            f"{op}: in-place operation on a tensor that requires grad (shape {t.shape}); gpugrad does "
            "not differentiate in-place ops: use the out-of-place op, or wrap the update in "
            "gpugrad.no_grad() (as optimizers do)")


def _value(t, other, op, strict):
    """`other` as an array of t's dtype on t's device (strict: only a lossless dtype)."""
    o = as_tensor(other, t)
    if o.device != t.device:
        raise RuntimeError(f"{op}: tensor on {t.device} but value on {o.device}")
    if strict and dtypes.result_type(t, o) != t.dtype:
        raise TypeError(f"{op}: result of dtype {dtypes.result_type(t, o)} can't be stored "
                        f"in-place in a {t.dtype} tensor")
    return o._data.astype(t.dtype, copy=False)


def _apply(t, op, fn, other=None, strict=True):
    _check(t, op, other)
    value = None if other is None else _value(t, other, op, strict)
    try:
        fn(t._data, value)
    except ValueError:
        raise ValueError(f"{op}: value of shape {getattr(value, 'shape', ())} does not broadcast "
                         f"to the tensor's shape {t.shape}") from None
    t._bump_version()
    return t


def _iadd(a, v): a += v          # noqa: E704
def _isub(a, v): a -= v          # noqa: E704
def _imul(a, v): a *= v          # noqa: E704
def _idiv(a, v): a /= v          # noqa: E704
def _icopy(a, v): a[...] = v     # noqa: E704


def add_(t, other, alpha=1):
    return _apply(t, "add_", _iadd, other if alpha == 1 else other * alpha)


def sub_(t, other, alpha=1):
    return _apply(t, "sub_", _isub, other if alpha == 1 else other * alpha)


def mul_(t, other):
    return _apply(t, "mul_", _imul, other)


def div_(t, other):
    if not dtypes.is_float(t.dtype):
        raise TypeError(f"div_: true division can't be stored in-place in a {t.dtype} tensor")
    return _apply(t, "div_", _idiv, other)


def copy_(t, src):
    return _apply(t, "copy_", _icopy, src, strict=False)


def fill_(t, value):
    return _apply(t, "fill_", _icopy, value, strict=False)


def zero_(t):
    return fill_(t, 0)


def clamp_(t, min=None, max=None):
    def clip(a, _):
        t.backend.xp.clip(a, min, max, out=a)
    return _apply(t, "clamp_", clip)


def uniform_(t, a=0.0, b=1.0):
    """Fill with U(a, b) from the device's generator (used by nn.init)."""
    return _apply(t, "uniform_", lambda arr, _: _icopy(arr, t.backend.xp.asarray(t.backend.rng.uniform(a, b, t.shape))))


def normal_(t, mean=0.0, std=1.0):
    return _apply(t, "normal_", lambda arr, _: _icopy(arr, t.backend.xp.asarray(t.backend.rng.normal(mean, std, t.shape))))


def setitem(t, index, value):
    index = normalize_index(t, index, "setitem")
    parts = stages(index)

    def put(a, v):
        if len(parts) == 2:  # integers first (a view), then the index arrays, as PyTorch orders them
            a = a[parts[0]]
        a[parts[-1]] = v
    return _apply(t, "setitem", put, value, strict=False)


__all__ = ["add_", "sub_", "mul_", "div_", "copy_", "fill_", "zero_", "clamp_", "uniform_",
           "normal_", "setitem"]
