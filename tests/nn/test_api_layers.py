"""nn.functional and nn layers of PyTorch's API against torch: activations, norms, embeddings,
resampling, padding modes, 1-D conv/pooling, losses; values, gradients and float64 gradchecks on
cpu and simulated cuda; then the modules and hooks."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad  # noqa: E402
import gpugrad.nn as gnn  # noqa: E402
import torch.nn as tnn  # noqa: E402

from tests.api_check import check  # noqa: E402

_r = np.random.default_rng(5)


def N(*shape):
    return _r.standard_normal(shape)


def U(*shape):
    return _r.uniform(0.05, 0.95, shape)


def F(L):
    return L.nn.functional


T5 = np.array([0, 3, 1, 1, 2])
T5_IGN = np.array([0, -100, 1, 1, 2])
T_2_3 = np.array([[0, 2, 1], [3, 3, 0]])
W4 = _r.uniform(0.5, 2.0, 4)
PROBS = np.exp(N(5, 4)) / np.exp(N(5, 4)).sum(1, keepdims=True)
BOUNDS = np.array([-3.0, 3.0, 0.0, 6.0, -1.0, 1.0, 2.0, -4.0])

CASES = {
    # activations
    "silu": (lambda L, x: F(L).silu(x * 3), [N(3, 4)]),
    "elu": (lambda L, x: F(L).elu(x * 3), [N(3, 4)]),
    "elu_alpha": (lambda L, x: F(L).elu(x * 30, alpha=0.5), [N(3, 4)]),
    "hardswish": (lambda L, x: F(L).hardswish(x * 4), [N(3, 4)]),
    "hardswish_bounds": (lambda L, x: F(L).hardswish(x), [BOUNDS], {"gradcheck_": False}),
    # torch's hardsigmoid gradient multiplies by float32(1/6), even for float64
    "hardsigmoid": (lambda L, x: F(L).hardsigmoid(x * 4), [N(3, 4)], {"rtol": 1e-7}),
    "hardsigmoid_bounds": (lambda L, x: F(L).hardsigmoid(x), [BOUNDS], {"gradcheck_": False, "rtol": 1e-7}),
    "relu6": (lambda L, x: F(L).relu6(x * 5), [N(3, 4)]),
    "relu6_bounds": (lambda L, x: F(L).relu6(x), [BOUNDS], {"gradcheck_": False}),
    "hardtanh": (lambda L, x: F(L).hardtanh(x * 2, -0.5, 1.5), [N(3, 4)]),
    "mish": (lambda L, x: F(L).mish(x * 3), [N(3, 4)]),
    "softplus": (lambda L, x: F(L).softplus(x), [N(3, 4)]),
    "leaky_relu": (lambda L, x: F(L).leaky_relu(x, 0.2), [N(3, 4)]),
    # norms
    "layer_norm": (lambda L, x, w, b: F(L).layer_norm(x, (4,), w, b), [N(3, 4), N(4), N(4)]),
    "layer_norm_2d_shape": (lambda L, x: F(L).layer_norm(x, (3, 4), eps=1e-3), [N(2, 3, 4)]),
    "group_norm": (lambda L, x, w, b: F(L).group_norm(x, 2, w, b), [N(2, 4, 3), N(4), N(4)]),
    "group_norm_4d": (lambda L, x: F(L).group_norm(x, 3, eps=1e-3), [N(2, 6, 2, 2)]),
    "normalize": (lambda L, x: F(L).normalize(x), [N(3, 4)]),
    "normalize_p1_dim0": (lambda L, x: F(L).normalize(x, p=1, dim=0), [N(3, 4)]),
    "normalize_p3": (lambda L, x: F(L).normalize(x, p=3, dim=-1), [N(3, 4)]),
    # embeddings
    "embedding": (lambda L, w, i: F(L).embedding(i, w), [N(5, 3), T_2_3]),
    # the padding row's value is used but gets no gradient: finite differences can't agree there
    "embedding_padding": (lambda L, w, i: F(L).embedding(i, w, padding_idx=3), [N(5, 3), T_2_3],
                          {"gradcheck_": False}),
    "one_hot": (lambda L, i: F(L).one_hot(i), [T5]),
    "one_hot_classes": (lambda L, i: F(L).one_hot(i, num_classes=6), [T_2_3]),
    # resampling
    "interp_nearest_2x": (lambda L, x: F(L).interpolate(x, scale_factor=2), [N(1, 2, 3, 4)]),
    "interp_nearest_size": (lambda L, x: F(L).interpolate(x, size=(5, 3)), [N(1, 2, 3, 4)]),
    "interp_nearest_1d": (lambda L, x: F(L).interpolate(x, size=7, mode="nearest"), [N(2, 2, 4)]),
    "interp_nearest_frac": (lambda L, x: F(L).interpolate(x, scale_factor=1.5), [N(1, 1, 4, 5)]),
    "interp_bilinear": (lambda L, x: F(L).interpolate(x, size=(5, 7), mode="bilinear"), [N(1, 2, 3, 4)]),
    "interp_bilinear_scale": (lambda L, x: F(L).interpolate(x, scale_factor=2, mode="bilinear"), [N(2, 1, 3, 3)]),
    "interp_bilinear_down": (lambda L, x: F(L).interpolate(x, size=(2, 3), mode="bilinear"), [N(1, 1, 5, 7)]),
    "interp_bilinear_corners": (lambda L, x: F(L).interpolate(x, size=(5, 6), mode="bilinear", align_corners=True),
                                [N(1, 2, 3, 4)]),
    "interp_linear": (lambda L, x: F(L).interpolate(x, size=7, mode="linear"), [N(2, 2, 4)]),
    # padding modes
    "pad_reflect": (lambda L, x: F(L).pad(x, (2, 1), mode="reflect"), [N(2, 3, 4)]),
    "pad_reflect_2d": (lambda L, x: F(L).pad(x, (1, 2, 2, 1), mode="reflect"), [N(1, 2, 3, 4)]),
    "pad_replicate": (lambda L, x: F(L).pad(x, (1, 3, 2, 0), mode="replicate"), [N(1, 2, 3, 4)]),
    "pad_circular": (lambda L, x: F(L).pad(x, (2, 1, 1, 3), mode="circular"), [N(1, 2, 3, 4)]),
    "pad_constant_value": (lambda L, x: F(L).pad(x, (1, 1), value=2.5), [N(2, 3)]),
    # 1-D conv and pooling, avg_pool2d ceil_mode
    "conv1d": (lambda L, x, w, b: F(L).conv1d(x, w, b), [N(2, 3, 7), N(4, 3, 3), N(4)]),
    "conv1d_stride_pad_dil": (lambda L, x, w: F(L).conv1d(x, w, stride=2, padding=2, dilation=2),
                              [N(2, 3, 9), N(2, 3, 3)]),
    "conv1d_groups_same": (lambda L, x, w: F(L).conv1d(x, w, padding="same", groups=2), [N(1, 4, 6), N(4, 2, 4)]),
    "max_pool1d": (lambda L, x: F(L).max_pool1d(x, 2), [N(2, 3, 7)]),
    "max_pool1d_indices": (lambda L, x: F(L).max_pool1d(x, 3, 2, 1, return_indices=True), [N(2, 3, 8)]),
    "avg_pool1d": (lambda L, x: F(L).avg_pool1d(x, 3, 2, 1), [N(2, 3, 8)]),
    "avg_pool1d_ceil": (lambda L, x: F(L).avg_pool1d(x, 2, ceil_mode=True), [N(2, 3, 7)]),
    "avg_pool2d_ceil": (lambda L, x: F(L).avg_pool2d(x, 2, ceil_mode=True), [N(1, 2, 5, 7)]),
    "avg_pool2d_ceil_pad": (lambda L, x: F(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True), [N(1, 2, 6, 8)]),
    "avg_pool2d_ceil_nopad_count": (lambda L, x: F(L).avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                                  count_include_pad=False), [N(1, 2, 6, 8)]),
    # losses
    "l1_loss": (lambda L, a, b: F(L).l1_loss(a, b), [N(3, 4), N(3, 4)]),
    "l1_loss_sum": (lambda L, a, b: F(L).l1_loss(a, b, reduction="sum"), [N(3, 4), N(3, 4)]),
    "smooth_l1": (lambda L, a, b: F(L).smooth_l1_loss(a, b), [N(3, 4), N(3, 4)]),
    "smooth_l1_beta_none": (lambda L, a, b: F(L).smooth_l1_loss(a, b, reduction="none", beta=0.5),
                            [N(3, 4), N(3, 4)]),
    "bce": (lambda L, p, y: F(L).binary_cross_entropy(p, y), [U(3, 4), U(3, 4)]),
    "bce_weight_sum": (lambda L, p, y, w: F(L).binary_cross_entropy(p, y, w, reduction="sum"),
                       [U(3, 4), U(3, 4), U(4)], {"constant": (2,)}),
    "bce_logits": (lambda L, x, y: F(L).binary_cross_entropy_with_logits(x, y), [N(3, 4), U(3, 4)]),
    "bce_logits_pos_weight": (lambda L, x, y, w: F(L).binary_cross_entropy_with_logits(x, y, pos_weight=w),
                              [N(3, 4), U(3, 4), U(4)], {"constant": (2,)}),
    "ce_plain": (lambda L, x, t: F(L).cross_entropy(x, t), [N(5, 4), T5]),
    "ce_probs": (lambda L, x, p: F(L).cross_entropy(x, p), [N(5, 4), PROBS]),
    "ce_probs_weight_smooth": (lambda L, x, p, w: F(L).cross_entropy(x, p, w, label_smoothing=0.2),
                               [N(5, 4), PROBS, W4], {"constant": (2,)}),
    "ce_probs_none": (lambda L, x, p: F(L).cross_entropy(x, p, reduction="none"), [N(5, 4), PROBS]),
    "ce_weight": (lambda L, x, t, w: F(L).cross_entropy(x, t, w), [N(5, 4), T5, W4], {"constant": (2,)}),
    "ce_weight_ignore": (lambda L, x, t, w: F(L).cross_entropy(x, t, weight=w), [N(5, 4), T5_IGN, W4],
                         {"constant": (2,)}),
    "ce_weight_smooth": (lambda L, x, t, w: F(L).cross_entropy(x, t, w, label_smoothing=0.1), [N(5, 4), T5_IGN, W4],
                         {"constant": (2,)}),
    "ce_weight_smooth_sum": (lambda L, x, t, w: F(L).cross_entropy(x, t, w, reduction="sum", label_smoothing=0.3),
                             [N(5, 4), T5, W4], {"constant": (2,)}),
    "ce_weight_smooth_none": (lambda L, x, t, w: F(L).cross_entropy(x, t, w, reduction="none", label_smoothing=0.3),
                              [N(5, 4), T5_IGN, W4], {"constant": (2,)}),
    "ce_weight_spatial": (lambda L, x, t, w: F(L).cross_entropy(x, t, w), [N(2, 4, 3), T_2_3, W4], {"constant": (2,)}),
    "nll_weight": (lambda L, x, t, w: F(L).nll_loss(x.log_softmax(1), t, w), [N(5, 4), T5_IGN, W4], {"constant": (2,)}),
    "nll_weight_sum": (lambda L, x, t, w: F(L).nll_loss(x, t, weight=w, reduction="sum"), [N(5, 4), T5, W4],
                       {"constant": (2,)}),
    "nll_weight_none": (lambda L, x, t, w: F(L).nll_loss(x, t, weight=w, reduction="none"), [N(5, 4), T5_IGN, W4],
                        {"constant": (2,)}),
    "mse_legacy_flags": (lambda L, a, b: F(L).mse_loss(a, b, size_average=False), [N(3), N(3)]),
}


@pytest.mark.parametrize("name", CASES)
def test_functional_against_torch(name, device):
    fn, arrays, *options = CASES[name]
    check(fn, arrays, device, **(options[0] if options else {}))


# --- modules: the same weights in both libraries, then forward and gradients ---------------------

def _copy_params(gm, tm, device):
    for (gname, gp), (tname, tp) in zip(gm.named_parameters(), tm.named_parameters()):
        assert gname == tname and tuple(gp.shape) == tuple(tp.shape)
        with torch.no_grad():
            tp.copy_(torch.tensor(np.asarray(gp.detach().cpu())))


MODULES = {
    "SiLU": (lambda m: m.SiLU(), [N(3, 4)]),
    "ELU": (lambda m: m.ELU(alpha=0.5), [N(3, 4)]),
    "Hardswish": (lambda m: m.Hardswish(), [N(3, 4) * 3]),
    "Hardsigmoid": (lambda m: m.Hardsigmoid(), [N(3, 4) * 3], {"rtol": 1e-7}),
    "ReLU6": (lambda m: m.ReLU6(), [N(3, 4) * 4]),
    "Mish": (lambda m: m.Mish(), [N(3, 4)]),
    "Softplus": (lambda m: m.Softplus(beta=2.0), [N(3, 4)]),
    "LeakyReLU": (lambda m: m.LeakyReLU(0.1), [N(3, 4)]),
    "Softmax": (lambda m: m.Softmax(dim=1), [N(3, 4)]),
    "LogSoftmax": (lambda m: m.LogSoftmax(dim=-1), [N(3, 4)]),
    "Identity": (lambda m: m.Identity(5, foo=1), [N(3, 4)]),
    "Unflatten": (lambda m: m.Unflatten(1, (2, 2)), [N(3, 4)]),
    "Upsample": (lambda m: m.Upsample(scale_factor=2, mode="bilinear"), [N(1, 2, 3, 3)]),
    "UpsampleNearest": (lambda m: m.Upsample(size=(4, 6)), [N(1, 2, 2, 3)]),
    "LayerNorm": (lambda m: m.LayerNorm(4, dtype=gpugrad.float64 if m is gnn else torch.float64), [N(2, 3, 4)]),
    "GroupNorm": (lambda m: m.GroupNorm(2, 4, dtype=gpugrad.float64 if m is gnn else torch.float64), [N(2, 4, 3)]),
    "Conv1d": (lambda m: m.Conv1d(3, 4, 3, stride=2, padding=1, dtype=gpugrad.float64 if m is gnn else torch.float64),
               [N(2, 3, 9)]),
    "MaxPool1d": (lambda m: m.MaxPool1d(2), [N(2, 3, 8)]),
    "AvgPool1d": (lambda m: m.AvgPool1d(3, stride=1, padding=1), [N(2, 3, 8)]),
    "AvgPool2dCeil": (lambda m: m.AvgPool2d(2, ceil_mode=True), [N(1, 2, 5, 5)]),
}


@pytest.mark.parametrize("name", MODULES)
def test_module_against_torch(name, device):
    make, arrays, *options = MODULES[name]
    gm, tm = make(gnn), make(tnn)
    gm.to(device)
    _copy_params(gm, tm, device)
    check(lambda L, *xs: (gm if L is gpugrad else tm)(*xs), arrays, device, gradcheck_=False,
          **(options[0] if options else {}))
    assert repr(gm).split("(")[0] == repr(tm).split("(")[0]


def test_embedding_module(device):
    gm = gnn.Embedding(6, 3, padding_idx=2).to(device)
    assert np.all(gm.weight.detach().cpu().numpy()[2] == 0)
    tm = tnn.Embedding(6, 3, padding_idx=2)
    _copy_params(gm, tm, device)
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    out_g, out_t = gm(gpugrad.tensor(idx, device=device)), tm(torch.tensor(idx))
    np.testing.assert_allclose(out_g.detach().cpu().numpy(), out_t.detach().numpy(), rtol=1e-6)
    out_g.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(gm.weight.grad.cpu().numpy(), tm.weight.grad.numpy())
    frozen = gnn.Embedding.from_pretrained(gpugrad.ones(3, 2))
    assert not frozen.weight.requires_grad and frozen.weight.shape == (3, 2)


LOSSES = {
    "MSELoss": (lambda m, w: m.MSELoss(), N(3, 4), N(3, 4)),
    "L1Loss": (lambda m, w: m.L1Loss(reduction="sum"), N(3, 4), N(3, 4)),
    "SmoothL1Loss": (lambda m, w: m.SmoothL1Loss(beta=0.5), N(3, 4), N(3, 4)),
    "NLLLoss": (lambda m, w: m.NLLLoss(weight=w), N(5, 4), T5),
    "CrossEntropyLoss": (lambda m, w: m.CrossEntropyLoss(label_smoothing=0.1), N(5, 4), T5),
    "CrossEntropyLossWeight": (lambda m, w: m.CrossEntropyLoss(w, ignore_index=-100), N(5, 4), T5_IGN),
    "BCELoss": (lambda m, w: m.BCELoss(), U(3, 4), U(3, 4)),
    "BCEWithLogitsLoss": (lambda m, w: m.BCEWithLogitsLoss(reduction="none"), N(3, 4), U(3, 4)),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_modules(name, device):
    make, x, y = LOSSES[name]
    gloss = make(gnn, gpugrad.tensor(W4, device=device))
    tloss = make(tnn, torch.tensor(W4))
    check(lambda L, a, b: (gloss if L is gpugrad else tloss)(a, b), [x, y], device)


# --- hooks ---------------------------------------------------------------------------------------

def _hooked(lib):
    lin = lib.nn.Linear(3, 2).double()
    seen = []
    lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    lin.register_forward_hook(lambda m, args, out: seen.append(("fwd", tuple(args[0].shape))) or out + 1)
    lin.register_full_backward_hook(
        lambda m, gin, gout: seen.append(("bwd", np.asarray(gin[0].detach()).copy(), np.asarray(gout[0].detach()))))
    return lin, seen


def test_hooks_match_torch():
    gm, gseen = _hooked(gpugrad)
    tm, tseen = _hooked(torch)
    _copy_params(gm, tm, "cpu")
    x = _r.standard_normal((4, 3))
    gx, tx = gpugrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gy, ty = gm(gx), tm(tx)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    gy.sum().backward()
    ty.sum().backward()
    assert gseen[0] == tseen[0] == ("fwd", (4, 3))
    np.testing.assert_allclose(gseen[1][1], tseen[1][1], rtol=1e-12)   # grad_input
    np.testing.assert_allclose(gseen[1][2], tseen[1][2], rtol=1e-12)   # grad_output
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_backward_hook_replaces_grad_input_and_handles_remove(device):
    lin = gnn.Linear(3, 2).to(device)
    handle = lin.register_full_backward_hook(lambda m, gin, gout: (gin[0] * 0,))
    x = gpugrad.randn(4, 3, device=device, requires_grad=True)
    lin(x).sum().backward()
    assert np.all(x.grad.cpu().numpy() == 0)
    handle.remove()
    x.grad = None
    lin(x).sum().backward()
    assert np.any(x.grad.cpu().numpy() != 0)


def test_backward_hook_without_input_grad():
    """An input that needs no gradient: the hook still runs, with grad_input (None,), as in torch."""
    for lib in (gpugrad, torch):
        lin = lib.nn.Linear(3, 2)
        seen = []
        lin.register_full_backward_hook(lambda m, gin, gout: seen.append((gin, tuple(gout[0].shape))))
        lin(lib.ones(4, 3)).sum().backward()
        assert seen == [((None,), (4, 2))]


@pytest.mark.parametrize("call, err, match", [
    (lambda F: F.interpolate(gpugrad.ones(1, 1, 2, 2), size=3, mode="bicubic"), NotImplementedError, "mode"),
    (lambda F: F.interpolate(gpugrad.ones(1, 1, 2), size=3, mode="bilinear"), ValueError, "4-D"),
    (lambda F: F.pad(gpugrad.ones(1, 3), (3, 0), mode="reflect"), RuntimeError, "reflect"),
    (lambda F: F.one_hot(gpugrad.tensor([0.5])), RuntimeError, "index tensors"),
    (lambda F: F.embedding(gpugrad.tensor([7]), gpugrad.ones(3, 2)), IndexError, "range"),
    (lambda F: F.layer_norm(gpugrad.ones(2, 3), (4,)), RuntimeError, "normalized_shape"),
    (lambda F: F.group_norm(gpugrad.ones(2, 3), 2), RuntimeError, "groups"),
    (lambda F: F.binary_cross_entropy(gpugrad.ones(2) * 2, gpugrad.ones(2)), RuntimeError, "between 0 and 1"),
    (lambda F: F.cross_entropy(gpugrad.ones(2, 3), gpugrad.ones(2, 4)), TypeError, "int64"),
    (lambda F: F.nll_loss(gpugrad.ones(2, 3), gpugrad.tensor([0, 1]), gpugrad.ones(4)), RuntimeError, "weight"),
    (lambda F: F.conv1d(gpugrad.ones(1, 2, 5, 1), gpugrad.ones(1, 2, 3)), RuntimeError, "3-D"),
])
def test_errors(call, err, match):
    with pytest.raises(err, match=match):
        call(gnn.functional)
