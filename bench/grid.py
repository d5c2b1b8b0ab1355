"""Benchmark 4, the cost of the paper's grid: GPU-hours projected from measured FLOPs, against the paper's 1,500.

Measured here: FLOPs of one training step (forward + cross-entropy + backward) and of one forward pass, per image,
for every backbone at every input size of the grid, counted by PyTorch's ``FlopCounterMode`` on the meta device
(2 FLOPs per multiply-add, matrix products and convolutions only, so element-wise work is not counted).
From the paper: the grid (11 backbones x 20 datasets at 100 %, plus the low-data runs of Tables 7-8), best of 3
runs, Table 3's image counts, test evaluation every epoch (the authors' code selects on test).
Assumed, and shown as such: how many epochs early stopping takes (patience 10 per phase means at least 21), and what
share of the A100's peak the training reaches. ``python -m bench.gpu`` on a CUDA machine replaces the second
assumption by a measured training-step throughput (``results/bench/gpu_step.csv``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from bench.common import RESULTS_DIR, Size, write
from lib import data, models, paper, profiles

PAPER_GPU_HOURS = 1500.0
"""The paper (later version, 'Computation Cost and Carbon Footprint'): 'The experiments in this paper took a
cumulative 1500 GPU hours on NVIDIA RTX A100 cards.'"""


@dataclass(frozen=True)
class Assumptions:
    """What the projection assumes; every value is printed beside the result."""

    gpu: str = "NVIDIA A100 80GB"
    peak_tflops: float = 156.0          # A100 dense TF32 tensor-core peak (NVIDIA datasheet): the authors' forward
                                        # pass runs in fp32 (autocast wraps only the loss), which cuDNN runs as TF32
    utilisation: float = 0.3            # share of that peak a training step reaches (assumed)
    epochs: int = 40                    # epochs per run, AdamW + SGD (assumed; the minimum is 2 x patience + 1)
    epochs_low: int = 21                # patience 10 per phase: best at epoch 1, 10 more, then 10 SGD epochs
    epochs_high: int = 60
    seeds: int = 3                      # "best of three runs"
    utilisation_range: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)


def _conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                        _output_padding, _groups, output_mask, out_shape=None, **kwargs) -> int:
    """FLOPs of a convolution's backward: the input gradient and the weight gradient each cost one forward pass.

    PyTorch's own formula (torch 2.x ``conv_backward_flop``) ignores ``groups`` for the weight gradient and counts a
    depthwise conv's as ``groups`` forward passes (64x too many for 64 channels), which would make ShuffleNet's
    training step look 6x its forward; ``tests/test_bench.py`` checks this replacement on grouped convs.
    """
    from torch.utils.flop_counter import conv_flop_count

    return (int(bool(output_mask[0])) + int(bool(output_mask[1]))) * conv_flop_count(
        x_shape, w_shape, grad_out_shape, transposed=transposed)


def flop_counter() -> FlopCounterMode:
    """PyTorch's FLOP counter with the grouped-convolution backward counted correctly."""
    return FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: _conv_backward_flop})


def training_flops(model: torch.nn.Module, size: tuple[int, int]) -> tuple[float, float]:
    """(training-step FLOPs, forward FLOPs) for one image of ``size`` = (H, W), counted on ``model``'s device."""
    device = next(model.parameters()).device
    x = torch.zeros(1, 3, *size, device=device)
    y = torch.zeros(1, dtype=torch.long, device=device)
    model.train()
    counter = flop_counter()
    with counter:
        F.cross_entropy(model(x), y).backward()
    train = counter.get_total_flops()
    model.eval()
    counter = flop_counter()
    with torch.no_grad(), counter:
        model(x)
    return float(train), float(counter.get_total_flops())


def grid_runs(backbones: list[str] | None = None, datasets: list[str] | None = None) -> pd.DataFrame:
    """One row per (backbone, dataset, fraction) of the paper's grid, with images per epoch and FLOPs per image."""
    from book.architecture import meta_backbone

    names = backbones or models.names()
    datasets = datasets or list(profiles.get("paper").datasets)
    t3 = paper.table3().set_index("dataset")
    low = paper.low_data()[["dataset", "fraction"]].drop_duplicates()
    low = low[low["fraction"] < 1.0]   # the 100 % columns of Tables 7-8 are the full-data runs counted above
    cells = [(d, 1.0) for d in datasets] + [(d, f) for d, f in low.itertuples(index=False) if d in datasets]
    sizes = sorted({tuple(data.spec(d).image_size) for d in datasets})
    flops = {}
    for name in names:
        for size in sizes:
            flops[name, size] = training_flops(meta_backbone(name), size)
    rows = []
    for name in names:
        for dataset, fraction in cells:
            size = tuple(data.spec(dataset).image_size)
            train_f, fwd_f = flops[name, size]
            n_train = math.floor(int(t3.loc[dataset, "train_images"]) * fraction)
            n_test = int(t3.loc[dataset, "test_images"])
            rows.append({"backbone": name, "dataset": dataset, "fraction": fraction,
                         "image_size": f"{size[0]}x{size[1]}", "train_images": n_train, "test_images": n_test,
                         "train_gflops_per_image": train_f / 1e9, "forward_gflops_per_image": fwd_f / 1e9,
                         "pflop_per_epoch": (n_train * train_f + n_test * fwd_f) / 1e15})
    return pd.DataFrame(rows)


