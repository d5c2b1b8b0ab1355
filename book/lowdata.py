"""Low-data analysis (chapter 4): does the ranking of backbones survive less training data?

Works on any long table with columns ``backbone``, ``dataset``, ``fraction``, ``top1`` -- the paper's
Tables 7-8 (``lib.paper``) or this book's own records (``lib.results``) -- so both are analysed by the
same code and shown side by side.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from book.verdicts import SUPPORTED, PARTLY_SUPPORTED, NOT_SUPPORTED, WITHIN_NOISE, NOT_CHECKABLE

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
    """Accuracy against the number of training images (log x), one line per backbone in the book's palette
    (``book.present``), like the paper's Figures 1-2. ``images_per_fraction(dataset, fraction) -> int`` supplies
    the x values; ``chance`` (percent) draws the accuracy of guessing as a dashed line. The ticks are the image
    counts themselves (no crowded log ticks); the legend is the figure's (:func:`accuracy_figure`)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    from book import present

    df = _check(df).copy()
    df["training images"] = [images_per_fraction(d, f) for d, f in zip(df.dataset, df.fraction)]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    present.labelled_lines(ax, _backbone_order(df), "training images", "top1", marker="o", markersize=4)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", linewidth=1, label="chance (guessing)")
    ax.set_xscale("log")
    ticks = sorted(df["training images"].unique())
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("test top-1 (%)")
    if title:
        ax.set_title(title)
    return ax


