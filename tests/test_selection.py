"""Chapter 1's selection rule: on a small hand-made table, and on torchvision's real registry."""
from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

import lib
from book import selection
from lib.errors import ConfigError, DataError


def _registry(rows):
    """A registry-shaped table from (model, module, entry, params_m, top1, is_default, is_first) tuples."""
    df = pd.DataFrame(rows, columns=["model", "module", "entry", "params_m", "top1", "is_default", "is_first"])
    df["params"] = (df["params_m"] * 1e6).round().astype(int)
    df["weights"] = df["model"] + "_Weights." + df["entry"]
    df["quantized"] = False
    return df


# Family "resnet": the best light entry is resnet50 V2 (resnet101 is better but too large).
# Family "mnasnet": its best light model is below 75 %. Family "vgg": nothing light.
# Family "densenet": two light models tie on top-1; the smaller one wins. vgg16 FEATURES has no metric.
HAND = _registry([
    ("resnet18", "resnet", "IMAGENET1K_V1", 11.7, 69.8, True, True),
    ("resnet50", "resnet", "IMAGENET1K_V1", 25.6, 76.1, False, True),
    ("resnet50", "resnet", "IMAGENET1K_V2", 25.6, 80.9, True, False),
    ("resnet101", "resnet", "IMAGENET1K_V1", 44.5, 81.9, True, True),
    ("mnasnet0_5", "mnasnet", "IMAGENET1K_V1", 2.2, 67.7, True, True),
    ("mnasnet1_0", "mnasnet", "IMAGENET1K_V1", 4.4, 73.5, True, True),
    ("vgg16", "vgg", "IMAGENET1K_V1", 138.4, 71.6, True, True),
    ("vgg16", "vgg", "IMAGENET1K_FEATURES", 138.4, np.nan, False, False),
    ("densenet169", "densenet", "IMAGENET1K_V1", 14.1, 77.0, True, True),
    ("densenet121", "densenet", "IMAGENET1K_V1", 8.0, 77.0, True, True),
])


def test_rule_steps_on_hand_made_table():
    marked = selection.apply_rule(selection.candidates(HAND, "entries", "module"), 30.0, 75.0)
    assert set(marked.loc[marked["light"], "model"]) == {"resnet18", "resnet50", "mnasnet0_5", "mnasnet1_0",
                                                           "densenet169", "densenet121"}
    best = marked[marked["family_best"]]
    assert set(zip(best["model"], best["entry"])) == {("resnet50", "IMAGENET1K_V2"), ("mnasnet1_0", "IMAGENET1K_V1"),
                                                      ("densenet121", "IMAGENET1K_V1")}
    assert set(marked.loc[marked["selected"], "model"]) == {"resnet50", "densenet121"}
    steps = selection.rule_steps(marked, 30.0, 75.0)
    assert steps["models"].tolist() == [10, 7, 3, 2]
    assert steps["families"].tolist() == [4, 3, 3, 2]
    assert selection.counts(marked, added=("swin_t",)) == {
        "families_all": 4, "models_all": 10, "models_light": 7, "families_light": 3,
        "selected_by_rule": 2, "final_list": 3}


def test_thresholds_move_the_selection():
    cands = selection.candidates(HAND, "entries", "module")
    strict = selection.apply_rule(cands, max_params_m=20.0, min_top1=75.0)
    assert set(strict.loc[strict["selected"], "model"]) == {"densenet121"}  # resnet50 (25.6 M) is now too large
    loose = selection.apply_rule(cands, max_params_m=30.0, min_top1=70.0)
    assert "mnasnet1_0" in set(loose.loc[loose["selected"], "model"])


@pytest.mark.parametrize("unit, resnet50_entry", [("best", "IMAGENET1K_V2"), ("default", "IMAGENET1K_V2"),
                                                 ("first", "IMAGENET1K_V1")])
def test_units_choose_one_entry_per_architecture(unit, resnet50_entry):
    cands = selection.candidates(HAND, unit, "module")
    assert cands["model"].is_unique and len(cands) == HAND["model"].nunique()
    assert cands.set_index("model").loc["resnet50", "entry"] == resnet50_entry
    assert cands.set_index("model").loc["vgg16", "entry"] == "IMAGENET1K_V1"  # the metric-less entry never wins


def test_first_entries_drop_a_family_that_only_v2_lifts_over_the_threshold():
    marked = selection.apply_rule(selection.candidates(HAND, "first", "module"), 30.0, 76.5)
    assert "resnet50" not in set(marked.loc[marked["selected"], "model"])  # V1: 76.1 %, V2 would be 80.9 %


