"""Which backbone for *your* images? The paper's question, asked of a folder or CSV the reader points at.

Four steps, each a function the chapter (``chapters/07_your_data.ipynb``) and the command line share:

1. :func:`check_dataset` reads an ImageFolder tree (``<folder>/<class>/<image>``) or a CSV (columns
   ``path,label``), decodes every image once (unreadable files are reported by path), counts images per
   class, summarises image sizes and makes the stratified train / validation / test split (a manifest);
2. :func:`plan_search` measures a few training steps of every candidate backbone on this device and turns
   them into a cost estimate, shown before any training starts;
3. :func:`run_search` probes every candidate on a small share of the training images for a few epochs,
   then runs the full protocol (all training images, several seeds) on the ``top_k`` best of the probe,
   never starting a run whose estimated cost would overrun the budget;
4. :func:`ranking`, :func:`recommendation` and :func:`plot_search` report the result beside the paper's
   Table 1 recommendation for the reader's domain.

Every run goes through :func:`lib.runs.run` (records, resume and re-use as in the rest of the book), with
the dataset named ``folder:<name>`` or ``csv:<file>.csv`` under the data's parent folder (see
``lib.data.sources``). Records go to a folder of the reader's choosing, by default under the git-ignored
``checkpoints/yourdata/``, never into the book's ``results/runs/``.

Command line::

    python -m yourdata ~/leaves --domain plant --budget-minutes 30 --top-k 3
"""
from __future__ import annotations

import argparse
import io
import math
import shlex
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from PIL import Image

from lib import models, paper, paths, profiles, results, runs, train, wavemix
from lib.atomic import atomic_write, check_space, folder_problem
from lib.checkpoints import save_checkpoint
from lib.config import make_config
from lib.device import resolve_device
from lib.data import formats, sources
from lib.data.cache import fingerprint
from lib.data.splits import Manifest, check_fraction, read_manifest, write_manifest
from lib.errors import (BookError, ConfigError, DataError, UnknownNameError, interrupted, one_line, printable,
                        signals_raise_interrupted)
from lib.loaders import make_loader
from lib.provenance import environment, now

MIN_TO_SPLIT = 3
"""The fewest images a class may have: one each for the training, validation and test splits (a low-data share
has a rule of its own, ``book.lowdata.MIN_TO_LEARN``)."""

DEFAULT_OUT = paths.YOURDATA
"""Where a search keeps its manifest, run records and report unless told otherwise (git-ignored)."""

BUDGET_MINUTES = 45.0
"""Default time budget of a search (minutes): the workshop demo's probe of eleven backbones and its full runs
fit in it on a 2-core CPU."""

PROBE_FRACTION = 0.5
"""Default share of the training images in a probe run."""

PROBE_EPOCHS = 5
"""Default epoch cap of a probe run: from scratch, a probe shorter than about 60 steps leaves most candidates at
chance, and ranks noise (issue 17)."""

NOISE_FACTOR = 2.0
"""A gap is 'within the noise' when it is below this many standard errors of the difference of two means."""


# ---------------------------------------------------------------------------------------------------
# 1. Check the reader's images and split them
# ---------------------------------------------------------------------------------------------------

class UnreadableImagesError(DataError):
    """Some images cannot be decoded; ``.paths`` lists every one with its reason."""

    def __init__(self, message: str, paths: list[tuple[str, str]]):
        super().__init__(message)
        self.paths = paths


@dataclass
class DatasetCheck:
    """What :func:`check_dataset` found: where the data is, its classes, sizes and the split manifest."""

    root: Path                 # the folder holding the dataset (its parent), the data root for lib.data
    name: str                  # folder:<name> or csv:<file>.csv
    location: Path             # the folder or the CSV itself
    classes: list[str]
    per_class: pd.DataFrame    # class, images, train, val, test
    sizes: pd.DataFrame        # width/height summary and colour modes of the originals
    ignored: list[str]         # files in the folder that are not images (left out)
    manifest: Manifest
    fingerprint: str           # ids, file sizes and modification times: changes when the data changes
    seconds: float             # the whole check
    decode_s: float            # decoding every image once (about what building the image cache costs)

    @property
    def counts(self) -> dict[str, int]:
        return self.manifest.counts()

    @property
    def absolute_note(self) -> str:
        """``; N listed by absolute path`` when a CSV lists images that way (allowed, and said once), else ''."""
        outside = sum(Path(i).is_absolute() for ids in self.manifest.ids.values() for i in ids)
        return f"; {outside} listed by absolute path" if outside else ""


def _inspect(path: Path) -> tuple[int, int, str] | str:
    """(width, height, mode) of an image decoded as training will decode it (turned upright by its EXIF
    orientation; the mode is the file's own), or the reason it cannot be decoded or is refused."""
    try:
        image, mode = formats.decode_file(path, orient=True)
        return image.width, image.height, mode
    except formats.DECODE_ERRORS as err:
        return formats.reason(err)


def _ignored_files(location: Path, listed: set[str]) -> list[str]:
    """Visible files under an ImageFolder tree that are not among its images (wrong extension, loose files)."""
    if not location.is_dir():
        return []
    return sorted(p.relative_to(location).as_posix() for p in location.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(location).parts)
                  and p.relative_to(location).as_posix() not in listed)


