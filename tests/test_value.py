"""gpugrad.Value, the scalar front end (micrograd's API, the Value engine of ToyGrad's
"Explanation of the AutoGrad Algorithm") on the shared Tensor engine.

micrograd's two classic tests (compared with PyTorch when importable, and always with the hand
values micrograd's own test suite asserts), each operator's gradient against its hand
derivative, `.data`/`.grad` as Python floats, and the example training script end to end.
"""
import math
import os
import re
import subprocess
import sys

import pytest

import gpugrad
from gpugrad import Value
from tests.helpers import REPO

ROOT = str(REPO)
EXAMPLE = os.path.join(ROOT, "examples", "value_classifier.py")


# --- micrograd's tests ------------------------------------------------------------------------

def _sanity(lib_value):
    x = lib_value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return x, y


def _more_ops(lib_value):
    a = lib_value(-4.0)
    b = lib_value(2.0)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    return a, b, g


def test_micrograd_sanity_check_hand_values():
    x, y = _sanity(Value)
    assert y.data == -20.0
    assert x.grad == 46.0


def test_micrograd_more_ops_hand_values():
    a, b, g = _more_ops(Value)
    assert g.data == pytest.approx(24.70408163265306, abs=1e-12)
    assert a.grad == pytest.approx(138.83381924198252, abs=1e-10)
    assert b.grad == pytest.approx(645.5772594752186, abs=1e-10)


def _torch_scalar(torch):
    def make(v):
        return torch.tensor([v], dtype=torch.float64, requires_grad=True)
    return make


def test_micrograd_sanity_check_vs_torch():
    torch = pytest.importorskip("torch")
    x, y = _sanity(Value)
    xt, yt = _sanity(_torch_scalar(torch))
    assert y.data == pytest.approx(yt.item(), abs=1e-12)
    assert x.grad == pytest.approx(xt.grad.item(), abs=1e-12)


def test_micrograd_more_ops_vs_torch():
    torch = pytest.importorskip("torch")
    a, b, g = _more_ops(Value)
    at, bt, gt = _more_ops(_torch_scalar(torch))
    assert g.data == pytest.approx(gt.item(), abs=1e-10)
    assert a.grad == pytest.approx(at.grad.item(), abs=1e-10)
    assert b.grad == pytest.approx(bt.grad.item(), abs=1e-10)


# --- each operator against its hand derivative ----------------------------------------------

A, B = 1.7, -0.6

BINARY = [
    # name, f(a, b), value, d/da, d/db
    ("add", lambda a, b: a + b, A + B, 1.0, 1.0),
    ("sub", lambda a, b: a - b, A - B, 1.0, -1.0),
    ("mul", lambda a, b: a * b, A * B, B, A),
    ("div", lambda a, b: a / b, A / B, 1 / B, -A / B ** 2),
    ("pow_value_exponent", lambda a, b: a ** b, A ** B, B * A ** (B - 1), A ** B * math.log(A)),
    ("mixed", lambda a, b: (a * b + a) / (b - 2.0), (A * B + A) / (B - 2),
     (B + 1) / (B - 2), (A * (B - 2) - (A * B + A)) / (B - 2) ** 2),
]


@pytest.mark.parametrize("name,f,value,da,db", BINARY, ids=[c[0] for c in BINARY])
def test_binary_op_gradients(name, f, value, da, db):
    a, b = Value(A), Value(B)
    out = f(a, b)
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-12)
    assert a.grad == pytest.approx(da, rel=1e-12)
    assert b.grad == pytest.approx(db, rel=1e-12)


UNARY = [
    # name, f(a), x, value, derivative
    ("neg", lambda a: -a, A, -A, -1.0),
    ("radd", lambda a: 3 + a, A, 3 + A, 1.0),
    ("rsub", lambda a: 3 - a, A, 3 - A, -1.0),
    ("rmul", lambda a: 3 * a, A, 3 * A, 3.0),
    ("rtruediv", lambda a: 3 / a, A, 3 / A, -3 / A ** 2),
    ("pow_int", lambda a: a ** 3, B, B ** 3, 3 * B ** 2),
    ("pow_float", lambda a: a ** 0.5, A, A ** 0.5, 0.5 * A ** -0.5),
    ("pow_negative", lambda a: a ** -1, A, 1 / A, -1 / A ** 2),
    ("relu_positive", lambda a: a.relu(), A, A, 1.0),
    ("relu_negative", lambda a: a.relu(), B, 0.0, 0.0),
    ("tanh", lambda a: a.tanh(), B, math.tanh(B), 1 - math.tanh(B) ** 2),
    ("exp", lambda a: a.exp(), B, math.exp(B), math.exp(B)),
    ("log", lambda a: a.log(), A, math.log(A), 1 / A),
    ("chain", lambda a: (a * a).tanh().exp(), B, math.exp(math.tanh(B * B)),
     math.exp(math.tanh(B * B)) * (1 - math.tanh(B * B) ** 2) * 2 * B),
    ("used_twice", lambda a: a * a + a, A, A * A + A, 2 * A + 1),
]


