"""Chapter 1: the paper's backbone-selection rule, applied to torchvision's own registry and weights metadata.

The paper (Section 3) takes torchvision's classification models, keeps those with fewer than 30 M
parameters, takes the best ImageNet top-1 per family and drops what is below 75 %. The text leaves three
things open, so every function here takes them as arguments and the chapter compares the readings:

* what a *family* is (:data:`FAMILY_RULES`),
* what a *model* is: one weights entry, or one architecture with one chosen entry (:data:`UNITS`),
* whether the quantized models count.

Nothing here is typed by hand: parameters and accuracies come from ``weights.meta``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from lib.errors import ConfigError, DataError
from lib import paths

PAPER_COUNTS_CSV = paths.PAPER / "selection_counts.csv"

FAMILY_RULES = {
    "docs": "torchvision's documentation pages: the builder module, with resnet.py split into ResNet, "
            "ResNeXt and Wide ResNet and efficientnet.py into EfficientNet and EfficientNetV2",
    "module": "the Python module that defines the builder (torchvision.models.resnet, ...)",
    "stem": "the model name without its size suffix (resnet50 -> resnet, swin_v2_t -> swin_v2)",
}
UNITS = {
    "entries": "every weights entry is a model (ResNet50_Weights.IMAGENET1K_V1 and _V2 are two)",
    "best": "every architecture is a model, with its most accurate weights entry",
    "default": "every architecture is a model, with its DEFAULT weights entry",
    "first": "every architecture is a model, with its first-listed (oldest, usually IMAGENET1K_V1) entry",
}
# "We included both Swin-Tiny and SwinV2-Tiny in our list due to the under-representation of attention-based
# transformer architectures" (Section 3): the paper's hand-made addition to the rule's picks.
PAPER_ADDED_BY_HAND = ("swin_t", "swin_v2_t")
# The modules the documentation splits into several pages; the stem names the page.
_SPLIT_MODULES = {"resnet", "efficientnet"}
# Size and variant suffixes: digits, x0_5, 32x4d, t/s/b/l/h, b0..b7, 400mf, 3_2gf, bn, tiny/small/...
_SIZE_TOKEN = re.compile(r"^(\d+|x\d+|\d+x\d+d|[tsbmlh]|b\d|\d+[gm]f|bn|tiny|small|base|large|huge)$")


def _stem(model: str) -> str:
    """The architecture name without its size suffix: ``regnet_y_3_2gf`` -> ``regnet_y``."""
    tokens = model.removeprefix("quantized_").split("_")
    while len(tokens) > 1 and _SIZE_TOKEN.match(tokens[-1]):
        tokens.pop()
    if not re.fullmatch(r"v\d+", tokens[-1]):  # resnet50 -> resnet, but keep inception_v3
        tokens[-1] = tokens[-1].rstrip("0123456789") or tokens[-1]
    return "_".join(tokens)


def family_of(model: str, module: str, rule: str = "docs") -> str:
    """The family of ``model`` (defined in ``torchvision.models.<module>``) under one of :data:`FAMILY_RULES`."""
    if rule == "module":
        return module
    if rule == "stem":
        return _stem(model)
    if rule == "docs":
        return _stem(model) if module in _SPLIT_MODULES else module
    raise ConfigError(f"unknown family rule {rule!r}: choose one of {', '.join(FAMILY_RULES)}")


def registry(include_quantized: bool = False) -> pd.DataFrame:
    """One row per ImageNet weights entry of torchvision's classification models, read from ``weights.meta``.

    Columns: ``model``, ``module`` (file name of the builder's module), ``weights``
    (``"ResNet50_Weights.IMAGENET1K_V2"``), ``entry``, ``is_default``, ``is_first``, ``params``,
    ``params_m``, ``top1`` (percent; NaN where the entry has no ImageNet metric), ``quantized``.
    """
    import torchvision.models as tvm
    from torchvision.models import get_model_builder, get_model_weights, list_models

    modules = [tvm] + ([tvm.quantization] if include_quantized else [])
    rows = []
    for module in modules:
        for model in list_models(module=module):
            enum = get_model_weights(model)
            entries = list(enum)
            for i, w in enumerate(entries):
                metric = w.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1", np.nan)
                rows.append({
                    "model": model,
                    "module": get_model_builder(model).__module__.rsplit(".", 1)[-1],
                    "weights": f"{enum.__name__}.{w.name}",
                    "entry": w.name,
                    "is_default": w is enum.DEFAULT,
                    "is_first": i == 0,
                    "params": int(w.meta["num_params"]),
                    "params_m": w.meta["num_params"] / 1e6,
                    "top1": float(metric),
                    "quantized": module is not tvm,
                })
    return pd.DataFrame(rows)


def candidates(reg: pd.DataFrame, unit: str = "entries", family: str = "docs") -> pd.DataFrame:
    """The rows the rule counts as "models" under ``unit`` (:data:`UNITS`), with a ``family`` column."""
    if unit not in UNITS:
        raise ConfigError(f"unknown unit {unit!r}: choose one of {', '.join(UNITS)}")
    if unit == "entries":
        out = reg.copy()
    elif unit == "best":  # entries without a metric sort last, so an architecture keeps one row
        out = reg.sort_values("top1", ascending=False, na_position="last").drop_duplicates("model")
    else:
        out = reg[reg["is_default" if unit == "default" else "is_first"]]
    out = out.assign(family=[family_of(m, mod, family) for m, mod in zip(out["model"], out["module"])])
    return out.sort_values(["family", "params", "model", "entry"]).reset_index(drop=True)


def apply_rule(cands: pd.DataFrame, max_params_m: float = 30.0, min_top1: float = 75.0) -> pd.DataFrame:
    """The paper's rule, one boolean column per step: ``light`` (fewer than ``max_params_m`` M parameters),
    ``family_best`` (highest top-1 among the light models of its family; ties go to fewer parameters) and
    ``selected`` (``family_best`` with top-1 of at least ``min_top1`` %)."""
    if not max_params_m > 0:
        raise ConfigError(f"max_params_m={max_params_m!r} must be a positive number of millions")
    if not 0 <= min_top1 <= 100:
        raise ConfigError(f"min_top1={min_top1!r} must be a percentage between 0 and 100")
    out = cands.copy()
    out["light"] = out["params"] < max_params_m * 1e6
    ranked = out[out["light"] & out["top1"].notna()].sort_values(["top1", "params"], ascending=[False, True])
    best = ranked.drop_duplicates("family").index
    out["family_best"] = out.index.isin(best)
    out["selected"] = out["family_best"] & (out["top1"] >= min_top1)
    return out


def rule_steps(marked: pd.DataFrame, max_params_m: float = 30.0, min_top1: float = 75.0) -> pd.DataFrame:
    """How many models and families are left after each step of the rule (``marked`` from :func:`apply_rule`)."""
    steps = [
        ("torchvision classification models", marked),
        (f"fewer than {max_params_m:g} M parameters", marked[marked["light"]]),
        ("best ImageNet top-1 per family", marked[marked["family_best"]]),
        (f"top-1 of at least {min_top1:g} %", marked[marked["selected"]]),
    ]
    return pd.DataFrame([{"step": i, "rule": text, "models": len(part), "families": part["family"].nunique()}
                         for i, (text, part) in enumerate(steps, 1)])


def counts(marked: pd.DataFrame, added: tuple[str, ...] = ()) -> dict[str, int]:
    """The numbers the paper states, computed from ``marked`` (keys as in ``selection_counts.csv``).

    ``final_list`` is the rule's picks plus the backbones in ``added`` (what the paper adds by hand).
    """
    light = marked[marked["light"]]
    picks = set(marked.loc[marked["selected"], "model"])
    return {"families_all": marked["family"].nunique(), "models_all": len(marked),
            "models_light": len(light), "families_light": light["family"].nunique(),
            "selected_by_rule": len(picks), "final_list": len(picks | set(added))}


def interpretations(max_params_m: float = 30.0, min_top1: float = 75.0, added: tuple[str, ...] = (),
                    paper_list: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rule's counts under every reading: family rule x unit x quantized models in or out.

    ``added`` are backbones the paper adds by hand (counted in ``final_list`` only); with ``paper_list`` (Table 2's
    backbones) the columns ``not_in_paper`` / ``not_in_rule`` count how the final list differs from it as a set.
    """
    regs = {q: registry(include_quantized=q) for q in (False, True)}
    rows = []
    for quantized, reg in regs.items():
        for unit in UNITS:
            for family in FAMILY_RULES:
                marked = apply_rule(candidates(reg, unit, family), max_params_m, min_top1)
                final = set(marked.loc[marked["selected"], "model"]) | set(added)
                rows.append({"family_rule": family, "unit": unit, "quantized": quantized, **counts(marked, added),
                             "not_in_paper": len(final - set(paper_list)) if paper_list else None,
                             "not_in_rule": len(set(paper_list) - final) if paper_list else None,
                             "selected_models": ", ".join(sorted(final - set(added)))})
    return pd.DataFrame(rows)


def paper_counts(path: Path = PAPER_COUNTS_CSV) -> pd.DataFrame:
    """The counts and thresholds the paper states (reference data, with the sentence each comes from)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"paper counts file {path} is missing: restore it from git (results/paper/)")
    table = pd.read_csv(path)
    missing = {"quantity", "paper", "quote", "source"} - set(table.columns)
    if missing:
        raise DataError(f"{path} lacks column(s) {sorted(missing)}: expected quantity, paper, quote, source")
    return table


def compare_counts(grid: pd.DataFrame, paper: pd.DataFrame, ours: dict | None = None) -> pd.DataFrame:
    """For each count the paper states: the paper's number, ours under one reading (``ours``, from
    :func:`counts`), the range over all readings in ``grid``, and the readings that reproduce it."""
    rows = []
    for quantity, value in zip(paper["quantity"], paper["paper"]):
        if quantity not in grid.columns:
            continue
        hits = grid[grid[quantity] == value]
        rows.append({"quantity": quantity, "paper": int(value),
                     **({"ours": ours[quantity], "agrees": ours[quantity] == value} if ours else {}),
                     "ours_min": int(grid[quantity].min()), "ours_max": int(grid[quantity].max()),
                     "readings_that_agree": len(hits), "readings": len(grid),
                     "agreeing_readings": "; ".join(_reading(r) for r in hits.itertuples()) or "none"})
    return pd.DataFrame(rows)


def agreement(grid: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Every reading with the number of the paper's counts it reproduces, best first."""
    stated = {q: v for q, v in zip(paper["quantity"], paper["paper"]) if q in grid.columns}
    hits = pd.DataFrame({q: grid[q] == v for q, v in stated.items()})
    out = grid[["family_rule", "unit", "quantized"]].copy()
    out["reproduced"] = hits.sum(axis=1)
    out["of"] = len(stated)
    out["which"] = hits.apply(lambda row: ", ".join(q for q, ok in row.items() if ok) or "none", axis=1)
    return out.sort_values("reproduced", ascending=False, kind="stable").reset_index(drop=True)


