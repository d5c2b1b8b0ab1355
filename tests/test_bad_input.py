"""Bad input, table-driven: every case gives one specific error line (exit 2 on the command line) and writes nothing.

The command-line cases run ``lib.cli.main`` (``python -m lib.train``) and ``yourdata.main`` in this process;
the chapter cases execute two real chapters with papermill and a bad parameter. Cases that need something on disk
(malformed data, a reader's folder or CSV that contradicts itself, an unwritable folder, a corrupt checkpoint, record
or weights file) prepare it first with a small ``setup`` function. The Python API surfaces (records on disk,
environment variables, the chapters' parameters) raise a BookError, one line that names the file or value.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from lib import checkpoints, cli, config, models, paths, results
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
    ("missing weights", [*ONE, "--pretrained"], "ImageNet weights: no file shufflenetv2_x2_0-8be3c8ee.pth); fetch them with: python -m lib.fetch --weights", None),
]


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert torch.hub.get_dir() == str(tmp_path / "torch" / "hub")    # torch.hub follows TORCH_HOME
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
    ("03_fine_tuning", {"profile": "fast"}, "ConfigError", "parameter profile='fast' of chapter 03_fine_tuning"),
    ("04_low_data", {"profile": "ci", "fractions": "0.1", "executor": "slurm"}, "ConfigError",
     "parameter executor='slurm' of chapter 04_low_data is not allowed: use one of 'local', 'ray'"),
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
    params = {**parameters, **({"records_dir": str(runs)} if chapter == "04_low_data" else {})}
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        papermill.execute_notebook(paths.ROOT / "chapters" / f"{chapter}.ipynb", tmp_path / "out.ipynb",
                                   parameters=params, kernel_name="which-backbone", cwd=paths.ROOT / "chapters",
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


# ---------------------------------------------------------------------------------------------------
# python -m yourdata and chapter 7: a reader's folder or CSV, and the search's parameters
# ---------------------------------------------------------------------------------------------------

def image_folder(root, classes=("cat", "dog"), per_class=4):
    """A small ImageFolder ``root/<class>/<i>.png``; returns ``root``."""
    from PIL import Image

    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (8, 8), (40 * k + 9 * i, 0, 0)).save(root / name / f"{i}.png")
    return root


def labels_csv(d, rows: str):
    """``<data>/labels.csv`` with a header and ``rows``, beside a folder ``img/<class>/<i>.png``."""
    image_folder(d["data"] / "img")
    path = d["data"] / "labels.csv"
    path.write_text("path,label\n" + rows)
    return path


GOOD_ROWS = "".join(f"img/{c}/{i}.png,{c}\n" for c in ("cat", "dog") for i in range(4))


def folder_of(change):
    """A setup that writes a good folder ``<data>/pets`` and then applies ``change(pets)`` to it."""
    def setup(d):
        change(image_folder(d["data"] / "pets"))
        return d["data"] / "pets"
    return setup


PETS = folder_of(lambda pets: None)   # a good folder: the bad input is in the arguments


def csv_of(rows):
    return lambda d: labels_csv(d, rows)


def _float_tiff(pets):
    from image_files import tiff_bytes

    (pets / "cat" / "scan.tif").write_bytes(tiff_bytes(np.linspace(0, 4000, 64, dtype=np.float32).reshape(8, 8)))


def _newline_name(pets):
    (pets / "dog" / "bad\nname.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")


def _flatten(d):
    """A folder whose images lie loose in it, without class sub-folders."""
    image_folder(d["data"] / "sorted", classes=("cat",))
    return (d["data"] / "sorted" / "cat").rename(d["data"] / "pets")


def _link_class(pets):
    (pets / "cow").symlink_to(pets / "dog", target_is_directory=True)


def _one_class(pets):
    import shutil

    shutil.rmtree(pets / "dog")


def _few(pets):
    for i in range(2, 4):
        (pets / "dog" / f"{i}.png").unlink()


def _not_utf8(d):
    labels_csv(d, GOOD_ROWS)
    (d["data"] / "labels.csv").write_bytes("path,label\nimg/cat/0.png,caf\u00e9\n".encode("latin-1") +
                                           GOOD_ROWS.encode())
    return d["data"] / "labels.csv"


def _no_label_column(d):
    path = labels_csv(d, "")
    path.write_text("path,tag\nimg/cat/0.png,cat\n")
    return path


def _absolute_twice(d):
    return labels_csv(d, GOOD_ROWS + f"{d['data'] / 'img' / 'cat' / '0.png'},dog\n")



# (case id, arguments after the data path, text the one error line must contain, setup returning the data path)
YOURDATA_CASES = [
    ("no data path", None, "the following arguments are required: data", None),
    ("data path missing", [], "nowhere does not exist", lambda d: d["data"] / "nowhere"),
    ("data path is /", [], "/ is the top of the file system, not a dataset", lambda d: "/"),
    ("data path is a zip", [], "is neither a folder nor a .csv file", lambda d: d["blocker"]),
    ("unknown domain", ["--domain", "oceans"], "domain 'oceans' is not one of", PETS),
    ("surface defects domain", ["--domain", "surface_defects"], "no column in Table 1", PETS),
    ("unknown profile", ["--profile", "fast"], "unknown profile 'fast'", PETS),
    ("unknown option", ["--colour"], "unrecognized arguments: --colour", PETS),
    ("budget zero", ["--budget-minutes", "0"], "budget_minutes=0.0 is not a positive number",
     PETS),
    ("budget negative", ["--budget-minutes", "-5"], "budget_minutes=-5.0 is not a positive number",
     PETS),
    ("budget nan", ["--budget-minutes", "nan"], "budget_minutes=nan is not a positive number",
     PETS),
    ("budget infinite", ["--budget-gpu-hours", "inf"], "is not a positive number", PETS),
    ("budget not a number", ["--budget-minutes", "ten"], "invalid float value: 'ten'", PETS),
    ("two budgets", ["--budget-minutes", "5", "--budget-gpu-hours", "1"], "not both", PETS),
    ("backbones empty list", ["--backbones", ","], "backbones=',' is empty", PETS),
    ("backbone unknown", ["--backbones", "resnet50,vgg16"], "unknown backbone 'vgg16'", PETS),
    ("backbone twice", ["--backbones", "resnet50,resnet50"], "names one twice", PETS),
    ("seeds empty list", ["--seeds", ","], "seeds=',' is not a list", PETS),
    ("seed negative", ["--seeds", "-1"], "seeds='-1' is not a list of distinct non-negative",
     PETS),
    ("seed twice", ["--seeds", "0,0"], "seeds='0,0' is not a list of distinct", PETS),
    ("seed not a number", ["--seeds", "a"], "seeds='a' is not a list", PETS),
    ("top-k zero", ["--top-k", "0"], "top_k=0 is not a positive integer", PETS),
    ("top-k not a number", ["--top-k", "x"], "invalid int value: 'x'", PETS),
    ("probe fraction zero", ["--probe-fraction", "0"], "probe_fraction", PETS),
    ("probe fraction too big", ["--probe-fraction", "1.5"], "probe_fraction 1.5 is outside (0, 1]",
     PETS),
    ("probe epochs zero", ["--probe-epochs", "0"], "both must be 1 or more", PETS),
    ("image size not /32", ["--image-size", "33"], "image_size=33 is not a multiple of 32",
     PETS),
    ("batch size negative", ["--batch-size", "-1"], "batch size -1", PETS),
    ("out is a file", ["--out", "{blocker}"], "is a file, not a folder); choose a folder you can write to with --out",
     PETS),
    ("out under a file", ["--out", "{blocker}/report"], "blocker is a file, not a folder",
     PETS),
    # the reader's folder
    ("folder without classes", [], "has no class sub-folders (4 images lie directly in it)", _flatten),
    ("folder with one class", [], "has only one class ('cat')", folder_of(_one_class)),
    ("class folder empty", [], "has no images", folder_of(lambda p: (p / "eel").mkdir())),
    ("class with too few", [], "1 classes have fewer than 3 images", folder_of(_few)),
    ("image unreadable", [], "cannot be decoded", folder_of(lambda p: (p / "cat" / "0.png").write_bytes(b"GIF89a"))),
    ("image name with a newline", [], "bad\\nname.png", folder_of(_newline_name)),
    ("float image beyond 0..1", [], "outside 0..1 (black..white); rescale them to 0..1", folder_of(_float_tiff)),
    ("class folder linked to another", [], "are the same file (a link); keep each image once",
     folder_of(_link_class)),
    # the reader's CSV
    ("csv not utf-8", [], "is not UTF-8 text", _not_utf8),
    ("csv without label column", [], "without 'label'", _no_label_column),
    ("csv without rows", [], "lists no images", csv_of("")),
    ("csv empty label", [], "line 2 has an empty 'label'", csv_of("img/cat/0.png,\n" + GOOD_ROWS)),
    ("csv image under two labels", [], "under two labels, 'cat' and 'dog'", csv_of(GOOD_ROWS + "img/cat/0.png,dog\n")),
    ("csv image via ..", [], "spelt 'img/cat/0.png' there), under two labels",
     csv_of(GOOD_ROWS + "img/dog/../cat/0.png,dog\n")),
    ("csv image absolute and relative", [], "lists", _absolute_twice),
    ("csv image missing", [], "img/cat/9.png listed in", csv_of(GOOD_ROWS + "img/cat/9.png,cat\n")),
    ("csv path is a folder", [], "missing or not files", csv_of(GOOD_ROWS + "img/cat,cat\n")),
    ("csv one label", [], "has only one label ('cat')", csv_of(GOOD_ROWS.replace(",dog", ",cat"))),
    # the environment
    ("TORCH_HOME is a file", ["--profile", "paper", "--backbones", "resnet50", "--image-size", "32"],
     "is a file, not a folder; set TORCH_HOME to a folder", PETS),
]





def tree(folder) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("case, args, mentions, setup", YOURDATA_CASES, ids=[c[0] for c in YOURDATA_CASES])
def test_yourdata_command_line(case, args, mentions, setup, dirs, tmp_path, monkeypatch, capsys):
    import yourdata

    monkeypatch.setattr(yourdata, "DEFAULT_OUT", tmp_path / "default-out")
    dirs["data"].mkdir(exist_ok=True)
    dirs["blocker"].write_text("a file, not a folder")
    if case == "TORCH_HOME is a file":
        monkeypatch.setenv("TORCH_HOME", str(dirs["blocker"]))
    data = setup(dirs) if setup else None
    before = tree(tmp_path)
    argv = [] if args is None else [str(data), *[a.format(blocker=dirs["blocker"]) for a in args]]
    assert yourdata.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert mentions in lines[0], lines[0]
    assert tree(tmp_path) == before                                 # nothing written: no cache, report or records


def test_look_alike_labels_are_a_warning_on_one_line(dirs, tmp_path, monkeypatch, capsys):
    """1 and 01, or Cat and cat, may be one class spelt twice: the search goes on, and says so."""
    import yourdata
    from lib.data.formats import LookAlikeLabelsWarning

    path = labels_csv(dirs, GOOD_ROWS.replace(",cat", ",1").replace(",dog", ",01"))
    with pytest.warns(LookAlikeLabelsWarning, match=r"labels '01' and '1' look alike but are 2 separate classes"):
        check = yourdata.check_dataset(path)
    assert check.classes == ["01", "1"]
    monkeypatch.setattr(yourdata, "DEFAULT_OUT", tmp_path / "default-out")
    assert yourdata.main([str(path), "--batch-size", "-1"]) == 2               # fails after the data check
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("warning: ") and "'01' and '1' look alike" in err[0] and err[1].startswith("error: ")


# ---------------------------------------------------------------------------------------------------
# Python API surfaces: records on disk, the environment, chapters' parameters (each a BookError)
# ---------------------------------------------------------------------------------------------------

def a_record(seed: int = 0) -> dict:
    cfg = config.make_config(**CI_CONFIG, seed=seed).as_dict()
    body = {f: 0 for f in results.REQUIRED_FIELDS if f != "checksum"}
    return {**body, "config": cfg, "run_key": results.run_key(cfg), "seed": seed}


def _renamed(folder):
    """Seed 0's intact record saved under seed 1's name: it must not answer for seed 1."""
    path = results.write_record(a_record(0), folder)
    target = results.record_path(results.run_key(a_record(1)["config"]), folder)
    path.rename(target)
    return target


def _config_swapped(folder):
    """A record whose run key is seed 1's but whose own configuration is seed 0's (checksum redone)."""
    record = {**a_record(0), "run_key": a_record(1)["run_key"]}
    return results.write_record(record, folder)


def _raw(text: bytes):
    def write(folder):
        path = results.record_path(a_record(1)["run_key"], folder)
        path.write_bytes(text)
        return path
    return write


def _fieldless(folder):
    body = {"run_key": a_record(1)["run_key"], "test_top1": 99.0}
    body["checksum"] = results.checksum(body)
    return _raw(json.dumps(body).encode())(folder)


# (case id, setup writing a file and returning its path, text the error must contain)
RECORD_CASES = [
    ("record renamed from another run", _renamed, "is of run {seed0}, not of {seed1} asked for"),
    ("record with another run's config", _config_swapped, "is of run {seed0}, not of {seed1} asked for"),
    ("record with bad bytes", _raw(b"{\"run_key\": \"\xff\xfe\"}"), "is unreadable (UnicodeDecodeError)"),
    ("record that is a JSON list", _raw(b"[1, 2, 3]"), "holds a JSON list, not a record"),
    ("record that is a JSON number", _raw(b"42"), "holds a JSON int, not a record"),
    ("record without fields", _fieldless, "lacks backbone, dataset, fraction ...: it is not a run record"),
    ("record empty", _raw(b""), "is unreadable (JSONDecodeError)"),
    ("record truncated", lambda f: _raw(json.dumps(a_record(1)).encode()[:-30])(f), "is unreadable"),
]


@pytest.mark.parametrize("case, setup, mentions", RECORD_CASES, ids=[c[0] for c in RECORD_CASES])
def test_a_record_on_disk_answers_only_for_its_own_run(case, setup, mentions, tmp_path):
    from lib.errors import DataError

    path = setup(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(DataError) as caught:
        results.find_record(a_record(1)["run_key"], tmp_path)
    message = str(caught.value)
    mentions = mentions.format(seed0=a_record(0)["run_key"], seed1=a_record(1)["run_key"])
    assert str(path) in message and mentions in message and "\n" not in message, message
    assert "delete" in message or "move it" in message
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before   # reported, neither used nor removed


def test_a_records_folder_with_a_foreign_json_file_names_it(tmp_path):
    from lib.errors import DataError

    (tmp_path / "notes.json").write_text('["not", "a", "record"]')
    with pytest.raises(DataError, match=re.escape(f"run record {tmp_path / 'notes.json'} holds a JSON list")):
        results.load_records(tmp_path)


def _torch_home_file(d, monkeypatch):
    d["blocker"].write_text("x")
    monkeypatch.setenv("TORCH_HOME", str(d["blocker"]))
    return lambda: models.build("resnet50", num_classes=2, pretrained=True)


def _wb_data_file(d, monkeypatch):
    from lib import data

    d["blocker"].write_text("x")
    monkeypatch.setenv("WB_DATA", str(d["blocker"]))
    return lambda: data.load("cifar10", progress=False)


def _wb_data_missing(d, monkeypatch):
    from lib import data

    monkeypatch.setenv("WB_DATA", str(d["data"] / "absent"))
    return lambda: data.load("flowers102", progress=False)


def _wb_cache_file(d, monkeypatch):
    from lib import data

    d["blocker"].write_text("x")
    monkeypatch.setenv("WB_CACHE", str(d["blocker"]))
    return lambda: data.load("digits", image_size=32, progress=False)


def _chapter7(**parameters):
    def call(d, monkeypatch):
        import yourdata

        d["blocker"].write_text("x")
        image_folder(d["data"] / "pets")
        monkeypatch.setattr(yourdata, "DEFAULT_OUT", d["data"].parent / "default-out")
        values = {k: str(v).format(blocker=d["blocker"], data=d["data"]) for k, v in parameters.items()}
        if "demo_dir" in values:
            return lambda: yourdata.write_demo_folder(values["demo_dir"], per_class=3)
        return lambda: yourdata.plan_search(values.pop("data_dir", d["data"] / "pets"), **values)
    return call


def _chapter2_datasets(d, monkeypatch):
    from lib import data

    return lambda: [data.spec(name) for name in ",".split(",")]       # the chapter's datasets="," parameter


# (case id, setup returning the call, error class name, text the error must contain)
API_CASES = [
    ("TORCH_HOME is a file", _torch_home_file, "WeightsError", "is a file, not a folder; set TORCH_HOME"),
    ("WB_DATA is a file", _wb_data_file, "DataError", "is not a folder; create it"),
    ("WB_DATA missing", _wb_data_missing, "DataError", "absent does not exist; create it"),
    ("WB_CACHE is a file", _wb_cache_file, "DataError", "set WB_CACHE or pass cache_dir"),
    ("chapter 7 data_dir /", _chapter7(data_dir="/"), "DataError", "is the top of the file system"),
    ("chapter 7 data_dir ..", _chapter7(data_dir="{data}/pets/cat/../../.."), "DataError",
     "has only one class ('data')"),
    ("chapter 7 out_dir a file", _chapter7(out_dir="{blocker}"), "ConfigError", "is a file, not a folder"),
    ("chapter 7 demo_dir under a file", _chapter7(demo_dir="{blocker}/demo"), "ConfigError",
     "demo folder"),
    ("chapter 7 seeds ','", _chapter7(seeds=","), "ConfigError", "seeds=',' is not a list"),
    ("chapter 7 backbones ','", _chapter7(backbones=","), "ConfigError", "backbones=',' is empty"),
    ("chapter 2 datasets ','", _chapter2_datasets, "UnknownNameError", "unknown dataset ''"),
]


@pytest.mark.parametrize("case, setup, error, mentions", API_CASES, ids=[c[0] for c in API_CASES])
def test_python_api_surfaces(case, setup, error, mentions, dirs, tmp_path, monkeypatch):
    from lib.errors import BookError

    dirs["data"].mkdir(exist_ok=True)
    call = setup(dirs, monkeypatch)
    before = tree(tmp_path)
    with pytest.raises(BookError) as caught:
        call()
    assert type(caught.value).__name__ == error and mentions in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("parameter", ["seeds", "datasets", "backbones", "fractions"])
def test_chapter_3_and_4_refuse_an_empty_list(parameter):
    """Chapters 3 and 4 pass their comma-separated parameters to plan(); "," used to plan nothing (IndexError)."""
    from lib.errors import ConfigError

    with pytest.raises(ConfigError, match=parameter):
        config.plan("ci", **{parameter: ","})
