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
