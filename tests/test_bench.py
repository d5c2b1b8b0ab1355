"""Every benchmark runs end to end at the tiny size; the GPU command fails cleanly without CUDA; the grid arithmetic."""
import math
import os
import sys

import pandas as pd
import pytest
import torch

from bench import __main__ as bench_main
from bench import common, gpu, grid


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    old = os.environ.get("WB_CACHE")
    os.environ["WB_CACHE"] = str(out / "cache")   # generated JPEGs and the .npy cache stay in the temp folder
    try:
        rc = bench_main.main(["--size", "tiny", "--out", str(out), "--no-fail"])
    finally:
        if old is None:
            os.environ.pop("WB_CACHE")
        else:
            os.environ["WB_CACHE"] = old
    return rc, out


@pytest.mark.parametrize("name", ["input_pipeline", "augment", "trainer_overhead", "step_cost", "grid_cost"])
def test_every_benchmark_writes_a_csv_with_the_machine_and_a_plot(tiny_run, name):
    rc, out = tiny_run
    assert rc == 0
    table = pd.read_csv(out / f"{name}.csv")
    assert len(table) and {"machine", "cpu_cores", "torch", "measured_at"} <= set(table.columns)
    assert table["machine"].str.contains("CPU").all()
    assert (out / f"{name}.png").stat().st_size > 1000


def test_tiny_results_are_measurements(tiny_run):
    _, out = tiny_run
    p = pd.read_csv(out / "input_pipeline.csv").set_index("pipeline")
    assert set(p.index) == {"authors", "book_decode", "book_cache", "authors_noaug", "book_cache_noaug"}
    assert (p["img_s_median"] > 0).all() and (p["img_s_min"] <= p["img_s_median"]).all()
    assert p.loc["authors", "speedup_vs_authors"] == p.loc["authors_noaug", "speedup_vs_authors"] == 1.0
    assert p.loc["book_cache", "cache_build_s"] > 0
    assert not list((out / "cache" / "bench").glob("npy-*")), "the per-run cache folder is removed"
    a = pd.read_csv(out / "augment.csv")
    assert len(a) == 15 and a["identical"].all(), "every op, and the whole transform, gave torchvision's pixels"
    assert (a["torchvision_ms"] > 0).all() and (a["book_ms"] > 0).all() and (a["calls"] > 0).all()
    o = pd.read_csv(out / "trainer_overhead.csv")
    assert list(o["backbone"]) == list(common.size("tiny").backbones) and (o["ratio_median"] > 0).all()
    s = pd.read_csv(out / "step_cost.csv")
    assert set(s["kind"]) == {"forward", "train_step"} and set(s["image_size"]) == {32, 64}
    assert (s[s["variant"] == "fp32"]["speedup_vs_fp32"] == 1.0).all()
    t = pd.read_csv(out / "targets.csv")
    assert len(t) == 3
    for row in t.itertuples():   # each verdict follows from its own measurement and threshold
        op, threshold = row.required.rstrip("x").split()
        assert row.met == (row.measured >= float(threshold) if op == ">=" else row.measured > float(threshold))
    g = pd.read_csv(out / "grid_cost.csv")
    assert (g[g["source"] == "paper"]["gpu_hours"] == grid.PAPER_GPU_HOURS).all()
    assert g["method"].str.startswith("input-bound").any()   # the pipeline's measured rate fed the grid


def test_bad_arguments_are_one_line_errors(capsys):
    assert bench_main.main(["--size", "huge"]) == 2
    assert "benchmark size 'huge' is not known: choose one of tiny, default" in capsys.readouterr().err
    assert bench_main.main(["--only", "pipeline,typo"]) == 2
    assert "typo is not a benchmark" in capsys.readouterr().err


def toy_runs() -> pd.DataFrame:
    return pd.DataFrame({"backbone": ["a", "b"], "image_size": ["256x256", "256x256"], "train_images": [100, 50],
                         "test_images": [10, 20], "train_gflops_per_image": [3.0, 6.0],
                         "forward_gflops_per_image": [1.0, 2.0],
                         "pflop_per_epoch": [(100 * 3e9 + 10 * 1e9) / 1e15, (50 * 6e9 + 20 * 2e9) / 1e15]})


def test_grid_projection_arithmetic():
    a = grid.Assumptions(peak_tflops=100.0, epochs=10, epochs_low=5, epochs_high=20, seeds=3,
                         utilisation=0.5, utilisation_range=(0.5,))
    gpu_rates = pd.DataFrame({"backbone": ["a", "b"], "image_size": ["256x256"] * 2, "train_img_s": [100.0, 50.0],
                              "eval_img_s": [10.0, 20.0], "device": ["Fake GPU"] * 2})
    table = grid.project(toy_runs(), a, pipeline_img_s=65.0, gpu=gpu_rates)
    total_flops = (100 * 3e9 + 10 * 1e9 + 50 * 6e9 + 20 * 2e9) * 3 * 10
    row = table[(table["method"].str.startswith("FLOPs")) & (table["epochs"] == 10)].iloc[0]
    assert math.isclose(row["gpu_hours"], total_flops / (100e12 * 0.5) / 3600)
    implied = table[(table["method"].str.startswith("utilisation implied")) & (table["epochs"] == 10)].iloc[0]
    assert math.isclose(implied["utilisation"], total_flops / (100e12 * 1500 * 3600))
    inputs = table[(table["method"].str.startswith("input-bound")) & (table["epochs"] == 10)].iloc[0]
    assert math.isclose(inputs["gpu_hours"], 180 * 3 * 10 / 65.0 / 3600)
    measured = table[(table["method"].str.startswith("measured")) & (table["epochs"] == 10)].iloc[0]
    assert math.isclose(measured["gpu_hours"], (100 / 100 + 10 / 10 + 50 / 50 + 20 / 20) * 3 * 10 / 3600)
    assert "Fake GPU" in measured["note"] and table["grid_runs"].iloc[0] == 6


