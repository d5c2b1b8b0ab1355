"""What every chapter shows around its work: how to re-run it, how long it takes, and where it was computed.

A chapter calls four things from here: :func:`glue` (a value for its prose), :func:`parameter_values` (its
parameters, read back from its own ``parameters`` cell), :func:`time_to_run` (the measured times from
``results/book/timings.csv``) and, as its last cell, :func:`provenance_box`. ``python -m book`` reads the box's facts back out of the executed
notebook to record timings, so the box is also the chapter's machine-readable receipt.
"""
from __future__ import annotations

import ast
import html
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lib import paths, profiles
from lib.errors import ConfigError
from lib.provenance import environment, now

from lib.setup import KERNEL   # the Jupyter kernel that python -m lib.setup registers in the venv
PROFILES = tuple(profiles.names())
TIMINGS_CSV = paths.TIMINGS
METADATA_KEY = "which-backbone"  # output metadata key that marks a provenance box in an executed notebook


def notebook_path(chapter: str | Path, root: Path = paths.ROOT) -> Path:
    """``"03_fine_tuning"``, ``"chapters/03_fine_tuning"`` or a path -> the chapter's notebook file."""
    path = Path(chapter)
    candidates = [path, root / path, root / "chapters" / path]
    for candidate in candidates:
        for nb in (candidate, candidate.with_suffix(".ipynb")):
            if nb.suffix == ".ipynb" and nb.is_file():
                return nb
    found = sorted(p.stem for p in (root / "chapters").glob("*.ipynb"))
    raise ConfigError(f"chapter {str(chapter)!r} not found: use one of {', '.join(found)}")


def _relative(path: Path, root: Path = paths.ROOT) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def papermill_command(chapter: str | Path, profile: str, parameters: dict | None = None,
                      output: str | None = None) -> str:
    """The exact shell command that executes ``chapter`` under ``profile`` from the repository root."""
    if profile not in PROFILES:
        raise ConfigError(f"profile {profile!r} is not one of {', '.join(PROFILES)}: pick one of them")
    nb = _relative(notebook_path(chapter))
    output = output or f"_build/run/{Path(nb).name}"
    parts = [".venv/bin/python", "-m", "papermill", nb, output, "-k", KERNEL, "-p", "profile", profile]
    for name, value in (parameters or {}).items():
        if name != "profile":
            parts += ["-p", name, str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def parameter_source(chapter: str | Path) -> str:
    """The source of the chapter's one cell tagged ``parameters``."""
    cells = json.loads(notebook_path(chapter).read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if c["cell_type"] == "code" and "parameters" in c["metadata"].get("tags", [])]
    if len(tagged) != 1:
        raise ConfigError(f"{chapter}: {len(tagged)} cells are tagged 'parameters'; tag exactly one")
    return "".join(tagged[0]["source"])


def parameter_defaults(chapter: str | Path) -> dict:
    """Every name assigned in the chapter's ``parameters`` cell with its stored default, in order."""
    source = parameter_source(chapter)
    defaults = {}
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name):
            try:
                defaults[target.id] = ast.literal_eval(node.value)
            except ValueError:  # an expression, not a literal: papermill can still override it
                defaults[target.id] = None
    return defaults


def parameter_names(chapter: str | Path) -> list[str]:
    """The names assigned in the chapter's ``parameters`` cell, in order (as papermill sees them)."""
    return list(parameter_defaults(chapter))


def parameter_values(chapter: str | Path, namespace: dict) -> dict:
    """The value every parameter of ``chapter`` has in ``namespace`` (pass ``globals()``) after injection."""
    return {name: namespace[name] for name in parameter_names(chapter) if name in namespace}


# --- Time to run -------------------------------------------------------------------------------------

TIMING_COLUMNS = ("chapter", "profile", "seconds", "reused", "computed", "device", "torch", "git_commit",
                  "measured_at", "load_1min", "cpu_count")  # load: the 1-min load average when the chapter started


def load_timings(path: Path = TIMINGS_CSV):
    """The measured chapter times (one row per chapter and profile), or an empty table before the first run."""
    import pandas as pd

    if not Path(path).exists():
        return pd.DataFrame(columns=TIMING_COLUMNS)
    return pd.read_csv(path)


