"""Measure real training-step throughput on a CUDA GPU for every backbone: ``python -m bench.gpu``.

The book's fast path on the GPU: AMP (fp16 autocast over forward and loss, GradScaler on the backward), channels_last,
optionally ``torch.compile``; warm-up steps first, and ``torch.cuda.synchronize()`` around every timing. It measures
every input size of the paper's grid (256x256, BreakHis 448x672) and writes ``results/bench/gpu_step.csv``, which
``python -m bench`` (grid cost) then uses in place of its assumed utilisation. Without CUDA it stops with one line.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from bench.common import RESULTS_DIR, write
from lib import data, models, profiles
from lib.errors import BookError, ConfigError, one_line
from lib.timing import step_rate


@dataclass(frozen=True)
class GpuPlan:
    """What to measure: backbones, input sizes (H, W), batch, warm-up and timed steps, repeats, precision."""

    backbones: tuple[str, ...]
    sizes: tuple[tuple[int, int], ...]
    batch_size: int = 64
    warmup: int = 5
    steps: int = 20
    repeats: int = 3
    amp: bool = True
    channels_last: bool = True
    compile: bool = False


def grid_sizes() -> tuple[tuple[int, int], ...]:
    """Every distinct input size of the paper's grid (the paper profile's datasets)."""
    return tuple(sorted({tuple(data.spec(d).image_size) for d in profiles.get("paper").datasets}))


def require_cuda() -> torch.device:
    """The CUDA device, or a ConfigError saying that this command needs one."""
    if not torch.cuda.is_available():
        raise ConfigError("python -m bench.gpu needs a CUDA GPU but torch sees none (torch.cuda.is_available() is "
                          "False): run it on a machine with an NVIDIA GPU and a CUDA build of torch")
    return torch.device("cuda")


def _step_fns(model, x, y, optimizer, scaler, amp: bool):
    def train_step() -> None:
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def eval_step() -> None:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            model(x)
    return train_step, eval_step


def measure(name: str, size: tuple[int, int], plan: GpuPlan, device: torch.device) -> dict:
    """Training-step and eval images/s of backbone ``name`` at ``size`` under ``plan``."""
    fmt = torch.channels_last if plan.channels_last else torch.contiguous_format
    model = models.build(name, num_classes=100).to(device, memory_format=fmt)
    if plan.compile:
        model = torch.compile(model)
    x = torch.randn(plan.batch_size, 3, *size, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 100, (plan.batch_size,), device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    scaler = torch.amp.GradScaler("cuda", enabled=plan.amp)
    train_step, eval_step = _step_fns(model, x, y, optimizer, scaler, plan.amp)
    model.train()
    train = step_rate(train_step, plan.batch_size, plan.warmup, plan.steps, plan.repeats, device)
    model.eval()
    evals = step_rate(eval_step, plan.batch_size, plan.warmup, plan.steps, plan.repeats, device)
    peak = torch.cuda.max_memory_allocated(device) / 2**30
    torch.cuda.reset_peak_memory_stats(device)
    return {"backbone": name, "image_size": f"{size[0]}x{size[1]}", "batch": plan.batch_size,
            "train_img_s": train["per_s_median"], "train_img_s_min": train["per_s_min"], "train_img_s_max": train["per_s_max"],
            "eval_img_s": evals["per_s_median"], "eval_img_s_min": evals["per_s_min"], "eval_img_s_max": evals["per_s_max"],
            "amp": "fp16" if plan.amp else "off", "channels_last": plan.channels_last, "compile": plan.compile,
            "peak_memory_gib": peak, "device": torch.cuda.get_device_name(device),
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}


def figure(table: pd.DataFrame):
    """Training-step images/s per backbone and input size on the GPU."""
    import matplotlib.pyplot as plt

    pivot = table.pivot(index="backbone", columns="image_size", values="train_img_s").sort_values(
        table["image_size"].iloc[0])
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(pivot) + 1.2))
    pivot.plot.barh(ax=ax)
    ax.set_xlabel(f"training-step images/s (AMP {table['amp'].iloc[0]}, channels_last "
                  f"{table['channels_last'].iloc[0]}, compile {table['compile'].iloc[0]}, batch {table['batch'].iloc[0]})")
    ax.set_title(f"measured on {table['device'].iloc[0]}, torch {torch.__version__}", fontsize=8)
    return fig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.splitlines()[0])
    p.add_argument("--backbones", default="all", help="comma-separated names, or all (default)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--compile", action="store_true", help="torch.compile each model first (slow start)")
    p.add_argument("--no-amp", action="store_true", help="fp32 instead of fp16 autocast")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    try:
        names = models.names() if args.backbones == "all" else [b for b in args.backbones.split(",") if b]
        for name in names:
            models.spec(name)
        if args.batch_size < 1 or args.steps < 1 or args.repeats < 1:
            raise ConfigError(f"--batch-size {args.batch_size}, --steps {args.steps}, --repeats {args.repeats}: "
                              f"all must be positive integers")
        device = require_cuda()
        torch.backends.cudnn.benchmark = True
        plan = GpuPlan(tuple(names), grid_sizes(), args.batch_size, steps=args.steps, repeats=args.repeats,
                       amp=not args.no_amp, compile=args.compile)
        rows = []
        for size in plan.sizes:
            for name in plan.backbones:
                rows.append(measure(name, size, plan, device))
                print(f"{name} {size[0]}x{size[1]}: {rows[-1]['train_img_s']:.0f} train img/s, "
                      f"{rows[-1]['eval_img_s']:.0f} eval img/s")
    except BookError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    write("gpu_step", pd.DataFrame(rows), figure, args.out)
    print(f"wrote {args.out / 'gpu_step.csv'}; python -m bench now projects the grid from it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