def test_grid_covers_the_papers_runs_and_counts_training_flops():
    runs = grid.grid_runs(["shufflenet_v2_x2_0"])
    assert len(runs) == 20 + 9   # 20 datasets at 100 %, Table 7's 4 and Table 8's 5 low-data cells
    assert set(runs["image_size"]) == {"256x256", "448x672"}
    cifar = runs.set_index(["dataset", "fraction"]).loc[("cifar10", 0.01)]
    assert cifar["train_images"] == 500 and cifar["test_images"] == 10000
    ratio = runs["train_gflops_per_image"] / runs["forward_gflops_per_image"]
    assert ratio.between(2.5, 3.5).all()   # backward costs about twice the forward


def test_gpu_command_without_cuda_is_one_clear_line(capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert gpu.main(["--backbones", "shufflenet_v2_x2_0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "needs a CUDA GPU" in err
    assert gpu.main(["--backbones", "nope"]) == 2 and "unknown backbone 'nope'" in capsys.readouterr().err


def test_step_timing_warms_up_synchronises_and_takes_the_true_median(monkeypatch):
    from lib import timing

    calls, syncs = [], []
    monkeypatch.setattr(timing, "synchronize", lambda device: syncs.append(device))
    stats = timing.step_rate(lambda: calls.append(1), items=8, warmup=2, calls=3, repeats=4, device="cuda")
    assert len(calls) == 2 + 3 * 4 and stats["repeats"] == 4 and stats["per_s_median"] > 0
    assert len(syncs) == 2 * 4   # before and after every timed repeat
    # the median of two timings is their mean rate, not the slower one
    assert timing.rate_stats(10, [1.0, 2.0])["per_s_median"] == 7.5
    assert gpu.grid_sizes() == ((256, 256), (448, 672))


@pytest.mark.parametrize("groups", [1, 16])
def test_flop_counter_counts_a_convolution_backward_as_two_forwards(groups):
    conv = torch.nn.Conv2d(16, 16, 3, padding=1, groups=groups)
    x = torch.randn(1, 16, 8, 8, requires_grad=True)
    forward, step = grid.flop_counter(), grid.flop_counter()
    with forward, torch.no_grad():
        conv(x)
    with step:
        conv(x).sum().backward()
    assert step.get_total_flops() == 3 * forward.get_total_flops()   # forward + input grad + weight grad


def test_the_measured_commit_is_read_before_the_first_csv_is_written(tmp_path, monkeypatch):
    """Writing a tracked CSV makes the tree dirty; every CSV of one run must still name the commit it measured."""
    common.measured_commit.cache_clear()
    answers = iter(["abc123", "abc123-dirty"])
    monkeypatch.setattr(common, "git_commit", lambda: next(answers))
    assert common.machine()["git_commit"] == "abc123"
    assert common.machine()["git_commit"] == "abc123"   # not re-read after a write
    common.measured_commit.cache_clear()


def _step_rows(variants, machine="CPU: AMD EPYC (2 cores, 1 torch threads)") -> pd.DataFrame:
    rows = [{"backbone": b, "image_size": s, "batch": 2, "kind": k, "variant": v, "img_s_median": 10.0 * (i + 1),
             "speedup_vs_fp32": 1.0 if v == "fp32" else 1.5, "machine": machine, "cpu_capability": "AVX2",
             "torch": "2.0"}
            for i, b in enumerate(["resnet50", "mobilenet_v3_large"]) for s in (32, 256)
            for k in ("forward", "train_step") for v in variants]
    return pd.DataFrame(rows)


def test_step_cost_is_shown_with_words_for_what_was_not_measured():
    from bench import steps

    two = _step_rows(["fp32", "fp32_channels_last"])
    text = steps.variants_text(two)
    assert "bf16 autocast was not measured, because the CPU they ran on, an AMD EPYC with AVX2" in text
    assert "not measured×" not in text
    assert steps.variants_text(_step_rows(list(steps.VARIANTS))).endswith(": every variant")
    table = steps.speedup_table(two)
    assert list(table.columns) == ["input side", "step", "fp32 channels_last / fp32"]
    assert table["input side"].tolist() == ["32×32", "32×32", "256×256", "256×256"]
    fig = steps.figure(two)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert set(labels) == {"ResNet-50", "MobileNetV3-Large"}   # display names, in the book's palette


def test_targets_and_the_machine_read_as_prose():
    targets = pd.DataFrame({"target": ["trainer / bare loop, every backbone (lowest: resnet50)",
                                       "fastest training step (mobilenet_v3_large, 256px)"],
                            "required": [">= 0.95x", "> 1x"], "measured": [0.98, 110.9], "met": [True, False]})
    shown = common.readable_targets(targets)
    assert shown["target"].tolist() == ["trainer / bare loop, every backbone (lowest: ResNet-50)",
                                        "fastest training step (MobileNetV3-Large, 256px)"]
    assert shown["met"].tolist() == ["yes", "no"]
    table = _step_rows(["fp32"])
    assert common.machine_text(table) == "CPU: AMD EPYC (2 cores, 1 torch threads), torch 2.0"
    assert common.machine_label(table) == "measured on " + common.machine_text(table)   # "Measured on" + text
