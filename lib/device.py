"""Which device a run uses, and what that device gets by default: CUDA, Apple's MPS, or the CPU.

``resolve_device("auto")`` picks CUDA, then MPS, then the CPU. Each kind of device has one row in ``KINDS``:
the autocast dtype that ``amp="auto"`` means there, and whether a profile's ``channels_last`` is honoured.
On MPS both stay off by default: the book cannot be tested on Apple silicon here, so it runs there in plain
float32 with contiguous tensors, the setting every MPS operator supports; an explicit ``amp="fp16"``/``"bf16"``
is still honoured on any device.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from lib.errors import ConfigError

AMP_CHOICES = ("auto", "off", "fp16", "bf16")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")

_AMP_DTYPES = {"off": None, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class DeviceKind:
    """What one kind of device gets by default."""

    auto_amp: torch.dtype | None   # the autocast dtype that amp="auto" means on this device (None = fp32)
    channels_last: bool            # whether a profile's channels_last=True is applied on this device


KINDS = {
    "cuda": DeviceKind(auto_amp=torch.float16, channels_last=True),
    "mps": DeviceKind(auto_amp=None, channels_last=False),
    "cpu": DeviceKind(auto_amp=None, channels_last=True),
}


def _mps_available() -> bool:
    return torch.backends.mps.is_available()


def _allowed() -> str:
    return ", ".join(DEVICE_CHOICES)


def resolve_device(name: str) -> torch.device:
    """The device called ``name``: ``auto`` is CUDA when available, else MPS, else the CPU.

    An explicit ``cuda``, ``cuda:N`` or ``mps`` that this machine does not have is a one-line ConfigError.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if not isinstance(name, str) or name.partition(":")[0] not in KINDS or name.startswith(("cpu:", "mps:")):
        raise ConfigError(f"device {name!r} is not allowed: use one of {_allowed()}")
    kind, _, index = name.partition(":")
    if kind == "cuda":
        if ":" in name and not index.isdigit():
            raise ConfigError(f"device {name!r} is not allowed: a GPU index is a whole number, e.g. cuda:0")
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but torch sees no CUDA GPU: use device 'auto' or 'cpu'")
        count = torch.cuda.device_count()
        if index and int(index) >= count:
            raise ConfigError(f"device {name!r} requested but torch sees {count} CUDA GPU(s): "
                              f"use cuda:0 to cuda:{count - 1}, or 'cuda'")
    if kind == "mps" and not _mps_available():
        raise ConfigError(f"device {name!r} requested but torch sees no Apple MPS device (Apple silicon, macOS "
                          f"12.3 or later): use device 'auto' or 'cpu'")
    return torch.device(name)


def check_amp(amp: str) -> str:
    """``amp`` if it is one of :data:`AMP_CHOICES`, else a ConfigError."""
    if amp not in AMP_CHOICES:
        raise ConfigError(f"amp {amp!r} is not allowed: choose one of {', '.join(AMP_CHOICES)}")
    return amp


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device`` (None = full fp32): ``auto`` is fp16 on CUDA only."""
    if check_amp(amp) == "auto":
        return KINDS[torch.device(device).type].auto_amp
    return _AMP_DTYPES[amp]


def channels_last(requested: bool, device: torch.device) -> bool:
    """Whether a run on ``device`` uses channels_last when its profile asks for it (never on MPS)."""
    return bool(requested) and KINDS[torch.device(device).type].channels_last