def paper_additions(table2: pd.DataFrame, reg: pd.DataFrame) -> tuple[str, ...]:
    """What the paper adds to the rule's picks by hand: Swin-T and SwinV2-T, and Table 2's non-torchvision rows."""
    outside = sorted(set(table2["backbone"]) - set(reg["model"]))
    return PAPER_ADDED_BY_HAND + tuple(outside)


def _reading(row) -> str:
    return f"{row.family_rule}/{row.unit}/{'with' if row.quantized else 'no'} quantized"


def paper_table2() -> pd.DataFrame:
    """The paper's Table 2 (reference data: ``backbone``, ``display``, ``params_m``, ``imagenet_top1``)."""
    from lib import paper

    return paper.table2()


def versus_table2(marked: pd.DataFrame, table2: pd.DataFrame) -> pd.DataFrame:
    """The rule's picks next to Table 2: one row per backbone in either, with ``in_rule``/``in_paper``."""
    picks = marked[marked["selected"]].set_index("model")
    in_tv = set(marked["model"])
    names = list(table2["backbone"]) + sorted(set(picks.index) - set(table2["backbone"]))
    paper = table2.set_index("backbone")
    rows = []
    for name in names:
        rows.append({
            "backbone": name,
            "in_paper": name in paper.index,
            "in_rule": name in picks.index,
            "in_torchvision": name in in_tv,
            "family": marked.loc[marked["model"] == name, "family"].iloc[0] if name in in_tv else None,
            "paper_params_m": paper["params_m"].get(name, np.nan),
            "paper_top1": paper["imagenet_top1"].get(name, np.nan),
            "rule_weights": picks["weights"].get(name),
            "rule_params_m": round(picks["params_m"].get(name, np.nan), 1),
            "rule_top1": picks["top1"].get(name, np.nan),
        })
    return pd.DataFrame(rows)


