"""Losses with PyTorch's signatures: cross_entropy (class indices or probabilities, weight=,
label_smoothing), nll_loss(weight=), mse_loss, l1_loss, smooth_l1_loss, binary_cross_entropy
(and with_logits).

Class-index cross_entropy without weights runs the fused softmax-xent kernel; the other
forms are composed from log_softmax and elementwise ops, so their gradients come free.
"""
import warnings

from .. import dtypes
from ..ops.elementwise import where
from ..ops.reduce import log_softmax
from ..tensor import Tensor
from ..autograd.function import check_same_device
from ..ops.activation import softplus
from ..ops.softmax_xent import SoftmaxCrossEntropy


_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction, op, count=None):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / (loss.numel() if count is None else count)


def _kept(keep, loss):
    """The number of kept targets as a device scalar of loss's dtype (no host read, so a mean
    loss can be captured in a CUDA graph)."""
    xp = loss.backend.xp
    return Tensor._make(xp.asarray(keep.sum(), dtype=loss._data.dtype), loss.device)


def _capturing():
    from .. import cuda
    return cuda.is_current_stream_capturing()


def _legacy(size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce flags mapped onto reduction."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _check_weight(weight, classes, op):
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != classes):
        raise RuntimeError(f"{op}: weight must be a 1-D tensor of {classes} class weights, got shape {weight.shape}")


def _class_target(input, target, op, ignore_index):
    """Check integer targets and flatten (N, C, d...) to rows: returns (logits2d, target1d)."""
    if not isinstance(target, Tensor) or target.dtype != dtypes.int64:
        got = target.dtype if isinstance(target, Tensor) else type(target).__name__
        raise TypeError(f"{op}: target must be an int64 tensor of class indices, got {got}")
    if not dtypes.is_float(input.dtype):
        raise TypeError(f"{op}: input must be float scores, got {input.dtype}")
    check_same_device(op, input, target)
    if input.ndim == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
    expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{op}: input of shape {input.shape} needs a target of shape {expected}, "
                         f"got {target.shape}")
    classes = input.shape[1]
    t = target._data
    bad = ((t < 0) | (t >= classes)) & (t != ignore_index)
    if not _capturing() and bad.any():  # a host read, which a CUDA graph can't contain
        raise IndexError(f"{op}: target holds class {int(t[bad].reshape(-1)[0])} outside [0, {classes}) "
                         f"for input of shape {input.shape}")
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, classes)
        target = target.reshape(-1)
    return input, target


