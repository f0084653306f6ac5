"""On a real GPU only: DLPack with PyTorch's CUDA tensors and the TF32 switch."""
import numpy as np
import pytest

import gpugrad

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")
if gpugrad.cuda.is_simulated() or not gpugrad.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)


def test_torch_cuda_round_trip_shares_memory():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    src = torch.arange(6, dtype=torch.float32, device="cuda").reshape(2, 3)
    t = gpugrad.from_dlpack(src)
    assert t.device == "cuda:0" and t.shape == (2, 3)
    src[0, 0] = 42
    assert t[0, 0].item() == 42
    theirs = torch.from_dlpack(t)
    assert theirs.device.type == "cuda"
    theirs[1, 2] = -1
    assert t[1, 2].item() == -1


def _matmul_error(a, b, exact):
    out = (gpugrad.tensor(a, device="cuda") @ gpugrad.tensor(b, device="cuda")).cpu().numpy()
    return np.abs(out - exact).max() / np.abs(exact).max()


def test_allow_tf32_switches_cublas_precision():
    major = cupy.cuda.Device(0).compute_capability[0]
    if int(major) < 8:
        pytest.skip("TF32 needs compute capability 8.0")
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((512, 512)).astype(np.float32) for _ in range(2))
    exact = a.astype(np.float64) @ b.astype(np.float64)
    try:
        off = _matmul_error(a, b, exact)
        gpugrad.backends.cuda.allow_tf32 = True
        on = _matmul_error(a, b, exact)
    finally:
        gpugrad.backends.cuda.allow_tf32 = False
    assert off < 1e-5 and on > 30 * off, (off, on)  # TF32 keeps 10 of float32's 23 mantissa bits
    assert _matmul_error(a, b, exact) < 1e-5