def check_dataset(path: str | Path, image_size: int = 32, val_fraction: float = 0.1,
                  min_per_class: int = MIN_TO_SPLIT, workers: int = 4) -> DatasetCheck:
    """Validate the reader's folder or CSV and split it; the first problem found raises a one-line DataError."""
    from lib import data

    start = time.perf_counter()
    root, name = sources.reader_name(path)
    resolved = sources.resolve(name, root)
    location, base = resolved.location, resolved.folder
    source = resolved.read()          # structure: class folders, CSV columns, listed files
    raw = source.train
    decode_start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(lambda i: _inspect(base / i), raw.ids))
    decode_s = time.perf_counter() - decode_start
    bad = [(str(base / i), reason) for i, reason in zip(raw.ids, found) if isinstance(reason, str)]
    if bad:
        shown = ", ".join(f"{p} ({r})" for p, r in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise UnreadableImagesError(f"{len(bad)} of {len(raw.ids)} images cannot be decoded: {shown}; replace or "
                                    f"remove them and run again", bad)
    counts = np.bincount(raw.labels, minlength=len(source.classes))
    few = [(c, int(n)) for c, n in zip(source.classes, counts) if n < min_per_class]
    if few:
        listed = ", ".join(f"{c!r} ({n})" for c, n in few[:5]) + (f" and {len(few) - 5} more" if len(few) > 5 else "")
        raise DataError(f"{len(few)} classes have fewer than {min_per_class} images, too few for a stratified "
                        f"train/validation/test split: {listed}; add images to them or remove them")
    with warnings.catch_warnings():   # the read above has warned about look-alike labels already
        warnings.simplefilter("ignore", formats.LookAlikeLabelsWarning)
        splits = data.load(name, root=root, image_size=image_size, val_fraction=val_fraction, cache=False,
                           progress=False)
    data.check_scored_splits(splits)   # the trainer's rule: every split holds every class
    label_of = dict(zip(raw.ids, raw.labels))
    per_class = pd.DataFrame({"class": source.classes, "images": counts})
    for split, ids in splits.manifest.ids.items():
        per_class[split] = np.bincount([label_of[i] for i in ids], minlength=len(source.classes))
    shapes = pd.DataFrame([f for f in found], columns=["width", "height", "mode"])
    sizes = shapes[["width", "height"]].describe().loc[["min", "50%", "max"]].rename(index={"50%": "median"})
    sizes.loc["smaller than training size"] = [(shapes.width < image_size).sum(), (shapes.height < image_size).sum()]
    modes = shapes["mode"].value_counts()
    sizes = pd.concat([sizes.astype(int), pd.DataFrame({"width": modes.values, "height": modes.values},
                                                       index=[f"mode {m} (images)" for m in modes.index])])
    return DatasetCheck(root=root, name=name, location=location, classes=list(source.classes),
                        per_class=per_class, sizes=sizes, ignored=_ignored_files(location, set(raw.ids)),
                        manifest=splits.manifest, fingerprint=fingerprint(base, raw.ids, (1, 1))[:12],
                        seconds=time.perf_counter() - start, decode_s=decode_s)


def check_line(check: DatasetCheck) -> str:
    """What :func:`check_dataset` found, in one line (Markdown) with the folder relative to the repository."""
    from book import present

    ignored = (f"{len(check.ignored)} other file{'s' if len(check.ignored) != 1 else ''} left out "
               f"({', '.join(check.ignored[:5])}{', …' if len(check.ignored) > 5 else ''})"
               if check.ignored else "no other files")
    return (f"`{present.shown_path(check.location)}`: {len(check.classes)} classes, "
            f"{int(check.per_class.images.sum())} images, {ignored}; checked in {check.seconds:.1f} s.")


def write_demo_folder(dest: str | Path, per_class: int | None = None) -> Path:
    """A small ImageFolder to try the chapter with: scikit-learn's 8x8 digits as PNGs, ``<dest>/<digit>/<n>.png``.

    ``per_class`` keeps the first images of each digit (None: all 1,797). The folder ends up holding exactly
    these images; a file that already holds the right bytes is left alone, so its modification time, and with
    it the data's fingerprint (and the output folder that re-uses finished runs), stays the same.
    """
    import io

    from sklearn.datasets import load_digits

    dest = Path(dest)
    problem = folder_problem(dest)
    if problem:
        raise ConfigError(f"demo folder {dest} cannot be written ({problem}); choose a folder you can write to "
                          f"(demo_dir=)")
    bunch = load_digits()
    pixels = np.clip(np.round(bunch.images * 255.0 / 16.0), 0, 255).astype(np.uint8)
    kept = {d: list(np.flatnonzero(bunch.target == d))[:per_class] for d in range(10)}
    for digit, indices in kept.items():
        folder = dest / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        wanted = {f"{i:04d}.png" for i in indices}
        for old in folder.glob("*.png"):
            if old.name not in wanted:
                old.unlink()
        for i in indices:
            png = io.BytesIO()
            Image.fromarray(pixels[i], "L").save(png, format="PNG")
            path = folder / f"{i:04d}.png"
            if not path.is_file() or path.read_bytes() != png.getvalue():
                path.write_bytes(png.getvalue())
    return dest


DEMO_COSTS = "costs.csv"
"""The demo search's cost measurement, committed beside its records: measuring eleven backbones takes a minute
on a laptop, and the demo's runs are re-used anyway. ``force`` (or your own data) measures again."""


def demo_costs(profile: str) -> pd.DataFrame | None:
    """The committed :func:`measure_costs` table of the demo under ``profile`` (with the machine and commit it was
    measured on), or None when there is none."""
    folder = demo_records_dir(profile)
    path = folder / DEMO_COSTS if folder is not None else None
    return pd.read_csv(path) if path is not None and path.is_file() else None


def write_demo_costs(profile: str, costs: pd.DataFrame) -> Path | None:
    """Keep a fresh measurement of the demo's costs beside its records (once; the file is committed)."""
    from lib.atomic import atomic_write_text

    folder = demo_records_dir(profile)
    if folder is None or (folder / DEMO_COSTS).is_file():
        return None
    env = environment()
    stamped = costs.assign(machine=env["device"], torch=env["torch"], git_commit=env["git_commit"], measured_at=now())
    path = folder / DEMO_COSTS
    atomic_write_text(path, stamped.to_csv(index=False))
    return path


def costs_source(costs: pd.DataFrame) -> str:
    """Where a cost table comes from, in words: measured now, or re-used from the committed measurement."""
    if "machine" not in costs.columns:
        return "measured now, on this machine"
    return (f"measured once on {costs['machine'].iloc[0]} (commit {str(costs['git_commit'].iloc[0])[:7]}, "
            f"{str(costs['measured_at'].iloc[0])[:10]}) and re-used from `results/demo/` like the demo's records; "
            f"`-p force True` measures again")


# ---------------------------------------------------------------------------------------------------
# 2. Plan: candidates, cost measured per backbone, estimate before anything runs
# ---------------------------------------------------------------------------------------------------

def check_domain(domain: str) -> str:
    """``domain`` if it is a column of the paper's Table 1, else an UnknownNameError listing them."""
    if domain not in paper.TABLE1_DOMAINS:
        hint = " (surface defects have no column in Table 1)" if domain == "surface_defects" else ""
        raise UnknownNameError(f"domain {domain!r} is not one of the paper's Table 1 domains{hint}: choose one of "
                               f"{', '.join(paper.TABLE1_DOMAINS)}")
    return domain


def _backbones(backbones: str | list[str] | None, profile: str) -> list[str]:
    prof = profiles.get(profile)
    if not backbones:
        return list(prof.backbones or models.names())
    chosen = models.names() if backbones == "all" else (
        [b.strip() for b in backbones.split(",") if b.strip()] if isinstance(backbones, str) else list(backbones))
    for name in chosen:
        models.spec(name)   # an unknown name raises, listing the valid ones
    if len(set(chosen)) != len(chosen) or not chosen:
        raise ConfigError(f"backbones={backbones!r} is empty or names one twice; give distinct names from "
                          f"lib.models.names()")
    return chosen


def _seeds(seeds: str | list[int] | None, profile: str) -> list[int]:
    if seeds in (None, ""):
        return list(profiles.get(profile).search_seeds)
    try:
        values = [int(s) for s in seeds.split(",") if s.strip()] if isinstance(seeds, str) else [int(s) for s in seeds]
    except ValueError:
        values = []
    if not values or any(s < 0 for s in values) or len(set(values)) != len(values):
        raise ConfigError(f"seeds={seeds!r} is not a list of distinct non-negative integers; pass e.g. '0,1'")
    return values


def measure_costs(backbones: list[str], num_classes: int, image_size: int, batch_size: int, device: str,
                  steps: int = 2, threads: int | None = None, pretrained: bool = False) -> pd.DataFrame:
    """Per backbone on this device: parameters, weights size, training and inference images/s, build time and
    the time of one epoch's checkpoint.

    The throughput comes from ``book.architecture.measure_throughput`` (random inputs, one untimed warm-up
    step, ``steps`` timed steps at this image and batch size, CPU threads as the trainer sets them). The
    checkpoint is timed as the trainer writes it (atomically), once, times four: every epoch saves the weights,
    the best weights and AdamW's two moment estimates, four copies of the state. With ``pretrained`` the
    models are built with their ImageNet weights, so missing weights stop the plan before any training.
    """
    import tempfile

    from book.architecture import measure_throughput
    from lib.timing import seconds

    rows = []
    with runs.torch_threads(threads):
        for name in backbones:
            start = time.perf_counter()
            model = models.build(name, num_classes=num_classes, pretrained=pretrained)
            built = time.perf_counter() - start
            speed = measure_throughput(model, image_size, batch_size, steps, device)
            state = model.state_dict()
            with tempfile.TemporaryDirectory() as folder:
                saved = 4 * seconds(lambda: save_checkpoint(Path(folder) / "probe.pt", {"model": state}))
            rows.append({"backbone": name, "display": models.spec(name).display,
                         "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
                         "size_mb": sum(t.numel() * t.element_size() for t in state.values()) / 1e6,
                         "train_img_s": speed["train_img_s"], "infer_img_s": speed["forward_img_s"],
                         "build_s": built, "checkpoint_s": saved})
            del model
    return pd.DataFrame(rows)


def measure_loader_start(check: DatasetCheck, cfg: train.TrainConfig) -> float:
    """Seconds to get the first batch out of fresh train, validation and test loaders (worker start-up), as
    a run does when it starts; images are decoded on the fly here, so this is an upper bound."""
    from lib import data

    splits = data.load(check.name, root=check.root, image_size=cfg.image_size, val_fraction=cfg.val_fraction,
                       cache=False, progress=False)
    start = time.perf_counter()
    for i, split in enumerate((splits.train, splits.val, splits.test)):
        loader = make_loader(split, cfg.batch_size, i == 0, cfg.seed, profiles.get(cfg.profile).num_workers,
                                   torch.device(cfg.device))
        next(iter(loader))
        del loader
    return time.perf_counter() - start


@dataclass
class SearchPlan:
    """Everything a search will do and what it is estimated to cost, fixed before any training starts."""

    check: DatasetCheck
    profile: str
    domain: str
    budget_s: float
    backbones: list[str]
    top_k: int
    seeds: list[int]
    probe_fraction: float
    probe_epochs: int
    full_epochs: int
    image_size: int
    batch_size: int
    device: str
    costs: pd.DataFrame        # measure_costs(), one row per candidate
    loader_s: float            # measure_loader_start(): data loaders' start-up, paid once a run
    overhead_s: float          # checking the data and measuring the costs: counted against the budget
    out_dir: Path
    records_dir: Path   # where the run records go (``out_dir/runs`` unless plan_search was told otherwise)


    def record(self, backbone: str, stage: str, seed: int) -> dict | None:
        """This run's record if it has finished already (it is re-used and costs nothing), else None."""
        return results.find_record(results.run_key(self.config(backbone, stage, seed).as_dict()), self.records_dir)

    def finalists(self, probed: pd.DataFrame) -> list[str]:
        """The ``top_k`` of the probe (``probed``: backbone, val_top1) by validation top-1; ties: fewer parameters."""
        probed = probed.assign(params_m=probed.backbone.map(self.costs.set_index("backbone").params_m))
        return list(probed.sort_values(["val_top1", "params_m"], ascending=[False, True]).backbone[:self.top_k])

    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"

    def config(self, backbone: str, stage: str, seed: int) -> train.TrainConfig:
        """The trainer configuration of one run (``stage`` is ``probe`` or ``full``)."""
        probe = stage == "probe"
        return make_config(backbone, self.check.name, seed=seed, profile=self.profile,
                           fraction=self.probe_fraction if probe else 1.0, image_size=self.image_size,
                           max_epochs=self.probe_epochs if probe else self.full_epochs,
                           batch_size=self.batch_size, device=self.device)

    def estimate(self, backbone: str, stage: str) -> float:
        """Estimated seconds of one run at its epoch cap: every epoch trains (images / training speed), scores
        val and test (images / inference speed) and writes a checkpoint; once a run: building the model,
        starting the loaders (their workers persist across epochs) and the final test pass."""
        row = self.costs.set_index("backbone").loc[backbone]
        counts = self.check.counts
        train_images = counts["train"] * (self.probe_fraction if stage == "probe" else 1.0)
        epochs = self.probe_epochs if stage == "probe" else self.full_epochs
        evaluated = counts["val"] + counts["test"]   # the profiles score val and test every epoch
        epoch = train_images / row.train_img_s + evaluated / row.infer_img_s + row.checkpoint_s
        return float(epochs * epoch + counts["test"] / row.infer_img_s + row.build_s + self.loader_s)

    def table(self) -> pd.DataFrame:
        """The estimate, one row per candidate: what one probe run and one full run cost (seconds)."""
        out = self.costs[["backbone", "display", "params_m", "size_mb", "train_img_s", "infer_img_s"]].copy()
        out["probe_s"] = [self.estimate(b, "probe") for b in out.backbone]
        out["full_run_s"] = [self.estimate(b, "full") for b in out.backbone]
        return out

    def totals(self) -> dict[str, float]:
        """Seconds still to spend: already spent, the probe of every candidate, the full stage in the worst case
        (the ``top_k`` most expensive candidates x seeds), and the budget. Finished runs cost nothing."""
        table = self.table().set_index("backbone")
        probes = {b: self.record(b, "probe", self.seeds[0]) for b in table.index}
        candidates = table.index   # once every probe has finished, only its top k can go on
        if all(probes.values()):
            candidates = self.finalists(pd.DataFrame([{"backbone": b, "val_top1": r["val_top1"]}
                                                      for b, r in probes.items()]))
        full = [table.full_run_s[b] * sum(self.record(b, "full", seed) is None for seed in self.seeds)
                for b in candidates]
        probe = [s for b, s in table.probe_s.items() if probes[b] is None]
        worst = pd.Series(full, dtype=float).nlargest(self.top_k).sum()
        return {"spent_s": self.overhead_s, "cache_s": self.check.decode_s, "probe_s": float(sum(probe)),
                "full_worst_s": float(worst), "budget_s": self.budget_s}

    def summary(self, reader: bool = False) -> pd.DataFrame:
        """The plan in words and numbers, for the command line; with ``reader`` for the book: backbones by their
        display names and folders relative to the repository (never the build machine's absolute paths)."""
        from book import present

        t = self.totals()
        gpu = self.device.startswith("cuda")
        path = present.shown_path if reader else str
        names = [present.backbone_name(b) for b in self.backbones] if reader else self.backbones
        def minutes(seconds: float, words: str) -> str:   # a recorded run costs nothing: say so, not "0.0 min"
            return f"{words} {seconds / 60:.1f} min" if seconds > 0 else "nothing left to run (its records are re-used)"

        rows = [
            ("data", f"{path(self.check.location)} ({len(self.check.classes)} classes; {self.check.counts['train']} "
                     f"train, {self.check.counts['val']} val, {self.check.counts['test']} test images"
                     f"{self.check.absolute_note})"),
            ("candidates", f"{len(self.backbones)}: {', '.join(names)}"),
            ("probe", f"{self.probe_fraction:.0%} of the training images, at most {self.probe_epochs} epochs, "
                      f"seed {self.seeds[0]}: {minutes(t['probe_s'], 'about')}"),
            ("full protocol", f"top {self.top_k} of {len(self.backbones)} in the probe, all training images, at most {self.full_epochs} "
                              f"epochs, seeds {', '.join(map(str, self.seeds))}: "
                              f"{minutes(t['full_worst_s'], 'at most about')}"),
            ("already spent", f"{t['spent_s']:.0f} s checking the data and measuring the backbones"),
            ("image cache", f"decoding every image once at {self.image_size}x{self.image_size}: about "
                            f"{t['cache_s']:.0f} s"),
            ("budget", f"{self.budget_s / 60:.1f} min" + (f" ({self.budget_s / 3600:.3f} GPU-hours)" if gpu else "")
                       + f" on {self.device}; a run is started only if its estimate fits in what is left"),
            ("profile", f"{self.profile} (image size {self.image_size}, batch {self.batch_size}, " + (
                "ImageNet weights)" if profiles.get(self.profile).run.pretrained else "random initialisation)")),
            ("records", path(self.records_dir)),
        ]
        return pd.DataFrame(rows, columns=["item", "plan"]).set_index("item")


def plan_search(path: str | Path, domain: str = "overall", budget_minutes: float = BUDGET_MINUTES,
                backbones: str | list[str] | None = None, top_k: int = 3, seeds: str | list[int] | None = None,
                profile: str = "workshop", probe_fraction: float = PROBE_FRACTION, probe_epochs: int = PROBE_EPOCHS,
                full_epochs: int = 0, image_size: int = 0, batch_size: int = 0, out_dir: str | Path | None = None,
                costs: pd.DataFrame | None = None, timing_steps: int = 2,
                check: DatasetCheck | None = None, records_dir: str | Path | None = None) -> SearchPlan:
    """Validate everything, check the data, measure the candidates and estimate the cost; trains nothing.

    ``full_epochs`` / ``image_size`` / ``batch_size`` 0 mean the profile's (a profile without an epoch cap,
    ``paper``, gets :data:`UNCAPPED_EPOCHS`, since a budget needs a bound); ``costs`` skips the measurement
    (a table from an earlier :func:`measure_costs`), ``check`` the data check (one :func:`check_dataset` of
    ``path`` already made); ``records_dir`` keeps the run records apart from the rest of ``out_dir`` (the demo's
    committed ones, :func:`demo_records_dir`). Finished runs cost nothing in the estimate. Raises a one-line BookError on the first bad input.
    """
    start = time.perf_counter()
    prof = profiles.get(profile)
    for folder in (out_dir, records_dir):
        if folder:
            check_out_dir(folder)
    domain = check_domain(domain)
    chosen = _backbones(backbones, profile)
    seed_list = _seeds(seeds, profile)
    budget = _positive(budget_minutes, "budget_minutes", "e.g. 15 (minutes; on a GPU 60 = one GPU-hour)")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ConfigError(f"top_k={top_k!r} is not a positive integer; pass e.g. 3")
    top_k = min(int(top_k), len(chosen))   # the plan's summary says "top k of n"
    probe_fraction = check_fraction(probe_fraction, "probe_fraction")
    full_epochs = int(full_epochs) or prof.run.max_epochs or UNCAPPED_EPOCHS
    if isinstance(probe_epochs, bool) or not 1 <= int(probe_epochs) or full_epochs < 1:
        raise ConfigError(f"probe_epochs={probe_epochs!r}, full_epochs={full_epochs!r}: both must be 1 or more")
    probe_epochs = min(int(probe_epochs), full_epochs)
    size = int(image_size) or (prof.run.image_size or sources.PAPER_SIZE)[0]
    if size < wavemix.SIDE_MULTIPLE or size % wavemix.SIDE_MULTIPLE:
        raise ConfigError(f"image_size={size} is not a multiple of {wavemix.SIDE_MULTIPLE} of at least "
                          f"{wavemix.SIDE_MULTIPLE} (WaveMix's wavelet levels and the Swin windows need it); pass e.g. "
                          f"32, 64, 128 or 256")
    batch = int(batch_size) or prof.run.batch_size
    device = str(resolve_device(prof.run.device))
    if check is None:
        check = check_dataset(path, image_size=size)
    elif check.location != Path(path).expanduser().absolute():
        raise ConfigError(f"check is of {check.location}, not of {path}; pass check=None to check {path}")
    out = Path(out_dir) if out_dir else check_out_dir(
        DEFAULT_OUT / f"{sources.resolve(check.name, check.root).cache_name}-{check.fingerprint}")
    check_out_dir_data(out, check.manifest)   # before minutes of measuring
    cfg = make_config(chosen[0], check.name, profile=profile, image_size=size, batch_size=batch,
                      device=device)    # validates batch size and device the trainer's way
    if costs is None:
        costs = measure_costs(chosen, len(check.classes), size, min(batch, check.counts["train"]), device,
                              steps=timing_steps, pretrained=cfg.pretrained,
                              threads=runs.default_threads(prof.num_workers) if device == "cpu" else None)
    elif set(costs.backbone) != set(chosen):
        raise ConfigError(f"costs has rows for {sorted(costs.backbone)}, not the candidates {chosen}; measure them "
                          f"again with measure_costs")
    loader_s = measure_loader_start(check, cfg)
    plan = SearchPlan(check=check, profile=profile, domain=domain, budget_s=budget * 60.0, backbones=chosen,
                      top_k=int(top_k), seeds=seed_list, probe_fraction=probe_fraction, probe_epochs=probe_epochs,
                      full_epochs=full_epochs, image_size=size, batch_size=batch, device=device,
                      costs=costs.reset_index(drop=True), loader_s=loader_s, overhead_s=time.perf_counter() - start,
                      out_dir=out, records_dir=Path(records_dir) if records_dir else out / "runs")
    totals = plan.totals()
    cheapest_full = 0.0 if totals["full_worst_s"] == 0 else plan.table().full_run_s.min()
    needed = totals["spent_s"] + totals["cache_s"] + totals["probe_s"] + cheapest_full
    if needed > plan.budget_s:
        raise ConfigError(f"budget_minutes={budget_minutes:g} is too small: checking and measuring took "
                          f"{totals['spent_s']:.0f} s, the image cache needs about {totals['cache_s']:.0f} s, the probe of {len(chosen)} backbones needs about "
                          f"{totals['probe_s'] / 60:.1f} min and one full run at least {cheapest_full / 60:.1f} min; "
                          f"pass at least {math.ceil(needed / 60)} minutes, fewer backbones or a smaller probe_fraction")
    return plan


def check_out_dir_data(out_dir: Path, manifest: Manifest) -> None:
    """A DataError, saying what changed, when ``out_dir`` holds the search of other data than ``manifest`` (its
    ``manifest.json``): its probes and full runs would be re-used for images they were not trained on."""
    saved = Path(out_dir) / "manifest.json"
    if not saved.is_file():
        return
    old = read_manifest(saved)
    changed = runs.data_changes({"data_sha256": old.data_sha256, "manifest_sha256": old.sha256}, old.counts(),
                                manifest)
    if changed:
        raise DataError(f"output folder {out_dir} holds a search of other data than {manifest.dataset} holds now "
                        f"({'; '.join(changed)}): to keep it, pass another --out (out_dir=); to search the data as "
                        f"it is now, delete {out_dir}")


def check_out_dir(out_dir: str | Path) -> Path:
    """``out_dir`` as a Path if the manifest, records and report can be written there; else a ConfigError now,
    before minutes of measuring (nothing is created here)."""
    problem = folder_problem(out_dir)
    if problem:
        raise ConfigError(f"output folder {out_dir} cannot be used ({problem}); choose a folder you can write to "
                          f"with --out (out_dir= in Python)")
    return Path(out_dir)


UNCAPPED_EPOCHS = 30
"""Epoch cap of a full run under a profile without one (``paper``): a budget needs an upper bound per run."""


def _positive(value, name: str, example: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0 or math.isinf(number):
        raise ConfigError(f"{name}={value!r} is not a positive number; pass {example}")
    return number


# ---------------------------------------------------------------------------------------------------
# 3. Run: probe every candidate, then the full protocol on the best, inside the budget
# ---------------------------------------------------------------------------------------------------

@dataclass
class SearchResult:
    """The plan, one ledger row per planned run (ran, re-used or skipped for the budget) and the records."""

    plan: SearchPlan
    ledger: pd.DataFrame       # stage, backbone, seed, estimate_s, measured_s, status, run_key
    records: pd.DataFrame      # lib.results.to_frame of every finished run, with a ``stage`` column
    top: list[str]             # the backbones that went on to the full protocol

    @property
    def spent_s(self) -> float:
        return self.plan.overhead_s + float(self.ledger.measured_s.sum())


def _default_runner(plan: SearchPlan, log: Callable[[str], None]) -> Callable[[train.TrainConfig], dict]:
    def run(cfg: train.TrainConfig) -> dict:
        return runs.run(cfg, data_root=plan.check.root, records_dir=plan.records_dir,
                         checkpoint_dir=plan.checkpoint_dir, progress=False, log=log)
    return run


def full_estimate_from_probe(plan: SearchPlan, record: dict, measured_s: float, reused: bool) -> float | None:
    """A full run's seconds re-estimated from the same backbone's probe record, or None without a history.

    The record's history says how fast this backbone really trained on these images (training seconds per
    image, data loading included) and what an epoch's evaluation cost; what the run took beyond its epochs
    (building, checkpoints, loaders) is charged per epoch, which over-counts the one-off part: cautious.
    """
    history = record.get("history") or []
    if not history:
        return None
    epochs = len(history)
    train_s = sum(h["train_seconds"] for h in history)
    images = sum(h["train_images"] for h in history)
    epoch_s = sum(h["epoch_seconds"] for h in history)
    row = plan.costs.set_index("backbone").loc[record["backbone"]]
    rest = (row.checkpoint_s + (plan.loader_s + row.build_s) / epochs if reused
            else max(measured_s - epoch_s, 0.0) / epochs)
    per_epoch = plan.check.counts["train"] * train_s / max(images, 1) + (epoch_s - train_s) / epochs + rest
    return float(plan.full_epochs * per_epoch)


def run_search(plan: SearchPlan, runner: Callable[[train.TrainConfig], dict] | None = None,
               clock: Callable[[], float] = time.perf_counter, log: Callable[[str], None] = print,
               preload: bool = True) -> SearchResult:
    """Probe, pick the ``top_k`` by validation top-1, run them with every seed; keep inside the budget.

    Before each run its estimate is checked against what is left of the budget, and the run is skipped if it
    does not fit. The estimate is the plan's, scaled by how far off the finished runs of the same stage were
    (the largest measured/estimated ratio, at least 1); a full run is re-estimated from its backbone's probe
    record first (:func:`full_estimate_from_probe`). Probe runs go in the plan's order; full runs seed by seed,
    so every top backbone gets its first seed before any gets a second. ``runner``, ``clock`` and ``preload``
    (build the image cache first) are for tests.
    """
    runner = runner or _default_runner(plan, lambda line: None)
    check_out_dir_data(plan.out_dir, plan.check.manifest)
    write_manifest(plan.check.manifest, plan.out_dir / "manifest.json")
    spent, rows, records = plan.overhead_s, [], []
    ratio = {"probe": 1.0, "full": None}      # None: no full run measured yet
    from_probe: dict[str, float] = {}          # backbone -> full-run estimate from its probe record
    if preload:   # decode every image once into the cache the runs read; counted against the budget
        from lib import data

        start = clock()
        data.load(plan.check.name, root=plan.check.root, image_size=plan.image_size, progress=False)
        rows.append({"stage": "cache", "backbone": "", "seed": -1, "estimate_s": plan.check.decode_s,
                     "allowed_s": plan.check.decode_s, "measured_s": clock() - start, "run_key": "", "status": "ran"})
        spent += rows[-1]["measured_s"]

    def attempt(stage: str, backbone: str, seed: int) -> None:
        nonlocal spent
        cfg = plan.config(backbone, stage, seed)
        estimate = plan.estimate(backbone, stage)
        if stage == "full" and backbone in from_probe:
            base, scale = from_probe[backbone], ratio["full"] or 1.0
        else:   # a full run without a probe history inherits the probe's error until full runs have their own
            base, scale = estimate, ratio[stage] or ratio["probe"]
        row = {"stage": stage, "backbone": backbone, "seed": seed, "estimate_s": estimate,
               "allowed_s": base * scale, "measured_s": 0.0, "run_key": results.run_key(cfg.as_dict())}
        reused = results.record_path(row["run_key"], plan.records_dir).exists()   # costs next to nothing
        if not reused and spent + row["allowed_s"] > plan.budget_s:
            rows.append({**row, "status": "skipped: budget"})
            log(f"skip {stage} {backbone} seed {seed}: needs ~{row['allowed_s']:.0f} s, "
                f"{plan.budget_s - spent:.0f} s of the budget left")
            return
        start = clock()
        record = runner(cfg)
        measured = clock() - start
        spent += measured
        if not reused:
            ratio[stage] = max(ratio[stage] or 1.0, measured / max(base, 1e-9))
        if stage == "probe":
            refined = full_estimate_from_probe(plan, record, measured, reused)
            if refined is not None:
                from_probe[backbone] = refined
        rows.append({**row, "measured_s": measured, "status": "re-used" if reused else "ran"})
        records.append({**record, "stage": stage})
        log(f"{stage} {backbone} seed {seed}: val top-1 {record['val_top1']:.1f} %, {measured:.0f} s "
            f"(allowed {row['allowed_s']:.0f} s)")

    for backbone in plan.backbones:
        attempt("probe", backbone, plan.seeds[0])
    top = plan.finalists(pd.DataFrame([{"backbone": r["backbone"], "val_top1": r["val_top1"]} for r in records
                                       if r["stage"] == "probe"], columns=["backbone", "val_top1"]))
    for seed in plan.seeds:
        for backbone in top:
            attempt("full", backbone, seed)
    frame = results.to_frame(records)
    return SearchResult(plan=plan, ledger=pd.DataFrame(rows), records=frame, top=top)


# ---------------------------------------------------------------------------------------------------
# 4. Report
# ---------------------------------------------------------------------------------------------------

def probe_table(result: SearchResult) -> pd.DataFrame:
    """Every probed candidate: probe validation and test top-1 (ours) and whether it went on to the full protocol."""
    probe = result.records[result.records.stage == "probe"] if len(result.records) else result.records
    out = probe[["backbone", "val_top1", "test_top1"]].rename(columns={"val_top1": "probe_val_top1",
                                                                       "test_top1": "probe_test_top1"})
    out = out.merge(result.plan.costs[["backbone", "display", "params_m"]], on="backbone")
    out["to_full_protocol"] = out.backbone.isin(result.top)
    return out.sort_values(["probe_val_top1", "params_m"], ascending=[False, True]).reset_index(drop=True)


def ranking(result: SearchResult) -> pd.DataFrame:
    """The full-protocol backbones ranked by mean validation top-1 over seeds (ties: fewer parameters).

    The ranking selects on validation, so the test columns are an estimate the choice did not see. ``*_std``
    is the spread over seeds (ddof 1; NaN with one seed). All numbers are ours, measured on this device.
    """
    full = result.records[result.records.stage == "full"] if len(result.records) else result.records
    if full.empty:
        return pd.DataFrame(columns=["rank", "backbone", "display", "val_top1_mean", "val_top1_std",
                                     "test_top1_mean", "test_top1_std", "n_seeds", "params_m", "size_mb",
                                     "infer_img_s", "train_img_s"])
    agg = full.groupby("backbone").agg(val_top1_mean=("val_top1", "mean"), val_top1_std=("val_top1", "std"),
                                       test_top1_mean=("test_top1", "mean"), test_top1_std=("test_top1", "std"),
                                       n_seeds=("seed", "nunique")).reset_index()
    costs = result.plan.costs[["backbone", "display", "params_m", "size_mb", "infer_img_s", "train_img_s"]]
    out = agg.merge(costs, on="backbone").sort_values(["val_top1_mean", "params_m"], ascending=[False, True])
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[["rank", "backbone", "display", "val_top1_mean", "val_top1_std", "test_top1_mean", "test_top1_std",
                "n_seeds", "params_m", "size_mb", "infer_img_s", "train_img_s"]].reset_index(drop=True)


def ledger_line(ledger: pd.DataFrame) -> str:
    """The search's ledger in one line, as ``book.present.runs_line`` says a run plan's: "17 runs re-used, 0 trained,
    0 skipped for the budget" (the image cache is not a run)."""
    counts = ledger[ledger.stage != "cache"].status.value_counts()
    reused, ran, skipped = (int(counts.get(k, 0)) for k in ("re-used", "ran", "skipped: budget"))
    return (f"{reused} run{'s' if reused != 1 else ''} re-used, {ran} trained, "
            f"{skipped} skipped for the budget")


def ledger_table(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger as a reader reads it: no run keys, and the image cache's row without a backbone or a seed."""
    cache = ledger.stage == "cache"
    return ledger.drop(columns="run_key").assign(
        backbone=[None if c else b for c, b in zip(cache, ledger.backbone)],
        seed=pd.Series([None if c else int(s) for c, s in zip(cache, ledger.seed)], index=ledger.index, dtype=object))


def report_line(files: dict[str, Path]) -> str:
    """Where :func:`write_report` wrote its files, in one sentence (Markdown), the folder relative to the
    repository."""
    from book import present

    folders = {path.parent for path in files.values()}
    where = present.shown_path(next(iter(folders))) if len(folders) == 1 else "the output folder"
    return f"Written to `{where}/`: " + ", ".join(f"`{path.name}`" for path in files.values()) + "."


def gap_to_runner_up(table: pd.DataFrame) -> dict:
    """How far the runner-up is behind the winner (validation top-1 points) and whether that is within the
    noise: below :data:`NOISE_FACTOR` standard errors of the difference of the two means over seeds."""
    if len(table) < 2:
        return {"gap": float("nan"), "noise": float("nan"), "verdict": "no runner-up"}
    first, second = table.iloc[0], table.iloc[1]
    gap = float(first.val_top1_mean - second.val_top1_mean)
    if min(first.n_seeds, second.n_seeds) < 2:
        return {"gap": gap, "noise": float("nan"), "verdict": "unknown (one seed: no spread to compare with)"}
    noise = float(math.sqrt(first.val_top1_std ** 2 / first.n_seeds + second.val_top1_std ** 2 / second.n_seeds))
    within = gap <= NOISE_FACTOR * noise
    return {"gap": gap, "noise": noise, "verdict": "within the noise" if within else "larger than the noise"}


def demo_reference(profile: str, image_size: int, dataset: str = "digits") -> pd.DataFrame:
    """Chapter 3's grid records of ``dataset`` (the whole training split, every seed) under ``profile`` at
    ``image_size``: the full protocol the demo's probe is checked against (empty when none are committed)."""
    records = results.load_records()
    if records.empty:
        return records
    return records[(records.dataset == dataset) & (records.profile == profile) & (records.fraction == 1.0)
                   & (records.image_size == f"{image_size}x{image_size}")].reset_index(drop=True)


def probe_vs_full(result: SearchResult, reference: pd.DataFrame | None, n_resamples: int = 2000,
                  seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Is the probe a fair filter? Each candidate's probe validation top-1 beside its full-protocol test top-1
    (mean over the seeds of ``reference``, :func:`demo_reference`), with both ranks; and Spearman's rho between
    the two, with a 95 % bootstrap interval over the reference's seeds (each backbone's seeds resampled with
    replacement). All ours. The summary also says whether the full protocol's best made the probe's top k."""
    from scipy import stats

    probe = probe_table(result)[["backbone", "display", "probe_val_top1", "to_full_protocol"]]
    if reference is None or reference.empty:   # your own data: no full protocol on every candidate to compare
        reference = pd.DataFrame({"backbone": pd.Series(dtype=str), "test_top1": pd.Series(dtype=float)})
    full = reference[reference.backbone.isin(probe.backbone)]
    per = full.groupby("backbone").test_top1.agg(full_test_top1="mean", full_ci95=results.ci95,
                                                  n_seeds="count").reset_index()
    table = probe.merge(per, on="backbone")
    summary = {"n": len(table), "spearman": float("nan"), "low": float("nan"), "high": float("nan"),
               "best_kept": None, "seeds": int(table.n_seeds.min()) if len(table) else 0,
               "full_spread": float(table.full_test_top1.max() - table.full_test_top1.min()) if len(table) else 0.0}
    if len(table) < 3:
        return table, summary
    table["probe_rank"] = table.probe_val_top1.rank(ascending=False, method="min").astype(int)
    table["full_rank"] = table.full_test_top1.rank(ascending=False, method="min").astype(int)
    table = table.sort_values(["full_rank", "probe_rank"]).reset_index(drop=True)
    summary["spearman"] = float(stats.spearmanr(table.probe_val_top1, table.full_test_top1).statistic)
    rng = np.random.default_rng(seed)
    draws = np.column_stack([   # n_resamples x candidates: the mean of each backbone's resampled seeds
        rng.choice(full[full.backbone == b].test_top1.to_numpy(), (n_resamples, n)).mean(axis=1)
        for b, n in zip(table.backbone, table.n_seeds)])
    x = stats.rankdata(table.probe_val_top1.to_numpy())
    y = stats.rankdata(draws, axis=1)   # Spearman's rho = Pearson's r of the ranks, row by row
    x, y = x - x.mean(), y - y.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):   # a draw with every rank tied has no rho
        rhos = (y @ x) / np.sqrt((y ** 2).sum(axis=1) * (x ** 2).sum())
    summary["low"], summary["high"] = (float(x) for x in np.nanpercentile(rhos, [2.5, 97.5]))
    summary["best_kept"] = bool(table.loc[table.full_rank == 1, "to_full_protocol"].any())
    return table, summary


def describe_probe_check(summary: dict, top_k: int) -> str:
    """:func:`probe_vs_full`'s summary in one sentence (Markdown), or why there is none."""
    if summary["n"] < 3:
        return ("not measured: fewer than three candidates have full-protocol records to compare with (chapter 3's "
                "grid under this profile)")
    kept = "made" if summary["best_kept"] else "did not make"
    if summary["low"] > 0:
        reading = "the probe orders the candidates as the full protocol does, beyond its seed noise"
    elif summary["high"] < 0:
        reading = "the probe orders the candidates against the full protocol, beyond its seed noise"
    else:
        reading = (f"the interval includes zero, so here the probe's order is no evidence of the full protocol's, "
                   f"whose means lie within {summary['full_spread']:.1f} points of each other")
    return (f"Spearman's rho = {summary['spearman']:.2f} (95 % bootstrap interval {summary['low']:.2f} to "
            f"{summary['high']:.2f}, {summary['n']} backbones, at least {summary['seeds']} seeds each); the full "
            f"protocol's best {kept} the probe's top {top_k}; {reading}")


def paper_recommendation(domain: str) -> pd.DataFrame:
    """The paper's Table 1 for ``domain``: Best, Better, Good (source = paper)."""
    table = paper.table1()
    table = table[table.domain == check_domain(domain)].sort_values("rank")
    table["display"] = table.backbone.map(paper.display_names())
    return table[["source", "domain", "rank", "place", "backbone", "display"]].reset_index(drop=True)


def recommendation(result: SearchResult) -> str:
    """The recommendation in words (Markdown): the winner, the runner-up's gap against the noise, the paper's pick."""
    table, plan = ranking(result), result.plan
    picks = paper_recommendation(plan.domain)
    paper_text = ", ".join(f"{r.display} ({r.place})" for r in picks.itertuples())
    paper_line = (f"For the domain *{plan.domain}* the paper's Table 1 recommends {paper_text} (**paper**, "
                  f"ImageNet-pretrained backbones fine-tuned on the paper's datasets).")
    if table.empty:
        return ("No backbone finished the full protocol within the budget, so there is no recommendation "
                "(**ours**); raise the budget or probe fewer backbones. " + paper_line)
    best = table.iloc[0]
    text = (f"On your data **{best.display}** ranks first (**ours**): validation top-1 {best.val_top1_mean:.1f} % "
            f"(mean of {best.n_seeds} seed{'s' if best.n_seeds > 1 else ''}), test top-1 {best.test_top1_mean:.1f} %, "
            f"{best.params_m:.1f} M parameters, {best.infer_img_s:.0f} images/s inference on {plan.device}.")
    gap = gap_to_runner_up(table)
    if len(table) > 1:
        second = table.iloc[1]
        noise = (f"the standard error of that difference over seeds is {gap['noise']:.1f} points"
                 if not math.isnan(gap["noise"]) else "with a single seed the spread is unknown")
        text += (f" The runner-up, **{second.display}**, is {gap['gap']:.1f} points behind on validation; "
                 f"{noise}, so the gap is **{gap['verdict']}**.")
        if gap["verdict"] == "within the noise":
            smaller = best if best.params_m <= second.params_m else second
            text += f" Either will do; the smaller one is {smaller.display} ({smaller.params_m:.1f} M parameters)."
    agrees = best.backbone in set(picks.backbone)
    text += " " + paper_line + (" Your winner is among them." if agrees else " Your winner is not among them.")
    if not profiles.get(plan.profile).run.pretrained:
        text += (" These runs start from random weights (profile {}), so they compare architectures trained from "
                 "scratch, not the paper's fine-tuning.".format(plan.profile))
    return text


def plot_search(result: SearchResult):
    """Left: probe validation top-1 of every candidate, each in its colour of the book's palette (paler: did not go
    on). Right: the full protocol's test top-1 (mean ± std over seeds) against inference speed. All ours."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from book import present

    probe, table = probe_table(result), ranking(result)
    chance = 100.0 / len(result.plan.check.classes)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4), width_ratios=(1.1, 1))
    left.axvline(chance, color="black", linestyle="--", linewidth=1, label="guessing")
    shown = probe.iloc[::-1]
    left.barh([present.backbone_name(b) for b in shown.backbone], shown.probe_val_top1, edgecolor="#333333",
              linewidth=0.4, color=[to_rgba(present.colour(b), 1.0 if kept else 0.3)
                                    for b, kept in zip(shown.backbone, shown.to_full_protocol)])
    left.set_xlabel("probe validation top-1 (%)")
    left.legend(loc="lower right", fontsize=8)
    left.set_title(f"ours: probe ({result.plan.probe_fraction:.0%} of train, ≤{result.plan.probe_epochs} epochs; "
                   f"paler: not kept)", fontsize=10)
    for row in table.itertuples():
        name = present.backbone_name(row.backbone)
        spread = 0.0 if math.isnan(row.test_top1_std) else row.test_top1_std   # one seed: no spread
        right.errorbar([row.infer_img_s], [row.test_top1_mean], yerr=[spread], fmt="o", capsize=4,
                       color=present.colour(name), label=f"{row.rank}. {name}")   # a legend: points may touch
    if not table.empty:
        right.margins(x=0.3, y=0.3)
        right.legend(fontsize=8, loc="best", title="rank on validation", title_fontsize=8)
    right.set_xlabel(f"inference images/s on {result.plan.device}")
    right.set_ylabel("test top-1 (%), mean ± std over seeds")
    right.set_title("ours: full protocol on the top of the probe", fontsize=10)
    fig.tight_layout()
    return fig


def write_report(result: SearchResult) -> dict[str, Path]:
    """Write the plan, ledger, probe table, ranking, plot and recommendation next to the runs; return the paths."""
    import matplotlib.pyplot as plt

    out = result.plan.out_dir
    files = {"plan": out / "plan.csv", "ledger": out / "ledger.csv", "probe": out / "probe.csv",
             "ranking": out / "ranking.csv", "recommendation": out / "recommendation.md", "plot": out / "ranking.png"}
    fig = plot_search(result)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=120)
    plt.close(fig)
    payloads = {"plan": result.plan.table().to_csv(index=False), "ledger": result.ledger.to_csv(index=False),
                "probe": probe_table(result).to_csv(index=False), "ranking": ranking(result).to_csv(index=False),
                "recommendation": recommendation(result) + "\n", "plot": png.getvalue()}
    payloads = {k: v.encode() if isinstance(v, str) else v for k, v in payloads.items()}
    check_space(out, sum(map(len, payloads.values())), f"the report in {out}")   # all of it, or none
    for name, payload in payloads.items():
        atomic_write(files[name], lambda handle, payload=payload: handle.write(payload), binary=True,
                     size=len(payload), what="report file")
    return files


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one ConfigError line (exit 2)."""

    def error(self, message):
        raise ConfigError(f"{message} (see python -m yourdata --help)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = _Parser(prog="python -m yourdata",
                description="Which backbone for your images? Check them, estimate the cost, probe every "
                            "backbone, run the full protocol on the best within a budget, and rank them.")
    p.add_argument("data", help="a folder of class sub-folders (<class>/<image>) or a CSV with columns path,label")
    p.add_argument("--domain", default="overall", help=f"your images' domain in the paper's Table 1: "
                                                       f"{', '.join(paper.TABLE1_DOMAINS)}")
    p.add_argument("--budget-minutes", type=float, default=None, help=f"time budget for everything (default {BUDGET_MINUTES:g})")
    p.add_argument("--budget-gpu-hours", type=float, default=None, help="the same budget in GPU-hours")
    p.add_argument("--backbones", default=None, help="comma-separated candidates, or 'all' (default: the profile's)")
    p.add_argument("--top-k", type=int, default=3, help="how many of the probe's best get the full protocol")
    p.add_argument("--seeds", default=None, help="seeds of the full protocol, comma-separated (default: ci 0, "
                                                  "workshop 0,1, paper 0,1,2)")
    p.add_argument("--profile", default="workshop", help=f"one of {', '.join(profiles.names())} (default workshop)")
    p.add_argument("--probe-fraction", type=float, default=PROBE_FRACTION,
                   help=f"share of the training images in the probe (default {PROBE_FRACTION:g})")
    p.add_argument("--probe-epochs", type=int, default=PROBE_EPOCHS,
                   help=f"epoch cap of a probe run (default {PROBE_EPOCHS})")
    p.add_argument("--full-epochs", type=int, default=0, help="epoch cap of a full run (0: the profile's)")
    p.add_argument("--image-size", type=int, default=0,
                   help=f"square side, a multiple of {wavemix.SIDE_MULTIPLE} (0: the profile's)")
    p.add_argument("--batch-size", type=int, default=0, help="0: the profile's")
    p.add_argument("--out", type=Path, default=None, help=f"folder for the manifest, records and report "
                                                          f"(default under {DEFAULT_OUT})")
    p.add_argument("--dry-run", action="store_true", help="check the data and show the estimate; train nothing")
    args = p.parse_args(argv)
    if args.budget_minutes is not None and args.budget_gpu_hours is not None:
        raise ConfigError("give --budget-minutes or --budget-gpu-hours, not both")
    args.budget = (args.budget_gpu_hours * 60 if args.budget_gpu_hours is not None
                   else args.budget_minutes if args.budget_minutes is not None else BUDGET_MINUTES)
    return args


def _say(text: str, file=None) -> None:
    """Print ``text`` line by line, with the bytes of a non-UTF-8 file name escaped rather than crashing print."""
    print("\n".join(printable(line) for line in text.splitlines()), file=file or sys.stdout)


def _warn_on_one_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {printable(str(message))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Exit 0 after a search (or a dry run), 2 on bad input or data, 1 on an unexpected fault, 130 (Ctrl-C) or 143
    (SIGTERM) when interrupted: each with one line, the last saying what was saved and how to resume."""
    argv = sys.argv[1:] if argv is None else argv
    state: dict = {}
    try:
        with warnings.catch_warnings(), signals_raise_interrupted():   # warnings: one line each, as errors are
            warnings.showwarning = _warn_on_one_line
            return _main(argv, state)
    except KeyboardInterrupt as err:
        stop, plan = interrupted(err), state.get("plan")
        if plan is None:
            saved = "nothing was trained yet"
        else:
            done = len(list(plan.records_dir.glob("*.json"))) if plan.records_dir.is_dir() else 0
            ckpt = len(list(plan.checkpoint_dir.glob("*.pt"))) if plan.checkpoint_dir.is_dir() else 0
            saved = (f"{done} finished runs are kept in {plan.records_dir}"
                     + (f", the interrupted run resumes from its checkpoint in {plan.checkpoint_dir}" if ckpt else ""))
        _say(f"interrupted ({stop.signal_name}): {saved}; to resume, run the same command again: "
             f"{shlex.join(['python', '-m', 'yourdata', *argv])}", file=sys.stderr)
        return stop.exit_status
    except BookError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:   # a fault that is not the reader's to fix: one line, not a traceback
        print(f"error: {type(err).__name__}: {one_line(err)} (an unexpected fault; finished runs are kept, run the "
              f"same command again to resume)", file=sys.stderr)
        return 1


def _main(argv: list[str], state: dict) -> int:
    try:
        args = parse_args(argv)
        plan = plan_search(args.data, domain=args.domain, budget_minutes=args.budget, backbones=args.backbones,
                           top_k=args.top_k, seeds=args.seeds, profile=args.profile,
                           probe_fraction=args.probe_fraction, probe_epochs=args.probe_epochs,
                           full_epochs=args.full_epochs, image_size=args.image_size, batch_size=args.batch_size,
                           out_dir=args.out)
    except BookError as err:   # everything is checked before anything is written
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    state["plan"] = plan
    with pd.option_context("display.width", 160, "display.max_colwidth", 120):
        _say(plan.summary().to_string())
        _say(plan.table().round(2).to_string(index=False))
    if args.dry_run:
        return 0
    result = run_search(plan)   # a BookError (data changed, disk full) is one line, in main
    files = write_report(result)
    with pd.option_context("display.width", 160):
        print(ranking(result).round(2).to_string(index=False))
    _say(recommendation(result).replace("**", ""))
    _say(f"spent {result.spent_s / 60:.1f} of {plan.budget_s / 60:.1f} budgeted minutes; report in {files['ranking'].parent}")
    return 0


def demo_records_dir(profile: str) -> Path | None:
    """Where the demo search's records are committed under ``profile`` (``results/demo/<profile>``), or None for
    a profile whose records are not kept (``ci``: its smoke runs go to the output folder)."""
    return paths.demo(profile) if profiles.get(profile).keep_records else None
