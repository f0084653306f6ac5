"""Tensor basics: creation, dtypes, devices, conversion, printing, errors."""
import numpy as np
import pytest

import gpugrad


def test_creation_and_dtypes():
    assert gpugrad.tensor([1.0, 2.0]).dtype == np.float32
    assert gpugrad.tensor([1, 2]).dtype == np.int64
    assert gpugrad.tensor([True]).dtype == np.bool_
    assert gpugrad.tensor(np.zeros(2)).dtype == np.float64          # arrays keep float64
    assert gpugrad.tensor([1, 2], dtype=gpugrad.float64).dtype == np.float64
    assert gpugrad.zeros(2, 3).shape == (2, 3) and gpugrad.ones((4,)).dtype == np.float32
    assert gpugrad.full((2,), 7).dtype == np.int64 and gpugrad.full((2,), 7.0).dtype == np.float32
    assert gpugrad.arange(5).tolist() == [0, 1, 2, 3, 4] and gpugrad.arange(0, 1, 0.5).dtype == np.float32
    assert gpugrad.empty(3).shape == (3,) and gpugrad.eye(3).numpy().trace() == 3
    x = gpugrad.randn(3, 4, dtype="float64")
    assert gpugrad.zeros_like(x).dtype == np.float64 and gpugrad.ones_like(x).shape == (3, 4)
    assert gpugrad.randn_like(x).shape == (3, 4) and gpugrad.rand(5).numpy().max() < 1
    with pytest.raises(TypeError, match="unsupported dtype"):
        gpugrad.tensor([1.0], dtype="complex64")


def test_tensor_copies_its_data():
    a = np.ones(3)
    t = gpugrad.tensor(a)
    a[0] = 5
    assert t[0].item() == 1.0
    shared = gpugrad.from_numpy(a)
    a[1] = 7
    assert shared[1].item() == 7.0


def test_manual_seed_repeats():
    gpugrad.manual_seed(3)
    a = gpugrad.randn(4)
    gpugrad.manual_seed(3)
    np.testing.assert_array_equal(a.numpy(), gpugrad.randn(4).numpy())


def test_promotion():
    f32, f64 = gpugrad.ones(2), gpugrad.ones(2, dtype="float64")
    i64 = gpugrad.tensor([1, 2])
    assert (f32 + f64).dtype == np.float64      # NumPy promotion between floats
    assert (i64 + f32).dtype == np.float32      # PyTorch's int + float rule
    assert (i64 + 1.5).dtype == np.float32      # a float scalar with an int tensor
    assert (f32 * 2).dtype == np.float32        # scalars are weak
    assert (i64 / 2).dtype == np.float32        # true division
    assert (i64 * 2).dtype == np.int64
    assert i64.exp().dtype == np.float32


def test_conversions():
    x = gpugrad.tensor([[1.5, 2.0]])
    assert x.numpy().tolist() == [[1.5, 2.0]] and x.tolist() == [[1.5, 2.0]]
    assert np.asarray(x).shape == (1, 2)
    assert gpugrad.tensor(3.0).item() == 3.0 and float(gpugrad.tensor([2.0])) == 2.0
    assert x.to(gpugrad.float64).dtype == np.float64 and x.long().dtype == np.int64
    assert x.to("cpu") is x and x.cpu() is x
    with pytest.raises(ValueError, match="2 elements"):
        x.item()
    with pytest.raises(RuntimeError, match="detach"):
        x.requires_grad_().numpy()


def test_cast_is_differentiable():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_repr():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "dtype=float64" in repr(gpugrad.zeros(1, dtype="float64"))


def test_devices():
    assert gpugrad.zeros(1).device == gpugrad.device("cpu") == "cpu"
    assert str(gpugrad.device("cuda", 1)) == "cuda:1"
    with pytest.raises(ValueError, match="unknown device"):
        gpugrad.device("tpu")


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        gpugrad.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        gpugrad.tensor([1, 2]).requires_grad_()


def test_shape_errors_name_op_and_shapes():
    a, b = gpugrad.ones(2, 3), gpugrad.ones(4)
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        a + b
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: \(2, 3\) @ \(4,\)"):
        a @ b
    with pytest.raises(ValueError, match=r"batch dims"):
        gpugrad.ones(2, 2, 3) @ gpugrad.ones(3, 3, 4)
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4, 2\)"):
        a.reshape(4, 2)
    with pytest.raises(IndexError, match="sum: dim 2 is out of range"):
        a.sum(2)
    with pytest.raises(ValueError, match="expand"):
        a.expand(3, 3)
    with pytest.raises(ValueError, match="cat: tensor 1"):
        gpugrad.cat([a, gpugrad.ones(2, 4)], 0)
    with pytest.raises(IndexError, match="out of bounds"):
        a[5]


def test_loss_input_errors():
    import gpugrad.nn.functional as F
    logits = gpugrad.randn(4, 3)
    with pytest.raises(TypeError, match="int64.*float32"):
        F.cross_entropy(logits, gpugrad.zeros(4))
    with pytest.raises(ValueError, match=r"target of shape \(4,\)"):
        F.cross_entropy(logits, gpugrad.tensor([0, 1]))
    with pytest.raises(IndexError, match="class 3 outside"):
        F.cross_entropy(logits, gpugrad.tensor([0, 1, 3, 2]))
    with pytest.raises(ValueError, match="mse_loss.*not broadcastable"), pytest.warns(UserWarning):
        F.mse_loss(logits, gpugrad.randn(3, 4))
    with pytest.raises(ValueError, match="linear"):
        F.linear(logits, gpugrad.randn(5, 4))


def test_views_share_storage_and_version():
    base = gpugrad.zeros(2, 3)
    v = base.reshape(3, 2)
    v[0, 0] = 1.0
    assert base[0, 0].item() == 1.0
    assert base._version is v._version and base._version.value == 1