def explain_differences(marked: pd.DataFrame, table2: pd.DataFrame,
                        reg: pd.DataFrame, unit: str = "entries",
                        max_params_m: float = 30.0, min_top1: float = 75.0) -> pd.DataFrame:
    """Why each backbone is picked by the rule but not in Table 2, or the other way round (computed reasons)."""
    side = versus_table2(marked, table2)
    other_rules = {rule: set(apply_rule(candidates(reg, unit, rule), max_params_m, min_top1)
                             .query("selected")["model"]) for rule in FAMILY_RULES}
    rows = []
    for r in side[side["in_paper"] != side["in_rule"]].itertuples():
        picked_under = sorted(rule for rule, picks in other_rules.items() if r.backbone in picks)
        if not r.in_torchvision:
            why = "not a torchvision model, so the rule cannot see it; the paper adds it by hand"
        elif r.in_rule:
            m = marked[(marked["model"] == r.backbone) & marked["selected"]].iloc[0]
            why = (f"best of family '{m.family}' under {max_params_m:g} M ({m.params_m:.1f} M, "
                   f"{m.top1:.2f} % >= {min_top1:g} %); Table 2 does not list it")
        else:
            fam = marked[marked["model"] == r.backbone].iloc[0]["family"]
            light = marked[(marked["family"] == fam) & marked["light"]]
            winner = light.loc[light["family_best"]]
            own = marked[marked["model"] == r.backbone]["top1"].max()
            if own < min_top1:
                why = f"its best entry reaches {own:.2f} %, below {min_top1:g} %"
            elif len(winner):
                w = winner.iloc[0]
                why = (f"family '{fam}' is won by {model_name(w.model)} ({w.top1:.2f} % vs {own:.2f} %)")
            else:
                why = f"no model of family '{fam}' is under {max_params_m:g} M"
        rows.append({"backbone": r.backbone, "picked_by": "rule only" if r.in_rule else "paper only",
                     "reason": why, "family_rules_that_pick_it": ", ".join(picked_under) or "none"})
    return pd.DataFrame(rows, columns=["backbone", "picked_by", "reason", "family_rules_that_pick_it"])


