"""Worked examples of the sources behind gpugrad's formulas, each as a hand derivation in NumPy
checked against gpugrad's autograd.

- Krasin Georgiev, "Gradients, broadcasting and backpropagation": `lin_grad` for
  y = x@w + b under an MSE loss: b.g = y.g.sum(0), w.g = xᵀ·y.g, x.g = y.g·wᵀ with
  y.g = 2(y_pred - y_targ)/N/H (its `mse_grad`).
- Peter Vincent, "Auto-differentiation": dL/dW = Xᵀ·dL/dY, dL/dB = dL/dY summed over rows.
- adamtiger/autograd's README: the exact-erf gelu derivative
  y' = ½[1 + erf(x/√2)] + x·½·√(2/π)·e^{-x²/2}, and for Y = A·B: dL/dA = G·Bᵀ, dL/dB = (Gᵀ·A)ᵀ.

Inputs are random float64 (never zeros), several shapes; tolerances are tight because the hand
derivation and the engine compute the same sums in the same precision.
"""
import math

import numpy as np
import pytest

import gpugrad
import gpugrad.nn.functional as F

TIGHT = dict(rtol=1e-12, atol=1e-12)


def _t(arr, requires_grad=True):
    return gpugrad.tensor(arr, dtype=gpugrad.float64, requires_grad=requires_grad)


def _np(t):
    return np.asarray(t.detach())


# --- Georgiev: lin_grad -----------------------------------------------------------------------

def mse_grad(y_pred, y_targ):
    """Georgiev's mse_grad: d mean((y_pred - y_targ)²) / d y_pred."""
    return 2 * (y_pred - y_targ) / y_targ.shape[0] / y_targ.shape[1]


def lin_grad(x, w, yg):
    """Georgiev's lin_grad for y = x @ w + b, given y.g: returns (b.g, w.g, x.g)."""
    bg = yg.sum(axis=0)
    wg = x.T @ yg
    xg = yg @ w.T
    return bg, wg, xg


@pytest.mark.parametrize("n,m,h", [(100, 4, 2), (7, 3, 5), (1, 6, 1), (32, 16, 8)])
def test_georgiev_lin_grad_matches_autograd(n, m, h):
    rng = np.random.default_rng(3000 + n * 100 + m * 10 + h)
    x_np = rng.uniform(-5, 5, (n, m))          # Georgiev's x = rand(N, M)*10 - 5
    w_true = rng.standard_normal((m, h))
    b_true = rng.standard_normal(h)
    y_targ_np = x_np @ w_true + b_true
    w_np = rng.standard_normal((m, h))
    b_np = rng.standard_normal(h) + 0.5       # Georgiev starts b at zeros; keep it non-zero here

    # hand derivation (Georgiev)
    y_pred_np = x_np @ w_np + b_np
    bg, wg, xg = lin_grad(x_np, w_np, mse_grad(y_pred_np, y_targ_np))

    # autograd
    x, w, b = _t(x_np), _t(w_np), _t(b_np)
    y_pred = x @ w + b
    loss = ((y_pred - _t(y_targ_np, False)) ** 2).mean()
    loss.backward()

    np.testing.assert_allclose(float(loss.item()), ((y_pred_np - y_targ_np) ** 2).mean(), **TIGHT)
    np.testing.assert_allclose(_np(b.grad), bg, **TIGHT)
    np.testing.assert_allclose(_np(w.grad), wg, **TIGHT)
    np.testing.assert_allclose(_np(x.grad), xg, **TIGHT)
    assert b.grad.shape == (h,) and w.grad.shape == (m, h) and x.grad.shape == (n, m)


