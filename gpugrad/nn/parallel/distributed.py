"""DistributedDataParallel: the same module on every rank, its gradients averaged after backward.

Each rank runs forward and backward on its own batch; as backward finishes each parameter's
gradient (a post-accumulate-grad hook), the parameter is marked ready, and a bucket whose
parameters are all ready is averaged across ranks in one all_reduce of its flattened gradients.
Averaging the per-rank mean losses' gradients gives the gradient of the mean loss over the
global batch, so every rank's optimizer takes the same step as one process on that batch.
"""
import weakref

from ... import distributed as dist
from ...autograd import is_grad_enabled, no_grad
from ...device import as_device
from ...tensor import Tensor
from ..module import Module

BROADCAST_BUCKET_BYTES = 250 * 2**20  # what PyTorch uses to sync module states at construction


class DistributedDataParallel(Module):
    """Replicate `module` on every rank (of gpugrad.distributed's group) and average gradients.

    At construction the parameters' and buffers' names, shapes and dtypes are compared across
    ranks (a RuntimeError on every rank names the first difference), then rank 0's parameters
    and buffers are broadcast to all. Gradients are averaged in flattened buckets of at most
    `bucket_cap_mb` megabytes, filled in reverse parameter order (roughly the order backward
    finishes them): a small model needs one all_reduce per step. With `broadcast_buffers`, rank
    0's buffers (batch-norm statistics) are broadcast before every forward that records a graph.

    Every parameter that requires grad must get a gradient in each backward (PyTorch's default,
    find_unused_parameters=False), and each backward needs its own forward through this wrapper.
    As in PyTorch, state_dict() keys start with "module."; `ddp.module.state_dict()` is the
    wrapped module's own, which a single process can load.
    """

    def __init__(self, module, device_ids=None, broadcast_buffers=True, bucket_cap_mb=25):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a gpugrad.nn.Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: call gpugrad.distributed.init_process_group() first")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self.module, self.broadcast_buffers = module, broadcast_buffers
        states = list(module.parameters()) + list(module.buffers())
        _check_device_ids(device_ids, states)
        _check_same_on_every_rank(module)
        _broadcast_from_rank_0(states)
        params = [p for p in module.parameters() if p.requires_grad]
        self._grad_buckets = _buckets(params[::-1], bucket_cap_mb * 2**20)
        self._bucket_of = {id(p): i for i, bucket in enumerate(self._grad_buckets) for p in bucket}
        self._ready = [0] * len(self._grad_buckets)  # gradients ready per bucket in this backward
        self._armed, self._left = False, 0  # a forward armed the hooks; buckets still to reduce
        me = weakref.ref(self)
        for p in params:
            p.register_post_accumulate_grad_hook(lambda p: me() is not None and me()._grad_ready(p))

    def forward(self, *args, **kwargs):
        if is_grad_enabled():
            self._arm()
            if self.broadcast_buffers:
                _broadcast_from_rank_0(list(self.module.buffers()))
        return self.module(*args, **kwargs)

    def _arm(self):
        if any(self._ready) or 0 < self._left < len(self._grad_buckets):
            names = {id(p): n for n, p in self.module.named_parameters()}
            missing = [names[id(p)] for bucket in self._grad_buckets for p in bucket if p.grad is None]
            raise RuntimeError("DistributedDataParallel: expected to have finished reduction in the prior iteration "
                               "before starting a new one: some parameters got no gradient in the last backward "
                               f"({', '.join(missing) or 'see which parameters the loss does not use'}); every "
                               "parameter that requires grad must be used in producing the loss")
        self._armed, self._left = True, len(self._grad_buckets)

    def _grad_ready(self, p):
        if not self._armed:
            raise RuntimeError("DistributedDataParallel: a backward without a forward of its own; run the "
                               "forward through DistributedDataParallel before each backward")
        i = self._bucket_of[id(p)]
        self._ready[i] += 1
        if self._ready[i] == len(self._grad_buckets[i]):
            self._ready[i] = 0
            with no_grad():
                _coalesced([q.grad for q in self._grad_buckets[i]],
                           lambda flat: dist.all_reduce(flat, dist.ReduceOp.AVG))
            self._left -= 1
            self._armed = self._left > 0


def _check_device_ids(device_ids, states):
    """device_ids, as in PyTorch, is None or the one device (index) the module lives on."""
    if device_ids is None:
        return
    devices = {t.device for t in states}
    wanted = [as_device(f"cuda:{d}" if isinstance(d, int) else d) for d in device_ids]
    if len(wanted) != 1 or devices - set(wanted):
        raise ValueError(f"DistributedDataParallel: device_ids={device_ids!r} must name the one device the "
                         f"module is on ({', '.join(sorted(map(str, devices)))})")


def _check_same_on_every_rank(module):
    mine = [("parameter", n, tuple(t.shape), str(t.dtype)) for n, t in module.named_parameters()]
    mine += [("buffer", n, tuple(t.shape), str(t.dtype)) for n, t in module.named_buffers()]
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, mine)
    first = everyone[0]
    for rank, theirs in enumerate(everyone):
        if theirs == first:
            continue
        for a, b in zip(first, theirs):
            if a != b:
                detail = (f"rank {rank} has {b[0]} {b[1]} of shape {b[2]} and dtype {b[3]} where rank 0 has "
                          f"{a[0]} {a[1]} of shape {a[2]} and dtype {a[3]}")
                break
        else:
            detail = f"rank {rank} has {len(theirs)} parameters and buffers, rank 0 has {len(first)}"
        raise RuntimeError(f"DistributedDataParallel expects the same model on every rank: {detail}")


def _broadcast_from_rank_0(tensors):
    with no_grad():
        for bucket in _buckets(tensors, BROADCAST_BUCKET_BYTES):
            _coalesced(bucket, lambda flat: dist.broadcast(flat, 0))


def _buckets(tensors, cap_bytes):
    """Consecutive runs of tensors of one device and dtype, each at most cap_bytes (or one tensor)."""
    buckets, size = [], 0
    for t in tensors:
        nbytes = t.numel() * t.dtype.itemsize
        last = buckets[-1] if buckets else None
        if last is None or (t.device, t.dtype) != (last[0].device, last[0].dtype) or size + nbytes > cap_bytes:
            buckets.append([t])
            size = nbytes
        else:
            last.append(t)
            size += nbytes
    return buckets


def _coalesced(tensors, collective):
    """Run `collective` on one flat tensor holding `tensors`, then copy the result back into them."""
    xp = tensors[0].backend.xp
    flat = Tensor._make(xp.concatenate([t._data.ravel() for t in tensors]), tensors[0].device)
    collective(flat)
    offset = 0
    for t in tensors:
        t._data[...] = flat._data[offset:offset + t.numel()].reshape(t.shape)
        t._version.value += 1
        offset += t.numel()
