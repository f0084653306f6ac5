"""Checkpoint contents: everything a resumed run needs to continue bit for bit.

Random state is captured at the start of each epoch; a checkpoint stores that snapshot plus
how many batches of the epoch are done, and a resumed run replays the epoch's data (same order,
same augmentation draws) skipping those batches.
"""
import json

from ..backends import BACKENDS


def rng_snapshot(loader):
    """The shuffle generator's state and gpugrad's per-device generators (augmentation, init)."""
    gens = {name: json.dumps(b.rng.bit_generator.state) for name, b in BACKENDS.items()
            if hasattr(b.rng, "bit_generator")}
    return {"loader": loader.state_dict(), "gpugrad": gens}


def restore_rng(snapshot, loader):
    loader.load_state_dict(snapshot["loader"])
    for name, state in snapshot["gpugrad"].items():
        BACKENDS[name].rng.bit_generator.state = json.loads(state)


def checkpoint(settings, model, opt, sched, progress):
    """The dict gpugrad.save writes; `progress` holds epoch, step, loss sums, rng and metrics."""
    return {"settings": settings, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), **progress}