def _cross_entropy_indices(input, target, ignore_index, reduction, label_smoothing):
    """Unweighted cross-entropy with class-index targets: the fused softmax-xent kernel."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    shape = target.shape if isinstance(target, Tensor) else None
    logits, flat = _class_target(input, target, "cross_entropy", ignore_index)
    loss = SoftmaxCrossEntropy.apply(logits, target=flat, ignore_index=ignore_index,
                                     label_smoothing=float(label_smoothing))
    if reduction == "none":
        return loss.reshape(shape)
    return _reduce(loss, reduction, "cross_entropy", _kept(flat._data != ignore_index, loss))


def _nll_loss_indices(input, target, ignore_index, reduction):
    """Unweighted negative log-likelihood of log-probabilities `input` at the target classes."""
    shape = target.shape if isinstance(target, Tensor) else None
    logp, flat = _class_target(input, target, "nll_loss", ignore_index)
    xp = logp.backend.xp
    keep = flat._data != ignore_index
    picked = logp[xp.arange(logp.shape[0]), xp.where(keep, flat._data, 0)]
    loss = -where(Tensor._make(keep, logp.device), picked, 0.0)  # an ignored row's -inf stays out
    if reduction == "none":
        return loss.reshape(shape)
    return _reduce(loss, reduction, "nll_loss", _kept(keep, loss))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """-w[t]·input[t] per element; the mean divides by the summed weights of the kept targets."""
    reduction = _legacy(size_average, reduce, reduction)
    if weight is None:
        return _nll_loss_indices(input, target, ignore_index, reduction)
    shape = target.shape if isinstance(target, Tensor) else None
    logp, flat = _class_target(input, target, "nll_loss", ignore_index)
    _check_weight(weight, logp.shape[1], "nll_loss")
    xp = logp.backend.xp
    keep = flat._data != ignore_index
    safe = xp.where(keep, flat._data, 0)
    w = where(Tensor._make(keep, logp.device), weight[Tensor._make(safe, logp.device)], 0.0)
    picked = logp[xp.arange(logp.shape[0]), safe]
    loss = -where(Tensor._make(keep, logp.device), picked, 0.0) * w
    if reduction == "none":
        return loss.reshape(shape)
    if reduction == "mean":
        return _reduce(loss, "sum", "nll_loss") / w.sum()
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """torch.nn.functional.cross_entropy: logits over dim 1; target class indices (int64) or
    class probabilities (float, input's shape)."""
    reduction = _legacy(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if isinstance(target, Tensor) and dtypes.is_float(target.dtype) and target.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    if weight is None:
        return _cross_entropy_indices(input, target, ignore_index, reduction, label_smoothing)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    _check_weight(weight, classes, "cross_entropy")
    logp = log_softmax(input, 1 if input.ndim > 1 else 0)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    # the smoothing term: eps/C · sum_c w_c · (-logp_c), over the kept targets
    wshape = (1, classes) + (1,) * (logp.ndim - 2) if logp.ndim > 1 else (classes,)
    smooth = -(logp * weight.reshape(wshape)).sum(1 if logp.ndim > 1 else 0)
    keep = Tensor._make(target._data != ignore_index, input.device)
    smooth = where(keep, smooth, 0.0)
    if reduction == "none":
        pass
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        t = target._data
        smooth = smooth.sum() / weight[Tensor._make(t[t != ignore_index], input.device)].sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    dim = 1 if input.ndim > 1 else 0
    classes = input.shape[dim]
    _check_weight(weight, classes, "cross_entropy")
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = log_softmax(input, dim) * target
    if weight is not None:
        terms = terms * weight.reshape((1, classes) + (1,) * (input.ndim - 2) if dim else (classes,))
    loss = -terms.sum(dim)
    if reduction == "mean" and input.ndim > 1:
        return loss.sum() / (input.numel() // classes)
    return _reduce(loss, reduction, "cross_entropy")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(size_average, reduce, reduction)
    _same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5·d²/beta where |d| < beta, else |d| - 0.5·beta (Huber loss divided by beta)."""
    reduction = _legacy(size_average, reduce, reduction)
    _same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    loss = where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-(y·log p + (1-y)·log(1-p))·w on probabilities p; each log is clamped at -100, as in PyTorch."""
    reduction = _legacy(size_average, reduce, reduction)
    _same_shape(input, target, "binary_cross_entropy")
    p = input._data
    if ((p < 0) | (p > 1)).any():
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    loss = -(target * input.log().clamp(min=-100.0) + (1 - target) * (1 - input).log().clamp(min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """-[p·y·log σ(x) + (1-y)·log(1-σ(x))]·w, computed stably with softplus."""
    reduction = _legacy(size_average, reduce, reduction)
    if input.shape != target.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: input shape {input.shape} and target "
                         f"shape {target.shape} differ")
    log_sig_neg = softplus(-input)  # -log σ(x)
    if pos_weight is None:
        loss = (1 - target) * input + log_sig_neg
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * log_sig_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean squared error; shapes that differ broadcast, with PyTorch's warning."""
    reduction = _legacy(size_average, reduce, reduction)
    if input.shape != target.shape:
        warnings.warn(f"Using a target size {target.shape} that is different to the input size "
                      f"{input.shape}. This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=2)
    try:
        diff = input - target
    except ValueError:
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape {target.shape} "
                         "are not broadcastable") from None
    return _reduce(diff * diff, reduction, "mse_loss")


def _same_shape(input, target, op):
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} differ")


__all__ = ["nll_loss", "cross_entropy", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss"]
