"""Chapter 3, fine-tuning: our runs as tables and figures, beside the paper's numbers."""
from __future__ import annotations

import pandas as pd

from book import present


def mean_ci_text(mean: float, ci95: float, digits: int = 2) -> str:
    """``mean ± half-width`` for a table or prose; with one seed (NaN half-width) it says so instead."""
    if pd.isna(mean):
        return "no runs"
    if pd.isna(ci95):
        return f"{mean:.{digits}f} (one seed: no interval)"
    return f"{mean:.{digits}f} ± {ci95:.{digits}f}"


def beside_paper(side_by_side: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_with_paper`'s table as a reader sees it, every column labelled ours or paper: our mean ±
    95 % interval over seeds, our best of N (the paper's rule) and the paper's best of three, to one decimal.
    Where the paper has none of the cells its columns are left out (the chapter says so once, in prose)."""
    table = side_by_side.assign(
        ours_mean=[mean_ci_text(m, c, digits=1)
                   for m, c in zip(side_by_side["test_top1_mean"], side_by_side["test_top1_ci95"])])
    columns = {"backbone": "backbone", "dataset": "dataset", "fraction": "fraction", "n_seeds": "seeds (ours)",
               "ours_mean": "ours: mean ± 95 % interval", "ours_top1": "ours: best of the seeds",
               "paper_top1": "paper: best of 3", "paper_table": "paper table"}
    if side_by_side["paper_top1"].isna().all():
        columns = {k: v for k, v in columns.items() if not k.startswith("paper")}
    if "departs" in table.columns and table["departs"].fillna("").ne("").any():
        columns["departs"] = DEPARTS_HEADER   # a rehearsal or a capped run, said on its row
    return table[list(columns)].rename(columns=columns).round(1)


DEPARTS_HEADER = "departs from the paper's protocol"


def stopping(records: pd.DataFrame) -> pd.DataFrame:
    """Per fraction: how many runs ended by patience and how many by the epoch cap (``stopped_by``), with the
    epochs (AdamW + SGD) they took. Records written before ``stopped_by`` existed count as 'not recorded'."""
    columns = ["fraction", "stopped_by", "runs", "epochs_min", "epochs_median", "epochs_max"]
    if records.empty:
        return pd.DataFrame(columns=columns)
    reason = records["stopped_by"] if "stopped_by" in records else pd.Series(None, index=records.index)
    table = records.assign(stopped_by=reason.fillna("not recorded"),
                           epochs=records["epochs_adamw"] + records["epochs_sgd"])
    out = table.groupby(["fraction", "stopped_by"])["epochs"].agg(
        runs="size", epochs_min="min", epochs_median="median", epochs_max="max")
    return out.reset_index()[columns]


RECORD_COLUMNS_NOT_IN_CSV = ("history", "config", "checksum", "split_sizes", "manifest_sha256")


def records_csv_frame(records: pd.DataFrame) -> pd.DataFrame:
    """The records as one flat table for a CSV download (the per-epoch history and nested fields left out)."""
    return records.drop(columns=[c for c in RECORD_COLUMNS_NOT_IN_CSV if c in records])


def runs_table(records: pd.DataFrame):
    """One row per run with the columns a reader needs (epochs per phase, the kept epoch, accuracies, minutes);
    every field of every record is in the CSV below it."""

    shown = records.assign(minutes=records["wall_time_s"] / 60)
    columns = ["backbone", *_dataset_column(records), "seed", "epochs_adamw", "epochs_sgd", "best_epoch",
               "val_top1", "test_top1", "minutes"]
    if "departs" in records.columns and records["departs"].fillna("").ne("").any():
        columns.append("departs")
    return _with_csv(present.table(shown, columns, {"epochs_adamw": "AdamW epochs", "epochs_sgd": "SGD epochs",
                                                    "best_epoch": "kept epoch", "val_top1": "val top-1 (%)",
                                                    "test_top1": "test top-1 (%)", "minutes": "minutes",
                                                    "departs": DEPARTS_HEADER}),
                     records_csv_frame(records), "runs.csv", "every field of every run")


def optimism_table(records: pd.DataFrame):
    """Per run: test top-1 of the weights chosen on validation, the paper-protocol number, and their difference."""

    shown = records.assign(optimism=records["paper_protocol_test_top1"] - records["test_top1"])
    return present.table(shown, ["backbone", *_dataset_column(records), "seed", "test_top1",
                                 "paper_protocol_test_top1", "optimism"],
                         {"test_top1": "test top-1, chosen on val (%)",
                          "paper_protocol_test_top1": "best test top-1 over epochs (%)",
                          "optimism": "optimism (points)"})


def _dataset_column(records: pd.DataFrame) -> list[str]:
    """``["dataset"]`` when the runs span several datasets; with one, the prose names it and the column goes."""
    return ["dataset"] if records["dataset"].nunique() > 1 else []


def stopping_table(stops: pd.DataFrame):
    """:func:`stopping` as a reader's table."""

    shown = stops.assign(stopped_by=stops["stopped_by"].map(
        {"patience": "patience", "max_epochs": "epoch cap"}).fillna(stops["stopped_by"]))
    return present.table(shown, names={"fraction": "fraction", "stopped_by": "ended by", "runs": "runs",
                                       "epochs_min": "epochs: min", "epochs_median": "median",
                                       "epochs_max": "max"}, decimals={"fraction": 2, "epochs_median": 1})


def paper_layout(with_paper: pd.DataFrame) -> pd.DataFrame:
    """Ours beside the paper in the paper's layout (Tables 4-6): backbones in rows, one column per dataset and
    fraction holding "ours / paper" (best of the seeds against the paper's best of three, one decimal)."""

    cells = with_paper.assign(
        column=[f"{present.dataset_name(d)} ({f:.0%})" for d, f in zip(with_paper["dataset"], with_paper["fraction"])],
        text=[f"{o:.1f} / {p:.1f}" for o, p in zip(with_paper["ours_top1"], with_paper["paper_top1"])])
    wide = cells.pivot(index="backbone", columns="column", values="text")
    order = [b for b in _backbone_order() if b in wide.index]
    return wide.reindex(order).rename_axis(columns=None).reset_index()


def _backbone_order() -> list[str]:
    from lib import models

    return list(models.names())


def plot_learning_curves(curves: pd.DataFrame):
    """Validation top-1 per epoch (ours): one line per backbone in the book's palette, the phase as marker style
    (AdamW circles, SGD crosses), one panel per dataset and seed, and a legend naming each backbone."""
    import seaborn as sns


    data = present.readable(curves).assign(phase=curves["phase"].map({"adamw": "AdamW", "sgd": "SGD"}))
    palette = {k: v for k, v in present.backbone_palette().items() if k in set(data["backbone"])}
    grid = sns.relplot(data=data, x="epoch", y="val_top1", hue="backbone", hue_order=list(palette),
                       palette=palette, style="phase", style_order=["AdamW", "SGD"], markers=["o", "X"],
                       dashes=["", (3, 1.5)], col="dataset", row="seed" if data["seed"].nunique() > 1 else None,
                       units=None, estimator=None, kind="line", height=3.0, aspect=1.7, linewidth=1.2,
                       markersize=5, facet_kws={"margin_titles": True})
    grid.set_axis_labels("epoch", "validation top-1 (%, ours)")
    grid.set_titles(row_template="seed {row_name}", col_template="{col_name}")
    sns.move_legend(grid, "upper left", bbox_to_anchor=(0.8, 0.95), frameon=False, fontsize=8, markerscale=1.3)
    grid.figure.subplots_adjust(right=0.78)
    return grid.figure


def plot_mean_heatmap(side_by_side: pd.DataFrame, chance: float):
    """Our mean test top-1 per backbone and cell, annotated "mean ± 95 % interval", coloured on a fixed scale
    from ``chance`` to 100 % so that differences smaller than the intervals do not look like signal."""
    import matplotlib.pyplot as plt
    import seaborn as sns


    cells = side_by_side.assign(
        column=[f"{present.dataset_name(d)} ({f:.0%})" for d, f in zip(side_by_side["dataset"],
                                                                       side_by_side["fraction"])],
        text=[mean_ci_text(m, c, digits=1).replace(" (one seed: no interval)", "")
              for m, c in zip(side_by_side["test_top1_mean"], side_by_side["test_top1_ci95"])])
    order = [b for b in _backbone_order() if b in set(cells["backbone"])]
    means = cells.pivot(index="backbone", columns="column", values="test_top1_mean").reindex(order)
    notes = cells.pivot(index="backbone", columns="column", values="text").reindex(order)
    means.index = notes.index = [present.backbone_name(b) for b in order]
    fig, ax = plt.subplots(figsize=(2.2 + 2.0 * means.shape[1], 0.42 * len(means) + 1.4))
    sns.heatmap(means.astype(float), annot=notes.to_numpy(), fmt="", vmin=chance, vmax=100, cmap="viridis",
                cbar_kws={"label": "mean test top-1 (%, ours)"}, ax=ax)
    ax.set(xlabel="dataset (share of its training split)", ylabel="")
    fig.tight_layout()
    return fig


def plot_delta_heatmap(with_paper: pd.DataFrame):
    """Ours (best of the seeds) minus the paper's best of three, in percentage points, per backbone and cell."""
    import matplotlib.pyplot as plt
    import seaborn as sns


    cells = with_paper.assign(column=[f"{present.dataset_name(d)} ({f:.0%})"
                                      for d, f in zip(with_paper["dataset"], with_paper["fraction"])])
    order = [b for b in _backbone_order() if b in set(cells["backbone"])]
    delta = cells.pivot(index="backbone", columns="column", values="delta").reindex(order)
    delta.index = [present.backbone_name(b) for b in order]
    fig, ax = plt.subplots(figsize=(2.2 + 1.4 * delta.shape[1], 0.42 * len(delta) + 1.4))
    sns.heatmap(delta.astype(float), annot=True, fmt=".1f", cmap="RdBu", center=0,
                cbar_kws={"label": "ours minus paper (percentage points)"}, ax=ax)
    ax.set(xlabel="", ylabel="")
    fig.tight_layout()
    return fig


def _with_csv(shown, frame: pd.DataFrame, filename: str, text: str):
    from IPython.display import HTML


    return HTML(shown.data + present.csv_link(frame, filename, text))


def not_in_paper_text(datasets: list[str]) -> str:
    """Markdown, said once above the table: which datasets the paper has no cell for."""

    names = ", ".join(present.dataset_name(d) for d in datasets)
    one = len(datasets) == 1
    stand_in = " Digits is this book's offline stand-in for the paper's datasets." if "digits" in datasets else ""
    return (f"The paper has no cell for {names}, so the table shows **ours** alone for {'it' if one else 'them'}."
            f"{stand_in}")


def widest_interval_text(summary: pd.DataFrame, metric: str = "test_top1") -> str:
    """"up to ± 4.3 points" (the widest 95 % interval of the cells), or why there is none (one seed)."""
    widest = summary[f"{metric}_ci95"].max() if len(summary) else float("nan")
    if pd.isna(widest):
        return "not available (one seed per cell: no interval)"
    return f"up to ± {widest:.1f} points"
