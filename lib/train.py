"""The DualOpt trainer and ``python -m lib.train``: read it top to bottom.

DualOpt as the paper describes it (Jeevan & Sethi): full fine-tuning with cross-entropy, AdamW
(lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01) until the validation top-1 has not improved for
``patience`` epochs; then the best weights are reloaded and training continues with SGD (lr 1e-3,
momentum 0.9, no weight decay) until it again stops improving for ``patience`` epochs. The reported result
is the test top-1/top-5 of the best-validation weights; the paper's own metric (the best test top-1 over
all epochs, i.e. selection on test) is recorded beside it as ``paper_protocol_test_top1``.

Epoch cap (short profiles only): with ``max_epochs = N`` the AdamW phase ends at the latest after
``N - min_sgd_epochs`` epochs, so the SGD phase always gets at least ``min_sgd_epochs``; SGD ends at
epoch N at the latest. Both phases still end earlier when patience runs out.

Every epoch is checkpointed atomically (model, both optimizers, scaler, phase, patience counter, best
weights, history, all RNG states), so a killed run resumes where it stopped and ends with the same record.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import fcntl
import hashlib
import io
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from lib import profiles, results
from lib.atomic import atomic_write
from lib.errors import BookError, ConfigError, DataError, UnknownNameError, one_line
from lib.provenance import REPO_ROOT, environment, now

CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
AMP_CHOICES = ("auto", "off", "fp16", "bf16")
SELECT_ON = {"val": "a validation split carved from the training data (this book's default)",
             "test": "the test split, as the paper's code does (paper protocol)"}


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one run; stored verbatim as the record's ``config``."""

    backbone: str
    dataset: str
    seed: int
    profile: str
    fraction: float
    pretrained: bool
    image_size: tuple[int, int]          # (H, W)
    batch_size: int
    patience: int
    max_epochs: int | None
    min_sgd_epochs: int
    amp: str
    channels_last: bool
    eval_test_every_epoch: bool
    device: str
    num_workers: int
    cpu_threads: int | None = None       # torch threads on CPU; None = cores minus data workers (at least 1)
    val_fraction: float = 0.1
    adamw_lr: float = 1e-3
    adamw_betas: tuple[float, float] = (0.9, 0.999)
    adamw_eps: float = 1e-8
    adamw_weight_decay: float = 0.01
    sgd_lr: float = 1e-3
    sgd_momentum: float = 0.9
    sgd_weight_decay: float = 0.0
    select_on: str = "val"               # "test" = the paper's protocol: early stopping and selection on test

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# ---------------------------------------------------------------------------------------------------
# Seeds, loaders, precision
# ---------------------------------------------------------------------------------------------------

def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: derive numpy/python seeds from the worker's torch seed."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def _seed_as_a_fresh_worker(base_seed: int, worker_id: int) -> None:
    """Seed this worker process exactly as PyTorch seeds a newly started one, then run ``seed_worker``."""
    from torch.utils.data._utils.worker import _generate_state

    seed = base_seed + worker_id
    random.seed(seed)
    torch.manual_seed(seed)
    np.random.seed(_generate_state(base_seed, worker_id))
    seed_worker(worker_id)


class EpochSeededBatches(torch.utils.data.Sampler):
    """Batches of ``(index, base_seed)`` pairs so that persistent workers are re-seeded every epoch.

    PyTorch seeds a worker only when it starts: with fresh workers every epoch, each epoch draws a new
    ``base_seed`` from the loader's generator (then the shuffle), and worker ``k`` starts from ``base_seed + k``.
    This sampler draws the same numbers in the same order from the same generator (epoch 1's seed is drawn by the
    DataLoader itself when it starts the workers) and hands them to the workers with the indices, so a loader with
    persistent workers delivers exactly the batches a fresh-workers loader does, epoch after epoch, and after a
    resume from a checkpointed generator state.
    """

    def __init__(self, batches: torch.utils.data.BatchSampler, generator: torch.Generator):
        self.batches, self.generator, self.epochs = batches, generator, 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        self.epochs += 1
        seed = None
        if self.epochs > 1:
            seed = int(torch.empty((), dtype=torch.int64).random_(generator=self.generator).item())
        for batch in self.batches:
            yield [(index, seed) for index in batch]


class LoaderItems(torch.utils.data.Dataset):
    """What the trainer's loaders read: re-seeds a persistent worker when a new epoch's seed arrives, and yields
    images of ``lib.data``'s datasets as augmented **uint8** ``3 x H x W`` tensors (normalised by :class:`Runtime`).

    The same augmentation, in the same worker, drawing the same random numbers as the dataset's own items: only the
    float conversion and the normalisation move from the worker to the device (bit-identical, see
    ``lib.data.transforms.normalise``), so a quarter of the bytes crosses from worker to trainer.
    """

    def __init__(self, dataset):
        from lib.data.transforms import ToModelInput

        self.dataset = dataset
        self.uint8 = isinstance(getattr(dataset, "transform", None), ToModelInput) and hasattr(dataset, "pixels")
        self.seed: int | None = None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item):
        index, seed = item if isinstance(item, tuple) else (item, None)
        if seed is not None and seed != self.seed:
            self.seed = seed
            _seed_as_a_fresh_worker(seed, torch.utils.data.get_worker_info().id)
        if self.uint8:
            return self.dataset.transform.augment_pixels(self.dataset.pixels(index)), self.dataset.targets[index]
        return self.dataset[index]

    def __getattr__(self, name: str):   # targets, classes, augment, ... of the wrapped dataset
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for re-use instead of handing it back to the OS after every batch.

    The trainer's process allocates large tensors on every step (activations, gradients; a float32 batch is 25 MB
    for 32 images at 256 x 256). Depending on what the heap held before, glibc may map every such buffer afresh and
    unmap it when freed, so each step page-faults its memory in again: measured here for the batch buffer alone,
    ~170 page faults per image instead of 3 and up to half the loader's throughput (``bench/pipeline.py``; the batch
    buffer itself is now kept, :class:`HostBuffers`). Raising the mmap threshold to glibc's maximum (32 MB) and the
    trim threshold to 1 GB keeps such buffers in the heap. It changes no value, only where memory comes from; a no-op
    (False) off glibc.
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3   # glibc's mallopt parameter numbers
    return bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))


