"""Samplers, as torch.utils.data's: the order of dataset indices a DataLoader batches.

SequentialSampler and RandomSampler give one epoch's indices, BatchSampler groups any sampler's
indices into batches (DataLoader(batch_sampler=...)), DistributedSampler deals each rank its
share. Random ones draw from a NumPy Generator (`generator`), as DataLoader's shuffle does.
"""
import math

import numpy as np


class DistributedSampler:
    """The indices rank `rank` of `num_replicas` trains on: an equal share for every rank.

    Each epoch's order is a permutation seeded by seed + epoch (call set_epoch(epoch) before
    each epoch, or every epoch repeats the first's order), the same on every rank; rank r takes
    every num_replicas-th index from position r. Unless drop_last, the order is padded with its
    own first indices to a multiple of num_replicas (a few samples appear twice); with
    drop_last, the tail that doesn't divide evenly is left out. num_replicas and rank default to
    gpugrad.distributed's world size and rank. Pass it to DataLoader(sampler=...).
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed as dist
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif n:
            order = np.resize(order, self.total_size)  # repeats the order from its start
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """The epoch whose order __iter__ deals out next."""
        self.epoch = epoch


class SequentialSampler:
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler:
    """A new permutation each epoch, or with `replacement` num_samples indices drawn with it."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        self.generator = np.random.default_rng() if generator is None else generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if self.replacement:
            return iter(self.generator.integers(0, n, self.num_samples).tolist())
        reps = -(-self.num_samples // n) if n else 0  # num_samples > n repeats whole permutations
        order = np.concatenate([self.generator.permutation(n) for _ in range(reps)] or [np.arange(0)])
        return iter(order[:self.num_samples].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler:
    """The given indices in a new random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = np.random.default_rng() if generator is None else generator

    def __iter__(self):
        return iter(self.indices[i] for i in self.generator.permutation(len(self.indices)).tolist())

    def __len__(self):
        return len(self.indices)


class BatchSampler:
    """Lists of batch_size indices from `sampler`; the last one shorter unless drop_last."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
