"""einsum: Einstein summation over the operands' labelled dims.

The gradient of operand i is itself an einsum: the output gradient contracted with the other
operands onto operand i's labels; labels only operand i has (summed away) are broadcast back.
"""
import functools
import string

from .. import dtypes
from ..autograd import Function
from ..tensor import Tensor
from ._args import cast


class Einsum(Function):
    @staticmethod
    def forward(ctx, *arrays, inputs, output):
        ctx.inputs, ctx.output = inputs, output
        ctx.save_for_backward(*arrays)
        return ctx.xp.einsum(",".join(inputs) + "->" + output, *arrays)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads = []
        for i, labels in enumerate(ctx.inputs):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(lab, t) for j, (lab, t) in enumerate(zip(ctx.inputs, ops)) if j != i]
            present = set(ctx.output).union(*[set(lab) for lab, _ in others])
            kept = "".join(c for c in labels if c in present)
            gi = Einsum.apply(g, *[t for _, t in others], inputs=(ctx.output,) + tuple(lab for lab, _ in others),
                              output=kept)
            shape = ops[i].shape
            gi = gi.reshape([s if c in present else 1 for c, s in zip(labels, shape)])
            grads.append(gi.expand(*shape))
        return tuple(grads)


def _parse(equation, operands):
    """Each operand's labels and the output's, with '...' spelled out as upper-case labels."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum: the equation {equation!r} names {len(terms)} operands, got {len(operands)}")
    spare = [c for c in string.ascii_uppercase if c not in eq][::-1]
    n_ell = max([t.ndim - len(term.replace("...", "")) for term, t in zip(terms, operands) if "..." in term] or [0])
    ell = "".join(spare[:n_ell][::-1])
    inputs = []
    for term, t in zip(terms, operands):
        if "..." in term:
            k = t.ndim - len(term.replace("...", ""))
            term = term.replace("...", ell[n_ell - k:] if k else "")
        if len(term) != t.ndim:
            raise RuntimeError(f"einsum: operand of shape {t.shape} has {t.ndim} dims but its subscripts "
                               f"{term!r} name {len(term)}")
        if len(set(term)) != len(term):
            raise NotImplementedError(f"einsum: a label repeated within one operand ({term!r}, a diagonal) "
                                      "is not supported")
        inputs.append(term)
    if arrow:
        output = rhs.replace("...", ell)
    else:
        counts = "".join(inputs)
        output = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    for c in output:
        if not any(c in term for term in inputs):
            raise RuntimeError(f"einsum: output label {c!r} does not appear in any operand of {equation!r}")
    return tuple(inputs), output


def einsum(equation, *operands):
    """torch.einsum(equation, *operands) (operands may also come as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not all(isinstance(t, Tensor) for t in operands):
        raise TypeError("einsum: every operand must be a tensor")
    inputs, output = _parse(equation, operands)
    dt = functools.reduce(dtypes.promote, [t.dtype for t in operands])
    return Einsum.apply(*[cast(t, dt) for t in operands], inputs=inputs, output=output)


__all__ = ["einsum"]
