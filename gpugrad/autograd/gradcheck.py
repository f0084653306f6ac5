"""Finite-difference checks of gradients (float64 central differences), like torch.autograd."""
import numpy as np

from .functional import grad


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    outs = [out] if not isinstance(out, (tuple, list)) else list(out)
    return [o for o in outs if o is not None and o.requires_grad]


def _numerical_jacobian(fn, x, inputs, eps):
    """d(outputs)/d(x) by central differences: one column per element of x."""
    flat = x._data.reshape(-1)
    columns = []
    for j in range(flat.size):
        orig = flat[j].item()
        flat[j] = orig + eps
        plus = [x.backend.to_host(o._data).ravel() for o in _outputs(fn, inputs)]
        flat[j] = orig - eps
        minus = [x.backend.to_host(o._data).ravel() for o in _outputs(fn, inputs)]
        flat[j] = orig
        columns.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    if not columns:  # an empty x: no columns, one row per output element all the same
        return np.zeros((sum(o.numel() for o in _outputs(fn, inputs)), 0))
    return np.stack(columns, axis=1)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, n_vectors=3, seed=0):
    """Check autograd's vector-Jacobian products of fn at `inputs` against finite differences.

    Every input that requires grad must be a contiguous float64 tensor. The numerical Jacobian
    is compared through `n_vectors` random vectors v: vᵀJ from autograd vs vᵀJ numerically.
    Returns True or raises GradcheckError naming the input and the largest difference.
    """
    from ..tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise GradcheckError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs")
        if not inputs[i].is_contiguous():
            raise GradcheckError(f"gradcheck: input {i} is not contiguous")
    outs = _outputs(fn, inputs)
    if not outs:
        raise GradcheckError("gradcheck: no output requires grad")
    rng = np.random.default_rng(seed)
    jac = {i: _numerical_jacobian(fn, inputs[i], inputs, eps) for i in diff}
    for _ in range(n_vectors):
        vs = [rng.standard_normal(o.shape) for o in outs]
        v_flat = np.concatenate([v.ravel() for v in vs])
        seeds = [Tensor(v, dtype=o.dtype, device=o.device) for v, o in zip(vs, outs)]
        analytic = grad(_outputs(fn, inputs), [inputs[i] for i in diff], seeds,
                        retain_graph=True, allow_unused=True)
        for i, a in zip(diff, analytic):
            a = np.zeros(inputs[i].shape) if a is None else np.asarray(a.detach())
            numeric = (v_flat @ jac[i]).reshape(inputs[i].shape)
            if not np.allclose(a, numeric, atol=atol, rtol=rtol):
                err = np.abs(a - numeric).max()
                raise GradcheckError(
                    f"gradcheck: gradient of input {i} (shape {inputs[i].shape}) differs from finite "
                    f"differences by up to {err:.3g}\nanalytic:\n{a}\nnumerical:\n{numeric}")
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=1):
    """gradcheck of fn's gradient itself (built with create_graph=True): second derivatives."""
    from ..tensor import Tensor
    inputs = tuple(inputs)
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    vs = [Tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device) for o in outs]

    def first_grad(*xs):
        grads = grad(_outputs(fn, xs), [x for x in xs if isinstance(x, Tensor) and x.requires_grad], vs,
                     create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_grad, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
