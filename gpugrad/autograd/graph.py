"""The graph as PyTorch code hooks it: Tensor.register_hook, register_post_accumulate_grad_hook, retains_grad.

Tensor hooks live in a dict on the tensor (a leaf) or on its grad_fn (a non-leaf: every
Function has one differentiable output, so the node stands for the tensor); the engine runs
them on the gradient before it is accumulated or passed on.
"""
import itertools

_ids = itertools.count()


class RemovableHandle:
    """What register_*hook returns: .remove() unregisters the hook (also a context manager)."""

    def __init__(self, hooks):
        self.hooks, self.id = hooks, next(_ids)

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def add_hook(hooks, hook, prepend=False):
    """Put `hook` into the ordered dict `hooks`; returns its handle."""
    handle = RemovableHandle(hooks)
    if prepend:
        items = list(hooks.items())
        hooks.clear()
        hooks[handle.id] = hook
        hooks.update(items)
    else:
        hooks[handle.id] = hook
    return handle


def register_hook(t, hook):
    """hook(grad) runs each time the gradient of t is computed; a non-None result replaces it."""
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    owner = t.grad_fn if t.grad_fn is not None else t
    if "_grad_hooks" not in owner.__dict__:
        owner._grad_hooks = {}
    return add_hook(owner._grad_hooks, hook)


def register_post_accumulate_grad_hook(t, hook):
    """hook(t) runs once per backward, after every gradient for the leaf t has been added to its
    .grad (what DistributedDataParallel averages on)."""
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not t.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if "_post_accumulate_hooks" not in t.__dict__:
        t._post_accumulate_hooks = {}
    return add_hook(t._post_accumulate_hooks, hook)


def run_grad_hooks(owner, g):
    """The gradient after the tensor hooks of `owner` (a leaf tensor or a node)."""
    for hook in list(getattr(owner, "_grad_hooks", {}).values()):
        out = hook(g)
        if out is not None:
            g = out
    return g


def run_post_accumulate_hooks(t):
    for hook in list(getattr(t, "_post_accumulate_hooks", {}).values()):
        hook(t)


def retains_grad(t):
    return t.grad_fn is not None and t.grad_fn.retained is not None and t.grad_fn.retained() is t
