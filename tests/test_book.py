"""The book as a whole: every chapter executes under papermill with the `ci` profile and Jupyter Book renders
the result with warnings as errors. One build per test session; the chapter tests read its executed copies."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lib import book
from lib.provenance import REPO_ROOT

CHAPTERS = book.chapters()


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    html = book.build(profile="ci", out=out)
    return out, html


def test_toc_lists_existing_pages():
    for entry in book.toc_entries():
        assert (REPO_ROOT / f"{entry}.md").exists() or (REPO_ROOT / f"{entry}.ipynb").exists(), entry
    assert CHAPTERS, "the table of contents names no chapter notebook"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_stored_clean_with_annotated_parameters(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "stored with outputs"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell must be tagged 'parameters'"
    assert 'profile: str = "workshop"' in params[0].source
    # papermill --help-notebook lists every parameter with its type and comment
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(nb_path)],
                         capture_output=True, text=True, check=True).stdout
    assert "profile: str" in out


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_without_errors(built_book, nb_path):
    out, _ = built_book
    executed = out / "src" / nb_path.relative_to(REPO_ROOT)
    nb = nbformat.read(executed, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    assert nb.metadata["papermill"]["parameters"]["profile"] == "ci"


@pytest.mark.slow
def test_book_renders_every_page(built_book):
    _, html = built_book
    assert (html / "index.html").exists()
    for entry in book.toc_entries():
        page = html / f"{entry}.html"
        assert page.exists(), f"{page} was not rendered"
        assert "Traceback" not in page.read_text(encoding="utf-8"), f"{page} shows a traceback"


def test_failing_chapter_fails_the_build(tmp_path):
    """A chapter that raises must stop the build (make book exits non-zero)."""
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    for name in ("_config.yml", "references.bib", "intro.md"):
        (root / name).write_text((REPO_ROOT / name).read_text())
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/broken\n")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile: str = "workshop"  # which profile')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise RuntimeError('this chapter is broken')")]
    nb.metadata["kernelspec"] = {"name": book.KERNEL, "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "chapters" / "broken.ipynb")
    with pytest.raises(Exception, match="this chapter is broken"):
        book.build(profile="ci", out=tmp_path / "out", root=root)
    assert not (tmp_path / "out" / "html").exists()
