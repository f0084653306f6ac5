"""The CPU kernels against torch.nn.functional (float64), an independent implementation; skipped without torch."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.backends.cpu.cpu_cases import SETTINGS, conv_cases, normal, pool_cases
from gpugrad.backends.conv_params import check_conv2d_args
from gpugrad.backends.cpu import conv, gelu, pool
from gpugrad.backends.cpu import softmax_xent as sx

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _close(got, expected):
    np.testing.assert_allclose(got, expected.detach().numpy(), rtol=1e-10, atol=1e-10)


@SETTINGS
@given(conv_cases())
def test_conv2d_forward_and_gradients(case):
    s = case["seed"]
    x, w, gy = normal(s, case["x_shape"]), normal(s + 1, case["w_shape"]), normal(s + 2, case["y_shape"])
    args = case["stride"], case["padding"], case["dilation"], case["groups"]
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = F.conv2d(tx, tw, None, *args)
    ty.backward(torch.tensor(gy))
    _close(conv.conv2d_forward(x, w, *args), ty)
    _close(conv.conv_wgrad(x, gy, *w.shape[2:], *args), tw.grad)
    _close(conv.conv_dgrad(gy, w, x.shape, *args), tx.grad)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kernel, dilation", [((3, 4), (1, 1)), ((2, 3), (3, 2)), ((1, 5), (2, 1))])
def test_same_padding_matches_torch(kernel, dilation):
    """resolve_padding's (top, bottom, left, right) split, applied by padding x, reproduces torch's "same"."""
    x, w = normal(0, (2, 3, 9, 10)), normal(1, (4, 3) + kernel)
    _, (t, b, l, r), _ = check_conv2d_args(x.shape, w.shape, 1, "same", dilation, 1)
    y = conv.conv2d_forward(np.pad(x, ((0, 0), (0, 0), (t, b), (l, r))), w, (1, 1), (0, 0), dilation, 1)
    _close(y, F.conv2d(torch.tensor(x), torch.tensor(w), None, 1, "same", dilation))


@SETTINGS
@given(pool_cases(), st.booleans())
def test_maxpool(case, ties):
    rng = np.random.default_rng(case["seed"])
    x = rng.integers(-1, 2, case["x_shape"]).astype(np.float64) if ties else rng.standard_normal(case["x_shape"])
    params = case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"]
    tx = torch.tensor(x, requires_grad=True)
    ty, targ = F.max_pool2d(tx, *params, return_indices=True)
    y, arg = pool.maxpool2d_fwd(x, *params)
    _close(y, ty)
    np.testing.assert_array_equal(arg, targ.numpy())
    gy = normal(case["seed"] + 1, y.shape)
    ty.backward(torch.tensor(gy))
    _close(pool.maxpool2d_bwd(gy, arg, x.shape), tx.grad)


@pytest.mark.parametrize("form", ["none", "tanh"])
def test_gelu(form):
    x, gy = normal(0, (3, 1000), scale=4), normal(1, (3, 1000))
    tx = torch.tensor(x, requires_grad=True)
    ty = F.gelu(tx, approximate=form)
    ty.backward(torch.tensor(gy))
    _close(gelu.gelu_fwd(x, form), ty)
    _close(gelu.gelu_bwd(x, gy, form), tx.grad)


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_softmax_xent(eps):
    x, gloss = normal(0, (16, 7), scale=3), normal(1, 16)
    target = np.random.default_rng(2).integers(0, 7, 16)
    target[[3, 9]] = -100
    tx = torch.tensor(x, requires_grad=True)
    tloss = F.cross_entropy(tx, torch.tensor(target), reduction="none", ignore_index=-100, label_smoothing=eps)
    tloss.backward(torch.tensor(gloss))
    loss, lse = sx.softmax_xent_fwd(x, target, -100, eps)
    _close(loss, tloss)
    _close(sx.softmax_xent_bwd(x, target, lse, gloss, -100, eps), tx.grad)
