"""IDX parsing (raw and gzip) and the MNIST directory loader's errors, each naming the file."""
import gzip

import numpy as np
import pytest

from gpugrad.data import IDXError, mnist, read_idx


def _idx(arr, code=0x08):
    head = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, ">u4").tobytes()
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write(path, payload, gz=False):
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_reads_raw_and_gzip(tmp_path, gz):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(_write(tmp_path / "a", _idx(arr), gz)), arr)
    ints = np.array([-5, 70000], np.int32)
    assert np.array_equal(read_idx(_write(tmp_path / "b", _idx(ints, 0x0C), gz)), ints)


def test_bad_magic_names_the_file(tmp_path):
    path = _write(tmp_path / "foreign.bin", b"PK\x03\x04 not idx")
    with pytest.raises(IDXError, match="foreign.bin.*bad magic"):
        read_idx(path)


def test_size_mismatch_names_the_file(tmp_path):
    path = _write(tmp_path / "short-idx3-ubyte", _idx(np.zeros((4, 28, 28), np.uint8))[:-10])
    with pytest.raises(IDXError, match=r"short-idx3-ubyte.*\(4, 28, 28\)"):
        read_idx(path)


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "t.gz"
    noise = np.random.default_rng(0).integers(0, 256, (50, 28, 28)).astype(np.uint8)
    path.write_bytes(gzip.compress(_idx(noise))[:1000])
    with pytest.raises(IDXError, match="t.gz.*gzip"):
        read_idx(path)


def _mnist_dir(tmp_path, n=6, gz=True):
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28)).astype(np.uint8),
             "train-labels-idx1-ubyte": np.arange(n, dtype=np.uint8) % 10,
             "t10k-images-idx3-ubyte": rng.integers(0, 256, (2, 28, 28)).astype(np.uint8),
             "t10k-labels-idx1-ubyte": np.array([3, 4], np.uint8)}
    for name, arr in files.items():
        _write(tmp_path / (name + (".gz" if gz else "")), _idx(arr), gz)
    return files


def test_mnist_directory(tmp_path):
    files = _mnist_dir(tmp_path)
    s = mnist(str(tmp_path))
    assert s.x_train.shape == (6, 1, 28, 28) and s.x_train.dtype == np.float32
    assert np.allclose(s.x_train[:, 0] * 255, files["train-images-idx3-ubyte"])
    assert s.y_test.tolist() == [3, 4]


def test_mnist_missing_file_is_named(tmp_path):
    _mnist_dir(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        mnist(str(tmp_path))


def test_mnist_count_mismatch_names_both_files(tmp_path):
    _mnist_dir(tmp_path)
    _write(tmp_path / "train-labels-idx1-ubyte.gz", _idx(np.zeros(5, np.uint8)), gz=True)
    with pytest.raises(IDXError, match="train-images.*6 images.*train-labels.*5 labels"):
        mnist(str(tmp_path))


def test_mnist_without_images_is_refused_at_load_time(tmp_path):
    _mnist_dir(tmp_path)
    _write(tmp_path / "t10k-images-idx3-ubyte.gz", _idx(np.zeros((0, 28, 28), np.uint8)), gz=True)
    _write(tmp_path / "t10k-labels-idx1-ubyte.gz", _idx(np.zeros(0, np.uint8)), gz=True)
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte.gz holds no images \(shape \(0, 28, 28\)\)"):
        mnist(str(tmp_path))


def test_mnist_train_and_test_image_sizes_must_match(tmp_path):
    _mnist_dir(tmp_path)
    _write(tmp_path / "t10k-images-idx3-ubyte.gz", _idx(np.zeros((2, 1, 1), np.uint8)), gz=True)
    with pytest.raises(IDXError, match="train-images.* holds 28×28 images but .*t10k-images.* holds 1×1"):
        mnist(str(tmp_path))
