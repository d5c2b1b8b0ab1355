"""Run records: one JSON file per finished run under ``results/runs/``, written atomically, checksummed.

A record is named by its run key (backbone, dataset, fraction, seed, profile, weights, image size and a
short hash of every other knob), so asking for the same run twice finds the same file and a finished run
is never repeated. ``load_records`` reads a folder into a DataFrame (with ``source = "ours"``);
``summarise`` aggregates seeds the paper's way (best of N) and as mean ± std.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from lib.atomic import atomic_write_text
from lib.errors import DataError
from lib.provenance import REPO_ROOT

RUNS_DIR = REPO_ROOT / "results" / "runs"
SCRATCH_RUNS_DIR = REPO_ROOT / "checkpoints" / "scratch-runs"   # git-ignored: ci smoke runs


RUNS_ENV = "WB_RUNS"   # moves the records folder (a rehearsal, a shared disk); unset: results/runs


def records_folder() -> Path:
    """The folder of the book's run records: ``$WB_RUNS`` when set, else ``results/runs`` (committed)."""
    import os

    return Path(os.environ[RUNS_ENV]).expanduser() if os.environ.get(RUNS_ENV) else RUNS_DIR


def runs_dir(profile: str) -> Path:
    """Where a profile's records go by default: :func:`records_folder`, or scratch for ``ci``."""
    from lib import profiles

    return records_folder() if profiles.get(profile).keep_records else SCRATCH_RUNS_DIR

# Knobs that change where or how fast a run goes but not what it computes; left out of the run key.
_NOT_IN_KEY = ("device", "num_workers", "cpu_threads", "progress", "checkpoint_dir", "results_dir", "data_root",
               "cache_dir", "stop_after_epochs")

# Knobs added after records existed: hashed only when they differ from this default, so that every
# earlier record keeps its key (and is re-used) while a run with the new setting gets a key of its own.
_ADDED_KNOBS = {"select_on": "val", "precise_bn_images": 0}

# The columns every record has (the contract with the analysis modules and the chapters).
REQUIRED_FIELDS = (
    "run_key", "backbone", "dataset", "fraction", "seed", "profile", "pretrained", "image_size",
    "batch_size", "epochs_adamw", "epochs_sgd", "best_epoch", "test_top1", "test_top5", "val_top1",
    "paper_protocol_test_top1", "wall_time_s", "images_per_s", "device", "torch", "torchvision",
    "git_commit", "started", "finished", "config", "history", "checksum",
)

# The columns that say which experiment a row is (seeds are aggregated over, the rest are kept).
CELL = ["backbone", "dataset", "fraction", "profile", "pretrained", "image_size", "departs"]
# departs: how a paper-profile run departs from the paper's protocol (lib.protocol.departures), "" if it does not


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _fraction_text(fraction: float) -> str:
    return f"{fraction:g}".replace(".", "p")


def _portable(text: str) -> str:
    """``text`` with every character that some file system forbids (``:`` on Windows) replaced by ``-``."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "-" for ch in text)


def run_key(config: dict) -> str:
    """File-name-safe key of one run on every OS: the experiment's coordinates plus a hash of the other knobs.

    A reader's dataset ``folder:leaves`` appears as ``folder-leaves``; the hash covers the exact name, so two
    names that read alike in the key still get keys of their own.
    """
    h, w = config["image_size"]
    knobs = {k: v for k, v in sorted(config.items())
             if k not in _NOT_IN_KEY and not (k in _ADDED_KNOBS and v == _ADDED_KNOBS[k])}
    digest = hashlib.sha256(_canonical(knobs).encode()).hexdigest()[:8]
    weights = "imagenet" if config["pretrained"] else "scratch"
    return (f"{_portable(config['backbone'])}__{_portable(config['dataset'])}__f{_fraction_text(config['fraction'])}"
            f"__s{config['seed']}__{_portable(config['profile'])}__{weights}__{h}x{w}__{digest}")


def record_path(key: str, folder: Path | str = RUNS_DIR) -> Path:
    """Where the record of run ``key`` lives."""
    return Path(folder) / f"{key}.json"


def checksum(record: dict) -> str:
    """sha256 over the record's canonical JSON, without its own ``checksum`` field."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def write_record(record: dict, folder: Path | str = RUNS_DIR) -> Path:
    """Add the checksum and write the record atomically as ``<folder>/<run_key>.json``; return the path."""
    missing = [f for f in REQUIRED_FIELDS if f not in record and f != "checksum"]
    if missing:
        raise ValueError(f"run record lacks fields {missing}")
    record = {**record, "checksum": checksum(record)}
    path = record_path(record["run_key"], folder)
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n", what="run record")
    return path


