"""Why a backbone sits at chance: it does not learn, or its BatchNorm running statistics fail in evaluation mode.

A network with BatchNorm normalises by each batch's own statistics while it trains and by running averages of them
when it is evaluated. When the averages lag far behind the weights (few steps, a small momentum: torchvision builds
MobileNetV3 and EfficientNet with momentum 0.01), the evaluated network can score at chance although it has learnt.
:func:`mode_accuracies` tells the two apart on the training images themselves: top-1 with BatchNorm on batch
statistics ("train mode") and on running statistics ("eval mode"), everything else as in evaluation.

``python -m book.diagnose`` re-trains every backbone under the old workshop budget (:data:`OLD_WORKSHOP`) and writes
one CSV row per backbone to ``results/diagnosis/``: the committed record's test top-1, the re-run's, the two modes'
top-1 on the un-augmented training images, and a verdict (:func:`verdict`).
"""
from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from lib.atomic import atomic_write
from lib.errors import BookError, ConfigError, one_line
from lib import paths
from lib.provenance import git_commit, now
from lib.runs import torch_threads
from lib.train import BATCHNORMS

if TYPE_CHECKING:
    import pandas as pd

OUT_DIR = paths.DIAGNOSIS

OLD_WORKSHOP = {"fraction": 0.25, "image_size": 32, "max_epochs": 4, "min_sgd_epochs": 2, "patience": 2,
                "batch_size": 32, "precise_bn_images": 0, "device": "cpu"}
"""The workshop budget of the committed records that scored at chance (profile ``workshop`` before issue 17), as
what it changes in today's workshop profile. Those runs trained digits, seed 0, with :data:`OLD_AUGMENTATION`."""
OLD_AUGMENTATION = "trivial_augment_wide"

CHANCE_MARGIN = 10.0
"""Top-1 (percent) at most this many points above chance counts as "at chance"."""

DIAGNOSES = {
    "learns": "the evaluated network is above chance",
    "evaluation-mode collapse": "above chance on batch statistics, and well below that on running statistics",
    "not learning": "near chance on batch statistics too, or no better than on running statistics",
}


def _top1(model: nn.Module, loader, device: torch.device) -> float:
    hits = seen = 0
    with torch.no_grad():
        for images, labels in loader:
            logits = model(images.to(device))
            hits += int((logits.argmax(dim=1).cpu() == labels).sum())
            seen += labels.numel()
    return 100.0 * hits / max(seen, 1)


def mode_accuracies(model: nn.Module, dataset, device: torch.device | str = "cpu", batch_size: int = 32,
                    seed: int = 0) -> dict[str, float]:
    """Top-1 (percent) on ``dataset`` with BatchNorm on batch statistics (``train_mode_top1``) and on its running
    statistics (``eval_mode_top1``).

    Every other layer is in evaluation mode both times (no dropout, no stochastic depth), so the two numbers differ
    only in BatchNorm's statistics. ``model`` is left untouched: the train-mode pass runs on a deep copy, whose
    running statistics it updates. Batches are drawn in a seeded random order so that no batch holds one class only.
    """
    if batch_size < 2:
        raise ConfigError(f"batch_size={batch_size} is too small for batch statistics: use 2 or more, e.g. 32")
    device = torch.device(device)
    order = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=order)
    was_training = model.training
    model.eval()
    eval_top1 = _top1(model, loader, device)
    model.train(was_training)

    batch_stats = copy.deepcopy(model).eval()
    for module in batch_stats.modules():
        if isinstance(module, BATCHNORMS):
            module.train()
    order.manual_seed(seed)   # the same batches for both modes
    train_top1 = _top1(batch_stats, loader, device)
    return {"train_mode_top1": train_top1, "eval_mode_top1": eval_top1}


def verdict(test_top1: float, train_mode_top1: float, eval_mode_top1: float, num_classes: int = 10) -> str:
    """One of :data:`DIAGNOSES`. "At chance" means within :data:`CHANCE_MARGIN` points of it (20 % for 10 classes);
    a collapse needs train mode above that and at least :data:`CHANCE_MARGIN` points above eval mode."""
    at_chance = 100.0 / num_classes + CHANCE_MARGIN
    if test_top1 > at_chance and eval_mode_top1 > at_chance:
        return "learns"
    if train_mode_top1 > at_chance and train_mode_top1 - eval_mode_top1 >= CHANCE_MARGIN:
        return "evaluation-mode collapse"
    return "not learning"


def old_record_top1(backbone: str, records_dir: Path = paths.RECORDS) -> float | None:
    """Test top-1 of the committed workshop record of ``backbone`` under :data:`OLD_WORKSHOP`, if there is one (the
    records were removed with that profile, in 4403d41; ``results/diagnosis/old_workshop_modes.csv`` keeps them)."""
    from lib import results

    for path in sorted(Path(records_dir).glob(f"{backbone}__digits__*.json")):
        rec = results.read_record(path)
        if (rec["backbone"] == backbone and rec["fraction"] == OLD_WORKSHOP["fraction"] and rec["seed"] == 0
                and not rec["pretrained"] and list(rec["image_size"]) == [OLD_WORKSHOP["image_size"]] * 2):
            return rec["test_top1"]
    return None


