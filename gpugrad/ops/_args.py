"""Argument handling shared by the ops: scalars to tensors, dtype promotion, dims, batches."""
import functools

import numpy as np

from .. import dtypes
from ..autograd.fit import Cast
from ..tensor import Tensor

_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


def as_tensor(value, like):
    """`value` as a tensor on `like`'s device; Python scalars are weakly typed (NumPy 2 / PyTorch)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, _SCALARS) and not isinstance(value, np.ndarray):
        if isinstance(value, (bool, np.bool_)):
            dt = like.dtype
        elif isinstance(value, (int, np.integer)):
            dt = like.dtype if like.dtype != dtypes.bool_ else dtypes.int64
            if dt in (dtypes.uint8, dtypes.int32):  # wraps round (uint8 + 300), as in PyTorch
                value = np.array(value, dtype=dtypes.int64).astype(dt)
        else:
            dt = dtypes.to_float(like.dtype)
        return Tensor._make(like.backend.xp.asarray(value, dtype=dt), like.device)
    return Tensor(value, device=like.device)


def cast(t, dtype):
    """t in `dtype`; a cast to an integer or bool dtype leaves the graph (no gradient flows there)."""
    if t.dtype == dtype:
        return t
    return Cast.apply(t if dtypes.is_float(dtype) else t.detach(), dtype=dtype)


def to_float(t):
    """Float ops on int/bool tensors compute in the default float dtype (as PyTorch does)."""
    return cast(t, dtypes.to_float(t.dtype))


def binary_operands(a, b, op, float_only=False):
    """Both operands as tensors of one promoted dtype, with broadcast-compatible shapes."""
    if not isinstance(a, Tensor):
        a = as_tensor(a, b)
    b = as_tensor(b, a)
    da, db = a._data, b._data
    if da.dtype == db.dtype and da.shape == db.shape and (da.dtype.kind == "f" or not float_only):
        return a, b  # the common case: nothing to promote or broadcast
    a, b = promote_pair(a, b, float_only)
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} are not broadcastable") from None
    return a, b


def promote_pair(a, b, float_only=False):
    """Both tensors cast to their promoted dtype (see gpugrad.dtypes)."""
    dt = dtypes.result_type(a, b)
    if float_only:
        dt = dtypes.to_float(dt)
    return cast(a, dt), cast(b, dt)


def norm_dims(dim, ndim, op):
    """`dim` (None, int or tuple) as a sorted tuple of non-negative axes; None means all."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(int(d) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} repeats a dimension")
    return tuple(sorted(out)) if ndim else ()


def norm_dim(dim, ndim, op):
    return norm_dims(int(dim), ndim, op)[0] if ndim else 0


def keep_shape(shape, dims):
    """`shape` with the reduced `dims` set to 1 (the keepdim shape)."""
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def unbatched_too(op):
    """Let an op on 4-D (N, C, H, W) input take one (C, H, W) sample too, as PyTorch's do: a
    batch dim of 1 is added before and removed from every tensor it returns."""
    @functools.wraps(op)
    def wrapper(input, *args, **kwargs):
        if input.ndim == 4:
            return op(input, *args, **kwargs)
        if input.ndim != 3:
            raise ValueError(f"{op.__name__}: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, "
                             f"got shape {input.shape}")
        out = op(input.unsqueeze(0), *args, **kwargs)
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    return wrapper