def accuracy_figure(panels):
    """The paper's Figures 1-2 for every panel ``(title, frame, images_per_fraction, chance)`` side by side, each
    backbone in its one colour in every panel, with one legend for the whole figure below the panels."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(2.9 * len(panels), 3.3), squeeze=False)
    for ax, (title, frame, images, chance) in zip(axes[0], panels):
        plot_accuracy_vs_images(frame, images, ax=ax, title=title, chance=chance)
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.tight_layout()
    fig.legend(handles.values(), handles.keys(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4,
               fontsize="small", frameon=False)
    return fig


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


def _one_setup(records: pd.DataFrame) -> pd.DataFrame:
    setups = records[["profile", "pretrained", "image_size"]].drop_duplicates()
    if len(setups) > 1:
        raise ValueError(f"records mix {len(setups)} setups (profile, weights, image size): "
                         f"{setups.to_dict('records')}; pass the records of one setup")
    return records


def from_records(records: pd.DataFrame) -> pd.DataFrame:
    """Our run records (``lib.results.to_frame`` / ``load_records``) as the long table this module analyses.

    One row per (backbone, dataset, fraction): ``top1`` is the mean test top-1 over seeds (what ours are ranked
    by), ``top1_ci95`` the half-width of its 95 % interval (NaN with one seed), ``top1_best`` the best seed (the
    paper's rule), the number of seeds, and the training images actually used (from the record's split sizes).
    Records of several profiles, image sizes or weights are refused: they are different experiments and must not
    be ranked together.
    """
    from lib.results import summarise

    columns = ["source", "backbone", "dataset", "fraction", "top1", "top1_ci95", "top1_best", "n_seeds",
               "train_images"]
    if records.empty:
        return pd.DataFrame(columns=columns)
    cells = summarise(_one_setup(records)).rename(columns={
        "test_top1_mean": "top1", "test_top1_ci95": "top1_ci95", "test_top1_best": "top1_best"})
    images = records.assign(train_images=[s["train"] for s in records["split_sizes"]])
    images = images.groupby(["dataset", "fraction"]).train_images.median().round().astype(int).reset_index()
    out = cells.merge(images, on=["dataset", "fraction"], how="left").assign(source="ours")
    return out[columns].sort_values(["dataset", "fraction", "top1"], ascending=[True, False, False]).reset_index(
        drop=True)


def seed_table(records: pd.DataFrame) -> pd.DataFrame:
    """Our run records as one row per run (backbone, dataset, fraction, seed, top1): the input of the bootstrap
    intervals below. Records of several setups are refused, as in :func:`from_records`."""
    columns = ["backbone", "dataset", "fraction", "seed", "top1"]
    if records.empty:
        return pd.DataFrame(columns=columns)
    return _one_setup(records).rename(columns={"test_top1": "top1"})[columns].reset_index(drop=True)


def mean_ci_table(ours: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """Ours as ``mean ± half-width of the 95 % interval`` over seeds, one row per backbone and one column per
    (dataset, fraction), largest fraction first; a cell with one seed says so instead of an interval."""
    if ours.empty:
        return pd.DataFrame()

    def cell(row) -> str:
        if row.n_seeds < 2 or pd.isna(row.top1_ci95):
            return f"{row.top1:.{digits}f} (1 seed)"
        return f"{row.top1:.{digits}f} ± {row.top1_ci95:.{digits}f}"

    shown = ours.assign(cell=[cell(r) for r in ours.itertuples()])
    wide = shown.pivot(index="backbone", columns=["dataset", "fraction"], values="cell")
    return wide.reindex(columns=sorted(wide.columns, key=lambda c: (c[0], -c[1])))


# ------------------------------------------------------------------------ how our fractions map to the paper's

# Issue 17: the smallest fraction of the workshop's grid keeps at least this many training images per class (the
# paper's 1 % of digits is about one image per class, which no backbone can learn a class from).
MIN_TO_LEARN = 5


def images_per_class(dataset: str, fractions, root=None) -> pd.DataFrame:
    """Training images per class at each fraction, as ``lib.data.load`` draws them (labels only, nothing is
    decoded): one row per fraction with the total and the smallest and largest class."""
    from lib import data

    rows = []
    for fraction in sorted({float(f) for f in fractions}, reverse=True):
        train = data.load(dataset, root, fraction=fraction, seed=0, cache=False, progress=False).train
        counts = np.bincount(np.asarray(train.targets), minlength=len(train.classes))
        rows.append({"dataset": dataset, "fraction": fraction, "train_images": len(train),
                     "per_class_min": int(counts.min()), "per_class_max": int(counts.max())})
    return pd.DataFrame(rows, columns=["dataset", "fraction", "train_images", "per_class_min", "per_class_max"])


def fraction_mapping(counts: pd.DataFrame, ours, theirs) -> pd.DataFrame:
    """Which of our fractions is which of the paper's: one row per (dataset, share) in either grid, with the
    training images per class at that share (``counts`` from :func:`images_per_class`) and whether it keeps
    :data:`MIN_TO_LEARN`. A share is the same experiment in both when the fraction is equal (both are
    stratified shares of the whole training part)."""
    ours, theirs = {float(f) for f in ours}, {float(f) for f in theirs}
    out = counts.assign(ours=counts.fraction.isin(ours), paper=counts.fraction.isin(theirs))
    out = out[out.ours | out.paper]
    out["enough_per_class"] = out.per_class_min >= MIN_TO_LEARN
    return out.sort_values(["dataset", "fraction"], ascending=[True, False]).reset_index(drop=True)


def _share(fraction: float) -> str:
    return f"{100 * fraction:g} %"


def per_class_text(row) -> str:
    """A row's images per class as prose: "14-15 images per class", "1 image per class"."""
    lo, hi = row.per_class_min, row.per_class_max
    span = f"{lo}" if lo == hi else f"{lo}-{hi}"
    return f"{span} image{'' if hi == 1 else 's'} per class"


def describe_mapping(mapping: pd.DataFrame, dataset_names: dict | None = None) -> str:
    """One markdown bullet per dataset saying which of our fractions is which of the paper's, with the images
    per class each keeps; a share below :data:`MIN_TO_LEARN` per class is flagged."""
    bullets = []
    for dataset, part in mapping.groupby("dataset", sort=True):
        name = (dataset_names or {}).get(dataset, dataset)
        parts = []
        for row in part.itertuples():
            share, per_class = _share(row.fraction), per_class_text(row)
            low = "" if row.enough_per_class else f", below the {MIN_TO_LEARN} per class a fraction must keep"
            if row.ours and row.paper:
                parts.append(f"our {share} is the paper's {share} (the same share: {per_class}{low})")
            elif row.paper:
                parts.append(f"the paper's {share} has no counterpart in our grid (it would be {per_class}{low})")
            else:
                parts.append(f"our {share} has no counterpart in the paper ({per_class}{low})")
        bullets.append(f"- {name}: " + "; ".join(parts) + ".")
    return "\n".join(bullets)


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


# Chapter 6's thresholds for "most of the top models keep their lead" (book.findings.check_top_models_keep_lead).
SUPPORTED_SHARE, PARTLY_SHARE = 2 / 3, 1 / 3


