"""Benchmark 2, trainer overhead: the book's ``train_one_epoch`` against a bare forward/backward/step loop.

Same model, same optimiser (AdamW, DualOpt's first phase), same batches already in memory; only the loop
differs (the book's adds device transfer, the autocast context, the GradScaler calls, the progress bar switch
and the loss bookkeeping). Target: the book's trainer reaches >= 0.95x the bare loop's images/s on every backbone.
"""
from __future__ import annotations

import statistics

import pandas as pd
import torch
import torch.nn.functional as F

from bench.common import Size, interleaved, write
from lib import models, train
from lib.runs import torch_threads
from lib.timing import rate_stats

TARGET = 0.95


def _batches(sz: Size, num_classes: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(sz.overhead_batch, 3, sz.overhead_size, sz.overhead_size, generator=g),
             torch.randint(0, num_classes, (sz.overhead_batch,), generator=g)) for _ in range(sz.overhead_steps)]


def measure(name: str, sz: Size, num_classes: int = 10) -> dict:
    """Median images/s of both loops on backbone ``name`` and their ratio (book / bare)."""
    torch.manual_seed(0)
    model = models.build(name, num_classes=num_classes)
    batches = _batches(sz, num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    rt = train.Runtime(torch.device("cpu"), progress=False)
    scaler = torch.amp.GradScaler("cpu", enabled=False)

    def bare() -> None:
        model.train()
        for images, labels in batches:
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(images), labels).backward()
            optimizer.step()

    def book() -> None:
        train.train_one_epoch(model, batches, optimizer, scaler, rt, "bench")

    images, labels = batches[0]   # warm-up: one full step (both loops share the model, optimiser state, kernels)
    model.train()
    F.cross_entropy(model(images), labels).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    seconds = interleaved({"bare": bare, "book": book}, sz.overhead_repeats, warmup=False)
    images = sz.overhead_batch * sz.overhead_steps
    bare_s, book_s = rate_stats(images, seconds["bare"]), rate_stats(images, seconds["book"])
    # Ratio per round (each round runs both loops back to back), so slow spells on a shared CPU cancel out.
    ratios = sorted(b / k for b, k in zip(seconds["bare"], seconds["book"]))
    return {"backbone": name, "image_size": sz.overhead_size, "batch": sz.overhead_batch,
            "steps_per_repeat": sz.overhead_steps, "repeats": sz.overhead_repeats,
            "bare_img_s": bare_s["per_s_median"], "book_img_s": book_s["per_s_median"],
            "ratio_median": statistics.median(ratios),
            "ratio_min": ratios[0], "ratio_max": ratios[-1], "target": TARGET}


def run(sz: Size, out_dir=None) -> pd.DataFrame:
    """Measure every backbone of ``sz``; write ``trainer_overhead.csv/.png``."""
    names = list(sz.backbones or models.names())
    with torch_threads(1):
        table = pd.DataFrame([measure(name, sz) for name in names])
        table["meets_target"] = table["ratio_median"] >= TARGET
        return write("trainer_overhead", table, figure, out_dir)


def figure(table: pd.DataFrame):
    """Ratio (book / bare) per backbone, median with min-max whiskers, and the 0.95 target line."""
    import matplotlib.pyplot as plt
    import numpy as np

    from bench.common import machine_label
    from book import present

    fig, ax = plt.subplots(figsize=(7, 0.3 * len(table) + 1.2))
    med = table["ratio_median"].to_numpy()
    err = np.vstack([med - table["ratio_min"].to_numpy(), table["ratio_max"].to_numpy() - med])
    names = [present.backbone_name(b) for b in table["backbone"]]
    for y, (name, m, e) in enumerate(zip(names, med, err.T)):   # each backbone in its colour, the book's palette
        ax.errorbar([m], [y], xerr=e.reshape(2, 1), fmt="o", color=present.colour(name), capsize=3)
    ax.set_yticks(range(len(names)), names)
    ax.axvline(TARGET, color="#c0392b", ls="--", lw=1, label=f"target {TARGET}")
    ax.axvline(1.0, color="#999999", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel(f"book trainer / bare loop, images/s (training step, {table['image_size'].iloc[0]}×"
                  f"{table['image_size'].iloc[0]}, batch {table['batch'].iloc[0]})")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(machine_label(table), fontsize=8)
    return fig
