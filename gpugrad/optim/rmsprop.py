"""RMSprop: PyTorch's update on the parameters' arrays."""
from ..tensor import Tensor
from .optimizer import Optimizer, ascent_or_decay, run_closure


class RMSprop(Optimizer):
    """v = α·v + (1-α)·g²; p -= lr·g / (sqrt(v) + eps). centered subtracts the squared running
    mean of g from v; momentum accumulates g / (sqrt(v) + eps) in a buffer first."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 maximize=False):
        if lr < 0 or eps < 0 or weight_decay < 0 or momentum < 0 or alpha < 0:
            raise ValueError(f"invalid RMSprop settings: lr={lr}, alpha={alpha}, eps={eps}, "
                             f"weight_decay={weight_decay}, momentum={momentum}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
            for p, g, state in self._params_with_grad(group):
                x, xp = p._data, p.backend.xp
                if not state:
                    state["step"] = 0
                    names = ("square_avg",) + (("momentum_buffer",) if momentum > 0 else ()) + \
                        (("grad_avg",) if group["centered"] else ())
                    for name in names:
                        state[name] = Tensor._make(xp.zeros_like(x), p.device)
                state["step"] += 1
                g = ascent_or_decay(group, g, x)
                v = state["square_avg"]._data
                v *= alpha
                v += (1 - alpha) * g * g
                if group["centered"]:
                    m = state["grad_avg"]._data
                    m += (1 - alpha) * (g - m)
                    avg = xp.sqrt(v - m * m) + eps
                else:
                    avg = xp.sqrt(v) + eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += g / avg
                    x -= lr * buf
                else:
                    x -= lr * g / avg
                p._version.value += 1
        return loss
