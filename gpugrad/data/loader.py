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
    """Iterate over `dataset` in batches of `batch_size`, with torch.utils.data.DataLoader's arguments.

    shuffle: a new order each epoch, drawn from `generator` (a NumPy Generator) or from one seeded
    by `seed` (fresh entropy when both are None); its state is in `state_dict()` so a resumed run
    sees the same orders.
    drop_last: skip a final batch smaller than `batch_size`.
    num_workers: that many worker threads fetch and collate batches in parallel, up to
    prefetch_factor batches each ahead of the loop; batches still come in order. worker_init_fn
    (worker_id) runs once in each worker as it starts; persistent_workers keeps them across epochs.
    pin_memory: accepted; host memory is not pinned (batches go to `device` as they are).
    collate_fn: turns a list of samples into a batch (default_collate when None).
    device: where the batch tensors go (None leaves them where the dataset made them).
    sampler: an iterable of dataset indices (a DistributedSampler, a RandomSampler) to batch in
    its order, instead of shuffle's.
    batch_sampler: an iterable of lists of indices (a BatchSampler), each list one batch; it
    replaces batch_size, shuffle, sampler and drop_last (then batch_size is None).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", seed=None, device=None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                             "and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.sampler = sampler
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative int, got {num_workers!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. "
                             "let num_workers > 0 to enable multiprocessing")
        self.batch_sampler = batch_sampler
        self.dataset, self.batch_size = dataset, None if batch_sampler is not None else batch_size
        self.shuffle, self.drop_last = bool(shuffle), drop_last
        self.device = device
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.persistent_workers = worker_init_fn, persistent_workers
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.rng = generator if generator is not None else np.random.default_rng(seed)
        self._pool = None

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        batches = self._batches()
        if self.num_workers == 0:
            for indices in batches:
                yield self._to_device(self._fetch(indices))
            return
        from .workers import parallel_batches
        yield from (self._to_device(b) for b in parallel_batches(self, batches))

    def _batches(self):
        """This epoch's batches as arrays of dataset indices."""
        if self.batch_sampler is not None:
            return [np.asarray(list(b), dtype=np.int64) for b in self.batch_sampler]
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64)
        else:
            n = len(self.dataset)
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        return [order[start:start + self.batch_size]
                for start in range(0, len(self) * self.batch_size, self.batch_size)]

    def _fetch(self, indices):
        if self.collate_fn is default_collate and hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(indices)  # already a batch
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
