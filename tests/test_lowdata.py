import numpy as np
import pandas as pd
import pytest

from book import lowdata
from book.verdicts import SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, WITHIN_NOISE, NOT_CHECKABLE


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


def test_from_records_takes_the_mean_over_seeds_its_interval_the_best_and_the_images_used():
    records = pd.DataFrame([record("a", 1.0, 0, 50.0, 1295), record("a", 1.0, 1, 60.0, 1295),
                            record("b", 1.0, 0, 55.0, 1295), record("a", 0.01, 0, 12.0, 10)])
    out = lowdata.from_records(records).set_index(["backbone", "fraction"])
    a = out.loc[("a", 1.0)]
    assert (a.top1, a.top1_best, a.n_seeds) == (55.0, 60.0, 2)
    assert a.top1_ci95 == pytest.approx(12.706 * 5.0, rel=1e-3)     # t(0.975, 1) * sd 7.07 / sqrt 2
    assert np.isnan(out.loc[("b", 1.0), "top1_ci95"])
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
    assert out["verdict"] == SUPPORTED and out["share_kept"] == 1.0 and out["median_spearman"] == pytest.approx(1)
    flipped = grid({1.0: [9, 8, 7, 6, 5, 4], 0.1: [4, 5, 6, 7, 8, 9]})
    out = lowdata.keep_lead(flipped)
    assert out["verdict"] == NOT_SUPPORTED and out["above_chance"] == 0
    assert out["median_spearman"] == pytest.approx(-1)
    one_of_three = grid({1.0: [9, 8, 7, 6, 5, 4], 0.1: [9, 1, 2, 6, 5, 4]})
    assert lowdata.keep_lead(one_of_three)["verdict"] == PARTLY_SUPPORTED


def test_keep_lead_uses_the_largest_fraction_and_says_when_it_cannot():
    quarter = grid({0.25: [9, 8, 7, 6, 5, 4], 0.01: [9, 8, 7, 6, 5, 4]})
    assert lowdata.keep_lead(quarter)["verdict"] == SUPPORTED
    assert lowdata.keep_lead(quarter, reference=1.0)["verdict"] == NOT_CHECKABLE
    assert lowdata.keep_lead(grid({1.0: [3, 2], 0.1: [2, 3]}))["verdict"] == NOT_CHECKABLE


def test_keep_lead_agrees_with_chapter_6_on_the_papers_tables():
    from lib import paper
    from book import findings

    low = paper.low_data()[["backbone", "dataset", "fraction", "top1"]]
    ours, theirs = lowdata.keep_lead(low), findings.check_top_models_keep_lead(low)
    assert ours["verdict"] == theirs.verdict
    assert f"on average {ours['mean_kept']:.2f} of the top 3" in theirs.evidence


def test_mean_ci_table_shows_the_interval_or_says_there_is_one_seed():
    records = pd.DataFrame([record("a", 1.0, 0, 50.0, 1295), record("a", 1.0, 1, 60.0, 1295),
                            record("a", 0.1, 0, 20.0, 143)])
    out = lowdata.mean_ci_table(lowdata.from_records(records))
    assert list(out.columns) == [("digits", 1.0), ("digits", 0.1)]
    assert out.loc["a"].tolist() == ["55.0 ± 63.5", "20.0 (1 seed)"]


# ---------------------------------------------------------------- how the fractions map, on the real digits split

def test_fraction_mapping_counts_images_per_class_on_digits():
    from lib import profiles

    counts = lowdata.images_per_class("digits", [1.0, 0.1, 0.01])
    assert counts.train_images.tolist() == [1295, 143, 10]          # the records' split sizes at these shares
    mapping = lowdata.fraction_mapping(counts, profiles.get("workshop").low_data, [1.0, 0.1, 0.01])
    rows = mapping.set_index("fraction")
    assert rows.loc[0.1, ["per_class_min", "per_class_max"]].tolist() == [14, 15]
    assert rows.loc[0.01, "per_class_max"] == 1 and not rows.loc[0.01, "enough_per_class"]
    assert rows.ours.tolist() == [True, True, False] and rows.paper.all()
    # issue 17: the workshop's smallest share keeps at least MIN_TO_LEARN per class
    assert rows[rows.ours].per_class_min.min() >= lowdata.MIN_TO_LEARN
    text = lowdata.describe_mapping(mapping, {"digits": "Digits"})
    assert text.startswith("- Digits: our 100 % is the paper's 100 %")
    assert "our 10 % is the paper's 10 % (the same share: 14-15 images per class)" in text
    assert "the paper's 1 % has no counterpart in our grid (it would be 1 image per class, below the 5" in text


