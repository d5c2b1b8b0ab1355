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
