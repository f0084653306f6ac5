"""Tensor ops of PyTorch's API against torch: values, gradients and float64 gradchecks, on cpu and
simulated cuda (indexing along a dim, ordering, scans, layout, einsum, more math, operators)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad  # noqa: E402

from tests.api_check import check  # noqa: E402

_r = np.random.default_rng(99)


def N(*shape):
    return _r.standard_normal(shape)


def P(*shape):
    return np.abs(_r.standard_normal(shape)) + 0.5


IDX_GATHER = np.array([[0, 2, 2], [1, 0, 3]])            # into (2, 4) along dim 1
IDX_GATHER0 = np.array([[1, 0, 1, 1]])                   # into (2, 4) along dim 0
IDX_SEL = np.array([2, 0, 2])
MASK = _r.standard_normal((3, 4)) > 0
MASK_ROW = np.array([True, False, True, False])
SRC = N(2, 4)
HALVES = np.array([[-2.5, -1.5, -0.5, 0.5], [1.5, 2.5, 0.49, -0.51]])

CASES = {
    # indexing along a dim
    "gather": (lambda L, x, i: x.gather(1, i), [N(2, 4), IDX_GATHER]),
    "gather_dim0": (lambda L, x, i: L.gather(x, 0, i), [N(2, 4), IDX_GATHER0]),
    "gather_smaller_index": (lambda L, x, i: x.gather(1, i[:1, :2]), [N(3, 4), IDX_GATHER]),
    "scatter_src": (lambda L, x, s, i: x.scatter(1, i, s), [N(2, 4), N(2, 2), np.array([[0, 3], [1, 2]])]),
    # a src larger than index: torch's own backward fails there, so values only
    "scatter_src_larger": (lambda L, x, s, i: x.scatter(1, i[:, :2], s), [N(2, 4), SRC, np.array([[0, 3], [1, 2]])],
                           {"grad": False}),
    "scatter_value": (lambda L, x, i: x.scatter(1, i[:, :2], 0.5), [N(2, 4), np.array([[0, 3], [1, 2]])]),
    "scatter_add_repeats": (lambda L, x, s, i: x.scatter_add(1, i, s), [N(2, 4), N(2, 3), IDX_GATHER]),
    "scatter_add_fn": (lambda L, x, s, i: L.scatter_add(x, 0, i, s), [N(2, 4), N(1, 4), IDX_GATHER0]),
    "index_select": (lambda L, x, i: x.index_select(1, i), [N(2, 4), IDX_SEL]),
    "index_select_fn": (lambda L, x, i: L.index_select(x, 0, i[:2]), [N(3, 2), IDX_SEL]),
    "masked_fill": (lambda L, x, m: x.masked_fill(m, -1.5), [N(3, 4), MASK]),
    "masked_fill_bcast": (lambda L, x, m: L.masked_fill(x, m, 2.0), [N(3, 4), MASK_ROW]),
    "masked_fill_tensor": (lambda L, x, m, v: x.masked_fill(m, v.sum()), [N(3, 4), MASK, N(2)]),
    "masked_select": (lambda L, x, m: x.masked_select(m), [N(3, 4), MASK]),
    "masked_select_bcast": (lambda L, x, m: L.masked_select(x, m), [N(3, 4), MASK_ROW]),
    # ordering
    "sort": (lambda L, x: tuple(x.sort()), [N(3, 5)]),
    "sort_desc_dim0": (lambda L, x: tuple(L.sort(x, dim=0, descending=True)), [N(4, 3)]),
    "argsort": (lambda L, x: x.argsort(dim=1, descending=True), [N(3, 5)]),
    "topk": (lambda L, x: tuple(x.topk(2)), [N(3, 5)]),
    "topk_smallest_dim0": (lambda L, x: tuple(L.topk(x, 3, dim=0, largest=False)), [N(4, 3)]),
    # scans
    "cumsum": (lambda L, x: x.cumsum(1), [N(3, 4)]),
    "cumsum_dim0": (lambda L, x: L.cumsum(x, dim=0), [N(3, 4, 2)]),
    "cumsum_int": (lambda L, x: x.cumsum(0), [np.array([1, 2, 3])]),
    "cumsum_bool": (lambda L, x: (x > 0).cumsum(0), [N(6)]),
    "cumprod": (lambda L, x: x.cumprod(1), [N(3, 4)]),
    "cumprod_with_zero": (lambda L, x, m: (x * m).cumprod(1), [N(3, 4), np.array([1, 0, 1, 1])]),
    "cumprod_two_zeros": (lambda L, x, m: (x * m).cumprod(0), [N(4), np.array([0, 1, 0, 1])]),
    # layout
    "flip": (lambda L, x: x.flip(0), [N(3, 4)]),
    "flip_dims": (lambda L, x: L.flip(x, (0, 2)), [N(2, 3, 2)]),
    "roll": (lambda L, x: x.roll(1, 1), [N(3, 4)]),
    "roll_flat": (lambda L, x: L.roll(x, 5), [N(3, 4)]),
    "roll_dims": (lambda L, x: x.roll((1, -2), (0, 1)), [N(3, 4)]),
    "tril": (lambda L, x: x.tril(), [N(4, 4)]),
    "tril_diag": (lambda L, x: L.tril(x, -1), [N(2, 3, 4)]),
    "triu": (lambda L, x: x.triu(1), [N(3, 4)]),
    "triu_fn": (lambda L, x: L.triu(x), [N(4, 3)]),
    "repeat": (lambda L, x: x.repeat(2, 3), [N(2, 3)]),
    "repeat_more_dims": (lambda L, x: x.repeat(2, 1, 2), [N(2, 3)]),
    "tile": (lambda L, x: x.tile((2,)), [N(2, 3)]),
    "tile_fn": (lambda L, x: L.tile(x, (2, 1, 2)), [N(3)]),
    "unfold": (lambda L, x: x.unfold(1, 2, 1), [N(2, 5)]),
    "unfold_step": (lambda L, x: x.unfold(0, 2, 2), [N(5, 3)]),
    "t": (lambda L, x: x.t(), [N(2, 3)]),
    "t_vector": (lambda L, x: x.t(), [N(3)]),
    "t_fn": (lambda L, x: L.t(x), [N(3, 2)]),
    # einsum
    "einsum_matmul": (lambda L, a, b: L.einsum("ij,jk->ik", a, b), [N(2, 3), N(3, 4)]),
    "einsum_batch": (lambda L, a, b: L.einsum("bij,bjk->bik", a, b), [N(2, 2, 3), N(2, 3, 2)]),
    "einsum_implicit": (lambda L, a, b: L.einsum("ij,kj", a, b), [N(2, 3), N(4, 3)]),
    "einsum_sum_away": (lambda L, a: L.einsum("ijk->i", a), [N(2, 3, 2)]),
    "einsum_outer": (lambda L, a, b: L.einsum("i,j->ij", a, b), [N(3), N(2)]),
    "einsum_ellipsis": (lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b), [N(2, 2, 3), N(2, 3, 2)]),
    "einsum_three": (lambda L, a, b, c: L.einsum("ij,jk,kl->il", a, b, c), [N(2, 3), N(3, 2), N(2, 2)]),
    "einsum_list": (lambda L, a, b: L.einsum("i,i->", [a, b]), [N(4), N(4)]),
    # logical reductions and float tests
    "all": (lambda L, x: (x > -5).all(), [N(3, 4)]),
    "all_dim": (lambda L, x: L.all(x > 0, dim=1), [N(3, 4)]),
    "any_keepdim": (lambda L, x: (x > 1).any(0, keepdim=True), [N(3, 4)]),
    "any_float": (lambda L, x: L.any(x), [np.zeros(3)]),
    "isnan_isinf_isfinite": (lambda L, x: (x.log().isnan(), (x / 0).isinf(), L.isfinite(x.log())), [N(6)]),
    "isclose": (lambda L, a, b: L.isclose(a, a + b * 1e-6), [N(8), N(8)]),
    "isclose_tol": (lambda L, a, b: a.isclose(a + b * 1e-3, rtol=0, atol=1e-3), [N(8), N(8)]),
    "allclose": (lambda L, a, b: L.allclose(a, a + b * 1e-10), [N(8), N(8)]),
    "allclose_false": (lambda L, a, b: a.allclose(a + b), [N(8), N(8)]),
    # more math
    "floor_ceil_trunc": (lambda L, x: (x * 3).floor() + L.ceil(x * 3) * 2 + (x * 3).trunc() * 3, [N(3, 4)]),
    "round": (lambda L, x: L.round(x), [HALVES], {"gradcheck_": False}),  # at the jumps
    "round_decimals": (lambda L, x: x.round(decimals=1), [N(3, 4)]),
    "round_int": (lambda L, x: x.round(), [np.array([1, -2])]),
    "sign": (lambda L, x: x.sign() * x, [np.array([1.5, 0.0, -2.0])]),
    "sign_int": (lambda L, x: L.sign(x), [np.array([3, 0, -2])]),
    "log2": (lambda L, x: x.log2(), [P(3, 4)]),
    "log1p": (lambda L, x: L.log1p(x), [P(3, 4)]),
    "expm1": (lambda L, x: x.expm1(), [N(3, 4)]),
    "rsqrt": (lambda L, x: L.rsqrt(x), [P(3, 4)]),
    "reciprocal": (lambda L, x: x.reciprocal(), [P(3, 4)]),
    "square": (lambda L, x: L.square(x), [N(3, 4)]),
    "square_int": (lambda L, x: x.square(), [np.array([3, -2])]),
    "erf": (lambda L, x: x.erf(), [N(3, 4)]),
    "erf_fn": (lambda L, x: L.erf(x * 3), [N(5)]),
    # operators
    "remainder": (lambda L, a, b: a % b, [N(3, 4) * 3, P(3, 4) * np.sign(N(3, 4))]),
    "remainder_scalar": (lambda L, a: a % 1.5, [N(3, 4) * 3]),
    "rmod_scalar": (lambda L, a: 2.0 % a, [P(5)], {"grad": False}),  # torch: no derivative
    "remainder_int": (lambda L, a, b: a % b, [np.array([7, -7, 7, -7]), np.array([3, 3, -3, -3])]),
    "floordiv": (lambda L, a, b: a // b, [N(3, 4) * 3, P(3, 4)], {"grad": False}),
    "floordiv_int": (lambda L, a: a // 3, [np.array([7, -7, 0])]),
    "bitwise_bool": (lambda L, a, b: ((a > 0) & (b > 0), (a > 0) | (b > 0), (a > 0) ^ (b > 0), ~(a > 0)),
                     [N(6), N(6)]),
    "bitwise_int": (lambda L, a, b: (a & b, a | b, a ^ b, ~a, a & 6),
                    [np.array([5, 12, -3]), np.array([3, 10, 7])]),
    "compare_methods": (lambda L, a, b: (a.eq(b), a.ne(b), a.lt(b), a.le(b), a.gt(b), a.ge(0.0)),
                        [np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])]),
    "compare_functions": (lambda L, a, b: (L.eq(a, b), L.ne(a, b), L.lt(a, b), L.le(a, b), L.gt(a, b),
                                           L.ge(a, b)), [np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])]),
    # conversions
    "float_double_long_bool": (lambda L, x: (x.float().double(), x.long(), x.bool(), x.double()), [N(4) * 3],
                               {"gradcheck_": False}),  # finite differences through float32
    "int_values": (lambda L, x: x.int() * 2, [N(4) * 3]),
    "where_scalars": (lambda L, x: (L.where(x > 0, 1.0, 0.0), L.where(x > 0, 2, -1), L.where(x > 0, True, False)),
                      [N(5)]),
}


@pytest.mark.parametrize("name", CASES)
def test_against_torch(name, device):
    fn, arrays, *options = CASES[name]
    check(fn, arrays, device, **(options[0] if options else {}))


def test_type_and_conversions(device):
    x = gpugrad.tensor([1.5, -2.5], device=device)
    prefix = "gpugrad." if device == "cpu" else "gpugrad.cuda."
    assert x.type() == prefix + "FloatTensor" and x.long().type() == prefix + "LongTensor"
    assert x.type(gpugrad.float64).dtype == gpugrad.float64
    assert x.int().tolist() == [1, -2] and x.bool().dtype == gpugrad.bool


def test_int_cast_leaves_the_graph():
    x = gpugrad.tensor([1.5], requires_grad=True)
    assert not x.long().requires_grad and not x.int().requires_grad and x.double().requires_grad


@pytest.mark.parametrize("op", ["addcmul_", "addcdiv_", "lerp_", "sqrt_", "mul_"])
def test_inplace_math(op, device):
    rng = np.random.default_rng(3)
    a, b, c = rng.uniform(0.5, 2, (3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (4,))
    args = {"addcmul_": lambda L, t: (L(b), L(c)), "addcdiv_": lambda L, t: (L(b), L(c)),
            "lerp_": lambda L, t: (L(b), 0.3), "sqrt_": lambda L, t: (), "mul_": lambda L, t: (L(c),)}[op]
    kwargs = {"value": -0.5} if op in ("addcmul_", "addcdiv_") else {}
    g = gpugrad.tensor(a, device=device)
    t = torch.tensor(a)
    out = getattr(g, op)(*args(lambda v: gpugrad.tensor(v, device=device), g), **kwargs)
    getattr(t, op)(*args(torch.tensor, t), **kwargs)
    assert out is g
    np.testing.assert_allclose(g.cpu().numpy(), t.numpy(), rtol=1e-12)


def test_inplace_math_refuses_a_tensor_that_requires_grad():
    x = gpugrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="addcmul_"):
        x.addcmul_(x, x)
    with gpugrad.no_grad():
        x.addcmul_(gpugrad.ones(3), gpugrad.ones(3), value=2)
    assert x.tolist() == [3.0, 3.0, 3.0]


def test_lerp_tensor_weight():
    a, e, w = np.ones(3), np.arange(3.0), np.array([0.0, 0.5, 1.0])
    g = gpugrad.tensor(a).lerp_(gpugrad.tensor(e), gpugrad.tensor(w))
    np.testing.assert_allclose(g.numpy(), torch.tensor(a).lerp_(torch.tensor(e), torch.tensor(w)).numpy())


@pytest.mark.parametrize("call, err, match", [
    (lambda x: x.gather(1, gpugrad.tensor([[0.0]])), TypeError, "int64"),
    (lambda x: x.gather(1, gpugrad.tensor([0])), RuntimeError, "dims"),
    (lambda x: x.gather(1, gpugrad.tensor([[5]])), RuntimeError, "out of bounds"),
    (lambda x: x.gather(1, gpugrad.tensor([[-1]])), RuntimeError, "out of bounds"),
    (lambda x: x.scatter_add(0, gpugrad.tensor([[2]]), x), RuntimeError, "out of bounds"),
    (lambda x: x.topk(7), RuntimeError, "k"),
    (lambda x: x.repeat(2), RuntimeError, "repeat"),
    (lambda x: x.unfold(1, 9, 1), RuntimeError, "unfold"),
    (lambda x: x.masked_fill(x > 0, 1.0).masked_fill(gpugrad.tensor([1, 0]), 1.0), TypeError, "bool"),
    (lambda x: x & x, TypeError, "floating"),
    (lambda x: gpugrad.einsum("ij,jk->ik", x), RuntimeError, "operands"),
    (lambda x: gpugrad.einsum("ijk->i", x), RuntimeError, "dims"),
    (lambda x: x.unsqueeze(0).t(), RuntimeError, "2 dims"),
])
def test_errors(call, err, match):
    with pytest.raises(err, match=match):
        call(gpugrad.randn(2, 3))


def test_scatter_src_larger_than_index_gradient(device):
    """src's gradient is g gathered at index, zero outside index's window (torch raises here)."""
    x = gpugrad.randn(2, 4, dtype=gpugrad.float64, device=device, requires_grad=True)
    s = gpugrad.randn(2, 4, dtype=gpugrad.float64, device=device, requires_grad=True)
    i = gpugrad.tensor([[0, 3], [1, 2]], device=device)
    assert gpugrad.autograd.gradcheck(lambda x, s: x.scatter(1, i, s), (x, s))


# --- gradchecks on hypothesis-drawn shapes (broadcasting included), both devices ----------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from gpugrad.autograd import gradcheck, gradgradcheck  # noqa: E402

SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
F = gpugrad.nn.functional
UNARY = {  # name: (fn, input transform keeping away from domain edges and kinks)
    "log2": (lambda x: x.log2(), lambda a: np.abs(a) + 0.5),
    "log1p": (lambda x: x.log1p(), lambda a: np.abs(a)),
    "expm1": (lambda x: x.expm1(), lambda a: a),
    "rsqrt": (lambda x: x.rsqrt(), lambda a: np.abs(a) + 0.5),
    "reciprocal": (lambda x: x.reciprocal(), lambda a: np.abs(a) + 0.5),
    "square": (lambda x: x.square(), lambda a: a),
    "erf": (lambda x: x.erf(), lambda a: a),
    "silu": (F.silu, lambda a: a),
    "elu": (F.elu, lambda a: np.where(np.abs(a) < 0.05, 0.1, a)),
    "mish": (F.mish, lambda a: a),
    "hardswish": (F.hardswish, lambda a: a * 2 + 0.01),
    "relu6": (F.relu6, lambda a: np.where(np.abs(a) < 0.05, 0.1, a) * 2),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=SHAPES, seed=st.integers(0, 2**32 - 1))
def test_unary_gradcheck_random_shapes(name, shape, seed):
    fn, prep = UNARY[name]
    a = prep(np.random.default_rng(seed).standard_normal(shape))
    for device in ("cpu", "cuda"):
        assert gradcheck(fn, (gpugrad.tensor(a, device=device, requires_grad=True),))


@given(shapes=PAIRS, seed=st.integers(0, 2**32 - 1))
def test_remainder_gradcheck_broadcast(shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.1, 0.9, shapes.input_shapes[0]) + rng.integers(-3, 3, shapes.input_shapes[0])
    b = np.full(shapes.input_shapes[1], 1.0) * rng.choice([-1.0, 1.0])
    # away from the jumps of a % b: a stays off the multiples of b
    assert gradcheck(lambda a, b: a % b, (gpugrad.tensor(a, requires_grad=True), gpugrad.tensor(b, requires_grad=True)))


@given(shape=SHAPES, seed=st.integers(0, 2**32 - 1), data=st.data())
def test_dim_ops_gradcheck_random_shapes(shape, seed, data):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    a = rng.standard_normal(shape)
    idx = gpugrad.tensor(rng.integers(0, shape[dim], shape))
    for fn in (lambda x: x.cumsum(dim), lambda x: x.cumprod(dim), lambda x: x.flip(dim),
               lambda x: x.roll(1, dim), lambda x: x.sort(dim)[0], lambda x: x.gather(dim, idx),
               lambda x: x.scatter_add(dim, idx, x * 2), lambda x: x.repeat(*([2] * len(shape)))):
        assert gradcheck(fn, (gpugrad.tensor(a, requires_grad=True),))


@pytest.mark.parametrize("fn, shapes", [
    (lambda a, b: gpugrad.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)]),
    (lambda a, b: (a.cumsum(1) * b).cumprod(0), [(3, 2), (3, 2)]),
    (lambda a, b: a.gather(1, gpugrad.tensor([[1, 0], [2, 2]])) * b, [(2, 3), (2, 2)]),
    (lambda a, b: gpugrad.nn.functional.layer_norm(a * b, (3,)), [(2, 3), (3,)]),
    (lambda a, b: gpugrad.nn.functional.silu(a) * b.erf(), [(2, 3), (2, 3)]),
], ids=["einsum", "cumsum_cumprod", "gather", "layer_norm", "silu_erf"])
def test_second_derivatives(fn, shapes):
    rng = np.random.default_rng(11)
    xs = [gpugrad.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert gradgradcheck(fn, xs)
