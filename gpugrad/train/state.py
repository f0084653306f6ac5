"""Checkpoint contents: everything a resumed run needs to continue bit for bit.

Data randomness (shuffle order, augmentation) comes from the training loader's generator,
whose state is kept from the start of each epoch: a resumed run replays the epoch's batches and
skips those already trained on. Model randomness (gpugrad's generators: init, dropout) is
saved as it is when the checkpoint is written, between two batches.
"""
import json

from ..backends import BACKENDS
from ..device import device

# The numbers recorded for each completed epoch (metrics.json's rows).
METRICS = ("epoch", "train_loss", "test_loss", "test_accuracy", "seconds")


def gpugrad_rng():
    return {name: json.dumps(b.rng.bit_generator.state) for name, b in BACKENDS.items()
            if hasattr(b.rng, "bit_generator")}


def restore_gpugrad_rng(states):
    """Restore the generators of the devices in use; "cuda" is cuda:0 in older checkpoints."""
    for name, state in states.items():
        backend = BACKENDS.get(str(device(name)))
        if backend is not None:
            backend.rng.bit_generator.state = json.loads(state)


def checkpoint(settings, model, opt, sched, progress):
    """The dict gpugrad.save writes; `progress` holds epoch, step, loss sums, data rng, metrics."""
    return {"settings": settings, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "gpugrad_rng": gpugrad_rng(), **progress}


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def checked_progress(progress, epochs, steps_per_epoch):
    """`progress` read from a checkpoint, or ValueError naming the first value a run can't have."""
    p = progress
    ranges = {"epoch": (0, epochs), "step": (0, steps_per_epoch - 1), "seen": (0, float("inf"))}
    for key, (lo, hi) in ranges.items():
        if not (isinstance(p[key], int) and not isinstance(p[key], bool) and lo <= p[key] <= hi):
            raise ValueError(f"its {key} is {p[key]!r}, not a whole number from {lo} to {hi}")
    rows = p["metrics"]
    if not (_number(p["loss_sum"]) and isinstance(rows, list) and len(rows) == p["epoch"]
            and all(isinstance(r, dict) and all(_number(r.get(k)) for k in METRICS) for r in rows)):
        raise ValueError(f"its loss sum or metrics don't describe {p['epoch']} completed epochs")
    return p
