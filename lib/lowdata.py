"""Low-data analysis (chapter 4): does the ranking of backbones survive less training data?

Works on any long table with columns ``backbone``, ``dataset``, ``fraction``, ``top1`` -- the paper's
Tables 7-8 (``lib.paper``) or this book's own records (``lib.results``) -- so both are analysed by the
same code and shown side by side.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

KEYS = ["dataset", "fraction", "backbone"]


def _check(df: pd.DataFrame) -> pd.DataFrame:
    missing = {"backbone", "dataset", "fraction", "top1"} - set(df.columns)
    if missing:
        raise ValueError(f"table lacks column(s) {sorted(missing)}; need backbone, dataset, fraction, top1")
    if df.duplicated(KEYS).any():
        raise ValueError("table has several rows for one (dataset, fraction, backbone): aggregate seeds first")
    return df


def rank_correlations(df: pd.DataFrame) -> pd.DataFrame:
    """Spearman and Kendall rank correlation of the backbones' accuracies between every pair of fractions.

    One row per (dataset, fraction_a, fraction_b) with the number of backbones both fractions share.
    A correlation near 1 means the ranking is kept when the data shrinks.
    """
    df = _check(df)
    rows = []
    for dataset, part in df.groupby("dataset"):
        wide = part.pivot(index="backbone", columns="fraction", values="top1")
        for a, b in combinations(sorted(wide.columns, reverse=True), 2):
            pair = wide[[a, b]].dropna()
            if len(pair) < 3:
                continue
            rho, p_rho = stats.spearmanr(pair[a], pair[b])
            tau, p_tau = stats.kendalltau(pair[a], pair[b])
            rows.append({"dataset": dataset, "fraction_a": a, "fraction_b": b, "backbones": len(pair),
                         "spearman": rho, "spearman_p": p_rho, "kendall": tau, "kendall_p": p_tau})
    return pd.DataFrame(rows, columns=["dataset", "fraction_a", "fraction_b", "backbones",
                                       "spearman", "spearman_p", "kendall", "kendall_p"])


def top_k(df: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The k best backbones per (dataset, fraction), best first (ties broken by name for stability)."""
    df = _check(df)
    ordered = df.sort_values(["dataset", "fraction", "top1", "backbone"], ascending=[True, False, False, True])
    return ordered.groupby(["dataset", "fraction"], sort=False).head(k).reset_index(drop=True)


def top_k_retention(df: pd.DataFrame, k: int = 3, reference: float = 1.0) -> pd.DataFrame:
    """How many of the top-k backbones at the ``reference`` fraction are still top-k at each smaller fraction.

    The paper's claim "the top models keep their lead with less data" predicts retention close to k.
    """
    best = top_k(df, k)
    rows = []
    for dataset, part in best.groupby("dataset"):
        ref = set(part.loc[part.fraction == reference, "backbone"])
        if not ref:
            continue
        for fraction, sub in part[part.fraction != reference].groupby("fraction"):
            kept = ref & set(sub.backbone)
            rows.append({"dataset": dataset, "fraction": fraction, "k": k, "kept": len(kept),
                         "top_at_reference": ", ".join(sorted(ref)), "top_here": ", ".join(sub.backbone),
                         "kept_backbones": ", ".join(sorted(kept))})
    return pd.DataFrame(rows, columns=["dataset", "fraction", "k", "kept", "top_at_reference", "top_here",
                                       "kept_backbones"])


def spread(df: pd.DataFrame) -> pd.DataFrame:
    """Gap between the best and the third-best backbone per (dataset, fraction): the paper says it shrinks
    as the data grows (its Figures 1-2)."""
    best = top_k(df, 3)
    out = best.groupby(["dataset", "fraction"]).top1.agg(best="max", third="min", n="size").reset_index()
    out = out[out.n == 3].drop(columns="n")
    out["gap_best_to_third"] = out["best"] - out["third"]
    return out.sort_values(["dataset", "fraction"]).reset_index(drop=True)