def format_seconds(seconds: float) -> str:
    """12 s, 3.4 min or 1.2 h: the unit a reader thinks in."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def time_to_run(chapter: str, path: Path = TIMINGS_CSV):
    """This chapter's measured execution time per profile (``ours``), one row per profile, for a table or glue.

    Rows come from ``python -m book --profile P --record-timings``; a profile that was never measured
    on this book's machines (``paper`` needs a GPU and the datasets) says so instead of a number.
    """
    import pandas as pd

    stem = Path(chapter).stem
    timings = load_timings(path)
    rows = []
    for profile in PROFILES:
        hit = timings[(timings["chapter"] == stem) & (timings["profile"] == profile)]
        if hit.empty:
            missing = "not measured (needs a GPU and the datasets)" if profile == "paper" else "not measured"
            rows.append({"profile": profile, "time": missing, "seconds": float("nan"), "reused": None,
                         "computed": None, "device": "", "measured_at": "", "load_1min": float("nan")})
            continue
        row = hit.iloc[-1]
        rows.append({"profile": profile, "time": format_seconds(float(row["seconds"])),
                     "seconds": float(row["seconds"]), "reused": int(row["reused"]),
                     "computed": int(row["computed"]), "device": row["device"],
                     "measured_at": row["measured_at"], "load_1min": float(row.get("load_1min", float("nan")))})
    return pd.DataFrame(rows).astype({"reused": "Int64", "computed": "Int64"})


def plain(value):
    """``value`` as the reader should read it: a numpy scalar (``np.float64(10.9)``) becomes the Python number or
    string it holds (``10.9``); anything else is returned as it is."""
    import numpy as np

    return value.item() if isinstance(value, np.generic) else value


def glue(name: str, value, display: bool = True) -> None:
    """myst_nb's ``glue`` for a chapter's prose, with numpy scalars made plain first: ``{glue:text}`` shows a
    value's repr, and since numpy 2 the repr of a numpy number names its type (``np.float64(10.9) minutes``)."""
    from myst_nb import glue as myst_glue

    myst_glue(name, plain(value), display=display)


def retrain_text(records) -> str:
    """What re-training the records a chapter re-uses would take, from their own ``wall_time_s`` (ours): a teacher
    needs this beside the time to re-read them. ``records`` is a frame of run records, or ``None`` when the
    chapter trains nothing."""
    if records is None:
        return "nothing: this chapter trains nothing"
    if len(records) == 0:
        return "no recorded runs yet, so not measured"
    devices = sorted(set(records["device"].astype(str)))
    return (f"{format_seconds(float(records['wall_time_s'].sum()))} for its {len(records)} runs "
            f"(their records' training time, on {' and '.join(devices)})")


def glue_time_to_run(chapter: str, path: Path = TIMINGS_CSV, records=None):
    """Glue ``time_ci``, ``time_workshop``, ``time_paper``, ``time_device`` and ``time_retrain`` (what re-training
    the re-used ``records`` takes, see :func:`retrain_text`) for the prose; return the table."""
    from book import present

    table = time_to_run(chapter, path)
    for row in table.itertuples():
        glue(f"time_{row.profile}", row.time, display=False)
    devices = sorted({d for d in table["device"] if d})
    glue("time_device", "; ".join(devices) if devices else "no machine yet", display=False)
    glue("time_retrain", retrain_text(records), display=False)
    measured = table[table["device"] != ""]
    if measured.empty:
        from IPython.display import Markdown

        return Markdown("*Not measured yet: `make timings PROFILE=workshop` times every chapter.*")
    shown = measured[["profile", "time", "reused", "computed", "measured_at", "load_1min"]].assign(
        measured_at=measured["measured_at"].str[:10])
    return present.table(shown, names={"time": "time to run", "reused": "results re-used",
                                       "computed": "computed", "measured_at": "measured on",
                                       "load_1min": "1-min load"}, decimals={"load_1min": 1})


# --- Provenance box ----------------------------------------------------------------------------------

