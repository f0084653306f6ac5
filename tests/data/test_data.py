"""DataLoader batching/shuffle/drop_last, transforms, and the offline datasets."""
import numpy as np
import pytest

import gpugrad
from gpugrad.data import DataLoader, Dataset, TensorDataset, digits, mnist_5k, transforms


def _dataset(n=10, **kw):
    return TensorDataset(gpugrad.arange(n).float().reshape(n, 1), gpugrad.arange(n), **kw)


def _labels(loader):
    return [y.tolist() for _, y in loader]


def test_batches_in_order_with_a_short_last_batch():
    assert _labels(DataLoader(_dataset(), batch_size=4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(DataLoader(_dataset(), batch_size=4)) == 3


def test_drop_last_skips_the_short_batch():
    loader = DataLoader(_dataset(), batch_size=4, drop_last=True)
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(loader) == 2


def test_shuffle_is_a_permutation_repeatable_by_seed_and_new_each_epoch():
    a, b = (DataLoader(_dataset(), batch_size=3, shuffle=True, seed=7) for _ in range(2))
    first, second = _labels(a), _labels(a)
    assert first == _labels(b) and second == _labels(b)
    assert sorted(sum(first, [])) == list(range(10)) and first != second
    assert first != _labels(DataLoader(_dataset(), batch_size=3, shuffle=True, seed=8))


def test_state_dict_resumes_the_shuffle_sequence():
    a = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=1)
    _labels(a)
    b = DataLoader(_dataset(), batch_size=5, shuffle=True, seed=99)
    b.load_state_dict(a.state_dict())
    assert _labels(a) == _labels(b)


def test_per_item_datasets_are_collated():
    class Squares(Dataset):
        def __getitem__(self, i):
            return np.full(2, i, np.float32), i * i

        def __len__(self):
            return 5

    x, y = next(iter(DataLoader(Squares(), batch_size=5)))
    assert x.shape == (5, 2) and x.dtype == gpugrad.float32 and y.tolist() == [0, 1, 4, 9, 16]


def test_samples_and_transform_on_one_item():
    ds = _dataset(transform=lambda x: x * 10)
    x, y = ds[3]
    assert x.tolist() == [30.0] and y.item() == 3


def test_random_shift_moves_each_image_within_bounds():
    gpugrad.manual_seed(0)
    img = np.zeros((64, 1, 9, 9), np.float32)
    img[:, :, 4, 4] = 1
    out = transforms.RandomShift(2)(gpugrad.tensor(img)).numpy()
    where = np.argwhere(out[:, 0] == 1)
    assert out.sum() == 64 and len(where) == 64
    assert set(where[:, 1]) == set(range(2, 7)) and set(where[:, 2]) == set(range(2, 7))
    assert transforms.RandomShift(1)(gpugrad.tensor(img[0])).shape == (1, 9, 9)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_random_shift_is_a_crop_of_the_padded_image(device):
    """Image k is padded[k, :, dy[k]:dy[k]+h, dx[k]:dx[k]+w] with fill around, dy then dx
    drawn from the generator: random channels and values, so a wrong window cannot match."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3, 5, 7)).astype(np.float32)
    out = transforms.RandomShift(2, fill=-1.5, generator=np.random.default_rng(9))(gpugrad.tensor(x, device=device))
    twin = np.random.default_rng(9)
    dy, dx = twin.integers(0, 5, 6), twin.integers(0, 5, 6)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=-1.5)
    want = np.stack([padded[k, :, dy[k]:dy[k] + 5, dx[k]:dx[k] + 7] for k in range(6)])
    np.testing.assert_array_equal(out.cpu().numpy(), want)


def test_normalize_per_channel():
    x = gpugrad.ones(2, 2, 1, 1)
    out = transforms.Normalize([1.0, 0.5], [1.0, 0.25])(x).numpy()
    assert out[:, 0].ravel().tolist() == [0, 0] and out[:, 1].ravel().tolist() == [2, 2]


@pytest.mark.parametrize("load, shape, n_train, n_test", [(mnist_5k, (1, 28, 28), 4000, 1000),
                                                          (digits, (1, 8, 8), 1438, 359)])
def test_offline_datasets(load, shape, n_train, n_test):
    s = load()
    assert s.x_train.shape == (n_train,) + shape and s.x_test.shape == (n_test,) + shape
    assert s.x_train.dtype == np.float32 and 0 <= s.x_train.min() and s.x_train.max() == 1
    assert s.y_train.dtype == np.int64 and set(np.unique(s.y_test)) == set(range(10))
    assert np.array_equal(load().x_test, s.x_test)  # the split is fixed

