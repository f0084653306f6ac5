"""Device objects: a type ("cpu" or "cuda") and an index, each with a backend behind it."""


class device:
    """Where a tensor's storage lives. `device("cuda:1")`, `device("cuda", 1)`, `device("cpu")`."""

    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device type {kind!r} in {spec!r}; expected 'cpu' or 'cuda[:N]'")
        if idx:
            if index is not None or not idx.isdigit():
                raise ValueError(f"bad device string {spec!r}; expected 'cuda:N'")
            index = int(idx)
        if kind == "cuda" and index is None:
            index = 0
        if kind == "cpu" and index not in (None, 0):
            raise ValueError(f"the cpu device has no index {index}")
        self.type, self.index = kind, (None if kind == "cpu" else index)

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


def as_device(spec):
    return spec if isinstance(spec, device) else device(spec)


def cuda_device(spec=None):
    """The cuda device that `.cuda(spec)` and torch.cuda-style functions mean: None is cuda:0,
    an int N is cuda:N; anything else must name a cuda device."""
    dev = device("cuda", spec or 0) if spec is None or isinstance(spec, int) else as_device(spec)
    if dev.type != "cuda":
        raise ValueError(f"expected a cuda device, got {dev}")
    return dev
