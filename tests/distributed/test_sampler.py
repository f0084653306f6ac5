"""DistributedSampler deals out PyTorch's shares; DataLoader(sampler=) batches in its order."""
import numpy as np
import pytest

import gpugrad
from gpugrad.data import DataLoader, DistributedSampler, TensorDataset


@pytest.mark.parametrize("n, replicas", [(10, 3), (12, 4), (5, 2), (3, 4), (0, 2)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shares_are_pytorchs(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs), (rank, torch.__version__)


@pytest.mark.parametrize("drop_last", [False, True])
def test_shuffled_shares_cover_one_permutation_and_change_with_the_epoch(drop_last):
    n, replicas = 11, 3
    samplers = [DistributedSampler(range(n), replicas, r, seed=5, drop_last=drop_last) for r in range(replicas)]
    shares = [list(s) for s in samplers]
    assert len({len(s) for s in shares}) == 1  # equal shares: the ranks stay in step
    dealt = [i for step in zip(*shares) for i in step]  # back in the order they were dealt out
    if drop_last:
        assert len(dealt) == 9 and len(set(dealt)) == 9
    else:
        assert sorted(set(dealt)) == list(range(n)) and dealt[n:] == dealt[:len(dealt) - n]  # padded from the start
    assert [list(s) for s in samplers] == shares  # the same epoch repeats its order
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != shares


def test_bad_rank_and_missing_group_are_clear():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="init_process_group"):
        DistributedSampler(range(4))


def test_dataloader_batches_the_samplers_indices():
    x = gpugrad.tensor(np.arange(10.0))
    sampler = DistributedSampler(TensorDataset(x), num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(TensorDataset(x), batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [b.tolist() for (b,) in loader] == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(TensorDataset(x), sampler=sampler, shuffle=True)
