"""Neural-network building blocks: Module and Parameter, layers, init, and the functional ops."""
from . import functional, init
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .module import Module
from .parameter import Parameter

__all__ = ["functional", "init", "Module", "Parameter", *_layers]
