"""The book's answer to its own question: which backbone for which domain, how sure, at what cost.

Everything here is computed from the paper's transcribed tables (``results/paper/``), the book's measured step
costs (``results/bench/step_cost.csv``) and, where they exist, this book's own ``paper``-profile records. The rule
that turns Tables 4-6 into a pick per domain is the one chapter 6 finds reproduces the most of Table 1
(:func:`chosen_rule`); the trust level comes from :func:`trust`, whose rule is :data:`TRUST_RULE`.

The noise floor. The paper reports the best of three runs per cell with no spread, so a margin between two
backbones cannot be checked against the seeds' noise. What can be computed is the sampling error of a test
accuracy itself: a test set of ``n`` images measures an accuracy ``p`` only to within a binomial standard error
``sqrt(p (1 - p) / n)``. Two backbones scored on test sets of that size differ by noise alone by up to
``1.96 * sqrt(2 p (1 - p) / n)`` (95 %, treating the two scores as independent). That is the floor below which a
margin is a tie. Seed-to-seed spread comes on top of it, so the floor is the least noise there is: a margin above
it can still be noise, one below it certainly can.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lib import paper, paths
from book import findings, present

DOMAINS = paper.TABLE1_DOMAINS  # natural, texture, remote sensing, plant, astronomy, medical, overall
TRUST_LEVELS = ("strong", "moderate", "weak")
TRUST_RULE = ("**Strong** when the pick beats every other backbone by more than the noise floor on most of the "
              "domain's datasets (at least two), is beaten beyond it on none, and stays first wherever Tables 7-8 "
              "test less data; **moderate** when it wins beyond the floor somewhere and wins or ties on most of "
              "the domain's datasets; **weak** otherwise, for a pick that no dataset tells apart from its "
              "runner-up.")
STEP_COST_CSV = paths.BENCH / "step_cost.csv"
RELATED_CSV = paths.PAPER / "related_studies.csv"


def full_tables() -> pd.DataFrame:
    """Tables 4-6 at 100 % (the later version), as (backbone, dataset, top1)."""
    return findings.at_fraction(paper.full_data()[["backbone", "dataset", "fraction", "top1"]])


def chosen_rule(full: pd.DataFrame | None = None) -> str:
    """The aggregation rule that reproduces the most of Table 1 (best backbone first, then order, then set); ties
    go to the earlier rule of ``findings.RULES`` (mean rank)."""
    full = full_tables() if full is None else full
    agreement = findings.table1_agreement(full, paper.table1())
    agreement["order"] = range(len(agreement))
    best = agreement.sort_values(["same_best", "same_order", "same_set", "order"],
                                 ascending=[False, False, False, True]).iloc[0]
    return str(best["rule"])


def domain_datasets(domain: str, full: pd.DataFrame) -> list[str]:
    """The datasets of a Table 1 domain (``overall``: all of them), in Tables 4-6's order."""
    names = list(dict.fromkeys(full["dataset"]))
    return names if domain == "overall" else [d for d in names if findings.domain_of(d) == domain]


def noise_floor(accuracy: float, test_images: int) -> float:
    """Points of top-1 by which two backbones scored on ``test_images`` images can differ by sampling alone (95 %)."""
    p = min(max(accuracy / 100, 0.0), 1.0)
    return 100 * 1.96 * math.sqrt(2 * p * (1 - p) / test_images)


def margins(pick: str, full: pd.DataFrame, datasets: list[str]) -> pd.DataFrame:
    """Per dataset: the pick's top-1, the best other backbone and its top-1, the margin (pick minus that one, in
    points) and the noise floor at the dataset's test size (Table 3)."""
    tests = paper.table3().set_index("dataset")["test_images"]
    rows = []
    for dataset in datasets:
        part = full[full["dataset"] == dataset].set_index("backbone")["top1"]
        others = part.drop(pick)
        runner = others.idxmax()
        floor = noise_floor((part[pick] + others.max()) / 2, int(tests[dataset]))
        margin = round(float(part[pick] - others.max()), 2)   # the tables print two decimals
        rows.append({"dataset": dataset, "pick_top1": float(part[pick]), "runner_up": runner,
                     "runner_up_top1": float(others.max()), "margin": margin, "floor": floor,
                     "outcome": "win" if margin > floor else "loss" if margin < -floor else "tie"})
    return pd.DataFrame(rows)


