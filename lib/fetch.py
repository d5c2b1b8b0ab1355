"""``python -m lib.fetch``: download, verify and unpack the paper's datasets and the ImageNet weights.

Each dataset's files and their published checksums are in its spec (``lib.data.sources.DOWNLOADS``). A file is
downloaded to ``<file>.part`` (resumed with an HTTP Range request after an interruption), checked against its
published md5/sha256 or, where none is published, against the sha256 recorded at its first download in
``lib/data/checksums.lock``, and only then unpacked, into a hidden folder beside the dataset's that is renamed to
``<root>/<name>/`` once the dataset's reader reads it and its image count is that of the full dataset
(``lib.data.sizes``). A dataset that is already there and reads at full size is re-used: nothing is downloaded.

Datasets behind a login or a request form are not downloaded: their steps are printed, and ``--from FILE``
verifies and unpacks what the reader downloaded. ``WB_MIRROR`` (or ``--mirror``) fetches every file from
``<mirror>/<dataset>/<file>`` (weights from ``<mirror>/weights/<file>``) instead of its publisher: a lab's mirror,
a ``file://`` folder on a cluster without internet, or the tests' loopback server. Every fault is one
``error: ...`` line, exit status 2, and leaves no half-written dataset or weights file behind.

The addresses and md5s of the six datasets torchvision downloads are torchvision's, but not its downloader:
``torchvision.datasets.utils.download_url`` writes straight to the final name and cannot resume, and a 5 GB
Food-101 cut off at 4 GB would start over. torchvision's weights do go through torch.hub, which checks them.
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Callable

from lib.atomic import atomic_write_text, folder_problem
from lib.data import sizes, sources
from lib.data.sources import DatasetSpec, Download
from lib.errors import BookError, ConfigError, DataError, WeightsError, one_line
from lib import paths
from lib.provenance import now

__all__ = ["LOCK_FILE", "MIN_SHARE", "MIRROR_ENV", "FetchError", "Fetched", "ManualDownload", "download",
           "expected_images", "fetch_dataset", "fetch_weights", "main", "read_lock", "resolve_names", "size_problem",
           "weights_names"]

LOCK_FILE = Path(__file__).resolve().parent / "data" / "checksums.lock"
"""sha256 of the downloads that have no published checksum, recorded at their first download; committed."""

MIRROR_ENV = "WB_MIRROR"
MIN_SHARE = 0.9
"""A dataset with fewer images than this share of its full size (lib.data.sizes, else Table 3) is refused."""

UNPACK_FACTOR = 1.1  # the unpacked files of an image archive take about its size (images compress no further)
RETRIES = 3  # attempts after the first when a download is interrupted; each resumes where the last stopped
RETRY_WAIT_S = 2.0
TIMEOUT_S = 60
CHUNK = 1 << 20
MARKER = ".fetched.json"  # in the dataset folder: what it was unpacked from (readers skip hidden files)
USER_AGENT = "which-backbone-fetch (python urllib)"
_SKIPPED = ("__MACOSX/", ".DS_Store")  # macOS zip debris: not part of any publisher's layout


class FetchError(BookError):
    """A download or an archive that cannot be fetched, verified or unpacked (one line, what to do next)."""


class ManualDownload(FetchError):
    """A dataset behind a login, a request form or an offline site: the message holds the steps."""


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_dataset` did for one dataset."""

    name: str
    folder: Path
    images: int
    downloaded: int  # bytes fetched over the network by this call (0: re-used)
    reused: bool


Say = Callable[[str], None]


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 1e9 else f"{n / 1e9:,.2f} GB"


# --- the lock file: checksums recorded at first download ----------------------------------------------------------

_LOCK_HEADER = (
    "# sha256 of the files that no one publishes a checksum for, recorded by `python -m lib.fetch` at their first\n"
    "# download (or first --from). A later file that differs is refused. Commit this file after a first fetch.\n"
    "# A line: <sha256> <bytes> <dataset>/<file> (weights/<file> for weights). Published checksums live in\n"
    "# lib/data/sources.py (DOWNLOADS) and in torchvision's weights file names, not here.\n"
)


