"""Decode once: every image of a source split, resized, in one uint8 ``N x H x W x 3`` ``.npy`` file.

Decoding JPEGs (or DICOMs, or HDF5 rows) every epoch costs more than training a small network on
them; the paper's datasets at 256 x 256 fit on disk as raw pixels and are read back memory-mapped.
A cache file is named by dataset, source split, size and a fingerprint of the source (file ids, sizes
and modification times), so it is rebuilt when any of them changes. It is written under a temporary
name and renamed into place, so a crashed build never leaves a file that looks finished; a file that
is nevertheless damaged (truncated, wrong shape) is detected on opening and rebuilt.
"""
from __future__ import annotations

import collections
import errno
import hashlib
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm  # plain text bars: notebooks here have no ipywidgets

from lib.atomic import check_space, remove_stale_temporaries, temporary_path
from lib.data.transforms import RESAMPLE, resize_rgb
from lib.errors import DataError

CACHE_FORMAT = 2
"""Bump when decoding changes (resize filter, layout) so that old cache files are not used. 2: images decode as a
viewer shows them (16-bit and float pixels scaled, alpha on white; the reader's own turned by EXIF orientation)."""

BUILDS: collections.Counter = collections.Counter()
"""How many times this process built each cache file (by path); tests use it to prove re-use."""


def fingerprint(folder: Path, ids: list[str], size: tuple[int, int]) -> str:
    """sha256 over the decode settings, the ids, and the size and mtime of every file behind them.

    An id is a path relative to ``folder``, optionally with ``#row`` for a container file (HDF5, a
    CIFAR batch); each distinct file is stat-ed once. Files that do not exist on disk (a built-in set
    such as digits) contribute only their id.
    """
    digest = hashlib.sha256(f"format {CACHE_FORMAT}; {RESAMPLE.name}; {size[0]}x{size[1]}\n".encode())
    seen: set[str] = set()
    for i in ids:
        digest.update(os.fsencode(i) + b"\n")   # a file name need not be UTF-8
        file = i.split("#", 1)[0]
        if file in seen:
            continue
        seen.add(file)
        try:
            st = os.stat(folder / file)
            digest.update(os.fsencode(f"{file} {st.st_size} {st.st_mtime_ns}\n"))
        except OSError:
            digest.update(os.fsencode(f"{file} absent\n"))
    return digest.hexdigest()


def cache_path(cache_dir: Path, dataset: str, split: str, size: tuple[int, int], print_: str) -> Path:
    """Where the cache for one source split lives: ``<cache_dir>/<dataset>/<split>-<H>x<W>-<fp>.npy``."""
    return Path(cache_dir) / dataset / f"{split}-{size[0]}x{size[1]}-{print_[:16]}.npy"


def open_cache(path: Path, shape: tuple[int, ...]) -> np.ndarray | None:
    """The memory-mapped array at ``path`` if it is a complete uint8 array of ``shape``, else None."""
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError):  # missing, truncated ("mmap length is greater"), bad header
        return None
    if array.dtype != np.uint8 or array.shape != tuple(shape):
        return None
    return array


def build_cache(path: Path, count: int, decode: Callable[[int], np.ndarray], size: tuple[int, int],
                desc: str = "decoding", progress: bool = True, workers: int | None = None) -> Path:
    """Decode ``count`` images into a new ``.npy`` at ``path``: temp file, flush, atomic rename.

    ``decode(i)`` returns image ``i`` as uint8 ``H x W x 3``. Temporaries that killed builds left in the folder
    are removed first (not those of builds still running, here or on another machine). Threads overlap file reading and JPEG
    decoding (PIL releases the GIL); rows are written in order of index.
    """
    tmp = temporary_path(path)
    workers = workers or min(4, os.cpu_count() or 1)
    need = count * size[0] * size[1] * 3
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)   # left by builds that were killed (up to a cache's size each)
        check_space(path.parent, need + 4096, f"the image cache {path} (or set WB_CACHE or pass cache_dir)")
        if progress:   # what the cache will take, said before it is built
            print(f"building the image cache for {desc}: {count:,} images, {need / 1e9:.2f} GB in {path.parent}",
                  file=sys.stderr, flush=True)
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(count, *size, 3))
        _allocate(tmp)
    except OSError as err:
        if tmp.exists():
            tmp.unlink()
        raise DataError(f"cannot create cache file {tmp} ({err.strerror or err}); the cache needs "
                        f"{need / 1e9:.2f} GB in a writable folder: free some space, set WB_CACHE or pass "
                        f"cache_dir") from None
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            rows = pool.map(decode, range(count), chunksize=64)
            for i, row in enumerate(tqdm(rows, total=count, desc=desc, disable=not progress,
                                         unit="img", leave=False)):
                array[i] = row
        array.flush()
        del array
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    BUILDS[str(path)] += 1
    return path


def _allocate(path: Path) -> None:
    """Give the memory-mapped file its blocks now: numpy leaves it sparse, and writing into a sparse map on a
    full disk kills the process with SIGBUS instead of raising. An OSError (no space) here is said in one line;
    a file system without ``posix_fallocate`` (macOS, some network mounts) relies on :func:`check_space`."""
    if not hasattr(os, "posix_fallocate"):
        return
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as err:
        if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    finally:
        os.close(fd)


def _remove_stale(path: Path) -> None:
    """Delete earlier caches of the same dataset, split and size (a different fingerprint)."""
    prefix = path.name.rsplit("-", 1)[0] + "-"
    for old in path.parent.glob(prefix + "*.npy"):
        if old != path:
            try:
                old.unlink()
            except OSError:
                pass


def cached_split(cache_dir: Path, dataset: str, split: str, folder: Path, ids: list[str],
                 load: Callable, size: tuple[int, int], progress: bool = True) -> Path:
    """Path of a complete cache for one source split, building it first when needed."""
    path = cache_path(cache_dir, dataset, split, size, fingerprint(folder, ids, size))
    if open_cache(path, (len(ids), *size, 3)) is not None:
        return path
    if path.exists():
        warnings.warn(f"cache {path} is damaged (truncated or wrong shape); rebuilding it", stacklevel=3)
    build_cache(path, len(ids), lambda i: resize_rgb(load(i), size), size,
                desc=f"{dataset} {split} {size[0]}x{size[1]}", progress=progress)
    _remove_stale(path)
    return path


class CachedImages:
    """Images of one source split, read from a cache file; the memmap is opened lazily in each process.

    Pickles as (path, shape) only, so DataLoader workers started with ``spawn`` open their own map.
    """

    def __init__(self, path: Path, shape: tuple[int, ...]):
        self.path, self.shape = Path(path), tuple(shape)
        self._array: np.ndarray | None = None

    def array(self) -> np.ndarray:
        if self._array is None:
            array = open_cache(self.path, self.shape)
            if array is None:
                raise DataError(f"cache file {self.path} is missing or damaged; call lib.data.load() "
                                f"again to rebuild it")
            self._array = array
        return self._array

    def __getitem__(self, index) -> np.ndarray:
        return np.array(self.array()[index])  # a writable copy: torch warns on read-only memory

    def __getstate__(self) -> dict:
        return {"path": self.path, "shape": self.shape, "_array": None}


class DecodedImages:
    """Images of one source split, decoded and resized on every access (no cache)."""

    def __init__(self, load: Callable, size: tuple[int, int]):
        self.load, self.size = load, size

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return resize_rgb(self.load(int(index)), self.size)
        return np.stack([resize_rgb(self.load(int(i)), self.size) for i in index])
