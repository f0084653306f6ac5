"""The "nccl" backend: CuPy's NCCL communicator reduces CUDA tensors on the GPUs.

MPI starts it (rank 0's NCCL unique id is broadcast over MPI) and keeps serving barrier(),
object gathers and CPU tensors (as PyTorch's default backend sends CPU tensors to Gloo). Each
rank drives one GPU, cuda:(LOCAL_RANK mod the GPUs it sees). A collective is queued on the
current CuPy stream and then watched like the MPI ones: past the timeout the NCCL communicator
is aborted and so is the job.
"""
import time

import numpy as np

from ..backends.cuda.backend import simulated
from ..device import device
from . import ReduceOp
from .mpi import BOOL_OPS, work_buffer

INSTALL_HINT = 'pip install "gpugrad[cuda]" (CuPy and NVIDIA\'s NCCL wheel, nvidia-nccl-cu13)'


def load_nccl():
    """CuPy and its cupy.cuda.nccl, or a RuntimeError saying what is missing."""
    if simulated():
        raise RuntimeError("the nccl backend needs real GPUs; under GPUGRAD_CUDA_SIM use backend='mpi', "
                           "which reduces CUDA tensors through the host")
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError(f"the nccl backend needs CuPy with NCCL ({e}); {INSTALL_HINT}") from None
    if not getattr(nccl, "available", False):
        raise RuntimeError(f"the nccl backend: CuPy found no NCCL library; {INSTALL_HINT}")
    return cupy, nccl


class NCCLGroup:
    name = "nccl"

    def __init__(self, mpi):
        self.cupy, self.nccl = cupy, nccl = load_nccl()
        self.mpi = mpi
        self.rank, self.size, self.local_rank, self.timeout = mpi.rank, mpi.size, mpi.local_rank, mpi.timeout
        self.device = device("cuda", mpi.local_rank % cupy.cuda.runtime.getDeviceCount())
        uid = mpi.all_gather_object(nccl.get_unique_id() if mpi.rank == 0 else None)[0]
        with cupy.cuda.Device(self.device.index):
            self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self.dtypes = {np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64,
                       np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.uint8): nccl.NCCL_UINT8}
        self.ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD, ReduceOp.MIN: nccl.NCCL_MIN,
                    ReduceOp.MAX: nccl.NCCL_MAX}

    def _check(self, tensor, what):
        """True for a tensor on this rank's GPU, False for a CPU one (MPI's)."""
        if tensor.device.type == "cpu":
            return False
        if tensor.device != self.device:
            raise RuntimeError(f"{what}: the nccl backend on rank {self.rank} reduces tensors on {self.device}, "
                               f"got one on {tensor.device}")
        return True

    def _kind(self, buf):
        if buf.dtype not in self.dtypes:
            raise TypeError(f"the nccl backend can't reduce {buf.dtype} tensors")
        return self.dtypes[buf.dtype]

    def all_reduce(self, tensor, op):
        if not self._check(tensor, "all_reduce"):
            return self.mpi.all_reduce(tensor, op)
        if tensor.dtype == np.bool_:
            op = BOOL_OPS.get(op, op)
        with work_buffer(tensor._data, self.cupy) as buf:
            stream = self.cupy.cuda.get_current_stream()
            self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._kind(buf), self.ops[op], stream.ptr)
            self._wait(stream, "all_reduce")

    def broadcast(self, tensor, src):
        if not self._check(tensor, "broadcast"):
            return self.mpi.broadcast(tensor, src)
        with work_buffer(tensor._data, self.cupy) as buf:
            stream = self.cupy.cuda.get_current_stream()
            self.comm.bcast(buf.data.ptr, buf.size, self._kind(buf), src, stream.ptr)
            self._wait(stream, "broadcast")

    def barrier(self):
        """Finish this GPU's queued work, then meet the other ranks over MPI."""
        self.cupy.cuda.Device(self.device.index).synchronize()
        self.mpi.barrier()

    def all_gather_object(self, obj):
        return self.mpi.all_gather_object(obj)

    def _wait(self, stream, what):
        done, deadline = stream.record(), time.monotonic() + self.timeout
        while not done.done:
            if time.monotonic() > deadline:
                self.comm.abort()
                self.abort(f"rank {self.rank}: NCCL {what} did not complete within {self.timeout:g} s "
                           "(init_process_group's timeout): another rank died, hung or called a different collective")
            time.sleep(1e-5)

    def abort(self, message):
        self.mpi.abort(message)

    def close(self):
        self.comm.destroy()
        self.mpi.close()