def test_georgiev_lin_grad_with_mse_loss_function_and_sgd_steps():
    """Georgiev's training loop: 20 SGD steps with hand gradients and with autograd stay equal."""
    rng = np.random.default_rng(31)
    n, m, h = 100, 4, 2
    x_np = rng.uniform(-5, 5, (n, m))
    w_true = np.array([[1, 1], [1.5, 1.5], [2, 3.0], [2.5, -0.5]])
    y_np = x_np @ w_true + np.array([0.0, -1.0])
    w_hand, b_hand = rng.standard_normal((m, h)), rng.standard_normal(h)
    w = _t(w_hand.copy())
    b = _t(b_hand.copy())
    x, y = _t(x_np, False), _t(y_np, False)
    losses = []
    for _ in range(20):
        bg, wg, _ = lin_grad(x_np, w_hand, mse_grad(x_np @ w_hand + b_hand, y_np))
        w_hand, b_hand = w_hand - 0.01 * wg, b_hand - 0.01 * bg

        w.grad = b.grad = None
        loss = F.mse_loss(x @ w + b, y)
        loss.backward()
        losses.append(loss.item())
        with gpugrad.no_grad():
            w.sub_(0.01 * w.grad)
            b.sub_(0.01 * b.grad)
    np.testing.assert_allclose(_np(w), w_hand, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(_np(b), b_hand, rtol=1e-10, atol=1e-10)
    assert losses[-1] < losses[0]


# --- Vincent: dL/dW = Xᵀ dL/dY ----------------------------------------------------------------

@pytest.mark.parametrize("n,d,k", [(2, 2, 2), (5, 3, 4), (1, 7, 3), (16, 8, 1)])
def test_vincent_dW_is_Xt_dY(n, d, k):
    rng = np.random.default_rng(1000 + n * 100 + d * 10 + k)
    x_np, w_np, bias_np = rng.standard_normal((n, d)), rng.standard_normal((d, k)), rng.standard_normal(k)
    x, w, bias = _t(x_np), _t(w_np), _t(bias_np)
    y = x @ w + bias
    # L = sum(sin(Y)) so dL/dY = cos(Y) is a non-constant upstream gradient
    y.sin().sum().backward()
    dy = np.cos(x_np @ w_np + bias_np)
    np.testing.assert_allclose(_np(w.grad), x_np.T @ dy, **TIGHT)   # dL/dW = Xᵀ dL/dY
    np.testing.assert_allclose(_np(bias.grad), dy.sum(axis=0), **TIGHT)  # dL/dB = I·dL/dY (summed)
    np.testing.assert_allclose(_np(x.grad), dy @ w_np.T, **TIGHT)


def test_vincent_elementwise_expansion_of_dL_dw11_and_dw22():
    """Vincent's 2×2 expansion: dL/dw11 = g11 x11 + g21 x21, dL/dw22 = g12 x12 + g22 x22."""
    rng = np.random.default_rng(1)
    x_np, w_np, g_np = (rng.standard_normal((2, 2)) for _ in range(3))
    x, w = _t(x_np), _t(w_np)
    (x @ w).backward(_t(g_np, False))
    g = g_np
    assert w.grad[0, 0].item() == pytest.approx(g[0, 0] * x_np[0, 0] + g[1, 0] * x_np[1, 0], rel=1e-13)
    assert w.grad[1, 1].item() == pytest.approx(g[0, 1] * x_np[0, 1] + g[1, 1] * x_np[1, 1], rel=1e-13)


# --- adamtiger/autograd: gelu derivative and matmul -------------------------------------------

def gelu_prime_adamtiger(x):
    """adamtiger/autograd: y' = ½[1 + erf(x/√2)] + x·½·√(2/π)·e^{-x²/2}."""
    erf = np.vectorize(math.erf)
    return 0.5 * (1 + erf(x / math.sqrt(2))) + x * 0.5 * math.sqrt(2 / math.pi) * np.exp(-x * x / 2)


def gelu_adamtiger(x):
    erf = np.vectorize(math.erf)
    return x * 0.5 * (1 + erf(x / math.sqrt(2)))


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), ()])
def test_adamtiger_gelu_derivative_exact_erf(shape):
    pytest.importorskip("gpugrad.backends.cpu.kernels")
    rng = np.random.default_rng(7 + len(shape))
    x_np = rng.standard_normal(shape) * 3
    x = _t(x_np)
    y = F.gelu(x)  # approximate="none" is the exact erf form
    np.testing.assert_allclose(_np(y), gelu_adamtiger(x_np), rtol=1e-12, atol=1e-14)
    g_np = rng.standard_normal(shape) + 2.0
    y.backward(_t(g_np, False))
    np.testing.assert_allclose(_np(x.grad), g_np * gelu_prime_adamtiger(x_np), rtol=1e-12, atol=1e-14)


def test_adamtiger_gelu_derivative_far_tails():
    """Far out the derivative tends to 1 (x → +∞) and 0 (x → −∞) without NaNs."""
    pytest.importorskip("gpugrad.backends.cpu.kernels")
    x_np = np.array([-40.0, -9.5, -3.3, -0.25, 0.125, 3.3, 9.5, 40.0])
    x = _t(x_np)
    F.gelu(x).sum().backward()
    np.testing.assert_allclose(_np(x.grad), gelu_prime_adamtiger(x_np), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("p,q,r", [(2, 2, 2), (3, 4, 5), (1, 6, 2), (8, 1, 3), (10, 7, 9)])
def test_adamtiger_matmul_dA_is_G_Bt_and_dB_is_At_G(p, q, r):
    rng = np.random.default_rng(100 * p + 10 * q + r)
    a_np, b_np, g_np = rng.standard_normal((p, q)), rng.standard_normal((q, r)), rng.standard_normal((p, r))
    a, b = _t(a_np), _t(b_np)
    y = a @ b
    np.testing.assert_allclose(_np(y), a_np @ b_np, **TIGHT)
    y.backward(_t(g_np, False))
    np.testing.assert_allclose(_np(a.grad), g_np @ b_np.T, **TIGHT)       # dL/dA = G·Bᵀ
    np.testing.assert_allclose(_np(b.grad), (g_np.T @ a_np).T, **TIGHT)   # dL/dB = (Gᵀ·A)ᵀ = Aᵀ·G
    np.testing.assert_allclose(_np(b.grad), a_np.T @ g_np, **TIGHT)


def test_adamtiger_matmul_tensor_notation_sum():
    """∂L/∂a_pq = Σ_j g_pj b_qj, element by element (adamtiger/autograd's index derivation)."""
    rng = np.random.default_rng(0)
    a_np, b_np, g_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    a, b = _t(a_np), _t(b_np)
    (a @ b).backward(_t(g_np, False))
    for p in range(3):
        for q in range(4):
            expected = sum(g_np[p, j] * b_np[q, j] for j in range(2))
            assert a.grad[p, q].item() == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_adamtiger_matmul_batched_grad_sums_over_broadcast_batch():
    """Batched Y = A·B with B shared across the batch: dL/dB = Σ_batch Aᵀ·G."""
    rng = np.random.default_rng(5)
    a_np, b_np = rng.standard_normal((4, 3, 5)), rng.standard_normal((5, 2))
    g_np = rng.standard_normal((4, 3, 2))
    a, b = _t(a_np), _t(b_np)
    (a @ b).backward(_t(g_np, False))
    np.testing.assert_allclose(_np(a.grad), g_np @ b_np.T, **TIGHT)
    np.testing.assert_allclose(_np(b.grad), np.einsum("bpq,bpr->qr", a_np, g_np), **TIGHT)
