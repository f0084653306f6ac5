"""cross_entropy at the edges: -inf logits (masking), double backward, targets on another device.

Values come from PyTorch when it is installed (the -inf cases are where a formula that
multiplies the smoothing term by 0 gives NaN), on the CPU kernel, the simulated/real CUDA
kernel and the plain reference.
"""
import numpy as np
import pytest

import gpugrad
import gpugrad.nn.functional as F
from gpugrad.autograd import gradcheck, gradgradcheck
from gpugrad.backends.cpu.reference import softmax_xent_bwd_ref, softmax_xent_fwd_ref

NEG_INF = float("-inf")


def _masked_logits(rng, n, k):
    """Random logits with -inf at about a third of the non-target places (attention-style masks)."""
    x = rng.standard_normal((n, k))
    target = rng.integers(0, k, n)
    mask = rng.random((n, k)) < 0.35
    mask[np.arange(n), target] = False
    x[mask] = NEG_INF
    return x, target


def _torch_loss_and_grad(x, target, label_smoothing, reduction="none"):
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tx, torch.tensor(target), label_smoothing=label_smoothing,
                                             reduction=reduction)
    loss.sum().backward()
    return loss.detach().numpy(), tx.grad.numpy()


def _ours(x, target, label_smoothing, device, reduction="none"):
    tx = gpugrad.tensor(x, device=device, requires_grad=True)
    loss = F.cross_entropy(tx, gpugrad.tensor(target, device=device), label_smoothing=label_smoothing,
                           reduction=reduction)
    loss.sum().backward()
    return loss.detach().cpu().numpy(), tx.grad.cpu().numpy()


@pytest.mark.parametrize("k", [3, 300])  # 300 classes: several per CUDA thread, lanes with only -inf
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_minus_inf_on_other_classes_matches_torch(device, rng, k, label_smoothing):
    x, target = _masked_logits(rng, 6, k)
    want_loss, want_grad = _torch_loss_and_grad(x, target, label_smoothing)
    assert np.isfinite(want_loss).all() == (label_smoothing == 0)  # the case is the one meant
    loss, grad = _ours(x, target, label_smoothing, device)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-10)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-12)
    ref_loss, lse = softmax_xent_fwd_ref(x, target, -100, label_smoothing)
    np.testing.assert_allclose(ref_loss, want_loss, rtol=1e-10)
    np.testing.assert_allclose(softmax_xent_bwd_ref(x, target, lse, np.ones(6), -100, label_smoothing),
                               want_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
def test_minus_inf_at_the_target_matches_torch(device, label_smoothing):
    x = np.array([[0.0, 1.0, NEG_INF], [2.0, NEG_INF, 0.5]])
    target = np.array([2, 0])
    want_loss, want_grad = _torch_loss_and_grad(x, target, label_smoothing)
    loss, grad = _ours(x, target, label_smoothing, device)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-10)  # inf (and NaN where PyTorch has it)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-12)


def test_masked_mean_loss_is_finite(device):
    x = np.array([[0.0, 1.0, NEG_INF]])
    loss, grad = _ours(x, np.array([0]), 0.0, device, reduction="mean")
    assert np.isfinite(loss) and np.isfinite(grad).all()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_double_backward(device, rng, label_smoothing):
    """Second derivatives through cross_entropy (ignored rows and (N, C, d) input included)."""
    x = gpugrad.tensor(rng.standard_normal((4, 5)), device=device, requires_grad=True)
    t = gpugrad.tensor([1, -100, 4, 0], device=device)
    assert gradgradcheck(lambda x: F.cross_entropy(x, t, label_smoothing=label_smoothing), (x,))
    x3 = gpugrad.tensor(rng.standard_normal((2, 3, 4)), device=device, requires_grad=True)
    t3 = gpugrad.tensor(rng.integers(0, 3, (2, 4)), device=device)
    fn = lambda x: F.cross_entropy(x, t3, reduction="none", label_smoothing=label_smoothing)  # noqa: E731
    assert gradcheck(fn, (x3,))
    assert gradgradcheck(fn, (x3,))


def test_double_backward_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, target = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    tx = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(tx, torch.tensor(target)), tx,
                               create_graph=True)
    (g * g).sum().backward()
    ours = gpugrad.tensor(x, requires_grad=True)
    (h,) = gpugrad.autograd.grad(F.cross_entropy(ours, gpugrad.tensor(target)), ours, create_graph=True)
    (h * h).sum().backward()
    np.testing.assert_allclose(h.detach().numpy(), g.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_target_on_another_device_is_refused(loss):
    x = gpugrad.randn(3, 4, device="cuda")
    with pytest.raises(RuntimeError, match=r"expected all tensors on one device, got cuda:0 and cpu"):
        loss(x, gpugrad.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match=r"got cpu and cuda:0"):
        loss(x.cpu(), gpugrad.tensor([0, 1, 2], device="cuda"))
