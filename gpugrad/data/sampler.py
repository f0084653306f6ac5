"""DistributedSampler: each rank's share of a dataset's indices, as PyTorch's deals them out."""
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
