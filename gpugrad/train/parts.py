"""Turning a run's settings into its pieces: device, data loaders, model, optimizer, schedule."""
import numpy as np

from .. import data, distributed, models, optim
from ..creation import tensor
from ..data import transforms

MEAN_STD = {"mnist-5k": (0.1307, 0.3081), "mnist": (0.1307, 0.3081), "digits": (0.3, 0.38)}
OPTIMIZERS = {"adamw": optim.AdamW, "adam": optim.Adam, "sgd": optim.SGD}
DEFAULT_LR = {"adamw": 0.02, "adam": 0.02, "sgd": 0.1}


class SetupError(Exception):
    """A setting that can't be honoured; the command prints it as one line."""


def resolve_device(name):
    """'auto' is cuda when gpugrad has a usable CUDA backend, else cpu."""
    import gpugrad
    cuda = getattr(gpugrad, "cuda", None)
    try:
        available = bool(cuda is not None and cuda.is_available())
    except Exception:  # a broken driver or toolkit means no usable GPU, not a crash
        available = False
    if name == "auto":
        return "cuda" if available else "cpu"
    if name.startswith("cuda") and not available:
        raise SetupError(f"--device {name}: no usable CUDA GPU (gpugrad.cuda.is_available() is "
                         "False); use --device cpu or auto")
    return name


def load_split(settings):
    """The train/test arrays; `limit` keeps that many evenly spaced samples of each (tests)."""
    name = settings["data"]
    try:
        split = data.mnist(settings["data_dir"]) if name == "mnist" else getattr(data, name.replace("-", "_"))()
    except (OSError, ValueError) as e:
        raise SetupError(str(e)) from None
    if settings.get("limit"):
        split = data.Split(*(a[np.linspace(0, len(a) - 1, min(settings["limit"], len(a))).astype(int)]
                             for a in split))
    h, w = split.x_train.shape[2:]
    if settings["shift"] >= min(h, w):
        raise SetupError(f"--shift must be less than the image size ({h}×{w} pixels), "
                         f"from 0 to {min(h, w) - 1}, got {settings['shift']}")
    return split


def loaders(settings, split, device):
    """Training batches shuffled and randomly shifted by one seeded generator (shuffled by a
    DistributedSampler in a --distributed run, this rank's share); test batches in order."""
    rng = np.random.default_rng(settings["seed"])
    normalize = transforms.Normalize(*MEAN_STD[settings["data"]])
    augment = [transforms.RandomShift(settings["shift"], generator=rng)] if settings["shift"] else []
    train = data.TensorDataset(tensor(split.x_train), tensor(split.y_train),
                               transform=transforms.Compose(augment + [normalize]))
    test = data.TensorDataset(tensor(split.x_test), tensor(split.y_test), transform=normalize)
    sampler = data.DistributedSampler(train, seed=settings["seed"]) if distributed.is_initialized() else None
    return (data.DataLoader(train, settings["batch_size"], shuffle=sampler is None, generator=rng, device=device,
                            sampler=sampler),
            data.DataLoader(test, 500, device=device))


def training_objects(settings, in_shape, steps_per_epoch, device):
    """Model, optimizer and the one-cycle schedule stepped once per batch."""
    try:
        model = models.build(settings["model"], in_shape).to(device)
    except ValueError as e:
        raise SetupError(str(e)) from None
    kind, lr = settings["optimizer"], settings["lr"]
    extra = {"momentum": 0.9, "nesterov": True} if kind == "sgd" else {}
    opt = OPTIMIZERS[kind](model.parameters(), lr=lr, weight_decay=settings["weight_decay"], **extra)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=settings["epochs"] * steps_per_epoch)
    return model, opt, sched