def loaded_weights(table2: pd.DataFrame, reg: pd.DataFrame) -> pd.DataFrame:
    """Table 2's accuracy and size next to the metadata of the weights entry the paper's code loads.

    The loaded entry comes from ``lib.models.spec(name).weights``; ``table2_matches`` names the entry of
    the same architecture whose accuracy, rounded to two decimals, is the one Table 2 prints. A backbone
    without a torchvision entry (WaveMix) gets the parameter count of its build and no accuracy.
    """
    from lib import models  # the backbone registry: which weights entry each of the paper's backbones loads

    rows = []
    for r in table2.itertuples():
        weights = models.spec(r.backbone).weights
        row = {"backbone": r.backbone, "display": r.display, "paper_params_m": r.params_m,
               "paper_top1": r.imagenet_top1, "loaded_weights": weights}
        if weights is not None:
            hit = reg[reg["weights"] == weights]
            if hit.empty:
                raise DataError(f"weights entry {weights!r} of {r.backbone!r} is not in torchvision's registry: "
                                "fix the spec in lib/models.py")
            same_arch = reg[reg["model"] == hit.iloc[0]["model"]]
            matches = same_arch[np.isclose(same_arch["top1"].round(2), r.imagenet_top1)]
            row |= {"loaded_params_m": round(hit.iloc[0]["params_m"], 1), "loaded_top1": hit.iloc[0]["top1"],
                    "table2_matches": ", ".join(matches["entry"]) or "no entry"}
        else:  # not in torchvision: count the parameters of the book's own 1000-class build
            model = models.build(r.backbone, num_classes=1000)
            row["loaded_params_m"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 1)
        rows.append(row)
    out = pd.DataFrame(rows)
    out["top1_differs"] = out["loaded_top1"].notna() & ~np.isclose(out["loaded_top1"].round(2), out["paper_top1"])
    return out