# ---------------------------------------------------------------- bootstrap intervals over seeds

def seeds(cells: dict[tuple[str, float], list[float]], dataset="d"):
    """A seed table from {(backbone, fraction): [top1 of seed 0, seed 1, ...]}."""
    return pd.DataFrame([(b, dataset, f, s, v) for (b, f), vals in cells.items() for s, v in enumerate(vals)],
                        columns=["backbone", "dataset", "fraction", "seed", "top1"])


def rho_draws(table: pd.DataFrame, fraction_a: float, fraction_b: float, n_resamples: int = lowdata.N_RESAMPLES,
              seed: int = 0) -> np.ndarray:
    """The bootstrap distribution of Spearman's rho that :func:`lowdata.rank_correlation_intervals` takes
    percentiles of, drawn with the same helpers (one dataset)."""
    (cells,) = lowdata._resample(table, n_resamples, seed).values()
    i, j = cells.fractions.index(fraction_a), cells.fractions.index(fraction_b)
    shared = ~np.isnan(cells.point[i]) & ~np.isnan(cells.point[j])
    return lowdata._spearman_rows(cells.draws[i][:, shared], cells.draws[j][:, shared])


SEPARATED = seeds({(f"b{i}", f): [100 - 10 * i - f + s for s in (0, 0.5, 1)]
                   for i in range(5) for f in (1.0, 0.1)})


def test_identical_rankings_give_an_interval_at_one():
    row = lowdata.rank_correlation_intervals(SEPARATED).iloc[0]
    assert (row.fraction_a, row.fraction_b, row.backbones, row.min_seeds) == (1.0, 0.1, 5, 3)
    assert row.spearman == row.spearman_low == row.spearman_high == pytest.approx(1.0)
    assert row.reading == "ranking kept (interval above 0)"


def test_the_bootstrap_distribution_matches_the_known_one():
    # c's two seeds at 10 % (1 and 4) resample to a mean of 1, 2.5 or 4 with chances 1/4, 1/2, 1/4, which put it
    # third, second or first: rho 1, 0.5 or -0.5. a and b never move.
    table = seeds({("a", 1.0): [3, 3], ("b", 1.0): [2, 2], ("c", 1.0): [1, 1],
                   ("a", 0.1): [3, 3], ("b", 0.1): [2, 2], ("c", 0.1): [1, 4]})
    rhos = rho_draws(table, 1.0, 0.1, n_resamples=4000, seed=1)
    assert set(np.round(rhos, 6)) == {1.0, 0.5, -0.5}
    assert np.mean(rhos == 1.0) == pytest.approx(0.25, abs=0.03)
    assert np.mean(rhos == 0.5) == pytest.approx(0.5, abs=0.03)
    row = lowdata.rank_correlation_intervals(table).iloc[0]
    assert (row.spearman, row.spearman_low, row.spearman_high) == (pytest.approx(0.5), -0.5, 1.0)
    assert row.reading == "within noise of no relation"


def test_the_bootstrap_is_seeded_and_resamples_each_cell_on_its_own():
    noisy = seeds({(f"b{i}", f): [50 + 3 * i * (f == 1.0) + s for s in (-4, 0, 4)]
                   for i in range(5) for f in (1.0, 0.1)})
    first = rho_draws(noisy, 1.0, 0.1, seed=7)
    assert np.array_equal(first, rho_draws(noisy, 1.0, 0.1, seed=7), equal_nan=True)
    assert not np.array_equal(first, rho_draws(noisy, 1.0, 0.1, seed=8), equal_nan=True)
    # every backbone has the same three seeds at 10 %: a draw shared by all cells would tie them all (rho NaN);
    # drawn cell by cell, they get ranked at random around rho 0
    assert np.isnan(first).mean() < 0.05
    assert np.nanstd(first) > 0.2 and -0.2 < np.nanmean(first) < 0.2


