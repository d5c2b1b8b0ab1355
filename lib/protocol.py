"""The protocol aspect by aspect: the paper's text, the authors' released code, and this book's run.

The first two columns are facts read from the paper and its code (``results/paper/protocol.csv``, see chapter 3);
the third is that file's template filled in from the configuration the runs actually used.
"""
from __future__ import annotations

import dataclasses
import re

import pandas as pd
import torch

from lib.device import autocast_dtype
from lib.provenance import REPO_ROOT
from lib.train import TrainConfig

PROTOCOL_CSV = REPO_ROOT / "results" / "paper" / "protocol.csv"


def departures(record: dict) -> str:
    """How a ``paper``-profile run departs from the paper's protocol ("" when it does not): an epoch cap, another
    image size or batch size, random initialisation. Such a run is labelled in every table and kept out of the
    paper-protocol verdicts (chapters 4 and 6, the answer page). Other profiles are their own protocol: ""."""
    from lib import data, profiles

    if record.get("profile") != "paper":
        return ""
    prof, config = profiles.get("paper"), record.get("config") or record
    size = tuple(config.get("image_size") or record.get("image_size"))
    paper_size = tuple(data.spec(record["dataset"]).image_size) if record["dataset"] in data.names() else size
    changes = []
    if config.get("max_epochs") is not None:
        changes.append(f"capped at {config['max_epochs']} epochs")
    if size != paper_size:
        changes.append(f"{size[0]}×{size[1]} px instead of {paper_size[0]}×{paper_size[1]}")
    if config.get("batch_size", prof.batch_size) != prof.batch_size:
        changes.append(f"batch {config['batch_size']} instead of {prof.batch_size}")
    if not config.get("pretrained", True):
        changes.append("random initialisation")
    return "; ".join(changes)


def augmentation_text(dataset: str) -> str:
    """What augments ``dataset``'s training images, from its spec and the augmentation registry."""
    from lib import data
    from lib.data.transforms import AUGMENTATIONS

    name = data.spec(dataset).augmentation
    if name is None:
        return "none, as the paper for BreakHis and Galaxy10"
    if name == "trivial_augment_wide":
        return "TrivialAugmentWide on training images, as the paper"
    return (f"{AUGMENTATIONS[name]()!r} on training images instead of TrivialAugmentWide: on the workshop's 8x8 "
            "digits TrivialAugment's shears and rotations turn digits into other digits")


def protocol_differences(cfg: TrainConfig) -> pd.DataFrame:
    """One row per aspect: ``paper`` (text), ``authors' code``, ``this book`` (this configuration)."""
    dtype = autocast_dtype(cfg.amp, torch.device(cfg.device.split(":")[0]))
    facts = {
        **dataclasses.asdict(cfg),
        "selection": (f"a validation split: {cfg.val_fraction:.0%} of each class of the training part, seeded; "
                      "the test split is scored once, at the end") if cfg.select_on == "val" else
                     "the test set (paper protocol, chosen with select_on='test')",
        "cap": "none (patience alone)" if cfg.max_epochs is None else
               f"{cfg.max_epochs} epochs in all; AdamW ends by epoch {cfg.max_epochs - cfg.min_sgd_epochs}, "
               f"so SGD gets at least {cfg.min_sgd_epochs}",
        "precision": f"autocast around forward and loss: {dtype or 'off (fp32)'} on {cfg.device}"
                     + ("; GradScaler (fp16)" if dtype == torch.float16 else ""),
        "weights": "ImageNet-pretrained" if cfg.pretrained else "random initialisation (no ImageNet weights)",
        "augmentation": augmentation_text(cfg.dataset),
        "batchnorm": (f"precise BatchNorm: recomputed on {cfg.precise_bn_images} training images (not augmented) "
                      "before every evaluation, because from scratch the running averages lag behind the weights "
                      "and evaluation collapses to chance (chapter 3)") if cfg.precise_bn_images else
                     "running averages, as the paper",
    }
    table = pd.read_csv(PROTOCOL_CSV, keep_default_na=False)
    table["this_book"] = [template.format(**facts) for template in table["this_book"]]
    return table.rename(columns={"paper": "paper (text)", "authors_code": "authors' code",
                                 "this_book": "this book (this run)"})


def protocol_table(cfg: TrainConfig):
    """:func:`protocol_differences` as a reader's table (no index column; backbone ids as display names)."""
    from lib import models, present

    table = protocol_differences(cfg)
    names = {n: present.backbone_name(n) for n in models.names()}
    pattern = r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b"
    readable = table.map(lambda v: re.sub(pattern, lambda m: names[m.group(0)], v) if isinstance(v, str) else v)
    return present.table(readable)
