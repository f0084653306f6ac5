"""Linear: y = x Wᵀ + b."""
import math

from ...creation import empty
from .. import functional as F, init
from ..module import Module
from ..parameter import Parameter


def reset_default(weight, bias):
    """PyTorch's default for Linear and Conv: kaiming_uniform_(a=√5), i.e. U(±1/√fan_in) for
    the weight too, and bias U(±1/√fan_in)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """Applies x Wᵀ + b to the last dim; weight (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, device=device or "cpu", dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device or "cpu", dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        reset_default(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