def read_lock(lock: Path = LOCK_FILE) -> dict[str, tuple[str, int]]:
    """``{"<dataset>/<file>": (sha256, bytes)}`` from the lock file (empty when it does not exist)."""
    entries = {}
    if Path(lock).is_file():
        for number, line in enumerate(Path(lock).read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) != 3 or len(fields[0]) != 64 or not fields[1].isdigit():
                raise FetchError(f"{lock} line {number} is not '<sha256> <bytes> <dataset>/<file>': {line!r}; "
                                 f"fix or delete that line")
            entries[fields[2]] = (fields[0].lower(), int(fields[1]))
    return entries


def _record_lock(lock: Path, key: str, sha256: str, size: int, say: Say) -> None:
    entries = read_lock(lock)
    entries[key] = (sha256, size)
    lines = [f"{digest} {n} {k}" for k, (digest, n) in sorted(entries.items())]
    atomic_write_text(lock, _LOCK_HEADER + "\n".join(lines) + "\n")
    say(f"{key}: no published checksum; recorded sha256 {sha256} ({size:,} bytes) in {paths.relative(lock)}: commit it, "
        f"and a later download that differs is refused")


# --- downloading --------------------------------------------------------------------------------------------------


def _mirrored(url: str, mirror: str | None, folder: str, file: str) -> str:
    return f"{mirror.rstrip('/')}/{folder}/{file}" if mirror else url


def _free_bytes(folder: Path) -> int:
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    return shutil.disk_usage(existing).free


def _need_space(folder: Path, need: int, what: str) -> None:
    """Refuse up front when ``folder``'s disk has less than ``need`` bytes free."""
    free = _free_bytes(folder)
    if need > free:
        raise FetchError(f"not enough free space for {what}: needs about {_mb(need)}, {_mb(free)} free on the disk "
                         f"of {paths.relative(folder)}; free some space, or point WB_DATA (datasets) / TORCH_HOME (weights) "
                         f"at a larger disk")


def _html(head: bytes) -> bool:
    start = head.lstrip()[:15].lower()
    return start.startswith(b"<!doctype html") or start.startswith(b"<html")


def _no_space(err: OSError, where: Path) -> FetchError:
    return FetchError(f"no space left on the disk of {paths.relative(where)} ({err.strerror}); free some space, or point "
                      f"WB_DATA / TORCH_HOME at a larger disk, then run the same command again")


