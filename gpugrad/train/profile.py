"""`gpugrad train --profile N`: a few training steps of the run's recipe under the profiler."""
import time

from .. import profiler
from ..nn import functional as F


def profile_steps(run, steps, warmup=3):
    """Train `warmup` steps (Numba compiles, first allocations), then `steps` more under the
    profiler; returns a report: time per step by phase, then the profiler's table."""
    phases = {"forward": 0.0, "backward": 0.0, "optimizer": 0.0}
    batches = iter(run.train_loader)
    run.model.train()
    with profiler.profile() as prof:
        for i in range(warmup + steps):
            if i == warmup:  # restart the record once the warm-up steps are done
                prof._events.clear()
                phases = dict.fromkeys(phases, 0.0)
            try:
                x, y = next(batches)
            except StopIteration:
                batches = iter(run.train_loader)
                x, y = next(batches)
            t0 = time.perf_counter()
            loss = F.cross_entropy(run.model(x), y)
            t1 = time.perf_counter()
            run.opt.zero_grad()
            loss.backward()
            t2 = time.perf_counter()
            run.opt.step()
            run.sched.step()
            loss.item()
            t3 = time.perf_counter()
            for name, dt in zip(phases, (t1 - t0, t2 - t1, t3 - t2)):
                phases[name] += dt
    total = sum(phases.values())
    head = (f"{steps} steps, {1000 * total / steps:.2f} ms a step: "
            + ", ".join(f"{name} {1000 * dt / steps:.2f} ms" for name, dt in phases.items()))
    return head + "\n" + prof.table()
