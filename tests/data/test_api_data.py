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
                                           (dict(sampler=[0, 1]), "sampler")])
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
