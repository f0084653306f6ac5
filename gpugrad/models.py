"""The models `gpugrad train --model` builds, each sized from the input shape (C, H, W)."""
from . import nn


def _pooled(size, times):
    for _ in range(times):
        size //= 2
    return size


def cnn(in_shape, classes=10):
    """Two 3×3 conv blocks (conv, batch norm, ReLU, 2×2 max pool) and a linear classifier:
    the default, since batch norm lets it train fast at a high one-cycle learning rate."""
    c, h, w = in_shape
    if min(h, w) < 4:
        raise ValueError(f"cnn needs images of at least 4×4 pixels (it pools twice), got {h}×{w}")
    return nn.Sequential(
        nn.Conv2d(c, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * _pooled(h, 2) * _pooled(w, 2), classes))


def lenet(in_shape, classes=10):
    """LeNet-5 with ReLU and max pooling; the first conv pads by 2 so 28×28 input works."""
    c, h, w = in_shape
    side_h, side_w = (_pooled(_pooled(h, 1) - 4, 1), _pooled(_pooled(w, 1) - 4, 1))
    if min(side_h, side_w) < 1:
        raise ValueError(f"lenet needs images of at least 12×12 pixels, got {h}×{w}")
    return nn.Sequential(
        nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * side_h * side_w, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, classes))


def mlp(in_shape, classes=10):
    """Two hidden layers of 256 units."""
    c, h, w = in_shape
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 256), nn.ReLU(),
                         nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, classes))


MODELS = {"cnn": cnn, "lenet": lenet, "mlp": mlp}


def build(name, in_shape, classes=10):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](tuple(in_shape), classes)
