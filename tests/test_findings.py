"""book.findings on small hand-made tables (answers worked out by hand), plus its run on the paper's numbers."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import paper
from book import findings
from book.verdicts import SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, WITHIN_NOISE, NOT_CHECKABLE
from lib.errors import ConfigError

ALL = list(paper.BACKBONES)


def long(table: dict[str, dict[str, float]], fraction: float | None = None) -> pd.DataFrame:
    """{dataset: {backbone: top1}} -> long table."""
    rows = [{"backbone": b, "dataset": d, "top1": v} for d, row in table.items() for b, v in row.items()]
    df = pd.DataFrame(rows)
    return df if fraction is None else df.assign(fraction=fraction)


def filled(dataset_values: dict[str, dict[str, float]], default: float = 50.0) -> pd.DataFrame:
    """Every one of the 11 backbones on each dataset, ``default`` unless given."""
    return long({d: {b: vals.get(b, default) for b in ALL} for d, vals in dataset_values.items()})


# Three natural datasets, four backbones; the three rules give three different top threes (worked by hand):
#   mean rank: A (1,1,4)=2, B (2,2,2)=2, C 3, D (4,4,1)=3 -> B, A (tie on 2, B has the higher mean top-1), D
#   mean top-1: B 80, D 73, C 70, A 63.3 -> B, D, C
#   top-3 count: B 3, C 3, A 2, D 1 -> B, C (mean rank breaks the tie), A
TOY = long({"cifar10": {"A": 90, "B": 80, "C": 70, "D": 60},
            "cifar100": {"A": 90, "B": 80, "C": 70, "D": 60},
            "stanford_dogs": {"A": 10, "B": 80, "C": 70, "D": 99}})


@pytest.mark.parametrize("rule,expected", [("mean_rank", ["B", "A", "D"]), ("mean_top1", ["B", "D", "C"]),
                                           ("top3_count", ["B", "C", "A"])])
def test_recompute_table1_under_each_rule(rule, expected):
    top = findings.recompute_table1(TOY, rule)
    assert top[top.domain == "natural"].sort_values("rank").backbone.tolist() == expected
    assert set(top.domain) == {"natural", "overall"}


def test_ties_share_the_average_rank_and_the_best_place():
    ranked = findings.dataset_ranks(long({"dtd": {"A": 90, "B": 90, "C": 80}})).set_index("backbone")
    assert ranked.loc["A", "rank"] == ranked.loc["B", "rank"] == 1.5
    assert ranked.loc["A", "place"] == ranked.loc["B", "place"] == 1 and ranked.loc["C", "place"] == 3


def test_domains_pool_their_datasets_and_overall_pools_all():
    df = long({"cifar10": {"A": 90, "B": 80}, "dtd": {"A": 10, "B": 20}, "digits": {"A": 1, "B": 2}})
    scores = findings.domain_scores(df).set_index(["domain", "backbone"])
    assert scores.loc[("texture", "B"), "mean_rank"] == 1
    assert scores.loc[("overall", "A"), "datasets"] == 3
    assert (findings.OUTSIDE_PAPER, "A") in scores.index  # digits is labelled, not silently dropped


def test_compare_table1_and_agreement():
    published = pd.DataFrame({"domain": ["natural"] * 3, "rank": [1, 2, 3], "backbone": ["B", "A", "C"]})
    cmp = findings.compare_table1(findings.recompute_table1(TOY, "mean_rank"), published).iloc[0]
    assert cmp.same_best and not cmp.same_set and not cmp.same_order and cmp.shared == 2
    agree = findings.table1_agreement(TOY, published).set_index("rule")
    assert agree.loc["top3_count", "same_set"] == 1 and agree.loc["mean_top1", "same_best"] == 1


def test_bad_rule_and_duplicate_rows_are_one_line_errors():
    with pytest.raises(ConfigError, match="choose one of mean_rank"):
        findings.recompute_table1(TOY, "median")
    with pytest.raises(ConfigError, match="several rows"):
        findings.recompute_table1(pd.concat([TOY, TOY]))


# ------------------------------------------------------------------------------------------------ observations

IMAGENET = paper.table2()


def test_imagenet_check_sees_a_perfect_correlation_and_its_absence():
    acc = IMAGENET.set_index("backbone")["imagenet_top1"]
    follows = long({d: dict(acc) for d in ("cifar10", "dtd", "eurosat")})
    assert findings.check_imagenet_not_predictive(follows, IMAGENET).verdict == NOT_SUPPORTED
    reverse = long({d: dict(200 - acc) for d in ("cifar10", "dtd", "eurosat")})
    check = findings.check_imagenet_not_predictive(reverse, IMAGENET)
    assert check.verdict == SUPPORTED
    assert (check.details.spearman < -0.99).all()


def test_cnn_vs_transformer():
    cnn_wins = filled({d: {"convnext_tiny": 90, "swin_t": 40, "swin_v2_t": 40} for d in ("cifar10", "dtd")})
    assert findings.check_cnns_beat_transformers(cnn_wins).verdict == SUPPORTED
    swin_wins = filled({d: {"swin_t": 99} for d in ("cifar10", "dtd")})
    assert findings.check_cnns_beat_transformers(swin_wins).verdict == NOT_SUPPORTED


def test_convnext_natural():
    natural = ["cifar10", "cifar100", "stanford_dogs", "cub200"]
    best_all = filled({d: {"convnext_tiny": 90} for d in natural})
    assert findings.check_convnext_natural(best_all).verdict == SUPPORTED
    best_half = filled({d: {"convnext_tiny": 90 if i < 2 else 10} for i, d in enumerate(natural)})
    assert findings.check_convnext_natural(best_half).verdict == PARTLY_SUPPORTED
    never = filled({d: {"convnext_tiny": 10} for d in natural})
    assert findings.check_convnext_natural(never).verdict == NOT_SUPPORTED
    assert findings.check_convnext_natural(filled({"dtd": {}})).verdict == NOT_CHECKABLE


def test_regnet_efficientnet():
    good = {"regnet_y_3_2gf": 90, "efficientnet_v2_s": 91}
    everywhere = filled({d: good for d in ("cifar10", "eurosat", "plantclef", "rsna")})
    assert findings.check_regnet_efficientnet_versatile(everywhere).verdict == SUPPORTED
    bad = {"regnet_y_3_2gf": 10, "efficientnet_v2_s": 10}
    nowhere = filled({d: bad for d in ("cifar10", "eurosat", "plantclef", "rsna")})
    assert findings.check_regnet_efficientnet_versatile(nowhere).verdict == NOT_SUPPORTED


def test_shufflenet_over_mobilenet_ignores_medical():
    table = {d: {"shufflenet_v2_x2_0": 60, "mobilenet_v3_large": 50} for d in ("cifar10", "dtd", "eurosat")}
    table["rsna"] = {"shufflenet_v2_x2_0": 10, "mobilenet_v3_large": 90}
    check = findings.check_shufflenet_over_mobilenet(filled(table))
    assert check.verdict == SUPPORTED and "3 of 3 non-medical" in check.evidence
    flipped = {d: {"shufflenet_v2_x2_0": 40, "mobilenet_v3_large": 50} for d in ("cifar10", "dtd", "eurosat")}
    assert findings.check_shufflenet_over_mobilenet(filled(flipped)).verdict == NOT_SUPPORTED


def test_wavemix_parts():
    holds = filled({"galaxy10": {"wavemix_192_16": 95.10, "convnext_tiny": 87.29},
                    "cifar10": {"wavemix_192_16": 97}, "tiny_imagenet": {"convnext_tiny": 80}})
    check = findings.check_wavemix(holds)
    assert check.verdict == SUPPORTED and check.details.holds.all() and len(check.details) == 3
    wrong_second = filled({"galaxy10": {"wavemix_192_16": 95.10, "densenet161": 87.29},
                           "cifar10": {"wavemix_192_16": 40}, "tiny_imagenet": {"wavemix_192_16": 99}})
    assert findings.check_wavemix(wrong_second).verdict == NOT_SUPPORTED


def test_resnet_dominance():
    natural = ("cifar10", "cifar100")
    gone = filled({d: {"resnet50": 10} for d in natural + ("dtd",)})
    assert findings.check_resnet_dominance_over(gone).verdict == SUPPORTED
    alive = filled({d: {"resnet50": 99} for d in natural + ("dtd",)})
    assert findings.check_resnet_dominance_over(alive).verdict == NOT_SUPPORTED


def test_the_transformers_are_read_from_the_backbone_registry():
    from lib import models

    assert findings.TRANSFORMERS == ("swin_t", "swin_v2_t")
    assert all(models.spec(b).family == "transformer" for b in findings.TRANSFORMERS)


def test_convnext_and_swin_poor_on_medical():
    bottom = {"convnext_tiny": 10, "swin_t": 11, "swin_v2_t": 12}
    poor = filled({d: bottom for d in ("breakhis_40x", "rsna")})
    assert findings.check_convnext_swin_medical(poor).verdict == SUPPORTED
    fine = filled({d: {"convnext_tiny": 90, "swin_t": 91, "swin_v2_t": 92} for d in ("breakhis_40x", "rsna")})
    assert findings.check_convnext_swin_medical(fine).verdict == NOT_SUPPORTED


def test_top_models_keep_lead():
    full = {b: 90 - i for i, b in enumerate(ALL)}
    same_order = pd.concat([long({"cifar10": full}, 1.0), long({"cifar10": {b: v - 30 for b, v in full.items()}}, 0.1)])
    check = findings.check_top_models_keep_lead(same_order)
    assert check.verdict == SUPPORTED and check.details.kept.tolist() == [3]
    reversed_ = pd.concat([long({"cifar10": full}, 1.0), long({"cifar10": {b: 200 - v for b, v in full.items()}}, 0.1)])
    assert findings.check_top_models_keep_lead(reversed_).verdict == NOT_SUPPORTED
    assert findings.check_top_models_keep_lead(long({"cifar10": full}, 1.0)).verdict == NOT_CHECKABLE
    # a small profile's records: the reference is the largest fraction they have, not 100 %
    quarter = pd.concat([long({"digits": full}, 0.25), long({"digits": {b: v - 30 for b, v in full.items()}}, 0.01)])
    check = findings.check_top_models_keep_lead(quarter)
    assert check.verdict == SUPPORTED and check.details.reference.tolist() == [0.25]


# --------------------------------------------------------------------------------------- the paper itself

def test_paper_table1_reproduced_in_most_columns_by_mean_rank():
    full = findings.at_fraction(paper.full_data()[["backbone", "dataset", "fraction", "top1"]])
    cmp = findings.compare_table1(findings.recompute_table1(full, "mean_rank"), paper.table1()).set_index("domain")
    assert cmp.loc[["natural", "texture", "remote_sensing", "astronomy"], "same_order"].all()
    assert not cmp.loc["medical", "same_set"]  # the paper's medical column is BreakHis-only (its Average column)
    by_average = paper.breakhis_average().nlargest(3, "top1_average")["backbone"].tolist()
    assert by_average == paper.table1().query("domain == 'medical'").sort_values("rank").backbone.tolist()


def test_inconsistencies_found_by_code():
    inc = findings.inconsistencies()
    bad = inc[~inc.consistent]
    assert (bad.kind == "same cell in two tables").sum() == 2  # the Tiny ImageNet swap
    assert (bad.kind == "derived column").sum() == 0
    captions = bad[bad.kind == "caption or header vs Table 3"]
    assert captions["where"].str.contains("Figure 2 caption \\(later").sum() == 3
    assert bad["paper_says"].str.contains("RegNetY-3.2GF also performs well on seven").any()
    assert not bad["paper_says"].str.contains("ResNeXt tops RSNA").any()
    assert inc.consistent.sum() > 100


def test_all_checks_run_on_the_paper_with_a_verdict():
    full = findings.at_fraction(paper.full_data()[["backbone", "dataset", "fraction", "top1"]])
    table = findings.verdicts(findings.check_all(full, paper.low_data()[["backbone", "dataset", "fraction", "top1"]],
                                                 paper.table2()), "paper")
    assert len(table) == 9 and set(table.verdict) <= set(findings.PAPER_VERDICTS) - {NOT_CHECKABLE}


# ------------------------------------------------------------------------------------------ our records

def test_our_results_missing_or_empty_folder(tmp_path):
    assert findings.our_results(tmp_path / "absent").empty
    assert findings.our_results(tmp_path).empty
    assert findings.table1_from_records(findings.our_results(tmp_path)).empty


def test_our_results_from_records(tmp_path):
    from lib import results

    def record(backbone, seed, top1):
        config = {"backbone": backbone, "dataset": "digits", "fraction": 1.0, "seed": seed, "profile": "ci",
                  "pretrained": False, "image_size": [32, 32]}
        rec = {f: None for f in results.REQUIRED_FIELDS if f != "checksum"}
        rec.update(config, run_key=results.run_key(config), test_top1=top1, config=config, history=[])
        return rec

    for b, s, v in [("resnet50", 0, 50.0), ("resnet50", 1, 60.0), ("swin_t", 0, 40.0)]:
        results.write_record(record(b, s, v), tmp_path)
    ours = findings.our_results(tmp_path)
    assert (ours.source == "ours").all()
    assert ours.set_index("backbone").loc["resnet50", "top1"] == 60.0  # best of the seeds
    resnet = ours.set_index("backbone").loc["resnet50"]
    assert resnet.top1_mean == 55.0 and resnet.top1_ci95 == pytest.approx(63.53, abs=0.01)  # t(0.975, 1) = 12.71
    assert pd.isna(ours.set_index("backbone").loc["swin_t", "top1_ci95"])  # one seed: no interval
    top = findings.table1_from_records(ours)
    assert top.query("domain == 'overall'").backbone.tolist() == ["resnet50", "swin_t"]
    assert set(top.domain) == {findings.OUTSIDE_PAPER, "overall"} and (top.profile == "ci").all()
    json.dumps(top.astype(str).to_dict())  # plain values, fit for glue


# ------------------------------------------------------------------ our records, with the seeds' noise

def cells(values: dict[str, float], ci95: float = 1.0, fraction: float = 1.0) -> pd.DataFrame:
    """One block of our runs (the columns of findings.our_results): every backbone on digits, mean ± ci95."""
    return pd.DataFrame([{"profile": "workshop", "pretrained": False, "image_size": "32x32", "backbone": b,
                          "dataset": "digits", "fraction": fraction, "top1": v, "top1_mean": v,
                          "top1_ci95": ci95, "n_seeds": 3, "device": "cpu"} for b, v in values.items()])


def verdict_of(ours: pd.DataFrame, key: str) -> str:
    return findings.our_claims(ours).set_index("key").loc[key, "verdict"]


@pytest.mark.parametrize("shufflenet,ci95,expected", [(95, 1.0, SUPPORTED), (70, 1.0, NOT_SUPPORTED),
                                                      (81, 2.0, WITHIN_NOISE)])
def test_a_beats_b_is_supported_only_when_the_intervals_do_not_overlap(shufflenet, ci95, expected):
    ours = cells({b: 50.0 for b in ALL} | {"shufflenet_v2_x2_0": shufflenet, "mobilenet_v3_large": 80},
                 ci95=ci95)
    assert verdict_of(ours, "shufflenet_mobilenet") == expected


def test_within_noise_where_the_means_alone_would_support():
    # ShuffleNet 81 ± 2 against MobileNet 80 ± 2: ahead on the means, so a check without the noise rule says
    # "supported"; the intervals overlap, so ours must say "within noise".
    ours = cells({b: 50.0 for b in ALL} | {"shufflenet_v2_x2_0": 81, "mobilenet_v3_large": 80}, ci95=2.0)
    on_means = findings.check_shufflenet_over_mobilenet(ours.assign(top1=ours.top1_mean)[["backbone", "dataset",
                                                                                        "top1"]])
    assert on_means.verdict == SUPPORTED
    assert verdict_of(ours, "shufflenet_mobilenet") == WITHIN_NOISE


def test_cnns_beat_transformers_with_little_data_uses_the_smallest_fraction():
    full = {b: 90.0 for b in ALL}
    low = {b: 60.0 for b in ALL} | {"swin_t": 20.0, "swin_v2_t": 20.0}
    ours = pd.concat([cells(full), cells(low, fraction=0.1)])
    claims = findings.our_claims(ours).set_index("key")
    assert claims.loc["cnn_vs_transformer_low", "verdict"] == SUPPORTED
    assert claims.loc["cnn_vs_transformer_low", "fraction"] == 0.1
    assert claims.loc["cnn_vs_transformer", "verdict"] == WITHIN_NOISE  # all tied at 100 %
    assert verdict_of(cells(full), "cnn_vs_transformer_low") == NOT_CHECKABLE  # one fraction only


def test_not_checkable_with_one_seed_random_init_or_no_records():
    one_seed = cells({b: 50.0 for b in ALL} | {"shufflenet_v2_x2_0": 95}, ci95=float("nan"))
    row = findings.our_claims(one_seed).set_index("key").loc["shufflenet_mobilenet"]
    assert row.verdict == NOT_CHECKABLE and findings.ONE_SEED in row.reason
    claims = findings.our_claims(cells({b: 50.0 for b in ALL})).set_index("key")
    assert claims.loc["imagenet", "verdict"] == NOT_CHECKABLE  # random init: no pre-training
    assert claims.loc["convnext_natural", "verdict"] == NOT_CHECKABLE  # digits is no natural dataset
    empty = findings.our_claims(findings.our_results(Path("/nonexistent")))
    assert set(empty.verdict) == {NOT_CHECKABLE} and len(empty) == len(findings.OUR_CLAIMS) + 1
    assert set(findings.our_claims(one_seed).verdict) <= set(findings.OUR_VERDICTS)


def test_the_top_models_keep_their_lead_with_noise():
    full = {b: 90.0 - 5 * i for i, b in enumerate(ALL)}  # 5 points apart: separated by intervals of ± 1
    kept = pd.concat([cells(full), cells({b: v - 30 for b, v in full.items()}, fraction=0.1)])
    assert verdict_of(kept, "low_data") == SUPPORTED
    lost = pd.concat([cells(full), cells({b: 200 - v for b, v in full.items()}, fraction=0.1)])
    assert verdict_of(lost, "low_data") == NOT_SUPPORTED
    tied = {b: 90.0 + 0.1 * i for i, b in enumerate(ALL)}  # all within one another's intervals at 100 %
    noisy = pd.concat([cells(tied), cells({b: v - 30 for b, v in full.items()}, fraction=0.1)])
    assert verdict_of(noisy, "low_data") == WITHIN_NOISE
    _, _, details = findings.keep_lead_with_noise(noisy)
    assert details.separated_at_reference.tolist() == [0]


def test_our_claims_take_one_block_and_state_their_regime():
    both = pd.concat([cells({b: 50.0 for b in ALL}), cells({b: 50.0 for b in ALL}).assign(profile="ci")])
    with pytest.raises(ConfigError, match="one block of runs"):
        findings.our_claims(both)
    one = cells({b: 50.0 for b in ALL})
    assert findings.regime(one) == "workshop profile: random initialisation (from scratch), digits at 32x32 " \
                                   "px, on cpu"
    amd, intel = "CPU: AMD EPYC (2 cores, 1 torch threads)", "CPU: Intel Xeon (2 cores, 1 torch threads)"
    two = one.assign(device=[f"{amd}; {intel}"] + [intel] * (len(one) - 1))  # a cell run on two machines
    assert findings.regime(two).endswith(f"px, on {amd}; {intel}")  # each device named once, none split apart
    statement = findings.claims_statement(findings.our_claims(one))
    assert all(f"*{v}*: " in statement for v in findings.OUR_VERDICTS) and "\n" not in statement
    assert findings.our_block(both, "ci").profile.unique().tolist() == ["ci"]
    assert findings.our_block(both, "paper").empty


# ------------------------------------------------------------------ one verdict, worded once, on two pages

def written_records(folder, fractions=(1.0, 0.1), seeds=(0, 1, 2)):
    """Eleven backbones on digits at each fraction and seed, written as real run records; the order at 100 % is
    clear (5 points apart), the smaller fraction reshuffles it with seed-to-seed noise."""
    from lib import results

    rng = np.random.default_rng(0)
    for i, b in enumerate(ALL):
        for fraction in fractions:
            for seed in seeds:
                top1 = 95.0 - 5 * i if fraction == 1.0 else 70.0 + rng.normal(0, 8)
                config = {"backbone": b, "dataset": "digits", "fraction": fraction, "seed": seed,
                          "profile": "workshop", "pretrained": False, "image_size": [32, 32]}
                rec = {f: None for f in results.REQUIRED_FIELDS if f != "checksum"}
                rec.update(config, run_key=results.run_key(config), test_top1=float(top1), config=config,
                           history=[], device="cpu", wall_time_s=1.0, split_sizes={"train": 100})
                results.write_record(rec, folder)
    return results.load_records(folder)


def test_chapter_4_and_chapter_6_give_the_same_verdict_string_on_the_same_records(tmp_path):
    records = written_records(tmp_path)
    # chapter 4: the records it ran, through findings.cells_from_records and findings.low_data_verdict
    verdict4, reason4 = findings.low_data_verdict(findings.cells_from_records(records), k=3)
    shown4 = findings.verdict_markdown(verdict4)
    # chapter 6: the records folder, its profile's block, every claim; the low-data row
    block = findings.our_block(findings.our_results(tmp_path), "workshop")
    row = findings.our_claims(block, k=3).set_index("key").loc[findings.LOW_DATA_KEY]
    assert shown4 == findings.verdict_markdown(row.verdict)
    assert reason4 == row.reason
    assert verdict4 in findings.OUR_VERDICTS


def test_the_low_data_reason_names_backbones_and_datasets_as_a_reader_does():
    full = {b: 90.0 - 5 * i for i, b in enumerate(ALL)}
    kept = pd.concat([cells(full), cells({b: v - 30 for b, v in full.items()}, fraction=0.1)])
    verdict, reason = findings.low_data_verdict(kept)
    assert verdict == SUPPORTED
    assert reason.startswith("Digits (scikit-learn), 100 % to 10 %: of the top 3 at 100 % (ResNet-50, "
                             "WaveMix-192/16 (level 3), ConvNeXt-Tiny)")
    assert "resnet50" not in reason and "3 surely kept and 0 surely lost at 10 %" in reason
    assert findings.verdict_markdown(WITHIN_NOISE) == f"**{WITHIN_NOISE}**"


def test_one_rule_is_said_once():
    assert findings.one_rule_text([]) == "**no**: no single rule reproduces every column"
    assert findings.one_rule_text(["mean_rank"]) == "**yes**: `mean_rank` reproduces every column"


def test_chapter_6_tables_show_display_names_and_whole_texts():
    published = paper.table1()
    shown = findings.table1_shown(published)
    assert list(shown.columns) == ["domain", "Best", "Better", "Good"]
    assert shown.set_index("domain").loc["natural", "Best"] == "ConvNeXt-Tiny"
    checks = findings.check_all(findings.at_fraction(paper.full_data()[["backbone", "dataset", "fraction",
                                                                        "top1"]]),
                                paper.low_data()[["backbone", "dataset", "fraction", "top1"]], paper.table2())
    verdicts = findings.verdicts_shown(checks)
    assert "efficientnet_v2_s" not in " ".join(verdicts.evidence)       # display names in the evidence
    assert "EfficientNetV2-S (best on ImageNet)" in verdicts.evidence.iloc[0]
    assert all(c.evidence.replace("efficientnet_v2_s", "EfficientNetV2-S")[:20] in e
               for c, e in zip(checks, verdicts.evidence))                # whole, never cut off
    claims = findings.our_claims(cells({b: 50.0 for b in ALL}))
    listed = findings.reasons_markdown(claims)
    assert listed.count("\n1. ") == 1 and f"\n{len(claims)}. " in listed and ".." not in listed


def test_our_results_shown_keeps_one_decimal_columns_and_drops_constant_setup_columns():
    ours = cells({b: 50.0 + i / 3 for i, b in enumerate(ALL)})
    shown = findings.results_shown(ours.assign(source="ours"))
    assert list(shown.columns) == ["backbone", "share", "top1", "top1_mean", "top1_ci95", "n_seeds"]
    assert shown.share.unique().tolist() == ["100 %"]
