import pandas as pd
import pytest

from lib import lowdata


def table(rows):
    return pd.DataFrame(rows, columns=["backbone", "dataset", "fraction", "top1"])


KEPT = table([
    ("a", "d", 1.0, 90), ("b", "d", 1.0, 80), ("c", "d", 1.0, 70), ("e", "d", 1.0, 60),
    ("a", "d", 0.1, 70), ("b", "d", 0.1, 60), ("c", "d", 0.1, 50), ("e", "d", 0.1, 40),
])
REVERSED = table([
    ("a", "d", 1.0, 90), ("b", "d", 1.0, 80), ("c", "d", 1.0, 70), ("e", "d", 1.0, 60),
    ("a", "d", 0.1, 40), ("b", "d", 0.1, 50), ("c", "d", 0.1, 60), ("e", "d", 0.1, 70),
])


def test_rank_correlation_detects_kept_and_reversed_rankings():
    kept = lowdata.rank_correlations(KEPT).iloc[0]
    rev = lowdata.rank_correlations(REVERSED).iloc[0]
    assert (kept.fraction_a, kept.fraction_b) == (1.0, 0.1)
    assert kept.spearman == pytest.approx(1.0) and kept.kendall == pytest.approx(1.0)
    assert rev.spearman == pytest.approx(-1.0) and rev.kendall == pytest.approx(-1.0)


def test_top_k_retention_counts_the_survivors():
    assert lowdata.top_k_retention(KEPT, k=3).kept.tolist() == [3]
    row = lowdata.top_k_retention(REVERSED, k=3).iloc[0]
    assert row.kept == 2 and row.kept_backbones == "b, c"


def test_spread_is_best_minus_third():
    out = lowdata.spread(KEPT)
    assert out.set_index("fraction").gap_best_to_third.to_dict() == {0.1: 20, 1.0: 20}


def test_duplicate_cells_must_be_aggregated_first():
    with pytest.raises(ValueError, match="aggregate seeds"):
        lowdata.rank_correlations(pd.concat([KEPT, KEPT]))


def grid(values: dict[float, list[float]], dataset="d"):
    """A table with backbones b0, b1, ... and the given accuracies per fraction."""
    return table([(f"b{i}", dataset, f, v) for f, vals in values.items() for i, v in enumerate(vals)])


def test_retention_vs_chance_uses_the_hypergeometric_law():
    same = grid({1.0: [9, 8, 7, 6, 5, 4], 0.1: [9, 8, 7, 6, 5, 4]})
    row = lowdata.retention_vs_chance(same, k=3).iloc[0]
    assert (row.backbones, row.kept, row.chance_kept) == (6, 3, pytest.approx(1.5))
    assert row.p_chance == pytest.approx(1 / 20)        # one of C(6, 3) = 20 equally likely top threes
    flipped = grid({1.0: [9, 8, 7, 6, 5, 4], 0.1: [4, 5, 6, 7, 8, 9]})
    row = lowdata.retention_vs_chance(flipped, k=3).iloc[0]
    assert row.kept == 0 and row.p_chance == pytest.approx(1.0)
    assert not row.tied_at_cutoff


def test_retention_vs_chance_flags_ties_and_picks_the_largest_fraction():
    tied = grid({0.25: [9, 8, 7, 7, 5], 0.01: [10, 10, 10, 10, 10]})
    assert lowdata.retention_vs_chance(tied, k=3).empty            # no 100 % column
    row = lowdata.retention_vs_chance(tied, k=3, reference=None).iloc[0]
    assert (row.reference, row.fraction) == (0.25, 0.01) and row.tied_at_cutoff


def test_retention_needs_more_backbones_than_k():
    assert lowdata.retention_vs_chance(grid({1.0: [3, 2, 1], 0.1: [1, 2, 3]}), k=3).empty


