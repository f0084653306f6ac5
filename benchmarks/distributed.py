"""Distributed rows, on the CPU: all_reduce bandwidth against message size, and a LeNet-5
training step on one process against two ranks.

The ranks must be separate processes, so these rows are timed in `mpiexec -n N python -m
<this module> --worker ...` jobs and have `measure` instead of `prepare` (see row.Row). An
all_reduce row's bytes are its message size, so its GB/s is nccl-tests' "algorithm bandwidth".
The step rows train LeNet-5 (AdamW) at one global batch: one process on all of it, or two ranks
(DistributedDataParallel) on half each, each with its default threads and with one thread per
process. Their four jobs take turns, so load that drifts during the run hits them alike.
"""
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

from .processes import worker_result
from .row import Row
from .timing import summary

SIZES = (2**10, 2**14, 2**18, 2**22)  # float32 elements: 4 KiB to 16 MiB messages
QUICK_SIZES = (2**4, 2**10)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
STEP_JOBS = [(1, None), (1, ONE_THREAD), (2, ONE_THREAD), (2, None)]  # (ranks, environment)
WARMUP = 3  # untimed calls or steps at the start of each job


def distributed_rows(device, quick):
    """The all_reduce rows, then the step rows; skipped, saying why, on cuda or without MPI."""
    why = _unavailable(device)
    return ([all_reduce_row(n, why) for n in (QUICK_SIZES if quick else SIZES)]
            + step_rows(8 if quick else 128, 1 if quick else 3, why))


def all_reduce_row(n, why, ranks=2):
    """all_reduce (SUM) of n float32 elements on CPU tensors, mpi backend: one job of
    `settings.reps` timed calls, each the slowest rank's time after a barrier."""
    def measure(dev, settings):
        if why:
            return _skipped(why)
        return {"gpugrad": summary([1e3 * t for t in _mpiexec(ranks, "all_reduce", settings.reps, n)],
                                   settings.reps)}
    return Row("all_reduce", f"2^{n.bit_length() - 1} float32, {ranks} ranks",
               params={"elements": n, "ranks": ranks, "backend": "mpi"}, nbytes=4 * n,
               api="Tensor API", measure=measure)


def step_rows(global_batch, rounds, why):
    """One row per STEP_JOBS entry. The first row measured runs all four jobs in turn, `rounds`
    times, with enough steps each for `settings.reps` in all; the others read its times."""
    @_once
    def run_jobs(settings):
        steps = -(-settings.reps // rounds)
        times = [[] for _ in STEP_JOBS]
        for _ in range(rounds):
            for got, (ranks, env) in zip(times, STEP_JOBS):
                got += _mpiexec(ranks, "step", global_batch // ranks, steps, env=env)
        return times, steps * rounds

    def row(i, ranks, env):
        def measure(dev, settings):
            if why:
                return _skipped(why)
            times, reps = run_jobs(settings)
            return {"gpugrad": summary([1e3 * t for t in times[i]], reps)}
        return Row("dp_step", f"LeNet-5 global batch {global_batch}, {ranks} rank{'s' * (ranks > 1)}, "
                   + ("default threads" if env is None else "1 thread" + " each" * (ranks > 1)),
                   params={"model": "lenet5", "optimizer": "AdamW", "global_batch": global_batch,
                           "ranks": ranks, "one_thread": bool(env), "backend": "mpi"},
                   api="Tensor API", samples=global_batch, measure=measure)
    return [row(i, ranks, env) for i, (ranks, env) in enumerate(STEP_JOBS)]


def _unavailable(device):
    """Why the rows cannot run on `device` here, or None."""
    if device != "cpu":
        return f"CPU only (the mpi backend on CPU tensors), not run on {device}"
    missing = [name for name, found in (("mpi4py", importlib.util.find_spec("mpi4py")),
                                        ("mpiexec", _launcher())) if not found]
    return f"{' and '.join(missing)} not installed (pip install \"gpugrad[distributed]\")" if missing else None


def _skipped(why):
    return {"gpugrad": {"status": "skipped", "error": why}}


def _launcher():
    """The mpiexec beside this Python (a venv's, from the mpich wheel), else the one on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def _once(fn):
    """fn run on the first call only; later calls get its result, or raise its exception, again."""
    outcome = []

    def call(*args):
        if not outcome:
            try:
                outcome.append((fn(*args), None))
            except Exception as exc:
                outcome.append((None, exc))
        result, exc = outcome[0]
        if exc is not None:
            raise exc
        return result
    return call


def _mpiexec(n, *args, env=None):
    """Rank 0's answer from `mpiexec -n n python -m <this module> --worker args`."""
    return worker_result(__name__, args, launcher=(_launcher(), "-n", str(n)), env=env)


def _worker_all_reduce(repeats, n):
    import gpugrad
    import gpugrad.distributed as dist
    t = gpugrad.ones(n)
    times = []
    for i in range(repeats + WARMUP):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(t)
        if i >= WARMUP:
            times.append(time.perf_counter() - start)
    return _slowest_rank(times)


def _worker_step(batch, steps):
    import numpy as np

    import gpugrad
    import gpugrad.distributed as dist
    from gpugrad import models, optim
    from gpugrad.nn import functional as F
    from gpugrad.nn.parallel import DistributedDataParallel
    gpugrad.manual_seed(0)
    model = models.lenet((1, 28, 28))
    net = DistributedDataParallel(model) if dist.get_world_size() > 1 else model
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(dist.get_rank())
    x = gpugrad.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = gpugrad.tensor(rng.integers(0, 10, batch))
    times = []
    for i in range(steps + WARMUP):
        dist.barrier()
        start = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        if i >= WARMUP:
            times.append(time.perf_counter() - start)
    return _slowest_rank(times)


def _slowest_rank(times):
    """Each repetition's time on its slowest rank: a collective or a step ends when that one does."""
    import gpugrad.distributed as dist
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, times)
    return [max(per_rank) for per_rank in zip(*gathered)]


def _worker(kind, *args):
    """What each rank runs; rank 0 prints the times (s) as one JSON line."""
    import gpugrad.distributed as dist
    dist.init_process_group("mpi")
    numbers = [int(a) for a in args]
    result = _worker_all_reduce(*numbers) if kind == "all_reduce" else _worker_step(*numbers)
    if dist.get_rank() == 0:
        print(json.dumps(result))
    dist.destroy_process_group()


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"] or len(sys.argv) != 5:
        sys.exit(f"usage: mpiexec -n N python -m {__spec__.name} --worker (all_reduce REPEATS ELEMENTS | "
                 "step BATCH STEPS); the rows run with `python -m benchmarks --only distributed`")
    _worker(*sys.argv[2:])
