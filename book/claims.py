"""The claims register: every checkable sentence of both versions of the paper (it compares, ranks, counts or gives
a number), each with a small spec that computes a verdict from the paper's own tables.

The sentences themselves are data: ``results/paper/sentences.csv`` quotes each one verbatim per version, with where
it stands, under a claim key; here each key gets its spec (``CLAIMS``). A spec is a frozen dataclass with
``check(ctx) -> Outcome``; ``ctx`` holds one version's numbers (``Context``), so a sentence both versions print is
checked on each version's tables. Verdicts (``book.verdicts``): supported, partly supported, not supported, or
not checkable with the reason. ``python -m book.claims`` writes ``results/paper/claims.csv``.
"""
from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from lib import paper, paths
from book import findings
from book.verdicts import SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, NOT_CHECKABLE
from lib.atomic import atomic_write_text

REGISTER = paths.PAPER / "claims.csv"
SENTENCES = paths.PAPER / "sentences.csv"
COLUMNS = ["version", "where", "sentence", "cells", "verdict", "evidence"]


@dataclass(frozen=True)
class Outcome:
    verdict: str
    cells: str  # the table cells the sentence concerns, e.g. "Table 5: galaxy10 (all backbones)"
    evidence: str  # the computed numbers, one line


@dataclass
class Context:
    """One version's numbers: 100 % results, low-data results, Tables 1, 2, 3 and 9."""

    version: str
    full: pd.DataFrame
    low: pd.DataFrame

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(self.full.dataset))

    def domain(self, domain: str) -> list[str]:
        return [d for d in self.datasets if findings.domain_of(d) == domain]

    def ranks(self) -> pd.DataFrame:
        return findings.dataset_ranks(self.full[["backbone", "dataset", "top1"]])

    def best(self, dataset: str) -> list[str]:
        part = self.full[self.full.dataset == dataset]
        return sorted(part.loc[part.top1 == part.top1.max(), "backbone"])

    def observations(self) -> dict:
        """The Section 7 checks of ``book.findings`` on these numbers, computed once."""
        if not hasattr(self, "_observations"):
            checks = findings.check_all(self.full, self.low, paper.table2())
            self._observations = {c.key: c for c in checks}
        return self._observations

    def value(self, backbone: str, dataset: str) -> float:
        return float(self.full.loc[(self.full.backbone == backbone) & (self.full.dataset == dataset), "top1"].iloc[0])


def _share_verdict(share: float, supported: float = 1.0, partly: float = 0.5) -> str:
    return SUPPORTED if share >= supported - 1e-9 else PARTLY_SUPPORTED if share >= partly - 1e-9 else NOT_SUPPORTED


def _table_of(dataset: str) -> str:
    return f"Table {paper.full_data().set_index(['dataset']).loc[[dataset], 'table'].iloc[0]}"


# ------------------------------------------------------------------------------------------------ claim kinds

@dataclass(frozen=True)
class Best:
    """The named backbone(s) are the (joint) best on a dataset."""

    dataset: str
    backbones: tuple[str, ...]

    def check(self, ctx: Context) -> Outcome:
        if self.dataset not in ctx.datasets:
            return Outcome(NOT_CHECKABLE, "", f"this version prints no {self.dataset} results")
        best, named = set(ctx.best(self.dataset)), set(self.backbones)
        verdict = SUPPORTED if best == named else PARTLY_SUPPORTED if best & named else NOT_SUPPORTED
        return Outcome(verdict, f"{_table_of(self.dataset)}: {self.dataset}",
                       f"best on {self.dataset}: {', '.join(sorted(best))} ({ctx.full[ctx.full.dataset == self.dataset].top1.max():g})")


@dataclass(frozen=True)
class BestOnAllBut:
    """A backbone is best on every dataset of a domain except the named ones."""

    backbone: str
    domain: str
    exceptions: tuple[str, ...]

    def check(self, ctx: Context) -> Outcome:
        datasets = ctx.domain(self.domain)
        not_best = {d for d in datasets if self.backbone not in ctx.best(d)}
        wrong = not_best ^ set(self.exceptions)
        verdict = SUPPORTED if not wrong else PARTLY_SUPPORTED if len(wrong) <= len(datasets) // 4 else NOT_SUPPORTED
        return Outcome(verdict, f"{self.domain} datasets ({len(datasets)}), all backbones",
                       f"{self.backbone} is not best on: {', '.join(sorted(not_best)) or 'none'}")


