"""Conv2d and ConvTranspose2d (zero padding), with PyTorch's weight layouts and default init."""
from ...backends.conv_params import normalize_pair
from ...creation import empty
from .. import functional as F
from ..module import Module
from ..parameter import Parameter
from .linear import reset_default


class _ConvNd(Module):
    """What both convolutions share: settings, weight/bias creation, init and repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 weight_shape, device, dtype):
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must be positive and divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = normalize_pair("kernel_size", kernel_size)
        self.stride = normalize_pair("stride", stride)
        self.padding = padding if isinstance(padding, str) else normalize_pair("padding", padding)
        self.dilation = normalize_pair("dilation", dilation)
        device = device or "cpu"
        self.weight = Parameter(empty(*weight_shape, *self.kernel_size, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_default(self.weight, self.bias)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over NCHW input; weight (out_channels, in_channels/groups, kH, kW).

    padding: an int, a pair, "valid" or "same" (stride 1 only, as in PyTorch).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, device=None, dtype=None):
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of 'valid' or 'same'")
            if padding == "same" and normalize_pair("stride", stride) != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         (out_channels, in_channels // groups), device, dtype)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """The adjoint of Conv2d (a learnable upsampling); weight (in_channels, out_channels/groups, kH, kW)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, device=None, dtype=None):
        self.output_padding = normalize_pair("output_padding", output_padding)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         (in_channels, out_channels // groups), device, dtype)

    def forward(self, input):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