@pytest.mark.parametrize("model, module, docs, module_rule, stem", [
    ("resnet50", "resnet", "resnet", "resnet", "resnet"),
    ("resnext50_32x4d", "resnet", "resnext", "resnet", "resnext"),
    ("wide_resnet50_2", "resnet", "wide_resnet", "resnet", "wide_resnet"),
    ("efficientnet_b4", "efficientnet", "efficientnet", "efficientnet", "efficientnet"),
    ("efficientnet_v2_s", "efficientnet", "efficientnet_v2", "efficientnet", "efficientnet_v2"),
    ("swin_v2_t", "swin_transformer", "swin_transformer", "swin_transformer", "swin_v2"),
    ("regnet_y_3_2gf", "regnet", "regnet", "regnet", "regnet_y"),
    ("shufflenet_v2_x0_5", "shufflenetv2", "shufflenetv2", "shufflenetv2", "shufflenet_v2"),
    ("mnasnet0_5", "mnasnet", "mnasnet", "mnasnet", "mnasnet"),
    ("inception_v3", "inception", "inception", "inception", "inception_v3"),
    ("vgg11_bn", "vgg", "vgg", "vgg", "vgg"),
    ("vit_b_16", "vision_transformer", "vision_transformer", "vision_transformer", "vit"),
    ("quantized_resnet50", "resnet", "resnet", "resnet", "resnet"),
])
def test_family_rules(model, module, docs, module_rule, stem):
    assert selection.family_of(model, module, "docs") == docs
    assert selection.family_of(model, module, "module") == module_rule
    assert selection.family_of(model, module, "stem") == stem


def test_bad_arguments_raise_one_line_errors():
    with pytest.raises(ConfigError, match="family rule 'size'"):
        selection.family_of("resnet50", "resnet", "size")
    with pytest.raises(ConfigError, match="unit 'all'"):
        selection.candidates(HAND, "all")
    with pytest.raises(ConfigError, match="max_params_m=0"):
        selection.apply_rule(selection.candidates(HAND), max_params_m=0)
    with pytest.raises(ConfigError, match="min_top1=120"):
        selection.apply_rule(selection.candidates(HAND), min_top1=120)


def test_compare_counts_names_the_agreeing_readings():
    grid = pd.DataFrame({"family_rule": ["docs", "module"], "unit": ["entries", "entries"],
                         "quantized": [False, False], "families_all": [20, 17], "models_all": [115, 115]})
    paper = pd.DataFrame({"quantity": ["families_all", "models_all", "min_top1"], "paper": [20, 115, 75],
                          "quote": ["q", "q", "q"], "source": ["s", "s", "s"]})
    out = selection.compare_counts(grid, paper).set_index("quantity")
    assert "min_top1" not in out.index  # a threshold, not a count
    assert out.loc["families_all", "agreeing_readings"] == "docs/entries/no quantized"
    assert out.loc["models_all", "readings_that_agree"] == 2


def test_paper_counts_file_is_labelled_reference_data(tmp_path):
    paper = selection.paper_counts()
    assert {"families_all", "models_all", "models_light", "families_light", "final_list"} <= set(paper["quantity"])
    assert paper["source"].str.startswith("paper").all() and paper["quote"].str.len().gt(40).all()
    with pytest.raises(DataError, match="missing"):
        selection.paper_counts(tmp_path / "nope.csv")
    (tmp_path / "bad.csv").write_text("quantity,paper\nmodels_all,115\n")
    with pytest.raises(DataError, match="lacks column"):
        selection.paper_counts(tmp_path / "bad.csv")


# --- torchvision's real registry ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real():
    reg = selection.registry()
    table2 = selection.paper_table2()
    return reg, table2


def test_paper_torchvision_backbones_are_candidates_with_metadata_params(real):
    from torchvision.models import get_model_weights

    reg, table2 = real
    tv = table2[table2["backbone"].isin(reg["model"])]
    assert len(tv) == 10 and set(table2["backbone"]) - set(tv["backbone"]) == {"wavemix_192_16"}
    for r in tv.itertuples():
        meta = {w.name: w.meta["num_params"] for w in get_model_weights(r.backbone)}
        rows = reg[reg["model"] == r.backbone]
        assert dict(zip(rows["entry"], rows["params"])) == meta
        assert round(rows["params_m"].iloc[0], 1) == pytest.approx(r.params_m)  # Table 2 rounds the same number


def test_metadata_param_count_matches_the_built_model(real):
    import torchvision

    reg, _ = real
    model = torchvision.models.get_model("shufflenet_v2_x0_5", weights=None)
    n = sum(p.numel() for p in model.parameters())
    assert reg.loc[reg["model"] == "shufflenet_v2_x0_5", "params"].iloc[0] == n


def test_registry_is_classification_only(real):
    reg, _ = real
    assert not reg["model"].str.contains("fasterrcnn|deeplab|raft|r3d|swin3d|quantized").any()
    with_q = selection.registry(include_quantized=True)
    assert with_q["quantized"].any() and len(with_q) > len(reg)


