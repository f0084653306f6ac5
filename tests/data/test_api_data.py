"""torch.utils.data's surface: the gpugrad.utils.data alias, DataLoader's worker/collate
arguments, Subset/ConcatDataset/random_split, torchvision-style transforms, gpugrad.accelerator."""
import threading

import numpy as np
import pytest

import gpugrad
from gpugrad.utils.data import ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, random_split


def _dataset(n=10):
    return TensorDataset(gpugrad.arange(n).reshape(n, 1).float(), gpugrad.arange(n))


class Squares(Dataset):
    """A map-style dataset without __getitems__, as most PyTorch datasets are."""

    def __len__(self):
        return 9

    def __getitem__(self, i):
        return np.float32(i * i), i


def _labels(loader):
    return [b[1].tolist() for b in loader]


def test_utils_data_is_the_data_package():
    import gpugrad.utils.data as d
    assert d is gpugrad.data and gpugrad.utils.data.DataLoader is gpugrad.data.DataLoader


@pytest.mark.parametrize("workers", [1, 3])
def test_workers_give_the_same_batches_in_order(workers):
    base = _labels(DataLoader(Squares(), batch_size=2))
    assert _labels(DataLoader(Squares(), batch_size=2, num_workers=workers)) == base == [[0, 1], [2, 3], [4, 5],
                                                                                         [6, 7], [8]]
    shuffled = [_labels(DataLoader(_dataset(), 3, shuffle=True, num_workers=w, seed=4)) for w in (0, workers)]
    assert shuffled[0] == shuffled[1]


def test_workers_run_in_parallel_threads_and_init_once_each():
    seen, ids = set(), []
    barrier = threading.Barrier(2, timeout=5)

    class Slow(Squares):
        def __getitem__(self, i):
            seen.add(threading.get_ident())
            if i < 4:
                barrier.wait()  # two batches must be fetched at the same time to pass
            return super().__getitem__(i)

    loader = DataLoader(Slow(), batch_size=1, num_workers=2, worker_init_fn=ids.append, persistent_workers=True)
    assert len(list(loader)) == 9
    assert sorted(ids) == [0, 1] and threading.get_ident() not in seen
    assert len(list(loader)) == 9 and sorted(ids) == [0, 1]  # persistent: not started again


def test_collate_fn_and_pin_memory():
    loader = DataLoader(_dataset(), batch_size=4, collate_fn=lambda samples: [int(s[1]) for s in samples],
                        pin_memory=True)
    assert list(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = next(iter(DataLoader(Squares(), batch_size=3)))
    assert x.tolist() == [0.0, 1.0, 4.0] and y.tolist() == [0, 1, 2] and y.dtype == gpugrad.int64


@pytest.mark.parametrize("kwargs, match", [(dict(persistent_workers=True), "num_workers"),
                                           (dict(prefetch_factor=2), "num_workers"),
                                           (dict(num_workers=-1), "num_workers"),
                                           (dict(batch_sampler=[[0, 1]], batch_size=2), "mutually exclusive"),
                                           (dict(batch_sampler=[[0, 1]], shuffle=True), "mutually exclusive"),
                                           (dict(batch_sampler=[[0, 1]], drop_last=True), "mutually exclusive"),
                                           (dict(batch_sampler=[[0, 1]], sampler=[0]), "mutually exclusive"),
                                           (dict(sampler=[0, 1], shuffle=True), "sampler")])
def test_loader_argument_errors(kwargs, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        DataLoader(_dataset(), **kwargs)


def test_subset_concat_random_split():
    ds = _dataset()
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1].item() == 7
    assert _labels(DataLoader(sub, batch_size=2)) == [[7, 2], [5]]
    cat = ConcatDataset([sub, Squares()])
    assert len(cat) == 12 and cat[2][1].item() == 5 and cat[3] == (0.0, 0) and cat[-1] == (64.0, 8)
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(0))
    assert len(a) == 7 and len(b) == 3 and sorted(a.indices + b.indices) == list(range(10))
    parts = random_split(Squares(), [0.5, 0.3, 0.2])
    assert sum(len(p) for p in parts) == 9 and len(parts) == 3
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])


def test_random_split_fractions_match_torch_lengths():
    torch = pytest.importorskip("torch")
    for fracs in ([0.5, 0.3, 0.2], [0.1, 0.9], [1 / 3] * 3):
        ours = [len(p) for p in random_split(Squares(), fracs)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(9), fracs)]
        assert ours == theirs