def read_record(path: Path | str) -> dict:
    """Read one record and verify its shape and checksum (a record edited by hand or truncated is refused)."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"run record {path} is unreadable ({err.__class__.__name__}): "
                        f"delete it and run that configuration again") from None
    if not isinstance(record, dict):
        raise DataError(f"run record {path} holds a JSON {type(record).__name__}, not a record: delete it and run "
                        f"that configuration again")
    if record.get("checksum") != checksum(record):
        raise DataError(f"run record {path} fails its checksum (edited or damaged): records are never "
                        f"edited by hand; delete it and run that configuration again")
    absent = [f for f in REQUIRED_FIELDS if f not in record]
    if absent:
        raise DataError(f"run record {path} lacks {', '.join(absent[:3])}{' ...' if len(absent) > 3 else ''}: it "
                        f"is not a run record of this book; move it out of the records folder")
    return record


def check_record_is(record: dict, key: str, path: Path | str) -> dict:
    """``record`` if it is the record of run ``key``: its own run key, and the key of its own configuration.

    A record copied or renamed from another run (seed 0's saved under seed 1's name) would otherwise answer for
    a run that never happened; it is refused, naming the file.
    """
    try:
        own = run_key(record["config"])
    except (KeyError, TypeError, ValueError):
        own = None
    if record.get("run_key") != key or own != key:
        found = record.get("run_key") if record.get("run_key") != key else own
        raise DataError(f"run record {path} is of run {found}, not of {key} asked for (copied or renamed from "
                        f"another run): delete or move it, and run {key} again")
    return record


def is_intact(path: Path | str) -> bool:
    """True when the record at ``path`` reads and passes its checksum."""
    try:
        read_record(path)
    except DataError:
        return False
    return True


def find_record(key: str, folder: Path | str = RUNS_DIR) -> dict | None:
    """The stored record of run ``key``, or None when that run has not finished yet.

    The file found must be intact (:func:`read_record`) and be run ``key``'s own (:func:`check_record_is`).
    """
    path = record_path(key, folder)
    return check_record_is(read_record(path), key, path) if path.exists() else None


def load_records(folder: Path | str = RUNS_DIR) -> pd.DataFrame:
    """Every record in ``folder`` as one row (``config`` and ``history`` kept as objects), ``source`` = ours.

    A damaged record is never skipped: DataError names every one that fails its checksum.
    """
    rows, bad = [], []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            rows.append(read_record(path))
        except DataError as err:
            bad.append((path, err))
    if len(bad) == 1:
        raise bad[0][1]
    if bad:   # name every damaged file at once, not one per attempt
        raise DataError(f"{len(bad)} run records in {folder} are unreadable or fail their checksum: "
                        f"{', '.join(p.name for p, _ in bad)}; records are never edited by hand: delete them "
                        f"and run those configurations again")
    return to_frame(rows)


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Records (as returned by ``lib.runs.run``) as a DataFrame, one row each, ``source`` = ours."""
    columns = ["source", *REQUIRED_FIELDS]
    if not rows:
        return pd.DataFrame(columns=columns)
    from lib import protocol

    df = pd.DataFrame(rows)
    df["departs"] = [protocol.departures(r) for r in rows]
    df["image_size"] = df["image_size"].map(lambda s: f"{s[0]}x{s[1]}")
    df.insert(0, "source", "ours")
    return df


def ci95(values) -> float:
    """Half-width of the 95 % confidence interval of the mean of ``values`` (Student's t, n - 1 degrees of
    freedom): the mean is ``mean ± ci95``. NaN for fewer than two values, where no interval can be given."""
    from scipy import stats

    values = pd.Series(values, dtype=float).dropna()
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / len(values) ** 0.5)