def test_docs_reading_reproduces_the_papers_first_counts(real):
    """Pinned torchvision: the docs families over weights entries give the paper's 20 / 115 / 53."""
    reg, _ = real
    marked = selection.apply_rule(selection.candidates(reg, "entries", "docs"))
    got = selection.counts(marked)
    assert (got["families_all"], got["models_all"], got["models_light"]) == (20, 115, 53)


def test_differences_with_table2_are_explained(real):
    reg, table2 = real
    marked = selection.apply_rule(selection.candidates(reg, "entries", "docs"))
    diff = selection.explain_differences(marked, table2, reg).set_index("backbone")
    assert diff.loc["wavemix_192_16", "picked_by"] == "paper only"
    assert "SwinV2-Tiny" in diff.loc["swin_t", "reason"] and "swin_v2_t" not in diff.loc["swin_t", "reason"]
    assert (diff["reason"].str.len() > 20).all()
    side = selection.versus_table2(marked, table2)
    assert set(side.loc[side["in_rule"] & ~side["in_paper"], "backbone"]) == set(diff.index[diff["picked_by"]
                                                                                             == "rule only"])


def test_loaded_weights_flags_table2_accuracies_from_another_entry(real, monkeypatch):
    reg, table2 = real
    loads = {"resnet50": "ResNet50_Weights.IMAGENET1K_V2", "convnext_tiny": "ConvNeXt_Tiny_Weights.IMAGENET1K_V1"}
    fake = types.ModuleType("lib.models")
    fake.spec = lambda name: types.SimpleNamespace(weights=loads[name])
    monkeypatch.setitem(sys.modules, "lib.models", fake)
    monkeypatch.setattr(lib, "models", fake, raising=False)
    out = selection.loaded_weights(table2[table2["backbone"].isin(loads)], reg).set_index("backbone")
    assert out.loc["resnet50", "top1_differs"] and out.loc["resnet50", "table2_matches"] == "IMAGENET1K_V1"
    assert not out.loc["convnext_tiny", "top1_differs"]
    loads["resnet50"] = "ResNet50_Weights.IMAGENET1K_V9"
    with pytest.raises(DataError, match="IMAGENET1K_V9"):
        selection.loaded_weights(table2[table2["backbone"] == "resnet50"], reg)


def test_plot_draws_both_thresholds(real):
    import matplotlib

    matplotlib.use("Agg")
    reg, table2 = real
    marked = selection.apply_rule(selection.candidates(reg), 25.0, 77.0)
    fig = selection.plot_candidates(marked, 25.0, 77.0, tuple(table2["backbone"]))
    ax = fig.axes[0]
    xs = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"]
    ys = [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":"]
    assert xs == [25.0] and ys == [77.0]
    labels = {t.get_text() for t in ax.texts}
    assert set(marked.loc[marked["selected"], "model"].map(selection.model_name)) <= labels


def test_table2_sizes_match_the_loaded_weights_and_only_resnet50_accuracy_differs(real):
    """With the real backbone registry: every Table 2 size matches (WaveMix: its build), one accuracy does not."""
    pytest.importorskip("lib.models")
    reg, table2 = real
    out = selection.loaded_weights(table2, reg)
    assert (out["loaded_params_m"] == out["paper_params_m"]).all()
    assert out.loc[out["top1_differs"], "backbone"].tolist() == ["resnet50"]


def test_model_names_are_the_papers_for_its_backbones_and_torchvisions_for_the_rest():
    """A table never shows a code id: the eleven backbones by the paper's names, other models by torchvision's."""
    pytest.importorskip("lib.models")
    assert selection.model_name("convnext_tiny") == "ConvNeXt-Tiny"
    assert selection.model_name("efficientnet_b4") == "EfficientNet-B4"
    assert selection.model_name("mnasnet1_3") == "MNASNet1.3"
    assert selection.model_name("regnet_y_16gf") == "RegNet-Y-16GF"
    assert selection.model_name("not_a_model") == "not_a_model"
    assert selection.quantity_text("families_all, models_light") == "families, light models"


def test_chapter_tables_show_display_names_and_no_index_or_nan(real):
    """The chapter's tables, as HTML: no backbone id, no NaN, no numbered index column; the whole frame as CSV."""
    pytest.importorskip("lib.models")
    from lib import models

    reg, table2 = real
    marked = selection.apply_rule(selection.candidates(reg, "entries", "docs"))
    tables = [selection.versus_table(selection.versus_table2(marked, table2)),
              selection.differences_table(selection.explain_differences(marked, table2, reg)),
              selection.picks_table(marked), selection.registry_table(reg)]
    for shown in tables:
        text = shown.data
        assert not any(f">{name}<" in text for name in models.names()), text[:300]
        assert "NaN" not in text and "nan<" not in text and "<th class=\"row_heading" not in text
    assert "Download" in tables[0].data and "base64," in tables[0].data
