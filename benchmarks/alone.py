"""Rows that time each library alone, in a process of its own: the default `gpugrad train`
recipe per epoch, and the LeNet-5 training step.

In one process PyTorch's OpenMP workers spin after each op and hold the cores that gpugrad's
Numba threads need (and the reverse), so the rows timed there call by call do not show what a
user who runs one library sees. Here every job is a fresh `python -m <this module> --worker ...`
with the library's default threads; gpugrad's and PyTorch's jobs take turns, `rounds` times, so
load that drifts during the run hits both alike. The first epoch (or the first WARMUP steps) of
each job is not timed. A PyTorch worker imports torch first and never loads gpugrad's kernels
(which would set OMP_WAIT_POLICY and BLAS's thread count for the whole process).
"""
import functools
import json
import os
import sys
import time

import numpy as np

from .processes import worker_result
from .row import Row
from .timing import summary
from .train_rows import _sgd_steps, init, random_batches

IMPLS = ("gpugrad", "torch")
WARMUP = 3          # untimed steps at the start of each step job
RECIPE_EPOCHS = 9   # timed epochs per library in all (fewer if --reps asks for fewer) ...
QUICK_LIMIT = 256   # ... and, with --quick, samples per split


def alone_rows(device, quick):
    """The recipe row, then the LeNet-5 step rows; skipped, saying why, on cuda. (Their ids
    contain no other group's name, which --only would match.)"""
    why = None if device == "cpu" else f"CPU only (each library alone on the CPU), not run on {device}"
    rounds = 1 if quick else 3
    return ([recipe_row(QUICK_LIMIT if quick else None, rounds, why)]
            + [step_row(batch, rounds, why) for batch in ([8] if quick else [64, 256])])


