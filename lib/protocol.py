"""The protocol aspect by aspect: the paper's text, the authors' released code, and this book's run.

The first two columns are facts read from the paper and its code (``results/paper/protocol.csv``, see chapter 3);
the third is that file's template filled in from the configuration the runs actually used.
"""
from __future__ import annotations

import dataclasses

import pandas as pd
import torch

from lib.device import autocast_dtype
from lib.provenance import REPO_ROOT
from lib.train import TrainConfig

PROTOCOL_CSV = REPO_ROOT / "results" / "paper" / "protocol.csv"


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
    }
    table = pd.read_csv(PROTOCOL_CSV, keep_default_na=False)
    table["this_book"] = [template.format(**facts) for template in table["this_book"]]
    return table.rename(columns={"paper": "paper (text)", "authors_code": "authors' code",
                                 "this_book": "this book (this run)"})
