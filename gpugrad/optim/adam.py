"""Adam and AdamW: PyTorch's update, step by step, on the parameters' arrays."""
import math

from ..tensor import Tensor
from .optimizer import Optimizer, run_closure


class Adam(Optimizer):
    """Adam (Kingma & Ba): m and v are running means of g and g², bias-corrected;
    p -= lr/(1-β1ᵗ) · m / (sqrt(v)/sqrt(1-β2ᵗ) + eps). weight_decay adds weight_decay·p to g
    (L2), or with decoupled_weight_decay (AdamW) shrinks p by lr·weight_decay directly.

    capturable=True (for CUDA graphs, as in PyTorch): the step count is a device tensor advanced
    on the device, and lr may be a device tensor (`lr=gpugrad.tensor(1e-3, device="cuda")`), which
    schedulers set in place, so a captured step follows both without a recapture (β1 may be a
    device tensor too, written by the caller).

    fused=True (PyTorch's keyword; default off): the update of all of a group's parameters of
    one device and dtype (float32 or float64) is one kernel (kernel_interface.fused_adam, one
    launch on CUDA after the one that counts the steps), with the step count on the device as
    with capturable=True. foreach is accepted for PyTorch's signature; the unfused update is per
    parameter either way."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False, decoupled_weight_decay=False, capturable=False, *, foreach=None, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      capturable=capturable, foreach=foreach, fused=fused))
        if fused and foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            if group.get("fused"):
                self._fused_step(group)
                continue
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
            for p, g, state in self._params_with_grad(group):
                x = p._data
                xp = p.backend.xp
                capturable = group.get("capturable", False)
                if not state:
                    state["step"] = Tensor._make(xp.zeros((), x.dtype), p.device) if capturable else 0
                    for name in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ()):
                        state[name] = Tensor._make(xp.zeros_like(x), p.device)
                if capturable:
                    step = _device_step(state, x, xp)
                    lr, beta1 = (v._data if isinstance(v, Tensor) else v for v in (group["lr"], beta1))
                else:
                    state["step"] += 1
                    step = state["step"]
                if group["maximize"]:
                    g = -g
                if weight_decay:
                    if group["decoupled_weight_decay"]:
                        x *= 1 - lr * weight_decay
                    else:
                        g = g + weight_decay * x
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                tmp = xp.subtract(g, m)            # one scratch array for the whole update
                tmp *= 1 - beta1
                m += tmp                           # m.lerp_(g, 1 - β1)
                xp.multiply(g, g, out=tmp)
                tmp *= 1 - beta2
                v *= beta2
                v += tmp
                if amsgrad:
                    vmax = state["max_exp_avg_sq"]._data
                    xp.maximum(vmax, v, out=vmax)
                    v = vmax
                denom = xp.sqrt(v, out=tmp)
                denom /= xp.sqrt(1 - beta2 ** step) if capturable else math.sqrt(1 - beta2 ** step)
                denom += eps
                update = xp.divide(m, denom, out=tmp)
                update *= lr / (1 - beta1 ** step)
                x -= update
                p._bump_version()
        return loss

    def _fused_step(self, group):
        """One fused_adam call per (device, dtype) of the group's parameters that have a grad."""
        batches = {}
        for p, g, state in self._params_with_grad(group):
            if p.dtype.name not in ("float32", "float64"):
                raise RuntimeError(f"`fused=True` requires float32 or float64 params, but one is {p.dtype.name} "
                                   f"(shape {tuple(p.shape)}); use fused=False for it")
            xp = p.backend.xp
            if not state:
                state["step"] = Tensor._make(xp.zeros((), p._data.dtype), p.device)
                for name in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ()):
                    state[name] = Tensor._make(xp.zeros_like(p._data), p.device)
            elif not isinstance(state["step"], Tensor):  # a plain count, e.g. from an unfused run's checkpoint
                state["step"] = Tensor._make(xp.full((), state["step"], p._data.dtype), p.device)
            batches.setdefault((p.backend.name, p._data.dtype), []).append((p, g, state))
        lr, (beta1, beta2) = group["lr"], group["betas"]
        lr, beta1 = (v._data if isinstance(v, Tensor) else v for v in (lr, beta1))
        for batch in batches.values():
            params, grads, states = zip(*batch)
            params[0].backend.activate()
            params[0].backend.kernels.fused_adam(
                [p._data for p in params], list(grads), *([s[k]._data for s in states] for k in (
                    "exp_avg", "exp_avg_sq")), [s["max_exp_avg_sq"]._data for s in states if group["amsgrad"]],
                [s["step"]._data for s in states], lr, beta1, beta2, group["weight_decay"], group["eps"],
                group["amsgrad"], group["maximize"], group["decoupled_weight_decay"])
            for p in params:
                p._bump_version()


def _device_step(state, x, xp):
    """Advance the device step count in place; the count as an array of x's dtype."""
    step = state["step"]
    if not isinstance(step, Tensor):  # a plain count, e.g. from a checkpoint of a non-capturable run
        step = state["step"] = Tensor._make(xp.full((), step, x.dtype), state["exp_avg"].device)
    step._data += 1
    return step._data


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), default weight_decay 1e-2."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False, capturable=False, *, foreach=None, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay=True,
                         capturable=capturable, foreach=foreach, fused=fused)
