"""The tensor-level path of autograd.Function: custom functions as PyTorch's docs write them.

`forward(ctx, *args, **kwargs)` (or `forward(*args)` plus `setup_context(ctx, inputs, output)`)
runs under no_grad on the Tensors themselves, so it works on every device. `backward(ctx,
*grad_outputs)` gets one gradient per output and returns one per positional input (None
allowed); written with Tensor ops it records a graph under create_graph=True, so double
backward works. The ctx is the call's graph node. With several differentiable outputs each
output's grad_fn is a slot node that hands its gradient to the function's node (OutputGrads,
summed by the engine like any gradient), which calls backward once with all of them.
"""
from .function import Function, Node, check_same_device
from .grad_mode import is_grad_enabled, no_grad


def apply(cls, *args, **kwargs):
    """Run cls.forward on the Tensors and record a FunctionCtx if an input requires grad."""
    from ..device import as_device
    from ..tensor import Tensor
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    dev = check_same_device(cls.__name__.lower(), *tensors) if tensors else as_device("cpu")
    record = is_grad_enabled() and any(t.requires_grad for t in args if isinstance(t, Tensor))
    needs = tuple(record and isinstance(a, Tensor) and a.requires_grad for a in args)
    ctx = FunctionCtx(_node_fn(cls), dev, needs)
    with no_grad():
        if cls.setup_context is Function.setup_context:
            outputs = cls.forward(ctx, *args, **kwargs)
        else:
            outputs = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, outputs)
    outs = outputs if isinstance(outputs, tuple) else (outputs,)
    diff = [i for i, o in enumerate(outs) if record and isinstance(o, Tensor) and o.dtype.kind == "f"
            and not any(o is m for m in ctx._non_differentiable)]
    result = [o.detach() if isinstance(o, Tensor) and o.requires_grad else o for o in outs]
    if diff:
        ctx._record(args, outs, diff, result)
    return tuple(result) if isinstance(outputs, tuple) else result[0]


class FunctionCtx(Node):
    """What a custom Function's forward and backward get as ctx (PyTorch's FunctionCtx)."""

    def __init__(self, fn, dev, needs_input_grad):
        super().__init__(fn, dev, needs_input_grad)
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        """Keep these tensors (inputs, outputs or others; None allowed) for backward."""
        from ..tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}; keep other values as ctx attributes")
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs (indices, masks) that never require grad."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        """With False, backward gets None instead of zeros for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def _record(self, args, outs, diff, result):
        from ..tensor import Tensor
        self.next_edges = tuple((a.grad_fn if a.grad_fn is not None else a) if need else None
                                for a, need in zip(args, self.needs_input_grad))
        self.input_meta = tuple((a.shape, a.dtype) if isinstance(a, Tensor) else (None, None) for a in args)
        self.out_meta = tuple((o.shape, o.dtype) if isinstance(o, Tensor) else None for o in outs)
        self._slots = {i: self if len(diff) == 1 else _slot(self, i) for i in diff}
        for i in diff:
            result[i] = Tensor._make(outs[i]._data, outs[i].device, grad_fn=self._slots[i],
                                     version=outs[i]._version)
        saved = []
        for t in self._to_save:
            out_idx = next((i for i in diff if t is outs[i]), None)
            if t is None:
                saved.append(("none", None, 0))
            elif out_idx is not None:  # kept as its array: a tensor holding its own node is a cycle
                saved.append(("out", (t._data, t.device, out_idx, t._version), t._version.value))
            else:
                saved.append(("tensor", t, t._version.value))
        self._saved = saved
        del self._to_save, self._non_differentiable

    @property
    def saved_tensors(self):
        from ..tensor import Tensor
        from .function import _check_version
        result = []
        for kind, obj, version in self._saved_or_raise():
            if kind == "out":
                arr, dev, idx, ver = obj
                _check_version(self, ver.value, version, arr.shape)
                result.append(Tensor._make(arr, dev, grad_fn=self._slots[idx], version=ver))
            elif kind == "tensor":
                _check_version(self, obj._version.value, version, obj.shape)
                result.append(obj)
            else:
                result.append(None)
        return tuple(result)


class OutputGrads:
    """Gradients of a custom function's outputs by output index; + merges them."""

    def __init__(self, grads):
        self.grads = grads

    def __add__(self, other):
        merged = dict(self.grads)
        for i, g in other.grads.items():
            merged[i] = g if i not in merged else merged[i] + g
        return OutputGrads(merged)


def _node_fn(cls):
    """The class the engine calls for cls's nodes: named like cls (ExpBackward), its backward
    hands the user's backward one gradient per output and checks what comes back."""
    if "_node_fn" not in cls.__dict__:
        def backward(ctx, g):
            grads = g.grads if isinstance(g, OutputGrads) else {next(iter(ctx._slots)): g}
            full = [grads.get(i) for i in range(len(ctx.out_meta))]
            for i, meta in enumerate(ctx.out_meta):
                if full[i] is None and meta is not None and ctx.materialize_grads:
                    full[i] = _zeros(ctx, *meta)
            out = cls.backward(ctx, *full)
            out = out if isinstance(out, tuple) else (out,)
            n = len(ctx.next_edges)
            if len(out) > n and all(o is None for o in out[n:]):
                out = out[:n]
            if len(out) != n:
                raise RuntimeError(f"function {ctx.name} returned an incorrect number of gradients "
                                   f"(expected {n}, got {len(out)})")
            for i, (grad, (shape, _)) in enumerate(zip(out, ctx.input_meta)):
                if grad is not None and shape is None:
                    raise RuntimeError(f"function {ctx.name} returned a gradient different than None at "
                                       f"position {i + 1}, but the corresponding forward input was not a Tensor")
            return out
        cls._node_fn = type(cls.__name__, (), {
            "backward": staticmethod(backward),
            "once_differentiable": getattr(cls.backward, "once_differentiable", False),
            "slot": type(cls.__name__, (_Slot,), {})})
    return cls._node_fn


def _zeros(ctx, shape, dtype):
    from ..tensor import Tensor
    return Tensor._make(ctx.xp.zeros(shape, dtype), ctx.device)


class _Slot:
    """The node behind one of several differentiable outputs: its gradient goes to the
    function's node as OutputGrads."""
    once_differentiable = False

    @staticmethod
    def backward(ctx, g):
        return (OutputGrads({ctx.index: g}),)


def _slot(ctx, index):
    node = Node(ctx.fn.slot, ctx.device, (True,))
    node.index, node.next_edges, node.input_meta = index, (ctx,), ((None, None),)
    node._saved = []
    return node
