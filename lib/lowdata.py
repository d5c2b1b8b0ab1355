"""Low-data analysis (chapter 4): does the ranking of backbones survive less training data?

Works on any long table with columns ``backbone``, ``dataset``, ``fraction``, ``top1`` -- the paper's
Tables 7-8 (``lib.paper``) or this book's own records (``lib.results``) -- so both are analysed by the
same code and shown side by side.
"""
from __future__ import annotations

from itertools import combinations

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


def plot_accuracy_vs_images(df: pd.DataFrame, images_per_fraction, ax=None, title: str | None = None):
    """Accuracy against the number of training images (log x), one line per backbone, like the paper's
    Figures 1-2. ``images_per_fraction(dataset, fraction) -> int`` supplies the x values."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = _check(df).copy()
    df["training images"] = [images_per_fraction(d, f) for d, f in zip(df.dataset, df.fraction)]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sns.lineplot(data=df, x="training images", y="top1", hue="backbone", marker="o", ax=ax)
    ax.set_xscale("log")
    ax.set_ylabel("test top-1 (%)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="x-small", ncol=2)
    return ax
