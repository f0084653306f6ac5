"""On a real GPU: KernelSet(cupy, cupy.RawModule) agrees with KernelSet(numpy, emu.RawModule).

Same random inputs, every kernel function of gpugrad/kernel_specs.py (with its inputs from
test_kernel_specs.CASES) and larger ones, float32 and float64.  Skips cleanly without CuPy or
a device.
"""

import numpy as np
import pytest

from gpugrad import emu, kernel_specs
from gpugrad.backends.cuda.kernels import KernelSet
from tests.kernels.kernel_helpers import tol
from tests.kernels.test_kernel_specs import CASES

pytestmark = pytest.mark.gpu
cupy = pytest.importorskip("cupy")
try:
    if cupy.cuda.runtime.getDeviceCount() < 1:
        raise RuntimeError
except Exception:
    pytest.skip("no CUDA device", allow_module_level=True)

GEO = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))


@pytest.fixture(scope="module")
def both():
    return KernelSet(cupy, cupy.RawModule), KernelSet(np, emu.RawModule)


def _agree(gpu, cpu, dtype):
    gpu, cpu = (gpu, cpu) if isinstance(gpu, tuple) else ((gpu,), (cpu,))
    for g, c in zip(gpu, cpu):
        np.testing.assert_allclose(cupy.asnumpy(g), c, **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_kernel_function_matches_the_emulator(both, dtype):
    (gk, ck), rng = both, np.random.default_rng(0)
    g = cupy.asarray

    def run(name, *args, **kw):
        """Run `name` on both; return the emulator's result for the next step."""
        want = getattr(ck, name)(*args, **kw)
        got = getattr(gk, name)(*[g(a) if isinstance(a, np.ndarray) else a for a in args], **kw)
        _agree(got, want, dtype)
        return want

    x = rng.standard_normal((3, 4, 13, 11)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 3)).astype(dtype)
    y = run("conv2d_forward", x, w, groups=2, **GEO)
    run("conv2d_forward_cublas", x, w, groups=2, **GEO)
    run("_conv2d_forward_igemm", x, w, groups=2, bias=w[:, 0, 0, 0].copy(), relu=True, **GEO)  # fused epilogue
    gy = rng.standard_normal(y.shape).astype(dtype)
    for suffix in ("", "_cublas", "_direct"):  # our implicit GEMMs, im2col + cuBLAS, the direct kernels
        run("conv_wgrad" + suffix, x, gy, 3, 3, groups=2, **GEO)
        run("conv_dgrad" + suffix, gy, w, x.shape, groups=2, **GEO)
    a, b = rng.standard_normal((2, 70, 36)).astype(dtype), rng.standard_normal((36, 65)).astype(dtype)
    run("matmul", a, b)
    run("matmul", a.swapaxes(1, 2).copy().swapaxes(1, 2), b[:, 1:].copy())  # transposed; scalar loads
    for approximate in ("none", "tanh"):
        v = rng.standard_normal(1027).astype(dtype)
        run("gelu_fwd", v, approximate)
        run("gelu_bwd", v, rng.standard_normal(1027).astype(dtype), approximate)
    pooled, argmax = run("maxpool2d_fwd", x, (3, 2), (2, 2), (1, 1), (1, 1), True)
    run("maxpool2d_bwd", rng.standard_normal(pooled.shape).astype(dtype), argmax, x.shape)
    logits = (3 * rng.standard_normal((7, 300))).astype(dtype)
    target = rng.integers(0, 300, 7)
    target[3] = -100
    loss, lse = run("softmax_xent_fwd", logits, target, -100, 0.1)
    run("softmax_xent_bwd", logits, target, lse, rng.standard_normal(7).astype(dtype), -100, 0.1)
    _, mean, _, invstd = run("batch_norm_fwd", x + 5, w[:4, 0, 0, 0].copy(), None, 1e-5)  # 429 values a channel
    run("batch_norm_bwd", x + 5, rng.standard_normal(x.shape).astype(dtype), mean, invstd, None)
    run("relu_fwd", x)
    run("relu_bwd", x, rng.standard_normal(x.shape).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", kernel_specs.KERNELS, ids=lambda s: s.name)
def test_every_row_matches_the_emulator(both, spec, dtype):
    gk, ck = both
    args = CASES[spec.name](np.random.default_rng(0), dtype)
    want = getattr(ck, spec.name)(*args)
    got = getattr(gk, spec.name)(*[cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args])
    _agree(got, want, dtype)


def test_tf32_routes_match_the_emulator(both, monkeypatch):
    """The tensor-core GEMM and convolutions agree with the emulated mma.sync up to float32
    accumulation order (the TF32 rounding itself is exact on both)."""
    import gpugrad.backends.cuda as cuda_flags

    monkeypatch.setattr(cuda_flags, "allow_tf32", True)
    (gk, ck), rng = both, np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 13, 11)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    a, b = rng.standard_normal((70, 96)).astype(np.float32), rng.standard_normal((96, 65)).astype(np.float32)
    y = ck.conv2d_forward(x, w, groups=2, **GEO)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    pairs = [(gk.matmul(cupy.asarray(a), cupy.asarray(b)), ck.matmul(a, b)),
             (gk.conv2d_forward(cupy.asarray(x), cupy.asarray(w), groups=2, **GEO), y),
             (gk.conv_wgrad(cupy.asarray(x), cupy.asarray(gy), 3, 3, groups=2, **GEO),
              ck.conv_wgrad(x, gy, 3, 3, groups=2, **GEO)),
             (gk.conv_dgrad(cupy.asarray(gy), cupy.asarray(w), x.shape, groups=2, **GEO),
              ck.conv_dgrad(gy, w, x.shape, groups=2, **GEO))]
    for got, want in pairs:
        np.testing.assert_allclose(cupy.asnumpy(got), want, rtol=1e-4, atol=1e-4)
