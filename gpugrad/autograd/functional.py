"""The entry points of the engine: backward() and grad()."""
from .engine import run_backward


def _seed(outputs, grads, caller):
    from ..tensor import Tensor
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grads is None or isinstance(grads, Tensor):
        grads = [grads] * len(outputs) if grads is None else [grads]
    grads = list(grads)
    if len(grads) != len(outputs):
        raise ValueError(f"{caller}: got {len(grads)} gradients for {len(outputs)} outputs")
    seeds = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        if not t.requires_grad:
            raise RuntimeError(
                f"{caller}: output {i} does not require grad and has no grad_fn; did you create it "
                "under no_grad(), or forget requires_grad=True on the inputs?")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{caller}: gradient can be implicitly created only for scalar outputs, but output "
                    f"{i} has shape {t.shape}; pass gradient= a tensor of that shape (or call .sum() first)")
            g = Tensor._make(t.backend.xp.ones(t.shape, dtype=t.dtype), t.device)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=t.dtype, device=t.device)
        if g.shape != t.shape:
            raise RuntimeError(f"{caller}: gradient of shape {g.shape} does not match output {i} of shape {t.shape}")
        if g.device != t.device:
            raise RuntimeError(f"{caller}: gradient on {g.device} but output {i} on {t.device}")
        seeds.append(g if g.dtype == t.dtype else g.to(t.dtype))
    return outputs, seeds


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of `tensors` into the leaves' .grad (only into `inputs`' .grad when
    given: leaves or non-leaf tensors)."""
    roots, seeds = _seed(tensors, grad_tensors, "backward")
    retain = bool(retain_graph) or create_graph
    if inputs is None:
        run_backward(roots, seeds, retain_graph=retain, create_graph=create_graph)
        return
    from ..tensor import Tensor
    from .engine import _accumulate
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"backward: input {i} (shape {t.shape}) does not require grad")
    grads = run_backward(roots, seeds, retain_graph=retain, create_graph=create_graph, capture=inputs)
    for t, g in zip(inputs, grads):
        if g is not None:
            _accumulate(t, g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple; .grad is untouched."""
    from ..tensor import Tensor
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    roots, seeds = _seed(outputs, grad_outputs, "grad")
    retain = create_graph if retain_graph is None else retain_graph
    result = run_backward(roots, seeds, retain_graph=retain, create_graph=create_graph, capture=inputs)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
    return tuple(result)


def _as_tuple(x):
    from ..tensor import Tensor
    return (x,) if isinstance(x, Tensor) else tuple(x)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(*inputs) / d inputs, as torch.autograd.functional.jacobian: for one input and one
    output a tensor of shape output.shape + input.shape; a tuple per input and/or per output
    otherwise. Built row by row with grad(); an output independent of an input gives zeros
    (strict=True raises instead)."""
    from ..creation import zeros
    from .grad_mode import enable_grad
    single_in = not isinstance(inputs, (tuple, list))
    xs = tuple(x.detach().requires_grad_(True) for x in _as_tuple(inputs))
    with enable_grad():
        out = func(*xs)
    single_out = not isinstance(out, (tuple, list))
    outs = _as_tuple(out)
    rows = []
    for o in outs:
        per_input = [[] for _ in xs]
        flat = o.reshape(-1)
        for k in range(flat.numel()):
            grads = (None,) * len(xs)
            if o.requires_grad:
                grads = grad(flat[k], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
            for i, (x, g) in enumerate(zip(xs, grads)):
                if g is None:
                    if strict:
                        raise RuntimeError(f"jacobian: output {len(rows)} does not depend on input {i} "
                                           "(strict=True)")
                    g = zeros(*x.shape, dtype=x.dtype, device=x.device)
                per_input[i].append(g if create_graph else g.detach())
        rows.append(tuple(_stack_rows(gs, o.shape, x.shape) for gs, x in zip(per_input, xs)))
    result = tuple(r[0] if single_in else r for r in rows)
    return result[0] if single_out else result


def _stack_rows(gs, out_shape, in_shape):
    from ..creation import zeros
    from ..ops.join import stack
    if not gs:
        return zeros(*(tuple(out_shape) + tuple(in_shape)))
    return stack(gs).reshape(tuple(out_shape) + tuple(in_shape))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """Second derivatives of a scalar func(*inputs), as torch.autograd.functional.hessian."""
    single_in = not isinstance(inputs, (tuple, list))

    def gradient(*xs):
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError(f"hessian: func must return a single-element tensor, got shape {out.shape}")
        gs = grad(out.reshape(()), xs, create_graph=True, allow_unused=True)
        from ..creation import zeros
        gs = tuple(zeros(*x.shape, dtype=x.dtype, device=x.device) if g is None else g for x, g in zip(xs, gs))
        return gs[0] if single_in else gs

    return jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
