"""Chapter 6: what the paper found, checked -- its Table 1 recomputed, its Section 7 observations as computed
checks with verdicts, and the places where the paper disagrees with itself.

Every function takes a long table (``backbone``, ``dataset``, ``top1`` and, where it matters, ``fraction``), so the
same code runs on the paper's numbers (``lib.paper``) and on this book's run records (``lib.results``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from lib import models, paper, paths
from book import lowdata, present
from book.verdicts import SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, WITHIN_NOISE, NOT_CHECKABLE
from lib.errors import ConfigError

RULES = ("mean_rank", "mean_top1", "top3_count")
RULE_TEXT = {
    "mean_rank": "mean over the domain's datasets of the backbone's rank on each dataset (1 = best; ties share "
                 "the average rank); lower is better",
    "mean_top1": "mean top-1 accuracy over the domain's datasets; higher is better",
    "top3_count": "number of the domain's datasets on which the backbone places in the top three (ties count "
                  "for everyone tied), mean rank breaking ties; higher is better",
}
TRANSFORMERS = tuple(s.name for s in models.specs() if s.family == "transformer")  # the two Swins
OUTSIDE_PAPER = "not in the paper"  # the domain of a dataset the paper did not use (e.g. the ci profile's digits)
PAPER_VERDICTS = (SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, NOT_CHECKABLE)  # the paper's tables: one number a cell


# --------------------------------------------------------------------------------------------- tables and ranks

def _check(df: pd.DataFrame) -> pd.DataFrame:
    missing = {"backbone", "dataset", "top1"} - set(df.columns)
    if missing:
        raise ConfigError(f"table lacks column(s) {sorted(missing)}; pass a long table with backbone, dataset, top1")
    keys = ["backbone", "dataset"] + (["fraction"] if "fraction" in df.columns else [])
    if df.duplicated(keys).any():
        raise ConfigError(f"table has several rows for one {tuple(keys)}: pick one table or aggregate seeds first")
    return df


def at_fraction(df: pd.DataFrame, fraction: float = 1.0) -> pd.DataFrame:
    """The rows of one training fraction, without the fraction column (the input of the Table 1 functions)."""
    if "fraction" not in df.columns:
        return _check(df)
    return _check(df[np.isclose(df["fraction"].astype(float), fraction)].drop(columns="fraction"))


def domain_of(dataset: str) -> str:
    """The paper's domain of a dataset (its Table 3); datasets the paper did not use are labelled as such."""
    return paper.domains().get(dataset, OUTSIDE_PAPER)


def dataset_ranks(df: pd.DataFrame) -> pd.DataFrame:
    """Each backbone's rank on each dataset: ``rank`` (ties share the average rank) and ``place`` (ties share the
    best place, as in "joint first")."""
    df = _check(df).copy()
    by = df.groupby("dataset")["top1"]
    df["rank"] = by.rank(ascending=False, method="average")
    df["place"] = by.rank(ascending=False, method="min")
    return df


def domain_scores(df: pd.DataFrame, domains: dict[str, str] | None = None) -> pd.DataFrame:
    """Per (domain, backbone): mean rank, mean top-1, top-3 count, number of datasets; plus an "overall" domain
    that pools every dataset."""
    ranked = dataset_ranks(df)
    lookup = domains if domains is not None else {d: domain_of(d) for d in ranked["dataset"].unique()}
    ranked["domain"] = ranked["dataset"].map(lambda d: lookup.get(d, OUTSIDE_PAPER))
    pooled = ranked.assign(domain="overall")
    both = pd.concat([ranked, pooled], ignore_index=True)
    out = both.groupby(["domain", "backbone"]).agg(
        mean_rank=("rank", "mean"), mean_top1=("top1", "mean"),
        top3_count=("place", lambda p: int((p <= 3).sum())), datasets=("dataset", "nunique"))
    return out.reset_index()


def recompute_table1(df: pd.DataFrame, rule: str = "mean_rank", k: int = 3,
                     domains: dict[str, str] | None = None) -> pd.DataFrame:
    """The top ``k`` backbones per domain (and overall) under an aggregation ``rule`` (see ``RULE_TEXT``)."""
    if rule not in RULES:
        raise ConfigError(f"aggregation rule {rule!r} is unknown; choose one of {', '.join(RULES)}")
    scores = domain_scores(df, domains)
    # Sort keys: the rule first, then the other two, then the name, so the order is always defined.
    keys = {"mean_rank": (["mean_rank", "mean_top1"], [True, False]),
            "mean_top1": (["mean_top1", "mean_rank"], [False, True]),
            "top3_count": (["top3_count", "mean_rank"], [False, True])}[rule]
    ordered = scores.sort_values(["domain", *keys[0], "backbone"], ascending=[True, *keys[1], True])
    top = ordered.groupby("domain", sort=False).head(k).copy()
    top["rank"] = top.groupby("domain").cumcount() + 1
    top["rule"] = rule
    return top[["domain", "rank", "backbone", "rule", "mean_rank", "mean_top1", "top3_count", "datasets"]] \
        .reset_index(drop=True)