@dataclass(frozen=True)
class TopThreeOn:
    """A backbone places in the top three on at least ``n`` of a domain's datasets (the paper's "performs well")."""

    backbone: str
    domain: str
    n: int
    of: int  # the number of datasets the sentence assumes
    datasets: tuple[str, ...] = ()  # the ones the sentence means, where the domain had more in that version

    def check(self, ctx: Context) -> Outcome:
        ranked = ctx.ranks()
        datasets = self.datasets or ctx.domain(self.domain)
        mine = ranked[(ranked.backbone == self.backbone) & ranked.dataset.isin(datasets)]
        count, total = int((mine.place <= 3).sum()), len(mine)
        verdict = (SUPPORTED if count >= self.n and total == self.of else
                   PARTLY_SUPPORTED if count >= self.n or count >= self.n - 1 else NOT_SUPPORTED)
        return Outcome(verdict, f"{self.domain} datasets, all backbones",
                       f"{self.backbone} top three on {count} of {total} {self.domain} datasets "
                       f"(sentence: {self.n} of {self.of})")


@dataclass(frozen=True)
class WellInDomains:
    """A backbone "performs well" in each named domain: top three on at least one of the domain's datasets."""

    backbone: str
    domains: tuple[str, ...]

    def check(self, ctx: Context) -> Outcome:
        ranked = ctx.ranks()
        hits = {d: bool(((ranked.backbone == self.backbone) & (ranked.place <= 3)
                         & ranked.dataset.isin(ctx.domain(d))).any()) for d in self.domains}
        checked = {d: h for d, h in hits.items() if ctx.domain(d)}
        if not checked:
            return Outcome(NOT_CHECKABLE, "", "no results in these domains")
        share = sum(checked.values()) / len(self.domains)
        return Outcome(_share_verdict(share), f"{', '.join(self.domains)} datasets",
                       "top three somewhere in: " + ", ".join(f"{d} {'yes' if h else 'no'}" for d, h in hits.items())
                       + "".join(f" ({d}: no results)" for d in self.domains if not ctx.domain(d)))


@dataclass(frozen=True)
class NeverTopThree:
    """A backbone is never in the top three on a domain's datasets."""

    backbone: str
    domain: str

    def check(self, ctx: Context) -> Outcome:
        ranked = ctx.ranks()
        mine = ranked[(ranked.backbone == self.backbone) & ranked.dataset.isin(ctx.domain(self.domain))]
        top = sorted(mine.loc[mine.place <= 3, "dataset"])
        return Outcome(_share_verdict(1 - len(top) / len(mine)), f"{self.domain} datasets, all backbones",
                       f"{self.backbone} top three on: {', '.join(top) or 'none'} of {len(mine)}")


@dataclass(frozen=True)
class NeverBest:
    """A backbone is not the (joint) best on any dataset."""

    backbone: str

    def check(self, ctx: Context) -> Outcome:
        firsts = sorted(d for d in ctx.datasets if self.backbone in ctx.best(d))
        return Outcome(SUPPORTED if not firsts else NOT_SUPPORTED, f"Tables 4-6 ({len(ctx.datasets)} datasets)",
                       f"{self.backbone} (jointly) best on: {', '.join(firsts) or 'none'}")


@dataclass(frozen=True)
class Beats:
    """Backbone ``a`` scores above ``b`` on the datasets (or a domain's); ``share`` of them is enough for support."""

    a: str
    b: str
    datasets: tuple[str, ...] = ()
    domain: str = ""
    share: float = 1.0

    def check(self, ctx: Context) -> Outcome:
        datasets = [d for d in (self.datasets or (ctx.domain(self.domain) if self.domain else ctx.datasets))
                    if d in ctx.datasets]
        wins = [d for d in datasets if ctx.value(self.a, d) > ctx.value(self.b, d)]
        share = len(wins) / len(datasets)
        verdict = (SUPPORTED if share >= self.share - 1e-9 else
                   PARTLY_SUPPORTED if share >= min(0.5, self.share) else NOT_SUPPORTED)
        return Outcome(verdict, f"{self.a} vs {self.b} on {len(datasets)} datasets",
                       f"{self.a} above {self.b} on {len(wins)} of {len(datasets)}")


@dataclass(frozen=True)
class Gain:
    """The best backbone on a dataset beats the second, named, by ``percent`` (relative), to the printed rounding."""

    dataset: str
    winner: str
    second: str
    percent: float

    def check(self, ctx: Context) -> Outcome:
        g = ctx.full[ctx.full.dataset == self.dataset].sort_values("top1", ascending=False)
        first, runner = g.iloc[0], g.iloc[1]
        gain = 100 * (first.top1 / runner.top1 - 1)
        right = first.backbone == self.winner and runner.backbone == self.second
        verdict = (SUPPORTED if right and round(gain) == self.percent else PARTLY_SUPPORTED if right else NOT_SUPPORTED)
        return Outcome(verdict, f"{_table_of(self.dataset)}: {self.dataset}",
                       f"first {first.backbone} {first.top1:g}, second {runner.backbone} {runner.top1:g}: "
                       f"+{gain:.1f} % relative, +{first.top1 - runner.top1:.2f} points")


