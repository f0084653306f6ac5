"""Optimizer: parameter groups with per-group options, per-parameter state, and a state_dict
in PyTorch's layout ({"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]})
whose leaves are tensors and plain numbers, so a checkpoint needs no pickle."""
import math

import numpy as np

from ..autograd.function import check_same_device
from ..nn.parameter import zero_grads
from ..tensor import Tensor


class Optimizer:
    """Subclasses define step(); `defaults` are the options every group gets unless it sets them."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = {}  # Parameter -> dict of its optimizer state
        self.param_groups = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for group in params if isinstance(params[0], dict) else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (e.g. a lower lr for a pretrained part)."""
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, not a set")
        group["params"] = params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        _check_options(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError("some parameters appear more than once in the optimizer's parameter groups")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self):
        raise NotImplementedError

    def _params_with_grad(self, group):
        """(param, grad array, state) for each parameter of `group` that has a gradient; the
        parameter's device is made current, so the update's arrays are allocated on it."""
        for p in group["params"]:
            if p.grad is not None:
                check_same_device(f"{type(self).__name__}.step (a parameter of shape {p.shape} and its grad)",
                                  p, p.grad)
                p.backend.activate()
                yield p, p.grad._data, self.state.setdefault(p, {})

    # --- state dicts ----------------------------------------------------------------------
    def state_dict(self):
        """Options and state by parameter index; the tensors are the live ones (save them, or
        copy them, before stepping again if you need a snapshot)."""
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(p, len(index))
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": [index[p] for p in group["params"]]})
        state = {index[p]: {k: v.detach() if isinstance(v, Tensor) else v for k, v in s.items()}
                 for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by state_dict() into this optimizer's parameters.

        Group count and sizes must match. Tensors are copied to each parameter's device and
        floating dtype; NumPy arrays and scalars (from an .npz checkpoint) are accepted too.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        by_index = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict's parameter group {i} has {len(saved['params'])} "
                                 f"parameters, the optimizer's has {len(group['params'])}")
            by_index.update({int(k): p for k, p in zip(saved["params"], group["params"])})
        self.state = {}
        for k, s in state_dict["state"].items():
            p = by_index[int(k)]
            self.state[p] = {name: _state_value(v, p) for name, v in s.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: _plain(v) for k, v in saved.items() if k != "params"})


_OPTIONS = (("lr", "learning rate"), ("eps", "epsilon value"), ("weight_decay", "weight_decay value"),
            ("momentum", "momentum value"))


def _check_options(group):
    """PyTorch's ValueError for a negative option, and for NaN or infinity too: betas in [0, 1)."""
    for name, what in _OPTIONS:
        if name in group and not 0.0 <= group[name] < math.inf:
            raise ValueError(f"Invalid {what}: {group[name]}")
    for i, beta in enumerate(group.get("betas", ())):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def _plain(v):
    """NumPy scalars and arrays (as an .npz round trip gives back) as Python numbers and tuples."""
    if isinstance(v, (np.ndarray, np.generic)):
        v = v.tolist()
    return tuple(v) if isinstance(v, list) else v


def _state_value(v, param):
    """A saved state entry: float arrays become fresh tensors like `param`, the rest numbers."""
    if isinstance(v, Tensor):
        v = v.detach().numpy()
    if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind == "f" and (v.ndim > 0 or param.ndim == 0):
        return Tensor(v, dtype=param.dtype, device=param.device)
    return _plain(v)


def ascent_or_decay(group, g, x):
    """The gradient array as the update uses it: negated for maximize, plus weight_decay·x (L2)."""
    if group["maximize"]:
        g = -g
    if group["weight_decay"]:
        g = g + group["weight_decay"] * x
    return g


def run_closure(closure):
    """step(closure): re-evaluate the model and return its loss, with gradients enabled."""
    if closure is None:
        return None
    from ..autograd import enable_grad
    with enable_grad():
        return closure()
