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


def backward(tensors, grad_tensors=None, retain_graph=False, create_graph=False):
    """Accumulate gradients of `tensors` into the leaves' .grad."""
    roots, seeds = _seed(tensors, grad_tensors, "backward")
    run_backward(roots, seeds, retain_graph=retain_graph or create_graph, create_graph=create_graph)


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
