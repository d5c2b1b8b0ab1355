"""The DualOpt trainer: read it top to bottom.

DualOpt as the paper describes it (Jeevan & Sethi): full fine-tuning with cross-entropy, AdamW
(lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01) until the validation top-1 has not improved for
``patience`` epochs; then the best weights are reloaded and training continues with SGD (lr 1e-3,
momentum 0.9, no weight decay) until it again stops improving for ``patience`` epochs. The reported result
is the test top-1/top-5 of the best-validation weights; the paper's own metric (the best test top-1 over
all epochs, i.e. selection on test) is recorded beside it as ``paper_protocol_test_top1``.

Epoch cap (short profiles only): with ``max_epochs = N`` the AdamW phase ends at the latest after
``N - min_sgd_epochs`` epochs, so the SGD phase always gets at least ``min_sgd_epochs``; SGD ends at
epoch N at the latest. Both phases still end earlier when patience runs out.

Every epoch is checkpointed (model, the current phase's optimizer, scaler, :class:`DualOptState`, best weights,
RNG), so a killed run resumes where it stopped and ends with the same record.

This file holds the loop and nothing else. Around it: ``lib.loaders`` (batches), ``lib.checkpoints`` (checkpoint
files), ``lib.config`` (a run's configuration, grids), ``lib.runs`` (one configuration -> one record) and
``lib.cli`` (``python -m lib.train``).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from lib.checkpoints import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from lib.data.transforms import normalise
from lib.errors import ConfigError, DataError
from lib.provenance import now


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one run that can change its result; stored verbatim as the record's ``config``.

    The defaults are the paper's protocol, except that a validation split, not the test set, selects the epoch
    (``select_on``; the paper's way is ``"test"``). A profile (``lib.profiles``) holds one with its departures and without
    backbone, dataset and seed; ``lib.config.make_config`` fills those in, applies what was asked and checks it."""

    backbone: str = ""
    dataset: str = ""
    seed: int = 0
    profile: str = "paper"
    fraction: float = 1.0                # share of the training split used
    pretrained: bool = True              # ImageNet weights (the paper) or random initialisation
    image_size: tuple[int, int] | None = None   # (H, W); None, in a profile only: each dataset's paper size
    batch_size: int = 64
    patience: int = 10                   # epochs without a better selection top-1 before a phase ends
    max_epochs: int | None = None        # cap on AdamW + SGD epochs together; None: patience alone decides
    min_sgd_epochs: int = 0              # under a cap, epochs always left for the SGD phase
    amp: str = "auto"                    # "auto" (fp16 on CUDA, off elsewhere), "off", "fp16", "bf16"
    channels_last: bool = True
    eval_test_every_epoch: bool = True   # needed for the paper's own metric (best test top-1 over epochs)
    device: str = "auto"                 # in a profile: "auto" = CUDA, then MPS, then CPU; in a run: the device
    val_fraction: float = 0.1
    adamw_lr: float = 1e-3
    adamw_betas: tuple[float, float] = (0.9, 0.999)
    adamw_eps: float = 1e-8
    adamw_weight_decay: float = 0.01
    sgd_lr: float = 1e-3
    sgd_momentum: float = 0.9
    sgd_weight_decay: float = 0.0
    select_on: str = "val"               # "test" = the paper's protocol: early stopping and selection on test
    precise_bn_images: int = 0           # > 0: BatchNorm statistics recomputed on this many training images
                                         # before every evaluation (precise BN); 0 = the running averages

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


# ---------------------------------------------------------------------------------------------------
# Moving a batch to the device
# ---------------------------------------------------------------------------------------------------

@dataclass
class Runtime:
    """Where and how the tensors of a run are computed."""

    device: torch.device
    dtype: torch.dtype | None = None     # autocast dtype; None = full fp32
    channels_last: bool = False
    progress: bool = True

    def to_device(self, images: torch.Tensor, labels: torch.Tensor):
        """A batch on the device; uint8 images (what ``lib.loaders`` delivers) are normalised there."""
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        images = images.to(self.device, non_blocking=True, memory_format=fmt)
        if images.dtype == torch.uint8:
            images = normalise(images)
        return images, labels.to(self.device, non_blocking=True)

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)


# ---------------------------------------------------------------------------------------------------
# One epoch of training, one evaluation
# ---------------------------------------------------------------------------------------------------

def train_one_epoch(model: nn.Module, loader, optimizer: torch.optim.Optimizer,
                    scaler: torch.amp.GradScaler, rt: Runtime, desc: str) -> dict:
    """One pass over ``loader``; autocast covers forward and loss, the scaler the backward (fp16)."""
    model.train()
    # The loss is summed on the device and read once per epoch: no host-device sync per step.
    total_loss, seen, start = torch.zeros((), dtype=torch.float64, device=rt.device), 0, time.perf_counter()
    for images, labels in tqdm(loader, desc=desc, leave=False, disable=not rt.progress):
        images, labels = rt.to_device(images, labels)
        with rt.autocast():
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        total_loss += loss.detach().double() * labels.numel()
        seen += labels.numel()
    seconds = time.perf_counter() - start
    return {"train_loss": total_loss.item() / max(seen, 1), "train_images": seen, "train_seconds": seconds}


