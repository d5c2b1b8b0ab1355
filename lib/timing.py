"""Timing: the one way the book measures how fast something runs (a training step, a forward pass, a loader epoch).

``seconds`` times calls of a function on the wall clock, synchronising a GPU before and after so that queued work is
counted; ``rate_stats`` turns repeated timings into items per second (the median, min and max over the repeats);
``step_rate`` does both after untimed warm-up calls. ``book.architecture``, ``yourdata`` and ``bench/`` all use
these, so "images/s" means the same thing everywhere in the book.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def synchronize(device: str | torch.device | None) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def seconds(fn: Callable[[], object], calls: int = 1, device: str | torch.device | None = None) -> float:
    """Wall-clock seconds of ``calls`` calls of ``fn``, the device synchronised before and after."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    synchronize(device)
    return time.perf_counter() - start


def rate_stats(items: int, timings: list[float]) -> dict:
    """``items`` per second over repeated timings: the median, min and max, and the number of repeats."""
    rates = [items / s for s in timings]
    return {"per_s_median": statistics.median(rates), "per_s_min": min(rates), "per_s_max": max(rates),
            "repeats": len(rates)}


def step_rate(fn: Callable[[], object], items: int, warmup: int = 1, calls: int = 1, repeats: int = 3,
              device: str | torch.device | None = None) -> dict:
    """:func:`rate_stats` of ``fn`` (``items`` per call) over ``repeats`` timings of ``calls`` calls each, after
    ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    return rate_stats(items * calls, [seconds(fn, calls, device) for _ in range(repeats)])
