"""The paper's published numbers (``results/paper/*.csv``), the "paper" reference every chapter compares with.

Transcribed from the later version of the paper and checked against the earlier one; the decisions taken while
transcribing are in ``results/paper/README.md``. Every table comes back long (one row per cell) with the book's
backbone and dataset names and ``source = "paper"``, so that it can sit beside this book's own records.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

from lib import models, paths
from lib.errors import DataError, UnknownNameError

PAPER_DIR = paths.PAPER

# Tables with one top-1 accuracy per (backbone, dataset, fraction).
RESULT_TABLES = ("4", "5", "6", "7", "8")

# The backbones in the paper's row order (Table 2 and every results table): the registry's order, which
# tests/test_paper.py checks against Table 2.
BACKBONES = tuple(models.names())

# Table 1's columns, in the paper's order; "overall" is not a domain of any dataset.
TABLE1_DOMAINS = ("natural", "texture", "remote_sensing", "plant", "astronomy", "medical", "overall")

LONG_COLUMNS = ["source", "backbone", "dataset", "fraction", "top1", "table", "top1_earlier", "notes"]


def _read(name: str) -> pd.DataFrame:
    path = PAPER_DIR / name
    if not path.exists():
        raise DataError(f"paper table {path} is missing: restore it with 'git checkout -- {path.relative_to(paths.ROOT)}'")
    return pd.read_csv(path, dtype={"table": str}, keep_default_na=False, na_values={"top1_earlier": [""]})


def _table_name(table) -> str:
    name = str(table)
    if name not in RESULT_TABLES:
        raise UnknownNameError(f"paper table {table!r} is not a results table; choose one of "
                               f"{', '.join(RESULT_TABLES)} (or None for all of them)")
    return name


@lru_cache(maxsize=None)
def _load_one(name: str) -> pd.DataFrame:
    df = _read(f"table{name}.csv")
    df.insert(0, "source", "paper")
    return df[LONG_COLUMNS]


def load(table: str | int | None = None) -> pd.DataFrame:
    """The paper's results tables (4-8) as one long table: backbone, dataset, fraction, top1, table, source.

    ``table`` picks one table ("4" ... "8"); None returns all of them, so a cell printed in two tables
    (a 100 % column of Table 7 or 8) appears twice, once per table.
    """
    names = RESULT_TABLES if table is None else (_table_name(table),)
    return pd.concat([_load_one(n) for n in names], ignore_index=True)


def full_data() -> pd.DataFrame:
    """One row per (backbone, dataset) at 100 % of the training data, from the main Tables 4, 5 and 6.

    Tables 7-8 repeat some of these cells; where they differ (Tiny ImageNet, ResNet/WaveMix) the main table is
    used, as the README of ``results/paper`` explains.
    """
    return load(None).query("table in ['4', '5', '6']").reset_index(drop=True)


VERSIONS = ("earlier", "later")
"""The paper's two versions: ``earlier`` (arXiv, "Which backbone to use") and ``later`` ("Surprising findings")."""


def version_full_data(version: str = "later") -> pd.DataFrame:
    """One row per (backbone, dataset) at 100 % as one version of the paper prints it.

    ``later`` is :func:`full_data`. ``earlier`` has no NEU column anywhere; its Tables 4 and 5 lack Food-101 and
    RSNA, but its Table 8 prints both at 100 % (and 10 %), so those two come from Table 8.
    """
    if version not in VERSIONS:
        raise UnknownNameError(f"paper version {version!r} is unknown; choose one of {', '.join(VERSIONS)}")
    main = full_data()
    if version == "later":
        return main
    printed = main.dropna(subset=["top1_earlier"])
    extra = load("8").query("fraction == 1.0").dropna(subset=["top1_earlier"])
    extra = extra[~extra.dataset.isin(printed.dataset)]
    both = pd.concat([printed, extra], ignore_index=True)
    return both.assign(top1=both["top1_earlier"]).reset_index(drop=True)


def version_low_data(version: str = "later") -> pd.DataFrame:
    """Tables 7 and 8 as one version prints them (identical cells in both; the earlier one prints every cell)."""
    low = low_data()
    if version == "later":
        return low
    low = low.dropna(subset=["top1_earlier"])
    return low.assign(top1=low["top1_earlier"]).reset_index(drop=True)


def table9() -> pd.DataFrame:
    """The paper's Table 9: the architecture of the 9 convolutional backbones, text cells as printed."""
    return _read("table9.csv")


def low_data() -> pd.DataFrame:
    """Tables 7 and 8: every backbone at 100 %, 10 % (and, for Table 7, 1 %) of the training data."""
    return load(None).query("table in ['7', '8']").reset_index(drop=True)


def table1() -> pd.DataFrame:
    """The paper's Table 1: the top three backbones (rank 1 = Best, 2 = Better, 3 = Good) for each domain."""
    df = _read("table1.csv")
    df.insert(0, "source", "paper")
    return df


def table2() -> pd.DataFrame:
    """The paper's Table 2: display name, parameters (millions) and ImageNet-1k top-1 (%) of every backbone."""
    return _read("table2.csv")


def table3() -> pd.DataFrame:
    """The paper's Table 3: every dataset's domain, training / test image counts and number of classes."""
    return _read("table3.csv")


def breakhis_average() -> pd.DataFrame:
    """Table 6's printed "Average" column (mean of the four BreakHis magnifications), one row per backbone."""
    return _read("table6_average.csv")


def training_counts() -> pd.DataFrame:
    """Every training-image count the paper prints next to a fraction (table headers, figure captions, prose)."""
    return _read("training_counts.csv")


def domains() -> dict[str, str]:
    """Dataset name -> the paper's domain (Table 3): natural, texture, surface_defects, remote_sensing, ..."""
    return dict(zip(table3()["dataset"], table3()["domain"]))


def display_names() -> dict[str, str]:
    """Backbone name -> its display name, e.g. ``convnext_tiny`` -> ``ConvNeXt-Tiny`` (the registry's, which
    ``tests/test_paper.py`` checks against the paper's Table 2)."""
    return {name: models.spec(name).display for name in models.names()}


def wide(table: str | int, fraction: float | None = None) -> pd.DataFrame:
    """One paper table in the paper's layout: backbones as rows (paper order), datasets as columns.

    Tables 7 and 8 get a (dataset, fraction) column index unless ``fraction`` picks one fraction.
    """
    df = load(table)
    if fraction is not None:
        df = df[df["fraction"] == fraction]
    columns = ["dataset"] if fraction is not None or str(table) in ("4", "5", "6") else ["dataset", "fraction"]
    order = list(dict.fromkeys(df["dataset"]))
    out = df.pivot(index="backbone", columns=columns, values="top1").reindex(list(BACKBONES))
    if columns == ["dataset"]:
        return out[order]
    return out.reindex(columns=sorted(out.columns, key=lambda c: (order.index(c[0]), -c[1])))
