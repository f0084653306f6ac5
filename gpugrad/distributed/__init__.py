"""gpugrad.distributed: collectives across processes started by `mpiexec`, with PyTorch's names.

Backends: "mpi" (mpi4py) reduces CPU tensors, and CUDA tensors by copying them through the
host; "nccl" (CuPy's cupy.cuda.nccl) reduces CUDA tensors on the GPUs, its unique id broadcast
over MPI, and CPU tensors over MPI. Every collective is in place on the tensor's storage and
bumps its version. mpi4py is imported by init_process_group, not by `import gpugrad`.

Failure: each collective waits at most `timeout` (init_process_group's, default 30 minutes as
in PyTorch); past it, the rank prints which collective stalled and aborts the whole job, so a
rank that died or hung never leaves the others waiting forever. An exception nobody catches on
one rank aborts the job at once (as `python -m mpi4py` does), for the same reason.
"""
import datetime
import enum
import os
import sys

from ..tensor import Tensor

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
BACKENDS = ("mpi", "nccl")
_STATE = {"group": None, "excepthook": None}


class ReduceOp(enum.Enum):
    """How all_reduce combines the ranks' values. AVG is SUM divided by the world size (floating
    tensors only); on bool tensors SUM and MAX are a logical or, PRODUCT and MIN a logical and."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def is_available():
    """True when mpi4py, which every backend starts from, is installed."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def init_process_group(backend=None, timeout=None, world_size=-1, rank=-1):
    """Join the processes `mpiexec` started; backend "mpi" (the default) or "nccl".

    Ranks and the world size come from MPI: `world_size` and `rank`, if given, must agree with
    them. Sets RANK, WORLD_SIZE and LOCAL_RANK in os.environ when absent (as torchrun does), so
    a script can pick its GPU with LOCAL_RANK.
    """
    if _STATE["group"] is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    backend = "mpi" if backend is None else str(backend).lower()
    if backend not in BACKENDS:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; choose 'mpi' or 'nccl'")
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"init_process_group: timeout must be a datetime.timedelta, got {timeout!r}")
    from .mpi import MPIGroup
    group = MPIGroup(timeout.total_seconds())
    for name, given, actual in (("world_size", world_size, group.size), ("rank", rank, group.rank)):
        if given not in (-1, actual):
            raise ValueError(f"init_process_group: {name}={given}, but MPI says {actual}")
    if backend == "nccl":
        from .nccl import NCCLGroup
        group = NCCLGroup(group)
    for key, value in (("RANK", group.rank), ("WORLD_SIZE", group.size), ("LOCAL_RANK", group.local_rank)):
        os.environ.setdefault(key, str(value))
    _STATE.update(group=group, excepthook=sys.excepthook)
    if group.size > 1:
        sys.excepthook = _abort_on_uncaught
    return None


def _abort_on_uncaught(kind, value, tb):
    _STATE["excepthook"](kind, value, tb)
    group = _STATE["group"]
    if group is not None:
        group.abort(f"rank {group.rank} raised an uncaught {kind.__name__}")


def is_initialized():
    return _STATE["group"] is not None


def _group():
    group = _STATE["group"]
    if group is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return group


def get_rank():
    return _group().rank


def get_world_size():
    return _group().size


def get_backend():
    return _group().name


def destroy_process_group():
    """Leave the group (MPI itself stays up until the process exits, so a new group may follow)."""
    group = _group()
    sys.excepthook = _STATE["excepthook"]
    _STATE.update(group=None, excepthook=None)
    group.close()


def _check_tensor(fn, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: expected a gpugrad Tensor, got {type(tensor).__name__}")


def all_reduce(tensor, op=ReduceOp.SUM):
    """Combine `tensor` across all ranks with `op`; every rank ends up with the result, in place."""
    _check_tensor("all_reduce", tensor)
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a gpugrad.distributed.ReduceOp, got {op!r}")
    if op is ReduceOp.AVG and tensor.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got {tensor.dtype}")
    group = _group()
    group.all_reduce(tensor, ReduceOp.SUM if op is ReduceOp.AVG else op)
    if op is ReduceOp.AVG:
        tensor._data /= group.size
    tensor._version.value += 1


def broadcast(tensor, src):
    """Copy rank `src`'s `tensor` into every other rank's, in place."""
    _check_tensor("broadcast", tensor)
    group = _group()
    if not isinstance(src, int) or not 0 <= src < group.size:
        raise ValueError(f"broadcast: src must be a rank from 0 to {group.size - 1}, got {src!r}")
    group.broadcast(tensor, src)
    tensor._version.value += 1


def barrier():
    """Return once every rank has called barrier() (and, on GPUs, finished its queued work)."""
    _group().barrier()


def all_gather_object(object_list, obj):
    """Fill `object_list` (of length world size) with every rank's picklable `obj`, by rank."""
    group = _group()
    if not isinstance(object_list, list) or len(object_list) != group.size:
        raise ValueError(f"all_gather_object: object_list must be a list of length {group.size} "
                         "(the world size)")
    object_list[:] = group.all_gather_object(obj)


__all__ = ["ReduceOp", "is_available", "init_process_group", "is_initialized", "get_rank", "get_world_size",
           "get_backend", "destroy_process_group", "all_reduce", "broadcast", "barrier", "all_gather_object"]