@dataclass(frozen=True)
class LowDataLeaders:
    """The named backbones are the top ``k`` at each reduced fraction of the datasets."""

    datasets: tuple[str, ...]
    fractions: tuple[float, ...]
    named: tuple[str, ...]

    def check(self, ctx: Context) -> Outcome:
        k, hits, total, notes = len(self.named), 0, 0, []
        for d in self.datasets:
            for f in self.fractions:
                part = ctx.low[(ctx.low.dataset == d) & np.isclose(ctx.low.fraction, f)]
                top = part.sort_values("top1", ascending=False).backbone.head(k).tolist()
                kept = len(set(top) & set(self.named))
                hits, total = hits + kept, total + k
                notes.append(f"{d} {f:.0%}: {kept} of {k} (top: {', '.join(top)})")
        return Outcome(_share_verdict(hits / total, 1.0, 0.5), f"Tables 7-8: {', '.join(self.datasets)}",
                       "named among the top " + f"{k}: " + "; ".join(notes))


@dataclass(frozen=True)
class SpreadShrinks:
    """The spread of the three best (at 100 %) backbones narrows as the training data grows."""

    datasets: tuple[str, ...]

    def check(self, ctx: Context) -> Outcome:
        shrinking, notes = 0, []
        for d in self.datasets:
            part = ctx.low[ctx.low.dataset == d]
            top = part[part.fraction == 1.0].nlargest(3, "top1").backbone
            spread = part[part.backbone.isin(top)].groupby("fraction").top1.agg(lambda v: v.max() - v.min())
            spreads = spread.sort_index().tolist()  # 1 %, 10 %, 100 %
            shrinking += all(a > b for a, b in zip(spreads, spreads[1:]))
            notes.append(f"{d}: " + " > ".join(f"{s:.2f}" for s in spreads))
        return Outcome(_share_verdict(shrinking / len(self.datasets)), f"Table 7: {', '.join(self.datasets)}",
                       "spread of the top three (points) at 1 %, 10 %, 100 %: " + "; ".join(notes))


@dataclass(frozen=True)
class Observation:
    """A Section 7 headline, checked by its ``book.findings`` check."""

    key: str

    def check(self, ctx: Context) -> Outcome:
        check = ctx.observations()[self.key]
        return Outcome(check.verdict, f"book.findings check '{self.key}'", check.evidence)


@dataclass(frozen=True)
class Number:
    """A number the sentence states against the one computed from a table: ``op`` "=" (exact), ">=" ("over"),
    "~" (a round number, within 5 %), "<=" ("fewer than", "at most"). Exact misses within 5 % are partly supported."""

    what: str
    compute: Callable[[], float]
    stated: float
    op: str = "="
    cells: str = ""

    def check(self, ctx: Context) -> Outcome:
        value = float(self.compute())
        close = abs(value - self.stated) <= 0.05 * max(abs(self.stated), 1)
        holds = {"=": value == self.stated, ">=": value >= self.stated, "<=": value <= self.stated,
                 "~": close}[self.op]
        verdict = SUPPORTED if holds else PARTLY_SUPPORTED if close else NOT_SUPPORTED
        return Outcome(verdict, self.cells, f"{self.what}: {value:,.6g} (sentence: {self.op} {self.stated:,.6g})")


@dataclass(frozen=True)
class NotCheckable:
    reason: str

    def check(self, ctx: Context) -> Outcome:
        return Outcome(NOT_CHECKABLE, "", self.reason)


# ----------------------------------------------------------------------------------- numbers from the tables

def _t3(dataset: str, column: str = "total") -> Callable[[], float]:
    def compute():
        row = paper.table3().set_index("dataset").loc[dataset]
        return row.train_images + row.test_images if column == "total" else row[column]
    return compute


def _t3_sum(prefix: str) -> Callable[[], float]:
    def compute():
        t3 = paper.table3()
        return float(t3.loc[t3.dataset.str.startswith(prefix), ["train_images", "test_images"]].to_numpy().sum())
    return compute


def _t2(column: str, how: str) -> Callable[[], float]:
    return lambda: float(getattr(paper.table2()[column], how)())


def _t9_count(column: str, test: Callable[[str], bool]) -> Callable[[], float]:
    return lambda: float(paper.table9()[column].astype(str).map(test).sum())


def _t1_share(named: tuple[str, ...]) -> Callable[[], float]:
    return lambda: float(paper.table1().backbone.isin(named).mean())


