"""Batches through re-used shared memory (lib.data.slots) are PyTorch's batches, bit for bit, and never overwritten
while held."""
import pytest
import torch

import lib.data as data
from lib import train
from lib.data.slots import SharedSlots, SlotLoader

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", image_size=20, fraction=0.2, seed=2, progress=False).train


def epochs(loader, count: int, hold: bool = False) -> list:
    """Every batch of ``count`` epochs, cloned as it arrives (or, with ``hold``, the very tensors the loader gave)."""
    return [(x if hold else x.clone(), y) for _ in range(count) for x, y in loader]


def test_slot_batches_equal_pytorchs_own_collation(digits, monkeypatch):
    loader = train.make_loader(digits, 16, True, 3, 2, CPU)
    assert isinstance(loader, SlotLoader)
    got = epochs(loader, 3)
    monkeypatch.setattr(train, "SLOTS_PER_WORKER", 0)   # no slots: every batch in a new segment, as PyTorch does
    plain = train.make_loader(digits, 16, True, 3, 2, CPU)
    expected = epochs(plain, 3)
    assert len(got) == len(expected) == 3 * len(loader)
    for (x, y), (ex, ey) in zip(got, expected):
        assert x.dtype == torch.uint8 and torch.equal(x, ex) and torch.equal(y, ey)
    sent = loader.slots.sent.sum(dim=0).tolist()
    assert sent == [len(got), 0], f"every batch in a slot, none in a new segment: {sent}"
    assert plain.slots.sent.sum(dim=0).tolist() == [0, len(expected)]


def test_a_held_batch_is_never_overwritten(digits, monkeypatch):
    held = epochs(train.make_loader(digits, 16, True, 3, 1, CPU), 2, hold=True)
    monkeypatch.setattr(train, "SLOTS_PER_WORKER", 0)
    expected = epochs(train.make_loader(digits, 16, True, 3, 1, CPU), 2)
    assert all(torch.equal(x, ex) for (x, _), (ex, _) in zip(held, expected))


def test_slots_go_back_to_the_worker_only_when_dropped():
    slots = SharedSlots(workers=1, per_worker=2, batch_size=4, item_shape=(3, 2, 2))
    from lib.data.slots import SlotBatch

    first = slots.resolve((SlotBatch(0, 0, 4), torch.arange(4)))[0]
    assert slots.lent.tolist() == [[0, 0]] and first.shape == (4, 3, 2, 2)
    slots.lent[0, 0] = 1   # as the worker sets it when it fills the slot
    slots.release_dropped()
    assert slots.lent[0, 0] == 1, "still held"
    part = first[:2]
    del first
    slots.release_dropped()
    assert slots.lent[0, 0] == 1, "a view of it still held"
    del part
    slots.release_dropped()
    assert slots.lent[0, 0] == 0


def test_slots_work_with_spawned_workers(digits):
    """macOS and Windows start workers with spawn: the slots reach the workers through pickling."""
    items = train.LoaderItems(digits.with_augment(False))
    loader = SlotLoader(items, SharedSlots(1, 3, 8, (3, 20, 20)), batch_size=8, num_workers=1,
                        multiprocessing_context="spawn")
    expected = torch.utils.data.DataLoader(items, batch_size=8)
    for _ in range(2):
        for (x, y), (ex, ey) in zip(loader, expected):
            assert torch.equal(x, ex) and torch.equal(y, ey)
    assert loader.slots.sent[0, 0] > 0
