"""Which implementation computes a kernel function: the one place routes are chosen.

A function of the kernel interface (gpugrad.backends.kernel_interface) may have several
implementations on a backend, its routes. The default route is the interface function itself
(`kernels.conv_wgrad`); another route is a function with the same signature named
`<function>_<route>` (`kernels.conv_wgrad_direct`). Ops call `run(ctx.kernels, name, ...)`,
which calls the route `choose` picks (the idea of Chainer's `should_use_cudnn`, for our routes).

Routes today, on CUDA:

- default: our own kernels. matmul is kernels/gemm.cu, a tiled GEMM (xp.matmul for dtypes it
  lacks, such as integers); conv2d_forward, conv_wgrad and conv_dgrad are the implicit GEMMs of
  kernels/conv_igemm.cu, which gather the convolution's taps inside their tile loads.
- "cublas": matmul by cuBLAS (xp.matmul); the convolutions as im2col_rows + one cuBLAS GEMM
  per group in batch chunks (the gradient of the input then col2im).
- "direct" (conv_wgrad, conv_dgrad): kernels/conv_wgrad.cu, one block per weight element
  reducing over batch and positions (adamtiger/autograd's dilated weight-gradient convolution
  as written), and kernels/conv_dgrad.cu, the transposed convolution as one gather kernel.

On the CPU the default is im2col + OpenBLAS (gpugrad/backends/cpu/conv.py), and "direct"
(conv2d_forward, conv_wgrad, conv_dgrad) is gpugrad/backends/cpu/conv_direct.py: stride-1,
one-group float32 convolutions with a register tile over full-width rows and no patch buffer
(other problems it hands to im2col). `choose` takes it where it was measured faster; see
`_cpu_direct`.

On CUDA our kernels are the default because they make no library call: CuPy cannot record cuBLAS
while a stream is captured, so only they let a CUDA graph capture a whole training step.
`gpugrad.backends.cuda.use_cublas = True` selects the "cublas" routes instead; once measured,
the shapes where cuBLAS wins can be chosen here per problem. "direct" is not the default
because it is much slower than a GEMM: on an H200 the weight gradient of 128x64x16x16 -> 128
channels took 0.364 ms by im2col + cuBLAS GEMM and 12.6 ms direct
(benchmarks/results/nvidia-h200-2026-11-23-run2/README.md).

To add a route: give the backend's kernels a function `<function>_<route>` with the
function's signature, add the route to ROUTES and its row to gpugrad/kernel_specs.py, and say
in `choose` when it wins (on which problem sizes, and why).
"""
import contextlib

from . import cuda  # the use_cublas flag (no CuPy)

# function -> its routes, the default first
ROUTES = {
    "conv2d_forward": ("igemm", "cublas", "direct"),
    "conv_wgrad": ("igemm", "cublas", "direct"),
    "conv_dgrad": ("igemm", "cublas", "direct"),
    "matmul": ("gemm", "cublas"),
}
_forced = {}  # function -> route, set by use_route

# The routes that use only our own kernels, which a CUDA graph capture takes (cuBLAS calls made
# through CuPy can't be captured; gpugrad.backends.cuda.graphs forces these while capturing).
CAPTURABLE = {"conv2d_forward": "igemm", "conv_wgrad": "igemm", "conv_dgrad": "igemm", "matmul": "gemm"}
_capturing = [0]  # > 0 inside capturable(): use_cublas is ignored


def function_name(name, route):
    """The attribute of a backend's kernels that implements `route` of function `name`."""
    return name if route == ROUTES[name][0] else f"{name}_{route}"


def routes(kernels, name):
    """The routes of `name` that the backend `kernels` has."""
    return tuple(r for r in ROUTES[name] if hasattr(kernels, function_name(name, r)))


def choose(kernels, name, *args):
    """The route `run(kernels, name, *args)` takes: "cublas" where this backend has it and
    gpugrad.backends.cuda.use_cublas is set, else the one forced by use_route where this
    backend has it, else the default (see the module docstring for why). A rule that depends
    on the problem (e.g. the column buffer's size, from args) belongs here."""
    if "cublas" in ROUTES[name] and hasattr(kernels, function_name(name, "cublas")):
        if cuda.use_cublas and not _capturing[0]:
            return "cublas"
    forced = _forced.get(name)
    if forced is not None and hasattr(kernels, function_name(name, forced)):
        return forced
    if getattr(kernels, "DEVICE", None) == "cpu" and _cpu_direct(name, args):
        return "direct"
    return ROUTES[name][0]


