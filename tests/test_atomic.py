"""The one atomic-write mechanism behind run records, checkpoints and manifests."""
import pytest

from lib.atomic import atomic_write, atomic_write_text


def test_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "sub" / "record.json"
    atomic_write_text(path, "old")
    atomic_write(path, lambda f: f.write(b"new"), binary=True)
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]   # no temporary file left


def test_a_writer_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "checkpoint.pt"
    atomic_write_text(path, "complete old file")

    def half_then_crash(handle):
        handle.write("half of the new fi")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        atomic_write(path, half_then_crash)
    assert path.read_text() == "complete old file"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_files_get_the_mode_a_plain_open_gives_them(tmp_path, umask):
    """Not mkstemp's private 0600: colleagues on a shared Ray or Slurm folder read the records (issue 21)."""
    import os

    before = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "record.json", "{}")
        with open(tmp_path / "plain.json", "w") as handle:
            handle.write("{}")
    finally:
        os.umask(before)
    mode = (tmp_path / "record.json").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    import os
    import subprocess
    import time

    from lib.atomic import HOST, STALE_AFTER_S, remove_stale_temporaries

    ended = subprocess.Popen(["true"])
    ended.wait()                                                     # a process id that no longer runs
    names = {
        "killed here": f".c.npy.{HOST}.{ended.pid}.ab12cd34.tmp",
        "running here": f".c.npy.{HOST}.{os.getpid()}.ab12cd34.tmp",
        "other host, fresh": ".c.npy.node7.123.ab12cd34.tmp",
        "other host, old": ".d.npy.node7.123.ab12cd34.tmp",
        "old-style name, fresh": ".c.npy.999-deadbeef.tmp",
        "old-style name, old": ".e.npy.999-deadbeef.tmp",
        "a finished file": "c.npy",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"half")
    an_hour_ago = time.time() - STALE_AFTER_S - 60
    for case in ("other host, old", "old-style name, old"):
        os.utime(tmp_path / names[case], (an_hour_ago, an_hour_ago))
    removed = {p.name for p in remove_stale_temporaries(tmp_path)}
    assert removed == {names[c] for c in ("killed here", "other host, old", "old-style name, old")}
    assert {p.name for p in tmp_path.iterdir()} == set(names.values()) - removed
