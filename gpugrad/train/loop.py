"""The training loop behind `gpugrad train`: epochs of shuffled, augmented batches, an
evaluation and a checkpoint after each, and Ctrl-C or SIGTERM turned into a checkpoint and a
clean exit."""
import os
import signal
import threading
import time

from tqdm import tqdm

from .. import no_grad
from ..nn import functional as F
from ..random import manual_seed
from ..device import as_device
from ..serialization import load, save
from . import graphed, parallel, parts, report, state


def evaluate(model, loader):
    """Mean cross-entropy, accuracy and predictions over the loader."""
    model.eval()
    loss_sum, correct, preds = 0.0, 0, []
    with no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            pred = logits.argmax(1)
            correct += int((pred == y).sum().item())
            preds.extend(pred.tolist())
    n = len(loader.dataset)
    return loss_sum / n, correct / n, preds


class _Stop(Exception):
    """Raised between batches after a Ctrl-C or SIGTERM, when the run's state is consistent."""


class StopSignals:
    """While active, a first Ctrl-C (SIGINT) or SIGTERM (what `docker stop` and `kill` send) only
    records itself in `received` (the loop stops after the current batch, so model, optimizer and
    batch-norm statistics agree); a second one interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self):
        self.received, self._old = None, {}
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        if self.received:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum)

    def __exit__(self, *exc):
        for s, handler in self._old.items():
            signal.signal(s, handler)


class Run:
    """One training run (fresh or resumed) writing into settings["out"]; in a --distributed run,
    this rank's part of it (`net` is the model wrapped in DistributedDataParallel, `main` says
    whether this rank reports)."""

    def __init__(self, settings, resume=None):
        self.settings = settings
        self.device = parallel.local_device(parts.resolve_device(settings["device"]))
        split = parts.load_split(settings)
        self.train_loader, self.test_loader = parts.loaders(settings, split, self.device)
        manual_seed(settings["seed"])
        self.model, self.opt, self.sched = parts.training_objects(
            settings, split.x_train.shape[1:], len(self.train_loader), self.device)
        self.progress = {"epoch": 0, "step": 0, "loss_sum": 0.0, "seen": 0, "metrics": [],
                         "data_rng": self.train_loader.state_dict()}
        self.device_rng = None  # a graphed run's device generator, from the checkpoint
        if resume is not None:
            self._resume(resume)
        self.main = parallel.is_main()
        self.net = parallel.wrap(self.model)
        self.graphed = None
        use = graphed.usable(settings, as_device(self.device), self.net is not self.model)
        if use is True:
            self.graphed = graphed.GraphedSteps(settings, split, self.model, self.opt, as_device(self.device))
            if self.device_rng is not None:
                self.graphed.resume_rng(self.device_rng)
        elif use and self.main:
            print(f"note: each step runs eagerly (no CUDA graph): {use}", flush=True)
        self.ckpt_path = os.path.join(settings["out"], "checkpoint.npz")

    def _resume(self, path):
        """Restore the saved state; a part that doesn't fit the run its settings describe (another
        model's weights, edited numbers) is a one-line SetupError, raised before anything trains."""
        ckpt = load_checkpoint(path, map_location=self.device)
        try:
            self.model.load_state_dict(ckpt["model"])
            self.opt.load_state_dict(ckpt["optimizer"])
            self.sched.load_state_dict(ckpt["scheduler"])
            self.progress = state.checked_progress({k: ckpt[k] for k in self.progress},
                                                   self.settings["epochs"], len(self.train_loader))
            self.train_loader.load_state_dict(self.progress["data_rng"])
            state.restore_gpugrad_rng(ckpt["gpugrad_rng"])
            if "device_rng" in ckpt:
                self.device_rng = graphed.rng_from_checkpoint(ckpt["device_rng"])
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
            problem = " ".join(str(e).split())
            raise parts.SetupError(f"{path} doesn't fit the {self.settings['model']} run its settings "
                                   f"describe: {problem[:300]}") from None

    def save(self):
        if self.main:
            ckpt = state.checkpoint(self.settings, self.model, self.opt, self.sched, self.progress)
            if self.graphed is not None:
                ckpt["device_rng"] = self.graphed.rng_state()
            save(ckpt, self.ckpt_path)

    def fit(self):
        """Train the remaining epochs; returns 0, or 128 + the signal's number after a Ctrl-C
        (130) or SIGTERM (143), with a checkpoint saved."""
        epochs = self.settings["epochs"]
        try:
            with StopSignals() as self.stop:
                while self.progress["epoch"] < epochs:
                    self._epoch(self.progress["epoch"] + 1, epochs)
        except _Stop:
            p = self.progress
            self.save()
            self._write_outputs()
            received = self.stop.received or signal.SIGINT  # another rank's signal stopped this one
            if self.main:
                print(f"\n{received.name}: interrupted in epoch {p['epoch'] + 1} after {p['step']}/"
                      f"{len(self.train_loader)} batches; saved {self.ckpt_path} (continue with --resume "
                      f"{self.ckpt_path})", flush=True)
            return 128 + received
        except KeyboardInterrupt:
            if self.main:
                print(f"\naborted; {self.ckpt_path} holds the last completed epoch", flush=True)
            return 128 + (self.stop.received or signal.SIGINT)
        self._write_outputs()
        rows = self.progress["metrics"]
        if self.main:
            print(f"{len(rows)} epochs in {sum(r['seconds'] for r in rows):.1f} s, final test accuracy "
                  f"{100 * rows[-1]['test_accuracy']:.2f}%; wrote checkpoint.npz, metrics.json and "
                  f"metrics.png in {self.settings['out']}")
        return 0

    def _epoch(self, epoch, epochs):
        p = self.progress
        self.train_loader.load_state_dict(p["data_rng"])  # replays a partly done epoch's data exactly
        start, skip = time.perf_counter(), p["step"]
        if self.train_loader.sampler is not None:
            self.train_loader.sampler.set_epoch(epoch)
        self.model.train()
        if self.graphed is not None:
            loss_sum, seen, p["step"], stopped = self.graphed.epoch(
                self.sched, lambda: parallel.any_rank(bool(self.stop.received)), skip)
            p["loss_sum"] += loss_sum
            p["seen"] += seen
            if stopped:
                raise _Stop
        else:
            self._eager_steps(p, epoch, epochs, skip)
        self._end_epoch(p, epoch, epochs, start)

    def _eager_steps(self, p, epoch, epochs, skip):
        bar = tqdm(self.train_loader, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False,
                   dynamic_ncols=True, disable=None if self.main else True)
        for i, (x, y) in enumerate(bar):
            if i < skip:
                continue
            if parallel.any_rank(bool(self.stop.received)):
                raise _Stop
            loss = F.cross_entropy(self.net(x), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.sched.step()
            value = loss.item()
            loss_sum, seen = parallel.totals(value * len(y), len(y))  # over all ranks
            p["loss_sum"] += loss_sum
            p["seen"] += int(seen)
            p["step"] = i + 1
            rate = bar.format_dict["rate"]  # batches per second
            bar.set_postfix(loss=f"{value:.4f}", img_s=f"{(rate or 0) * len(y):.0f}", refresh=False)
        bar.close()

    def _end_epoch(self, p, epoch, epochs, start):
        test_loss, acc, _ = evaluate(self.model, self.test_loader)
        row = {"epoch": epoch, "train_loss": p["loss_sum"] / max(p["seen"], 1), "test_loss": test_loss,
               "test_accuracy": acc, "seconds": round(time.perf_counter() - start, 3)}
        p.update(epoch=epoch, step=0, loss_sum=0.0, seen=0, metrics=p["metrics"] + [row],
                 data_rng=self.train_loader.state_dict())
        self.save()
        if not self.main:
            return
        report.write_metrics(self.settings["out"], self.settings, p["metrics"])
        print(f"epoch {epoch:>3}/{epochs}  train loss {row['train_loss']:.4f}  test loss {test_loss:.4f}  "
              f"test acc {100 * acc:6.2f}%  lr {self.sched.get_last_lr()[0]:.2e}  {row['seconds']:.1f} s",
              flush=True)

    def _write_outputs(self):
        if self.progress["metrics"] and self.main:
            report.write_metrics(self.settings["out"], self.settings, self.progress["metrics"])
            report.plot(self.settings["out"], self.progress["metrics"])


def load_checkpoint(path, map_location=None):
    """A training checkpoint, or a one-line SetupError."""
    try:
        ckpt = load(path, map_location)
    except (OSError, ValueError) as e:
        raise parts.SetupError(str(e)) from None
    if not isinstance(ckpt, dict) or "settings" not in ckpt or "model" not in ckpt:
        raise parts.SetupError(f"{path} is a gpugrad checkpoint but not one written by `gpugrad train`")
    return ckpt
