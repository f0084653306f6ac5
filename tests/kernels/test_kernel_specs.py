"""The kernel interface and its table (gpugrad/kernel_specs.py) hold for both backends.

Every backend implements every interface function with the declared signature, each route of
gpugrad.backends.algorithms has its function's signature, every row resolves (CUDA kernels,
CPU function, reference), every __global__ kernel in kernels/ has a row, and every row's
function agrees with its reference on fresh random inputs, on the CUDA KernelSet (emulated,
outputs poisoned) and on the CPU. A new kernel needs its row and its inputs in CASES below.
"""
import copy
import importlib
import inspect
import re

import numpy as np
import pytest

from gpugrad import kernel_specs
from gpugrad.backends import algorithms
from gpugrad.backends.conv_params import conv_output_size
from gpugrad.backends.cpu import kernels as cpu_kernels
from gpugrad.backends.cpu import reference as ref
from gpugrad.backends.cuda.kernels import KernelSet
from gpugrad.backends.kernel_interface import FUNCTIONS, Kernels
from tests.kernels.kernel_helpers import tol

GLOBAL = r"__global__\s+(?:__launch_bounds__\([^)]*\)\s+)?void\s+{}\s*\("  # a kernel's definition

ROUTE_FUNCTIONS = {algorithms.function_name(name, route): name
                   for name, routes in algorithms.ROUTES.items() for route in routes}
# which backends have a route: the rows say (CUDA: kernels of ours or cuBLAS; CPU: a function)
CUDA_ROUTES = {n for n in ROUTE_FUNCTIONS if kernel_specs.SPECS[n].cuda or n.endswith("_cublas")}
CPU_ROUTES = {n for n in ROUTE_FUNCTIONS if kernel_specs.SPECS[n].cpu} - set(FUNCTIONS)


