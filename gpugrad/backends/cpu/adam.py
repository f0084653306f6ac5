"""Fused Adam/AdamW: each tensor of a group updated in one parallel Numba pass (param, exp_avg,
exp_avg_sq and max_exp_avg_sq read and written once) in the tensors' own dtype, the update
kernels/adam.cu makes for all of them in one launch on CUDA."""
import numpy as np

from ..fused_adam_args import check_fused_adam, fused_adam_result
from ._numba import numba, parallel_kernel


@parallel_kernel
def _update(p, g, m, v, vmax, scalars, flags):
    lr, beta1, beta2, eps, weight_decay, step_size, bc2_sqrt, one = scalars
    for j in numba.prange(p.size):
        gj, x = g[j], p[j]
        if flags & 4:
            gj = -gj
        if weight_decay != 0:
            if flags & 1:
                x -= lr * weight_decay * x
            else:
                gj += weight_decay * x
        mj = m[j] + (one - beta1) * (gj - m[j])
        vj = beta2 * v[j] + (one - beta2) * gj * gj
        m[j] = mj
        v[j] = vj
        if flags & 2:
            vj = max(vmax[j], vj)
            vmax[j] = vj
        p[j] = x - step_size * mj / (np.sqrt(vj) / bc2_sqrt + eps)


def fused_adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr, beta1, beta2, weight_decay, eps,
               amsgrad, maximize, decoupled):
    """kernel_interface.fused_adam: one pass per tensor, all arithmetic in the tensors' dtype."""
    dtype = check_fused_adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, amsgrad)
    t = dtype.type
    lr, beta1, beta2 = (t(np.asarray(v)) for v in (lr, beta1, beta2))
    flags = int(decoupled) | int(amsgrad) << 1 | int(maximize) << 2
    for i, p in enumerate(params):
        steps[i][...] += 1
        step = t(steps[i].reshape(()))
        step_size, bc2_sqrt = lr / (t(1) - beta1 ** step), np.sqrt(t(1) - beta2 ** step)
        scalars = np.array([lr, beta1, beta2, eps, weight_decay, step_size, bc2_sqrt, 1], dtype)
        vmax = max_exp_avg_sqs[i] if amsgrad else exp_avg_sqs[i]
        _update(p.reshape(-1), np.ascontiguousarray(grads[i], dtype).reshape(-1), exp_avgs[i].reshape(-1),
                exp_avg_sqs[i].reshape(-1), vmax.reshape(-1), scalars, flags)
    return fused_adam_result(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps)
