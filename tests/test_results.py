"""Run records: keys, checksums, atomic and concurrent writes, loading and the seed aggregation."""
from __future__ import annotations

import json
import math
import multiprocessing as mp

import pytest

from book import finetuning
from lib import results
from lib.errors import DataError


def config(**changes) -> dict:
    cfg = {"backbone": "resnet50", "dataset": "digits", "seed": 0, "profile": "ci", "fraction": 1.0,
           "pretrained": False, "image_size": [32, 32], "batch_size": 64, "patience": 1, "max_epochs": 2,
           "device": "cpu", "num_workers": 0}
    return {**cfg, **changes}


def record(test_top1: float = 50.0, **changes) -> dict:
    cfg = config(**changes)
    rec = {f: None for f in results.REQUIRED_FIELDS if f != "checksum"}
    rec.update({k: cfg[k] for k in ("backbone", "dataset", "fraction", "seed", "profile", "pretrained",
                                    "image_size", "batch_size")})
    rec.update(run_key=results.run_key(cfg), config=cfg, history=[{"epoch": 1, "val_top1": 1.0}],
               test_top1=test_top1, test_top5=99.0, val_top1=40.0)
    return rec


def test_run_key_names_the_experiment_and_ignores_where_it_ran():
    key = results.run_key(config())
    assert key.startswith("resnet50__digits__f1__s0__ci__scratch__32x32__")
    assert results.run_key(config(device="cuda", num_workers=8)) == key
    assert results.run_key(config(cpu_threads=3)) == key     # in the config of records written before 2026-12-03
    for change in ({"seed": 1}, {"fraction": 0.1}, {"max_epochs": 3}, {"pretrained": True},
                   {"image_size": [64, 64]}, {"batch_size": 32}):
        assert results.run_key(config(**change)) != key, change
    assert "f0p1" in results.run_key(config(fraction=0.1))


# Characters and names that Windows refuses in a file name (macOS and Linux accept them).
WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def windows_problem(name: str) -> str | None:
    """Why Windows would refuse the file name ``name``, or None."""
    if WINDOWS_FORBIDDEN & set(name) or any(ord(ch) < 32 for ch in name):
        return "a forbidden character"
    if name.endswith((".", " ")):
        return "a trailing dot or space"
    if name.split(".")[0].lower() in WINDOWS_RESERVED:
        return "a reserved device name"
    return None


@pytest.mark.parametrize("dataset, in_key", [("folder:leaves", "folder-leaves"), ("csv:labels.csv", "csv-labels.csv"),
                                             ("folder:my leaves?*", "folder-my-leaves--")])
def test_run_keys_of_a_readers_own_data_are_file_names_on_every_os(tmp_path, dataset, in_key):
    key = results.run_key(config(dataset=dataset))
    assert windows_problem(f"{key}.json") is None and " " not in key
    assert key.startswith(f"resnet50__{in_key}__f1__")
    look_alike = dataset.replace(":", "-")       # a name that reads the same in the key still has a key of its own
    assert results.run_key(config(dataset=look_alike)) != key
    assert results.find_record(key, tmp_path) is None
    path = results.write_record(record(dataset=dataset), tmp_path)
    assert results.find_record(key, tmp_path)["dataset"] == dataset and path.name == f"{key}.json"


def test_every_tracked_file_name_is_valid_on_windows_and_unique_without_case():
    import subprocess

    from lib import paths

    files = subprocess.run(["git", "ls-files"], cwd=paths.ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert files
    bad = {f: why for f in files for part in f.split("/") if (why := windows_problem(part))}
    assert not bad
    folded = [f.lower() for f in files]
    assert len(set(folded)) == len(folded), "two tracked files differ only in case (one of them is lost on macOS/Windows)"


def test_write_read_roundtrip_and_checksum(tmp_path):
    path = results.write_record(record(), tmp_path)
    back = results.read_record(path)
    assert back["test_top1"] == 50.0 and back["checksum"] == results.checksum(back)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]     # no temporary files left behind


def test_edited_or_truncated_record_is_refused(tmp_path):
    path = results.write_record(record(), tmp_path)
    data = json.loads(path.read_text())
    data["test_top1"] = 99.9
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="checksum"):
        results.read_record(path)
    path.write_text(path.read_text()[:40])
    with pytest.raises(DataError, match="unreadable"):
        results.load_records(tmp_path)


