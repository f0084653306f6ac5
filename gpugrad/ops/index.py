"""Indexing: x[ints, slices, None, ..., bool masks, integer arrays] and its scatter-add backward."""
from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, index):
        _save_index(ctx, index)
        ctx.in_shape = x.shape
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, index=_saved_index(ctx), shape=ctx.in_shape)


class IndexAdd(Function):
    """zeros(shape) with g added at `index`; repeated indices accumulate (the adjoint of GetItem)."""

    @staticmethod
    def forward(ctx, g, index, shape):
        _save_index(ctx, index)
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            ctx.backend.scatter_add(out, index, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, index=_saved_index(ctx))


_ARRAY = object()  # where an index array stood in ctx.index


def _save_index(ctx, index):
    """The index arrays (integer or bool) go through save_for_backward, the rest stays on ctx."""
    ctx.save_for_backward(*(p for p in index if hasattr(p, "shape")))
    ctx.index = tuple(_ARRAY if hasattr(p, "shape") else p for p in index)


def _saved_index(ctx):
    arrays = iter(ctx.saved_arrays)
    return tuple(next(arrays) if p is _ARRAY else p for p in ctx.index)


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
            if p.dtype not in (dtypes.int64, dtypes.bool_):
                raise IndexError(f"{op}: tensors used as indices must be int64 or bool, got {p.dtype}")
            p = p._data
        elif not (p is None or p is Ellipsis or isinstance(p, (int, slice)) or hasattr(p, "dtype")):
            raise IndexError(f"{op}: unsupported index {p!r}")
        out.append(int(p) if hasattr(p, "__index__") and not hasattr(p, "shape") else p)
    return tuple(out)


def getitem(x, index):
    index = normalize_index(x, index)
    try:
        x._data[index]
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {x.shape})") from None
    return GetItem.apply(x, index=index)


__all__ = ["getitem", "normalize_index"]
