"""The trainer's data loaders: PyTorch's ``DataLoader`` as documented, with randomness that no process owns.

Each epoch's shuffle is drawn from a generator seeded by (run seed, epoch), and each item's augmentation from torch's
CPU generator seeded by (run seed, epoch, sample index), forked so nothing else's random stream moves. The batches
are therefore the same with 0, 1 or 4 workers, persistent or not, and after a resume: nothing about a loader needs
to be checkpointed. The epoch reaches the workers inside each index, as ``(epoch, index)`` pairs, so persistent
workers need no re-seeding. Images travel as uint8 (a quarter of the bytes of float32) and are normalised on the
device (``lib.train.Runtime.to_device``).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def sample_seed(*coordinates: int) -> int:
    """A 64-bit seed from non-negative integers, e.g. (run seed, epoch, index): numpy's ``SeedSequence`` hashing."""
    return int(np.random.SeedSequence(list(coordinates)).generate_state(1, dtype=np.uint64)[0])


class EpochBatches(Sampler):
    """Batches of ``(epoch, index)`` pairs; shuffled (when asked) by a generator seeded by (seed, epoch).

    Call :meth:`set_epoch` before each epoch, as with PyTorch's ``DistributedSampler``.
    """

    def __init__(self, size: int, batch_size: int, shuffle: bool, seed: int, limit: int | None = None):
        self.size, self.batch_size, self.shuffle, self.seed, self.epoch = size, batch_size, shuffle, seed, 1
        self.limit = size if limit is None else min(limit, size)   # the first ``limit`` of each epoch's order

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.limit // self.batch_size)

    def __iter__(self):
        if self.shuffle:
            generator = torch.Generator().manual_seed(sample_seed(self.seed, self.epoch))
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = range(self.size)
        for start in range(0, self.limit, self.batch_size):
            yield [(self.epoch, index) for index in order[start:min(start + self.batch_size, self.limit)]]


class SeededItems(Dataset):
    """Item ``(epoch, index)`` of ``dataset``, its random draws seeded by (seed, epoch, index).

    ``lib.data``'s image datasets deliver augmented **uint8** images (``uint8_item``); any other dataset's items
    pass through as they are.
    """

    def __init__(self, dataset, seed: int):
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        epoch, index = key
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(sample_seed(self.seed, epoch, index))
            if hasattr(self.dataset, "uint8_item"):
                return self.dataset.uint8_item(index)
            return self.dataset[index]


def make_loader(dataset, batch_size: int, shuffle: bool, seed: int, workers: int,
                device: torch.device, limit: int | None = None) -> DataLoader:
    """The loader of one split: persistent workers (when any), pinned memory on CUDA; ``limit``: at most that many
    items per epoch (the first of its shuffled order).

    The loader gets a generator of its own: starting workers draws a seed from it, which would otherwise come from
    torch's global generator and move the model's random stream (dropout) by as many draws as loaders were started.
    """
    batches = EpochBatches(len(dataset), batch_size, shuffle, seed, limit)
    return DataLoader(SeededItems(dataset, seed), batch_sampler=batches,
                      num_workers=workers, persistent_workers=workers > 0, pin_memory=device.type == "cuda",
                      generator=torch.Generator().manual_seed(seed))
