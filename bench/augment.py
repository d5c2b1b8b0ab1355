"""Benchmark 1b, the augmentation: ms per image of TrivialAugmentWide, torchvision's kernels against the book's.

With the decode gone (the cache), TrivialAugmentWide is most of what a loader worker does per training image.
``lib.data.augment.TrivialAugmentWide`` draws exactly as ``torchvision.transforms.v2.TrivialAugmentWide`` and returns
the same pixels, with faster uint8 kernels. Here both run on the same images at the pipeline's input size, one
thread (as in a DataLoader worker), op by op over every magnitude bin and sign, interleaved; every output pair is
compared, so the table says whether the pixels were identical in this run, not only how fast each side was.
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd
import torch
from torchvision.transforms import v2

from bench.common import Size, write
from lib.runs import torch_threads
from lib.data.augment import TrivialAugmentWide, reference

ALL = "all ops, as drawn"


def _images(sz: Size, count: int, seed: int = 0) -> list[torch.Tensor]:
    """Smooth random colour fields plus noise (photograph-like statistics), uint8 ``3 x side x side``."""
    g = torch.Generator().manual_seed(seed)
    side = sz.pipeline_size
    out = []
    for _ in range(count):
        coarse = torch.randint(0, 256, (1, 3, 6, 8), generator=g).float()
        smooth = torch.nn.functional.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False)[0]
        out.append((smooth + torch.randint(-24, 25, (3, side, side), generator=g)).clamp(0, 255).to(torch.uint8))
    return out


def _ms_per_call(fn, calls: list) -> float:
    start = time.perf_counter()
    for args in calls:
        fn(*args)
    return (time.perf_counter() - start) / len(calls) * 1e3


def measure(sz: Size) -> pd.DataFrame:
    """One row per op (every magnitude and sign, on every image) and one for the whole transform as drawn."""
    fast = TrivialAugmentWide()
    images = _images(sz, sz.augment_images)
    side = sz.pipeline_size
    rows = []
    for name in fast.names:
        calls = [(image, name, m) for image in images for _, m in fast.every_draw([name])]
        identical = all(torch.equal(fast.apply(*c), reference(*c)) for c in calls)   # also warms the maps
        times = {"torchvision": [], "book": []}
        for round_ in range(sz.augment_repeats):
            order = [("torchvision", reference), ("book", fast.apply)]
            for label, fn in (order if round_ % 2 == 0 else order[::-1]):
                times[label].append(_ms_per_call(fn, calls))
        rows.append({"op": name, "calls": len(calls), "identical": identical, **_stats(times)})
    # The whole transform: the same seed, so both draw the same op and magnitude for every image.
    torchvisions = v2.TrivialAugmentWide()
    stream = [images[i % len(images)] for i in range(sz.augment_images * 14)]
    torch.manual_seed(0)
    ours = [fast(x) for x in stream]
    torch.manual_seed(0)
    identical = all(torch.equal(a, torchvisions(x)) for a, x in zip(ours, stream))
    times = {"torchvision": [], "book": []}
    for round_ in range(sz.augment_repeats):
        order = [("torchvision", torchvisions), ("book", fast)]
        for label, fn in (order if round_ % 2 == 0 else order[::-1]):
            torch.manual_seed(round_)
            times[label].append(_ms_per_call(fn, [(x,) for x in stream]))
    rows.append({"op": ALL, "calls": len(stream), "identical": identical, **_stats(times)})
    table = pd.DataFrame(rows)
    table.insert(1, "image_size", side)
    return table


def _stats(times: dict[str, list[float]]) -> dict:
    tv, book = times["torchvision"], times["book"]
    ratios = [t / b for t, b in zip(tv, book)]   # per round: a slow spell of the machine hits both sides
    return {"torchvision_ms": statistics.median(tv), "book_ms": statistics.median(book),
            "book_ms_min": min(book), "book_ms_max": max(book), "speedup": statistics.median(ratios),
            "repeats": len(tv)}


def run(sz: Size, out_dir=None) -> pd.DataFrame:
    """Measure; write ``augment.csv/.png``."""
    with torch_threads(1):
        return write("augment", measure(sz), figure, out_dir)


def figure(table: pd.DataFrame):
    """ms per image, torchvision's and the book's, per op and for the whole transform."""
    import matplotlib.pyplot as plt

    from bench.common import machine_label

    fig, ax = plt.subplots(figsize=(7, 0.32 * len(table) + 1.2))
    y = np.arange(len(table))
    ax.barh(y - 0.2, table["torchvision_ms"], height=0.4, color="#999999", label="torchvision v2 kernels")
    ax.barh(y + 0.2, table["book_ms"], height=0.4, color="#1f5fa8", label="book (lib.data.augment), same pixels")
    for i, r in enumerate(table.itertuples()):
        ax.text(max(r.torchvision_ms, r.book_ms), i, f"  {r.speedup:.1f}x" + ("" if r.identical else " DIFFERENT"),
                va="center", fontsize=8)
    ax.set_yticks(y, [f"{op} " if op != ALL else f"TrivialAugmentWide ({op})" for op in table["op"]])
    ax.invert_yaxis()
    ax.set_xlim(0, table["torchvision_ms"].max() * 1.25)
    side = table["image_size"].iloc[0]
    ax.set_xlabel(f"ms per {side}x{side} uint8 image, one thread (median of {table['repeats'].iloc[0]} rounds)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(machine_label(table), fontsize=8)
    return fig
