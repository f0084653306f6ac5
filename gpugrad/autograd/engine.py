"""The backward pass, shared by every device: iterative topological order, no recursion.

1. Walk the graph from the roots with an explicit stack, counting for each node how many
   edges point into it.
2. Process nodes whose count is zero (Kahn's algorithm): call backward, fit each gradient to
   its input (the one unbroadcast), add it to the next node's buffer or to a leaf.
Saved tensors are freed as each node is done unless retain_graph.
"""
import weakref

from .. import profiler
from .custom import OutputGrads
from .fit import fit
from .function import Node, tensor_class
from .graph import run_grad_hooks, run_post_accumulate_hooks
from .grad_mode import set_grad_enabled


def run_backward(roots, grads, retain_graph=False, create_graph=False, capture=None):
    """Backpropagate `grads` (Tensors) from `roots`.

    With `capture` (a list of tensors) gradients are returned for those tensors instead of
    being accumulated into leaves' `.grad` (that is autograd.grad).
    """
    captured = {} if capture is not None else None
    hooked = {}  # leaves with post-accumulate-grad hooks that got a gradient, in arrival order
    capture_ids = {id(t) for t in capture} if capture is not None else None
    capture_nodes = {t.grad_fn: t for t in capture if t.grad_fn is not None} if capture else {}

    def deliver(leaf, g):
        g = run_grad_hooks(leaf, g)
        if captured is not None:
            if id(leaf) in capture_ids:
                captured[id(leaf)] = g if id(leaf) not in captured else captured[id(leaf)] + g
        else:
            _accumulate(leaf, g, create_graph)
            if getattr(leaf, "_post_accumulate_hooks", None):
                hooked[id(leaf)] = leaf

    with set_grad_enabled(create_graph):
        buffers = {}
        for t, g in zip(roots, grads):
            if t.grad_fn is None:
                deliver(t, g)
            else:
                node = t.grad_fn
                buffers[node] = g if node not in buffers else buffers[node] + g
        deps = _count_dependencies(list(buffers))
        ready = [n for n in buffers if deps[n] == 0]
        while ready:
            node = ready.pop()
            g = buffers.pop(node, None)
            if g is not None:
                _visit(node, g, retain_graph, create_graph, captured, capture_nodes, buffers, deliver)
            for edge in node.next_edges:
                if isinstance(edge, Node):
                    deps[edge] -= 1
                    if deps[edge] == 0:
                        ready.append(edge)
        for leaf in hooked.values():  # once per backward, when every gradient has been added
            run_post_accumulate_hooks(leaf)
    if captured is not None:
        return [captured.get(id(t)) for t in capture]


def _visit(node, g, retain_graph, create_graph, captured, capture_nodes, buffers, deliver):
    g = run_grad_hooks(node, g)
    if node.retained is not None and node.retained() is not None:
        _accumulate(node.retained(), g, create_graph)
    if node in capture_nodes:
        key = id(capture_nodes[node])
        captured[key] = g if key not in captured else captured[key] + g
    if node.released:
        node.saved_tensors  # raises the "backward through the graph a second time" error
    node.backend.activate()  # arrays the backward allocates go to the node's device
    if profiler._session is None:
        out = node.fn.backward(node, g)
    else:
        out = profiler.record("op", node.name, node.device, node.fn.backward, node, g)
    out = out if isinstance(out, tuple) else (out,)
    if len(out) != len(node.next_edges):
        raise RuntimeError(f"{node.name} returned {len(out)} gradients for {len(node.next_edges)} inputs")
    if not retain_graph:
        node.release()
    for i, (edge, grad) in enumerate(zip(node.next_edges, out)):
        if edge is None or grad is None:
            continue
        if not isinstance(grad, OutputGrads):  # a custom function's output slot hands on its gradient
            grad = fit(_as_tensor(grad, node), *node.input_meta[i], node, i)
            if create_graph and node.fn.once_differentiable:
                grad = _no_double_backward(grad, node)
        if isinstance(edge, Node):
            buffers[edge] = grad if edge not in buffers else buffers[edge] + grad
        else:
            deliver(edge, grad)


def _count_dependencies(roots):
    deps = {n: 0 for n in roots}
    stack, seen = list(roots), set(roots)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if isinstance(edge, Node):
                deps[edge] = deps.get(edge, 0) + 1
                if edge not in seen:
                    seen.add(edge)
                    stack.append(edge)
    return deps


def _as_tensor(grad, node):
    Tensor = tensor_class()
    return grad if isinstance(grad, Tensor) else Tensor._make(grad, node.device)


def _accumulate(t, g, create_graph):
    """t.grad += g; the first gradient is copied so .grad never aliases another array, and is a
    plain Tensor even when t is a Parameter."""
    Tensor = tensor_class()
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = Tensor._make(g._data.copy(), t.device)
    else:
        t.grad._accumulate(g._data)


def _no_double_backward(grad, node):
    """Mark a gradient computed outside the graph so a second backward through it raises."""
    Tensor = tensor_class()
    err = Node(_DoubleBackwardError, grad.device, (False,))
    err.next_edges, err.input_meta, err._saved, err.op = (None,), (), [], node.name
    return Tensor._make(grad._data, grad.device, grad_fn=err)


class _DoubleBackwardError:
    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"{ctx.op}: double backward (create_graph through this op) is not implemented")


def watch(t):
    """Let `t.grad` be filled for a non-leaf tensor (Tensor.retain_grad)."""
    t.grad_fn.retained = weakref.ref(t)
