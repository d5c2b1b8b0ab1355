"""The book as a whole: every chapter executes under papermill with the `ci` profile and Jupyter Book renders
the result with warnings as errors (one build per test session, `built_book` in conftest.py). Also: the chapter
skeleton, the provenance box, the re-render shortcut and a failing chapter failing the build."""
from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from book import build, chapter
from lib.errors import ConfigError
from lib.errors import ConfigError
from lib import paths

CHAPTERS = chapter.chapters()
SKELETON = ("## Overview", "## Prerequisites", "## Time to run", "## Summary")


def test_toc_lists_existing_pages():
    for entry in chapter.toc_entries():
        assert (paths.ROOT / f"{entry}.md").exists() or (paths.ROOT / f"{entry}.ipynb").exists(), entry
    assert CHAPTERS, "the table of contents names no chapter notebook"
    for page in ("reproduce", "workshop", "references"):
        assert page in chapter.toc_entries(), f"{page} is not in _toc.yml"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_stored_clean_with_annotated_parameters(nb_path):
    raw = json.loads(nb_path.read_text())
    assert all("id" in c for c in raw["cells"]), "a cell without an id (nbformat 4.5 requires one)"
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "stored with outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell must be tagged 'parameters'"
    assert params[0] is code[0], "the parameters cell must be the first code cell"
    assert 'profile: str = "workshop"' in params[0].source
    # papermill --help-notebook lists every parameter with its type and comment
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(nb_path)],
                         capture_output=True, text=True, check=True).stdout
    listed = " ".join(out.split())
    for line in params[0].source.splitlines():
        m = re.match(r"(\w+): (\w+) = .+?  # (.+)", line)
        assert m, f"parameter line without 'name: type = value  # comment': {line!r}"
        name, kind, comment = m.groups()
        # papermill drops a parameter whose comment holds '=' (it reads it as an assignment)
        assert f"{name}: {kind}" in listed and " ".join(comment.split()) in listed, f"--help-notebook lacks {name}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_follows_the_skeleton(nb_path):
    """Overview, Prerequisites, Time to run (measured, glued), the work, Summary, and a provenance box last."""
    nb = nbformat.read(nb_path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    positions = [text.find(heading) for heading in SKELETON]
    assert all(p >= 0 for p in positions), f"missing {[h for h, p in zip(SKELETON, positions) if p < 0]}"
    assert positions == sorted(positions), "the skeleton's sections are out of order"
    assert "{glue:text}`time_workshop`" in text, "Time to run must show the measured times (glued)"
    assert any(f'glue_time_to_run("{nb_path.stem}"' in c.source for c in nb.cells if c.cell_type == "code")
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "chapter.provenance_box(" in last.source, "the last code cell must show the provenance box"


@pytest.mark.parametrize("nb_path", [p for p in CHAPTERS if p.stem[:2] in ("03", "04")], ids=lambda p: p.stem)
def test_training_chapters_take_an_executor(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    assert 'executor: str = "local"' in nb.cells[[c.cell_type for c in nb.cells].index("code")].source
    assert any("executor=executor" in c.source for c in nb.cells if "runs.run_all(" in c.source)


CODE_COLUMNS = 88   # what fits the page column of a 1280-px screen (tests/test_browser.py checks the rendering)


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_code_cells_fit_the_page_column(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    long = [f"cell {i}: {len(line)} columns: {line[:40]}..." for i, c in enumerate(nb.cells)
            if c.cell_type == "code" for line in c.source.splitlines() if len(line) > CODE_COLUMNS]
    assert not long, f"code lines wider than {CODE_COLUMNS} columns run past the page: {long}"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_glue_plain_values(nb_path):
    """Chapters glue through book.chapter.glue, which turns numpy scalars into plain numbers for the prose."""
    nb = nbformat.read(nb_path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "glue(" in code and "from book.chapter import glue" in code and "myst_nb" not in code


def executed_path(built_book, nb_path: Path) -> Path:
    """Where the session's ci build wrote its executed copy of ``nb_path``."""
    out, _ = built_book
    return out / "src" / nb_path.relative_to(paths.ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_without_errors(built_book, nb_path):
    executed = executed_path(built_book, nb_path)
    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    assert nb.metadata["papermill"]["parameters"]["profile"] == "ci"


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_executed_chapter_has_collapsed_parameters_and_provenance(built_book, nb_path):
    executed = executed_path(built_book, nb_path)
    nb = nbformat.read(executed, as_version=4)
    injected = [i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "hide-cell" in nb.cells[injected[0]].metadata["tags"], "the injected parameters must be collapsed"
    note = nb.cells[injected[0] - 1]
    assert note.cell_type == "markdown" and f"-m papermill {nb_path.relative_to(paths.ROOT)}" in note.source
    assert "-p profile ci" in note.source
    facts = chapter.read_provenance(executed)
    assert facts is not None, "no provenance box in the executed chapter"
    assert facts["profile"] == "ci" and facts["parameters"]["profile"] == "ci"
    assert facts["chapter"] == nb_path.stem and facts["reused"] >= 0 and facts["computed"] >= 0
    for key in ("device", "torch", "torchvision", "git_commit", "executed_at"):
        assert facts[key], key


@pytest.mark.slow
def test_book_renders_every_page(built_book):
    _, html = built_book
    assert (html / "index.html").exists()
    for entry in chapter.toc_entries():
        page = html / f"{entry}.html"
        assert page.exists(), f"{page} was not rendered"
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text, f"{page} shows a traceback"
        assert "Provenance of this page" in text or not (paths.ROOT / f"{entry}.ipynb").exists(), entry
    # the page's text as a reader sees it (code blocks are split into highlighting spans in the html)
    reproduce = html_lib.unescape(re.sub(r"<[^>]+>", "", (html / "reproduce.html").read_text(encoding="utf-8")))
    for nb in CHAPTERS:  # every chapter's command per profile and its papermill --help-notebook output
        assert f"Parameters inferred for notebook '{nb.relative_to(paths.ROOT)}'" in reproduce
        for profile in chapter.PROFILES:
            assert f"papermill {nb.relative_to(paths.ROOT)} _build/run/{nb.name} -k which-backbone -p profile {profile}" \
                in reproduce, (nb.stem, profile)


# --- book.chapter -------------------------------------------------------------------------------------

def test_glued_numpy_values_read_as_plain_numbers():
    """Since numpy 2 a numpy number's repr names its type; {glue:text} shows the repr ("np.float64(10.9) minutes")."""
    import numpy as np

    assert repr(np.float64(10.9)) == "np.float64(10.9)"           # the cause
    for value, plain in ((np.float64(10.9), 10.9), (np.int64(3), 3), (np.bool_(True), True), (np.str_("a"), "a")):
        assert type(chapter.plain(value)) is type(plain) and repr(chapter.plain(value)) == repr(plain)
    assert chapter.plain("10.9 minutes") == "10.9 minutes" and chapter.plain(None) is None


def test_chapter_kernels_do_not_warn_about_unencrypted_tcp(tmp_path, capfd):
    """The kernel manager hands the kernel CurveZMQ keys, so ipykernel does not warn once per chapter."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": chapter.KERNEL, "language": "python",
                                                           "display_name": chapter.KERNEL}})
    nb.cells = [nbformat.v4.new_code_cell("profile = 'workshop'", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(40 + 2)")]
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    build.execute_chapter(tmp_path / "tiny.ipynb", tmp_path / "out.ipynb", "ci", root=tmp_path)
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "42\n"
    assert "without encryption" not in capfd.readouterr().err


def test_papermill_command_and_parameters():
    cmd = chapter.papermill_command("03_fine_tuning", "paper", {"backbones": "resnet50,wavemix_192_16"})
    assert cmd == (".venv/bin/python -m papermill chapters/03_fine_tuning.ipynb _build/run/03_fine_tuning.ipynb "
                   "-k which-backbone -p profile paper -p backbones resnet50,wavemix_192_16")
    assert chapter.papermill_command("chapters/01_selection.ipynb", "ci").endswith("-p profile ci")
    with pytest.raises(ConfigError, match="'nope' not found: use one of .*01_selection"):
        chapter.papermill_command("nope", "ci")
    with pytest.raises(ConfigError, match="profile 'gpu' is not one of ci, workshop, paper"):
        chapter.papermill_command("01_selection", "gpu")
    defaults = chapter.parameter_defaults("03_fine_tuning")
    assert defaults["profile"] == "workshop" and defaults["executor"] == "local"
    values = chapter.parameter_values("03_fine_tuning", {**defaults, "profile": "ci", "unrelated": 1})
    assert values["profile"] == "ci" and "unrelated" not in values


def test_provenance_box_shows_every_fact():
    box = chapter.provenance_box("ci", {"profile": "ci", "backbones": "resnet50", "max_epochs": 0}, reused=3,
                                 computed=1, chapter="03_fine_tuning")
    data, meta = box._repr_mimebundle_()
    facts = meta[chapter.METADATA_KEY]["provenance"]
    assert facts["reused"] == 3 and facts["computed"] == 1 and facts["profile"] == "ci"
    # only the parameter that differs from the chapter's default is in the re-run command
    assert facts["command"].endswith("-p profile ci -p backbones resnet50")
    for text in ("3 re-used from records, 1 computed", "torch ", "torchvision ", "git commit", "executed at",
                 "resnet50", "CPU" if "cuda" not in facts["device"].lower() else "", "-p backbones resnet50"):
        assert text in data["text/html"] and text in data["text/plain"], text
    with pytest.raises(ConfigError, match="reused=-1"):
        chapter.provenance_box("ci", {}, reused=-1)


def test_time_to_run_reads_measured_timings(tmp_path):
    csv = tmp_path / "timings.csv"
    assert all(t.startswith("not measured") for t in chapter.time_to_run("03_fine_tuning", csv)["time"])
    pd.DataFrame([{"chapter": "03_fine_tuning", "profile": "workshop", "seconds": 125.0, "reused": 11,
                   "computed": 0, "device": "CPU: test", "torch": "x", "git_commit": "abc",
                   "measured_at": "2026-01-01T00:00:00+00:00"}]).to_csv(csv, index=False)
    table = chapter.time_to_run("03_fine_tuning", csv).set_index("profile")
    assert table.loc["workshop", "time"] == "2.1 min" and table.loc["workshop", "reused"] == 11
    assert table.loc["ci", "time"] == "not measured"
    assert table.loc["paper", "time"] == "not measured (needs a GPU and the datasets)"
    assert [chapter.format_seconds(s) for s in (12, 600, 7200)] == ["12 s", "10.0 min", "2.0 h"]


def test_record_timings_replaces_rows_of_the_executed_chapters(tmp_path):
    out, csv = tmp_path / "out", tmp_path / "timings.csv"
    out.mkdir()
    pd.DataFrame([{"chapter": c, "profile": "workshop", "seconds": 1.0, "reused": 0, "computed": 0, "device": "d",
                   "torch": "t", "git_commit": "g", "measured_at": "m"} for c in ("a", "b")]).to_csv(csv, index=False)
    (out / "executions.json").write_text(json.dumps({"profile": "workshop", "chapters": [
        {"chapter": "a", "executed": True, "seconds": 42.0,
         "provenance": {"reused": 5, "computed": 2, "device": "CPU: x", "torch": "2", "git_commit": "c",
                        "executed_at": "now"}},
        {"chapter": "b", "executed": False}]}))
    table = pd.read_csv(build.record_timings(out, csv)).set_index("chapter")
    assert table.loc["a", "seconds"] == 42.0 and table.loc["a", "reused"] == 5 and table.loc["a", "computed"] == 2
    assert table.loc["b", "seconds"] == 1.0, "a chapter that was not executed keeps its old measurement"


def test_reproduce_page_parts(tmp_path):
    """The generated parts of the Reproduce it page: cost from the bench records, datasets, weights files."""
    assert "No measured cost estimate" in build.paper_run_cost(tmp_path)
    pd.DataFrame([{"source": "ours (projection)", "method": "FLOPs / (utilisation x peak)", "epochs": 40,
                   "utilisation": 0.3, "gpu_hours": 1234.4, "grid_runs": 957, "note": "156 TFLOPS peak",
                   "assumed_gpu": "A100"}]).to_csv(
        tmp_path / "grid_cost.csv", index=False)
    text = build.paper_run_cost(tmp_path)
    assert "| 30% | 1,234 |" in text and "40 epochs per run" in text and "assumed_gpu" not in text
    assert "nan" not in text.lower()
    assert "runs**" in text
    from lib import data, models

    locations = build.dataset_locations()
    for s in data.sources.specs():
        assert (f"`$WB_DATA/{s.name}/`" in locations) != s.workshop, s.name
    weights = build.weights_files()
    for s in models.specs():
        assert f"`{models.checkpoint_path(s).name}`" in weights, s.name
    assert "export TORCH_HOME=" in weights


# --- the re-render shortcut and a failing chapter, on a tiny book ----------------------------------------

def _tiny_book(root: Path, code: str = "print(profile)") -> Path:
    (root / "chapters").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "lib" / "helper.py").write_text("ANSWER = 42\n")
    (root / "results" / "runs").mkdir(parents=True)
    (root / "results" / "runs" / "run.json").write_text('{"test_top1": 50.0}\n')
    (root / "results" / "paper").mkdir(parents=True)
    (root / "results" / "paper" / "table.csv").write_text("a,b\n1,2\n")
    (root / "_config.yml").write_text("title: tiny\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "intro.md").write_text("# Tiny\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/one\n")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile: str = "workshop"  # which profile\nk: int = 1  # a knob')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": build.KERNEL, "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "chapters" / "one.ipynb")
    return root / "chapters" / "one.ipynb"


def test_input_hash_covers_notebook_lib_parameters_and_records(tmp_path):
    root = tmp_path / "book"
    nb = _tiny_book(root)
    base = build.input_hash(nb, "ci", None, root)
    assert build.input_hash(nb, "ci", None, root) == base
    (root / "README.md").write_text("not an input\n")
    (root / "lib" / "__pycache__").mkdir()
    (root / "lib" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"bytecode")
    assert build.input_hash(nb, "ci", None, root) == base, "files that are not inputs changed the hash"
    assert build.input_hash(nb, "workshop", None, root) != base
    assert build.input_hash(nb, "ci", {"k": 2}, root) != base

    def changed(path: Path, text: str) -> bool:
        old = path.read_text() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        different = build.input_hash(nb, "ci", None, root) != base
        path.unlink() if old is None else path.write_text(old)
        assert build.input_hash(nb, "ci", None, root) == base
        return different

    assert changed(nb, nb.read_text().replace("which profile", "the profile"))
    assert changed(root / "lib" / "helper.py", "ANSWER = 43\n")
    assert changed(root / "lib" / "data" / "new.py", "X = 1\n")
    for package in build.CODE_PACKAGES:   # the analysis, the tool and the benchmarks, not only the library
        assert changed(root / package / "module.py", "X = 2\n"), package
    assert changed(root / "results" / "runs" / "run.json", '{"test_top1": 51.0}\n')
    assert changed(root / "results" / "runs" / "another.json", "{}\n")
    assert changed(root / "results" / "bench" / "grid.csv", "x\n1\n")
    assert changed(root / "results" / "book" / "timings.csv", "x\n1\n")


@pytest.mark.slow
def test_rerender_executes_exactly_when_an_input_changes(tmp_path):
    root, out = tmp_path / "book", tmp_path / "out"
    nb = _tiny_book(root, code="from pathlib import Path\nPath('runs.txt').open('a').write('x')")

    def executed(**kwargs) -> bool:
        done = build.execute("ci", out, root=root, **kwargs)
        return done[0]["executed"]

    counter = root / "runs.txt"  # the chapter appends one character each time it really runs
    assert executed() and counter.read_text() == "x"
    assert not executed(), "nothing changed, yet the chapter was executed again"
    (root / "lib" / "helper.py").write_text("ANSWER = 43\n")
    assert executed()
    assert not executed()
    (root / "results" / "runs" / "run.json").write_text('{"test_top1": 51.0}\n')
    assert executed()
    assert executed(parameters={"k": 2}) and not executed(parameters={"k": 2})
    nb.write_text(nb.read_text().replace("a knob", "the knob"))
    assert executed(parameters={"k": 2})
    assert executed(parameters={"k": 2}, force=True)
    assert executed(parameters={"k": 2}, force=True, only=["one"])
    assert counter.read_text() == "x" * 7
    with pytest.raises(ConfigError, match="--only two: not a chapter in _toc.yml; use some of one"):
        build.execute("ci", out, root=root, force=True, only=["two"])
    assert build.main(["--profile", "ci", "--root", str(root), "--out", str(out), "--force", "--only", "two"]) == 2
    executed_copy = nbformat.read(out / "src" / "chapters" / "one.ipynb", as_version=4)
    assert executed_copy.metadata["papermill"]["parameters"] == {"profile": "ci", "k": 2}


@pytest.mark.slow
def test_only_executes_the_named_chapters_and_renders_nothing(tmp_path):
    root, out = tmp_path / "book", tmp_path / "out"
    first = _tiny_book(root)
    shutil.copy(first, root / "chapters" / "two.ipynb")
    (root / "_toc.yml").write_text((root / "_toc.yml").read_text() + "  - file: chapters/two\n")
    assert build.main(["--profile", "ci", "--root", str(root), "--out", str(out), "--force", "--only", "two"]) == 0
    done = json.loads((out / "executions.json").read_text())["chapters"]
    assert [d["chapter"] for d in done] == ["two"] and done[0]["executed"]
    assert (out / "src" / "chapters" / "two.ipynb").exists() and not (out / "src" / "chapters" / "one.ipynb").exists()
    assert not (out / "html").exists()


def test_failing_chapter_fails_the_build(tmp_path, capsys):
    """A chapter that raises stops the build: python -m book (what make book runs) exits 1, nothing rendered."""
    root = tmp_path / "book"
    _tiny_book(root, code="raise RuntimeError('this chapter is broken')")
    with pytest.raises(Exception, match="this chapter is broken"):
        build.build(profile="ci", out=tmp_path / "out", root=root)
    assert not (tmp_path / "out" / "html").exists()
    assert not list((tmp_path / "out").glob("rerender/**/*.sha256")), "a failed chapter must not be marked fresh"
    code = build.main(["--profile", "ci", "--root", str(root), "--out", str(tmp_path / "out")])
    assert code == 1, "a failing chapter must make the build exit non-zero"
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "chapters/one.ipynb failed in cell [3] (`raise RuntimeError(" in said[0], said
    assert "RuntimeError: this chapter is broken" in said[0]   # the chapter, the cell and the exception
    assert not (tmp_path / "out" / "html").exists()


def test_a_subset_reaches_the_chapters_that_take_it_and_an_unknown_parameter_is_refused():
    """make book DATASETS=... BACKBONES=... SEEDS=... passes each to the chapters that declare it (issue 27)."""
    notebooks = chapter.chapters()
    shares = build.chapter_parameters(notebooks, {"datasets": "cifar10,dtd", "seeds": "0", "k": "1"})
    by_stem = {nb.stem: share for nb, share in shares.items()}
    assert by_stem["03_fine_tuning"] == {"datasets": "cifar10,dtd", "seeds": "0"}
    assert by_stem["04_low_data"] == {"datasets": "cifar10,dtd", "seeds": "0", "k": "1"}
    assert by_stem["01_selection"] == {}
    with pytest.raises(ConfigError, match="no chapter has a parameter 'max_epoch'"):
        build.chapter_parameters(notebooks, {"max_epoch": "2"})
    assert build.main(["--profile", "ci", "--only", "01_selection", "-p", "max_epoch", "2"]) == 2


# --- every results/ folder a chapter reads is part of its hash (issue 30) -------------------------------------

PACKAGES = ("lib", "book", "yourdata", "bench")   # the repository's own code, followed through its imports


def _own_imports(tree) -> set[str]:
    """The repository's modules an AST imports (``from lib import a`` counts ``lib.a`` when it is a module)."""
    import ast

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if _module_file(m) is not None}


def _module_file(module: str) -> Path | None:
    base = paths.ROOT.joinpath(*module.split("."))
    return next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)


def _paths_folders() -> dict[str, str]:
    """``lib.paths``' names of folders and files under ``results/`` -> the ``results/`` folder each lies in
    (``RECORDS`` and ``records()`` -> ``runs``, ``TIMINGS`` -> ``book``)."""
    named = {name: value for name, value in vars(paths).items() if isinstance(value, Path)}
    folders = {name: value.relative_to(paths.RESULTS).parts[0] for name, value in named.items()
               if value.is_relative_to(paths.RESULTS) and value != paths.RESULTS}
    return {**folders, "records": folders["RECORDS"], "demo": folders["DEMO"]}


def results_folders_read(code: str) -> set[str]:
    """The ``results/<folder>`` names that ``code`` and every module of the repository it imports, directly or
    through others, spell out (``results/runs``, ``paths.DEMO``, ``paths.records()``): an over-estimate of what it
    reads."""
    import ast

    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
    folders = {p.name for p in (paths.RESULTS).iterdir() if p.is_dir()}
    named = _paths_folders()
    pattern = re.compile(r'results/(\w+)|"results"\s*/\s*"(\w+)"|\bpaths\.(\w+)')
    sources, todo, seen = [code], _own_imports(ast.parse(code)), set()
    while todo:
        module = todo.pop()
        if module in seen or module == "lib.paths":
            continue
        seen.add(module)
        text = _module_file(module).read_text()
        sources.append(text)
        todo |= _own_imports(ast.parse(text))
    found = {folder or other or named.get(name, "") for text in sources
             for folder, other, name in pattern.findall(text)}
    return found & folders


def test_every_chapter_declares_every_results_folder_it_reads():
    """A chapter that reads a results/ folder its declaration does not name would not be executed again when that
    folder changes (chapter 7 and results/demo/ before issue 30)."""
    for nb in chapter.chapters():
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        declared = build.CHAPTER_READS.get(nb.stem)
        assert declared is not None, f"{nb.stem} has no entry in book.build.CHAPTER_READS"
        missing = results_folders_read(code) - set(declared)
        assert not missing, f"{nb.stem} reads results/{sorted(missing)} but CHAPTER_READS does not name it"
    assert set(build.CHAPTER_READS) == {nb.stem for nb in chapter.chapters()}, "a declaration of no chapter"


def test_the_scan_follows_lib_modules_to_the_folders_they_read():
    assert "demo" in results_folders_read("import yourdata\nyourdata.demo_records_dir('ci')")
    assert "diagnosis" in results_folders_read("import book.diagnose")
    assert results_folders_read("x = 'results/runs/a.json'") == {"runs"}
    assert results_folders_read("print(1)") == set()


def test_chapter_7s_hash_covers_results_demo_and_not_folders_it_does_not_read(tmp_path):
    root = tmp_path / "book"
    nb = _tiny_book(root)
    seven = nb.with_name("07_your_data.ipynb")
    nb.rename(seven)
    base = build.input_hash(seven, "ci", None, root)
    record = root / "results" / "demo" / "workshop" / "run.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"test_top1": 93.0}\n')
    assert build.input_hash(seven, "ci", None, root) != base, "results/demo/ must be an input of chapter 7"
    with_demo = build.input_hash(seven, "ci", None, root)
    (root / "results" / "bench").mkdir()
    (root / "results" / "bench" / "step_cost.csv").write_text("a\n1\n")
    assert build.input_hash(seven, "ci", None, root) == with_demo, "chapter 7 does not read results/bench/"
    assert [p.name for p in build.chapter_reads(root / "chapters" / "99_new.ipynb", root)] == [
        "bench", "demo", "paper", "runs"], "an undeclared chapter hashes every results/ folder"


def test_an_interrupted_book_build_ends_in_one_line_and_keeps_its_work(tmp_path, capsys, monkeypatch):
    """Ctrl-C or SIGTERM during make book: one line saying what was kept, exit 130 or 143, no traceback."""
    import signal

    from lib.errors import Interrupted

    def stopped(*args, **kwargs):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(build, "build", stopped)
    assert build.main(["--profile", "ci", "--out", str(tmp_path / "out")]) == 143
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("[book] SIGTERM: stopped") and "run the same command" in said[0]