def compare_table1(recomputed: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Per domain of the published Table 1: its top three, the recomputed top three, and how far they agree."""
    rows = []
    for domain in dict.fromkeys(published["domain"]):
        theirs = published[published.domain == domain].sort_values("rank")["backbone"].tolist()
        ours = recomputed[recomputed.domain == domain].sort_values("rank")["backbone"].tolist()
        rows.append({"domain": domain, "paper": ", ".join(theirs), "recomputed": ", ".join(ours) or "(no data)",
                     "same_best": bool(ours) and ours[0] == theirs[0],
                     "same_set": set(ours) == set(theirs), "same_order": ours == theirs,
                     "shared": len(set(ours) & set(theirs))})
    return pd.DataFrame(rows)


def table1_agreement(df: pd.DataFrame, published: pd.DataFrame, domains: dict[str, str] | None = None,
                     rules=RULES) -> pd.DataFrame:
    """For every rule: how many of the published Table 1's columns the recomputation reproduces."""
    rows = []
    for rule in rules:
        cmp = compare_table1(recompute_table1(df, rule, domains=domains), published)
        rows.append({"rule": rule, "columns": len(cmp), "same_order": int(cmp.same_order.sum()),
                     "same_set": int(cmp.same_set.sum()), "same_best": int(cmp.same_best.sum()),
                     "shared_of_all": int(cmp.shared.sum()), "places": 3 * len(cmp)})
    return pd.DataFrame(rows)


def table1_rules_per_column(df: pd.DataFrame, published: pd.DataFrame, rules=RULES) -> pd.DataFrame:
    """Per column of the published Table 1: which rules reproduce it in order, which give its three backbones in
    another order (empty where none does)."""
    compared = {rule: compare_table1(recompute_table1(df, rule), published).set_index("domain") for rule in rules}
    rows = []
    for domain in dict.fromkeys(published["domain"]):
        rows.append({"domain": domain, "paper": compared[rules[0]].loc[domain, "paper"],
                     "same order": ", ".join(r for r in rules if compared[r].loc[domain, "same_order"]),
                     "same three": ", ".join(r for r in rules if compared[r].loc[domain, "same_set"])})
    return pd.DataFrame(rows)


def rules_fitting_all_columns(per_column: pd.DataFrame, rules=RULES) -> list[str]:
    """The rules that reproduce every column of Table 1 in order (empty: no single rule does)."""
    return [r for r in rules if all(r in cell.split(", ") for cell in per_column["same order"])]


# ----------------------------------------------------------------------------------------- the observations

@dataclass
class Check:
    """One observation of the paper, tested on one table of numbers."""

    key: str
    claim: str                 # the paper's words (shortened)
    test: str                  # what the code computes and the rule that turns it into a verdict
    verdict: str
    evidence: str              # one sentence with the computed numbers
    details: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


def _verdict(share: float | None, supported: float, partly: float) -> str:
    if share is None or np.isnan(share):
        return NOT_CHECKABLE
    return SUPPORTED if share >= supported else PARTLY_SUPPORTED if share >= partly else NOT_SUPPORTED


def _has(df: pd.DataFrame, *backbones: str) -> bool:
    return set(backbones) <= set(df["backbone"])


def _not_checkable(key: str, claim: str, test: str, why: str) -> Check:
    return Check(key, claim, test, NOT_CHECKABLE, why)


def _wide(df: pd.DataFrame) -> pd.DataFrame:
    return _check(df).pivot(index="dataset", columns="backbone", values="top1")


def check_imagenet_not_predictive(df: pd.DataFrame, imagenet: pd.DataFrame) -> Check:
    """Observation 1: Spearman correlation between ImageNet top-1 and fine-tuning top-1, per domain."""
    key, claim = "imagenet", "Higher pre-training accuracy on ImageNet does not translate to higher fine-tuning accuracy."
    test = ("Spearman rank correlation, per domain, between the backbones' ImageNet top-1 (Table 2) and their mean "
            "fine-tuning top-1 over the domain's datasets. A domain contradicts the claim when the correlation is "
            "positive and significant (p < 0.05). Supported: no domain contradicts it and the backbone with the "
            "best ImageNet accuracy is not the sole best on any dataset; partly: at most half the domains contradict "
            "it; not supported otherwise.")
    scores = domain_scores(df)
    acc = imagenet.set_index("backbone")["imagenet_top1"]
    rows = []
    for domain, part in scores.groupby("domain"):
        part = part[part.backbone.isin(acc.index)]
        if len(part) < 4:
            continue
        rho, p = stats.spearmanr(acc[part.backbone].to_numpy(), part["mean_top1"].to_numpy())
        rows.append({"domain": domain, "backbones": len(part), "datasets": int(part.datasets.max()),
                     "spearman": rho, "p_value": p, "contradicts": bool(rho > 0 and p < 0.05)})
    details = pd.DataFrame(rows)
    if details.empty:
        return _not_checkable(key, claim, test, "fewer than four backbones with an ImageNet accuracy in every domain")
    leader = acc.idxmax()
    wide = _wide(df)
    sole_best = [d for d, row in wide.iterrows() if leader in row and row[leader] == row.max()
                 and (row == row.max()).sum() == 1]
    per_domain = details[details.domain != "overall"]
    contradicting = int(per_domain.contradicts.sum())
    if contradicting == 0 and not sole_best:
        verdict = SUPPORTED
    elif contradicting <= len(per_domain) / 2:
        verdict = PARTLY_SUPPORTED
    else:
        verdict = NOT_SUPPORTED
    overall = details.set_index("domain").loc["overall"] if "overall" in set(details.domain) else None
    evidence = (f"{contradicting} of {len(per_domain)} domains show a significant positive correlation; "
                + (f"pooled over all datasets rho = {overall.spearman:.2f} (p = {overall.p_value:.2f}); " if overall is not None else "")
                + f"{leader} (best on ImageNet) is the sole best on {len(sole_best)} dataset(s)"
                + (f" ({', '.join(sole_best)})" if sole_best else "") + ".")
    return Check(key, claim, test, verdict, evidence, details)


def check_cnns_beat_transformers(df: pd.DataFrame) -> Check:
    """Observation 2: the best convolutional backbone against the best Swin, dataset by dataset."""
    key, claim = "cnn_vs_transformer", ("Convolutional models strongly outperform transformers (Swin performs poorly "
                                        "in almost all tasks compared to modern CNNs such as ConvNeXt).")
    test = ("Per dataset, the best convolutional backbone (all but Swin-T and SwinV2-T) against the best Swin, and "
            "ConvNeXt-Tiny against both Swins. Supported when the best CNN wins on at least 90 % of datasets "
            "('almost all') and ConvNeXt beats both Swins on at least 75 %; partly when the best CNN wins on at "
            "least half; not supported otherwise.")
    wide = _wide(df)
    swins = [b for b in TRANSFORMERS if b in wide.columns]
    cnns = [b for b in wide.columns if b not in TRANSFORMERS]
    if not swins or not cnns:
        return _not_checkable(key, claim, test, "needs at least one Swin and one convolutional backbone")
    best_swin, best_cnn = wide[swins].max(axis=1), wide[cnns].max(axis=1)
    details = pd.DataFrame({"best_cnn": wide[cnns].idxmax(axis=1), "best_cnn_top1": best_cnn,
                            "best_swin_top1": best_swin, "gap": best_cnn - best_swin}).dropna()
    if "convnext_tiny" in wide.columns:
        details["convnext_beats_both_swins"] = wide["convnext_tiny"] > best_swin
    share = float((details.gap > 0).mean())
    convnext_share = float(details.get("convnext_beats_both_swins", pd.Series([np.nan])).mean())
    verdict = SUPPORTED if share >= 0.9 and convnext_share >= 0.75 else _verdict(share, 2.0, 0.5)
    evidence = (f"the best CNN beats the best Swin on {int((details.gap > 0).sum())} of {len(details)} datasets "
                f"(median gap {details.gap.median():.2f} points); ConvNeXt-Tiny beats both Swins on "
                f"{convnext_share:.0%} of them.")
    return Check(key, claim, test, verdict, evidence, details.reset_index())


def _best_count(df: pd.DataFrame, backbone: str, datasets) -> tuple[int, int, list[str]]:
    ranked = dataset_ranks(df)
    ranked = ranked[ranked.dataset.isin(datasets)]
    mine = ranked[ranked.backbone == backbone]
    return int((mine.place == 1).sum()), len(mine), sorted(mine.loc[mine.place > 1, "dataset"])


def check_convnext_natural(df: pd.DataFrame) -> Check:
    """Observation 3: ConvNeXt is the best backbone on natural images."""
    key, claim = "convnext_natural", "ConvNeXt consistently outperforms other models on natural image datasets."
    test = ("Count the natural-image datasets on which ConvNeXt-Tiny is best (joint first counts). Supported: best "
            "on at least 75 % of them; partly: best on at least half, or best mean rank over the domain; "
            "not supported otherwise.")
    natural = [d for d in df.dataset.unique() if domain_of(d) == "natural"]
    if not natural or not _has(df, "convnext_tiny"):
        return _not_checkable(key, claim, test, "no natural-image dataset with ConvNeXt-Tiny in this table")
    best, n, others = _best_count(df, "convnext_tiny", natural)
    top = recompute_table1(df[df.dataset.isin(natural)], "mean_rank", k=1)
    best_mean_rank = top.loc[top.domain == "overall", "backbone"].iloc[0] == "convnext_tiny"
    verdict = _verdict(best / n, 0.75, 0.5)
    if verdict == NOT_SUPPORTED and best_mean_rank:
        verdict = PARTLY_SUPPORTED
    evidence = (f"ConvNeXt-Tiny is best on {best} of {n} natural-image datasets (not on: {', '.join(others) or 'none'}); "
                f"{'it has' if best_mean_rank else 'it does not have'} the best mean rank over the domain.")
    details = dataset_ranks(df[df.dataset.isin(natural)]).query("backbone == 'convnext_tiny'")
    return Check(key, claim, test, verdict, evidence, details.reset_index(drop=True))


def check_regnet_efficientnet_versatile(df: pd.DataFrame) -> Check:
    """Observation 4: RegNet and EfficientNet are among the best in natural, remote sensing, plant and medical."""
    key, claim = "regnet_efficientnet", ("RegNet and EfficientNet are excellent choices across domains: natural, "
                                         "remote sensing, plant and medical images.")
    test = ("In each domain the paper names (natural, remote sensing, plant, medical), rank the backbones by mean "
            "rank and ask whether RegNetY-3.2GF and EfficientNetV2-S are in the domain's top three. Supported: "
            "both in the top three in at least 75 % of the (backbone, domain) pairs; partly: at least half; "
            "not supported otherwise.")
    named = ("natural", "remote_sensing", "plant", "medical")
    scores = domain_scores(df)
    scores = scores[scores.domain.isin(named)].copy()
    if scores.empty or not _has(df, "regnet_y_3_2gf", "efficientnet_v2_s"):
        return _not_checkable(key, claim, test, "none of the named domains, or RegNet / EfficientNet missing")
    scores["domain_place"] = scores.groupby("domain")["mean_rank"].rank(method="min")
    details = scores[scores.backbone.isin(["regnet_y_3_2gf", "efficientnet_v2_s"])]
    details = details[["domain", "backbone", "mean_rank", "domain_place", "mean_top1"]].reset_index(drop=True)
    inside = details.domain_place <= 3
    evidence = ("in the top three by mean rank: " + "; ".join(
        f"{b} in {', '.join(details.loc[(details.backbone == b) & inside, 'domain']) or 'no domain'}"
        for b in ("regnet_y_3_2gf", "efficientnet_v2_s")) + f" (of {details.domain.nunique()} domains).")
    return Check(key, claim, test, _verdict(float(inside.mean()), 0.75, 0.5), evidence, details)


def check_shufflenet_over_mobilenet(df: pd.DataFrame) -> Check:
    """Observation 5: ShuffleNetV2 beats MobileNetV3 outside the medical domain."""
    key, claim = "shufflenet_mobilenet", ("ShuffleNet is a better choice than MobileNet when very light-weight models "
                                          "are needed (MobileNet better on medical images).")
    test = ("Head-to-head per dataset. Supported: ShuffleNetV2 wins on at least two thirds of the non-medical "
            "datasets; partly: on more than half; not supported otherwise. Medical datasets are reported apart.")
    if not _has(df, "shufflenet_v2_x2_0", "mobilenet_v3_large"):
        return _not_checkable(key, claim, test, "ShuffleNetV2 or MobileNetV3 missing")
    wide = _wide(df)[["shufflenet_v2_x2_0", "mobilenet_v3_large"]].dropna()
    details = wide.assign(domain=[domain_of(d) for d in wide.index],
                          shufflenet_wins=wide.iloc[:, 0] > wide.iloc[:, 1]).reset_index()
    rest, medical = details[details.domain != "medical"], details[details.domain == "medical"]
    if rest.empty:
        return _not_checkable(key, claim, test, "no non-medical dataset in this table")
    share = float(rest.shufflenet_wins.mean())
    evidence = (f"ShuffleNetV2 wins on {int(rest.shufflenet_wins.sum())} of {len(rest)} non-medical datasets"
                + (f" and on {int(medical.shufflenet_wins.sum())} of {len(medical)} medical ones." if len(medical) else "."))
    return Check(key, claim, test, _verdict(share, 2 / 3, 0.5 + 1e-9), evidence, details)


def check_wavemix(df: pd.DataFrame) -> Check:
    """Observation 6: WaveMix's strengths (galaxies, histopathology, low-resolution images)."""
    key, claim = "wavemix", ("WaveMix is best on Galaxy10 (about 9 % above the second, ConvNeXt), best on the medical "
                             "domain and steady across BreakHis magnifications, best on CIFAR-10, CIFAR-100 and "
                             "EuroSAT, but not on Tiny ImageNet.")
    test = ("Each part is tested separately on the datasets present; supported when every part holds, partly "
            "when at least half do, not supported otherwise.")
    if not _has(df, "wavemix_192_16"):
        return _not_checkable(key, claim, test, "WaveMix missing")
    ranked = dataset_ranks(df)
    wm = ranked[ranked.backbone == "wavemix_192_16"].set_index("dataset")
    parts = []

    def best_on(dataset):
        return dataset in wm.index and wm.loc[dataset, "place"] == 1

    if "galaxy10" in wm.index:
        g = ranked[ranked.dataset == "galaxy10"].sort_values("top1", ascending=False)
        second = g.iloc[1]
        gain = 100 * (g.iloc[0].top1 / second.top1 - 1)
        parts.append(("best on galaxy10, second is ConvNeXt, gain 8.5-9.5 %", best_on("galaxy10")
                      and second.backbone == "convnext_tiny" and 8.5 <= gain < 9.5,
                      f"best {g.iloc[0].backbone}, second {second.backbone}, relative gain {gain:.1f} % "
                      f"({g.iloc[0].top1 - second.top1:.2f} points)"))
    breakhis = [d for d in wm.index if d.startswith("breakhis_")]
    if breakhis:
        sub = ranked[ranked.dataset.isin(breakhis)]
        means = sub.groupby("backbone")["top1"].mean()
        spans = sub.groupby("backbone")["top1"].agg(lambda s: s.max() - s.min())
        parts.append(("best mean over the BreakHis magnifications", means.idxmax() == "wavemix_192_16",
                      f"best mean {means.idxmax()} ({means.max():.2f})"))
        parts.append(("smallest spread across magnifications", spans.idxmin() == "wavemix_192_16",
                      f"WaveMix spread {spans['wavemix_192_16']:.2f} points, smallest {spans.idxmin()} ({spans.min():.2f})"))
    medical = [d for d in wm.index if domain_of(d) == "medical"]
    if medical:
        top = recompute_table1(df[df.dataset.isin(medical)], "mean_rank", k=1)
        parts.append(("best mean rank over all medical datasets", top.backbone.iloc[0] == "wavemix_192_16",
                      f"best mean rank: {top.backbone.iloc[0]}"))
    for d in ("cifar10", "cifar100", "eurosat"):
        if d in wm.index:
            parts.append((f"best on {d}", best_on(d), f"WaveMix place {wm.loc[d, 'place']:.0f}"))
    if "tiny_imagenet" in wm.index:
        parts.append(("not best on tiny_imagenet", not best_on("tiny_imagenet"),
                      f"WaveMix place {wm.loc['tiny_imagenet', 'place']:.0f}"))
    if not parts:
        return _not_checkable(key, claim, test, "none of the datasets this observation names")
    details = pd.DataFrame(parts, columns=["part", "holds", "numbers"])
    failed = details.loc[~details.holds, "part"].tolist()
    evidence = (f"{int(details.holds.sum())} of {len(details)} parts hold"
                + (f"; fails: {'; '.join(failed)}." if failed else "."))
    return Check(key, claim, test, _verdict(float(details.holds.mean()), 1.0, 0.5), evidence, details)


def check_resnet_dominance_over(df: pd.DataFrame) -> Check:
    """Observation 7: ResNet-50 is no longer competitive (never top three on natural images)."""
    key, claim = "resnet", ("Age of ResNet dominance is over: ResNet is not competitive in any domain and not even in "
                            "the top three on natural images (it does well on one medical dataset).")
    test = ("ResNet-50's place on every natural-image dataset and its place by mean rank in every domain. "
            "Supported: never in the top three of a natural dataset and of no domain; partly: one of the two "
            "holds; not supported otherwise.")
    if not _has(df, "resnet50"):
        return _not_checkable(key, claim, test, "ResNet-50 missing")
    ranked = dataset_ranks(df).query("backbone == 'resnet50'").copy()
    ranked["domain"] = ranked.dataset.map(domain_of)
    natural_top3 = ranked[(ranked.domain == "natural") & (ranked.place <= 3)].dataset.tolist()
    scores = domain_scores(df)
    scores["domain_place"] = scores.groupby("domain")["mean_rank"].rank(method="min")
    resnet = scores[(scores.backbone == "resnet50") & (scores.domain != "overall")]
    top_domains = resnet.loc[resnet.domain_place <= 3, "domain"].tolist()
    holds = [not natural_top3 if (ranked.domain == "natural").any() else None, not top_domains]
    holds = [h for h in holds if h is not None]
    firsts = ranked.loc[ranked.place == 1, "dataset"].tolist()
    evidence = (f"ResNet-50 is in the top three on {len(natural_top3)} natural dataset(s)"
                + (f" ({', '.join(natural_top3)})" if natural_top3 else "")
                + f", in the top three by mean rank of {len(top_domains)} domain(s)"
                + (f" ({', '.join(top_domains)})" if top_domains else "")
                + f", and best on {len(firsts)} dataset(s)" + (f" ({', '.join(firsts)})" if firsts else "") + ".")
    return Check(key, claim, test, _verdict(float(np.mean(holds)), 1.0, 0.5), evidence,
                 ranked[["dataset", "domain", "top1", "place"]].reset_index(drop=True))


def check_convnext_swin_medical(df: pd.DataFrame) -> Check:
    """Observation 8: ConvNeXt and the Swins are the worst backbones on medical images."""
    key, claim = "medical_poor", "ConvNeXt and Swin transformers perform poorly (significantly worse) in the medical domain."
    test = ("On each medical dataset, are ConvNeXt-Tiny, Swin-T and SwinV2-T the three lowest? Supported: each of "
            "them is in the bottom three on at least 75 % of the medical datasets; partly: at least half; not "
            "supported otherwise. The gap to the median of the other backbones is shown.")
    group = ["convnext_tiny", *TRANSFORMERS]
    medical = [d for d in df.dataset.unique() if domain_of(d) == "medical"]
    if not medical or not _has(df, *group):
        return _not_checkable(key, claim, test, "no medical dataset with ConvNeXt and both Swins in this table")
    rows = []
    for d in medical:
        part = df[df.dataset == d].set_index("backbone")["top1"]
        from_bottom = part.rank(ascending=True, method="max")
        others = part.drop(group).median()
        for b in group:
            rows.append({"dataset": d, "backbone": b, "top1": part[b], "bottom_three": from_bottom[b] <= 3,
                         "below_median_of_others": others - part[b]})
    details = pd.DataFrame(rows)
    share = float(details.groupby("backbone").bottom_three.mean().min())
    evidence = ("share of medical datasets in the bottom three: " + ", ".join(
        f"{b} {v:.0%}" for b, v in details.groupby("backbone").bottom_three.mean().items())
        + f"; median gap below the other backbones' median {details.below_median_of_others.median():.2f} points.")
    return Check(key, claim, test, _verdict(share, 0.75, 0.5), evidence, details)


def check_top_models_keep_lead(low: pd.DataFrame, k: int = 3) -> Check:
    """Observation 9: the top backbones with all the data are still the top ones with 10 % and 1 % of it.

    The reference is each dataset's largest fraction: 100 % in the paper's tables, the profile's own fraction
    for this book's small-profile records (e.g. the workshop profile's quarter of digits)."""
    key, claim = "low_data", "Most of the top models in every domain retain their higher performance with less training data."
    test = (f"For each dataset with reduced fractions, how many of the top {k} at its largest fraction (100 % in the "
            f"paper) are still top {k} at each smaller fraction (book.lowdata.retention_vs_chance), and the Spearman "
            f"correlation between the two rankings. Supported: on average at least two thirds of the top {k} kept "
            f"('most'); partly: at least one third; not supported otherwise.")
    if low.empty or "fraction" not in low.columns or low.fraction.nunique() < 2:
        return _not_checkable(key, claim, test, "no dataset with more than one training fraction")
    retained = lowdata.retention_vs_chance(low, k=k, reference=None)  # None: each dataset's largest fraction
    if retained.empty:
        return _not_checkable(key, claim, test, f"no dataset with more than {k} backbones at a reference and a "
                                                f"smaller fraction")
    corr = lowdata.rank_correlations(low).rename(columns={"fraction_a": "reference", "fraction_b": "fraction"})
    details = retained.merge(corr[["dataset", "reference", "fraction", "spearman"]],
                             on=["dataset", "reference", "fraction"], how="left")
    share = float(details.kept.mean() / k)
    refs = sorted({f"{r:.0%}" for r in details.reference})
    evidence = (f"on average {details.kept.mean():.2f} of the top {k} are kept over {len(details)} (dataset, fraction) "
                f"pairs (fewest: {details.kept.min()}); median Spearman with the reference ranking "
                f"({', '.join(refs)} of the data) {details.spearman.median():.2f}.")
    return Check(key, claim, test, _verdict(share, 2 / 3, 1 / 3), evidence, details)


def check_all(full: pd.DataFrame, low: pd.DataFrame, imagenet: pd.DataFrame) -> list[Check]:
    """Every Section 7 observation, tested on ``full`` (one row per backbone and dataset, 100 % of the data) and,
    for the low-data observation, on ``low`` (backbone, dataset, fraction, top1)."""
    return [check_imagenet_not_predictive(full, imagenet), check_cnns_beat_transformers(full),
            check_convnext_natural(full), check_regnet_efficientnet_versatile(full),
            check_shufflenet_over_mobilenet(full), check_wavemix(full), check_resnet_dominance_over(full),
            check_convnext_swin_medical(full), check_top_models_keep_lead(low)]


def verdicts(checks: list[Check], source: str) -> pd.DataFrame:
    """One row per check: observation, verdict, computed evidence, labelled with the numbers' ``source``."""
    return pd.DataFrame([{"source": source, "observation": c.claim, "verdict": c.verdict, "evidence": c.evidence}
                         for c in checks])


# ------------------------------------------------------------------------------- the paper against itself

@dataclass(frozen=True)
class ProseClaim:
    """A sentence of the paper that states something its own tables can confirm."""

    where: str
    quote: str
    test: object  # callable(full: DataFrame) -> (holds: bool, numbers: str)


def _best(full, dataset):
    part = full[full.dataset == dataset]
    return sorted(part.loc[part.top1 == part.top1.max(), "backbone"])


def _top3_count(full, backbone, domain):
    ranked = dataset_ranks(full)
    ranked = ranked[(ranked.backbone == backbone) & ranked.dataset.map(lambda d: domain_of(d) == domain)]
    return int((ranked.place <= 3).sum()), len(ranked)


def _claim_best(dataset, expected):
    def test(full):
        best = _best(full, dataset)
        return set(best) == set(expected), f"best on {dataset}: {', '.join(best)}"
    return test


def _claim_top3(backbone, domain, op, n):
    def test(full):
        count, total = _top3_count(full, backbone, domain)
        return op(count, n), f"{backbone} is top three on {count} of {total} {domain} datasets"
    return test


def _claim_convnext_exceptions(full):
    natural = [d for d in full.dataset.unique() if domain_of(d) == "natural"]
    not_best = sorted(d for d in natural if "convnext_tiny" not in _best(full, d))
    return set(not_best) == {"cifar10", "cifar100"}, f"ConvNeXt-Tiny is not best on: {', '.join(not_best)}"


def _claim_galaxy_gain(full):
    g = full[full.dataset == "galaxy10"].sort_values("top1", ascending=False)
    gain = 100 * (g.top1.iloc[0] / g.top1.iloc[1] - 1)
    return (g.backbone.iloc[1] == "convnext_tiny" and round(gain) == 9,
            f"second {g.backbone.iloc[1]}; relative gain {gain:.1f} %, absolute {g.top1.iloc[0] - g.top1.iloc[1]:.2f} points")


def _claim_efficientnet_never_best(full):
    tied_or_best = sorted(d for d in full.dataset.unique() if "efficientnet_v2_s" in _best(full, d))
    return not tied_or_best, f"EfficientNetV2-S is (jointly) best on: {', '.join(tied_or_best) or 'none'}"


def _claim_resnet_one_medical(full):
    medical = [d for d in full.dataset.unique() if domain_of(d) == "medical"]
    firsts = sorted(d for d in medical if "resnet50" in _best(full, d))
    return len(firsts) == 1, f"ResNet-50 is best on medical dataset(s): {', '.join(firsts) or 'none'}"


def _claim_low_data_leaders(datasets, fractions, named, k):
    def test(full_and_low):
        low = full_and_low[1]
        rows, ok = [], True
        for d in datasets:
            for f in fractions:
                part = low[(low.dataset == d) & np.isclose(low.fraction, f)].sort_values("top1", ascending=False)
                top = part.backbone.head(k).tolist()
                missing = sorted(set(named) - set(top))
                ok &= not missing
                rows.append(f"{d} {f:.0%}: top {k} {', '.join(top)}" + (f" (missing {', '.join(missing)})" if missing else ""))
        return ok, "; ".join(rows)
    test.needs_low = True
    return test


PROSE_CLAIMS = (
    ProseClaim("Section 6.1", "ConvNeXt-Tiny outperforms all the other models in almost all natural image datasets "
               "(except CIFAR-10 and CIFAR-100)", _claim_convnext_exceptions),
    ProseClaim("Section 6.1", "EfficientNetV2-S also performs well on at least six out of the eight natural image "
               "datasets (read: top three)", _claim_top3("efficientnet_v2_s", "natural", lambda c, n: c >= n, 6)),
    ProseClaim("Section 6.1", "RegNetY-3.2GF also performs well on seven of the eight natural image datasets "
               "(read: top three)", _claim_top3("regnet_y_3_2gf", "natural", lambda c, n: c == n, 7)),
    ProseClaim("Section 6.1", "WaveMix performs the best in CIFAR-10", _claim_best("cifar10", ["wavemix_192_16"])),
    ProseClaim("Section 6.1", "WaveMix performs the best in CIFAR-100", _claim_best("cifar100", ["wavemix_192_16"])),
    ProseClaim("Section 6.1", "SwinV2-Tiny performs the best in UC Merced Land Use dataset",
               _claim_best("ucmerced", ["swin_v2_t"])),
    ProseClaim("Section 6.1", "WaveMix and ResNeXt top the EuroSAT dataset",
               _claim_best("eurosat", ["wavemix_192_16", "resnext50_32x4d"])),
    ProseClaim("Section 6.1", "ResNeXt tops RSNA dataset", _claim_best("rsna", ["resnext50_32x4d"])),
    ProseClaim("Section 6.1", "DenseNet tops the PlantVillage dataset", _claim_best("plantvillage", ["densenet161"])),
    ProseClaim("Section 6.1", "WaveMix significantly outperforms all the other models in Galaxy10 DECals dataset",
               _claim_best("galaxy10", ["wavemix_192_16"])),
    ProseClaim("Section 7", "WaveMix outperforms all other models (9% increase from the second best, ConvNeXt) in "
               "galaxy morphology classification", _claim_galaxy_gain),
    ProseClaim("Section 7", "EfficientNet ... did not perform the best in any of the domains or datasets",
               _claim_efficientnet_never_best),
    ProseClaim("Section 7", "ResNet does perform relatively well on one medical dataset", _claim_resnet_one_medical),
    ProseClaim("Section 6.2", "On CIFAR-10 and Tiny ImageNet, ConvNeXt, WaveMix, EfficientNet and RegNet perform "
               "better than others when the training data is reduced (read: they are the top four at 10 % and 1 %)",
               _claim_low_data_leaders(["cifar10", "tiny_imagenet"], [0.1, 0.01],
                                       ["convnext_tiny", "wavemix_192_16", "efficientnet_v2_s", "regnet_y_3_2gf"], 4)),
    ProseClaim("Section 6.2", "In plant datasets ConvNeXt, EfficientNet, DenseNet and RegNet also performed better "
               "than the other models at 10 % (read: they are the top four)",
               _claim_low_data_leaders(["plantvillage", "plantclef"], [0.1],
                                       ["convnext_tiny", "efficientnet_v2_s", "densenet161", "regnet_y_3_2gf"], 4)),
)


def _same_cell_twice() -> list[dict]:
    main = paper.full_data().set_index(["backbone", "dataset"])["top1"]
    rows = []
    for table in ("7", "8"):
        rep = paper.load(table).query("fraction == 1.0").set_index(["backbone", "dataset"])["top1"]
        for (b, d), v in rep.items():
            t = paper.full_data().set_index(["backbone", "dataset"]).loc[(b, d), "table"]
            rows.append({"kind": "same cell in two tables", "where": f"Table {table} vs Table {t}: {b}, {d}, 100 %",
                         "paper_says": f"{v:g} (Table {table})", "numbers_say": f"{main[(b, d)]:g} (Table {t})",
                         "consistent": bool(v == main[(b, d)])})
    return rows


def _average_column() -> list[dict]:
    mean = paper.wide("6").mean(axis=1)
    printed = paper.breakhis_average().set_index("backbone")["top1_average"]
    return [{"kind": "derived column", "where": f"Table 6 Average: {b}", "paper_says": f"{printed[b]:g}",
             "numbers_say": f"mean of the four magnifications {mean[b]:.3f}",
             "consistent": bool(abs(printed[b] - mean[b]) <= 0.005 + 1e-9)} for b in mean.index]


def _counts_against_table3() -> list[dict]:
    t3 = paper.table3().set_index("dataset")["train_images"]
    rows = []
    for r in paper.training_counts().itertuples():
        expected = t3[r.dataset] * r.fraction
        rows.append({"kind": "caption or header vs Table 3",
                     "where": f"{r.where} ({r.version} version): {r.dataset} at {r.fraction:.0%}",
                     "paper_says": f"{r.train_images:,} images",
                     "numbers_say": f"Table 3: {t3[r.dataset]:,} x {r.fraction:g} = {expected:,.0f}",
                     "consistent": bool(abs(r.train_images - expected) <= 1)})
    return rows


def _table1_against_tables() -> list[dict]:
    full, published = paper.full_data(), paper.table1()
    rows = []
    for rule in RULES:
        for r in compare_table1(recompute_table1(full, rule), published).itertuples():
            rows.append({"kind": "summary table vs results", "where": f"Table 1, {r.domain} ({rule})",
                         "paper_says": r.paper, "numbers_say": r.recomputed, "consistent": bool(r.same_order)})
    return rows


def inconsistencies(include_table1: bool = False) -> pd.DataFrame:
    """Every place the paper can be checked against itself: one row each, ``consistent`` says whether it holds.

    Covers cells printed in two tables, Table 6's average, training-image counts in captions and headers against
    Table 3, and prose sentences against the tables (``PROSE_CLAIMS``). Table 1 against the results tables is
    added with ``include_table1`` (it depends on an aggregation rule the paper does not state).
    """
    full, low = paper.full_data(), paper.low_data()
    rows = _same_cell_twice() + _average_column() + _counts_against_table3()
    for c in PROSE_CLAIMS:
        holds, numbers = c.test((full, low)) if getattr(c.test, "needs_low", False) else c.test(full)
        rows.append({"kind": "prose vs tables", "where": c.where, "paper_says": c.quote, "numbers_say": numbers,
                     "consistent": bool(holds)})
    if include_table1:
        rows += _table1_against_tables()
    return pd.DataFrame(rows, columns=["kind", "where", "paper_says", "numbers_say", "consistent"])


# ------------------------------------------------------------------------------------ this book's records

OUR_COLUMNS = ["source", "profile", "pretrained", "image_size", "backbone", "dataset", "fraction", "top1",
               "top1_mean", "top1_ci95", "n_seeds", "device", "departs"]


def within_protocol(ours: pd.DataFrame) -> pd.DataFrame:
    """The cells whose runs follow their profile's protocol: a paper-profile run with a cap, another size or
    random weights (``departs``, lib.profiles.departures) is shown, labelled, but never enters a verdict."""
    return ours[ours["departs"].fillna("") == ""] if "departs" in ours.columns else ours


def our_results(folder: Path | str | None = None) -> pd.DataFrame:
    """This book's run records as a long table, ``source = "ours"``: ``top1`` is the best of the seeds (the
    paper's rule), ``top1_mean`` ± ``top1_ci95`` the mean over seeds and its 95 % interval (NaN: one seed).

    A missing or empty folder gives an empty table with the same columns.
    """
    from lib import results

    folder = Path(folder) if folder is not None else paths.records()
    if not folder.is_dir():
        return pd.DataFrame(columns=OUR_COLUMNS)
    return cells_from_records(results.load_records(folder))


def cells_from_records(records: pd.DataFrame) -> pd.DataFrame:
    """Run records (``lib.results.load_records`` or ``to_frame``) as :func:`our_results`' cells: chapter 4 passes
    the records it re-uses through here, so both chapters judge the same cells the same way."""
    from lib import results

    columns = OUR_COLUMNS
    summary = results.summarise(records)
    if summary.empty:
        return pd.DataFrame(columns=columns)
    records = records if "departs" in records.columns else records.assign(departs="")
    devices = records.groupby(results.CELL)["device"].agg(lambda d: "; ".join(sorted(set(map(str, d)))))
    summary = summary.merge(devices.reset_index(), on=results.CELL, how="left")
    summary = summary.rename(columns={"test_top1_best": "top1", "test_top1_mean": "top1_mean",
                                      "test_top1_ci95": "top1_ci95"})
    summary.insert(0, "source", "ours")
    return summary[columns]


def table1_from_records(ours: pd.DataFrame, rule: str = "mean_rank", k: int = 3) -> pd.DataFrame:
    """Table 1 recomputed from this book's records, one block per (profile, pretrained, image size), at 100 %
    of the training data. Empty when there are no such records."""
    columns = ["source", "profile", "pretrained", "image_size", "domain", "rank", "backbone", "rule", "mean_rank",
               "mean_top1", "top3_count", "datasets"]
    full = ours[np.isclose(ours["fraction"].astype(float), 1.0)] if not ours.empty else ours
    blocks = []
    for (profile, pretrained, size), part in full.groupby(["profile", "pretrained", "image_size"]):
        top = recompute_table1(part[["backbone", "dataset", "top1"]], rule, k)
        blocks.append(top.assign(source="ours", profile=profile, pretrained=pretrained, image_size=size))
    return pd.concat(blocks, ignore_index=True)[columns] if blocks else pd.DataFrame(columns=columns)


# ------------------------------------------------------------------- this book's runs, with the seeds' noise
#
# On our runs every cell has a mean over seeds and a 95 % interval (lib.results.ci95). A claim that one backbone
# beats another is supported only when its interval lies above the other's; where the intervals overlap the
# answer is "within noise". A Section 7 check is run twice, on the two ends of the intervals: once with the
# backbones the claim favours at their lower ends and the rest at their upper ends (the claim's worst case), once
# the other way round (its best case). Supported: it holds even in the worst case; not supported: it fails even
# in the best case; within noise otherwise. With one seed there is no interval and nothing is decided.

OUR_VERDICTS = (SUPPORTED, NOT_SUPPORTED, WITHIN_NOISE, NOT_CHECKABLE)  # no "partly supported": noise decides
ONE_SEED = "one seed: no interval"


def _pretrained_below_median() -> list[str]:
    acc = paper.table2().set_index("backbone")["imagenet_top1"]
    return acc[acc < acc.median()].index.tolist()


@dataclass(frozen=True)
class OurClaim:
    """One claim of the paper as checked on this book's runs: which Section 7 check, the backbones it favours
    (pushed to the lower end of their intervals in the claim's worst case), and at which training fraction."""

    key: str
    claim: str
    check: object                  # callable(table) -> Check, one of the Section 7 checks above
    favoured: object               # callable(backbones) -> the backbones the claim says do better
    at: str = "largest"            # "largest" or "smallest" training fraction of our runs
    needs_pretrained: bool = False  # a claim about ImageNet pre-training


OUR_CLAIMS = (
    OurClaim("imagenet", "Higher ImageNet accuracy does not mean higher fine-tuning accuracy",
             lambda t: check_imagenet_not_predictive(t, paper.table2()),
             lambda bs: [b for b in bs if b in _pretrained_below_median()], needs_pretrained=True),
    OurClaim("cnn_vs_transformer", "CNNs beat transformers (all the data)", check_cnns_beat_transformers,
             lambda bs: [b for b in bs if b not in TRANSFORMERS]),
    OurClaim("cnn_vs_transformer_low", "CNNs beat transformers with little data", check_cnns_beat_transformers,
             lambda bs: [b for b in bs if b not in TRANSFORMERS], at="smallest"),
    OurClaim("convnext_natural", "ConvNeXt is best on natural images", check_convnext_natural,
             lambda bs: ["convnext_tiny"]),
    OurClaim("regnet_efficientnet", "RegNet and EfficientNet are good across domains",
             check_regnet_efficientnet_versatile, lambda bs: ["regnet_y_3_2gf", "efficientnet_v2_s"]),
    OurClaim("shufflenet_mobilenet", "ShuffleNet beats MobileNet (outside medical images)",
             check_shufflenet_over_mobilenet, lambda bs: ["shufflenet_v2_x2_0"]),
    OurClaim("wavemix", "WaveMix's strengths (galaxies, histopathology, CIFAR, EuroSAT)", check_wavemix,
             lambda bs: ["wavemix_192_16"]),
    OurClaim("resnet", "ResNet's dominance is over", check_resnet_dominance_over,
             lambda bs: [b for b in bs if b != "resnet50"]),
    OurClaim("medical_poor", "ConvNeXt and Swins do poorly on medical images", check_convnext_swin_medical,
             lambda bs: [b for b in bs if b not in ("convnext_tiny", *TRANSFORMERS)]),
)


def _at_end(cells: pd.DataFrame, favoured, worst: bool) -> pd.DataFrame:
    """``cells`` (backbone, dataset, top1_mean, top1_ci95) as a ``top1`` table at one end of every interval."""
    sign = cells["backbone"].isin(favoured).map({True: -1.0, False: 1.0}) * (1 if worst else -1)
    return cells.assign(top1=cells["top1_mean"] + sign * cells["top1_ci95"])[["backbone", "dataset", "top1"]]


def _decided(worst: str, best: str) -> str:
    """Supported if the claim holds in its worst case; not supported if it is not (fully) supported even in its
    best case; within noise otherwise."""
    if worst == SUPPORTED:
        return SUPPORTED
    return NOT_SUPPORTED if best in (NOT_SUPPORTED, PARTLY_SUPPORTED) else WITHIN_NOISE


def _claim_verdict(claim: OurClaim, cells: pd.DataFrame) -> tuple[str, str]:
    means = cells.assign(top1=cells["top1_mean"])[["backbone", "dataset", "top1"]]
    on_means = claim.check(means)
    if on_means.verdict == NOT_CHECKABLE:
        return NOT_CHECKABLE, on_means.evidence
    if cells["top1_ci95"].isna().any():
        return NOT_CHECKABLE, f"{ONE_SEED} (on the means alone: {on_means.verdict}; {on_means.evidence})"
    favoured = claim.favoured(cells["backbone"].unique())
    worst = claim.check(_at_end(cells, favoured, worst=True))
    best = claim.check(_at_end(cells, favoured, worst=False))
    verdict = _decided(worst.verdict, best.verdict)
    return verdict, (f"with every interval against the claim: {worst.verdict} ({worst.evidence.rstrip('.')}); "
                     f"with every interval for it: {best.verdict}")


def _sure_place(part: pd.DataFrame, backbone: str, k: int) -> str:
    """'in' when ``backbone`` is in the top k whatever the seeds' noise, 'out' when it is outside it, else 'noise'."""
    me = part.loc[backbone]
    others = part.drop(backbone)
    could_beat = (others.top1_mean + others.top1_ci95 >= me.top1_mean - me.top1_ci95).sum()
    surely_beat = (others.top1_mean - others.top1_ci95 > me.top1_mean + me.top1_ci95).sum()
    return "in" if could_beat < k else "out" if surely_beat >= k else "noise"


def keep_lead_with_noise(cells: pd.DataFrame, k: int = 3) -> tuple[str, str, pd.DataFrame]:
    """"Most of the top k keep their lead" between each dataset's largest and every smaller fraction, with seed
    noise: the top k at the largest fraction (by mean) must be separated from the rest there; a backbone is kept
    when it is surely in the smaller fraction's top k, lost when surely outside it. "Most" is two thirds."""
    most = int(np.ceil(2 * k / 3))
    rows = []
    for dataset, part in cells.groupby("dataset"):
        fractions = sorted(part.fraction.unique(), reverse=True)
        ref = part[part.fraction == fractions[0]].set_index("backbone")
        top = ref.sort_values(["top1_mean"], ascending=False).index[:k].tolist()
        for fraction in fractions[1:]:
            small = part[part.fraction == fraction].set_index("backbone")
            if len(ref) <= k or not set(top) <= set(small.index):
                continue
            sure_ref = [b for b in top if _sure_place(ref, b, k) == "in"]
            places = {b: _sure_place(small, b, k) for b in top}
            kept = [b for b in sure_ref if places[b] == "in"]
            lost = [b for b in top if places[b] == "out"]
            verdict = (WITHIN_NOISE if len(sure_ref) < most else SUPPORTED if len(kept) >= most
                       else NOT_SUPPORTED if len(lost) > k - most else WITHIN_NOISE)
            rows.append({"dataset": dataset, "reference": fractions[0], "fraction": fraction,
                         "top_k": ", ".join(top), "separated_at_reference": len(sure_ref),
                         "surely_kept": len(kept), "surely_lost": len(lost), "verdict": verdict})
    details = pd.DataFrame(rows)
    if details.empty:
        return NOT_CHECKABLE, f"no dataset with two training fractions and more than {k} backbones", details
    if cells["top1_ci95"].isna().any():
        return NOT_CHECKABLE, ONE_SEED, details
    found = set(details.verdict)
    verdict = (NOT_SUPPORTED if NOT_SUPPORTED in found else SUPPORTED if found == {SUPPORTED}
               else WITHIN_NOISE)
    reason = "; ".join(
        f"{present.dataset_name(r.dataset)}, {_pct(r.reference)} to {_pct(r.fraction)}: of the top {k} at "
        f"{_pct(r.reference)} ({', '.join(present.backbone_name(b) for b in r.top_k.split(', '))}), "
        f"{r.separated_at_reference} stand clear of the rest there; {r.surely_kept} surely kept and "
        f"{r.surely_lost} surely lost at {_pct(r.fraction)}" for r in details.itertuples())
    return verdict, reason, details


def _pct(fraction: float) -> str:
    return f"{100 * float(fraction):g} %"


LOW_DATA_KEY, LOW_DATA_CLAIM = "low_data", "The top models keep their lead with less data"


def low_data_verdict(ours: pd.DataFrame, k: int = 3) -> tuple[str, str]:
    """The verdict on "the top models keep their lead with less data" for one block of our runs, with the seeds'
    noise (:func:`keep_lead_with_noise`), and its reason. Computed here once: chapter 4 and chapter 6 both show
    this verdict, worded by :func:`verdict_markdown`."""
    verdict, reason, _ = keep_lead_with_noise(within_protocol(ours), k)
    return verdict, reason


def verdict_markdown(verdict: str) -> str:
    """A verdict as the prose of every chapter shows it: ``**within noise**``."""
    return f"**{verdict}**"


def our_claims(ours: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The paper's claims checked on one block of our runs (one profile, weights and image size; the columns of
    :func:`our_results`), seed noise included: one row per claim with ``verdict`` in :data:`OUR_VERDICTS`."""
    columns = ["key", "claim", "fraction", "verdict", "reason"]
    blocks = ours[["profile", "pretrained", "image_size"]].drop_duplicates() if len(ours) else []
    if len(blocks) > 1:
        raise ConfigError(f"our_claims takes one block of runs, got {len(blocks)} (profiles, weights, image "
                          f"sizes): select one, e.g. ours[ours.profile == 'workshop']")
    if ours.empty:
        reason = "no run records of ours"
        rows = [(c.key, c.claim, np.nan, NOT_CHECKABLE, reason) for c in OUR_CLAIMS]
        rows.append((LOW_DATA_KEY, LOW_DATA_CLAIM, np.nan, NOT_CHECKABLE, reason))
        return pd.DataFrame(rows, columns=columns)
    pretrained = bool(ours["pretrained"].iloc[0])
    fractions = sorted(ours["fraction"].astype(float).unique())
    rows = []
    for c in OUR_CLAIMS:
        fraction = fractions[-1] if c.at == "largest" else fractions[0]
        if c.at == "smallest" and len(fractions) < 2:
            rows.append((c.key, c.claim, np.nan, NOT_CHECKABLE, "our runs have one training fraction"))
            continue
        if c.needs_pretrained and not pretrained:
            rows.append((c.key, c.claim, fraction, NOT_CHECKABLE,
                         "random initialisation: there is no ImageNet pre-training to carry over"))
            continue
        cells = ours[np.isclose(ours["fraction"].astype(float), fraction)]
        rows.append((c.key, c.claim, fraction, *_claim_verdict(c, cells)))
    rows.append((LOW_DATA_KEY, LOW_DATA_CLAIM, fractions[0], *low_data_verdict(ours, k)))
    return pd.DataFrame(rows, columns=columns)


def regime(ours: pd.DataFrame) -> str:
    """One line naming the regime of a block of our runs: profile, weights, datasets, image size, device."""
    if ours.empty:
        return "no runs of ours"
    weights = "ImageNet weights" if bool(ours["pretrained"].iloc[0]) else "random initialisation (from scratch)"
    devices = sorted({d for cell in ours["device"].astype(str) for d in cell.split("; ")})  # a cell's devices: "; "
    return (f"{ours['profile'].iloc[0]} profile: {weights}, {', '.join(sorted(ours['dataset'].unique()))} at "
            f"{ours['image_size'].iloc[0]} px, on {'; '.join(devices)}")


def claims_statement(claims: pd.DataFrame) -> str:
    """The claims grouped by verdict in one Markdown line, for a glued sentence:
    ``*supported*: "A", "B". *not supported*: none. ...``."""
    parts = []
    for verdict in OUR_VERDICTS:
        named = claims.loc[claims.verdict == verdict, "claim"].tolist()
        parts.append(f"*{verdict}*: " + (", ".join(f'"{c}"' for c in named) if named else "none") + ".")
    return " ".join(parts)


def our_block(ours: pd.DataFrame, profile: str) -> pd.DataFrame:
    """The rows of :func:`our_results` that :func:`our_claims` checks for ``profile``: its records with the most
    common weights and image size (one block). Empty when the profile has no records."""
    mine = within_protocol(ours[ours["profile"] == profile]) if len(ours) else ours
    if mine.empty:
        return mine
    pretrained, size = mine.groupby(["pretrained", "image_size"]).size().idxmax()
    return mine[(mine["pretrained"] == pretrained) & (mine["image_size"] == size)]


# ------------------------------------------------------------------------ what chapter 6 shows a reader
#
# Frames for ``book.present.table`` (code ids stay in ``backbone`` / ``dataset`` / ``domain`` columns, where present
# shows display names; lists of ids and computed sentences go through ``present.readable_text``) and Markdown for
# the long texts (a check's rule, a claim's reason), which read better as a list below a table than in its cells.

def _names(listed: str) -> str:
    """``"convnext_tiny, resnet50"`` -> ``"ConvNeXt-Tiny, ResNet-50"``."""
    return present.readable_text(listed)


def table1_shown(published: pd.DataFrame) -> pd.DataFrame:
    """The published Table 1 as a reader's table: one row per domain (the paper's order), its Best, Better and
    Good backbones."""
    wide = published.pivot(index="domain", columns="place", values="backbone")
    wide = wide.reindex(list(dict.fromkeys(published["domain"])))[["Best", "Better", "Good"]]
    return wide.rename_axis(None, axis=1).reset_index().map(present.readable_text)


def comparison_shown(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_table1` for a reader: the two top threes in display names and whether they agree."""
    return comparison.assign(paper=comparison.paper.map(_names), recomputed=comparison.recomputed.map(_names))[
        ["domain", "paper", "recomputed", "same_order", "same_set"]]


