"""Checkpoint files: ``torch.save`` behind a sha256 header, written atomically, refused by path when damaged.

A checkpoint holds what :func:`lib.train.dual_opt_fit` needs to resume (its config, ``DualOptState``, model, best
weights, the current phase's optimizer, scaler and RNG state). The run's data order needs no state here: the
loaders derive every shuffle and augmentation draw from (seed, epoch, index), see ``lib.loaders``.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import torch

from lib.atomic import atomic_write
from lib.errors import DataError

MAGIC = b"which-backbone checkpoint sha256 "   # + 64 hex digits + newline, then the torch.save bytes
HEADER_SIZE = len(MAGIC) + 65


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically, after checking the free space: a kill or a full disk never leaves
    half a checkpoint (nor removes the previous one)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getbuffer()
    header = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n"

    def write(handle):
        handle.write(header)
        handle.write(payload)
    atomic_write(path, write, binary=True, size=len(header) + len(payload), what="checkpoint")


def load_checkpoint(path: Path, keys: tuple[str, ...] = ()) -> dict:
    """The state saved by :func:`save_checkpoint`, after verifying its checksum and that it holds ``keys``
    (a DataError naming the path and what to do)."""
    delete = "delete it to restart that run from its first epoch"
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"checkpoint {path} cannot be read ({err.strerror or type(err).__name__}): {delete}") from None
    if not raw.startswith(MAGIC) or raw[HEADER_SIZE - 1:HEADER_SIZE] != b"\n":
        raise DataError(f"checkpoint {path} has no checksum header (damaged, or not written by lib.train): {delete}")
    payload = memoryview(raw)[HEADER_SIZE:]
    if hashlib.sha256(payload).hexdigest().encode() != raw[len(MAGIC):HEADER_SIZE - 1]:
        raise DataError(f"checkpoint {path} fails its checksum (truncated or damaged): {delete}")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=False)
    except Exception as err:   # checksum fine but unreadable: written by an incompatible torch
        raise DataError(f"checkpoint {path} cannot be unpickled ({type(err).__name__}): {delete}") from None
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise DataError(f"checkpoint {path} lacks {', '.join(missing)} (written by an older lib.train): {delete}")
    return state


def has_header(path: Path) -> bool:
    """Whether ``path`` starts like a checkpoint (the full checksum is verified when it is loaded)."""
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def rng_state() -> dict:
    """torch's CPU and CUDA generator states (dropout, stochastic depth)."""
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
