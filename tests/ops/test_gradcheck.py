"""Every differentiable op: float64 gradcheck on hypothesis-drawn shapes, forward vs NumPy.

Values come from a drawn seed (normal, never zeros); shapes from hypothesis, broadcasting
pairs included. The engine's single unbroadcast is exercised by every binary case.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck

from tests.helpers import away_from, rand_tensor

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**32 - 1)
pair_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "maximum": (gpugrad.maximum, np.maximum),
    "minimum": (gpugrad.minimum, np.minimum),
}


@pytest.mark.parametrize("name", BINARY)
@given(shapes=pair_shapes, seed=seeds)
def test_binary_broadcast(name, shapes, seed):
    rng = np.random.default_rng(seed)
    fn, ref = BINARY[name]
    a = rand_tensor(rng, shapes.input_shapes[0])
    b = rand_tensor(rng, shapes.input_shapes[1], low=0.5) if name == "div" else \
        rand_tensor(rng, shapes.input_shapes[1])
    np.testing.assert_allclose(fn(a, b).detach().numpy(), ref(a.detach().numpy(), b.detach().numpy()))
    assert gradcheck(fn, (a, b))


@given(shapes=pair_shapes, seed=seeds)
def test_pow_tensor_exponent(shapes, seed):
    rng = np.random.default_rng(seed)
    a = rand_tensor(rng, shapes.input_shapes[0], low=0.5)
    b = rand_tensor(rng, shapes.input_shapes[1])
    assert gradcheck(lambda a, b: a ** b, (a, b))


@pytest.mark.parametrize("expr", [lambda x: x ** 2, lambda x: 2.0 ** x, lambda x: 3 - x,
                                  lambda x: 1.5 / x, lambda x: -x + 1, lambda x: x * 0.5 - 2])
@given(shape=shapes, seed=seeds)
def test_scalar_operands(expr, shape, seed):
    x = rand_tensor(np.random.default_rng(seed), shape, low=0.5)
    assert expr(x).dtype == np.float64  # a Python scalar doesn't change the tensor's dtype
    assert gradcheck(expr, (x,))


UNARY = {
    "exp": (lambda x: x.exp(), np.exp, None),
    "log": (lambda x: x.log(), np.log, 0.2),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, 0.2),
    "sin": (lambda x: x.sin(), np.sin, None),
    "cos": (lambda x: x.cos(), np.cos, None),
    "tanh": (lambda x: x.tanh(), np.tanh, None),
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), None),
    "softplus": (F.softplus, lambda a: np.log1p(np.exp(a)), None),
    "softplus_beta": (lambda x: F.softplus(x * 10, beta=2, threshold=5), None, None),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes, seed=seeds)
def test_unary(name, shape, seed):
    fn, ref, low = UNARY[name]
    x = rand_tensor(np.random.default_rng(seed), shape, low=low)
    if ref is not None:
        np.testing.assert_allclose(fn(x).detach().numpy(), ref(x.detach().numpy()), rtol=1e-12)
    assert gradcheck(fn, (x,))


KINKED = {
    "abs": (lambda x: x.abs(), [0.0]),
    "relu": (F.relu, [0.0]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [0.0]),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), [-0.5, 0.7]),
    "clamp_min": (lambda x: x.clamp(min=0.2), [0.2]),
}


@pytest.mark.parametrize("name", KINKED)
@given(shape=shapes, seed=seeds)
def test_kinked_unary(name, shape, seed):
    fn, kinks = KINKED[name]
    assert gradcheck(fn, (away_from(np.random.default_rng(seed), shape, kinks),))


@given(shape=shapes, seed=seeds, approximate=st.sampled_from(["none", "tanh"]))
def test_gelu(shape, seed, approximate):
    pytest.importorskip("gpugrad.backends.cpu.kernels")
    x = rand_tensor(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: F.gelu(x, approximate=approximate), (x,))
    assert gradgradcheck(lambda x: F.gelu(x, approximate=approximate), (x,))


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where(shapes, seed):
    rng = np.random.default_rng(seed)
    cond = gpugrad.tensor(rng.random(shapes.input_shapes[0]) > 0.5)
    a, b = rand_tensor(rng, shapes.input_shapes[1]), rand_tensor(rng, shapes.input_shapes[2])
    out = gpugrad.where(cond, a, b)
    np.testing.assert_array_equal(out.detach().numpy(), np.where(cond.numpy(), a.detach().numpy(),
                                                                 b.detach().numpy()))
    assert gradcheck(lambda a, b: gpugrad.where(cond, a, b), (a, b))


reduce_case = st.tuples(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seeds,
                        st.booleans())


def _dims(draw_shape, rng):
    """A random dim spec for a shape: None, an int (maybe negative) or a tuple."""
    nd = len(draw_shape)
    kind = rng.integers(3)
    if kind == 0:
        return None
    if kind == 1:
        return int(rng.integers(-nd, nd))
    k = int(rng.integers(1, nd + 1))
    return tuple(int(d) for d in rng.choice(nd, size=k, replace=False))


REDUCTIONS = {
    "sum": (gpugrad.sum, np.sum),
    "mean": (gpugrad.mean, np.mean),
    "amax": (gpugrad.amax, np.amax),
    "amin": (gpugrad.amin, np.amin),
    "prod": (gpugrad.prod, np.prod),
    "var": (gpugrad.var, lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1)),
    "std": (gpugrad.std, lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1)),
    "logsumexp": (gpugrad.logsumexp,
                  lambda a, axis, keepdims: np.log(np.exp(a).sum(axis=axis, keepdims=keepdims))),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=reduce_case)
def test_reductions(name, case):
    shape, seed, keepdim = case
    rng = np.random.default_rng(seed)
    fn, ref = REDUCTIONS[name]
    dim = _dims(shape, rng)
    if name in ("var", "std"):
        n = np.prod([shape[d] for d in ((dim,) if isinstance(dim, int) else dim or range(len(shape)))])
        if n < 2:
            return
    if name == "logsumexp" and dim is None:
        dim = tuple(range(len(shape)))
    x = rand_tensor(rng, shape, low=0.3 if name == "prod" else None)
    axis = dim if not isinstance(dim, list) else tuple(dim)
    np.testing.assert_allclose(fn(x, dim, keepdim=keepdim).detach().numpy(),
                               ref(x.detach().numpy(), axis=axis, keepdims=keepdim), rtol=1e-10)
    assert gradcheck(lambda x: fn(x, dim, keepdim=keepdim), (x,))


@given(case=reduce_case)
def test_max_min_with_dim(case):
    shape, seed, keepdim = case
    rng = np.random.default_rng(seed)
    x = rand_tensor(rng, shape)
    dim = int(rng.integers(-len(shape), len(shape)))
    values, indices = gpugrad.max(x, dim, keepdim=keepdim)
    np.testing.assert_array_equal(values.detach().numpy(), x.detach().numpy().max(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(indices.numpy(), x.detach().numpy().argmax(axis=dim, keepdims=keepdim))
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert gradcheck(lambda x: gpugrad.max(x, dim, keepdim=keepdim).values, (x,))
    assert gradcheck(lambda x: x.min(dim, keepdim=keepdim)[0], (x,))
    assert gradcheck(lambda x: x.max() * x.min(), (x,))


def test_prod_with_zeros():
    x = gpugrad.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.5, 2.0, 4.0]], dtype="float64", requires_grad=True)
    assert gradcheck(lambda x: x.prod(1), (x,))
    assert gradcheck(lambda x: x.prod(), (x,))


def test_tied_max_shares_gradient():
    x = gpugrad.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5])


@pytest.mark.parametrize("fn", [gpugrad.softmax, gpugrad.log_softmax])
@given(case=reduce_case)
def test_softmax(fn, case):
    shape, seed, _ = case
    rng = np.random.default_rng(seed)
    x = rand_tensor(rng, shape)
    dim = int(rng.integers(-len(shape), len(shape)))
    a = x.detach().numpy()
    ref = np.exp(a - a.max(dim, keepdims=True))
    ref = ref / ref.sum(dim, keepdims=True)
    np.testing.assert_allclose(fn(x, dim).detach().numpy(), ref if fn is gpugrad.softmax else np.log(ref),
                               rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x: fn(x, dim), (x,))
    assert gradgradcheck(lambda x: fn(x, dim), (x,))


def test_argmax_argmin(rng):
    a = rng.standard_normal((3, 4, 5))
    x = gpugrad.tensor(a)
    np.testing.assert_array_equal(x.argmax().numpy(), a.argmax())
    np.testing.assert_array_equal(x.argmin(1).numpy(), a.argmin(1))
    np.testing.assert_array_equal(x.argmax(-1, keepdim=True).numpy(), a.argmax(-1, keepdims=True))


SHAPE_OPS = [
    ((2, 3, 4), lambda x: x.reshape(4, 6)),
    ((2, 3, 4), lambda x: x.view(-1, 4)),
    ((2, 3, 4), lambda x: x.flatten(1)),
    ((2, 1, 4), lambda x: x.squeeze()),
    ((2, 1, 4), lambda x: x.squeeze(1)),
    ((2, 3), lambda x: x.unsqueeze(-1)),
    ((2, 3, 4), lambda x: x.transpose(0, 2)),
    ((2, 3, 4), lambda x: x.permute(1, 2, 0)),
    ((3, 4), lambda x: x.T),
    ((3, 1), lambda x: x.expand(2, 3, 4)),
    ((3, 1), lambda x: x.expand(-1, 5)),
    ((2, 3, 4), lambda x: x.transpose(0, 1).contiguous()),
    ((2, 3), lambda x: x.clone() * x),
]


@pytest.mark.parametrize("shape,fn", SHAPE_OPS)
def test_shape_ops(shape, fn, rng):
    x = rand_tensor(rng, shape)
    assert gradcheck(fn, (x,))


INDICES = [
    ((5,), 2),
    ((5,), -1),
    ((4, 5), (slice(1, 4), slice(None, None, 2))),
    ((4, 5), (None, Ellipsis, 1)),
    ((3, 4, 5), (Ellipsis, slice(1, 3))),
    ((4, 5), [0, 2, 2, 3]),                       # repeated rows accumulate
    ((4, 5), ([0, 1, 1], [4, 4, 4])),             # repeated elements accumulate
    ((4, 5), (slice(None), [1, 1, 0])),
]


@pytest.mark.parametrize("shape,index", INDICES)
def test_getitem(shape, index, rng):
    x = rand_tensor(rng, shape)
    np_index = tuple(np.array(i) if isinstance(i, list) else i for i in index) if isinstance(index, tuple) \
        else (np.array(index) if isinstance(index, list) else index)
    np.testing.assert_array_equal(x[index].detach().numpy(), x.detach().numpy()[np_index])
    assert gradcheck(lambda x: x[index], (x,))


def test_getitem_repeated_index_accumulates():
    x = gpugrad.zeros(3, requires_grad=True)
    x[gpugrad.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_getitem_bool_mask(rng):
    x = rand_tensor(rng, (4, 5))
    mask = gpugrad.tensor(rng.random((4, 5)) > 0.4)
    np.testing.assert_array_equal(x[mask].detach().numpy(), x.detach().numpy()[mask.numpy()])
    assert gradcheck(lambda x: x[mask], (x,))
    rows = gpugrad.tensor([True, False, True, True])
    assert gradcheck(lambda x: x[rows] * 2, (x,))


@given(seed=seeds, n=st.integers(1, 4), dim=st.integers(-2, 1))
def test_cat_stack(seed, n, dim):
    rng = np.random.default_rng(seed)
    parts = [rand_tensor(rng, (2, int(rng.integers(1, 4))) if dim in (1, -1) else (int(rng.integers(1, 4)), 3))
             for _ in range(n)]
    np.testing.assert_array_equal(gpugrad.cat(parts, dim).detach().numpy(),
                                  np.concatenate([p.detach().numpy() for p in parts], dim))
    assert gradcheck(lambda *ps: gpugrad.cat(ps, dim), parts)
    same = [rand_tensor(rng, (2, 3)) for _ in range(n)]
    assert gradcheck(lambda *ps: gpugrad.stack(ps, dim), same)


def test_split_chunk(rng):
    x = rand_tensor(rng, (7, 3))
    assert [p.shape for p in x.split(3)] == [(3, 3), (3, 3), (1, 3)]
    assert [p.shape for p in x.split([2, 5])] == [(2, 3), (5, 3)]
    assert [p.shape for p in x.chunk(2, dim=0)] == [(4, 3), (3, 3)]
    assert gradcheck(lambda x: x.split(3)[0] * x.split(3)[1] + x.chunk(3, dim=1)[2][:3], (x,))


def test_pad(rng):
    x = rand_tensor(rng, (2, 3, 4))
    out = F.pad(x, (1, 2, 0, 1), value=0.5)
    ref = np.pad(x.detach().numpy(), [(0, 0), (0, 1), (1, 2)], constant_values=0.5)
    np.testing.assert_array_equal(out.detach().numpy(), ref)
    assert gradcheck(lambda x: F.pad(x, (1, 2, 0, 1)), (x,))


MATMUL_SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 4, 1))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb, rng):
    a, b = rand_tensor(rng, sa), rand_tensor(rng, sb)
    np.testing.assert_allclose((a @ b).detach().numpy(), a.detach().numpy() @ b.detach().numpy(), rtol=1e-12)
    assert gradcheck(lambda a, b: a @ b, (a, b))
    if len(sa) > 1 and len(sb) > 1:
        assert gradgradcheck(lambda a, b: a @ b, (a, b))


@given(shapes=pair_shapes, seed=seeds)
def test_second_derivatives_elementwise(shapes, seed):
    rng = np.random.default_rng(seed)
    a = rand_tensor(rng, shapes.input_shapes[0], low=0.5)
    b = rand_tensor(rng, shapes.input_shapes[1], low=0.5)
    assert gradgradcheck(lambda a, b: (a * b).tanh() + a / b + (a ** 2).sum() * b.exp() + a.log(), (a, b))


@given(case=reduce_case)
def test_second_derivatives_reductions(case):
    shape, seed, keepdim = case
    rng = np.random.default_rng(seed)
    x = rand_tensor(rng, shape, low=0.3)
    dim = _dims(shape, rng)
    assert gradgradcheck(lambda x: (x * x).sum(dim, keepdim=keepdim) * x.mean() + x.prod(dim).sum()
                         + x.amax(dim).sum() * x.sum(), (x,))


# --- nn.functional ------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@given(n=st.integers(1, 4), features=st.tuples(st.integers(1, 4), st.integers(1, 4)), bias=st.booleans(),
       lead=st.sampled_from([None, (), (2,)]), seed=seeds)
def test_linear(device, n, features, bias, lead, seed):
    """Matrices take the one-op Linear (a GEMM with the bias added in), other inputs (1-D, batched)
    the matmul + add composition; both match NumPy and differentiate twice."""
    rng = np.random.default_rng(seed)
    i, o = features
    shape = (i,) if lead is None else (*lead, n, i)
    x, w = rand_tensor(rng, shape).to(device), rand_tensor(rng, (o, i)).to(device)
    args = (x, w, rand_tensor(rng, (o,)).to(device)) if bias else (x, w)
    y = F.linear(*args)
    assert (y.grad_fn.name == "LinearBackward") == (lead == ())
    want = x.detach().cpu().numpy() @ w.detach().cpu().numpy().T + (args[2].detach().cpu().numpy() if bias else 0)
    np.testing.assert_allclose(y.detach().cpu().numpy(), want, rtol=1e-12)
    assert gradcheck(F.linear, args)
    assert gradgradcheck(F.linear, args)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction, rng):
    a, b = rand_tensor(rng, (3, 4)), rand_tensor(rng, (3, 4))
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), (a, b))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 2), (5,)])
def test_cross_entropy(reduction, shape, rng):
    pytest.importorskip("gpugrad.backends.cpu.kernels")
    x = rand_tensor(rng, shape)
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, shape[1] if len(shape) > 1 else shape[0], tshape)
    if len(shape) > 1:
        t.reshape(-1)[0] = -100  # one ignored target
    target = gpugrad.tensor(t)
    for smoothing in (0.0, 0.2):
        assert gradcheck(lambda x: F.cross_entropy(x, target, reduction=reduction,
                                                   label_smoothing=smoothing), (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction, rng):
    x = rand_tensor(rng, (6, 4))
    target = gpugrad.tensor([0, 3, 1, -100, 2, 2])
    assert gradcheck(lambda x: F.nll_loss(F.log_softmax(x, 1), target, reduction=reduction), (x,))


def test_binary_cross_entropy_with_logits(rng):
    x = rand_tensor(rng, (4, 3))
    y = gpugrad.tensor(rng.random((4, 3)))
    w, pw = gpugrad.tensor(rng.random(3) + 0.5), gpugrad.tensor(rng.random(3) + 0.5)
    a, t = x.detach().numpy(), y.numpy()
    p = 1 / (1 + np.exp(-a))
    ref = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y).item(), ref, rtol=1e-12)
    assert gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw), (x,))


def test_dropout(rng):
    gpugrad.manual_seed(0)
    x = rand_tensor(rng, (200, 50))
    out = F.dropout(x, 0.3)
    kept = out.detach().numpy() != 0
    assert 0.6 < kept.mean() < 0.8
    np.testing.assert_allclose(out.detach().numpy()[kept], x.detach().numpy()[kept] / 0.7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7)
    assert F.dropout(x, 0.3, training=False) is x