def plot_accuracy_vs_images(df: pd.DataFrame, images_per_fraction, ax=None, title: str | None = None,
                            chance: float | None = None):
    """Accuracy against the number of training images (log x), one line per backbone, like the paper's
    Figures 1-2. ``images_per_fraction(dataset, fraction) -> int`` supplies the x values; ``chance`` (percent)
    draws the accuracy of guessing as a dashed line."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = _check(df).copy()
    df["training images"] = [images_per_fraction(d, f) for d, f in zip(df.dataset, df.fraction)]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sns.lineplot(data=df, x="training images", y="top1", hue="backbone", marker="o", ax=ax)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_ylabel("test top-1 (%)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="x-small", ncol=2)
    return ax


# ------------------------------------------------------------------------ chance, ranks, training images

def retention_vs_chance(df: pd.DataFrame, k: int = 3, reference: float | None = 1.0) -> pd.DataFrame:
    """Top-k retention next to what a random re-ranking would keep.

    If the ranking at the smaller fraction had nothing to do with the one at ``reference``, the number of the
    reference top k found in the new top k would follow a hypergeometric law (population = backbones, k marked,
    k drawn): on average k*k/n are kept. ``p_chance`` is the chance of keeping at least as many at random.
    ``tied_at_cutoff`` flags a tie between the k-th and (k+1)-th accuracy at either fraction, where the top k
    (ties broken by name) is not well defined. ``reference=None`` uses each dataset's largest fraction.
    """
    df = _check(df)
    rows = []
    for dataset, part in df.groupby("dataset"):
        ref = part.fraction.max() if reference is None else reference
        wide = part.pivot(index="backbone", columns="fraction", values="top1")
        if ref not in wide.columns:
            continue
        for fraction in sorted((f for f in wide.columns if f != ref), reverse=True):
            pair = wide[[ref, fraction]].dropna()
            n = len(pair)
            if n <= k:
                continue
            both = pair.reset_index().melt(id_vars="backbone", var_name="fraction", value_name="top1")
            kept = int(top_k_retention(both.assign(dataset=dataset), k=k, reference=ref).kept.iloc[0])
            rows.append({"dataset": dataset, "reference": ref, "fraction": fraction, "backbones": n, "k": k,
                         "kept": kept, "chance_kept": k * k / n,
                         "p_chance": float(stats.hypergeom.sf(kept - 1, n, k, k)),
                         "tied_at_cutoff": _tied_at(pair[ref], k) or _tied_at(pair[fraction], k)})
    return pd.DataFrame(rows, columns=["dataset", "reference", "fraction", "backbones", "k", "kept", "chance_kept",
                                       "p_chance", "tied_at_cutoff"])


def _tied_at(values: pd.Series, k: int) -> bool:
    ordered = values.sort_values(ascending=False).to_numpy()
    return len(ordered) > k and ordered[k - 1] == ordered[k]


def ranks(df: pd.DataFrame) -> pd.DataFrame:
    """Rank of every backbone (1 = best; tied backbones share the better rank) per (dataset, fraction), one column each."""
    df = _check(df).copy()
    df["rank"] = df.groupby(["dataset", "fraction"]).top1.rank(ascending=False, method="min").astype(int)
    wide = df.pivot(index="backbone", columns=["dataset", "fraction"], values="rank")
    return wide.reindex(columns=sorted(wide.columns, key=lambda c: (c[0], -c[1])))


def paper_training_images() -> pd.DataFrame:
    """The training-image counts printed in the headers of the paper's Tables 7-8 (dataset, fraction, images).

    The figure captions disagree for Tiny ImageNet (chapter 6 lists it); the table headers are used.
    """
    from lib import paper

    counts = paper.training_counts()
    counts = counts[counts["where"].str.startswith("Table")]
    return counts[["dataset", "fraction", "train_images"]].drop_duplicates(["dataset", "fraction"]).reset_index(
        drop=True)


def from_records(records: pd.DataFrame) -> pd.DataFrame:
    """Our run records (``lib.results.to_frame`` / ``load_records``) as the long table this module analyses.

    One row per (backbone, dataset, fraction): the best test top-1 over seeds (the paper's rule), the number of
    seeds, and the training images actually used (from the record's split sizes). Records of several profiles,
    image sizes or weights are refused: they are different experiments and must not be ranked together.
    """
    from lib.results import summarise

    columns = ["source", "backbone", "dataset", "fraction", "top1", "n_seeds", "train_images"]
    if records.empty:
        return pd.DataFrame(columns=columns)
    setups = records[["profile", "pretrained", "image_size"]].drop_duplicates()
    if len(setups) > 1:
        raise ValueError(f"records mix {len(setups)} setups (profile, weights, image size): "
                         f"{setups.to_dict('records')}; pass the records of one setup")
    best = summarise(records).rename(columns={"test_top1_best": "top1"})
    images = records.assign(train_images=[s["train"] for s in records["split_sizes"]])
    images = images.groupby(["dataset", "fraction"]).train_images.median().round().astype(int).reset_index()
    out = best.merge(images, on=["dataset", "fraction"], how="left").assign(source="ours")
    return out[columns].sort_values(["dataset", "fraction", "top1"], ascending=[True, False, False]).reset_index(
        drop=True)


def images_lookup(counts: pd.DataFrame):
    """A ``(dataset, fraction) -> training images`` function over a table with those three columns (for
    :func:`plot_accuracy_vs_images`); a missing pair is an error, never a guess."""
    table = {(d, float(f)): int(n) for d, f, n in zip(counts.dataset, counts.fraction, counts.train_images)}

    def images(dataset: str, fraction: float) -> int:
        try:
            return table[(dataset, float(fraction))]
        except KeyError:
            raise KeyError(f"no training-image count for {dataset} at fraction {fraction}; "
                           f"known: {sorted(table)}") from None

    return images


# Chapter 6's thresholds for "most of the top models keep their lead" (lib.findings.check_top_models_keep_lead).
SUPPORTED_SHARE, PARTLY_SHARE = 2 / 3, 1 / 3


def keep_lead(df: pd.DataFrame, k: int = 3, reference: float | None = None) -> dict:
    """The paper's claim "the top models keep their lead with less data" as one computed verdict.

    Over every (dataset, smaller fraction) pair: the average share of the top k at the ``reference`` fraction
    (None = each dataset's largest) still in the top k; *supported* from two thirds, *partly supported* from one
    third, else *not supported* -- chapter 6's rule, which fixes the reference at 100 %. Beside it: pairs whose
    retention beats a random re-ranking at the 5 % level, pairs tied at the cut-off, and the median Spearman rho
    between the reference ranking and the smaller fraction's. *no data* when no pair has more than k backbones.
    """
    kept = retention_vs_chance(df, k=k, reference=reference)
    out = {"verdict": "no data", "pairs": len(kept), "mean_kept": np.nan, "share_kept": np.nan,
           "above_chance": 0, "tied_pairs": 0, "median_spearman": np.nan}
    if kept.empty:
        return out
    corr = rank_correlations(df).merge(kept[["dataset", "reference", "fraction"]],
                                       left_on=["dataset", "fraction_a", "fraction_b"],
                                       right_on=["dataset", "reference", "fraction"])
    share = float(kept.kept.mean() / k)
    verdict = ("supported" if share >= SUPPORTED_SHARE else "partly supported" if share >= PARTLY_SHARE
               else "not supported")
    return {**out, "verdict": verdict, "mean_kept": float(kept.kept.mean()), "share_kept": share,
            "above_chance": int((kept.p_chance < 0.05).sum()), "tied_pairs": int(kept.tied_at_cutoff.sum()),
            "median_spearman": float(corr.spearman.median()) if len(corr) else np.nan}
