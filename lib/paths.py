"""Where the book's files live, each folder named once, and the environment variables that move them.

Committed: ``results/`` (the run records, the paper's transcribed tables, measured benchmarks and timings).
Git-ignored: ``checkpoints/``, ``data/`` (``$WB_DATA``), ``_build/``. Outside the repository: the decoded-image
cache (``$WB_CACHE``, else the platform's cache folder). Standard library only: ``python -m lib.setup`` imports it
before the virtual environment exists.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent   # the repository

RESULTS = ROOT / "results"
RECORDS = RESULTS / "runs"               # the run records (one JSON file per run), unless $WB_RUNS moves them
PAPER = RESULTS / "paper"                # the paper's tables and sentences, transcribed, and other studies' figures
BENCH = RESULTS / "bench"                # measured benchmarks (make bench)
TIMINGS = RESULTS / "book" / "timings.csv"   # each chapter's measured time to run (make timings)
DEMO = RESULTS / "demo"                  # chapter 7's committed demo search, per profile
DIAGNOSIS = RESULTS / "diagnosis"        # chapter 3's diagnosis of the old workshop budget

CHECKPOINTS = ROOT / "checkpoints"       # per-run checkpoints, resumable
SCRATCH_RECORDS = CHECKPOINTS / "scratch-runs"   # the ci profile's records: smoke runs, never committed
YOURDATA = CHECKPOINTS / "yourdata"      # python -m yourdata's default output folder
BUILD = ROOT / "_build"                  # make book's output

RECORDS_ENV = "WB_RUNS"    # moves the records folder (a rehearsal, a shared disk)
DATA_ENV = "WB_DATA"       # moves the data root
CACHE_ENV = "WB_CACHE"     # moves the decoded-image cache
MOVABLE = (CACHE_ENV, DATA_ENV, "TORCH_HOME")   # forwarded to a grid's worker processes


def records() -> Path:
    """The run records' folder: ``$WB_RUNS`` when set, else ``results/runs`` (committed)."""
    moved = os.environ.get(RECORDS_ENV)
    return Path(moved).expanduser() if moved else RECORDS


def demo(profile: str) -> Path:
    """Where chapter 7's demo search keeps its records under ``profile`` (``results/demo/<profile>``)."""
    return DEMO / profile


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds one sub-folder per dataset: ``root``, else ``$WB_DATA``, else ``<repo>/data``."""
    if root is not None:
        return Path(root).expanduser()
    return Path(os.environ.get(DATA_ENV) or ROOT / "data").expanduser()


def cache() -> Path:
    """The decoded-image cache: ``$WB_CACHE`` when set, else the platform's cache folder, outside the repository
    (the paper's twenty datasets at its sizes take about 113 GB): ``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux,
    ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows, each with a ``which-backbone`` folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "which-backbone"


def relative(path: str | os.PathLike) -> str:
    """``path`` relative to the repository when it lies inside it (as a reader would type it), else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)