SLOTS_PER_WORKER = 4
"""Shared batch buffers per loader worker (``lib.data.slots``): the loader's prefetch factor (2), the batch being
handed over, and the one a ``for images, labels in loader`` loop still holds while it asks for the next."""


def make_loader(dataset, batch_size: int, shuffle: bool, seed: int, num_workers: int,
                device: torch.device) -> DataLoader:
    """A loader with its own seeded generator (so the shuffle order is part of the checkpoint).

    Image datasets (``lib.data``'s, which decode to uint8 and augment per item) deliver uint8 batches that
    :meth:`Runtime.to_device` normalises on the device; any other dataset's items pass through unchanged.
    Worker processes persist across epochs (no start-up per epoch) and are re-seeded each epoch exactly as
    fresh ones would be (:class:`EpochSeededBatches`), so every batch is the same as with fresh workers. On the CPU,
    image batches come from the workers in shared memory used again batch after batch (``lib.data.slots``).
    """
    generator = torch.Generator().manual_seed(seed)
    if num_workers == 0:
        return DataLoader(LoaderItems(dataset), batch_size=batch_size, shuffle=shuffle, generator=generator,
                          pin_memory=device.type == "cuda", drop_last=False)
    order = (torch.utils.data.RandomSampler(dataset, generator=generator) if shuffle
             else torch.utils.data.SequentialSampler(dataset))
    batches = EpochSeededBatches(torch.utils.data.BatchSampler(order, batch_size, drop_last=False), generator)
    items = LoaderItems(dataset)
    options = dict(batch_sampler=batches, generator=generator, num_workers=num_workers, worker_init_fn=seed_worker,
                   pin_memory=device.type == "cuda", persistent_workers=True)
    if items.uint8 and device.type == "cpu" and len(items):   # on CUDA the pin-memory thread copies each batch anyway
        from lib.data.slots import SharedSlots, SlotLoader

        height, width, channels = items.pixels(0).shape
        slots = SharedSlots(num_workers, SLOTS_PER_WORKER, batch_size, (channels, height, width))
        return SlotLoader(items, slots, **options)
    return DataLoader(items, **options)


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; an unavailable CUDA is a ConfigError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"device {device!r} is not allowed: use cpu, cuda or auto")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but torch sees no CUDA GPU: use --device cpu")
    return torch.device(device)


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device`` (None = full fp32). ``auto`` = fp16 on CUDA only."""
    if amp == "auto":
        return torch.float16 if device.type == "cuda" else None
    return {"off": None, "fp16": torch.float16, "bf16": torch.bfloat16}[amp]


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# ---------------------------------------------------------------------------------------------------
# One epoch of training, one evaluation
# ---------------------------------------------------------------------------------------------------

class HostBuffers:
    """float32 batch buffers on the CPU, each used again only once nothing holds it any more.

    Normalising each uint8 batch into a new float32 tensor (25 MB for 32 images at 256 x 256) lets glibc hand the
    freed buffer to the small allocations made while the next batch arrives; the next buffer then comes from fresh
    memory, and every one of its pages faults in again (measured here: some epochs at ~190 page faults per image and a
    third of the usual throughput, others at 3 per image, depending on the heap's history). Keeping the last two
    buffers avoids that. :meth:`take` hands out a *view* of a kept buffer, and a buffer is handed out again only when
    its storage has no owner besides the kept tensor: not the caller, not a view of it, not a tensor autograd saved
    for backward. So a batch someone still holds is never overwritten; it only costs a fresh buffer.
    """

    KEEP = 2

    def __init__(self):
        self._kept: list[tuple[torch.Tensor, int]] = []   # (buffer, its storage's owner count when idle)

    def take(self, like: torch.Tensor) -> torch.Tensor:
        """A float32 tensor with the shape and strides of ``like``, free to overwrite (an ordinary tensor even when
        asked for inside ``torch.inference_mode``, so that a buffer first used in evaluation can be trained on)."""
        from lib.data.slots import storage_owners

        with torch.inference_mode(False):
            for buffer, idle in self._kept:
                if buffer.shape == like.shape and buffer.stride() == like.stride() and storage_owners(buffer) == idle:
                    return buffer.detach()   # a view: while it (or anything made from it) lives, the count is higher
            buffer = torch.empty_like(like, dtype=torch.float32)
            idle = storage_owners(buffer)
            if idle is not None:
                self._kept = (self._kept + [(buffer, idle)])[-self.KEEP:]
            return buffer.detach()


@dataclass
class Runtime:
    """How tensors move: device, autocast dtype, memory format, progress bars."""

    device: torch.device
    dtype: torch.dtype | None = None
    channels_last: bool = False
    progress: bool = True
    host_buffers: HostBuffers = field(default_factory=HostBuffers, repr=False, compare=False)

    def to_device(self, images: torch.Tensor, labels: torch.Tensor):
        """Move a batch to the device; uint8 images (from :class:`Uint8Items`) are normalised there (on the CPU into
        a re-used buffer, :class:`HostBuffers`; on a GPU torch's caching allocator re-uses memory already)."""
        from lib.data.transforms import normalise

        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        images = images.to(self.device, non_blocking=True, memory_format=fmt)
        if images.dtype == torch.uint8:
            out = self.host_buffers.take(images) if images.device.type == "cpu" else None
            images = normalise(images, out=out)
        return images, labels.to(self.device, non_blocking=True)


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    scaler: torch.amp.GradScaler, rt: Runtime, desc: str) -> dict:
    """One pass over ``loader``; autocast covers forward and loss, the scaler the backward (fp16)."""
    model.train()
    # The loss is summed on the device in float64 and read once per epoch: no host-device sync per step
    # (which stalls a GPU), and the same number as summing loss.item() * batch in Python.
    total_loss, seen, start = torch.zeros((), dtype=torch.float64, device=rt.device), 0, time.perf_counter()
    for images, labels in tqdm(loader, desc=desc, leave=False, disable=not rt.progress):
        images, labels = rt.to_device(images, labels)
        with _autocast(rt.device, rt.dtype):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        total_loss += loss.detach().double() * labels.numel()
        seen += labels.numel()
    total_loss = total_loss.item()
    seconds = time.perf_counter() - start
    return {"train_loss": total_loss / max(seen, 1), "train_images": seen, "train_seconds": seconds}


def evaluate(model: nn.Module, loader: DataLoader, rt: Runtime, desc: str = "eval") -> dict:
    """Top-1 and top-5 accuracy (percent) and mean loss over ``loader``, under inference mode."""
    model.eval()
    seen = 0
    # Sums stay on the device (counts as int64, the loss in float64) and are read once at the end.
    sums = torch.zeros(3, dtype=torch.float64, device=rt.device)   # loss, top-1 hits, top-5 hits
    with torch.inference_mode():
        for images, labels in tqdm(loader, desc=desc, leave=False, disable=not rt.progress):
            images, labels = rt.to_device(images, labels)
            with _autocast(rt.device, rt.dtype):
                logits = model(images)
            logits = logits.float()
            top = logits.topk(min(5, logits.shape[1]), dim=1).indices
            hits = top == labels[:, None]
            sums += torch.stack([F.cross_entropy(logits, labels, reduction="sum").double(),
                                 hits[:, 0].sum().double(), hits.any(dim=1).sum().double()])
            seen += labels.numel()
    total_loss, correct1, correct5 = sums.tolist()
    return {"top1": 100.0 * int(correct1) / max(seen, 1), "top5": 100.0 * int(correct5) / max(seen, 1),
            "loss": total_loss / max(seen, 1)}


# ---------------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------------

def _rng_state(loaders: dict) -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "loaders": {name: dl.generator.get_state() for name, dl in loaders.items()}}


