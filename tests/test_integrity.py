"""Records and checkpoints are written atomically and carry a checksum that is verified on every read; a
damaged one is reported by its path with what to do, never silently re-used and never silently discarded."""
from __future__ import annotations

import json
import re
import threading

import pytest
import torch

from lib import atomic, checkpoints, config, results, runs, train
from lib.errors import DataError

CFG = dict(backbone="shufflenet_v2_x2_0", dataset="digits", profile="ci")


def record(key: str = "k", **changes) -> dict:
    rec = {f: 0 for f in results.REQUIRED_FIELDS if f != "checksum"}
    return {**rec, "run_key": key, "image_size": [32, 32], "history": [{"epoch": 1, "train_loss": 2.25}], **changes}


def state() -> dict:
    return {"config": config.make_config(**CFG).as_dict(), "model": {"w": torch.arange(1000.0)}, "epoch": 3}


# ---------------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------------

def test_checkpoint_round_trip_through_its_checksum(tmp_path):
    path = tmp_path / "run.pt"
    checkpoints.save_checkpoint(path, state())
    assert path.read_bytes().startswith(checkpoints.MAGIC)
    loaded = checkpoints.load_checkpoint(path)
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["w"], torch.arange(1000.0))
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]                    # no temporary left


@pytest.mark.parametrize("damage, problem", [
    (lambda b: b[:-1], "fails its checksum"),                                     # truncated
    (lambda b: b[:200] + bytes([b[200] ^ 1]) + b[201:], "fails its checksum"),   # one flipped bit
    (lambda b: b + b"\0", "fails its checksum"),                                  # trailing garbage
    (lambda b: b[len(checkpoints.MAGIC) + 65:], "has no checksum header"),  # a bare torch.save file
    (lambda b: b"", "has no checksum header"),                                    # empty
])
def test_a_damaged_checkpoint_is_refused_by_path(tmp_path, damage, problem):
    path = tmp_path / "run.pt"
    checkpoints.save_checkpoint(path, state())
    damaged = damage(path.read_bytes())
    path.write_bytes(damaged)
    with pytest.raises(DataError, match=re.escape(f"checkpoint {path} {problem}") + ".*delete it"):
        checkpoints.load_checkpoint(path)
    assert path.read_bytes() == damaged                                           # reported, not deleted


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    checkpoints.save_checkpoint(path, state())

    def crash(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(DataError, match="No space"):   # a full disk is one line for the reader (issue 30)
        checkpoints.save_checkpoint(path, {**state(), "epoch": 4})
    monkeypatch.undo()
    assert checkpoints.load_checkpoint(path)["epoch"] == 3 and [p.name for p in tmp_path.iterdir()] == ["run.pt"]


@pytest.mark.parametrize("written_by", ["an older trainer (one optimizer entry per phase)", "a foreign state"])
def test_a_checkpoint_of_another_trainer_version_is_refused_by_path(tmp_path, written_by):
    """A checksum-valid checkpoint the trainer cannot resume from: one line naming it and what to do, never a
    crash that every retry repeats (the old layout had adamw/sgd entries, one of them None)."""
    cfg = train.TrainConfig(backbone="b", dataset="d", seed=0, profile="ci", fraction=1.0, pretrained=False,
                            image_size=(8, 8), batch_size=4, patience=1, max_epochs=1, min_sgd_epochs=0, amp="off",
                            channels_last=False, eval_test_every_epoch=False, device="cpu")
    model = torch.nn.Linear(2, 2)
    old = {"config": cfg.as_dict(), "state": {"epoch": 1, "phase": "done"}, "model": model.state_dict(),
           "best_model": model.state_dict(), "adamw": None, "sgd": None, "scaler": {}, "rng": {}}
    if written_by == "a foreign state":
        old = {**old, "optimizer": {}, "state": {"phase": "done", "epochs": 1}}
    path = tmp_path / "run.pt"
    checkpoints.save_checkpoint(path, old)
    with pytest.raises(DataError, match=re.escape(f"checkpoint {path}") + ".*delete it to restart"):
        train.dual_opt_fit(model, {}, cfg, train.Runtime(torch.device("cpu"), progress=False), checkpoint=path,
                           log=lambda s: None)


@pytest.mark.slow
def test_a_run_with_a_damaged_checkpoint_stops_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    cfg = config.make_config(**CFG)
    checkpoint = tmp_path / "ck" / f"{results.run_key(cfg.as_dict())}.pt"
    checkpoints.save_checkpoint(checkpoint, state())
    checkpoint.write_bytes(checkpoint.read_bytes()[:-10])
    logs = []
    with pytest.raises(DataError, match=re.escape(str(checkpoint))):
        runs.run(cfg, records_dir=tmp_path / "runs", checkpoint_dir=tmp_path / "ck", progress=False,
                  log=logs.append)
    assert not any(line.startswith("epoch") for line in logs)                     # nothing was trained
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    status = config.plan_status([cfg], tmp_path / "runs", tmp_path / "ck")
    assert status["status"].tolist() == ["resumable"]              # header intact: the full check is on resume
    checkpoint.write_bytes(b"garbage")
    status = config.plan_status([cfg], tmp_path / "runs", tmp_path / "ck")
    assert status["status"].tolist() == ["corrupt checkpoint: delete it to start again"]


# ---------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------

def test_a_record_carries_a_checksum_that_sees_any_change(tmp_path):
    path = results.write_record(record(), tmp_path)
    assert results.read_record(path)["history"][0]["train_loss"] == 2.25
    text = path.read_text()
    for edited in (text.replace("2.25", "2.26"), text.replace('"seed": 0', '"seed": 1'), text[:-20]):
        path.write_text(edited)
        with pytest.raises(DataError, match=re.escape(f"run record {path}") + ".*delete it"):
            results.read_record(path)
        assert not results.is_intact(path)


def test_damaged_records_are_reported_by_path_not_skipped(tmp_path):
    for key in ("a", "b", "c"):
        results.write_record(record(key), tmp_path)
    assert len(results.load_records(tmp_path)) == 3
    (tmp_path / "b.json").write_text((tmp_path / "b.json").read_text().replace("2.25", "9.99"))
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "b.json"))):
        results.load_records(tmp_path)
    (tmp_path / "c.json").write_text("{")
    with pytest.raises(DataError, match=r"2 run records in .* b\.json, c\.json; .*delete them"):
        results.load_records(tmp_path)
    assert (tmp_path / "b.json").exists() and (tmp_path / "c.json").exists()      # never silently removed


