"""Chapter 5: Table 9 introspected from the models, FLOP counting, timing, and the chapter itself.

Expected values are facts readable in torchvision's source (stage depths, kernels, SE, stems), not outputs of the
code under test.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from book import architecture as arch
from lib import models, paths
from lib.errors import ConfigError, UnknownNameError


@pytest.fixture(scope="module")
def table():
    """All eleven backbones introspected once (meta device: shapes only)."""
    return arch.architecture_table()


def row(table, name: str) -> dict:
    frame, _ = table
    return frame.set_index("backbone").loc[name].to_dict()


# --- introspection against torchvision's source ---------------------------------------------------------------


def test_stage_depths(table):
    _, archs = table
    assert archs["resnet50"].stages == [3, 4, 6, 3]  # resnet50: layers=[3, 4, 6, 3]
    assert archs["convnext_tiny"].stages == [3, 3, 9, 3]  # convnext_tiny: depths 3, 3, 9, 3
    assert archs["densenet161"].stages == [6, 12, 36, 24]  # densenet161: block_config=(6, 12, 36, 24)
    assert archs["efficientnet_v2_s"].stages == [2, 4, 4, 6, 9, 15]  # _efficientnet_conf("efficientnet_v2_s")
    assert archs["swin_t"].stages == [2, 2, 6, 2]
    assert archs["wavemix_192_16"].stages == [16]


def test_convnext_uses_7x7_depthwise_then_two_pointwise(table):
    _, archs = table
    for block in archs["convnext_tiny"].blocks:
        first, *rest = block.layers
        assert first.kernel == (7, 7) and first.depthwise
        assert [layer.kind for layer in rest] == ["linear", "linear"]  # CNBlock's 1×1s are nn.Linear
        assert rest[0].out_channels == 4 * rest[0].in_channels
    assert row(table, "convnext_tiny")["kernels"] == "7×7, 1×1, 1×1"
    assert row(table, "convnext_tiny")["norm"] == "LN"


def test_squeeze_excitation(table):
    for name in ("mobilenet_v3_large", "regnet_y_3_2gf", "efficientnet_v2_s"):
        assert row(table, name)["se"] == "Yes", name
    for name in ("resnet50", "convnext_tiny", "resnext50_32x4d", "densenet161", "shufflenet_v2_x2_0"):
        assert row(table, name)["se"] == "No", name


def test_stems(table):
    assert row(table, "resnet50")["stem"] == "7×7, /2"
    assert row(table, "densenet161")["stem"] == "7×7, /2"
    assert row(table, "mobilenet_v3_large")["stem"] == "3×3, /2"
    assert row(table, "convnext_tiny")["stem"] == "4×4, /4"
    assert row(table, "swin_t")["stem"] == "4×4, /4"
    assert row(table, "wavemix_192_16")["stem"] == "3×3, /1; 3×3, /1; 4×4, /4"


def test_grouped_is_not_depthwise_and_bottleneck_factors(table):
    # ResNeXt-50 32×4d: 32 groups of 4 channels, not depth-wise; bottleneck width 128 under 256 outputs
    assert row(table, "resnext50_32x4d")["dconv"] == "No"
    assert row(table, "resnext50_32x4d")["cef"] == "2"
    assert row(table, "resnet50")["cef"] == "4"
    assert row(table, "resnet50")["block"] == "Bottleneck"
    assert row(table, "shufflenet_v2_x2_0")["dconv"] == "Yes"
    assert row(table, "mobilenet_v3_large")["kernels"] == "1×1, 3×3/5×5, 1×1"
    assert row(table, "mobilenet_v3_large")["nonlinearity"] == "ReLU, Hardswish"
    assert row(table, "efficientnet_v2_s")["block"] == "Inverted BN"


def test_block_kind_rules_on_hand_made_layers():
    def block(*layers):
        return arch.Block("x.0", "Toy", layers=[arch.Layer(*layer) for layer in layers])

    assert block(("conv", (1, 1), 1, 256, 64), ("conv", (3, 3), 1, 64, 64),
                 ("conv", (1, 1), 1, 64, 256)).kind == "Bottleneck"
    inverted = block(("conv", (1, 1), 1, 24, 144), ("conv", (3, 3), 1, 144, 144, 144), ("conv", (1, 1), 1, 144, 24))
    assert inverted.kind == "Inverted BN" and inverted.expansion == 6
    assert block(("conv", (1, 1), 1, 64, 64), ("conv", (3, 3), 1, 64, 64, 8)).kind == "Isotropic"
    assert block(("conv", (7, 7), 1, 96, 96, 96), ("linear", (1, 1), 1, 96, 384),
                 ("linear", (1, 1), 1, 384, 96)).kind == "Tokenmixer"
    assert block(("conv", (3, 3), 1, 24, 24)).kind == "Plain"


def test_compress_repeated_groups():
    assert arch._compress(["7×7", "1×1", "1×1"]) == "7×7, 1×1, 1×1"
    assert arch._compress(["1×1"] + ["1×1", "1×1", "4×4ᵀ"] * 3) == "1×1, (1×1, 1×1, 4×4ᵀ)×3"


def test_model_without_known_blocks_is_a_one_line_error():
    with pytest.raises(ConfigError, match="BLOCK_CLASSES"):
        arch.introspect(nn.Sequential(nn.Conv2d(3, 4, 3)), "toy")


# --- the paper's Table 9 and the comparison ------------------------------------------------------------------


def test_paper_table9_transcription():
    paper = arch.paper_table9()
    assert len(paper) == 9 and set(paper["backbone"]) <= set(models.names())
    assert not {"swin_t", "swin_v2_t"} & set(paper["backbone"])  # the paper's table has convolutional rows only
    assert set(arch.COLUMNS) <= set(paper.columns)
    assert paper.set_index("backbone").at["regnet_y_3_2gf", "blocks_per_stage"] == "2, 5, 13, 1"  # as printed


def test_every_difference_is_explained_and_every_note_is_used(table):
    frame, _ = table
    comparison = arch.compare_with_paper(frame)
    assert len(comparison) == 9 * len(arch.COLUMNS)
    differing = comparison.loc[~comparison["same"]]
    assert (differing["note"] != "UNEXPLAINED").all(), differing[differing["note"] == "UNEXPLAINED"]
    keys = set(zip(differing["backbone"], differing["column"]))
    assert keys == set(arch.DIFFERENCE_NOTES), "a note explains a cell that no longer differs, or is missing"
    assert not frame.set_index("backbone").loc[["swin_t", "swin_v2_t"], "in_paper_table9"].any()
    assert "background-color" in arch.side_by_side(frame, comparison).data


def test_table9_is_shown_in_two_halves_with_display_names_and_the_differences_highlighted(table):
    frame, _ = table
    comparison = arch.compare_with_paper(frame)
    parts = list(arch.TABLE9_PARTS.values())
    assert sorted(sum(parts, [])) == sorted(arch.COLUMNS)   # every column in exactly one half
    first = arch.side_by_side(frame, comparison, parts[0], caption="first half").data
    second = arch.side_by_side(frame, comparison, parts[1], csv="t9.csv").data
    for markup in (first, second):
        assert "DenseNet-161" in markup and ">densenet161<" not in markup and "ours only" in markup
    assert "first half" in first and "#Blocks/stage" in first and "Non-linearity" not in first
    assert 'download="t9.csv"' in second and "t9.csv" not in first
    # the highlighted cells are ours where the paper differs: DenseNet's Block in the first half, not in the second
    assert first.count("background-color") == 1 and second.count("background-color") == 1
    rows = arch.side_by_side_frame(frame)
    assert rows["source"].tolist()[:2] == ["paper", "ours"] and (rows["source"] == "ours only").sum() == 2
    text = arch.differences_markdown(comparison)
    assert text.count("\n- ") == len(arch.DIFFERENCE_NOTES) - 1
    assert "- **DenseNet-161, Block**: paper *Inverted BN*, ours *Bottleneck*." in text


def test_figures_colour_each_backbone_with_the_books_palette():
    import matplotlib
    from matplotlib.colors import to_hex

    matplotlib.use("Agg")
    from book import present

    frame = pd.DataFrame({"backbone": ["resnet50", "swin_t"], "params_m_ours": [25.6, 28.3],
                          "gmacs_ours": [5.3, 7.4], "forward_img_s": [50.0, 30.0], "train_img_s": [15.0, 10.0],
                          "timing_size": [128, 128], "timing_batch": [4, 4], "device": ["CPU: test", "CPU: test"]})
    scatter = arch.plot_size_compute(frame, 256)
    legend = [t.get_text() for t in scatter.axes[0].get_legend().get_texts()]
    assert legend == ["ResNet-50", "Swin-Tiny"]
    colours = [to_hex(c.get_facecolor()[0]) for c in scatter.axes[0].collections]
    assert colours == [present.colour("resnet50").lower(), present.colour("swin_t").lower()]
    bars = arch.plot_throughput(frame)
    assert {to_hex(p.get_facecolor()) for p in bars.axes[0].patches} == {present.colour("resnet50").lower(),
                                                                         present.colour("swin_t").lower()}


def test_rows_outside_the_paper_table_are_not_compared(table):
    frame, _ = table
    comparison = arch.compare_with_paper(frame[frame["backbone"].isin(["swin_t", "swin_v2_t"])])
    assert comparison.empty and "same" in comparison.columns


def test_normalise_compares_meaning_not_spelling():
    assert arch._normalise("blocks_per_stage", "2, 5, 13, 1") == arch._normalise("blocks_per_stage", "2,5,13,1")
    assert arch._normalise("nonlinearity", "SiLU, ReLU") == arch._normalise("nonlinearity", "ReLU, SiLU")
    assert arch._normalise("cef", "3-6") != arch._normalise("cef", "2.3-6")
    assert arch._normalise("stem", "7x7, /2") == arch._normalise("stem", "7×7, /2")


# --- FLOPs, parameters, timing ---------------------------------------------------------------------------------


def test_flop_counter_counts_two_flops_per_multiply_add():
    conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)  # 8·8 outputs × 8 channels × 3·3·3 MACs each
    assert arch.count_flops(conv, 8) == 2 * 8 * 8 * 8 * 27


def test_resnet50_is_about_4_1_gmacs_at_224_and_meta_equals_cpu():
    flops = arch.count_flops(arch.meta_backbone("resnet50"), 224)
    assert 4.0e9 < flops / 2 < 4.2e9  # 4.09 GMACs, torchvision's ResNet50_Weights meta: 4.09 GFLOPS (= GMACs)
    small = models.build("mobilenet_v3_large", 1000)
    assert arch.count_flops(small, 64) == arch.count_flops(arch.meta_backbone("mobilenet_v3_large"), 64)


def test_efficiency_table_params_match_paper_and_timing_is_labelled():
    plan = arch.TimingPlan(("mobilenet_v3_large",), image_size=32, batch_size=2, steps=1)
    frame = arch.efficiency_table(["mobilenet_v3_large", "resnet50"], input_size=256, plan=plan).set_index("backbone")
    assert abs(frame.at["resnet50", "params_m_ours"] - 25.557032) < 1e-6  # torchvision: 25,557,032 parameters
    assert (abs(frame["params_m_ours"] - frame["params_m_paper"]) < 0.05).all()
    timed = frame.loc["mobilenet_v3_large"]
    assert timed["forward_img_s"] > 0 and timed["train_img_s"] > 0 and timed["device"].startswith("CPU")
    assert math.isnan(frame.at["resnet50", "forward_img_s"])  # not in the plan: not timed


def test_bad_parameters_are_one_line_errors():
    with pytest.raises(UnknownNameError, match="resnet50"):
        arch.efficiency_table(["resnet5"], time_it=False)
    with pytest.raises(ConfigError, match="multiple of 32"):
        arch.efficiency_table(["resnet50"], input_size=100, time_it=False)
    with pytest.raises(ConfigError, match="non-empty list"):
        arch.architecture_table("resnet50")
    with pytest.raises(UnknownNameError, match="workshop"):
        arch.timing_plan("laptop")


# --- the chapter ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_chapter_executes_with_ci_profile(tmp_path):
    import papermill as pm

    out = tmp_path / "05.ipynb"
    pm.execute_notebook(str(paths.ROOT / "chapters" / "05_architecture.ipynb"), str(out),
                        parameters={"profile": "ci"}, kernel_name="which-backbone", cwd=str(paths.ROOT),
                        progress_bar=False)
    text = out.read_text()
    assert "UNEXPLAINED" not in text
    assert "Table 9, first half" in text and "ours only" in text
