"""Dataset and TensorDataset, with PyTorch's indexing protocol."""
import numpy as np

from ..tensor import Tensor


class Dataset:
    """Anything with `__getitem__(i)` and `__len__`; a subclass may add `__getitems__(indices)`
    to hand the DataLoader a whole batch at once (PyTorch's batched-fetch hook)."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are slices of equally long tensors along dim 0: `(x[i], y[i], ...)`.

    `transform`, if given, is applied to the first tensor (the inputs) of every sample or batch
    it hands out, so random augmentation is fresh each epoch.
    """

    def __init__(self, *tensors, transform=None):
        if not tensors or any(not isinstance(t, Tensor) for t in tensors):
            raise TypeError("TensorDataset needs one or more gpugrad tensors")
        if any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError(f"TensorDataset: tensors differ in length: {[len(t) for t in tensors]}")
        self.tensors = tensors
        self.transform = transform

    def __len__(self):
        return len(self.tensors[0])

    def _take(self, index):
        parts = [t[index] for t in self.tensors]
        if self.transform is not None:
            parts[0] = self.transform(parts[0])
        return tuple(parts)

    def __getitem__(self, index):
        return self._take(index)

    def __getitems__(self, indices):
        return self._take(np.asarray(indices, dtype=np.int64))
