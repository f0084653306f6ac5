"""Module: registration, traversal, state_dict / load_state_dict, to(), modes, repr."""
import re

import numpy as np
import pytest

import gpugrad
from gpugrad import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(gpugrad.ones(1))
        self.register_buffer("steps", gpugrad.zeros(1))
        self.register_buffer("cache", gpugrad.zeros(2), persistent=False)
        self.note = "not registered"

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


def test_registration_and_traversal_order():
    m = Block()
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc.weight", "fc.bias", "bn.weight", "bn.bias"]
    assert [n for n, _ in m.named_buffers()] == ["steps", "cache", "bn.running_mean", "bn.running_var",
                                                 "bn.num_batches_tracked"]
    assert [n for n, _ in m.named_children()] == ["fc", "bn"]
    assert [type(x).__name__ for x in m.modules()] == ["Block", "Linear", "BatchNorm1d"]
    assert m.note == "not registered" and "note" not in m._parameters
    assert all(p.requires_grad and p.is_leaf for p in m.parameters())


def test_reassigning_and_deleting_attributes():
    m = Block()
    m.fc = nn.Linear(3, 2)          # replaces the child
    assert m.fc.out_features == 2
    m.scale = None                  # a registered parameter may become None
    assert "scale" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = gpugrad.ones(1)   # a plain tensor is not a Parameter
    del m.bn
    assert [n for n, _ in m.named_children()] == ["fc"]
    with pytest.raises(AttributeError, match="no attribute 'bn'"):
        m.bn


def test_assigning_before_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gpugrad.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    m = nn.Sequential(lin, lin)
    assert len(list(m.parameters())) == 2
    assert list(m.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_parameter_shares_data():
    t = gpugrad.zeros(3)
    p = nn.Parameter(t)
    with gpugrad.no_grad():
        p.add_(1)
    assert t.tolist() == [1, 1, 1] and p.requires_grad and repr(p).startswith("Parameter containing:")


def test_state_dict_is_detached_and_ordered():
    m = Block()
    sd = m.state_dict()
    assert list(sd) == ["scale", "steps", "fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean",
                        "bn.running_var", "bn.num_batches_tracked"]
    assert not any(t.requires_grad for t in sd.values())
    np.testing.assert_array_equal(sd["fc.weight"].numpy(), m.fc.weight.detach().numpy())


def test_load_state_dict_copies_in_place():
    a, b = Block(), Block()
    weight = b.fc.weight
    b.load_state_dict(a.state_dict())
    assert b.fc.weight is weight
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=k)
    # arrays are accepted too (what a checkpoint loader may hand over)
    b.load_state_dict({k: v.numpy() * 0 for k, v in a.state_dict().items()})
    assert float(b.fc.weight.detach().abs().sum()) == 0


def test_load_state_dict_strict_errors_name_keys_and_shapes():
    m = Block()
    sd = m.state_dict()
    del sd["fc.bias"]
    sd["extra.weight"] = gpugrad.zeros(1)
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(sd)
    assert '"fc.bias"' in str(err.value) and '"extra.weight"' in str(err.value)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["fc.bias"] and unexpected == ["extra.weight"]
    bad = m.state_dict()
    bad["fc.weight"] = gpugrad.zeros(5, 3)
    before = m.fc.bias.detach().numpy()
    with pytest.raises(RuntimeError, match=r"fc\.weight.*\(5, 3\).*\(4, 3\)"):
        m.load_state_dict(bad, strict=False)
    np.testing.assert_array_equal(m.fc.bias.detach().numpy(), before)  # nothing was copied


def test_train_eval_and_zero_grad():
    m = Block()
    assert m.training and m.bn.training
    assert m.eval() is m and not m.bn.training
    m.train()
    m(gpugrad.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_to_dtype_keeps_identity_and_skips_integer_buffers():
    m = Block()
    params = list(m.parameters())
    m.to(gpugrad.float64)
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype == gpugrad.float64 for p in m.parameters())
    assert m.bn.running_mean.dtype == gpugrad.float64
    assert m.bn.num_batches_tracked.dtype == gpugrad.int64
    assert m.to("cpu") is m and m.float().fc.weight.dtype == gpugrad.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(gpugrad.int64)


def test_apply_visits_children_first():
    seen = []
    nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_sequential_and_module_list():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear) and [type(m) for m in s][1] is nn.ReLU
    head = s[1:]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]
    assert s(gpugrad.randn(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError):
        s[3]
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.Linear(1, 2))
    ml[0] = nn.Tanh()
    assert len(ml) == 4 and isinstance(ml[0], nn.Tanh) and len(list(ml.parameters())) == 6
    assert len(ml[1:]) == 3


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.Sequential(
            lib.Conv2d(1, 8, 3, padding=1, bias=False), lib.BatchNorm2d(8), lib.ReLU(), lib.MaxPool2d(2),
            lib.Conv2d(8, 8, 3, stride=2, dilation=2, groups=2), lib.ConvTranspose2d(8, 4, 2, stride=2),
            lib.AvgPool2d(2), lib.AdaptiveAvgPool2d(1), lib.Flatten(), lib.Dropout(0.25), lib.GELU("tanh"),
            lib.Sequential(lib.Linear(4, 10), lib.Tanh(), lib.Sigmoid()), lib.BatchNorm1d(10, affine=False),
            lib.Conv2d(2, 2, 4, padding="same"))
    ours = repr(build(nn))
    from tests.nn.test_layers import bn_takes_bias
    if not bn_takes_bias(torch):  # PyTorch before 2.13 prints BatchNorm without bias=
        ours = re.sub(r" bias=(True|False),", "", ours)
    assert ours == repr(build(torch.nn))
