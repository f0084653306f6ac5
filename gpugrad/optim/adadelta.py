"""Adadelta: PyTorch's update on the parameters' arrays."""
from ..tensor import Tensor
from .optimizer import Optimizer, ascent_or_decay, run_closure


class Adadelta(Optimizer):
    """v = ρ·v + (1-ρ)·g²; Δ = sqrt(u + eps) / sqrt(v + eps) · g; u = ρ·u + (1-ρ)·Δ²; p -= lr·Δ."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        if lr < 0 or not 0 <= rho <= 1 or eps < 0 or weight_decay < 0:
            raise ValueError(f"invalid Adadelta settings: lr={lr}, rho={rho}, eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            rho, eps = group["rho"], group["eps"]
            for p, g, state in self._params_with_grad(group):
                x, xp = p._data, p.backend.xp
                if not state:
                    state["step"] = 0
                    for name in ("square_avg", "acc_delta"):
                        state[name] = Tensor._make(xp.zeros_like(x), p.device)
                state["step"] += 1
                g = ascent_or_decay(group, g, x)
                v, u = state["square_avg"]._data, state["acc_delta"]._data
                v *= rho
                v += (1 - rho) * g * g
                delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
                u *= rho
                u += (1 - rho) * delta * delta
                x -= group["lr"] * delta
                p._version.value += 1
        return loss
