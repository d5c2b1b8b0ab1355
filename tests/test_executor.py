"""The grid executors: a local Ray cluster with two workers runs a 3 x 2 x 2 grid exactly once, a second
pass does no work, a failing run is reported with its error while the others finish, crashes are retried a
bounded number of times; and the local executor keeps today's behaviour."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from lib import config, executor, results, runs
from lib.errors import ConfigError, DataError, UnknownNameError
from lib.executor import GridError

GRID = dict(backbones="shufflenet_v2_x2_0,mobilenet_v3_large,resnet50", datasets="digits",
            fractions=[0.05, 0.1], seeds=[0, 1], max_epochs=2, image_size=16)   # small; 2 epochs: AdamW then SGD


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """One local Ray for the module: 2 CPUs, so at most two runs at once."""
    ray = pytest.importorskip("ray")
    mp = pytest.MonkeyPatch()
    mp.setenv("WB_CACHE", str(tmp_path_factory.mktemp("cache")))   # the workers inherit it from the driver
    executor.start_ray(num_cpus=2)
    yield ray
    ray.shutdown()
    mp.undo()


@pytest.fixture(scope="module")
def grid(ray_cluster, tmp_path_factory):
    """The 12-run grid, run once on Ray; its folders and records."""
    base = tmp_path_factory.mktemp("grid")
    folders = dict(records_dir=base / "runs", checkpoint_dir=base / "ck", data_root=base / "data")
    configs = config.plan("ci", **GRID)
    records = runs.run_all(configs, executor="ray", progress=False, **folders)
    return configs, records, folders


@pytest.mark.slow
def test_ray_runs_every_run_of_the_grid_exactly_once(grid, ray_cluster):
    configs, records, folders = grid
    assert len(configs) == 12 and len({r["run_key"] for r in records}) == 12
    assert [r["run_key"] for r in records] == [results.run_key(c.as_dict()) for c in configs]   # in order
    files = sorted(folders["records_dir"].glob("*.json"))
    assert [f.stem for f in files] == sorted(r["run_key"] for r in records)            # one file per run
    assert not list(folders["records_dir"].glob(".*")) and not list(folders["checkpoint_dir"].glob("*.pt"))
    assert all(r["config"]["device"] == "cpu" and r["image_size"] == [16, 16] for r in records)
    # Two workers really ran at once: some runs overlap in time.
    spans = sorted((r["started"], r["finished"]) for r in records)
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


@pytest.mark.slow
def test_running_the_grid_again_does_no_work(grid):
    configs, records, folders = grid
    stamps = {p: p.stat().st_mtime_ns for p in folders["records_dir"].glob("*.json")}
    again = runs.run_all(configs, executor="ray", progress=False, **folders)
    assert again == records
    assert {p: p.stat().st_mtime_ns for p in folders["records_dir"].glob("*.json")} == stamps


@pytest.mark.slow
def test_a_failing_run_is_reported_while_the_others_finish(grid, capsys):
    configs, records, folders = grid
    missing = config.make_config("resnet50", "cifar10", profile="ci")              # dataset not on disk
    corrupt = config.make_config("shufflenet_v2_x2_0", "digits", seed=7, profile="ci", max_epochs=1,
                                fraction=0.05, image_size=16)
    checkpoint = folders["checkpoint_dir"] / f"{results.run_key(corrupt.as_dict())}.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    logs = []
    with pytest.raises(GridError) as caught:
        runs.run_all([configs[0], missing, corrupt, configs[1]], executor="ray", progress=False,
                      log=logs.append, **folders)
    assert sum(line.startswith("[") for line in logs) == 4                  # the grid's progress, one per run
    assert any(f"{missing.dataset}" in line and "failed" in line for line in logs)
    outcomes = caught.value.outcomes
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert outcomes[0].record == records[0] and outcomes[3].record == records[1]
    assert "CIFAR-10" in outcomes[1].error and str(checkpoint) in outcomes[2].error
    assert caught.value.user_errors_only                   # bad data: not retried, exit 2 on the command line
    message = str(caught.value)
    assert "2 of 4 runs failed" in message and "\n" not in message
    assert len(list(folders["records_dir"].glob("*.json"))) == 12                 # nothing new, nothing lost
    checkpoint.unlink()


@pytest.mark.slow
def test_ray_retries_a_crash_or_a_dead_worker_then_reports_it(ray_cluster, tmp_path):
    marker = tmp_path / "crashed-once"

    def crashes_once(cfg, **kwargs):             # pickled by value into the Ray worker
        if not marker.exists():
            marker.write_text("1")
            raise RuntimeError("worker lost its GPU")
        return {"run_key": "fine", "seed": cfg.seed}

    def always_crashes(cfg, **kwargs):
        with open(tmp_path / "attempts", "a") as f:
            f.write("x")
        raise MemoryError("out of memory")

    def worker_killed_once(cfg, **kwargs):       # the worker process dies (OOM killer, preempted node)
        import os
        import signal
        if not (tmp_path / "killed-once").exists():
            (tmp_path / "killed-once").write_text("1")
            os.kill(os.getpid(), signal.SIGKILL)
        return {"run_key": "survived"}

    cfg = config.make_config("resnet50", "digits", profile="ci")
    [killed] = executor.execute([(cfg, {})], "ray", retries=1, run_fn=worker_killed_once, log=lambda s: None)
    assert killed.ok and killed.record == {"run_key": "survived"} and (tmp_path / "killed-once").exists()
    [first] = executor.execute([(cfg, {})], "ray", retries=1, run_fn=crashes_once, log=lambda s: None)
    assert first.ok and first.record == {"run_key": "fine", "seed": 0}
    [second] = executor.execute([(cfg, {})], "ray", retries=2, run_fn=always_crashes, log=lambda s: None)
    assert not second.ok and second.error == "MemoryError: out of memory" and not second.user_error
    assert (tmp_path / "attempts").read_text() == "xxx"                            # 1 + 2 retries, then stop


def test_local_retries_a_crash_but_not_bad_input(tmp_path):
    attempts = []

    def flaky(cfg, **kwargs):
        attempts.append(cfg.seed)
        if cfg.seed == 0 and attempts.count(0) < 3:
            raise RuntimeError("CUDA error: an illegal memory access")
        if cfg.seed == 1:
            raise DataError("digits: image x.png is truncated")
        return {"run_key": str(cfg.seed)}

    cfgs = [config.make_config("resnet50", "digits", seed=s, profile="ci") for s in (0, 1, 2)]
    logs = []
    out = executor.execute([(c, {}) for c in cfgs], "local", retries=2, run_fn=flaky, log=logs.append)
    assert attempts == [0, 0, 0, 1, 2]                        # two retries of the crash, none of the bad data
    assert [o.ok for o in out] == [True, False, True] and [o.attempts for o in out] == [3, 1, 1]
    assert out[1].user_error and out[1].error == "digits: image x.png is truncated"
    assert any("retrying (1 of 3 attempts made)" in line for line in logs)

    out = executor.execute([(cfgs[0], {})], "local", retries=0,
                           run_fn=lambda c, **k: (_ for _ in ()).throw(RuntimeError("boom")), log=logs.append)
    assert out[0].error == "RuntimeError: boom" and out[0].attempts == 1 and not out[0].user_error


def test_executor_settings_are_checked_before_any_work():
    with pytest.raises(UnknownNameError, match="unknown executor 'slurm'"):
        executor.check_executor("slurm")
    with pytest.raises(ConfigError, match="only used with executor 'ray'"):
        executor.check_executor("local", ray_address="10.0.0.1:6379")
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigError, match="retries"):
            executor.check_executor("ray", retries=bad)


def test_one_gpu_per_run_when_the_cluster_has_gpus():
    paper = config.make_config("resnet50", "digits", profile="paper", device="cpu")  # as asked
    ci = config.make_config("resnet50", "digits", profile="ci")            # the ci profile asks for the CPU
    options, worker, extra = executor.ray_resources(paper, cluster_gpus=4)
    if not torch.cuda.is_available():
        assert options == {"num_gpus": 1, "num_cpus": 1} and worker.device == "cuda" and extra == {}
    assert executor.ray_resources(ci, cluster_gpus=4)[0] == {"num_cpus": 1}
    options, worker, extra = executor.ray_resources(paper, cluster_gpus=0, cpus_per_run=3)
    assert options == {"num_cpus": 3} and worker.device == "cpu" and extra == {"threads": 3}
    # The worker's config has the same run key: the device is not part of it.
    assert results.run_key(worker.as_dict()) == results.run_key(paper.as_dict())
    assert dataclasses.replace(worker, device=paper.device) == paper


def test_local_run_all_raises_grid_error_after_the_others(tmp_path, monkeypatch):
    ran = []

    def fake_run(cfg, **kwargs):
        ran.append(cfg.seed)
        if cfg.seed == 1:
            raise DataError("dataset gone")
        return {"run_key": str(cfg.seed)}

    monkeypatch.setattr(runs, "run", fake_run)
    cfgs = [config.make_config("resnet50", "digits", seed=s, profile="ci") for s in (0, 1, 2)]
    with pytest.raises(GridError, match=r"run resnet50__digits__\S+__s1__\S+ failed: dataset gone") as caught:
        runs.run_all(cfgs, records_dir=tmp_path / "runs", checkpoint_dir=tmp_path / "ck", log=lambda s: None)
    assert ran == [0, 1, 2] and [o.ok for o in caught.value.outcomes] == [True, False, True]
    assert runs.run_all(cfgs[::2], records_dir=tmp_path / "runs", checkpoint_dir=tmp_path / "ck",
                         log=lambda s: None) == [{"run_key": "0"}, {"run_key": "2"}]


@pytest.mark.slow
def test_a_crashed_ray_run_resumes_from_its_checkpoint(grid, tmp_path):
    """A real run crashes after its first epoch (checkpoint written); Ray's retry resumes it and ends with the
    record the grid's uninterrupted run wrote."""
    configs, records, folders = grid
    marker = tmp_path / "crashed"

    def crash_after_first_epoch(cfg, **kwargs):
        from lib import runs as runner
        if not marker.exists():
            marker.write_text("1")
            runner.run(cfg, stop_after_epochs=1, **kwargs)
            raise RuntimeError("node lost")
        if not list(kwargs["checkpoint_dir"].glob("*.pt")):       # the retry must find epoch 1's checkpoint
            raise LookupError("no checkpoint to resume from")
        return runner.run(cfg, **kwargs)

    where = dict(records_dir=tmp_path / "runs", checkpoint_dir=tmp_path / "ck", data_root=folders["data_root"])
    [outcome] = executor.execute([(configs[0], where)], "ray", retries=1, run_fn=crash_after_first_epoch,
                                 log=lambda s: None)
    assert outcome.ok and marker.exists()
    resumed, whole = outcome.record, records[0]
    same = ("run_key", "test_top1", "test_top5", "val_top1", "best_epoch", "epochs_adamw", "epochs_sgd")
    assert [resumed[k] for k in same] == [whole[k] for k in same]
    losses = [(h["train_loss"], h["val_top1"], h["test_top1"]) for h in resumed["history"]]
    assert losses == [(h["train_loss"], h["val_top1"], h["test_top1"]) for h in whole["history"]]
    assert not list((tmp_path / "ck").glob("*.pt"))