def _signature(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _declared(name):
    """The interface's signature of `name`, without self."""
    return _signature(getattr(Kernels, name))[1:]


def _cpu_function(spec):
    module, function = spec.cpu.split(".")
    return getattr(importlib.import_module(f"gpugrad.backends.cpu.{module}"), function)


def test_interface_lists_what_the_ops_call():
    assert set(FUNCTIONS) == {"conv2d_forward", "conv_wgrad", "conv_dgrad", "matmul", "gelu_fwd", "gelu_bwd",
                              "maxpool2d_fwd", "maxpool2d_bwd", "softmax_xent_fwd", "softmax_xent_bwd",
                              "fused_adam", "philox_uniform",
                              "batch_norm_fwd", "batch_norm_bwd", "relu_fwd", "relu_bwd"}


@pytest.mark.parametrize("backend", ["cpu", "cuda"])
def test_backend_implements_the_interface_with_its_signatures(kernels, backend):
    impl = cpu_kernels if backend == "cpu" else kernels
    assert isinstance(impl, Kernels)
    for name in FUNCTIONS:
        assert _signature(getattr(impl, name)) == _declared(name), name


def test_backends_have_no_undeclared_kernel_functions():
    cpu = {n for n, v in vars(cpu_kernels).items() if callable(v) and not n.startswith("_")}
    assert cpu == set(FUNCTIONS) | CPU_ROUTES
    cuda = {n for n in dir(KernelSet) if callable(getattr(KernelSet, n)) and not n.startswith("_")}
    assert cuda == set(FUNCTIONS) | CUDA_ROUTES | {"load_all"}  # load_all: compile before a graph capture


def test_routes_have_the_signature_of_their_function(kernels):
    assert CPU_ROUTES == {"conv2d_forward_direct", "conv_wgrad_direct", "conv_dgrad_direct"}
    for route_function, name in ROUTE_FUNCTIONS.items():
        assert name in FUNCTIONS
        for backend, has in ((kernels, CUDA_ROUTES), (cpu_kernels, CPU_ROUTES)):
            if route_function in has:
                assert _signature(getattr(backend, route_function)) == _declared(name), route_function
    for name in ("conv2d_forward", "conv_wgrad", "conv_dgrad"):
        assert algorithms.routes(cpu_kernels, name) == (algorithms.ROUTES[name][0], "direct")


def test_every_function_and_route_has_one_row():
    assert [s.name for s in kernel_specs.KERNELS] == list(kernel_specs.SPECS)  # no name twice
    assert set(kernel_specs.SPECS) == set(FUNCTIONS) | set(ROUTE_FUNCTIONS)


@pytest.mark.parametrize("spec", kernel_specs.KERNELS, ids=lambda s: s.name)
def test_row_resolves(spec, kernels):
    if spec.name not in ROUTE_FUNCTIONS or spec.name in CUDA_ROUTES:
        assert callable(getattr(kernels, spec.name))
    else:
        assert not hasattr(kernels, spec.name)
    if spec.cpu is None:
        assert spec.name in ROUTE_FUNCTIONS, "only a route may be CUDA-only"
    else:
        assert _cpu_function(spec) is getattr(cpu_kernels, spec.name)
    assert callable(getattr(ref, spec.reference))
    assert all(part.isidentifier() for part in spec.bench.split(".")), spec.bench  # tests/test_benchmarks.py resolves it
    assert spec.cuda or spec.name.endswith("_cublas") or spec.name in CPU_ROUTES, \
        "every kernel function but a cuBLAS or CPU-only route launches a kernel of kernels/"
    for filename, names in spec.cuda.items():
        source = (kernel_specs.kernel_dir() / filename).read_text()
        for k in names:
            assert re.search(GLOBAL.format(re.escape(k.removesuffix("<T>"))), source), (filename, k)


def test_every_cuda_kernel_has_a_row():
    files = sorted(p.name for p in kernel_specs.kernel_dir().glob("*.cu"))
    assert list(kernel_specs.KERNEL_FILES) == files
    for filename in files:
        defined = re.findall(GLOBAL.format(r"(\w+)"), (kernel_specs.kernel_dir() / filename).read_text())
        listed = {k.removesuffix("<T>") for spec in kernel_specs.KERNELS for k in spec.cuda.get(filename, ())}
        assert set(defined) == listed, filename


def test_name_expressions_instantiate_templates_for_both_dtypes():
    assert kernel_specs.name_expressions("gelu.cu") == [
        "gelu_fwd<float>", "gelu_fwd<double>", "gelu_fwd_f4", "gelu_bwd<float>", "gelu_bwd<double>", "gelu_bwd_f4"]
    assert kernel_specs.name_expressions("im2col.cu") == ["im2col_rows<float>", "im2col_rows<double>"]
    with pytest.raises(KeyError, match="nothing.cu"):
        kernel_specs.name_expressions("nothing.cu")


# ---- each row against its reference: name -> inputs(rng, dtype) --------------------------------
CONV = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
# the direct routes: a problem the CPU's direct kernels compute (stride 1, one group), 10 output
# channels (a full 8-row register tile and a partial one)
DIRECT = dict(stride=(1, 1), padding=(1, 2), dilation=(2, 1), groups=1)
X_SHAPE, W_SHAPE = (2, 4, 7, 6), (6, 2, 3, 2)
DIRECT_X, DIRECT_W = (3, 5, 9, 7), (10, 5, 3, 4)


def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _gy(rng, dtype, conv=CONV, x_shape=X_SHAPE, w_shape=W_SHAPE):
    oh, ow = (conv_output_size(n, k, s, p, d) for n, k, s, p, d in
              zip(x_shape[2:], w_shape[2:], conv["stride"], conv["padding"], conv["dilation"]))
    return _normal(rng, (x_shape[0], w_shape[0], oh, ow), dtype)


def _geo(conv=CONV):
    return conv["stride"], conv["padding"], conv["dilation"], conv["groups"]


def _conv2d_forward(rng, dtype, conv=CONV, x_shape=X_SHAPE, w_shape=W_SHAPE):
    return _normal(rng, x_shape, dtype), _normal(rng, w_shape, dtype), *_geo(conv)


def _conv_wgrad(rng, dtype, conv=CONV, x_shape=X_SHAPE, w_shape=W_SHAPE):
    return (_normal(rng, x_shape, dtype), _gy(rng, dtype, conv, x_shape, w_shape), *w_shape[2:], *_geo(conv))


def _conv_dgrad(rng, dtype, conv=CONV, x_shape=X_SHAPE, w_shape=W_SHAPE):
    return (_gy(rng, dtype, conv, x_shape, w_shape), _normal(rng, w_shape, dtype), x_shape, *_geo(conv))


def _direct(case):
    return lambda rng, dtype: case(rng, dtype, DIRECT, DIRECT_X, DIRECT_W)


def _matmul(rng, dtype):
    return _normal(rng, (3, 1, 5, 9), dtype), _normal(rng, (2, 9, 7), dtype)  # batch dims broadcast


POOL = ((3, 2), (2, 1), (1, 1), (1, 2), True)
XENT = (-100, 0.1)  # ignore_index, label_smoothing


def _pool_input(rng, dtype):
    return rng.integers(-3, 4, (2, 3, 8, 5)).astype(dtype)  # small integers: ties


def _maxpool2d_bwd(rng, dtype):
    x = _pool_input(rng, dtype)
    y, argmax = ref.maxpool2d_fwd_ref(x, *POOL)
    return _normal(rng, y.shape, dtype), argmax, x.shape


def _logits(rng, dtype):
    logits, target = 3 * _normal(rng, (5, 37), dtype), rng.integers(0, 37, 5)
    target[2] = XENT[0]
    return logits, target


def _softmax_xent_bwd(rng, dtype):
    logits, target = _logits(rng, dtype)
    lse = ref.softmax_xent_fwd_ref(logits, target, *XENT)[1].astype(dtype)
    return logits, target, lse, _normal(rng, 5, dtype), *XENT


def _fused_adam(rng, dtype):
    """Three tensors at different steps, amsgrad and AdamW's decay; lr a device scalar, beta1 a number."""
    shapes = [(3, 4), (7,), (2, 1, 5)]
    params, grads, exp_avgs = ([_normal(rng, s, dtype) for s in shapes] for _ in range(3))
    exp_avg_sqs, max_exp_avg_sqs = ([rng.random(s).astype(dtype) for s in shapes] for _ in range(2))
    steps = [np.array(k, dtype) for k in (0, 2, 5)]
    return (params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, np.array(0.01, dtype), 0.8, 0.99,
            0.1, 1e-8, True, False, True)
BN_SHAPE, BN_EPS = (3, 5, 4, 3), 1e-3


def _bn_input(rng, dtype, shape=BN_SHAPE):
    """Channels with their own offset and spread, the offset large against the spread."""
    c = shape[1]
    scale = (1 + 4 * rng.random(c)).reshape((1, c) + (1,) * (len(shape) - 2))
    return (rng.standard_normal(shape) * scale + 10 * scale).astype(dtype)


def _batch_norm_fwd(rng, dtype, shape=BN_SHAPE, affine=(True, True)):
    c = shape[1]
    weight, bias = (_normal(rng, c, dtype) if given else None for given in affine)
    return _bn_input(rng, dtype, shape), weight, bias, BN_EPS


def _batch_norm_bwd(rng, dtype, shape=BN_SHAPE, has_weight=True):
    x = _bn_input(rng, dtype, shape)
    _, mean, _, invstd = ref.batch_norm_fwd_ref(x, None, None, BN_EPS)
    weight = _normal(rng, shape[1], dtype) if has_weight else None
    return x, _normal(rng, shape, dtype), mean.astype(dtype), invstd.astype(dtype), weight


def _relu_input(rng, dtype, shape=(5, 41)):
    x = _normal(rng, shape, dtype)
    x.flat[::7] = 0  # the kink itself
    return x


CASES = {
    "conv2d_forward": _conv2d_forward,
    "conv2d_forward_cublas": _conv2d_forward,
    "conv2d_forward_direct": _direct(_conv2d_forward),
    "conv_wgrad": _conv_wgrad,
    "conv_wgrad_cublas": _conv_wgrad,
    "conv_wgrad_direct": _direct(_conv_wgrad),
    "conv_dgrad": _conv_dgrad,
    "conv_dgrad_cublas": _conv_dgrad,
    "conv_dgrad_direct": _direct(_conv_dgrad),
    "matmul": _matmul,
    "matmul_cublas": _matmul,
    "gelu_fwd": lambda rng, dtype: (3 * _normal(rng, (5, 41), dtype), "none"),
    "gelu_bwd": lambda rng, dtype: (3 * _normal(rng, (5, 41), dtype), _normal(rng, (5, 41), dtype), "tanh"),
    "maxpool2d_fwd": lambda rng, dtype: (_pool_input(rng, dtype), *POOL),
    "maxpool2d_bwd": _maxpool2d_bwd,
    "softmax_xent_fwd": lambda rng, dtype: (*_logits(rng, dtype), *XENT),
    "softmax_xent_bwd": _softmax_xent_bwd,
    "fused_adam": _fused_adam,
    "philox_uniform": lambda rng, dtype: (np.array([rng.integers(0, 2 ** 63), 2 ** 32 - 7], np.uint64), 37, dtype),
    "batch_norm_fwd": _batch_norm_fwd,
    "batch_norm_bwd": _batch_norm_bwd,
    "relu_fwd": lambda rng, dtype: (_relu_input(rng, dtype),),
    "relu_bwd": lambda rng, dtype: (_relu_input(rng, dtype), _normal(rng, (5, 41), dtype)),
}


def test_every_row_has_a_case():
    assert set(CASES) == set(kernel_specs.SPECS)


def _assert_matches(got, want, dtype):
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        if w.dtype.kind == "i":
            np.testing.assert_array_equal(g, w)
        else:
            assert g.dtype == dtype
            np.testing.assert_allclose(g, w, **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", kernel_specs.KERNELS, ids=lambda s: s.name)
def test_row_matches_its_reference(kernels, rng, spec, dtype):
    args = CASES[spec.name](rng, dtype)
    want = getattr(ref, spec.reference)(*copy.deepcopy(args))  # fresh inputs each: fused_adam updates in place
    if spec.name not in ROUTE_FUNCTIONS or spec.name in CUDA_ROUTES:
        _assert_matches(getattr(kernels, spec.name)(*copy.deepcopy(args)), want, dtype)
    if spec.cpu is not None:
        _assert_matches(_cpu_function(spec)(*copy.deepcopy(args)), want, dtype)
