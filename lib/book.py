"""Build the book: execute every chapter with papermill, then render it with Jupyter Book 1.x.

``python -m lib.book --profile workshop`` is what ``make book`` runs. Chapters are stored without
outputs; the executed copies are written to ``<out>/src/chapters`` (never back into ``chapters/``),
and the static site to ``<out>/html``. Any chapter that raises stops the build with a non-zero exit.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from lib.provenance import REPO_ROOT

KERNEL = "which-backbone"
PROFILES = ("ci", "workshop", "paper")
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")


def toc_entries(root: Path = REPO_ROOT) -> list[str]:
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


def chapters(root: Path = REPO_ROOT) -> list[Path]:
    """The chapter notebooks in reading order, as ``_toc.yml`` lists them."""
    return [root / f"{e}.ipynb" for e in toc_entries(root) if (root / f"{e}.ipynb").exists()]


def execute_chapter(nb: Path, out_nb: Path, profile: str, parameters: dict | None = None,
                    kernel: str = KERNEL) -> float:
    """Run one chapter with papermill under ``profile``; return the seconds it took."""
    import papermill as pm

    out_nb.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    pm.execute_notebook(str(nb), str(out_nb), parameters={"profile": profile, **(parameters or {})},
                        kernel_name=kernel, cwd=str(REPO_ROOT), progress_bar=False)
    return time.perf_counter() - start


def build(profile: str = "workshop", out: Path = REPO_ROOT / "_build", warnings_as_errors: bool = True,
          kernel: str = KERNEL, root: Path = REPO_ROOT) -> Path:
    """Execute all chapters into ``out/src`` and render ``out/html``; return the html folder."""
    if profile not in PROFILES:
        raise SystemExit(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    out = Path(out)
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in BOOK_FILES:
        if (root / name).exists():
            shutil.copy2(root / name, src / name)
    for entry in toc_entries(root):
        page = root / f"{entry}.md"
        if page.exists():
            (src / page.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(page, src / page.relative_to(root))
    for nb in chapters(root):
        rel = nb.relative_to(root)
        print(f"[book] executing {rel} (profile {profile}) ...", flush=True)
        seconds = execute_chapter(nb, src / rel, profile, kernel=kernel)
        print(f"[book] {rel} done in {seconds:.0f} s", flush=True)

    jb = Path(sys.executable).parent / "jupyter-book"  # the CLI installed beside this interpreter
    cmd = [str(jb), "build", str(src), "--path-output", str(out), "--all"]
    if warnings_as_errors:
        cmd += ["-W", "-n", "--keep-going"]
    print("[book] " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    html = out / "_build" / "html"
    final = out / "html"
    if final.exists():
        shutil.rmtree(final)
    shutil.move(str(html), str(final))
    print(f"[book] rendered into {final}", flush=True)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="workshop", choices=PROFILES,
                        help="ci (seconds), workshop (default: digits on CPU), paper (GPU, datasets on disk)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "_build", help="output folder (default _build)")
    args = parser.parse_args(argv)
    try:
        build(args.profile, args.out)
    except subprocess.CalledProcessError as err:
        print(f"[book] jupyter-book failed (exit {err.returncode}); see the messages above", file=sys.stderr)
        return 1
    except Exception as err:  # papermill's PapermillExecutionError names the chapter and the cell
        print(f"[book] a chapter failed: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
