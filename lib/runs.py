"""One configuration -> one run record: re-used when it exists, resumed from its checkpoint when one exists.

:func:`run` trains one :class:`lib.train.TrainConfig` (holding a per-run file lock, so two processes never train
the same run) and writes its record; :func:`run_all` runs a grid through an executor (``lib.executor``: one run after
another, or Ray tasks).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable

import torch
from filelock import FileLock

from lib import paths, results
from lib.errors import ConfigError, DataError
from lib.provenance import environment, now
from lib.train import TrainConfig

CHECKPOINT_DIR = paths.CHECKPOINTS


def default_threads(workers: int) -> int:
    """torch threads for a CPU run: the cores the loader workers leave (at least 1). More busy threads than cores
    makes OpenMP spin and can slow a step tenfold on a small, shared CPU."""
    return max(1, (os.cpu_count() or 1) - workers)


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Run with ``threads`` torch threads (None: as it is), and give the process back its own count afterwards."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _remove_stale_temporaries(key: str, checkpoint_dir: Path, records_dir: Path,
                              log: Callable[[str], None]) -> None:
    """Delete temporary files a killed writer of this run left (called under the run's lock: none is live)."""
    for folder, name in ((checkpoint_dir, f"{key}.pt"), (records_dir, f"{key}.json")):
        for tmp in folder.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
            log(f"removed {tmp}, left half-written by an interrupted run")


def run(cfg: TrainConfig, data_root: Path | str | None = None, records_dir: Path | str = paths.RECORDS,
        checkpoint_dir: Path | str = CHECKPOINT_DIR, progress: bool = True, cache_dir: Path | None = None,
        log: Callable[[str], None] = print, stop_after_epochs: int | None = None, workers: int | None = None,
        threads: int | None = None) -> dict | None:
    """Train one configuration and write its record; a finished run is re-used, an unfinished one resumed.

    ``workers`` (default: the profile's) changes how fast a run goes, not what it computes; ``threads`` (CPU only;
    default: :func:`default_threads` of the profile's workers, whatever ``workers`` is) can change the last bits of
    a CPU run's sums. Neither is part of the run key; both are kept in the record.
    """
    from lib import data, models, profiles
    from lib.device import autocast_dtype
    from lib.loaders import make_loader
    from lib.train import Runtime, dual_opt_fit

    key = results.run_key(cfg.as_dict())
    records_dir, checkpoint_dir = Path(records_dir), Path(checkpoint_dir)
    record = results.find_record(key, records_dir)
    if record is not None:
        check_same_data(record, current_manifest(cfg, data_root), results.record_path(key, records_dir))
        log(f"re-used finished run {key} (record {results.record_path(key, records_dir)})")
        return record
    checkpoint = checkpoint_dir / f"{key}.pt"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    profile_workers = profiles.get(cfg.profile).num_workers
    workers = profile_workers if workers is None else workers
    device = torch.device(cfg.device)
    # The default thread count follows the profile's workers, not the ones asked for: a CPU conv's backward sums in
    # an order that depends on the thread count, so deriving it from --workers made the record depend on them.
    threads = (threads or default_threads(profile_workers)) if device.type == "cpu" else None
    # The lock keeps a second process off this run; the thread count and torch's random state are the caller's
    # again afterwards (a Jupyter kernel runs many more cells after this one).
    with FileLock(checkpoint_dir / f"{key}.lock"), torch_threads(threads), torch.random.fork_rng():
        record = results.find_record(key, records_dir)   # another process may have finished it meanwhile
        if record is not None:
            check_same_data(record, current_manifest(cfg, data_root), results.record_path(key, records_dir))
            log(f"re-used finished run {key} (finished by another process)")
            return record
        _remove_stale_temporaries(key, checkpoint_dir, records_dir, log)
        torch.manual_seed(cfg.seed)   # the model's initial weights; a resumed run restores the checkpoint's RNG
        splits = data.load(cfg.dataset, root=data_root, fraction=cfg.fraction, seed=cfg.seed,
                           image_size=cfg.image_size, cache_dir=cache_dir, val_fraction=cfg.val_fraction,
                           select_on=cfg.select_on, progress=progress)   # select_on="test": splits.val is test
        data.check_scored_splits(splits)   # before any training: a split without a class cannot measure it
        num_classes = len(splits.train.classes)
        model = models.build(cfg.backbone, num_classes=num_classes, pretrained=cfg.pretrained)
        loaders = {name: make_loader(getattr(splits, name), cfg.batch_size, name == "train", cfg.seed, workers,
                                     device) for name in ("train", "val", "test")}
        if cfg.precise_bn_images:   # a fixed seeded sample of the training images, not augmented
            loaders["batchnorm"] = make_loader(splits.train.with_augment(False), cfg.batch_size, True, cfg.seed,
                                               workers, device, limit=cfg.precise_bn_images)
        rt = Runtime(device, autocast_dtype(cfg.amp, device), cfg.channels_last, progress)
        log(f"run {key}: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test images, "
            f"{num_classes} classes, {'ImageNet weights' if cfg.pretrained else 'random initialisation'}, "
            f"device {device}, autocast {rt.dtype or 'off'}, selection on {splits.protocol}")
        outside = sum(Path(i).is_absolute() for ids in splits.manifest.ids.values() for i in ids)
        if outside:
            log(f"note: {outside} images of {cfg.dataset} are listed by absolute path, not relative to its folder; "
                f"the record is tied to their contents")
        fit = dual_opt_fit(model, loaders, cfg, rt, checkpoint=checkpoint, log=log,
                           stop_after_epochs=stop_after_epochs, data_sha256=splits.manifest.data_sha256["all"])
        if fit is None:
            log(f"stopped after {stop_after_epochs} epochs on request; checkpoint {checkpoint}")
            return None
        record = {"run_key": key, **{k: v for k, v in cfg.as_dict().items()
                                     if k in ("backbone", "dataset", "fraction", "seed", "profile",
                                              "pretrained", "image_size", "batch_size")},
                  **fit, **environment(cfg.device), "finished": now(), "config": cfg.as_dict(),
                  "workers": workers, "threads": torch.get_num_threads(),
                  "manifest_sha256": splits.manifest.sha256, "data_sha256": splits.manifest.data_sha256,
                  "test_source": splits.manifest.test_source,
                  "num_classes": num_classes,
                  "split_sizes": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)}}
        path = results.write_record(record, records_dir)
        checkpoint.unlink(missing_ok=True)   # the record is the result; the checkpoint was only for resuming
        log(f"record written to {path}")
        return results.read_record(path)


