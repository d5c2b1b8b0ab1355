"""A run's configuration and a grid's plan: profile defaults merged with what was asked, validated before any work.

``make_config`` turns a backbone, a dataset, a seed and overrides into a :class:`lib.train.TrainConfig`; ``plan``
builds every configuration of a grid (and checks that the data is there); ``plan_status`` says which of them are
recorded, resumable or still to run.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lib import paths
from lib import profiles, results
from lib.device import AMP_CHOICES, channels_last, resolve_device
from lib.errors import ConfigError, UnknownNameError
from lib.train import TrainConfig

MAX_SEED = 2**32 - 1   # numpy's legacy seeding takes 32 bits; every seed the book derives stays inside 64


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


def _check_whole(name: str, value, what: str) -> None:
    """ConfigError unless ``value`` is None or an int (a papermill parameter may arrive as text or float)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise ConfigError(f"{name} {value!r} is not a whole number: {what}")


def make_config(backbone: str, dataset: str, seed: int = 0, profile: str = "workshop",
                fraction: float | None = None, pretrained: bool | None = None,
                image_size: int | tuple[int, int] | None = None, max_epochs: int | None = None,
                batch_size: int | None = None, device: str | None = None, amp: str | None = None,
                patience: int | None = None, select_on: str | None = None) -> TrainConfig:
    """Validate every argument (names, ranges, device) and merge them over the profile's defaults."""
    from lib import data, models

    prof = profiles.get(profile)
    if backbone not in models.names():
        raise UnknownNameError(f"unknown backbone {backbone!r}: choose one of {', '.join(models.names())}")
    data.spec(dataset)   # a registered name, or a reader's folder:<name> / csv:<file>.csv; else UnknownNameError
    if fraction is not None and (isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.number))):
        raise ConfigError(f"fraction {fraction!r} is not a number: use e.g. 0.01, 0.1 or 1")
    _check_whole("seed", seed, "use a non-negative integer")
    for name, value in (("max_epochs", max_epochs), ("batch size", batch_size), ("patience", patience)):
        _check_whole(name, value, "use a whole number, 1 or more")
    if not isinstance(image_size, (tuple, list)):
        _check_whole("image size", image_size, "use a whole number of pixels per side, e.g. 32")
    fraction = prof.fraction if fraction is None else float(fraction)
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"fraction {fraction} is outside (0, 1]: use e.g. 0.01, 0.1 or 1")
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed {seed} is not allowed: use an integer from 0 to {MAX_SEED}")
    size = image_size if image_size is not None else prof.image_size
    if size is None:
        size = tuple(data.spec(dataset).image_size)
    elif isinstance(size, int):
        size = (size, size)
    if min(size) < 8:
        raise ConfigError(f"image size {size} is too small: use at least 8 pixels per side (e.g. 32)")
    max_epochs = prof.max_epochs if max_epochs is None else max_epochs
    min_sgd = prof.min_sgd_epochs
    if max_epochs is not None:
        if max_epochs < 1:
            raise ConfigError(f"max_epochs {max_epochs} is not allowed: use 1 or more (2+ to reach SGD)")
        min_sgd = min(min_sgd, max_epochs - 1)
    batch_size = prof.batch_size if batch_size is None else batch_size
    if batch_size < 1:
        raise ConfigError(f"batch size {batch_size} is not allowed: use a positive integer")
    amp = prof.amp if amp is None else amp
    if amp not in AMP_CHOICES:
        raise ConfigError(f"amp {amp!r} is not allowed: choose one of {', '.join(AMP_CHOICES)}")
    patience = prof.patience if patience is None else patience
    if patience < 1:
        raise ConfigError(f"patience {patience} is not allowed: use 1 or more (the paper uses 10)")
    select_on = "val" if select_on is None else select_on
    if select_on not in data.SELECT_ON:
        raise ConfigError(f"select_on {select_on!r} is not allowed: choose 'val' (default) or 'test' "
                          f"(the paper's protocol)")
    requested = device or prof.device
    device = resolve_device(requested)
    if profile == "paper" and requested == "auto" and device.type == "cpu":
        raise ConfigError("the paper profile found no GPU (CUDA or MPS) and will not fall back to the CPU silently: "
                          "fix the GPU, or pass device 'cpu' explicitly (days per run at the paper's sizes)")
    lr = dict(prof.adamw_lr_by_backbone)   # the profile's departures from the paper's AdamW lr, named per backbone
    return TrainConfig(
        backbone=backbone, dataset=dataset, seed=int(seed), profile=profile, fraction=fraction,
        pretrained=prof.pretrained if pretrained is None else bool(pretrained), image_size=tuple(size),
        batch_size=batch_size, patience=patience, max_epochs=max_epochs, min_sgd_epochs=min_sgd, amp=amp,
        channels_last=channels_last(prof.channels_last, device), eval_test_every_epoch=prof.eval_test_every_epoch,
        device=str(device), select_on=select_on, precise_bn_images=prof.precise_bn_images,
        **({"adamw_lr": lr[backbone]} if backbone in lr else {}))


def plan(profile: str = "workshop", backbones: str | list[str] | None = None,
         datasets: str | list[str] | None = None, fractions: str | list[float | None] | None = None,
         seeds: str | list[int] | None = None, data_root: Path | str | None = None,
         **overrides) -> list[TrainConfig]:
    """Every run of a grid, validated before any work (names, ranges, device, data on disk).

    ``None`` picks the profile's choice; names may be comma-separated text (``"all"`` = every backbone).
    ``overrides`` are :func:`make_config`'s keyword arguments (``max_epochs``, ``pretrained``, ...).
    """
    from lib import data, models

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
    from lib.errors import DataError, WeightsError

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
