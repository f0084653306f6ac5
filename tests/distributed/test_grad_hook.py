"""Tensor.register_post_accumulate_grad_hook, which DistributedDataParallel fires on."""
import pytest

import gpugrad


def test_runs_once_per_backward_with_the_whole_gradient():
    w = gpugrad.tensor([1.0, -2.0, 3.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * w + w).sum().backward()  # three paths into w: the hook sees their sum, once
    assert seen == [[3.0, -3.0, 7.0]]
    (w * 2).sum().backward()
    assert seen[-1] == [5.0, -1.0, 9.0] and len(seen) == 2  # after accumulating into .grad
    handle.remove()
    w.sum().backward()
    assert len(seen) == 2


def test_not_for_autograd_grad_nor_for_non_leaves():
    w = gpugrad.tensor([1.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(seen.append)
    gpugrad.autograd.grad((w * 3).sum(), [w])  # nothing is accumulated into .grad
    assert seen == []
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(seen.append)