def recipe_row(limit, rounds, why):
    """Seconds per epoch (training, then evaluation on the test split) of `gpugrad train`'s
    defaults, against the same recipe in PyTorch; each job trains one untimed epoch, then its
    share of the timed ones."""
    def measure(dev, settings):
        epochs = -(-min(settings.reps, RECIPE_EPOCHS) // rounds)
        records = _take_turns(dev, settings, rounds, why, "recipe", epochs, limit or 0)
        samples = _train_samples(limit)
        for rec in records.values():
            if rec["status"] == "ok":
                rec["samples_per_s"] = samples / (rec["median_ms"] * 1e-3)
                rec["test_accuracy"] = float(np.median(rec["test_accuracy_jobs"]))
        return records
    from gpugrad.cli import DEFAULTS
    from gpugrad.train.parts import DEFAULT_LR
    params = {k: DEFAULTS[k] for k in ("model", "data", "batch_size", "optimizer", "weight_decay", "shift")}
    return Row("recipe_epoch", f"default recipe ({DEFAULTS['model']}, {DEFAULTS['data']}, batch "
               f"{DEFAULTS['batch_size']}), per epoch" + (f", {limit} samples per split" if limit else ""),
               params={**params, "lr": DEFAULT_LR[DEFAULTS["optimizer"]], "schedule": "OneCycleLR per batch",
                       "limit": limit, "epoch": "training + test evaluation", "untimed_epochs_per_job": 1},
               api="gpugrad train", measure=measure)


def step_row(batch, rounds, why):
    """One plain-SGD LeNet-5 step (train_rows' step) at `batch`, each library in its own jobs."""
    def measure(dev, settings):
        return _take_turns(dev, settings, rounds, why, "step", batch, -(-settings.reps // rounds))
    return Row("lenet_step", f"LeNet-5 batch {batch}",
               params={"model": "lenet5", "batch": batch, "optimizer": "plain SGD"},
               api="Tensor API", samples=batch, measure=measure)


def _take_turns(dev, settings, rounds, why, kind, *args):
    """{impl: record}: `rounds` rounds of one job per library, in turns, until the budget is spent."""
    if why:
        return {impl: {"status": "skipped", "error": why} for impl in IMPLS}
    impls = IMPLS if dev.torch_ok else IMPLS[:1]
    jobs = {impl: [] for impl in impls}
    for _ in range(rounds):
        for impl in impls:
            load = os.getloadavg()[0]  # other work on the machine, for reading the times
            jobs[impl].append({**worker_result(__name__, [kind, impl, *args]), "loadavg": load})
        if settings.budget.spent():
            break
    records = {}
    for impl, results in jobs.items():
        times = [1e3 * t for job in results for t in job["seconds"]]
        records[impl] = summary(times, rounds * len(results[0]["seconds"]))
        records[impl].update({k + "_jobs": [job[k] for job in results] for k in results[0] if k != "seconds"})
    if not dev.torch_ok:
        records["torch"] = {"status": "skipped", "error": f"no PyTorch peer ({dev.torch_error})"}
    return records


def _train_samples(limit):
    """Training samples per epoch of the default recipe (all of them, or `limit`)."""
    from gpugrad.cli import DEFAULTS
    from gpugrad.train.parts import load_split
    return len(load_split({**DEFAULTS, "limit": limit}).x_train)


# --- what the workers run ---------------------------------------------------------------------

def _gpugrad_recipe(epochs, limit):
    """`gpugrad train --device cpu` with its defaults for 1 + `epochs` epochs (the real training
    loop); the seconds of each epoch after the first, as its metrics.json records them."""
    import contextlib
    import tempfile
    from pathlib import Path

    from gpugrad.cli import main
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(sys.stderr):
        argv = ["train", "--device", "cpu", "--epochs", str(1 + epochs), "--out", out]
        code = main(argv + (["--limit", str(limit)] if limit else []))
        if code != 0:
            raise RuntimeError(f"gpugrad {' '.join(argv)} exited with {code}")
        rows = json.loads((Path(out) / "metrics.json").read_text())["epochs"]
    return {"seconds": [r["seconds"] for r in rows[1:]], "test_accuracy": rows[-1]["test_accuracy"]}


def _torch_recipe(epochs, limit):
    """gpugrad train's default recipe written in PyTorch: the cnn model, the same data, shuffle,
    shift-then-normalise augmentation, AdamW, one-cycle schedule stepped per batch, and an
    evaluation on the test split inside each timed epoch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from gpugrad.cli import DEFAULTS
    from gpugrad.train.parts import DEFAULT_LR, MEAN_STD, load_split
    s = {**DEFAULTS, "epochs": 1 + epochs, "limit": limit or None, "lr": DEFAULT_LR[DEFAULTS["optimizer"]]}
    if (s["model"], s["data"], s["optimizer"]) != ("cnn", "mnist-5k", "adamw"):
        raise RuntimeError(f"this PyTorch recipe trains cnn on mnist-5k with AdamW, but gpugrad train's "
                           f"defaults are now {s['model']}, {s['data']}, {s['optimizer']}")
    split = load_split(s)
    mean, std = MEAN_STD[s["data"]]
    torch.manual_seed(s["seed"])
    model = nn.Sequential(  # gpugrad.models.cnn for 1×28×28 inputs
        nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    x_train, y_train = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    batch, n = s["batch_size"], len(x_train)
    steps = -(-n // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s["lr"], total_steps=s["epochs"] * steps)
    rng = np.random.default_rng(s["seed"])
    seconds = []
    for _ in range(s["epochs"]):
        start = time.perf_counter()
        model.train()
        order = torch.from_numpy(rng.permutation(n))
        for i in range(steps):
            idx = order[i * batch:(i + 1) * batch]
            x = (_shift(torch, x_train[idx], s["shift"], rng) - mean) / std
            loss = F.cross_entropy(model(x), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss.item()
        accuracy = _torch_evaluate(torch, model, (torch.from_numpy(split.x_test) - mean) / std,
                                   torch.from_numpy(split.y_test))
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds[1:], "test_accuracy": accuracy}


def _shift(torch, x, s, rng):
    """gpugrad's RandomShift(s) on a batch (N, C, H, W): each image moved by its own random
    whole offset in [-s, s] along each axis, the uncovered border zero."""
    n, _, h, w = x.shape
    dy, dx = (torch.from_numpy(rng.integers(0, 2 * s + 1, n)) for _ in range(2))
    top = (dy[:, None] + torch.arange(h))[:, None, :, None]
    left = (dx[:, None] + torch.arange(w))[:, None, None, :]
    padded = torch.nn.functional.pad(x, (s, s, s, s))
    return padded[torch.arange(n)[:, None, None, None], torch.arange(x.shape[1])[:, None, None], top, left]


def _torch_evaluate(torch, model, x, y, batch=500):
    """The work of gpugrad.train's evaluate: loss sum, accuracy and predictions, 500 at a time."""
    model.eval()
    loss_sum, correct, preds = 0.0, 0, []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            loss_sum += torch.nn.functional.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            pred = logits.argmax(1)
            correct += int((pred == y[i:i + batch]).sum().item())
            preds.extend(pred.tolist())
    return correct / len(x)


def _step(impl, batch, steps):
    """The seconds of `steps` LeNet-5 SGD steps after WARMUP untimed ones, and the first loss
    (the same initial values and batch on both sides, so it must agree)."""
    if impl == "torch":
        import torch
        F, no_grad = torch.nn.functional, torch.no_grad

        def tensor(v, grad=False):
            return torch.from_numpy(np.ascontiguousarray(v)).requires_grad_(grad)
    else:
        import gpugrad
        import gpugrad.nn.functional as F
        no_grad = gpugrad.no_grad

        def tensor(v, grad=False):
            return gpugrad.tensor(v, device="cpu", requires_grad=grad)
    params, stats = init("lenet5")
    step = _sgd_steps(F, no_grad, tensor, "lenet5", params, stats, random_batches(batch))
    seconds, first_loss = [], None
    for i in range(WARMUP + steps):
        start = time.perf_counter()
        loss = step()
        if i >= WARMUP:
            seconds.append(time.perf_counter() - start)
        first_loss = float(loss.item()) if first_loss is None else first_loss
    return {"seconds": seconds, "first_loss": first_loss}


WORKERS = {("recipe", "gpugrad"): _gpugrad_recipe, ("recipe", "torch"): _torch_recipe,
           ("step", "gpugrad"): functools.partial(_step, "gpugrad"),
           ("step", "torch"): functools.partial(_step, "torch")}


def _worker(kind, impl, *args):
    """What a job runs; it prints its result as one JSON line."""
    print(json.dumps(WORKERS[kind, impl](*map(int, args))), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] != ["--worker"] or len(sys.argv) != 6 or (sys.argv[2], sys.argv[3]) not in WORKERS:
        sys.exit(f"usage: python -m {__spec__.name} --worker (recipe IMPL EPOCHS LIMIT | step IMPL BATCH "
                 "STEPS), IMPL gpugrad or torch; the rows run with `python -m benchmarks --only alone`")
    _worker(*sys.argv[2:])
