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
