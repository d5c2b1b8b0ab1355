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
from lib import paths
from lib.train import TrainConfig

PROTOCOL_CSV = paths.PAPER / "protocol.csv"


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
    from lib import models
    from book import present

    table = protocol_differences(cfg)
    names = {n: present.backbone_name(n) for n in models.names()}
    pattern = r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b"
    readable = table.map(lambda v: re.sub(pattern, lambda m: names[m.group(0)], v) if isinstance(v, str) else v)
    return present.table(readable)
