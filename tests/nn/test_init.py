"""nn.init: fans, gains, and the statistics of each initialiser (and the layers' defaults)."""
import math

import numpy as np
import pytest

import gpugrad
from gpugrad import nn
from gpugrad.nn import init


@pytest.fixture(autouse=True)
def _seed():
    gpugrad.manual_seed(1234)


def test_fans_and_gains():
    assert init._calculate_fan_in_and_fan_out(gpugrad.empty(6, 4, 3, 2)) == (24, 36)
    assert init._calculate_fan_in_and_fan_out(gpugrad.empty(5, 7)) == (7, 5)
    with pytest.raises(ValueError, match="fewer than 2"):
        init._calculate_fan_in_and_fan_out(gpugrad.empty(3))
    assert init.calculate_gain("relu") == math.sqrt(2) and init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("conv2d") == init.calculate_gain("sigmoid") == 1
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_gains_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, param in [("linear", None), ("relu", None), ("tanh", None), ("leaky_relu", None),
                        ("leaky_relu", 0.3), ("selu", None)]:
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


def _stats(t):
    a = t.detach().numpy()
    return a.min(), a.max(), a.std()


@pytest.mark.parametrize("fn, kwargs, bound", [
    (init.kaiming_uniform_, {}, math.sqrt(6 / 200)),  # a=0: leaky_relu gain √2
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(6 / 400)),
    (init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(6 / 600)),
])
def test_uniform_initialisers(fn, kwargs, bound):
    t = fn(gpugrad.empty(400, 200), **kwargs)
    lo, hi, std = _stats(t)
    assert -bound <= lo and hi <= bound and hi > 0.99 * bound and lo < -0.99 * bound
    assert abs(std - bound / math.sqrt(3)) < 0.01 * bound


@pytest.mark.parametrize("fn, kwargs, expected_std", [
    (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / 200)),
    (init.kaiming_normal_, {"a": 1.0, "mode": "fan_out"}, 1 / math.sqrt(400)),
    (init.xavier_normal_, {}, math.sqrt(2 / 600)),
    (init.normal_, {"std": 0.02}, 0.02),
])
def test_normal_initialisers(fn, kwargs, expected_std):
    _, _, std = _stats(fn(gpugrad.empty(400, 200), **kwargs))
    assert abs(std - expected_std) < 0.01 * expected_std


def test_constant_initialisers_and_no_graph():
    p = nn.Parameter(gpugrad.empty(3, 2))
    assert init.zeros_(p) is p and p.detach().numpy().sum() == 0
    assert init.ones_(p).detach().numpy().sum() == 6
    assert init.constant_(p, 2.5).detach().numpy().max() == 2.5
    assert p.is_leaf and p.requires_grad


def test_layer_defaults_are_pytorchs():
    """kaiming_uniform_(a=√5) gives weight and bias both U(±1/√fan_in)."""
    lin = nn.Linear(300, 400)
    conv = nn.Conv2d(12, 256, 5)  # fan_in 300
    for w, b in ((lin.weight, lin.bias), (conv.weight, conv.bias)):
        for t in (w, b):
            lo, hi, std = _stats(t)
            assert -1 / math.sqrt(300) <= lo and hi <= 1 / math.sqrt(300)
        assert abs(_stats(w)[2] - 1 / math.sqrt(900)) < 0.02 / math.sqrt(900)


def test_seed_makes_init_repeatable():
    gpugrad.manual_seed(7)
    a = nn.Linear(4, 3).weight.detach().numpy()
    gpugrad.manual_seed(7)
    np.testing.assert_array_equal(a, nn.Linear(4, 3).weight.detach().numpy())