def _set_rng_state(state: dict, loaders: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for name, dl in loaders.items():
        dl.generator.set_state(state["loaders"][name])


CHECKPOINT_MAGIC = b"which-backbone checkpoint sha256 "   # + 64 hex digits + newline, then torch.save bytes


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save behind a sha256 header, written atomically: a kill never leaves half a checkpoint."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getbuffer()
    header = CHECKPOINT_MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n"

    def write(handle):
        handle.write(header)
        handle.write(payload)
    atomic_write(path, write, binary=True)


def load_checkpoint(path: Path) -> dict:
    """The state saved by :func:`save_checkpoint`, after verifying its checksum (DataError naming the path)."""
    delete = "delete it to restart that run from its first epoch"
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"checkpoint {path} cannot be read ({err.strerror or type(err).__name__}): {delete}") from None
    size = len(CHECKPOINT_MAGIC) + 65
    if not raw.startswith(CHECKPOINT_MAGIC) or raw[size - 1:size] != b"\n":
        raise DataError(f"checkpoint {path} has no checksum header (damaged, or not written by lib.train): {delete}")
    payload = memoryview(raw)[size:]
    if hashlib.sha256(payload).hexdigest().encode() != raw[len(CHECKPOINT_MAGIC):size - 1]:
        raise DataError(f"checkpoint {path} fails its checksum (truncated or damaged): {delete}")
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    except Exception as err:   # checksum fine but unreadable: written by an incompatible torch
        raise DataError(f"checkpoint {path} cannot be unpickled ({type(err).__name__}): {delete}") from None