def test_one_seed_gives_no_interval_and_does_not_crash():
    one = SEPARATED[SEPARATED.seed == 0]
    row = lowdata.rank_correlation_intervals(one).iloc[0]
    assert row.spearman == pytest.approx(1.0) and np.isnan(row.spearman_low) and np.isnan(row.spearman_high)
    assert row.reading == lowdata.NO_INTERVAL
    assert lowdata.retention_intervals(one, k=3).reading.tolist() == [lowdata.NO_INTERVAL]
    lead = lowdata.keep_lead_interval(one, k=3)
    assert lead["verdict"] == SUPPORTED and lowdata.NO_INTERVAL in lead["reading"]
    assert lowdata.rank_correlation_intervals(one.iloc[0:0]).empty
    assert lowdata.keep_lead_interval(one.iloc[0:0])["verdict"] == NOT_CHECKABLE


def test_retention_and_verdict_say_within_noise_when_the_interval_spans_the_alternative():
    # eight backbones, so keeping all of the top 3 beats chance (1 in 56) and keeping 2 does not (16 in 56)
    base = {(f"b{i}", f): [90 - 5 * i - 20 * (f < 1)] * 2 for i in range(8) for f in (1.0, 0.1)}
    clean = seeds(base)
    row = lowdata.retention_intervals(clean, k=3).iloc[0]
    assert (row.kept, row.kept_low, row.kept_high, row.reading) == (3, 3, 3, "above chance")
    assert lowdata.keep_lead_interval(clean)["reading"] == f"{SUPPORTED} (the interval stays there)"
    # at 10 %, b1 (seeds 52, 80) and b2 (56, 70) both fall below b3 (59) and b4 (57) in 1 resample of 16
    shaky = seeds({**base, ("b1", 0.1): [52, 80], ("b2", 0.1): [56, 70], ("b3", 0.1): [59, 59],
                   ("b4", 0.1): [57, 57]})
    row = lowdata.retention_intervals(shaky, k=3).iloc[0]
    assert (row.kept, row.kept_low, row.kept_high, row.reading) == (3, 1, 3, WITHIN_NOISE)
    lead = lowdata.keep_lead_interval(shaky)
    assert (lead["share_kept"], lead["share_low"], lead["share_high"]) == (1.0, pytest.approx(1 / 3), 1.0)
    assert lead["reading"] == (f"{SUPPORTED}, {WITHIN_NOISE} (the interval reaches from {PARTLY_SUPPORTED} to "
                               f"{SUPPORTED})")


def test_the_seed_table_is_checked():
    with pytest.raises(ValueError, match="lacks column"):
        lowdata.rank_correlation_intervals(SEPARATED.drop(columns="seed"))
    with pytest.raises(ValueError, match="one record per run"):
        lowdata.rank_correlation_intervals(pd.concat([SEPARATED, SEPARATED]))
    records = pd.DataFrame([record("a", 1.0, 0, 50.0, 1295), record("a", 1.0, 1, 60.0, 1295)])
    assert lowdata.seed_table(records).top1.tolist() == [50.0, 60.0]


def test_describe_rank_intervals_reads_the_table():
    assert lowdata.describe_rank_intervals(lowdata.rank_correlation_intervals(SEPARATED)) == (
        "100 % vs 10 %: ρ 1.00, 95 % interval 1.00 to 1.00, ranking kept (interval above 0)")
    one = lowdata.rank_correlation_intervals(SEPARATED[SEPARATED.seed == 0])
    assert lowdata.describe_rank_intervals(one) == f"100 % vs 10 %: ρ 1.00, {lowdata.NO_INTERVAL}"
    assert "no pair" in lowdata.describe_rank_intervals(one.iloc[0:0])


# ---------------------------------------------------------------- what chapter 4 shows a reader

def test_shares_p_values_and_rho_read_as_a_reader_reads_them():
    assert [lowdata.share(f) for f in (1.0, 0.1, 0.01)] == ["100 %", "10 %", "1 %"]
    assert [lowdata.p_text(p) for p in (0.0003, 0.0123, 0.666667, np.nan)] == ["< 0.01", "0.01", "0.67", "–"]
    assert lowdata.rho_text(0.211018) == "0.21" and lowdata.rho_text(np.nan) == "not computable"


def test_the_mean_ci_table_is_flat_with_display_names_in_its_headers():
    records = pd.DataFrame([record("resnet50", 1.0, 0, 50.0, 1295), record("resnet50", 1.0, 1, 60.0, 1295),
                            record("resnet50", 0.1, 0, 20.0, 143), record("convnext_tiny", 1.0, 0, 70.0, 1295),
                            record("convnext_tiny", 0.1, 0, 30.0, 143)])
    shown = lowdata.shown_mean_ci(lowdata.from_records(records))
    assert list(shown.columns) == ["backbone", "Digits (scikit-learn), 100 %", "Digits (scikit-learn), 10 %"]
    assert shown.backbone.tolist() == ["resnet50", "convnext_tiny"]       # the registry's order
    assert shown.iloc[0, 1:].tolist() == ["55.0 ± 63.5", "20.0 (1 seed)"]


