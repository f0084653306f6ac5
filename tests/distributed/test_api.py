"""gpugrad.distributed's checks that need no second process: imports, arguments, group state."""
import datetime
import subprocess
import sys

import pytest

import gpugrad
import gpugrad.distributed as dist
from gpugrad import nn
from gpugrad.nn.parallel import DistributedDataParallel


class OneRank:
    """A group of one rank that records what it is asked."""
    name, rank, size, local_rank = "stand-in", 0, 1, 0

    def __init__(self):
        self.calls = []

    def all_reduce(self, tensor, op):
        self.calls.append(("all_reduce", op))

    def broadcast(self, tensor, src):
        self.calls.append(("broadcast", src))

    def all_gather_object(self, obj):
        return [obj]


@pytest.fixture
def one_rank(monkeypatch):
    group = OneRank()
    monkeypatch.setitem(dist._STATE, "group", group)
    return group


def test_import_gpugrad_leaves_mpi4py_alone():
    code = "import sys, gpugrad, gpugrad.nn.parallel; print('mpi4py' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_without_mpi4py_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r'pip install "gpugrad\[distributed\]"'):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


def test_bad_arguments_and_a_missing_group_are_clear():
    with pytest.raises(ValueError, match="unknown backend 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(TypeError, match="timeout must be a datetime.timedelta"):
        dist.init_process_group("mpi", timeout=5)
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(gpugrad.ones(1))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(ValueError, match="init_process_group"):
        DistributedDataParallel(nn.Linear(2, 2))


def test_collective_arguments_are_checked(one_rank):
    with pytest.raises(TypeError, match="expected a gpugrad Tensor, got list"):
        dist.all_reduce([1.0])
    with pytest.raises(TypeError, match="op must be a gpugrad.distributed.ReduceOp"):
        dist.all_reduce(gpugrad.ones(1), "sum")
    with pytest.raises(TypeError, match="AVG needs a floating tensor, got int64"):
        dist.all_reduce(gpugrad.ones(1, dtype=gpugrad.int64), dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="src must be a rank from 0 to 0, got 1"):
        dist.broadcast(gpugrad.ones(1), 1)
    with pytest.raises(ValueError, match="list of length 1"):
        dist.all_gather_object([], 1)
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1))
    assert one_rank.calls == []


def test_ddp_buckets_hooks_and_misuse(one_rank):
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    ddp = DistributedDataParallel(model, bucket_cap_mb=25)
    assert one_rank.calls == [("broadcast", 0)]  # parameters in one flat broadcast
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    ddp(gpugrad.ones(2, 4)).sum().backward()
    assert one_rank.calls[1:] == [("all_reduce", dist.ReduceOp.SUM)]  # one bucket; AVG = SUM, then / size
    with pytest.raises(RuntimeError, match="a backward without a forward of its own"):
        model(gpugrad.ones(2, 4)).sum().backward()
    with pytest.raises(ValueError, match=r"device_ids=\[1\] must name the one device the module is on \(cpu\)"):
        DistributedDataParallel(model, device_ids=[1])
    with pytest.raises(TypeError, match="wraps a gpugrad.nn.Module"):
        DistributedDataParallel(lambda x: x)
