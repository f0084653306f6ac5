"""embedding (a row lookup) and one_hot."""
from .. import dtypes
from ..tensor import Tensor


def embedding(input, weight, padding_idx=None):
    """weight[input]; rows at padding_idx get no gradient, as in PyTorch."""
    if not isinstance(input, Tensor) or input.dtype not in (dtypes.int64, dtypes.int32):
        raise TypeError(f"embedding: indices must be an int64 or int32 tensor, got {getattr(input, 'dtype', type(input))}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {weight.shape}")
    idx = input._data
    if idx.size and (idx.min() < 0 or idx.max() >= weight.shape[0]):
        raise IndexError(f"embedding: index out of range for {weight.shape[0]} embeddings")
    out = weight[input]
    if padding_idx is None:
        return out
    from .elementwise import where
    pad = padding_idx % weight.shape[0]
    return where((input == pad).unsqueeze(-1), out.detach(), out)


def one_hot(tensor, num_classes=-1):
    """int64 indices -> int64 one-hot vectors in a new last dim (num_classes=-1: max + 1)."""
    if not isinstance(tensor, Tensor) or tensor.dtype != dtypes.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensors (int64), got "
                           f"{getattr(tensor, 'dtype', type(tensor))}")
    xp, idx = tensor.backend.xp, tensor._data
    if idx.size and idx.min() < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and idx.max() >= n:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes ({n})")
    return Tensor._make((idx[..., None] == xp.arange(n)).astype(dtypes.int64), tensor.device)


__all__ = ["embedding", "one_hot"]