def _clone_state(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------------------------------------------
# DualOpt
# ---------------------------------------------------------------------------------------------------

def make_optimizer(phase: str, model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW for the first phase, SGD with momentum for the second (the paper's hyperparameters)."""
    if phase == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=cfg.adamw_lr, betas=cfg.adamw_betas,
                                 eps=cfg.adamw_eps, weight_decay=cfg.adamw_weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.sgd_lr, momentum=cfg.sgd_momentum,
                           weight_decay=cfg.sgd_weight_decay)


def phase_ends(phase: str, epoch: int, since_best: int, cfg: TrainConfig) -> str | None:
    """Why the current phase ends after ``epoch`` completed epochs ('patience', 'max_epochs'), or None."""
    if since_best >= cfg.patience:
        return "patience"
    if cfg.max_epochs is not None:
        cap = cfg.max_epochs - cfg.min_sgd_epochs if phase == "adamw" else cfg.max_epochs
        if epoch >= cap:
            return "max_epochs"
    return None


def dual_opt_fit(model: nn.Module, loaders: dict, cfg: TrainConfig, rt: Runtime,
                 checkpoint: Path | None = None, evaluate_fn: Callable = evaluate,
                 log: Callable[[str], None] = print, stop_after_epochs: int | None = None) -> dict | None:
    """Train ``model`` with DualOpt; return the summary (best epoch, test metrics, history).

    ``loaders`` has ``train``, ``val`` and ``test``. ``evaluate_fn(model, loader, rt, desc)`` is injectable
    for tests. With ``checkpoint`` set, an existing checkpoint is resumed and a new one written every
    epoch. ``stop_after_epochs`` (a test hook) returns None after that many epochs, as if killed.
    """
    model.to(rt.device)
    if rt.channels_last:
        model.to(memory_format=torch.channels_last)
    use_scaler = rt.device.type == "cuda" and rt.dtype == torch.float16   # bf16 needs no loss scaling
    scaler = torch.amp.GradScaler(rt.device.type, enabled=use_scaler)
    s = {"epoch": 0, "phase": "adamw", "since_best": 0, "best_val": -1.0, "best_epoch": 0,
         "switch_epoch": None, "stopped_by": None, "history": [], "elapsed_s": 0.0, "started": now()}
    optimizer = make_optimizer("adamw", model, cfg)
    adamw_state = None
    best_state = _clone_state(model)

    if checkpoint is not None and Path(checkpoint).exists():
        ck = load_checkpoint(checkpoint)
        if ck["config"] != cfg.as_dict():
            raise ConfigError(f"checkpoint {checkpoint} belongs to another configuration: delete it "
                              f"or use another --checkpoints folder")
        s = ck["state"]
        model.load_state_dict(ck["model"])
        best_state = ck["best_model"]
        adamw_state = ck["adamw"]
        optimizer = make_optimizer(s["phase"] if s["phase"] != "done" else "sgd", model, cfg)
        optimizer.load_state_dict(ck["sgd"] if s["phase"] == "sgd" else ck["adamw"])
        scaler.load_state_dict(ck["scaler"])
        _set_rng_state(ck["rng"], loaders)
        log(f"resumed from {checkpoint} after epoch {s['epoch']} (phase {s['phase']})")

    while s["phase"] != "done":
        if stop_after_epochs is not None and s["epoch"] >= stop_after_epochs:
            return None
        start = time.perf_counter()
        epoch = s["epoch"] + 1
        tr = train_one_epoch(model, loaders["train"], optimizer, scaler, rt, f"epoch {epoch} {s['phase']}")
        val = evaluate_fn(model, loaders["val"], rt, "val")
        test = evaluate_fn(model, loaders["test"], rt, "test") if cfg.eval_test_every_epoch else None
        s["epoch"] = epoch
        if val["top1"] > s["best_val"]:
            s["best_val"], s["best_epoch"], s["since_best"] = val["top1"], epoch, 0
            best_state = _clone_state(model)
        else:
            s["since_best"] += 1
        seconds = time.perf_counter() - start
        s["elapsed_s"] += seconds
        row = {"epoch": epoch, "phase": s["phase"], **tr, "val_top1": val["top1"], "val_top5": val["top5"],
               "val_loss": val["loss"], "test_top1": test["top1"] if test else None,
               "test_top5": test["top5"] if test else None, "epoch_seconds": seconds,
               "images_per_s": tr["train_images"] / max(tr["train_seconds"], 1e-9)}
        s["history"].append(row)
        test_text = f" | test top-1 {test['top1']:.2f}" if test else ""
        log(f"epoch {epoch:3d} [{s['phase']}] loss {tr['train_loss']:.4f} | val top-1 {val['top1']:.2f} "
            f"top-5 {val['top5']:.2f}{test_text} | {seconds:.1f} s, {row['images_per_s']:.0f} img/s"
            f"{'  *best*' if s['best_epoch'] == epoch else ''}")

        reason = phase_ends(s["phase"], epoch, s["since_best"], cfg)
        at_cap = cfg.max_epochs is not None and epoch >= cfg.max_epochs
        if reason and s["phase"] == "adamw" and not at_cap:
            # DualOpt switch: back to the best weights, fresh SGD, patience counter reset.
            adamw_state = optimizer.state_dict()
            model.load_state_dict(best_state)
            optimizer = make_optimizer("sgd", model, cfg)
            s.update(phase="sgd", since_best=0, switch_epoch=epoch)
            log(f"switch to SGD after epoch {epoch} ({reason}); reloaded best weights of epoch "
                f"{s['best_epoch']} (val top-1 {s['best_val']:.2f})")
        elif reason:
            s.update(phase="done", stopped_by=reason)
            log(f"stop after epoch {epoch} ({reason}); best val top-1 {s['best_val']:.2f} at epoch "
                f"{s['best_epoch']}")
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "config": cfg.as_dict(), "state": s, "model": model.state_dict(), "best_model": best_state,
                "adamw": adamw_state if s["phase"] != "adamw" else optimizer.state_dict(),
                "sgd": optimizer.state_dict() if s["phase"] != "adamw" else None,
                "scaler": scaler.state_dict(), "rng": _rng_state(loaders)})

    model.load_state_dict(best_state)
    test = evaluate_fn(model, loaders["test"], rt, "test")
    history = s["history"]
    tested = [h["test_top1"] for h in history if h["test_top1"] is not None]
    switch = s["switch_epoch"] or s["epoch"]
    train_images = sum(h["train_images"] for h in history)
    train_seconds = sum(h["train_seconds"] for h in history)
    return {"best_epoch": s["best_epoch"], "val_top1": s["best_val"],
            "test_top1": test["top1"], "test_top5": test["top5"],
            "paper_protocol_test_top1": max(tested) if tested and cfg.eval_test_every_epoch else None,
            "epochs_adamw": switch, "epochs_sgd": s["epoch"] - switch, "switch_epoch": s["switch_epoch"],
            "stopped_by": s["stopped_by"], "history": history, "started": s["started"],
            "wall_time_s": s["elapsed_s"], "images_per_s": train_images / max(train_seconds, 1e-9)}


