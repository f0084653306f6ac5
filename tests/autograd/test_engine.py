"""The engine: graph shapes, retain_graph, grad modes, higher derivatives, version counter."""
import sys

import numpy as np
import pytest

import gpugrad
from gpugrad import autograd


def test_diamond_accumulates():
    x = gpugrad.tensor(3.0, requires_grad=True)
    a, b = x * 2, x * x
    (a * b + a + b).backward()      # f = 2x³ + 2x + x², f' = 6x² + 2 + 2x
    assert x.grad.item() == pytest.approx(6 * 9 + 2 + 6)


def test_tensor_used_many_times_and_broadcast():
    x = gpugrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = gpugrad.ones(4, 3)
    ((m * x) + x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 12.0, 12.0])  # 4 rows, three uses


def test_deep_chain_has_no_recursion():
    x = gpugrad.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk of 10k nodes would fail at once
    try:
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000)


def test_second_backward_through_freed_graph_raises():
    x = gpugrad.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = gpugrad.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0


def test_non_scalar_backward_needs_gradient():
    x = gpugrad.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2, 3\)"):
        (x * 2).backward()
    (x * 2).backward(gpugrad.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


def test_backward_gradient_shape_checked():
    x = gpugrad.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2).backward(gpugrad.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gpugrad.ones(2).sum().backward()


def test_no_grad_and_enable_grad():
    x = gpugrad.ones(2, requires_grad=True)
    with gpugrad.no_grad():
        y = x * 2
        with gpugrad.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @gpugrad.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad
    assert gpugrad.is_grad_enabled()


def test_detach_cuts_graph_and_shares_storage():
    x = gpugrad.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad
    (y * d).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0, 4.0])  # d is a constant


def test_leaf_and_retain_grad():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = (y * y).sum()
    z.backward()
    assert x.is_leaf and not y.is_leaf
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 12.0])
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])


def test_grad_accumulates_over_backward_calls():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])


def test_leaf_grads_do_not_alias():
    a = gpugrad.ones(3, requires_grad=True)
    b = gpugrad.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(5)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


