"""The arguments of the fused Adam kernels (kernel_interface.fused_adam), checked the same way
on every backend, and what those kernels return."""
import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_fused_adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, amsgrad):
    """The one float dtype of every tensor (a ValueError naming what differs)."""
    lists = dict(grads=grads, exp_avgs=exp_avgs, exp_avg_sqs=exp_avg_sqs, steps=steps)
    if amsgrad:
        lists["max_exp_avg_sqs"] = max_exp_avg_sqs
    for name, arrays in lists.items():
        if len(arrays) != len(params):
            raise ValueError(f"fused_adam: {len(params)} params but {len(arrays)} {name}")
    dtype = np.dtype(params[0].dtype) if params else np.dtype(np.float32)
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"fused_adam: params of {dtype} (float32 or float64 only)")
    for name, arrays in dict(params=params, **lists).items():
        for i, a in enumerate(arrays):
            if name != "grads" and (a.dtype != dtype or not a.flags.c_contiguous):
                raise ValueError(f"fused_adam: {name}[{i}] is {'not contiguous' if a.dtype == dtype else a.dtype}; "
                                 f"every tensor must be a contiguous {dtype} array")
            if name == "steps" and a.size != 1:
                raise ValueError(f"fused_adam: steps[{i}] has {a.size} elements, a step count has one")
            if name != "steps" and a.shape != params[i].shape:
                raise ValueError(f"fused_adam: {name}[{i}] has shape {a.shape}, its param {params[i].shape}")
    return dtype


def fused_adam_result(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps):
    """What fused_adam returns: the arrays it updated, in one flat tuple."""
    return (*params, *exp_avgs, *exp_avg_sqs, *max_exp_avg_sqs, *steps)
