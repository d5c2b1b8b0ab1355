"""What every benchmark shares: the machine it ran on, side-by-side repeated timing, and where results go.

Absolute times on a shared CPU are noisy, so every benchmark times its variants *interleaved* (A, B, B, A,
...) and reports the median and the spread (min, max) of each variant over the repeats, and ratios of medians.
Every CSV carries the machine (CPU model, cores,
torch version, load) on every row, so a figure made from it can say where it was measured.
"""
from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from lib.errors import ConfigError
from lib import paths, profiles
from lib.data import sources
from lib.provenance import device_name, git_commit, now
from lib.timing import seconds

RESULTS_DIR = paths.BENCH


@dataclass(frozen=True)
class Size:
    """How big each benchmark is: ``tiny`` proves that everything runs (tests), ``default`` measures."""

    name: str
    pipeline_images: int          # JPEG files generated for the input-pipeline benchmark
    pipeline_source: tuple[int, int]   # (H, W) of the generated JPEGs, before the resize to pipeline_size
    pipeline_size: int            # training input side (the paper: 256)
    pipeline_batch: int
    pipeline_workers: int         # the authors' loaders use 2 workers
    pipeline_repeats: int         # timed epochs per variant (after one untimed warm-up epoch)
    augment_images: int           # images each TrivialAugmentWide op is timed on (every magnitude and sign)
    augment_repeats: int          # interleaved rounds, torchvision's kernels against the book's
    backbones: tuple[str, ...] | None   # None = all eleven
    overhead_size: int            # trainer-overhead input side (the workshop profile's 32)
    overhead_batch: int
    overhead_steps: int           # steps per timed repeat
    overhead_repeats: int
    step_sizes: tuple[int, ...]   # step-cost input sides (workshop 32, paper 256)
    step_batches: tuple[int, ...] # batch per input side
    step_repeats: int             # timed repeats of one step per variant


_WORKSHOP = profiles.get("workshop").run   # the default sizes time the workshop's runs and the paper's

SIZES = {
    "tiny": Size("tiny", pipeline_images=48, pipeline_source=(80, 96), pipeline_size=64, pipeline_batch=8,
                 pipeline_workers=1, pipeline_repeats=2, augment_images=1, augment_repeats=2,
                 backbones=("shufflenet_v2_x2_0", "mobilenet_v3_large"),
                 overhead_size=32, overhead_batch=4, overhead_steps=2, overhead_repeats=2,
                 step_sizes=(32, 64), step_batches=(4, 2), step_repeats=2),
    "default": Size("default", pipeline_images=1000, pipeline_source=(375, 500), pipeline_size=256,
                    pipeline_batch=32, pipeline_workers=2, pipeline_repeats=5, augment_images=4, augment_repeats=5,
                    backbones=None,
                    overhead_size=_WORKSHOP.image_size[0], overhead_batch=_WORKSHOP.batch_size, overhead_steps=2,
                    overhead_repeats=7, step_sizes=(_WORKSHOP.image_size[0], sources.PAPER_SIZE[0]),
                    step_batches=(_WORKSHOP.batch_size, 2), step_repeats=2),
}


def size(name: str) -> Size:
    """The benchmark size called ``name`` (tiny or default)."""
    if name not in SIZES:
        raise ConfigError(f"benchmark size {name!r} is not known: choose one of {', '.join(SIZES)}")
    return SIZES[name]


@functools.lru_cache(maxsize=None)
def measured_commit() -> str:
    """The commit the benchmarks measure, read once, before anything is written: the CSVs they write are tracked
    files, so a read after the first write would call the measured tree dirty."""
    return git_commit()


def machine() -> dict:
    """The machine a measurement was taken on, as columns for every CSV row."""
    import torchvision

    return {"machine": device_name("cpu"), "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "python": platform.python_version(),
            "load_1min": round(os.getloadavg()[0], 2), "git_commit": measured_commit(), "measured_at": now()}


def interleaved(variants: dict[str, Callable[[], object]], repeats: int, warmup: bool = True
                ) -> dict[str, list[float]]:
    """Seconds of each variant over ``repeats`` rounds, run side by side after one warm-up; every other round runs
    the variants in reverse order (A, B, B, A, ...), so that going first or last in a round favours none."""
    if warmup:
        for fn in variants.values():
            seconds(fn)
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(repeats):
        order = list(variants.items())
        for name, fn in (order if round_ % 2 == 0 else order[::-1]):
            timings[name].append(seconds(fn))
    return timings


def write(name: str, table: pd.DataFrame, figure: Callable[[pd.DataFrame], object], out_dir: Path | None = None
          ) -> pd.DataFrame:
    """Write ``<out_dir>/<name>.csv`` (the machine added to every row) and ``<name>.png`` drawn by
    ``figure(table)``; return the table as written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir or RESULTS_DIR)
    out.mkdir(parents=True, exist_ok=True)
    table = table.assign(**{k: v for k, v in machine().items() if k not in table.columns})
    table.to_csv(out / f"{name}.csv", index=False)
    fig = figure(table)
    fig.savefig(out / f"{name}.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return table


def machine_text(table: pd.DataFrame) -> str:
    """'<machine>, torch <version>' from a benchmark CSV: the machine as prose names it ("measured on ...")."""
    row = table.iloc[0]
    return f"{row['machine']}, torch {row['torch']}"


def machine_label(table: pd.DataFrame) -> str:
    """'measured on <machine>, torch <version>' from a benchmark CSV, for figure titles."""
    return f"measured on {machine_text(table)}"


def readable_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """``targets.csv`` as a reader's table: backbone code ids in the target's wording become display names
    ("(lowest: resnet50)" -> "(lowest: ResNet-50)"), and the verdict is a word."""
    import re

    from lib import models
    from book import present

    ids = re.compile(r"\b(" + "|".join(map(re.escape, sorted(models.names(), key=len, reverse=True))) + r")\b")
    return targets.assign(target=targets["target"].map(lambda t: ids.sub(lambda m: present.backbone_name(m[1]), t)),
                          met=targets["met"].map(lambda m: "yes" if m else "no"))


REQUIRED = ("input_pipeline", "augment", "trainer_overhead", "step_cost", "grid_runs", "grid_cost", "targets")
OPTIONAL = ("gpu_step",)


def read_results(folder: Path | str = RESULTS_DIR) -> dict[str, pd.DataFrame]:
    """Every benchmark CSV in ``folder`` by name (``gpu_step`` only when ``python -m bench.gpu`` has run)."""
    from lib.errors import DataError

    folder = Path(folder)
    missing = [name for name in REQUIRED if not (folder / f"{name}.csv").exists()]
    if missing:
        raise DataError(f"{folder} has no {', '.join(m + '.csv' for m in missing)}: run make bench "
                        f"(python -m bench --out {folder}) first")
    return {name: pd.read_csv(folder / f"{name}.csv") for name in REQUIRED + OPTIONAL
            if (folder / f"{name}.csv").exists()}
