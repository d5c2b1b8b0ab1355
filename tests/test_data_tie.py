"""A record is tied to the data it was trained on; every split it is scored on holds every class; a CSV's paths
stay inside its folder (issue 30).

A finished record or a checkpoint is re-used only when the split manifest's digest it stores (ids, labels and file
contents for the reader's own images, sizes for a registered dataset) matches the data as it is now; otherwise the
run is refused with one line that says what changed and how to keep the old record. Records written before the
data digest existed store only ``manifest_sha256`` (the ids), which is then what is compared: the committed
workshop records stay valid.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib import cli, data, paths, profiles, results, runs
import yourdata
from lib.config import make_config
from lib.data import splits as splitting
from lib.data.splits import write_manifest
from lib.errors import DataError
from lib.train import TrainConfig

TINY = dict(profile="ci", image_size=16, max_epochs=1, fraction=1.0)


def _image(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 6, 3), value, np.uint8)).save(path)


def write_folder(root: Path, per_class: dict[str, int], name: str = "toy") -> Path:
    for k, (cls, n) in enumerate(per_class.items()):
        for i in range(n):
            _image(root / name / cls / f"{i}.png", 40 * k + i)
    return root / name


def write_csv(root: Path, rows: list[tuple[str, str]], name: str = "toy.csv") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text("path,label\n" + "".join(f"{p},{label}\n" for p, label in rows))
    return root / name


def csv_dataset(root: Path, per_class: int = 5) -> list[tuple[str, str]]:
    rows = []
    for k, cls in enumerate("abc"):
        for i in range(per_class):
            _image(root / "img" / f"{cls}{i}.png", 40 * k + i)
            rows.append((f"img/{cls}{i}.png", cls))
    write_csv(root, rows)
    return rows


@pytest.fixture
def where(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    return {"root": tmp_path / "data", "records_dir": tmp_path / "runs", "checkpoint_dir": tmp_path / "ck"}


def train(dataset: str, where: dict, **kwargs) -> dict | None:
    cfg = make_config("shufflenet_v2_x2_0", dataset, **TINY)
    return runs.run(cfg, data_root=where["root"], records_dir=where["records_dir"],
                    checkpoint_dir=where["checkpoint_dir"], progress=False, log=lambda s: None, workers=0, **kwargs)


# --- a record is tied to its data ---------------------------------------------------------------------------

@pytest.mark.slow
def test_a_relabelled_csv_is_refused_not_reused_and_the_old_record_is_kept(where):
    rows = csv_dataset(where["root"])
    first = train("csv:toy.csv", where)
    assert first["data_sha256"]["all"] and first["manifest_sha256"]["all"]
    assert train("csv:toy.csv", where) == first                  # unchanged data: re-used
    [path] = where["records_dir"].glob("*.json")
    before = path.read_bytes()
    relabelled = [(p, {"a": "b", "b": "a"}.get(label, label)) if p.endswith(("0.png", "1.png")) else (p, label)
                  for p, label in rows]
    write_csv(where["root"], relabelled)
    with pytest.raises(DataError, match=r"trained on other data than csv:toy.csv holds now .*labels.*move it out"):
        train("csv:toy.csv", where)
    assert path.read_bytes() == before, "the old record must be kept as it was"
    write_csv(where["root"], rows)                               # the data restored: the record is valid again
    assert train("csv:toy.csv", where) == first


@pytest.mark.slow
def test_images_added_to_a_folder_class_are_refused_with_the_counts(where):
    folder = write_folder(where["root"], {"a": 5, "b": 5, "c": 5})
    train("folder:toy", where)
    for i in range(5, 10):
        _image(folder / "a" / f"{i}.png", 200 + i)
    with pytest.raises(DataError, match=r"train split: 9 images then, 1[0-9] now"):
        train("folder:toy", where)


@pytest.mark.slow
def test_an_image_rewritten_with_other_pixels_is_found_and_a_touched_one_is_not(where):
    folder = write_folder(where["root"], {"a": 5, "b": 5, "c": 5})
    first = train("folder:toy", where)
    target = folder / "b" / "3.png"
    later = time.time() + 100
    os.utime(target, (later, later))                             # same bytes, new time: still the same data
    assert train("folder:toy", where) == first
    _image(target, 7)                                            # same name and size, other pixels
    with pytest.raises(DataError, match="file contents"):
        train("folder:toy", where)


@pytest.mark.slow
def test_a_checkpoint_of_other_data_is_refused(where):
    folder = write_folder(where["root"], {"a": 5, "b": 5, "c": 5})
    cfg = make_config("shufflenet_v2_x2_0", "folder:toy", **{**TINY, "max_epochs": 2})
    common = dict(data_root=where["root"], records_dir=where["records_dir"], checkpoint_dir=where["checkpoint_dir"],
                  progress=False, log=lambda s: None, workers=0)
    assert runs.run(cfg, stop_after_epochs=1, **common) is None
    assert list(where["checkpoint_dir"].glob("*.pt"))
    _image(folder / "c" / "0.png", 3)
    with pytest.raises(DataError, match=r"checkpoint .* trained on other data .*delete it"):
        runs.run(cfg, **common)
    assert not list(where["records_dir"].glob("*.json"))


@pytest.mark.slow
def test_the_command_line_says_what_changed_in_one_line_and_exits_2(where, capsys):
    write_folder(where["root"], {"a": 5, "b": 5, "c": 5})
    argv = ["--backbone", "shufflenet_v2_x2_0", "--dataset", "folder:toy", "--profile", "ci", "--image-size", "16",
            "--max-epochs", "1", "--fraction", "1", "--workers", "0", "--no-progress",
            "--results", str(where["records_dir"]), "--checkpoints", str(where["checkpoint_dir"]),
            "--data-root", str(where["root"])]
    assert cli.main(argv) == 0
    _image(where["root"] / "toy" / "c" / "9.png", 99)
    capsys.readouterr()
    assert cli.main(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "other data" in line and "re-used" not in line


def _record_of(path: Path) -> tuple[dict, TrainConfig]:
    record = results.read_record(path)
    config = {**record["config"], "image_size": tuple(record["config"]["image_size"]),
              "adamw_betas": tuple(record["config"]["adamw_betas"])}
    return record, TrainConfig(**config)


def test_the_committed_workshop_records_stay_valid(tmp_path):
    """The 66 grid records and the 17 demo records predate the data digest: their ids digest is compared, and it
    matches the data the book trains on (digits from scikit-learn; the demo folder chapter 7 writes)."""
    grid = sorted((paths.RECORDS).glob("*.json"))
    demo = sorted((paths.DEMO / "workshop").glob("*.json"))
    assert len(grid) >= 66 and len(demo) >= 17
    yourdata.write_demo_folder(tmp_path / "digits_demo", per_class=profiles.get("workshop").demo_per_class)
    manifests = {}
    for path in grid + demo:
        record, cfg = _record_of(path)
        assert "data_sha256" not in record   # committed before the data digest: compared by ids
        root = tmp_path if cfg.dataset.startswith("folder:") else None
        key = (cfg.dataset, cfg.fraction, cfg.seed)
        manifests[key] = manifests.get(key) or runs.current_manifest(cfg, root)
        runs.check_same_data(record, manifests[key], path)


def test_a_record_without_the_data_digest_is_compared_by_its_ids(tmp_path):
    """How the committed records are judged: ids only, so a class folder's new image is found (its id is new)."""
    folder = write_folder(tmp_path, {"a": 4, "b": 4, "c": 4})
    manifest = data.load("folder:toy", root=tmp_path, cache=False, progress=False).manifest
    legacy = {"dataset": "folder:toy", "manifest_sha256": manifest.sha256, "split_sizes": manifest.counts()}
    runs.check_same_data(legacy, manifest, tmp_path / "r.json")
    _image(folder / "a" / "4.png", 1)
    grown = data.load("folder:toy", root=tmp_path, cache=False, progress=False).manifest
    with pytest.raises(DataError, match="other images"):
        runs.check_same_data(legacy, grown, tmp_path / "r.json")


