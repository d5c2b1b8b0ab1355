"""Where and with what a result was computed: versions, device, git commit, time.

Every run record and every chapter's provenance box is built from :func:`environment`.
"""
from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from pathlib import Path

from lib import paths



def git_commit(root: Path = paths.ROOT) -> str:
    """The checked-out commit, with ``-dirty`` appended when tracked files have uncommitted changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def device_name(device: str | None = None) -> str:
    """A human-readable name for the device a computation runs on (GPU model, or the CPU)."""
    import torch

    if device is None:
        from lib.device import resolve_device

        device = str(resolve_device("auto"))
    if str(device).startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    if str(device).startswith("mps"):
        return f"Apple MPS GPU ({platform.machine()}, macOS {platform.mac_ver()[0] or 'unknown'})"
    cpu = platform.processor() or platform.machine()
    try:  # /proc/cpuinfo has the marketing name on Linux
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"CPU: {cpu} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def now() -> str:
    """The current UTC time, ISO 8601, seconds precision."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def environment(device: str | None = None) -> dict:
    """Versions, device and commit, as stored in every run record and shown in every chapter."""
    import torch
    import torchvision

    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "device": device_name(device),
        "git_commit": git_commit(),
        "hostname": platform.node(),
    }