def evaluate(model: nn.Module, loader, rt: Runtime, desc: str = "eval") -> dict:
    """Top-1 and top-5 accuracy (percent) and mean loss over ``loader``, in eval mode."""
    model.eval()
    seen = 0
    sums = torch.zeros(3, dtype=torch.float64, device=rt.device)   # loss, top-1 hits, top-5 hits
    with torch.inference_mode():
        for images, labels in tqdm(loader, desc=desc, leave=False, disable=not rt.progress):
            images, labels = rt.to_device(images, labels)
            with rt.autocast():
                logits = model(images).float()
            hits = logits.topk(min(5, logits.shape[1]), dim=1).indices == labels[:, None]
            sums += torch.stack([F.cross_entropy(logits, labels, reduction="sum").double(),
                                 hits[:, 0].sum().double(), hits.any(dim=1).sum().double()])
            seen += labels.numel()
    total_loss, correct1, correct5 = sums.tolist()
    return {"top1": 100.0 * int(correct1) / max(seen, 1), "top5": 100.0 * int(correct5) / max(seen, 1),
            "loss": total_loss / max(seen, 1)}


BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def precise_batchnorm(model: nn.Module, loader, rt: Runtime) -> None:
    """Precise BatchNorm (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm"): replace every BatchNorm layer's
    running statistics by their exact average over ``loader``'s (un-augmented training) images under the current
    weights. From scratch and with few steps, the running averages lag far behind the weights (torchvision builds
    MobileNetV3 and EfficientNet with momentum 0.01) and evaluation collapses to chance while training learns."""
    norms = [m for m in model.modules() if isinstance(m, BATCHNORMS)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None   # PyTorch's cumulative moving average: the exact mean over the batches seen
    model.train()
    with torch.no_grad():
        for images, labels in loader:
            with rt.autocast():
                model(rt.to_device(images, labels)[0])
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


# ---------------------------------------------------------------------------------------------------
# The optimizers and DualOpt
# ---------------------------------------------------------------------------------------------------

def make_optimizer(phase: str, model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW for the first phase, SGD with momentum for the second (the paper's hyperparameters)."""
    if phase == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=cfg.adamw_lr, betas=cfg.adamw_betas,
                                 eps=cfg.adamw_eps, weight_decay=cfg.adamw_weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.sgd_lr, momentum=cfg.sgd_momentum,
                           weight_decay=cfg.sgd_weight_decay)


@dataclass
class DualOptState:
    """Where a DualOpt run stands after ``epoch`` completed epochs (checkpointed as it is)."""

    phase: str = "adamw"                 # "adamw", then "sgd", then "done"
    epoch: int = 0
    since_best: int = 0                  # epochs since the best validation top-1 (the patience counter)
    best_val: float = -1.0
    best_epoch: int = 0
    switch_epoch: int | None = None      # the last AdamW epoch, once SGD has started
    stopped_by: str | None = None        # "patience" or "max_epochs", once done
    elapsed_s: float = 0.0
    started: str = ""
    history: list[dict] = field(default_factory=list)


def phase_ends(state: DualOptState, cfg: TrainConfig) -> str | None:
    """Why the current phase ends after ``state.epoch`` epochs ('patience', 'max_epochs'), or None."""
    if state.since_best >= cfg.patience:
        return "patience"
    if cfg.max_epochs is not None:
        cap = cfg.max_epochs - cfg.min_sgd_epochs if state.phase == "adamw" else cfg.max_epochs
        if state.epoch >= cap:
            return "max_epochs"
    return None


RESUME_KEYS = ("config", "state", "model", "best_model", "optimizer", "scaler", "rng")
"""What a checkpoint of :func:`dual_opt_fit` holds: one optimizer state, the current phase's."""


def _weights(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def dual_opt_fit(model: nn.Module, loaders: dict, cfg: TrainConfig, rt: Runtime,
                 checkpoint: Path | None = None, evaluate_fn: Callable = evaluate,
                 log: Callable[[str], None] = print, stop_after_epochs: int | None = None,
                 data_sha256: str | None = None) -> dict | None:
    """Train ``model`` with DualOpt; return the summary (best epoch, test metrics, history).

    ``loaders`` has ``train``, ``val`` and ``test`` (``lib.loaders.make_loader``), and ``batchnorm`` (un-augmented
    training images) when ``cfg.precise_bn_images`` is set. ``evaluate_fn(model, loader, rt,
    desc)`` is injectable for tests. With ``checkpoint`` set, an existing checkpoint is resumed and a new one
    written every epoch. ``stop_after_epochs`` (a test hook) returns None after that many epochs, as if killed.
    ``data_sha256`` (the split manifest's digest) is kept in the checkpoint: a checkpoint of other data is refused.
    """
    model.to(rt.device, memory_format=torch.channels_last if rt.channels_last else torch.preserve_format)
    scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.device.type == "cuda" and rt.dtype == torch.float16)
    state = DualOptState(started=now())
    best = _weights(model)
    optimizer = make_optimizer("adamw", model, cfg)

    if checkpoint is not None and Path(checkpoint).exists():
        saved = load_checkpoint(checkpoint, keys=RESUME_KEYS)
        if saved["config"] != cfg.as_dict():
            raise ConfigError(f"checkpoint {checkpoint} belongs to another configuration: delete it "
                              f"or use another --checkpoints folder")
        if data_sha256 and saved.get("data_sha256", data_sha256) != data_sha256:
            raise DataError(f"checkpoint {checkpoint} was trained on other data than {cfg.dataset} holds now: "
                            f"restore the data to resume it, or delete it to start that run again on the new data")
        fields = {f.name for f in dataclasses.fields(DualOptState)}
        if not isinstance(saved["state"], dict) or set(saved["state"]) != fields:
            raise DataError(f"checkpoint {checkpoint} was written by another version of lib.train: delete it to "
                            f"restart that run from its first epoch")
        state, best = DualOptState(**saved["state"]), saved["best_model"]
        model.load_state_dict(saved["model"])
        if state.phase != "done":
            optimizer = make_optimizer(state.phase, model, cfg)
            optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        set_rng_state(saved["rng"])
        log(f"resumed from {checkpoint} after epoch {state.epoch} (phase {state.phase})")

    while state.phase != "done":
        if stop_after_epochs is not None and state.epoch >= stop_after_epochs:
            return None
        start, epoch = time.perf_counter(), state.epoch + 1
        loaders["train"].batch_sampler.set_epoch(epoch)   # the shuffle and every augmentation draw follow the epoch
        tr = train_one_epoch(model, loaders["train"], optimizer, scaler, rt, f"epoch {epoch} {state.phase}")
        if cfg.precise_bn_images:
            precise_batchnorm(model, loaders["batchnorm"], rt)
        val = evaluate_fn(model, loaders["val"], rt, "val")
        test = evaluate_fn(model, loaders["test"], rt, "test") if cfg.eval_test_every_epoch else None
        state.epoch = epoch
        if val["top1"] > state.best_val:
            state.best_val, state.best_epoch, state.since_best = val["top1"], epoch, 0
            best = _weights(model)
        else:
            state.since_best += 1
        seconds = time.perf_counter() - start
        state.elapsed_s += seconds
        row = {"epoch": epoch, "phase": state.phase, **tr, "val_top1": val["top1"], "val_top5": val["top5"],
               "val_loss": val["loss"], "test_top1": test["top1"] if test else None,
               "test_top5": test["top5"] if test else None, "epoch_seconds": seconds,
               "images_per_s": tr["train_images"] / max(tr["train_seconds"], 1e-9)}
        state.history.append(row)
        test_text = f" | test top-1 {test['top1']:.2f}" if test else ""
        log(f"epoch {epoch:3d} [{state.phase}] loss {tr['train_loss']:.4f} | val top-1 {val['top1']:.2f} "
            f"top-5 {val['top5']:.2f}{test_text} | {seconds:.1f} s, {row['images_per_s']:.0f} img/s"
            f"{'  *best*' if state.best_epoch == epoch else ''}")

        reason = phase_ends(state, cfg)
        if reason and state.phase == "adamw" and not (cfg.max_epochs is not None and epoch >= cfg.max_epochs):
            # The DualOpt switch: back to the best weights, a fresh SGD, the patience counter reset.
            model.load_state_dict(best)
            optimizer = make_optimizer("sgd", model, cfg)
            state.phase, state.since_best, state.switch_epoch = "sgd", 0, epoch
            log(f"switch to SGD after epoch {epoch} ({reason}); reloaded best weights of epoch "
                f"{state.best_epoch} (val top-1 {state.best_val:.2f})")
        elif reason:
            state.phase, state.stopped_by = "done", reason
            log(f"stop after epoch {epoch} ({reason}); best val top-1 {state.best_val:.2f} at epoch "
                f"{state.best_epoch}")
        if checkpoint is not None:
            save_checkpoint(checkpoint, {
                "config": cfg.as_dict(), "state": dataclasses.asdict(state), "model": model.state_dict(),
                "best_model": best, "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                "rng": rng_state(), "data_sha256": data_sha256})

    model.load_state_dict(best)
    test = evaluate_fn(model, loaders["test"], rt, "test")
    tested = [h["test_top1"] for h in state.history if h["test_top1"] is not None]
    switch = state.switch_epoch or state.epoch
    train_images = sum(h["train_images"] for h in state.history)
    train_seconds = sum(h["train_seconds"] for h in state.history)
    return {"best_epoch": state.best_epoch, "val_top1": state.best_val,
            "test_top1": test["top1"], "test_top5": test["top5"],
            "paper_protocol_test_top1": max(tested) if tested else None,
            "epochs_adamw": switch, "epochs_sgd": state.epoch - switch, "switch_epoch": state.switch_epoch,
            "stopped_by": state.stopped_by, "history": state.history, "started": state.started,
            "wall_time_s": state.elapsed_s, "images_per_s": train_images / max(train_seconds, 1e-9)}

