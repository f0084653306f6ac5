"""The autograd engine: Function, backward/grad, grad modes, gradcheck. Device-agnostic."""
from .function import Function
from .functional import backward, grad
from .gradcheck import gradcheck, gradgradcheck
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "backward", "grad", "gradcheck", "gradgradcheck",
           "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]
