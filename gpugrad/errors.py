"""Error types shared across gpugrad."""


class ShapeError(RuntimeError, ValueError):
    """Operand shapes that don't fit (matmul, reshape, permute, expand, conv): a RuntimeError, as
    in PyTorch, and a ValueError, as gpugrad raised before, so either except clause catches it."""
