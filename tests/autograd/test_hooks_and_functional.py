"""Autograd surface of PyTorch's API against torch: tensor hooks, post-accumulate hooks,
retains_grad, backward(inputs=), inference_mode, grad_fn.next_functions / name(), and
autograd.functional.jacobian / hessian."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad  # noqa: E402

X = np.array([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7]])
W = np.array([0.2, -0.4, 1.1])


def _graph(lib, device="cpu"):
    kw = {"device": device} if lib is gpugrad else {}
    x = lib.tensor(X, requires_grad=True, **kw)
    w = lib.tensor(W, requires_grad=True, **kw)
    h = (x * w).tanh()
    return x, w, h


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, gpugrad.Tensor) else t.detach().numpy()


def test_tensor_hooks_match_torch(device):
    results = []
    for lib in (gpugrad, torch):
        x, w, h = _graph(lib, device)
        seen = []
        h.register_hook(lambda g: seen.append(_np(g)) or g * 2)       # non-leaf: doubles what flows on
        h.retain_grad()
        w.register_hook(lambda g: g + 1)                               # leaf: changes what accumulates
        handle = x.register_hook(lambda g: g * 0)
        handle.remove()
        (h * h).sum().backward()
        results.append((seen[0], _np(h.grad), _np(w.grad), _np(x.grad)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_post_accumulate_grad_hook_and_retains_grad(device):
    for lib in (gpugrad, torch):
        x, w, h = _graph(lib, device)
        calls = []
        w.register_post_accumulate_grad_hook(lambda p: calls.append(_np(p.grad).copy()))
        assert not h.retains_grad and not x.retains_grad
        h.retain_grad()
        assert h.retains_grad
        h.sum().backward(retain_graph=True)
        h.sum().backward()
        assert len(calls) == 2
        np.testing.assert_allclose(calls[1], 2 * calls[0])
        with pytest.raises(RuntimeError):
            h.register_post_accumulate_grad_hook(lambda p: None)


def test_backward_inputs_matches_torch(device):
    results = []
    for lib in (gpugrad, torch):
        x, w, h = _graph(lib, device)
        h.retain_grad()
        mid = h * 3
        (mid * mid).sum().backward(inputs=[w])
        first = (x.grad, _np(w.grad))
        x2, w2, h2 = _graph(lib, device)
        m2 = h2 * 3
        lib.autograd.backward((m2 * m2).sum(), inputs=[m2])
        results.append((first[0] is None, first[1], w2.grad is None, _np(m2.grad)))
    (a_none, a_w, a_w2, a_m), (b_none, b_w, b_w2, b_m) = results
    assert a_none and b_none and a_w2 and b_w2
    np.testing.assert_allclose(a_w, b_w, rtol=1e-12)
    np.testing.assert_allclose(a_m, b_m, rtol=1e-12)


def test_inference_mode():
    x = gpugrad.ones(2, requires_grad=True)
    with gpugrad.inference_mode():
        assert gpugrad.is_inference_mode_enabled() and not gpugrad.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert not gpugrad.is_inference_mode_enabled() and (x * 2).requires_grad
    with gpugrad.inference_mode(False):
        assert (x * 2).requires_grad

    @gpugrad.inference_mode
    def bare(t):
        return t * 2

    @gpugrad.inference_mode()
    def called(t):
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad


def test_next_functions_and_name():
    for lib in (gpugrad, torch):
        x, w, h = _graph(lib)
        y = (h * 2).sum()
        assert y.grad_fn.name().startswith("SumBackward")
        (mul, _), = y.grad_fn.next_functions
        assert mul.name().startswith("MulBackward")
        (tanh, _), second = mul.next_functions
        assert second[0] is None  # the constant 2 needs no gradient
        (inner, _), = tanh.next_functions
        leaves = [f.variable for f, _ in inner.next_functions]
        assert leaves[0] is x and leaves[1] is w


def _f(L):
    return lambda x, w: ((x * w).tanh() * x).sum(1)


def test_jacobian_matches_torch(device):
    gx, gw = gpugrad.tensor(X, device=device), gpugrad.tensor(W, device=device)
    tx, tw = torch.tensor(X), torch.tensor(W)
    ours = gpugrad.autograd.functional.jacobian(_f(gpugrad), (gx, gw))
    theirs = torch.autograd.functional.jacobian(_f(torch), (tx, tw))
    for a, b in zip(ours, theirs):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-12)
    one = gpugrad.autograd.functional.jacobian(lambda x: x.exp() * 2, gx)
    np.testing.assert_allclose(_np(one), torch.autograd.functional.jacobian(lambda x: x.exp() * 2, tx).numpy())
    unused = gpugrad.autograd.functional.jacobian(lambda x, w: x.sum(0), (gx, gw))
    assert unused[1].shape == (3, 3) and not np.any(_np(unused[1]))
    with pytest.raises(RuntimeError, match="does not depend"):
        gpugrad.autograd.functional.jacobian(lambda x, w: x.sum(0), (gx, gw), strict=True)


def test_hessian_matches_torch(device):
    f = lambda L: lambda x, w: ((x * w).sin() * x).sum()  # noqa: E731
    gx, gw = gpugrad.tensor(X, device=device), gpugrad.tensor(W, device=device)
    ours = gpugrad.autograd.functional.hessian(f(gpugrad), (gx, gw))
    theirs = torch.autograd.functional.hessian(f(torch), (torch.tensor(X), torch.tensor(W)))
    for row_a, row_b in zip(ours, theirs):
        for a, b in zip(row_a, row_b):
            assert a.shape == tuple(b.shape)
            np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-10, atol=1e-12)
    single = gpugrad.autograd.functional.hessian(lambda x: (x ** 3).sum(), gpugrad.tensor(W))
    np.testing.assert_allclose(single.numpy(), np.diag(6 * W))