def project(runs: pd.DataFrame, a: Assumptions, pipeline_img_s: float | None = None,
            gpu: pd.DataFrame | None = None) -> pd.DataFrame:
    """GPU-hours of the whole grid under ``a``: from FLOPs at each utilisation, the utilisation the paper's 1,500
    hours imply, the input-bound time of the authors' loader (``pipeline_img_s``), and from a measured GPU step."""
    rows = [{"source": "paper", "method": "as stated", "epochs": None, "utilisation": None,
             "gpu_hours": PAPER_GPU_HOURS, "note": f"paper: cumulative GPU hours on {a.gpu.split(' 80')[0]} cards"}]
    pflop_epoch = runs["pflop_per_epoch"].sum() * a.seeds
    for epochs in (a.epochs_low, a.epochs, a.epochs_high):
        total = pflop_epoch * epochs * 1e15
        for u in sorted(set(a.utilisation_range) | {a.utilisation}):
            rows.append({"source": "ours (projection)", "method": "FLOPs / (utilisation x peak)", "epochs": epochs,
                         "utilisation": u, "gpu_hours": total / (a.peak_tflops * 1e12 * u) / 3600,
                         "note": f"{a.peak_tflops:g} TFLOPS peak ({a.gpu}, TF32)"})
        rows.append({"source": "ours (projection)", "method": "utilisation implied by the paper's hours",
                     "epochs": epochs, "utilisation": total / (a.peak_tflops * 1e12 * PAPER_GPU_HOURS * 3600),
                     "gpu_hours": PAPER_GPU_HOURS, "note": "utilisation at which the FLOPs take 1,500 hours"})
        images = (runs["train_images"] + runs["test_images"]).sum() * a.seeds * epochs
        if pipeline_img_s:
            rows.append({"source": "ours (projection)", "method": "input-bound: authors' loader at the rate measured here",
                         "epochs": epochs, "utilisation": None, "gpu_hours": images / pipeline_img_s / 3600,
                         "note": f"{pipeline_img_s:.0f} img/s (2 workers, decode every epoch, this machine's CPU)"})
        if gpu is not None and len(gpu):
            rate = gpu.set_index(["backbone", "image_size"])
            missing = {(b, s) for b, s in runs[["backbone", "image_size"]].itertuples(index=False)} - set(rate.index)
            if not missing:
                hours = sum((r.train_images / rate.loc[(r.backbone, r.image_size), "train_img_s"]
                             + r.test_images / rate.loc[(r.backbone, r.image_size), "eval_img_s"])
                            for r in runs.itertuples()) * a.seeds * epochs / 3600
                rows.append({"source": "ours (projection)", "method": "measured GPU step (python -m bench.gpu)",
                             "epochs": epochs, "utilisation": None, "gpu_hours": hours,
                             "note": f"book's fast path measured on {gpu['device'].iloc[0]}"})
    table = pd.DataFrame(rows)
    for key, value in asdict(a).items():
        if not isinstance(value, tuple):
            table[f"assumed_{key}"] = value
    table["grid_runs"] = len(runs) * a.seeds
    return table


def run(sz: Size, out_dir=None) -> pd.DataFrame:
    """FLOPs for ``sz``'s backbones over the paper's 20 datasets; write ``grid_runs.csv`` and ``grid_cost.csv/.png``."""
    out = Path(out_dir or RESULTS_DIR)
    runs = grid_runs(list(sz.backbones) if sz.backbones else None)
    pipeline_csv, gpu_csv = out / "input_pipeline.csv", out / "gpu_step.csv"
    rate = None
    if pipeline_csv.exists():
        p = pd.read_csv(pipeline_csv).set_index("pipeline")
        rate = float(p.loc["authors", "img_s_median"]) if "authors" in p.index else None
    gpu = pd.read_csv(gpu_csv) if gpu_csv.exists() else None
    write("grid_runs", runs, lambda t: _empty_figure(), out_dir)
    (out / "grid_runs.png").unlink(missing_ok=True)
    return write("grid_cost", project(runs, Assumptions(), rate, gpu), figure, out_dir)


def _empty_figure():
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(1, 1))


def figure(table: pd.DataFrame):
    """GPU-hours of the grid against the assumed utilisation, one line per epoch assumption, the paper's 1,500 h."""
    import matplotlib.pyplot as plt

    from bench.common import machine_label

    fig, ax = plt.subplots(figsize=(7, 3.6))
    flops = table[table["method"] == "FLOPs / (utilisation x peak)"]
    for (epochs, part), colour in zip(flops.groupby("epochs"), ["#7fa7d1", "#1f5fa8", "#0b2e59"]):
        ax.plot(part["utilisation"] * 100, part["gpu_hours"], "o-", color=colour, ms=3,
                label=f"ours (projection), {int(epochs)} epochs per run")
    inputs = table[table["method"].str.startswith("input-bound")]
    for r, colour in zip(inputs.itertuples(), ["#7fa7d1", "#1f5fa8", "#0b2e59"]):
        ax.axhline(r.gpu_hours, color=colour, lw=0.9, ls="-.")
    if len(inputs):
        ax.plot([], [], color="#555555", ls="-.", label="ours, input-bound: authors' loader at this CPU's rate")
    measured = table[table["method"].str.startswith("measured GPU")]
    for r in measured.itertuples():
        ax.axhline(r.gpu_hours, color="#2e8b57", lw=0.8, ls=":")
    if len(measured):
        ax.plot([], [], color="#2e8b57", ls=":", label="ours, measured GPU step (per epoch assumption)")
    ax.axhline(PAPER_GPU_HOURS, color="#c0392b", ls="--", lw=1.2, label="paper: 1,500 A100 GPU-hours")
    ax.set_yscale("log")
    ax.set_xlabel(f"assumed utilisation, % of {table['assumed_peak_tflops'].iloc[0]:g} TFLOPS (A100 TF32 peak)")
    ax.set_ylabel("GPU-hours, whole grid")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{int(table['grid_runs'].iloc[0])} runs; FLOPs counted by FlopCounterMode; "
                 f"{machine_label(table)}", fontsize=7)
    return fig
