"""The nccl backend's calls into cupy.cuda.nccl, made against a stand-in module (no GPU here):
which communicator it builds on which GPU, and the pointers, counts, dtypes, ops, roots and
streams of its collectives, through gpugrad.distributed's public functions. The stand-in acts
as a 2-rank job whose other rank holds the same values (a sum doubles them)."""
import ctypes
import sys
import types

import numpy as np
import pytest

import gpugrad
import gpugrad.distributed as dist
from gpugrad.distributed import nccl as nccl_backend

CODES = {"NCCL_FLOAT32": 7, "NCCL_FLOAT64": 8, "NCCL_INT64": 4, "NCCL_UINT8": 1,
         "NCCL_SUM": 0, "NCCL_PROD": 1, "NCCL_MAX": 2, "NCCL_MIN": 3}
DTYPE_OF = {7: np.float32, 8: np.float64, 4: np.int64, 1: np.uint8}
STREAM = 0xABC


class DeviceArray(np.ndarray):
    """A host array posing as a CuPy one: `.data.ptr` is its address."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


def host_view(ptr, count, kind):
    dtype = np.dtype(DTYPE_OF[kind])
    return np.frombuffer((ctypes.c_char * (count * dtype.itemsize)).from_address(ptr), dtype)


class Communicator:
    def __init__(self, world, ndev, uid, rank):
        self.world, self.calls = world, []
        world.comms.append(self)
        self.args = (ndev, uid, rank, world.current_device)

    def allReduce(self, send, recv, count, kind, op, stream):
        self.calls.append(("allReduce", send, recv, count, kind, op, stream))
        if op == CODES["NCCL_SUM"]:
            host_view(recv, count, kind)[:] *= 2

    def bcast(self, buf, count, kind, root, stream):
        self.calls.append(("bcast", buf, count, kind, root, stream))

    def abort(self):
        self.calls.append(("abort",))

    def destroy(self):
        self.calls.append(("destroy",))


class World:
    """The stand-in cupy and cupy.cuda.nccl, recording what they were asked."""

    def __init__(self, gpus=2, done=True):
        self.comms, self.current_device, self.synced = [], None, []
        world = self

        class Device:
            def __init__(self, index):
                self.index = index

            def __enter__(self):
                world.current_device = self.index

            def __exit__(self, *exc):
                world.current_device = None

            def synchronize(self):
                world.synced.append(self.index)

        stream = types.SimpleNamespace(ptr=STREAM, record=lambda: types.SimpleNamespace(done=done))
        self.nccl = types.ModuleType("cupy.cuda.nccl")
        self.nccl.__dict__.update(CODES, available=True, get_unique_id=lambda: tuple(range(128)),
                                  NcclCommunicator=lambda *a: Communicator(world, *a))
        cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: gpus), Device=Device,
                                     get_current_stream=lambda: stream, nccl=self.nccl)
        self.cupy = types.ModuleType("cupy")
        self.cupy.cuda = cuda
        self.cupy.ascontiguousarray = lambda a: np.ascontiguousarray(a).view(DeviceArray)
        self.cupy.asarray = np.asarray


class MPIStandIn:
    """The MPI group under the NCCL one: rank `rank` of 2, rank 0's objects gathered."""

    def __init__(self, rank, local_rank):
        self.rank, self.size, self.local_rank, self.timeout = rank, 2, local_rank, 0.05
        self.events = []

    def all_gather_object(self, obj):
        return [obj if self.rank == 0 else ("uid", "of rank 0"), None]

    def barrier(self):
        self.events.append("barrier")

    def abort(self, message):
        self.events.append(message)
        raise SystemExit(1)

    def close(self):
        self.events.append("close")


@pytest.fixture
def standin(monkeypatch):
    def start(rank=0, local_rank=1, **kw):
        world = World(**kw)
        monkeypatch.setitem(sys.modules, "cupy", world.cupy)
        monkeypatch.setitem(sys.modules, "cupy.cuda", world.cupy.cuda)
        monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", world.nccl)
        monkeypatch.setattr(nccl_backend, "simulated", lambda: False)
        mpi = MPIStandIn(rank, local_rank)
        group = nccl_backend.NCCLGroup(mpi)
        monkeypatch.setitem(dist._STATE, "group", group)
        return world, world.comms[0], mpi
    return start


def on_gpu(values, dtype="float32", device="cuda:1"):
    t = gpugrad.tensor(values, dtype=dtype, device=device)
    t._data = t._data.view(DeviceArray)
    return t


