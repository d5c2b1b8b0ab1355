"""Image batches from DataLoader workers to the trainer through shared memory that is used again.

By default a DataLoader worker stacks every batch into a *new* shared-memory segment, which the kernel allocates,
zeroes and maps page by page, in the worker and again in the trainer's process: 6 MB and some 3,000 page faults for
32 uint8 images at 256 x 256, measured here at ~0.17 ms per image, over a third of a worker's time
(``bench/pipeline.py``). :class:`SharedSlots` gives each worker a few such segments ("slots") once, for the loader's
whole life:

- a worker stacks its batch into one of *its* free slots and sends only ``(worker, slot, count)``
  (:class:`SlotBatch`) and the labels; with no free slot it falls back to a new segment, as PyTorch does;
- the trainer's process turns that into a view of the slot (:meth:`SharedSlots.resolve`, which
  :class:`SlotLoader` calls on every batch), and hands the slot back to its worker once nothing in the process refers
  to the view any more (:meth:`SharedSlots.release_dropped`, which :class:`SlotLoader` calls before asking for each
  batch; :func:`storage_owners`; the trainer normalises each batch into a float32 buffer at once).

A batch someone still holds is never overwritten (it only costs a fresh segment for a later batch), so the batches
are the same tensors, bit for bit, as with PyTorch's own collation (``tests/test_slots.py``).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch.utils.data import DataLoader, get_worker_info
from torch.utils.data._utils.collate import default_collate


def storage_owners(tensor: torch.Tensor) -> int | None:
    """How many tensors (views included, and those autograd saved) share ``tensor``'s memory; None where this torch
    cannot say. The question torch's own CUDA-graph memory pools ask before they use memory again."""
    count = getattr(torch._C, "_storage_Use_Count", None)
    if count is None:
        return None
    from torch.multiprocessing.reductions import StorageWeakRef

    return count(StorageWeakRef(tensor.untyped_storage()).cdata)


class SlotBatch(NamedTuple):
    """What a worker sends in place of a batch's pixels: the first ``count`` images of its slot ``slot``."""

    worker: int
    slot: int
    count: int


class SharedSlots:
    """``per_worker`` shared uint8 buffers of ``batch_size x item_shape`` for each of ``workers`` workers, and a shared
    table saying which of them the trainer's process still reads (1) and which the worker may fill (0)."""

    def __init__(self, workers: int, per_worker: int, batch_size: int, item_shape: tuple[int, ...]):
        self.batch_size, self.item_shape = batch_size, tuple(item_shape)
        self.buffers = [[torch.empty((batch_size, *item_shape), dtype=torch.uint8).share_memory_()
                         for _ in range(per_worker)] for _ in range(workers)]
        self.lent = torch.zeros((workers, per_worker), dtype=torch.int32).share_memory_()
        self._idle = [[storage_owners(b) for b in row] for row in self.buffers]   # the count when nobody holds it
        self._out: list[tuple[int, int]] = []   # slots whose views this process handed out, oldest first
        # batches each worker sent [in a slot, in a new segment because none of its slots was free]
        self.sent = torch.zeros((workers, 2), dtype=torch.int64).share_memory_()

    def collate(self, items: list) -> tuple:
        """The loader's ``collate_fn`` (runs in a worker): ``(image, label)`` items into a free slot of this worker."""
        info = get_worker_info()
        images = [image for image, _ in items]
        fits = info is not None and len(images) <= self.batch_size and all(
            isinstance(x, torch.Tensor) and x.dtype == torch.uint8 and tuple(x.shape) == self.item_shape
            for x in images)
        free = torch.nonzero(self.lent[info.id] == 0).flatten().tolist() if fits else []
        if not free:
            if info is not None:
                self.sent[info.id, 1] += 1
            return default_collate(items)
        slot = free[0]
        self.sent[info.id, 0] += 1
        torch.stack(images, out=self.buffers[info.id][slot][:len(images)])
        self.lent[info.id, slot] = 1   # the trainer's process reads it now; it sets 0 again when done
        return SlotBatch(info.id, slot, len(images)), default_collate([label for _, label in items])

    def resolve(self, batch: tuple) -> tuple:
        """In the trainer's process: a :class:`SlotBatch` as a view of its slot (other batches as they are)."""
        images, labels = batch
        if isinstance(images, SlotBatch):
            self._out.append((images.worker, images.slot))
            images = self.buffers[images.worker][images.slot][:images.count]   # a view: counted while it lives
        return images, labels

    def release_dropped(self) -> None:
        """Give back to their workers the slots nothing in this process refers to any more."""
        kept = []
        for worker, slot in self._out:
            idle = self._idle[worker][slot]
            if idle is not None and storage_owners(self.buffers[worker][slot]) == idle:
                self.lent[worker, slot] = 0
            else:
                kept.append((worker, slot))
        self._out = kept


class SlotLoader(DataLoader):
    """A DataLoader whose workers hand their batches over in :class:`SharedSlots`; iterating it yields ordinary
    ``(uint8 images, labels)`` batches."""

    def __init__(self, dataset, slots: SharedSlots, **kwargs):
        super().__init__(dataset, collate_fn=slots.collate, **kwargs)
        self.slots = slots

    def __iter__(self):
        # Slots are given back *before* each request: receiving a batch sends its worker the next indices at once,
        # and the worker may need a slot for them.
        self.slots.release_dropped()
        for batch in super().__iter__():
            yield self.slots.resolve(batch)
            self.slots.release_dropped()