# ---------------------------------------------------------------------------------------------------
# One run: configuration -> record (re-used when it exists, resumed when a checkpoint exists)
# ---------------------------------------------------------------------------------------------------

def _check_whole(name: str, value, what: str) -> None:
    """ConfigError unless ``value`` is None or an int (a papermill parameter may arrive as text or float)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise ConfigError(f"{name} {value!r} is not a whole number: {what}")


def _check_number(name: str, value, what: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.number))):
        raise ConfigError(f"{name} {value!r} is not a number: {what}")


def make_config(backbone: str, dataset: str, seed: int = 0, profile: str = "workshop",
                fraction: float | None = None, pretrained: bool | None = None,
                image_size: int | tuple[int, int] | None = None, max_epochs: int | None = None,
                batch_size: int | None = None, device: str | None = None, amp: str | None = None,
                patience: int | None = None, select_on: str | None = None) -> TrainConfig:
    """Validate every argument (names, ranges, device) and merge them over the profile's defaults."""
    from lib import data, models

    prof = profiles.get(profile)
    if backbone not in models.names():
        raise UnknownNameError(f"unknown backbone {backbone!r}: choose one of {', '.join(models.names())}")
    data.spec(dataset)   # a registered name, or a reader's folder:<name> / csv:<file>.csv; else UnknownNameError
    _check_number("fraction", fraction, "use e.g. 0.01, 0.1 or 1")
    _check_whole("seed", seed, "use a non-negative integer")
    for name, value in (("max_epochs", max_epochs), ("batch size", batch_size), ("patience", patience)):
        _check_whole(name, value, "use a whole number, 1 or more")
    if not isinstance(image_size, (tuple, list)):
        _check_whole("image size", image_size, "use a whole number of pixels per side, e.g. 32")
    fraction = prof.fraction if fraction is None else float(fraction)
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"fraction {fraction} is outside (0, 1]: use e.g. 0.01, 0.1 or 1")
    if not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed {seed!r} is not allowed: use a non-negative integer")
    size = image_size if image_size is not None else prof.image_size
    if size is None:
        size = tuple(data.spec(dataset).image_size)
    elif isinstance(size, int):
        size = (size, size)
    if min(size) < 8:
        raise ConfigError(f"image size {size} is too small: use at least 8 pixels per side (e.g. 32)")
    max_epochs = prof.max_epochs if max_epochs is None else max_epochs
    min_sgd = prof.min_sgd_epochs
    if max_epochs is not None:
        min_sgd = min(min_sgd, max_epochs - 1)
        if max_epochs < 1:
            raise ConfigError(f"max_epochs {max_epochs} is not allowed: use 1 or more (2+ to reach SGD)")
    batch_size = prof.batch_size if batch_size is None else batch_size
    if batch_size < 1:
        raise ConfigError(f"batch size {batch_size} is not allowed: use a positive integer")
    amp = prof.amp if amp is None else amp
    if amp not in AMP_CHOICES:
        raise ConfigError(f"amp {amp!r} is not allowed: choose one of {', '.join(AMP_CHOICES)}")
    patience = prof.patience if patience is None else patience
    if patience < 1:
        raise ConfigError(f"patience {patience} is not allowed: use 1 or more (the paper uses 10)")
    select_on = "val" if select_on is None else select_on
    if select_on not in SELECT_ON:
        raise ConfigError(f"select_on {select_on!r} is not allowed: choose 'val' (default) or 'test' "
                          f"(the paper's protocol)")
    dev = resolve_device(device or prof.device)
    return TrainConfig(
        backbone=backbone, dataset=dataset, seed=seed, profile=profile, fraction=fraction,
        pretrained=prof.pretrained if pretrained is None else bool(pretrained), image_size=tuple(size),
        batch_size=batch_size, patience=patience, max_epochs=max_epochs, min_sgd_epochs=min_sgd, amp=amp,
        channels_last=prof.channels_last, eval_test_every_epoch=prof.eval_test_every_epoch,
        device=str(dev), num_workers=prof.num_workers,
        cpu_threads=max(1, (os.cpu_count() or 1) - prof.num_workers) if dev.type == "cpu" else None,
        select_on=select_on)


def plan(profile: str = "workshop", backbones: str | list[str] | None = None,
         datasets: str | list[str] | None = None, fractions: list[float | None] | None = None,
         seeds: list[int] | None = None, data_root: Path | str | None = None, **overrides) -> list[TrainConfig]:
    """Every run of a grid, validated before any work (names, ranges, device, data on disk).

    ``None`` picks the profile's choice; names may be comma-separated text (``"all"`` = every backbone).
    ``overrides`` are :func:`make_config`'s keyword arguments (``max_epochs``, ``pretrained``, ...).
    """
    from lib import models

    prof = profiles.get(profile)
    if not backbones or backbones == "all":   # None/"" = the profile's, "all" = the eleven
        backbones = list(prof.backbones or models.names()) if not backbones else models.names()
    backbones = _csv(backbones) if isinstance(backbones, str) else list(backbones)
    datasets = list(prof.datasets) if not datasets else (
        _csv(datasets) if isinstance(datasets, str) else list(datasets))
    fractions = [None] if not fractions else (
        _csv(fractions, float) if isinstance(fractions, str) else list(fractions))
    seeds = list(prof.seeds) if seeds in (None, "") else (
        _csv(seeds, int) if isinstance(seeds, str) else list(seeds))
    configs = [make_config(b, d, seed=s, profile=profile, fraction=f, **overrides)
               for d in datasets for f in fractions for b in backbones for s in seeds]
    for dataset in dict.fromkeys(datasets):
        check_data(dataset, data_root)
    return list(dict.fromkeys(configs))