def _per_class(dataset: str, column: str) -> Callable[[], float]:
    return lambda: float(paper.table3().set_index("dataset").loc[dataset, column]
                         / paper.table3().set_index("dataset").loc[dataset, "num_classes"])


def _last_stage_largest() -> float:
    blocks = paper.table9().blocks_per_stage.map(lambda s: [int(b) for b in str(s).split(",")])
    return float(sum(len(b) > 1 and b[-1] > b[-2] for b in blocks))


EFFICIENT_ONLY = "efficientnet_v2_s"
T3, T2, T9 = "Table 3", "Table 2", "Table 9"


# ----------------------------------------------------------------------------------------------- the claims

@dataclass(frozen=True)
class Claim:
    """A checkable sentence, by its key in ``results/paper/sentences.csv`` (which holds its words in each version
    that prints it, and where), and the spec that checks it: one for both versions, or a dict version -> spec where
    the sentence's numbers changed between the versions."""

    key: str
    spec: object

    @property
    def quotes(self) -> dict[str, str]:
        """version -> the sentence, verbatim (one key when only one version prints it)."""
        rows = sentences().loc[[self.key]]
        return dict(zip(rows.version, rows.sentence))

    @property
    def where(self) -> str:
        """Where the paper prints it ("Section 7", "Datasets: DTD", ...), the same in every version."""
        return sentences().loc[[self.key], "where"].iloc[0]


@functools.cache
def sentences() -> pd.DataFrame:
    """The paper's checkable sentences as transcribed (``results/paper/sentences.csv``), indexed by claim key."""
    return pd.read_csv(SENTENCES, keep_default_na=False).set_index("claim")


NATURAL_7 = ("stanford_dogs", "flowers102", "cub200", "stanford_cars", "tiny_imagenet", "cifar10", "cifar100")
NATURAL_BUT_CIFAR = tuple(d for d in NATURAL_7 + ("food101",) if d not in ("cifar10", "cifar100"))

