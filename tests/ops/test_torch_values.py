"""Values and error types that now match PyTorch: integer-then-array indexing order, integer
linspace, the gradient of 0**y, minimum on int64 and bool, RuntimeError for shape errors."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad  # noqa: E402

from tests.api_check import check  # noqa: E402

X = np.random.default_rng(8).standard_normal((2, 3, 4))
I2 = np.array([1, 3])
INDEXES = {
    "int_slice_array": lambda L, x, i: x[0, :, i],
    "array_slice_int": lambda L, x, i: x[i // 2, :, 1],
    "int_ellipsis_array": lambda L, x, i: x[1, ..., i],
    "int_none_slice_array": lambda L, x, i: x[0, None, :, i],
    "int_array_adjacent": lambda L, x, i: x[:, 1, i],
    "int_slice_mask": lambda L, x, i: x[0, :, L.tensor([True, False, True, True])],
    "two_arrays_and_int": lambda L, x, i: x[i // 2, 2, i],
    "array_only": lambda L, x, i: x[:, i - 1],
}


@pytest.mark.parametrize("name", INDEXES)
def test_indexing_order_matches_torch(name, device):
    fn = INDEXES[name]
    if "mask" in name and device == "cuda":
        fn = (lambda L, x, i: x[0, :, L.tensor([True, False, True, True], device=x.device)])
    check(fn, [X, I2], device)


def test_setitem_with_int_and_array_matches_torch(device):
    g, t = gpugrad.tensor(X, device=device), torch.tensor(X)
    v = np.arange(6.0).reshape(3, 2)
    g[0, :, gpugrad.tensor(I2, device=device)] = gpugrad.tensor(v, device=device)
    t[0, :, torch.tensor(I2)] = torch.tensor(v)
    np.testing.assert_array_equal(g.cpu().numpy(), t.numpy())


@pytest.mark.parametrize("args", [(-5, 5, 4), (0, 1, 3), (-1.7, 2.9, 5), (3, -3, 7)])
def test_linspace_integer_dtype_truncates(args, device):
    ours = gpugrad.linspace(*args, dtype=gpugrad.int64, device=device)
    assert ours.tolist() == torch.linspace(*args, dtype=torch.int64).tolist()
    np.testing.assert_allclose(gpugrad.linspace(*args, dtype=gpugrad.float64).numpy(),
                               torch.linspace(*args, dtype=torch.float64).numpy())


def test_grad_of_zero_power_matches_torch(device):
    a, b = np.array([0.0, 0.0, 0.0, 2.0]), np.array([-1.0, 2.0, 0.0, -1.5])
    gb = gpugrad.tensor(b, device=device, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    (gpugrad.tensor(a, device=device) ** gb).sum().backward()
    (torch.tensor(a) ** tb).sum().backward()
    assert gb.grad.tolist()[0] == -np.inf
    np.testing.assert_array_equal(gb.grad.cpu().numpy(), tb.grad.numpy())


def test_minimum_int64_and_bool(device):
    lo = -2 ** 63
    a, b = np.array([lo, 5, -3]), np.array([0, lo + 1, 7])
    ours = gpugrad.minimum(gpugrad.tensor(a, device=device), gpugrad.tensor(b, device=device))
    assert ours.tolist() == torch.minimum(torch.tensor(a), torch.tensor(b)).tolist() == [lo, lo + 1, -3]
    p, q = np.array([True, True, False]), np.array([True, False, False])
    ours = gpugrad.minimum(gpugrad.tensor(p, device=device), gpugrad.tensor(q, device=device))
    assert ours.dtype == gpugrad.bool and ours.tolist() == torch.minimum(torch.tensor(p), torch.tensor(q)).tolist()


def test_minimum_ties_split_the_gradient(device):
    check(lambda L, a, b: L.minimum(a, b), [np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 4.0])], device,
          gradcheck_=False)


@pytest.mark.parametrize("call", [
    lambda L: L.ones(2, 3) @ L.ones(2, 3),
    lambda L: L.matmul(L.ones(2, 3, 4), L.ones(5, 2)),
    lambda L: L.ones(2, 3).reshape(4),
    lambda L: L.ones(2, 3).view(-1, 4),
    lambda L: L.ones(2, 3).permute(0, 0),
    lambda L: L.ones(2, 3).permute(1, 0, 2),
    lambda L: L.ones(2, 3).expand(4, 4),
    lambda L: L.nn.functional.conv2d(L.ones(1, 2, 3, 3), L.ones(1, 3, 1, 1)),
    lambda L: L.nn.functional.conv2d(L.ones(2, 3, 3), L.ones(1, 3, 1, 1, 1)),
    lambda L: L.nn.functional.linear(L.ones(2, 3), L.ones(4, 2)),
], ids=["matmul", "matmul_batch", "reshape", "view", "permute_repeat", "permute_count", "expand", "conv_channels",
        "conv_dims", "linear"])
def test_shape_errors_are_runtime_errors_like_torch(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError):
        call(gpugrad)
    with pytest.raises(ValueError):  # what gpugrad raised before: old except clauses still work
        call(gpugrad)


def test_shape_error_type():
    from gpugrad.errors import ShapeError
    assert issubclass(ShapeError, RuntimeError) and issubclass(ShapeError, ValueError)
    with pytest.raises(ShapeError, match="inner dimensions"):
        gpugrad.ones(2, 3) @ gpugrad.ones(2, 3)
