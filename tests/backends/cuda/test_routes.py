"""conv2d and linear, forward and backward, on "cuda" run on our own GEMM kernels only.

The CUDA routes must make no BLAS library call (cuBLAS cannot be recorded in a CUDA graph
from CuPy): the profiler's "library" events count every BLAS call the backends make.
"""
import numpy as np
import pytest

import gpugrad
import gpugrad.backends.cuda as cuda_flags
import gpugrad.nn.functional as F
from gpugrad import profiler


def _library_calls(fn, *args):
    """(fn's result, the number of BLAS library calls it made)."""
    with profiler.profile() as prof:
        result = fn(*args)
    return result, sum(e.kind == "library" for e in prof.events())


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
def test_conv2d_and_linear_on_cuda_make_no_blas_call(dtype):
    want, cpu_calls = _library_calls(_conv_and_linear, "cpu", dtype)
    got, cuda_calls = _library_calls(_conv_and_linear, "cuda", dtype)
    assert cpu_calls > 0 and cuda_calls == 0
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], **tol, err_msg=k)


def test_the_count_sees_the_cublas_route(monkeypatch):
    """Selecting cuBLAS does call into BLAS, so the check above can fail."""
    monkeypatch.setattr(cuda_flags, "use_cublas", True)
    assert _library_calls(_conv_and_linear, "cuda", "float64")[1] > 0


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((4,), (4, 2)), ((2, 1, 3, 4), (5, 4, 2))])
def test_matmul_on_cuda_matches_cpu_without_blas(shapes):
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(s) for s in shapes)

    def run(device):
        ta, tb = (gpugrad.tensor(v, device=device, requires_grad=True) for v in (a, b))
        out = ta @ tb
        (out * out).sum().backward()
        return [out.detach().cpu().numpy(), ta.grad.cpu().numpy(), tb.grad.cpu().numpy()]

    want, _ = _library_calls(run, "cpu")
    got, calls = _library_calls(run, "cuda")
    assert calls == 0
    for got, want in zip(got, want):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_use_cublas_takes_only_a_bool(monkeypatch):
    monkeypatch.setattr(cuda_flags, "use_cublas", False)
    with pytest.raises(TypeError, match="use_cublas must be True or False, got 1"):
        cuda_flags.use_cublas = 1
