"""The transcription of the paper's tables: shapes, spot values, ranges, derived columns, cross-table agreement."""
import pandas as pd
import pytest

from lib import paper
from lib.errors import UnknownNameError

# Rows per results table: 11 backbones x datasets x fractions.
SHAPES = {"4": (8, 1), "5": (8, 1), "6": (4, 1), "7": (2, 3), "8": (5, 2)}


@pytest.mark.parametrize("table,shape", SHAPES.items())
def test_each_table_has_every_backbone_dataset_and_fraction(table, shape):
    df = paper.load(table)
    n_datasets, n_fractions = shape
    assert len(df) == 11 * n_datasets * n_fractions
    assert df["dataset"].nunique() == n_datasets
    assert df["fraction"].nunique() == n_fractions
    assert set(df["backbone"]) == set(paper.BACKBONES)
    assert not df.duplicated(["backbone", "dataset", "fraction"]).any()
    assert (df["source"] == "paper").all() and (df["table"] == table).all()


def test_all_tables_together_and_names_are_the_books():
    df = paper.load()
    assert len(df) == sum(11 * d * f for d, f in SHAPES.values())
    assert set(df["dataset"]) <= set(paper.domains())
    assert set(paper.domains()) == set(paper.full_data()["dataset"])  # all 20 datasets have a 100 % result
    assert len(paper.domains()) == 20


@pytest.mark.parametrize("table,backbone,dataset,fraction,top1", [
    ("4", "convnext_tiny", "stanford_dogs", 1.0, 89.47),
    ("4", "regnet_y_3_2gf", "food101", 1.0, 90.40),
    ("4", "wavemix_192_16", "cifar10", 1.0, 97.26),
    ("5", "swin_v2_t", "ucmerced", 1.0, 98.81),
    ("5", "wavemix_192_16", "galaxy10", 1.0, 95.10),
    ("5", "mobilenet_v3_large", "neu", 1.0, 61.39),
    ("5", "resnext50_32x4d", "rsna", 1.0, 87.89),
    ("6", "regnet_y_3_2gf", "breakhis_40x", 1.0, 99.84),
    ("6", "swin_t", "breakhis_400x", 1.0, 82.61),
    ("7", "efficientnet_v2_s", "tiny_imagenet", 0.01, 48.42),
    ("7", "swin_t", "cifar10", 0.01, 39.77),
    ("8", "swin_v2_t", "plantclef", 0.1, 21.47),
    ("8", "densenet161", "rsna", 0.1, 81.51),
])
def test_sample_values(table, backbone, dataset, fraction, top1):
    df = paper.load(table)
    cell = df[(df.backbone == backbone) & (df.dataset == dataset) & (df.fraction == fraction)]
    assert cell["top1"].tolist() == [top1]


def test_every_accuracy_is_a_percentage():
    values = pd.concat([paper.load()["top1"], paper.breakhis_average()["top1_average"],
                        paper.table2()["imagenet_top1"]])
    assert values.notna().all()
    assert values.between(0, 100).all()


def test_table6_average_is_the_mean_of_the_four_magnifications():
    mean = paper.wide("6").mean(axis=1)
    printed = paper.breakhis_average().set_index("backbone")["top1_average"]
    assert (mean - printed.reindex(mean.index)).abs().max() <= 0.005 + 1e-9  # printed to two decimals


def test_later_and_earlier_versions_agree_where_both_print_a_number():
    df = paper.load()
    both = df.dropna(subset=["top1_earlier"])
    assert len(both) == 363
    assert (both["top1"] == both["top1_earlier"]).all()
    only_later = df[df["top1_earlier"].isna()]
    assert set(only_later["dataset"]) == {"food101", "neu", "rsna"}
    t2 = paper.table2()
    assert (t2["params_m"] == t2["params_m_earlier"]).all()
    assert (t2["imagenet_top1"] == t2["imagenet_top1_earlier"]).all()