def plan_status(configs: list[TrainConfig], results_dir: Path | str,
                checkpoint_dir: Path | str = CHECKPOINT_DIR) -> "pd.DataFrame":
    """One row per planned run: recorded (re-used), resumable (checkpoint), to run, or corrupt (named)."""
    import pandas as pd

    rows = []
    for cfg in configs:
        key = results.run_key(cfg.as_dict())
        record, checkpoint = results.record_path(key, results_dir), Path(checkpoint_dir) / f"{key}.pt"
        if record.exists():
            state = "recorded" if results.is_intact(record) else "corrupt record: delete it to run again"
        elif checkpoint.exists():
            with open(checkpoint, "rb") as f:   # the header only; the full checksum is verified on resume
                intact = f.read(len(CHECKPOINT_MAGIC)) == CHECKPOINT_MAGIC
            state = "resumable" if intact else "corrupt checkpoint: delete it to start again"
        else:
            state = "to run"
        rows.append({"backbone": cfg.backbone, "dataset": cfg.dataset, "fraction": cfg.fraction,
                     "seed": cfg.seed, "image_size": f"{cfg.image_size[0]}x{cfg.image_size[1]}",
                     "pretrained": cfg.pretrained, "status": state, "run_key": key})
    return pd.DataFrame(rows)


def run_all(configs: list[TrainConfig], results_dir: Path | str | None = None, executor: str = "local",
            ray_address: str | None = None, retries: int | None = None, cpus_per_run: int = 1,
            ray_cpus: int | None = None, log: Callable[[str], None] = print, **kwargs) -> list[dict]:
    """Run (or re-use) every configuration; the records, in the same order.

    ``executor`` is ``local`` (one run after another, here) or ``ray`` (Ray tasks on the cluster at
    ``ray_address``, or on a local Ray); see :mod:`lib.executor`. A run that fails is retried up to ``retries``
    times (unless it failed on bad input) while the others go on; then :class:`lib.executor.GridError`
    reports every failed run with its error. ``kwargs`` go to :func:`run` (``data_root``, ``checkpoint_dir``...).
    """
    from lib import executor as executors

    retries = executors.DEFAULT_RETRIES if retries is None else retries
    executors.check_executor(executor, ray_address, retries)
    jobs = [(cfg, {**kwargs, "log": log,
                   "results_dir": results_dir if results_dir is not None else results.runs_dir(cfg.profile)})
            for cfg in configs]
    for folder, what in {**{Path(kw["results_dir"]): "results" for _, kw in jobs},
                         Path(kwargs.get("checkpoint_dir", CHECKPOINT_DIR)): "checkpoints"}.items():
        check_writable(folder, what)
    if executor == "ray":
        # A worker cannot call back into this process: it prints (Ray forwards the lines here), or keeps quiet
        # when the caller asked for its own log; the grid's progress lines still come to `log`.
        quiet = {} if log is print else {"log": executors.silent}
        jobs = [(cfg, {**{k: v for k, v in kw.items() if k != "log"}, **quiet}) for cfg, kw in jobs]
    outcomes = executors.execute(jobs, executor, ray_address=ray_address, retries=retries,
                                 cpus_per_run=cpus_per_run, num_cpus=ray_cpus, log=log)
    if not all(o.ok for o in outcomes):
        raise executors.GridError(outcomes)
    return [o.record for o in outcomes]


def check_writable(folder: Path | str, what: str = "results") -> None:
    """ConfigError naming ``folder`` unless a file can be created in it (it is created when missing)."""
    folder = Path(folder)
    flag = {"results": "--results", "checkpoints": "--checkpoints"}.get(what, what)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{what} folder {folder} is not writable ({err.strerror or type(err).__name__}): "
                          f"choose a writable folder with {flag}") from None


def check_data(dataset: str, data_root: Path | str | None) -> None:
    """Fail early (DataError naming the missing files and the download URL) when a dataset is absent."""
    from lib import data

    data.read_source(dataset, Path(data_root) if data_root is not None else data.default_root())