def keep_lead(df: pd.DataFrame, k: int = 3, reference: float | None = None) -> dict:
    """The paper's claim "the top models keep their lead with less data" as one computed verdict.

    Over every (dataset, smaller fraction) pair: the average share of the top k at the ``reference`` fraction
    (None = each dataset's largest) still in the top k; *supported* from two thirds, *partly supported* from one
    third, else *not supported* -- chapter 6's rule, which fixes the reference at 100 %. Beside it: pairs whose
    retention beats a random re-ranking at the 5 % level, pairs tied at the cut-off, and the median Spearman rho
    between the reference ranking and the smaller fraction's. *not checkable* when no pair has more than k backbones.
    """
    kept = retention_vs_chance(df, k=k, reference=reference)
    out = {"verdict": NOT_CHECKABLE, "pairs": len(kept), "mean_kept": np.nan, "share_kept": np.nan,
           "above_chance": 0, "tied_pairs": 0, "median_spearman": np.nan}
    if kept.empty:
        return out
    corr = rank_correlations(df).merge(kept[["dataset", "reference", "fraction"]],
                                       left_on=["dataset", "fraction_a", "fraction_b"],
                                       right_on=["dataset", "reference", "fraction"])
    share = float(kept.kept.mean() / k)
    return {**out, "verdict": _verdict(share), "mean_kept": float(kept.kept.mean()), "share_kept": share,
            "above_chance": int((kept.p_chance < 0.05).sum()), "tied_pairs": int(kept.tied_at_cutoff.sum()),
            "median_spearman": float(corr.spearman.median()) if len(corr) else np.nan}


# ------------------------------------------------------------------------ bootstrap intervals over seeds

N_RESAMPLES, LEVEL = 2000, 0.95
NO_INTERVAL = "no interval: one seed per cell"


@dataclass
class _Resampled:
    """One dataset's cells: backbones (sorted by name, which breaks ties), fractions (largest first), the mean
    over seeds ``point[f, b]``, ``draws[f, r, b]`` the mean of a resample of the seeds, and the fewest seeds."""

    backbones: list
    fractions: list
    point: np.ndarray
    draws: np.ndarray
    min_seeds: int