@dataclass
class ProvenanceBox:
    """The facts a chapter was computed with; renders as a boxed table in the book (HTML) and as text."""

    facts: dict
    parameters: dict = field(default_factory=dict)

    def _rows(self) -> list[tuple[str, str]]:
        f = self.facts
        return [
            ("profile", f["profile"]),
            ("results", f"{f['reused']} re-used from records, {f['computed']} computed in this execution"),
            ("device", f["device"]),
            ("versions", f"torch {f['torch']}, torchvision {f['torchvision']}, Python {f['python']}"),
            ("git commit", f["git_commit"]),
            ("executed at", f["executed_at"] + " (UTC)"),
        ] + ([("re-run with", f["command"])] if f.get("command") else [])

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(f"<tr><th>{esc(k)}</th><td><code>{esc(str(v))}</code></td></tr>" if k == "re-run with"
                       else f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in self._rows())
        params = "".join(f"<tr><th><code>{esc(k)}</code></th><td><code>{esc(repr(v))}</code></td></tr>"
                         for k, v in self.parameters.items())
        return ('<div class="admonition note provenance-box">'
                '<p class="admonition-title">Provenance of this page</p>'
                f'<table class="table provenance-facts">{rows}</table>'
                + (f'<p><strong>Parameters</strong></p><table class="table provenance-parameters">{params}</table>'
                   if params else "")
                + "</div>")

    def __repr__(self) -> str:
        lines = ["Provenance of this page"] + [f"  {k}: {v}" for k, v in self._rows()]
        lines += [f"  parameter {k} = {v!r}" for k, v in self.parameters.items()]
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/html": self._repr_html_(), "text/plain": repr(self)}
        payload = {**self.facts, "parameters": {k: _jsonable(v) for k, v in self.parameters.items()}}
        return data, {METADATA_KEY: {"provenance": payload}}


def _jsonable(value):
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def _device_for(profile: str, parameters: dict) -> str | None:
    """The device the chapter's runs use: its ``device`` parameter, else the profile's; ``None`` = auto."""
    device = parameters.get("device") or ""
    if not device:
        from lib import profiles

        try:
            device = profiles.get(profile).run.device
        except Exception:  # an unknown profile was already reported by the chapter's first cells
            device = "auto"
    return None if device == "auto" else device


def _changed(chapter: str, parameters: dict) -> dict:
    """The parameters whose value differs from the chapter's stored default (what papermill must inject)."""
    defaults = parameter_defaults(chapter)
    return {k: v for k, v in parameters.items() if k != "profile" and (k not in defaults or defaults[k] != v)}


def provenance_box(profile: str, parameters: dict, reused: int = 0, computed: int = 0,
                   chapter: str | None = None) -> ProvenanceBox:
    """The box every chapter ends with: profile, parameters, device, versions, commit, time, re-used vs computed.

    ``reused`` and ``computed`` count results (run records, measurements) read back vs produced now.
    With ``chapter`` the box also shows the papermill command that re-runs the page with these parameters.
    """
    if reused < 0 or computed < 0:
        raise ConfigError(f"reused={reused}, computed={computed}: counts must be 0 or more")
    env = environment(_device_for(profile, parameters))
    facts = {
        "profile": profile,
        "reused": int(reused),
        "computed": int(computed),
        "device": env["device"],
        "torch": env["torch"],
        "torchvision": env["torchvision"],
        "python": env["python"],
        "git_commit": env["git_commit"],
        "executed_at": now(),
        "chapter": Path(chapter).stem if chapter else None,
        "command": papermill_command(chapter, profile, _changed(chapter, parameters))
        if chapter and profile in PROFILES else None,
    }
    return ProvenanceBox(facts, dict(parameters))


def read_provenance(executed_notebook: Path) -> dict | None:
    """The facts of the provenance box in an executed notebook (the last one), or ``None`` when it has none."""
    nb = json.loads(Path(executed_notebook).read_text(encoding="utf-8"))
    found = None
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get(METADATA_KEY)
            if meta and "provenance" in meta:
                found = meta["provenance"]
    return found


def toc_entries(root: Path = paths.ROOT) -> list[str]:
    """Every file named in ``_toc.yml`` (root page first), as paths relative to the book root, no suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [toc["root"]]

    def walk(node):
        for item in node.get("chapters", []) + node.get("sections", []):
            if "file" in item:
                entries.append(item["file"])
            walk(item)
        for part in node.get("parts", []):
            walk(part)

    walk(toc)
    return entries


def chapters(root: Path = paths.ROOT) -> list[Path]:
    """The chapter notebooks in reading order, as ``_toc.yml`` lists them."""
    return [root / f"{e}.ipynb" for e in toc_entries(root) if (root / f"{e}.ipynb").exists()]


def title(nb: Path) -> str:
    """A chapter notebook's title: its first level-1 heading."""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return nb.stem
