"""The runner the API tests share: one function written against the API gpugrad and torch
have in common, run by both on random float64 inputs; outputs compared (values and integer
outputs), gradients compared through the same random upstream gradient, and each float output
gradchecked on the device."""
import numpy as np
import torch

import gpugrad
from gpugrad.autograd import gradcheck

RTOL, ATOL = 1e-9, 1e-11


def _outs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if isinstance(t, gpugrad.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def check(fn, arrays, device, grad=True, gradcheck_=True, rtol=RTOL, atol=ATOL, constant=()):
    """fn(L, *xs) on gpugrad (on `device`) and on torch agree in values and gradients; float64
    inputs require grad unless their position is in `constant` (e.g. loss weights)."""
    arrays = [np.asarray(a) for a in arrays]
    diff = [a.dtype == np.float64 and i not in constant for i, a in enumerate(arrays)]
    gx = [gpugrad.tensor(a, device=device, requires_grad=grad and d) for a, d in zip(arrays, diff)]
    tx = [torch.tensor(a, requires_grad=grad and d) for a, d in zip(arrays, diff)]
    gouts, touts = _outs(fn(gpugrad, *gx)), _outs(fn(torch, *tx))
    assert len(gouts) == len(touts)
    for i, (g, t) in enumerate(zip(gouts, touts)):
        if not isinstance(t, torch.Tensor):
            assert g == t, f"output {i}: {g} vs torch {t}"
            continue
        assert isinstance(g, gpugrad.Tensor) and g.device.type == device, f"output {i}: {g!r}"
        assert tuple(g.shape) == tuple(t.shape), f"output {i}: shape {g.shape} vs torch {tuple(t.shape)}"
        gn, tn = _np(g), _np(t)
        assert str(gn.dtype) == str(tn.dtype), f"output {i}: {gn.dtype} vs {tn.dtype}"
        np.testing.assert_allclose(gn, tn, rtol=rtol, atol=atol, err_msg=f"output {i} forward")
        assert g.requires_grad == t.requires_grad, f"output {i}: requires_grad {g.requires_grad}"
    pairs = [(g, t) for g, t in zip(gouts, touts) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not pairs:
        return
    rng = np.random.default_rng(7)
    vs = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    sum((g * gpugrad.tensor(v, device=device)).sum() for (g, _), v in zip(pairs, vs)).backward()
    sum((t * torch.tensor(v)).sum() for (_, t), v in zip(pairs, vs)).backward()
    for i, (a, b) in enumerate(zip(gx, tx)):
        if b.requires_grad:
            tg = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
            ag = np.zeros(a.shape) if a.grad is None else _np(a.grad)
            np.testing.assert_allclose(ag, tg, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
    if gradcheck_:
        inputs = [gpugrad.tensor(a, device=device, requires_grad=d) for a, d in zip(arrays, diff)]
        assert gradcheck(lambda *xs: tuple(o for o in _outs(fn(gpugrad, *xs))
                                           if isinstance(o, gpugrad.Tensor) and o.requires_grad), inputs)
