"""Bad input, table-driven: every case gives one specific error line (exit 2 on the command line) and no record.

The command-line cases run ``lib.cli.main`` in this process; the chapter cases execute two real chapters
with papermill and a bad parameter. Cases that need something on disk (malformed data, an unwritable
folder, a corrupt checkpoint, record or weights file) prepare it first with a small ``setup`` function.
"""
from __future__ import annotations

import json
import re

import pytest
import torch

from lib import checkpoints, cli, config, models, results, runs
from lib.provenance import REPO_ROOT
from native_fixtures import write_cifar10

ONE = ["--backbone", "shufflenet_v2_x2_0", "--dataset", "digits", "--profile", "ci"]
GRID = ["grid", "--backbones", "shufflenet_v2_x2_0", "--datasets", "digits", "--profile", "ci"]
CI_CONFIG = dict(backbone="shufflenet_v2_x2_0", dataset="digits", profile="ci")


def ci_key() -> str:
    return results.run_key(config.make_config(**CI_CONFIG).as_dict())


def malformed_cifar10(d) -> None:
    batch = write_cifar10(d["data"]) / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(b"\x80\x02 this is not a pickled batch")


def results_under_a_file(d) -> None:
    d["blocker"].write_text("a file, not a folder")


def garbage_checkpoint(d) -> None:
    d["checkpoints"].mkdir(parents=True)
    (d["checkpoints"] / f"{ci_key()}.pt").write_bytes(b"PK\x03\x04 half a zip file")


def truncated_checkpoint(d) -> None:
    path = d["checkpoints"] / f"{ci_key()}.pt"
    checkpoints.save_checkpoint(path, {"config": config.make_config(**CI_CONFIG).as_dict(), "weights": torch.ones(500)})
    path.write_bytes(path.read_bytes()[:-100])


def edited_record(d) -> None:
    d["results"].mkdir(parents=True)
    record = {f: 0 for f in results.REQUIRED_FIELDS if f != "checksum"}
    path = results.write_record({**record, "run_key": ci_key()}, d["results"])
    edited = json.loads(path.read_text())
    edited["test_top1"] = 99.9                                   # "improved" by hand
    path.write_text(json.dumps(edited))


def corrupt_weights(d) -> None:
    path = models.checkpoint_path(models.spec("shufflenet_v2_x2_0"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00" * 1024)                              # an interrupted download


# (case id, command line, text the one error line must contain, setup)
CLI_CASES = [
    ("unknown backbone", ["--backbone", "resnet5", "--dataset", "digits"], "unknown backbone 'resnet5'", None),
    ("unknown dataset", ["--backbone", "resnet50", "--dataset", "mnist"], "unknown dataset 'mnist'", None),
    ("unknown profile", [*ONE[:4], "--profile", "fast"], "unknown profile 'fast'", None),
    ("unknown executor", [*GRID, "--executor", "slurm"], "unknown executor 'slurm'", None),
    ("unknown option", [*ONE, "--colour"], "unrecognized arguments: --colour", None),
    ("unknown amp", [*ONE, "--amp", "fp8"], "'fp8'", None),
    ("unknown device", [*ONE, "--device", "tpu"], "device 'tpu'", None),
    ("address without ray", [*GRID, "--ray-address", "10.0.0.1:6379"], "only used with executor 'ray'", None),
    ("malformed ray address", [*GRID, "--executor", "ray", "--ray-address", "headnode"], "not HOST:PORT", None),
    ("unreachable ray address", [*GRID, "--executor", "ray", "--ray-address", "127.0.0.1:1"],
     "cannot reach a Ray cluster at '127.0.0.1:1'", None),
    ("missing argument", ["--backbone", "resnet50"], "--dataset", None),
    ("fraction type", [*ONE, "--fraction", "half"], "invalid float value: 'half'", None),
    ("seed type", [*ONE, "--seed", "one"], "invalid int value: 'one'", None),
    ("max epochs type", [*ONE, "--max-epochs", "2.5"], "invalid int value: '2.5'", None),
    ("seeds list type", [*GRID, "--seeds", "0,x"], "'0,x'", None),
    ("retries type", [*GRID, "--retries", "many"], "invalid int value: 'many'", None),
    ("fraction too big", [*ONE, "--fraction", "1.5"], "fraction 1.5 is outside (0, 1]", None),
    ("fraction zero", [*ONE, "--fraction", "0"], "fraction 0.0 is outside (0, 1]", None),
    ("negative seed", [*ONE, "--seed", "-1"], "seed -1", None),
    ("zero epochs", [*ONE, "--max-epochs", "0"], "max_epochs 0", None),
    ("negative batch", [*ONE, "--batch-size", "-4"], "batch size -4", None),
    ("tiny image", [*ONE, "--image-size", "4"], "image size (4, 4) is too small", None),
    ("negative retries", [*GRID, "--retries", "-1"], "retries -1", None),
    ("zero cpus per run", [*GRID, "--cpus-per-run", "0"], "cpus per run 0", None),
    ("data missing", ["--backbone", "resnet50", "--dataset", "cifar10", "--profile", "ci"], "CIFAR-10", None),
    ("data malformed", ["--backbone", "resnet50", "--dataset", "cifar10", "--profile", "ci"],
     "data_batch_2", malformed_cifar10),
    ("results unwritable", "results-under-file", "results folder", results_under_a_file),
    ("checkpoints unwritable", "checkpoints-under-file", "checkpoints folder", results_under_a_file),
    ("corrupt checkpoint", ONE, "has no checksum header", garbage_checkpoint),
    ("truncated checkpoint", ONE, "fails its checksum (truncated or damaged)", truncated_checkpoint),
    ("edited record", ONE, "fails its checksum (edited or damaged)", edited_record),
    ("corrupt weights", [*ONE, "--pretrained"], "shufflenetv2_x2_0-8be3c8ee.pth is corrupt", corrupt_weights),
    ("missing weights", [*ONE, "--pretrained"], "weights not found: expected file", None),
]


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)                 # follow TORCH_HOME; restored after
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda url, *a, **k: pytest.fail(f"attempted to download {url}"))
    return {"results": tmp_path / "runs", "checkpoints": tmp_path / "ck", "data": tmp_path / "data",
            "blocker": tmp_path / "blocker"}


