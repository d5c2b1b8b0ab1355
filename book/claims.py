"""The claims register: every checkable sentence of both versions of the paper (it compares, ranks, counts or gives
a number), quoted verbatim, each with a small spec that computes a verdict from the paper's own tables.

A spec is a frozen dataclass with ``check(ctx) -> Outcome``; ``ctx`` holds one version's numbers (``Context``), so a
sentence both versions print is checked on each version's tables. Verdicts: supported, partly, contradicted, or
"not checkable" with the reason. ``python -m book.claims`` writes ``results/paper/claims.csv``.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from lib import paper
from book import findings
from lib.atomic import atomic_write_text
from lib import paths

VERDICTS = ("supported", "partly", "contradicted", "not checkable")
REGISTER = paths.PAPER / "claims.csv"
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
    return "supported" if share >= supported - 1e-9 else "partly" if share >= partly - 1e-9 else "contradicted"


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
            return Outcome("not checkable", "", f"this version prints no {self.dataset} results")
        best, named = set(ctx.best(self.dataset)), set(self.backbones)
        verdict = "supported" if best == named else "partly" if best & named else "contradicted"
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
        verdict = "supported" if not wrong else "partly" if len(wrong) <= len(datasets) // 4 else "contradicted"
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
        verdict = ("supported" if count >= self.n and total == self.of else
                   "partly" if count >= self.n or count >= self.n - 1 else "contradicted")
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
            return Outcome("not checkable", "", "no results in these domains")
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
        return Outcome("supported" if not firsts else "contradicted", f"Tables 4-6 ({len(ctx.datasets)} datasets)",
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
        verdict = ("supported" if share >= self.share - 1e-9 else
                   "partly" if share >= min(0.5, self.share) else "contradicted")
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
        verdict = ("supported" if right and round(gain) == self.percent else "partly" if right else "contradicted")
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
    """A Section 7 headline, checked by its ``book.findings`` check (not supported -> contradicted)."""

    key: str

    def check(self, ctx: Context) -> Outcome:
        check = ctx.observations()[self.key]
        verdict = {"supported": "supported", "partly supported": "partly", "not supported": "contradicted",
                   "no data": "not checkable"}[check.verdict]
        return Outcome(verdict, f"book.findings check '{self.key}'", check.evidence)


@dataclass(frozen=True)
class Number:
    """A number the sentence states against the one computed from a table: ``op`` "=" (exact), ">=" ("over"),
    "~" (a round number, within 5 %), "<=" ("fewer than", "at most"). Exact misses within 5 % are partly."""

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
        verdict = "supported" if holds else "partly" if close else "contradicted"
        return Outcome(verdict, self.cells, f"{self.what}: {value:,.6g} (sentence: {self.op} {self.stated:,.6g})")


@dataclass(frozen=True)
class NotCheckable:
    reason: str

    def check(self, ctx: Context) -> Outcome:
        return Outcome("not checkable", "", self.reason)


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
    where: str
    quotes: dict  # version -> the sentence, verbatim (one key when only one version prints it)
    spec: object


def _both(where: str, quote: str, spec) -> Claim:
    return Claim(where, {"earlier": quote, "later": quote}, spec)


def _one(version: str, where: str, quote: str, spec) -> Claim:
    return Claim(where, {version: quote}, spec)


def _pair(where: str, earlier: str, later: str, spec) -> Claim:
    return Claim(where, {"earlier": earlier, "later": later}, spec)


NATURAL_7 = ("stanford_dogs", "flowers102", "cub200", "stanford_cars", "tiny_imagenet", "cifar10", "cifar100")

CLAIMS: tuple[Claim, ...] = (
    # Abstract, introduction
    _one("earlier", "Abstract", "We also observed that some CNN architectures such as ConvNeXt, RegNet and "
         "EfficientNet performs well compared to others on a diverse set of domains consistently.",
         Number("share of Table 1's 21 places held by ConvNeXt, RegNet, EfficientNet",
                _t1_share(("convnext_tiny", "regnet_y_3_2gf", "efficientnet_v2_s")), 0.5, ">=", "Table 1")),
    _one("later", "Abstract", "We found that even though attention-based architectures are gaining "
         "popularity, they tend to perform poorly compared to CNNs when fine-tuned on small amounts of "
         "domain-specific data.", Observation("cnn_vs_transformer")),
    _one("earlier", "Abstract", "Even though attention-based architectures are gaining popularity, we observed that "
         "they tend to perform poorly under low data fine-tuning tasks compared to CNNs.", Observation("cnn_vs_transformer")),
    _pair("Section 1", "our experiments focus on comparing only the light-weight (model size less than 100 MB) "
          "backbone architectures available on Torchvision",
          "our experiments focus on comparing only the lightweight (model size less than 100 MB) backbone "
          "architectures available on Torchvision",
          Number("largest float32 size in Table 2 (MiB, 4 bytes per parameter)",
                 lambda: paper.table2().params_m.max() * 4 * 1e6 / 2**20, 100, "<=", T2)),
    # Section 3
    _pair("Section 3", "So, we decided to choose models with number of parameters less than 30 million, which "
          "amounts to a storage space of around 100 MB.",
          "Our primary constraint was to choose models with fewer than 30 million (M) parameters, resulting in a "
          "storage size of approximately 100 MB.",
          Number("largest parameter count in Table 2 (M)", _t2("params_m", "max"), 30, "<=", T2)),
    _pair("Section 3", "Torchvision has 20 backbone families with models of multiple sizes within each family making "
          "the total available models 115.",
          "Torchvision offers 20 backbone families, each containing models of various sizes, totaling 115 available "
          "models at the time of this writing.",
          NotCheckable("a count of torchvision's registry at the time; no table of the paper holds it (chapter 1 "
                       "recounts it on today's torchvision)")),
    _pair("Section 3", "After we apply our constraint of lightweight models (less than 30 M parameters), we have 53 "
          "models belonging to 14 backbone families.",
          "By applying the lightweight model constraint (fewer than 30 million parameters), we narrowed our selection "
          "to 53 models spanning 14 backbone families.",
          NotCheckable("a count of torchvision's registry; chapter 1 recounts it")),
    _pair("Section 3", "We also discarded models whose ImageNet top-1 accuracy was less than 75%.",
          "Furthermore, we excluded models with an ImageNet top-1 accuracy below 75%, ensuring that only "
          "high-performing models were included in our evaluation.",
          Number("lowest ImageNet top-1 in Table 2 (%)", _t2("imagenet_top1", "min"), 75, ">=", T2)),
    _pair("Section 3", "The final list of selected 11 backbones for our experiments are shown in table 2.",
          "The final list of 11 selected backbones is shown in Table 2.",
          Number("rows of Table 2", lambda: len(paper.table2()), 11, "=", T2)),
    _pair("Section 3", "the only other attention based model in Torchvision was vision-transformer (ViT) whose "
          "smallest model has 86 million parameters",
          "The only other attention-based model available in Torchvision is the vision transformer (ViT), which "
          "contains 86 M parameters, far exceeding our parameter constraint.",
          NotCheckable("ViT is not in the paper's tables (torchvision's metadata gives 86.6 M for vit_b_16)")),
    # Section 4
    _pair("Section 4", "We choose 20 publicly available datasets belonging to 7 different domains",
          "We selected 20 publicly available datasets from seven different domains",
          Number("rows of Table 3", lambda: len(paper.table3()), 20, "=", T3)),
    _pair("Section 4", "with number of training images ranging from 1000 to 100,000",
          "with number of training images ranging from 1000 to 100,000",
          Number("largest training count in Table 3", lambda: paper.table3().train_images.max(), 100_000, "=", T3)),
    _pair("Section 4", "and number of classes ranging from 2 to 200.", "and number of classes ranging from two to 200.",
          Number("largest class count in Table 3", lambda: paper.table3().num_classes.max(), 200, "=", T3)),
    # dataset descriptions (Section 4 of the earlier version, the appendix of the later one)
    _both("Datasets: CIFAR-10", "consisting of 60,000 32×32 color images in 10 different classes, with 6,000 images "
          "per class divided into 50,000 training images and 10,000 test images.",
          Number("Table 3 train + test", _t3("cifar10"), 60_000, "=", "Table 3: CIFAR-10")),
    _both("Datasets: CIFAR-100", "with 600 images per class divided into 50,000 training images and 10,000 test images.",
          Number("Table 3 train + test", _t3("cifar100"), 60_000, "=", "Table 3: CIFAR-100")),
    _both("Datasets: Tiny ImageNet", "consisting of 200 image classes with 500 training images and 50 test images per "
          "class", Number("Table 3 training images per class", _per_class("tiny_imagenet", "train_images"), 500, "=",
                          "Table 3: Tiny ImageNet")),
    _both("Datasets: Stanford Dogs", "containing 20,580 images of 120 different dog breeds.",
          Number("Table 3 train + test", _t3("stanford_dogs"), 20_580, "=", "Table 3: Stanford Dogs")),
    _both("Datasets: Flowers-102", "consisting of 8,189 images of flowers categorized into 102 different species.",
          Number("Table 3 train + test", _t3("flowers102"), 8_189, "=", "Table 3: Flowers-102")),
    _both("Datasets: CUB-200-2011", "consisting of 200 bird species with 11,788 annotated images.",
          Number("Table 3 train + test", _t3("cub200"), 11_788, "=", "Table 3: CUB-200-2011")),
    _both("Datasets: Stanford Cars", "consisting of 16,185 images of 196 classes of cars.",
          Number("Table 3 train + test", _t3("stanford_cars"), 16_185, "=", "Table 3: Stanford Cars")),
    _both("Datasets: Food-101", "containing 101,000 images of 101 different food categories, with 750 training images "
          "and 250 test images per class.",
          Number("Table 3 train + test", _t3("food101"), 101_000, "=", "Table 3: Food-101")),
    _both("Datasets: DTD", "Describable Textures Dataset (DTD) is a collection of 5,640 texture images categorized "
          "into 47 classes based on human-describable attributes.",
          Number("Table 3 train + test (one of the three lists of a partition is left out)", _t3("dtd"), 5_640, "=",
                 "Table 3: DTD")),
    _both("Datasets: NEU", "The dataset includes 1,800 images with a resolution of 200×200 pixels, divided into 1,200 "
          "training images and 600 testing images.",
          Number("Table 3 training images", _t3("neu", "train_images"), 1_200, "=", "Table 3: NEU")),
    _both("Datasets: UC Merced", "containing 2,100 aerial images categorized into 21 land use classes with 100 images "
          "per class.", Number("Table 3 train + test", _t3("ucmerced"), 2_100, "=", "Table 3: UC Merced")),
    _both("Datasets: EuroSAT", "consisting of 27,000 RGB and multi-spectral images covering 10 classes",
          Number("Table 3 train + test", _t3("eurosat"), 27_000, "=", "Table 3: EuroSAT")),
    _both("Datasets: PlantVillage", "containing over 54,000 images of healthy and diseased leaves across 39 different "
          "plant", Number("Table 3 train + test", _t3("plantvillage"), 54_000, ">=", "Table 3: PlantVillage")),
    _both("Datasets: Galaxy10", "consisting of 17,000 images of galaxies classified into 10 different morphological "
          "categories.", Number("Table 3 train + test", _t3("galaxy10"), 17_000, "~", "Table 3: Galaxy10")),
    _both("Datasets: BreakHis", "It contains 7,909 microscopic images of breast tumor tissue, divided into benign and "
          "malignant categories.",
          Number("Table 3 train + test over the four magnifications", _t3_sum("breakhis"), 7_909, "=",
                 "Table 3: BreakHis 40x-400x")),
    _one("earlier", "Datasets: RSNA", "consists of over 30,000 chest X-ray images annotated for the presence of "
         "pneumonia.", Number("Table 3 train + test", _t3("rsna"), 30_000, ">=", "Table 3: RSNA")),
    # Section 6.1
    _both("Section 6.1", "We find that ConvNeXt-Tiny outperforms all the other models in almost all natural image "
          "datasets (except CIFAR-10 and CIFAR-100).", BestOnAllBut("convnext_tiny", "natural", ("cifar10", "cifar100"))),
    _pair("Section 6.1", "EfficientNetV2-S also performs well on atleast 5 out of 7 datasets.",
          "EfficientNetV2-S also performs well on at least six out of the eight natural image datasets.",
          None),  # per-version specs below (the numbers changed)
    _pair("Section 6.1", "RegNetY-3.2GF also performs well on 5 of the 7 datasets.",
          "RegNetY-3.2GF also performs well on seven of the eight natural image datasets.", None),
    _pair("Section 6.1", "WaveMix performs the best in CIFAR-10 and CIFAR-100 but could not replicate the same "
          "performance on other datasets.",
          "WaveMix performs the best in CIFAR-10 and CIFAR-100 but could not replicate the same performance on the "
          "other natural image datasets.", BestOnAllBut("wavemix_192_16", "natural", tuple(
              d for d in NATURAL_7 + ("food101",) if d not in ("cifar10", "cifar100")))),
    _pair("Section 6.1", "ConvNeXt retains the good performance even among other domains such as textures, plant and "
          "astronomy.", "ConvNeXt retains the good performance even among other domains such as textures, plant, "
          "surface defects, remote sensing and astronomy.", None),
    _pair("Section 6.1", "RegNet also performs well on texture, remote sensing and plant domains.",
          "RegNet also performs well on texture, remote sensing, surface defects and plant domains.", None),
    _both("Section 6.1", "SwinV2-Tiny performs the best in UC Merced Land Use dataset", Best("ucmerced", ("swin_v2_t",))),
    _both("Section 6.1", "WaveMix and ResNeXt top the EuroSAT dataset",
          Best("eurosat", ("wavemix_192_16", "resnext50_32x4d"))),
    _one("later", "Section 6.1", "ResNeXt tops RSNA dataset", Best("rsna", ("resnext50_32x4d",))),
    _both("Section 6.1", "DenseNet tops the PlantVillage dataset", Best("plantvillage", ("densenet161",))),
    _both("Section 6.1", "WaveMix significantly outperforms all the other models in Galaxy10 ",
          Best("galaxy10", ("wavemix_192_16",))),
    # Section 6.2 and the figures
    _pair("Section 6.2", "We observe from Table 7 that the models which are performing really well at 100% of the "
          "training data are also performing better than other models at 10% and 1% of the training data.",
          "We observe from Table 7 that the models which performed really well at 100% of the training data also "
          "performed better than the other models at 10% and 1% of the training data.", Observation("low_data")),
    _both("Section 6.2", "ConvNeXt, WaveMix, EfficientNet, and even RegNet are actually performing better than others "
          "even when the training data is significantly reduced.",
          LowDataLeaders(("cifar10", "tiny_imagenet"), (0.1, 0.01),
                         ("convnext_tiny", "wavemix_192_16", "efficientnet_v2_s", "regnet_y_3_2gf"))),
    _both("Section 6.2", "We see that the difference in accuracy among the three models is large and significant when "
          "the training data is less (1%) and this difference reduces as the training data increases.",
          SpreadShrinks(("cifar10", "tiny_imagenet"))),
    _pair("Section 6.2", "In plant datasets, the top performing models at 100% of training data like ConvNeXt, "
          "EfficientNet, DenseNet, and RegNet are again performing better than the other models even at 10% of the "
          "training data.",
          "In plant datasets, the top performing models at 100% of training data, such as ConvNeXt, EfficientNet, "
          "DenseNet, and RegNet also performed better than the other models at 10% of the training data.",
          LowDataLeaders(("plantvillage", "plantclef"), (0.1,),
                         ("convnext_tiny", "efficientnet_v2_s", "densenet161", "regnet_y_3_2gf"))),
    _pair("Section 6.2", "Similar behaviour is also observed in radiology images, where ResNeXt and ResNeXt are "
          "performing better.", "Similar behavior is also observed in radiology images, where ResNeXt and ResNeXt "
          "performed better than the others.", LowDataLeaders(("rsna",), (0.1,), ("resnext50_32x4d",))),
    # Section 7
    _pair("Section 7", "Higher pre-training accuracy in ImageNet does not mean higher fine-tuning accuracy.",
          "Higher pre-training accuracy on ImageNet does not translate to higher fine-tuning accuracy.",
          Observation("imagenet")),
    _both("Section 7", "EfficientNetV2-S has the highest pre-training ImageNet-1k accuracy (84.23%).",
          Number("highest ImageNet top-1 in Table 2 (%)", _t2("imagenet_top1", "max"), 84.23, "=", T2)),
    _pair("Section 7", "Even though the fine-tuning performance of EfficientNet was decent, it did not perform the "
          "best in any of the domains or datasets we evaluated on.",
          "Even though the fine-tuning performance of EfficientNet was high, it did not perform the best in any of the "
          "domains or datasets on which we evaluated the models.", NeverBest(EFFICIENT_ONLY)),
    _both("Section 7", "we find that ConvNeXt outperforms EfficientNet.",
          Beats("convnext_tiny", EFFICIENT_ONLY, ("tiny_imagenet", "stanford_dogs"))),
    _pair("Section 7", "Convolutional models strongly outperform transformers in resource-efficient low-data "
          "fine-tuning.", "Convolutional models strongly outperform transformers for resource-efficient low-data "
          "fine-tuning tasks.", Observation("cnn_vs_transformer")),
    _pair("Section 7", "they still perform poorly in almost all our tasks compared to modern CNN architectures such "
          "as ConvNeXt", "it still performed poorly in almost all our tasks compared to modern CNN architectures such "
          "as ConvNeXt", Beats("convnext_tiny", "swin_t", share=0.9)),
    _both("Section 7", "ConvNeXt architecture consistently outperforms other models when fine-tuning on natural image "
          "datasets.", Observation("convnext_natural")),
    _both("Section 7", "RegNet and EfficientNet models are excellent choices for fine-tuning across a wide range of "
          "image domains.", Observation("regnet_efficientnet")),
    _both("Section 7", "ShuffleNet is a better choice than MobileNet when very light-weight models are needed.",
          Observation("shufflenet_mobilenet")),
    _both("Section 7", "specifically those with a model size of less than 50 MB",
          Number("float32 size of MobileNetV3-Large and ShuffleNetV2 (larger, MiB)",
                 lambda: paper.table2().set_index("backbone").loc[["mobilenet_v3_large", "shufflenet_v2_x2_0"],
                                                                  "params_m"].max() * 4 * 1e6 / 2**20, 50, "<=", T2)),
    _both("Section 7", "Although MobileNetV3 has shown better performance on medical domain",
          Beats("mobilenet_v3_large", "shufflenet_v2_x2_0", domain="medical", share=0.75)),
    _pair("Section 7", "WaveMix performs well in datasets where multi-resolution token-mixing aid in learning",
          "WaveMix performs well in datasets where multi-resolution token-mixing aids in learning",
          Observation("wavemix")),
    _both("Section 7", "Age of ResNet dominance is over.", Observation("resnet")),
    _both("Section 7", "WaveMix outperforms all other models (9% increase from the second best, ConvNeXt) in galaxy "
          "morphology classification.", Gain("galaxy10", "wavemix_192_16", "convnext_tiny", 9)),
    _both("Section 7", "WaveMix also performs better than ConvNeXt in CIFAR-10 and CIFAR-100 datasets",
          Beats("wavemix_192_16", "convnext_tiny", ("cifar10", "cifar100"))),
    _both("Section 7", "it gives best performance in ", Best("eurosat", ("wavemix_192_16", "resnext50_32x4d"))),
    _both("Section 7", "The only low resolution image dataset where WaveMix did not perform well is Tiny ImageNet",
          BestOnAllBut("wavemix_192_16", "natural", tuple(d for d in NATURAL_7 + ("food101",)
                                                           if d not in ("cifar10", "cifar100")))),
    _both("Section 7", "Our experimental data shows that for natural images, ResNet does not even rank among the top "
          "three performers.", NeverTopThree("resnet50", "natural")),
    _both("Section 7", "While ResNet does perform relatively well on one medical dataset",
          Number("medical datasets where ResNet-50 is (jointly) best", None, 1, "=", "medical datasets")),
    _both("Section 7", "ConvNeXt and Swin transformers perform poorly in medical domain.", Observation("medical_poor")),
    _both("Section 7", "Most of the top models in every domain retain their higher performance even with less "
          "training data.", Observation("low_data")),
    _both("Section 7", "We find that even when we fine-tune with a small percentage of training data (even 1%",
          Number("training images at 1 % of CIFAR-10 (Table 3 x 0.01)", lambda: paper.table3().set_index("dataset")
                 .loc["cifar10", "train_images"] * 0.01, 1000, "=", "Table 3 / Table 7: CIFAR-10 and Tiny ImageNet")),
    # Section 8 and Table 9
    _pair("Section 8", "All top performing models in all the domains are the latest models such as RegNet, "
          "EfficientNet, WaveMix and ConvNeXt.", "All top-performing models across various domains are the latest "
          "architectures, such as RegNet, EfficientNet, WaveMix, and ConvNeXt.",
          Number("share of Table 1's 21 places held by RegNet, EfficientNet, WaveMix, ConvNeXt",
                 _t1_share(("regnet_y_3_2gf", EFFICIENT_ONLY, "wavemix_192_16", "convnext_tiny")), 1.0, "=",
                 "Table 1")),
    _both("Section 8", "kernel structure in their blocks",
          Number("Table 9 rows with kernels 1×1, 3×3, 1×1 (of 9; 'most' needs 5)",
                 _t9_count("kernels", lambda k: k == "1×1, 3×3, 1×1"), 5, ">=", T9)),
    _pair("Section 8", "almost all models use a channel expansion/contraction factor of 4.",
          "nearly all models employ a channel expansion or contraction factor of 4.",
          Number("Table 9 rows whose CEF is 4 or reaches 4 (of 9; 'nearly all' needs 8)",
                 _t9_count("cef", lambda c: c == "4" or c.startswith("4-") or c.endswith("-6") and c[0] <= "4"),
                 8, ">=", T9)),
    _pair("Section 8", "MobileNet and EfficientNet uses even higher values up to 6.",
          "MobileNet and EfficientNet use even higher values, up to 6.",
          Number("Table 9 rows with a CEF up to 6", _t9_count("cef", lambda c: c.endswith("6")), 2, "=", T9)),
    _pair("Section 8", "Other than EfficientNet with 6 stages, ShuffleNet with 3 stages and WaveMix with a single "
          "stage, all other backbone has 4 stages.", "Exceptions to this include EfficientNet with six stages, "
          "ShuffleNet with 3 stages, and WaveMix with a single stage; all other backbones have four stages.",
          Number("Table 9 rows with 4 stages (of 9)", _t9_count("stages", lambda s: s == "4"), 6, "=", T9)),
    _pair("Section 8", "Only Efficient has more blocks in the final stage than the penultimate stage.",
          "Only EfficientNet has more blocks in the final stage than in the penultimate stage.",
          Number("Table 9 rows with more blocks in the last stage than the one before", _last_stage_largest, 1, "=",
                 T9)),
    _both("Section 8", "Compared to older models which used large",
          Number("Table 9 rows with a 7×7 stem (the three oldest)", _t9_count("stem", lambda s: s.startswith("7×7")),
                 3, "=", T9)),
    _both("Section 8", "The token-mixers use patchify stem",
          Number("Table 9 tokenmixers with a 4×4, /4 stem", lambda: float(
              (paper.table9().query("block == 'Tokenmixer'").stem == "4×4, /4").sum()), 2, "=", T9)),
    _both("Section 8", "Most of the newer models such as ShuffleNet, MobileNet and EfficientNet replace the",
          Number("Table 9: DConv 'Yes' among ShuffleNet, MobileNet, EfficientNet", lambda: float(
              paper.table9().set_index("backbone").loc[["shufflenet_v2_x2_0", "mobilenet_v3_large", EFFICIENT_ONLY],
                                                       "dconv"].eq("Yes").sum()), 3, "=", T9)),
    _pair("Section 8", "The top performing architectures such as RegNet and EfficientNet used SE modules to improve "
          "performance.", "The top performing architectures, such as RegNet, EfficientNet, used SE modules.",
          Number("Table 9: SE 'Yes' for RegNet and EfficientNet", lambda: float(
              paper.table9().set_index("backbone").loc[["regnet_y_3_2gf", EFFICIENT_ONLY], "se"].eq("Yes").sum()),
              2, "=", T9)),
    # Section 9
    _pair("Section 9", "Our analysis revealed that modern architectural models like ConvNeXt, EfficientNet, and RegNet "
          "excel in handling multiple domains images.", "Our analysis revealed that modern architectural models, such "
          "as ConvNeXt, EfficientNet, and RegNet excel in handling multiple domains images.",
          Observation("regnet_efficientnet")),
    _both("Section 9", "Among lightweight, on-device models, ShuffleNet consistently outperformed MobileNet in "
          "fine-tuning tasks.", Beats("shufflenet_v2_x2_0", "mobilenet_v3_large")),
    _both("Section 9", "Furthermore, our analysis was confined to fine-tuning datasets containing fewer than 100,000 "
          "images", Number("largest training count in Table 3", lambda: paper.table3().train_images.max(), 100_000,
                           "<=", T3)),
    _one("earlier", "Computation cost", "The experiments in this paper took a cumulative 1500 GPU hours on NVIDIA RTX "
         "A100 cards.", NotCheckable("no table gives run times; chapter 8 measures our own")),
    _one("earlier", "Computation cost", "the total emissions are estimated to be 222 kgCO<sub>2</sub>eq.",
         NotCheckable("needs the GPUs' power draw, which the paper does not state (1,500 h x 0.4 kW x 0.37 "
                      "kgCO2eq/kWh would give 222)")),
    # Section 5: the protocol gives numbers no table can confirm
    _pair("Section 5", "we use early stopping where training is stopped if accuracy stops improving after 10 epochs.",
          "We used early stopping, halting training if accuracy did not improve after 10 epochs.",
          NotCheckable("a protocol setting; no table records training lengths")),
    _both("Section 5", "All experiments were done on a single 80 GB Nvidia A100 GPU.",
          NotCheckable("the hardware; nothing in the tables depends on it")),
)

# Sentences whose numbers changed between the versions get one spec per version.
_PER_VERSION = {
    "EfficientNetV2-S also performs well": {"earlier": TopThreeOn(EFFICIENT_ONLY, "natural", 5, 7, NATURAL_7),
                                            "later": TopThreeOn(EFFICIENT_ONLY, "natural", 6, 8)},
    "RegNetY-3.2GF also performs well": {"earlier": TopThreeOn("regnet_y_3_2gf", "natural", 5, 7, NATURAL_7),
                                         "later": TopThreeOn("regnet_y_3_2gf", "natural", 7, 8)},
    "ConvNeXt retains the good performance": {
        "earlier": WellInDomains("convnext_tiny", ("texture", "plant", "astronomy")),
        "later": WellInDomains("convnext_tiny", ("texture", "plant", "surface_defects", "remote_sensing",
                                                 "astronomy"))},
    "RegNet also performs well": {
        "earlier": WellInDomains("regnet_y_3_2gf", ("texture", "remote_sensing", "plant")),
        "later": WellInDomains("regnet_y_3_2gf", ("texture", "remote_sensing", "surface_defects", "plant"))},
}


def _resnet_one_medical(ctx: Context) -> float:
    return float(sum("resnet50" in ctx.best(d) for d in ctx.domain("medical")))


def spec_for(claim: Claim, version: str):
    for start, specs in _PER_VERSION.items():
        if claim.quotes[version].startswith(start):
            return specs[version]
    return claim.spec


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
    out = pd.crosstab([table.version, section.rename("section")], table.verdict).reindex(columns=list(VERDICTS),
                                                                                          fill_value=0)
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
    print(table.verdict.value_counts().reindex(list(VERDICTS), fill_value=0).to_string())
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
    """:func:`counts_by_section` flat: version and section as columns (no index a reader must decode)."""
    return counts_by_section(table).rename_axis(None, axis=1).reset_index()


def _versions(parts: pd.DataFrame) -> str:
    found = list(dict.fromkeys(parts.version))
    return "both versions" if len(found) == 2 else f"{found[0]} version"


def contradicted_markdown(table: pd.DataFrame) -> str:
    """Every contradicted sentence as a Markdown list, the two versions' copies of one sentence as one item: where,
    the quote (both when they differ), the computed evidence and the cells."""
    items = []
    bad = table[table.verdict == "contradicted"]
    for (where, evidence), parts in bad.groupby(["where", "evidence"], sort=False):
        quotes = list(dict.fromkeys(parts.sentence))
        said = " / ".join(f"“{q}”" for q in quotes)
        items.append(f"- **{where}** ({_versions(parts)}): {said} — {tidy(evidence)} "
                     f"(cells: {tidy(parts.cells.iloc[0])}).")
    return "\n".join(items) if items else "No sentence is contradicted."


def changed_markdown(changed: pd.DataFrame) -> str:
    """:func:`changed_between_versions` as a Markdown list: both wordings with their verdicts and what moved."""
    if changed.empty:
        return "No sentence moved a number or a ranking between the versions."
    return "\n".join(f"- **{r['where']}**: earlier “{r['earlier']}” (*{r['verdict earlier']}*); later "
                     f"“{r['later']}” (*{r['verdict later']}*). Moved: {r['moved']}."
                     for _, r in changed.iterrows())
