"""Where a grid's runs execute: one after another in this process (``local``) or as Ray tasks (``ray``).

Both executors call the same :func:`lib.runs.run`, so a run is idempotent whichever executes it: a recorded
run is re-used, an unfinished one resumes from its checkpoint, and every record is its own file. A run that
fails with a :class:`~lib.errors.BookError` (missing data, corrupt checkpoint: the reader must fix something)
is reported at once; any other exception is retried ``retries`` times (Ray retries its tasks itself, worker
crashes included) and then reported with its error. Either way the rest of the grid goes on.

With ``ray`` each run is one Ray core task that asks Ray's scheduler for one GPU when the cluster has GPUs,
else for ``cpus_per_run`` CPUs; ``ray_address`` joins an existing cluster (see the book's "Scale out" page),
otherwise a local Ray instance is started for the grid and stopped after it.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lib import paths
from lib.errors import BookError, ConfigError, UnknownNameError, one_line

EXECUTORS = {"local": "one run after another in this process (default)",
             "ray": "Ray core tasks: one GPU per run on a cluster with GPUs, else CPUs"}
DEFAULT_RETRIES = 2
_LOCAL_OBJECT_STORE_BYTES = 128 * 1024**2   # runs return small records; Ray's default would take 30 % of RAM


@dataclass
class Outcome:
    """What became of one run: its record, or the one-line error it failed with after ``attempts`` tries."""

    run_key: str
    record: dict | None
    error: str | None = None
    user_error: bool = False      # a BookError: fixable by the reader, never retried
    attempts: int | None = 1      # None: not known (Ray counts its own retries)

    @property
    def ok(self) -> bool:
        return self.error is None


class GridError(BookError):
    """Some runs of a grid failed after their retries; the others finished (``outcomes`` has all of them)."""

    def __init__(self, outcomes: list[Outcome]):
        self.outcomes = outcomes
        failed = [o for o in outcomes if not o.ok]
        if len(failed) == 1:
            text = f"run {failed[0].run_key} failed: {failed[0].error}"
        else:
            text = (f"{len(failed)} of {len(outcomes)} runs failed: "
                    + "; ".join(f"{o.run_key} ({o.error})" for o in failed))
        if len(outcomes) > len(failed):
            text += (f" (the other {len(outcomes) - len(failed)} runs finished and are recorded; "
                     f"fix the cause and run the same command again: finished runs are re-used)")
        super().__init__(text)

    @property
    def user_errors_only(self) -> bool:
        """True when every failure is a BookError (bad input or data), not a crash."""
        return all(o.user_error for o in self.outcomes if not o.ok)


def silent(line: str) -> None:
    """A log that discards its lines (what Ray workers use when the grid's caller passed its own log)."""


def check_executor(executor: str, ray_address: str | None = None, retries: int = DEFAULT_RETRIES) -> None:
    """Validate the executor's settings before any work starts."""
    if executor not in EXECUTORS:
        raise UnknownNameError(f"unknown executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if ray_address is not None and executor != "ray":
        raise ConfigError(f"a Ray address ({ray_address!r}) is only used with executor 'ray': "
                          f"add --executor ray, or leave the address out")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"retries {retries!r} is not allowed: use a non-negative integer (default "
                          f"{DEFAULT_RETRIES})")


def execute(jobs: list[tuple], executor: str = "local", ray_address: str | None = None,
            retries: int = DEFAULT_RETRIES, cpus_per_run: int = 1, num_cpus: int | None = None, *,
            run_fn: Callable, log: Callable[[str], None] = print) -> list[Outcome]:
    """Run every ``(config, run_kwargs)`` job with ``run_fn`` (:func:`lib.runs.run`, or a test's); outcomes in
    order."""
    check_executor(executor, ray_address, retries)
    if executor == "local":
        return [_attempt(run_fn, cfg, kwargs, retries, log) for cfg, kwargs in jobs]
    return _execute_ray(jobs, ray_address, retries, cpus_per_run, num_cpus, run_fn, log)


def _key(cfg) -> str:
    from lib import results
    return results.run_key(cfg.as_dict())


def _attempt(run_fn: Callable, cfg, kwargs: dict, retries: int, log: Callable[[str], None]) -> Outcome:
    """Run one job in this process, retrying unexpected exceptions up to ``retries`` times."""
    key = _key(cfg)
    for attempt in range(1, retries + 2):
        try:
            return Outcome(key, run_fn(cfg, **kwargs), attempts=attempt)
        except BookError as err:
            log(f"run {key} failed: {one_line(err)}")
            return Outcome(key, None, error=one_line(err), user_error=True, attempts=attempt)
        except Exception as err:   # a crash: resume from the checkpoint, at most `retries` more times
            error = f"{type(err).__name__}: {one_line(err)}"
            more = f"; retrying ({attempt} of {retries + 1} attempts made)" if attempt <= retries else ""
            log(f"run {key} failed: {error}{more}")
    return Outcome(key, None, error=error, attempts=retries + 1)


# ---------------------------------------------------------------------------------------------------
# Ray
# ---------------------------------------------------------------------------------------------------

def _ray_task(run_fn: Callable, cfg, kwargs: dict, env: dict) -> Outcome:
    """Body of one Ray task. A BookError comes back as an Outcome (retrying cannot fix it); any other
    exception propagates, so that Ray retries the task."""
    os.environ.update(env)
    key = _key(cfg)
    try:
        return Outcome(key, run_fn(cfg, **kwargs), attempts=None)
    except BookError as err:
        return Outcome(key, None, error=one_line(err), user_error=True, attempts=None)


def start_ray(ray_address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect to the cluster at ``ray_address``, or start a local Ray; False when Ray was already running."""
    import ray

    if ray.is_initialized():
        return False
    if ray_address is not None:
        _check_reachable(ray_address)
        try:
            ray.init(address=ray_address, log_to_driver=True)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ConfigError(f"cannot reach a Ray cluster at {ray_address!r} ({one_line(err)}): start one with "
                              f"'ray start --head' and pass the address it prints, or use --executor local") from None
        return True
    ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
             object_store_memory=_LOCAL_OBJECT_STORE_BYTES, log_to_driver=True)
    return True


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """Fail in seconds, naming the address, when nothing listens there (Ray itself keeps retrying for minutes)."""
    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r} is not HOST:PORT: pass the address 'ray start --head' prints, "
                          f"e.g. 10.0.0.1:6379")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ConfigError(f"cannot reach a Ray cluster at {address!r} ({err.strerror or type(err).__name__}): "
                          f"start one with 'ray start --head' and pass the address it prints, or use "
                          f"--executor local") from None


def ray_resources(cfg, cluster_gpus: float, cpus_per_run: int = 1) -> tuple[dict, object, dict]:
    """The Ray task options of one run, the config its worker runs (same run key: the device is not part of it) and
    the run's extra arguments (its CPU threads). One GPU per run when the cluster has GPUs and the run may use one,
    else CPUs only."""
    if cluster_gpus > 0 and _wants_gpu(cfg):
        # Ray sets CUDA_VISIBLE_DEVICES to the GPU it granted, so "cuda" is that GPU.
        return {"num_gpus": 1, "num_cpus": cpus_per_run}, dataclasses.replace(cfg, device="cuda"), {}
    return {"num_cpus": cpus_per_run}, dataclasses.replace(cfg, device="cpu"), {"threads": cpus_per_run}


def _wants_gpu(cfg) -> bool:
    """Whether a run should take a GPU when the cluster has them: yes unless CPU was asked for explicitly.

    A config says ``cpu`` either because the profile says so, because ``--device cpu`` was given, or because
    ``auto`` found no GPU on the machine that planned the grid (a login node): only the last may use GPUs.
    """
    import torch
    from lib import profiles

    if cfg.device.startswith("cuda"):
        return True
    return profiles.get(cfg.profile).run.device == "auto" and not torch.cuda.is_available()


def _absolute(kwargs: dict) -> dict:
    """Folders as absolute paths: workers do not run in the driver's working directory."""
    return {k: (Path(v).resolve() if isinstance(v, (str, Path)) and k.endswith(("_dir", "_root")) else v)
            for k, v in kwargs.items()}


def _execute_ray(jobs, ray_address, retries, cpus_per_run, num_cpus, run_fn, log) -> list[Outcome]:
    import ray

    started_here = start_ray(ray_address, num_cpus)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        env = {k: os.environ[k] for k in paths.MOVABLE if k in os.environ}
        task = ray.remote(_ray_task)
        refs, keys = {}, []
        for cfg, kwargs in jobs:
            key = _key(cfg)
            keys.append(key)
            options, worker_cfg, extra = ray_resources(cfg, gpus, cpus_per_run)
            ref = task.options(name=key, max_retries=retries, retry_exceptions=True, **options).remote(
                run_fn, worker_cfg, {**_absolute(kwargs), "progress": False, **extra}, env)
            refs[ref] = len(keys) - 1
        log(f"submitted {len(refs)} runs to Ray ({'one GPU' if gpus else f'{cpus_per_run} CPU'} each; cluster: "
            f"{ray.cluster_resources().get('CPU', 0):g} CPUs, {gpus:g} GPUs)")
        outcomes: list[Outcome | None] = [None] * len(keys)
        pending, start = list(refs), time.perf_counter()
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            i = refs[done[0]]
            try:
                outcomes[i] = ray.get(done[0])
            except ray.exceptions.RayTaskError as err:        # the run's own exception, after all retries
                cause = err.cause if err.cause is not None else err
                outcomes[i] = Outcome(keys[i], None, error=f"{type(cause).__name__}: {one_line(cause)}",
                                      attempts=retries + 1)
            except ray.exceptions.RayError as err:            # worker or node died, after all retries
                outcomes[i] = Outcome(keys[i], None, error=f"{type(err).__name__}: {one_line(err)}",
                                      attempts=retries + 1)
            o = outcomes[i]
            state = "failed: " + o.error if not o.ok else "finished"
            log(f"[{len(keys) - len(pending)}/{len(keys)}, {time.perf_counter() - start:.0f} s] run {o.run_key} {state}")
        return outcomes
    finally:
        if started_here:
            ray.shutdown()