def test_a_damaged_record_is_never_re_used_by_a_run(tmp_path):
    cfg = config.make_config(**CFG)
    key = results.run_key(cfg.as_dict())
    path = results.write_record(record(key, test_top1=50.0), tmp_path)
    assert config.plan_status([cfg], tmp_path, tmp_path)["status"].tolist() == ["recorded"]
    path.write_text(path.read_text().replace('"test_top1": 50.0', '"test_top1": 95.0'))
    assert config.plan_status([cfg], tmp_path, tmp_path)["status"].tolist() == [
        "corrupt record: delete it to run again"]
    with pytest.raises(DataError, match=re.escape(str(path))):
        runs.run(cfg, records_dir=tmp_path, checkpoint_dir=tmp_path, progress=False, log=lambda s: None)


def test_concurrent_writers_of_one_record_leave_one_whole_file(tmp_path):
    """Eight threads write the same record at once (as two grid workers finishing one run could)."""
    barrier = threading.Barrier(8)

    def write(i):
        barrier.wait()
        results.write_record(record("same", seed=i, history=[{"epoch": e} for e in range(2000)]), tmp_path)
    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.name for p in tmp_path.iterdir()] == ["same.json"]
    assert results.read_record(tmp_path / "same.json")["seed"] in range(8)


def test_temporaries_are_never_read_as_records(tmp_path):
    results.write_record(record("a"), tmp_path)
    (tmp_path / ".b.json.x1y2.tmp").write_text(json.dumps(record("b"))[:50])      # left by a killed writer
    frame = results.load_records(tmp_path)
    assert frame["run_key"].tolist() == ["a"]