@contextlib.contextmanager
def _run_lock(path: Path):
    """An exclusive lock per run key, so two processes never train the same run at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _remove_stale_temporaries(key: str, checkpoint_dir: Path | str, results_dir: Path | str,
                              log: Callable[[str], None]) -> None:
    """Delete temporary files a killed writer of this run left (only ever read as garbage, never as data).

    Called while holding the run's lock, so no live writer of this run can own them.
    """
    for folder, name in ((Path(checkpoint_dir), f"{key}.pt"), (Path(results_dir), f"{key}.json")):
        for tmp in folder.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
            log(f"removed {tmp}, left half-written by an interrupted run")


def run(cfg: TrainConfig, data_root: Path | str | None = None, results_dir: Path | str = results.RUNS_DIR,
        checkpoint_dir: Path | str = CHECKPOINT_DIR, progress: bool = True, cache_dir: Path | None = None,
        log: Callable[[str], None] = print, stop_after_epochs: int | None = None) -> dict | None:
    """Train one configuration and write its record; a finished run is re-used, an unfinished one resumed."""
    keep_freed_memory()
    key = results.run_key(cfg.as_dict())
    record = results.find_record(key, results_dir)
    if record is not None:
        log(f"re-used finished run {key} (record {results.record_path(key, results_dir)})")
        return record
    checkpoint = Path(checkpoint_dir) / f"{key}.pt"
    with _run_lock(Path(checkpoint_dir) / f"{key}.lock"):
        record = results.find_record(key, results_dir)   # another process may have finished it meanwhile
        if record is not None:
            log(f"re-used finished run {key} (finished by another process)")
            return record
        _remove_stale_temporaries(key, checkpoint_dir, results_dir, log)
        from lib import data, models

        if cfg.cpu_threads:
            # More busy threads than cores (torch's threads plus the data worker) makes OpenMP spin and can
            # slow a step down tenfold on a small, shared CPU.
            torch.set_num_threads(cfg.cpu_threads)
        seed_everything(cfg.seed)
        splits = data.load(cfg.dataset, root=data_root, fraction=cfg.fraction, seed=cfg.seed,
                           image_size=cfg.image_size, cache_dir=cache_dir, val_fraction=cfg.val_fraction,
                           eval_on=cfg.select_on, progress=progress)   # eval_on="test": splits.val is test
        num_classes = len(splits.train.classes)
        model = models.build(cfg.backbone, num_classes=num_classes, pretrained=cfg.pretrained)
        device = torch.device(cfg.device)
        loaders = {name: make_loader(getattr(splits, name), cfg.batch_size, name == "train", cfg.seed + i,
                                     cfg.num_workers, device)
                   for i, name in enumerate(("train", "val", "test"))}
        rt = Runtime(device, autocast_dtype(cfg.amp, device), cfg.channels_last, progress)
        log(f"run {key}: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test images, "
            f"{num_classes} classes, {'ImageNet weights' if cfg.pretrained else 'random initialisation'}, "
            f"device {device}, autocast {rt.dtype or 'off'}, selection on {splits.protocol}")
        fit = dual_opt_fit(model, loaders, cfg, rt, checkpoint=checkpoint, log=log,
                           stop_after_epochs=stop_after_epochs)
        if fit is None:
            log(f"stopped after {stop_after_epochs} epochs on request; checkpoint {checkpoint}")
            return None
        env = environment(cfg.device)
        record = {"run_key": key, **{k: v for k, v in cfg.as_dict().items()
                                     if k in ("backbone", "dataset", "fraction", "seed", "profile",
                                              "pretrained", "image_size", "batch_size")},
                  **fit, **env, "finished": now(), "config": cfg.as_dict(),
                  "manifest_sha256": splits.manifest.sha256, "test_source": splits.manifest.test_source,
                  "num_classes": num_classes,
                  "split_sizes": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)}}
        path = results.write_record(record, results_dir)
        checkpoint.unlink(missing_ok=True)   # the record is the result; the checkpoint was only for resuming
        log(f"record written to {path}")
        return results.read_record(path)


# ---------------------------------------------------------------------------------------------------
# Where this book's protocol differs from the paper's text and the authors' code
# ---------------------------------------------------------------------------------------------------

def protocol_differences(cfg: TrainConfig) -> "pd.DataFrame":
    """The protocol, aspect by aspect: the paper's text, the authors' released code, this run's settings.

    The first two columns are facts read from the paper and from its code repositories (see the book's
    chapter 3); the last column is computed from ``cfg``, the configuration the runs actually used.
    """
    import pandas as pd

    dtype = autocast_dtype(cfg.amp, torch.device(cfg.device.split(":")[0]))
    cap = ("none (patience alone)" if cfg.max_epochs is None else
           f"{cfg.max_epochs} epochs in all; AdamW ends by epoch {cfg.max_epochs - cfg.min_sgd_epochs}, "
           f"so SGD gets at least {cfg.min_sgd_epochs}")
    rows = [
        ("epoch selection and early stopping", "'if accuracy did not improve' (split not named)",
         "the test set", f"a validation split: {cfg.val_fraction:.0%} of each class of the training part, "
                         "seeded; the test split is scored once, at the end" if cfg.select_on == "val" else
                         "the test set (paper protocol, chosen with select_on='test')"),
        ("reported number", "test top-1, best of three runs",
         "the maximum test top-1 over all epochs (selection on test)",
         "test top-1/top-5 of the best-validation weights; the paper's maximum over epochs is kept "
         "beside it as paper_protocol_test_top1"),
        ("patience", "10 epochs", "10/10 in most scripts; 20/20 Flowers-102; 10/20 Food-101 and Galaxy10; "
         "some counters stop after 9; CIFAR scripts never reach SGD (counter not reset)",
         f"{cfg.patience} epochs per phase; counter reset at the switch; SGD must beat the best AdamW epoch"),
        ("epoch cap", "none", "none", cap),
        ("phase 1 optimiser", "AdamW lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01",
         "same (Galaxy10: lr 1e-4)",
         f"AdamW lr {cfg.adamw_lr:g}, betas {cfg.adamw_betas[0]:g}/{cfg.adamw_betas[1]:g}, "
         f"eps {cfg.adamw_eps:g}, weight decay {cfg.adamw_weight_decay:g}"),
        ("phase 2 optimiser", "SGD lr 1e-3, momentum 0.9", "same, from the best checkpoint",
         f"SGD lr {cfg.sgd_lr:g}, momentum {cfg.sgd_momentum:g}, weight decay {cfg.sgd_weight_decay:g}, "
         "from the best weights"),
        ("mixed precision", "'automatic mixed precision'",
         "GradScaler, but autocast wraps only the loss: the forward pass runs in fp32",
         f"autocast around forward and loss: {dtype or 'off (fp32)'} on {cfg.device}"
         + ("; GradScaler (fp16)" if dtype == torch.float16 else "")),
        ("seeds", "best of three runs with random initialisation", "no seeds set; no three-run loop",
         f"seed {cfg.seed} for python, numpy, torch and the data loaders; best of N and mean ± std reported"),
        ("weights", "ImageNet-pretrained, all layers fine-tuned", "torchvision ImageNet weights",
         "ImageNet-pretrained" if cfg.pretrained else "random initialisation (no ImageNet weights)"),
        ("image size", "256x256 (BreakHis 672x448)", "EuroSAT 224; BreakHis 448 high x 672 wide; "
         "Galaxy10 not resized", f"{cfg.image_size[0]}x{cfg.image_size[1]} (height x width)"),
        ("batch size", "'chosen to maximise GPU utilisation'", "a flag; BreakHis 32, Galaxy10 256",
         str(cfg.batch_size)),
        ("augmentation", "TrivialAugment except BreakHis and Galaxy10",
         "TrivialAugment only for CIFAR, DTD, Food-101, Flowers-102",
         "TrivialAugmentWide on training images as the paper states (per dataset spec)"),
        ("normalisation", "not stated", "per-dataset mean/std; Galaxy10 not normalised",
         "ImageNet mean/std for every dataset"),
    ]
    return pd.DataFrame(rows, columns=["aspect", "paper (text)", "authors' code", "this book (this run)"])


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one ConfigError line (exit 2) instead of a usage dump."""

    def error(self, message):
        raise ConfigError(f"{message} (see python -m lib.train --help)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="workshop", help="ci, workshop (default) or paper")
    p.add_argument("--results", type=Path, default=None,
                   help="folder for run records (default results/runs; ci: a git-ignored scratch folder)")
    p.add_argument("--checkpoints", type=Path, default=CHECKPOINT_DIR, help="folder for resumable checkpoints")
    p.add_argument("--data-root", type=Path, default=None, help="folder holding <dataset>/ folders")
    p.add_argument("--max-epochs", type=int, default=None, help="cap on AdamW + SGD epochs")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--image-size", type=int, default=None, help="square side in pixels")
    p.add_argument("--device", default=None, help="cpu, cuda or auto")
    p.add_argument("--amp", default=None, choices=AMP_CHOICES)
    p.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=None,
                   help="ImageNet weights (default: the profile's choice)")
    p.add_argument("--select-on", default=None, choices=tuple(SELECT_ON),
                   help="split for early stopping and model selection: val (default) or test (paper protocol)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")


