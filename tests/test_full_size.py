"""Split counts at the real size: every publisher index written with as many entries as the real one, read by the
book's reader and split by ``lib.data``'s rules, against the paper's Table 3 (or the documented deviation)."""
import time

import pytest

import lib.data
from book import show
from lib.data import sizes, sources
from full_size_fixtures import WRITERS, write

COUNTED = list(WRITERS)


@pytest.mark.parametrize("name", COUNTED)
def test_reader_counts_at_real_size_equal_table3_or_the_documented_deviation(name, tmp_path):
    started = time.perf_counter()
    write(name, tmp_path)
    source = sources.read_source(name, tmp_path)
    ours = lib.data.split_counts(source, sources.spec(name))
    assert ours == sizes.counts(name)  # the reader at real size == the split rule on the reference sizes
    spec = sources.spec(name)
    if name in sizes.DEVIATIONS:
        assert (ours["train"], ours["test"]) != (spec.paper_train, spec.paper_test), f"{name}: stale deviation"
    else:
        assert (ours["train"], ours["test"]) == (spec.paper_train, spec.paper_test)
    assert time.perf_counter() - started < 30  # index files only: seconds, not minutes


def test_every_official_split_and_every_known_class_size_is_counted():
    official = [n for n in sources.names(workshop=False) if sources.spec(n).official_test]
    assert set(official) == set(sizes.OFFICIAL) <= set(COUNTED)
    assert len(COUNTED) == 15  # all but PlantCLEF (a subset the reader builds) and BreakHis (split by patient)


def test_table3_counts_agree_exactly_where_no_deviation_is_documented():
    table = show.table3_counts().set_index("dataset")
    assert list(table.index) == sources.names(workshop=False)
    assert set(table.index[~table["same as paper"]]) == set(sizes.DEVIATIONS)
    assert (table.loc[~table["same as paper"], "why not"] != "undocumented").all()
    assert table.loc["dtd", ["train (ours)", "val (ours)", "test (ours)"]].tolist() == [1880, 1880, 1880]
    assert table.loc["rsna", ["train (ours)", "test (ours)"]].tolist() == [21348, 5336]
    assert table["train (ours)"].isna().sum() == 5 and (table["sizes from"] != "").all()


def test_dtd_trains_on_train1_only_and_validates_on_val1():
    assert sources.spec("dtd").split_lists == {"train": ("train1",), "val": ("val1",), "test": ("test1",)}
    assert sizes.list_counts("dtd") == {"train": 1880, "val": 1880, "test": 1880}


def test_a_list_one_image_short_is_caught(tmp_path):
    entry = sizes.OFFICIAL["dtd"]
    WRITERS["dtd"](tmp_path / "dtd", {**entry.sizes, "test1": entry.sizes["test1"] - 1})
    ours = lib.data.split_counts(sources.read_source("dtd", tmp_path), sources.spec("dtd"))
    assert ours["test"] == sources.spec("dtd").paper_test - 1 != sizes.counts("dtd")["test"]
