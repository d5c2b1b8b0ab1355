"""The fast path changes no result: cache vs per-epoch decoding, the transform, the trainer's bookkeeping, run keys."""
import glob
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2

import lib.data as data
from lib import results, train
from lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD, ToModelInput
from lib.provenance import REPO_ROOT


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
    loaders = [train.make_loader(s.train, 16, True, 5, 1, torch.device("cpu")) for s in (cached, decoded)]
    for _ in range(2):
        for (xa, ya), (xb, yb) in zip(*loaders):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_uint8_batches_normalised_on_the_device_equal_the_datasets_float_items():
    """make_loader ships augmented uint8 and Runtime.to_device normalises: the same bits as the dataset's items."""
    splits = data.load("digits", image_size=24, fraction=0.1, seed=1, progress=False)
    cpu = torch.device("cpu")
    torch.manual_seed(11)
    reference = [x for x, _ in torch.utils.data.DataLoader(splits.train, batch_size=8, shuffle=True,
                                                           generator=torch.Generator().manual_seed(4))]
    torch.manual_seed(11)
    loader = train.make_loader(splits.train, 8, True, 4, 0, cpu)
    rt = train.Runtime(cpu, None, channels_last=True, progress=False)
    fast = []
    for images, labels in loader:
        assert images.dtype == torch.uint8
        fast.append(rt.to_device(images, labels)[0])
    assert len(fast) == len(reference) and all(torch.equal(a, b) for a, b in zip(fast, reference))
    assert fast[0].is_contiguous(memory_format=torch.channels_last)
    # any other dataset passes through as it is
    toy = torch.utils.data.TensorDataset(torch.randn(4, 3, 2, 2), torch.arange(4))
    (x, _), = train.make_loader(toy, 4, False, 0, 0, cpu)
    assert x.dtype == torch.float32 and torch.equal(x, toy.tensors[0])


@pytest.mark.parametrize("channels_last", [False, True])
def test_host_buffers_are_reused_only_when_nothing_holds_them(channels_last):
    """Runtime.to_device normalises CPU batches into kept buffers: the same bits as a new tensor, the memory used again
    once the batch is dropped, never while the caller, a view or autograd still holds it."""
    from lib.data.transforms import normalise

    rt = train.Runtime(torch.device("cpu"), None, channels_last=channels_last, progress=False)
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (4, 3, 6, 5), dtype=torch.uint8, generator=gen) for _ in range(6)]
    labels = torch.arange(4)

    def moved(i: int) -> torch.Tensor:
        x = rt.to_device(batches[i], labels)[0]
        assert torch.equal(x, normalise(batches[i])), "the same bits as normalising into a new tensor"
        assert x.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        return x

    first = moved(0)
    address = first.data_ptr()
    held = moved(1)
    assert held.data_ptr() != address and torch.equal(first, normalise(batches[0])), "a held batch is not overwritten"
    del held, first
    again = moved(2)
    assert again.data_ptr() == address, "a dropped batch's buffer is used again"
    part = again[1:]   # a view of it keeps it
    del again
    other = moved(3)
    assert other.data_ptr() != address and torch.equal(part, normalise(batches[2])[1:])
    del part, other
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 2, 3)
    loss = conv(moved(4)).sum()   # autograd saves the input for backward: the buffer stays taken until then
    assert moved(5).data_ptr() != address
    loss.backward()
    expected = nn.Conv2d(3, 2, 3)
    expected.load_state_dict(conv.state_dict())
    expected(normalise(batches[4])).sum().backward()
    assert torch.equal(conv.weight.grad, expected.weight.grad), "backward saw the batch it was given"
    del loss
    assert moved(5).data_ptr() == address
    # a buffer first taken in evaluation (inference mode) can be trained on when it comes round again
    with torch.inference_mode():
        evaluated = moved(0)
    del evaluated
    nn.Conv2d(3, 2, 3)(moved(1)).sum().backward()
    # a batch of another shape (an epoch's last) gets a buffer of its own
    assert rt.to_device(batches[0][:3], labels[:3])[0].shape == (3, 3, 6, 5)


def test_jpeg_cache_matches_per_epoch_decoding(tmp_path):
    """The benchmark's ImageFolder of real JPEG files: cached and decoded-every-access items are equal."""
    from bench import pipeline

    ids = pipeline.make_jpeg_folder(tmp_path / "jpeg", 12, (40, 52))
    cached, decoded, _ = pipeline.book_datasets(tmp_path / "jpeg", ids, 32, tmp_path / "npy")
    assert cached.pixels(0).shape == (32, 32, 3)
    for a, b in zip(items(cached, 1, 12), items(decoded, 1, 12)):
        assert torch.equal(a, b)


def fresh_workers_loader(dataset, generator_state=None) -> torch.utils.data.DataLoader:
    """The loader the trainer used before (new worker processes every epoch): the reference for every batch."""
    generator = torch.Generator().manual_seed(5)
    if generator_state is not None:
        generator.set_state(generator_state)
    return torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True, generator=generator, num_workers=2,
                                       worker_init_fn=train.seed_worker)


def test_persistent_workers_deliver_the_batches_of_fresh_workers_every_epoch_and_after_a_resume():
    splits = data.load("digits", image_size=16, fraction=0.25, seed=1, progress=False)
    cpu = torch.device("cpu")
    rt = train.Runtime(cpu, None, False, progress=False)
    reference = fresh_workers_loader(splits.train)
    loader = train.make_loader(splits.train, 16, True, 5, 2, cpu)
    assert loader.persistent_workers
    for _ in range(3):
        expected = list(reference)
        got = [rt.to_device(x, y) for x, y in loader]
        assert len(got) == len(expected)
        assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, expected))
        assert torch.equal(loader.generator.get_state(), reference.generator.get_state())
    resumed = train.make_loader(splits.train, 16, True, 5, 2, cpu)   # a new process would build this one
    resumed.generator.set_state(loader.generator.get_state())
    expected = list(fresh_workers_loader(splits.train, reference.generator.get_state()))
    got = [rt.to_device(x, y)[0] for x, y in resumed]
    assert all(torch.equal(a, c) for a, (c, _) in zip(got, expected))


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


def test_committed_workshop_runs_keep_their_keys():
    plan = train.plan("workshop", fractions=[0.01, 0.1, None])
    status = train.plan_status(plan, results.RUNS_DIR)
    assert len(status) == 33 and (status["status"] == "recorded").all(), status[status["status"] != "recorded"]


@pytest.mark.slow
def test_fast_path_reproduces_a_committed_workshop_record_exactly(tmp_path):
    """Re-train one committed workshop run with today's trainer: every epoch's loss and accuracy are the same bits."""
    (path,) = glob.glob(str(REPO_ROOT / "results" / "runs" / "shufflenet_v2_x2_0__digits__f0p01__s0__workshop__*.json"))
    old = json.loads(open(path).read())
    cfg = train.TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in old["config"].items()})
    new = train.run(cfg, results_dir=tmp_path, checkpoint_dir=tmp_path, cache_dir=tmp_path / "cache",
                    progress=False, log=lambda _: None)
    assert new["run_key"] == old["run_key"]
    keys = ("train_loss", "val_top1", "val_loss", "test_top1", "test_top5", "train_images")
    assert [[h[k] for k in keys] for h in new["history"]] == [[h[k] for k in keys] for h in old["history"]]
    assert (new["test_top1"], new["test_top5"], new["best_epoch"]) == (old["test_top1"], old["test_top5"],
                                                                       old["best_epoch"])
