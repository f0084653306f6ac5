"""Optimizers (SGD, Adam, AdamW) and learning-rate schedulers, with PyTorch's update math."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]

# more optimizers
from .adadelta import Adadelta  # noqa: E402
from .adagrad import Adagrad  # noqa: E402
from .rmsprop import RMSprop  # noqa: E402

__all__ += ["Adadelta", "Adagrad", "RMSprop"]
