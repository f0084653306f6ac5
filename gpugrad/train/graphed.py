"""`gpugrad train --device cuda`'s captured step: the training set resident on the GPU and the
whole step (batch gather, random shift, normalisation, forward, backward, optimizer) one CUDA
graph, replayed once per batch, so an epoch reads nothing back from the device until its end.

Shuffling is a device sort of device random keys, once per epoch; the step gathers its batch
through a device cursor and draws its shifts from the counter-based device generator
(gpugrad.backends.counter_rng), each step's numbers from a counter set by its index, so that a
checkpoint holding the generator as the epoch began lets a resumed epoch draw the same order and
the same numbers. Full batches only (a graph has fixed shapes), as PyTorch's
graphed loops use drop_last. The schedule's learning rate and momentum (Adam's β1, SGD's momentum)
reach the graph as device scalars written before each replay; Adam's update is the fused one (one
launch for all parameters).
"""
import contextlib
import json

import numpy as np

from .. import cuda
from ..backends import counter_rng
from ..nn import functional as F
from ..tensor import Tensor
from . import parts

STEP_BLOCKS = np.uint64(1 << 40)  # the generator's counter advances this much per step

def usable(settings, device, distributed):
    """Whether this run takes the captured step, or why not (a string)."""
    if not settings.get("graph", True) or device.type != "cuda":
        return False
    if distributed:
        return "--distributed runs all-reduce between steps"
    return True


class GraphedSteps:
    """The epoch's steps as replays of one captured step on device-resident data."""

    def __init__(self, settings, split, model, opt, device):
        self.model, self.opt, self.settings = model, opt, settings
        xp = model_backend(model).xp
        self.backend = model_backend(model)
        self.x = xp.asarray(np.ascontiguousarray(split.x_train, dtype=np.float32))
        self.y = xp.asarray(np.asarray(split.y_train, dtype=np.int64))
        self.batch = settings["batch_size"]
        self.steps = len(self.y) // self.batch
        if self.steps == 0:
            raise parts.SetupError(f"the captured step needs a full batch: {len(self.y)} training samples "
                                   f"< --batch-size {self.batch} (or use --no-graph)")
        mean, std = parts.MEAN_STD[settings["data"]]
        self.mean, self.std, self.shift = np.float32(mean), np.float32(std), settings["shift"]
        self.perm = xp.zeros(len(self.y), np.int64)
        self.cursor = xp.zeros(1, np.int64)
        self.loss_sum = xp.zeros(1, np.float32)
        for group in opt.param_groups:
            if "betas" in group:  # Adam, AdamW
                group["capturable"] = group["fused"] = True
        self.lr = [Tensor._make(xp.zeros((), np.float32), device) for _ in opt.param_groups]
        self.momentum = [Tensor._make(xp.zeros((), np.float32), device) for _ in opt.param_groups]
        self.rng = counter_rng.state(self.backend)
        self.epoch_rng = xp.zeros(2, np.uint64)  # the generator as the epoch began: what a checkpoint keeps
        self.step_base = xp.zeros(1, np.uint64)  # the counter of step 0's draws
        self.resumed_rng = None
        self.graph = None

    def _step(self):
        """One training step on the batch at the device cursor (eager or captured)."""
        xp, b = self.backend.xp, self.batch
        self.rng[1:] = self.step_base + (self.cursor // b).astype(np.uint64) * STEP_BLOCKS
        index = xp.take(self.perm, self.cursor + xp.arange(b))
        self.cursor += b
        x = xp.take(self.x, index, axis=0)
        if self.shift:
            s = self.shift
            n, c, h, w = x.shape
            padded = xp.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))
            dy, dx = ((counter_rng.uniform(self.backend, (n,), np.float32) * (2 * s + 1)).astype(np.int64)
                      for _ in range(2))
            rows = (dy[:, None] + xp.arange(h))[:, None, :, None]
            cols = (dx[:, None] + xp.arange(w))[:, None, None, :]
            x = padded[xp.arange(n)[:, None, None, None], xp.arange(c)[None, :, None, None], rows, cols]
        x = (x - self.mean) / self.std
        device = self.lr[0].device
        loss = F.cross_entropy(self.model(Tensor._make(x, device)), Tensor._make(xp.take(self.y, index), device))
        self.opt.zero_grad(set_to_none=False)
        loss.backward()
        self.opt.step()
        self.loss_sum += loss._data * b

    def _capture(self):
        """Capture the step with the groups' lr and momentum read from device scalars."""
        self.opt.zero_grad(set_to_none=True)
        self.graph = cuda.CUDAGraph()
        with self.device_schedule(), cuda.graph(self.graph):
            self._step()

    @contextlib.contextmanager
    def device_schedule(self):
        """The groups read lr and momentum (Adam's β1) from the device scalars inside the block."""
        saved = [(g["lr"], g.get("betas"), g.get("momentum")) for g in self.opt.param_groups]
        for g, lr, momentum in zip(self.opt.param_groups, self.lr, self.momentum):
            g["lr"] = lr
            if "betas" in g:
                g["betas"] = (momentum, g["betas"][1])
            else:
                g["momentum"] = momentum
        try:
            yield
        finally:
            for g, (lr, betas, momentum) in zip(self.opt.param_groups, saved):
                g["lr"] = lr
                g.update({k: v for k, v in (("betas", betas), ("momentum", momentum)) if v is not None})

    def epoch(self, sched, stop, skip=0):
        """Train the epoch's steps from `skip` on; returns (loss sum, samples seen, steps done),
        read from the device once, and whether `stop()` ended it early."""
        xp = self.backend.xp
        if self.resumed_rng is not None:
            self.rng[...] = xp.asarray(self.resumed_rng)
            self.resumed_rng = None
        self.epoch_rng[...] = self.rng
        keys = counter_rng.uniform(self.backend, (len(self.y),), np.float32)
        self.perm[...] = xp.argsort(keys)
        self.step_base[...] = self.rng[1:]
        self.cursor[...] = skip * self.batch
        self.loss_sum[...] = 0
        done, stopped = skip, False
        for _ in range(skip, self.steps):
            if stop():
                stopped = True
                break
            self._set_schedule()
            if self.graph is None:
                self._step()  # an eager warm-up step (PyTorch's pattern), then the capture
                self._capture()
            else:
                self.graph.replay()
            sched.step()
            done += 1
        if not stopped:  # the next epoch starts where this one ends, however it was interrupted
            self.rng[1:] = self.step_base + np.uint64(self.steps) * STEP_BLOCKS
            self.epoch_rng[...] = self.rng
        loss = float(Tensor._make(self.loss_sum, self.lr[0].device).item())
        return loss, (done - skip) * self.batch, done, stopped

    def rng_state(self):
        """The device generator as the current epoch began (or the next, after a whole epoch),
        for the checkpoint."""
        return json.dumps([int(v) for v in self.backend.to_host(self.epoch_rng)])

    def resume_rng(self, saved):
        """Start the next epoch from a generator state of rng_from_checkpoint()."""
        self.resumed_rng = saved

    def _set_schedule(self):
        for g, lr, momentum in zip(self.opt.param_groups, self.lr, self.momentum):
            lr.fill_(float(g["lr"]))
            momentum.fill_(float(g["betas"][0] if "betas" in g else g["momentum"]))


def model_backend(model):
    return next(iter(model.parameters())).backend


def rng_from_checkpoint(saved):
    """rng_state()'s text as the generator state, or a ValueError saying what is wrong with it."""
    try:
        key, counter = json.loads(str(saved))
        return np.array([key, counter], np.uint64)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"its device_rng is {str(saved)[:60]!r}, not [key, counter]") from None
