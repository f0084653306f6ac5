"""The library's NumPy references agree with PyTorch, so the kernel tests compare against the truth."""

import numpy as np
import pytest

from gpugrad.backends.cpu import reference as ref

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
    np.testing.assert_allclose(ref.conv2d_ref(x, w, groups=2, **geo), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ref.conv_wgrad_ref(x, gy, 3, 2, groups=2, **geo), tw.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ref.conv_dgrad_ref(gy, w, x.shape, groups=2, **geo), tx.grad.numpy(), atol=1e-12)
    cols = F.unfold(tx.detach(), (3, 2), **geo).numpy()
    np.testing.assert_allclose(ref.im2col_ref(x, 3, 2, **geo), cols, atol=0)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_references_match_torch(approximate):
    x = np.linspace(-6, 6, 101)
    tx = torch.tensor(x, requires_grad=True)
    gy = np.random.default_rng(4).standard_normal(x.shape)
    F.gelu(tx, approximate=approximate).backward(torch.tensor(gy))
    np.testing.assert_allclose(ref.gelu_fwd_ref(x, approximate), F.gelu(tx, approximate=approximate).detach().numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(ref.gelu_bwd_ref(x, gy, approximate), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("geo", [((3, 2), (2, 2), (1, 0), (1, 1), False), ((2, 3), (3, 2), (1, 1), (2, 2), True),
                                 ((2, 2), (2, 2), (0, 0), (1, 1), True)])
def test_maxpool_references_match_torch(geo):
    rng = np.random.default_rng(1)
    x = rng.integers(-2, 3, (2, 2, 9, 8)).astype(np.float64)  # ties in the first image, NaNs in the second
    x[1][rng.random(x[1].shape) < 0.1] = np.nan
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = F.max_pool2d(tx, *geo[:4], ceil_mode=geo[4], return_indices=True)
    y, arg = ref.maxpool2d_fwd_ref(x, *geo)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(arg, tidx.numpy())
    gy = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(ref.maxpool2d_bwd_ref(gy, arg, x.shape), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("kernel,padding,dilation", [((2, 2), (1, 1), (3, 3)), ((1, 2), (0, 1), (1, 3))])
def test_maxpool_reference_window_with_no_input_element(kernel, padding, dilation):
    """Dilation 3 from padding 1 steps over a 2-pixel axis. PyTorch gives -inf and the index of
    the first tap at or past 0, outside the window (past the plane or in the next row), and its
    backward adds the gradient there or writes out of bounds. We give -1 and no gradient."""
    x = np.random.default_rng(5).standard_normal((1, 2, 2, 2))
    ty, tidx = F.max_pool2d(torch.tensor(x), kernel, 1, padding, dilation, return_indices=True)
    y, arg = ref.maxpool2d_fwd_ref(x, kernel, (1, 1), padding, dilation, False)
    assert (y == -np.inf).all() and (tidx.numpy() >= 0).all()
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(arg, -1)
    np.testing.assert_array_equal(ref.maxpool2d_bwd_ref(np.ones(y.shape), arg, x.shape), 0)


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
    loss, lse = ref.softmax_xent_fwd_ref(logits, target, -100, eps)
    np.testing.assert_allclose(loss, tloss.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(lse, torch.logsumexp(tl, 1).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ref.softmax_xent_bwd_ref(logits, target, lse, gloss, -100, eps), tl.grad.numpy(),
                               atol=1e-12)
