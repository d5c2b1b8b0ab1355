"""Chapter 4 (low data): stored clean with annotated parameters; under ``ci`` its records go to the folder it is
given (never ``results/runs``), a second execution re-uses them, and the glued verdict is the one lib computes."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from lib import paper, paths, results
from book import build, findings

CHAPTER = paths.ROOT / "chapters" / "04_low_data.ipynb"
PARAMETERS = ("backbones", "datasets", "fractions", "seeds", "k", "data_root", "records_dir", "profile")


def glued(path) -> dict[str, str]:
    """Every value the executed notebook glued, as its markdown (else plain-text) form."""
    values = {}
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                prefix = out["metadata"]["scrapbook"]["mime_prefix"]
                data = out["data"]
                values[name] = data.get(prefix + "text/markdown", data.get(prefix + "text/plain"))
    return values


def test_chapter_is_stored_clean_with_every_parameter_annotated():
    nb = nbformat.read(CHAPTER, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert [c for c in code if "parameters" in c.metadata.get("tags", [])] == [code[0]]
    help_text = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(CHAPTER)],
                               capture_output=True, text=True, check=True).stdout
    for name in PARAMETERS:
        assert f"{name}: " in help_text, f"parameter {name} is not listed with a type by papermill"
    assert "Unable to parse" not in help_text


@pytest.mark.slow
def test_ci_grid_stays_in_its_folder_is_reused_and_glues_the_computed_verdict(tmp_path):
    runs = tmp_path / "runs"
    committed = set(paths.RECORDS.glob("*.json")) if paths.RECORDS.is_dir() else set()
    params = {"fractions": "0.1,0.01", "records_dir": str(runs)}

    build.execute_chapter(CHAPTER, tmp_path / "first.ipynb", "ci", params)
    first = glued(tmp_path / "first.ipynb")
    written = sorted(p.name for p in runs.glob("*.json"))
    assert len(written) == int(first["ch4_runs_planned"]) == 4
    assert all("__ci__" in name for name in written)
    assert first["ch4_runs_recorded_before"] == "0"
    expected = findings.check_top_models_keep_lead(paper.low_data()[["backbone", "dataset", "fraction", "top1"]])
    assert first["ch4_paper_verdict"] == f"**{expected.verdict}**"
    # ours: chapter 6's verdict on the same records (two backbones, one seed: not checkable), worded alike
    ours = findings.our_block(findings.our_results(runs), "ci")
    verdict = findings.our_claims(ours).set_index("key").loc[findings.LOW_DATA_KEY, "verdict"]
    assert first["ch4_ours_verdict"] == findings.verdict_markdown(verdict) == "**not checkable**"
    assert first["ch4_cells_with_paper"] == "0"             # digits is not one of the paper's datasets

    build.execute_chapter(CHAPTER, tmp_path / "second.ipynb", "ci", params)
    assert glued(tmp_path / "second.ipynb")["ch4_runs_recorded_before"] == "4"
    assert sorted(p.name for p in runs.glob("*.json")) == written
    leaked = [n for n in written if (paths.RECORDS / n).exists() and paths.RECORDS / n not in committed]
    assert not leaked, f"a ci execution wrote into results/runs: {leaked}"


@pytest.mark.slow
def test_chapters_4_and_6_show_one_verdict_on_the_same_records(built_workshop_book):
    """The workshop book: chapter 4 and chapter 6 read the same committed records, so the verdict on "the top models
    keep their lead with less data" must be the same string on both pages (issue 26: chapter 4 said *supported*
    where chapter 6 said *within noise*)."""
    out, _ = built_workshop_book
    chapter4 = glued(out / "src" / "chapters" / "04_low_data.ipynb")
    chapter6 = glued(out / "src" / "chapters" / "06_findings.ipynb")
    assert chapter4["ch4_ours_verdict"] == chapter6["ch6_ours_low_data"]
    assert chapter4["ch4_ours_verdict"] in {findings.verdict_markdown(v) for v in findings.OUR_VERDICTS}