COMPARISON_NAMES = {"paper": "paper's top three", "recomputed": "recomputed", "same_order": "same order",
                    "same_set": "same three"}


def agreement_shown(versions: dict[str, pd.DataFrame], published: pd.DataFrame) -> pd.DataFrame:
    """:func:`table1_agreement` for each version's tables, stacked, with the version (and its dataset count) as a
    column instead of an index level."""
    parts = [table1_agreement(part, published).assign(tables=f"{v} ({part.dataset.nunique()} datasets)")
             for v, part in versions.items()]
    out = pd.concat(parts, ignore_index=True)
    return out[["tables", "rule", "same_order", "same_set", "same_best", "columns"]]


AGREEMENT_NAMES = {"tables": "tables of the version", "same_order": "same order", "same_set": "same three",
                   "same_best": "same best", "columns": "of columns"}


def rules_per_column_shown(per_column: pd.DataFrame) -> pd.DataFrame:
    """:func:`table1_rules_per_column` for a reader: display names, and "none" where no rule fits."""
    return per_column.assign(paper=per_column.paper.map(_names),
                             **{c: per_column[c].replace("", "none") for c in ("same order", "same three")})


def one_rule_text(fitting: list[str]) -> str:
    """Whether one rule reproduces every column of Table 1, said once (the page and its summary glue this)."""
    if fitting:
        return f"**yes**: {', '.join(f'`{r}`' for r in fitting)} reproduces every column"
    return "**no**: no single rule reproduces every column"