CLAIMS: tuple[Claim, ...] = (  # each key's sentences: results/paper/sentences.csv
    # Abstract, introduction
    Claim("abstract:convnext-regnet-efficientnet-across-domains",
          Number("share of Table 1's 21 places held by ConvNeXt, RegNet, EfficientNet",
                 _t1_share(("convnext_tiny", "regnet_y_3_2gf", "efficientnet_v2_s")), 0.5, ">=", "Table 1")),
    Claim("abstract:attention-poor-on-small-data", Observation("cnn_vs_transformer")),
    Claim("abstract:attention-poor-at-low-data", Observation("cnn_vs_transformer")),
    Claim("s1:lightweight-under-100mb",
          Number("largest float32 size in Table 2 (MiB, 4 bytes per parameter)",
                 lambda: paper.table2().params_m.max() * 4 * 1e6 / 2**20, 100, "<=", T2)),
    # Section 3
    Claim("s3:under-30m-parameters",
          Number("largest parameter count in Table 2 (M)", _t2("params_m", "max"), 30, "<=", T2)),
    Claim("s3:torchvision-20-families-115-models",
          NotCheckable("a count of torchvision's registry at the time; no table of the paper holds it (chapter 1 "
                       "recounts it on today's torchvision)")),
    Claim("s3:53-models-14-families",
          NotCheckable("a count of torchvision's registry; chapter 1 recounts it")),
    Claim("s3:imagenet-top1-at-least-75",
          Number("lowest ImageNet top-1 in Table 2 (%)", _t2("imagenet_top1", "min"), 75, ">=", T2)),
    Claim("s3:11-backbones", Number("rows of Table 2", lambda: len(paper.table2()), 11, "=", T2)),
    Claim("s3:vit-86m-parameters",
          NotCheckable("ViT is not in the paper's tables (torchvision's metadata gives 86.6 M for vit_b_16)")),
    # Section 4
    Claim("s4:20-datasets-7-domains", Number("rows of Table 3", lambda: len(paper.table3()), 20, "=", T3)),
    Claim("s4:training-images-1000-to-100000",
          Number("largest training count in Table 3", lambda: paper.table3().train_images.max(), 100_000, "=", T3)),
    Claim("s4:classes-2-to-200",
          Number("largest class count in Table 3", lambda: paper.table3().num_classes.max(), 200, "=", T3)),
    # dataset descriptions (Section 4 of the earlier version, the appendix of the later one)
    Claim("datasets:cifar10",
          Number("Table 3 train + test", _t3("cifar10"), 60_000, "=", "Table 3: CIFAR-10")),
    Claim("datasets:cifar100",
          Number("Table 3 train + test", _t3("cifar100"), 60_000, "=", "Table 3: CIFAR-100")),
    Claim("datasets:tiny-imagenet",
          Number("Table 3 training images per class", _per_class("tiny_imagenet", "train_images"), 500, "=",
                 "Table 3: Tiny ImageNet")),
    Claim("datasets:stanford-dogs",
          Number("Table 3 train + test", _t3("stanford_dogs"), 20_580, "=", "Table 3: Stanford Dogs")),
    Claim("datasets:flowers102",
          Number("Table 3 train + test", _t3("flowers102"), 8_189, "=", "Table 3: Flowers-102")),
    Claim("datasets:cub200",
          Number("Table 3 train + test", _t3("cub200"), 11_788, "=", "Table 3: CUB-200-2011")),
    Claim("datasets:stanford-cars",
          Number("Table 3 train + test", _t3("stanford_cars"), 16_185, "=", "Table 3: Stanford Cars")),
    Claim("datasets:food101",
          Number("Table 3 train + test", _t3("food101"), 101_000, "=", "Table 3: Food-101")),
    Claim("datasets:dtd",
          Number("Table 3 train + test (one of the three lists of a partition is left out)", _t3("dtd"), 5_640, "=",
                 "Table 3: DTD")),
    Claim("datasets:neu",
          Number("Table 3 training images", _t3("neu", "train_images"), 1_200, "=", "Table 3: NEU")),
    Claim("datasets:ucmerced",
          Number("Table 3 train + test", _t3("ucmerced"), 2_100, "=", "Table 3: UC Merced")),
    Claim("datasets:eurosat",
          Number("Table 3 train + test", _t3("eurosat"), 27_000, "=", "Table 3: EuroSAT")),
    Claim("datasets:plantvillage",
          Number("Table 3 train + test", _t3("plantvillage"), 54_000, ">=", "Table 3: PlantVillage")),
    Claim("datasets:galaxy10",
          Number("Table 3 train + test", _t3("galaxy10"), 17_000, "~", "Table 3: Galaxy10")),
    Claim("datasets:breakhis",
          Number("Table 3 train + test over the four magnifications", _t3_sum("breakhis"), 7_909, "=",
                 "Table 3: BreakHis 40x-400x")),
    Claim("datasets:rsna",
          Number("Table 3 train + test", _t3("rsna"), 30_000, ">=", "Table 3: RSNA")),
    # Section 6.1
    Claim("s6.1:convnext-best-on-natural", BestOnAllBut("convnext_tiny", "natural", ("cifar10", "cifar100"))),
    Claim("s6.1:efficientnet-well-on-natural", {"earlier": TopThreeOn(EFFICIENT_ONLY, "natural", 5, 7, NATURAL_7),
                                                "later": TopThreeOn(EFFICIENT_ONLY, "natural", 6, 8)}),
    Claim("s6.1:regnet-well-on-natural", {"earlier": TopThreeOn("regnet_y_3_2gf", "natural", 5, 7, NATURAL_7),
                                          "later": TopThreeOn("regnet_y_3_2gf", "natural", 7, 8)}),
    Claim("s6.1:wavemix-best-on-cifar-only",
          BestOnAllBut("wavemix_192_16", "natural", NATURAL_BUT_CIFAR)),
    Claim("s6.1:convnext-well-in-other-domains", {
        "earlier": WellInDomains("convnext_tiny", ("texture", "plant", "astronomy")),
        "later": WellInDomains("convnext_tiny", ("texture", "plant", "surface_defects", "remote_sensing",
                                                 "astronomy"))}),
    Claim("s6.1:regnet-well-in-other-domains", {
        "earlier": WellInDomains("regnet_y_3_2gf", ("texture", "remote_sensing", "plant")),
        "later": WellInDomains("regnet_y_3_2gf", ("texture", "remote_sensing", "surface_defects", "plant"))}),
    Claim("s6.1:swinv2-best-on-ucmerced", Best("ucmerced", ("swin_v2_t",))),
    Claim("s6.1:wavemix-resnext-best-on-eurosat", Best("eurosat", ("wavemix_192_16", "resnext50_32x4d"))),
    Claim("s6.1:resnext-best-on-rsna", Best("rsna", ("resnext50_32x4d",))),
    Claim("s6.1:densenet-best-on-plantvillage", Best("plantvillage", ("densenet161",))),
    Claim("s6.1:wavemix-best-on-galaxy10", Best("galaxy10", ("wavemix_192_16",))),
    # Section 6.2 and the figures
    Claim("s6.2:leaders-stay-ahead-at-10-and-1-percent", Observation("low_data")),
    Claim("s6.2:four-leaders-with-less-data",
          LowDataLeaders(("cifar10", "tiny_imagenet"), (0.1, 0.01),
                         ("convnext_tiny", "wavemix_192_16", "efficientnet_v2_s", "regnet_y_3_2gf"))),
    Claim("s6.2:top-three-gap-shrinks-with-data", SpreadShrinks(("cifar10", "tiny_imagenet"))),
    Claim("s6.2:plant-leaders-at-10-percent",
          LowDataLeaders(("plantvillage", "plantclef"), (0.1,),
                         ("convnext_tiny", "efficientnet_v2_s", "densenet161", "regnet_y_3_2gf"))),
    Claim("s6.2:resnext-leads-rsna-at-10-percent", LowDataLeaders(("rsna",), (0.1,), ("resnext50_32x4d",))),
    # Section 7
    Claim("s7:imagenet-accuracy-not-fine-tuning-accuracy", Observation("imagenet")),
    Claim("s7:efficientnet-highest-imagenet",
          Number("highest ImageNet top-1 in Table 2 (%)", _t2("imagenet_top1", "max"), 84.23, "=", T2)),
    Claim("s7:efficientnet-never-best", NeverBest(EFFICIENT_ONLY)),
    Claim("s7:convnext-beats-efficientnet",
          Beats("convnext_tiny", EFFICIENT_ONLY, ("tiny_imagenet", "stanford_dogs"))),
    Claim("s7:cnns-beat-transformers", Observation("cnn_vs_transformer")),
    Claim("s7:swin-below-convnext", Beats("convnext_tiny", "swin_t", share=0.9)),
    Claim("s7:convnext-best-on-natural", Observation("convnext_natural")),
    Claim("s7:regnet-efficientnet-across-domains", Observation("regnet_efficientnet")),
    Claim("s7:shufflenet-over-mobilenet", Observation("shufflenet_mobilenet")),
    Claim("s7:very-light-under-50mb",
          Number("float32 size of MobileNetV3-Large and ShuffleNetV2 (larger, MiB)",
                 lambda: paper.table2().set_index("backbone").loc[["mobilenet_v3_large", "shufflenet_v2_x2_0"],
                                                                  "params_m"].max() * 4 * 1e6 / 2**20, 50, "<=", T2)),
    Claim("s7:mobilenet-better-on-medical",
          Beats("mobilenet_v3_large", "shufflenet_v2_x2_0", domain="medical", share=0.75)),
    Claim("s7:wavemix-multi-resolution", Observation("wavemix")),
    Claim("s7:resnet-dominance-over", Observation("resnet")),
    Claim("s7:wavemix-9-percent-on-galaxy10", Gain("galaxy10", "wavemix_192_16", "convnext_tiny", 9)),
    Claim("s7:wavemix-beats-convnext-on-cifar", Beats("wavemix_192_16", "convnext_tiny", ("cifar10", "cifar100"))),
    Claim("s7:wavemix-best-on-eurosat", Best("eurosat", ("wavemix_192_16", "resnext50_32x4d"))),
    Claim("s7:wavemix-misses-only-tiny-imagenet",
          BestOnAllBut("wavemix_192_16", "natural", NATURAL_BUT_CIFAR)),
    Claim("s7:resnet-never-top-three-on-natural", NeverTopThree("resnet50", "natural")),
    Claim("s7:resnet-best-on-one-medical",
          Number("medical datasets where ResNet-50 is (jointly) best", None, 1, "=", "medical datasets")),
    Claim("s7:convnext-swin-poor-on-medical", Observation("medical_poor")),
    Claim("s7:leaders-keep-lead-with-less-data", Observation("low_data")),
    Claim("s7:one-percent-of-training-data",
          Number("training images at 1 % of CIFAR-10 (Table 3 x 0.01)", lambda: paper.table3().set_index("dataset")
                 .loc["cifar10", "train_images"] * 0.01, 1000, "=", "Table 3 / Table 7: CIFAR-10 and Tiny ImageNet")),
    # Section 8 and Table 9
    Claim("s8:top-models-are-the-latest",
          Number("share of Table 1's 21 places held by RegNet, EfficientNet, WaveMix, ConvNeXt",
                 _t1_share(("regnet_y_3_2gf", EFFICIENT_ONLY, "wavemix_192_16", "convnext_tiny")), 1.0, "=",
                 "Table 1")),
    Claim("s8:kernels-1-3-1",
          Number("Table 9 rows with kernels 1×1, 3×3, 1×1 (of 9; 'most' needs 5)",
                 _t9_count("kernels", lambda k: k == "1×1, 3×3, 1×1"), 5, ">=", T9)),
    Claim("s8:expansion-factor-4",
          Number("Table 9 rows whose CEF is 4 or reaches 4 (of 9; 'nearly all' needs 8)",
                 _t9_count("cef", lambda c: c == "4" or c.startswith("4-") or c.endswith("-6") and c[0] <= "4"),
                 8, ">=", T9)),
    Claim("s8:expansion-factor-up-to-6",
          Number("Table 9 rows with a CEF up to 6", _t9_count("cef", lambda c: c.endswith("6")), 2, "=", T9)),
    Claim("s8:four-stages",
          Number("Table 9 rows with 4 stages (of 9)", _t9_count("stages", lambda s: s == "4"), 6, "=", T9)),
    Claim("s8:only-efficientnet-last-stage-largest",
          Number("Table 9 rows with more blocks in the last stage than the one before", _last_stage_largest, 1, "=",
                 T9)),
    Claim("s8:older-models-large-stem",
          Number("Table 9 rows with a 7×7 stem (the three oldest)", _t9_count("stem", lambda s: s.startswith("7×7")),
                 3, "=", T9)),
    Claim("s8:tokenmixers-patchify-stem",
          Number("Table 9 tokenmixers with a 4×4, /4 stem", lambda: float(
              (paper.table9().query("block == 'Tokenmixer'").stem == "4×4, /4").sum()), 2, "=", T9)),
    Claim("s8:newer-models-depthwise",
          Number("Table 9: DConv 'Yes' among ShuffleNet, MobileNet, EfficientNet", lambda: float(
              paper.table9().set_index("backbone").loc[["shufflenet_v2_x2_0", "mobilenet_v3_large", EFFICIENT_ONLY],
                                                       "dconv"].eq("Yes").sum()), 3, "=", T9)),
    Claim("s8:regnet-efficientnet-se",
          Number("Table 9: SE 'Yes' for RegNet and EfficientNet", lambda: float(
              paper.table9().set_index("backbone").loc[["regnet_y_3_2gf", EFFICIENT_ONLY], "se"].eq("Yes").sum()),
              2, "=", T9)),
    # Section 9
    Claim("s9:convnext-efficientnet-regnet-across-domains", Observation("regnet_efficientnet")),
    Claim("s9:shufflenet-beats-mobilenet", Beats("shufflenet_v2_x2_0", "mobilenet_v3_large")),
    Claim("s9:under-100000-images",
          Number("largest training count in Table 3", lambda: paper.table3().train_images.max(), 100_000,
                 "<=", T3)),
    Claim("cost:1500-gpu-hours",
          NotCheckable("no table gives run times; chapter 8 measures our own")),
    Claim("cost:222-kg-co2",
          NotCheckable("needs the GPUs' power draw, which the paper does not state (1,500 h x 0.4 kW x 0.37 "
                       "kgCO2eq/kWh would give 222)")),
    # Section 5: the protocol gives numbers no table can confirm
    Claim("s5:early-stopping-10-epochs", NotCheckable("a protocol setting; no table records training lengths")),
    Claim("s5:one-a100-gpu", NotCheckable("the hardware; nothing in the tables depends on it")),
)