def download(url: str, part: Path, *, size: int | None = None, unpacked: float = 0.0, progress: bool = True,
             retries: int = RETRIES, label: str = "") -> int:
    """Download ``url`` into ``part``, resuming what an earlier, interrupted attempt left there (HTTP Range).

    ``size`` is the published size (checked against what the server offers); ``unpacked`` is the share of the
    size that unpacking will need on top, for the free-space check made before the first byte is written when the
    size is not published. Returns the bytes fetched. An HTML page (a login or error page) or an HTTP error is a
    :class:`FetchError`; the part file is kept after an interruption so that the next call resumes it.
    """
    from tqdm.auto import tqdm

    part.parent.mkdir(parents=True, exist_ok=True)
    fetched, label = 0, label or part.name.removesuffix(".part")
    for attempt in range(retries + 1):
        have = part.stat().st_size if part.exists() else 0
        headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={have}-"} if have else {})}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S) as response:
                status = getattr(response, "status", None) or 200   # file:// answers without a status
                if "text/html" in response.headers.get("Content-Type", ""):
                    raise FetchError(f"{url} returned an HTML page, not the file {label} (a login or error page?); "
                                     f"check the address, or download it in a browser and pass it with --from")
                if status == 206:
                    offered = response.headers.get("Content-Range", "")   # bytes <start>-<end>/<total>
                    start, _, whole = offered.removeprefix("bytes ").partition("-")
                    if not start.isdigit() or int(start) != have:
                        raise FetchError(f"{url} answered a resume from byte {have:,} with {offered!r}; delete "
                                         f"{paths.relative(part)} and run the same command again")
                    tail = whole.partition("/")[2]
                    total = int(tail) if tail.isdigit() else None
                else:   # 200: the whole file (the server ignored the Range, or there was nothing to resume)
                    have = 0
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                if size is not None and total is not None and total != size:
                    raise FetchError(f"{url} offers {total:,} bytes, the published {label} has {size:,}: not the "
                                     f"published file; check the address or the mirror")
                if size is None and total is not None and attempt == 0:
                    _need_space(part.parent, total - have + int(total * unpacked), f"{label} ({_mb(total)})")
                with open(part, "ab" if have else "wb") as out, tqdm(
                        total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                        disable=not progress, leave=False, mininterval=0.5) as bar:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        fetched += len(chunk)
                        bar.update(len(chunk))
                if total is not None and part.stat().st_size < total:
                    raise http.client.IncompleteRead(b"", total - part.stat().st_size)
        except urllib.error.HTTPError as err:
            if err.code == 416 and have:   # the range starts at the end: the part is complete
                break
            raise FetchError(f"{url} returned HTTP {err.code} {err.reason}; check the address (or the mirror in "
                             f"${MIRROR_ENV}), or download the file yourself and pass it with --from") from None
        except FetchError:
            raise
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise _no_space(err, part.parent) from None
            if not isinstance(err, (urllib.error.URLError, ConnectionError, TimeoutError)):
                raise
            reason = getattr(err, "reason", None)   # URLError wraps the socket's error
            failure = str(reason) if reason else one_line(err)
        except http.client.HTTPException as err:   # IncompleteRead: the server closed the connection mid-file
            failure = f"connection closed early ({type(err).__name__})"
        else:
            break
        if attempt == retries:
            kept = part.stat().st_size if part.exists() else 0
            then = (f"{kept:,} bytes are kept in {paths.relative(part)}: run the same command again to resume" if kept else
                    f"check the connection (or ${MIRROR_ENV}) and run the same command again")
            raise FetchError(f"download of {url} failed after {retries + 1} tries ({failure}); {then}")
        time.sleep(RETRY_WAIT_S * (attempt + 1))
    with open(part, "rb") as handle:
        head = handle.read(512)
    if _html(head):
        part.unlink()
        raise FetchError(f"{url} returned an HTML page, not the file {label} (a login or error page?); check the "
                         f"address, or download it in a browser and pass it with --from")
    return fetched


def _digests(path: Path) -> tuple[str, str, int]:
    """md5, sha256 and size of a file, in one pass."""
    md5, sha256, size = hashlib.md5(usedforsecurity=False), hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
            size += len(chunk)
    return md5.hexdigest(), sha256.hexdigest(), size


def _verify(d: Download, path: Path, key: str, lock: Path) -> tuple[str, int, bool]:
    """Check ``path`` against ``d``'s published checksum or its lock entry: (sha256, size, to be recorded)."""
    md5, sha256, size = _digests(path)
    problems = []
    if d.size is not None and size != d.size:
        problems.append(f"{size:,} bytes, the published file has {d.size:,}")
    if d.md5 and md5 != d.md5:
        problems.append(f"md5 {md5}, published {d.md5}")
    if d.sha256 and sha256 != d.sha256:
        problems.append(f"sha256 {sha256}, published {d.sha256}")
    if problems:
        raise FetchError(f"{paths.relative(path)} is not the published {d.file}: {problems[0]} ({d.checksum_from})")
    if d.pinned:
        return sha256, size, False
    recorded = read_lock(lock).get(key)
    if recorded and recorded[0] != sha256:
        raise FetchError(f"{paths.relative(path)} differs from the {d.file} recorded at its first download (sha256 {sha256}, "
                         f"recorded {recorded[0]} in {paths.relative(lock)}); if the publisher really changed it, delete "
                         f"the line for {key} there and fetch again")
    return sha256, size, recorded is None