def _resample(seeds: pd.DataFrame, n_resamples: int, seed: int) -> dict[str, _Resampled]:
    """Per dataset, every (backbone, fraction) cell's seeds resampled with replacement ``n_resamples`` times,
    independently per cell, and averaged (the seeded generator makes the intervals reproducible)."""
    missing = {"backbone", "dataset", "fraction", "seed", "top1"} - set(seeds.columns)
    if missing:
        raise ValueError(f"seed table lacks column(s) {sorted(missing)}; need backbone, dataset, fraction, seed, "
                         f"top1 (book.lowdata.seed_table)")
    if seeds.duplicated(["dataset", "fraction", "backbone", "seed"]).any():
        raise ValueError("seed table has several rows for one (dataset, fraction, backbone, seed): pass one "
                         "record per run")
    if n_resamples < 1:
        raise ValueError(f"n_resamples={n_resamples} must be at least 1; the book uses {N_RESAMPLES}")
    rng = np.random.default_rng(seed)
    out = {}
    for dataset, part in seeds.groupby("dataset", sort=True):
        backbones = sorted(part.backbone.unique())
        fractions = sorted(part.fraction.unique(), reverse=True)
        point = np.full((len(fractions), len(backbones)), np.nan)
        draws = np.full((len(fractions), n_resamples, len(backbones)), np.nan)
        cells = part.groupby(["fraction", "backbone"]).top1
        for (fraction, backbone), values in cells:
            f, b = fractions.index(fraction), backbones.index(backbone)
            values = values.to_numpy(dtype=float)
            point[f, b] = values.mean()
            draws[f, :, b] = values[rng.integers(0, len(values), size=(n_resamples, len(values)))].mean(axis=1)
        out[dataset] = _Resampled(backbones, fractions, point, draws, int(cells.size().min()))
    return out


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho between ``a[r]`` and ``b[r]`` for every row (average ranks on ties; NaN where a row is
    constant)."""
    ra, rb = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    ra, rb = ra - ra.mean(axis=1, keepdims=True), rb - rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(axis=1) / np.where(denom > 0, denom, 1), np.nan)


def _kept_rows(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """How many of each row's top k in ``a`` are in its top k in ``b`` (columns are in name order, so a stable
    sort breaks ties by name, as :func:`top_k` does)."""
    def top(x):
        mask = np.zeros(x.shape, dtype=bool)
        np.put_along_axis(mask, np.argsort(-x, axis=1, kind="stable")[:, :k], True, axis=1)
        return mask
    return (top(a) & top(b)).sum(axis=1)


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return np.nan, np.nan
    tail = 100 * (1 - level) / 2
    return float(np.percentile(samples, tail)), float(np.percentile(samples, 100 - tail))


def _pairs(cells: _Resampled, reference: float | None = None):
    """(a, b, column mask) for every pair of fractions, larger first, over the backbones both fractions have;
    with ``reference`` only the pairs (reference, smaller fraction)."""
    for i, j in combinations(range(len(cells.fractions)), 2):
        if reference is not None and cells.fractions[i] != reference:
            continue
        shared = ~np.isnan(cells.point[i]) & ~np.isnan(cells.point[j])
        yield i, j, shared


def _reading(low: float, high: float, null: float, above: str, below: str, noise: str) -> str:
    if np.isnan(low):
        return NO_INTERVAL
    return above if low > null else below if high < null else noise


def rank_correlation_intervals(seeds: pd.DataFrame, n_resamples: int = N_RESAMPLES, seed: int = 0,
                               level: float = LEVEL) -> pd.DataFrame:
    """Spearman's rho between the rankings (mean over seeds) at every pair of fractions, with a bootstrap interval
    over seeds: each cell's seeds are resampled with replacement, rho is recomputed, and the ``level`` interval is
    read from the percentiles. ``reading`` says whether the interval excludes 0 (no relation) or the ranking is
    within noise of it. With one seed in a cell there is nothing to resample: the interval is NaN and
    ``reading`` says so."""
    columns = ["dataset", "fraction_a", "fraction_b", "backbones", "min_seeds", "spearman", "spearman_low",
               "spearman_high", "reading"]
    rows = []
    for dataset, cells in _resample(seeds, n_resamples, seed).items():
        for i, j, shared in _pairs(cells):
            if shared.sum() < 3:
                continue
            rho = float(_spearman_rows(cells.point[i][None, shared], cells.point[j][None, shared])[0])
            low, high = (_interval(_spearman_rows(cells.draws[i][:, shared], cells.draws[j][:, shared]), level)
                         if cells.min_seeds >= 2 else (np.nan, np.nan))
            rows.append({"dataset": dataset, "fraction_a": cells.fractions[i], "fraction_b": cells.fractions[j],
                         "backbones": int(shared.sum()), "min_seeds": cells.min_seeds, "spearman": rho,
                         "spearman_low": low, "spearman_high": high,
                         "reading": _reading(low, high, 0.0, "ranking kept (interval above 0)",
                                             "ranking reversed (interval below 0)", "within noise of no relation")})
    return pd.DataFrame(rows, columns=columns)


def _beats_chance(kept: float, n: int, k: int) -> bool:
    return bool(stats.hypergeom.sf(kept - 1, n, k, k) < 0.05)


def retention_intervals(seeds: pd.DataFrame, k: int = 3, reference: float | None = None,
                        n_resamples: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL) -> pd.DataFrame:
    """Top-k retention (:func:`retention_vs_chance` on the means over seeds) with a bootstrap interval of the
    count kept. ``reading``: *above chance* when every count in the interval beats a random re-ranking at the
    5 % level, *not above chance* when none does, *within noise* when the interval holds both."""
    columns = ["dataset", "reference", "fraction", "backbones", "k", "kept", "kept_low", "kept_high",
               "chance_kept", "reading"]
    rows = []
    for dataset, cells in _resample(seeds, n_resamples, seed).items():
        ref = cells.fractions[0] if reference is None else reference
        for i, j, shared in _pairs(cells, ref):
            n = int(shared.sum())
            if n <= k:
                continue
            kept = int(_kept_rows(cells.point[i][None, shared], cells.point[j][None, shared], k)[0])
            low, high = (_interval(_kept_rows(cells.draws[i][:, shared], cells.draws[j][:, shared], k)
                                   .astype(float), level) if cells.min_seeds >= 2 else (np.nan, np.nan))
            reading = NO_INTERVAL if np.isnan(low) else (
                "above chance" if _beats_chance(low, n, k) else
                "not above chance" if not _beats_chance(high, n, k) else WITHIN_NOISE)
            rows.append({"dataset": dataset, "reference": ref, "fraction": cells.fractions[j], "backbones": n,
                         "k": k, "kept": kept, "kept_low": low, "kept_high": high, "chance_kept": k * k / n,
                         "reading": reading})
    return pd.DataFrame(rows, columns=columns)


def _verdict(share: float) -> str:
    return (SUPPORTED if share >= SUPPORTED_SHARE else PARTLY_SUPPORTED if share >= PARTLY_SHARE
            else NOT_SUPPORTED)


def keep_lead_interval(seeds: pd.DataFrame, k: int = 3, reference: float | None = None,
                       n_resamples: int = N_RESAMPLES, seed: int = 0, level: float = LEVEL) -> dict:
    """:func:`keep_lead`'s share of the top k kept, on the means over seeds, with a bootstrap interval (the share
    recomputed over all pairs in each resample). ``reading`` is the verdict, and *within noise* of another
    verdict when the interval reaches across one of chapter 6's thresholds."""
    out = {"verdict": NOT_CHECKABLE, "share_kept": np.nan, "share_low": np.nan, "share_high": np.nan,
           "reading": NOT_CHECKABLE}
    shares, points, min_seeds = [], [], []
    for cells in _resample(seeds, n_resamples, seed).values():
        ref = cells.fractions[0] if reference is None else reference
        for i, j, shared in _pairs(cells, ref):
            if shared.sum() <= k:
                continue
            points.append(_kept_rows(cells.point[i][None, shared], cells.point[j][None, shared], k)[0] / k)
            shares.append(_kept_rows(cells.draws[i][:, shared], cells.draws[j][:, shared], k) / k)
            min_seeds.append(cells.min_seeds)
    if not points:
        return out
    share = float(np.mean(points))
    out.update(verdict=_verdict(share), share_kept=share)
    if min(min_seeds) < 2:
        return {**out, "reading": f"{out['verdict']} ({NO_INTERVAL})"}
    low, high = _interval(np.mean(shares, axis=0), level)
    ends = {_verdict(low), _verdict(high)}
    reading = (f"{out['verdict']} (the interval stays there)" if ends == {out["verdict"]} else
               f"{out['verdict']}, {WITHIN_NOISE} (the interval reaches from {_verdict(low)} to {_verdict(high)})")
    return {**out, "share_low": low, "share_high": high, "reading": reading}


