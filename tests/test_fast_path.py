"""The fast path changes no result: cache vs per-epoch decoding, the transform, the trainer's bookkeeping, run keys."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

import lib.data as data
from lib import config, loaders, paths, results, runs, train
from lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD, ToModelInput


def reference_transform(pixels: np.ndarray, augment: bool) -> torch.Tensor:
    """ToModelInput as first written (permuted view, out-of-place normalisation): the results the records hold."""
    image = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)
    if augment:
        image = v2.TrivialAugmentWide()(image)
    mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (image.to(torch.float32).div_(255.0) - mean) / std


@pytest.mark.parametrize("augment", [True, False])
def test_transform_is_bit_identical_to_the_reference(augment):
    rng = np.random.default_rng(0)
    fast = ToModelInput(augment)
    for seed in range(150):   # enough draws to hit every TrivialAugmentWide op
        pixels = rng.integers(0, 256, size=(24, 20, 3), dtype=np.uint8)
        torch.manual_seed(seed)
        expected = reference_transform(pixels, augment)
        torch.manual_seed(seed)
        assert torch.equal(fast(pixels), expected), f"seed {seed}"


def items(dataset, seed: int, count: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    return [dataset[i][0] for i in range(count)]


def test_cache_and_per_epoch_decoding_give_identical_tensors(tmp_path):
    cached = data.load("digits", image_size=32, fraction=0.25, seed=3, cache_dir=tmp_path, progress=False)
    decoded = data.load("digits", image_size=32, fraction=0.25, seed=3, cache=False, progress=False)
    assert cached.train.ids == decoded.train.ids and cached.train.augment
    for a, b in zip(items(cached.train, 7, 40), items(decoded.train, 7, 40)):
        assert torch.equal(a, b)
    # ... and through the trainer's loaders, with a worker process: same batches, epoch after epoch.
    pair = [loaders.make_loader(s.train, 16, True, 5, 1, torch.device("cpu")) for s in (cached, decoded)]
    for epoch in (1, 2):
        for loader in pair:
            loader.batch_sampler.set_epoch(epoch)
        for (xa, ya), (xb, yb) in zip(*pair):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_uint8_batches_normalised_on_the_device_equal_the_datasets_float_items():
    """make_loader ships augmented uint8 and Runtime.to_device normalises: the same bits as the dataset's float items
    drawn with the same per-sample seeds."""
    splits = data.load("digits", image_size=24, fraction=0.1, seed=1, progress=False)
    cpu = torch.device("cpu")
    loader = loaders.make_loader(splits.train, 8, True, 4, 0, cpu)
    loader.batch_sampler.set_epoch(2)
    rt = train.Runtime(cpu, None, channels_last=True, progress=False)
    for keys, (images, labels) in zip(loader.batch_sampler, loader):
        assert images.dtype == torch.uint8
        expected = []
        for epoch, index in keys:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(loaders.sample_seed(4, epoch, index))
                expected.append(splits.train[index][0])
        fast = rt.to_device(images, labels)[0]
        assert torch.equal(fast, torch.stack(expected)) and fast.is_contiguous(memory_format=torch.channels_last)
    # any other dataset passes through as it is
    toy = torch.utils.data.TensorDataset(torch.randn(4, 3, 2, 2), torch.arange(4))
    (x, _), = loaders.make_loader(toy, 4, False, 0, 0, cpu)
    assert x.dtype == torch.float32 and torch.equal(x, toy.tensors[0])


def test_jpeg_cache_matches_per_epoch_decoding(tmp_path):
    """The benchmark's ImageFolder of real JPEG files: cached and decoded-every-access items are equal."""
    from bench import pipeline

    ids = pipeline.make_jpeg_folder(tmp_path / "jpeg", 12, (40, 52))
    cached, decoded, _ = pipeline.book_datasets(tmp_path / "jpeg", ids, 32, tmp_path / "npy")
    assert cached.pixels(0).shape == (32, 32, 3)
    for a, b in zip(items(cached, 1, 12), items(decoded, 1, 12)):
        assert torch.equal(a, b)


def epochs_of(loader, epochs) -> list:
    out = []
    for epoch in epochs:
        loader.batch_sampler.set_epoch(epoch)
        out.append([(x.clone(), y.clone()) for x, y in loader])
    return out


def test_batches_depend_on_seed_epoch_and_index_only_not_on_workers_or_history():
    """0, 1 or 2 workers, persistent across epochs, or started afresh at epoch 3 (a resumed run): the same batches."""
    splits = data.load("digits", image_size=16, fraction=0.25, seed=1, progress=False)
    cpu = torch.device("cpu")
    by_workers = {w: epochs_of(loaders.make_loader(splits.train, 16, True, 5, w, cpu), (1, 2, 3)) for w in (0, 1, 2)}
    assert loaders.make_loader(splits.train, 16, True, 5, 2, cpu).persistent_workers
    fresh_epoch_3 = epochs_of(loaders.make_loader(splits.train, 16, True, 5, 2, cpu), (3,))[0]
    reference = by_workers[0]
    for got in (by_workers[1], by_workers[2], [reference[0], reference[1], fresh_epoch_3]):
        for epoch_got, epoch_ref in zip(got, reference):
            assert len(epoch_got) == len(epoch_ref)
            assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(epoch_got, epoch_ref))
    # and the comparison can fail: another epoch, another shuffle and other draws
    assert not torch.equal(reference[0][0][0], reference[1][0][0])


def reference_epoch(model, batches, optimizer) -> dict:
    """train_one_epoch's bookkeeping as first written: loss.item() per step, summed in Python."""
    model.train()
    total, seen = 0.0, 0
    for images, labels in batches:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * labels.numel()
        seen += labels.numel()
    return {"train_loss": total / seen, "train_images": seen}


def reference_evaluate(model, batches) -> dict:
    model.eval()
    c1 = c5 = seen = 0
    total = 0.0
    with torch.inference_mode():
        for images, labels in batches:
            logits = model(images).float()
            total += F.cross_entropy(logits, labels, reduction="sum").item()
            top = logits.topk(5, dim=1).indices
            hits = top == labels[:, None]
            c1 += hits[:, 0].sum().item()
            c5 += hits.any(dim=1).sum().item()
            seen += labels.numel()
    return {"top1": 100.0 * c1 / seen, "top5": 100.0 * c5 / seen, "loss": total / seen}


def test_device_side_sums_equal_python_sums():
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 7, (n,), generator=g)) for n in (5, 9, 3)]
    rt = train.Runtime(torch.device("cpu"), None, False, progress=False)
    outcomes = []
    for book in (True, False):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 36, 7))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        if book:
            tr = train.train_one_epoch(model, batches, optimizer, torch.amp.GradScaler("cpu", enabled=False), rt, "t")
            ev = train.evaluate(model, batches, rt)
            tr = {k: tr[k] for k in ("train_loss", "train_images")}
        else:
            tr, ev = reference_epoch(model, batches, optimizer), reference_evaluate(model, batches)
        outcomes.append((tr, ev))
    assert outcomes[0] == outcomes[1]   # exactly equal, not approximately


def test_every_committed_record_is_found_under_the_key_of_its_own_config():
    for path in sorted(paths.RECORDS.glob("*.json")):
        record = json.loads(path.read_text())
        key = results.run_key(record["config"])
        assert key == record["run_key"] and path.name == results.record_path(key).name, path
