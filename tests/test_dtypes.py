"""float16, int32 and uint8 against torch: promotion on the full grid (torch.result_type), a few
ops per dtype (values, dtypes, float16 gradients), conversions; on cpu and simulated cuda."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import gpugrad  # noqa: E402
import gpugrad.nn.functional as F  # noqa: E402

from tests.api_check import check  # noqa: E402

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, -2, 300, 2.5]


def _values(name, shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    if name == "bool":
        return rng.random(shape) > 0.5
    if name == "uint8":
        return rng.integers(0, 256, shape).astype(np.uint8)
    if name.startswith("int"):
        return rng.integers(-50, 50, shape).astype(name)
    return rng.standard_normal(shape).astype(name)


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, DTYPES)))
def test_tensor_tensor_promotion_matches_torch(a, b, device):
    x, y = _values(a), _values(b, seed=1)
    ours = gpugrad.tensor(x, device=device) + gpugrad.tensor(y, device=device)
    want = torch.result_type(torch.from_numpy(x), torch.from_numpy(y))
    assert str(ours.dtype) == str(want).split(".")[1]
    if a != "bool" or b != "bool":
        np.testing.assert_allclose(ours.cpu().numpy(), (torch.from_numpy(x) + torch.from_numpy(y)).numpy(), rtol=1e-3)


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, DTYPES)))
def test_zero_dim_tensor_promotion_matches_torch(a, b, device):
    """A 0-dim tensor only counts when of a higher category: half * tensor(2.0) stays half."""
    x, y = _values(a), _values(b, shape=(), seed=1)
    for p, q in ((x, y), (y, x), (y, y)):
        ours = gpugrad.tensor(p, device=device) * gpugrad.tensor(q, device=device)
        want = torch.result_type(torch.from_numpy(np.asarray(p)), torch.from_numpy(np.asarray(q)))
        assert str(ours.dtype) == str(want).split(".")[1]


@pytest.mark.parametrize("a, s", list(itertools.product(DTYPES, SCALARS)))
def test_tensor_scalar_promotion_matches_torch(a, s, device):
    x = _values(a)
    if a == "bool" and isinstance(s, bool):
        pytest.skip("bool + bool is an error in torch's add; logical ops cover it")
    ours = gpugrad.tensor(x, device=device) * s
    theirs = torch.from_numpy(x) * s
    assert str(ours.dtype) == str(theirs.dtype).split(".")[1]
    np.testing.assert_allclose(ours.cpu().numpy().astype(float), theirs.numpy().astype(float), rtol=1e-3)


def test_conversions_and_type_names(device):
    x = gpugrad.tensor([1.7, -2.2, 300.0], device=device)
    prefix = "gpugrad." if device == "cpu" else "gpugrad.cuda."
    assert x.half().dtype == gpugrad.float16 == gpugrad.half and x.half().type() == prefix + "HalfTensor"
    assert x.int().dtype == gpugrad.int32 == gpugrad.int and x.int().tolist() == [1, -2, 300]
    assert x.int().type() == prefix + "IntTensor" and x.byte().type() == prefix + "ByteTensor"
    assert x.abs().byte().tolist() == torch.tensor([1.7, 2.2, 300.0]).byte().tolist()
    assert x.half().is_floating_point() and not x.int().is_floating_point() and not x.byte().is_floating_point()
    assert x.to(gpugrad.uint8).dtype == gpugrad.uint8 and x.type(gpugrad.int32).dtype == gpugrad.int32
    for name in ("float16", "int32", "uint8"):
        assert gpugrad.zeros(2, dtype=name, device=device).dtype == np.dtype(name)
        assert gpugrad.from_numpy(np.zeros(2, name)).dtype == np.dtype(name)   # kept, not widened


def test_python_ints_out_of_range_are_refused_as_in_torch(device):
    for dtype, value in (("uint8", 300), ("uint8", -1), ("int32", 2**31)):
        with pytest.raises(RuntimeError, match=f"value {value} cannot be converted to type {dtype} without overflow"):
            gpugrad.tensor([1, value], dtype=dtype, device=device)
    assert gpugrad.tensor([0, 255], dtype="uint8", device=device).tolist() == [0, 255]
    assert (gpugrad.tensor([1], dtype="int32", device=device) + 2**40).tolist() == [1]  # scalars wrap, as in torch


def test_uint8_images_convert_as_in_torch(device):
    img = _values("uint8", (4, 5, 3))
    ours = gpugrad.tensor(img, device=device)
    theirs = torch.from_numpy(img)
    assert ours.dtype == gpugrad.uint8
    np.testing.assert_allclose((ours.float() / 255).cpu().numpy(), (theirs.float() / 255).numpy(), rtol=1e-7)
    for f in (lambda t: t + 200, lambda t: t - 100, lambda t: t * 3, lambda t: t.sum(), lambda t: t.max(),
              lambda t: t.permute(2, 0, 1).flip(-1), lambda t: (t > 128).sum(), lambda t: t // 7,
              lambda t: t.sum(dim=-1), lambda t: t.cumsum(0), lambda t: t.half() / 255):
        o, t = f(ours), f(theirs)
        assert str(o.dtype) == str(t.dtype).split(".")[1], (o.dtype, t.dtype)
        np.testing.assert_allclose(o.cpu().numpy().astype(float), t.numpy().astype(float), rtol=1e-3)


def test_int32_ops_match_torch(device):
    a, b = _values("int32"), _values("int32", seed=1) + 60
    x, y = gpugrad.tensor(a, device=device), gpugrad.tensor(b, device=device)
    tx, ty = torch.from_numpy(a), torch.from_numpy(b)
    for f in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p // q, lambda p, q: p % q,
              lambda p, q: p & q, lambda p, q: p.sum(), lambda p, q: p.max(dim=0)[0], lambda p, q: p.abs(),
              lambda p, q: p.cumsum(1), lambda p, q: p == q, lambda p, q: p.float() / q, lambda p, q: p.long() + q,
              lambda p, q: p.clamp(-10, 10), lambda p, q: p.t().reshape(-1)):
        o, t = f(x, y), f(tx, ty)
        assert str(o.dtype) == str(t.dtype).split(".")[1], (o.dtype, t.dtype)
        np.testing.assert_allclose(o.cpu().numpy(), t.numpy(), rtol=1e-6)


HALF_OPS = {
    "add_mul": (lambda L, x, y: (x + y) * x, [(2, 3), (3,)]),
    "matmul": (lambda L, x, y: x @ y, [(4, 5), (5, 3)]),
    "exp_tanh_sum": (lambda L, x: x.exp().tanh().sum(dim=1), [(3, 4)]),
    "mean_var": (lambda L, x: x.mean() + x.var(), [(3, 4)]),
    "softmax": (lambda L, x: L.softmax(x, -1), [(3, 5)]),
    "relu_gelu": (lambda L, x: L.nn.functional.gelu(x.relu() - 0.1), [(3, 5)]),
    "conv2d": (lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1), [(2, 3, 6, 6), (4, 3, 3, 3)]),
    "max_pool2d": (lambda L, x: L.nn.functional.max_pool2d(x, 2), [(1, 2, 4, 6)]),
    "cross_entropy": (lambda L, x: L.nn.functional.cross_entropy(
        x, L.arange(4, device=x.device) % 3), [(4, 3)]),
    "layer_norm": (lambda L, x: L.nn.functional.layer_norm(x, (5,)), [(3, 5)]),
    "batch_norm": (lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True),
                   [(4, 3, 2, 2), (3,), (3,)]),
}


@pytest.mark.parametrize("name", list(HALF_OPS))
def test_float16_ops_match_torch(name, device):
    """Values and gradients of ops on float16 tensors (requires_grad allowed) against torch's
    float16 CPU ops; both round to half, so the tolerance is half precision's."""
    fn, shapes = HALF_OPS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float16) for s in shapes]
    ours = [gpugrad.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    o, t = fn(gpugrad, *ours), fn(torch, *theirs)
    assert o.dtype == gpugrad.float16 and str(t.dtype) == "torch.float16"
    np.testing.assert_allclose(o.detach().cpu().numpy().astype(float), t.detach().numpy().astype(float),
                               rtol=2e-2, atol=2e-2)
    seed = rng.standard_normal(o.shape).astype(np.float16)
    o.backward(gpugrad.tensor(seed, device=device))
    t.backward(torch.tensor(seed))
    for a, b in zip(ours, theirs):
        assert a.grad.dtype == gpugrad.float16
        np.testing.assert_allclose(a.grad.cpu().numpy().astype(float), b.grad.numpy().astype(float),
                                   rtol=3e-2, atol=3e-2)


def test_float16_module_trains(device):
    gpugrad.manual_seed(0)
    net = gpugrad.nn.Sequential(gpugrad.nn.Linear(4, 8), gpugrad.nn.ReLU(), gpugrad.nn.Linear(8, 2)).to(device)
    for p in net.parameters():
        p.data = p.detach().half()
    x = gpugrad.randn(16, 4, device=device).half()
    y = (x[:, 0] > 0).long()
    opt = gpugrad.optim.SGD(net.parameters(), lr=0.5)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.dtype == gpugrad.float16 and p.grad.dtype == gpugrad.float16 for p in net.parameters())
    assert losses[-1] < 0.5 * losses[0]


def test_gradient_through_half_casts(device):
    """float64 -> float16 -> float64: the cast's gradient is cast back; gradcheck at half's
    precision would fail, so the check is against torch."""
    check(lambda L, x: (x.half() * 2).double().exp(), [np.linspace(-2, 2, 6)], device, gradcheck_=False,
          rtol=1e-3, atol=1e-3)


INT32_INDEX_OPS = {
    "getitem": lambda L, x, i: x[i],
    "index_select": lambda L, x, i: x.index_select(1, i),
    "embedding": lambda L, x, i: L.nn.functional.embedding(i, x),
    "gather": lambda L, x, i: x.gather(0, i.reshape(1, 3)),
    "scatter_add": lambda L, x, i: x.scatter_add(0, i.reshape(1, 3), x[:1, :3] * 2),
}


@pytest.mark.parametrize("name", list(INT32_INDEX_OPS))
def test_int32_indices_work_as_in_torch(name, device):
    """PyTorch takes int32 index tensors wherever it takes int64 ones."""
    x = np.random.default_rng(0).standard_normal((4, 5))
    check(INT32_INDEX_OPS[name], [x, np.array([3, 0, 3], np.int32)], device)