def plot_candidates(marked: pd.DataFrame, max_params_m: float = 30.0, min_top1: float = 75.0,
                    paper_backbones: tuple[str, ...] = ()):
    """Parameters (log scale) against ImageNet top-1 for every candidate, thresholds drawn, picks labelled."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    data = marked[marked["top1"].notna()].copy()
    picked = set(data.loc[data["selected"], "model"])
    paper_only = data["model"].isin(set(paper_backbones) - picked) & data["light"]
    data["status"] = np.select([data["selected"], paper_only & (data["top1"] == data.groupby("model")["top1"]
                                                                 .transform("max"))],
                               ["picked by the rule", "in Table 2, not picked"], "other candidate")
    fig, ax = plt.subplots(figsize=(10, 7.5))
    sns.scatterplot(data=data, x="params_m", y="top1", hue="family", style="status",
                    style_order=["other candidate", "picked by the rule", "in Table 2, not picked"],
                    markers=["o", "*", "X"], size="status",
                    sizes={"other candidate": 40, "picked by the rule": 260, "in Table 2, not picked": 120},
                    palette="tab20", edgecolor="black", linewidth=0.4, ax=ax)
    ax.set_xscale("log")
    ax.axvline(max_params_m, color="crimson", ls="--", lw=1)
    ax.axhline(min_top1, color="crimson", ls=":", lw=1)
    ax.text(max_params_m, ax.get_ylim()[0], f" {max_params_m:g} M", color="crimson", va="bottom")
    ax.text(ax.get_xlim()[1], min_top1, f"{min_top1:g} % ", color="crimson", ha="right", va="bottom")
    _label(ax, data[data["status"] != "other candidate"])
    ax.set(xlabel="parameters (millions, log scale; torchvision metadata)",
           ylabel="ImageNet-1K top-1 (%; torchvision metadata)")
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _label(ax, points: pd.DataFrame, gap: float = 1.0) -> None:
    """Name each point to its left, pushing a label down when it would overlap one placed above it nearby."""
    placed: list[tuple[float, float]] = []
    for r in points.sort_values("top1", ascending=False).itertuples():
        y = r.top1
        for px, py in placed:
            if abs(np.log10(px) - np.log10(r.params_m)) < 0.5 and y > py - gap:
                y = py - gap
        placed.append((r.params_m, y))
        ax.annotate(model_name(r.model), (r.params_m, r.top1), xytext=(r.params_m * 0.8, y), fontsize=8, va="center",
                    ha="right", arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.4"})


# --- How chapter 1 shows its tables (display only: the frames above stay as computed) -------------------------

QUANTITY_NAMES = {"families_all": "families", "models_all": "models", "models_light": "light models",
                  "families_light": "families with a light model", "selected_by_rule": "picked by the rule",
                  "final_list": "final list (with the hand-made additions)", "max_params_m": "parameter limit (M)",
                  "min_top1": "top-1 threshold (%)", "vit_min_params_m": "smallest ViT (M parameters)"}


def quantity_text(quantities: str) -> str:
    """``"families_all, models_all"`` -> ``"families, models"``: the counts' names as the prose says them."""
    return ", ".join(QUANTITY_NAMES.get(q, q) for q in quantities.split(", "))


