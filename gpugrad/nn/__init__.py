"""Neural-network building blocks: Module and Parameter, layers, init, and the functional ops."""
from . import functional, init, parallel
from .layers import (GELU, AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d,
                     Dropout, Flatten, Linear, MaxPool2d, ModuleList, ReLU, Sequential, Sigmoid, Tanh)
from .module import Module
from .parameter import Parameter

__all__ = ["functional", "init", "Module", "Parameter", "GELU", "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d",
           "BatchNorm2d", "Conv2d", "ConvTranspose2d", "Dropout", "Flatten", "Linear", "MaxPool2d", "ModuleList",
           "ReLU", "Sequential", "Sigmoid", "Tanh", "parallel"]

# the wider PyTorch surface (activations, losses, norms, 1-D layers, ...)
from .layers import *  # noqa: E402,F401,F403
from .layers import __all__ as _layers  # noqa: E402

__all__ += [name for name in _layers if name not in __all__]