def _csv(text: str, kind=str) -> list:
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"could not read {text!r} as a comma-separated list of {kind.__name__}") from None


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[TrainConfig]]:
    """Parse the command line and validate every requested run before any work starts."""
    if argv[:1] == ["grid"]:
        p = _Parser(prog="python -m lib.train grid", description="Train a grid of runs (skips finished ones).")
        p.add_argument("--backbones", default=None, help="comma-separated, or 'all' (default: the profile's)")
        p.add_argument("--datasets", default=None, help="comma-separated (default: the profile's)")
        p.add_argument("--fractions", default=None, help="comma-separated, e.g. 0.01,0.1,1")
        p.add_argument("--seeds", default=None, help="comma-separated (default: the profile's)")
        p.add_argument("--executor", default="local", help="local (default: one run after another) or ray")
        p.add_argument("--ray-address", default=None,
                       help="address of a running Ray cluster (ray start --head prints it); default: start a "
                            "local Ray on this machine")
        p.add_argument("--retries", type=int, default=None,
                       help="extra attempts for a run that crashes (default 2; bad input is never retried)")
        p.add_argument("--cpus-per-run", type=int, default=1, help="CPUs Ray reserves for each run (default 1)")
        _common(p)
        args = p.parse_args(argv[1:])
        backbones, datasets = args.backbones, args.datasets
        fractions = _csv(args.fractions, float) if args.fractions else None
        seeds = _csv(args.seeds, int) if args.seeds else None
    else:
        p = _Parser(prog="python -m lib.train", description="Train one backbone on one dataset with DualOpt.")
        p.add_argument("--backbone", required=True)
        p.add_argument("--dataset", required=True)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--fraction", type=float, default=None)
        _common(p)
        args = p.parse_args(argv)
        args.executor, args.ray_address, args.retries, args.cpus_per_run = "local", None, None, 1
        backbones, datasets, fractions, seeds = args.backbone, args.dataset, [args.fraction], [args.seed]
    from lib import executor

    executor.check_executor(args.executor, args.ray_address,
                            executor.DEFAULT_RETRIES if args.retries is None else args.retries)
    if args.cpus_per_run < 1:
        raise ConfigError(f"cpus per run {args.cpus_per_run} is not allowed: use 1 or more")
    configs = plan(args.profile, backbones=backbones, datasets=datasets, fractions=fractions, seeds=seeds,
                   pretrained=args.pretrained, image_size=args.image_size, max_epochs=args.max_epochs,
                   batch_size=args.batch_size, device=args.device, amp=args.amp, data_root=args.data_root,
                   select_on=args.select_on)
    if args.results is None:
        args.results = results.runs_dir(args.profile)
    return args, configs


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every run finished; 2 on bad input (nothing runs) or when runs failed on bad input or
    data; 1 when a run crashed after its retries. Finished runs are printed and kept either way."""
    from lib.executor import GridError

    argv = sys.argv[1:] if argv is None else argv
    status = 0
    try:
        args, configs = parse_args(argv)
        records = run_all(configs, results_dir=args.results, data_root=args.data_root,
                          checkpoint_dir=args.checkpoints, progress=not args.no_progress,
                          executor=args.executor, ray_address=args.ray_address, retries=args.retries,
                          cpus_per_run=args.cpus_per_run)
    except GridError as err:
        records = [o.record for o in err.outcomes if o.ok and o.record is not None]
        error, status = err, 2 if err.user_errors_only else 1
    except BookError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    for rec in records:
        path = results.record_path(rec["run_key"], args.results)
        print(f"record {path}: test top-1 {rec['test_top1']:.2f} % (ours, {rec['backbone']} on "
              f"{rec['dataset']}, seed {rec['seed']}, best-validation weights)")
    if status:
        print(f"error: {one_line(error)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
