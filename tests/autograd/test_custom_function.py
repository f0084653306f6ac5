"""Custom autograd.Function as PyTorch's docs write it, against torch, on cpu and simulated cuda.

Each Function below is defined once per library from the same source (`lib` is torch or
gpugrad), so the same code runs on both; values and gradients must agree, and the gradients
pass a float64 gradcheck (and gradgradcheck where backward is differentiable).
"""
import importlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad  # noqa: E402


def _functions(lib):
    Function = lib.autograd.Function
    once_differentiable = importlib.import_module(lib.__name__ + ".autograd.function").once_differentiable

    class Exp(Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result

    class LinearFunction(Function):
        @staticmethod
        def forward(input, weight, bias):
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def setup_context(ctx, inputs, output):
            input, weight, bias = inputs
            ctx.save_for_backward(input, weight, bias)

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    class MulConstant(Function):
        @staticmethod
        def forward(tensor, constant):
            return tensor * constant

        @staticmethod
        def setup_context(ctx, inputs, output):
            tensor, constant = inputs
            ctx.constant = constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    class Sort(Function):
        @staticmethod
        def forward(ctx, x):
            values, idx = x.sort(dim=-1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return values, idx

        @staticmethod
        @once_differentiable
        def backward(ctx, g_values, g_idx):
            x, idx = ctx.saved_tensors
            return lib.zeros_like(x).scatter(-1, idx, g_values)

    class MyCube(Function):  # two differentiable outputs (the docs' double-backward tutorial)
        @staticmethod
        def forward(x):
            dx = 3 * x ** 2
            return x ** 3, dx

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            result, dx = output
            ctx.save_for_backward(x, dx)

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x

    return dict(Exp=Exp, LinearFunction=LinearFunction, MulConstant=MulConstant, Sort=Sort, MyCube=MyCube)


OURS, THEIRS = _functions(gpugrad), _functions(torch)
RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
W = RNG.standard_normal((5, 3))
B = RNG.standard_normal(5)

CASES = {  # name: (inputs as arrays or plain values, which ones require grad)
    "Exp": ((X,), (True,)),
    "LinearFunction": ((X, W, B), (True, True, True)),
    "LinearFunction-no-bias": ((X, W, None), (True, True, False)),
    "LinearFunction-weight-only": ((X, W, B), (False, True, False)),
    "MulConstant": ((X, 2.5), (True, False)),
    "Sort": ((X,), (True,)),
    "MyCube": ((X,), (True,)),
}


def _inputs(lib, case, device):
    args, grads = CASES[case]
    kw = {"device": device} if lib is gpugrad else {}
    return [lib.tensor(a, dtype=lib.float64, requires_grad=g, **kw) if isinstance(a, np.ndarray) else a
            for a, g in zip(args, grads)]


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _run(lib, fns, case, device):
    fn = fns[case.split("-")[0]]
    args = _inputs(lib, case, device)
    outs = fn.apply(*args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    diff = [o for o in outs if o.requires_grad]
    loss = sum((o * (k + 1.5)).sin().sum() for k, o in enumerate(diff))
    loss.backward()
    return [_np(o) for o in outs], [o.requires_grad for o in outs], [
        _np(a.grad) if isinstance(a, (gpugrad.Tensor, torch.Tensor)) else None for a in args]


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_match_torch(case, device):
    outs, req, grads = _run(gpugrad, OURS, case, device)
    t_outs, t_req, t_grads = _run(torch, THEIRS, case, "cpu")
    assert req == t_req
    for ours, theirs in zip(outs + grads, t_outs + t_grads):
        if theirs is None:
            assert ours is None
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_gradcheck(case, device):
    fn = OURS[case.split("-")[0]]
    args = _inputs(gpugrad, case, device)
    assert gpugrad.autograd.gradcheck(fn.apply, args)
    if case in ("Exp", "LinearFunction", "LinearFunction-no-bias", "MyCube"):  # gradient varies with x
        assert gpugrad.autograd.gradgradcheck(fn.apply, args)


def test_double_backward_matches_torch(device):
    results = []
    for lib, fns in ((gpugrad, OURS), (torch, THEIRS)):
        x, = _inputs(lib, "Exp", device if lib is gpugrad else "cpu")
        y, dy = fns["MyCube"].apply(x)
        g, = lib.autograd.grad((fns["Exp"].apply(y) + dy).sum(), x, create_graph=True)
        g.sum().backward()
        results.append((_np(g), _np(x.grad)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_once_differentiable_refuses_double_backward(device):
    x, = _inputs(gpugrad, "Sort", device)
    values, idx = OURS["Sort"].apply(x)
    assert not idx.requires_grad and idx.dtype == gpugrad.int64
    g, = gpugrad.autograd.grad(values.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="SortBackward: double backward"):
        g.sum().backward()


def test_grad_fn_name_and_next_functions(device):
    x, w, b = _inputs(gpugrad, "LinearFunction", device)
    out = OURS["LinearFunction"].apply(x.exp(), w, b)
    assert out.grad_fn.name() == "LinearFunctionBackward" == out.grad_fn.name
    (e, _), (acc_w, _), (acc_b, _) = out.grad_fn.next_functions
    assert e.name() == "ExpBackward" and acc_w.variable is w and acc_b.variable is b


def test_materialize_grads_and_needs_input_grad(device):
    seen = {}

    class Two(gpugrad.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, materialize):
            ctx.set_materialize_grads(materialize)
            seen["forward"] = ctx.needs_input_grad
            return x * 2, y * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen["grads"] = (ga, gb)
            return (None if ga is None else ga * 2), (None if gb is None else gb * 3), None

    x = gpugrad.ones(2, requires_grad=True, device=device)
    y = gpugrad.ones(2, device=device)
    a, b = Two.apply(x, y, True)
    assert a.requires_grad and b.requires_grad and seen["forward"] == (True, False, False)  # as torch
    a.sum().backward()
    assert seen["grads"][1].tolist() == [0.0, 0.0]  # b got no gradient: zeros
    y.requires_grad_()
    a, b = Two.apply(x, y, False)
    b.sum().backward()
    assert seen["grads"][0] is None and y.grad.tolist() == [3.0, 3.0]


def test_errors_match_torch(device):
    class TooMany(gpugrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    x = gpugrad.ones(2, requires_grad=True, device=device)
    with pytest.raises(RuntimeError,
                       match=r"TooManyBackward returned an incorrect number of gradients \(expected 1, got 2\)"):
        TooMany.apply(x).sum().backward()

    class GradForConstant(gpugrad.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    with pytest.raises(RuntimeError, match="different than None at position 2, but the corresponding forward input"):
        GradForConstant.apply(x, 2.0).sum().backward()

    class SavesANumber(gpugrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 3

    with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument 1 is of type int"):
        SavesANumber.apply(x)

    class Saves(gpugrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * 2

    a = gpugrad.ones(2, requires_grad=True, device=device).clone()
    out = Saves.apply(a)
    with gpugrad.no_grad():
        a.add_(1)
    with pytest.raises(RuntimeError, match="SavesBackward: a tensor of shape .* modified by an in-place"):
        out.sum().backward()
    with pytest.raises(RuntimeError, match="expected all tensors on one device"):
        OURS["LinearFunction"].apply(gpugrad.ones(1, 3), gpugrad.ones(2, 3, device="cuda"), None)


def test_without_grad_no_graph_is_recorded(device):
    x, = _inputs(gpugrad, "Exp", device)
    with gpugrad.no_grad():
        y = OURS["Exp"].apply(x)
    assert y.grad_fn is None and not y.requires_grad
    z = OURS["MulConstant"].apply(x.detach(), 2.0)
    assert z.grad_fn is None


def test_hooks_and_retain_grad_on_each_of_several_outputs(device):
    results = []
    for lib, fns in ((gpugrad, OURS), (torch, THEIRS)):
        x, = _inputs(lib, "Exp", device if lib is gpugrad else "cpu")
        y, dy = fns["MyCube"].apply(x)
        seen = []
        dy.register_hook(lambda g: seen.append(_np(g)) or g * 3)
        y.retain_grad()
        (y.sin().sum() + (dy * dy).sum()).backward()
        g_y, = lib.autograd.grad(fns["MyCube"].apply(x)[0].sum(), x)
        results.append((seen[0], _np(y.grad), _np(x.grad), _np(g_y)))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
