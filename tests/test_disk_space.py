"""Disk space is checked, not discovered (issue 30): before the image cache, a checkpoint, a record, a manifest or a
report is written, the free space is checked; a full disk is one ``error:`` line, exit 2, nothing half-written and
nothing lost. The memory-mapped cache gets its blocks for real (no sparse file, no SIGBUS on a full disk)."""
from __future__ import annotations

import errno
import os
import shutil
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from lib import atomic, cli, results
from lib.checkpoints import load_checkpoint, save_checkpoint
from lib.data import cache
from lib.errors import DataError

Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def full_disk(monkeypatch):
    """Every file system reports ``free`` bytes (default: 100 kB); returns a setter."""
    state = {"free": 100_000}
    real = shutil.disk_usage

    def usage(path):
        total = real(path).total
        return Usage(total, total - state["free"], state["free"])
    monkeypatch.setattr(atomic.shutil, "disk_usage", usage)
    return state


def test_a_checkpoint_that_does_not_fit_is_refused_and_the_previous_one_kept(tmp_path, full_disk):
    path = tmp_path / "run.pt"
    full_disk["free"] = 10**9
    save_checkpoint(path, {"model": {"w": np.zeros(10)}})
    before = path.read_bytes()
    full_disk["free"] = 100_000
    with pytest.raises(DataError, match=r"not enough free space for checkpoint .*run\.pt.* MB free"):
        save_checkpoint(path, {"model": {"w": np.zeros(200_000)}})
    assert path.read_bytes() == before and load_checkpoint(path)["model"]["w"].shape == (10,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"], "no temporary may be left"


def test_a_record_is_not_written_on_a_full_disk(tmp_path, full_disk):
    full_disk["free"] = 0
    record = {f: 0 for f in results.REQUIRED_FIELDS if f != "checksum"}
    record.update(run_key="k", config={}, history=[])
    with pytest.raises(DataError, match="not enough free space for run record"):
        results.write_record(record, tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_disk_that_fills_up_during_a_write_is_one_line_and_leaves_the_old_file(tmp_path):
    path = atomic.atomic_write_text(tmp_path / "r.json", "old")

    def fill(handle):
        handle.write("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(DataError, match=r"the disk filled up while writing run record .*nothing was half-written"):
        atomic.atomic_write(path, fill, what="run record")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_the_cache_checks_its_size_before_creating_a_file(tmp_path, full_disk):
    target = cache.cache_path(tmp_path, "toy", "train", (32, 32), "f" * 16)
    with pytest.raises(DataError, match=r"not enough free space for the image cache .*WB_CACHE"):
        cache.build_cache(target, 200, lambda i: np.zeros((32, 32, 3), np.uint8), (32, 32), progress=False)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_the_cache_gets_its_blocks_before_decoding(tmp_path, monkeypatch):
    """A sparse memory map on a full disk ends in SIGBUS; the cache is allocated first, so a full disk is an
    error line, and a finished cache occupies its blocks."""
    if not hasattr(os, "posix_fallocate"):
        pytest.skip("no posix_fallocate on this platform (the free space check stands alone)")
    target = cache.cache_path(tmp_path, "toy", "train", (64, 64), "f" * 16)
    built = cache.build_cache(target, 64, lambda i: np.full((64, 64, 3), i, np.uint8), (64, 64), progress=False)
    st = os.stat(built)
    assert st.st_blocks * 512 >= st.st_size, "the cache file is sparse"

    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(cache.os, "posix_fallocate", no_space)
    decoded = []
    other = cache.cache_path(tmp_path, "toy", "val", (64, 64), "e" * 16)
    with pytest.raises(DataError, match=r"cannot create cache file .*No space left.*free some space"):
        cache.build_cache(other, 64, lambda i: decoded.append(i) or np.zeros((64, 64, 3), np.uint8), (64, 64),
                          progress=False)
    assert not decoded and not other.exists() and not list(other.parent.glob(".*.tmp"))


def test_the_command_line_ends_a_full_disk_in_one_line_exit_2_writing_nothing(tmp_path, monkeypatch, full_disk,
                                                                               capsys):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    full_disk["free"] = 0
    argv = ["--backbone", "shufflenet_v2_x2_0", "--dataset", "digits", "--profile", "ci", "--image-size", "16",
            "--no-progress", "--results", str(tmp_path / "runs"), "--checkpoints", str(tmp_path / "ck")]
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert line.startswith("error: ") and "not enough free space" in line and "retry" not in out
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".json", ".pt", ".npy", ".tmp")]
    assert not written, written