def test_autograd_grad_leaves_dot_grad_alone():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    w = gpugrad.tensor([3.0, 4.0], requires_grad=True)
    (gx,) = autograd.grad((x * w).sum(), x)
    np.testing.assert_array_equal(gx.numpy(), [3.0, 4.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_non_leaf_and_unused():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    u = gpugrad.ones(2, requires_grad=True)
    gy, gu = autograd.grad((y * y).sum(), [y, u], allow_unused=True)
    np.testing.assert_array_equal(gy.numpy(), [4.0, 8.0])
    assert gu is None
    with pytest.raises(RuntimeError, match="allow_unused"):
        autograd.grad((x * 2).sum(), [x, u])


def test_second_and_third_derivatives_match_analytic():
    x = gpugrad.tensor([0.3, -1.2, 2.0], dtype="float64", requires_grad=True)
    y = (x ** 3 + x.sin()).sum()
    (g,) = autograd.grad(y, x, create_graph=True)
    (gg,) = autograd.grad(g.sum(), x, create_graph=True)
    (ggg,) = autograd.grad(gg.sum(), x)
    a = x.detach().numpy()
    np.testing.assert_allclose(g.detach().numpy(), 3 * a ** 2 + np.cos(a))
    np.testing.assert_allclose(gg.detach().numpy(), 6 * a - np.sin(a))
    np.testing.assert_allclose(ggg.numpy(), 6 - np.cos(a))


def test_backward_create_graph_builds_graph_of_grad():
    x = gpugrad.tensor(1.5, dtype="float64", requires_grad=True)
    (x.tanh() * x).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.backward()
    t = np.tanh(1.5)
    assert x.grad.item() == pytest.approx(2 * (1 - t * t) - 2 * 1.5 * t * (1 - t * t))


def test_matmul_second_derivative():
    a = gpugrad.randn(3, 4, dtype="float64", requires_grad=True)
    b = gpugrad.randn(4, 2, dtype="float64", requires_grad=True)
    (ga,) = autograd.grad((a @ b).pow(2).sum(), a, create_graph=True)
    (gb,) = autograd.grad(ga.sum(), b)
    # d/dB sum_ij 2 (AB)_ij... computed by hand: ga = 2 (A B) Bᵀ, so d(sum ga)/dB = 2 (Aᵀ 1 Bᵀ... )
    A, B = a.detach().numpy(), b.detach().numpy()
    ones = np.ones((3, 4))
    expected = 2 * (A.T @ ones @ B) + 2 * (ones.T @ (A @ B))
    np.testing.assert_allclose(gb.numpy(), expected, rtol=1e-10)


def test_in_place_change_of_saved_tensor_detected():
    x = gpugrad.ones(3, requires_grad=True)
    y = x * 2
    z = y * y                   # saves y
    with gpugrad.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match=r"MulBackward.*\(3,\).*in-place.*version 0 -> 1"):
        z.sum().backward()


def test_in_place_through_a_view_detected():
    base = gpugrad.ones(2, 3)
    w = gpugrad.ones(3, requires_grad=True)
    row = base[0]
    out = (w * base).sum()       # saves base
    row.fill_(5.0)               # modifies base through the view
    with pytest.raises(RuntimeError, match="in-place"):
        out.backward()


def _op_keeping_an_array(op):
    """(out, kept): the output of `op` on a fresh x and the index/condition tensor it keeps."""
    import gpugrad.nn.functional as F
    x = gpugrad.tensor(np.random.default_rng(0).standard_normal((1, 1, 4, 6)), requires_grad=True)
    if op == "getitem":
        kept = gpugrad.tensor([0, 0])
        return x[kept], kept
    if op == "max":
        return x.max(3)
    if op == "max_pool2d":
        return F.max_pool2d(x, 2, return_indices=True)
    kept = x.detach() > 0
    return gpugrad.where(kept, x, 2 * x), kept


@pytest.mark.parametrize("op", ["getitem", "max", "max_pool2d", "where"])
def test_in_place_change_of_saved_indices_or_condition_detected(op):
    """Indices and conditions kept for backward are checked like any saved tensor."""
    out, kept = _op_keeping_an_array(op)
    assert not kept.requires_grad
    out.sum().backward(retain_graph=True)  # unchanged: fine
    flat = kept.reshape(-1)  # a view: it shares kept's version counter
    flat[0] = flat[1]
    with pytest.raises(RuntimeError, match="in-place"):
        out.sum().backward()


@pytest.mark.parametrize("op", ["getitem", "max", "max_pool2d", "where"])
def test_arrays_kept_for_backward_are_freed_after_it(op):
    import gc
    import weakref
    out, kept = _op_keeping_an_array(op)
    alive = weakref.ref(kept._data)
    del kept
    out.sum().backward()
    gc.collect()
    assert alive() is None and out.grad_fn is not None


def test_extra_outputs_must_be_declared_non_differentiable():
    class TwoOutputs(autograd.Function):
        _on_arrays = True  # the path of gpugrad's own ops

        @staticmethod
        def forward(ctx, x, mark):
            mask = x > 0
            if mark:
                ctx.mark_non_differentiable(mask)
            return x * 2, mask

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = gpugrad.ones(3, requires_grad=True)
    out, mask = TwoOutputs.apply(x, mark=True)
    assert out.requires_grad and not mask.requires_grad
    with pytest.raises(RuntimeError, match="TwoOutputs.forward returned 2 outputs.*mark_non_differentiable"):
        TwoOutputs.apply(x, mark=False)

    class MarksItsOutput(autograd.Function):
        _on_arrays = True

        @staticmethod
        def forward(ctx, x):
            out = x * 2
            ctx.mark_non_differentiable(out)
            return out

    with pytest.raises(RuntimeError, match="MarksItsOutput.forward marked its first output.*differentiable = False"):
        MarksItsOutput.apply(x)


def test_in_place_on_tensor_requiring_grad_refused():
    x = gpugrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_.*no_grad"):
        x.add_(1)
    with gpugrad.no_grad():
        x.sub_(0.5)              # parameter updates are fine under no_grad
    np.testing.assert_array_equal(x.detach().numpy(), [0.5, 0.5, 0.5])


def test_setitem_and_inplace_values():
    x = gpugrad.zeros(2, 3)
    x[0, 1] = 4.0
    x[1] = gpugrad.tensor([1.0, 2.0, 3.0])
    x.mul_(2).add_(1, alpha=0.5)
    np.testing.assert_array_equal(x.numpy(), [[0.5, 8.5, 0.5], [2.5, 4.5, 6.5]])
    with pytest.raises(TypeError, match="int64"):
        gpugrad.zeros(2, dtype="int64").add_(0.5)


def test_custom_function_and_needs_input_grad():
    calls = []

    class Scale(autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            calls.append(ctx.needs_input_grad)
            x, y = ctx.saved_tensors
            return g * y if ctx.needs_input_grad[0] else None, g * x if ctx.needs_input_grad[1] else None

    x = gpugrad.ones(2, requires_grad=True)
    y = gpugrad.full((2,), 3.0)
    Scale.apply(x, y).sum().backward()
    assert calls == [(True, False)]
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_once_differentiable_refuses_double_backward():
    class Square(autograd.Function):
        _on_arrays = True
        once_differentiable = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_arrays
            return g._data * 2 * x

    x = gpugrad.randn(3, requires_grad=True)
    (g,) = autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="SquareBackward: double backward"):
        g.sum().backward()


def test_value_front_end_uses_same_engine():
    a, b = gpugrad.Value(-4.0), gpugrad.Value(2.0)
    c = a * b + b ** 3
    d = (c * 2 + (b + a).relu()).tanh() + (a * a).exp().log()
    d.backward()
    assert isinstance(a.grad, float) and isinstance(d.data, float)
    assert a.t.grad_fn is None and d.t.grad_fn is not None
