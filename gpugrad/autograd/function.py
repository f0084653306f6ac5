"""Function: an op's forward and backward, side by side; Node: the record of one call.

`gpugrad.autograd.Function` is PyTorch's class. A subclass defined outside the gpugrad package
(a user's) gets PyTorch's calling convention, forward on Tensors (custom.py). gpugrad's own ops,
defined inside the package, take the array-level path described here, which wraps no
intermediate in a Tensor (a class may also choose by setting `_on_arrays`):
`forward(ctx, *arrays, **params)` computes with `ctx.xp` (NumPy or CuPy) or `ctx.kernels`,
so one Function serves every device. `backward(ctx, grad)` returns one gradient per input
(None where `ctx.needs_input_grad[i]` is false) written with Tensor ops: run with grad mode
on (create_graph=True) those ops record a graph, which is how second derivatives come free.
Gradients may keep a broadcast shape: the engine sums them back to each input's shape.

The ctx of a call is also its graph node (the output's `grad_fn`).
"""
import functools

from .. import profiler
from .grad_mode import is_grad_enabled, no_grad


@functools.cache
def tensor_class():
    """gpugrad.Tensor, imported on first use (tensor.py imports this module); cached, since a
    function-level import costs microseconds on every op."""
    from ..tensor import Tensor
    return Tensor


@functools.cache
def _backend_lookup():
    from ..backends import get_backend
    from ..backends.half import kernels_for
    return get_backend, kernels_for


class Function:
    """Subclass with staticmethods forward and backward (and optionally setup_context), then
    call `YourFunction.apply(*args)`."""

    differentiable = True    # False for comparisons, argmax, ...: output never requires grad
    once_differentiable = False  # backward works on arrays only: no double backward
    changes_device = False   # the output lives on params["device"] (device copies)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_on_arrays" not in cls.__dict__:  # set explicitly, a class chooses its path itself
            cls._on_arrays = cls.__module__.startswith("gpugrad.")

    @staticmethod
    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch's newer style: forward(*args) without ctx, then this fills ctx."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and record a node if any input needs a gradient.

        A forward may return a tuple (output, *extras) whose extras it declared with
        ctx.mark_non_differentiable, e.g. max's values and indices; apply then returns a
        tuple of Tensors too.
        """
        if not cls._on_arrays:
            from .custom import apply
            return apply(cls, *inputs, **params)
        Tensor = tensor_class()
        tensor_params = [v for v in params.values() if isinstance(v, Tensor)] if params else ()
        dev = inputs[0].device
        if any(t.device is not dev for t in inputs[1:]) or tensor_params:
            dev = check_same_device(cls.__name__.lower(), *inputs, *tensor_params)
        if tensor_params:  # tensors passed as options (a target, a mask) reach forward as arrays
            params = {k: v._data if isinstance(v, Tensor) else v for k, v in params.items()}
        needs = tuple(t._requires_grad for t in inputs)
        record = cls.differentiable and any(needs) and is_grad_enabled()
        ctx = Node(cls, dev, needs if record else (False,) * len(inputs))
        arrays = tuple(t._data for t in inputs)
        if profiler._session is None:
            result = cls.forward(ctx, *arrays, **params)
        else:
            result = profiler.record("op", cls.__name__, dev, cls.forward, ctx, *arrays, **params)
        out_arr, extras = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
        if extras or ctx._non_differentiable:
            _check_extras(cls, result, out_arr, extras, ctx._non_differentiable)
        record = record and out_arr.dtype.kind == "f"  # an int or bool result never requires grad
        out_dev = params["device"] if cls.changes_device else dev
        out = Tensor._make(out_arr, out_dev, grad_fn=ctx if record else None,
                           version=None if cls.changes_device else _shared_version(ctx.xp, out_arr, inputs))
        extras = tuple(Tensor._make(e, out_dev) for e in extras)
        if record:
            ctx._record(inputs, arrays, out, extras)
        return (out,) + extras if extras else out


def _check_extras(cls, result, out_arr, extras, non_differentiable):
    if any(not any(e is m for m in non_differentiable) for e in extras):
        raise RuntimeError(f"{cls.__name__}.forward returned {len(result)} outputs: declare each one "
                           "after the first with ctx.mark_non_differentiable")
    if any(out_arr is m for m in non_differentiable):
        raise RuntimeError(f"{cls.__name__}.forward marked its first output non-differentiable; "
                           "a Function without a differentiable output sets differentiable = False")


def _shared_version(xp, out, inputs):
    """A view of input 0 (reshape, slice, transpose...) shares its in-place version counter."""
    if inputs and out is not inputs[0]._data and xp.may_share_memory(out, inputs[0]._data):
        return inputs[0]._version
    return None


def check_same_device(op, *tensors):
    """The one device all of an op's tensors are on, or a RuntimeError naming the two found."""
    dev = tensors[0].device
    for t in tensors[1:]:
        if t.device != dev:
            raise RuntimeError(
                f"{op}: expected all tensors on one device, got {dev} and {t.device}; "
                "move them with .to(device) first")
    return dev