def model_name(model: str) -> str:
    """A reader's name for a torchvision model: the paper's spelling for its eleven backbones ("ConvNeXt-Tiny"),
    else torchvision's own, from its weights enum ("EfficientNet-B4" for ``efficientnet_b4``)."""
    from torchvision.models import get_model_weights

    from lib import models
    from book import present

    if model in models.names():
        return present.backbone_name(model)
    try:
        enum = get_model_weights(model).__name__
    except (ValueError, KeyError):
        return model
    quantized = enum.endswith("_QuantizedWeights")
    name = enum.removesuffix("_QuantizedWeights").removesuffix("_Weights")
    name = re.sub(r"(\d)_(\d)", r"\1.\2", name).replace("_", "-")
    return name + (" (quantized)" if quantized else "")


def _entry(weights) -> str | None:
    """``ResNet50_Weights.IMAGENET1K_V2`` -> ``IMAGENET1K_V2`` (the enum's name repeats the model's)."""
    return weights.rsplit(".", 1)[-1] if isinstance(weights, str) else None


def _reading_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``family_rule``/``unit``/``quantized`` as a reader's three short columns."""
    return frame.assign(quantized_shown=frame["quantized"].map({True: "in", False: "out"}))


def paper_counts_table(paper: pd.DataFrame):
    """The paper's counts and thresholds with the sentence each comes from (**paper**)."""
    from book import present

    shown = paper.assign(what=paper["quantity"].map(lambda q: QUANTITY_NAMES.get(q, q)))
    return present.table(shown, ["what", "paper", "quote"], {"what": "quantity", "paper": "paper",
                                                             "quote": "the paper's sentence"}, decimals=0)


def registry_table(reg: pd.DataFrame, rows: int = 5, random_state: int = 0):
    """A few rows of the registry, as a reader reads them; the whole registry as a CSV download."""
    from book import present

    sample = reg.sample(rows, random_state=random_state)
    sample = sample.assign(name=sample["model"].map(model_name),   # <wbr>: the long entry names may break after
                           entry=sample["entry"].str.replace("_", "_<wbr>"))   # an underscore, and copy as written
    shown = present.table(sample, ["name", "module", "entry", "params_m", "top1"],
                          {"name": "model", "module": "module", "entry": "weights entry",
                           "params_m": "parameters (M)", "top1": "ImageNet top-1 (%)"}, decimals=1)
    return _with_csv(shown, reg, "torchvision_registry.csv", "the whole registry")


def steps_table(steps: pd.DataFrame):
    """:func:`rule_steps` without an index column."""
    from book import present

    return present.table(steps, names={"step": "step", "rule": "rule", "models": "models left",
                                       "families": "families left"})


def picks_table(marked: pd.DataFrame):
    """The rule's picks: readable model names, the weights entry, family, size and accuracy (ours)."""
    from book import present

    picks = marked[marked["selected"]]
    picks = picks.assign(name=picks["model"].map(model_name))
    return present.table(picks, ["name", "entry", "family", "params_m", "top1"],
                         {"name": "model", "entry": "weights entry", "family": "family",
                          "params_m": "parameters (M)", "top1": "ImageNet top-1 (%)"}, decimals={"top1": 2})


def compared_table(compared: pd.DataFrame):
    """:func:`compare_counts` in five columns (the agreeing readings are in the CSV)."""
    from book import present

    shown = compared.assign(
        what=compared["quantity"].map(lambda q: QUANTITY_NAMES.get(q, q)),
        span=[str(lo) if lo == hi else f"{lo}–{hi}" for lo, hi in zip(compared["ours_min"], compared["ours_max"])],
        agree=[f"{n} of {of}" for n, of in zip(compared["readings_that_agree"], compared["readings"])])
    columns = ["what", "paper"] + (["ours"] if "ours" in compared else []) + ["span", "agree"]
    shown = present.table(shown, columns, {"what": "count", "paper": "paper", "ours": "ours (this reading)",
                                           "span": "ours (all readings)", "agree": "readings that agree"},
                          decimals=0)
    return _with_csv(shown, compared, "selection_counts_compared.csv", "the comparison with its readings")


