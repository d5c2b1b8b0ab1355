"""yourdata and chapter 7: the reader's own images, checked, split, searched within a budget and ranked."""
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import yourdata
from lib import paths, profiles
from lib.errors import ConfigError, DataError, UnknownNameError, WeightsError

CI_PAIR = "shufflenet_v2_x2_0,mobilenet_v3_large"


def write_folder(root: Path, counts: dict[str, int], size=(12, 10), mode="RGB") -> Path:
    """An ImageFolder ``root/<class>/<n>.png`` with ``counts[class]`` small images each (distinct pixels)."""
    for k, (cls, n) in enumerate(counts.items()):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = np.full((size[1], size[0], 3), (37 * k + 11 * i) % 256, np.uint8)
            Image.fromarray(pixels).convert(mode).save(root / cls / f"{i}.png")
    return root


@pytest.fixture
def folder(tmp_path):
    return write_folder(tmp_path / "pets", {"cat": 6, "dog": 6, "eel": 5})


# --- checking the data -------------------------------------------------------------------------------


def test_check_counts_sizes_split_and_ignored_files(tmp_path):
    root = write_folder(tmp_path / "mixed", {"a": 5, "b": 7})
    Image.fromarray(np.zeros((40, 64), np.uint8), "L").save(root / "a" / "big.png")   # another size and mode
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / ".DS_Store").write_text("hidden: not reported")
    check = yourdata.check_dataset(root, image_size=32)
    assert check.name == "folder:mixed" and check.root == tmp_path and check.classes == ["a", "b"]
    per_class = check.per_class.set_index("class")
    assert per_class.images.to_dict() == {"a": 6, "b": 7}
    assert (per_class[["train", "val", "test"]].sum(axis=1) == per_class.images).all()
    assert (per_class[["train", "val", "test"]] >= 1).all().all()      # stratified: every class in every split
    assert check.ignored == ["a/notes.txt"]
    assert check.sizes.loc["max", "width"] == 64 and check.sizes.loc["min", "height"] == 10
    assert check.sizes.loc["mode L (images)", "width"] == 1 and check.sizes.loc["mode RGB (images)", "width"] == 12
    assert check.sizes.loc["smaller than training size", "width"] == 12
    again = yourdata.check_dataset(root, image_size=32)
    assert again.manifest.sha256 == check.manifest.sha256 and again.fingerprint == check.fingerprint