def current_manifest(cfg: TrainConfig, data_root: Path | str | None = None):
    """The split manifest ``cfg`` would train on today (index, labels and file stamps; no image decoded)."""
    from lib import data

    return data.load(cfg.dataset, root=data_root, fraction=cfg.fraction, seed=cfg.seed, image_size=cfg.image_size,
                     val_fraction=cfg.val_fraction, select_on=cfg.select_on, cache=False, progress=False).manifest


def data_changes(stored: dict, stored_sizes: dict | None, manifest) -> list[str]:
    """What differs between a record's (or an output folder's) digests and ``manifest``, split by split; [] when
    nothing does. ``stored`` holds ``data_sha256`` (ids, labels and files) when it was written with them, else only
    ``manifest_sha256`` (ids), which is then what is compared: records written before data digests stay valid."""
    if stored.get("data_sha256"):
        before, now, what = stored["data_sha256"], manifest.data_sha256, "other images, labels or file contents"
    elif stored.get("manifest_sha256"):
        before, now, what = stored["manifest_sha256"], manifest.sha256, "other images"
    else:
        return []
    counts = manifest.counts()
    changed = []
    for split in ("train", "val", "test"):
        if before.get(split) != now.get(split):
            was = (stored_sizes or {}).get(split)
            changed.append(f"{split} split: {was} images then, {counts.get(split, 0)} now" if was is not None
                           and was != counts.get(split, 0) else f"{split} split: {what}")
    if not changed and before.get("all") != now.get("all"):
        changed.append("the splits' composition")
    return changed


def check_same_data(record: dict, manifest, path: Path) -> None:
    """A DataError unless ``record`` was trained on the data ``manifest`` describes (see :func:`data_changes`)."""
    changed = data_changes(record, record.get("split_sizes"), manifest)
    if changed:
        raise DataError(f"run record {path} was trained on other data than {record.get('dataset')} holds now "
                        f"({'; '.join(changed)}): to keep the old record, move it out of {path.parent} (or use "
                        f"another results folder) and run again; to train on the data as it is now, delete it")


def check_writable(folder: Path | str, what: str = "results") -> None:
    """ConfigError naming ``folder`` unless a file can be created in it (it is created when missing)."""
    folder = Path(folder)
    flag = {"results": "--results", "checkpoints": "--checkpoints"}.get(what, what)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"{what} folder {folder} is not writable ({err.strerror or type(err).__name__}): "
                          f"choose a writable folder with {flag}") from None


def run_all(configs: list[TrainConfig], records_dir: Path | str | None = None, executor: str = "local",
            ray_address: str | None = None, retries: int | None = None, cpus_per_run: int = 1,
            ray_cpus: int | None = None, log: Callable[[str], None] = print, **kwargs) -> list[dict]:
    """Run (or re-use) every configuration; the records, in the same order.

    ``executor`` is ``local`` (one run after another, here) or ``ray`` (Ray tasks on the cluster at
    ``ray_address``, or on a local Ray); see :mod:`lib.executor`. A run that fails is retried up to ``retries``
    times (unless it failed on bad input) while the others go on; then :class:`lib.executor.GridError`
    reports every failed run with its error. ``kwargs`` go to :func:`run` (``data_root``, ``checkpoint_dir``...).
    """
    from lib import executor as executors

    retries = executors.DEFAULT_RETRIES if retries is None else retries
    executors.check_executor(executor, ray_address, retries)
    jobs = [(cfg, {**kwargs, "log": log,
                   "records_dir": records_dir if records_dir is not None else results.records_dir(cfg.profile)})
            for cfg in configs]
    for folder, what in {**{Path(kw["records_dir"]): "results" for _, kw in jobs},
                         Path(kwargs.get("checkpoint_dir", CHECKPOINT_DIR)): "checkpoints"}.items():
        check_writable(folder, what)
    if executor == "ray":
        # A worker cannot call back into this process: it prints (Ray forwards the lines here), or keeps quiet
        # when the caller asked for its own log; the grid's progress lines still come to `log`.
        quiet = {} if log is print else {"log": executors.silent}
        jobs = [(cfg, {**{k: v for k, v in kw.items() if k != "log"}, **quiet}) for cfg, kw in jobs]
    outcomes = executors.execute(jobs, executor, ray_address=ray_address, retries=retries,
                                 cpus_per_run=cpus_per_run, num_cpus=ray_cpus, run_fn=run, log=log)
    if not all(o.ok for o in outcomes):
        raise executors.GridError(outcomes)
    return [o.record for o in outcomes]