def test_a_registered_dataset_on_disk_is_tied_by_sizes_and_labels(tmp_path):
    """A registered dataset is stamped by file size (re-unpacking the same archive keeps its records)."""
    from tests.native_fixtures import write_neu

    folder = write_neu(tmp_path, per_class=4)
    before = data.load("neu", root=tmp_path, cache=False, progress=False).manifest
    first = sorted(folder.glob("*.bmp"))[0]
    later = time.time() + 100
    os.utime(first, (later, later))
    assert data.load("neu", root=tmp_path, cache=False, progress=False).manifest.data_sha256 == before.data_sha256
    first.write_bytes(first.read_bytes() + b"\0" * 64)
    after = data.load("neu", root=tmp_path, cache=False, progress=False).manifest
    assert after.sha256 == before.sha256 and after.data_sha256 != before.data_sha256
    assert runs.data_changes({"data_sha256": before.data_sha256}, before.counts(), after)


def test_yourdata_refuses_an_output_folder_of_other_data_before_measuring(tmp_path):
    folder = write_folder(tmp_path, {"a": 4, "b": 4, "c": 4})
    check = yourdata.check_dataset(folder)
    out = tmp_path / "out"
    write_manifest(check.manifest, out / "manifest.json")
    yourdata.check_out_dir_data(out, check.manifest)             # the same data: fine
    (folder / "a" / "0.png").unlink()
    _image(folder / "b" / "9.png", 9)
    changed = yourdata.check_dataset(folder)
    with pytest.raises(DataError, match=r"output folder .* other data .*another --out"):
        yourdata.check_out_dir_data(out, changed.manifest)
    with pytest.raises(DataError, match="other data"):
        yourdata.plan_search(folder, out_dir=out, check=changed, costs=None, backbones="resnet50")


