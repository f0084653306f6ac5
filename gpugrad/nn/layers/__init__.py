"""The layers of gpugrad.nn, one small file per family."""
from .activation import GELU, ReLU, Sigmoid, Tanh
from .container import ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .flatten import Flatten
from .linear import Linear
from .norm import BatchNorm1d, BatchNorm2d
from .pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = ["GELU", "ReLU", "Sigmoid", "Tanh", "ModuleList", "Sequential", "Conv2d", "ConvTranspose2d",
           "Dropout", "Flatten", "Linear", "BatchNorm1d", "BatchNorm2d", "AdaptiveAvgPool2d", "AvgPool2d",
           "MaxPool2d"]

# the wider PyTorch surface
from .activation_extra import (ELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSoftmax, Mish,  # noqa: E402
                               ReLU6, SiLU, Softmax, Softplus)
from .conv1d import AvgPool1d, Conv1d, MaxPool1d  # noqa: E402
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss,  # noqa: E402
                   SmoothL1Loss)
from .misc import Embedding, GroupNorm, Identity, LayerNorm, Unflatten, Upsample  # noqa: E402

__all__ += ["ELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "LogSoftmax", "Mish", "ReLU6", "SiLU",
            "Softmax", "Softplus", "AvgPool1d", "Conv1d", "MaxPool1d", "BCELoss", "BCEWithLogitsLoss",
            "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss", "SmoothL1Loss", "Embedding", "GroupNorm",
            "Identity", "LayerNorm", "Unflatten", "Upsample"]
