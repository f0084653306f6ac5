"""SGD with momentum, dampening, Nesterov momentum and (L2) weight decay: PyTorch's update."""
from ..tensor import Tensor
from .optimizer import Optimizer, run_closure


class SGD(Optimizer):
    """p -= lr·d, where d is the gradient (+ weight_decay·p), passed through the momentum buffer
    b = momentum·b + (1 - dampening)·d (b starts as d), and for Nesterov d + momentum·b.

    lr (as in PyTorch) and momentum may be 0-dim device tensors, read on the device: a step
    captured in a CUDA graph then follows a schedule that sets them in place before each replay
    (the momentum buffers must exist before the capture: take one eager step first)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            uses_momentum = isinstance(momentum, Tensor) or momentum != 0  # no host read of a device value
            lr, momentum = (v._data if isinstance(v, Tensor) else v for v in (lr, momentum))
            for p, d, state in self._params_with_grad(group):
                x = p._data
                if maximize:
                    d = -d
                if weight_decay:
                    d = d + weight_decay * x
                if uses_momentum:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._make(d.copy(), p.device)
                    else:
                        b = buf._data
                        b *= momentum
                        b += d if dampening == 0 else (1 - dampening) * d
                    d = d + momentum * buf._data if nesterov else buf._data
                x -= lr * d
                p._bump_version()
        return loss