def test_transforms_match_torchvision_semantics():
    from gpugrad.data import transforms as T
    img = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    x = T.ToTensor()(img)
    assert x.shape == (3, 5, 6) and x.dtype == gpugrad.float32
    np.testing.assert_allclose(x.numpy(), img.transpose(2, 0, 1) / 255, rtol=1e-6)
    assert T.ToTensor()(img[:, :, 0]).shape == (1, 5, 6)
    norm = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.2, 0.2))])(img)
    np.testing.assert_allclose(norm.numpy(), (img.transpose(2, 0, 1) / 255 - np.array([0.5, 0.4, 0.3])[:, None, None])
                               / 0.2, rtol=1e-5, atol=1e-6)
    crop = T.RandomCrop(4, padding=2, generator=np.random.default_rng(1))(x)
    assert crop.shape == (3, 4, 4)
    full = T.RandomCrop((5, 6))(x)
    np.testing.assert_array_equal(full.numpy(), x.numpy())
    padded = T.RandomCrop((7, 8), pad_if_needed=True)(x)
    assert padded.shape == (3, 7, 8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x).numpy(), x.numpy()[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x).numpy(), x.numpy())
    flips = [T.RandomHorizontalFlip(generator=np.random.default_rng(s))(x).numpy()[0, 0, 0] == x.numpy()[0, 0, -1]
             for s in range(20)]
    assert 0 < sum(flips) < 20
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(9)(x)


def test_random_crop_covers_every_offset():
    from gpugrad.data import transforms as T
    x = gpugrad.arange(16).reshape(1, 4, 4).float()
    crop = T.RandomCrop(2, generator=np.random.default_rng(3))
    corners = {crop(x)[0, 0, 0].item() for _ in range(200)}
    assert corners == {0.0, 1.0, 2.0, 4.0, 5.0, 6.0, 8.0, 9.0, 10.0}


def test_accelerator():
    acc = gpugrad.accelerator
    assert acc.is_available() == gpugrad.cuda.is_available()  # simulated cuda in the test run
    assert acc.device_count() == gpugrad.cuda.device_count() >= 1
    assert acc.current_accelerator() == gpugrad.device("cuda")
    x = gpugrad.ones(2, device=acc.current_accelerator())
    assert x.device.type == "cuda"


def test_batch_sampler_and_samplers_match_torch():
    torch = pytest.importorskip("torch")
    from torch.utils import data as td

    from gpugrad.utils import data as gd
    ds = _dataset()
    for drop_last in (False, True):
        ours = gd.BatchSampler(gd.SequentialSampler(range(10)), 3, drop_last)
        theirs = td.BatchSampler(td.SequentialSampler(range(10)), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        loader = DataLoader(ds, batch_sampler=ours)
        assert loader.batch_size is None and len(loader) == len(theirs)
        assert _labels(loader) == [b[1].tolist() for b in td.DataLoader(
            td.TensorDataset(torch.arange(10.0).reshape(10, 1), torch.arange(10)), batch_sampler=theirs)]
    uneven = [[3, 1], [0], [9, 8, 7, 2]]  # any iterable of index lists, batches of any size
    assert _labels(DataLoader(ds, batch_sampler=uneven, num_workers=2)) == uneven
    rng = np.random.default_rng(0)
    random = gd.RandomSampler(range(10), generator=rng)
    assert sorted(random) == list(range(10)) and len(random) == 10
    with_repl = list(gd.RandomSampler(range(10), replacement=True, num_samples=25, generator=rng))
    assert len(with_repl) == 25 and set(with_repl) <= set(range(10))
    assert len(list(gd.RandomSampler(range(4), num_samples=9, generator=rng))) == 9
    assert sorted(gd.SubsetRandomSampler([5, 7, 9], generator=rng)) == [5, 7, 9]
    epochs = [_labels(DataLoader(ds, batch_sampler=gd.BatchSampler(random, 4, False))) for _ in range(2)]
    assert epochs[0] != epochs[1] and sorted(sum(epochs[0], [])) == list(range(10))
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        gd.BatchSampler(random, 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        gd.RandomSampler(range(3), num_samples=0)


def test_normalize_matches_torchvision_semantics(device):
    from gpugrad.data import transforms as T
    rng = np.random.default_rng(0)
    x = gpugrad.tensor(rng.random((2, 3, 4, 5)), dtype="float64", device=device, requires_grad=True)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.1, 0.3)
    want = (x.detach().cpu().numpy() - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    out = T.Normalize(mean, std)(x)
    np.testing.assert_allclose(out.detach().cpu().numpy(), want, rtol=1e-12)
    out.sum().backward()  # differentiable, as torchvision's is
    np.testing.assert_allclose(x.grad.cpu().numpy(), np.broadcast_to(1 / np.array(std)[:, None, None], x.shape))
    y = x.detach().clone()
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y.cpu().numpy(), want, rtol=1e-12)
    img = gpugrad.tensor(rng.integers(0, 256, (3, 4, 5)).astype(np.uint8), device=device)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(mean, std)(img)
    np.testing.assert_allclose(T.Normalize(0.5, 0.5)(img.float() / 255).cpu().numpy(),
                               (img.cpu().numpy() / 255 - 0.5) / 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize(mean, (0.2, 0.0, 0.1))(x.detach())
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.Normalize(mean, std)(x.detach()[0, 0])
