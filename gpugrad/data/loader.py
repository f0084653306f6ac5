"""DataLoader: batches from a Dataset, shuffled by its own seeded generator, put on a device."""
import json

import numpy as np

from ..creation import tensor
from ..ops.join import stack
from ..tensor import Tensor


def default_collate(samples):
    """Stack a list of samples (tuples of tensors, arrays or numbers) into batch tensors."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, Tensor):
        return stack(samples)
    return tensor(np.stack([np.asarray(s) for s in samples]))


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`.

    shuffle: a new order each epoch, drawn from `generator` (a NumPy Generator) or from one seeded
    by `seed` (fresh entropy when both are None); its state is in `state_dict()` so a resumed run
    sees the same orders.
    drop_last: skip a final batch smaller than `batch_size`.
    device: where the batch tensors go (None leaves them where the dataset made them).
    sampler: an iterable of dataset indices (a DistributedSampler) to batch in its order, instead
    of shuffle's.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 generator=None, device=None, collate_fn=default_collate, sampler=None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self.device, self.collate_fn = device, collate_fn
        self.rng = generator if generator is not None else np.random.default_rng(seed)

    def __len__(self):
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64)
        else:
            n = len(self.dataset)
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self._to_device(self._fetch(order[start:start + self.batch_size]))

    def _fetch(self, indices):
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(indices)
        return self.collate_fn([self.dataset[int(i)] for i in indices])

    def _to_device(self, batch):
        if self.device is None:
            return batch
        if isinstance(batch, Tensor):
            return batch.to(self.device)
        return tuple(self._to_device(b) for b in batch)

    def state_dict(self):
        """The shuffle generator's state (JSON text: its 128-bit integers don't fit an array)."""
        return {"rng": json.dumps(self.rng.bit_generator.state)}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = json.loads(state["rng"])
