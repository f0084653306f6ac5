"""Module: the base of every layer. Attributes that are Parameters, Modules or registered
buffers are tracked by name, which is what parameters(), state_dict(), to() and train()
walk over (PyTorch's registration scheme)."""
from collections import OrderedDict, namedtuple

from ..autograd import no_grad
from ..backends import get_backend
from ..device import cuda_device
from ..ops.convert import _parse
from ..tensor import Tensor
from .parameter import Parameter, zero_grads

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Subclass it, create parameters and submodules in __init__, compute in forward()."""

    def __init__(self):
        for name, value in (("training", True), ("_parameters", {}), ("_buffers", {}),
                            ("_non_persistent", set()), ("_modules", {})):
            object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args, **kwargs):
        if not self.__dict__.get("_hooks"):
            return self.forward(*args, **kwargs)
        from .hooks import call
        return call(self, args, kwargs)

    def register_forward_pre_hook(self, hook, prepend=False):
        """hook(module, args) runs before forward; a non-None result replaces args."""
        from .hooks import register
        return register(self, "forward_pre", hook, prepend)

    def register_forward_hook(self, hook, prepend=False):
        """hook(module, args, output) runs after forward; a non-None result replaces the output."""
        from .hooks import register
        return register(self, "forward", hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) runs when the gradients of the module's inputs
        are computed; a non-None result replaces grad_input."""
        from .hooks import register
        return register(self, "backward", hook, prepend)

    # --- registration -------------------------------------------------------------------
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, (Parameter, Module)) and params is None:
            raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before Module.__init__() call")
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                                "(gpugrad.nn.Parameter or None expected)")
            params[name] = None
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module '{name}' "
                                "(gpugrad.nn.Module or None expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' "
                                "(gpugrad.Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only called when normal lookup fails
        for store in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(store)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if not self._forget(name):
            object.__delattr__(self, name)

    def _forget(self, name):
        """Drop `name` from every registry and the instance dict; True if it was registered."""
        self.__dict__.pop(name, None)
        self._non_persistent.discard(name)
        found = False
        for d in (self._parameters, self._buffers, self._modules):
            if name in d:
                del d[name]
                found = True
        return found

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register {type(param).__name__} as parameter '{name}' "
                            "(gpugrad.nn.Parameter or None expected)")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not learnable (running stats): moved by to(), saved by
        state_dict() unless persistent=False."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot register {type(tensor).__name__} as buffer '{name}' "
                            "(gpugrad.Tensor or None expected)")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # --- traversal ----------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for self and every descendant, depth first; shared modules once."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, m in modules:
            for name, t in getattr(m, store).items():
                if t is None or (remove_duplicate and t in seen):
                    continue
                seen.add(t)
                yield mod_prefix + ("." if mod_prefix else "") + name, t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --- modes and gradients ------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode here and in every descendant (dropout, batch norm read it)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be a bool")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        zero_grads(self.parameters(), set_to_none)

    def apply(self, fn):
        """Call fn on every descendant, then on self (e.g. a custom initialisation)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- devices and dtypes -------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Move parameters and buffers in place to a device and/or float dtype.

        Each tensor keeps its identity (optimizers keep holding the same Parameters): only
        its array is replaced. Like PyTorch, a dtype applies to floating tensors only.
        """
        dev, dt = _parse(args, dict(kwargs))
        if dt is not None and dt.kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, got {dt}")
        if dev is not None:
            get_backend(dev)  # a clear error for a device with no backend
        with no_grad():
            for m in self.modules():
                for t in list(m._parameters.values()) + list(m._buffers.values()):
                    if t is not None:
                        _move(t, dev, dt)
                        if t.grad is not None:
                            _move(t.grad, dev, dt)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to(cuda_device(device))

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    # --- state ----------------------------------------------------------------------------
    def state_dict(self, prefix="", keep_vars=False):
        """An ordered dict name -> tensor of every parameter and persistent buffer.

        Tensors share memory with the module (detached unless keep_vars): save or copy them
        before training further if you need a snapshot.
        """
        out = OrderedDict()
        for mod_prefix, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            dot = mod_prefix + ("." if mod_prefix else "")
            for name, p in m._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy tensors (or arrays) from `state_dict` into the parameters and buffers in place.

        Shape mismatches always raise; with strict=True so do missing or unexpected keys.
        Returns (missing_keys, unexpected_keys). Nothing is copied if anything is wrong.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = [f"size mismatch for {k}: copying a param with shape {tuple(v.shape)} from checkpoint, "
                  f"the shape in current model is {own[k].shape}."
                  for k, v in state_dict.items() if k in own and tuple(v.shape) != own[k].shape]
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    value = state_dict[k]
                    if not isinstance(value, Tensor) or value.device != t.device:
                        value = Tensor(value, dtype=t.dtype, device=t.device)
                    t.copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # --- printing -------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in repr (its settings)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _move(t, dev, dt):
    """Replace t's array by its copy on `dev` / in `dt` (floating tensors only), in place."""
    new = t
    if dev is not None and dev != t.device:
        new = new.to(dev)
    if dt is not None and t.dtype.kind == "f":
        new = new.to(dt)
    if new is not t:
        t._set_storage(new)