# --- unpacking ----------------------------------------------------------------------------------------------------


def _kept(d: Download, name: str) -> bool:
    name = name.removeprefix("./")
    if name.startswith(_SKIPPED[0]) or PurePosixPath(name).name == _SKIPPED[1]:
        return False
    return not d.members or any(fnmatch(name, pattern) for pattern in d.members)


def _target(d: Download, into: Path, name: str, seen: set[str]) -> Path:
    relative = PurePosixPath(name).name if d.flatten else name
    if relative in seen:
        raise FetchError(f"{d.file} holds two files that unpack to {relative}; unpack it yourself and pass the "
                         f"folder with --from")
    seen.add(relative)
    return into / relative


def _extract(d: Download, archive: Path, into: Path) -> None:
    """Unpack ``archive`` into ``into`` (only ``d.members``, flattened if ``d.flatten``); refuses unsafe paths."""
    seen: set[str] = set()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as pack:
            for info in pack.infolist():
                path = PurePosixPath(info.filename)
                if path.is_absolute() or ".." in path.parts:
                    raise FetchError(f"{archive.name} holds an unsafe path {info.filename!r}; refusing to unpack it")
                if info.is_dir():
                    if not d.flatten:
                        (into / path).mkdir(parents=True, exist_ok=True)
                elif _kept(d, info.filename):
                    target = _target(d, into, info.filename, seen)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with pack.open(info) as source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out, CHUNK)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as pack:
            def members():
                for member in pack:
                    if member.isdir():
                        if not d.flatten:
                            yield member
                    elif _kept(d, member.name):
                        relative = _target(d, into, member.name, seen).relative_to(into)
                        member.name = relative.as_posix()
                        yield member
            try:
                pack.extractall(into, members=members(), filter="data")   # no absolute paths, '..' or devices
            except tarfile.FilterError as err:
                raise FetchError(f"{archive.name} holds an unsafe entry ({err}); refusing to unpack it") from None
    else:
        raise FetchError(f"{paths.relative(archive)} is neither a zip nor a tar archive; the {d.file} expected here is one "
                         f"(a .rar must be unpacked first and the folder passed with --from)")


def _copy_folder(d: Download, folder: Path, into: Path) -> None:
    """An archive the reader unpacked already: copy its kept files as :func:`_extract` would place them."""
    seen: set[str] = set()
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and _kept(d, name):
            target = _target(d, into, name, seen)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        elif path.is_dir() and not d.flatten:
            (into / name).mkdir(parents=True, exist_ok=True)


# --- counts -------------------------------------------------------------------------------------------------------


def expected_images(name: str) -> tuple[int, str]:
    """Images of the full dataset that its reader counts (train + test), and where that number comes from."""
    spec = sources.spec(name)
    if name in sizes.OFFICIAL:
        counts = sizes.list_counts(name)
        return counts["train"] + counts["test"], sizes.provenance(name)
    entry = sizes.HELD_OUT.get(name)
    if isinstance(entry, sizes.ClassSizes):
        return sum(entry.sizes), entry.source
    if isinstance(entry, sizes.Unknown) and entry.total:
        return entry.total, entry.source
    return spec.paper_train + spec.paper_test, "the paper's Table 3"


def _images(source) -> int:
    return len(source.train) + (len(source.test) if source.test is not None else 0)


def _size_problem(spec: DatasetSpec, images: int, min_share: float) -> str | None:
    expected, origin = expected_images(spec.name)
    if images >= min_share * expected:
        return None
    return (f"{spec.display} has {images:,} images, far fewer than the {expected:,} of the full dataset ({origin}); "
            f"a partial or stand-in copy is refused")


def size_problem(name: str, root: str | os.PathLike | None = None, min_share: float = MIN_SHARE) -> str | None:
    """Why the dataset under the data root is not the full dataset (too few images), or None; reads its index."""
    spec = sources.spec(name)
    return _size_problem(spec, _images(sources.read_source(name, root)), min_share)