# The CPU's direct weight gradient keeps 16 partial sums per weight (1 KiB per input channel and
# pair of taps); past this size im2col + OpenBLAS was faster. From _CPU_WIDE_CHANNELS input
# channels it keeps its sums in registers instead (conv_direct.WIDE_CHANNELS).
_CPU_WGRAD_BYTES = 192 << 10
_CPU_WIDE_CHANNELS = 16


def _cpu_direct(name, args):
    """Whether the CPU's direct route beats im2col + OpenBLAS on this problem (2-core Xeon,
    float32, medians; im2col / direct).

    - conv2d_forward, every stride-1 one-group problem: 64x1x28x28 -> 6 k5 0.99 / 0.19 ms,
      64x6x14x14 -> 16 k5 1.41 / 0.45 ms, 128x64x16x16 -> 128 k3 41.9 / 33.3 ms,
      256x64x32x32 -> 64 k3 201 / 173 ms.
    - conv_dgrad, when the input has 4 channels or more (the 8-row register tile is its
      channels): 64x6x14x14 1.26 / 0.69 ms, 32x32x28x28 6.1 / 4.4 ms, 128x64x16x16 36.7 /
      33.8 ms, 256x64x32x32 186 / 166 ms; 32x128x8x8 (5.4 / 6.2 ms) loses a little;
      128x3x32x32 (3 channels) 8.0 / 10.7 ms loses.
    - conv_wgrad, when its 16 partial sums per weight fit _CPU_WGRAD_BYTES: 32x1x28x28 -> 16
      k3 861 / 215 us, 32x16x14x14 -> 32 k3 1280 / 844 us, 128x3x32x32 -> 64 12.3 / 8.1 ms;
      and always from _CPU_WIDE_CHANNELS input channels, where the channels go on the vector
      lanes (im2col / lanes / 16 sums): 32x16x14x14 -> 32 k3 1.31 / 0.65 / 0.69 ms,
      32x32x28x28 -> 32 k3 5.6 / 3.0 / 5.2 ms, 128x64x16x16 -> 128 41 / 36 / 73 ms, 32x128x8x8
      -> 128 8.8 / 6.6 / 12.2 ms; with 8 channels the lanes lose (32x8x28x28 -> 16 1.58 /
      1.37 / 0.74 ms).

    Only problems the direct kernels compute: stride 1, one group, float32 (forced on another
    problem, the route hands it to im2col)."""
    if name not in ("conv2d_forward", "conv_wgrad", "conv_dgrad"):
        return False
    stride, groups = args[-4], args[-1]
    a, b = args[:2]
    if tuple(stride) != (1, 1) or groups != 1 or not a.dtype == b.dtype == "float32":
        return False
    if name == "conv2d_forward":
        return True
    if name == "conv_dgrad":
        gy, w, x_shape, _, padding, dilation, _ = args
        pad = [(k - 1) * d - p for k, p, d in zip(w.shape[2:], padding, dilation)]
        return min(pad) >= 0 and x_shape[1] >= 4
    x, _, kh, kw = args[:4]  # conv_wgrad
    return x.shape[1] >= _CPU_WIDE_CHANNELS or x.shape[1] * -(-kh * kw // 2) * 1024 <= _CPU_WGRAD_BYTES


def run(kernels, name, *args):
    """kernels.<name>(*args) by the route `choose` picks."""
    if name not in ROUTES:
        return getattr(kernels, name)(*args)
    return getattr(kernels, function_name(name, choose(kernels, name, *args)))(*args)


@contextlib.contextmanager
def use_route(**forced):
    """Inside the block, take the given routes where a backend has them, e.g.
    `use_route(conv_wgrad="direct", conv_dgrad="direct")` (tests and benchmarks)."""
    for name, route in forced.items():
        if name not in ROUTES:
            raise ValueError(f"use_route: {name!r} has no alternative routes; these do: {sorted(ROUTES)}")
        if route not in ROUTES[name]:
            raise ValueError(f"use_route: {name} has no route {route!r}; its routes are {ROUTES[name]}")
    saved = dict(_forced)
    _forced.update(forced)
    try:
        yield
    finally:
        _forced.clear()
        _forced.update(saved)


@contextlib.contextmanager
def capturable():
    """Inside the block, only routes that use our own kernels (a CUDA graph capture: CuPy can't
    capture cuBLAS), whatever use_cublas says."""
    _capturing[0] += 1
    try:
        with use_route(**CAPTURABLE):
            yield
    finally:
        _capturing[0] -= 1