def test_a_manifest_file_keeps_its_data_digest_and_refuses_a_tampered_one(tmp_path):
    write_folder(tmp_path, {"a": 4, "b": 4, "c": 4})
    manifest = data.load("folder:toy", root=tmp_path, cache=False, progress=False).manifest
    path = write_manifest(manifest, tmp_path / "m.json")
    assert data.read_manifest(path) == manifest and data.read_manifest(path).data_sha256 == manifest.data_sha256
    saved = json.loads(path.read_text())
    saved["data_sha256"]["train"] = "0" * 64
    path.write_text(json.dumps(saved))
    with pytest.raises(DataError, match="do not match"):
        data.read_manifest(path)


# --- splits that can measure something -----------------------------------------------------------------------

@pytest.mark.parametrize("per_class, split", [({"a": 1, "b": 1}, "test 0"), ({"a": 2, "b": 2}, "val 0"),
                                              ({"a": 5, "b": 5, "c": 2}, "'c': train 1, val 0, test 1")])
def test_a_split_without_a_class_is_refused_before_training_with_the_counts(per_class, split, where, capsys):
    write_folder(where["root"], per_class)
    argv = ["--backbone", "shufflenet_v2_x2_0", "--dataset", "folder:toy", "--profile", "ci", "--image-size", "16",
            "--workers", "0", "--no-progress", "--results", str(where["records_dir"]),
            "--checkpoints", str(where["checkpoint_dir"]), "--data-root", str(where["root"])]
    assert cli.main(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "no image in a split" in line and split in line, line
    assert not list(where["records_dir"].glob("*.json")) and not list(where["checkpoint_dir"].glob("*.pt"))


def test_yourdata_applies_the_trainers_rule(tmp_path):
    write_folder(tmp_path, {"a": 2, "b": 4})
    with pytest.raises(DataError, match=r"no image in a split .*'a': train 1, val 0, test 1"):
        yourdata.check_dataset(tmp_path / "toy", min_per_class=1)


def test_the_rule_names_every_class_missing_from_a_scored_split():
    assert splitting.uncovered_classes(["a", "b"], {"train": [0, 1], "test": [0, 1]}) is None
    text = splitting.uncovered_classes(["a", "b", "c"], {"train": [0, 1, 2], "val": [0], "test": [0, 1]})
    assert text.startswith("2 of 3 classes") and "'b': train 1, val 0, test 1" in text and "'c'" in text


def test_under_the_paper_protocol_the_test_split_is_the_one_scored(tmp_path):
    write_folder(tmp_path, {"a": 2, "b": 2})
    splits = data.load("folder:toy", root=tmp_path, cache=False, progress=False, select_on="test")
    data.check_scored_splits(splits)   # val is the test split itself: 1 + 1 per class is enough
    with pytest.raises(DataError):
        data.check_scored_splits(data.load("folder:toy", root=tmp_path, cache=False, progress=False))


# --- paths stay inside the root ---------------------------------------------------------------------------------

@pytest.mark.parametrize("escape", ["../outside.png", "img/../../outside.png", "./../outside.png"])
def test_a_csv_row_leading_outside_its_folder_is_refused(escape, tmp_path):
    rows = csv_dataset(tmp_path / "data")
    _image(tmp_path / "outside.png", 1)
    write_csv(tmp_path / "data", rows[:-1] + [(escape, "c")])
    with pytest.raises(DataError, match=r"line 16: .* leads outside the CSV's folder"):
        data.read_source("csv:toy.csv", tmp_path / "data")
    with pytest.raises(DataError, match="leads outside"):
        yourdata.check_dataset(tmp_path / "data" / "toy.csv")


def test_a_path_that_goes_out_and_back_in_is_inside(tmp_path):
    rows = csv_dataset(tmp_path / "data")
    write_csv(tmp_path / "data", rows[:-1] + [("img/../img/c4.png", "c")])
    assert len(data.read_source("csv:toy.csv", tmp_path / "data").train.ids) == 15


def test_the_command_line_refuses_an_escaping_row_in_one_line(where, capsys):
    rows = csv_dataset(where["root"])
    write_csv(where["root"], rows + [("../../x.png", "a")])
    argv = ["--backbone", "shufflenet_v2_x2_0", "--dataset", "csv:toy.csv", "--profile", "ci",
            "--results", str(where["records_dir"]), "--data-root", str(where["root"])]
    assert cli.main(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "'../../x.png' leads outside" in line


@pytest.mark.slow
def test_absolute_paths_are_accepted_and_said_once_in_the_runs_log(where, tmp_path):
    rows = csv_dataset(where["root"])
    elsewhere = tmp_path / "elsewhere" / "a9.png"
    _image(elsewhere, 123)
    write_csv(where["root"], rows + [(str(elsewhere), "a")])
    lines = []
    cfg = make_config("shufflenet_v2_x2_0", "csv:toy.csv", **TINY)
    runs.run(cfg, data_root=where["root"], records_dir=where["records_dir"], checkpoint_dir=where["checkpoint_dir"],
             progress=False, log=lines.append, workers=0)
    notes = [line for line in lines if "absolute path" in line]
    assert len(notes) == 1 and notes[0].startswith("note: 1 images of csv:toy.csv")


def test_absolute_paths_are_said_once_in_yourdatas_plan(tmp_path):
    rows = csv_dataset(tmp_path / "data")
    elsewhere = tmp_path / "elsewhere" / "a9.png"
    _image(elsewhere, 123)
    write_csv(tmp_path / "data", rows + [(str(elsewhere), "a")])
    check = yourdata.check_dataset(tmp_path / "data" / "toy.csv")
    assert check.absolute_note == "; 1 listed by absolute path"
    relative = write_csv(tmp_path / "data", rows, name="rel.csv")
    assert yourdata.check_dataset(relative).absolute_note == ""