# --- one dataset --------------------------------------------------------------------------------------------------


def resolve_names(text: str | list[str]) -> list[str]:
    """Dataset names from ``cifar10,dtd`` (or a list of such), with ``all`` (the 20) and ``breakhis`` (four)."""
    parts = [p.strip() for item in ([text] if isinstance(text, str) else text) for p in str(item).split(",")]
    paper = sources.names(workshop=False)
    aliases = {"all": paper, "breakhis": [n for n in paper if n.startswith("breakhis_")]}
    names = []
    for part in filter(None, parts):
        for name in aliases.get(part, [part]):
            spec = sources.spec(name)   # UnknownNameError lists the valid names
            if spec.name not in paper:
                raise ConfigError(f"{name!r} has nothing to fetch ({spec.url}); choose among: {', '.join(paper)}, "
                                  f"all or breakhis")
            names.append(spec.name)
    return list(dict.fromkeys(names))


def _present(spec: DatasetSpec, folder: Path, min_share: float) -> int | None:
    """The image count of a dataset already in place at full size; None when the folder is absent (or empty)."""
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()   # an empty folder made by hand: the unpacked dataset takes its place
    if not folder.exists():
        return None
    try:
        images = _images(spec.reader(folder, spec))
    except DataError as err:
        raise FetchError(f"{paths.relative(folder)} is there but does not read as {spec.display} ({err}); move it away, "
                         f"then fetch again") from None
    problem = _size_problem(spec, images, min_share)
    if problem:
        raise FetchError(f"{paths.relative(folder)}: {problem}; move it away, then fetch again")
    return images


def _sources(spec: DatasetSpec, given: Path | None) -> list[Path | None]:
    """Per download, the reader's own file (``--from``) or None (to be downloaded)."""
    if given is None:
        return [None] * len(spec.downloads)
    given = Path(given).expanduser()
    if not given.exists():
        raise FetchError(f"--from {given}: no such file or folder")
    if len(spec.downloads) == 1:
        named = given / spec.downloads[0].file
        return [named if given.is_dir() and named.is_file() else given]
    if not given.is_dir():
        files = ", ".join(d.file for d in spec.downloads)
        raise FetchError(f"{spec.name} is fetched from {len(spec.downloads)} files ({files}); pass the folder that "
                         f"holds them with --from")
    absent = [d.file for d in spec.downloads if not (given / d.file).is_file()]
    if absent:
        raise FetchError(f"--from {given}: {absent[0]} not found there ({len(absent)} of the "
                         f"{len(spec.downloads)} files of {spec.name} are missing)")
    return [given / d.file for d in spec.downloads]


def _space_needed(d: Download, mine: Path | None, archive: Path) -> int:
    """Bytes still to download for ``d`` plus what unpacking (or copying the reader's file) will take."""
    size = d.size or (mine.stat().st_size if mine is not None and mine.is_file() else 0)
    part = archive.with_name(archive.name + ".part")
    to_download = 0 if mine is not None or archive.exists() else size - (part.stat().st_size if part.exists() else 0)
    return max(to_download, 0) + (int(size * UNPACK_FACTOR) if d.unpack or mine is not None else 0)


def _how_checked(d: Download, sha256: str, lock: Path) -> str:
    if not sha256:
        return "no checksum (copied from a folder); image count checked"
    return f"as published by {d.checksum_from}" if d.pinned else f"sha256 as in {paths.relative(lock)}"


