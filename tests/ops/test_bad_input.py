"""Bad input gets one clear error, never a wrong answer: casts, overflow, devices, views, options."""
import math

import numpy as np
import pytest

import gpugrad
import gpugrad.nn.functional as F
from gpugrad import optim

NAN = float("nan")


# ---- casts to int or bool are not differentiable ---------------------------------------------
@pytest.mark.parametrize("cast", ["long", "bool"])
def test_int_and_bool_casts_never_require_grad(device, cast):
    x = gpugrad.randn(3, device=device, requires_grad=True)
    y = getattr(x, cast)()
    assert not y.requires_grad and y.grad_fn is None
    assert not y.float().requires_grad  # the graph is cut, as in PyTorch
    with pytest.raises(RuntimeError):
        y.sum().backward()
    assert x.grad is None


def test_float_casts_keep_the_graph(device):
    x = gpugrad.randn(3, device=device, requires_grad=True)
    x.double().sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), np.ones(3))


# ---- integers beyond int64 -------------------------------------------------------------------
@pytest.mark.parametrize("data", [[2 ** 63], 2 ** 63, [2 ** 64 - 1], [-2 ** 63 - 1], [2 ** 64],
                                  [[1], [2 ** 63]], [True, 2 ** 63]])
def test_integers_beyond_int64_raise(data):
    with pytest.raises(ValueError, match="does not fit in int64"):
        gpugrad.tensor(data)
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):  # PyTorch raises ValueError too
        torch.tensor(data)


def test_uint64_arrays_beyond_int64_raise():
    with pytest.raises(ValueError, match="uint64 value 18446744073709551615"):
        gpugrad.tensor(np.array([1, 2 ** 64 - 1], dtype=np.uint64))
    assert gpugrad.tensor(np.array([5], dtype=np.uint64)).tolist() == [5]


@pytest.mark.parametrize("data, dtype, want", [
    ([2 ** 63 - 1, -2 ** 63], None, [2 ** 63 - 1, -2 ** 63]),
    ([2 ** 63], "float64", [2.0 ** 63]),
    ([1.5, 2 ** 63], None, [1.5, 2.0 ** 63]),
])
def test_integers_in_range_or_made_float_are_kept(data, dtype, want):
    assert gpugrad.tensor(data, dtype=dtype).tolist() == want


# ---- device mixing -------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda p: optim.SGD([p], lr=0.1), lambda p: optim.AdamW([p])])
def test_optimizer_step_refuses_a_grad_on_another_device(make):
    p = gpugrad.nn.Parameter(gpugrad.zeros(3))
    opt = make(p)
    p.grad = gpugrad.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match=r"shape \(3,\) and its grad.*got cpu and cuda:0"):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), np.zeros(3))


def test_function_checks_tensor_keyword_arguments():
    class Masked(gpugrad.autograd.Function):
        @staticmethod
        def forward(ctx, x, mask):
            return x * mask

    x, mask = gpugrad.ones(2), gpugrad.tensor([1.0, 0.0], device="cuda")
    with pytest.raises(RuntimeError, match="masked: expected all tensors on one device, got cpu and cuda:0"):
        Masked.apply(x, mask=mask)
    assert Masked.apply(x, mask=mask.cpu()).tolist() == [1.0, 0.0]


# ---- view ------------------------------------------------------------------------------------
def test_view_of_a_transpose_raises_like_torch(device):
    x = gpugrad.arange(6.0, device=device).reshape(2, 3).T
    with pytest.raises(RuntimeError, match=r"view: .*use \.reshape\(\.\.\.\) instead"):
        x.view(6)
    with pytest.raises(RuntimeError, match="reshape"):
        x.view_as(gpugrad.zeros(6))
    assert x.reshape(6).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


def _strided_cases(rng, n):
    """Random permuted/sliced tensors and random target shapes of the same element count."""
    for _ in range(n):
        shape = tuple(int(s) for s in rng.integers(1, 4, rng.integers(1, 5)))
        perm = tuple(int(p) for p in rng.permutation(len(shape)))
        cut = int(rng.integers(0, len(shape))) if rng.random() < 0.3 else None
        count = int(np.prod(shape))
        if cut is not None and shape[perm[cut]] > 1:
            count = count // shape[perm[cut]] * (shape[perm[cut]] - 1)
        sizes, left = [], count
        for f in rng.permutation([1, 2, 3, 4, 6])[:rng.integers(0, 4)]:
            if left % f == 0:
                sizes.append(int(f))
                left //= int(f)
        yield shape, perm, cut, tuple(sizes) + (left,)


def test_view_follows_torch_rule_and_shares_memory(device, rng):
    """Where PyTorch's view works ours does and writes go through; where it raises, ours does."""
    torch = pytest.importorskip("torch")
    for shape, perm, cut, new in _strided_cases(rng, 300):
        t = torch.arange(float(np.prod(shape))).reshape(shape).permute(perm)
        x = gpugrad.arange(float(np.prod(shape)), device=device).reshape(shape).permute(*perm)
        if cut is not None and t.shape[cut] > 1:
            t, x = t.narrow(cut, 0, t.shape[cut] - 1), x[(slice(None),) * cut + (slice(0, x.shape[cut] - 1),)]
        try:
            want = t.view(new)
        except RuntimeError:
            with pytest.raises(RuntimeError, match="reshape"):
                x.view(new)
            continue
        v = x.view(new)
        np.testing.assert_array_equal(v.cpu().numpy(), want.numpy())
        v.fill_(-1.0)
        assert (x.cpu().numpy() == -1.0).all(), f"view of {shape} permuted {perm} as {new} copied"


# ---- optimizer and batch_norm options ------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda p: optim.AdamW(p, lr=NAN), "Invalid learning rate: nan"),
    (lambda p: optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.SGD(p, lr=math.inf), "Invalid learning rate: inf"),
    (lambda p: optim.AdamW(p, weight_decay=NAN), "Invalid weight_decay value: nan"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=NAN), "Invalid momentum value: nan"),
    (lambda p: optim.Adam(p, eps=NAN), "Invalid epsilon value: nan"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.Adam(p, betas=(NAN, 0.9)), "Invalid beta parameter at index 0: nan"),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (lambda p: optim.SGD([{"params": p, "lr": NAN}], lr=0.1), "Invalid learning rate: nan"),
])
def test_optimizer_options_are_checked(make, message):
    with pytest.raises(ValueError, match=f"^{message}$".replace("(", r"\(").replace(".", r"\.")):
        make([gpugrad.nn.Parameter(gpugrad.zeros(2))])


@pytest.mark.parametrize("eps", [0.0, -1e-5, NAN])
def test_batch_norm_eps_must_be_positive_in_training(device, eps):
    x = gpugrad.randn(4, 3, device=device)
    with pytest.raises(ValueError, match="eps must be positive during training"):
        F.batch_norm(x, None, None, training=True, eps=eps)
    with pytest.raises(ValueError, match="eps must be positive"):
        gpugrad.nn.BatchNorm1d(3, eps=eps).to(device)(x)
