"""Adagrad: PyTorch's update on the parameters' arrays."""
from ..tensor import Tensor
from .optimizer import Optimizer, ascent_or_decay, run_closure


class Adagrad(Optimizer):
    """s += g²; p -= lr / (1 + (t-1)·lr_decay) · g / (sqrt(s) + eps)."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                 maximize=False):
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0 or eps < 0:
            raise ValueError(f"invalid Adagrad settings: lr={lr}, lr_decay={lr_decay}, weight_decay={weight_decay}, "
                             f"initial_accumulator_value={initial_accumulator_value}, eps={eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))
        for group in self.param_groups:  # PyTorch makes the state up front
            for p in group["params"]:
                self.state[p] = _fresh(p, group)

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            for p, g, state in self._params_with_grad(group):
                x, xp = p._data, p.backend.xp
                if not state:
                    state.update(_fresh(p, group))
                state["step"] += 1
                g = ascent_or_decay(group, g, x)
                clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
                s = state["sum"]._data
                s += g * g
                x -= clr * g / (xp.sqrt(s) + group["eps"])
                p._version.value += 1
        return loss


def _fresh(p, group):
    xp = p.backend.xp
    return {"step": 0, "sum": Tensor._make(xp.full(p.shape, group["initial_accumulator_value"], dtype=p.dtype),
                                           p.device)}