def agreement_table(ranked: pd.DataFrame, rows: int = 8):
    """The readings that reproduce most of the paper's counts, best first."""
    from book import present

    top = _reading_columns(ranked.head(rows))
    top = top.assign(score=[f"{n} of {of}" for n, of in zip(top["reproduced"], top["of"])],
                     which=top["which"].map(quantity_text))
    shown = present.table(top, ["family_rule", "unit", "quantized_shown", "score", "which"],
                          {"family_rule": "family", "unit": "model", "quantized_shown": "quantized",
                           "score": "counts reproduced", "which": "which"})
    return _with_csv(shown, ranked, "selection_readings_ranked.csv", "every reading, ranked")


def readings_table(grid: pd.DataFrame):
    """The 24 readings: the final list's size and how it differs from Table 2 (every count in the CSV)."""
    from book import present

    shown = present.table(_reading_columns(grid),
                          ["family_rule", "unit", "quantized_shown", "models_light", "final_list",
                           "not_in_paper", "not_in_rule"],
                          {"family_rule": "family", "unit": "model", "quantized_shown": "quantized",
                           "models_light": "light models", "final_list": "final list",
                           "not_in_paper": "not in Table 2", "not_in_rule": "missed"}, decimals=0)
    return _with_csv(shown, grid, "selection_readings.csv", "every reading with every count")


def versus_table(side: pd.DataFrame):
    """:func:`versus_table2` as a reader's table: Table 2's numbers (paper) beside the rule's entry (ours)."""
    from book import present

    shown = side.assign(name=side["backbone"].map(model_name), entry=side["rule_weights"].map(_entry))
    shown = present.table(shown, ["name", "in_paper", "in_rule", "paper_params_m", "paper_top1", "entry",
                                  "rule_top1"],
                          {"name": "backbone", "in_paper": "Table 2", "in_rule": "rule",
                           "paper_params_m": "M params (paper)", "paper_top1": "top-1 (paper)",
                           "entry": "rule's entry (ours)", "rule_top1": "top-1 (ours)"},
                          decimals={"paper_top1": 2, "rule_top1": 2})
    return _with_csv(shown, side, "rule_vs_table2.csv", "this table with every column")


def differences_table(diff: pd.DataFrame):
    """:func:`explain_differences` with readable names."""
    from book import present

    shown = diff.assign(name=diff["backbone"].map(model_name))
    return present.table(shown, ["name", "picked_by", "reason", "family_rules_that_pick_it"],
                         {"name": "backbone", "picked_by": "picked by", "reason": "why (ours)",
                          "family_rules_that_pick_it": "family readings that pick it"})


def loaded_table(loaded: pd.DataFrame):
    """:func:`loaded_weights` as a reader's table: Table 2 (paper) beside the entry the paper's code loads."""
    from book import present

    shown = loaded.assign(name=loaded["backbone"].map(model_name), entry=loaded["loaded_weights"].map(_entry))
    shown = present.table(shown, ["name", "paper_params_m", "loaded_params_m", "paper_top1", "entry",
                                  "loaded_top1"],
                          {"name": "backbone", "paper_params_m": "M (paper)",
                           "loaded_params_m": "M (ours)", "paper_top1": "top-1 (paper)",
                           "entry": "entry loaded", "loaded_top1": "its top-1 (ours)",
                           "table2_matches": "Table 2's entry"}, decimals={"paper_top1": 2, "loaded_top1": 2})
    return _with_csv(shown, loaded, "table2_vs_loaded_weights.csv", "this table with every column")


def _with_csv(shown, frame: pd.DataFrame, filename: str, text: str):
    """``shown`` (an HTML table) with ``frame`` offered below it as a CSV download."""
    from IPython.display import HTML

    from book import present

    return HTML(shown.data + present.csv_link(frame, filename, text))
