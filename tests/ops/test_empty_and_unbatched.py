"""Valid input PyTorch accepts: empty batches and channels, length-0 softmax dims, one unbatched
(C, H, W) image, a 1-D linear weight, broadcasting mse_loss. Values and gradients against
PyTorch where it is installed, and float64 gradchecks, on cpu and (simulated) cuda."""
import warnings

import numpy as np
import pytest

import gpugrad
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.autograd import gradcheck


def _t(rng, shape, device, grad=True):
    return gpugrad.tensor(rng.standard_normal(shape), device=device, requires_grad=grad)


def _torch_value_and_grads(fn, *arrays):
    """fn on torch tensors made from `arrays`: (output, gradients of output.sum())."""
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(torch.nn.functional, *ts)
    out.sum().backward()
    return out.detach().numpy(), [t.grad.numpy() if t.grad is not None else np.zeros(a.shape)
                                  for t, a in zip(ts, arrays)]


def _ours_value_and_grads(fn, tensors):
    out = fn(F, *tensors)
    out.sum().backward()
    return out.detach().cpu().numpy(), [t.grad.cpu().numpy() if t.grad is not None else np.zeros(t.shape)
                                        for t in tensors]


def _check_like_torch(fn, tensors):
    got, got_grads = _ours_value_and_grads(fn, tensors)
    want, want_grads = _torch_value_and_grads(fn, *[t.detach().cpu().numpy() for t in tensors])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-12)
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12)


# ---- empty batches -------------------------------------------------------------------------
EMPTY_BATCH = [
    ("conv2d", lambda F, x, w, b: F.conv2d(x, w, b, padding=1), [(0, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    ("conv2d_strided", lambda F, x, w: F.conv2d(x, w, stride=2, groups=3), [(0, 3, 6, 5), (6, 1, 2, 2)]),
    ("conv_transpose2d", lambda F, x, w: F.conv_transpose2d(x, w, stride=2), [(0, 3, 4, 4), (3, 2, 3, 3)]),
    ("max_pool2d", lambda F, x: F.max_pool2d(x, 2), [(0, 3, 5, 5)]),
    ("avg_pool2d", lambda F, x: F.avg_pool2d(x, 2), [(0, 3, 5, 5)]),
    ("avg_pool2d_overlapping", lambda F, x: F.avg_pool2d(x, 3, 1, padding=1), [(0, 3, 5, 5)]),
    ("adaptive_avg_pool2d", lambda F, x: F.adaptive_avg_pool2d(x, 2), [(0, 3, 5, 5)]),
]


@pytest.mark.parametrize("name, fn, shapes", EMPTY_BATCH, ids=[c[0] for c in EMPTY_BATCH])
def test_empty_batch(device, rng, name, fn, shapes):
    tensors = [_t(rng, s, device) for s in shapes]
    _check_like_torch(fn, tensors)
    assert gradcheck(lambda *ts: fn(F, *ts), tensors)


def test_conv2d_with_no_input_channels_gives_the_bias(device, rng):
    """A sum over no channels is 0, so the output is the bias (PyTorch returns an empty
    (N, 0, H', W') tensor here, dropping the output channels)."""
    x, w, b = _t(rng, (2, 0, 5, 5), device), _t(rng, (4, 0, 3, 3), device), _t(rng, (4,), device)
    out = F.conv2d(x, w, b, padding=1)
    assert out.shape == (2, 4, 5, 5)
    np.testing.assert_array_equal(out.detach().cpu().numpy(),
                                  np.broadcast_to(b.detach().cpu().numpy()[:, None, None], (2, 4, 5, 5)))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), (x, w, b))
    assert gradcheck(lambda x, w: F.conv2d(x, w), (x, w))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((3, 0), 1), ((0, 3), 1), ((2, 0, 4), 1), ((0,), 0)])
def test_softmax_over_empty_dims(device, rng, fn, shape, dim):
    x = _t(rng, shape, device)
    _check_like_torch(lambda F, x: getattr(F, fn)(x, dim), [x])
    assert gradcheck(lambda x: getattr(F, fn)(x, dim), (x,))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 2, 2)])
def test_batch_norm_on_an_empty_batch(device, rng, shape, training):
    """An empty output, running statistics untouched, zero gradients (as PyTorch)."""
    x, w, b = _t(rng, shape, device), _t(rng, (3,), device), _t(rng, (3,), device)
    mean, var = (gpugrad.tensor(v, device=device) for v in (np.zeros(3), np.ones(3)))
    out = F.batch_norm(x, mean, var, w, b, training=training)
    assert out.shape == shape
    out.sum().backward()
    assert w.grad.tolist() == b.grad.tolist() == [0.0] * 3 and x.grad.shape == shape
    assert mean.tolist() == [0.0] * 3 and var.tolist() == [1.0] * 3
    torch = pytest.importorskip("torch")
    tw = torch.ones(3, requires_grad=True)
    tm, tv = torch.zeros(3), torch.ones(3)
    torch.nn.functional.batch_norm(torch.zeros(shape), tm, tv, tw, training=training).sum().backward()
    assert tw.grad.tolist() == [0.0] * 3 and tm.tolist() == [0.0] * 3 and tv.tolist() == [1.0] * 3