def low_data_places(pick: str, datasets: list[str], low: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per dataset of the domain that Tables 7-8 test below 100 %: the pick's place (1 = best) at each fraction."""
    low = paper.low_data() if low is None else low
    rows = []
    for (dataset, fraction), part in low[low["dataset"].isin(datasets) & (low["fraction"] < 1)].groupby(
            ["dataset", "fraction"]):
        places = part.set_index("backbone")["top1"].rank(ascending=False, method="min")
        rows.append({"dataset": dataset, "fraction": fraction, "place": int(places[pick])})
    return pd.DataFrame(rows, columns=["dataset", "fraction", "place"])


def trust(outcomes: pd.DataFrame, places: pd.DataFrame) -> str:
    """:data:`TRUST_RULE` applied to one domain's margins (:func:`margins`) and low-data places."""
    n = len(outcomes)
    wins = int((outcomes["outcome"] == "win").sum())
    losses = int((outcomes["outcome"] == "loss").sum())
    stays_first = bool((places["place"] == 1).all()) if len(places) else True
    if n >= 2 and wins > n / 2 and losses == 0 and stays_first:
        return "strong"
    if wins >= 1 and wins + int((outcomes["outcome"] == "tie").sum()) > n / 2:
        return "moderate"
    return "weak"


def _places_text(places: pd.DataFrame) -> str:
    if places.empty:
        return "not tested"
    parts = []
    for fraction, part in places.groupby("fraction", sort=False):
        parts.append(f"first on {int((part['place'] == 1).sum())} of {len(part)} at {fraction:.0%}")
    return "; ".join(sorted(parts, reverse=True))


def answer_table(full: pd.DataFrame | None = None, rule: str | None = None) -> pd.DataFrame:
    """One row per domain of Table 1: the paper's pick, the pick recomputed under ``rule``, whether they agree,
    wins / ties / losses against the noise floor, the median margin, the low-data places, whether the earlier
    version's tables give the same pick, and the trust level."""
    full = full_tables() if full is None else full
    rule = rule or chosen_rule(full)
    published = paper.table1()
    recomputed = findings.recompute_table1(full, rule, k=1).set_index("domain")["backbone"]
    earlier = findings.at_fraction(paper.version_full_data("earlier")[["backbone", "dataset", "fraction", "top1"]])
    earlier_pick = findings.recompute_table1(earlier, rule, k=1).set_index("domain")["backbone"]
    rows = []
    for domain in DOMAINS:
        theirs = published[(published["domain"] == domain) & (published["rank"] == 1)]["backbone"].iloc[0]
        pick = recomputed[domain]
        datasets = domain_datasets(domain, full)
        outcome = margins(pick, full, datasets)
        places = low_data_places(pick, datasets)
        rows.append({
            "domain": domain, "paper_pick": theirs, "pick": pick, "same_as_paper": pick == theirs,
            "datasets": len(datasets), "wins": int((outcome["outcome"] == "win").sum()),
            "ties": int((outcome["outcome"] == "tie").sum()), "losses": int((outcome["outcome"] == "loss").sum()),
            "median_margin": float(outcome["margin"].median()), "low_data": _places_text(places),
            "earlier_version_pick": earlier_pick.get(domain, ""),
            "versions_agree": earlier_pick.get(domain, "") == pick, "trust": trust(outcome, places)})
    return pd.DataFrame(rows)


def all_margins(full: pd.DataFrame | None = None, rule: str | None = None) -> pd.DataFrame:
    """Every domain's per-dataset margins of its recomputed pick (the evidence behind :func:`answer_table`)."""
    full = full_tables() if full is None else full
    rule = rule or chosen_rule(full)
    recomputed = findings.recompute_table1(full, rule, k=1).set_index("domain")["backbone"]
    parts = [margins(recomputed[d], full, domain_datasets(d, full)).assign(domain=d, pick=recomputed[d])
             for d in DOMAINS if d != "overall"]
    return pd.concat(parts, ignore_index=True)


# --- cost -------------------------------------------------------------------------------------------------

def costs(step_cost_csv=STEP_COST_CSV) -> pd.DataFrame:
    """Per backbone: parameters (Table 2, **paper**) and the measured fp32 training-step rate at the largest side
    ``make bench`` timed (**ours**, images/s on the machine named in ``machine``)."""
    table2 = paper.table2()[["backbone", "params_m"]]
    steps = pd.read_csv(step_cost_csv)
    side = int(steps["image_size"].max())
    train = steps[(steps["image_size"] == side) & (steps["kind"] == "train_step") & (steps["variant"] == "fp32")]
    train = train[["backbone", "img_s_median", "machine"]].rename(columns={"img_s_median": "train_img_s"})
    return table2.merge(train, on="backbone", how="left").assign(side=side)


def pareto(frame: pd.DataFrame, cost: str, score: str, lower_cost_better: bool = True) -> pd.Series:
    """True for the backbones no other backbone beats on both ``cost`` and ``score`` (lower ``score`` is better:
    a mean rank)."""
    sign = 1 if lower_cost_better else -1
    values = list(zip(sign * frame[cost], frame[score]))
    front = []
    for i, (c, s) in enumerate(values):
        dominated = any((c2 <= c and s2 <= s) and (c2 < c or s2 < s) for j, (c2, s2) in enumerate(values) if j != i)
        front.append(not dominated)
    return pd.Series(front, index=frame.index)


def best_buys(full: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per domain and backbone: mean rank (the chosen rule's score), parameters, training rate, and whether the
    backbone is on the Pareto front of rank against parameters and of rank against speed."""
    full = full_tables() if full is None else full
    scores = findings.domain_scores(full)
    scores = scores[scores["domain"].isin(DOMAINS)]
    table = scores.merge(costs(), on="backbone")
    parts = []
    for domain, part in table.groupby("domain", sort=False):
        part = part.copy()
        part["front_params"] = pareto(part, "params_m", "mean_rank")
        part["front_speed"] = pareto(part, "train_img_s", "mean_rank", lower_cost_better=False)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# --- the paper in context: ImageNet accuracy against fine-tuning accuracy -----------------------------------

def spearman_interval(rho: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """A confidence interval for Spearman's rho through Fisher's z with Bonett and Wright's standard error."""
    from scipy import stats

    if n <= 3 or abs(rho) >= 1:
        return (float("nan"), float("nan"))
    z = math.atanh(rho)
    se = math.sqrt((1 + rho ** 2 / 2) / (n - 3))
    q = stats.norm.ppf(0.5 + level / 2)
    return (math.tanh(z - q * se), math.tanh(z + q * se))


def imagenet_correlations(full: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spearman's rho between ImageNet top-1 (Table 2) and fine-tuning top-1, per dataset, per domain (on the mean
    top-1 over the domain's datasets) and pooled over every (backbone, dataset) cell, each with its interval."""
    from scipy import stats

    full = full_tables() if full is None else full
    imagenet = paper.table2().set_index("backbone")["imagenet_top1"]
    rows = []

    def add(level, name, x, y):
        rho = float(stats.spearmanr(x, y).statistic)
        low, high = spearman_interval(rho, len(x))
        rows.append({"level": level, "name": name, "n": len(x), "rho": rho, "low": low, "high": high})

    for dataset, part in full.groupby("dataset", sort=False):
        add("dataset", dataset, part["backbone"].map(imagenet), part["top1"])
    scores = findings.domain_scores(full)
    for domain in DOMAINS:
        part = scores[scores["domain"] == domain]
        add("domain", domain, part["backbone"].map(imagenet), part["mean_top1"])
    # pooled: each dataset's accuracies centred on its own mean, so datasets of different difficulty can be pooled
    centred = full.assign(top1=full["top1"] - full.groupby("dataset")["top1"].transform("mean"))
    add("pooled", "all cells", centred["backbone"].map(imagenet), centred["top1"])
    return pd.DataFrame(rows)


def related_studies(path=RELATED_CSV) -> pd.DataFrame:
    """Other studies' published findings on the same question, transcribed with their citation (**theirs**)."""
    return pd.read_csv(path)


def context(correlations: pd.DataFrame | None = None, full: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each related study's finding (**theirs**, quoted) beside what the paper's own tables show on the same
    question (computed here), and whether the two agree."""
    full = full_tables() if full is None else full
    corr = imagenet_correlations(full) if correlations is None else correlations
    per_dataset = corr[corr["level"] == "dataset"].assign(domain=lambda c: c["name"].map(findings.domain_of))
    domain = corr[corr["level"] == "domain"].set_index("name")
    pooled = corr[corr["level"] == "pooled"].iloc[0]
    positive = per_dataset[per_dataset["low"] > 0]
    medical = per_dataset[per_dataset["domain"] == "medical"]
    best = full.loc[full.groupby("dataset")["top1"].idxmax()]
    transformer_wins = best[best["backbone"].isin(findings.TRANSFORMERS)]
    imagenet = paper.table2()["imagenet_top1"]
    studies = related_studies().set_index("key")
    names = lambda frame: ", ".join(present.dataset_name(d) for d in frame["name"]) or "none"
    domains_positive = [d for d in DOMAINS if d != "overall" and domain.loc[d, "low"] > 0]
    domains_not = [d for d in DOMAINS if d != "overall" and domain.loc[d, "low"] <= 0]
    no_gain = per_dataset[per_dataset["low"] <= 0]
    no_gain_outside = no_gain[no_gain["domain"] != "natural"]
    natural_best = best[best["dataset"].map(findings.domain_of) == "natural"]["backbone"].value_counts()
    cnn_lead = len(transformer_wins) < best["dataset"].nunique() / 2
    rows = [
        {"key": "kornblith",
         "ours": (f"ImageNet top-1 predicts the fine-tuning order clearly (interval above zero) on {len(positive)} "
                  f"of {len(per_dataset)} datasets; natural-image domain mean ρ = {domain.loc['natural', 'rho']:.2f} "
                  f"({domain.loc['natural', 'low']:.2f} to {domain.loc['natural', 'high']:.2f}), medical "
                  f"ρ = {domain.loc['medical', 'rho']:.2f} (negative on {int((medical['rho'] < 0).sum())} of "
                  f"{len(medical)} datasets); pooled over all cells ρ = {pooled['rho']:.2f}"),
         "agrees": (f"in part: for the domain means of {', '.join(map(present.domain_name, domains_positive))}; "
                    f"not for {', '.join(map(present.domain_name, domains_not))}")},
        {"key": "fang",
         "ours": (f"on {len(no_gain)} of {len(per_dataset)} datasets the interval of ρ does not lie above zero: no "
                  "consistent gain from a higher ImageNet accuracy"),
         "agrees": (("yes" if len(no_gain) > len(per_dataset) / 2 else "in part") +
                    f"; outside natural images on {names(no_gain_outside)}")},
        {"key": "goldblum",
         "ours": (f"a transformer (Swin-Tiny or SwinV2-Tiny) is best on {len(transformer_wins)} of "
                  f"{best['dataset'].nunique()} datasets; on natural images "
                  f"{present.backbone_name(natural_best.index[0])} is best most often ({int(natural_best.iloc[0])} of "
                  f"{int(natural_best.sum())})"),
         "agrees": "yes: supervised CNNs lead" if cnn_lead else "no: the transformers lead"},
    ]
    out = pd.DataFrame(rows).set_index("key").join(studies)
    out.attrs["imagenet_range"] = (float(imagenet.min()), float(imagenet.max()))
    return out.reset_index()


# --- ours, when there are paper-profile runs ----------------------------------------------------------------

def our_cells(records: pd.DataFrame) -> pd.DataFrame:
    """Our ``paper``-profile, pretrained runs at 100 % as (backbone, dataset, top1 = best of the seeds, as the
    paper), or an empty frame. Workshop and ci runs never enter: they train from scratch on digits, a different
    experiment from the paper's fine-tuning."""
    columns = ["backbone", "dataset", "top1", "seeds"]
    if records is None or records.empty:
        return pd.DataFrame(columns=columns)
    chosen = records[(records["profile"] == "paper") & records["pretrained"].astype(bool)
                     & np.isclose(records["fraction"].astype(float), 1.0)]
    if "departs" in chosen.columns:   # runs that depart from the protocol (a cap, another size) stay out
        chosen = chosen[chosen["departs"].fillna("") == ""]
    if chosen.empty:
        return pd.DataFrame(columns=columns)
    out = chosen.groupby(["backbone", "dataset"]).agg(top1=("test_top1", "max"), seeds=("seed", "nunique"))
    return out.reset_index()[columns]


def ours_beside(answer: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """The answer table with an **ours** column: our best backbone per domain on the datasets we ran, and on how
    many of the domain's datasets; a dash where we have none."""
    out = answer.copy()
    out["ours_pick"] = present.DASH
    out["ours_datasets"] = 0
    if cells.empty:
        return out
    for i, row in out.iterrows():
        datasets = set(cells["dataset"]) if row["domain"] == "overall" else {
            d for d in cells["dataset"] if findings.domain_of(d) == row["domain"]}
        part = cells[cells["dataset"].isin(datasets)]
        if part.empty:
            continue
        ranks = part.assign(rank=part.groupby("dataset")["top1"].rank(ascending=False, method="average"))
        best = ranks.groupby("backbone")["rank"].mean().sort_values()
        out.at[i, "ours_pick"] = best.index[0]
        out.at[i, "ours_datasets"] = len(datasets)
    return out


# --- figures ------------------------------------------------------------------------------------------------

def heatmap_figure(full: pd.DataFrame | None = None, ours: pd.DataFrame | None = None):
    """Tables 4-6 as one picture: datasets in rows grouped by domain, backbones in columns, each cell coloured by
    the backbone's place on that dataset (1 = best) and annotated with its top-1; Table 1's best pick of each
    domain outlined. With ``ours`` (:func:`our_cells`), our cells get a dot."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    full = full_tables() if full is None else full
    order = [d for domain in DOMAINS if domain != "overall" for d in domain_datasets(domain, full)]
    order += [d for d in dict.fromkeys(full["dataset"]) if d not in order]   # NEU (surface defects): no column
    backbones = list(paper.BACKBONES)
    top1 = full.pivot(index="dataset", columns="backbone", values="top1").reindex(index=order, columns=backbones)
    place = top1.rank(axis=1, ascending=False, method="min")
    fig, ax = plt.subplots(figsize=(7.6, 8.4))
    ax.imshow(place.values, cmap="viridis_r", vmin=1, vmax=len(backbones), aspect="auto")
    for i in range(len(order)):
        for j in range(len(backbones)):
            ax.text(j, i, f"{top1.values[i, j]:.1f}", ha="center", va="center", fontsize=6.5,
                    color="white" if place.values[i, j] > len(backbones) / 2 else "black")
    published = paper.table1()
    blocks = [(domain, [order.index(d) for d in domain_datasets(domain, full)]) for domain in DOMAINS
              if domain != "overall"]
    blocks.append(("surface defects", [order.index(d) for d in order if findings.domain_of(d) == "surface_defects"]))
    for domain, rows in blocks:
        if not rows:
            continue
        ax.axhline(max(rows) + 0.5, color="white", lw=2)
        ax.text(len(backbones) - 0.35, (min(rows) + max(rows)) / 2, present.domain_name(domain), ha="left",
                va="center", fontsize=8, color=present.domain_colour(domain))
        picked = published[(published["domain"] == domain) & (published["rank"] == 1)]["backbone"]
        if len(picked):
            j = backbones.index(picked.iloc[0])
            ax.add_patch(Rectangle((j - 0.5, min(rows) - 0.5), 1, len(rows), fill=False, lw=2.4, ec="#CC0033"))
    if ours is not None and len(ours):
        for row in ours.itertuples():
            if row.dataset in order and row.backbone in backbones:
                ax.plot(backbones.index(row.backbone) + 0.38, order.index(row.dataset) - 0.3, "o", ms=3.5,
                        color="#E69F00", mec="black", mew=0.4)
    ax.set_xticks(range(len(backbones)), [present.backbone_name(b) for b in backbones], rotation=45, ha="right",
                  fontsize=7.5)
    ax.set_yticks(range(len(order)), [present.dataset_name(d) for d in order], fontsize=7.5)
    ax.set_xlim(-0.5, len(backbones) - 0.5)
    fig.tight_layout()
    return fig


def cost_figure(buys: pd.DataFrame, cost: str = "params_m"):
    """Per domain, one panel: each backbone's mean rank against ``cost`` (``params_m`` or ``train_img_s``), the
    Pareto front outlined and joined; colours are the book's backbone palette, the legend in the eighth panel."""
    import matplotlib.pyplot as plt

    front, label, log = {"params_m": ("front_params", "parameters (M), paper", False),
                         "train_img_s": ("front_speed", "training images/s, ours (CPU)", True)}[cost]
    fig, axes = plt.subplots(2, 4, figsize=(7.6, 5.2), sharey=True)
    for ax, domain in zip(axes.flat, DOMAINS):
        part = buys[buys["domain"] == domain]
        for item in part.itertuples():
            ax.scatter(getattr(item, cost), item.mean_rank, s=34, color=present.colour(item.backbone),
                       edgecolor="black" if getattr(item, front) else "none", linewidth=0.9, zorder=3)
        edge = part[part[front]].sort_values(cost)
        ax.plot(edge[cost], edge["mean_rank"], color="grey", lw=1, zorder=2)
        if log:
            ax.set_xscale("log")
        ax.set_title(present.domain_name(domain), fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0, 0].invert_yaxis()
    for ax in axes[:, 0]:
        ax.set_ylabel("mean rank (1 = best)", fontsize=8)
    fig.supxlabel(label, fontsize=9)
    legend = axes.flat[-1]
    legend.axis("off")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=n) for n, c in present.backbone_palette().items()]
    legend.legend(handles=handles, loc="center", fontsize=6.5, frameon=False, handletextpad=0.2)
    fig.tight_layout()
    return fig


def imagenet_figure(correlations: pd.DataFrame):
    """Spearman's rho between ImageNet top-1 and fine-tuning top-1 per dataset, with 95 % intervals, coloured by
    the dataset's domain; the per-domain and pooled figures below them."""
    import matplotlib.pyplot as plt

    rows = correlations.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.2, 7.6))
    for i, row in rows.iterrows():
        domain = findings.domain_of(row["name"]) if row["level"] == "dataset" else row["name"]
        colour = present.domain_colour(domain if row["level"] != "pooled" else "overall")
        ax.plot([row["low"], row["high"]], [i, i], color=colour, lw=2)
        ax.plot(row["rho"], i, "o", color=colour, mec="black" if row["level"] != "dataset" else colour)
    labels = [present.dataset_name(r["name"]) if r["level"] == "dataset" else
              (f"{present.domain_name(r['name'])} (domain mean)" if r["level"] == "domain" else "all cells, pooled")
              for _, r in rows.iterrows()]
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Spearman's ρ with a 95 % interval")
    fig.tight_layout()
    return fig


# --- what the answer page shows -------------------------------------------------------------------------------

DERIVED_IN = ('<a href="06_findings.html">6</a> · <a href="04_low_data.html">4</a> · '
              '<a href="08_performance.html">8</a>')


def show_answer(table: pd.DataFrame, cost: pd.DataFrame):
    """The answer table as the reader sees it: one row per domain, the two picks, trust, cost, and where derived."""
    shown = pd.DataFrame({
        "domain": table["domain"].map(present.domain_name),
        "Table 1's pick (paper)": table["paper_pick"].map(present.backbone_name),
        "recomputed pick": table["pick"].map(present.backbone_name),
        "trust": table["trust"],
        "params (M)": table["pick"].map(cost["params_m"]),
        "train img/s": table["pick"].map(cost["train_img_s"]),
        "chapters": DERIVED_IN})
    html = present.table(shown, decimals={"params (M)": 1, "train img/s": 1})
    raw = table.assign(params_m=table["pick"].map(cost["params_m"]), train_img_s=table["pick"].map(cost["train_img_s"]))
    return type(html)(html.data + present.csv_link(raw, "answer.csv"))


def differences_text(table: pd.DataFrame) -> str:
    """One sentence on the rows whose recomputed pick is not Table 1's (or that there are none)."""
    differ = table[~table["same_as_paper"]]
    if differ.empty:
        return "every row agrees."
    parts = [f"{present.domain_name(r.domain)} ({present.backbone_name(r.pick)} instead of "
             f"{present.backbone_name(r.paper_pick)})" for r in differ.itertuples()]
    return "the rule does not give Table 1's pick for " + "; ".join(parts) + "."


def show_evidence(table: pd.DataFrame):
    """Per domain: datasets, wins / ties / losses against the noise floor, median margin, low-data places and
    whether the earlier version's tables give the same pick."""
    shown = pd.DataFrame({
        "domain": table["domain"].map(present.domain_name),
        "datasets": table["datasets"],
        "wins / ties / losses": [f"{r.wins} / {r.ties} / {r.losses}" for r in table.itertuples()],
        "median margin (points)": table["median_margin"],
        "with less data (Tables 7-8)": table["low_data"],
        "earlier version": ["same pick" if same else present.backbone_name(pick)
                            for same, pick in zip(table["versions_agree"], table["earlier_version_pick"])]})
    return present.table(shown, decimals={"median margin (points)": 2}, csv="answer_evidence.csv")


def show_margins(margins: pd.DataFrame):
    shown = pd.DataFrame({
        "domain": margins["domain"].map(present.domain_name),
        "dataset": margins["dataset"].map(present.dataset_name),
        "pick": margins["pick"].map(present.backbone_name),
        "best other": margins["runner_up"].map(present.backbone_name),
        "margin": margins["margin"], "floor": margins["floor"], "outcome": margins["outcome"]})
    return present.table(shown, decimals={"margin": 2, "floor": 2}, csv="answer_margins.csv")


def front_table(buys: pd.DataFrame) -> pd.DataFrame:
    """Per domain: the backbones on the parameters front, on the speed front, and on both."""
    rows = []
    for domain, part in buys.groupby("domain", sort=False):
        names = lambda mask: ", ".join(present.backbone_name(b) for b in part.loc[mask].sort_values(
            "mean_rank")["backbone"]) or "none"
        rows.append({"domain": present.domain_name(domain), "on both fronts": names(part["front_params"]
                                                                                   & part["front_speed"]),
                     "parameters front only": names(part["front_params"] & ~part["front_speed"]),
                     "speed front only": names(part["front_speed"] & ~part["front_params"])})
    order = [present.domain_name(d) for d in DOMAINS]
    return pd.DataFrame(rows).set_index("domain").loc[order].reset_index()


def show_context(studies: pd.DataFrame):
    shown = pd.DataFrame({"study (theirs)": studies["study"], "their finding": studies["their_words"],
                          "on the paper's tables (ours)": studies["ours"], "agrees": studies["agrees"]})
    return present.table(shown)


def ours_text(cells: pd.DataFrame) -> str:
    if cells.empty:
        return ("no `paper`-profile run is recorded yet, so the answer rests on the paper's numbers alone "
                "({doc}`../reproduce` says how to run the paper's protocol on a GPU).").replace("{doc}`../reproduce`",
                                                                                             "the Reproduce page")
    return (f"{len(cells)} (backbone, dataset) cells from `paper`-profile runs on {cells['dataset'].nunique()} "
            "datasets, the best of their seeds as the paper reports:")


def show_ours(table: pd.DataFrame):
    shown = pd.DataFrame({"domain": table["domain"].map(present.domain_name),
                          "recomputed pick (paper)": table["pick"].map(present.backbone_name),
                          "ours": [present.backbone_name(p) if p != present.DASH else p for p in table["ours_pick"]],
                          "our datasets": table["ours_datasets"]})
    return present.table(shown)