def diagnose(backbone: str, threads: int = 1, log=print) -> dict:
    """Train ``backbone`` with DualOpt under :data:`OLD_WORKSHOP`, then compare the two modes on its training images."""
    from lib import config, data, models
    from lib.loaders import make_loader
    from lib.train import Runtime, dual_opt_fit

    cfg = config.make_config(backbone, "digits", seed=0, profile="workshop", **OLD_WORKSHOP)
    device = torch.device("cpu")
    with torch_threads(threads), torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        splits = data.load(cfg.dataset, fraction=cfg.fraction, seed=cfg.seed, image_size=cfg.image_size,
                           progress=False)
        splits.train = splits.train.with_augment(OLD_AUGMENTATION)
        model = models.build(backbone, num_classes=len(splits.train.classes))
        loaders = {name: make_loader(getattr(splits, name), cfg.batch_size, name == "train", cfg.seed, 0, device)
                   for name in ("train", "val", "test")}
        start = time.perf_counter()
        fit = dual_opt_fit(model, loaders, cfg, Runtime(device, progress=False), log=lambda _: None)
        modes = mode_accuracies(model, splits.train.with_augment(False), device, batch_size=cfg.batch_size)
    row = {"backbone": backbone, "old_record_test_top1": old_record_top1(backbone),
           "rerun_test_top1": fit["test_top1"], **modes,
           "final_train_loss": fit["history"][-1]["train_loss"], "epochs": len(fit["history"]),
           "train_images": len(splits.train), "seconds": time.perf_counter() - start}
    row["verdict"] = verdict(row["rerun_test_top1"], modes["train_mode_top1"], modes["eval_mode_top1"],
                             len(splits.train.classes))
    log(f"{backbone}: test {row['rerun_test_top1']:.1f} %, train mode {modes['train_mode_top1']:.1f} %, "
        f"eval mode {modes['eval_mode_top1']:.1f} % -> {row['verdict']}")
    return row


DIAGNOSIS_RUNS = OUT_DIR / "runs"
"""Run records kept as evidence for a recipe choice, not as results (e.g. Swin-T at the paper's AdamW lr)."""


def loss_climb(record: dict, phase: str = "adamw") -> dict:
    """The largest climb of the training loss within ``phase`` above its lowest value so far: the epoch and
    loss at that low, the epoch and loss it climbed to, and validation top-1 at both. A phase whose loss only
    falls climbs by 0. This tells a learning rate that destabilises a network after it has learnt apart from
    one at which it never learns."""
    epochs = [h for h in record["history"] if h["phase"] == phase]
    low = epochs[0]
    out = {"rise": 0.0, "low_epoch": low["epoch"], "low_loss": low["train_loss"], "low_val_top1": low["val_top1"],
           "high_epoch": low["epoch"], "high_loss": low["train_loss"], "high_val_top1": low["val_top1"]}
    for h in epochs:
        if h["train_loss"] < low["train_loss"]:
            low = h
        if h["train_loss"] - low["train_loss"] > out["rise"]:
            out.update(rise=h["train_loss"] - low["train_loss"], low_epoch=low["epoch"],
                       low_loss=low["train_loss"], low_val_top1=low["val_top1"], high_epoch=h["epoch"],
                       high_loss=h["train_loss"], high_val_top1=h["val_top1"])
    return out


def diagnosis_record(backbone: str, folder: Path = DIAGNOSIS_RUNS) -> dict:
    """The one evidence record of ``backbone`` in ``folder`` (checksum verified)."""
    from lib import results

    paths = sorted(Path(folder).glob(f"{backbone}__*.json"))
    if len(paths) != 1:
        raise ConfigError(f"expected one record of {backbone} in {folder}, found {len(paths)}")
    return results.read_record(paths[0])


def old_workshop_modes(path: Path = OUT_DIR / "old_workshop_modes.csv") -> "pd.DataFrame":
    """The committed diagnosis of the old workshop budget (ours), one row per backbone that sat at chance."""
    import pandas as pd

    return pd.read_csv(path)


def write_csv(path: Path, rows: list[dict]) -> None:
    """``rows`` as a CSV at ``path``, written atomically."""
    def write(handle):
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    atomic_write(path, write)


def main(argv: list[str] | None = None) -> int:
    from lib import models

    p = argparse.ArgumentParser(prog="python -m book.diagnose", description=__doc__.splitlines()[0])
    p.add_argument("--backbones", default="all", help="comma-separated names, or all (default)")
    p.add_argument("--out", type=Path, default=OUT_DIR / "old_workshop_modes.csv", help="CSV to write")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)
    try:
        names = models.names() if args.backbones == "all" else [b.strip() for b in args.backbones.split(",")]
        for name in names:
            models.spec(name)
        commit = git_commit()
        if commit.endswith("-dirty"):
            raise ConfigError(f"the working tree has uncommitted changes ({commit}): commit them first, so the "
                              f"CSV names the code that made it")
        rows = []
        for name in names:   # the CSV is rewritten after every backbone, so a killed run keeps what it finished
            rows.append({**diagnose(name, args.threads), "git_commit": commit, "finished": now()})
            write_csv(args.out, rows)
    except BookError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def modes_table(modes: "pd.DataFrame"):
    """:func:`old_workshop_modes` as a reader's table: top-1 in train and eval mode, the re-run's test top-1 and
    the verdict (display only; the CSV is the committed file)."""
    from book import present

    return present.table(modes, ["backbone", "train_mode_top1", "eval_mode_top1", "rerun_test_top1", "verdict"],
                         {"train_mode_top1": "train mode (%)", "eval_mode_top1": "eval mode (%)",
                          "rerun_test_top1": "re-run test (%)", "verdict": "verdict"})