def test_record_lacking_fields_is_not_written(tmp_path):
    rec = record()
    del rec["test_top5"]
    with pytest.raises(ValueError, match="test_top5"):
        results.write_record(rec, tmp_path)
    assert not list(tmp_path.iterdir())


def _write_many(folder, worker: int) -> None:
    for seed in range(6):   # every worker writes the same six runs, with its own value
        results.write_record(record(test_top1=float(worker), seed=seed), folder)


def test_concurrent_writers_leave_one_complete_record_per_run(tmp_path):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(tmp_path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs)
    files = sorted(tmp_path.iterdir())
    assert len(files) == 6 and all(f.suffix == ".json" for f in files)   # no duplicates, no temp files
    df = results.load_records(tmp_path)                                     # every checksum verifies
    assert sorted(df["seed"]) == list(range(6)) and set(df["test_top1"]) <= {0.0, 1.0, 2.0, 3.0}


def test_load_records_and_best_of_n(tmp_path):
    assert results.load_records(tmp_path).empty
    for seed, top1 in enumerate([70.0, 80.0, 75.0]):
        results.write_record(record(top1, seed=seed), tmp_path)
    results.write_record(record(60.0, seed=0, backbone="swin_t"), tmp_path)
    df = results.load_records(tmp_path)
    assert len(df) == 4 and set(df["source"]) == {"ours"} and set(df["image_size"]) == {"32x32"}
    summary = results.summarise(df).set_index("backbone")
    assert summary.loc["resnet50", "test_top1_best"] == 80.0          # the paper's best-of-three
    assert summary.loc["resnet50", "test_top1_mean"] == 75.0
    assert summary.loc["resnet50", "test_top1_std"] == pytest.approx(5.0)
    assert summary.loc["resnet50", "n_seeds"] == 3 and summary.loc["resnet50", "seeds"] == [0, 1, 2]
    assert summary.loc["swin_t", "n_seeds"] == 1 and math.isnan(summary.loc["swin_t", "test_top1_std"])


def test_compare_with_paper_matches_cells_and_leaves_digits_without_a_paper_number():
    import pandas as pd

    paper = pd.DataFrame({"source": "paper", "backbone": ["resnet50", "resnet50", "resnet50"],
                          "dataset": ["cifar10", "cifar10", "cifar10"], "fraction": [1.0, 1.0, 0.1],
                          "top1": [94.58, 94.0, 80.0], "table": ["4", "7", "7"]})
    summary = pd.DataFrame({"backbone": ["resnet50", "resnet50", "resnet50"],
                            "dataset": ["cifar10", "cifar10", "digits"], "fraction": [1.0, 0.1, 1.0],
                            "test_top1_best": [90.0, 85.0, 70.0]})
    out = results.compare_with_paper(summary, paper).set_index(["dataset", "fraction"])
    assert out.loc[("cifar10", 1.0), "paper_top1"] == 94.58 and out.loc[("cifar10", 1.0), "paper_table"] == "4"
    assert out.loc[("cifar10", 1.0), "delta"] == pytest.approx(90.0 - 94.58)
    assert out.loc[("cifar10", 0.1), "paper_top1"] == 80.0
    assert math.isnan(out.loc[("digits", 1.0), "paper_top1"])


def test_the_95_percent_interval_is_students_t_over_the_seeds():
    # three seeds 90, 92, 94: mean 92, std 2, t(0.975, 2) = 4.303 -> 92 +- 4.97
    assert abs(results.ci95([90.0, 92.0, 94.0]) - 4.302653 * 2 / 3 ** 0.5) < 1e-5
    assert results.ci95([91.0, 91.0]) == 0.0
    assert results.ci95([91.0]) != results.ci95([91.0])   # NaN: one seed gives no interval


def test_mean_and_interval_as_text_say_when_there_is_one_seed():
    assert finetuning.mean_ci_text(92.0, 4.9686) == "92.00 ± 4.97"
    assert finetuning.mean_ci_text(92.0, float("nan")) == "92.00 (one seed: no interval)"


