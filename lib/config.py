"""A run's configuration and a grid's plan: profile defaults merged with what was asked, validated before any work.

``make_config`` turns a backbone, a dataset, a seed and overrides into a :class:`lib.train.TrainConfig`; ``plan``
builds every configuration of a grid (and checks that the data is there); ``plan_status`` says which of them are
recorded, resumable or still to run.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lib import paths, profiles, results
from lib.device import channels_last, check_amp, resolve_device
from lib.errors import ConfigError, UnknownNameError
from lib.train import TrainConfig

if TYPE_CHECKING:
    import pandas as pd


def csv_list(text: str, kind=str, what: str = "values") -> list:
    """``"a,b"`` -> ``["a", "b"]`` (converted with ``kind``); an empty list is a ConfigError naming ``what``."""
    try:
        items = [kind(x.strip()) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"could not read {text!r} as comma-separated {what}: give e.g. "
                          f"{'0.1,1' if kind is float else '0,1,2' if kind is not str else 'a,b'}") from None
    if not items:
        raise ConfigError(f"the list of {what} {text!r} is empty: give at least one, comma-separated")
    return items


def make_config(backbone: str, dataset: str, seed: int = 0, profile: str = "workshop",
                **asked) -> TrainConfig:
    """A run's configuration: the profile's ``run`` (``lib.profiles``) with this backbone, dataset and seed and what
    was ``asked`` (any :class:`~lib.train.TrainConfig` field, e.g. ``fraction``, ``image_size``, ``max_epochs``,
    ``device``; ``None`` keeps the profile's value), every value checked here, once, before any work."""
    from lib import data, models

    prof = profiles.get(profile)
    if backbone not in models.names():
        raise UnknownNameError(f"unknown backbone {backbone!r}: choose one of {', '.join(models.names())}")
    data.spec(dataset)   # a registered name, or a reader's folder:<name> / csv:<file>.csv; else UnknownNameError
    unknown = sorted(set(asked) - set(RUN_FIELDS))
    if unknown:
        raise ConfigError(f"{', '.join(unknown)} cannot be set for a run: set one of {', '.join(RUN_FIELDS)}")
    lr = dict(prof.adamw_lr_by_backbone)   # the profile's departures from the paper's AdamW lr, named per backbone
    cfg = dataclasses.replace(prof.run, backbone=backbone, dataset=dataset, seed=seed,
                              **({"adamw_lr": lr[backbone]} if backbone in lr else {}),
                              **{name: value for name, value in asked.items() if value is not None})
    return _checked(cfg)


RUN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in
                   ("backbone", "dataset", "seed", "profile"))
"""What a run may set over its profile."""


