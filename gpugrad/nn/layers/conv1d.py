"""Conv1d, MaxPool1d, AvgPool1d over (N, C, L) input (the pools keep their 2-D parents' settings)."""
from ...creation import empty
from .. import functional as F
from ..module import Module
from ..parameter import Parameter
from .linear import reset_default
from .pool import AvgPool2d, MaxPool2d


def _int(v):
    return v[0] if isinstance(v, (tuple, list)) else v


class Conv1d(Module):
    """weight (out_channels, in_channels/groups, kernel_size); padding an int, "valid" or "same"."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, device=None, dtype=None):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must be positive and divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.dilation = (_int(kernel_size),), (_int(stride),), (_int(dilation),)
        self.padding = padding if isinstance(padding, str) else (_int(padding),)
        dev = device or "cpu"
        self.weight = Parameter(empty(out_channels, in_channels // groups, self.kernel_size[0], device=dev,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=dev, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_default(self.weight, self.bias)

    def forward(self, input):
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
                + (f", padding={self.padding}" if self.padding != (0,) else "")
                + (", bias=False" if self.bias is None else ""))


class MaxPool1d(MaxPool2d):
    """Window maxima over (N, C, L) input; stride defaults to kernel_size."""

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool1d(AvgPool2d):
    """Window means over (N, C, L) input; stride defaults to kernel_size."""

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)