def verdicts_shown(checks: list[Check]) -> pd.DataFrame:
    """The Section 7 checks as a reader's table: the observation (the paper's words), the verdict and the computed
    evidence in display names, whole (the table wraps them; nothing is cut off)."""
    return pd.DataFrame({"observation": [c.claim for c in checks], "verdict": [c.verdict for c in checks],
                         "evidence": [present.readable_text(c.evidence) for c in checks]})


def tests_markdown(checks: list[Check]) -> str:
    """Each check's test and verdict rule as a numbered Markdown list, in the order of the verdicts' table."""
    return "\n".join(f"{i}. *{c.claim}* {present.readable_text(c.test)}" for i, c in enumerate(checks, 1))


def imagenet_details_shown(details: pd.DataFrame) -> pd.DataFrame:
    """Observation 1's correlations per domain for a reader: rho and its p-value to two places."""
    return details.assign(p_value=details.p_value.map(lowdata.p_text))[
        ["domain", "backbones", "datasets", "spearman", "p_value", "contradicts"]]


def imagenet_rank_figure(scores: pd.DataFrame, imagenet: pd.DataFrame):
    """Each backbone's ImageNet-1k top-1 (Table 2) against its mean rank in each domain, one colour per domain
    (``present.domain_colour``), best rank at the top."""
    import matplotlib.pyplot as plt

    both = scores[scores.domain != "overall"].merge(imagenet, on="backbone")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for domain, part in both.groupby("domain", sort=False):
        ax.plot(part.imagenet_top1, part.mean_rank, "o", color=present.domain_colour(domain),
                label=present.domain_name(domain), alpha=0.85)
    ax.invert_yaxis()
    ax.set(xlabel="ImageNet-1k top-1 (%), paper Table 2", ylabel="mean rank in the domain (1 = best)")
    ax.legend(title="domain", fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def failing_markdown(failing: pd.DataFrame) -> str:
    """The paper's failing self-checks as a Markdown list grouped by kind: where, what the paper says, what its
    own numbers say (display names; the texts are too long for a table's cells)."""
    if failing.empty:
        return "None fails."
    parts = []
    for kind, rows in failing.groupby("kind", sort=False):
        parts.append(f"**{kind.capitalize()}**\n")
        parts += [f"- {present.readable_text(r.where)}: the paper says “{present.readable_text(r.paper_says)}”; "
                  f"its numbers say {present.readable_text(r.numbers_say)}." for r in rows.itertuples()]
        parts.append("")
    return "\n".join(parts)


def results_shown(ours: pd.DataFrame) -> pd.DataFrame:
    """Our run records' cells for a reader: backbone, training share, best seed, mean ± 95 % and seeds, largest
    share first and best mean first; profile and dataset only when the records hold more than one."""
    columns = ["profile", "dataset", "backbone", "share", "top1", "top1_mean", "top1_ci95", "n_seeds"]
    out = ours.assign(share=ours.fraction.map(lowdata.share)).sort_values(
        ["profile", "dataset", "fraction", "top1_mean"], ascending=[True, True, False, False])
    keep = [c for c in columns if c not in ("profile", "dataset") or out[c].nunique() > 1]
    if "departs" in out.columns and out["departs"].fillna("").ne("").any():
        keep.append("departs")   # shown, labelled; never in a verdict (within_protocol)
    return out[keep].reset_index(drop=True)


RESULTS_NAMES = {"departs": "departs from the paper's protocol", "share": "training share", "top1": "best seed", "top1_mean": "mean", "top1_ci95": "± 95 %",
                 "n_seeds": "seeds"}


def table1_from_records_shown(table1: pd.DataFrame) -> pd.DataFrame:
    """:func:`table1_from_records` for a reader: domain, place and backbone with the rule's scores; the setup
    columns only when the records hold more than one setup."""
    columns = ["profile", "pretrained", "image_size", "domain", "rank", "backbone", "mean_rank", "mean_top1",
               "top3_count"]
    keep = [c for c in columns if c not in ("profile", "pretrained", "image_size") or table1[c].nunique() > 1]
    return table1[keep].reset_index(drop=True)


TABLE1_NAMES = {"rank": "place", "mean_rank": "mean rank", "mean_top1": "mean top-1 (%)",
                "top3_count": "top-3 count", "image_size": "image size"}


def our_claims_shown(claims: pd.DataFrame) -> pd.DataFrame:
    """:func:`our_claims` for a reader: the claim, the training share it is checked at and the verdict (the
    reasons go below the table, :func:`reasons_markdown`)."""
    return pd.DataFrame({"claim": claims.claim,
                         "share": [lowdata.share(f) if pd.notna(f) else "–" for f in claims.fraction],
                         "verdict": claims.verdict})


def reasons_markdown(claims: pd.DataFrame) -> str:
    """Every claim's reason, whole, as a numbered Markdown list in the order of :func:`our_claims_shown`."""
    return "**Why, claim by claim:**\n\n" + "\n".join(
        f"{i}. *{r.claim}* ({r.verdict}): {present.readable_text(r.reason).rstrip('.')}."
        for i, r in enumerate(claims.itertuples(), 1))