def test_the_communicator_gets_rank_0s_unique_id_on_the_ranks_gpu(standin):
    _, comm, _ = standin(rank=0, local_rank=3)
    assert comm.args == (2, tuple(range(128)), 0, 1)  # local rank 3 of 2 GPUs: cuda:1
    _, comm, _ = standin(rank=1, local_rank=0)
    assert comm.args == (2, ("uid", "of rank 0"), 1, 0)


@pytest.mark.parametrize("dtype, code", [("float32", 7), ("float64", 8), ("int64", 4)])
def test_all_reduce_sums_in_place_on_the_current_stream(standin, dtype, code):
    _, comm, _ = standin()
    t = on_gpu([[1, 2, 3], [4, 5, 6]], dtype)
    version = t._version.value
    dist.all_reduce(t)
    (call,) = comm.calls
    assert call == ("allReduce", t._data.data.ptr, t._data.data.ptr, 6, code, CODES["NCCL_SUM"], STREAM)
    assert t.tolist() == [[2, 4, 6], [8, 10, 12]] and t._version.value == version + 1


def test_ops_avg_bools_views_and_broadcast(standin):
    world, comm, mpi = standin()
    t = on_gpu([1.0, 3.0])
    dist.all_reduce(t, dist.ReduceOp.AVG)  # a sum, then divided by the world size
    assert comm.calls[-1][5] == CODES["NCCL_SUM"] and t.tolist() == [1.0, 3.0]
    for op, code in (("PRODUCT", "NCCL_PROD"), ("MIN", "NCCL_MIN"), ("MAX", "NCCL_MAX")):
        dist.all_reduce(t, getattr(dist.ReduceOp, op))
        assert comm.calls[-1][5] == CODES[code]
    flags = on_gpu([True, False], "bool")
    dist.all_reduce(flags)  # bools go as bytes, a sum as a max (logical or)
    assert comm.calls[-1][3:6] == (2, CODES["NCCL_UINT8"], CODES["NCCL_MAX"])
    view = on_gpu([[1.0, 2.0], [3.0, 4.0]]).transpose(0, 1)
    view._data = view._data.view(DeviceArray)
    dist.all_reduce(view)  # reduced in a contiguous copy, written back
    assert comm.calls[-1][1] != view._data.data.ptr and view.tolist() == [[2.0, 6.0], [4.0, 8.0]]
    dist.broadcast(t, 1)
    assert comm.calls[-1] == ("bcast", t._data.data.ptr, 2, CODES["NCCL_FLOAT32"], 1, STREAM)
    dist.barrier()
    assert world.synced == [1] and mpi.events == ["barrier"]


def test_cpu_tensors_go_over_mpi_and_other_gpus_are_refused(standin):
    _, comm, mpi = standin()
    mpi.all_reduce = lambda t, op: mpi.events.append(("all_reduce", t.tolist(), op))
    mpi.broadcast = lambda t, src: mpi.events.append(("broadcast", t.tolist(), src))
    dist.all_reduce(gpugrad.ones(2), dist.ReduceOp.MAX)
    dist.broadcast(gpugrad.zeros(1), 1)
    assert mpi.events == [("all_reduce", [1.0, 1.0], dist.ReduceOp.MAX), ("broadcast", [0.0], 1)]
    assert comm.calls == []
    with pytest.raises(RuntimeError, match="reduces tensors on cuda:1, got one on cuda:0"):
        dist.broadcast(on_gpu([1.0], device="cuda:0"), 0)


def test_a_collective_that_never_finishes_aborts_the_communicator_and_the_job(standin):
    _, comm, mpi = standin(done=False)
    with pytest.raises(SystemExit):
        dist.all_reduce(on_gpu([1.0]))
    assert comm.calls[-1] == ("abort",)
    assert "rank 0: NCCL all_reduce did not complete within 0.05 s" in mpi.events[-1]


def test_missing_nccl_or_simulated_gpus_are_clear_errors(monkeypatch):
    monkeypatch.setenv("GPUGRAD_CUDA_SIM", "1")
    with pytest.raises(RuntimeError, match="needs real GPUs; under GPUGRAD_CUDA_SIM use backend='mpi'"):
        nccl_backend.load_nccl()
    monkeypatch.setattr(nccl_backend, "simulated", lambda: False)
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(RuntimeError, match="nvidia-nccl-cu13"):
        nccl_backend.load_nccl()
