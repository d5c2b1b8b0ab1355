"""Interrupts and faults end in one line (issue 30): Ctrl-C (SIGINT) or SIGTERM during ``python -m lib.train``
(one run or a grid) or ``python -m yourdata`` prints what was saved and the command that resumes it, exits 130
or 143 and shows no traceback; any other fault is one ``error:`` line too."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lib import cli, errors, paths
import yourdata


def _start(argv: list[str], tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """The command in a process group of its own (so Ctrl-C reaches its loader workers too, as in a terminal)."""
    out = tmp_path / "stdout.txt"
    env = {**os.environ, "WB_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, *argv], cwd=paths.ROOT, env=env, stdout=open(out, "w"),
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    return proc, out


def _wait_for(out: Path, text: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while text not in (out.read_text() if out.exists() else ""):
        assert proc.poll() is None, f"ended before {text!r}: {proc.stderr.read()}"
        assert time.monotonic() < end, f"no {text!r} after {timeout} s"
        time.sleep(0.2)


def _train_argv(tmp_path: Path, *extra: str) -> list[str]:
    return ["-m", "lib.train", *extra, "--profile", "ci", "--image-size", "32", "--no-progress",
            "--results", str(tmp_path / "runs"), "--checkpoints", str(tmp_path / "ck")]


@pytest.mark.slow
def test_ctrl_c_during_a_run_says_what_was_saved_and_how_to_resume(tmp_path):
    argv = _train_argv(tmp_path, "--backbone", "shufflenet_v2_x2_0", "--dataset", "digits", "--workers", "1")
    proc, out = _start(argv, tmp_path)
    _wait_for(out, "epoch   1", proc)
    while not list((tmp_path / "ck").glob("*.pt")):    # epoch 1's checkpoint is written after its log line
        assert proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)                 # what Ctrl-C does: the whole foreground group
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    [line] = err.strip().splitlines()
    assert line.startswith("interrupted (SIGINT): 0 of 1 runs finished") and "1 resumable" in line
    assert f"run the same command again: python -m lib.train --backbone shufflenet_v2_x2_0" in line
    assert "Traceback" not in err + out.read_text()
    assert len(list((tmp_path / "ck").glob("*.pt"))) == 1 and not list((tmp_path / "ck").glob(".*.tmp"))


@pytest.mark.slow
def test_sigterm_during_a_grid_exits_143_with_one_line(tmp_path):
    argv = _train_argv(tmp_path, "grid", "--backbones", "shufflenet_v2_x2_0,mobilenet_v3_large",
                       "--datasets", "digits", "--fractions", "0.05", "--max-epochs", "1")
    proc, out = _start(argv, tmp_path)
    _wait_for(out, "record written", proc)             # the first run finished, the second starts
    proc.send_signal(signal.SIGTERM)                   # what a scheduler (Slurm, systemd, kill) sends
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 143, err
    [line] = err.strip().splitlines()
    assert line.startswith("interrupted (SIGTERM): ") and "of 2 runs finished and recorded" in line
    assert "python -m lib.train grid --backbones shufflenet_v2_x2_0,mobilenet_v3_large" in line
    assert "Traceback" not in err


def test_an_interrupt_before_any_run_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)   # the handler raises before this ends
    monkeypatch.setattr(cli, "run_all", terminated)
    before = signal.getsignal(signal.SIGTERM)
    status = cli.main(["--backbone", "resnet50", "--dataset", "digits", "--profile", "ci",
                       "--results", str(tmp_path / "runs"), "--checkpoints", str(tmp_path / "ck")])
    assert status == 143 and signal.getsignal(signal.SIGTERM) == before, "the handler must be given back"
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("interrupted (SIGTERM): 0 of 1 runs finished") and "python -m lib.train" in line


def test_another_fault_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    def crash(*args, **kwargs):
        raise MemoryError("cannot allocate 3 GB")
    monkeypatch.setattr(cli, "run_all", crash)
    assert cli.main(["--backbone", "resnet50", "--dataset", "digits", "--profile", "ci",
                     "--results", str(tmp_path / "runs")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: MemoryError: cannot allocate 3 GB")


# --- yourdata -----------------------------------------------------------------------------------------------

@pytest.fixture
def small_plan(tmp_path, monkeypatch):
    """A real plan of a small folder with made-up costs; ``plan_search`` returns it without measuring."""
    for k, cls in enumerate("ab"):
        for i in range(7):
            (tmp_path / "toy" / cls).mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((6, 6, 3), 30 * k + i, np.uint8)).save(tmp_path / "toy" / cls / f"{i}.png")
    costs = pd.DataFrame([{"backbone": "resnet50", "display": "ResNet-50", "params_m": 1.0, "size_mb": 4.0,
                           "train_img_s": 1e6, "infer_img_s": 1e9, "build_s": 0.0, "checkpoint_s": 0.0}])
    plan = yourdata.plan_search(tmp_path / "toy", backbones="resnet50", costs=costs, profile="ci",
                                out_dir=tmp_path / "out")
    monkeypatch.setattr(yourdata, "plan_search", lambda *a, **k: plan)
    return plan


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_yourdata_interrupted_says_what_is_kept_and_how_to_resume(signum, status, small_plan, monkeypatch,
                                                                  capsys):
    (small_plan.records_dir).mkdir(parents=True)
    (small_plan.records_dir / "resnet50__a-finished-run.json").write_text("{}")

    def interrupted(plan, **kwargs):
        os.kill(os.getpid(), signum)
        time.sleep(5)
    monkeypatch.setattr(yourdata, "run_search", interrupted)
    assert yourdata.main([str(small_plan.check.location), "--profile", "ci"]) == status
    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert line.startswith(f"interrupted ({signal.Signals(signum).name}): 1 finished runs are kept in")
    assert line.endswith(f"python -m yourdata {small_plan.check.location} --profile ci")


def test_yourdata_interrupted_while_planning_says_nothing_was_trained(tmp_path, monkeypatch, capsys):
    def planning(*args, **kwargs):
        raise errors.Interrupted(signal.SIGINT)
    monkeypatch.setattr(yourdata, "plan_search", planning)
    assert yourdata.main([str(tmp_path)]) == 130
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("interrupted (SIGINT): nothing was trained yet; to resume, run the same command again")


def test_yourdata_a_fault_while_reporting_is_one_line(small_plan, monkeypatch, capsys):
    monkeypatch.setattr(yourdata, "run_search", lambda plan, **kwargs: object())

    def report(result):
        raise PermissionError(13, "Permission denied", str(small_plan.out_dir / "ranking.csv"))
    monkeypatch.setattr(yourdata, "write_report", report)
    assert yourdata.main([str(small_plan.check.location), "--profile", "ci"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: PermissionError: ") and "Permission denied" in line
