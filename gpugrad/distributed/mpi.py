"""The "mpi" backend: mpi4py collectives on host buffers, each waited on by a watchdog.

A collective is started nonblocking (Iallreduce, Ibcast, Ibarrier...) and polled with Test until
it completes or the group's timeout passes; then the rank says which collective stalled and
aborts the job (MPI_Abort), since MPI can't recover from a lost rank. CUDA tensors go through a
host copy; contiguous CPU tensors are reduced where they lie.
"""
import contextlib
import pickle
import sys
import time

import numpy as np

from . import ReduceOp

INSTALL_HINT = 'pip install "gpugrad[distributed]" (mpi4py, and the MPICH library with its mpiexec)'
# On bools (reduced as bytes of 0 and 1) a sum is an "or" and a product an "and", as in PyTorch.
BOOL_OPS = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}
ABORT_GRACE_S = 0.5  # see MPIGroup.abort


def load_mpi():
    """mpi4py's MPI module, or an ImportError naming the extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"gpugrad.distributed needs mpi4py ({e}); {INSTALL_HINT}") from None
    except (RuntimeError, OSError) as e:  # mpi4py without an MPI library it can load
        raise ImportError(f"gpugrad.distributed: mpi4py found no usable MPI library ({e}); {INSTALL_HINT}") from None
    return MPI


@contextlib.contextmanager
def work_buffer(arr, xp, to_host=None):
    """A contiguous buffer holding `arr` (itself when possible; on the host when `to_host` is
    given), bools seen as uint8; copied back into `arr` afterwards if it is a copy."""
    if to_host is not None and not isinstance(arr, np.ndarray):
        work = np.ascontiguousarray(to_host(arr))
    else:
        work = arr if arr.flags.c_contiguous else xp.ascontiguousarray(arr)
    yield work.view(np.uint8) if work.dtype == np.bool_ else work
    if work is not arr:
        arr[...] = xp.asarray(work)


class MPIGroup:
    """The ranks of MPI_COMM_WORLD (through a duplicate, so our traffic never meets the user's)."""

    name = "mpi"

    def __init__(self, timeout):
        self.MPI = MPI = load_mpi()
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size, self.timeout = self.comm.Get_rank(), self.comm.Get_size(), timeout
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_rank = node.Get_rank()
        node.Free()
        self.ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN,
                    ReduceOp.MAX: MPI.MAX}

    def all_reduce(self, tensor, op):
        if tensor.dtype == np.bool_:
            op = BOOL_OPS.get(op, op)
        with work_buffer(tensor._data, tensor.backend.xp, tensor.backend.to_host) as buf:
            self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buf, self.ops[op]), "all_reduce")

    def broadcast(self, tensor, src):
        with work_buffer(tensor._data, tensor.backend.xp, tensor.backend.to_host) as buf:
            self.wait(self.comm.Ibcast(buf, root=src), "broadcast")

    def barrier(self):
        self.wait(self.comm.Ibarrier(), "barrier")

    def all_gather_object(self, obj):
        """Every rank's picklable `obj`, by rank: sizes first, then the pickled bytes."""
        data = np.frombuffer(pickle.dumps(obj), np.uint8)
        sizes = np.empty(self.size, np.int64)
        self.wait(self.comm.Iallgather(np.array([data.size], np.int64), sizes), "all_gather_object")
        out = np.empty(int(sizes.sum()), np.uint8)
        self.wait(self.comm.Iallgatherv(data, (out, sizes)), "all_gather_object")
        ends = np.cumsum(sizes)
        return [pickle.loads(out[end - n:end].tobytes()) for n, end in zip(sizes, ends)]

    def wait(self, request, what):
        """Poll `request` until done: busily for the first millisecond, then sleeping a tenth of
        the time waited so far (at most 1 ms), so a long wait leaves the core to other work."""
        start = time.monotonic()
        while not request.Test():
            waited = time.monotonic() - start
            if waited > self.timeout:
                self.abort(f"rank {self.rank}: {what} did not complete within {self.timeout:g} s "
                           "(init_process_group's timeout): another rank died, hung or called a "
                           "different collective")
            if waited > 1e-3:
                time.sleep(min(1e-3, waited / 10))

    def abort(self, message):
        """Say why on stderr, then end every rank of the job. mpiexec forwards a rank's output
        asynchronously and drops what is still in transit when Abort kills the job, which lost
        the traceback and this line about one run in five, so they get a moment to arrive."""
        print(f"gpugrad.distributed: {message}; aborting the job", file=sys.stderr, flush=True)
        time.sleep(ABORT_GRACE_S)
        self.MPI.COMM_WORLD.Abort(1)

    def close(self):
        self.comm.Free()
