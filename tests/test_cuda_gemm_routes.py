"""conv2d and linear, forward and backward, on "cuda" run on our own GEMM kernels only.

The CUDA routes must make no BLAS library call (cuBLAS cannot be recorded in a CUDA graph
from CuPy).  Until the profiler reports "library" events, the check replaces the BLAS entry
points of the CUDA backend's array module with functions that fail, and compares the result
with the CPU backend.
"""
import types

import numpy as np
import pytest

import gpugrad
import gpugrad.backends.cuda as cuda_flags
import gpugrad.nn.functional as F
from gpugrad.backends import get_backend

BLAS_ENTRY_POINTS = ("matmul", "dot", "tensordot", "einsum", "inner", "vdot", "linalg")


@pytest.fixture
def no_blas_on_cuda(monkeypatch):
    """The cuda backend's xp (and its kernels' xp) with every BLAS entry point failing."""
    backend = get_backend(gpugrad.device("cuda"))
    xp = backend.xp
    guarded = types.SimpleNamespace(**{k: getattr(xp, k) for k in dir(xp) if not k.startswith("__")})

    def refuse(name):
        def call(*args, **kwargs):
            raise AssertionError(f"BLAS library call xp.{name} on the CUDA route")
        return call

    for name in BLAS_ENTRY_POINTS:
        setattr(guarded, name, refuse(name))
    monkeypatch.setattr(backend, "xp", guarded)
    monkeypatch.setattr(backend.kernels, "xp", guarded)
    if hasattr(xp, "cublas"):  # CuPy on a GPU: its cuBLAS wrappers too
        monkeypatch.setattr(guarded, "cublas", refuse("cublas"))


def _conv_and_linear(device, dtype, rng_seed=0):
    """Loss of conv2d (groups, stride, dilation, bias) -> relu -> linear, and its gradients."""
    rng = np.random.default_rng(rng_seed)
    arrays = dict(x=rng.standard_normal((2, 4, 7, 6)), w=rng.standard_normal((6, 2, 3, 2)),
                  b=rng.standard_normal(6), lw=rng.standard_normal((5, 6 * 4 * 6)), lb=rng.standard_normal(5))
    t = {k: gpugrad.tensor(v, dtype=dtype, device=device, requires_grad=True) for k, v in arrays.items()}
    h = F.conv2d(t["x"], t["w"], t["b"], stride=(2, 1), padding=1, dilation=(1, 2), groups=2).relu()
    y = F.linear(h.reshape(2, -1), t["lw"], t["lb"])
    loss = (y * y).sum()
    loss.backward()
    return {"loss": loss.detach().cpu().numpy(), **{k: v.grad.cpu().numpy() for k, v in t.items()}}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_and_linear_on_cuda_make_no_blas_call(dtype, request):
    want = _conv_and_linear("cpu", dtype)
    request.getfixturevalue("no_blas_on_cuda")
    got = _conv_and_linear("cuda", dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], **tol, err_msg=k)


def test_the_guard_catches_the_cublas_route(no_blas_on_cuda, monkeypatch):
    """Selecting cuBLAS does call into BLAS, so the guard above can fail."""
    monkeypatch.setattr(cuda_flags, "use_cublas", True)
    with pytest.raises(AssertionError, match="BLAS library call"):
        _conv_and_linear("cuda", "float64")


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((4,), (4, 2)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul_on_cuda_matches_cpu_without_blas(shapes, no_blas_on_cuda):
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(s) for s in shapes)
    results = []
    for device in ("cpu", "cuda"):
        ta, tb = (gpugrad.tensor(v, device=device, requires_grad=True) for v in (a, b))
        out = ta @ tb
        (out * out).sum().backward()
        results.append([out.detach().cpu().numpy(), ta.grad.cpu().numpy(), tb.grad.cpu().numpy()])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_use_cublas_takes_only_a_bool(monkeypatch):
    monkeypatch.setattr(cuda_flags, "use_cublas", False)
    with pytest.raises(TypeError, match="use_cublas must be True or False, got 1"):
        cuda_flags.use_cublas = 1
