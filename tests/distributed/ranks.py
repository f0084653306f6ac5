"""What each rank runs in the multi-process tests: `mpiexec -n 2 python tests/distributed/ranks.py CASE`.

Each case has rank 0 print one JSON line per rank ("RESULT {...}") for the test to read, or
fails loudly.
"""
import datetime
import json
import os
import signal
import sys
import time

import numpy as np

import gpugrad
import gpugrad.distributed as dist
from gpugrad import nn, optim
from gpugrad.nn import functional as F
from gpugrad.nn.parallel import DistributedDataParallel as DDP

B, STEPS = 8, 20  # per-rank batch, optimizer steps


def report(**values):
    """Every rank's values, printed by rank 0 alone (mpiexec may interleave long lines of two ranks)."""
    rows = [None] * dist.get_world_size()
    dist.all_gather_object(rows, {"rank": dist.get_rank(), **values})
    if dist.get_rank() == 0:
        print("\n".join("RESULT " + json.dumps(row) for row in rows), flush=True)


def mlp(seed):
    gpugrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def train(model, optimizer, batches):
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def make_optimizer(kind, params):
    if kind == "sgd":
        return optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3)
    return optim.AdamW(params, lr=1e-2, weight_decay=0.1)


def ddp_matches_one_process(kind, bucket_cap_mb):
    """DDP on each rank's share of the global batch vs one process on the whole global batch."""
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(7)
    batches = [(rng.standard_normal((world * B, 6)).astype(np.float32), rng.integers(0, 3, world * B))
               for _ in range(STEPS)]
    ddp = DDP(mlp(seed=100 + rank), bucket_cap_mb=float(bucket_cap_mb))  # rank 1's own init is overwritten
    calls = []
    real_all_reduce = dist.all_reduce

    def counting_all_reduce(t, op=dist.ReduceOp.SUM):
        calls.append(t.numel())
        real_all_reduce(t, op)
    dist.all_reduce = counting_all_reduce
    mine = [(gpugrad.tensor(x[rank * B:(rank + 1) * B]), gpugrad.tensor(y[rank * B:(rank + 1) * B]))
            for x, y in batches]
    train(ddp, make_optimizer(kind, ddp.parameters()), mine)
    dist.all_reduce = real_all_reduce
    single = mlp(seed=100)
    train(single, make_optimizer(kind, single.parameters()), [(gpugrad.tensor(x), gpugrad.tensor(y))
                                                              for x, y in batches])
    diff = max(float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
               for a, b in zip(ddp.module.parameters(), single.parameters()))
    report(max_diff=diff, all_reduce_calls=len(calls), keys=list(ddp.state_dict())[:2],
           numel=sum(p.numel() for p in single.parameters()))


def collectives():
    """all_reduce with every op and broadcast from each rank, on every dtype and device."""
    rank, world = dist.get_rank(), dist.get_world_size()
    out = {}
    for device in ("cpu", "cuda"):
        for dtype in ("float32", "float64", "int64"):
            base = np.arange(1, 7).reshape(2, 3)
            for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
                if op == "AVG" and dtype == "int64":
                    continue
                t = gpugrad.tensor(base * (rank + 1) - 3 * rank, dtype=dtype, device=device)
                version = t._version.value
                dist.all_reduce(t, getattr(dist.ReduceOp, op))
                assert t._version.value == version + 1 and str(t.dtype) == dtype
                out[f"{device} {dtype} {op}"] = t.tolist()
            view = gpugrad.tensor(base.T.copy() * (rank + 1), dtype=dtype, device=device).transpose(0, 1)
            dist.all_reduce(view)  # a non-contiguous view: reduced through a copy, written back
            out[f"{device} {dtype} view"] = view.tolist()
            for src in range(world):
                t = gpugrad.tensor(base + 10 * rank, dtype=dtype, device=device)
                dist.broadcast(t, src)
                out[f"{device} {dtype} broadcast {src}"] = t.tolist()
        flags = gpugrad.tensor([rank == 0, True, False], device=device)
        dist.all_reduce(flags, dist.ReduceOp.SUM)
        out[f"{device} bool SUM"] = flags.tolist()
    gathered = [None] * world
    dist.all_gather_object(gathered, {"rank": rank})
    dist.barrier()
    report(results=out, gathered=gathered)


def mismatch():
    """Rank 1 builds a wider layer: construction must fail on every rank, naming it."""
    model = nn.Sequential(nn.Linear(4, 5 + dist.get_rank()))
    try:
        DDP(model)
    except RuntimeError as e:
        report(error=str(e))


def buffers():
    """Rank 0's buffers reach every rank at construction and before each forward that records a graph."""
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ddp = DDP(model)
    norm = model[1]
    seen = [norm.running_mean.tolist()]
    norm.running_mean += dist.get_rank()  # the ranks' statistics drift apart...
    with gpugrad.no_grad():
        ddp(gpugrad.ones(2, 3))  # ...and stay apart in a forward without a graph
    seen.append(norm.running_mean.tolist())
    ddp(gpugrad.ones(2, 3))  # rank 0's come first, then the same batch updates them alike
    seen.append(norm.running_mean.tolist())
    report(running_means=seen)


def unused_parameter():
    """A parameter the loss never uses leaves its bucket unreduced: the next forward says so."""
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    ddp = DDP(model, bucket_cap_mb=1e-6)  # one parameter per bucket
    ddp(gpugrad.ones(2, 4))  # forward through both layers...
    model[0](gpugrad.ones(2, 4)).sum().backward()  # ...but backward only through the first
    try:
        ddp(gpugrad.ones(2, 4))
    except RuntimeError as e:
        report(error=str(e))


def dies(how):
    """One rank dies mid-training; the others must exit with a clear error, not hang."""
    dist.all_reduce(gpugrad.ones(3))
    if dist.get_rank() == 1:
        if how == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        elif how == "exits":
            sys.exit(0)  # a rank that runs out of work early: its peers wait in vain
        elif how == "raises":
            raise ZeroDivisionError("rank 1 failed")
        elif how == "hangs":
            time.sleep(600)
    for _ in range(100):
        dist.all_reduce(gpugrad.ones(3))
    report(error="none: the collective completed")


def train_interrupted(step, *argv):
    """`gpugrad train --distributed ARGV` with Ctrl-C pressed on rank 1 alone during batch `step`."""
    from mpi4py import MPI

    from gpugrad.cli import main
    from gpugrad.train import loop
    real, calls = loop.F.cross_entropy, []

    def xent(*args, **kwargs):
        if gpugrad.is_grad_enabled() and MPI.COMM_WORLD.Get_rank() == 1:
            calls.append(1)
            if len(calls) == int(step):
                signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)
    loop.F.cross_entropy = xent
    sys.exit(main(["train", "--distributed", *argv]))


CASES = {"ddp": ddp_matches_one_process, "collectives": collectives, "mismatch": mismatch,
         "unused": unused_parameter, "buffers": buffers, "dies": dies}

if __name__ == "__main__":
    if sys.argv[1] == "train":
        train_interrupted(*sys.argv[2:])
    timeout = float(os.environ.get("GPUGRAD_TEST_TIMEOUT", "60"))
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=timeout))
    CASES[sys.argv[1]](*sys.argv[2:])
    dist.destroy_process_group()