def _resnet_one_medical(ctx: Context) -> float:
    return float(sum("resnet50" in ctx.best(d) for d in ctx.domain("medical")))


def spec_for(claim: Claim, version: str):
    """The spec that checks ``claim`` on ``version``'s tables."""
    return claim.spec[version] if isinstance(claim.spec, dict) else claim.spec


def context(version: str) -> Context:
    return Context(version, paper.version_full_data(version)[["backbone", "dataset", "top1"]],
                   paper.version_low_data(version)[["backbone", "dataset", "fraction", "top1"]])


def _evaluate(spec, ctx: Context) -> Outcome:
    if isinstance(spec, Number) and spec.compute is None:  # the one count that needs the version's numbers
        spec = Number(spec.what, lambda: _resnet_one_medical(ctx), spec.stated, spec.op, spec.cells)
    return spec.check(ctx)


def register() -> pd.DataFrame:
    """One row per (version, sentence): where, the quote, the cells, the verdict and the computed evidence."""
    rows, contexts = [], {v: context(v) for v in paper.VERSIONS}
    for claim in CLAIMS:
        for version in paper.VERSIONS:
            if version not in claim.quotes:
                continue
            outcome = _evaluate(spec_for(claim, version), contexts[version])
            rows.append({"version": version, "where": claim.where, "sentence": claim.quotes[version],
                         "cells": outcome.cells, "verdict": outcome.verdict, "evidence": outcome.evidence})
    return pd.DataFrame(rows, columns=COLUMNS)


