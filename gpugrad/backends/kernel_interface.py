"""The kernel interface: every function an op calls on `ctx.kernels`, with its signature.

Each backend implements all of it: the CPU kernels (gpugrad.backends.cpu.kernels, NumPy and
Numba) as module functions, the CUDA `KernelSet` (gpugrad.backends.cuda.kernels, our RawKernels
and cuBLAS) as methods, so op code is the same on every device. Alternative implementations of
a function (routes) are chosen in gpugrad.backends.algorithms; each kernel's files, CPU
function, reference and benchmark are listed in gpugrad.kernel_specs. The tests in
tests/kernels/test_kernel_specs.py check all of this against the backends.

Arrays are the backend's (NumPy or CuPy), float32 or float64, in any layout; every function
returns fresh arrays. `stride`, `padding`, `dilation` and `kernel` are (h, w) pairs the op
layer has already checked (gpugrad.backends.conv_params).

Two functions write in place instead: fused_adam updates an optimizer's arrays, and
philox_uniform advances its generator's state.
"""
from typing import Any, Protocol, runtime_checkable

Array = Any  # numpy.ndarray or cupy.ndarray
Pair = tuple  # (h, w)


@runtime_checkable
class Kernels(Protocol):
    """The functions of one backend's kernel module (see the module docstring)."""

    def conv2d_forward(self, x: Array, w: Array, stride: Pair, padding: Pair, dilation: Pair,
                       groups: int) -> Array:
        """y (N, F, OH, OW) = conv2d(x (N, C, H, W), w (F, C/groups, kh, kw)), no bias."""

    def conv_wgrad(self, x: Array, gy: Array, kh: int, kw: int, stride: Pair, padding: Pair,
                   dilation: Pair, groups: int) -> Array:
        """dL/dw (F, C/groups, kh, kw) of conv2d given x and gy = dL/dy."""

    def conv_dgrad(self, gy: Array, w: Array, x_shape: tuple, stride: Pair, padding: Pair,
                   dilation: Pair, groups: int) -> Array:
        """dL/dx of shape x_shape given gy = dL/dy and w: the transposed convolution."""

    def matmul(self, a: Array, b: Array) -> Array:
        """a @ b for operands of at least 2 dims, batch dims broadcast as in NumPy (the op layer
        promotes 1-D operands); float32 or float64, and any other dtype NumPy multiplies."""

    def gelu_fwd(self, x: Array, approximate: str) -> Array:
        """GELU(x), `approximate` "none" (erf) or "tanh" as in PyTorch."""

    def gelu_bwd(self, x: Array, gy: Array, approximate: str) -> Array:
        """gy * GELU'(x) for the same form."""

    def maxpool2d_fwd(self, x: Array, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                      ceil_mode: bool) -> tuple:
        """(y, argmax): window maxima and their int64 flat index h*W + w in each (n, c) plane,
        -1 for a window with no input element."""

    def maxpool2d_bwd(self, gy: Array, argmax: Array, x_shape: tuple) -> Array:
        """dL/dx: each gy added at its argmax (nothing where argmax is -1)."""

    def softmax_xent_fwd(self, logits: Array, target: Array, ignore_index: int,
                         label_smoothing: float) -> tuple:
        """(loss, lse): per-row cross-entropy of logits (N, K) against int64 targets (N,), 0 on
        ignored rows, and each row's logsumexp (kept for the backward)."""

    def softmax_xent_bwd(self, logits: Array, target: Array, lse: Array, gloss: Array,
                         ignore_index: int, label_smoothing: float) -> Array:
        """dL/dlogits given the per-row loss gradient gloss (N,) and the forward's lse."""

    def fused_adam(self, params: list, grads: list, exp_avgs: list, exp_avg_sqs: list, max_exp_avg_sqs: list,
                   steps: list, lr: Any, beta1: Any, beta2: float, weight_decay: float, eps: float,
                   amsgrad: bool, maximize: bool, decoupled: bool) -> tuple:
        """One Adam step (AdamW's when `decoupled`) of every tensor of a group, in place, as
        torch._fused_adam_: each step count (a one-element array) +1, then each param, exp_avg,
        exp_avg_sq (and max_exp_avg_sq with amsgrad; else that list is empty) updated, all of one
        float dtype and contiguous. lr and beta1 are numbers or one-element device arrays (read
        on the device, so a captured graph follows changes). Returns the updated arrays:
        (*params, *exp_avgs, *exp_avg_sqs, *max_exp_avg_sqs, *steps)."""

    def philox_uniform(self, state: Array, n: int, dtype: Any) -> Array:
        """n numbers uniform on [0, 1) of float dtype from the counter-based generator whose
        state is [key, counter] (uint64, on the device): Philox4x32-10 of blocks counter,
        counter + 1, ... (two numbers a block); the counter is then advanced past them, in
        place on the device, so a replayed CUDA graph draws new numbers."""

    def batch_norm_fwd(self, x: Array, weight: Array | None, bias: Array | None, eps: float) -> tuple:
        """(y, mean, var, invstd): training-mode batch norm of x (N, C, ...) with at least one
        value per channel, over every dim but 1: the per-channel mean and biased variance,
        invstd = 1/sqrt(var + eps), y = (x - mean) * invstd * weight + bias; a None weight is
        1, a None bias 0 (PyTorch's native_batch_norm, which returns no var)."""

    def batch_norm_bwd(self, x: Array, gy: Array, mean: Array, invstd: Array,
                       weight: Array | None) -> tuple:
        """(gx, gweight, gbias) given gy = dL/dy and the forward's mean and invstd: gbias = sum
        gy, gweight = sum gy * xhat, gx the closed form through the batch's statistics."""

    def relu_fwd(self, x: Array) -> Array:
        """max(x, 0); NaN stays NaN. Any real dtype."""

    def relu_bwd(self, x: Array, gy: Array) -> Array:
        """gy where x > 0, else 0 (PyTorch's threshold_backward at 0)."""


FUNCTIONS = tuple(name for name in vars(Kernels) if not name.startswith("_"))