def summarise(records: pd.DataFrame, metric: str = "test_top1") -> pd.DataFrame:
    """One row per experiment cell: best of N seeds (the paper's rule), mean, std (ddof 1), the half-width of the
    mean's 95 % interval (:func:`ci95`) and N."""
    cols = CELL + [f"{metric}_best", f"{metric}_mean", f"{metric}_std", f"{metric}_ci95", "n_seeds", "seeds"]
    if records.empty:
        return pd.DataFrame(columns=cols)
    if "departs" not in records.columns:   # a frame not made by to_frame (hand-built in a test or a notebook)
        records = records.assign(departs="")
    grouped = records.groupby(CELL, sort=True)[[metric, "seed"]]
    out = grouped.agg(best=(metric, "max"), mean=(metric, "mean"), std=(metric, "std"), ci95=(metric, ci95),
                      n_seeds=("seed", "nunique"), seeds=("seed", lambda s: sorted(set(s))))
    out = out.rename(columns={"best": f"{metric}_best", "mean": f"{metric}_mean", "std": f"{metric}_std",
                              "ci95": f"{metric}_ci95"})
    return out.reset_index()[cols]


def history_frame(records: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch rows of every record (backbone, dataset, seed, epoch, phase, losses, accuracies)."""
    rows = [{**{k: rec[k] for k in ("backbone", "dataset", "fraction", "seed")}, **h}
            for _, rec in records.iterrows() for h in rec["history"]]
    return pd.DataFrame(rows)


def compare_with_paper(summary: pd.DataFrame, paper: pd.DataFrame, metric: str = "test_top1_best") -> pd.DataFrame:
    """Our best-of-N beside the paper's number for the same (backbone, dataset, fraction) cell.

    ``paper`` is ``lib.paper.load()``; a cell printed in two of the paper's tables is taken once (the
    lowest table number, i.e. Tables 4-6 before 7-8). Cells the paper does not have keep ``paper`` NaN.
    """
    ref = (paper.sort_values("table", key=lambda t: t.astype(int))
           .drop_duplicates(["backbone", "dataset", "fraction"])
           [["backbone", "dataset", "fraction", "top1", "table"]]
           .rename(columns={"top1": "paper_top1", "table": "paper_table"}))
    out = summary.rename(columns={metric: "ours_top1"})
    out = out.merge(ref, on=["backbone", "dataset", "fraction"], how="left")
    out["delta"] = out["ours_top1"] - out["paper_top1"]
    return out


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


def records_of(keys, folder: Path | str = RUNS_DIR) -> pd.DataFrame:
    """The records of those run ``keys`` that exist in ``folder`` (each verified), one row each."""
    found = (find_record(key, folder) for key in keys)
    return to_frame([r for r in found if r is not None])


def grid_cost(records: pd.DataFrame) -> dict:
    """What a set of runs cost, from their records (ours): runs, hours of training and evaluation (the sum of
    ``wall_time_s``) and the devices they ran on."""
    return {"runs": len(records), "hours": float(records["wall_time_s"].sum()) / 3600 if len(records) else 0.0,
            "devices": ", ".join(sorted(set(records["device"].astype(str)))) if len(records) else "none"}


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


# --- How chapter 3 shows its runs (display only: the records and their keys are untouched) ---------------------

RECORD_COLUMNS_NOT_IN_CSV = ("history", "config", "checksum", "split_sizes", "manifest_sha256")


def records_csv_frame(records: pd.DataFrame) -> pd.DataFrame:
    """The records as one flat table for a CSV download (the per-epoch history and nested fields left out)."""
    return records.drop(columns=[c for c in RECORD_COLUMNS_NOT_IN_CSV if c in records])


def runs_table(records: pd.DataFrame):
    """One row per run with the columns a reader needs (epochs per phase, the kept epoch, accuracies, minutes);
    every field of every record is in the CSV below it."""
    from lib import present

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
    from lib import present

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
    from lib import present

    shown = stops.assign(stopped_by=stops["stopped_by"].map(
        {"patience": "patience", "max_epochs": "epoch cap"}).fillna(stops["stopped_by"]))
    return present.table(shown, names={"fraction": "fraction", "stopped_by": "ended by", "runs": "runs",
                                       "epochs_min": "epochs: min", "epochs_median": "median",
                                       "epochs_max": "max"}, decimals={"fraction": 2, "epochs_median": 1})


def paper_layout(with_paper: pd.DataFrame) -> pd.DataFrame:
    """Ours beside the paper in the paper's layout (Tables 4-6): backbones in rows, one column per dataset and
    fraction holding "ours / paper" (best of the seeds against the paper's best of three, one decimal)."""
    from lib import present

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
    import matplotlib.pyplot as plt
    import seaborn as sns

    from lib import present

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

    from lib import present

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

    from lib import present

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

    from lib import present

    return HTML(shown.data + present.csv_link(frame, filename, text))


def not_in_paper_text(datasets: list[str]) -> str:
    """Markdown, said once above the table: which datasets the paper has no cell for."""
    from lib import present

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
