"""Module hooks: forward pre-hooks, forward hooks and full backward hooks, PyTorch's semantics.

Backward hooks see (grad_input, grad_output): identity nodes wrap the module's tensor inputs
and its output, so the engine delivers those gradients to them on the way back.
"""
from ..autograd import Function
from ..autograd.graph import add_hook
from ..tensor import Tensor


def register(module, kind, hook, prepend=False):
    return add_hook(module.__dict__.setdefault("_hooks", {}).setdefault(kind, {}), hook, prepend)


class _Tap(Function):
    """Identity whose backward hands the gradient to `callback` (which may replace it)."""

    @staticmethod
    def forward(ctx, x, callback):
        ctx.callback = callback
        return x

    @staticmethod
    def backward(ctx, g):
        out = ctx.callback(g)
        return g if out is None else out


def call(module, args, kwargs):
    """module(*args, **kwargs) with its hooks run around forward."""
    hooks = module.__dict__.get("_hooks", {})
    for hook in list(hooks.get("forward_pre", {}).values()):
        result = hook(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    backward = list(hooks.get("backward", {}).values())
    if backward:
        args, state = _tap_inputs(module, args, backward)
    out = module.forward(*args, **kwargs)
    for hook in list(hooks.get("forward", {}).values()):
        result = hook(module, args, out)
        if result is not None:
            out = result
    if backward and isinstance(out, Tensor) and out.requires_grad:
        out = _Tap.apply(out, callback=lambda g: _on_output(module, state, backward, g))
    return out


def _tap_inputs(module, args, hooks):
    state = {"inputs": [], "grads": {}, "grad_output": None}
    tapped = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            state["inputs"].append(i)
            a = _Tap.apply(a, callback=lambda g, i=i: _on_input(module, state, hooks, i, g))
        tapped.append(a)
    state["n_args"] = len(args)
    return tuple(tapped), state


def _on_output(module, state, hooks, g):
    state["grad_output"] = (g,)
    state["grads"] = {}
    if not state["inputs"]:  # nothing upstream needs a gradient: call the hooks now
        _run(module, hooks, tuple(None for _ in range(state["n_args"])), state["grad_output"])


def _on_input(module, state, hooks, i, g):
    """Collect grad_input; when the last one arrives, run the hooks (a replacement they return
    applies to the gradients not yet passed on: all of them for a single-input module)."""
    state["grads"][i] = g
    if len(state["grads"]) < len(state["inputs"]):
        return None
    grad_input = tuple(state["grads"].get(j) for j in range(state["n_args"]))
    new = _run(module, hooks, grad_input, state["grad_output"])
    return None if new is None else new[i]


def _run(module, hooks, grad_input, grad_output):
    for hook in hooks:
        result = hook(module, grad_input, grad_output)
        if result is not None:
            grad_input = tuple(result)
    return grad_input