def fetch_dataset(name: str, root: str | os.PathLike | None = None, *, given: str | os.PathLike | None = None,
                  mirror: str | None = None, lock: Path = LOCK_FILE, min_share: float = MIN_SHARE,
                  keep_archives: bool = False, progress: bool = True, retries: int = RETRIES,
                  downloads: tuple[Download, ...] | None = None, say: Say = print) -> Fetched:
    """Download (or take ``given``), verify and unpack dataset ``name`` into ``<root>/<name>/``; re-use it when
    it is already there at full size. ``mirror`` defaults to ``$WB_MIRROR``. Raises :class:`FetchError`.

    ``downloads`` replaces the spec's files and checksums and ``min_share=0`` accepts any size: together they fetch
    a rehearsal's tiny stand-in (served over loopback) through the same code as the real dataset."""
    spec = sources.spec(name)
    if downloads is not None:
        spec = dataclasses.replace(spec, downloads=tuple(downloads))
    base = paths.data_root(root)
    folder = base / spec.name
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    images = _present(spec, folder, min_share)
    if images is not None:
        say(f"{spec.name}: {images:,} images already in {paths.relative(folder)}; nothing downloaded")
        return Fetched(spec.name, folder, images, 0, True)
    if spec.access and given is None and mirror is None:
        raise ManualDownload(f"{spec.name} cannot be downloaded here: {spec.access}")
    unusable = folder_problem(base)
    if unusable:
        raise FetchError(f"cannot write the data root {paths.relative(base)}: {unusable}; set WB_DATA (or --root) to a "
                         f"writable folder")
    local = _sources(spec, Path(given) if given is not None else None)
    downloads = base / ".downloads" / spec.name
    archives = [downloads / d.file for d in spec.downloads]
    _need_space(base, sum(_space_needed(d, mine, archive) for d, mine, archive in zip(spec.downloads, local, archives)),
                spec.display)

    staging = base / f".{spec.name}.fetching"
    fetched, verified = 0, []
    try:
        for d, mine, archive in zip(spec.downloads, local, archives):
            path = mine or archive
            if mine is None and not archive.exists():
                path = archive.with_name(archive.name + ".part")
                fetched += download(_mirrored(d.url, mirror, spec.name, d.file), path, size=d.size,
                                    unpacked=UNPACK_FACTOR if d.unpack else 0.0, progress=progress,
                                    retries=retries, label=f"{spec.name}: {d.file}")
            if path.is_dir():   # the reader's unpacked copy: no archive whose checksum could be checked
                if d.pinned:
                    raise FetchError(f"--from {path} is a folder; pass {d.file} itself so that its published "
                                     f"checksum can be checked")
                verified.append(("", 0, False))
                continue
            try:
                verified.append(_verify(d, path, f"{spec.name}/{d.file}", lock))
            except FetchError:
                if mine is None:
                    path.unlink()   # a download that is not the published file is never kept, nor resumed
                raise
            if mine is None and path != archive:
                os.replace(path, archive)
        if staging.exists():
            shutil.rmtree(staging)   # left by a fetch that was killed while unpacking
        staging.mkdir(parents=True)
        for d, mine, archive in zip(spec.downloads, local, archives):
            path = mine or archive
            if path.is_dir():
                _copy_folder(d, path, staging)
            elif d.unpack:
                _extract(d, path, staging)
            elif mine is not None:
                shutil.copy2(path, staging / d.file)
            else:
                os.replace(path, staging / d.file)
        try:
            images = _images(spec.reader(staging, spec))
        except DataError as err:
            problem = f"{spec.display}: the unpacked files are not in the layout the reader expects ({err})"
        else:
            problem = _size_problem(spec, images, min_share)
        if problem:   # verified, but not the dataset: a download not worth keeping (the reader's own file is kept)
            for archive, mine in zip(archives, local):
                if mine is None:
                    archive.unlink(missing_ok=True)
            raise FetchError(f"{problem}: check the files (or the mirror) they came from")
        checks = [_how_checked(d, sha, lock) for d, (sha, _, _) in zip(spec.downloads, verified)]
        marker = {"dataset": spec.name, "images": images, "fetched": now(),
                  "files": {d.file: {"sha256": sha, "bytes": n, "checked": check}
                            for d, (sha, n, _), check in zip(spec.downloads, verified, checks)}}
        atomic_write_text(staging / MARKER, json.dumps(marker, indent=1) + "\n")
        os.replace(staging, folder)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise _no_space(err, base) from None
        raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    for d, (sha, n, record) in zip(spec.downloads, verified):
        if record:   # only once the files proved to be the dataset: an error page is never locked in
            _record_lock(lock, f"{spec.name}/{d.file}", sha, n, say)
    if not keep_archives:
        for archive in archives:
            archive.unlink(missing_ok=True)
        for empty in (downloads, downloads.parent):
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()
    how = f"downloaded {_mb(fetched)}" if fetched else "from " + (paths.relative(Path(given)) if given else "kept archives")
    say(f"{spec.name}: {images:,} images in {paths.relative(folder)} ({how}; checked: {'; '.join(sorted(set(checks)))})")
    return Fetched(spec.name, folder, images, fetched, False)