def describe_rank_intervals(intervals: pd.DataFrame) -> str:
    """:func:`rank_correlation_intervals` as a sentence for the prose: rho and its interval per pair of fractions."""
    if intervals.empty:
        return "no pair of fractions shares three backbones, so there is no ranking to compare"
    parts = []
    for row in intervals.itertuples():
        pair = f"{_share(row.fraction_a)} vs {_share(row.fraction_b)}"
        if np.isnan(row.spearman_low):
            parts.append(f"{pair}: ρ {row.spearman:.2f}, {row.reading}")
        else:
            parts.append(f"{pair}: ρ {row.spearman:.2f}, 95 % interval {row.spearman_low:.2f} to "
                         f"{row.spearman_high:.2f}, {row.reading}")
    return "; ".join(parts)


# ------------------------------------------------------------------------ what chapter 4 shows a reader
#
# Frames for ``book.present.table``: code ids stay in ``backbone`` / ``dataset`` columns (present shows display
# names), a fraction is shown as a share ("10 %"), a pair of fractions as "100 % vs 10 %", and no frame has an
# index a reader would have to decode.

def share(fraction: float) -> str:
    """A training fraction as a reader reads it: ``0.1`` -> ``10 %``."""
    return _share(float(fraction))


def _pair(a: float, b: float) -> str:
    return f"{share(a)} vs {share(b)}"


def _backbone_order(frame: pd.DataFrame) -> pd.DataFrame:
    from lib import models

    order = {name: i for i, name in enumerate(models.names())}
    return frame.sort_values("backbone", key=lambda s: s.map(lambda b: order.get(b, len(order))), kind="stable")