def _checked(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with every value checked and made concrete: the image size (None: the dataset's paper size), the
    device (``auto`` resolved), channels_last where the device takes it, the SGD epochs a cap leaves."""
    from lib import data
    from lib.data.splits import check_fraction, check_seed
    from lib.data.transforms import check_image_size

    for name, value, least in (("max_epochs", cfg.max_epochs, 1), ("batch size", cfg.batch_size, 1),
                               ("patience", cfg.patience, 1), ("min_sgd_epochs", cfg.min_sgd_epochs, 0),
                               ("precise_bn_images", cfg.precise_bn_images, 0)):
        if value is None and name == "max_epochs":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ConfigError(f"{name} {value!r} is not a whole number: use {least} or more")
        if value < least:
            raise ConfigError(f"{name} {value} is not allowed: use a whole number, {least} or more"
                              + (" (2+ to reach SGD)" if name == "max_epochs" else ""))
    size = check_image_size(data.spec(cfg.dataset).image_size if cfg.image_size is None else cfg.image_size)
    device = resolve_device(cfg.device)
    if cfg.profile == "paper" and cfg.device == "auto" and device.type == "cpu":
        raise ConfigError("the paper profile found no GPU (CUDA or MPS) and will not fall back to the CPU silently: "
                          "fix the GPU, or pass device 'cpu' explicitly (days per run at the paper's sizes)")
    capped = cfg.max_epochs is not None
    return dataclasses.replace(
        cfg, seed=check_seed(cfg.seed), fraction=check_fraction(cfg.fraction), pretrained=bool(cfg.pretrained),
        image_size=size, amp=check_amp(cfg.amp), select_on=data.check_select_on(cfg.select_on), device=str(device),
        channels_last=channels_last(cfg.channels_last, device),
        min_sgd_epochs=min(cfg.min_sgd_epochs, cfg.max_epochs - 1) if capped else cfg.min_sgd_epochs)


def plan(profile: str = "workshop", backbones: str | list[str] | None = None,
         datasets: str | list[str] | None = None, fractions: str | list[float | None] | None = None,
         seeds: str | list[int] | None = None, data_root: Path | str | None = None,
         **overrides) -> list[TrainConfig]:
    """Every run of a grid, validated before any work (names, ranges, device, data on disk).

    ``None`` picks the profile's choice; names may be comma-separated text (``"all"`` = every backbone).
    ``overrides`` are :func:`make_config`'s keyword arguments (``max_epochs``, ``pretrained``, ...).
    """
    from lib import models

    prof = profiles.get(profile)
    if backbones is None:
        backbones = list(prof.backbones or models.names())
    elif backbones == "all":
        backbones = models.names()
    elif isinstance(backbones, str):
        backbones = csv_list(backbones, what="backbones")
    datasets = list(prof.datasets) if datasets is None else (
        csv_list(datasets, what="datasets") if isinstance(datasets, str) else list(datasets))
    fractions = [None] if fractions is None else (
        csv_list(fractions, float, "fractions") if isinstance(fractions, str) else list(fractions))
    seeds = list(prof.seeds) if seeds is None else (
        csv_list(seeds, int, "seeds") if isinstance(seeds, str) else list(seeds))
    for what, items in (("backbones", backbones), ("datasets", datasets), ("fractions", fractions),
                        ("seeds", seeds)):
        if not items:
            raise ConfigError(f"the list of {what} is empty: give at least one (or None for the profile's)")
    configs = [make_config(b, d, seed=s, profile=profile, fraction=f, **overrides)
               for d in datasets for f in fractions for b in backbones for s in seeds]
    check_inputs(configs, Path(data_root) if data_root is not None else paths.data_root())
    return list(dict.fromkeys(configs))


def check_inputs(configs: list[TrainConfig], root: Path) -> None:
    """Every dataset and weights file the whole plan needs, checked before the first run starts: one DataError
    that lists everything missing and the command that fetches it (not one failure per run, after the others)."""
    from lib import data, models
    from lib.errors import DataError

    missing, fetch = [], []
    for dataset in dict.fromkeys(c.dataset for c in configs):
        try:
            data.read_source(dataset, root)
        except DataError as err:
            missing.append(str(err).split("; ")[0].rstrip("."))   # the first clause says what is missing
            if dataset in data.names():
                fetch.append(dataset)
            continue
        # the paper's protocol on a stand-in far smaller than the dataset would be a silent wrong result; a
        # labelled rehearsal (a cap, another size: lib.profiles.departures) may use one
        protocol_runs = [c for c in configs if c.dataset == dataset and c.profile == "paper"
                         and not profiles.departures(c.as_dict())]
        if protocol_runs and dataset in data.names():
            from lib import fetch as fetching

            problem = fetching.size_problem(dataset, root)
            if problem:
                missing.append(problem.rstrip("."))
                fetch.append(dataset)
    for backbone in dict.fromkeys(c.backbone for c in configs if c.pretrained):
        path = models.checkpoint_path(models.spec(backbone))
        if not path.is_file():
            missing.append(f"{models.spec(backbone).display} ImageNet weights: no file {path.name}")
            fetch.append(f"--weights {backbone}")
    if missing:
        command = f"python -m lib.fetch {' '.join(fetch)}" if fetch else "see the messages"
        raise DataError(f"{len(missing)} input(s) of this plan are missing ({'; '.join(missing)}); fetch them with: "
                        f"{command}")


def plan_status(configs: list[TrainConfig], records_dir: Path | str,
                checkpoint_dir: Path | str | None = None) -> "pd.DataFrame":
    """One row per planned run: recorded (re-used), resumable (checkpoint), to run, or corrupt (named)."""
    import pandas as pd

    from lib.checkpoints import has_header
    from lib.runs import CHECKPOINT_DIR

    rows = []
    for cfg in configs:
        key = results.run_key(cfg.as_dict())
        record = results.record_path(key, records_dir)
        checkpoint = Path(checkpoint_dir or CHECKPOINT_DIR) / f"{key}.pt"
        if record.exists():
            state = "recorded" if results.is_intact(record) else "corrupt record: delete it to run again"
        elif checkpoint.exists():
            state = "resumable" if has_header(checkpoint) else "corrupt checkpoint: delete it to start again"
        else:
            state = "to run"
        rows.append({"backbone": cfg.backbone, "dataset": cfg.dataset, "fraction": cfg.fraction,
                     "seed": cfg.seed, "image_size": f"{cfg.image_size[0]}x{cfg.image_size[1]}",
                     "pretrained": cfg.pretrained, "status": state, "run_key": key})
    return pd.DataFrame(rows)
