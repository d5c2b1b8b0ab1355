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

from lib import paths
from lib.atomic import atomic_write_text
from lib.errors import DataError

def records_dir(profile: str) -> Path:
    """Where a profile's records go by default: :func:`lib.paths.records`, or a scratch folder for ``ci``."""
    from lib import profiles

    return paths.records() if profiles.get(profile).keep_records else paths.SCRATCH_RECORDS


# Knobs that change where or how fast a run goes but not what it computes; left out of the run key. Only
# ``device`` is in TrainConfig now; records written before 2026-12-03 also hold ``num_workers`` and
# ``cpu_threads`` in their config, and keep their keys through this.
_NOT_IN_KEY = ("device", "num_workers", "cpu_threads")

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
# departs: how a paper-profile run departs from the paper's protocol (lib.profiles.departures), "" if it does not


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


def record_path(key: str, folder: Path | str = paths.RECORDS) -> Path:
    """Where the record of run ``key`` lives."""
    return Path(folder) / f"{key}.json"


def checksum(record: dict) -> str:
    """sha256 over the record's canonical JSON, without its own ``checksum`` field."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def write_record(record: dict, folder: Path | str = paths.RECORDS) -> Path:
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


def find_record(key: str, folder: Path | str = paths.RECORDS) -> dict | None:
    """The stored record of run ``key``, or None when that run has not finished yet.

    The file found must be intact (:func:`read_record`) and be run ``key``'s own (:func:`check_record_is`).
    """
    path = record_path(key, folder)
    return check_record_is(read_record(path), key, path) if path.exists() else None


def load_records(folder: Path | str = paths.RECORDS) -> pd.DataFrame:
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
    from lib import profiles

    df = pd.DataFrame(rows)
    df["departs"] = [profiles.departures(r) for r in rows]
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


def records_of(keys, folder: Path | str = paths.RECORDS) -> pd.DataFrame:
    """The records of those run ``keys`` that exist in ``folder`` (each verified), one row each."""
    found = (find_record(key, folder) for key in keys)
    return to_frame([r for r in found if r is not None])


def grid_cost(records: pd.DataFrame) -> dict:
    """What a set of runs cost, from their records (ours): runs, hours of training and evaluation (the sum of
    ``wall_time_s``) and the devices they ran on."""
    return {"runs": len(records), "hours": float(records["wall_time_s"].sum()) / 3600 if len(records) else 0.0,
            "devices": ", ".join(sorted(set(records["device"].astype(str)))) if len(records) else "none"}


# --- How chapter 3 shows its runs (display only: the records and their keys are untouched) ---------------------