def test_ranks_share_the_best_rank_on_ties():
    out = lowdata.ranks(grid({1.0: [9, 9, 7], 0.1: [1, 2, 3]}))
    assert out[("d", 1.0)].tolist() == [1, 1, 3]
    assert out[("d", 0.1)].tolist() == [3, 2, 1]
    assert list(out.columns) == [("d", 1.0), ("d", 0.1)]


def test_paper_training_images_follow_the_table_headers():
    counts = lowdata.images_lookup(lowdata.paper_training_images())
    assert counts("cifar10", 0.01) == 500
    assert counts("tiny_imagenet", 0.01) == 1000                  # Table 7, not Figure 2's later caption
    assert counts("eurosat", 0.1) == 1890
    with pytest.raises(KeyError, match="digits"):
        counts("digits", 1.0)


def record(backbone, fraction, seed, top1, train, profile="workshop"):
    return {"backbone": backbone, "dataset": "digits", "fraction": fraction, "seed": seed, "profile": profile,
            "pretrained": False, "image_size": "32x32", "test_top1": top1, "split_sizes": {"train": train}}


def test_from_records_takes_the_best_seed_and_the_images_used():
    records = pd.DataFrame([record("a", 1.0, 0, 50.0, 1295), record("a", 1.0, 1, 60.0, 1295),
                            record("b", 1.0, 0, 55.0, 1295), record("a", 0.01, 0, 12.0, 10)])
    out = lowdata.from_records(records).set_index(["backbone", "fraction"])
    assert out.loc[("a", 1.0), "top1"] == 60.0 and out.loc[("a", 1.0), "n_seeds"] == 2
    assert out.loc[("a", 0.01), "train_images"] == 10 and out.loc[("b", 1.0), "train_images"] == 1295
    assert set(out.source) == {"ours"}


def test_from_records_refuses_mixed_setups():
    records = pd.DataFrame([record("a", 1.0, 0, 50.0, 1295), record("a", 1.0, 0, 40.0, 300, profile="ci")])
    with pytest.raises(ValueError, match="mix 2 setups"):
        lowdata.from_records(records)
    assert lowdata.from_records(pd.DataFrame()).empty


def test_keep_lead_verdict_follows_the_share_kept():
    same = grid({1.0: [9, 8, 7, 6, 5, 4], 0.1: [9, 8, 7, 6, 5, 4]})
    out = lowdata.keep_lead(same)
    assert out["verdict"] == "supported" and out["share_kept"] == 1.0 and out["median_spearman"] == pytest.approx(1)
    flipped = grid({1.0: [9, 8, 7, 6, 5, 4], 0.1: [4, 5, 6, 7, 8, 9]})
    out = lowdata.keep_lead(flipped)
    assert out["verdict"] == "not supported" and out["above_chance"] == 0
    assert out["median_spearman"] == pytest.approx(-1)
    one_of_three = grid({1.0: [9, 8, 7, 6, 5, 4], 0.1: [9, 1, 2, 6, 5, 4]})
    assert lowdata.keep_lead(one_of_three)["verdict"] == "partly supported"


def test_keep_lead_uses_the_largest_fraction_and_says_when_it_cannot():
    quarter = grid({0.25: [9, 8, 7, 6, 5, 4], 0.01: [9, 8, 7, 6, 5, 4]})
    assert lowdata.keep_lead(quarter)["verdict"] == "supported"
    assert lowdata.keep_lead(quarter, reference=1.0)["verdict"] == "no data"
    assert lowdata.keep_lead(grid({1.0: [3, 2], 0.1: [2, 3]}))["verdict"] == "no data"


def test_keep_lead_agrees_with_chapter_6_on_the_papers_tables():
    from lib import findings, paper

    low = paper.low_data()[["backbone", "dataset", "fraction", "top1"]]
    ours, theirs = lowdata.keep_lead(low), findings.check_top_models_keep_lead(low)
    assert ours["verdict"] == theirs.verdict
    assert f"on average {ours['mean_kept']:.2f} of the top 3" in theirs.evidence
