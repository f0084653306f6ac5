"""Layers against torch.nn (float64, weights copied across): outputs, input and parameter
gradients, and buffers after the forward. Plus dropout / batch norm mode behaviour."""
import numpy as np
import pytest

import gpugrad
from gpugrad import nn

# torch warns that it pads a copy for an even "same" kernel; that case is deliberate
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")

CASES = {
    "linear": (lambda L: L.Linear(5, 3), (4, 5)),
    "linear_3d_no_bias": (lambda L: L.Linear(5, 3, bias=False), (2, 4, 5)),
    "conv": (lambda L: L.Conv2d(4, 6, 3), (2, 4, 7, 6)),
    "conv_strided": (lambda L: L.Conv2d(4, 6, 3, stride=2, padding=1), (2, 4, 7, 6)),
    "conv_groups_dilation_same": (lambda L: L.Conv2d(4, 6, (3, 2), dilation=2, groups=2, padding="same"),
                                  (2, 4, 7, 6)),
    "conv_even_same_no_bias": (lambda L: L.Conv2d(4, 4, 4, padding="same", bias=False), (1, 4, 6, 6)),
    "conv_transpose": (lambda L: L.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
                       (2, 4, 5, 4)),
    "conv_transpose_groups": (lambda L: L.ConvTranspose2d(4, 6, 2, groups=2, dilation=2), (2, 4, 3, 5)),
    "max_pool": (lambda L: L.MaxPool2d(2), (2, 3, 6, 8)),
    "max_pool_ceil": (lambda L: L.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 8, 7)),
    "avg_pool": (lambda L: L.AvgPool2d(2), (2, 3, 6, 8)),
    "avg_pool_pad": (lambda L: L.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 7, 6)),
    "adaptive_avg_pool": (lambda L: L.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    "batch_norm2d": (lambda L: L.BatchNorm2d(3), (4, 3, 5, 5)),
    "batch_norm2d_cumulative": (lambda L: L.BatchNorm2d(3, momentum=None, affine=False), (4, 3, 2, 2)),
    "batch_norm2d_untracked": (lambda L: L.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 2)),
    "batch_norm1d": (lambda L: L.BatchNorm1d(3, momentum=0.3), (8, 3)),
    "batch_norm1d_3d": (lambda L: L.BatchNorm1d(3, bias=False), (4, 3, 5)),
    "relu": (lambda L: L.ReLU(), (3, 7)),
    "gelu": (lambda L: L.GELU(), (3, 7)),
    "gelu_tanh": (lambda L: L.GELU("tanh"), (3, 7)),
    "tanh": (lambda L: L.Tanh(), (3, 7)),
    "sigmoid": (lambda L: L.Sigmoid(), (3, 7)),
    "flatten": (lambda L: L.Flatten(), (2, 3, 4, 5)),
    "flatten_middle": (lambda L: L.Flatten(1, 2), (2, 3, 4, 5)),
    "sequential": (lambda L: L.Sequential(L.Conv2d(2, 4, 3, padding=1), L.BatchNorm2d(4), L.GELU(),
                                          L.MaxPool2d(2), L.Flatten(), L.Linear(16, 5)), (3, 2, 4, 4)),
}


def _check(ours, theirs, x_np, rng, torch, train=True):
    """Run both modules on x_np, backprop the same random gradient, compare everything."""
    ours.double().train(train)
    theirs.double().train(train)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    x = gpugrad.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    g = rng.standard_normal(ty.shape)
    y.backward(gpugrad.tensor(g))
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    theirs_params = dict(theirs.named_parameters())
    assert list(theirs_params) == [n for n, _ in ours.named_parameters()]
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    theirs_state = theirs.state_dict()
    assert list(theirs_state) == list(ours.state_dict())
    for name, t in ours.state_dict().items():
        np.testing.assert_allclose(t.numpy(), theirs_state[name].numpy(), rtol=1e-12, err_msg=name)


def bn_takes_bias(torch):
    import inspect
    return "bias" in inspect.signature(torch.nn.BatchNorm1d.__init__).parameters


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_matches_pytorch(case, rng):
    torch = pytest.importorskip("torch")
    if case == "batch_norm1d_3d" and not bn_takes_bias(torch):
        pytest.skip("this PyTorch's BatchNorm has no bias= option (added in 2.13)")
    build, shape = CASES[case]
    _check(build(nn), build(torch.nn), rng.standard_normal(shape), rng, torch)


def test_batch_norm_eval_uses_running_stats_like_pytorch(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    for _ in range(3):  # build up different running statistics in both, independently
        x = rng.standard_normal((4, 3, 2, 2)) * 3 + 1
        ours(gpugrad.tensor(x))
        theirs(torch.from_numpy(x))
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
    assert int(ours.num_batches_tracked) == 3
    _check(ours, theirs, rng.standard_normal((2, 3, 2, 2)), rng, torch, train=False)


def test_batch_norm_checks_input_rank():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(gpugrad.zeros(2, 3))
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(gpugrad.zeros(2, 3, 1, 1))


def test_dropout_train_and_eval():
    gpugrad.manual_seed(0)
    d = nn.Dropout(0.25)
    x = gpugrad.ones(200, 100)
    y = d(x).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.01
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert d.eval()(x) is x


def test_conv_rejects_bad_settings():
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding string"):
        nn.Conv2d(3, 4, 3, padding="full")
    assert nn.Conv2d(3, 4, (3, 2)).weight.shape == (4, 3, 3, 2)
    assert nn.ConvTranspose2d(4, 6, 3, groups=2).weight.shape == (4, 3, 3, 3)