@pytest.mark.parametrize("name,f,x,value,deriv", UNARY, ids=[c[0] for c in UNARY])
def test_unary_op_gradients(name, f, x, value, deriv):
    a = Value(x)
    out = f(a)
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert a.grad == pytest.approx(deriv, rel=1e-12, abs=1e-15)


def test_intermediate_values_get_their_grad():
    """Like micrograd, every Value in the graph (not only leaves) holds d(out)/d(itself)."""
    a, b = Value(A), Value(B)
    c = a * b
    d = c.tanh()
    e = d + a
    e.backward()
    assert e.grad == 1.0
    assert d.grad == pytest.approx(1.0)
    assert c.grad == pytest.approx(1 - math.tanh(A * B) ** 2, rel=1e-12)
    assert a.grad == pytest.approx((1 - math.tanh(A * B) ** 2) * B + 1, rel=1e-12)


def test_neuron_gradient_matches_hand_derivation():
    """tanh(w·x + b) for one neuron: d/dw_i = (1 - out²)·x_i, d/db = 1 - out²."""
    xs = [0.3, -1.2, 2.0]
    ws = [Value(w) for w in (0.5, -0.25, 0.1)]
    b = Value(-0.2)
    act = b
    for w, x in zip(ws, xs):
        act = act + w * x
    out = act.tanh()
    out.backward()
    pre = sum(w.data * x for w, x in zip(ws, xs)) + b.data
    assert out.data == pytest.approx(math.tanh(pre), rel=1e-12)
    local = 1 - math.tanh(pre) ** 2
    for w, x in zip(ws, xs):
        assert w.grad == pytest.approx(local * x, rel=1e-12)
    assert b.grad == pytest.approx(local, rel=1e-12)


# --- .data and .grad --------------------------------------------------------------------------

def test_data_and_grad_are_python_floats():
    a = Value(2)  # an int becomes a float
    b = Value(3.5)
    assert type(a.data) is float and a.data == 2.0
    assert type(a.grad) is float and a.grad == 0.0  # before any backward
    c = a * b + 1
    assert type(c.data) is float and c.data == 8.0
    c.backward()
    for v in (a, b, c):
        assert type(v.data) is float
        assert type(v.grad) is float
    assert (a.grad, b.grad, c.grad) == (3.5, 2.0, 1.0)


def test_unused_value_has_zero_grad():
    a, b = Value(1.0), Value(2.0)
    (a * 3).backward()
    assert b.grad == 0.0 and type(b.grad) is float


def test_sgd_step_through_data_and_grad_setters():
    """The training loop's update: p.data -= lr·p.grad; p.grad = 0."""
    w = Value(1.5)
    for _ in range(3):
        loss = (w - 0.5) ** 2
        loss.backward()
        w.data -= 0.25 * w.grad
        w.grad = 0.0
        assert w.grad == 0.0
    # w ← w - 0.25·2(w - 0.5) halves the distance to 0.5 each step
    assert w.data == pytest.approx(0.5 + 1.0 / 8, rel=1e-12)


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    a = Value(2.0)
    (a * a).backward()
    (a * 3).backward()
    assert a.grad == pytest.approx(4.0 + 3.0)


def test_value_runs_on_the_tensor_engine():
    """One engine: a Value wraps a 0-d float64 Tensor whose graph is the Tensor graph."""
    a, b = Value(1.0), Value(2.0)
    c = a * b
    assert isinstance(c.t, gpugrad.Tensor)
    assert c.t.shape == () and c.t.dtype == gpugrad.float64
    assert c.t.grad_fn is not None and a.t.is_leaf


def test_long_chain_has_no_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0)


def test_repr_shows_data_and_grad():
    v = Value(1.25)
    assert "1.25" in repr(v) and "grad" in repr(v)


# --- the example ------------------------------------------------------------------------------

@pytest.mark.slow
def test_value_classifier_example_reaches_90_percent():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, EXAMPLE], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"epoch\s+1\s+loss", proc.stdout), proc.stdout
    match = re.search(r"^accuracy: ([0-9.]+)$", proc.stdout, re.M)
    assert match, proc.stdout
    assert float(match.group(1)) >= 0.9, proc.stdout