def counts_by_section(table: pd.DataFrame) -> pd.DataFrame:
    """Verdict counts per (version, section); sections are the ``where`` up to the first colon."""
    section = table["where"].str.split(":").str[0]
    out = pd.crosstab([table.version, section.rename("section")], table.verdict)
    out = out.reindex(columns=list(findings.PAPER_VERDICTS), fill_value=0)
    return out.assign(total=out.sum(axis=1))


_NUMBER = re.compile(r"\d[\d,.]*")
_NAMES = ("ConvNeXt", "EfficientNet", "RegNet", "WaveMix", "ResNeXt", "ResNet", "DenseNet", "MobileNet",
          "ShuffleNet", "Swin")


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,").replace(",", "") for n in _NUMBER.findall(text)}


def _names(text: str) -> set[str]:
    text = re.sub(r"\bEfficient\b", "EfficientNet", text)  # "Only Efficient has ..." (earlier version)
    return {n for n in _NAMES if re.search(rf"\b{n}", text)}


WORD_NUMBERS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8"}


def changed_between_versions(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sentences worded differently in the two versions where the change moves a number or a ranking (the named
    backbones or domains): both quotes, both verdicts, and what moved."""
    table = register() if table is None else table
    rows = []
    for claim in CLAIMS:
        if len(claim.quotes) != 2 or claim.quotes["earlier"] == claim.quotes["later"]:
            continue
        before, after = claim.quotes["earlier"], claim.quotes["later"]
        words = lambda t: " ".join(WORD_NUMBERS.get(w.lower(), w) for w in t.split())  # noqa: E731
        moved_numbers = _numbers(words(before)) ^ _numbers(words(after))
        domains = {d for d in ("remote sensing", "surface defects", "astronomy", "plant", "texture")}
        moved_names = (_names(before) ^ _names(after)) | {d for d in domains if (d in before) != (d in after)}
        if not moved_numbers and not moved_names:
            continue
        verdict = table[table.sentence.isin([before, after])].set_index("version").verdict
        rows.append({"where": claim.where, "earlier": before, "later": after,
                     "moved": ", ".join(sorted(moved_numbers | moved_names)),
                     "verdict earlier": verdict.get("earlier"), "verdict later": verdict.get("later")})
    return pd.DataFrame(rows)


def write_register(path=REGISTER) -> pd.DataFrame:
    table = register()
    atomic_write_text(path, table.to_csv(index=False))
    return table


def main(argv: list[str] | None = None) -> int:
    """``python -m book.claims``: write results/paper/claims.csv and print the verdict counts."""
    table = write_register()
    print(table.verdict.value_counts().reindex(list(findings.PAPER_VERDICTS), fill_value=0).to_string())
    print(f"{len(table)} sentences -> {REGISTER.relative_to(paths.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# ------------------------------------------------------------------------ what chapter 6 shows a reader

_LONG_DECIMAL = re.compile(r"(?<![\w.])(\d+\.\d{5,})")


def tidy(text: str) -> str:
    """A computed evidence sentence as a reader sees it: code ids in display names, no 5+ decimal numbers
    (``0.809524`` -> ``0.81``). The register keeps the full value; this is wording only."""
    from book import present

    return _LONG_DECIMAL.sub(lambda m: f"{float(m.group(1)):.2f}", present.readable_text(str(text)))


def counts_shown(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`counts_by_section` flat, one row per "version: section" (no index a reader must decode; one column, so
    that the verdicts and the total fit the page)."""
    flat = counts_by_section(table).rename_axis(None, axis=1).reset_index()
    where = flat["version"] + ": " + flat["section"]
    return flat.drop(columns=["version", "section"]).assign(**{"version: section": where})[
        ["version: section", *findings.PAPER_VERDICTS, "total"]]


def _versions(parts: pd.DataFrame) -> str:
    found = list(dict.fromkeys(parts.version))
    return "both versions" if len(found) == 2 else f"{found[0]} version"


def not_supported_markdown(table: pd.DataFrame) -> str:
    """Every sentence the tables do not support as a Markdown list, the two versions' copies of one sentence as one
    item: where, the quote (both when they differ), the computed evidence and the cells."""
    items = []
    bad = table[table.verdict == NOT_SUPPORTED]
    for (where, evidence), parts in bad.groupby(["where", "evidence"], sort=False):
        quotes = list(dict.fromkeys(parts.sentence))
        said = " / ".join(f"“{q}”" for q in quotes)
        items.append(f"- **{where}** ({_versions(parts)}): {said} — {tidy(evidence)} "
                     f"(cells: {tidy(parts.cells.iloc[0])}).")
    return "\n".join(items) if items else "The tables support every checkable sentence, at least partly."


def changed_markdown(changed: pd.DataFrame) -> str:
    """:func:`changed_between_versions` as a Markdown list: both wordings with their verdicts and what moved."""
    if changed.empty:
        return "No sentence moved a number or a ranking between the versions."
    return "\n".join(f"- **{r['where']}**: earlier “{r['earlier']}” (*{r['verdict earlier']}*); later "
                     f"“{r['later']}” (*{r['verdict later']}*). Moved: {r['moved']}."
                     for _, r in changed.iterrows())