def _full_columns_of(table):
    df = paper.load(table)
    return df[df.fraction == 1.0].set_index(["backbone", "dataset"])["top1"]


def test_cross_table_consistency_detects_only_the_tiny_imagenet_swap():
    main = pd.concat([_full_columns_of(t) for t in ("4", "5", "6")])
    repeated = pd.concat([_full_columns_of(t) for t in ("7", "8")])
    joined = pd.concat({"main": main, "repeated": repeated}, axis=1, join="inner")
    assert len(joined) == 11 * 7  # cifar10, tiny_imagenet, plantvillage, plantclef, rsna, food101, eurosat
    differ = joined[joined["main"] != joined["repeated"]]
    assert sorted(differ.index) == [("resnet50", "tiny_imagenet"), ("wavemix_192_16", "tiny_imagenet")]
    # The two cells are swapped, not mistyped.
    assert differ.loc[("resnet50", "tiny_imagenet"), "main"] == differ.loc[("wavemix_192_16", "tiny_imagenet"), "repeated"]
    assert differ.loc[("wavemix_192_16", "tiny_imagenet"), "main"] == differ.loc[("resnet50", "tiny_imagenet"), "repeated"]


def test_table5_rsna_column_is_table8s_rsna():
    t5 = paper.load("5").query("dataset == 'rsna'").set_index("backbone")["top1"]
    t8 = paper.load("8").query("dataset == 'rsna' and fraction == 1.0").set_index("backbone")["top1"]
    assert (t5.sort_index() == t8.sort_index()).all()
    assert t5.idxmax() == "resnext50_32x4d"  # "ResNeXt tops RSNA dataset"


def test_table1_and_table2_and_table3():
    t1 = paper.table1()
    assert len(t1) == 21 and set(t1["domain"]) == set(paper.TABLE1_DOMAINS)
    assert all(sorted(g) == [1, 2, 3] for _, g in t1.groupby("domain")["rank"])
    assert set(t1["backbone"]) <= set(paper.BACKBONES)
    t2 = paper.table2()
    assert t2["backbone"].tolist() == list(paper.BACKBONES)                  # the registry's order is the paper's
    assert paper.display_names() == dict(zip(t2["backbone"], t2["display"]))   # and so are its display names
    assert t2.set_index("backbone").loc["efficientnet_v2_s", "imagenet_top1"] == 84.23
    assert t2["imagenet_top1"].idxmax() == t2.index[t2.backbone == "efficientnet_v2_s"][0]
    t3 = paper.table3()
    assert len(t3) == 20 and t3["num_classes"].between(2, 200).all()


def test_wide_keeps_the_papers_layout():
    w = paper.wide("4")
    assert w.index.tolist() == list(paper.BACKBONES)
    assert w.columns.tolist()[0] == "stanford_dogs" and w.columns.tolist()[-1] == "food101"
    w8 = paper.wide("8")
    assert w8.columns.tolist()[:2] == [("plantvillage", 1.0), ("plantvillage", 0.1)]
    assert paper.wide("7", fraction=0.01).shape == (11, 2)


def test_unknown_table_is_a_one_line_error():
    with pytest.raises(UnknownNameError, match="choose one of 4, 5, 6, 7, 8"):
        paper.load("3")


def test_the_earlier_version_prints_food101_and_rsna_in_table8():
    t8 = paper.load("8")
    printed = t8[t8.dataset.isin(["food101", "rsna"])]
    assert len(printed) == 11 * 2 * 2 and printed.top1_earlier.notna().all()
    assert (printed.top1 == printed.top1_earlier).all()
    earlier = paper.version_full_data("earlier")
    assert set(paper.full_data().dataset) - set(earlier.dataset) == {"neu"} and earlier.dataset.nunique() == 19
    rsna = earlier[earlier.dataset == "rsna"].set_index("backbone").top1
    assert rsna.idxmax() == "resnext50_32x4d" and rsna.max() == 87.89
