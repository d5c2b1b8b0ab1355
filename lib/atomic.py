"""Atomic file writes: a reader sees the old file or the complete new one, never half of one.

Run records, checkpoints and split manifests are all written this way, so a kill at any moment
(or several writers at once) never leaves a file that could be read as valid. The temporary file is created
as a plain ``open`` would create it (mode 0666 less the umask, and a folder's default ACL applies), not with
``mkstemp``'s private 0600: on a shared Ray or Slurm folder colleagues can read the results. Its name says
which host and process writes it, so a temporary left by a killed writer can be told from a live one's and
removed (:func:`remove_stale_temporaries`).
"""
from __future__ import annotations

import errno
import os
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import IO, Callable

from lib.errors import DataError

HOST = socket.gethostname().replace(".", "_") or "localhost"
"""This machine, as it appears in temporary file names (dots would blur the name's fields)."""

STALE_AFTER_S = 3600.0
"""A temporary of another machine, or of unknown origin, not modified for this long is left over: a live writer
(a record, a checkpoint, a cache being filled row by row) touches its file far more often."""


def temporary_path(path: str | os.PathLike) -> Path:
    """A fresh hidden name beside ``path``: ``.<name>.<host>.<pid>.<random>.tmp``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _create(path: Path) -> tuple[int, Path]:
    """Open a new temporary beside ``path`` for writing, with the mode a plain ``open`` would give it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = temporary_path(path)
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:   # 32 random bits collided: draw again
            continue


SPACE_MARGIN = 1 << 20
"""Bytes a write leaves free beyond its own size (file-system metadata, the log lines that follow)."""

NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
"""The errors of a full disk, a full quota or a file-size limit: the reader must make room, a retry cannot help."""


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:.2f} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.1f} MB"


def check_space(path: str | os.PathLike, needed: int, what: str) -> None:
    """A DataError unless the file system that holds ``path`` (or its nearest existing folder) has ``needed``
    bytes free, plus :data:`SPACE_MARGIN`; called before writing, so a full disk is said, not discovered."""
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return
    try:
        free = shutil.disk_usage(existing).free
    except OSError:   # a file system that cannot say: the write itself will tell
        return
    if free < needed + SPACE_MARGIN:
        raise DataError(f"not enough free space for {what}: it needs {_gb(needed + SPACE_MARGIN)}, the disk holding "
                        f"{existing} has {_gb(free)} free; free some space there or choose another folder")


def no_space_error(err: OSError, what: str, path: str | os.PathLike) -> DataError:
    """The one-line error for an OSError of a full disk (:data:`NO_SPACE`) met while writing ``what``."""
    return DataError(f"the disk filled up while writing {what} {path} ({err.strerror or 'no space left'}); nothing "
                     f"was half-written: free some space there or choose another folder, then run again")


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None], binary: bool = False,
                 size: int | None = None, what: str = "file") -> Path:
    """Call ``write(handle)`` on a unique temporary file beside ``path``, fsync it, then rename it into place.

    Each writer gets its own temporary name and ``os.replace`` is atomic on POSIX; on any error the
    temporary file is removed and ``path`` is left as it was. With ``size`` (bytes) the free space is checked
    first; a disk that fills up anyway is a DataError naming ``what`` (:func:`check_space`).
    """
    path = Path(path)
    if size is not None:
        check_space(path.parent, size, f"{what} {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create(path)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno in NO_SPACE:
            raise no_space_error(err, what, path) from None
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, what: str = "file") -> Path:
    """Write ``text`` to ``path`` atomically, after checking the free space (see :func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(text), size=len(text.encode("utf-8", "surrogateescape")),
                        what=what)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's live process
        return True
    return True


def is_stale(tmp: Path, now: float | None = None) -> bool:
    """True for a temporary whose writer is gone: this host's, by a process that has ended; any other (another
    host's, or named before names carried host and process) once untouched for :data:`STALE_AFTER_S`."""
    fields = tmp.name[1:-len(".tmp")].rsplit(".", 3)
    if len(fields) == 4 and fields[1] == HOST and fields[2].isdigit():
        return not _alive(int(fields[2]))
    try:
        return (now or time.time()) - tmp.stat().st_mtime > STALE_AFTER_S
    except FileNotFoundError:   # its writer renamed or removed it meanwhile
        return False


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries (``.*.tmp``) in ``folder`` that killed writers left behind; return them.

    A live writer's temporary, here or on another machine sharing the folder, is kept (:func:`is_stale`).
    """
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        if tmp.is_file() and is_stale(tmp):
            try:
                tmp.unlink()
            except FileNotFoundError:
                continue
            removed.append(tmp)
    return removed


def folder_problem(folder: str | os.PathLike) -> str | None:
    """Why files could not be written into ``folder`` (to be created when missing), or None; creates nothing,
    so that a command can refuse an unusable output folder before any work starts."""
    folder = Path(folder).expanduser()
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None
