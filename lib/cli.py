"""``python -m lib.train``: train one run, or a grid (``python -m lib.train grid ...``), from the command line.

Every requested run is validated before any work starts; bad input is one ``error:`` line and exit 2.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from lib import data, profiles, results
from lib.config import csv_list, plan
from lib.device import AMP_CHOICES
from lib.errors import BookError, ConfigError, interrupted, one_line, signals_raise_interrupted
from lib.runs import CHECKPOINT_DIR, run_all

USAGE = ("python -m lib.train --backbone NAME --dataset NAME [options]   (one run)\n"
         "       python -m lib.train grid [--backbones ...] [--datasets ...] [options]   (a grid)")


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one ConfigError line (exit 2) instead of a usage dump."""

    def error(self, message):
        raise ConfigError(f"{message} (see {self.prog} --help)")


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="workshop", help=f"one of {', '.join(profiles.names())} (default workshop)")
    p.add_argument("--results", type=Path, default=None,
                   help="folder for run records (default results/runs; ci: a git-ignored scratch folder)")
    p.add_argument("--checkpoints", type=Path, default=CHECKPOINT_DIR, help="folder for resumable checkpoints")
    p.add_argument("--data-root", type=Path, default=None, help="folder holding <dataset>/ folders")
    p.add_argument("--max-epochs", type=int, default=None, help="cap on AdamW + SGD epochs")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--image-size", type=int, default=None, help="square side in pixels")
    p.add_argument("--device", default=None, help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps")
    p.add_argument("--amp", default=None, choices=AMP_CHOICES)
    p.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=None,
                   help="ImageNet weights (default: the profile's choice)")
    p.add_argument("--select-on", default=None, choices=tuple(data.SELECT_ON),
                   help="split for early stopping and model selection: val (default) or test (paper protocol)")
    p.add_argument("--workers", type=int, default=None,
                   help="data-loading worker processes (default: the profile's); changes speed, not results")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list]:
    """Parse the command line and validate every requested run before any work starts."""
    if argv[:1] == ["grid"]:
        p = _Parser(prog="python -m lib.train grid", description="Train a grid of runs (skips finished ones).")
        p.add_argument("--backbones", default=None, help="comma-separated, or 'all' (default: the profile's)")
        p.add_argument("--datasets", default=None, help="comma-separated (default: the profile's)")
        p.add_argument("--fractions", default=None, help="comma-separated, e.g. 0.01,0.1,1")
        p.add_argument("--seeds", default=None, help="comma-separated (default: the profile's)")
        p.add_argument("--executor", default="local", help="local (default: one run after another) or ray")
        p.add_argument("--ray-address", default=None,
                       help="address of a running Ray cluster (ray start --head prints it); default: start a "
                            "local Ray on this machine")
        p.add_argument("--retries", type=int, default=None,
                       help="extra attempts for a run that crashes (default 2; bad input is never retried)")
        p.add_argument("--cpus-per-run", type=int, default=1, help="CPUs Ray reserves for each run (default 1)")
        _options(p)
        args = p.parse_args(argv[1:])
        backbones, datasets, fractions = args.backbones, args.datasets, args.fractions
        seeds = None if args.seeds is None else csv_list(args.seeds, int, "seeds")
    elif argv[:1] and not argv[0].startswith("-"):
        raise ConfigError(f"unknown sub-command {argv[0]!r}: use 'grid' for a grid, or options alone for one run "
                          f"({USAGE.splitlines()[0].strip()})")
    else:
        p = _Parser(prog="python -m lib.train", description="Train one backbone on one dataset with DualOpt.",
                    usage=USAGE)
        p.add_argument("--backbone", required=True)
        p.add_argument("--dataset", required=True)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--fraction", type=float, default=None)
        _options(p)
        args = p.parse_args(argv)
        args.executor, args.ray_address, args.retries, args.cpus_per_run = "local", None, None, 1
        backbones, datasets, fractions, seeds = [args.backbone], [args.dataset], [args.fraction], [args.seed]
    from lib import executor

    executor.check_executor(args.executor, args.ray_address,
                            executor.DEFAULT_RETRIES if args.retries is None else args.retries)
    if args.cpus_per_run < 1:
        raise ConfigError(f"cpus per run {args.cpus_per_run} is not allowed: use 1 or more")
    if args.workers is not None and args.workers < 0:
        raise ConfigError(f"workers {args.workers} is not allowed: use 0 (load in this process) or more")
    configs = plan(args.profile, backbones=backbones, datasets=datasets, fractions=fractions, seeds=seeds,
                   pretrained=args.pretrained, image_size=args.image_size, max_epochs=args.max_epochs,
                   batch_size=args.batch_size, device=args.device, amp=args.amp, data_root=args.data_root,
                   select_on=args.select_on)
    if args.results is None:
        args.results = results.records_dir(args.profile)
    return args, configs


def saved_line(args: argparse.Namespace | None, configs: list) -> str:
    """What an interrupted command leaves behind: finished records, resumable checkpoints (one clause)."""
    if args is None or not configs:
        return "nothing was started, nothing saved"
    keys = [results.run_key(cfg.as_dict()) for cfg in configs]
    done = sum(results.record_path(k, args.results).exists() for k in keys)
    resumable = [k for k in keys if not results.record_path(k, args.results).exists()
                 and (Path(args.checkpoints) / f"{k}.pt").exists()]
    text = f"{done} of {len(keys)} runs finished and recorded in {args.results}"
    if resumable:
        text += (f", {len(resumable)} resumable from {'its' if len(resumable) == 1 else 'their'} last finished epoch "
                 f"({', '.join(str(Path(args.checkpoints) / f'{k}.pt') for k in resumable[:2])}"
                 f"{' ...' if len(resumable) > 2 else ''})")
    return text


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every run finished; 2 on bad input (nothing runs) or when runs failed on bad input or
    data; 1 when a run crashed after its retries; 130 (Ctrl-C) or 143 (SIGTERM) when interrupted, with what was
    saved and the command that resumes it. Finished runs are printed and kept either way."""
    from lib.executor import GridError

    argv = sys.argv[1:] if argv is None else argv
    status, args, configs = 0, None, []
    try:
        with signals_raise_interrupted():
            args, configs = parse_args(argv)
            records = run_all(configs, records_dir=args.results, data_root=args.data_root,
                              checkpoint_dir=args.checkpoints, progress=not args.no_progress,
                              executor=args.executor, ray_address=args.ray_address, retries=args.retries,
                              cpus_per_run=args.cpus_per_run, workers=args.workers)
    except GridError as err:
        records = [o.record for o in err.outcomes if o.ok and o.record is not None]
        error, status = err, 2 if err.user_errors_only else 1
    except BookError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:   # Ctrl-C or SIGTERM: what is saved, and how to go on
        stop = interrupted(err)
        print(f"interrupted ({stop.signal_name}): {saved_line(args, configs)}; to resume, run the same command "
              f"again: {shlex.join(['python', '-m', 'lib.train', *argv])}", file=sys.stderr)
        return stop.exit_status
    except Exception as err:   # a fault that is not the reader's to fix: one line, not a traceback
        print(f"error: {type(err).__name__}: {one_line(err)} (an unexpected fault; finished runs are kept, run the "
              f"same command again to resume)", file=sys.stderr)
        return 1
    for rec in records:
        path = results.record_path(rec["run_key"], args.results)
        print(f"record {path}: test top-1 {rec['test_top1']:.2f} % (ours, {rec['backbone']} on "
              f"{rec['dataset']}, seed {rec['seed']}, best-validation weights)")
    if status:
        print(f"error: {one_line(error)}", file=sys.stderr)
    return status

