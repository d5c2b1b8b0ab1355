"""The GPU path rehearsed on the CPU (issue 27): tiny stand-ins of CIFAR-10, Flowers-102 and DTD, in their publishers'
formats, are served over loopback and fetched; then the book's training chapters run under the `paper` profile on
that subset, on the CPU, with a rehearsal cap (2 epochs, 32 px, random weights), exactly as
`make book PROFILE=paper DATASETS=... BACKBONES=...` passes it. Every rehearsal run is labelled as departing from
the protocol, chapters 3, 4 and 6 show our labelled cells beside the paper's Tables 4-8, and no rehearsal run enters
a verdict."""
from __future__ import annotations

import json

import pytest

from book import build, finetuning
from lib import fetch, results
from tests import native_fixtures as nf
from tests.test_fetch import Loopback, pin, serve, tar_gz

DATASETS = "cifar10,flowers102,dtd"
BACKBONES = "shufflenet_v2_x2_0"   # one is enough to rehearse the path (make test stays short)
REHEARSAL = {"datasets": DATASETS, "backbones": BACKBONES, "seeds": "0", "device": "cpu", "max_epochs": "2",
             "image_size": "32", "pretrained": "no"}
CHAPTERS = ["03_fine_tuning", "04_low_data", "06_findings"]


def glued(notebook) -> dict:
    """Every value a notebook glued, as text."""
    values = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            key = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if key:
                data = {mime.rsplit("/", 2)[-2] + "/" + mime.rsplit("/", 1)[-1]: value
                        for mime, value in output.get("data", {}).items()}   # without papermill's record prefix
                values[key] = "".join(data.get("text/markdown") or data.get("text/plain", ""))
    return values


def html_outputs(notebook) -> str:
    return "\n".join("".join(out["data"]["text/html"]) for cell in json.loads(notebook.read_text())["cells"]
                     for out in cell.get("outputs", []) if "text/html" in out.get("data", {}))


@pytest.mark.slow
def test_the_paper_path_rehearsed_on_the_cpu(tmp_path, monkeypatch):
    # 1. the publishers' archives, served on loopback, fetched into the data root the chapters read
    src, root, lock = tmp_path / "publishers", tmp_path / "data", tmp_path / "checksums.lock"
    cifar = nf.write_cifar10(src, per_class=12)
    flowers = nf.write_flowers102(src, per_class=4)
    dtd = nf.write_dtd(src, per_class=4)
    archives = {
        "cifar10": {"cifar-10-python.tar.gz": tar_gz(cifar / "cifar-10-batches-py", "cifar-10-batches-py")},
        "flowers102": {"102flowers.tgz": tar_gz(flowers / "jpg", "jpg"),
                       "imagelabels.mat": (flowers / "imagelabels.mat").read_bytes(),
                       "setid.mat": (flowers / "setid.mat").read_bytes()},
        "dtd": {"dtd-r1.0.1.tar.gz": tar_gz(dtd / "dtd", "dtd")},
    }
    server = Loopback()
    try:
        for name, contents in archives.items():
            pin(monkeypatch, name, contents)
            serve(server, name, contents)
            done = fetch.fetch_dataset(name, root, mirror=server.url, lock=lock, min_share=0, progress=False,
                                       say=lambda line: None)
            assert done.images > 0
    finally:
        server.close()

    # 2. the paper profile on that subset, on the CPU, with a rehearsal cap; records and cache kept apart
    monkeypatch.setenv("WB_DATA", str(root))
    monkeypatch.setenv("WB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("WB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "book"
    build.execute("paper", out, parameters=REHEARSAL, only=CHAPTERS)
    executed = {c: out / "src" / "chapters" / f"{c}.ipynb" for c in CHAPTERS}

    # every run is a paper-profile record, labelled as departing from the protocol
    records = results.load_records(tmp_path / "runs")
    assert len(records) and set(records["profile"]) == {"paper"}
    assert all(d.startswith("capped at 2 epochs") and "random initialisation" in d for d in records["departs"])
    assert set(records["dataset"]) == set(DATASETS.split(","))

    # chapter 3: our labelled cells beside Tables 4-6 (CIFAR-10, Flowers-102 and DTD are all in them)
    three = glued(executed["03_fine_tuning"])
    assert int(three["n_cells_with_paper"]) == 3   # one backbone on three datasets, all in Tables 4-6
    page = html_outputs(executed["03_fine_tuning"])
    assert "paper: best of 3" in page and finetuning.DEPARTS_HEADER in page and "capped at 2 epochs" in page
    # chapter 4: CIFAR-10 beside Table 7
    four = glued(executed["04_low_data"])
    assert int(four["ch4_cells_with_paper"]) >= 3
    assert "capped at 2 epochs" in html_outputs(executed["04_low_data"])
    # chapter 6: the rehearsal is shown but enters no verdict
    six = glued(executed["06_findings"])
    assert "capped at 2 epochs" in html_outputs(executed["06_findings"])
    assert six["ch6_ours_low_data"].strip("*") == "not checkable"
    assert int(six["ch6_ours_supported"]) == int(six["ch6_ours_not_supported"]) == 0
    assert int(six["ch6_ours_within_noise"]) == 0
