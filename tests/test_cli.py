"""``python -m lib.train``: bad input exits 2 with one ``error:`` line and writes nothing; a real run
prints its record and test top-1 last; asking again re-uses the record."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lib import cli, config, paths, results


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    return {"results": tmp_path / "runs", "checkpoints": tmp_path / "ck", "data": tmp_path / "data"}


def folder_args(dirs) -> list[str]:
    return ["--results", str(dirs["results"]), "--checkpoints", str(dirs["checkpoints"]),
            "--data-root", str(dirs["data"]), "--no-progress"]


@pytest.mark.parametrize("argv, mentions", [
    (["--backbone", "resnet5", "--dataset", "digits"], "resnet5"),
    (["--backbone", "resnet50", "--dataset", "mnist"], "mnist"),
    (["--backbone", "resnet50", "--dataset", "digits", "--fraction", "1.5"], "1.5"),
    (["--backbone", "resnet50", "--dataset", "digits", "--fraction", "0"], "fraction"),
    (["--backbone", "resnet50", "--dataset", "digits", "--profile", "fast"], "fast"),
    (["--backbone", "resnet50", "--dataset", "digits", "--max-epochs", "0"], "max_epochs"),
    (["--backbone", "resnet50", "--dataset", "digits", "--batch-size", "-4"], "batch size"),
    (["--backbone", "resnet50", "--dataset", "digits", "--device", "tpu"], "tpu"),
    (["--backbone", "resnet50", "--dataset", "digits", "--colour"], "--colour"),
    (["--backbone", "resnet50"], "--dataset"),
    (["--backbone", "resnet50", "--dataset", "cifar10"], "cifar10"),          # data not on disk
    (["grid", "--backbones", "resnet50,vgg16", "--datasets", "digits"], "vgg16"),
    (["grid", "--backbones", "resnet50", "--datasets", "digits", "--seeds", "0,x"], "0,x"),
    (["grids", "--backbones", "resnet50"], "unknown sub-command 'grids'"),         # not "--backbone is required"
    (["grid", "--backbones", "resnet50", "--seeds", ","], "seeds"),                 # an empty list does nothing
    (["grid", "--backbones", "resnet50", "--datasets", ""], "datasets"),
    (["grid", "--backbones", ",", "--datasets", "digits"], "backbones"),
    (["grid", "--backbones", "resnet50", "--fractions", " , "], "fractions"),
    (["grid", "--backbones", "resnet50", "--seeds", str(2**70)], str(2**70)),      # not an overflow deep in numpy
    (["--backbone", "resnet50", "--dataset", "digits", "--seed", str(2**40)], "seed"),
    (["--backbone", "resnet50", "--dataset", "digits", "--workers", "-1"], "workers"),
])
def test_bad_input_exits_2_with_one_line_and_no_record(argv, mentions, dirs, capsys):
    assert cli.main(argv + folder_args(dirs)) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and mentions in lines[0], err
    assert not dirs["results"].exists() or not list(dirs["results"].iterdir())


@pytest.mark.slow
def test_command_line_trains_then_reuses_the_record(dirs):
    argv = [sys.executable, "-m", "lib.train", "--backbone", "mobilenet_v3_large", "--dataset", "digits",
            "--profile", "ci", *folder_args(dirs)]
    env = {**os.environ, "WB_CACHE": os.environ["WB_CACHE"]}
    first = subprocess.run(argv, cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    records = list(dirs["results"].glob("*.json"))
    assert len(records) == 1
    record = results.read_record(records[0])
    last = first.stdout.strip().splitlines()[-1]
    assert str(records[0]) in last and f"test top-1 {record['test_top1']:.2f} %" in last
    assert "switch to SGD after epoch 1" in first.stdout            # the phase switch is visible
    assert not list(dirs["checkpoints"].glob("*.pt"))              # finished: no checkpoint left

    again = subprocess.run(argv, cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "re-used finished run" in again.stdout
    assert again.stdout.strip().splitlines()[-1] == last
    assert list(dirs["results"].glob("*.json")) == records and results.read_record(records[0]) == record


@pytest.mark.slow
def test_a_failed_run_in_a_grid_exits_2_after_the_others_finish(dirs, capsys):
    """One grid run has a damaged checkpoint: the other is trained and printed, the damaged one is named on one
    error line (exit 2); once it is deleted, the same command re-uses the first run and trains the second."""
    grid = ["grid", "--backbones", "shufflenet_v2_x2_0,mobilenet_v3_large", "--datasets", "digits",
            "--profile", "ci", "--fractions", "0.05", "--image-size", "16", "--max-epochs", "1",
            *folder_args(dirs)]
    damaged = config.make_config("mobilenet_v3_large", "digits", profile="ci", fraction=0.05, image_size=16,
                                max_epochs=1)
    checkpoint = dirs["checkpoints"] / f"{results.run_key(damaged.as_dict())}.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"half a checkpoint")

    assert cli.main(grid) == 2
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert line.startswith("error: run mobilenet_v3_large__") and str(checkpoint) in line and "delete it" in line
    assert "the other 1 runs finished and are recorded" in line
    [trained] = dirs["results"].glob("*.json")
    assert trained.name.startswith("shufflenet_v2_x2_0__") and f"record {trained}" in out

    checkpoint.unlink()
    assert cli.main(grid) == 0
    out, err = capsys.readouterr()
    assert f"re-used finished run {trained.stem}" in out and not err
    assert len(list(dirs["results"].glob("*.json"))) == 2 and "record " in out.strip().splitlines()[-1]