def shown_mapping(mapping: pd.DataFrame) -> pd.DataFrame:
    """:func:`fraction_mapping` with the fraction as a share, for ``present.table``."""
    return mapping.assign(share=mapping.fraction.map(share))[
        ["dataset", "share", "train_images", "per_class_min", "per_class_max", "ours", "paper"]]


def shown_mean_ci(ours: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """:func:`mean_ci_table` flat: one row per backbone (registry order), one column per dataset and share
    ("Digits, 10 %"), so that no index or two-level header reaches the page."""
    from book import present

    wide = mean_ci_table(ours, digits)
    if wide.empty:
        return pd.DataFrame(columns=["backbone"])
    wide.columns = [f"{present.dataset_name(d)}, {share(f)}" for d, f in wide.columns]
    return _backbone_order(wide.rename_axis(None, axis=1).reset_index())


def cost_per_fraction(records: pd.DataFrame) -> pd.DataFrame:
    """What the runs cost per training share (ours, from each record): runs, training images, epochs and the
    minutes of training measured (largest share first)."""
    columns = ["share", "runs", "train_images", "epochs", "minutes"]
    if records.empty:
        return pd.DataFrame(columns=columns)
    cost = records.groupby("fraction").agg(
        runs=("run_key", "size"), train_images=("split_sizes", lambda s: s.iloc[0]["train"]),
        epochs=("history", lambda h: int(h.map(len).sum())),
        minutes=("wall_time_s", lambda s: s.sum() / 60)).sort_index(ascending=False).reset_index()
    return cost.assign(share=cost.fraction.map(share))[columns]


def shown_comparison(side: pd.DataFrame) -> pd.DataFrame:
    """Ours beside the paper's Tables 7-8 (``lib.results.compare_with_paper``) for a reader: the paper's columns
    only when at least one row has a paper value (the prose says once which datasets have none)."""
    from lib import models

    order = {name: i for i, name in enumerate(models.names())}
    out = side.assign(share=side.fraction.map(share), _order=side.backbone.map(lambda b: order.get(b, len(order))))
    columns = ["backbone", "dataset", "share", "test_top1_mean", "test_top1_ci95", "ours_top1"]
    if out["paper_top1"].notna().any():
        columns += ["paper_top1", "delta"]
    if out["dataset"].nunique() == 1:
        columns.remove("dataset")  # one dataset: the prose names it, every row would repeat it
    if "departs" in out.columns and out["departs"].fillna("").ne("").any():
        columns.append("departs")   # a rehearsal or capped run, labelled on its row
    out = out.sort_values(["dataset", "fraction", "_order"], ascending=[True, False, True])
    return out[columns].reset_index(drop=True)


COMPARISON_NAMES = {"departs": "departs from the paper's protocol", "share": "training share", "test_top1_mean": "ours: mean", "test_top1_ci95": "ours: ± 95 %",
                    "ours_top1": "ours: best seed", "paper_top1": "paper: best of 3", "delta": "best − paper"}


def shown_rank_intervals(intervals: pd.DataFrame) -> pd.DataFrame:
    """:func:`rank_correlation_intervals` for a reader: the pair of shares, rho, its interval in words, the
    reading."""
    def interval(row) -> str:
        return "–" if np.isnan(row.spearman_low) else f"{row.spearman_low:.2f} to {row.spearman_high:.2f}"

    return pd.DataFrame({"dataset": intervals.dataset,
                         "fractions": [_pair(a, b) for a, b in zip(intervals.fraction_a, intervals.fraction_b)],
                         "spearman": intervals.spearman,
                         "interval": [interval(r) for r in intervals.itertuples()],
                         "reading": intervals.reading})


def shown_correlations(corr: pd.DataFrame) -> pd.DataFrame:
    """:func:`rank_correlations` of several sources (a ``source`` column) for a reader."""
    return pd.DataFrame({"source": corr.source, "dataset": corr.dataset,
                         "fractions": [_pair(a, b) for a, b in zip(corr.fraction_a, corr.fraction_b)],
                         "spearman": corr.spearman, "spearman_p": corr.spearman_p.map(p_text),
                         "kendall": corr.kendall, "kendall_p": corr.kendall_p.map(p_text)})


def rank_paths(df: pd.DataFrame) -> pd.DataFrame:
    """Each backbone's rank (1 = best) per dataset as one path from the largest share to the smallest,
    ``"10 → 9 → 7"``: one column per dataset (its display name), one row per backbone (registry order)."""
    from book import present

    wide = ranks(df)
    out = pd.DataFrame(index=wide.index)
    for dataset in dict.fromkeys(d for d, _ in wide.columns):
        part = wide[dataset]
        out[present.dataset_name(dataset)] = [" → ".join("–" if pd.isna(v) else str(int(v)) for v in row)
                                              for row in part.to_numpy()]
    return _backbone_order(out.rename_axis("backbone").reset_index())


def shown_retention(retention: pd.DataFrame) -> pd.DataFrame:
    """:func:`retention_vs_chance` of several sources (a ``source`` column) for a reader."""
    return pd.DataFrame({"source": retention.source, "dataset": retention.dataset,
                         "fractions": [_pair(a, b) for a, b in zip(retention.reference, retention.fraction)],
                         "kept": retention.kept, "chance_kept": retention.chance_kept,
                         "p_chance": retention.p_chance.map(p_text),
                         "tied_at_cutoff": retention.tied_at_cutoff})


def shown_retention_intervals(kept: pd.DataFrame) -> pd.DataFrame:
    """:func:`retention_intervals` for a reader: the count kept, its interval, the reading."""
    return pd.DataFrame({"dataset": kept.dataset,
                         "fractions": [_pair(a, b) for a, b in zip(kept.reference, kept.fraction)],
                         "kept": kept.kept,
                         "interval": ["–" if np.isnan(lo) else f"{lo:.0f} to {hi:.0f}"
                                      for lo, hi in zip(kept.kept_low, kept.kept_high)],
                         "reading": kept.reading})


def verdict_rows(leads: dict[str, dict], verdicts: dict[str, str] | None = None) -> pd.DataFrame:
    """:func:`keep_lead` results side by side, one row per source. ``verdicts`` replaces a source's verdict (ours:
    chapter 6's verdict with the seeds' noise, ``book.findings.low_data_verdict``), so a page never shows two."""
    rows = []
    for source, lead in leads.items():
        rows.append({"source": source, "verdict": (verdicts or {}).get(source, lead["verdict"]),
                     "pairs": lead["pairs"], "share_kept": lead["share_kept"],
                     "above_chance": lead["above_chance"], "tied_pairs": lead["tied_pairs"],
                     "median_spearman": lead["median_spearman"]})
    return pd.DataFrame(rows)


VERDICT_NAMES = {"pairs": "pairs", "share_kept": "share of top k kept", "above_chance": "above chance",
                 "tied_pairs": "tied at cut-off", "median_spearman": "median ρ"}


def describe_share_interval(lead: dict) -> str:
    """:func:`keep_lead_interval` as words: the share of the top k kept on the means, and its bootstrap interval
    over seeds (no verdict: the page's one verdict on ours is chapter 6's)."""
    if np.isnan(lead["share_kept"]):
        return "not computable (no pair of fractions with more backbones than the top group)"
    if np.isnan(lead["share_low"]):
        return f"{lead['share_kept']:.2f} on the means ({NO_INTERVAL})"
    return (f"{lead['share_kept']:.2f} on the means, with a bootstrap interval over seeds of "
            f"{lead['share_low']:.2f} to {lead['share_high']:.2f}")


def gap_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """:func:`spread` of several sources (a ``source`` column) as one row per (source, dataset): the gap at each
    share (smallest first; a dash where the dataset has no such share) and whether it shrinks steadily as the
    data grows."""
    rows = []
    shares = sorted(gaps.fraction.unique())
    for (source, dataset), part in gaps.groupby(["source", "dataset"], sort=False):
        by = part.set_index("fraction").gap_best_to_third
        ordered = by.sort_index()
        row = {"source": source, "dataset": dataset}
        row.update({share(f): by.get(f, np.nan) for f in shares})
        row["shrinks"] = bool(len(ordered) > 1 and ordered.is_monotonic_decreasing)
        rows.append(row)
    return pd.DataFrame(rows)


def p_text(p: float) -> str:
    """A p-value for a reader: two decimals, ``< 0.01`` below that (never a misleading ``0.00``)."""
    return "–" if pd.isna(p) else "< 0.01" if p < 0.005 else f"{p:.2f}"


def rho_text(rho: float) -> str:
    """A median rho for the prose: two decimals, or why there is none."""
    return "not computable" if pd.isna(rho) else f"{rho:.2f}"
