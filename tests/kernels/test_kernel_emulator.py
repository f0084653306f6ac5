"""The emulator itself: scheduling, warp intrinsics, argument checks and planted bugs."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gpugrad import emu, kernel_specs
from kernel_helpers import poisoned

i32, i64, f32 = np.int32, np.int64, np.float32


def _module(code, *names):
    return emu.RawModule(code=textwrap.dedent(code), name_expressions=names)


def _kernel_source(filename, old=None, new=""):
    """A kernels/ file with common.cuh inlined, optionally with `old` replaced by `new`."""
    d = kernel_specs.kernel_dir()
    src = (d / filename).read_text().replace('#include "common.cuh"', (d / "common.cuh").read_text())
    if old is not None:
        assert src.count(old) == 1, f"{old!r} must occur once in {filename}"
        src = src.replace(old, new)
    return src


INTRINSICS = """
__global__ void lanes(const int* x, int* out) {
    const int t = threadIdx.x, v = x[t];
    out[t * 6 + 0] = __shfl_down_sync(0xffffffffu, v, 3);
    out[t * 6 + 1] = __shfl_xor_sync(0xffffffffu, v, 5);
    out[t * 6 + 2] = __shfl_up_sync(0xffffffffu, v, 2);
    out[t * 6 + 3] = __shfl_sync(0xffffffffu, v, 1, 8);
    out[t * 6 + 4] = (int)__ballot_sync(0xffffffffu, v % 3 == 0);
    __syncwarp();
    out[t * 6 + 5] = atomicAdd(out + 6 * blockDim.x, 1);
}
"""


def test_warp_intrinsics_match_cuda_semantics(order):
    x = np.random.default_rng(0).integers(0, 100, 64).astype(np.int32)
    out = poisoned(64 * 6 + 1, np.int32)
    out[-1] = 0
    _module(INTRINSICS, "lanes").get_function("lanes")((1,), (64,), (x, out))
    got, lane = out[:-1].reshape(64, 6), np.arange(64) % 32
    base = np.arange(64) - lane
    np.testing.assert_array_equal(got[:, 0], x[np.where(lane + 3 < 32, np.arange(64) + 3, np.arange(64))])
    np.testing.assert_array_equal(got[:, 1], x[base + (lane ^ 5)])
    np.testing.assert_array_equal(got[:, 2], x[np.where(lane >= 2, np.arange(64) - 2, np.arange(64))])
    np.testing.assert_array_equal(got[:, 3], x[np.arange(64) - np.arange(64) % 8 + 1])
    for w in range(2):
        bits = sum(1 << i for i in range(32) if x[32 * w + i] % 3 == 0)
        assert (got[32 * w:32 * w + 32, 4] == np.array(bits, np.uint32).astype(np.int32)).all()
    assert sorted(got[:, 5]) == list(range(64)) and out[-1] == 64
    expected_order = np.arange(64) if order == "forward" else np.arange(64)[::-1]
    np.testing.assert_array_equal(got[:, 5], expected_order)  # the order really changes


def test_multidimensional_indices():
    code = """
    __global__ void where(int* out) {
        int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
        int b = blockIdx.x + gridDim.x * blockIdx.y;
        out[b * 24 + t] = 1000 * b + 100 * threadIdx.z + 10 * threadIdx.y + threadIdx.x;
    }"""
    out = poisoned(6 * 24, np.int32)
    _module(code, "where").get_function("where")((3, 2), (4, 3, 2), (out,))
    b, z, y, x = np.meshgrid(np.arange(6), np.arange(2), np.arange(3), np.arange(4), indexing="ij")
    np.testing.assert_array_equal(out, (1000 * b + 100 * z + 10 * y + x).reshape(-1))


def test_dynamic_shared_memory_is_poisoned_and_bounded():
    code = """
    __global__ void peek(unsigned char* out, int n) {
        extern __shared__ unsigned char smem[];
        for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = smem[i];
        if (threadIdx.x == 0) smem[n] = 1;
    }"""
    k = _module(code, "peek").get_function("peek")
    out = np.zeros(100, np.uint8)
    k((1,), (32,), (out, i32(100)), shared_mem=101)
    assert (out == 0xFF).all()
    with pytest.raises(emu.LaunchError, match="past the end of dynamic shared memory.*shared_mem=100|shared_mem=100.*past the end"):
        k((1,), (32,), (out, i32(100)), shared_mem=100)


def test_static_shared_memory_is_poisoned_before_every_block():
    code = """
    template <typename T> __global__ void stale(T* out) {
        __shared__ T tile[4];
        if (threadIdx.x == 0) { out[blockIdx.x] = tile[blockIdx.x % 4]; tile[0] = tile[1] = tile[2] = tile[3] = T(7); }
    }"""
    out = np.zeros(3, np.int32)
    _module(code, "stale<int>").get_function("stale<int>")((3,), (32,), (out,))
    np.testing.assert_array_equal(out, [-1, -1, -1])  # never the 7 a previous block left


@pytest.mark.parametrize("bad_args, message", [
    ((1.5, 3), r"parameter 0 \(a: f32 scalar\) got float \(float64\); pass np.float32"),
    ((f32(1.5), 3), r"parameter 1 \(n: i32 scalar\) got int \(int64\); pass np.int32"),
    ((f32(1.5), i64(3)), r"parameter 1 \(n: i32 scalar\) got int64"),
    ((np.zeros(1, f32), i32(3)), r"parameter 0 .* got ndarray"),
])
def test_scalar_arguments_must_match_the_parameter_exactly(bad_args, message):
    code = "__global__ void axpy(float a, int n, const float* x, float* y) { if (threadIdx.x < n) y[threadIdx.x] += a * x[threadIdx.x]; }"
    k = _module(code, "axpy").get_function("axpy")
    x, y = np.ones(4, f32), np.zeros(4, f32)
    with pytest.raises(TypeError, match="axpy: " + message):
        k((1,), (4,), (*bad_args, x, y))
    k((1,), (4,), (f32(1.5), i32(3), x, y))
    np.testing.assert_array_equal(y, [1.5, 1.5, 1.5, 0])


@pytest.mark.parametrize("bad, message", [
    (np.ones(4), r"parameter 2 \(x: pointer to f32\) got an array of float64"),
    (np.ones(8, f32)[::2], "non-contiguous"),
    (3, r"parameter 2 .* got int, expected an array"),
])
def test_pointer_arguments_are_checked(bad, message):
    code = "__global__ void axpy(float a, int n, const float* x, float* y) { }"
    k = _module(code, "axpy").get_function("axpy")
    with pytest.raises(TypeError, match=message):
        k((1,), (4,), (f32(1), i32(4), bad, np.zeros(4, f32)))
    with pytest.raises(TypeError, match="takes 4 arguments, got 3"):
        k((1,), (4,), (f32(1), i32(4), np.zeros(4, f32)))


@pytest.mark.parametrize("index, side", [("n", "after"), ("-1", "before")])
def test_out_of_bounds_write_is_caught(index, side):
    code = f"__global__ void oob(float* y, int n) {{ if (threadIdx.x == 0) y[{index}] = 1.0f; }}"
    with pytest.raises(emu.LaunchError, match=f"oob: out-of-bounds write {side} the array passed as parameter 0 \\(y"):
        _module(code, "oob").get_function("oob")((1,), (32,), (np.zeros(10, f32), i32(10)))


def test_divergent_syncthreads_is_reported():
    code = """
    __global__ void early_exit(float* y, int n) {
        if (threadIdx.x >= n) return;  // bug: the others wait at the barrier below
        __syncthreads();
        y[threadIdx.x] = 1.0f;
    }"""
    with pytest.raises(emu.LaunchError, match=r"early_exit grid=\(1,1,1\) block=\(64,1,1\).*blockIdx=\(0,0,0\).*divergent __syncthreads"):
        _module(code, "early_exit").get_function("early_exit")((1,), (64,), (np.zeros(64, f32), i32(40)))


def test_barrier_deadlock_is_reported():
    code = """
    __global__ void stuck(int* y) {
        if (threadIdx.x == 0) __syncthreads();
        else y[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
    }"""
    with pytest.raises(emu.LaunchError, match="deadlock: no thread can run"):
        _module(code, "stuck").get_function("stuck")((1,), (32,), (np.zeros(32, np.int32),))


def _wrong_in_either_order(src, name, run, want):
    """Run the kernel in both thread orders; report for each whether the result is wrong."""
    kernel = emu.RawModule(code=src, name_expressions=[name]).get_function(name)
    wrong = []
    for order in ("forward", "reversed"):
        with emu.thread_order(order):
            wrong.append(not np.allclose(run(kernel), want))
    return wrong


def test_missing_syncthreads_in_softmax_reduction_is_caught(rng):
    """Planted bug: drop the barrier between writing and reading the per-warp partials."""
    old = "            part_x[warp] = sx;\n        }\n        __syncthreads();\n"
    n, k = 3, 300
    logits, target = rng.standard_normal((n, k)), np.zeros(n, np.int64)

    def run(kernel):
        loss, lse = poisoned(n, np.float64), poisoned(n, np.float64)
        kernel((1,), (256,), (logits, target, loss, lse, i32(n), i32(k), i64(-1), np.float64(0)))
        return lse

    want, name = np.log(np.exp(logits).sum(axis=1)), "softmax_xent_fwd<double>"
    assert _wrong_in_either_order(_kernel_source("softmax_xent.cu"), name, run, want) == [False, False]
    planted = _kernel_source("softmax_xent.cu", old, old.replace("        __syncthreads();\n", ""))
    assert any(_wrong_in_either_order(planted, name, run, want))


def test_missing_syncthreads_in_block_sum_is_caught(rng):
    """Planted bug: the same in the shared block reduction used by conv_wgrad."""
    old = "    if (lane == 0) partial[warp] = v;\n    __syncthreads();\n"
    x, gy = rng.standard_normal((2, 1, 9, 9)), rng.standard_normal((2, 1, 9, 9))
    ints = [i32(v) for v in (2, 1, 9, 9, 1, 9, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1)]

    def run(kernel):
        gw = poisoned((1, 1, 1, 1), np.float64)
        kernel((1,), (128,), (x, gy, gw, *ints))
        return gw

    want, name = np.einsum("nfab,ncab->fc", gy, x)[..., None, None], "conv_wgrad<double>"
    assert _wrong_in_either_order(_kernel_source("conv_wgrad.cu"), name, run, want) == [False, False]
    planted = _kernel_source("conv_wgrad.cu", old, "    if (lane == 0) partial[warp] = v;\n")
    assert any(_wrong_in_either_order(planted, name, run, want))


def test_crash_names_the_kernel_and_launch(tmp_path):
    """A segfault inside a kernel kills only this subprocess, after saying where it happened."""
    script = textwrap.dedent("""
        import numpy as np
        from gpugrad import emu
        code = "__global__ void crash(float* y) { if (threadIdx.x == 5) y[0] = *(volatile float*)nullptr; }"
        emu.RawModule(code=code).get_function("crash")((2,), (8,), (np.zeros(1, np.float32),))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode != 0
    assert "gpugrad.emu: signal 11 in crash grid=(2,1,1) block=(8,1,1)" in res.stderr
    assert "threadIdx=(5,0,0)" in res.stderr


def test_compile_errors_carry_the_log():
    with pytest.raises(emu.CompileError, match="undeclared|not declared"):
        _module("__global__ void broken(float* y) { y[0] = undefined_name; }", "broken")


def test_modules_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUGRAD_EMU_CACHE", str(tmp_path))
    code = "__global__ void k(float* y) { y[threadIdx.x] = 2.0f; }"
    _module(code, "k")
    _module(code, "k")
    _module(code + "\n// changed", "k")
    assert len(list(tmp_path.glob("*.so"))) == 2


MMA = """
#include "gemm_tile.cuh"
// One m16n8k8 TF32 mma.sync with the PTX ISA's fragment layouts, and cvt.rna.tf32 of x.
__global__ void mma_once(const float* A, const float* B, float* D, const float* x, unsigned* rounded, int n) {
    const int lane = threadIdx.x, g = lane / 4, t = lane % 4;
    const unsigned a[4] = {__float_as_uint(A[g * 8 + t]), __float_as_uint(A[(g + 8) * 8 + t]),
                           __float_as_uint(A[g * 8 + t + 4]), __float_as_uint(A[(g + 8) * 8 + t + 4])};
    const unsigned b[2] = {__float_as_uint(B[t * 8 + g]), __float_as_uint(B[(t + 4) * 8 + g])};
    const int at[4] = {g * 8 + 2 * t, g * 8 + 2 * t + 1, (g + 8) * 8 + 2 * t, (g + 8) * 8 + 2 * t + 1};
    float d[4] = {D[at[0]], D[at[1]], D[at[2]], D[at[3]]};
    gg_mma_tf32(d, a, b);
    __syncwarp();  // every lane has read D before any lane writes it
    for (int i = 0; i < 4; ++i) D[at[i]] = d[i];
    for (int i = lane; i < n; i += 32) rounded[i] = gg_to_tf32(x[i]);
}
"""


def test_tensor_core_mma_and_tf32_rounding(order, rng):
    """D += A @ B reads only the TF32 bits of A and B (as the hardware does) and accumulates
    in float; cvt.rna rounds to nearest, ties away from zero, and keeps inf and NaN."""
    from gpugrad.backends.cpu.reference import tf32_round_ref

    kernel = emu.RawModule(code=MMA, options=kernel_specs.nvrtc_options(),
                           name_expressions=["mma_once"]).get_function("mma_once")
    a, b, d = (rng.standard_normal(s).astype(f32) for s in ((16, 8), (8, 8), (16, 8)))
    ties = np.array([0x3F801000, 0xBF801000, 0x3F803000, 0x3F800FFF], np.uint32).view(f32)
    x = np.concatenate([rng.standard_normal(60).astype(f32), ties, np.array([np.inf, -np.inf, np.nan], f32)])
    out, rounded = d.copy(), poisoned(x.size, np.uint32)
    kernel((1,), (32,), (a, b, out, x, rounded, i32(x.size)))
    trunc = lambda v: (v.view(np.uint32) & np.uint32(0xFFFFE000)).view(f32).astype(np.float64)
    np.testing.assert_allclose(out, d + trunc(a) @ trunc(b), rtol=1e-6, atol=1e-6)
    assert np.abs(out - (d + a.astype(np.float64) @ b)).max() > 1e-5  # the low bits really are dropped
    np.testing.assert_array_equal(rounded[:-1], tf32_round_ref(x).view(np.uint32)[:-1])
    assert np.isnan(rounded[-1:].view(f32)).all()
    assert list(tf32_round_ref(ties).view(np.uint32)) == [0x3F802000, 0xBF802000, 0x3F804000, 0x3F800000]