def _corrupt(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")


def bad_folders(tmp_path):
    """(what, path builder, pattern the one-line message must match)."""
    def missing():
        return tmp_path / "nowhere"

    def plain_file():
        (tmp_path / "x.zip").write_bytes(b"zip")
        return tmp_path / "x.zip"

    def loose_images():
        root = tmp_path / "flat"
        root.mkdir()
        Image.new("RGB", (4, 4)).save(root / "a.png")
        return root

    def empty_class():
        root = write_folder(tmp_path / "e", {"a": 4, "b": 4})
        (root / "c").mkdir()
        return root

    def one_class():
        return write_folder(tmp_path / "one", {"only": 5})

    def too_few():
        return write_folder(tmp_path / "few", {"a": 5, "b": 2, "c": 1})

    def unreadable():
        root = write_folder(tmp_path / "bad", {"a": 4, "b": 4})
        _corrupt(root / "a" / "1.png")
        _corrupt(root / "b" / "3.png")
        return root

    return {
        "missing": (missing, r"nowhere does not exist"),
        "plain file": (plain_file, r"x\.zip is neither a folder nor a \.csv file"),
        "loose images": (loose_images, r"flat has no class sub-folders \(1 images lie directly in it\)"),
        "empty class": (empty_class, r"class folder .*e/c has no images"),
        "one class": (one_class, r"only one class \('only'\)"),
        "too few": (too_few, r"2 classes have fewer than 3 images.*'b' \(2\), 'c' \(1\)"),
        "unreadable": (unreadable, r"2 of 8 images cannot be decoded: .*bad/a/1\.png \(.*\), .*bad/b/3\.png"),
    }


@pytest.mark.parametrize("case", ["missing", "plain file", "loose images", "empty class", "one class", "too few",
                                  "unreadable"])
def test_bad_folders_give_one_line_naming_the_problem(case, tmp_path):
    build, pattern = bad_folders(tmp_path)[case]
    with pytest.raises(DataError, match=pattern) as info:
        yourdata.check_dataset(build())
    assert "\n" not in str(info.value)


def test_unreadable_images_are_all_listed_by_path(tmp_path):
    root = write_folder(tmp_path / "bad", {"a": 6, "b": 6})
    for i in range(5):
        _corrupt(root / "a" / f"{i}.png")
    with pytest.raises(yourdata.UnreadableImagesError, match=r"5 of 12 .* and 2 more; replace or remove") as info:
        yourdata.check_dataset(root)
    assert sorted(p for p, _ in info.value.paths) == [str(root / "a" / f"{i}.png") for i in range(5)]


def write_csv(tmp_path: Path, text: str, images: dict[str, int] | None = None) -> Path:
    write_folder(tmp_path / "img", images or {"cat": 4, "dog": 4})
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return path


GOOD_ROWS = "".join(f"img/{c}/{i}.png,{c}\n" for c in ("cat", "dog") for i in range(4))


@pytest.mark.parametrize("text, pattern", [
    ("file,label\n" + GOOD_ROWS, r"columns \['file', 'label'\], without 'path'"),
    ("path,label\n", r"lists no images"),
    ("path,label\nimg/cat/0.png,\n" + GOOD_ROWS, r"line 2 has an empty 'label'"),
    ("path,label\n" + GOOD_ROWS + "img/cat/0.png,dog\n", r"lists 'img/cat/0.png' twice \(lines 2 and 10\)"),
    ("path,label\n" + GOOD_ROWS + "img/cat/9.png,cat\n", r"img/cat/9\.png listed in .*labels\.csv not found \(1 of 9"),
    ("path,label\n" + GOOD_ROWS.replace("dog", "cat").replace("img/cat/", "img/dog/", 4), r"only one label"),
])
def test_bad_csvs_give_one_line_naming_the_problem(tmp_path, text, pattern):
    with pytest.raises(DataError, match=pattern) as info:
        yourdata.check_dataset(write_csv(tmp_path, text))
    assert "\n" not in str(info.value)


def test_csv_with_absolute_and_relative_paths_and_integer_labels(tmp_path):
    rows = "".join(f"{tmp_path / 'img' / c / f'{i}.png'},{10 if c == 'cat' else 2}\n" for c in ("cat", "dog")
                   for i in range(4))
    check = yourdata.check_dataset(write_csv(tmp_path, "path,label\n" + rows))
    assert check.name == "csv:labels.csv" and check.classes == ["2", "10"]      # numbers sort as numbers
    assert check.per_class.images.tolist() == [4, 4]


def test_demo_folder_is_stable_so_a_second_execution_reuses_its_runs(tmp_path):
    demo = yourdata.write_demo_folder(tmp_path / "digits_demo", per_class=4)
    first = yourdata.check_dataset(demo)
    assert first.per_class.images.tolist() == [4] * 10
    (demo / "3" / "extra.png").write_bytes(b"not one of the demo images")
    yourdata.write_demo_folder(tmp_path / "digits_demo", per_class=4)       # removes it, leaves the rest alone
    assert yourdata.check_dataset(demo).fingerprint == first.fingerprint


# --- planning and the budget ------------------------------------------------------------------------


def fake_costs(backbones: list[str]) -> pd.DataFrame:
    """Measured costs as measure_costs returns them, made up so that every estimate is known exactly."""
    return pd.DataFrame([{"backbone": b, "display": b, "params_m": 1.0 + i, "size_mb": 4.0 * (1 + i),
                          "train_img_s": 10.0, "infer_img_s": 1e9, "build_s": 0.0, "checkpoint_s": 0.0}
                         for i, b in enumerate(backbones)])


class FakeTrainer:
    """Stands in for lib.runs.run: advances a fake clock by a chosen cost and returns a minimal record."""

    def __init__(self, cost_factor: float, accuracy: dict[str, float]):
        self.now, self.cost_factor, self.accuracy, self.calls = 0.0, cost_factor, accuracy, []

    def clock(self) -> float:
        return self.now

    def __call__(self, cfg):
        self.calls.append((cfg.backbone, cfg.fraction, cfg.seed))
        self.now += self.cost_factor * cfg.max_epochs * cfg.fraction   # 10 training images an epoch at 10/s
        acc = self.accuracy[cfg.backbone] + cfg.seed
        return {"backbone": cfg.backbone, "seed": cfg.seed, "val_top1": acc, "test_top1": acc - 1,
                "image_size": list(cfg.image_size), "run_key": f"{cfg.backbone}-{cfg.fraction}-{cfg.seed}"}


@pytest.fixture
def ten_train(tmp_path):
    """A folder whose split has exactly 10 training images (so the fake trainer's costs are round numbers)."""
    root = write_folder(tmp_path / "ten", {"a": 7, "b": 7})
    assert yourdata.check_dataset(root).counts["train"] == 10
    return root


PLAN = {"top_k": 2, "seeds": "0,1", "probe_fraction": 0.5, "probe_epochs": 1, "full_epochs": 2, "profile": "ci"}


def make_plan(root, budget_s, backbones, tmp_path, **kw):
    plan = yourdata.plan_search(root, budget_minutes=10, backbones=backbones, costs=fake_costs(backbones),
                                out_dir=tmp_path / "out", **{**PLAN, **kw})
    # the fake clock starts at zero and only the runs cost time: no loader start-up, nothing spent yet
    plan.loader_s, plan.overhead_s, plan.budget_s = 0.0, 0.0, budget_s
    return plan


def test_budget_is_respected_and_skipped_runs_are_reported(ten_train, tmp_path):
    names = ["resnet50", "convnext_tiny", "swin_t"]
    plan = make_plan(ten_train, 8.0, names, tmp_path)
    assert plan.estimate("resnet50", "probe") == pytest.approx(0.5)
    assert plan.estimate("swin_t", "full") == pytest.approx(2.0)
    fake = FakeTrainer(1.0, {"resnet50": 50, "convnext_tiny": 70, "swin_t": 60})
    result = yourdata.run_search(plan, runner=fake, clock=fake.clock, log=lambda _: None, preload=False)
    # probe 3 x 0.5 s, then full runs of 2 s seed by seed: convnext, swin (seed 0), convnext (seed 1); swin seed 1
    # would end at 9.5 s > 8 s
    assert result.top == ["convnext_tiny", "swin_t"]
    assert [c for c in fake.calls if c[1] == 1.0] == [("convnext_tiny", 1.0, 0), ("swin_t", 1.0, 0),
                                                      ("convnext_tiny", 1.0, 1)]
    assert result.spent_s == pytest.approx(7.5) and result.spent_s <= plan.budget_s
    assert result.ledger.status.tolist() == ["ran"] * 6 + ["skipped: budget"]
    table = yourdata.ranking(result)
    assert table.backbone.tolist() == ["convnext_tiny", "swin_t"]
    assert table.n_seeds.tolist() == [2, 1]


def test_runs_longer_than_estimated_make_later_estimates_cautious(ten_train, tmp_path):
    names = ["resnet50", "convnext_tiny"]
    plan = make_plan(ten_train, 10.5, names, tmp_path, top_k=1, seeds="0,1,2")
    fake = FakeTrainer(2.0, {"resnet50": 50, "convnext_tiny": 70})       # every run takes twice its estimate
    result = yourdata.run_search(plan, runner=fake, clock=fake.clock, log=lambda _: None, preload=False)
    # probes take 1 s each (estimated 0.5 s: from then on estimates are doubled); full runs take 4 s and are
    # allowed 4 s: seed 0 ends at 6 s, seed 1 at 10 s, seed 2 would end at 14 s and is skipped
    assert result.ledger.allowed_s.tolist() == pytest.approx([0.5, 1.0, 4.0, 4.0, 4.0])
    assert result.ledger.status.tolist() == ["ran", "ran", "ran", "ran", "skipped: budget"]
    assert result.spent_s <= plan.budget_s


def test_full_runs_are_re_estimated_from_their_probe_records(ten_train, tmp_path):
    plan = make_plan(ten_train, 100.0, ["resnet50", "convnext_tiny"], tmp_path, top_k=1, seeds="0")
    fake = FakeTrainer(1.0, {"resnet50": 50, "convnext_tiny": 70})

    def runner(cfg):
        record = fake(cfg)
        if cfg.fraction < 1:   # the probe really trained at 5 images/s (not 10), evaluation took 0.5 s an epoch,
            fake.now = fake.now - cfg.fraction + 2.0    # and the whole run 2 s: 0.5 s beyond its epoch
            record["history"] = [{"train_images": 5, "train_seconds": 1.0, "epoch_seconds": 1.5}]
        return record

    result = yourdata.run_search(plan, runner=runner, clock=fake.clock, log=lambda _: None, preload=False)
    full = result.ledger[result.ledger.stage == "full"].iloc[0]
    assert full.estimate_s == pytest.approx(2.0)                  # the plan's: 2 epochs x 10 images at 10/s
    assert full.allowed_s == pytest.approx(2 * (10 / 5 + 0.5 + 0.5))    # from the probe's record


def test_a_budget_too_small_for_the_probe_is_refused_before_anything_runs(ten_train, tmp_path):
    names = ["resnet50", "convnext_tiny", "swin_t"]
    with pytest.raises(ConfigError, match=r"budget_minutes=0.01 is too small: .* pass at least 1 minutes"):
        yourdata.plan_search(ten_train, budget_minutes=0.01, backbones=names, costs=fake_costs(names),
                             out_dir=tmp_path / "out", **PLAN)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"domain": "surface_defects"}, UnknownNameError, r"no column in Table 1"),
    ({"domain": "marine"}, UnknownNameError, r"choose one of natural, texture"),
    ({"backbones": "resnet50,vgg16"}, UnknownNameError, r"unknown backbone 'vgg16'"),
    ({"top_k": 0}, ConfigError, r"top_k=0 is not a positive integer"),
    ({"seeds": "0,0"}, ConfigError, r"seeds='0,0' is not a list of distinct"),
    ({"budget_minutes": -1}, ConfigError, r"budget_minutes=-1 is not a positive number"),
    ({"probe_fraction": 2}, ConfigError, r"probe_fraction 2 is outside \(0, 1\]"),
    ({"image_size": 40}, ConfigError, r"image_size=40 is not a multiple of 32"),
    ({"profile": "huge"}, UnknownNameError, r"unknown profile 'huge'"),
])
def test_bad_parameters_are_refused(folder, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        yourdata.plan_search(folder, **{"costs": fake_costs(["resnet50"]), "backbones": "resnet50", **kwargs})


def test_missing_imagenet_weights_stop_the_plan_before_anything_runs(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-weights"))
    with pytest.raises(WeightsError, match=r"ResNet-50 ImageNet weights not found: expected file .*no-weights"):
        yourdata.plan_search(folder, profile="paper", backbones="resnet50", image_size=32, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_ranking_ties_go_to_the_smaller_model_and_the_gap_is_judged_against_seed_noise():
    table = pd.DataFrame({"val_top1_mean": [80.0, 79.0], "val_top1_std": [1.0, 1.0], "n_seeds": [2, 2]})
    assert yourdata.gap_to_runner_up(table)["verdict"] == "within the noise"        # 1 < 2 x 1
    table["val_top1_std"] = [0.1, 0.1]
    assert yourdata.gap_to_runner_up(table)["verdict"] == "larger than the noise"
    table["n_seeds"] = [1, 2]
    assert yourdata.gap_to_runner_up(table)["verdict"].startswith("unknown (one seed")


def test_paper_recommendation_is_table_1():
    rec = yourdata.paper_recommendation("plant")
    assert rec.backbone.tolist() == ["regnet_y_3_2gf", "convnext_tiny", "shufflenet_v2_x2_0"]
    assert set(rec.source) == {"paper"} and rec.place.tolist() == ["Best", "Better", "Good"]


def test_default_output_is_git_ignored_and_not_the_books_records(folder):
    plan = yourdata.plan_search(folder, backbones="resnet50", costs=fake_costs(["resnet50"]))
    assert plan.records_dir.is_relative_to(paths.CHECKPOINTS)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(plan.records_dir / "x.json")], cwd=paths.ROOT)
    assert ignored.returncode == 0
    assert plan.config("resnet50", "full", 0).dataset == "folder:pets"


def test_probe_vs_full_compares_the_ranks_with_an_interval_over_seeds(ten_train, tmp_path):
    accuracy = {"resnet50": 50, "convnext_tiny": 70, "swin_t": 60, "regnet_y_3_2gf": 40}
    plan = make_plan(ten_train, 100.0, list(accuracy), tmp_path, top_k=2, seeds="0")
    fake = FakeTrainer(1.0, accuracy)
    result = yourdata.run_search(plan, runner=fake, clock=fake.clock, log=lambda _: None, preload=False)

    def reference(per_seed: dict[str, list[float]]) -> pd.DataFrame:
        return pd.DataFrame([{"backbone": b, "seed": s, "test_top1": v} for b, values in per_seed.items()
                             for s, v in enumerate(values)])

    apart = reference({"convnext_tiny": [95, 96, 97], "swin_t": [90, 91, 90], "resnet50": [80, 81, 80],
                       "regnet_y_3_2gf": [70, 70, 71]})
    table, summary = yourdata.probe_vs_full(result, apart)
    assert table.backbone.tolist() == ["convnext_tiny", "swin_t", "resnet50", "regnet_y_3_2gf"]
    assert table.full_rank.tolist() == [1, 2, 3, 4] and table.probe_rank.tolist() == [1, 2, 3, 4]
    assert summary["spearman"] == pytest.approx(1.0) and summary["low"] == pytest.approx(1.0)
    assert summary["best_kept"] and (summary["n"], summary["seeds"]) == (4, 3)
    table, summary = yourdata.probe_vs_full(result, apart.assign(test_top1=200 - apart.test_top1))
    assert summary["spearman"] == pytest.approx(-1.0) and not summary["best_kept"]
    overlapping = reference({"convnext_tiny": [95, 60, 97], "swin_t": [90, 98, 50], "resnet50": [80, 81, 99],
                             "regnet_y_3_2gf": [70, 70, 71]})
    _, summary = yourdata.probe_vs_full(result, overlapping)
    assert summary["low"] < summary["spearman"] and summary["low"] < summary["high"]
    assert "interval includes zero" in yourdata.describe_probe_check(summary, 2)
    _, agreeing = yourdata.probe_vs_full(result, apart)
    assert "as the full protocol does" in yourdata.describe_probe_check(agreeing, 2)
    assert agreeing["full_spread"] == pytest.approx(96 - 70 - 1 / 3, abs=0.01)
    _, none = yourdata.probe_vs_full(result, None)     # your own data: nothing to compare with
    assert none["n"] == 0 and "not measured" in yourdata.describe_probe_check(none, 2)


def test_finished_runs_cost_nothing_in_the_estimate(ten_train, tmp_path):
    plan = make_plan(ten_train, 100.0, ["resnet50", "convnext_tiny", "swin_t"], tmp_path, top_k=1, seeds="0")
    before = plan.totals()
    assert before["probe_s"] == pytest.approx(1.5) and before["full_worst_s"] == pytest.approx(2.0)
    from lib import results

    for backbone, acc in (("resnet50", 50), ("convnext_tiny", 70), ("swin_t", 60)):
        cfg = plan.config(backbone, "probe", 0).as_dict()
        record = {f: None for f in results.REQUIRED_FIELDS if f != "checksum"}
        record.update({k: cfg[k] for k in ("backbone", "dataset", "fraction", "seed", "profile", "pretrained",
                                           "image_size", "batch_size")})
        record.update(run_key=results.run_key(cfg), config=cfg, history=[], val_top1=acc, test_top1=acc)
        results.write_record(record, plan.records_dir)
    after = plan.totals()     # every probe is done: only convnext (the probe's top 1) can still run
    assert after["probe_s"] == 0 and after["full_worst_s"] == pytest.approx(2.0)
    assert plan.finalists(pd.DataFrame({"backbone": ["resnet50", "swin_t"], "val_top1": [60, 60]})) == ["resnet50"]


def _chapter_defaults() -> dict:
    nb = json.loads((paths.ROOT / "chapters" / "07_your_data.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    values = {}
    exec("".join(cell["source"]), {}, values)
    return values


def test_the_chapters_defaults_are_the_librarys():
    defaults = _chapter_defaults()
    assert defaults["budget_minutes"] == yourdata.BUDGET_MINUTES
    assert defaults["probe_fraction"] == yourdata.PROBE_FRACTION
    assert defaults["probe_epochs"] == yourdata.PROBE_EPOCHS
    assert yourdata.parse_args(["x"]).budget == yourdata.BUDGET_MINUTES
    assert (yourdata.parse_args(["x"]).probe_fraction, yourdata.parse_args(["x"]).probe_epochs) == (
        yourdata.PROBE_FRACTION, yourdata.PROBE_EPOCHS)


def test_the_workshop_demo_search_is_committed_so_the_book_trains_nothing(tmp_path):
    """Issue 17: every run the chapter's default demo search needs is a committed record, made from a
    committed tree; a missing one would make ``make book`` train for many minutes."""
    from lib import models, results

    defaults = _chapter_defaults()
    profile = defaults["profile"]
    demo = yourdata.write_demo_folder(tmp_path / "digits_demo", per_class=profiles.get(profile).demo_per_class)
    names = models.names()
    plan = yourdata.plan_search(demo, domain=defaults["domain"], budget_minutes=defaults["budget_minutes"],
                                top_k=defaults["top_k"], profile=profile, probe_fraction=defaults["probe_fraction"],
                                probe_epochs=defaults["probe_epochs"], costs=fake_costs(names),
                                out_dir=tmp_path / "out", records_dir=yourdata.demo_records_dir(profile))
    assert plan.backbones == names and plan.records_dir == paths.DEMO / profile
    missing = [b for b in names if plan.record(b, "probe", plan.seeds[0]) is None]
    assert not missing, f"no committed probe record for {missing}"

    def committed_only(cfg):
        record = plan.record(cfg.backbone, "probe" if cfg.fraction < 1 else "full", cfg.seed)
        assert record is not None, f"{cfg.backbone} seed {cfg.seed} ({cfg.fraction}) is not committed"
        return record

    result = yourdata.run_search(plan, runner=committed_only, log=lambda _: None, preload=False)
    assert (result.ledger.status == "re-used").all() and len(result.top) == defaults["top_k"]
    assert len(result.records) == len(names) + defaults["top_k"] * len(plan.seeds)
    assert plan.totals()["probe_s"] == 0 and plan.totals()["full_worst_s"] == 0
    commits = {r["git_commit"] for r in results.load_records(plan.records_dir).to_dict("records")}
    assert commits and not any(c.endswith("-dirty") for c in commits)   # each from a committed tree
    assert len(list(plan.records_dir.glob("*.json"))) == len(result.records)   # nothing stale beside them


# --- real runs ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory):
    return yourdata.write_demo_folder(tmp_path_factory.mktemp("demo") / "digits_demo", per_class=6)


@pytest.mark.slow
def test_search_with_the_trainer_is_reproducible_for_a_seed(digits_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    kw = dict(domain="natural", budget_minutes=5, backbones=CI_PAIR, top_k=1, seeds="0", profile="ci", probe_epochs=1,
              full_epochs=1)
    first = yourdata.plan_search(digits_folder, out_dir=tmp_path / "a", **kw)
    second = yourdata.plan_search(digits_folder, out_dir=tmp_path / "b", costs=first.costs, **kw)
    a = yourdata.run_search(first, log=lambda _: None)
    b = yourdata.run_search(second, log=lambda _: None)
    assert (a.ledger.status == "ran").all() and a.spent_s <= first.budget_s
    probe = ["backbone", "probe_val_top1", "probe_test_top1"]
    pd.testing.assert_frame_equal(yourdata.probe_table(a)[probe], yourdata.probe_table(b)[probe])
    final = ["backbone", "val_top1_mean", "test_top1_mean"]
    pd.testing.assert_frame_equal(yourdata.ranking(a)[final], yourdata.ranking(b)[final])
    assert a.top == b.top and len(yourdata.ranking(a)) == 1
    records = sorted((tmp_path / "a" / "runs").glob("*.json"))
    assert len(records) == 3 and all("__folder-digits_demo__" in p.name for p in records)
    assert json.loads(records[0].read_text())["dataset"] == "folder:digits_demo"
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 40, "val": 10, "test": 10} and manifest["dataset"] == "folder:digits_demo"
    again = yourdata.run_search(first, log=lambda _: None)         # finished runs are re-used, not repeated
    assert (again.ledger.status.iloc[1:] == "re-used").all()
    files = yourdata.write_report(a)
    assert files["plot"].stat().st_size > 0 and "ranks first" in files["recommendation"].read_text()


# --- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("args, pattern", [
    (["{missing}"], r"nowhere does not exist"),
    (["{folder}", "--domain", "oceans"], r"domain 'oceans' is not one of"),
    (["{folder}", "--budget-minutes", "0.001", "--profile", "ci", "--backbones", "shufflenet_v2_x2_0"],
     r"is too small"),
    (["{folder}", "--top-k", "x"], r"argument --top-k: invalid int value"),
    (["{folder}", "--budget-minutes", "5", "--budget-gpu-hours", "1"], r"not both"),
])
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(args, pattern, folder, tmp_path, monkeypatch,
                                                                capsys):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "report"
    args = [a.format(missing=tmp_path / "nowhere", folder=folder) for a in args] + ["--out", str(out)]
    assert yourdata.main(args) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(pattern, lines[0])
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_cli_dry_run_shows_the_estimate_and_writes_nothing(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "report"
    assert yourdata.main([str(folder), "--profile", "ci", "--backbones", "shufflenet_v2_x2_0", "--dry-run",
                          "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "full_run_s" in printed and "budget" in printed and "shufflenet_v2_x2_0" in printed
    assert not out.exists() and not (tmp_path / "cache").exists()


# --- the chapter -------------------------------------------------------------------------------------


def test_chapter_is_stored_clean_with_typed_parameters():
    nb = json.loads((paths.ROOT / "chapters" / "07_your_data.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    params = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and params[0] is code[0]
    lines = [l for l in "".join(params[0]["source"]).splitlines() if l.strip()]
    assert all(":" in l.split("=")[0] and "#" in l for l in lines)
    assert any(l.startswith('profile: str = "workshop"') for l in lines)
    assert any(l.startswith('data_dir: str = ""') for l in lines)
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading in ("## Overview", "## Prerequisites", "## Time to run", "## Summary"):
        assert heading in text


@pytest.mark.slow
def test_chapter_executes_with_the_ci_profile(tmp_path, monkeypatch):
    from book import build

    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))     # inherited by the kernel papermill starts
    out = tmp_path / "07.ipynb"
    build.execute_chapter(paths.ROOT / "chapters" / "07_your_data.ipynb", out, "ci",
                         {"out_dir": str(tmp_path / "search"), "demo_dir": str(tmp_path / "demo")})
    nb = json.loads(out.read_text())
    glued = {o["metadata"]["scrapbook"]["name"] for c in nb["cells"] for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert {"ch7_winner", "ch7_gap_verdict", "ch7_spent_minutes", "ch7_budget_minutes"} <= glued
    assert (tmp_path / "search" / "manifest.json").exists() and list((tmp_path / "search" / "runs").glob("*.json"))
    assert not list((paths.RECORDS).glob("*digits_demo*"))


def test_a_folder_with_file_names_that_are_not_utf8_is_checked_and_cached(tmp_path):
    """Names from an old camera or a Windows share: the fingerprint, cache name and messages cope (issue 21)."""
    import os

    from lib import data
    from lib.data import sources

    root = write_folder(tmp_path / os.fsdecode(b"caf\xe9"), {"a": 4, "b": 4})
    (root / "a" / "0.png").rename(root / "a" / os.fsdecode(b"\xff0.png"))
    check = yourdata.check_dataset(root, image_size=32)
    assert check.per_class.images.tolist() == [4, 4] and len(check.fingerprint) == 12
    assert sources.resolve(check.name, check.root).cache_name.startswith("folder-caf_-")
    splits = data.load(check.name, root=check.root, image_size=8, cache_dir=tmp_path / "cache", progress=False)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 8


def test_one_image_listed_under_two_labels_is_found_however_its_path_is_spelt(tmp_path):
    for spelling in ("img/dog/../cat/0.png", str(tmp_path / "img" / "cat" / "0.png"), "./img/cat/0.png"):
        with pytest.raises(DataError, match=r"under two labels, 'cat' and 'dog'; keep one row per image"):
            yourdata.check_dataset(write_csv(tmp_path, "path,label\n" + GOOD_ROWS + f"{spelling},dog\n"))


def test_the_same_image_linked_into_two_class_folders_is_refused(tmp_path):
    root = write_folder(tmp_path / "pets", {"cat": 4, "dog": 4})
    (root / "dog" / "4.png").symlink_to(root / "cat" / "1.png")
    with pytest.raises(DataError, match=r"cat/1\.png and dog/4\.png are the same file \(a link\)"):
        yourdata.check_dataset(root)


# --- what the chapter shows a reader (issue 26) -------------------------------------------------------------------


def test_the_search_is_shown_in_one_line_and_a_table_without_run_keys(ten_train, tmp_path):
    names = ["resnet50", "convnext_tiny", "swin_t"]
    plan = make_plan(ten_train, 8.0, names, tmp_path)
    fake = FakeTrainer(1.0, {"resnet50": 50, "convnext_tiny": 70, "swin_t": 60})
    result = yourdata.run_search(plan, runner=fake, clock=fake.clock, log=lambda _: None, preload=False)
    assert yourdata.ledger_line(result.ledger) == "0 runs re-used, 6 trained, 1 skipped for the budget"
    cache = pd.DataFrame([{"stage": "cache", "backbone": "", "seed": -1, "estimate_s": 1.0, "allowed_s": 1.0,
                           "measured_s": 1.0, "run_key": "", "status": "ran"}])
    ledger = pd.concat([cache, result.ledger], ignore_index=True)
    assert yourdata.ledger_line(ledger) == "0 runs re-used, 6 trained, 1 skipped for the budget"   # not a run
    shown = yourdata.ledger_table(ledger)
    assert "run_key" not in shown and shown.loc[0, ["backbone", "seed"]].isna().all()
    assert shown.loc[1:, "backbone"].tolist() == result.ledger.backbone.tolist()


def test_the_plan_a_reader_sees_has_display_names_and_no_machine_paths(ten_train, tmp_path):
    plan = make_plan(ten_train, 8.0, ["resnet50", "convnext_tiny"], tmp_path)
    text = plan.summary(reader=True).to_string()
    assert "ResNet-50, ConvNeXt-Tiny" in text and "convnext_tiny" not in text
    assert str(tmp_path) not in text and "…/" in text   # outside the repository: its last two parts only
    assert str(tmp_path) in plan.summary().to_string()   # the command line keeps the real paths


def test_the_data_check_and_the_report_are_one_line_each_with_shown_paths(ten_train, tmp_path):
    check = yourdata.check_dataset(ten_train)
    line = yourdata.check_line(check)
    assert line.startswith("`…/") and "2 classes, 14 images, no other files" in line and str(tmp_path) not in line
    files = {"plan": paths.CHECKPOINTS / "x" / "plan.csv", "plot": paths.CHECKPOINTS / "x" / "p.png"}
    assert yourdata.report_line(files) == "Written to `checkpoints/x/`: `plan.csv`, `p.png`."