class Node:
    """The record of one Function call: edges to the inputs' nodes, saved tensors, metadata."""

    def __init__(self, fn, dev, needs_input_grad):
        self.fn = fn
        self.device = dev
        self.backend = _backend_lookup()[0](dev)
        self.xp = self.backend.xp
        self.needs_input_grad = needs_input_grad
        self._to_save = ()
        self._non_differentiable = ()
        self._saved = None
        self.released = False
        self.retained = None  # weak reference to the output when .retain_grad() was called

    @property
    def kernels(self):
        """The device's kernels; on float16 arrays they compute in float32 and return float16."""
        return _backend_lookup()[1](self.backend)

    @property
    def name(self):
        """"ExpBackward": reads as node.name (gpugrad) and node.name() (PyTorch)."""
        return _Name(self.fn.__name__ + "Backward")

    @property
    def next_functions(self):
        """((node, 0) or (AccumulateGrad, 0) or (None, 0), ...) per input, as PyTorch shows them."""
        return tuple((None if e is None else e if isinstance(e, Node) else AccumulateGrad(e), 0)
                     for e in getattr(self, "next_edges", ()))

    def __repr__(self):
        return f"<{self.name}>"

    def save_for_backward(self, *arrays):
        """Keep these arrays for backward. Inputs and the output (the very array forward
        returns) come back as tensors in the graph, non-differentiable outputs as those
        tensors, all three checked against in-place changes; any other array comes back as a
        constant. All are freed after backward (unless retain_graph)."""
        self._to_save = arrays

    def mark_non_differentiable(self, *arrays):
        """Declare outputs of forward after the first (indices, masks) that carry no gradient;
        apply returns them as tensors that never require grad (PyTorch's name)."""
        self._non_differentiable = arrays

    def _record(self, inputs, arrays, out, extras=()):
        self.next_edges = tuple(
            (t.grad_fn if t.grad_fn is not None else t) if need else None
            for t, need in zip(inputs, self.needs_input_grad))
        self.input_meta = tuple((t.shape, t.dtype) for t in inputs)
        self._out_shape = out.shape
        self._out_version = out._version
        saved = []
        for a in self._to_save:
            idx = next((i for i, x in enumerate(arrays) if a is x), None)
            if a is None:
                saved.append(("none", None, 0))
            elif idx is not None:
                saved.append(("in", inputs[idx], inputs[idx]._version.value))
            elif a is out._data:
                saved.append(("out", a, out._version.value))
            elif (extra := next((e for e in extras if a is e._data), None)) is not None:
                saved.append(("extra", extra, extra._version.value))  # a non-differentiable output
            else:
                saved.append(("const", a, 0))
        self._saved = saved
        del self._to_save, self._non_differentiable

    @property
    def saved_tensors(self):
        """The saved arrays as Tensors: inputs as themselves, the output as a tensor of this node."""
        Tensor = tensor_class()
        result = []
        for kind, obj, version in self._saved_or_raise():
            if kind in ("in", "extra"):
                _check_version(self, obj._version.value, version, obj.shape)
                result.append(obj)
            elif kind == "out":
                _check_version(self, self._out_version.value, version, obj.shape)
                result.append(Tensor._make(obj, self.device, grad_fn=self, version=self._out_version))
            elif kind == "const":
                result.append(Tensor._make(obj, self.device))
            else:
                result.append(None)
        return tuple(result)

    def _saved_or_raise(self):
        if self._saved is None:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time (its saved "
                "tensors were freed after the first backward); pass retain_graph=True to the "
                "first backward() if you need to call it twice")
        return self._saved

    @property
    def saved_arrays(self):
        """The saved values as raw arrays (for backward passes that call kernels)."""
        return tuple(None if t is None else t._data for t in self.saved_tensors)

    def release(self):
        """Free saved tensors after a backward without retain_graph."""
        self._saved = None
        self.released = True


class _Name(str):
    """A str that is also callable, so both node.name and node.name() read it."""

    def __call__(self):
        return str(self)


class AccumulateGrad:
    """The node PyTorch shows for a leaf in next_functions; .variable is the leaf."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __repr__(self):
        return "<AccumulateGrad>"


def once_differentiable(backward):
    """Decorate a custom Function's backward that is not itself differentiable: it runs under
    no_grad, and a double backward through it raises (PyTorch's torch.autograd.function name)."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    wrapper.once_differentiable = True
    return wrapper


def _check_version(node, now, then, shape):
    if now != then:
        raise RuntimeError(
            f"{node.name}: a tensor of shape {tuple(shape)} saved for backward was modified by an "
            f"in-place operation (version {then} -> {now}); don't modify it in place before "
            "backward(), or pass a .clone() to the op")


from .custom import FunctionCtx  # noqa: E402,F401  (torch.autograd.function.FunctionCtx, for type hints)