def test_beside_paper_labels_ours_and_the_papers_columns(tmp_path):
    import pandas as pd

    for seed, top1 in enumerate([90.0, 92.0, 94.0]):
        results.write_record(record(top1, seed=seed), tmp_path)
    results.write_record(record(60.0, seed=0, backbone="swin_t"), tmp_path)
    paper = pd.DataFrame({"source": "paper", "backbone": ["resnet50"], "dataset": ["digits"], "fraction": [1.0],
                          "top1": [99.0], "table": ["4"]})
    side = results.compare_with_paper(results.summarise(results.load_records(tmp_path)), paper)
    table = finetuning.beside_paper(side).set_index("backbone")
    assert table.loc["resnet50", "ours: mean ± 95 % interval"] == "92.0 ± 5.0"
    assert table.loc["resnet50", "ours: best of the seeds"] == 94.0
    assert table.loc["resnet50", "paper: best of 3"] == 99.0
    assert table.loc["swin_t", "ours: mean ± 95 % interval"] == "60.0 (one seed: no interval)"
    # where the paper has none of the cells, its columns go (the chapter says "not in the paper" once)
    alone = finetuning.beside_paper(side[side["backbone"] == "swin_t"])
    assert not any(c.startswith("paper") for c in alone.columns)
    assert finetuning.not_in_paper_text(["digits"]).startswith("The paper has no cell for Digits (scikit-learn)")
    assert "them" in finetuning.not_in_paper_text(["digits", "dtd"])


def test_chapter_three_tables_and_figures_read_as_a_book(tmp_path):
    """Display names, no NaN, one dataset column only when there are several, a CSV without the histories; the
    curves in the book's palette with a legend; the heatmap's scale fixed from chance to 100."""
    import matplotlib

    matplotlib.use("Agg")
    from book import present

    for seed, top1 in enumerate([90.0, 92.0, 94.0]):
        rec = record(top1, seed=seed)
        rec["history"] = [{"epoch": 1, "phase": "adamw", "val_top1": 50.0}, {"epoch": 2, "phase": "sgd",
                                                                            "val_top1": 60.0}]
        results.write_record(rec, tmp_path)
    runs = results.load_records(tmp_path)
    html = finetuning.runs_table(runs).data
    assert "ResNet-50" in html and ">resnet50<" not in html and "NaN" not in html
    assert "<th" in html and ">dataset<" not in html   # one dataset: the prose names it
    assert "history" not in finetuning.records_csv_frame(runs).columns
    assert "ResNet-50" in finetuning.optimism_table(runs).data
    fig = finetuning.plot_learning_curves(results.history_frame(runs))
    legend = [t.get_text() for t in fig.legends[0].texts]
    assert "ResNet-50" in legend and "SGD" in legend
    line = next(l for l in fig.axes[0].lines if len(l.get_xdata()))
    assert matplotlib.colors.to_hex(line.get_color()) == present.colour("resnet50").lower()
    summary = results.summarise(runs)
    fig = finetuning.plot_mean_heatmap(results.compare_with_paper(summary, _no_paper()), chance=10.0)
    assert fig.axes[0].collections[0].get_clim() == (10.0, 100.0)
    assert "±" in fig.axes[0].texts[0].get_text()
    assert finetuning.widest_interval_text(summary) == "up to ± 5.0 points"
    assert "one seed" in finetuning.widest_interval_text(summary.assign(test_top1_ci95=float("nan")))


def _no_paper():
    import pandas as pd

    return pd.DataFrame({"source": [], "backbone": [], "dataset": [], "fraction": [], "top1": [], "table": []})


def test_grid_cost_and_how_runs_stopped(tmp_path):
    runs = [(0, 1.0, "patience", 3, 2, 600.0), (1, 1.0, "max_epochs", 8, 2, 1200.0),
            (0, 0.1, "patience", 4, 2, 300.0), (1, 0.1, None, 2, 2, 60.0)]
    keys = []
    for seed, fraction, stopped_by, adamw, sgd, seconds in runs:
        rec = record(seed=seed, fraction=fraction)
        rec.update(epochs_adamw=adamw, epochs_sgd=sgd, wall_time_s=seconds, device="cpu (2 threads)")
        if stopped_by is not None:   # the last record predates stopped_by
            rec["stopped_by"] = stopped_by
        keys.append(results.write_record(rec, tmp_path).stem)
    grid = results.records_of(keys + ["absent__key"], tmp_path)
    assert results.grid_cost(grid) == {"runs": 4, "hours": 0.6, "devices": "cpu (2 threads)"}
    stops = finetuning.stopping(grid).set_index(["fraction", "stopped_by"])
    assert stops.loc[(1.0, "max_epochs"), "runs"] == 1 and stops.loc[(1.0, "max_epochs"), "epochs_max"] == 10
    assert stops.loc[(0.1, "not recorded"), "runs"] == 1 and stops["runs"].sum() == 4
    assert results.grid_cost(results.records_of([], tmp_path))["runs"] == 0
