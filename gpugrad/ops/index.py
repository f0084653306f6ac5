"""Indexing: x[ints, slices, None, ..., bool masks, integer arrays] and its scatter-add backward."""
from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor


class GetItem(Function):
    """x[index]; the index's arrays are inputs (checked for in-place changes), the rest of the
    index (ints, slices, None, ...) a template with _ARRAY where each array stands."""

    @staticmethod
    def forward(ctx, x, *arrays, index):
        ctx.save_for_backward(*arrays)
        ctx.index, ctx.in_shape = index, x.shape
        return x[_fill(index, arrays)]

    @staticmethod
    def backward(ctx, g):
        arrays = ctx.saved_tensors
        return (IndexAdd.apply(g, *arrays, index=ctx.index, shape=ctx.in_shape),) + (None,) * len(arrays)


class IndexAdd(Function):
    """zeros(shape) with g added at `index`; repeated indices accumulate (the adjoint of GetItem)."""

    @staticmethod
    def forward(ctx, g, *arrays, index, shape):
        ctx.save_for_backward(*arrays)
        ctx.index = index
        index = _fill(index, arrays)
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            ctx.backend.scatter_add(out, index, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        arrays = ctx.saved_tensors
        return (GetItem.apply(gg, *arrays, index=ctx.index),) + (None,) * len(arrays)


_ARRAY = object()  # where an index array stands in an index template


def _fill(template, arrays):
    arrays = iter(arrays)
    return tuple(next(arrays) if p is _ARRAY else p for p in template)


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


def normalize_index(x, index, op="index"):
    """Tensors inside an index become arrays on x's device (int64 or bool masks)."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, (list, tuple)):
            p = Tensor(p, device=x.device)
        if isinstance(p, Tensor):
            if p.device != x.device:
                raise RuntimeError(f"{op}: index on {p.device} but tensor on {x.device}")
            if p.dtype not in (dtypes.int64, dtypes.int32, dtypes.bool_):
                raise IndexError(f"{op}: tensors used as indices must be int64, int32 or bool, got {p.dtype}")
            p = p._data.astype(dtypes.int64, copy=False) if p.dtype == dtypes.int32 else p._data
        elif not (p is None or p is Ellipsis or isinstance(p, (int, slice)) or hasattr(p, "dtype")):
            raise IndexError(f"{op}: unsupported index {p!r}")
        out.append(int(p) if hasattr(p, "__index__") and not hasattr(p, "shape") else p)
    return tuple(out)


def stages(index):
    """The index as PyTorch applies it: integers before index arrays. NumPy counts an integer
    as an index array, so x[0, :, [1, 2]] would put the new dim first there; PyTorch selects
    x[0] first and gives shape (3, 2) for a (2, 3, 4) x. Returns one or two indexes to apply
    in turn (each a view-or-copy NumPy index)."""
    ints = any(isinstance(p, int) for p in index)
    arrays = any(hasattr(p, "shape") for p in index)
    if not (ints and arrays):
        return (index,)
    first, rest = [], []
    for p in index:
        if isinstance(p, int):
            first.append(p)
        elif p is None:
            rest.append(p)
        elif p is Ellipsis:
            first.append(p)
            rest.append(p)
        else:  # a slice or an index array: it keeps its dims for the second stage
            first.extend([slice(None)] * (p.ndim if hasattr(p, "shape") and p.dtype == bool else 1))
            rest.append(p)
    return tuple(first), tuple(rest)


def getitem(x, index):
    given = {id(p._data): p for p in (index if isinstance(index, tuple) else (index,)) if isinstance(p, Tensor)}
    index = normalize_index(x, index)
    try:
        x._data[index]
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {x.shape})") from None
    for part in stages(index):
        tensors = [given[id(p)] if id(p) in given else Tensor._make(p, x.device) for p in part if hasattr(p, "shape")]
        x = GetItem.apply(x, *tensors, index=tuple(_ARRAY if hasattr(p, "shape") else p for p in part))
    return x


__all__ = ["getitem", "normalize_index", "stages"]
