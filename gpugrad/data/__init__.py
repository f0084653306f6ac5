"""gpugrad.data: datasets, batching and augmentation for training."""
from . import transforms
from .datasets import Split, digits, mnist, mnist_5k
from .dataset import Dataset, TensorDataset
from .idx import IDXError, read_idx
from .loader import DataLoader, default_collate
from .sampler import BatchSampler, DistributedSampler, RandomSampler, SequentialSampler, SubsetRandomSampler

__all__ = ["Dataset", "TensorDataset", "DataLoader", "DistributedSampler", "default_collate", "transforms", "read_idx",
           "IDXError", "mnist", "mnist_5k", "digits", "Split"]

# torch.utils.data's dataset utilities
from .subsets import ConcatDataset, Subset, random_split  # noqa: E402

__all__ += ["ConcatDataset", "Subset", "random_split", "BatchSampler", "RandomSampler", "SequentialSampler",
            "SubsetRandomSampler"]
