"""Which implementation computes a kernel function: the one place routes are chosen.

A function of the kernel interface (gpugrad.backends.kernel_interface) may have several
implementations on a backend, its routes. The default route is the interface function itself
(`kernels.conv_wgrad`); another route is a function with the same signature named
`<function>_<route>` (`kernels.conv_wgrad_direct`). Ops call `run(ctx.kernels, name, ...)`,
which calls the route `choose` picks (the idea of Chainer's `should_use_cudnn`, for our routes).

Routes today, on CUDA (the CPU backend has the default route only):

- conv_wgrad "gemm" (default): im2col_rows + one cuBLAS GEMM per group, in batch chunks.
  "direct": kernels/conv_wgrad.cu, one block per weight element reducing over batch and
  positions (adamtiger/autograd's dilated weight-gradient convolution as written); it needs no
  column buffer.
- conv_dgrad "gemm" (default): one cuBLAS GEMM per group, then the col2im gather.
  "direct": kernels/conv_dgrad.cu, the transposed convolution as one gather kernel; no column
  buffer either.

GEMM is the default because it is much faster: on an H200 the weight gradient of
128x64x16x16 -> 128 channels took 0.364 ms by GEMM and 12.6 ms direct
(benchmarks/results/nvidia-h200-2026-11-23-run2/README.md).

To add a route: give the backend's kernels a function `<function>_<route>` with the
function's signature, add the route to ROUTES and its row to gpugrad/kernel_specs.py, and say
in `choose` when it wins (on which problem sizes, and why).
"""
import contextlib

# function -> its routes, the default first
ROUTES = {
    "conv_wgrad": ("gemm", "direct"),
    "conv_dgrad": ("gemm", "direct"),
}
_forced = {}  # function -> route, set by use_route

# The routes that use only our own kernels, which a CUDA graph capture takes (cuBLAS calls made
# through CuPy can't be captured; gpugrad.backends.cuda.graphs forces these while capturing).
CAPTURABLE = {"conv_wgrad": "direct", "conv_dgrad": "direct"}


def function_name(name, route):
    """The attribute of a backend's kernels that implements `route` of function `name`."""
    return name if route == ROUTES[name][0] else f"{name}_{route}"


def routes(kernels, name):
    """The routes of `name` that the backend `kernels` has."""
    return tuple(r for r in ROUTES[name] if hasattr(kernels, function_name(name, r)))


def choose(kernels, name, *args):
    """The route `run(kernels, name, *args)` takes: the one forced by use_route where this
    backend has it, else the default (see the module docstring for why). A rule that depends
    on the problem (e.g. the column buffer's size, from args) belongs here."""
    forced = _forced.get(name)
    if forced is not None and hasattr(kernels, function_name(name, forced)):
        return forced
    return ROUTES[name][0]


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
