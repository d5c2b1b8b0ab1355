"""Benchmark 3, step cost per backbone: forward and training-step images/s for all eleven backbones.

At the workshop input side (32) and the paper's (256), for three variants measured side by side on the same model
and batch: fp32 in the default (contiguous) memory format, fp32 in ``channels_last``, and bf16 autocast where the
CPU has native bf16 (AVX512-BF16 / AMX). A training step is AdamW on cross-entropy, as in DualOpt's first phase;
a forward pass runs in eval mode under ``torch.inference_mode``, as the book's ``evaluate`` does.
"""
from __future__ import annotations

import contextlib

import pandas as pd
import torch
import torch.nn.functional as F

from bench.common import Size, interleaved, write
from lib import models
from lib.runs import torch_threads
from lib.timing import rate_stats


def cpu_has_bf16() -> bool:
    """True when the CPU says it has native bf16 instructions (Linux's /proc/cpuinfo flags avx512_bf16 or amx_bf16);
    elsewhere bf16 autocast is emulated and slow, and not measured."""
    from pathlib import Path

    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


VARIANTS = {  # name: (memory format, autocast dtype)
    "fp32": (torch.contiguous_format, None),
    "fp32_channels_last": (torch.channels_last, None),
    "bf16_autocast": (torch.contiguous_format, torch.bfloat16),
}


def measure(name: str, image_size: int, batch: int, repeats: int, variants: dict) -> list[dict]:
    """Forward and training-step images/s of backbone ``name`` for every variant, interleaved."""
    torch.manual_seed(0)
    model = models.build(name, num_classes=10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 3, image_size, image_size)
    y = torch.randint(0, 10, (batch,))

    def step_fn(memory_format, dtype, training: bool):
        images = x.contiguous(memory_format=memory_format)
        autocast = (lambda: torch.autocast("cpu", dtype=dtype)) if dtype else contextlib.nullcontext

        def step() -> None:
            model.to(memory_format=memory_format)   # a no-op when already in that format
            if training:
                model.train()
                with autocast():
                    loss = F.cross_entropy(model(images), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            else:
                model.eval()
                with torch.inference_mode(), autocast():
                    model(images)
        return step

    rows = []
    for kind, training in (("forward", False), ("train_step", True)):
        fns = {v: step_fn(*variants[v], training) for v in variants}
        seconds = interleaved(fns, repeats)
        base = rate_stats(batch, seconds["fp32"])["per_s_median"]
        for v, secs in seconds.items():
            stats = rate_stats(batch, secs)
            rows.append({"backbone": name, "image_size": image_size, "batch": batch, "kind": kind, "variant": v,
                         "img_s_median": stats["per_s_median"], "img_s_min": stats["per_s_min"],
                         "img_s_max": stats["per_s_max"], "repeats": stats["repeats"],
                         "speedup_vs_fp32": stats["per_s_median"] / base})
    return rows


def run(sz: Size, out_dir=None) -> pd.DataFrame:
    """Every backbone of ``sz`` at every ``sz.step_sizes``; write ``step_cost.csv/.png``."""
    variants = {k: v for k, v in VARIANTS.items() if k != "bf16_autocast" or cpu_has_bf16()}
    names = list(sz.backbones or models.names())
    rows = []
    with torch_threads(1):
        for image_size, batch in zip(sz.step_sizes, sz.step_batches):
            for name in names:
                rows += measure(name, image_size, batch, sz.step_repeats, variants)
        return write("step_cost", pd.DataFrame(rows), figure, out_dir)


VARIANT_NAMES = {"fp32": "fp32", "fp32_channels_last": "fp32 channels_last", "bf16_autocast": "bf16 autocast"}


def speedup_table(table: pd.DataFrame) -> pd.DataFrame:
    """The median over the backbones of each variant's images/s over fp32's, one row per input side and kind of
    step, one column per measured variant other than fp32 (a reader's table: no index, words for the kinds)."""
    medians = table.pivot_table(index=["image_size", "kind"], columns="variant", values="speedup_vs_fp32",
                                aggfunc="median")
    shown = [v for v in VARIANTS if v != "fp32" and v in medians.columns]
    out = medians[shown].reset_index().rename(columns={v: f"{VARIANT_NAMES[v]} / fp32" for v in shown})
    out.columns.name = None
    out["image_size"] = [f"{s}×{s}" for s in out["image_size"]]
    out["kind"] = out["kind"].map({"forward": "forward", "train_step": "training step"})
    return out.rename(columns={"image_size": "input side", "kind": "step"})


def variants_text(table: pd.DataFrame) -> str:
    """Which of :data:`VARIANTS` the table holds, and which it lacks and why, in one Markdown sentence."""
    held = [f"`{VARIANT_NAMES[v]}`" for v in VARIANTS if v in set(table["variant"])]
    missing = [v for v in VARIANTS if v not in set(table["variant"])]
    text = f"The committed measurements hold {' and '.join(held)}"
    if not missing:
        return text + ": every variant"
    text += f"; {' and '.join(VARIANT_NAMES[v] for v in missing)} {'was' if len(missing) == 1 else 'were'} not measured"
    if "bf16_autocast" in missing:
        cpu = str(table["machine"].iloc[0]).removeprefix("CPU: ").split(" (")[0]
        capability = table["cpu_capability"].iloc[0] if "cpu_capability" in table else "unknown"
        text += (f", because the CPU they ran on, an {cpu} with {capability} kernels, has no native bf16 instructions "
                 f"(`avx512_bf16` or `amx_bf16`), and timing emulated bf16 would measure the emulation")
    return text


def figure(table: pd.DataFrame):
    """Training-step images/s per backbone, one panel per input side: fp32 as a solid bar in the backbone's colour
    (the book's palette), each other measured variant as a hatched bar beside it."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.ticker import NullFormatter

    from bench.common import machine_label
    from book import present

    sizes = sorted(table["image_size"].unique())
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 0.32 * table["backbone"].nunique() + 1.9),
                             sharey=True, squeeze=False)
    steps = table[table["kind"] == "train_step"]
    styles = {"fp32": {"alpha": 1.0, "hatch": None}, "fp32_channels_last": {"alpha": 0.45, "hatch": "///"},
              "bf16_autocast": {"alpha": 0.45, "hatch": "..."}}
    order = None   # the first panel's order (slowest at the bottom), kept in every panel: they share the y axis
    for ax, side in zip(axes[0], sizes):
        part = steps[steps["image_size"] == side].pivot(index="backbone", columns="variant", values="img_s_median")
        order = list(part.sort_values("fp32").index) if order is None else order
        part = part.reindex(order)
        variants = [v for v in VARIANTS if v in part.columns]
        height = 0.8 / len(variants)
        colours = [present.colour(b) for b in part.index]
        for i, variant in enumerate(variants):
            ax.barh([k + i * height for k in range(len(part))], part[variant], height=height, color=colours,
                    edgecolor="#333333", linewidth=0.3, **styles.get(variant, {}))
        ax.set_yticks([k + 0.4 - height / 2 for k in range(len(part))],
                      [present.backbone_name(b) for b in part.index])
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())   # major ticks only: minor labels collide
        batch = steps[steps["image_size"] == side]["batch"].iloc[0]
        ax.set_xlabel(f"training-step images/s at {side}×{side}, batch {batch} (log scale)")
    handles = [Patch(facecolor="#999999", edgecolor="#333333", label=VARIANT_NAMES[v], **styles[v])
               for v in VARIANTS if v in set(steps["variant"])]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="lower right")
    fig.suptitle(machine_label(table), fontsize=8)
    fig.tight_layout()
    return fig