def test_the_comparison_drops_the_papers_columns_only_when_no_row_has_a_paper_value():
    side = pd.DataFrame({"backbone": ["resnet50", "resnet50"], "dataset": ["digits", "digits"],
                         "fraction": [0.1, 1.0], "test_top1_mean": [80.0, 95.0], "test_top1_ci95": [2.0, 1.0],
                         "ours_top1": [81.0, 96.0], "paper_top1": [np.nan, np.nan], "delta": [np.nan, np.nan]})
    shown = lowdata.shown_comparison(side)
    assert list(shown.columns) == ["backbone", "share", "test_top1_mean", "test_top1_ci95", "ours_top1"]
    assert shown.share.tolist() == ["100 %", "10 %"]                      # largest share first
    with_paper = lowdata.shown_comparison(pd.concat([side, side.assign(dataset="cifar10", paper_top1=90.0)]))
    assert {"dataset", "paper_top1", "delta"} <= set(with_paper.columns)


def test_rank_paths_read_from_the_largest_share_to_the_smallest():
    paths = lowdata.rank_paths(KEPT.assign(dataset="cifar10")).set_index("backbone")
    assert list(paths.columns) == ["CIFAR-10"] and paths.loc["a", "CIFAR-10"] == "1 → 1"
    reversed_paths = lowdata.rank_paths(REVERSED.assign(dataset="cifar10")).set_index("backbone")
    assert reversed_paths.loc["a", "CIFAR-10"] == "1 → 4"


def test_gap_table_says_whether_the_gap_shrinks_and_leaves_missing_shares_empty():
    gaps = pd.DataFrame({"source": "paper", "dataset": ["x", "x", "x", "y", "y"],
                         "fraction": [0.01, 0.1, 1.0, 0.1, 1.0], "gap_best_to_third": [4.0, 2.0, 1.0, 0.5, 1.0]})
    out = lowdata.gap_table(gaps).set_index("dataset")
    assert out.loc["x", "shrinks"] and not out.loc["y", "shrinks"]
    assert np.isnan(out.loc["y", "1 %"]) and list(out.columns) == ["source", "1 %", "10 %", "100 %", "shrinks"]


def test_the_verdict_rows_take_ours_from_chapter_6_and_the_share_interval_carries_no_verdict():
    lead = lowdata.keep_lead(KEPT, k=3)
    rows = lowdata.verdict_rows({"paper": lead, "ours": lead}, {"ours": WITHIN_NOISE}).set_index("source")
    assert rows.loc["paper", "verdict"] == lead["verdict"] and rows.loc["ours", "verdict"] == WITHIN_NOISE
    text = lowdata.describe_share_interval({"share_kept": 2 / 3, "share_low": 1 / 3, "share_high": 1.0})
    assert text == "0.67 on the means, with a bootstrap interval over seeds of 0.33 to 1.00"
    assert SUPPORTED not in text


def test_the_accuracy_figure_gives_each_backbone_one_colour_in_every_panel_and_one_legend():
    import matplotlib

    matplotlib.use("Agg")
    from book import present

    images = lambda dataset, fraction: int(1000 * fraction)  # noqa: E731
    one = table([("resnet50", "d", 1.0, 90), ("resnet50", "d", 0.1, 80), ("swin_t", "d", 1.0, 70),
                 ("swin_t", "d", 0.1, 60), ("densenet161", "d", 1.0, 85), ("densenet161", "d", 0.1, 75)])
    other = one[one.backbone != "resnet50"]   # a panel without ResNet-50 must not shift the colours
    fig = lowdata.accuracy_figure([("a", one, images, None), ("b", other, images, 10.0)])
    for ax in fig.axes:
        assert ax.get_legend() is None
        for line in ax.get_lines():
            if line.get_label().startswith("chance"):
                continue
            assert matplotlib.colors.to_hex(line.get_color()) == present.colour(line.get_label()).lower()
        assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "1,000"]
    assert len(fig.legends) == 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["ResNet-50", "Swin-Tiny", "DenseNet-161", "chance (guessing)"]
