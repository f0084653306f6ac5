"""The NumPy references agree with PyTorch, so the kernel tests compare against the truth."""

import numpy as np
import pytest

import kernel_reference as ref

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_conv_references_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 8, 7))
    w = rng.standard_normal((6, 2, 3, 2))
    geo = dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1))
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    ty = F.conv2d(tx, tw, groups=2, **geo)
    gy = rng.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(ref.conv2d(x, w, groups=2, **geo), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ref.conv_wgrad(x, gy, 3, 2, groups=2, **geo), tw.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ref.conv_dgrad(gy, w, x.shape, groups=2, **geo), tx.grad.numpy(), atol=1e-12)
    cols = F.unfold(tx.detach(), (3, 2), **geo).numpy()
    np.testing.assert_allclose(ref.im2col(x, 3, 2, **geo), cols, atol=0)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_references_match_torch(approximate):
    x = np.linspace(-6, 6, 101)
    tx = torch.tensor(x, requires_grad=True)
    F.gelu(tx, approximate=approximate).sum().backward()
    np.testing.assert_allclose(ref.gelu(x, approximate), F.gelu(tx, approximate=approximate).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ref.gelu_grad(x, approximate), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("geo", [((3, 2), (2, 2), (1, 0), (1, 1), False), ((2, 3), (3, 2), (1, 1), (2, 2), True),
                                 ((2, 2), (2, 2), (0, 0), (1, 1), True)])
def test_maxpool_references_match_torch(geo):
    x = np.random.default_rng(1).integers(-2, 3, (2, 2, 9, 8)).astype(np.float64)
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = F.max_pool2d(tx, *geo[:4], ceil_mode=geo[4], return_indices=True)
    y, arg = ref.maxpool2d(x, *geo)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(arg, tidx.numpy())
    gy = np.random.default_rng(2).standard_normal(y.shape)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(ref.maxpool2d_bwd(gy, arg, x.shape), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_softmax_xent_references_match_torch(eps):
    rng = np.random.default_rng(3)
    logits = 3 * rng.standard_normal((6, 9))
    target = rng.integers(0, 9, 6)
    target[[1, 4]] = -100
    tl = torch.tensor(logits, requires_grad=True)
    tloss = F.cross_entropy(tl, torch.tensor(target), ignore_index=-100, label_smoothing=eps, reduction="none")
    gloss = rng.standard_normal(6)
    tloss.backward(torch.tensor(gloss))
    loss, lse = ref.softmax_xent(logits, target, -100, eps)
    np.testing.assert_allclose(loss, tloss.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(lse, torch.logsumexp(tl, 1).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ref.softmax_xent_bwd(logits, target, gloss, -100, eps), tl.grad.numpy(), atol=1e-12)
