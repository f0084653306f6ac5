"""DLPack: tensors move to and from NumPy and PyTorch without a copy."""
import numpy as np
import pytest

import gpugrad


def test_numpy_round_trip_shares_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = gpugrad.from_dlpack(a)
    assert t.shape == (2, 3) and t.dtype == np.float32
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    back = np.from_dlpack(t)
    back[1, 2] = -1
    assert t[1, 2].item() == -1


def test_torch_round_trip_shares_memory():
    torch = pytest.importorskip("torch")
    src = torch.arange(4, dtype=torch.float64)
    t = gpugrad.from_dlpack(src)
    src[0] = 7
    assert t.dtype == np.float64 and t[0].item() == 7
    theirs = torch.from_dlpack(t)
    theirs[3] = -5
    assert t[3].item() == -5


def test_export_refuses_tensors_that_require_grad():
    with pytest.raises(RuntimeError, match="detach"):
        np.from_dlpack(gpugrad.ones(2, requires_grad=True))


def test_unsupported_dtype_is_named():
    with pytest.raises(TypeError, match="complex"):
        gpugrad.from_dlpack(np.zeros(2, dtype=np.complex64))