def folder_args(d, argv) -> tuple[list[str], list[str]]:
    if argv == "results-under-file":
        return ONE, ["--results", str(d["blocker"] / "runs"), "--checkpoints", str(d["checkpoints"])]
    if argv == "checkpoints-under-file":
        return ONE, ["--results", str(d["results"]), "--checkpoints", str(d["blocker"] / "ck")]
    return argv, ["--results", str(d["results"]), "--checkpoints", str(d["checkpoints"])]


@pytest.mark.parametrize("case, argv, mentions, setup", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_command_line(case, argv, mentions, setup, dirs, capsys):
    if setup:
        setup(dirs)
    before = sorted(dirs["results"].glob("*.json")) if dirs["results"].is_dir() else []
    argv, folders = folder_args(dirs, argv)
    assert cli.main([*argv, *folders, "--data-root", str(dirs["data"]), "--no-progress"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and mentions in lines[0], lines
    after = sorted(dirs["results"].glob("*.json")) if dirs["results"].is_dir() else []
    assert after == before                                          # no record written
    if case == "edited record":                                      # reported, neither re-used nor deleted
        assert str(before[0]) in lines[0] and "delete it" in lines[0]
    if "checkpoint" in case and "unwritable" not in case:           # named, kept, and no run was trained
        [checkpoint] = dirs["checkpoints"].glob("*.pt")
        assert str(checkpoint) in lines[0] and "delete it" in lines[0]


def test_the_table_is_large_enough():
    assert len(CLI_CASES) + len(CHAPTER_CASES) >= 20
    assert len({c[0] for c in CLI_CASES}) == len(CLI_CASES)


# (chapter, parameters, error type, text the error must contain)
CHAPTER_CASES = [
    ("03_fine_tuning", {"profile": "fast"}, "UnknownNameError", "unknown profile 'fast'"),
    ("04_low_data", {"profile": "ci", "fractions": "0.1", "executor": "slurm"}, "UnknownNameError",
     "unknown executor 'slurm'"),
    ("03_fine_tuning", {"profile": "ci", "max_epochs": "two"}, "ConfigError", "max_epochs 'two' is not a whole"),
]


@pytest.mark.slow
@pytest.mark.parametrize("chapter, parameters, error, mentions", CHAPTER_CASES[:2],
                         ids=[c[0] for c in CHAPTER_CASES[:2]])
def test_chapter_parameters(chapter, parameters, error, mentions, tmp_path, monkeypatch):
    """Two real papermill executions: the chapter stops at the bad parameter with the library's error."""
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    runs = tmp_path / "runs"
    params = {**parameters, **({"results_dir": str(runs)} if chapter == "04_low_data" else {})}
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        papermill.execute_notebook(REPO_ROOT / "chapters" / f"{chapter}.ipynb", tmp_path / "out.ipynb",
                                   parameters=params, kernel_name="which-backbone", cwd=REPO_ROOT / "chapters",
                                   progress_bar=False)
    assert caught.value.ename == error and mentions in caught.value.evalue
    assert not runs.exists() or not list(runs.glob("*.json"))


def test_papermill_parameters_of_the_wrong_type_are_refused_by_the_library():
    """What a chapter passes on when papermill injects text where a number belongs (``-p max_epochs two``)."""
    from lib.errors import ConfigError

    for chapter, parameters, error, mentions in CHAPTER_CASES[2:]:
        with pytest.raises(ConfigError, match=re.escape(mentions)):
            config.plan(parameters["profile"], max_epochs=parameters["max_epochs"])
    for bad in (dict(batch_size=32.0), dict(image_size="32"), dict(fraction="0.1"), dict(patience=True)):
        with pytest.raises(ConfigError, match="is not a (whole )?number"):
            config.make_config("resnet50", "digits", profile="ci", **bad)