# --- weights ------------------------------------------------------------------------------------------------------


def _fetch_hub_file(url: str, path: Path, progress: bool) -> None:
    """A torchvision weights file through torch.hub, which checks the sha256 prefix in its name as it downloads
    and keeps nothing on a mismatch."""
    import torch

    try:
        torch.hub.load_state_dict_from_url(url, model_dir=str(path.parent), progress=progress, check_hash=True,
                                           file_name=path.name, weights_only=True)
    except RuntimeError as err:   # torch.hub: 'invalid hash value (expected ..., got ...)'
        raise WeightsError(f"{url}: the downloaded file is not the published {path.name} ({one_line(err)}); "
                           f"nothing was kept") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise WeightsError(f"cannot download {url} ({one_line(err)}); check the connection (or ${MIRROR_ENV}) "
                           f"and run the same command again") from None


def _check_wavemix(path: Path) -> None:
    """The WaveMix file is a state_dict whose BatchNorm statistics were trained (not a fresh initialisation)."""
    import torch

    from lib import models

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:   # a foreign or truncated file: torch raises several kinds
        raise WeightsError(f"{paths.relative(path)} cannot be read as a checkpoint ({type(err).__name__}); it is not the "
                           f"published WaveMix file") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{paths.relative(path)} holds a {type(state).__name__}, not a state_dict")
    if models.batchnorm_at_init(state):
        raise WeightsError(f"{paths.relative(path)} has every BatchNorm running mean at 0 and variance at 1: a freshly "
                           f"initialised network, not ImageNet weights")


def fetch_weights(backbones: list[str] | None = None, *, mirror: str | None = None, lock: Path = LOCK_FILE,
                  progress: bool = True, retries: int = RETRIES, say: Say = print) -> list[Path]:
    """Every backbone's ImageNet weights into ``$TORCH_HOME/hub/checkpoints`` (where ``lib.models`` reads them),
    each verified: torchvision's by the hash in its name (torch.hub), WaveMix's by the lock file and its trained
    BatchNorm statistics. Files already there and intact are re-used."""
    import torch

    from lib import models

    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV) or None
    done = []
    for spec in [models.spec(n) for n in (backbones or models.names())]:
        path = models.checkpoint_path(spec)
        url = _mirrored(models.checkpoint_url(spec), mirror, "weights", path.name)
        key = f"weights/{path.name}"
        if path.is_file():
            if spec.weights is not None:
                models.verify_sha256(path, torch.hub.HASH_REGEX.search(path.name).group(1))
            else:
                sha, size, record = _verify(Download(url, path.name, checksum_from="lock"), path, key, lock)
                _check_wavemix(path)
                if record:   # put there by hand before any fetch: its first use is recorded like a download
                    _record_lock(lock, key, sha, size, say)
            say(f"{spec.name}: {paths.relative(path)} already there and intact; nothing downloaded")
        elif spec.weights is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            _fetch_hub_file(url, path, progress)
            say(f"{spec.name}: {paths.relative(path)} downloaded, sha256 prefix as published by torchvision")
        else:
            part = path.with_name(path.name + ".part")
            download(url, part, progress=progress, retries=retries, label=path.name)
            try:
                sha, size, record = _verify(Download(url, path.name, checksum_from="lock"), part, key, lock)
                _check_wavemix(part)
            except BookError:
                part.unlink()
                raise
            os.replace(part, path)
            if record:
                _record_lock(lock, key, sha, size, say)
            say(f"{spec.name}: {paths.relative(path)} downloaded")
        done.append(path)
    return done