def test_batch_norm_module_on_an_empty_batch(device):
    module = nn.BatchNorm2d(3).to(device)
    assert module(gpugrad.randn(0, 3, 2, 2, device=device)).shape == (0, 3, 2, 2)
    assert int(module.num_batches_tracked) == 1 and module.running_mean.tolist() == [0.0] * 3
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        module(gpugrad.randn(1, 3, 1, 1, device=device))


@pytest.mark.parametrize("layer", [nn.BatchNorm1d, nn.BatchNorm2d])
@pytest.mark.parametrize("n", [0, -1, 2.0])
def test_batch_norm_needs_channels(layer, n):
    with pytest.raises(ValueError, match=f"{layer.__name__}: num_features must be a positive int"):
        layer(n)


# ---- one unbatched (C, H, W) image ---------------------------------------------------------
UNBATCHED = [
    ("conv2d", lambda F, x, w, b: F.conv2d(x, w, b, padding=1), [(3, 5, 6), (4, 3, 3, 3), (4,)]),
    ("conv_transpose2d", lambda F, x, w: F.conv_transpose2d(x, w, stride=2), [(3, 4, 4), (3, 2, 3, 3)]),
    ("max_pool2d", lambda F, x: F.max_pool2d(x, 2, padding=1), [(3, 5, 5)]),
    ("avg_pool2d", lambda F, x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False), [(3, 5, 5)]),
    ("adaptive_avg_pool2d", lambda F, x: F.adaptive_avg_pool2d(x, (2, 3)), [(3, 5, 7)]),
]


@pytest.mark.parametrize("name, fn, shapes", UNBATCHED, ids=[c[0] for c in UNBATCHED])
def test_unbatched_input(device, rng, name, fn, shapes):
    tensors = [_t(rng, s, device) for s in shapes]
    batched = fn(F, tensors[0].unsqueeze(0), *tensors[1:])
    out = fn(F, *tensors)
    assert out.shape == batched.shape[1:]
    np.testing.assert_array_equal(out.detach().cpu().numpy(), batched.detach().cpu().numpy()[0])
    _check_like_torch(fn, [_t(rng, s, device) for s in shapes])
    assert gradcheck(lambda *ts: fn(F, *ts), tensors)


def test_unbatched_max_pool_indices(device, rng):
    x = _t(rng, (2, 4, 4), device)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    out4, idx4 = F.max_pool2d(x.unsqueeze(0), 2, return_indices=True)
    assert out.shape == idx.shape == (2, 2, 2)
    np.testing.assert_array_equal(idx.cpu().numpy(), idx4.cpu().numpy()[0])


@pytest.mark.parametrize("module", [nn.Conv2d(3, 2, 3, padding=1, dtype="float64"),
                                    nn.ConvTranspose2d(3, 2, 2, stride=2, dtype="float64"),
                                    nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1)],
                         ids=lambda m: type(m).__name__)
def test_unbatched_modules(device, rng, module):
    module = module.to(device)
    x = _t(rng, (3, 4, 4), device, grad=False)
    np.testing.assert_allclose(module(x).detach().cpu().numpy(),
                               module(x.unsqueeze(0)).detach().cpu().numpy()[0], rtol=1e-12)


@pytest.mark.parametrize("shape", [(5, 5), (1, 1, 3, 5, 5)])
def test_other_ranks_are_refused(shape):
    x = gpugrad.randn(*shape)
    with pytest.raises(ValueError, match=r"conv2d: expected 3-D \(C, H, W\) or 4-D"):
        F.conv2d(x, gpugrad.randn(2, 1, 3, 3))
    with pytest.raises(ValueError, match=r"max_pool2d: expected 3-D \(C, H, W\) or 4-D"):
        F.max_pool2d(x, 2)


# ---- linear with a 1-D weight, mse_loss broadcasting --------------------------------------
@pytest.mark.parametrize("x_shape", [(2, 3), (3,), (4, 2, 3)])
def test_linear_with_a_1d_weight(device, rng, x_shape):
    x, w = _t(rng, x_shape, device), _t(rng, (3,), device)
    _check_like_torch(lambda F, x, w: F.linear(x, w), [x, w])
    assert gradcheck(lambda x, w: F.linear(x, w), (x, w))
    b = _t(rng, (), device)
    assert gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))
    with pytest.raises(ValueError, match="linear"):
        F.linear(x, _t(rng, (4,), device))


@pytest.mark.parametrize("input_shape, target_shape", [((2, 3), (3,)), ((2, 1), (3,)), ((3,), (2, 3))])
def test_mse_loss_broadcasts_with_torch_warning(device, rng, input_shape, target_shape):
    torch = pytest.importorskip("torch")
    x, y = _t(rng, input_shape, device), _t(rng, target_shape, device)
    with pytest.warns(UserWarning) as ours:
        _check_like_torch(lambda F, x, y: F.mse_loss(x, y), [x, y])
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch.nn.functional.mse_loss(torch.zeros(input_shape), torch.zeros(target_shape))
    want = str(theirs[0].message)
    for shape in (input_shape, target_shape):  # PyTorch prints (torch.Size([2, 3])), we (2, 3)
        want = want.replace(f"(torch.Size({list(shape)}))", str(shape))
    assert str(ours[0].message) == want
    with pytest.warns(UserWarning, match="target size"):
        assert gradcheck(lambda x, y: F.mse_loss(x, y), (x, y))
