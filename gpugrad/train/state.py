"""Checkpoint contents: everything a resumed run needs to continue bit for bit.

Data randomness (shuffle order, augmentation) comes from the training loader's generator,
whose state is kept from the start of each epoch: a resumed run replays the epoch's batches and
skips those already trained on. Model randomness (gpugrad's generators: init, dropout) is
saved as it is when the checkpoint is written, between two batches.
"""
import json

from ..backends import BACKENDS
from ..device import device


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
