"""`gpugrad train --distributed`: every process mpiexec starts trains on its share of each epoch.

The ranks build the same model from the same seed (DistributedDataParallel still broadcasts rank
0's), draw the same augmentation randomness, and deal out each epoch's order with a
DistributedSampler, so a checkpoint of rank 0's state resumes every rank exactly. Rank 0 alone
prints, writes metrics, plots and checkpoints.
"""
import datetime
import os

import numpy as np

from .. import distributed as dist
from ..creation import tensor
from .parts import SetupError, resolve_device

TIMEOUT = datetime.timedelta(minutes=10)  # how long a rank waits for the others before aborting the job


def start(settings):
    """Join the process group for a --distributed run (nccl on real GPUs, else mpi); the rank."""
    if not settings.get("distributed"):
        return 0
    backend = settings.get("dist_backend")
    if backend is None:
        from ..cuda import is_simulated
        backend = "nccl" if resolve_device(settings["device"]).startswith("cuda") and not is_simulated() else "mpi"
    try:
        dist.init_process_group(backend, timeout=TIMEOUT)
    except (ImportError, RuntimeError) as e:
        raise SetupError(f"--distributed: {e}") from None
    world = dist.get_world_size()
    if settings["world_size"] is None:  # a new run; a resumed one keeps the size it was trained on
        settings["world_size"] = world
    if settings["world_size"] != world:
        raise SetupError(f"--resume: the run was trained on {settings['world_size']} processes; continue it "
                         f"with mpiexec -n {settings['world_size']}, not {world}")
    return dist.get_rank()


def is_main():
    """Whether this process reports (rank 0, or the only process)."""
    return not dist.is_initialized() or dist.get_rank() == 0


def wrap(model):
    """The model in DistributedDataParallel for a --distributed run, else itself."""
    if not dist.is_initialized():
        return model
    from ..nn.parallel import DistributedDataParallel
    return DistributedDataParallel(model)


def local_device(device):
    """"cuda" means this rank's own GPU, cuda:(LOCAL_RANK mod the GPUs visible)."""
    if device != "cuda" or not dist.is_initialized():
        return device
    from ..cuda import device_count
    return f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % device_count()}"


def any_rank(flag):
    """True on every rank if `flag` is true on any (a Ctrl-C seen by one stops all at one batch)."""
    if not dist.is_initialized():
        return flag
    t = tensor([flag])
    dist.all_reduce(t, dist.ReduceOp.MAX)
    return bool(t.item())


def totals(*values):
    """The sums of `values` over all ranks (floats)."""
    if not dist.is_initialized():
        return values
    t = tensor(np.array(values, dtype=np.float64))
    dist.all_reduce(t)
    return tuple(t.tolist())
