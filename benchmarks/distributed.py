"""Distributed rows: all_reduce bandwidth against message size, and a training step on 1 vs 2 ranks.

Each function starts its own `mpiexec -n N python -m benchmarks.distributed --worker ...` job
(the ranks must be separate processes) and returns plain dicts: name, params, median_ms and
bytes_per_s (None where it means nothing). bytes_per_s of an all_reduce is the message size over
its time (nccl-tests' "algorithm bandwidth"). The step rows train LeNet-5 on the CPU with the
same global batch: one process on all of it, or two ranks (DistributedDataParallel) on half each,
with and without one thread per process.

    python -m benchmarks.distributed            # prints the rows as JSON
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (2**10, 2**14, 2**18, 2**22)  # float32 elements: 4 KiB to 16 MiB messages


def _mpiexec(n, *args, env=None):
    here = Path(sys.executable).parent / "mpiexec"
    launcher = str(here) if here.exists() else "mpiexec"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run([launcher, "-n", str(n), sys.executable, "-m", "benchmarks.distributed", "--worker",
                           *map(str, args)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"mpiexec -n {n} failed:\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def all_reduce_rows(sizes=SIZES, repeats=30, ranks=2):
    """One row per message size: the median all_reduce (SUM, float32, CPU tensors, mpi backend)."""
    rows = []
    for n, times in zip(sizes, _mpiexec(ranks, "all_reduce", repeats, *sizes)):
        median = statistics.median(times)
        rows.append({"name": f"all_reduce {n * 4} bytes, {ranks} ranks, mpi", "params": {"elements": n, "ranks": ranks},
                     "median_ms": 1e3 * median, "bytes_per_s": n * 4 / median})
    return rows


def step_rows(global_batch=128, steps=10, rounds=3):
    """LeNet-5 training steps (AdamW) at one global batch: 1 process on all of it, or 2 ranks on
    half each; each with its default threads and with one thread per process (OMP_NUM_THREADS=
    NUMBA_NUM_THREADS=1). The four jobs run interleaved, `rounds` times; medians over all steps."""
    one = {"OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    configs = [(1, None), (1, one), (2, one), (2, None)]
    times = {i: [] for i in range(len(configs))}
    for _ in range(rounds):
        for i, (ranks, env) in enumerate(configs):
            times[i] += _mpiexec(ranks, "step", global_batch // ranks, steps, env=env)
    return [{"name": f"LeNet-5 step, global batch {global_batch}, {ranks} rank(s), "
                     + ("1 thread each" if env else "default threads"),
             "params": {"global_batch": global_batch, "ranks": ranks, "one_thread": bool(env),
                        "steps": len(times[i])},
             "median_ms": 1e3 * statistics.median(times[i]), "bytes_per_s": None}
            for i, (ranks, env) in enumerate(configs)]


def _worker_all_reduce(repeats, *sizes):
    import gpugrad
    import gpugrad.distributed as dist
    out = []
    for n in sizes:
        t = gpugrad.ones(n)
        times = []
        for i in range(repeats + 3):  # 3 warm-up calls
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            if i >= 3:
                times.append(time.perf_counter() - start)
        out.append(times)
    return out


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
    for i in range(steps + 3):
        dist.barrier()
        start = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        if i >= 3:
            times.append(time.perf_counter() - start)
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, times)
    return [max(per_rank) for per_rank in zip(*gathered)]  # a step ends when its slowest rank does


def _worker(kind, *args):
    import gpugrad.distributed as dist
    dist.init_process_group("mpi")
    numbers = [int(a) for a in args]
    result = _worker_all_reduce(*numbers) if kind == "all_reduce" else _worker_step(*numbers)
    if dist.get_rank() == 0:
        print(json.dumps(result))
    dist.destroy_process_group()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__.splitlines()[0])
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)  # what each rank runs
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    if args.worker:
        return _worker(*args.worker)
    rows = all_reduce_rows(repeats=args.repeats) + step_rows(steps=args.steps, rounds=args.rounds)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