# --- the command line ---------------------------------------------------------------------------------------------


def weights_names(values: list[str]) -> list[str] | None:
    """Backbone names from repeated ``--weights`` values (each comma-separated); None for all (``all``)."""
    from lib import models

    names = [n.strip() for value in values for n in value.split(",") if n.strip()]
    if "all" in names:
        return None
    return list(dict.fromkeys(models.spec(n).name for n in names))   # UnknownNameError lists the valid ones


def _table(root: str | None) -> str:
    lines = []
    for spec in sources.specs():
        if not spec.downloads:
            continue
        how = "manual, then --from" if spec.access else "download"
        sums = sorted({("md5+sha256" if d.md5 and d.sha256 else "md5" if d.md5 else "sha256") + " published"
                       if d.pinned else "sha256 in lock file" for d in spec.downloads})
        there = "present" if (paths.data_root(root) / spec.name).exists() else "absent"
        lines.append(f"{spec.name:<15} {how:<20} {', '.join(sums):<22} {there}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lib.fetch",
        description="Download, verify and unpack datasets into the data root ($WB_DATA, default data/) and the "
                    "ImageNet weights into $TORCH_HOME/hub/checkpoints.")
    parser.add_argument("datasets", nargs="*", help="dataset names, comma- or space-separated; 'all' for the 20, "
                                                    "'breakhis' for its four magnifications")
    parser.add_argument("--weights", nargs="?", const="all", action="append", default=None,
                        help="also fetch pretrained weights: all eleven, or comma-separated backbone names "
                             "(repeatable: --weights resnet50 --weights wavemix_192_16)")
    parser.add_argument("--from", dest="given", type=Path, default=None, metavar="FILE",
                        help="a file (or folder of files) you downloaded yourself: verified and unpacked")
    parser.add_argument("--root", default=None, help="data root (default $WB_DATA, else data/)")
    parser.add_argument("--mirror", default=None, help=f"fetch <mirror>/<dataset>/<file> instead (${MIRROR_ENV})")
    parser.add_argument("--keep-archives", action="store_true", help="keep the downloaded archives in "
                                                                     "<root>/.downloads/ after unpacking")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--list", action="store_true", help="list the datasets, how each is fetched and checked")
    args = parser.parse_args(argv)
    try:
        if args.list:
            print(_table(args.root))
            return 0
        names = resolve_names(args.datasets)
        if not names and args.weights is None:
            raise ConfigError("nothing to fetch; name datasets (e.g. cifar10,flowers102,dtd or all) and/or --weights "
                              "(python -m lib.fetch --list shows them)")
        if args.given is not None and len({tuple(d.file for d in sources.spec(n).downloads) for n in names}) != 1:
            raise ConfigError("--from takes the files of one dataset (or of breakhis, whose four magnifications share "
                              "one archive); name just that dataset")
        manual: dict[str, list[str]] = {}
        for name in names:
            try:
                fetch_dataset(name, args.root, given=args.given, mirror=args.mirror, keep_archives=args.keep_archives,
                              progress=not args.no_progress)
            except ManualDownload:   # the others first; then the steps for these, once each
                manual.setdefault(sources.spec(name).access, []).append(name)
        if args.weights is not None:
            fetch_weights(weights_names(args.weights), mirror=args.mirror, progress=not args.no_progress)
        if manual:
            for steps, waiting in manual.items():
                print(f"{', '.join(waiting)}: a manual download\n  " + re.sub(r"(?<=\.) (?=\d\. )", "\n  ", steps))
            names = [n for waiting in manual.values() for n in waiting]
            raise FetchError(f"{len(names)} dataset(s) need a manual download first (steps above): {', '.join(names)}")
    except BookError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:   # a folder that cannot be written, a file that vanished: still one line
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; run the same command again to resume the download", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
