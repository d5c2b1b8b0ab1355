"""Kill a real training process with SIGKILL at three moments, resume it, and get the uninterrupted run's record.

The kill comes from the test's side: a small wrapper script (written below) patches one function in the
training process to ``os.kill(os.getpid(), SIGKILL)`` at the chosen moment, then runs ``python -m lib.train``'s
``main``. Nothing in ``lib`` knows about it. Moments: in the middle of an epoch (a training step), in a
checkpoint write after the temporary file is complete but before the rename, and in the record write at the
same point. After each kill no record exists, the half-written file is never read (``load_records`` sees
nothing, the checkpoint that loads is the previous complete one), and the resumed run's record equals the
uninterrupted run's in everything except timings and provenance.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from lib import checkpoints, cli, config, paths, results, runs
from lib.provenance import environment

pytestmark = pytest.mark.slow

WRAPPER = r'''
import os, signal, sys
from pathlib import Path

moment, nth, watched = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]).resolve()
calls = 0

def killed_on_call():
    global calls
    calls += 1
    return calls == nth

if moment == "epoch":                                  # the nth loss computed (training step or evaluation batch)
    import torch.nn.functional as F
    original_loss = F.cross_entropy
    def cross_entropy(*args, **kwargs):
        if killed_on_call():
            os.kill(os.getpid(), signal.SIGKILL)
        return original_loss(*args, **kwargs)
    F.cross_entropy = cross_entropy
else:                                                  # the nth rename into `watched`: temporary file complete
    from lib import atomic
    original_replace = atomic.os.replace
    def replace(src, dst):
        if Path(dst).resolve().parent == watched and killed_on_call():
            os.kill(os.getpid(), signal.SIGKILL)
        return original_replace(src, dst)
    atomic.os.replace = replace

from lib import cli
sys.exit(cli.main(sys.argv[4:]))
'''

TIMING = {"wall_time_s", "images_per_s", "started", "finished", "checksum"}
HISTORY_TIMING = {"train_seconds", "epoch_seconds", "images_per_s"}


def comparable(record: dict) -> dict:
    """The record without timings and provenance (which differ between any two executions)."""
    skip = TIMING | set(environment("cpu"))
    out = {k: v for k, v in record.items() if k not in skip}
    out["history"] = [{k: v for k, v in h.items() if k not in HISTORY_TIMING} for h in record["history"]]
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill")
    (base / "kill_at.py").write_text(WRAPPER)
    env = {**os.environ, "WB_CACHE": str(base / "cache")}
    return base, env


def cli_args(folder) -> list[str]:
    return ["--backbone", "shufflenet_v2_x2_0", "--dataset", "digits", "--profile", "ci", "--image-size", "16",
            "--results", str(folder / "runs"), "--checkpoints", str(folder / "ck"),
            "--data-root", str(folder / "data"), "--no-progress"]


def killed_run(folder, env, kill_at: list[str]) -> subprocess.CompletedProcess:
    argv = [sys.executable, *kill_at, *cli_args(folder)]
    return subprocess.run(argv, cwd=paths.ROOT, env=env, capture_output=True, text=True, timeout=240)


def lib_train(folder, env, capsys) -> tuple[int, str]:
    """``python -m lib.train`` in this process (saves a second interpreter start per run)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WB_CACHE", env["WB_CACHE"])
        capsys.readouterr()
        code = cli.main(cli_args(folder))
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def uninterrupted(setup):
    base, env = setup
    done = killed_run(base / "whole", env, ["-m", "lib.train"])     # a plain run, not killed
    assert done.returncode == 0, done.stderr
    [path] = (base / "whole" / "runs").glob("*.json")
    return results.read_record(path)


def losses_per_epoch(record: dict) -> int:
    """Loss computations in one epoch: every training step, then every validation and test batch."""
    batches = [-(-n // record["batch_size"]) for n in record["split_sizes"].values()]
    return sum(batches)


@pytest.mark.parametrize("moment, nth, watched, resumes_after", [
    ("epoch", "3 into epoch 2", "ck", 1),               # third training step of epoch 2
    ("checkpoint", 2, "ck", 1),                        # epoch 2's checkpoint complete in its temporary file
    ("record", 1, "runs", 2),                          # the record complete in its temporary file
])
def test_sigkill_then_resume_gives_the_uninterrupted_record(setup, uninterrupted, moment, nth, watched,
                                                            resumes_after, capsys):
    base, env = setup
    folder = base / moment
    if moment == "epoch":
        nth = losses_per_epoch(uninterrupted) + 3
    killed = killed_run(folder, env, [str(base / "kill_at.py"), moment, str(nth), str(folder / watched)])
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    runs, ck = folder / "runs", folder / "ck"
    assert not list(runs.glob("*.json")) and results.load_records(runs).empty     # no record, none half-read
    [checkpoint] = ck.glob("*.pt")                                                  # the last complete one
    assert checkpoints.load_checkpoint(checkpoint)["state"]["epoch"] == resumes_after
    leftovers = list(runs.glob(".*.tmp")) + list(ck.glob(".*.tmp"))
    assert len(leftovers) == (0 if moment == "epoch" else 1)                         # what the kill left behind
    key = uninterrupted["run_key"]
    cfg = config.make_config("shufflenet_v2_x2_0", "digits", profile="ci", image_size=16)
    assert config.plan_status([cfg], runs, ck)["status"].tolist() == ["resumable"]

    code, out = lib_train(folder, env, capsys)
    assert code == 0, out
    assert f"resumed from {checkpoint} after epoch {resumes_after}" in out
    assert all(f"removed {p}" in out for p in leftovers)
    [path] = runs.glob("*.json")
    assert path.name == f"{key}.json"
    record = results.read_record(path)
    assert comparable(record) == comparable(uninterrupted)
    assert not list(ck.glob("*.pt")) and not list(runs.glob(".*")) and not list(ck.glob(".*.tmp"))


def test_comparison_sees_a_changed_number(uninterrupted):
    """The equality above is not vacuous: one changed metric, one changed epoch loss, are both seen."""
    other = json.loads(json.dumps(uninterrupted))
    other["test_top1"] += 0.01
    assert comparable(other) != comparable(uninterrupted)
    other = json.loads(json.dumps(uninterrupted))
    other["history"][1]["train_loss"] *= 1.0000001
    assert comparable(other) != comparable(uninterrupted)
