"""Build the book: execute every chapter with papermill, then render it with Jupyter Book 1.x.

``python -m book --profile workshop`` is what ``make book`` runs. Chapters are stored without
outputs; the executed copies are written to ``<out>/src/chapters`` (never back into ``chapters/``),
and the static site to ``<out>/html``. Any chapter that raises stops the build with a non-zero exit.

Re-render shortcut: a chapter is executed again only when its inputs changed — the notebook, any
``lib/**/*.py``, ``requirements.txt``, the profile and parameters, or a file under a ``results/`` folder
that the chapter reads (:data:`CHAPTER_READS`, declared once per chapter). The hash of those inputs is kept
beside the executed copy in ``<out>/rerender/``. ``--record-timings`` executes every chapter and writes the
measured times to ``results/book/timings.csv``, which the chapters and the workshop page show.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse


from book import chapter as chapter_lib
from lib import paths, profiles
from book import workshop
from lib.errors import BookError, ConfigError, interrupted, signals_raise_interrupted
from lib.provenance import environment, now

KERNEL = chapter_lib.KERNEL
PROFILES = chapter_lib.PROFILES
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "_static/book.css")
CODE_FILES = ("requirements.txt",)
CODE_PACKAGES = ("lib", "book", "yourdata", "bench")   # the repository's code a chapter may call
CHAPTER_READS = {   # the results/ folders each chapter reads, directly or through lib (tests/test_book.py checks)
    "00_answer": ("bench", "book", "paper", "runs"),
    "01_selection": ("book", "paper"),
    "02_datasets": ("book", "paper"),
    "03_fine_tuning": ("book", "diagnosis", "paper", "runs"),
    "04_low_data": ("book", "paper", "runs"),
    "05_architecture": ("book", "paper"),
    "06_findings": ("book", "paper", "runs"),
    "07_your_data": ("book", "demo", "paper", "runs"),
    "08_performance": ("bench", "book", "paper", "runs"),
}


def chapter_reads(nb: Path, root: Path = paths.ROOT) -> list[Path]:
    """The ``results/`` folders whose files are inputs of chapter ``nb``: its :data:`CHAPTER_READS` entry, or
    every folder under ``results/`` for a chapter not declared yet (never stale, at the cost of re-executing)."""
    declared = CHAPTER_READS.get(nb.stem)
    if declared is None:
        return sorted(p for p in (root / "results").iterdir() if p.is_dir()) if (root / "results").is_dir() else []
    moved = paths.records() if root == paths.ROOT else root / "results" / "runs"   # WB_RUNS moves it
    return [moved if name == "runs" else root / "results" / name for name in declared]


# --- the re-render shortcut --------------------------------------------------------------------------

def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
        if folder.is_dir() else []


def input_hash(nb: Path, profile: str, parameters: dict | None = None, root: Path = paths.ROOT) -> str:
    """SHA-256 over everything a chapter's output depends on that lives in the repository.

    jupyter-cache would hash the notebook alone; a chapter's numbers also change when the code it calls
    (:data:`CODE_PACKAGES`) or a record changes, so those are in the hash too. Data under ``data/`` is not hashed
    (it can be hundreds of GB); a changed dataset needs ``--force``.
    """
    digest = hashlib.sha256()

    def add(label: str, payload: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(payload).digest())

    add("notebook", nb.read_bytes())
    add("run", json.dumps({"profile": profile, "parameters": parameters or {}, "kernel": KERNEL},
                          sort_keys=True, default=str).encode())
    files = [p for package in CODE_PACKAGES for p in _files_under(root / package) if p.suffix == ".py"]
    files += [root / name for name in CODE_FILES if (root / name).is_file()]
    for folder in chapter_reads(nb, root):
        files += _files_under(folder)
    for path in files:
        add(str(path.relative_to(root)) if path.is_relative_to(root) else str(path), path.read_bytes())
    return digest.hexdigest()


def _stamp(out: Path, rel: Path) -> Path:
    return out / "rerender" / rel.with_suffix(".sha256")


def is_fresh(out: Path, rel: Path, key: str) -> bool:
    """True when the executed copy of ``rel`` exists in ``out`` and was made from inputs with hash ``key``."""
    stamp = _stamp(out, rel)
    return (out / "src" / rel).exists() and stamp.exists() and stamp.read_text().strip() == key


# --- executing one chapter ---------------------------------------------------------------------------

class ChapterFailed(Exception):
    """A chapter raised: which chapter, which cell (its number and first line), and the exception, in one line."""

    @classmethod
    def from_papermill(cls, rel: Path, executed: Path, err: Exception) -> "ChapterFailed":
        ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
        where = ""
        if getattr(err, "source", None):
            first = next((line for line in err.source.splitlines() if line.strip() and not line.startswith("#")),
                         err.source.strip())
            where = f" in cell [{err.exec_count}] (`{first.strip()[:70]}`)"
        message = (str(evalue).strip().splitlines() or [""])[0]
        return cls(f"{rel} failed{where}: {ename}: {message} (the executed copy with the traceback: "
                   f"{paths.relative(executed)})")


def kernel_config():
    """The kernel manager's settings: CurveZMQ keys for the kernel's sockets when pyzmq has CurveZMQ and the
    kernel says it takes them (ipykernel's kernel spec does), so that the kernel does not warn, once per chapter,
    that it "is running over TCP without encryption"; without CurveZMQ, the default (no encryption)."""
    import zmq
    from traitlets.config import Config

    return Config({"KernelManager": {"transport_encryption": "auto" if zmq.has("curve") else "disabled"}})


def execute_chapter(nb: Path, out_nb: Path, profile: str, parameters: dict | None = None,
                    kernel: str = KERNEL, root: Path = paths.ROOT) -> float:
    """Run one chapter with papermill under ``profile``; return the seconds it took."""
    import papermill as pm

    out_nb.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pm.execute_notebook(str(nb), str(out_nb), parameters={"profile": profile, **(parameters or {})},
                        kernel_name=kernel, cwd=str(root), progress_bar=False, config=kernel_config())
    return time.perf_counter() - start


def collapse_injected_parameters(executed: Path, command: str) -> None:
    """Collapse papermill's injected-parameters cell and put the exact papermill command above it."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.metadata["tags"] = tags + ["hide-cell"]
            note = nbformat.v4.new_markdown_cell(
                "The parameters of this execution were injected by papermill (collapsed below). "
                f"To execute this page yourself, from the repository root:\n\n```bash\n{command}\n```")
            nb.cells.insert(index, note)
            break
    nbformat.write(nb, executed)


# --- pages generated at build time (included by reproduce.md and workshop.md) -------------------------

def papermill_help(nb: Path) -> str:
    """What ``papermill --help-notebook <nb>`` prints: the chapter's parameters, types and comments."""
    from click.testing import CliRunner
    from papermill.cli import papermill as papermill_cli

    result = CliRunner().invoke(papermill_cli, ["--help-notebook", str(nb)])
    if result.exit_code != 0:
        raise RuntimeError(f"papermill --help-notebook {nb} failed: {result.output.strip()}")
    return result.output.replace(str(nb.parent.parent) + "/", "")


def reproduce_commands(root: Path = paths.ROOT) -> str:
    """Markdown: every chapter's papermill command for each profile and its ``--help-notebook`` output."""
    parts = []
    for nb in chapter_lib.chapters(root):
        rel = nb.relative_to(root)
        commands = "\n".join(chapter_lib.papermill_command(root / rel, p) for p in PROFILES)
        parts.append(f"### {chapter_lib.title(nb)}\n\n```bash\n{commands}\n```\n\n"
                     f"`papermill --help-notebook {rel}` prints:\n\n```text\n{papermill_help(nb).rstrip()}\n```\n")
    return "\n".join(parts)


def dataset_locations() -> str:
    """Markdown: for every dataset of the paper profile, where to download it and the folder layout expected."""
    from lib import data

    rows = []
    for s in data.sources.specs():
        if s.workshop:
            continue
        link, _, remark = s.url.partition(" ")  # some sources add a remark after the address
        rows.append(f"**{s.display}** (`{s.name}`, {s.domain}): download from <{link}>{' ' + remark if remark else ''} "
                    f"({s.licence}), "
                    f"unpack into `$WB_DATA/{s.name}/`:\n\n```text\n{s.layout}\n```\n")
    return ("Data root: `$WB_DATA`, or `data/` in the repository when it is unset (`data_root=` in a chapter).\n\n"
            + "\n".join(rows))


def weights_files() -> str:
    """Markdown: every backbone's weights file name and source, and the commands that pre-fetch them."""
    from lib import models

    lines = ["| backbone | file in `$TORCH_HOME/hub/checkpoints/` | published at |", "| --- | --- | --- |"]
    host = lambda url: urlparse(url).netloc or url
    fetch = []
    for s in models.specs():
        path = models.checkpoint_path(s)
        url = models.checkpoint_url(s)
        lines.append(f"| {s.display} | `{path.name}` | [{host(url)}]({url}) |")
        if s.weights is not None:
            fetch.append(f"torchvision.models.get_weight('{s.weights}').get_state_dict(check_hash=True)")
        else:
            fetch.append(f"torch.hub.download_url_to_file('{url}', torch.hub.get_dir() + '/checkpoints/{path.name}')")
    script = "import os, torch, torchvision\nos.makedirs(torch.hub.get_dir() + '/checkpoints', exist_ok=True)\n" \
        + "\n".join(fetch)
    return ("\n".join(lines) + "\n\nOn a machine with internet, with the same `TORCH_HOME` as the book will use "
            "(default `~/.cache/torch`), this fetches all of them (torchvision checks each file's hash):\n\n"
            f"```bash\nexport TORCH_HOME=$PWD/torch-home\n.venv/bin/python - <<'EOF'\n{script}\nEOF\n```\n")


def paper_run_cost(bench_dir: Path = paths.BENCH) -> str:
    """Markdown: how many runs a full ``paper`` profile run is, and what the measured benchmarks say it costs."""
    from lib import models, paper, profiles

    prof = profiles.get("paper")
    cells = paper.load()[["dataset", "fraction"]].drop_duplicates()
    by_fraction = cells.groupby("fraction").size().sort_index(ascending=False)
    n_backbones, n_seeds = len(models.names()), len(prof.seeds)
    n_runs = len(cells) * n_backbones * n_seeds
    spelled = ", ".join(f"{n} at {f:.0%}" for f, n in by_fraction.items())
    text = (f"The paper's Tables 4-8 have {len(cells)} (dataset, fraction) cells ({spelled}). Each needs "
            f"{n_backbones} backbones × {n_seeds} seeds under the `paper` profile: **{n_runs} runs**, each with "
            f"patience {prof.run.patience} per DualOpt phase and no epoch cap (computed from `results/paper/`, "
            "`lib/profiles.py` and `lib/models.py`).\n\n")
    cost = Path(bench_dir) / "grid_cost.csv"
    if cost.exists():
        import pandas as pd

        table = pd.read_csv(cost)
        text += grid_cost_markdown(table)
    else:
        text += ("No measured cost estimate is stored yet: `make bench` writes the per-backbone step cost and the "
                 "grid's GPU-hours to `results/bench/grid_cost.csv`, and this page shows them once it is there.\n")
    return text


def grid_cost_markdown(table) -> str:
    """The grid's projected GPU-hours as a reader's table: one row per assumed share of the GPU's peak, one column
    per assumed epoch count; then the paper's own figure, what it implies, and the input-bound alternative."""
    import pandas as pd

    from book import present

    flops = table[table["method"].str.startswith("FLOPs", na=False)]
    if flops.empty:
        return "No projection is stored in `results/bench/grid_cost.csv` yet: `make bench` writes it.\n"
    wide = flops.pivot_table(index="utilisation", columns="epochs", values="gpu_hours")
    shown = pd.DataFrame({"share of the GPU's peak": [f"{u:.0%}" for u in wide.index]})
    for epochs in wide.columns:
        shown[f"{epochs:.0f} epochs per run"] = [f"{h:,.0f}" for h in wide[epochs]]
    peak = flops["note"].iloc[0]
    paper_rows = table[table["source"] == "paper"]
    implied = table[table["method"].str.startswith("utilisation implied", na=False)].set_index("epochs")
    inputs = table[table["method"].str.startswith("input-bound", na=False)].set_index("epochs")
    text = ("GPU-hours of the whole grid (**ours, projection**: FLOPs counted per backbone and input size, divided by "
            f"a share of the {peak}; written by `make bench` to `results/bench/grid_cost.csv`, explained in the "
            "performance chapter):\n\n" + present.markdown(shown) + "\n")
    if len(paper_rows):
        hours = float(paper_rows["gpu_hours"].iloc[0])
        text += (f"\nThe paper reports {hours:,.0f} GPU-hours (**paper**), which at "
                 + ", ".join(f"{e:.0f} epochs is {u:.1%}" for e, u in implied["utilisation"].items())
                 + " of that peak (**ours**).")
    if len(inputs):
        text += (" Fed by the authors' per-epoch decoding at the rate measured on this book's CPU, the grid would "
                 "take " + ", ".join(f"{h:,.0f} hours at {e:.0f} epochs" for e, h in inputs["gpu_hours"].items())
                 + " (**ours, projection**).")
    return text + "\n"


def workshop_profile() -> str:
    """Markdown: the workshop profile's knobs and its dataset's size, read from ``lib.profiles`` and ``lib.data``."""
    from lib import data, models, profiles

    prof = profiles.get("workshop")
    rows = [("description", prof.description),
            ("datasets", ", ".join(f"{data.spec(d).display} (`{d}`, {data.spec(d).num_classes} classes)"
                                   for d in prof.datasets)),
            ("backbones", f"{len(prof.backbones or models.names())} ({'all' if prof.backbones is None else 'some'})"),
            ("image size", "{}×{} pixels".format(*prof.run.image_size)),
            ("share of the training split", f"{prof.run.fraction:g}"),
            ("epochs", f"at most {prof.run.max_epochs} (AdamW, then SGD for at least {prof.run.min_sgd_epochs})"),
            ("batch size", str(prof.run.batch_size)), ("seeds", ", ".join(map(str, prof.seeds))),
            ("pretrained", "yes" if prof.run.pretrained else "no (random initialisation)"), ("device", prof.run.device)]
    return "| setting | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows) + "\n"


GENERATED = {
    "_generated/workshop_profile.md": lambda root: workshop_profile(),
    "_generated/reproduce_commands.md": reproduce_commands,
    "_generated/dataset_locations.md": lambda root: dataset_locations(),
    "_generated/weights_files.md": lambda root: weights_files(),
    "_generated/paper_run_cost.md": lambda root: paper_run_cost(),
    "_generated/workshop_times.md": lambda root: workshop.times_markdown(),
    "_generated/workshop_plan.md": lambda root: workshop.plan_markdown(),
    "_generated/workshop_exercises.md": lambda root: workshop.exercises_markdown(),
}


def write_generated(src: Path, root: Path = paths.ROOT) -> None:
    """Write the generated includes into ``src/_generated/`` (pages include only those they name)."""
    for rel, make in GENERATED.items():
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = make(root)
        if not target.exists() or target.read_text() != text:  # unchanged files keep their mtime (sphinx)
            target.write_text(text)


# --- the build ---------------------------------------------------------------------------------------

def _copy_if_changed(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copy2(source, target)


def chapter_parameters(notebooks: list[Path], parameters: dict | None) -> dict[Path, dict]:
    """Each chapter's share of the build's parameters: those it declares. A parameter that no chapter declares
    is refused with one line (it would be ignored everywhere)."""
    parameters = dict(parameters or {})
    declared = {nb: chapter_lib.parameter_names(nb) for nb in notebooks}
    unknown = sorted(set(parameters) - {name for names in declared.values() for name in names})
    if unknown:
        known = sorted({name for names in declared.values() for name in names} - {"profile"})
        raise ConfigError(f"no chapter has a parameter {', '.join(map(repr, unknown))}: the chapters' parameters "
                          f"are {', '.join(known)}")
    return {nb: {k: v for k, v in parameters.items() if k in declared[nb]} for nb in notebooks}


def execute(profile: str = "workshop", out: Path = paths.BUILD, kernel: str = KERNEL,
            root: Path = paths.ROOT, force: bool = False, parameters: dict | None = None,
            only: list[str] | None = None) -> list[dict]:
    """Copy the pages into ``out/src`` and execute the chapters whose inputs changed; what was done, per chapter.

    ``only`` (chapter names such as ``08_performance``) limits the work to those chapters; ``force`` executes
    them (or every chapter) even when their inputs are unchanged.

    What happened is also written to ``out/executions.json`` (per chapter: executed or re-used, seconds,
    the provenance box's facts), which ``--record-timings`` turns into ``results/book/timings.csv``.
    """
    profiles.get(profile)   # an unknown name is an UnknownNameError naming the valid ones
    known = [nb.stem for nb in chapter_lib.chapters(root)]
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: not a chapter in _toc.yml; use some of {', '.join(known)}")
    out = Path(out)
    src = out / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        if (root / name).exists():
            _copy_if_changed(root / name, src / name)
    for entry in chapter_lib.toc_entries(root):
        page = root / f"{entry}.md"
        if page.exists():
            _copy_if_changed(page, src / page.relative_to(root))
    if root == paths.ROOT:
        write_generated(src, root)

    per_chapter = chapter_parameters(chapter_lib.chapters(root), parameters)
    executions = []
    for nb in chapter_lib.chapters(root):
        rel = nb.relative_to(root)
        parameters = per_chapter[nb]
        key = input_hash(nb, profile, parameters, root)
        if only and nb.stem not in only:
            continue
        if not force and is_fresh(out, rel, key):
            print(f"[book] {rel}: inputs unchanged, re-using the executed copy", flush=True)
            executions.append({"chapter": nb.stem, "executed": False})
            continue
        _stamp(out, rel).unlink(missing_ok=True)
        print(f"[book] executing {rel} (profile {profile}) ...", flush=True)
        load = os.getloadavg()[0]  # other work on the machine slows a chapter down: kept beside its time
        try:
            seconds = execute_chapter(nb, src / rel, profile, parameters, kernel=kernel, root=root)
        except Exception as err:
            raise ChapterFailed.from_papermill(rel, src / rel, err) from err
        command = chapter_lib.papermill_command(nb, profile, parameters, output=paths.relative(src / rel)) \
            if root == paths.ROOT else f"python -m papermill {rel} out.ipynb -k {kernel} -p profile {profile}"
        collapse_injected_parameters(src / rel, command)
        _stamp(out, rel).parent.mkdir(parents=True, exist_ok=True)
        _stamp(out, rel).write_text(key + "\n")
        print(f"[book] {rel} done in {seconds:.0f} s", flush=True)
        executions.append({"chapter": nb.stem, "executed": True, "seconds": round(seconds, 1),
                           "load_1min": round(load, 2), "cpu_count": os.cpu_count(),
                           "provenance": chapter_lib.read_provenance(src / rel)})
    (out / "executions.json").write_text(json.dumps({"profile": profile, "chapters": executions}, indent=1))
    return executions


def render(out: Path = paths.BUILD, warnings_as_errors: bool = True) -> Path:
    """Render ``out/src`` with Jupyter Book into ``out/html`` (sphinx re-reads only pages that changed)."""
    out = Path(out)
    jb = Path(sys.executable).parent / "jupyter-book"  # the CLI installed beside this interpreter
    cmd = [str(jb), "build", str(out / "src"), "--path-output", str(out)]
    if warnings_as_errors:
        cmd += ["-W", "-n", "--keep-going"]
    print("[book] " + " ".join(cmd), flush=True)
    try:
        subprocess.run(cmd, check=True)
    except subprocess.CalledProcessError:
        # sphinx would not re-read unchanged pages next time and so not repeat their warnings: start afresh
        shutil.rmtree(out / "_build" / ".doctrees", ignore_errors=True)
        raise
    final = out / "html"
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(out / "_build" / "html", final)
    print(f"[book] rendered into {final}", flush=True)
    return final


def build(profile: str = "workshop", out: Path = paths.BUILD, warnings_as_errors: bool = True,
          kernel: str = KERNEL, root: Path = paths.ROOT, force: bool = False,
          parameters: dict | None = None, only: list[str] | None = None) -> Path:
    """Execute the chapters whose inputs changed (see :func:`execute`), then render the book; the html folder."""
    execute(profile, out, kernel, root, force, parameters, only)
    if only:
        print("[book] --only: the other chapters were left as they were and the book is not rendered", flush=True)
        return Path(out) / "html"
    return render(out, warnings_as_errors)


def record_timings(out: Path, path: Path = chapter_lib.TIMINGS_CSV) -> Path:
    """Write the executed chapters' times from ``out/executions.json`` into ``results/book/timings.csv``."""
    import pandas as pd

    from lib.atomic import atomic_write_text

    done = json.loads((Path(out) / "executions.json").read_text())
    env = environment()
    rows = []
    for run in done["chapters"]:
        if not run["executed"]:
            continue
        facts = run.get("provenance") or {}
        rows.append({"chapter": run["chapter"], "profile": done["profile"], "seconds": run["seconds"],
                     "reused": facts.get("reused", 0), "computed": facts.get("computed", 0),
                     "device": facts.get("device", env["device"]), "torch": facts.get("torch", env["torch"]),
                     "git_commit": facts.get("git_commit", env["git_commit"]),
                     "measured_at": facts.get("executed_at", now()),
                     "load_1min": run.get("load_1min"), "cpu_count": run.get("cpu_count")})
    old = chapter_lib.load_timings(path)
    new = pd.DataFrame(rows, columns=chapter_lib.TIMING_COLUMNS)
    keep = old[~old.set_index(["chapter", "profile"]).index.isin(new.set_index(["chapter", "profile"]).index)]
    table = pd.concat([keep, new], ignore_index=True) if len(keep) else new
    table = table.sort_values(["profile", "chapter"]).reset_index(drop=True)
    atomic_write_text(path, table.to_csv(index=False))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="workshop", choices=PROFILES,
                        help="ci (seconds), workshop (default: digits on CPU), paper (GPU, datasets on disk)")
    parser.add_argument("--out", type=Path, default=paths.BUILD, help="output folder (default _build)")
    parser.add_argument("--force", action="store_true", help="execute every chapter even if its inputs are unchanged")
    parser.add_argument("--record-timings", action="store_true",
                        help="execute every chapter and store the measured times in results/book/timings.csv")
    parser.add_argument("--only", default="", help="execute (or time) only these chapters, comma-separated, e.g. "
                        "08_performance; nothing is rendered")
    parser.add_argument("--datasets", default="", help="comma-separated datasets, passed to every chapter that "
                        "takes datasets (make book DATASETS=...)")
    parser.add_argument("--backbones", default="", help="comma-separated backbones, likewise (BACKBONES=...)")
    parser.add_argument("--seeds", default="", help="comma-separated seeds, likewise (SEEDS=...)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="any other chapter parameter, passed to the chapters that declare it")
    parser.add_argument("--root", type=Path, default=paths.ROOT, help=argparse.SUPPRESS)  # tests: a tiny book
    args = parser.parse_args(argv)
    parameters = {name: value for name, value in (("datasets", args.datasets), ("backbones", args.backbones),
                                                  ("seeds", args.seeds)) if value}
    parameters.update(dict(args.parameter))
    try:
        with signals_raise_interrupted():
            build(args.profile, args.out, root=args.root.resolve(), force=args.force or args.record_timings,
                  only=[c.strip() for c in args.only.split(",") if c.strip()] or None,
                  parameters=parameters or None)
        if args.record_timings:
            print(f"[book] timings written to {record_timings(args.out)}", flush=True)
    except BookError as err:  # a bad argument, not a failing chapter
        print(f"error: {err}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"[book] jupyter-book failed (exit {err.returncode}); see the messages above", file=sys.stderr)
        return 1
    except ChapterFailed as err:
        print(f"[book] {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:   # Ctrl-C or SIGTERM: the chapters already executed are kept
        stop = interrupted(err)
        done = sorted(p.stem for p in (Path(args.out) / "rerender").rglob("*.sha256"))
        print(f"[book] {stop.signal_name}: stopped; {len(done)} executed chapter(s) kept in "
              f"{paths.relative(Path(args.out))} and re-used next time, and every finished run is recorded: run the "
              f"same command again to resume", file=sys.stderr)
        return stop.exit_status
    except Exception as err:
        print(f"[book] the build failed: {type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}",
              file=sys.stderr)
        return 1
    return 0
