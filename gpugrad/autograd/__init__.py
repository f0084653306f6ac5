"""The autograd engine: Function, backward/grad, grad modes, gradcheck. Device-agnostic."""
from .function import Function
from .functional import backward, grad
from .gradcheck import gradcheck, gradgradcheck
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                        set_grad_enabled)
from . import functional, graph  # noqa: E402  (functional: jacobian, hessian; graph: hooks)

__all__ = ["Function", "backward", "grad", "gradcheck", "gradgradcheck",
           "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled", "inference_mode",
           "is_inference_mode_enabled", "functional", "graph"]
